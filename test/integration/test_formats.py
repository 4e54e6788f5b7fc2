"""Parquet (every codec) and compressed JSON Lines exports, and BTQL automations (the five
example queries of the original guide), read back from moto and compared with the source.
Parquet files are read by three independent readers (DuckDB, arrow-rs via parquet-wasm,
hyparquet) through test/format/readers.mjs."""
import gzip
import json
import os
import subprocess
import tempfile

from lib import (check, finish, fresh_db, psql, psql_json, list_keys, get_object, setup_credential)

os.environ["PGTZ"] = "UTC"
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
READERS = os.path.join(ROOT, "test", "format", "readers.mjs")
DB = fresh_db("btx_formats")
EP = os.environ["MOTO_ENDPOINT"]
setup_credential("moto")
psql("SELECT btexport.generate_sample_data('app', traces => 150, seed => 11)")
psql("SELECT btexport.generate_sample_data('app', traces => 20, seed => 12, first_trace => 5000,"
     " start_time => now() - interval '1 day')")
psql("SELECT btexport.generate_sample_data('app', traces => 10, seed => 13, first_trace => 9000,"
     " start_time => '2023-12-31 12:00:00+00')")
# edge rows: unicode, empty strings, empty and null arrays, a null element, a 1 MB value
psql("""INSERT INTO btexport.logs (project_id, id, span_id, root_span_id, input, output, tags, metadata, scores, metrics)
SELECT p.id, 'edge-' || g, 'edge-span-' || g, 'edge-root-' || g,
       CASE g WHEN 1 THEN to_jsonb('héllo wörld ✓ 日本語 🎉'::text) WHEN 2 THEN to_jsonb(''::text)
              WHEN 3 THEN to_jsonb(repeat('x', 1000000)) ELSE NULL END,
       CASE g WHEN 1 THEN '{"a": [1, 2.5, null, "é"]}'::jsonb ELSE NULL END,
       CASE g WHEN 1 THEN ARRAY['ünï', ''] WHEN 2 THEN ARRAY[]::text[] WHEN 3 THEN ARRAY['a', NULL] ELSE NULL END,
       NULL, NULL, NULL
  FROM btexport.projects p, generate_series(1, 4) g WHERE p.name = 'app'""")
PROJECT = psql("SELECT id FROM btexport.projects WHERE name = 'app'").strip()
N = int(psql("SELECT count(*) FROM btexport.logs"))


def run(name):
    return psql_json(f"SELECT row_to_json(r) FROM btexport.run('{name}') r")[-1]


def run_keys(run_id):
    return [f["key"] for f in psql_json(f"SELECT row_to_json(f) FROM btexport.run_files f WHERE run_id = {run_id} ORDER BY seq")]


# the spans export's columns and their reader types, from the row schema (btexport.export_schema())
READER_TYPE = {"text": "string", "uuid": "string", "timestamp with time zone": "timestamp", "jsonb": "json",
               "text[]": "list", "bigint": "int64", "boolean": "boolean"}
SCHEMA = [tuple(r.split("|")) for r in psql("SELECT name, pg_type FROM btexport.export_schema()"
                                             " WHERE export_type = 'logs_spans' ORDER BY position").strip().split("\n")]
SPAN_COLUMNS = [(n, READER_TYPE[t]) for n, t in SCHEMA]


def fixture_expr(name, pgtype):
    """a column of the export's typed query as the fixture of readers.mjs holds it"""
    c = f'e."{name}"'
    if pgtype == "timestamp with time zone":
        return f"(extract(epoch FROM {c}) * 1000000)::bigint::text"
    if pgtype in ("jsonb", "bigint", "uuid"):
        return f"{c}::text"
    return c


SPAN_FIXTURE_SQL = ("SELECT json_build_array(" + ", ".join(fixture_expr(n, t) for n, t in SCHEMA) + ")"
                    " FROM btexport._export_spans((SELECT id FROM btexport.projects WHERE name = 'app'), '0',"
                    " '18446744073709551615') e")


def readers_agree(data, columns, rows, codec):
    with tempfile.TemporaryDirectory() as d:
        f = os.path.join(d, "x.parquet")
        fx = os.path.join(d, "x.json")
        open(f, "wb").write(data)
        json.dump({"columns": [{"name": n, "type": t} for n, t in columns], "rows": rows}, open(fx, "w"))
        p = subprocess.run(["node", READERS, f, fx, "--codec", codec], capture_output=True, text=True,
                           cwd=os.path.join(ROOT, "test"))
        return p.returncode == 0, (p.stdout + p.stderr)[-1500:]


# ---- Parquet, every codec: three readers return the source values --------------------
span_rows = psql_json(SPAN_FIXTURE_SQL)
for codec in ("snappy", "zstd", "gzip", "none"):
    name = f"pq-{codec}"
    psql(f"""SELECT btexport.create_automation('{name}', 'app', 's3://test-bucket/pq/{codec}/', format => 'parquet',
             compression => '{codec}', endpoint => '{EP}', credential => 'moto')""")
    r = run(name)
    keys = run_keys(r["id"])
    check(f"parquet {codec}: run succeeded with one .parquet object",
          r["status"] == "succeeded" and r["rows"] == N and len(keys) == 1 and keys[0].endswith(".parquet"), json.dumps(r))
    if keys:
        ok, out = readers_agree(get_object("test-bucket", keys[0]), SPAN_COLUMNS, span_rows, codec)
        check(f"parquet {codec}: DuckDB, arrow-rs and hyparquet read every span equal to the source", ok, out)

# traces as Parquet: typed columns (int64 span_count, timestamp created, json metrics)
psql(f"""SELECT btexport.create_automation('pq-traces', 'app', 's3://test-bucket/pq/traces/', format => 'parquet',
         export_type => 'logs_traces', trace_idle => '0 seconds', endpoint => '{EP}', credential => 'moto')""")
r = run("pq-traces")
keys = run_keys(r["id"])
trace_rows = psql_json("""SELECT json_build_array(t.id, t.root_span_id, t.project_id::text,
    (extract(epoch FROM t.created) * 1000000)::bigint::text, t.name, t.metadata::text, t.scores::text,
    t.metrics::text, t.input::text, t.output::text, t.expected::text, t.error::text, t.tags,
    t.span_count::text, t._xact_id::text)
    FROM btexport._export_traces((SELECT id FROM btexport.projects WHERE name = 'app'), '0', '18446744073709551615') t""")
TRACE_COLUMNS = [("id", "string"), ("root_span_id", "string"), ("project_id", "string"), ("created", "timestamp"),
                 ("name", "string"), ("metadata", "json"), ("scores", "json"), ("metrics", "json"), ("input", "json"),
                 ("output", "json"), ("expected", "json"), ("error", "json"), ("tags", "list"),
                 ("span_count", "int64"), ("_xact_id", "int64")]
ok, out = readers_agree(get_object("test-bucket", keys[0]), TRACE_COLUMNS, trace_rows, "snappy") if keys else (False, "no object")
check("parquet traces: three readers agree with the trace rows", r["status"] == "succeeded" and ok, out)

# ---- compressed JSON Lines -------------------------------------------------------------
def decompressed(codec, raw):
    if codec == "gzip":
        return gzip.decompress(raw)
    return subprocess.run(["zstd", "-dc"], input=raw, capture_output=True, check=True).stdout


for codec, ext in (("gzip", ".jsonl.gz"), ("zstd", ".jsonl.zst")):
    name = f"jl-{codec}"
    psql(f"""SELECT btexport.create_automation('{name}', 'app', 's3://test-bucket/jl/{codec}/',
             compression => '{codec}', endpoint => '{EP}', credential => 'moto')""")
    r = run(name)
    keys = run_keys(r["id"])
    check(f"jsonl {codec}: objects end in {ext}", keys and all(k.endswith(ext) for k in keys), repr(keys))
    if keys:
        text = decompressed(codec, get_object("test-bucket", keys[0])).decode()
        lines = [json.loads(x) for x in text.split("\n") if x]
        ids = sorted(x["id"] for x in lines)
        check(f"jsonl {codec}: decompresses to every span once", ids == sorted(psql("SELECT id FROM btexport.logs").split()),
              f"{len(lines)} lines")
        head = json.loads(subprocess.run(["/usr/bin/aws", "--endpoint-url", EP, "s3api", "head-object", "--bucket",
                                          "test-bucket", "--key", keys[0]], capture_output=True, text=True,
                                         env={**os.environ, "AWS_ACCESS_KEY_ID": os.environ["BTX_AKID"],
                                              "AWS_SECRET_ACCESS_KEY": os.environ["BTX_SECRET"],
                                              "AWS_DEFAULT_REGION": "us-east-1"}).stdout)
        check(f"jsonl {codec}: stored without Content-Encoding, typed {head.get('ContentType')}",
              "ContentEncoding" not in head and head.get("ContentType") in ("application/gzip", "application/zstd"))

# ---- compression_level reaches the files: same rows, smaller files at the higher level -----
for fmt, codec, levels in (("jsonl", "gzip", (1, 9)), ("jsonl", "zstd", (1, 19)),
                           ("parquet", "gzip", (1, 9)), ("parquet", "zstd", (1, 19))):
    sizes, contents = {}, {}
    for level in levels:
        name = f"lvl-{fmt}-{codec}-{level}"
        psql(f"""SELECT btexport.create_automation('{name}', 'app', 's3://test-bucket/lvl/{fmt}-{codec}-{level}/',
                 format => '{fmt}', compression => '{codec}', compression_level => {level}, endpoint => '{EP}',
                 credential => 'moto', target_file_size => '1GB')""")
        r = run(name)
        keys = run_keys(r["id"])
        if r["status"] != "succeeded" or len(keys) != 1:
            check(f"{fmt} {codec} level {level}: one file", False, json.dumps(r))
            continue
        raw = get_object("test-bucket", keys[0])
        sizes[level] = len(raw)
        if fmt == "jsonl":
            contents[level] = sorted(decompressed(codec, raw).split(b"\n"))
        else:
            ok, out = readers_agree(raw, SPAN_COLUMNS, span_rows, codec)
            check(f"parquet {codec} level {level}: three readers read every span equal to the source", ok, out)
    lo, hi = levels
    if len(sizes) == 2:
        check(f"{fmt} {codec}: level {hi}'s file is smaller than level {lo}'s ({sizes[hi]} < {sizes[lo]} bytes)",
              sizes[hi] < sizes[lo], json.dumps(sizes))
    if fmt == "jsonl" and len(contents) == 2:
        ids = sorted(json.loads(x)["id"] for x in contents[lo] if x)
        check(f"jsonl {codec}: levels {lo} and {hi} hold the same lines, every span once",
              contents[lo] == contents[hi] and ids == sorted(psql("SELECT id FROM btexport.logs").split()))

# ---- BTQL: the five example queries of the original guide -------------------------------
GUIDE = {
    "low-factuality": (f"select: *\nfrom: project_logs('{PROJECT}')\nfilter: scores.Factuality < 0.8",
                       "SELECT id FROM btexport.logs WHERE (scores->>'Factuality')::float8 < 0.8"),
    "since-2024": (f"select: *\nfrom: project_logs('{PROJECT}')\nfilter: created >= '2024-01-01'",
                   "SELECT id FROM btexport.logs WHERE created >= '2024-01-01'"),
    "production": (f"select: *\nfrom: project_logs('{PROJECT}')\nfilter: metadata.environment = 'production'",
                   "SELECT id FROM btexport.logs WHERE metadata->>'environment' = 'production'"),
    "recent-costly": (f"select: *\nfrom: project_logs('{PROJECT}')\nfilter: \n  created > now() - interval 7 day and\n"
                      "  scores.Factuality < 0.8 and\n  metrics.total_tokens > 1000",
                      "SELECT id FROM btexport.logs WHERE created > now() - interval '7 days' AND "
                      "(scores->>'Factuality')::float8 < 0.8 AND (metrics->>'total_tokens')::float8 > 1000"),
}
for name, (q, ref) in GUIDE.items():
    psql(f"SELECT btexport.create_automation('{name}', 'app', 's3://test-bucket/btql/{name}/', export_type => 'btql',"
         f" query => $q${q}$q$, endpoint => '{EP}', credential => 'moto')")
    r = run(name)
    rows = []
    for k in run_keys(r["id"]):
        rows += [json.loads(x) for x in get_object("test-bucket", k).decode().split("\n") if x]
    want = sorted(psql(ref).split())
    check(f"guide query '{name}': the right rows arrive ({len(want)})",
          r["status"] == "succeeded" and sorted(x["id"] for x in rows) == want and len(want) > 0,
          f"{r['status']} {r.get('error_message')} got {len(rows)} want {len(want)}")
    if rows:
        src = {x["id"]: x for x in psql_json("SELECT row_to_json(l) FROM btexport.logs l")}
        check(f"guide query '{name}': rows carry the span's values",
              all(x["scores"] == src[x["id"]]["scores"] and x["root_span_id"] == src[x["id"]]["root_span_id"] for x in rows))

cost_q = (f"select:\n  metadata.model as model,\n  metrics.total_cost as cost,\n  metrics.total_tokens as tokens,\n"
          f"  created as timestamp\nfrom: project_logs('{PROJECT}')\nfilter: metadata.environment = 'production'\n"
          f"sort: created desc\nlimit: 10000")
for fmt in ("jsonl", "parquet"):
    psql(f"SELECT btexport.create_automation('cost-{fmt}', 'app', 's3://test-bucket/btql/cost-{fmt}/', export_type => 'btql',"
         f" format => '{fmt}', query => $q${cost_q}$q$, endpoint => '{EP}', credential => 'moto')")
    r = run(f"cost-{fmt}")
    keys = run_keys(r["id"])
    ref = psql_json("SELECT json_build_array((metadata->'model')::text, (metrics->>'total_cost')::float8,"
                    " (metrics->>'total_tokens')::float8, (extract(epoch FROM created) * 1000000)::bigint::text,"
                    " _xact_id::text) FROM btexport.logs WHERE metadata->>'environment' = 'production'"
                    " ORDER BY created DESC LIMIT 10000")
    if fmt == "jsonl":
        rows = [json.loads(x) for k in keys for x in get_object("test-bucket", k).decode().split("\n") if x]
        check("cost-analysis query (JSON Lines): aliased columns, sorted by created desc",
              r["status"] == "succeeded" and [list(x) for x in rows][:1] and
              [x["model"] for x in rows] == [json.loads(x[0]) for x in ref] and set(rows[0]) == {"model", "cost", "tokens", "timestamp", "_xact_id"}
              and [x["timestamp"] for x in rows] == sorted([x["timestamp"] for x in rows], reverse=True),
              f"{r['status']} {r.get('error_message')} {len(rows)} rows vs {len(ref)}")
    else:
        ok, out = readers_agree(get_object("test-bucket", keys[0]),
                                [("model", "json"), ("cost", "double"), ("tokens", "double"),
                                 ("timestamp", "timestamp"), ("_xact_id", "int64")], ref, "snappy") if keys else (False, json.dumps(r))
        check("cost-analysis query (Parquet): typed columns read equal by three readers", ok, out)

# ---- BTQL errors fail at creation, with position and SQLSTATE -----------------------------
rc, out, err = psql(f"SELECT btexport.create_automation('bad-q', 'app', 's3://test-bucket/btql/bad/', export_type => 'btql',"
                    f" query => 'select: * | from: project_logs(''{PROJECT}'') | filter: scores.Factuality <', endpoint => '{EP}')",
                    check_error=False)
check("a bad query fails at creation (syntax error)", rc != 0 and "syntax" in err.lower() and "line" in err.lower(), err)
rc, out, err = psql(f"SELECT btexport.create_automation('bad-p', 'app', 's3://test-bucket/btql/badp/', export_type => 'btql',"
                    f" query => 'select: * | from: project_logs(''no-such-project'')', endpoint => '{EP}')",
                    check_error=False)
check("a query reading an unknown project fails at creation", rc != 0 and "does not exist" in err, err)
q = psql_json(f"SELECT btexport.query($q$select: id, scores.Factuality as f | from: project_logs('{PROJECT}') | filter: scores.Factuality < 0.5 | sort: id | limit: 3$q$)")
want = psql("SELECT id FROM btexport.logs WHERE (scores->>'Factuality')::float8 < 0.5 ORDER BY id LIMIT 3").split()
check("btexport.query runs BTQL interactively", [x["id"] for x in q] == want and all("f" in x for x in q), json.dumps(q))
ex = psql(f"SELECT btexport.explain($q$select: * | from: project_logs('{PROJECT}') | filter: metadata.environment = 'production'$q$)")
check("btexport.explain shows SQL with bind parameters, no user text", "$" in ex and "'production'" in ex.split("\n-- ", 1)[-1]
      and "production" not in ex.split("\n-- ", 1)[0], ex[:400])
finish()
