"""End to end: sample spans -> btexport.run -> moto S3 (signature checks on) -> read back
with the AWS CLI and compared, row by row and value by value, with the source rows."""
import datetime
import json
import math
import os
import re

from lib import (check, finish, fresh_db, psql, psql_json, list_keys, read_jsonl_objects,
                 setup_credential, aws)

os.environ["PGTZ"] = "UTC"
DB = fresh_db("btx_export")
EP = os.environ["MOTO_ENDPOINT"]
setup_credential("moto")
psql("SELECT btexport.create_credential('wrong', 'AKIAIOSFODNN7EXAMPLE', 'not-the-secret')")

n_spans = int(psql("SELECT btexport.generate_sample_data('support-bot', traces => 1700, seed => 7)"))
check("sample data: at least 10,000 spans", n_spans >= 10000, f"got {n_spans}")
# a small project of its own for the multi-file, backlog and encryption cases keeps the suite fast
for k in range(4):     # four transactions, so a backlog can be cut between them
    psql(f"SELECT btexport.generate_sample_data('small', traces => 30, seed => 9, first_trace => {k * 30})")
small_ids = lambda: sorted(psql("SELECT l.id FROM btexport.logs l JOIN btexport.projects p ON p.id = l.project_id"
                                " WHERE p.name = 'small'").split())


def ts(s):
    return datetime.datetime.fromisoformat(s.replace("Z", "+00:00"))


def source_spans():
    return {r["id"]: r for r in psql_json("SELECT row_to_json(l) FROM btexport.logs l JOIN btexport.projects p"
                                          " ON p.id = l.project_id WHERE p.name = 'support-bot'")}


def num(m, k):
    v = (m or {}).get(k)
    return v if isinstance(v, (int, float)) and not isinstance(v, bool) else None


def close(a, b):
    if a is None or b is None:
        return a is None and b is None
    return math.isclose(float(a), float(b), rel_tol=1e-9, abs_tol=1e-6)


def compare_span(out, src):
    """The spans export schema, derived independently from the stored row."""
    problems = []

    def eq(field, got, want):
        if got != want:
            problems.append(f"{field}: {got!r} != {want!r}")
    eq("id", out["id"], src["id"])
    eq("span_id", out["span_id"], src["span_id"])
    eq("trace_id", out["trace_id"], src["root_span_id"])
    eq("parent_span_id", out["parent_span_id"], (src["span_parents"] or [None])[0])
    eq("project_id", out["project_id"], src["project_id"])
    if ts(out["created"]) != ts(src["created"]):
        problems.append(f"created {out['created']} != {src['created']}")
    eq("name", out["name"], (src["span_attributes"] or {}).get("name"))
    eq("type", out["type"], (src["span_attributes"] or {}).get("type"))
    for f in ("input", "output", "expected", "error", "scores", "metadata", "tags",
              # schema version 2: the span's other stored fields, as stored
              "root_span_id", "span_parents", "is_root", "org_id", "log_id", "span_attributes", "context",
              "origin", "comment", "audit_source", "audit_metadata"):
        eq(f, out[f], src[f])
    if not re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z", out["created"]):
        problems.append(f"created {out['created']} is not RFC 3339 UTC with six fraction digits")
    eq("_xact_id", out["_xact_id"], int(src["_xact_id"]))
    m, om = src["metrics"] or {}, out["metrics"] or {}
    for k, v in m.items():
        if not close(om.get(k), v):
            problems.append(f"metrics.{k}: {om.get(k)!r} != {v!r}")
    if num(m, "start") is not None and num(m, "end") is not None:
        if not close(om.get("latency"), m["end"] - m["start"]):
            problems.append(f"metrics.latency {om.get('latency')} != {m['end'] - m['start']}")
    if num(m, "prompt_tokens") is not None and num(m, "completion_tokens") is not None:
        if not close(om.get("tokens"), m["prompt_tokens"] + m["completion_tokens"]):
            problems.append("metrics.tokens")
    # one cost rule: the reported cost, else the estimate; the derived keys are always there
    want_cost = num(m, "cost") if num(m, "cost") is not None else num(m, "estimated_cost")
    if not close(om.get("cost"), want_cost) or not {"latency", "tokens", "cost"} <= set(om):
        problems.append(f"metrics.cost {om.get('cost')} != {want_cost} (or a derived key is missing)")
    return problems


def run(name, extra_sql=""):
    return psql_json(f"{extra_sql} SELECT row_to_json(r) FROM btexport.run('{name}') r")[-1]


# ---- logs_spans, JSON Lines -------------------------------------------------
psql(f"""SELECT btexport.create_automation('spans', 'support-bot', 's3://test-bucket/exports/spans/',
         export_type => 'logs_spans', endpoint => '{EP}', credential => 'moto')""")
r1 = run("spans")
check("spans run 1 succeeded", r1["status"] == "succeeded", json.dumps(r1))
check("spans run 1 exported every span", r1["rows"] == n_spans, f"{r1['rows']} != {n_spans}")
keys = list_keys("test-bucket", "exports/spans/")
started = ts(r1["started_at"]).astimezone(datetime.timezone.utc)
want_key = started.strftime("exports/spans/%Y/%m/%d/export_%Y-%m-%d_%H-%M-%S.jsonl")
check("spans run 1 wrote one object named by the guide's layout", keys == [want_key], f"{keys} vs {want_key}")
ledger = psql_json(f"SELECT row_to_json(f) FROM btexport.run_files f WHERE run_id = {r1['id']} ORDER BY seq")
check("run_files lists the object", [f["key"] for f in ledger] == keys and all(f["committed"] for f in ledger),
      json.dumps(ledger)[:300])
head = json.loads(aws("s3api", "head-object", "--bucket", "test-bucket", "--key", keys[0], "--output", "json"))
check("run_files bytes and ETag match S3", ledger[0]["bytes"] == head["ContentLength"] and ledger[0]["etag"] == head["ETag"],
      f"{ledger[0]['bytes']}/{ledger[0]['etag']} vs {head['ContentLength']}/{head['ETag']}")
check("runs.bytes and runs.files agree with the ledger", r1["bytes"] == ledger[0]["bytes"] and r1["files"] == 1)

import hashlib
from lib import get_object
body = get_object("test-bucket", keys[0])
check("run_files.sha256 is the SHA-256 of the object read back", ledger[0]["sha256"] == hashlib.sha256(body).hexdigest())
mkey = want_key.replace("exports/spans/", "exports/spans.manifests/").replace(".jsonl", ".manifest.json")
check("the run's manifest sits beside the data prefix, not under it", r1.get("manifest_key") == mkey
      and mkey in list_keys("test-bucket", "exports/spans.manifests/"), f"{r1.get('manifest_key')} vs {mkey}")
man = json.loads(get_object("test-bucket", mkey))
check("the manifest lists every object with rows, bytes and checksum, and the cursor window",
      man["run_id"] == r1["id"] and man["rows"] == n_spans and man["format"] == "jsonl"
      and [(f["key"], f["rows"], f["bytes"], f["sha256"]) for f in man["files"]]
      == [(f["key"], f["rows"], f["bytes"], f["sha256"]) for f in ledger]
      and man["cursor"] == {"from": r1["cursor_from"], "to": r1["cursor_to"]}, json.dumps(man)[:400])
rows = read_jsonl_objects("test-bucket", keys)
src = source_spans()
check("every exported line is one span; ids equal the source ids",
      len(rows) == len(src) and {r["id"] for r in rows} == set(src), f"{len(rows)} lines, {len(src)} source rows")
bad = []
for r in rows:
    p = compare_span(r, src[r["id"]])
    if p:
        bad.append((r["id"], p))
check("every exported span equals its source row, field by field", not bad, repr(bad[:3]))
SPAN_FIELDS = psql("SELECT name FROM btexport.export_schema() WHERE export_type = 'logs_spans'"
                   " ORDER BY position").split()
check("exported lines carry exactly the row schema's fields, in its order",
      len(SPAN_FIELDS) == 28 and all(list(r) == SPAN_FIELDS for r in rows), f"{list(rows[0]) if rows else None}")

r2 = run("spans")
check("run 2 right after exports nothing", r2["status"] == "succeeded" and r2["rows"] == 0 and r2["files"] == 0,
      json.dumps(r2))
check("run 2 wrote no object", list_keys("test-bucket", "exports/spans/") == keys)

# new spans and a late score: the next run exports exactly those versions
psql("SELECT btexport.generate_sample_data('support-bot', traces => 5, seed => 7, first_trace => 100000)")
late_id = rows[0]["id"]
psql(f"UPDATE btexport.logs SET scores = '{{\"Factuality\": 0.11}}' WHERE id = '{late_id}'")
new_src = source_spans()
new_ids = set(new_src) - set(src)
r3 = run("spans")
keys3 = [k for k in list_keys("test-bucket", "exports/spans/") if k not in keys]
rows3 = read_jsonl_objects("test-bucket", keys3)
check("run 3 exports the new spans and the updated span, once each",
      sorted(r["id"] for r in rows3) == sorted(new_ids | {late_id}), f"{len(rows3)} rows")
upd = [r for r in rows3 if r["id"] == late_id]
check("the updated span carries its new score and a higher _xact_id",
      upd and upd[0]["scores"] == {"Factuality": 0.11} and upd[0]["_xact_id"] > rows[0]["_xact_id"])
check("run 3 compares equal to the source", all(not compare_span(r, new_src[r["id"]]) for r in rows3))
allrows = rows + rows3
check("across runs every (id, _xact_id) of the table is in S3 exactly once",
      len({(r["id"], r["_xact_id"]) for r in allrows}) == len(allrows)
      and {(i, int(s["_xact_id"])) for i, s in new_src.items()} <= {(r["id"], r["_xact_id"]) for r in allrows})

# ---- logs_traces ---------------------------------------------------------------
psql(f"""SELECT btexport.create_automation('traces', 'support-bot', 's3://test-bucket/exports/traces/',
         export_type => 'logs_traces', endpoint => '{EP}', credential => 'moto', trace_idle => '0 seconds')""")
rt = run("traces")
tkeys = list_keys("test-bucket", "exports/traces/")
trows = read_jsonl_objects("test-bucket", tkeys)
spans_by_trace = {}
for s in new_src.values():
    spans_by_trace.setdefault(s["root_span_id"], []).append(s)
check("traces run succeeded with one row per trace",
      rt["status"] == "succeeded" and rt["rows"] == len(spans_by_trace) == len(trows),
      f"{rt['rows']} rows, {len(spans_by_trace)} traces, {len(trows)} lines")


def expect_trace(spans):
    root = [s for s in spans if not s["span_parents"]][0]
    scores = {}
    for s in spans:
        for k, v in (s["scores"] or {}).items():
            if isinstance(v, (int, float)):
                scores.setdefault(k, []).append(v)
    m = lambda k: [num(s["metrics"], k) for s in spans if num(s["metrics"], k) is not None]
    pt, ct = sum(m("prompt_tokens")), sum(m("completion_tokens"))
    starts, ends = m("start"), m("end")
    return {
        "id": root["root_span_id"], "created": root["created"], "metadata": root["metadata"],
        "input": root["input"], "output": root["output"], "tags": root["tags"], "span_count": len(spans),
        "scores": {k: sum(v) / len(v) for k, v in scores.items()},
        "prompt_tokens": pt, "completion_tokens": ct, "total_tokens": pt + ct,
        "total_cost": sum(m("estimated_cost")),
        "llm_calls": sum(1 for s in spans if (s["span_attributes"] or {}).get("type") == "llm"),
        "tool_calls": sum(1 for s in spans if (s["span_attributes"] or {}).get("type") == "tool"),
        "errors": sum(1 for s in spans if s["error"] is not None),
        "start": min(starts), "end": max(ends), "duration": max(ends) - min(starts),
        "_xact_id": max(int(s["_xact_id"]) for s in spans),
    }


tbad = []
for t in trows:
    e = expect_trace(spans_by_trace[t["id"]])
    mt = t["metrics"]
    ok = (t["project_id"] == new_src[next(iter(new_src))]["project_id"] and ts(t["created"]) == ts(e["created"])
          and t["metadata"] == e["metadata"] and t["input"] == e["input"] and t["output"] == e["output"]
          and t["tags"] == e["tags"] and t["span_count"] == e["span_count"] and t["_xact_id"] == e["_xact_id"]
          and set(t["scores"] or {}) == set(e["scores"]) and all(close(t["scores"][k], v) for k, v in e["scores"].items())
          and all(close(mt.get(k), e[k]) for k in ("prompt_tokens", "completion_tokens", "total_tokens", "total_cost",
                                                    "llm_calls", "tool_calls", "errors", "start", "end", "duration")))
    if not ok:
        tbad.append((t["id"], t, e))
check("every trace row equals the aggregation of its source spans", not tbad, repr(tbad[:1])[:600])
check("a second traces run exports nothing", run("traces")["rows"] == 0)

# trace_idle: a trace whose spans changed recently waits until it has been idle, then goes out whole
psql(f"""SELECT btexport.create_automation('traces-idle', 'support-bot', 's3://test-bucket/exports/traces-idle/',
         export_type => 'logs_traces', endpoint => '{EP}', credential => 'moto', trace_idle => '2 seconds')""")
first = run("traces-idle")   # everything so far is older than 2 s by now, or becomes so
psql("SELECT btexport.generate_sample_data('support-bot', traces => 1, seed => 7, first_trace => 200000)")
fresh = psql("SELECT root_span_id FROM btexport.logs ORDER BY _xact_id DESC LIMIT 1").strip()
r_early = run("traces-idle")
early_ids = {t["id"] for t in read_jsonl_objects("test-bucket", [f["key"] for f in psql_json(
    f"SELECT row_to_json(f) FROM btexport.run_files f WHERE run_id = {r_early['id']}")])}
check("a trace changed within trace_idle is not exported yet", fresh not in early_ids, f"{r_early}")
import time
deadline = time.time() + 30
late = None
while time.time() < deadline:
    r = run("traces-idle")
    ids = {t["id"] for t in read_jsonl_objects("test-bucket", [f["key"] for f in psql_json(
        f"SELECT row_to_json(f) FROM btexport.run_files f WHERE run_id = {r['id']}")])}
    if fresh in ids:
        late = r
        break
    time.sleep(0.5)
check("once idle, the trace is exported by a later run", late is not None)

# max_rows_per_run: a backlog is exported by several runs in a row, each within the limit
psql(f"""SELECT btexport.create_automation('backlog', 'small', 's3://test-bucket/exports/backlog/',
         endpoint => '{EP}', credential => 'moto', max_rows_per_run => 200)""")
rb0 = run("backlog")
runs_b = psql_json("SELECT row_to_json(r) FROM btexport.runs r JOIN btexport.automations a ON a.id = r.automation_id"
                   " WHERE a.name = 'backlog' ORDER BY r.id")
total = len(small_ids())
check("a backlog runs as several runs of at most max_rows_per_run (plus one transaction)",
      len(runs_b) >= 3 and all(r["status"] == "succeeded" for r in runs_b)
      and [r["trigger"] for r in runs_b][1:] == ["backlog"] * (len(runs_b) - 1)
      and sum(r["rows"] for r in runs_b) == total, json.dumps([(r["trigger"], r["rows"]) for r in runs_b]))
bk = list_keys("test-bucket", "exports/backlog/")
brows = read_jsonl_objects("test-bucket", bk)
check("the backlog runs together export every span once", sorted(r["id"] for r in brows) == small_ids())

# ---- several files per run: each part a complete JSON Lines file -------------
psql(f"""SELECT btexport.create_automation('parts', 'small', 's3://test-bucket/exports/parts/',
         endpoint => '{EP}', credential => 'moto')""")
rp = run("parts", "SET btexport.target_file_size = '1MB';")
pkeys = list_keys("test-bucket", "exports/parts/")
check("a run larger than target_file_size writes several parts", rp["files"] == len(pkeys) > 1, f"{rp['files']} files")
check("part keys follow the layout with a part suffix",
      all(re.fullmatch(r"exports/parts/\d{4}/\d{2}/\d{2}/export_\d{4}-\d{2}-\d{2}_\d{2}-\d{2}-\d{2}(_part-\d{4})?\.jsonl", k)
          for k in pkeys), repr(pkeys))
prows = read_jsonl_objects("test-bucket", pkeys)
check("the parts together hold every span exactly once",
      sorted(r["id"] for r in prows) == small_ids(), f"{len(prows)} rows")

# ---- format, compression and layout are fixed once an automation has exported --------------
before = psql("SELECT format || ':' || compression || ':' || layout || ':' || batch_size FROM btexport.automations"
              " WHERE name = 'spans'").strip()
for arg, what in (("format => 'parquet', compression => 'none'", "format"), ("compression => 'gzip'", "compression"),
                  ("layout => 'hive'", "layout"), ("format => 'parquet', compression => 'zstd'", "format and compression")):
    rc, _, err = psql(f"SELECT btexport.update_automation('spans', {arg}, batch_size => 7)", check_error=False,
                      args=("-v", "VERBOSITY=verbose"))
    check(f"update_automation({arg}) on an automation that has exported is refused (55000), naming the {what}",
          rc != 0 and "ERROR:  55000:" in err and f'the {what} of automation "spans" cannot be changed' in err
          and "new prefix" in err, err)
check("... and changes nothing (not even the other settings of the call)",
      psql("SELECT format || ':' || compression || ':' || layout || ':' || batch_size FROM btexport.automations"
           " WHERE name = 'spans'").strip() == before, before)
psql("SELECT btexport.update_automation('spans', batch_size => 500, format => 'jsonl', compression => 'none')")
check("other settings still change, and restating the same format and compression is no change",
      psql("SELECT batch_size FROM btexport.automations WHERE name = 'spans'").strip() == "500")
psql(f"""SELECT btexport.create_automation('not-yet', 'small', 's3://test-bucket/exports/not-yet/',
         endpoint => '{EP}', credential => 'moto')""")
psql("SELECT btexport.update_automation('not-yet', format => 'parquet', layout => 'hive')")
check("an automation that has not exported yet may still change format and layout",
      psql("SELECT format || ':' || compression || ':' || layout FROM btexport.automations WHERE name = 'not-yet'").strip()
      == "parquet:snappy:hive")
psql("SELECT btexport.drop_automation('not-yet')")

# ---- layout => 'hive': Hive-style dt=/hour= partitions ------------------------
psql(f"""SELECT btexport.create_automation('hive', 'small', 's3://test-bucket/exports/hive/',
         endpoint => '{EP}', credential => 'moto', layout => 'hive', max_rows_per_run => 1000000)""")
rh = run("hive")
hkeys = list_keys("test-bucket", "exports/hive/")
hstart = ts(rh["started_at"]).astimezone(datetime.timezone.utc)
want_h = hstart.strftime("exports/hive/dt=%Y-%m-%d/hour=%H/export_%Y-%m-%d_%H-%M-%S.jsonl")
check("layout => 'hive' writes under dt=YYYY-MM-DD/hour=HH/ (UTC, the run's start)",
      rh["status"] == "succeeded" and hkeys == [want_h], f"{hkeys} vs {want_h}")
check("the hive run's manifest mirrors the partition folders beside the data prefix",
      rh.get("manifest_key") == want_h.replace("exports/hive/", "exports/hive.manifests/").replace(".jsonl", ".manifest.json"),
      str(rh.get("manifest_key")))
rc, _, err = psql(f"""SELECT btexport.create_automation('hive-old', 'small', 's3://test-bucket/exports/hive-old/',
         endpoint => '{EP}', layout => 'hive_date')""", check_error=False, args=("-v", "VERBOSITY=verbose"))
check("1.0's layout hive_date (day partition named date) is not offered to new automations (22023)",
      rc != 0 and "ERROR:  22023:" in err and "hive_date" in err, err)
check("the hive run exports every span once", sorted(r["id"] for r in read_jsonl_objects("test-bucket", hkeys)) == small_ids())

# ---- server-side encryption is requested and echoed ---------------------------
psql(f"""SELECT btexport.create_automation('sse', 'small', 's3://test-bucket/exports/sse/',
         endpoint => '{EP}', credential => 'moto', sse => 'AES256', max_rows_per_run => 1000000)""")
rs = run("sse")
skeys = list_keys("test-bucket", "exports/sse/")
sh = json.loads(aws("s3api", "head-object", "--bucket", "test-bucket", "--key", skeys[0], "--output", "json")) if skeys else {}
check("sse => 'AES256': the object is stored encrypted (echoed by S3)", sh.get("ServerSideEncryption") == "AES256", json.dumps(sh)[:300])
psql(f"""SELECT btexport.create_automation('kms', 'small', 's3://test-bucket/exports/kms/',
         endpoint => '{EP}', credential => 'moto', sse => 'aws:kms', kms_key_id => 'alias/btexport-exports')""")
rk = run("kms")
kkeys = list_keys("test-bucket", "exports/kms/")
kh = json.loads(aws("s3api", "head-object", "--bucket", "test-bucket", "--key", kkeys[0], "--output", "json")) if kkeys else {}
check("sse => 'aws:kms' with a key: S3 echoes SSE-KMS and the key id",
      rk["status"] == "succeeded" and kh.get("ServerSideEncryption") == "aws:kms"
      and "btexport-exports" in (kh.get("SSEKMSKeyId") or ""), json.dumps(rk)[:200] + json.dumps(kh)[:300])

# ---- failures are explained and change nothing -------------------------------
psql(f"""SELECT btexport.create_automation('badkey', 'support-bot', 's3://test-bucket/exports/badkey/',
         endpoint => '{EP}', credential => 'wrong')""")
rb = run("badkey")
check("a wrong secret fails the run with the S3 error and a hint",
      rb["status"] == "failed" and rb["error_message"] and rb["error_hint"]
      and ("InvalidAccessKeyId" in (rb["error_detail"] or "") or "SignatureDoesNotMatch" in (rb["error_detail"] or "")),
      json.dumps(rb))
check("the failed run wrote nothing and kept the cursor",
      list_keys("test-bucket", "exports/badkey/") == []
      and psql("SELECT cursor FROM btexport.automations WHERE name = 'badkey'").strip() == "0")
psql(f"""SELECT btexport.create_automation('nobucket', 'support-bot', 's3://no-such-bucket-xyz/p/',
         endpoint => '{EP}', credential => 'moto')""")
rn = run("nobucket")
check("a missing bucket fails with NoSuchBucket and a hint",
      rn["status"] == "failed" and "NoSuchBucket" in (rn["error_detail"] or "") and rn["error_hint"], json.dumps(rn))

# ---- btexport.test ---------------------------------------------------------------
steps = psql_json("SELECT row_to_json(t) FROM btexport.test('spans') t")
check("test(): every step succeeds against a good configuration",
      [s["step"] for s in steps] == ["configuration", "query", "credentials", "put", "head", "delete"]
      and all(s["ok"] for s in steps), json.dumps(steps))
check("test() left no test object behind",
      not [k for k in list_keys("test-bucket", "exports/spans/") if "btexport-test" in k])
steps = psql_json(f"""SELECT row_to_json(t) FROM btexport.test(name => 'unsaved', project => 'support-bot',
                      s3_path => 's3://test-bucket/unsaved/', endpoint => '{EP}', credential => 'wrong') t""")
put = [s for s in steps if s["step"] == "put"][0]
check("test() before saving: a wrong secret fails the put step with a hint", not put["ok"] and put["hint"], json.dumps(put))
check("test() before saving saved nothing",
      psql("SELECT count(*) FROM btexport.automations WHERE name = 'unsaved'").strip() == "0")
steps = psql_json("""SELECT row_to_json(t) FROM btexport.test(name => 'dead', project => 'support-bot',
                     s3_path => 's3://test-bucket/dead/', endpoint => 'http://127.0.0.1:9', credential => 'moto') t""")
put = [s for s in steps if s["step"] == "put"][0]
check("test(): an unreachable endpoint fails the put step with a hint, no hang", not put["ok"] and put["hint"],
      json.dumps(put))
finish()
