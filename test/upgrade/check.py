"""Phases of test/upgrade/run.sh (see there).  `before`: on btexport 1.0, create what a user has
(spans, a credential, scheduled automations, successful runs).  `after`: on this tree's build,
ALTER EXTENSION btexport UPDATE, compare the catalog with a fresh install, keep exporting."""
import json
import os
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "integration"))
from lib import check, finish, psql, psql_json, list_keys, read_jsonl_objects, setup_credential  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
EP = os.environ["MOTO_ENDPOINT"]
STATE = os.path.join(os.environ["W"], "state.json")
VERSION = subprocess.run(["make", "-s", "--no-print-directory", "-C", os.path.join(HERE, "..", ".."),
                          "print-version"], capture_output=True, text=True).stdout.strip()


def run(name):
    return psql_json(f"SELECT row_to_json(r) FROM btexport.run('{name}') r")[-1]


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
    finish()


{"before": before, "after": after}[sys.argv[1]]()
