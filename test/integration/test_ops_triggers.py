"""Every trigger leaves a trace, DROP EXTENSION, AssumeRole over a broken network
(docs/operations.md "Monitoring" and "Dropping the extension", docs/troubleshooting.md "Why didn't
my export run?").

- A non-superuser owner (no superuser, no access to the cron schema's records) triggers its
  automations the way pg_cron does (btexport.run(<id>, trigger => 'schedule')): a paused one, a
  period one not due yet, and one whose export is running with a trigger already waiting behind
  it.  Each trigger that starts no run is in btexport.trigger_skips with its reason, readable by
  the owner and by nobody else; repeats count up one row.
- DROP EXTENSION btexport with spans present is refused (2BP01, hint); with
  btexport.allow_drop_spans it goes, and its pg_cron jobs go in the same transaction.
- AssumeRole against an unreachable STS endpoint: the run fails with the network error (08006),
  not "no usable AWS credentials" (28000).
Runs in the database "postgres" (pg_cron's cron.database_name)."""
import json
import os
import socket

from lib import (Cluster, check, doc_sql, finish, hold, moto_iam, moto_user_key, psql, psql_json, setup_credential,
                 wait_for)

DB = "postgres"
os.environ["BTX_DB"] = DB
EP = os.environ["MOTO_ENDPOINT"]
AKID, SECRET = os.environ["BTX_AKID"], os.environ["BTX_SECRET"]
N = os.urandom(4).hex()

# a rerun starts from a database without btexport (the drop at the end removes it)
psql("SET btexport.allow_drop_spans = on; DROP EXTENSION IF EXISTS btexport")
psql("CREATE EXTENSION IF NOT EXISTS pg_cron")
psql("CREATE EXTENSION btexport")
for role in ("ops_owner", "ops_other"):
    psql(f"DO $$BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{role}') THEN "
         f"CREATE ROLE {role} LOGIN IN ROLE btexport_user; END IF; END$$")
psql(f"ALTER SYSTEM SET btexport.allowed_endpoints = '{EP}'; SELECT pg_reload_conf()")
wait_for(lambda: EP in psql("SHOW btexport.allowed_endpoints", user="ops_owner"), 10, "the setting")

O = "ops_owner"


# the owner's own IAM user and access key (rotated below)
IAM_USER = f"ops-owner-{N}"
KEY_A = moto_user_key(IAM_USER)
psql("SELECT count(*) FROM btexport.log('ops-proj', '[{\"id\": \"o1\", \"input\": \"x\"}, {\"id\": \"o2\"}]')", user=O)
psql(f"SELECT btexport.create_credential('s3-key', '{KEY_A['AccessKeyId']}', '{KEY_A['SecretAccessKey']}')", user=O)


def create(name, extra=""):
    return psql(f"SELECT id FROM btexport.create_automation('{name}', 'ops-proj', 's3://test-bucket/ops-{N}/{name}/',"
                f" endpoint => '{EP}', credential => 's3-key'{extra})", user=O).strip()


def schedule_trigger(aid):
    """what the pg_cron job btexport:<id> calls: the run, or None when it started none"""
    r = psql_json(f"SELECT row_to_json(r) FROM btexport.run({aid}::bigint, trigger => 'schedule') r", user=O)[-1]
    return r if r["id"] is not None else None


def skips(aid, user=O):
    return psql_json(f"SELECT row_to_json(s) FROM btexport.trigger_skips s WHERE automation_id = {aid} ORDER BY id",
                     user=user)


# ---- paused ------------------------------------------------------------------------------------
paused = create("ops-paused", ", \"interval\" => 'hourly'")
psql("SELECT btexport.pause('ops-paused', 'maintenance')", user=O)
r1, r2 = schedule_trigger(paused), schedule_trigger(paused)
s = skips(paused)
check("a paused automation's scheduled triggers start no run and leave one 'paused' skip counted twice",
      r1 is None and r2 is None and len(s) == 1 and s[0]["reason"] == "paused" and s[0]["count"] == 2
      and "maintenance" in s[0]["detail"] and s[0]["trigger"] == "schedule", json.dumps(s))

# ---- not due (a period automation: the job ticks every minute) --------------------------------
period = create("ops-period", ", \"interval\" => '90 minutes'")
first = schedule_trigger(period)
check("the period automation's first scheduled trigger starts a run", first is not None and first["id"], json.dumps(first))
wait_for(lambda: psql(f"SELECT status FROM btexport.runs WHERE id = {first['id']}", user=O).strip()
         in ("succeeded", "failed"), 60, "the scheduled run")
again = schedule_trigger(period)
s = [x for x in skips(period) if x["reason"] == "not_due"]
check("the next trigger within the period starts no run and leaves a 'not_due' skip with the due time",
      again is None and len(s) == 1 and "next run is due at" in s[0]["detail"], json.dumps(skips(period)))

# ---- already running, one trigger waiting: the next scheduled trigger is dropped ----------------
busy = create("ops-busy")
# the run's worker blocks on run_files (it reads the table in T2) while it holds the automation
holder = hold(["-d", DB], "BEGIN;\nLOCK TABLE btexport.run_files IN ACCESS EXCLUSIVE MODE;")
try:
    running = psql_json("SELECT row_to_json(r) FROM btexport.run('ops-busy', wait => false) r", user=O)[-1]
    wait_for(lambda: psql(f"SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND objsubid = 25201 "
                          f"AND objid = {busy}").strip() == "1", 30, "the first run to hold the automation")
    waiting = psql_json("SELECT row_to_json(r) FROM btexport.run('ops-busy', wait => false) r", user=O)[-1]
    dropped = schedule_trigger(busy)
    s = skips(busy)
    check("a scheduled trigger behind a running export and a waiting trigger starts no run: 'already_queued'",
          running and waiting and dropped is None and [x["reason"] for x in s] == ["already_queued"], json.dumps(s))
finally:
    holder.stdin.write("COMMIT;\n\\q\n")
    holder.stdin.flush()
    holder.wait(timeout=30)
wait_for(lambda: psql(f"SELECT count(*) FROM btexport.runs WHERE automation_id = {busy} AND status = 'succeeded'",
                      user=O).strip() == "2", 60, "both runs")
check("...and the running and the waiting run both finish", True)

# ---- who sees the trace -------------------------------------------------------------------------
mine = psql("SELECT count(*) FROM btexport.trigger_skips", user=O).strip()
theirs = psql("SELECT count(*) FROM btexport.trigger_skips", user="ops_other").strip()
check("the owner (not a superuser) reads its skips; another btexport user sees none", int(mine) >= 3 and theirs == "0",
      f"{mine} / {theirs}")
cp = psql("SELECT count(*) FILTER (WHERE cursor_problem IS NULL) || '/' || count(*) FROM btexport.status", user=O).strip()
check("the owner reads btexport.status.cursor_problem: NULL for automations of this database", cp == "3/3", cp)
rc, out, err = psql("SELECT count(*) FROM cron.job_run_details", user=O, check_error=False)
check("(the owner has no view of pg_cron's run records of its jobs)", rc != 0 or out.strip() == "0", out + err)
for sql in doc_sql("troubleshooting.md", "Why didn't my export run?") + doc_sql("operations.md", "Monitoring"):
    out = psql(sql, user=O)
check("the SQL of troubleshooting's 'Why didn't my export run?' and operations' 'Monitoring' runs as the owner",
      "ops-paused" in out or "ops-period" in out or "ops-busy" in out, out)

# ---- key rotation with active schedules (docs/operations.md "Rotating a key") -------------------
KEY_B = json.loads(moto_iam("create-access-key", "--user-name", IAM_USER))["AccessKey"]
psql("SELECT btexport.resume('ops-paused')", user=O)
jobs_before = psql("SELECT count(*) FROM cron.job WHERE jobname LIKE 'btexport:%'").strip()
for sql in doc_sql("operations.md", "Rotating a key"):
    psql(sql.replace("<new access key id>", KEY_B["AccessKeyId"]).replace("<new secret access key>", KEY_B["SecretAccessKey"]),
         user=O)
moto_iam("delete-access-key", "--user-name", IAM_USER, "--access-key-id", KEY_A["AccessKeyId"])
creds = psql("SELECT string_agg(DISTINCT a.credential, ',') FROM btexport.automations a", user=O).strip()
check("after the documented rotation (update_credential) every automation of the owner keeps its credential",
      creds == "s3-key", creds)
check("...and the schedules are still there", psql("SELECT count(*) FROM cron.job WHERE jobname LIKE 'btexport:%'").strip()
      == jobs_before and int(jobs_before) >= 2, jobs_before)
psql("SELECT count(*) FROM btexport.log('ops-proj', '[{\"id\": \"o3\", \"input\": \"after rotation\"}]')", user=O)
for name in ("ops-busy", "ops-paused", "ops-period"):
    r = psql_json(f"SELECT row_to_json(r) FROM btexport.run('{name}') r", user=O)[-1]
    check(f"the next run of {name} uses the new key", r["status"] == "succeeded" and r["rows"] >= 1, json.dumps(r)[:300])
psql(f"SELECT btexport.create_credential('stale', '{KEY_A['AccessKeyId']}', '{KEY_A['SecretAccessKey']}')")
psql(f"SELECT btexport.create_automation('ops-stale', 'ops-proj', 's3://test-bucket/ops-{N}/stale/', endpoint => '{EP}',"
     " credential => 'stale')")
r = psql_json("SELECT row_to_json(r) FROM btexport.run('ops-stale') r")[-1]
check("(the old key no longer works: the rotation is what made those runs succeed)", r["status"] == "failed",
      json.dumps(r)[:300])
psql("SELECT btexport.drop_automation('ops-stale'); SELECT btexport.drop_credential('stale')")

# ---- no worker slot, a worker that fails before recording a run (a small cluster of its own) ------
small = Cluster("slots", "max_worker_processes = 6")
try:
    SD = "btx_slots"
    small.psql(f"CREATE DATABASE {SD}")
    small.psql("CREATE EXTENSION btexport", db=SD)
    small.psql(f"SELECT btexport.create_credential('moto', '{AKID}', '{SECRET}')", db=SD)
    small.psql("SELECT btexport.generate_sample_data('slots', traces => 2, seed => 61)", db=SD)
    ids = [small.psql(f"SELECT id FROM btexport.create_automation('slot-{i}', 'slots', 's3://test-bucket/ops-{N}/slot-{i}/',"
                      f" endpoint => '{EP}', credential => 'moto')", db=SD).strip() for i in range(8)]
    # a worker the database refuses (datallowconn off, as ALTER DATABASE ... ALLOW_CONNECTIONS false
    # does from another database; this session stays) stops before its run row
    out = small.psql("UPDATE pg_database SET datallowconn = false WHERE datname = current_database();\n"
                     f"SELECT (btexport.run({ids[0]}::bigint, trigger => 'schedule')).id IS NULL;\n"
                     f"SELECT reason FROM btexport.trigger_skips WHERE automation_id = {ids[0]};\n"
                     "UPDATE pg_database SET datallowconn = true WHERE datname = current_database();", db=SD).split()
    check("a worker that stops before recording a run leaves a 'worker_failed' skip", out == ["t", "worker_failed"], str(out))
    # every worker slot taken: runs blocked on run_files (locked), one per automation
    h = hold([*small.args, "-d", SD], "BEGIN;\nLOCK TABLE btexport.run_files IN ACCESS EXCLUSIVE MODE;")
    try:
        started = 0
        for aid in ids[1:]:
            rc, out, err = small.psql(f"SELECT (btexport.run({aid}::bigint, trigger => 'schedule')).id", db=SD,
                                      check_error=False)
            if out.strip() == "":
                break
            started += 1
        slot = small.psql(f"SELECT reason FROM btexport.trigger_skips WHERE automation_id = {aid}", db=SD).strip()
        check("with every max_worker_processes slot taken, a scheduled trigger starts no run: 'no_worker_slot' "
              "(and a WARNING)", started >= 1 and slot == "no_worker_slot" and "could not start a background worker" in err,
              f"{started} started; {slot}; {err}")
        rc, _, err = small.psql(f"SELECT btexport.run({aid}::bigint)", db=SD, check_error=False)
        check("...a manual run gets the error (53000) and its hint", rc != 0 and "could not start a background worker" in err
              and "max_worker_processes" in err, err)
    finally:
        h.stdin.write("COMMIT;\n\\q\n")
        h.stdin.flush()
        h.wait(timeout=30)
finally:
    small.stop()

# ---- AssumeRole over a broken network ------------------------------------------------------------
s = socket.socket()
s.bind(("127.0.0.1", 0))
dead = f"http://127.0.0.1:{s.getsockname()[1]}"
s.close()
setup_credential("moto")
psql(f"""SELECT btexport.create_automation('ops-sts-down', 'ops-proj', 's3://test-bucket/ops-{N}/sts/', endpoint => '{dead}',
         credential => 'moto', role_arn => '{os.environ["BTX_ROLE_ARN"]}', external_id => '{os.environ["BTX_EXTERNAL_ID"]}')""")
r = psql_json("SELECT row_to_json(r) FROM btexport.run('ops-sts-down') r")[-1]
check("AssumeRole against an unreachable STS: the run fails with the network error (08006), not 28000",
      r["status"] == "failed" and r["error_sqlstate"] == "08006" and "no usable AWS credentials" not in r["error_message"]
      and "could not" in r["error_message"] and r["error_hint"] and "network" in r["error_hint"], json.dumps(r))

# ---- DROP EXTENSION -----------------------------------------------------------------------------
jobs = psql("SELECT count(*) FROM cron.job WHERE jobname LIKE 'btexport:%'").strip()
rc, _, err = psql("\\set VERBOSITY verbose\nDROP EXTENSION btexport", check_error=False)
check("DROP EXTENSION btexport with spans present is refused (2BP01) with a hint naming the confirmation",
      rc != 0 and "2BP01" in err and "btexport.logs holds" in err and "allow_drop_spans" in err, err)
check("...and nothing changed: the extension and its pg_cron jobs are there",
      psql("SELECT count(*) FROM pg_extension WHERE extname = 'btexport'").strip() == "1"
      and psql("SELECT count(*) FROM cron.job WHERE jobname LIKE 'btexport:%'").strip() == jobs and int(jobs) >= 1, jobs)
rc, _, err = psql("DROP EXTENSION btexport CASCADE", check_error=False)
check("CASCADE does not bypass it", rc != 0 and "btexport.logs holds" in err, err)
steps = doc_sql("operations.md", "Dropping the extension")
in_tx = psql("BEGIN;\n" + steps[-1] + "\nSELECT count(*) FROM cron.job WHERE jobname LIKE 'btexport:%';\nROLLBACK;").split()
check("with the documented confirmation the drop goes, and its pg_cron jobs go in the same transaction",
      in_tx[-1] == "0", str(in_tx))
check("(a rolled-back drop keeps both)", psql("SELECT count(*) FROM cron.job WHERE jobname LIKE 'btexport:%'").strip() == jobs)
for sql in steps:
    psql(sql)
check("after the documented drop: no extension, no btexport job left",
      psql("SELECT count(*) FROM pg_extension WHERE extname = 'btexport'").strip() == "0"
      and psql("SELECT count(*) FROM cron.job WHERE jobname LIKE 'btexport:%'").strip() == "0")
psql("ALTER SYSTEM RESET btexport.allowed_endpoints; SELECT pg_reload_conf()")
finish()
