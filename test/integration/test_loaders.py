"""The loader recipes of docs/loaders.md and docs/snowflake.md against real exported objects.

Automations write to moto with the recipes' prefixes (test-bucket stands for your-bucket-name):
spans as JSON Lines (uncompressed, gzip, zstd; date layout; files split into _part-NNNN), traces as
JSON Lines, spans as Parquet (Hive layout), plus Parquet and gzip JSON Lines in the other layouts,
1.0's hive_date layout, and a same-second run whose keys carry the run id.  Then:
  - DuckDB runs every DuckDB recipe as written, except that s3://your-bucket-name/ becomes a local copy
    of the bucket (DuckDB's httpfs cannot be installed here) and, for the gzip and zstd prefixes, the
    prefix name; the views must return every exported row version (id, _xact_id, created) once;
  - Snowflake (not available here): each table's and pipe's column list and types against
    btexport.export_schema(), and each PATTERN compiled by Java (test/loaders/PatternCheck.java,
    Matcher.matches(), Snowflake's semantics) against every real key of its format — as the path
    after the stage URL (Snowpipe) and as the whole location (bulk COPY) — and against the manifests
    and btexport.test()'s object, which it must not match;
  - Athena, BigQuery, ClickHouse (not available here): column names and types against the schema, and
    Athena's partition projection rendered for every real key's day and hour.
"""
import datetime
import json
import os
import re
import shutil
import subprocess
import tempfile

from lib import check, finish, fresh_db, psql, psql_json, list_keys, get_object, setup_credential

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DUCKQ = os.path.join(ROOT, "test", "harness", "duckq.mjs")
DB = fresh_db("btx_loaders")
EP = os.environ["MOTO_ENDPOINT"]
setup_credential("moto")
SCHEMA = psql_json("SELECT row_to_json(s) FROM btexport.export_schema() s")


def recipes(path):
    text = open(os.path.join(ROOT, path), encoding="utf-8").read()
    return {m.group(1): m.group(2) for m in
            re.finditer(r"<!-- recipe: ([a-z0-9-]+)[^>]*-->\n```sql\n(.*?)\n```", text, re.S)}


LOADERS = recipes("docs/loaders.md")
SNOW = recipes("docs/snowflake.md")
check("docs/loaders.md and docs/snowflake.md hold the recipes the test reads",
      {"duckdb-spans-jsonl", "duckdb-traces-jsonl", "duckdb-spans-parquet-hive", "athena-spans-jsonl-date",
       "athena-spans-parquet-hive", "athena-traces-jsonl-date", "bigquery-spans-jsonl",
       "bigquery-traces-parquet-hive", "clickhouse-spans-jsonl"} <= set(LOADERS)
      and {"snowflake-stage", "snowflake-spans-table", "snowflake-spans-pipe-jsonl", "snowflake-spans-pipe-parquet",
           "snowflake-traces-table", "snowflake-traces-pipe-jsonl", "snowflake-latest-views"} <= set(SNOW),
      f"{sorted(LOADERS)} {sorted(SNOW)}")

# ---- the exports -----------------------------------------------------------------------------------
psql("SELECT btexport.generate_sample_data('ld', traces => 250, seed => 5)")
# incompressible text, so that Parquet files split at target_file_size too
psql("""INSERT INTO btexport.logs (project_id, id, span_id, root_span_id, input, metrics)
        SELECT p.id, 'rnd-' || g, 'rnd-s-' || g, 'rnd-t-' || (g / 10),
               to_jsonb((SELECT string_agg(md5(g::text || ':' || k), '') FROM generate_series(1, 40) k)),
               jsonb_build_object('cost', 0.001 * g)
          FROM btexport.projects p, generate_series(1, 3000) g WHERE p.name = 'ld'""")
AUTOS = [  # name, prefix, export type, format, compression, layout
    ("spans", "braintrust-exports/", "logs_spans", "jsonl", "none", "date"),
    ("spans-gz", "braintrust-exports-gz/", "logs_spans", "jsonl", "gzip", "date"),
    ("spans-zst", "braintrust-exports-zst/", "logs_spans", "jsonl", "zstd", "date"),
    ("traces", "braintrust-traces/", "logs_traces", "jsonl", "none", "date"),
    ("spans-pq", "braintrust-parquet/", "logs_spans", "parquet", "snappy", "hive"),
    ("traces-pq", "braintrust-traces-pq/", "logs_traces", "parquet", "zstd", "hive"),
    ("pq-date", "more/pq-date/", "logs_spans", "parquet", "gzip", "date"),
    ("jl-hive", "more/jl-hive/", "logs_spans", "jsonl", "gzip", "hive"),
    ("jl-hive-zst", "more/jl-hive-zst/", "logs_traces", "jsonl", "zstd", "hive"),
    ("old-hive", "more/old-hive/", "logs_spans", "jsonl", "none", "hive"),
]
for name, prefix, et, fmt, comp, layout in AUTOS:
    psql(f"""SELECT btexport.create_automation('{name}', 'ld', 's3://test-bucket/{prefix}', export_type => '{et}',
             format => '{fmt}', compression => '{comp}', layout => '{layout}', trace_idle => '0 seconds',
             target_file_size => '1MB', endpoint => '{EP}', credential => 'moto')""")
# an automation created with 1.0's hive layout, as the upgrade leaves it
psql("UPDATE btexport.automations SET layout = 'hive_date' WHERE name = 'old-hive'")
for name, *_ in AUTOS:
    r = psql_json(f"SELECT row_to_json(r) FROM btexport.run('{name}') r")[-1]
    check(f"{name}: the run succeeds", r["status"] == "succeeded" and r["rows"] > 0, json.dumps(r)[:300])
# a run in the same second as the previous one of its automation: its keys carry its run id (own project,
# so that the rows of 'ld' stay as the automations above exported them)
psql("SELECT btexport.generate_sample_data('ld2', traces => 2, seed => 6)")
psql(f"""SELECT btexport.create_automation('same-sec', 'ld2', 's3://test-bucket/more/same-sec/', endpoint => '{EP}',
         credential => 'moto')""")
AUTOS.append(("same-sec", "more/same-sec/", "logs_spans", "jsonl", "none", "date"))
for attempt in range(25):
    psql("UPDATE btexport.logs l SET scores = jsonb_build_object('late', random()) FROM btexport.projects p"
         " WHERE p.id = l.project_id AND p.name = 'ld2'")
    psql_json("SELECT row_to_json(r) FROM btexport.run('same-sec') r")
    psql("UPDATE btexport.logs l SET scores = jsonb_build_object('late', random()) FROM btexport.projects p"
         " WHERE p.id = l.project_id AND p.name = 'ld2'")
    r2 = psql_json("SELECT row_to_json(r) FROM btexport.run('same-sec') r")[-1]
    if re.search(r"_\d+$", psql(f"SELECT base_key FROM btexport.runs WHERE id = {r2['id']}").strip()):
        break
KEYS = {name: list_keys("test-bucket", prefix) for name, prefix, *_ in AUTOS}
MANIFESTS = [k for name, prefix, *_ in AUTOS for k in list_keys("test-bucket", prefix[:-1] + ".manifests/")]
ALL = [k for ks in KEYS.values() for k in ks]
check("the keys cover _part-NNNN files of both formats and a same-second run's _<run id> suffix",
      any(re.search(r"_part-\d{4}\.jsonl$", k) for k in ALL) and any(re.search(r"_part-\d{4}\.parquet$", k) for k in ALL)
      and any(re.search(r"\d\d-\d\d-\d\d_\d+\.jsonl$", k) for k in ALL)
      and any("/dt=" in k for k in ALL) and any("/date=" in k for k in ALL) and any(re.search(r"/\d{4}/\d\d/\d\d/", k) for k in ALL),
      repr([k for k in ALL if "_part-" in k or re.search(r"_\d+\.", k)][:6]))
test_rows = psql_json("SELECT row_to_json(t) FROM btexport.test('spans') t")
test_key = next((m.group(1) for t in test_rows for m in [re.search(r"Wrote s3://test-bucket/(\S+) ", t["detail"] or "")] if m), None)
check("btexport.test() wrote (and deleted) its test object under the prefix", test_key is not None and
      test_key.startswith("braintrust-exports/") and test_key not in list_keys("test-bucket", "braintrust-exports/"),
      json.dumps(test_rows)[:400])

# a local copy of the bucket for DuckDB
LOCAL = tempfile.mkdtemp(prefix="btx-loaders-")
for k in ALL:
    p = os.path.join(LOCAL, "test-bucket", k)
    os.makedirs(os.path.dirname(p), exist_ok=True)
    with open(p, "wb") as f:
        f.write(get_object("test-bucket", k))


def duck(sql):
    stmts = [s.strip() for s in sql.split(";\n") if s.strip()]
    p = subprocess.run(["node", DUCKQ, *stmts], capture_output=True, text=True, cwd=os.path.join(ROOT, "test"))
    if p.returncode != 0:
        return None, p.stderr
    return [json.loads(line) for line in p.stdout.splitlines() if line.strip()], ""


def source(et):
    """(id, _xact_id, created in Unix microseconds) of every row version the automations exported"""
    fn = "_export_spans" if et == "logs_spans" else "_export_traces"
    return sorted(tuple(r) for r in psql_json(
        f"SELECT json_build_array(e.id, e._xact_id, (extract(epoch FROM e.created) * 1000000)::bigint)"
        f" FROM btexport.{fn}((SELECT id FROM btexport.projects WHERE name = 'ld'), '0', '18446744073709551615') e"))


# ---- DuckDB: the recipes run ----------------------------------------------------------------------
local = lambda sql: sql.replace("s3://your-bucket-name/", os.path.join(LOCAL, "test-bucket") + "/")
spans_src = source("logs_spans")
for name, prefix in (("spans", "braintrust-exports/"), ("spans-gz", "braintrust-exports-gz/"),
                     ("spans-zst", "braintrust-exports-zst/")):
    sql = local(LOADERS["duckdb-spans-jsonl"]).replace("/braintrust-exports/", "/" + prefix)
    rows, err = duck(sql + ";\nSELECT id, _xact_id, epoch_us(created) AS us FROM braintrust_spans;\n"
                     "SELECT count(*) AS n, count(DISTINCT id) AS ids FROM braintrust_spans_latest")
    got = sorted((r["id"], int(r["_xact_id"]), int(r["us"])) for r in (rows or []) if "us" in r)
    latest = [r for r in (rows or []) if "ids" in r]
    exts = "/".join(sorted({k.split(".", 1)[1] for k in KEYS[name]}))
    check(f"DuckDB recipe duckdb-spans-jsonl over {prefix} (.{exts}, {len(KEYS[name])} files): every span, created exact",
          rows is not None and got == spans_src, err[-800:] or f"{len(got)} rows vs {len(spans_src)}")
    check(f"... its latest view holds each id once ({prefix})",
          latest and int(latest[0]["n"]) == int(latest[0]["ids"]) == len({i for i, _, _ in spans_src}), repr(latest))
rows, err = duck(local(LOADERS["duckdb-traces-jsonl"]) + ";\nSELECT id, _xact_id, epoch_us(created) AS us FROM braintrust_traces;\n"
                 "SELECT count(*) AS n FROM braintrust_traces_latest")
tr_src = source("logs_traces")
got = sorted((r["id"], int(r["_xact_id"]), int(r["us"])) for r in (rows or []) if "us" in r)
check("DuckDB recipe duckdb-traces-jsonl: every trace row, created exact",
      rows is not None and got == tr_src and [r for r in rows if "n" in r][0]["n"] == str(len(tr_src)),
      err[-800:] or f"{len(got)} vs {len(tr_src)}")

rows, err = duck(local(LOADERS["duckdb-spans-parquet-hive"]) + ";\nSELECT id, _xact_id, dt::VARCHAR AS dt, hour,"
                 " epoch_us(created) AS us FROM braintrust_spans_pq;\n"
                 "SELECT column_name, column_type FROM (DESCRIBE braintrust_spans_pq)")
got = [r for r in (rows or []) if "us" in r]
desc = {r["column_name"]: r["column_type"] for r in (rows or []) if "column_type" in r}
hours = {(r["dt"], int(r["hour"])) for r in got}
key_parts = {(m.group(1), int(m.group(2))) for k in KEYS["spans-pq"] for m in [re.search(r"/dt=([\d-]+)/hour=(\d\d)/", k)] if m}
check("DuckDB recipe duckdb-spans-parquet-hive: every span, dt/hour from the folders, typed columns",
      rows is not None and sorted((r["id"], int(r["_xact_id"]), int(r["us"])) for r in got) == spans_src
      and hours == key_parts
      and desc.get("created") == "TIMESTAMP WITH TIME ZONE" and desc.get("input") == "JSON" and desc.get("dt") == "DATE",
      err[-800:] or f"{len(got)} rows; {desc}")

# ---- Snowflake: tables, pipes, patterns -------------------------------------------------------------
SF_TYPE = {"text": "STRING", "uuid": "STRING", "timestamp with time zone": "TIMESTAMP_TZ", "jsonb": "VARIANT",
           "bigint": "NUMBER(19)", "boolean": "BOOLEAN", "text[]": "ARRAY"}


def ddl_columns(body):
    """'name TYPE, ...' inside the outermost parentheses of a CREATE TABLE -> [(name, type)]"""
    inner = body[body.index("(") + 1:body.rindex(")")]
    cols, depth, cur = [], 0, ""
    for ch in inner:
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        if ch == "," and depth == 0:
            cols.append(cur)
            cur = ""
        else:
            cur += ch
    cols.append(cur)
    out = []
    for c in cols:
        c = " ".join(c.split())
        if c:
            n, t = c.split(" ", 1)
            out.append((n.strip("`"), t))
    return out


def schema_cols(et):
    return [(r["name"], r["pg_type"]) for r in SCHEMA if r["export_type"] == et]


for et, table in (("logs_spans", "snowflake-spans-table"), ("logs_traces", "snowflake-traces-table")):
    got = ddl_columns(SNOW[table])
    want = [(n, SF_TYPE[t]) for n, t in schema_cols(et)] + [("_file", "STRING"),
                                                             ("_loaded", "TIMESTAMP_TZ DEFAULT CURRENT_TIMESTAMP()")]
    check(f"Snowflake {table}: every schema column, in order, with its Snowflake type", got == want,
          f"{[g for g in got if g not in want][:3]} vs {[w for w in want if w not in got][:3]}")
for et, pipe, fmt in (("logs_spans", "snowflake-spans-pipe-jsonl", "jsonl"),
                      ("logs_spans", "snowflake-spans-pipe-parquet", "parquet"),
                      ("logs_traces", "snowflake-traces-pipe-jsonl", "jsonl")):
    body = " ".join(SNOW[pipe].split())
    m = re.search(r"COPY INTO \w+ \((.*?)\) FROM \(SELECT (.*?) FROM @(\w+)\) PATTERN = '([^']*)'", body)
    cols = schema_cols(et)
    into = [c.strip() for c in m.group(1).split(",")] if m else []
    sel = [c.strip() for c in m.group(2).split(",")] if m else []
    want_sel = [(f"PARSE_JSON($1:{n}::STRING)" if fmt == "parquet" and t == "jsonb" else f"$1:{n}") for n, t in cols]
    check(f"Snowflake {pipe}: COPY column list and SELECT list follow the schema"
          f"{' (PARSE_JSON for JSON columns)' if fmt == 'parquet' else ''}",
          m and into == [n for n, _ in cols] + ["_file"] and sel == want_sel + ["METADATA$FILENAME"],
          f"{into[:4]} / {sel[:4]}")
    stage = m.group(3) if m else ""
    st = re.search(r"CREATE STAGE %s URL = 's3://your-bucket-name/([^']*)'.*?FORMAT_NAME = '(\w+)'" % stage,
                   " ".join(SNOW["snowflake-stage"].split()))
    check(f"Snowflake {pipe}: its stage {stage} exists with the {fmt} file format",
          st and st.group(2) == ("btexport_parquet" if fmt == "parquet" else "btexport_jsonl"), stage)
stage_sql = " ".join(SNOW["snowflake-stage"].split())
check("Snowflake: the integration allows the data prefixes and the manifests prefix; the Parquet file format uses logical types",
      "'s3://your-bucket-name/braintrust-exports.manifests/'" in stage_sql
      and all(f"'s3://your-bucket-name/{p}'" in stage_sql for p in ("braintrust-exports/", "braintrust-traces/", "braintrust-parquet/"))
      and re.search(r"CREATE FILE FORMAT btexport_parquet TYPE = PARQUET USE_LOGICAL_TYPE = TRUE", stage_sql)
      and re.search(r"CREATE FILE FORMAT btexport_jsonl TYPE = JSON COMPRESSION = AUTO", stage_sql), stage_sql[:300])
check("Snowflake: the latest views keep the highest _xact_id per id",
      SNOW["snowflake-latest-views"].count("QUALIFY ROW_NUMBER() OVER (PARTITION BY id ORDER BY _xact_id DESC) = 1") == 2)

jdir = tempfile.mkdtemp(prefix="btx-java-")
jc = subprocess.run(["javac", "-d", jdir, os.path.join(ROOT, "test", "loaders", "PatternCheck.java")],
                    capture_output=True, text=True)
check("PatternCheck.java compiles (javac)", jc.returncode == 0, jc.stderr)


def java_matches(pattern, paths):
    p = subprocess.run(["java", "-cp", jdir, "PatternCheck", pattern], input="\n".join(paths) + "\n",
                       capture_output=True, text=True)
    if p.returncode != 0:
        raise RuntimeError(p.stderr)
    return {line[2:]: line[0] == "1" for line in p.stdout.splitlines()}


fmt_of = {name: fmt for name, _, _, fmt, _, _ in AUTOS}
prefix_of = {name: prefix for name, prefix, *_ in AUTOS}
for pipe, fmt in (("snowflake-spans-pipe-jsonl", "jsonl"), ("snowflake-spans-pipe-parquet", "parquet"),
                  ("snowflake-traces-pipe-jsonl", "jsonl")):
    pattern = re.search(r"PATTERN = '([^']*)'", SNOW[pipe]).group(1)
    pos, neg = [], []
    for name, ks in KEYS.items():
        for k in ks:
            rel = k[len(prefix_of[name]):]
            (pos if fmt_of[name] == fmt else neg).extend([rel, f"s3://test-bucket/{k}"])
    # one more part than a run of 9,999 parts: the part number grows to five digits
    pos += [p.replace(".jsonl", "_part-10000.jsonl").replace(".parquet", "_part-10000.parquet")
            for p in pos[:2] if "_part-" not in p]
    neg += MANIFESTS + [f"s3://test-bucket/{k}" for k in MANIFESTS] + [test_key[len("braintrust-exports/"):],
                                                                       f"s3://test-bucket/{test_key}"]
    res = java_matches(pattern, pos + neg)
    miss = [p for p in pos if not res.get(p)]
    extra = [p for p in neg if res.get(p)]
    kinds = sorted({re.sub(r"\d", "N", re.sub(r"^.*?export_\d{4}-\d\d-\d\d_\d\d-\d\d-\d\d", "", p)) for p in pos})
    check(f"Snowflake {pipe}: PATTERN (Java regex) matches all {len(pos)} {fmt} key forms {kinds}, relative and full",
          pos and not miss, repr(miss[:4]))
    check(f"Snowflake {pipe}: PATTERN matches no manifest, no other format, not btexport.test()'s object ({len(neg)} paths)",
          not extra, repr(extra[:4]))

# negative control: btexport 1.0's documented pattern misses the compressed files
old = java_matches(".*export_.*[.]jsonl", [k for k in ALL if k.endswith((".jsonl.gz", ".jsonl.zst"))])
check("negative control: 1.0's PATTERN '.*export_.*[.]jsonl' misses every .jsonl.gz/.jsonl.zst key",
      old and not any(old.values()), repr(list(old.items())[:2]))

# ---- Athena, BigQuery, ClickHouse: columns against the schema, projection against the keys -------------
ATHENA = {"text": "string", "uuid": "string", "timestamp with time zone": "timestamp", "jsonb": "string",
          "bigint": "bigint", "boolean": "boolean", "text[]": "array<string>"}
for recipe, et, jsonl, auto in (("athena-spans-jsonl-date", "logs_spans", True, "spans"),
                                ("athena-spans-parquet-hive", "logs_spans", False, "spans-pq"),
                                ("athena-traces-jsonl-date", "logs_traces", True, "traces")):
    sql = LOADERS[recipe]
    table = sql[:sql.index("PARTITIONED BY")]
    got = ddl_columns(table)
    want = [(n, "string" if jsonl and t == "timestamp with time zone" else ATHENA[t]) for n, t in schema_cols(et)]
    check(f"Athena {recipe}: columns and types follow the schema (JSON Lines timestamps as RFC 3339 strings)",
          got == want, f"{[g for g in got if g not in want][:3]} vs {[w for w in want if w not in got][:3]}")
    props = dict(re.findall(r"'([\w.]+)' = '([^']*)'", sql))
    parts = [p for p, _ in ddl_columns(sql[sql.index("PARTITIONED BY"):sql.index(")", sql.index("PARTITIONED BY")) + 1])]
    check(f"Athena {recipe}: partition projection on, no reserved partition name",
          props.get("projection.enabled") == "true" and "date" not in parts and all(f"projection.{p}.type" in props for p in parts),
          repr(parts))
    loc = props["storage.location.template"]
    check(f"Athena {recipe}: LOCATION and the template are the prefix of an automation of this kind ({auto})",
          f"LOCATION 's3://your-bucket-name/{prefix_of[auto]}'" in sql and loc.startswith(f"s3://your-bucket-name/{prefix_of[auto]}"),
          loc)
    bad = []
    for k in KEYS[auto]:
        m = re.search(r"export_(\d{4})-(\d\d)-(\d\d)_(\d\d)-", k)
        day = datetime.datetime(int(m.group(1)), int(m.group(2)), int(m.group(3)), int(m.group(4)))
        path = loc
        for p in parts:
            ptype = props[f"projection.{p}.type"]
            if ptype == "date":
                fmtj = props[f"projection.{p}.format"]
                val = day.strftime(fmtj.replace("yyyy", "%Y").replace("MM", "%m").replace("dd", "%d"))
                lo = props[f"projection.{p}.range"].split(",")[0]
                if val < lo:
                    bad.append(f"{k}: {val} before the range")
            else:
                val = str(day.hour).zfill(int(props.get(f"projection.{p}.digits", "1")))
                lo, hi = props[f"projection.{p}.range"].split(",")
                if not int(lo) <= day.hour <= int(hi):
                    bad.append(f"{k}: hour out of range")
            path = path.replace("${" + p + "}", val)
        path = path.replace("s3://your-bucket-name/", "")
        if not (k.startswith(path) and "/" not in k[len(path):]):
            bad.append(f"{k} not under {path}")
    check(f"Athena {recipe}: the projection's location for each key's day{'/hour' if len(parts) > 1 else ''} holds it"
          f" ({len(KEYS[auto])} keys of {auto})", KEYS[auto] and not bad, repr(bad[:3]))
view = LOADERS["athena-spans-jsonl-date"]
vsel = " ".join(view[view.index("CREATE VIEW"):].split())
vcols = [c.strip() for c in vsel[vsel.index("SELECT") + 6:vsel.index(" FROM ")].split(",")]
check("Athena: the JSON Lines view converts created with from_iso8601_timestamp and keeps every column",
      vcols == [("from_iso8601_timestamp(created) AS created" if n == "created" else n) for n, _ in schema_cols("logs_spans")]
      + ["day"], repr(vcols[:8]))

BQ = {"text": "STRING", "uuid": "STRING", "timestamp with time zone": "TIMESTAMP", "jsonb": "JSON", "bigint": "INT64",
      "boolean": "BOOL", "text[]": "JSON"}
for recipe, et in (("bigquery-spans-jsonl", "logs_spans"), ("bigquery-traces-parquet-hive", "logs_traces")):
    sql = LOADERS[recipe]
    got = ddl_columns(sql[:sql.index("\n)") + 2])
    check(f"BigQuery {recipe}: columns and types follow the schema (lists as JSON: null elements)",
          got == [(n, BQ[t]) for n, t in schema_cols(et)], repr(got[:5]))

CH = {"text": "Nullable(String)", "uuid": "Nullable(UUID)", "timestamp with time zone": "Nullable(DateTime64(6, 'UTC'))",
      "jsonb": "Nullable(String)", "bigint": "Nullable(Int64)", "boolean": "Nullable(Bool)", "text[]": "Array(Nullable(String))"}
sql = LOADERS["clickhouse-spans-jsonl"]
structure = re.search(r"'JSONEachRow',\s*'(.*)'\)\s*SETTINGS", sql, re.S).group(1).replace("''", "'")
got = ddl_columns("(" + structure + ")")
check("ClickHouse clickhouse-spans-jsonl: the structure follows the schema",
      got == [(n, CH[t]) for n, t in schema_cols("logs_spans")], repr(got[:5]))
shutil.rmtree(LOCAL, ignore_errors=True)
shutil.rmtree(jdir, ignore_errors=True)
finish()
