#!/usr/bin/env python3
"""Differential test of btexport.log / btexport.log_text.

An independent model (this file, Python 3 stdlib only) folds the SDK rows of
test/data/sdk-events/events.jsonl by the README's rules ("Applying rows")
and btexport's documented additions (docs/ingest.md), and the result is
compared column by column with what the extension stored, for several ways of
delivering the same rows: one call, one row per call, random batch sizes, and
JSON Lines text.  A seeded random workload (replaces, merges, nested objects
turning into scalars and back, tags unions, nulls) is checked the same way.

Needs a running cluster with CREATE EXTENSION btexport done (PG* environment
variables), and the shared directory.  Prints one line per check and ends with
"N passed, M failed"; exits non-zero on any failure.
"""
import argparse
import datetime
import json
import os
import random
import re
import sys
from decimal import Decimal

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "integration"))
import lib  # noqa: E402
from lib import check  # noqa: E402


# ---------------------------------------------------------------- psql access

def psql(sql, expect_error=False):
    """Run a script with verbose errors (SQLSTATEs); returns (rc, stdout, stderr)."""
    rc, out, err = lib.run_psql(sql, args=("-v", "VERBOSITY=verbose"))
    if rc != 0 and not expect_error:
        raise RuntimeError("psql failed (%d):\n%s\n--- script head ---\n%s" % (rc, err, sql[:2000]))
    return rc, out, err


def dq(text):
    """Dollar-quote text for SQL."""
    tag = "ev"
    n = 0
    while ("$%s$" % tag) in text:
        n += 1
        tag = "ev%d" % n
    return "$%s$%s$%s$" % (tag, text, tag)


def lit(s):
    return "'" + s.replace("'", "''") + "'"


# the project id the SDK capture's rows carry (test/data/sdk-events/README.md)
SDK_PROJECT_ID = "0b6f3a52-8f5e-4c1a-b1d2-3e4f5a6b7c8d"


def for_project(project, text):
    """The capture's text addressed to `project`: an event's project_id must name the project it is
    logged into (docs/ingest.md), so each scenario's project gets its own id in the rows.  The id is
    asked for once per project (create_project returns the existing project's id), not once per line:
    a psql process per line was most of this suite's time."""
    if project not in PROJECT_IDS:
        _, out, _ = psql("SELECT btexport.create_project(%s);" % lit(project))
        PROJECT_IDS[project] = out.strip()
    return text.replace('"project_id":"%s"' % SDK_PROJECT_ID, '"project_id":"%s"' % PROJECT_IDS[project])


PROJECT_IDS = {}


def fetch_rows(project):
    """The stored rows of a project; SQL NULL columns are left out of the dicts
    (row_to_json would show SQL NULL and jsonb 'null' alike)."""
    nulls = ", ".join("CASE WHEN l.%s IS NULL THEN '%s' END" % (c, c) for c in NULLABLE)
    _, out, _ = psql("SELECT json_build_object('row', row_to_json(l), 'nulls', array_remove(ARRAY[%s], NULL))::text "
                     "FROM btexport.logs l JOIN btexport.projects p "
                     "ON p.id = l.project_id WHERE p.name = %s ORDER BY l.id;" % (nulls, lit(project)))
    rows = {}
    for line in out.splitlines():
        if line.strip():
            x = json.loads(line, parse_float=Decimal, parse_int=Decimal)
            r = {k: v for k, v in x["row"].items() if k not in x["nulls"]}
            rows[r["id"]] = r
    return rows


# ---------------------------------------------------------------- the model

class Reject(Exception):
    def __init__(self, field, sqlstate):
        super().__init__(field)
        self.field = field
        self.sqlstate = sqlstate


def jsonb_unsafe(v):
    """True when v holds a NUL or an unpaired surrogate (in a key or a string)."""
    if isinstance(v, str):
        return "\x00" in v or any(0xD800 <= ord(c) <= 0xDFFF for c in v)
    if isinstance(v, list):
        return any(jsonb_unsafe(x) for x in v)
    if isinstance(v, dict):
        return any(jsonb_unsafe(k) or jsonb_unsafe(x) for k, x in v.items())
    return False


def is_num(v):
    return isinstance(v, Decimal)


ISO_RE = re.compile(r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}(:?\d{2})?)?$", re.I)

STORED = ["input", "output", "expected", "error", "scores", "metrics", "metadata", "span_attributes",
          "context", "origin", "comment"]
NULLABLE = STORED + ["span_parents", "tags", "audit_source", "audit_metadata", "org_id"]
IGNORED = {"project_id", "org_id", "_xact_id", "_updated", "_pagination_key", "is_root"}


def normalise(ev):
    """Validate one event; return (is_merge, doc) or raise Reject."""
    if not isinstance(ev, dict):
        raise Reject(None, "22023")
    if jsonb_unsafe(ev):
        raise Reject(None, "22P05")
    doc = {}
    is_merge = False
    for k, v in ev.items():
        if k in ("id", "span_id", "root_span_id"):
            if v is None:
                continue
            if not isinstance(v, str) or v == "":
                raise Reject(k, "22023")
            doc[k] = v
        elif k in ("span_parents", "tags"):
            if v is None:
                continue
            if not isinstance(v, list) or not all(isinstance(x, str) for x in v):
                raise Reject(k, "22023")
            doc[k] = v
        elif k == "scores":
            if v is not None:
                if not isinstance(v, dict):
                    raise Reject(k, "22023")
                for x in v.values():
                    if x is not None and (not is_num(x) or x < 0 or x > 1):
                        raise Reject(k, "22023")
            doc[k] = v
        elif k == "metrics":
            if v is not None:
                if not isinstance(v, dict) or not all(x is None or is_num(x) for x in v.values()):
                    raise Reject(k, "22023")
            doc[k] = v
        elif k in ("metadata", "span_attributes", "context", "origin"):
            if v is not None and not isinstance(v, dict):
                raise Reject(k, "22023")
            doc[k] = v
        elif k in ("input", "output", "expected", "error", "comment"):
            doc[k] = v
        elif k == "created":
            if v is None:
                continue
            if not isinstance(v, str) or not ISO_RE.match(v):
                raise Reject(k, "22007")
            doc[k] = v
        elif k == "_is_merge":
            if v is not None and not isinstance(v, bool):
                raise Reject(k, "22023")
            is_merge = v is True
        elif k == "_audit_source":
            if v is not None and not isinstance(v, str):
                raise Reject(k, "22023")
            doc["audit_source"] = v
        elif k == "_audit_metadata":
            if v is not None and not isinstance(v, dict):
                raise Reject(k, "22023")
            doc["audit_metadata"] = v
        elif k == "log_id":
            if v not in (None, "g"):
                raise Reject(k, "22023")
        elif k in IGNORED:
            pass
        else:
            raise Reject(k, "22023" if k not in ("_object_delete", "_merge_paths", "_parent_id") else "0A000")
    return is_merge, doc


def deep_merge(into, frm, top):
    out = dict(into)
    for k, v in frm.items():
        if k not in out:
            out[k] = v
        elif top and k == "created":
            pass                                  # created comes from the first write
        elif top and k == "tags" and isinstance(out[k], list) and isinstance(v, list):
            u = []
            for t in out[k] + v:
                if t not in u:
                    u.append(t)
            out[k] = u
        elif isinstance(out[k], dict) and isinstance(v, dict) and not (top and k == "audit_metadata"):
            out[k] = deep_merge(out[k], v, False)
        else:
            out[k] = v
    return out


def replace(old, new):
    out = dict(new)
    if old is not None:
        if "created" not in new and "created" in old:
            out["created"] = old["created"]
        if not any(k in new for k in ("span_id", "root_span_id", "span_parents")):
            for k in ("span_id", "root_span_id", "span_parents"):
                if k in old:
                    out[k] = old[k]
    return out


class Model:
    def __init__(self):
        self.rows = {}
        self.last_touch = {}

    def apply(self, events, start_index=0):
        """Apply one call's events (a list of parsed JSON values).  Returns the
        list of (index, field, sqlstate) rejects."""
        rejects = []
        prepared = []
        for i, ev in enumerate(events):
            try:
                is_merge, doc = normalise(ev)
            except Reject as r:
                rejects.append((start_index + i, r.field, r.sqlstate))
                continue
            prepared.append((start_index + i, is_merge, doc))
        for i, is_merge, doc in prepared:
            rid = doc.get("id")
            if rid is None:
                raise RuntimeError("model: events without id are not used in this test")
            old = self.rows.get(rid)
            if old is None:
                self.rows[rid] = dict(doc)
                self.rows[rid].setdefault("created", "NOW")   # the first write decides created
            elif is_merge:
                self.rows[rid] = deep_merge(old, doc, True)
            else:
                self.rows[rid] = replace(old, doc)
            self.last_touch[rid] = (self.call_no, i)
        return rejects

    call_no = 0


# ---------------------------------------------------------------- comparison

def canon(v):
    if v is None:
        return ("null",)
    if isinstance(v, bool):
        return ("bool", v)
    if isinstance(v, Decimal):
        return ("num", v)                          # Decimal == compares numerically (1e+21 == 1000...0)
    if isinstance(v, (int, float)):
        return ("num", Decimal(str(v)))
    if isinstance(v, str):
        return ("str", v)
    if isinstance(v, list):
        return ("arr", tuple(canon(x) for x in v))
    if isinstance(v, dict):
        return ("obj", tuple(sorted((k, canon(x)) for k, x in v.items())))
    raise TypeError(type(v))


def parse_ts(s):
    s = s.strip()
    if s.endswith("Z") or s.endswith("z"):
        s = s[:-1] + "+00:00"
    s = s.replace(" ", "T", 1)
    m = re.match(r"^(.*[T]\d{2}:\d{2}(?::\d{2})?)(\.\d+)?([+-]\d{2}(?::?\d{2})?)?$", s)
    base, frac, tz = m.group(1), m.group(2) or "", m.group(3) or "+00:00"
    if len(tz) == 3:
        tz += ":00"
    if len(tz) == 5:
        tz = tz[:3] + ":" + tz[3:]
    frac = (frac + "000000")[:7] if frac else ""
    return datetime.datetime.fromisoformat(base + frac + tz)


HEX16 = re.compile(r"^[0-9a-f]{16}$")
HEX32 = re.compile(r"^[0-9a-f]{32}$")


def compare(model, stored, t0, t1):
    """Column-by-column comparison; returns a list of problems."""
    problems = []
    if set(model.rows) != set(stored):
        problems.append("row ids differ: only in model %s; only stored %s" % (
            sorted(set(model.rows) - set(stored))[:5], sorted(set(stored) - set(model.rows))[:5]))
    for rid in sorted(set(model.rows) & set(stored)):
        m, s = model.rows[rid], stored[rid]
        for col in ("span_id", "root_span_id"):
            if col in m:
                if s[col] != m[col]:
                    problems.append("%s.%s: stored %r, expected %r" % (rid, col, s[col], m[col]))
            elif not (HEX16 if col == "span_id" else HEX32).match(s[col] or ""):
                problems.append("%s.%s: generated value %r has the wrong shape" % (rid, col, s[col]))
        for col in ("span_parents", "tags"):
            if s.get(col) != m.get(col):
                problems.append("%s.%s: stored %r, expected %r" % (rid, col, s.get(col), m.get(col)))
        exp_root = not m.get("span_parents")
        if s["is_root"] != exp_root:
            problems.append("%s.is_root: stored %r, expected %r" % (rid, s["is_root"], exp_root))
        if m["created"] != "NOW":
            if parse_ts(s["created"]) != parse_ts(m["created"]):
                problems.append("%s.created: stored %s, expected %s" % (rid, s["created"], m["created"]))
        elif not (t0 <= parse_ts(s["created"]) <= t1):
            problems.append("%s.created: defaulted %s is not the call's time" % (rid, s["created"]))
        for col in STORED + ["audit_metadata"]:
            if col not in m:
                if col in s:
                    problems.append("%s.%s: stored %s, expected SQL NULL" % (rid, col, str(s[col])[:80]))
            elif col not in s or canon(s[col]) != canon(m[col]):
                problems.append("%s.%s: stored %s, expected %s" % (rid, col, str(s.get(col, "SQL NULL"))[:120],
                                                                  str(m[col])[:120]))
        if s.get("audit_source") != m.get("audit_source"):
            problems.append("%s.audit_source: stored %r, expected %r" % (rid, s.get("audit_source"),
                                                                         m.get("audit_source")))
        if s["log_id"] != "g":
            problems.append("%s.log_id: %r" % (rid, s["log_id"]))
    return problems


def now_utc():
    _, out, _ = psql("SELECT to_char(clock_timestamp() AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"+00:00\"');")
    return parse_ts(out.strip())


# ---------------------------------------------------------------- scenarios

def run_calls(project, calls, model_events_per_call):
    """calls: list of SQL expressions returning SETOF log_result.  Runs them in
    order, one psql script (each call its own transaction); returns the result
    rows (json) per call."""
    script = []
    for c in calls:
        script.append("SELECT coalesce(jsonb_agg(r ORDER BY r.event_index), '[]')::text FROM %s r;" % c)
    _, out, err = psql("\n".join(script))
    lines = [l for l in out.splitlines() if l.strip()]
    if len(lines) != len(calls):
        raise RuntimeError("expected %d result lines, got %d\n%s" % (len(calls), len(lines), err[:2000]))
    return [json.loads(l) for l in lines]


def scenario(name, project, batches, raw_lines, parsed, via, t_checks=True):
    """batches: list of (start, end) line ranges; via: 'text' (log_text with
    JSON Lines) or 'jsonb' (log with a jsonb array; jsonb-unsafe lines go
    through log_text on their own)."""
    model = Model()
    calls = []
    expected_rejects = []
    raw_lines = [for_project(project, l) for l in raw_lines] if raw_lines else raw_lines
    for ci, (a, b) in enumerate(batches):
        model.call_no = ci
        evs = parsed[a:b]
        if via == "text":
            calls.append("btexport.log_text(%s, %s, on_error => 'skip')" % (lit(project), dq("\n".join(raw_lines[a:b]))))
            rej = model.apply(evs, start_index=0)
            expected_rejects.append([(i, st) for i, _, st in rej])
        else:
            safe = [not jsonb_unsafe(e) for e in evs]
            if all(safe):
                calls.append("btexport.log(%s, %s::jsonb, on_error => 'skip')" % (
                    lit(project), dq("[" + ",".join(raw_lines[a:b]) + "]")))
                rej = model.apply(evs, start_index=0)
                expected_rejects.append([(i, st) for i, _, st in rej])
            else:
                # one call per unsafe line, jsonb for the runs between them
                start = a
                for j in range(a, b + 1):
                    if j == b or jsonb_unsafe(parsed[j]):
                        if j > start:
                            calls.append("btexport.log(%s, %s::jsonb, on_error => 'skip')" % (
                                lit(project), dq("[" + ",".join(raw_lines[start:j]) + "]")))
                            rej = model.apply(parsed[start:j], start_index=0)
                            expected_rejects.append([(i, st) for i, _, st in rej])
                            model.call_no += 1000
                        if j < b:
                            calls.append("btexport.log_text(%s, %s, on_error => 'skip')" % (
                                lit(project), dq(raw_lines[j])))
                            rej = model.apply([parsed[j]], start_index=0)
                            expected_rejects.append([(i, st) for i, _, st in rej])
                            model.call_no += 1000
                        start = j + 1
    t0 = now_utc()
    results = run_calls(project, calls, None)
    t1 = now_utc()
    got_rejects = [[(r["event_index"], r["sqlstate"]) for r in res if r["action"] == "reject"] for res in results]
    check("%s: %d calls report exactly the expected rejects" % (name, len(calls)),
          got_rejects == expected_rejects,
          "got %s\nexpected %s" % ([g for g in got_rejects if g][:5], [e for e in expected_rejects if e][:5]))
    n_written = sum(1 for res in results for r in res if r["action"] != "reject")
    n_expected = sum(len(parsed[a:b]) for a, b in batches) - sum(len(e) for e in expected_rejects)
    check("%s: every valid event reported as written (%d)" % (name, n_expected), n_written == n_expected,
          "reported %d" % n_written)
    stored = fetch_rows(project)
    problems = compare(model, stored, t0, t1)
    check("%s: %d stored spans equal the model, column by column" % (name, len(model.rows)), not problems,
          "\n".join(problems[:15]))
    return model, stored


def random_batches(n, rng, max_size):
    out, i = [], 0
    while i < n:
        k = rng.randint(1, max_size)
        out.append((i, min(n, i + k)))
        i += k
    return out


def random_value(rng, depth=0):
    r = rng.random()
    if depth > 2 or r < 0.35:
        return rng.choice([None, True, False, Decimal(rng.randint(-5, 5)), "s%d" % rng.randint(0, 3),
                           Decimal("0.5"), "é✓", [1, "x"], []])
    keys = ["a", "b", "c", "d"]
    return {k: random_value(rng, depth + 1) for k in rng.sample(keys, rng.randint(0, 3))}


def random_workload(rng, n_events, n_ids):
    evs = []
    for _ in range(n_events):
        rid = "r%02d" % rng.randrange(n_ids)
        ev = {"id": rid}
        if rng.random() < 0.6:
            ev["_is_merge"] = True
        elif rng.random() < 0.5:
            ev["_is_merge"] = False
        for col in ("input", "output", "metadata", "expected"):
            if rng.random() < 0.5:
                v = random_value(rng)
                if col == "metadata" and not (v is None or isinstance(v, dict)):
                    v = {"v": v}
                ev[col] = v
        if rng.random() < 0.3:
            ev["tags"] = rng.sample(["t1", "t2", "t3", "t4"], rng.randint(0, 3))
        if rng.random() < 0.3:
            ev["metrics"] = {rng.choice(["start", "end", "tokens"]): Decimal(rng.randint(0, 99))}
        if rng.random() < 0.2:
            ev["scores"] = {rng.choice(["s1", "s2"]): rng.choice([None, Decimal("0"), Decimal("1"), Decimal("0.25")])}
        if rng.random() < 0.3:
            ev["created"] = "2025-01-%02dT00:00:00Z" % rng.randint(1, 28)
        if rng.random() < 0.25:
            ev["span_id"] = "sp-%s-%d" % (rid, rng.randint(0, 2))
            ev["root_span_id"] = "root-%d" % rng.randint(0, 2)
            if rng.random() < 0.5:
                ev["span_parents"] = ["p%d" % rng.randint(0, 2)]
        if rng.random() < 0.1:
            ev["_audit_source"] = "app"
            ev["_audit_metadata"] = {"user": "u%d" % rng.randint(0, 2)}
        if rng.random() < 0.04:
            ev["tags"] = "not-an-array"             # rejected
        if rng.random() < 0.03:
            ev["scores"] = {"bad": Decimal("1.5")}  # rejected
        evs.append(ev)
    return evs


class DecEnc(json.JSONEncoder):
    def default(self, o):
        if isinstance(o, Decimal):
            return float(o) if o != o.to_integral_value() else int(o)
        return super().default(o)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--shared", required=True)
    ap.add_argument("--seed", type=int, default=20261124)
    args = ap.parse_args()
    path = os.path.join(args.shared, "sdk-events", "events.jsonl")
    with open(path, "rb") as f:
        raw = f.read().decode("utf-8")
    raw_lines = [l for l in raw.split("\n") if l.strip()]
    parsed = [json.loads(l, parse_float=Decimal, parse_int=Decimal) for l in raw_lines]
    check("events.jsonl has 130 rows and 87 ids", len(parsed) == 130 and len({p["id"] for p in parsed}) == 87)
    unsafe = [i for i, p in enumerate(parsed) if jsonb_unsafe(p)]
    check("the file's jsonb-unsafe rows are the edge-invalid-for-jsonb ones (%s)" % unsafe,
          len(unsafe) >= 1 and all("edge-invalid-for-jsonb" in (parsed[i].get("tags") or []) for i in unsafe))

    # the caller's own cast fails before btexport sees anything
    rc, _, err = psql("SELECT %s::jsonb;" % dq(raw_lines[unsafe[0]]), expect_error=True)
    check("casting the NUL row to jsonb fails with 22P05 (what a btexport.log caller sees)",
          rc != 0 and "22P05" in err, err[:300])

    # 1. one call, whole file, JSON Lines text, on_error => error: nothing written
    rc, _, err = psql("SELECT count(*) FROM btexport.log_text('all-error', %s);" % dq(for_project("all-error", raw)),
                      expect_error=True)
    check("whole file with on_error => 'error' fails naming index %d, SQLSTATE 22P05" % unsafe[0],
          rc != 0 and ("22P05" in err) and ("index %d:" % unsafe[0]) in err, err[:400])
    _, out, _ = psql("SELECT count(*) FROM btexport.logs l JOIN btexport.projects p ON p.id = l.project_id "
                     "WHERE p.name = 'all-error';")
    check("... and wrote nothing", out.strip() == "0", out)

    n = len(parsed)
    scenario("one call, all rows (log_text, JSON Lines)", "all-text", [(0, n)], raw_lines, parsed, "text")
    scenario("one call, all rows (log, jsonb array; unsafe row via log_text)", "all-jsonb", [(0, n)],
             raw_lines, parsed, "jsonb")
    model, stored = scenario("one row per call (log, jsonb)", "single-jsonb", [(i, i + 1) for i in range(n)],
                             raw_lines, parsed, "jsonb")
    # _xact_id: each row carries the transaction of its last write
    order = sorted(model.rows, key=lambda r: model.last_touch[r])
    xs = [int(stored[r]["_xact_id"]) for r in order]
    check("one row per call: _xact_id increases with each row's last write",
          all(a < b for a, b in zip(xs, xs[1:])), str(xs[:20]))
    scenario("one row per call (log_text)", "single-text", [(i, i + 1) for i in range(n)], raw_lines, parsed, "text")
    rng = random.Random(args.seed)
    for k in range(3):
        scenario("random batches #%d (log, jsonb)" % k, "batch-jsonb-%d" % k, random_batches(n, rng, 17),
                 raw_lines, parsed, "jsonb")
        scenario("random batches #%d (log_text)" % k, "batch-text-%d" % k, random_batches(n, rng, 40),
                 raw_lines, parsed, "text")

    # the file folded the same in every delivery: compare the stored rows across projects
    ref = fetch_rows("all-text")
    same = True
    info = ""
    for p in ["all-jsonb", "single-jsonb", "single-text", "batch-jsonb-0", "batch-text-2"]:
        other = fetch_rows(p)
        for rid, r in ref.items():
            o = other.get(rid)
            for col in r:
                if col in ("project_id", "_xact_id", "_updated"):
                    continue
                if rid == next(x["id"] for x in parsed if "comment" in x) and col in ("span_id", "root_span_id"):
                    continue                       # generated: random per delivery
                if o is None or canon(o.get(col)) != canon(r[col]):
                    same = False
                    info = "%s %s.%s differs" % (p, rid, col)
    check("all deliveries store identical spans (generated ids aside)", same, info)

    # the comment row: a row of its own, linked by origin.id, a root with generated span ids
    crow = next(x for x in parsed if "comment" in x)
    s = ref[crow["id"]]
    check("comment row stored on its own with origin and comment columns",
          s["origin"] == crow["origin"] and s["comment"] == crow["comment"]
          and crow["origin"]["id"] in ref and "comment" not in (ref[crow["origin"]["id"]].get("metadata") or {}))
    # feedback: audit fields in their columns, never in metadata
    fb = [x for x in parsed if "_audit_source" in x and "comment" not in x]
    last_fb = {x["id"]: x for x in fb}
    ok = bool(fb) and all(ref[i].get("audit_source") == x["_audit_source"]
                          and canon(ref[i].get("audit_metadata")) == canon(x.get("_audit_metadata"))
                          and "_audit_source" not in (ref[i].get("metadata") or {})
                          and "_audit_metadata" not in (ref[i].get("metadata") or {})
                          for i, x in last_fb.items())
    check("feedback rows: _audit_* stored in audit columns, not in metadata (%d rows)" % len(fb), ok)
    # traces: group by root_span_id; exactly one root per trace (comment row is its own trace)
    roots = {}
    for r in ref.values():
        roots.setdefault(r["root_span_id"], []).append(r)
    ok = all(sum(1 for r in spans if r["is_root"]) == 1 for spans in roots.values())
    check("every trace (%d) has exactly one root span" % len(roots), ok)

    # 2. random workload: replaces, merges, nested-type changes, tags unions, rejects
    for k in range(3):
        wrng = random.Random(args.seed + k)
        evs = random_workload(wrng, 400, 25)
        lines = [json.dumps(e, cls=DecEnc, ensure_ascii=False) for e in evs]
        ps = [json.loads(l, parse_float=Decimal, parse_int=Decimal) for l in lines]
        scenario("random workload #%d, one call" % k, "rand-one-%d" % k, [(0, len(ps))], lines, ps, "jsonb")
        scenario("random workload #%d, random batches" % k, "rand-batch-%d" % k,
                 random_batches(len(ps), wrng, 60), lines, ps, "jsonb")

    # 3. a lone surrogate: rejected per event by log_text (22P02), others written
    lone = '{"id":"lone","input":"half a pair \\ud83d here"}'
    ok_ev = '{"id":"fine","input":"whole pair \\ud83d\\ude00"}'
    _, out, _ = psql("SELECT string_agg(event_index || ':' || action || ':' || coalesce(sqlstate, ''), ',' "
                     "ORDER BY event_index) FROM btexport.log_text('lone', %s, on_error => 'skip');"
                     % dq("[" + lone + "," + ok_ev + "]"))
    check("lone surrogate rejected with 22P02 at index 0; the valid pair is written",
          out.strip() == "0:reject:22P02,1:insert:", out)
    _, out, _ = psql("SELECT input::text FROM btexport.logs WHERE id = 'fine';")
    check("... and the surrogate pair is stored as one character", out.strip() == '"whole pair \U0001F600"', out)

    # 4. an event's own project_id must name the project it is logged into: a capture row logged
    #    into another project is rejected (22023, field project_id), nothing moves silently; with
    #    the project created under the capture's id, the same row is written there
    row = raw_lines[0]
    rc, _, err = psql("SELECT * FROM btexport.log('elsewhere', %s::jsonb);" % dq(row), expect_error=True)
    check("an event naming another project_id is rejected (22023) and names the field",
          rc != 0 and "22023" in err and "project_id" in err and SDK_PROJECT_ID in err, err[:400])
    _, out, _ = psql("SELECT count(*) FROM btexport.logs l JOIN btexport.projects p ON p.id = l.project_id"
                     " WHERE p.name = 'elsewhere';")
    check("... and nothing is written", out.strip() == "0", out)
    _, out, _ = psql("SELECT btexport.create_project('sdk-capture', id => %s);"
                     "SELECT string_agg(action || ':' || coalesce(sqlstate, ''), ',') FROM btexport.log(%s, %s::jsonb);"
                     "SELECT p.id FROM btexport.logs l JOIN btexport.projects p ON p.id = l.project_id"
                     " WHERE l.id = %s AND p.name = 'sdk-capture';"
                     % (lit(SDK_PROJECT_ID), lit(SDK_PROJECT_ID), dq(row), lit(parsed[0]["id"])))
    check("with create_project(name, id => the capture's id) the row is written into that project",
          out.split() == [SDK_PROJECT_ID, "insert:", SDK_PROJECT_ID], out)

    lib.finish()


if __name__ == "__main__":
    try:
        main()
    except SystemExit:
        raise
    except Exception as e:                          # a crash is a failure, never a silent pass
        check("test driver ran to the end", False, "%s: %s" % (type(e).__name__, str(e)[:3000]))
        lib.finish()
