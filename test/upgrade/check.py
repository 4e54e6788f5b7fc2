"""Phases of test/upgrade/run.sh (see there).  `before`: on btexport 1.0, create what a user has
(spans, a credential, scheduled automations, successful runs).  `after`: on this tree's build,
ALTER EXTENSION btexport UPDATE, compare the catalog with a fresh install, keep exporting."""
import json
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "integration"))
from lib import check, doc_sql, finish, psql, psql_json, list_keys, read_jsonl_objects, setup_credential  # noqa: E402

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


{"before": before, "after": after}[sys.argv[1]]()
