"""Component suite of the Braintrust API client core (src/core/btapi), run by run.sh.

The driver (btdrive, built from src/core/btapi + src/core/http under ASan/UBSan) pages
projects from the Braintrust API test double (test/harness/braintrust_double.py) over
real HTTP with gzip, with faults injected through the double's control API.  Checks:
every row exactly once with the double's values, updates re-delivered (key kept or
changed), late-visible rows delivered later, deletes reported, a body over 10 MB refused
cleanly, the request budget respected (the double's request timestamps), permanent
errors with their hints, redirects to other hosts never followed; plus a negative
control (a pager on _pagination_key alone) that the update check must catch.
Prints one line per check and "N passed, N failed".
"""
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
DRIVER = os.path.join(HERE, "build", "btdrive")
SDK = os.path.join(os.environ.get("BTX_TESTDATA", os.path.join(ROOT, "test", "data")), "sdk-events", "events.jsonl")
SDK_PROJECT = "0b6f3a52-8f5e-4c1a-b1d2-3e4f5a6b7c8d"
GLOBEX_PROJECT = "5e6f7a8b-9c0d-4e1f-8a2b-3c4d5e6f7a8b"
PASS = FAIL = 0
WORK = tempfile.mkdtemp(prefix="btx-btapi-")


def ok(name):
    global PASS
    PASS += 1
    print("ok - " + name, flush=True)


def bad(name, why=""):
    global FAIL
    FAIL += 1
    print("FAIL - %s%s" % (name, ("\n    " + str(why).replace("\n", "\n    ")) if why else ""), flush=True)


def check(name, cond, why=""):
    (ok if cond else bad)(name, *([] if cond else [why]))
    return cond


class Double:
    def __init__(self):
        self.proc = subprocess.Popen([sys.executable, os.path.join(ROOT, "test", "harness", "braintrust_double.py"),
                                      "--sdk-events", SDK], stdout=subprocess.PIPE, text=True)
        line = self.proc.stdout.readline().split()
        if len(line) != 2 or line[0] != "ready":
            raise SystemExit("FATAL: the double did not start")
        self.port = int(line[1])
        self.url = "http://127.0.0.1:%d" % self.port

    def ctl(self, path, obj=None):
        data = json.dumps(obj).encode() if obj is not None else None
        req = urllib.request.Request(self.url + path, data=data, method="POST" if data is not None else "GET")
        with urllib.request.urlopen(req, timeout=30) as r:
            return json.load(r)

    def requests(self, since=0):
        return self.ctl("/control/requests?since=%d" % since)["requests"]

    def mark(self):
        return len(self.requests())

    def rows(self, pid):
        return {r["id"]: r for r in self.ctl("/control/rows?project_id=" + pid)["rows"]}

    def stop(self):
        self.proc.kill()
        self.proc.wait()


D = None


def drive(*args, key="sk-acme", api=True, timeout=120):
    """run btdrive; returns (rc, first output line, parsed k=v of an ok line, stderr)"""
    cmd = [DRIVER, "--key", key]
    if api:
        cmd += ["--api", D.url]
    cmd += ["--app", D.url] + list(args)
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout,
                       env=dict(os.environ, ASAN_OPTIONS="detect_leaks=1"))
    out = p.stdout.strip().splitlines()
    line = out[-1] if out else ""
    kv = {}
    if line.startswith("ok "):
        for item in line[3:].split():
            k, _, v = item.partition("=")
            kv[k] = v
    return p.returncode, line, kv, p.stderr


def sanitizer_clean(stderr):
    return "Sanitizer" not in stderr and "runtime error" not in stderr


def read_out(path):
    if not os.path.exists(path):
        return []
    with open(path, encoding="utf-8") as f:
        return [json.loads(l) for l in f if l.strip()]


def exactly_once(lines, expected):
    """lines: delivered rows; expected: {id: row} (the double's current versions).
    Returns '' when every expected version came exactly once with equal values."""
    seen = {}
    for l in lines:
        key = (l["id"], l["_xact_id"])
        if key in seen:
            return "duplicate %r" % (key,)
        seen[key] = l
    want = {(i, r["_xact_id"]) for i, r in expected.items()}
    if set(seen) != want:
        return "missing %s, unexpected %s" % (sorted(want - set(seen))[:5], sorted(set(seen) - want)[:5])
    for key, l in seen.items():
        if l["row"] != expected[key[0]]:
            return "value differs for %r" % (key,)
        if l["deleted"] != bool(expected[key[0]].get("_object_delete")):
            return "delete flag wrong for %r" % (key,)
    return ""


def fresh(name):
    for suffix in (".state", ".out"):
        p = os.path.join(WORK, name + suffix)
        if os.path.exists(p):
            os.unlink(p)
    return os.path.join(WORK, name + ".state"), os.path.join(WORK, name + ".out")


def scan(name, pid, *extra, key="sk-acme"):
    state, out = os.path.join(WORK, name + ".state"), os.path.join(WORK, name + ".out")
    return drive("scan", "--project-id", pid, "--state", state, "--out", out, *extra, key=key)


# ---------------------------------------------------------------- checks

def test_discovery():
    rc, line, kv, _ = drive("login", key="sk-multi", api=False)
    check("login: a multi-org key without an org name fails naming both orgs",
          rc == 1 and "2 organizations" in line and '"acme", "globex"' in line and "org_name" in line, line)
    rc, line, kv, _ = drive("--org", "globex", "login", key="sk-multi", api=False)
    check("login: the named org's API URL (a data plane URL with a path)",
          rc == 0 and kv.get("api_url") == D.url + "/globex" and kv.get("org") == "globex", line)
    rc, line, kv, _ = drive("--org", "initech", "login", key="sk-acme", api=False)
    check("login: an org the key does not belong to: 22023 naming the key's orgs",
          rc == 1 and line.startswith("error 22023") and '"initech"' in line and '"acme"' in line, line)
    rc, line, kv, _ = drive("project", "sdk-capture", api=False)
    check("project lookup by name after login", rc == 0 and kv.get("id") == SDK_PROJECT, line)
    reqs = D.requests()
    check("project lookup uses GET /v1/project?project_name=..., never the register endpoint",
          any(r["path"] == "/v1/project?project_name=sdk-capture&org_name=acme" and r["method"] == "GET" for r in reqs)
          and not any("register" in r["path"] for r in reqs), [r["path"] for r in reqs][-3:])
    rc, line, kv, _ = drive("project", "no-such-project")
    check("project lookup: not found -> 42704 with a hint", rc == 1 and line.startswith("error 42704")
          and "can read the project" in line, line)


def test_full_scan():
    fresh("full")
    m = D.mark()
    rc, line, kv, err = scan("full", SDK_PROJECT, "--page", "7")
    rows = D.rows(SDK_PROJECT)
    lines = read_out(os.path.join(WORK, "full.out"))
    check("full scan of the SDK capture (87 rows, pages of 7)", rc == 0 and kv.get("complete") == "1"
          and sanitizer_clean(err), line + err[-2000:])
    check("full scan: every row exactly once with the double's values", exactly_once(lines, rows) == "",
          exactly_once(lines, rows))
    btql = [r for r in D.requests(m) if r["path"] == "/btql"]
    check("full scan: gzip answers on every page", btql and all(r["gzip"] for r in btql), [r["gzip"] for r in btql])
    check("full scan: the keyset form (filter _pagination_key > last, sort asc, limit 7)",
          all("sort: _pagination_key asc\nlimit: 7" in r["query"] for r in btql)
          and "_pagination_key > 'p000000000007'" in btql[1]["query"], btql[1]["query"] if len(btql) > 1 else btql)
    state = json.load(open(os.path.join(WORK, "full.state")))
    check("full scan: the position moves to the horizon", state["horizon"] is None and state["xact_id"]
          == max(r["_xact_id"] for r in rows.values()), state)


def test_faults():
    fresh("faults")
    D.ctl("/control/faults", {"faults": [
        {"kind": "429", "retry_after": "1", "count": 2},
        {"kind": "429", "retry_after": "date:+2", "count": 1, "after": 3},
        {"kind": "504", "above_limit": 4, "count": -1},
        {"kind": "500", "count": 1, "after": 6},
        {"kind": "reset", "count": 2, "after": 8},
        {"kind": "slow", "delay": 0.5, "count": 1, "after": 10},
        {"kind": "503", "count": 1, "after": 12}]})
    m = D.mark()
    rc, line, kv, err = scan("faults", SDK_PROJECT, "--page", "8", "--floor", "2", "--retry-base-ms", "100")
    D.ctl("/control/faults", {"faults": []})
    reqs = sorted((r for r in D.requests(m) if r["path"] == "/btql"), key=lambda r: r["t"])  # by arrival
    lines = read_out(os.path.join(WORK, "faults.out"))
    check("faults: the scan completes through 429, 500, 504, resets, a slow answer and 503",
          rc == 0 and kv.get("complete") == "1" and sanitizer_clean(err), line + err[-2000:])
    check("faults: every row exactly once", exactly_once(lines, D.rows(SDK_PROJECT)) == "",
          exactly_once(lines, D.rows(SDK_PROJECT)))
    faults = [r["fault"] for r in reqs if r["fault"]]
    check("faults: each kind was injected", all(k in faults for k in ("429", "504", "500", "reset", "slow", "503")),
          faults)
    limits = [r["limit"] for r in reqs]
    check("faults: 504 above 4 rows halved the page size 8 -> 4 and it stayed there",
          limits[0] == 8 and 4 in limits and all(l <= 4 for l in limits[limits.index(4):]), limits)
    ok429 = True
    for i, r in enumerate(reqs[:-1]):
        if r["fault"] == "429":
            gap = reqs[i + 1]["t"] - r["t"]
            ok429 = ok429 and gap >= 0.95
    check("faults: after each 429 the next request waited Retry-After (1 s, and a date 2 s ahead)", ok429,
          [(r["fault"], round(r["t"], 2)) for r in reqs])
    check("faults: the driver counted 3 rate-limited answers and the halving",
          kv.get("rate_limited") == "3" and int(kv.get("halvings", "0")) >= 1, line)


def test_timeout():
    fresh("timeout")
    D.ctl("/control/faults", {"faults": [{"kind": "slow", "delay": 3, "count": 1}]})
    t0 = time.monotonic()
    rc, line, kv, err = scan("timeout", SDK_PROJECT, "--page", "50", "--timeout-ms", "1000", "--retry-base-ms", "50")
    D.ctl("/control/faults", {"faults": []})
    # the abandoned slow answer is logged when the double finishes it: wait for it (poll)
    deadline = time.monotonic() + 10
    while not any(r["fault"] == "slow" for r in D.requests()) and time.monotonic() < deadline:
        time.sleep(0.05)
    lines = read_out(os.path.join(WORK, "timeout.out"))
    check("a slow answer beyond the request timeout is abandoned and retried",
          rc == 0 and int(kv.get("retries", "0")) >= 1 and time.monotonic() - t0 < 3
          and exactly_once(lines, D.rows(SDK_PROJECT)) == "", line)


def test_updates_deletes():
    rows = D.rows(SDK_PROJECT)
    ids = sorted(rows)
    a, b, c, d, e = ids[3], ids[10], ids[20], ids[30], ids[40]
    D.ctl("/control/update", {"project_id": SDK_PROJECT, "id": a, "patch": {"scores": {"late_score": 0.5}}})
    D.ctl("/control/update", {"project_id": SDK_PROJECT, "id": b, "patch": {"metadata": {"feedback": "good"}},
                              "change_key": True})
    D.ctl("/control/update", {"project_id": SDK_PROJECT, "id": c, "patch": {"tags": ["reviewed"]}})
    D.ctl("/control/delete", {"project_id": SDK_PROJECT, "ids": [d, e]})
    new = [{"id": "new-%d" % i, "span_id": "s%d" % i, "root_span_id": "r%d" % i, "input": "late %d" % i}
           for i in range(5)]
    D.ctl("/control/rows", {"project_id": SDK_PROJECT, "rows": new})
    after = D.rows(SDK_PROJECT)
    check("updates: the double kept a's key and changed b's", after[a]["_pagination_key"] == rows[a]["_pagination_key"]
          and after[b]["_pagination_key"] != rows[b]["_pagination_key"])
    before = len(read_out(os.path.join(WORK, "full.out")))
    rc, line, kv, err = scan("full", SDK_PROJECT, "--page", "7")
    lines = read_out(os.path.join(WORK, "full.out"))[before:]
    expected = {i: after[i] for i in [a, b, c, d, e] + ["new-%d" % i for i in range(5)]}
    check("incremental scan after updates, deletes and inserts", rc == 0 and sanitizer_clean(err), line)
    check("incremental: exactly the 3 updated (key kept or changed), 2 deleted and 5 new rows, once each",
          exactly_once(lines, expected) == "", exactly_once(lines, expected))
    check("incremental: deletes reported with deleted = true", sorted(l["id"] for l in lines if l["deleted"])
          == sorted([d, e]) and kv.get("deleted") == "2", line)
    rc, line, kv, err = scan("full", SDK_PROJECT, "--page", "7")
    check("incremental: a run with nothing new delivers nothing", rc == 0 and kv.get("rows") == "0", line)
    return a


def test_late_rows():
    state_before = json.load(open(os.path.join(WORK, "full.state")))
    D.ctl("/control/freshness", {"hold": True})
    D.ctl("/control/rows", {"project_id": SDK_PROJECT, "rows": [{"id": "late-%d" % i, "input": i} for i in range(3)]})
    upd = sorted(D.rows(SDK_PROJECT))[5]
    D.ctl("/control/update", {"project_id": SDK_PROJECT, "id": upd, "patch": {"output": "revised"}})
    before = len(read_out(os.path.join(WORK, "full.out")))
    rc, line, kv, err = scan("full", SDK_PROJECT, "--page", "7")
    check("late rows: not yet indexed (freshness) -> not delivered, position not past them",
          rc == 0 and kv.get("rows") == "0" and json.load(open(os.path.join(WORK, "full.state"))) == state_before,
          line)
    D.ctl("/control/process", {})
    rc, line, kv, err = scan("full", SDK_PROJECT, "--page", "7")
    lines = read_out(os.path.join(WORK, "full.out"))[before:]
    now = D.rows(SDK_PROJECT)
    expected = {i: now[i] for i in ["late-0", "late-1", "late-2", upd]}
    check("late rows: delivered by a later run once the index caught up", rc == 0 and exactly_once(lines, expected)
          == "", exactly_once(lines, expected) or line)
    D.ctl("/control/freshness", {"hold": False})


def test_resume_mid_window():
    pid = D.ctl("/control/project", {"name": "resume", "org": "acme"})["id"]
    D.ctl("/control/generate", {"project_id": pid, "traces": 10, "spans": 3, "seed": 7})
    fresh("resume")
    out = os.path.join(WORK, "resume.out")
    rc1, line1, kv1, _ = scan("resume", pid, "--page", "4", "--max-pages", "2")
    first = D.rows(pid)
    delivered = {l["id"] for l in read_out(out)}
    moved = sorted(delivered)[0]
    D.ctl("/control/update", {"project_id": pid, "id": moved, "patch": {"scores": {"q": 1}}})
    D.ctl("/control/generate", {"project_id": pid, "traces": 2, "spans": 2, "seed": 8})
    rc2, line2, kv2, _ = scan("resume", pid, "--page", "4")
    rc3, line3, kv3, _ = scan("resume", pid, "--page", "4")
    lines = read_out(out)
    now = D.rows(pid)
    # versions: every first-window row once (the moved one in its first version), then the update and the new rows
    want = [(i, r["_xact_id"]) for i, r in first.items()] + [(moved, now[moved]["_xact_id"])] + \
        [(i, r["_xact_id"]) for i, r in now.items() if i not in first]
    got = [(l["id"], l["_xact_id"]) for l in lines]
    check("resume: a run stopped after 2 pages, then resumed, then the next window",
          rc1 == 0 and kv1.get("complete") == "0" and rc2 == 0 and rc3 == 0, [line1, line2, line3])
    check("resume: every version exactly once across the three runs", sorted(got) == sorted(want)
          and len(got) == len(set(got)), (len(got), len(want)))


def test_generated_and_budget():
    pid = D.ctl("/control/project", {"name": "generated", "org": "acme"})["id"]
    D.ctl("/control/generate", {"project_id": pid, "traces": 40, "spans": 4, "seed": 3})
    fresh("gen")
    m = D.mark()
    t0 = time.monotonic()
    rc, line, kv, err = scan("gen", pid, "--page", "10", "--rpm", "240")
    lines = read_out(os.path.join(WORK, "gen.out"))
    check("generated traces: 160 spans exactly once", rc == 0 and exactly_once(lines, D.rows(pid)) == "",
          exactly_once(lines, D.rows(pid)) or line)
    ts = sorted(r["t"] for r in D.requests(m) if r["path"] == "/btql" and pid in (r["query"] or ""))
    gaps = [b - a for a, b in zip(ts, ts[1:])]
    # 240/min, burst 1: request j comes at least (j - i) * 0.25 s after request i (arrival jitter: 60 ms)
    paced = all(ts[j] - ts[i] >= (j - i) * 0.25 - 0.06 for i in range(len(ts)) for j in range(i + 1, len(ts)))
    check("budget: 240 requests/min -> n requests span at least (n-1) x 0.25 s (%d requests)" % len(ts),
          len(ts) >= 17 and paced, [round(g, 3) for g in gaps])
    check("budget: the run was paced by the budget (%d requests took >= 4 s)" % len(ts),
          time.monotonic() - t0 >= 4.0, time.monotonic() - t0)


def test_huge():
    fresh("huge")
    D.ctl("/control/faults", {"faults": [{"kind": "huge", "count": -1}]})
    rc, line, kv, err = scan("huge", SDK_PROJECT, "--page", "8", "--floor", "2")
    check("10 MB: an answer over the cap (8 MiB) at every page size is refused cleanly (54000)",
          rc == 1 and line.startswith("error 54000") and "larger than 8388608 bytes" in line
          and "maximum response size" in line and sanitizer_clean(err), line + err[-1000:])
    check("10 MB: nothing delivered, position untouched", read_out(os.path.join(WORK, "huge.out")) == []
          and json.load(open(os.path.join(WORK, "huge.state")))["xact_id"] is None)
    D.ctl("/control/faults", {"faults": [{"kind": "huge", "gzip": True, "count": -1}]})
    rc, line, kv, err = scan("huge", SDK_PROJECT, "--page", "8", "--floor", "2")
    check("10 MB gzip bomb: the inflated size is capped too", rc == 1 and line.startswith("error 54000")
          and sanitizer_clean(err), line)
    D.ctl("/control/faults", {"faults": [{"kind": "huge", "count": 1}]})
    rc, line, kv, err = scan("huge", SDK_PROJECT, "--page", "8", "--floor", "2")
    lines = read_out(os.path.join(WORK, "huge.out"))
    check("10 MB once: the page size is halved and the scan completes exactly once",
          rc == 0 and kv.get("halvings") == "1" and exactly_once(lines, D.rows(SDK_PROJECT)) == "", line)
    D.ctl("/control/faults", {"faults": []})


def test_permanent_errors():
    rc, line, kv, _ = drive("login", key="sk-nope", api=False)
    check("401: invalid key hint and Braintrust's message", rc == 1 and "status=401" in line
          and "Invalid API key" in line and "invalid, expired or revoked" in line, line)
    fresh("perm")
    rc, line, kv, _ = scan("perm", GLOBEX_PROJECT)
    check("403: a project of another org: hint names read access and the org", rc == 1 and "status=403" in line
          and "permission" in line and "read access" in line, line)
    rc, line, kv, _ = scan("perm", "11111111-2222-4333-8444-555555555555")
    check("404: project not found or not visible to this key", rc == 1 and "status=404" in line
          and "not found or is not visible to this API key" in line, line)
    rc, line, kv, _ = scan("perm", SDK_PROJECT, "--filter", "len(tags) > 1")
    check("400: Braintrust rejects the filter: its message and a filter hint", rc == 1 and "status=400" in line
          and "Invalid BTQL query" in line and "check the automation's filter" in line, line)
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    p = subprocess.run([DRIVER, "--key", "sk-acme", "--api", "http://127.0.0.1:%d" % port, "--attempts", "2",
                        "--retry-base-ms", "50", "project", "x"], capture_output=True, text=True, timeout=60)
    check("data plane unreachable: 08006 with a hint naming the API URL", p.returncode == 1
          and p.stdout.startswith("error 08006") and "unreachable" in p.stdout and "API URL" in p.stdout, p.stdout)
    rc, line, kv, _ = scan("perm", SDK_PROJECT, "--filter", "a = 1) or (true")
    check("a filter that would break out of its parentheses is refused before any request",
          rc == 1 and line.startswith("error 22023"), line)


def test_redirect():
    fresh("redir")
    D.ctl("/control/faults", {"faults": [{"kind": "redirect", "status": 303, "count": -1}]})
    m = D.mark()
    rc, line, kv, err = scan("redir", SDK_PROJECT, "--page", "4", "--floor", "2")
    D.ctl("/control/faults", {"faults": []})
    reqs = D.requests(m)
    check("redirect to another host: never followed, refused at the floor without the URL",
          rc == 1 and "redirected to another host" in line and "X-Amz-Signature" not in line, line)
    check("redirect to another host: no request reached it (the key stayed home)",
          reqs and not any((r["host"] or "").startswith("localhost") for r in reqs), [r["host"] for r in reqs])


def test_filter_and_query():
    fresh("roots")
    rc, line, kv, err = scan("roots", SDK_PROJECT, "--filter", "is_root", "--page", "10")
    roots = {i: r for i, r in D.rows(SDK_PROJECT).items() if r.get("is_root") is True}
    lines = read_out(os.path.join(WORK, "roots.out"))
    check("user filter (is_root) combined by AND: exactly the root spans", rc == 0 and exactly_once(lines, roots)
          == "", exactly_once(lines, roots) or line)
    rc, line, kv, _ = drive("query", "select: id | from: project_logs('%s') | filter: is_root | limit: 5" % SDK_PROJECT)
    check("raw query: rows of the caller's own query", rc == 0 and kv.get("rows") == "5", line)


def test_negative_control(updated_id):
    """A pager on _pagination_key alone must lose an update that keeps its key; the check must see it."""
    state, out = fresh("naive")
    rc, line, kv, _ = drive("naive-scan", "--project-id", SDK_PROJECT, "--state", state, "--out", out, "--page", "50")
    n1 = len(read_out(out))
    target = sorted(D.rows(SDK_PROJECT))[7]
    D.ctl("/control/update", {"project_id": SDK_PROJECT, "id": target, "patch": {"scores": {"nc": 1}}})
    rc2, line2, _, _ = drive("naive-scan", "--project-id", SDK_PROJECT, "--state", state, "--out", out, "--page", "50")
    lines = read_out(out)[n1:]
    verdict = exactly_once(lines, {target: D.rows(SDK_PROJECT)[target]})
    check("negative control: pk-only paging misses an update that keeps its key, and the check reports it",
          rc == 0 and rc2 == 0 and verdict.startswith("missing"), verdict or "the naive pager was not caught")
    rc, line, kv, _ = scan("full", SDK_PROJECT, "--page", "7")
    check("... while the windowed scan delivers that update", rc == 0 and kv.get("rows") == "1", line)


def main():
    global D
    if not os.path.exists(DRIVER):
        print("FATAL: %s not built" % DRIVER)
        print("0 passed, 1 failed")
        return 1
    D = Double()
    try:
        test_discovery()
        test_full_scan()
        test_faults()
        test_timeout()
        upd = test_updates_deletes()
        test_late_rows()
        test_resume_mid_window()
        test_generated_and_budget()
        test_huge()
        test_permanent_errors()
        test_redirect()
        test_filter_and_query()
        test_negative_control(upd)
    except Exception as e:  # a crash of the suite is a failure, not a silent pass
        import traceback
        traceback.print_exc()
        bad("suite crashed: %s" % e)
    finally:
        D.stop()
    print("%d passed, %d failed" % (PASS, FAIL))
    return 1 if FAIL else 0


if __name__ == "__main__":
    sys.exit(main())
