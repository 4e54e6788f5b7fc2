"""The exported files against the row schema (btexport.export_schema(), docs/file-layout.md).

Every export type (logs_spans, logs_traces, btql) x every format and compression (JSON Lines
none/gzip/zstd, Parquet snappy/zstd/gzip/none) runs twice: the first run's rows hold null in every
nullable column (no tags, no parents, no metrics, no comment, ...), the second's hold values. Then:
  - JSON Lines: every line has exactly the schema's keys in its order, every value has the schema's
    JSON type (null only where the column is nullable), timestamps are RFC 3339 UTC with six fraction
    digits; DuckDB's read_json_auto over both runs' files types `created` as a timestamp;
  - Parquet: each file's schema (physical type, converted type, logical type per column, read by
    DuckDB's parquet_schema) is the schema's, identical in both runs (an all-null first batch
    included), and its key-value metadata names the schema version and export type;
  - the manifest records the schema version and an RFC 3339 `created`;
  - docs/file-layout.md's column tables equal btexport.export_schema() row for row.
"""
import gzip
import json
import os
import re
import subprocess
import tempfile

from lib import check, finish, fresh_db, psql, psql_json, list_keys, get_object, setup_credential

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DUCKQ = os.path.join(ROOT, "test", "harness", "duckq.mjs")
DB = fresh_db("btx_schema")
EP = os.environ["MOTO_ENDPOINT"]
setup_credential("moto")
RFC3339 = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z")
COMBOS = [("jsonl", "none"), ("jsonl", "gzip"), ("jsonl", "zstd"),
          ("parquet", "snappy"), ("parquet", "zstd"), ("parquet", "gzip"), ("parquet", "none")]
BTQL = "select: id, created, is_root, tags, metadata, metrics.tokens as tokens, span_attributes.name as name, " \
       "scores.Factuality > 0.5 as good, span_parents | from: project_logs('sc')"
BTQL_TYPE = {"text": "text", "timestamptz": "timestamp with time zone", "bool": "boolean", "text[]": "text[]",
             "jsonb": "jsonb", "float8": "double precision", "int8": "bigint"}

SCHEMA = psql_json("SELECT row_to_json(s) FROM btexport.export_schema() s")
TYPE_MAP = {r["pg_type"]: r for r in psql_json("SELECT row_to_json(m) FROM btexport.export_type_map() m")}
VERSION = {r["schema_version"] for r in SCHEMA}
check("export_schema() states one schema version, 2", VERSION == {2}, repr(VERSION))


def columns(export_type):
    """(name, pg_type, nullable) of an export type's rows, in order"""
    if export_type == "btql":
        ex = psql(f"SELECT btexport.explain($q${BTQL}$q$)")
        cols = [(m.group(1), BTQL_TYPE[m.group(2)], True)
                for m in re.finditer(r"^-- column c\d+: (\S+) (\S+)$", ex, re.M)]
        tail = [r for r in SCHEMA if r["export_type"] == "btql"]
        return cols + [(r["name"], r["pg_type"], r["nullable"]) for r in tail]
    return [(r["name"], r["pg_type"], r["nullable"]) for r in SCHEMA if r["export_type"] == export_type]


# ---- data: run 1 sees rows whose nullable columns are all null, run 2 rows with values ----------
psql("SELECT btexport.create_project('sc')")
psql("""INSERT INTO btexport.logs (project_id, id, span_id, root_span_id, created)
        SELECT p.id, 'n' || g, 'ns' || g, 'nt' || g, '2026-01-02 03:04:05.5+00'
          FROM btexport.projects p, generate_series(1, 3) g WHERE p.name = 'sc'""")
autos = []
for et in ("logs_spans", "logs_traces", "btql"):
    for fmt, comp in COMBOS:
        name = f"{et}-{fmt}-{comp}"
        q = f", query => $q${BTQL}$q$" if et == "btql" else ""
        psql(f"""SELECT btexport.create_automation('{name}', 'sc', 's3://test-bucket/schema/{name}/', export_type => '{et}',
                 format => '{fmt}', compression => '{comp}', trace_idle => '0 seconds'{q}, endpoint => '{EP}',
                 credential => 'moto')""")
        autos.append((name, et, fmt, comp))

runs = {}
for name, *_ in autos:
    runs[name] = [psql_json(f"SELECT row_to_json(r) FROM btexport.run('{name}') r")[-1]]
psql("""INSERT INTO btexport.logs (project_id, id, span_id, root_span_id, span_parents, created, org_id, input, output,
            expected, error, scores, metrics, metadata, span_attributes, context, origin, comment, tags,
            audit_source, audit_metadata)
        SELECT p.id, 'v' || g, 'vs' || g, 'vt', CASE WHEN g > 1 THEN ARRAY['vs1'] END,
               '1969-07-20 20:17:40.000001+00'::timestamptz + g * interval '1 second',
               '6b7c8d0e-1f2a-4b3c-8d4e-5f6a7b8c9d0e', '"q \\u0001 ✓"', '{"a": [1, 2.5]}', 'false', '"boom"',
               '{"Factuality": 0.75}', '{"start": 10, "end": 12.5, "prompt_tokens": 3, "completion_tokens": 4,
               "estimated_cost": 0.25, "cost": 0.5}', '{"m": "x"}',
               jsonb_build_object('name', 'step ' || g, 'type', CASE WHEN g = 2 THEN 'llm' ELSE 'task' END),
               '{"caller": "f.py"}', '{"id": "v1"}', '{"text": "a comment"}', ARRAY['t1', NULL], 'app', '{"who": "r"}'
          FROM btexport.projects p, generate_series(1, 3) g WHERE p.name = 'sc'""")
for name, *_ in autos:
    runs[name].append(psql_json(f"SELECT row_to_json(r) FROM btexport.run('{name}') r")[-1])
ok = all(r["status"] == "succeeded" and r["rows"] > 0 for rs in runs.values() for r in rs)
check(f"{len(autos)} automations x 2 runs succeed, each with rows", ok,
      json.dumps([r for rs in runs.values() for r in rs if r["status"] != "succeeded" or not r["rows"]])[:600])


def files_of(run):
    return [f["key"] for f in psql_json(f"SELECT row_to_json(f) FROM btexport.run_files f WHERE run_id = {run['id']} ORDER BY seq")]


def jsonl_lines(key, comp):
    raw = get_object("test-bucket", key)
    if comp == "gzip":
        raw = gzip.decompress(raw)
    elif comp == "zstd":
        raw = subprocess.run(["zstd", "-dc"], input=raw, capture_output=True, check=True).stdout
    text = raw.decode("utf-8")
    return text.split("\n")[:-1] if text.endswith("\n") else None


def json_type_ok(v, pg_type):
    if pg_type in ("text", "uuid", "date", "interval"):
        return isinstance(v, str)
    if pg_type == "timestamp with time zone":
        return isinstance(v, str) and RFC3339.fullmatch(v) is not None
    if pg_type in ("bigint", "integer"):
        return isinstance(v, int) and not isinstance(v, bool)
    if pg_type in ("double precision", "numeric"):
        return isinstance(v, (int, float)) and not isinstance(v, bool)
    if pg_type == "boolean":
        return isinstance(v, bool)
    if pg_type == "text[]":
        return isinstance(v, list) and all(e is None or isinstance(e, str) for e in v)
    return pg_type in ("jsonb", "json")


def duck(*sql):
    p = subprocess.run(["node", DUCKQ, *sql], capture_output=True, text=True, cwd=os.path.join(ROOT, "test"))
    if p.returncode != 0:
        raise RuntimeError(p.stderr)
    return [json.loads(l) for l in p.stdout.splitlines() if l.strip()]


tmp = tempfile.mkdtemp(prefix="btx-schema-")
for name, et, fmt, comp in autos:
    cols = columns(et)
    keys = [k for r in runs[name] for k in files_of(r)]
    if fmt == "jsonl":
        bad = []
        nulls = set()
        for k in keys:
            lines = jsonl_lines(k, comp)
            if lines is None:
                bad.append(f"{k}: not newline-terminated")
                continue
            for line in lines:
                obj = json.loads(line)
                if list(obj) != [c[0] for c in cols]:
                    bad.append(f"keys {list(obj)}")
                    break
                if not line.startswith('{"' + cols[0][0] + '":'):
                    bad.append(f"not compact: {line[:40]}")
                for n, t, nullable in cols:
                    if obj[n] is None:
                        nulls.add(n)
                        if not nullable:
                            bad.append(f"{n} is null")
                    elif not json_type_ok(obj[n], t):
                        bad.append(f"{n}={obj[n]!r} is not {TYPE_MAP[t]['json_type']}")
        check(f"{name}: every line has the schema's keys in order and JSON types ({len(cols)} columns)",
              not bad and keys, "; ".join(bad[:5]))
        if et != "btql":
            nullable = {c[0] for c in cols if c[2]}
            check(f"{name}: run 1 held null in every nullable column", nullable <= nulls or et == "logs_traces",
                  f"never null: {sorted(nullable - nulls)}")
        # DuckDB reads both runs' files with created typed as a timestamp
        d = os.path.join(tmp, name)
        os.makedirs(d, exist_ok=True)
        paths = []
        for i, k in enumerate(keys):
            p = os.path.join(d, f"{i}{os.path.splitext(k)[1] if comp == 'none' else '.jsonl' + os.path.splitext(k)[1]}")
            open(p, "wb").write(get_object("test-bucket", k))
            paths.append(p)
        desc = {r["column_name"]: r["column_type"] for r in
                duck(f"DESCRIBE SELECT * FROM read_json_auto({json.dumps(paths)})".replace('"', "'"))}
        ts_cols = [c[0] for c in cols if c[1] == "timestamp with time zone"]
        check(f"{name}: DuckDB's read_json_auto types {ts_cols} as timestamps",
              all(desc.get(c, "").startswith("TIMESTAMP") for c in ts_cols), repr(desc))
    else:
        schemas = []
        kvs = []
        for k in keys:
            p = os.path.join(tmp, "f.parquet")
            open(p, "wb").write(get_object("test-bucket", k))
            rows = duck(f"SELECT name, type, converted_type, logical_type, repetition_type FROM parquet_schema('{p}')")
            schemas.append(rows)
            kvs.append({r["key"]: r["value"] for r in
                        duck(f"SELECT decode(key) AS key, decode(value) AS value FROM parquet_kv_metadata('{p}')")})
        want = []
        for n, t, _ in cols:
            m = TYPE_MAP[t]
            want.append((n, m["parquet_physical"], m["parquet_logical"]))
        bad = []
        for rows in schemas:
            top = [r for r in rows if r["name"] not in ("schema", "list", "element")]
            got = []
            for r in top:
                if r["converted_type"] == "LIST":
                    el = rows[rows.index(r) + 2]
                    got.append((r["name"], el["type"], "LIST<STRING> (3-level)" if el["converted_type"] == "UTF8" else "?"))
                    continue
                lt = r["logical_type"] or ""
                logical = ("STRING" if r["converted_type"] == "UTF8" else "JSON" if r["converted_type"] == "JSON"
                           else "TIMESTAMP(isAdjustedToUTC=true, MICROS)"
                           if r["converted_type"] == "TIMESTAMP_MICROS" and "isAdjustedToUTC=1" in lt.replace(" ", "")
                           and "MICROS" in lt.upper() else None if not r["converted_type"] else "?" + lt)
                got.append((r["name"], r["type"], logical))
            if got != want:
                bad.append(f"{[g for g in got if g not in want][:3]} vs {[w for w in want if w not in got][:3]}")
        check(f"{name}: both runs' Parquet schemas are the row schema's (physical, logical types)",
              not bad and len(schemas) >= 2 and schemas[0] == schemas[-1], "; ".join(bad[:2]))
        check(f"{name}: Parquet key-value metadata names schema version 2 and the export type",
              all(kv.get("btexport.schema_version") == "2" and kv.get("btexport.export_type") == et for kv in kvs),
              repr(kvs[:1]))
    for r in runs[name]:
        mkey = psql(f"SELECT manifest_key FROM btexport.runs WHERE id = {r['id']}").strip()
        man = json.loads(get_object("test-bucket", mkey))
        if not (man["schema_version"] == 2 and RFC3339.fullmatch(man["created"]) and man["format"] == fmt
                and man["compression"] == comp and man["layout"] == "date" and man["export_type"] == et):
            check(f"{name}: manifest records schema version 2 and RFC 3339 created", False, json.dumps(man)[:300])
            break
    else:
        check(f"{name}: manifests record schema version 2, format, compression, layout, RFC 3339 created", True)

# ---- the values the schema's rules promise (spans and traces of run 2) ------------------------------
spans = {}
for k in files_of(runs["logs_spans-jsonl-none"][1]):
    for line in jsonl_lines(k, "none"):
        o = json.loads(line)
        spans[o["id"]] = o
v2 = spans.get("v2", {})
check("spans: created is UTC with microseconds, before 1970 too",
      v2.get("created") == "1969-07-20T20:17:42.000001Z", v2.get("created"))
check("spans: cost is the reported cost (not the estimate); latency and tokens derived",
      v2.get("metrics", {}).get("cost") == 0.5 and v2["metrics"].get("latency") == 2.5 and v2["metrics"].get("tokens") == 7,
      json.dumps(v2.get("metrics")))
check("spans: control characters escaped, UTF-8 as is, comment/origin/audit/org exported",
      v2.get("input") == "q \u0001 ✓" and v2.get("comment") == {"text": "a comment"} and v2.get("origin") == {"id": "v1"}
      and v2.get("audit_source") == "app" and v2.get("org_id") == "6b7c8d0e-1f2a-4b3c-8d4e-5f6a7b8c9d0e"
      and v2.get("span_parents") == ["vs1"] and v2.get("is_root") is False and v2.get("tags") == ["t1", None],
      json.dumps(v2)[:600])
n1 = {}
for k in files_of(runs["logs_spans-jsonl-none"][0]):
    for line in jsonl_lines(k, "none"):
        o = json.loads(line)
        n1[o["id"]] = o
check("spans: a span without metrics exports metrics null", n1.get("n1", {}).get("metrics", 0) is None, json.dumps(n1.get("n1")))
traces = {}
for r in runs["logs_traces-jsonl-none"]:
    for k in files_of(r):
        for line in jsonl_lines(k, "none"):
            o = json.loads(line)
            traces[o["id"]] = o
TRACE_METRICS = ["prompt_tokens", "completion_tokens", "total_tokens", "total_cost", "llm_calls", "tool_calls",
                 "errors", "start", "end", "duration"]
nt = traces.get("nt1", {}).get("metrics") or {}
check("traces: every metrics key is present; what no span provides is null, counts are 0",
      sorted(nt) == sorted(TRACE_METRICS) and nt["total_cost"] is None and nt["start"] is None and nt["llm_calls"] == 0,
      json.dumps(nt))
vt = traces.get("vt", {}).get("metrics") or {}
check("traces: total_cost sums each span's cost by the same rule as spans (reported cost first)",
      abs((vt.get("total_cost") or 0) - 1.5) < 1e-9 and vt.get("llm_calls") == 1 and vt.get("errors") == 3, json.dumps(vt))

# ---- byte for byte: the JSON Lines text equals an independent rendering in SQL of the documented form
# (keys in order, no spaces between members, strings escaped as PostgreSQL's to_json does, RFC 3339
# timestamps, jsonb as PostgreSQL's jsonb text)
def sql_line(et):
    parts = []
    for i, (n, t, _) in enumerate(columns(et)):
        c = f'e."{n}"'
        if t == "timestamp with time zone":
            v = f"""'"' || to_char({c} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') || '"'"""
        elif t in ("text", "uuid"):
            v = f"to_json({c}::text)::text"
        elif t == "text[]":
            v = f"to_json({c})::text"
        else:
            v = f"{c}::text"
        parts.append(f"'{',' if i else '{'}\"{n}\":' || coalesce({v}, 'null')")
    fn = "_export_spans" if et == "logs_spans" else "_export_traces"
    return (f"SELECT {' || '.join(parts)} || '}}' FROM btexport.{fn}((SELECT id FROM btexport.projects WHERE name = 'sc'),"
            f" %s, %s) e")


for et in ("logs_spans", "logs_traces"):
    got, want = [], []
    for r in runs[f"{et}-jsonl-none"]:
        for k in files_of(r):
            got += jsonl_lines(k, "none")
        want += psql(sql_line(et) % (f"'{r['cursor_from']}'", f"'{r['cursor_to']}'")).split("\n")[:-1]
    check(f"{et}: the JSON Lines are byte for byte the documented form ({len(got)} lines)",
          got == want and got, next((f"{g}\n!=\n{w}" for g, w in zip(got, want) if g != w), f"{len(got)} vs {len(want)}"))

# ---- docs/file-layout.md states the same schema ---------------------------------------------------------
doc = open(os.path.join(ROOT, "docs", "file-layout.md"), encoding="utf-8").read()
for et in ("logs_spans", "logs_traces"):
    m = re.search(r"<!-- schema: %s -->\n(.*?)\n\n" % et, doc, re.S)
    rows = []
    if m:
        for line in m.group(1).splitlines()[2:]:
            cells = [c.strip().strip("`") for c in line.strip().strip("|").split("|")]
            rows.append(cells[:6])
    want = [[str(r["position"]), r["name"], r["json_type"],
             r["parquet_physical"] + (" " + r["parquet_logical"] if r["parquet_logical"] else ""),
             "yes" if r["nullable"] else "no", str(r["since"])] for r in SCHEMA if r["export_type"] == et]
    check(f"docs/file-layout.md's {et} table equals btexport.export_schema()", rows == want,
          f"docs: {[r for r in rows if r not in want][:2]} schema: {[w for w in want if w not in rows][:2]}")
finish()
