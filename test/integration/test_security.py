"""Security against the running server (issue 12; docs/security.md): what a role without
btexport privileges receives through NOTIFY (finding 6); cancel() of a crashed run whose pid now
belongs to another role's run (finding 9); an automation whose owner role was dropped (finding 9);
runs of an automation whose owner lost the export privilege, or whose 1.0 settings fail today's
checks ('..' in the prefix, a non-ASCII ExternalId) (findings 9, 10); spans stored by 1.0 with
numbers no double holds (finding 4).  Every wait polls."""
import json
import os
import subprocess

from lib import aws, check, doc_sql, finish, fresh_db, psql, psql_json, list_keys, read_jsonl_objects, wait_for

DB = fresh_db("btx_sec")
EP = os.environ["MOTO_ENDPOINT"]
AKID, SECRET = os.environ["BTX_AKID"], os.environ["BTX_SECRET"]

# (a rerun against the same S3 starts from empty prefixes)
for prefix in ("sec-secret-prefix/", "victim/", "ghost/", "old/", "sec-shared/", "sec-traces/", "sec-summary/",
               "sec-parquet/"):
    aws("s3", "rm", f"s3://test-bucket/{prefix}", "--recursive", "--only-show-errors")
for role, extra in (("sec_owner", "IN ROLE btexport_user"), ("sec_spy", ""), ("sec_ghost", "IN ROLE btexport_user"),
                    ("sec_victim", "IN ROLE btexport_user")):
    psql(f"DO $$BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{role}') THEN "
         f"CREATE ROLE {role} LOGIN {extra}; END IF; END$$")
psql(f"ALTER SYSTEM SET btexport.allowed_endpoints = '{EP}'; SELECT pg_reload_conf()")
wait_for(lambda: EP in psql("SHOW btexport.allowed_endpoints", user="sec_owner"), 10, "the setting")


def run_as(name, user=None, extra=""):
    return psql_json(f"SELECT row_to_json(r) FROM btexport.run('{name}'{extra}) r", user=user)[-1]


def run_id(aid, user=None):
    return psql_json(f"SELECT row_to_json(r) FROM btexport.run({aid}::bigint) r", user=user)[-1]


# the owner's own project, credential and automations
psql("SELECT count(*) FROM btexport.log('sec-app', '[{\"id\": \"a1\", \"input\": \"private\"}, {\"id\": \"a2\"}]')",
     user="sec_owner")
psql(f"SELECT btexport.create_credential('own-key', '{AKID}', '{SECRET}')", user="sec_owner")
psql(f"""SELECT btexport.create_automation('sec-very-secret-name', 'sec-app', 's3://test-bucket/sec-secret-prefix/',
         endpoint => '{EP}', credential => 'own-key')""", user="sec_owner")
psql(f"""SELECT btexport.create_automation('sec-failing', 'sec-app', 's3://no-such-bucket-sec/x/',
         endpoint => '{EP}', credential => 'own-key')""", user="sec_owner")

# ---- finding 6: NOTIFY carries ids only --------------------------------------------------
spy = subprocess.Popen(["psql", "-X", "-q", "-At", "-d", DB, "-U", "sec_spy"], stdin=subprocess.PIPE,
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
spy.stdin.write("LISTEN btexport;\nSELECT 'listening';\n")
spy.stdin.flush()
while "listening" not in spy.stdout.readline():
    pass
ok_run = run_as("sec-very-secret-name", user="sec_owner")
bad_run = run_as("sec-failing", user="sec_owner")
spy.stdin.write("SELECT 1;\n\\q\n")
spy.stdin.flush()
heard = spy.communicate(timeout=30)[0]
def payload(line):
    text = line.split('with payload "', 1)[1].rsplit('"', 1)[0]
    try:
        return json.loads(text.replace('\\"', '"'))
    except ValueError:
        return {"unparsed": text}


payloads = [payload(line) for line in heard.split("\n") if "payload" in line]
check("the runs happened (one succeeded, one failed with the bucket in its error)",
      ok_run["status"] == "succeeded" and bad_run["status"] == "failed"
      and "no-such-bucket-sec" in json.dumps(bad_run), json.dumps(bad_run)[:300])
check("a role without any btexport privilege hears the runs' notifications ...",
      {p.get("run_id") for p in payloads} >= {ok_run["id"], bad_run["id"]} or str(ok_run["id"]) in heard, heard[:500])
secrets = ["sec-very-secret-name", "sec-failing", "no-such-bucket-sec", "sec-secret-prefix", "succeeded", "failed",
           "NoSuchBucket", "running", "queued"]
check("... but every payload holds only a run id and an automation id: no name, status or error text",
      all(set(p) == {"run_id", "automation_id"} for p in payloads) and not any(s in heard for s in secrets),
      heard[:500])
check("the owner reads the details through btexport.runs (row-level security)",
      psql(f"SELECT status FROM btexport.runs WHERE id = {bad_run['id']}", user="sec_owner").strip() == "failed"
      and psql(f"SELECT count(*) FROM btexport.runs WHERE id = {bad_run['id']}", user="sec_victim").strip() == "0")

# ---- finding 9: cancel() signals only the run's own worker -------------------------------
# the victim's run waits in its worker, queued: its T2 marks a run a crash left 'running' failed,
# and that row is locked here (the runs' own locks are not SQL advisory locks); a crashed run of
# the owner claims that worker's pid, as a reused pid would
psql("SELECT btexport.create_project('victim-app')", user="sec_victim")
psql(f"SELECT btexport.create_credential('victim-key', '{AKID}', '{SECRET}')", user="sec_victim")
victim_aid = psql(f"""SELECT id FROM btexport.create_automation('victim-export', 'victim-app', 's3://test-bucket/victim/',
                      endpoint => '{EP}', credential => 'victim-key')""", user="sec_victim").strip()
stale = psql(f"""INSERT INTO btexport.runs (automation_id, owner, trigger, status, started_at)
                 SELECT a.id, a.owner, 'manual', 'running', now() - interval '1 hour'
                   FROM btexport.automations a WHERE a.id = {victim_aid} RETURNING id""").split()[0]
holder = subprocess.Popen(["psql", "-X", "-q", "-At", "-d", DB], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True)
holder.stdin.write(f"BEGIN;\nSELECT 1 FROM btexport.runs WHERE id = {stale} FOR UPDATE;\nSELECT 'locked';\n")
holder.stdin.flush()
while "locked" not in holder.stdout.readline():
    pass
vq = run_as("victim-export", user="sec_victim", extra=", wait => false")
vpid = wait_for(lambda: psql(f"SELECT pid FROM btexport.runs WHERE id = {vq['id']} AND pid IS NOT NULL AND EXISTS "
                             f"(SELECT 1 FROM pg_stat_activity s WHERE s.pid = runs.pid AND s.wait_event_type = 'Lock')"
                             ).strip(), 60, "the victim's worker to wait")
crashed = psql(f"""INSERT INTO btexport.runs (automation_id, owner, trigger, status, pid, started_at)
                   SELECT a.id, a.owner, 'manual', 'running', {vpid}, now() - interval '1 hour'
                     FROM btexport.automations a WHERE a.name = 'sec-very-secret-name' RETURNING id""").split()[0]
got = psql(f"SELECT btexport.cancel({crashed})", user="sec_owner").strip()
check("cancel() of a crashed run whose pid now belongs to another role's worker signals nothing", got == "f", got)
check("progress shows no running run for the crashed one",
      psql(f"SELECT count(*) FROM btexport.progress WHERE run_id = {crashed}", user="sec_owner").strip() == "0")
holder.stdin.write("ROLLBACK;\n\\q\n")
holder.stdin.flush()
holder.wait(timeout=30)
vstatus = wait_for(lambda: psql(f"SELECT status FROM btexport.runs WHERE id = {vq['id']} AND status NOT IN "
                                "('queued', 'running')").strip(), 60, "the victim's run")
check("... and the victim's run goes on and succeeds", vstatus == "succeeded", vstatus)
psql(f"UPDATE btexport.runs SET status = 'failed' WHERE id = {crashed}")

# ---- finding 9: an owner role dropped -------------------------------------------------------
psql("SELECT count(*) FROM btexport.log('ghost-app', '[{\"id\": \"g1\"}, {\"id\": \"g2\"}]')", user="sec_ghost")
psql(f"SELECT btexport.create_credential('ghost-key', '{AKID}', '{SECRET}')", user="sec_ghost")
ghost_aid = psql(f"""SELECT id FROM btexport.create_automation('ghost-export', 'ghost-app', 's3://test-bucket/ghost/',
                     endpoint => '{EP}', credential => 'ghost-key')""", user="sec_ghost").strip()
ghost_oid = psql("SELECT oid FROM pg_roles WHERE rolname = 'sec_ghost'").strip()
psql("DROP ROLE sec_ghost")
r = run_id(ghost_aid)
check("a run of an automation whose owner role was dropped fails with 42704, saying so",
      r["status"] == "failed" and r["error_sqlstate"] == "42704" and "no longer exists" in r["error_message"]
      and "reassign_owned" in (r["error_hint"] or ""), json.dumps(r)[:400])
check("... and writes nothing", list_keys("test-bucket", "ghost/") == [])
psql(f"SELECT * FROM btexport.reassign_owned('{ghost_oid}', 'sec_owner')")
r = run_id(ghost_aid, user="sec_owner")
check("after btexport.reassign_owned the new owner's run exports the orphan's spans",
      r["status"] == "succeeded" and r["rows"] == 2, json.dumps(r)[:300])

# the documented cleanup before dropping a role (docs/operations.md "Dropping a role")
for role in ("old_role", "new_owner"):
    psql(f"DO $$BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{role}') THEN "
         f"CREATE ROLE {role} LOGIN IN ROLE btexport_user; END IF; END$$")
psql("SELECT count(*) FROM btexport.log('old-app', '[{\"id\": \"o1\"}]')", user="old_role")
psql(f"SELECT btexport.create_credential('old-key', '{AKID}', '{SECRET}')", user="old_role")
psql(f"""SELECT btexport.create_automation('old-export', 'old-app', 's3://test-bucket/old/', endpoint => '{EP}',
         credential => 'old-key')""", user="old_role")
for block in doc_sql("operations.md", "Dropping a role"):
    psql(block)
psql("DROP ROLE old_role")
r = run_as("old-export", user="new_owner")
check("the documented reassign_owned before DROP ROLE: the new owner's run exports the old role's project",
      r["status"] == "succeeded" and r["rows"] == 1, json.dumps(r)[:300])

# ---- findings 9 and 10: checked again at run time --------------------------------------------
psql("SELECT btexport.generate_sample_data('shared-app', traces => 2)")
psql("SELECT btexport.grant_project('shared-app', 'sec_owner', 'export')")
psql(f"""SELECT btexport.create_automation('sec-shared', 'shared-app', 's3://test-bucket/sec-shared/',
         endpoint => '{EP}', credential => 'own-key')""", user="sec_owner")
psql("SELECT btexport.revoke_project('shared-app', 'sec_owner', 'export')")
r = run_as("sec-shared", user="sec_owner")
check("after the project's owner revokes export, the automation's run fails with 42501 naming the grant",
      r["status"] == "failed" and r["error_sqlstate"] == "42501" and "grant_project" in (r["error_hint"] or ""),
      json.dumps(r)[:400])
check("... and exports nothing", list_keys("test-bucket", "sec-shared/") == [])
psql("SELECT btexport.grant_project('shared-app', 'sec_owner', 'export')")
r = run_as("sec-shared", user="sec_owner")
check("granted again, it runs", r["status"] == "succeeded" and r["rows"] > 0, json.dumps(r)[:300])

# settings a 1.0 database may hold that today's checks refuse: a clear error, not SignatureDoesNotMatch
psql(f"""SELECT btexport.create_automation('sec-dots', 'sec-app', 's3://test-bucket/sec-dots/x/',
         endpoint => '{EP}', credential => 'own-key')""", user="sec_owner")
psql("UPDATE btexport.automations SET prefix = 'sec-dots/x/../y/', s3_path = 's3://test-bucket/sec-dots/x/../y/'"
     " WHERE name = 'sec-dots'")
r = run_as("sec-dots", user="sec_owner")
check("a stored prefix with '..' fails the run with 22023 'invalid S3 prefix' and its hint",
      r["status"] == "failed" and r["error_sqlstate"] == "22023" and "invalid S3 prefix" in r["error_message"]
      and "SignatureDoesNotMatch" not in json.dumps(r), json.dumps(r)[:400])
psql(f"""SELECT btexport.create_automation('sec-extid', 'sec-app', 's3://test-bucket/sec-extid/',
         endpoint => '{EP}', credential => 'own-key', role_arn => '{os.environ["BTX_ROLE_ARN"]}',
         external_id => 'btx-ext-123')""", user="sec_owner")
psql("UPDATE btexport.automations SET external_id = 'btx-ext-ü' WHERE name = 'sec-extid'")
r = run_as("sec-extid", user="sec_owner")
check("a stored non-ASCII ExternalId fails the run with 22023 'invalid external id' (the rule of the C code)",
      r["status"] == "failed" and r["error_sqlstate"] == "22023" and "invalid external id" in r["error_message"],
      json.dumps(r)[:400])

# ---- finding 4: numbers no double holds, stored by 1.0 (or a plain INSERT) -----------------
psql("""INSERT INTO btexport.logs (project_id, id, span_id, root_span_id, span_parents, scores, metrics)
        SELECT p.id, v.id, v.id, 'big-trace', v.parents, v.scores::jsonb, v.metrics::jsonb
          FROM btexport.projects p,
               (VALUES ('n-root', NULL::text[], '{"a": 1e-400, "b": 0.25}', '{"start": 1e400, "end": 5}'),
                       ('n-child', ARRAY['n-root'], '{"a": 1, "b": 1e400}', '{"start": 1, "end": 1e-400}')) v(id, parents, scores, metrics)
         WHERE p.name = 'sec-app'""")
for name, extra in (("sec-traces", "export_type => 'logs_traces', trace_idle => '0'"),
                    ("sec-summary", "export_type => 'btql', query => 'select: * | from: project_logs(''sec-app'') summary'"),
                    ("sec-parquet", "format => 'parquet', export_type => 'logs_traces', trace_idle => '0'")):
    psql(f"""SELECT btexport.create_automation('{name}', 'sec-app', 's3://test-bucket/{name}/', endpoint => '{EP}',
             credential => 'own-key', {extra})""", user="sec_owner")
    r = run_as(name, user="sec_owner")
    check(f"{name}: a run over spans holding 1e-400 and 1e400 succeeds", r["status"] == "succeeded" and r["rows"] > 0,
          json.dumps(r)[:400])
rows = [x for x in read_jsonl_objects("test-bucket", list_keys("test-bucket", "sec-traces/")) if x["id"] == "big-trace"]
check("the trace's scores are averaged as a JSON parser reads them (1e-400 is 0; 1e400 is no number)",
      len(rows) == 1 and rows[0]["scores"] == {"a": 0.5, "b": 0.25}, json.dumps(rows)[:300])

psql("ALTER SYSTEM RESET btexport.allowed_endpoints; SELECT pg_reload_conf()")
finish()
