"""Phases of test/upgrade/run.sh (see there).  `before`: on btexport 1.0, create what a user has
(spans, a credential, scheduled automations, successful runs).  `after`: on this tree's build,
ALTER EXTENSION btexport UPDATE, compare the catalog with a fresh install, keep exporting."""
import json
import os
import re
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "integration"))
from lib import (check, doc_sql, finish, psql, psql_json, list_keys, get_object, read_jsonl_objects,  # noqa: E402
                 setup_credential)

HERE = os.path.dirname(os.path.abspath(__file__))
EP = os.environ["MOTO_ENDPOINT"]
STATE = os.path.join(os.environ["W"], "state.json")
VERSION = subprocess.run(["make", "-s", "--no-print-directory", "-C", os.path.join(HERE, "..", ".."),
                          "print-version"], capture_output=True, text=True).stdout.strip()


def run(name):
    return psql_json(f"SELECT row_to_json(r) FROM btexport.run('{name}') r")[-1]


def run_as(name, user):
    return psql_json(f"SELECT row_to_json(r) FROM btexport.run('{name}') r", user=user)[-1]





def s3_versions(prefix):
    rows = read_jsonl_objects("test-bucket", list_keys("test-bucket", prefix))
    return [(r["id"], int(r["_xact_id"])) for r in rows]


def table_versions():
    return {(r[0], int(r[1])) for r in (l.split("|") for l in psql(
        "SELECT l.id, l._xact_id FROM btexport.logs l JOIN btexport.projects p ON p.id = l.project_id"
        " WHERE p.name = 'up'").split())}


def before():
    psql("CREATE EXTENSION pg_cron")
    psql("CREATE EXTENSION btexport VERSION '1.0'")
    check("1.0 installed from the release tree",
          psql("SELECT extversion FROM pg_extension WHERE extname = 'btexport'").strip() == "1.0")
    psql("SELECT btexport.generate_sample_data('up', traces => 40, seed => 3)")
    setup_credential("moto")
    psql(f"""SELECT btexport.create_automation('up-spans', 'up', 's3://test-bucket/upgrade/spans/',
             export_type => 'logs_spans', "interval" => 'hourly', endpoint => '{EP}', credential => 'moto')""")
    psql(f"""SELECT btexport.create_automation('up-parquet', 'up', 's3://test-bucket/upgrade/parquet/',
             export_type => 'logs_spans', format => 'parquet', "interval" => 'daily', endpoint => '{EP}',
             credential => 'moto')""")
    psql(f"""SELECT btexport.create_automation('up-hive', 'up', 's3://test-bucket/upgrade/hive/',
             export_type => 'logs_traces', trace_idle => '0 seconds', layout => 'hive', endpoint => '{EP}',
             credential => 'moto')""")
    # a non-superuser's ingest, credential and scheduled automation (docs/operations.md "Upgrading
    # from 1.0": they keep working), and an automation named like another's id (issue 12, finding 3)
    psql("CREATE ROLE up_user LOGIN IN ROLE btexport_user")
    psql(f"ALTER SYSTEM SET btexport.allowed_endpoints = '{EP}'; SELECT pg_reload_conf()")
    for _ in range(100):
        if EP in psql("SHOW btexport.allowed_endpoints", user="up_user"):
            break
        time.sleep(0.05)
    psql("SELECT count(*) FROM btexport.log('up', '[{\"id\": \"user-1\", \"input\": \"from up_user\"}]')", user="up_user")
    psql(f"SELECT btexport.create_credential('up-user-key', '{os.environ['BTX_AKID']}', '{os.environ['BTX_SECRET']}')",
         user="up_user")
    psql(f"""SELECT btexport.create_automation('up-user', 'up', 's3://test-bucket/upgrade/user/', "interval" => 'hourly',
             endpoint => '{EP}', credential => 'up-user-key')""", user="up_user")
    ru = run_as("up-user", "up_user")
    check("1.0: a non-superuser's run succeeds", ru["status"] == "succeeded" and ru["rows"] > 0, json.dumps(ru))
    first = psql("SELECT min(id) FROM btexport.automations").strip()
    psql(f"""SELECT btexport.create_automation('{first}', 'up', 's3://test-bucket/upgrade/named-like-an-id/',
             endpoint => '{EP}', credential => 'moto')""")
    r = run("up-spans")
    ok = check("1.0: a run succeeds", r["status"] == "succeeded" and r["rows"] > 0, json.dumps(r))
    r3 = run("up-hive")
    check("1.0: a hive-layout traces run succeeds", r3["status"] == "succeeded" and r3["rows"] > 0, json.dumps(r3))
    r2 = run("up-parquet")
    check("1.0: a Parquet run succeeds", r2["status"] == "succeeded", json.dumps(r2))
    state = {
        "exported": sorted(table_versions()),
        "automations": psql("SELECT string_agg(a.id || ':' || a.name || ':' || a.cursor || ':' || a.schedule, ',' "
                            "ORDER BY a.id) FROM btexport.automations a").strip(),
        "runs": psql("SELECT count(*) FROM btexport.runs").strip(),
        "files": psql("SELECT count(*) FROM btexport.run_files").strip(),
        "jobs": psql("SELECT string_agg(jobname || ':' || command, ',' ORDER BY jobid) FROM cron.job").strip(),
    }
    with open(STATE, "w") as f:
        json.dump(state, f)
    print(f"{1 if ok else 0} passed, {0 if ok else 1} failed")
    sys.exit(0 if ok else 1)


def after():
    with open(STATE) as f:
        state = json.load(f)
    psql("ALTER EXTENSION btexport UPDATE")
    got = psql("SELECT extversion FROM pg_extension WHERE extname = 'btexport'").strip()
    check(f"ALTER EXTENSION btexport UPDATE reaches {VERSION}", got == VERSION and VERSION != "", got)

    psql("DROP DATABASE IF EXISTS fresh")
    psql("CREATE DATABASE fresh")
    psql("CREATE EXTENSION btexport", db="fresh")
    d = subprocess.run([sys.executable, os.path.join(HERE, "dumpdiff.py"), "postgres", "fresh"],
                       capture_output=True, text=True)
    check("the upgraded catalog equals a fresh install's (schema-only dump diff is empty)",
          d.returncode == 0, (d.stdout + d.stderr)[-6000:])

    same = lambda k, sql: check(f"after the upgrade: {k} unchanged", psql(sql).strip() == state[k],
                                f"{psql(sql).strip()} != {state[k]}")
    same("automations", "SELECT string_agg(a.id || ':' || a.name || ':' || a.cursor || ':' || a.schedule, ',' "
                        "ORDER BY a.id) FROM btexport.automations a")
    same("runs", "SELECT count(*) FROM btexport.runs")
    same("files", "SELECT count(*) FROM btexport.run_files")
    same("jobs", "SELECT string_agg(jobname || ':' || command, ',' ORDER BY jobid) FROM cron.job")

    # keep exporting: updated and new spans go out exactly once
    psql("UPDATE btexport.logs SET scores = '{\"late\": 1}' WHERE id IN (SELECT id FROM btexport.logs ORDER BY id LIMIT 7)")
    psql("SELECT btexport.generate_sample_data('up', traces => 5, seed => 4, first_trace => 1000)")
    r = run("up-spans")
    check("after the upgrade: a run succeeds", r["status"] == "succeeded" and r["rows"] > 0, json.dumps(r))
    r = run("up-hive")
    check("after the upgrade: the hive-layout automation exports the changed traces",
          r["status"] == "succeeded" and r["rows"] > 0, json.dumps(r))
    r = run("up-spans")
    check("after the upgrade: a second run finds nothing new", r["status"] == "succeeded" and r["rows"] == 0,
          json.dumps(r))
    got = s3_versions("upgrade/spans/")
    want = {tuple(v) for v in state["exported"]} | table_versions()
    check("every span version before and after the upgrade is in S3 exactly once",
          len(got) == len(set(got)) and set(got) == want,
          f"{len(got)} rows, {len(set(got))} distinct, missing {sorted(want - set(got))[:5]}, "
          f"extra {sorted(set(got) - want)[:5]}")
    r = run("up-parquet")
    check("after the upgrade: a Parquet run succeeds", r["status"] == "succeeded" and r["rows"] > 0, json.dumps(r))
    loaders_keep_working()
    rc, _, err = psql("SELECT btexport.update_automation('up-spans', format => 'parquet')", check_error=False,
                      args=("-v", "VERBOSITY=verbose"))
    check("a 1.0 automation's format is fixed after the upgrade too (it has exported: 55000)",
          rc != 0 and "ERROR:  55000:" in err and "format" in err, err)

    # project access (docs/operations.md "Upgrading from 1.0"): 1.0 projects are the extension
    # owner's; automation owners hold export, btexport_user ingest
    check("after the upgrade: 1.0 projects belong to the extension's owner",
          psql("SELECT count(*) FROM btexport.projects p JOIN pg_extension e ON e.extname = 'btexport'"
               " WHERE p.owner::oid <> e.extowner").strip() == "0")
    grants = psql("SELECT string_agg(g.grantee || ':' || g.privilege, ',' ORDER BY g.grantee || ':' || g.privilege)"
                  " FROM btexport.project_grants g"
                  " JOIN btexport.projects p ON p.id = g.project_id WHERE p.name = 'up'").strip()
    check("after the upgrade: up_user may export 'up', every btexport user may ingest into it",
          grants == "btexport_user:ingest,up_user:export", grants)
    psql("SELECT count(*) FROM btexport.log('up', '[{\"id\": \"user-2\", \"input\": \"after the upgrade\"}]')",
         user="up_user")
    check("after the upgrade: the non-superuser's ingest (log) still works",
          psql("SELECT count(*) FROM btexport.logs WHERE id = 'user-2'").strip() == "1")
    ru = run_as("up-user", "up_user")
    check("after the upgrade: the non-superuser's scheduled automation still runs and exports",
          ru["status"] == "succeeded" and ru["rows"] > 0, json.dumps(ru))
    check("after the upgrade: its credential is (up_user, up-user-key)",
          psql("SELECT credential_owner || '/' || credential FROM btexport.automations WHERE name = 'up-user'").strip()
          == "up_user/up-user-key")
    check("after the upgrade: the automation's owner reads the project it exports",
          int(psql("SELECT count(*) FROM btexport.logs", user="up_user")) > 0)
    psql("CREATE ROLE up_reader LOGIN IN ROLE btexport_user")
    check("after the upgrade: reading spans needs a grant (another btexport user sees none yet)",
          psql("SELECT count(*) FROM btexport.logs", user="up_reader").strip() == "0")
    for block in doc_sql("operations.md", "Upgrading from 1.0"):
        psql(block)
    check("the documented statement restores 1.0's reads for every btexport user",
          int(psql("SELECT count(*) FROM btexport.logs", user="up_reader")) > 0)
    first = psql("SELECT min(id) FROM btexport.automations").strip()
    rid = psql_json(f"SELECT row_to_json(r) FROM btexport.run({first}::bigint) r")[-1]
    check(f"after the upgrade: run({first}::bigint) runs automation {first}, not the one named '{first}'",
          rid["automation_id"] == int(first), json.dumps(rid)[:300])
    psql("ALTER SYSTEM RESET btexport.allowed_endpoints; SELECT pg_reload_conf()")
    finish()


# btexport 1.0's spans columns and how a loader written for 1.0's files typed them
V1_SPANS = [("id", "VARCHAR"), ("span_id", "VARCHAR"), ("trace_id", "VARCHAR"), ("parent_span_id", "VARCHAR"),
            ("project_id", "VARCHAR"), ("created", "TIMESTAMPTZ"), ("name", "VARCHAR"), ("type", "VARCHAR"),
            ("input", "JSON"), ("output", "JSON"), ("expected", "JSON"), ("error", "JSON"), ("scores", "JSON"),
            ("metadata", "JSON"), ("tags", "VARCHAR[]"), ("metrics", "JSON"), ("_xact_id", "BIGINT")]


def duck(*sql):
    p = subprocess.run(["node", os.path.join(HERE, "..", "harness", "duckq.mjs"), *sql], capture_output=True,
                       text=True, cwd=os.path.join(HERE, ".."))
    if p.returncode != 0:
        raise RuntimeError(p.stderr)
    return [json.loads(line) for line in p.stdout.splitlines() if line.strip()]


def local_copies(prefix, ext):
    """the objects under prefix, copied to local files (DuckDB here has no S3 access)"""
    d = tempfile.mkdtemp(prefix="btx-upgrade-")
    out = []
    for i, k in enumerate(k for k in list_keys("test-bucket", prefix) if k.endswith(ext)):
        p = os.path.join(d, f"{i:03d}{ext}")
        with open(p, "wb") as f:
            f.write(get_object("test-bucket", k))
        out.append(p)
    return out


def loaders_keep_working():
    """What a loader written for 1.0's files reads keeps working after the upgrade: the same prefixes
    and key forms, 1.0's columns with 1.0's types, and the schema version visible in the manifests."""
    # the automations that exported on 1.0 and again after the upgrade (up-user runs again later)
    runs = psql_json("SELECT row_to_json(r) FROM (SELECT r.id, a.name, r.manifest_key, r.rows FROM btexport.runs r"
                     " JOIN btexport.automations a ON a.id = r.automation_id WHERE r.status = 'succeeded'"
                     " AND r.rows > 0 AND a.name IN ('up-spans', 'up-parquet', 'up-hive') ORDER BY r.id) r")
    versions = {}
    for r in runs:
        man = json.loads(get_object("test-bucket", r["manifest_key"]))
        versions.setdefault(r["name"], []).append(man["schema_version"])
    check("manifests show the move: schema_version 1 before the upgrade, 2 after, per automation",
          all(v[0] == 1 and v[-1] == 2 and v == sorted(v) for v in versions.values()) and len(versions) == 3,
          json.dumps(versions))
    files = local_copies("upgrade/spans/", ".jsonl")
    cols = "{" + ", ".join(f"'{n}': '{t}'" for n, t in V1_SPANS) + "}"
    got = duck(f"SELECT count(*) AS n, count(created) AS c, count(DISTINCT id) AS ids FROM read_json("
               f"{files!r}, format = 'newline_delimited', columns = {cols})")
    want = len(s3_versions("upgrade/spans/"))
    check("a 1.0 loader (DuckDB, 1.0's column list and types) reads the files of both versions in one prefix",
          got and int(got[0]["n"]) == want and int(got[0]["c"]) == want, f"{got} vs {want} rows in {len(files)} files")
    pq = local_copies("upgrade/parquet/", ".parquet")
    shapes = []
    for p in pq:
        rows = duck(f"SELECT name, type, converted_type, logical_type FROM parquet_schema('{p}')")
        shapes.append({r["name"]: (r["type"], r["converted_type"], r["logical_type"]) for r in rows})
    v1 = [n for n, _ in V1_SPANS]
    check("Parquet: 1.0's columns keep their physical and logical types across the upgrade",
          len(shapes) >= 2 and all({n: sh.get(n) for n in v1} == {n: shapes[0].get(n) for n in v1} for sh in shapes)
          and all(shapes[0].get(n) for n in v1), json.dumps([{n: sh.get(n) for n in v1[:6]} for sh in shapes])[:600])
    hive = list_keys("test-bucket", "upgrade/hive/")
    check("a 1.0 hive-layout automation keeps its date=YYYY-MM-DD/hour=HH/ keys after the upgrade",
          len(hive) >= 2 and all(re.match(r"upgrade/hive/date=\d{4}-\d\d-\d\d/hour=\d\d/export_", k) for k in hive)
          and psql("SELECT layout FROM btexport.automations WHERE name = 'up-hive'").strip() == "hive_date",
          repr(hive))


{"before": before, "after": after}[sys.argv[1]]()
