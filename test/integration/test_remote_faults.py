"""The remote source under faults, against the Braintrust API test double (test/harness/braintrust_double.py)
and moto behind the fault-injecting proxy (test/harness/faultproxy.py; both test doubles):
  - 20 runs with about 20 % API faults (429 with Retry-After, 500, 504, connection resets, slow
    answers) and 20 % S3 faults, while a thread updates (keeping or changing pagination keys),
    inserts and deletes rows in the double: every run succeeds, every span version is in S3 at most
    once, each the current version when exported, the last one of every span its current version;
    no multipart upload is left open; every object matches the SHA-256 the ledger recorded;
  - kill -9 of the worker and a postmaster crash between pages lose and duplicate nothing;
  - an answer over 10 MB is refused cleanly and the run goes on with smaller pages;
  - the request budget is respected, within a run and across runs (the double's request log).
No fixed sleeps as synchronisation: every wait polls."""
import hashlib
import json
import os
import random
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid

from lib import (check, finish, fresh_db, psql, psql_json, list_keys, get_object, setup_credential, aws,
                 braintrust_double, wait_for)

HERE = os.path.dirname(os.path.abspath(__file__))
PG_BIN = os.environ.get("PG_BIN", "/usr/lib/postgresql/15/bin")
DB = fresh_db("btx_remote_faults")
EP = os.environ["MOTO_ENDPOINT"]
setup_credential("moto")
D = braintrust_double()
PID = str(uuid.uuid4())
D.ctl("/control/project", {"name": "faulty", "org": "acme", "id": PID})
D.ctl("/control/generate", {"project_id": PID, "traces": 80, "spans": 5, "seed": 3})
psql(f"SELECT btexport.create_connection('bt', 'sk-acme', app_url => '{D.url}')")


def proxy_start():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    p = subprocess.Popen([sys.executable, os.path.join(HERE, "..", "harness", "faultproxy.py"), str(port),
                          os.environ["MOTO_ENDPOINT"].rsplit(":", 1)[1], "0.2", "7", "0.3"],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert p.stdout.readline().strip() == "ready"
    return p, f"http://127.0.0.1:{port}"


RUN_TAG = uuid.uuid4().hex[:8]        # S3 prefixes of this execution only (moto may outlive it)


def auto(name, ep, extra="", batch=50):
    psql(f"""SELECT btexport.create_automation('{name}', 'faulty', 's3://test-bucket/rfaults-{RUN_TAG}/{name}/', connection => 'bt',
             endpoint => '{ep}', credential => 'moto', requests_per_minute => 6000, batch_size => {batch} {extra})""")


def run(name, extra=""):
    return psql_json(f"SELECT row_to_json(r) FROM btexport.run('{name}'{extra}) r")[-1]


def exported(name):
    """every row in S3 under the automation's prefix, and whether each object matches the ledger"""
    keys = list_keys("test-bucket", f"rfaults-{RUN_TAG}/{name}/")
    files = {f["key"]: f for f in psql_json("SELECT row_to_json(f) FROM btexport.run_files f")}
    rows, sha_ok = [], True
    for k in keys:
        body = get_object("test-bucket", k)
        sha_ok &= k in files and files[k]["sha256"] == hashlib.sha256(body).hexdigest() and files[k]["bytes"] == len(body)
        rows += [json.loads(x) for x in body.decode().split("\n") if x]
    return rows, sha_ok and set(keys) == {k for k in files if k.startswith(f"rfaults-{RUN_TAG}/{name}/")}


def exactly_once(name, label):
    """no version twice; each a real, non-deleted version; the last one of every visible span its current
    version, and no deleted span's version after its delete"""
    rows, sha_ok = exported(name)
    got = [(r["id"], str(r["_xact_id"])) for r in rows]
    versions = D.versions(PID)
    real = {(v["id"], v["_xact_id"]) for v in versions if not v["deleted"]}
    current = {(r["id"], r["_xact_id"]) for r in D.rows(PID) if not r.get("_object_delete")}
    last = {}
    for i, x in got:
        last[i] = max(last.get(i, x), x)
    deleted_at = {v["id"]: v["_xact_id"] for v in versions if v["deleted"]}
    after_delete = [(i, x) for i, x in got if i in deleted_at and x > deleted_at[i] and (i, x) not in real]
    missing = current - set(last.items())
    check(f"{label}: every span version in S3 at most once, each a real version, the current one of every span last",
          len(got) == len(set(got)) and set(got) <= real and not missing and not after_delete,
          f"{len(got)} rows, {len(got) - len(set(got))} duplicates, {len(set(got) - real)} unknown, "
          f"{len(missing)} current versions missing: {sorted(missing)[:3]}")
    ups = aws("s3api", "list-multipart-uploads", "--bucket", "test-bucket", "--prefix", f"rfaults-{RUN_TAG}/{name}/")
    check(f"{label}: no multipart upload is left open; every object is in the ledger with its SHA-256",
          '"UploadId"' not in ups and sha_ok, ups[:300] + f" sha/ledger ok: {sha_ok}")
    return got


def catch_up(name):
    for _ in range(20):
        r = run(name)
        if r["status"] == "succeeded" and r["rows"] == 0 and json.loads(r["position_to"])["horizon"] is None:
            return r
    return r


# ---- 20 runs at 20 % API faults and 20 % S3 faults, with concurrent writes ------------------------
proxy, PEP = proxy_start()
auto("rf", PEP, ", max_rows_per_run => 150, part_size => '5MB'")
D.faults([{"kind": k, "path": "any", "count": -1, "rate": 0.045, "seed": n, **extra}
          for n, (k, extra) in enumerate((("429", {"retry_after": "1"}), ("500", {}), ("504", {}), ("reset", {}),
                                         ("slow", {"delay": 0.3})))])
stop = threading.Event()
writes = {"update": 0, "update_key": 0, "insert": 0, "delete": 0}


def mutate():
    rng = random.Random(5)
    n = 0
    while not stop.is_set():
        ids = [r["id"] for r in D.rows(PID) if not r.get("_object_delete")]
        op = rng.choice(["update", "update_key", "insert", "insert", "delete"])
        if op == "insert":
            n += 1
            D.ctl("/control/rows", {"project_id": PID, "rows": [{"id": f"ins-{n}", "span_id": f"s{n:015x}",
                                                                "root_span_id": f"t-ins-{n % 7}", "input": {"n": n}}]})
        elif ids and op == "delete":
            D.ctl("/control/delete", {"project_id": PID, "ids": [rng.choice(ids)]})
        elif ids:
            D.ctl("/control/update", {"project_id": PID, "id": rng.choice(ids), "patch": {"scores": {"m": rng.random()}},
                                      "change_key": op == "update_key"})
        writes[op] += 1
        stop.wait(0.15)


t = threading.Thread(target=mutate, daemon=True)
t.start()
statuses = []
for i in range(20):
    r = run("rf")
    statuses.append((r["status"], r["rows"], r["api_requests"], r.get("error_message")))
stop.set()
t.join()
check("20 runs at 20 % API faults and 20 % S3 faults, with concurrent updates, inserts and deletes, all succeed",
      all(s[0] == "succeeded" for s in statuses) and sum(s[1] for s in statuses) > 0,
      repr([s for s in statuses if s[0] != "succeeded"][:3]) + repr(writes))
log = D.requests()
kinds = {e["fault"] for e in log if e["fault"]}
check("the double injected faults of every kind (429 with Retry-After, 500, 504, reset, slow)",
      kinds >= {"429", "500", "504", "reset", "slow"}, repr(kinds))
check("...and 500/504 made the runs halve their page size", any(e["limit"] and e["limit"] < 50 for e in log),
      repr(sorted({e["limit"] for e in log if e["limit"]})))
D.faults([])
catch_up("rf")
exactly_once("rf", "after the fault runs")
proxy.terminate()
counts = proxy.communicate(timeout=10)[1]
check("the S3 proxy injected faults of every kind", all(f"'{k}': 0" not in counts for k in ("500", "503", "reset", "stall")),
      counts)

# ---- kill -9 of the worker, and a postmaster crash, between pages -------------------------------


def up():
    try:
        return psql("SELECT 1", db="postgres").strip() == "1"
    except Exception:        # noqa: BLE001
        return False


def start_between_pages(name):
    """a run whose pages come slowly: returns when it has handed rows to S3 and asked for a later page"""
    D.faults([{"kind": "slow", "path": "btql", "count": -1, "delay": 0.7}])
    mark = len(D.requests())
    q = run(name, ", wait => false")
    pid = wait_for(lambda: psql(f"SELECT pid FROM btexport.runs WHERE id = {q['id']} AND status = 'running'").strip(),
                   60, "running")
    wait_for(lambda: len([e for e in D.requests(mark) if e["path"] == "/btql"]) >= 3
             and (psql(f"SELECT coalesce(rows, 0) FROM btexport.progress WHERE run_id = {q['id']}").strip() or "0") != "0",
             60, "the run to be between pages")
    return q, int(pid)


for i in range(3):      # more versions for the crash tests
    D.ctl("/control/generate", {"project_id": PID, "traces": 20, "spans": 5, "seed": 100 + i})
auto("rkill", EP, batch=25)
q, pid = start_between_pages("rkill")
os.kill(pid, signal.SIGKILL)
wait_for(up, 90, "the server to come back")
D.faults([])
r = catch_up("rkill")
st = psql_json(f"SELECT row_to_json(r) FROM btexport.runs r WHERE id = {q['id']}")[0]
check("kill -9 of the worker between pages: the run is failed (interrupted), the next runs complete",
      st["status"] == "failed" and st["error_message"] == "run interrupted" and r["status"] == "succeeded",
      json.dumps(st)[:300])
exactly_once("rkill", "after kill -9 of the worker")

auto("rcrash", EP, batch=25)
q, pid = start_between_pages("rcrash")
pm = int(open(os.path.join(os.environ["PGDIR"], "data", "postmaster.pid")).readline())
os.kill(pm, signal.SIGKILL)
wait_for(lambda: not os.path.exists(f"/proc/{pid}"), 60, "the orphaned worker to exit")
start = ["su", "postgres", "-s", "/bin/bash", "-c",
         f"{PG_BIN}/pg_ctl -D {os.environ['PGDIR']}/data -l {os.environ['PGDIR']}/server.log -w start"]
wait_for(lambda: subprocess.run(start, capture_output=True).returncode == 0 or up(), 120, "the server to restart")
wait_for(up, 60, "connections")
D.faults([])
r = catch_up("rcrash")
st = psql_json(f"SELECT row_to_json(r) FROM btexport.runs r WHERE id = {q['id']}")[0]
check("a postmaster crash between pages: the run is failed after the restart, the next runs complete",
      st["status"] == "failed" and r["status"] == "succeeded", json.dumps(st)[:300])
exactly_once("rcrash", "after the postmaster crash")

# ---- an answer over 10 MB: refused cleanly, the run goes on with smaller pages ---------------------
auto("rhuge", EP, batch=1000)
mark = len(D.requests())
D.faults([{"kind": "huge", "path": "btql", "count": -1, "above_limit": 250, "bytes": 11 * 1024 * 1024}])
r = run("rhuge")
log = [e for e in D.requests(mark) if e["path"] == "/btql"]
D.faults([])
check("an answer over 10 MB is refused (never read whole) and the run goes on with pages of 500, then 250",
      r["status"] == "succeeded" and [e["limit"] for e in log[:3]] == [1000, 500, 250]
      and log[0]["fault"] == "huge" and log[2]["fault"] is None and r["rows"] > 0, json.dumps(r)[:300]
      + repr([(e["limit"], e["fault"], e["status"]) for e in log[:4]]))
exactly_once("rhuge", "after the huge answers")

# ---- the request budget, within a run and across runs ------------------------------------------
auto("rbudget", EP, batch=100)
psql("SELECT btexport.update_automation('rbudget', requests_per_minute => 120)")
mark = len(D.requests())
r1, r2 = run("rbudget"), run("rbudget")
log = [e for e in D.requests(mark) if e["path"] in ("/btql", "/api/apikey/login", "/v1/project")
       or e["path"].startswith("/v1/project")]
gaps = [b["t"] - a["t"] for a, b in zip(log, log[1:])]
check("requests_per_minute 120: every request at least 0.5 s after the one before, across two runs too",
      r1["status"] == r2["status"] == "succeeded" and len(log) == r1["api_requests"] + r2["api_requests"]
      and len(log) >= 6 and min(gaps) >= 0.5 - 0.02, f"{len(log)} requests, gaps {[round(g, 3) for g in gaps]}")
D.stop()
finish()
