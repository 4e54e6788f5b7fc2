"""Differential test of the remote source: the same data — the SDK capture (test/data/sdk-events) and
generated traces, then merges and new spans — ingested locally with btexport.log and served by the
Braintrust API test double (test/harness/braintrust_double.py) gives equal exported rows for a local
and a remote automation: spans and traces, JSON Lines and Parquet (Parquet read by DuckDB).
_xact_id values differ by source (PostgreSQL's transaction ids, Braintrust's); everything else must be
equal, and for every span its versions come in the same order."""
import json
import os
import subprocess
import tempfile
import time
import uuid

from lib import (check, finish, fresh_db, psql, psql_json, get_object, setup_credential, braintrust_double,
                 wait_for)

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DB = fresh_db("btx_remote_diff")
EP = os.environ["MOTO_ENDPOINT"]
ACME = "7d1e5c90-2f4b-4a8e-b1c3-9e6f0a2d4b71"
PID = str(uuid.uuid4())
setup_credential("moto")
D = braintrust_double()
D.ctl("/control/project", {"name": "diff", "org": "acme", "id": PID})
psql(f"INSERT INTO btexport.projects (id, name, org_id) VALUES ('{PID}', 'diff', '{ACME}')")
psql(f"SELECT btexport.create_connection('bt', 'sk-acme', app_url => '{D.url}')")


def ingest(events):
    """events to both sides, in order: locally with btexport.log_text (one per line), then the ones
    it accepted to the double (those jsonb cannot hold are rejected locally: the double never sees them)"""
    text = "\n".join(json.dumps(e) for e in events)
    tag = "$ev" + uuid.uuid4().hex[:8] + "$"
    res = psql_json(f"SELECT row_to_json(r) FROM btexport.log_text('diff', {tag}{text}{tag}, 'skip') r")
    rejected = {r["event_index"] for r in res if r["action"] == "reject"}
    D.ctl("/control/rows", {"project_id": PID, "rows": [e for i, e in enumerate(events) if i not in rejected]})
    return len(rejected)


# the SDK capture, with the ids Braintrust's server would give rows written without span ids made
# explicit, so that both sides hold the same ids
events = [json.loads(x) for x in open(os.path.join(os.environ.get("BTX_TESTDATA", os.path.join(ROOT, "test", "data")),
                                                   "sdk-events", "events.jsonl"), encoding="utf-8") if x.strip()]
seen = set()
for n, e in enumerate(events):
    # logged into this test's project (an event's project_id must name the project it is logged into)
    if "project_id" in e:
        e["project_id"] = PID
    if e["id"] not in seen:
        seen.add(e["id"])
        if "span_id" not in e:
            e["span_id"] = "%016x" % (0xABCDEF000000 + n)
            e.setdefault("root_span_id", e["span_id"])
rejected = ingest(events)
# generated traces: made by the double, logged locally as they are
gen = D.ctl("/control/generate", {"project_id": PID, "traces": 40, "spans": 4, "seed": 7})["ids"]
gen_rows = [r for r in D.rows(PID) if r["id"] in set(gen)]
psql_json("SELECT row_to_json(r) FROM btexport.log('diff', %s::jsonb) r"
          % ("$g$" + json.dumps(gen_rows) + "$g$"))
n_local = int(psql(f"SELECT count(*) FROM btexport.logs WHERE project_id = '{PID}'"))
check("both sides hold the same spans (the SDK capture and generated traces)",
      n_local == len(D.rows(PID)) and n_local > 200, f"{n_local} local, {len(D.rows(PID))} remote, {rejected} rejected")

for src in ("local", "remote"):
    for kind, et in (("spans", "logs_spans"), ("traces", "logs_traces")):
        for fmt in ("jsonl", "parquet"):
            name = f"{src}-{kind}-{fmt}"
            extra = ", connection => 'bt', requests_per_minute => 6000" if src == "remote" else ""
            psql(f"""SELECT btexport.create_automation('{name}', 'diff', 's3://test-bucket/diff/{name}/',
                     export_type => '{et}', format => '{fmt}', trace_idle => '1 second', endpoint => '{EP}',
                     credential => 'moto' {extra})""")
NAMES = [f"{s}-{k}-{f}" for s in ("local", "remote") for k in ("spans", "traces") for f in ("jsonl", "parquet")]


def idle():
    return psql(f"SELECT count(*) FROM btexport.logs WHERE project_id = '{PID}' AND _updated > now() - interval '1 second'").strip() == "0"


def run_all():
    wait_for(idle, 30, "the local traces to be idle")
    out = {}
    for name in NAMES:
        r = psql_json(f"SELECT row_to_json(r) FROM btexport.run('{name}') r")[-1]
        out[name] = r
    return out


def files_of(run):
    return psql(f"SELECT key FROM btexport.run_files WHERE run_id = {run['id']} ORDER BY seq").split()


def rows_of(run, fmt):
    rows = []
    for k in files_of(run):
        data = get_object("test-bucket", k)
        if fmt == "jsonl":
            rows += [json.loads(x) for x in data.decode().split("\n") if x]
            continue
        with tempfile.TemporaryDirectory() as d:
            f = os.path.join(d, "f.parquet")
            open(f, "wb").write(data)
            # every column as DuckDB reads it, as JSON text (timestamps, lists and JSON columns included)
            p = subprocess.run(["node", os.path.join(ROOT, "test", "harness", "duckq.mjs"),
                                f"SELECT to_json(t)::VARCHAR AS j FROM read_parquet('{f}') t"],
                               capture_output=True, text=True, cwd=os.path.join(ROOT, "test"))
            if p.returncode != 0:
                raise RuntimeError(p.stderr)
            rows += [json.loads(json.loads(x)["j"]) for x in p.stdout.split("\n") if x]
    return rows


def norm(v):
    """numbers as floats (text forms of JSON numbers differ only in spelling); JSON text columns of
    Parquet parsed"""
    if isinstance(v, bool) or v is None:
        return v
    if isinstance(v, (int, float)):
        return float(v)
    if isinstance(v, list):
        return [norm(x) for x in v]
    if isinstance(v, dict):
        return {k: norm(x) for k, x in v.items()}
    return v


# Row schema v2's audit_source / audit_metadata (the last write's _audit_source / _audit_metadata, which
# btexport.log stores) are not in Braintrust's API rows (its audit_data log has no published form; the
# double drops the fields as Braintrust does): a remote export writes them as null (docs/file-layout.md).
# They are compared apart: null on the remote side, and present on the local side for the SDK capture's
# feedback rows.
AUDIT = ("audit_source", "audit_metadata")


def content(row):
    return norm({k: v for k, v in row.items() if k != "_xact_id" and k not in AUDIT})


def compare(tag, runs, history):
    ok = True
    info = ""
    for kind in ("spans", "traces"):
        for fmt in ("jsonl", "parquet"):
            lr = runs[f"local-{kind}-{fmt}"]
            rr = runs[f"remote-{kind}-{fmt}"]
            lrows, rrows = rows_of(lr, fmt), rows_of(rr, fmt)
            for name, rows in ((f"local-{kind}-{fmt}", lrows), (f"remote-{kind}-{fmt}", rrows)):
                history.setdefault(name, []).extend(rows)
            lmap, rmap = {x["id"]: content(x) for x in lrows}, {x["id"]: content(x) for x in rrows}
            good = lr["status"] == rr["status"] == "succeeded" and len(lrows) == len(lmap) and lmap == rmap and lmap
            check(f"{tag}: {kind} as {fmt}: the local and the remote automation export equal rows ({len(lmap)})",
                  good, (json.dumps(lr)[:200] + json.dumps(rr)[:200]) if lr["status"] != "succeeded" or rr["status"] != "succeeded"
                  else next((f"{i}: " + "; ".join(f"{k}: {json.dumps((lmap.get(i) or {}).get(k))[:150]} | "
                                                  f"{json.dumps((rmap.get(i) or {}).get(k))[:150]}"
                                                  for k in sorted(set(lmap.get(i) or {}) | set(rmap.get(i) or {}))
                                                  if (lmap.get(i) or {}).get(k) != (rmap.get(i) or {}).get(k))
                             for i in set(lmap) | set(rmap) if lmap.get(i) != rmap.get(i)), f"{len(lmap)} vs {len(rmap)}"))
            ok &= bool(good)
            if kind == "spans":
                check(f"{tag}: spans as {fmt}: both sides have the audit columns; the remote's are null, the local's"
                      " hold the feedback rows' audit fields",
                      all(set(AUDIT) <= set(x) for x in lrows + rrows)
                      and all(x[a] is None for x in rrows for a in AUDIT)
                      and (tag != "first runs" or any(x["audit_source"] is not None for x in lrows)),
                      repr([(x["id"], x.get("audit_source")) for x in rrows if x.get("audit_source") is not None][:3]))
    return ok


history = {}
compare("first runs", run_all(), history)

# merges (a late score, feedback, an updateSpan), new spans in existing traces, and a new trace, on both sides
spans = psql_json(f"""SELECT json_build_object('id', id, 'span_id', span_id, 'root_span_id', root_span_id)
                       FROM btexport.logs WHERE project_id = '{PID}' AND id LIKE 'gen-%' ORDER BY id LIMIT 6""")
later = []
for i, s in enumerate(spans[:4]):
    later.append({"id": s["id"], "_is_merge": True, "scores": {"late": round(0.1 * i, 1)}, "metadata": {"reviewed": True}})
for i, s in enumerate(spans[4:6]):
    later.append({"id": f"late-child-{i}", "span_id": f"lc{i:014x}", "root_span_id": s["root_span_id"],
                  "span_parents": [s["span_id"]], "created": "2026-11-25T10:00:00.000Z",
                  "span_attributes": {"name": "late", "type": "llm"},
                  "metrics": {"start": 1795600000 + i, "end": 1795600001.5 + i, "prompt_tokens": 7, "completion_tokens": 3}})
later.append({"id": "new-root", "span_id": "nr00000000000001", "root_span_id": "nr-trace", "created": "2026-11-25T11:00:00.000Z",
              "input": {"q": "again"}, "output": "yes", "scores": {"q": 1}})
ingest(later)
compare("after merges and new spans", run_all(), history)


def versions(rows):
    by = {}
    for x in sorted(rows, key=lambda r: int(r["_xact_id"])):
        by.setdefault(x["id"], []).append(content(x))
    return by


ok = all(versions(history[f"local-{k}-{f}"]) == versions(history[f"remote-{k}-{f}"])
         for k in ("spans", "traces") for f in ("jsonl", "parquet"))
check("for every span and trace, its exported versions come in the same order with the same values on both sides", ok)
multi = [i for i, v in versions(history["remote-spans-jsonl"]).items() if len(v) > 1]
check("...and some were exported more than once (merges after the first run)", len(multi) >= 4, repr(multi))
D.stop()
finish()
