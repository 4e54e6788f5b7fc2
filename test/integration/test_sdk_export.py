"""Issue 8's end to end: the official SDK's log rows (test/data/sdk-events) applied
with btexport.log, then exported — the exports must carry the merged values: late scores,
feedback, end times, and trace summaries computed over the merged spans.  The expected
values come from an independent fold of the rows written here (the README's rules)."""
import copy
import json
import math
import os

from lib import check, finish, fresh_db, psql, psql_json, list_keys, read_jsonl_objects, setup_credential

EVENTS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "data", "sdk-events", "events.jsonl")
assert os.path.exists(EVENTS), f"missing {EVENTS}"
DB = fresh_db("btx_sdk")
EP = os.environ["MOTO_ENDPOINT"]
setup_credential("moto")

raw_lines = [l for l in open(EVENTS, encoding="utf-8").read().split("\n") if l.strip()]
rows = []
for l in raw_lines:
    r = json.loads(l)
    if "edge-invalid-for-jsonb" in (r.get("tags") or []):
        continue
    rows.append((l, r))
CONTROL = {"_is_merge", "_audit_source", "_audit_metadata", "project_id", "log_id", "_object_delete"}


def deep_merge(a, b):
    out = dict(a)
    for k, v in b.items():
        if isinstance(v, dict) and isinstance(out.get(k), dict):
            out[k] = deep_merge(out[k], v)
        else:
            out[k] = copy.deepcopy(v)
    return out


state = {}
for _, r in rows:
    doc = {k: v for k, v in r.items() if k not in CONTROL}
    if r.get("_is_merge") and r["id"] in state:
        old = state[r["id"]]
        tags = None
        if "tags" in doc and isinstance(old.get("tags"), list) and isinstance(doc["tags"], list):
            tags = list(dict.fromkeys(old["tags"] + doc["tags"]))
        new = deep_merge(old, doc)
        if tags is not None:
            new["tags"] = tags
        state[r["id"]] = new
    else:
        if r["id"] in state and "created" not in doc and "created" in state[r["id"]]:
            doc["created"] = state[r["id"]]["created"]
        state[r["id"]] = copy.deepcopy(doc)

# apply every valid row in one call (the store's own fold is tested in test/ingest)
body = "[" + ",".join(l for l, _ in rows) + "]"
# the rows carry the capture's project_id: the project is created under that id (an event's project_id
# must name the project it is logged into), and the exports carry it
SDK_PROJECT_ID = "0b6f3a52-8f5e-4c1a-b1d2-3e4f5a6b7c8d"
psql(f"SELECT btexport.create_project('sdk-capture', id => '{SDK_PROJECT_ID}')")
psql(f"SELECT count(*) FROM btexport.log('sdk-capture', $btxjson${body}$btxjson$::jsonb)")
n_store = int(psql("SELECT count(*) FROM btexport.logs"))
check("every distinct row id of the SDK capture is stored once", n_store == len(state), f"{n_store} vs {len(state)}")

psql(f"""SELECT btexport.create_automation('sdk-spans', 'sdk-capture', 's3://test-bucket/sdk/spans/',
         endpoint => '{EP}', credential => 'moto')""")
psql(f"""SELECT btexport.create_automation('sdk-traces', 'sdk-capture', 's3://test-bucket/sdk/traces/',
         export_type => 'logs_traces', trace_idle => '0 seconds', endpoint => '{EP}', credential => 'moto')""")
r1 = psql_json("SELECT row_to_json(r) FROM btexport.run('sdk-spans') r")[-1]
r2 = psql_json("SELECT row_to_json(r) FROM btexport.run('sdk-traces') r")[-1]
check("both exports of the SDK store succeed", r1["status"] == "succeeded" and r2["status"] == "succeeded",
      json.dumps([r1, r2])[:400])
spans = {s["id"]: s for s in read_jsonl_objects("test-bucket", list_keys("test-bucket", "sdk/spans/"))}
traces = {t["id"]: t for t in read_jsonl_objects("test-bucket", list_keys("test-bucket", "sdk/traces/"))}
check("the spans export holds every stored row once", set(spans) == set(state), f"{len(spans)} vs {len(state)}")


def num_close(a, b):
    if a is None or b is None:
        return a is None and b is None
    return math.isclose(float(a), float(b), rel_tol=1e-9, abs_tol=1e-6)


# late scores: merge rows that carry scores after the span's first write
late = [r for _, r in rows if r.get("_is_merge") and "scores" in r and r.get("span_id")]
bad = [r["id"] for r in late if any(spans[r["id"]]["scores"].get(k) != v for k, v in r["scores"].items()
                                    if state[r["id"]]["scores"].get(k) == v)]
check(f"late scores ({len(late)} merge rows) are in the exported spans", late and not bad, repr(bad[:3]))
# feedback: logFeedback rows carry only id (+ scores/expected/tags, audit fields)
fb = [r for _, r in rows if r.get("_is_merge") and "_audit_source" in r]
ok = True
for r in fb:
    s = spans[r["id"]]
    for k, v in (r.get("scores") or {}).items():
        ok &= s["scores"].get(k) == state[r["id"]]["scores"][k]
    if "expected" in r:
        ok &= s["expected"] == state[r["id"]]["expected"]
    for t in r.get("tags") or []:
        ok &= t in (s["tags"] or [])
    ok &= "_audit_source" not in json.dumps(s.get("metadata") or {})
check(f"feedback ({len(fb)} rows) merged: scores, expected, tags; audit data not in metadata", fb and ok)
# schema version 2: the audit fields of the last write, comment rows with origin and comment text,
# and the project id the rows named
last_audit = {}
for _, r in rows:
    if "_audit_source" in r or not r.get("_is_merge"):
        last_audit[r["id"]] = (r.get("_audit_source"), r.get("_audit_metadata"))
ok = all((spans[i]["audit_source"], spans[i]["audit_metadata"]) == a for i, a in last_audit.items() if a[0])
check(f"the spans export carries audit_source / audit_metadata of the feedback rows", fb and ok,
      repr([(i, spans[i]["audit_source"], a) for i, a in last_audit.items() if a[0]][:2]))
comments = [r for _, r in rows if "comment" in r]
ok = all(spans[r["id"]]["comment"] == r["comment"] and spans[r["id"]]["origin"] == r["origin"] for r in comments)
check(f"comment rows ({len(comments)}) are exported with their comment text and origin", comments and ok,
      repr([spans[r["id"]] for r in comments][:1])[:600])
check("every exported span and trace carries the project id the SDK's rows named",
      {s["project_id"] for s in spans.values()} == {SDK_PROJECT_ID}
      and {t["project_id"] for t in traces.values()} == {SDK_PROJECT_ID})
# end times arriving in later rows
ends = [r for _, r in rows if r.get("_is_merge") and "end" in (r.get("metrics") or {}) and r.get("span_id")]
ok = all(num_close(spans[r["id"]]["metrics"].get("end"), state[r["id"]]["metrics"]["end"])
         and num_close(spans[r["id"]]["metrics"].get("start"), state[r["id"]]["metrics"].get("start"))
         for r in ends)
lat = all(num_close(spans[r["id"]]["metrics"].get("latency"),
                    state[r["id"]]["metrics"]["end"] - state[r["id"]]["metrics"]["start"])
          for r in ends if "start" in state[r["id"]]["metrics"])
check(f"end times from later rows ({len(ends)}) are exported with start, and latency = end - start", ends and ok and lat,
      repr([(r["id"], spans[r["id"]]["metrics"], state[r["id"]]["metrics"]) for r in ends
            if not num_close(spans[r["id"]]["metrics"].get("end"), state[r["id"]]["metrics"]["end"])
            or not num_close(spans[r["id"]]["metrics"].get("start"), state[r["id"]]["metrics"].get("start"))][:2]))

# trace summaries over the merged spans
by_trace = {}
for i, d in state.items():
    if d.get("root_span_id"):
        by_trace.setdefault(d["root_span_id"], []).append(d)
tbad = []
for tid, ss in by_trace.items():
    t = traces.get(tid)
    if t is None:
        tbad.append((tid, "missing"))
        continue
    sc = {}
    for s in ss:
        for k, v in (s.get("scores") or {}).items():
            if isinstance(v, (int, float)) and not isinstance(v, bool):
                sc.setdefault(k, []).append(v)
    want_scores = {k: sum(v) / len(v) for k, v in sc.items()}
    starts = [s["metrics"]["start"] for s in ss if isinstance((s.get("metrics") or {}).get("start"), (int, float))]
    ends_ = [s["metrics"]["end"] for s in ss if isinstance((s.get("metrics") or {}).get("end"), (int, float))]
    pt = sum(s["metrics"].get("prompt_tokens", 0) for s in ss if isinstance(s.get("metrics"), dict)
             and isinstance(s["metrics"].get("prompt_tokens"), (int, float)))
    good = (t["span_count"] == len(ss)
            and set(t["scores"] or {}) == set(want_scores)
            and all(num_close(t["scores"][k], v) for k, v in want_scores.items())
            and (not starts or num_close(t["metrics"].get("start"), min(starts)))
            and (not ends_ or num_close(t["metrics"].get("end"), max(ends_)))
            and (pt == 0 or num_close(t["metrics"].get("prompt_tokens"), pt)))
    if not good:
        tbad.append((tid, t, want_scores, len(ss)))
check(f"trace summaries ({len(by_trace)}) are computed over the merged spans", not tbad, repr(tbad[:1])[:800])
finish()
