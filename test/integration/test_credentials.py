"""Credentials: named static keys, AssumeRole with ExternalId (moto STS with signature checks),
and the gate on the server's own credentials."""
import json
import os
import time

from lib import check, finish, fresh_db, psql, psql_json, list_keys, read_jsonl_objects, setup_credential

DB = fresh_db("btx_creds")
EP = os.environ["MOTO_ENDPOINT"]
ROLE = os.environ["BTX_ROLE_ARN"]
EXT = os.environ["BTX_EXTERNAL_ID"]
setup_credential("moto")
psql("SELECT btexport.generate_sample_data('app', traces => 20)")
n = int(psql("SELECT count(*) FROM btexport.logs"))


def run(name):
    return psql_json(f"SELECT row_to_json(r) FROM btexport.run('{name}') r")[-1]


# AssumeRole with the right external id: the run writes through the role's temporary credentials
psql(f"""SELECT btexport.create_automation('role-ok', 'app', 's3://test-bucket/role-ok/', endpoint => '{EP}',
         credential => 'moto', role_arn => '{ROLE}', external_id => '{EXT}')""")
steps = psql_json("SELECT row_to_json(t) FROM btexport.test('role-ok') t")
cred = [s for s in steps if s["step"] == "credentials"][0]
check("test(): credentials step assumes the role", cred["ok"] and ROLE in cred["detail"], json.dumps(cred))
check("test(): all steps pass through the assumed role", all(s["ok"] for s in steps), json.dumps(steps))
r = run("role-ok")
keys = list_keys("test-bucket", "role-ok/")
check("a run through the assumed role exports every span", r["status"] == "succeeded" and r["rows"] == n
      and len(read_jsonl_objects("test-bucket", keys)) == n, json.dumps(r))

# a wrong external id: AccessDenied with a hint naming the trust policy
psql(f"""SELECT btexport.create_automation('role-bad', 'app', 's3://test-bucket/role-bad/', endpoint => '{EP}',
         credential => 'moto', role_arn => '{ROLE}', external_id => 'not-the-external-id')""")
r = run("role-bad")
text = " ".join(str(r[k] or "") for k in ("error_message", "error_detail", "error_hint"))
check("a wrong external id fails the run", r["status"] == "failed" and "AccessDenied" in text, json.dumps(r))
check("... reported as the AssumeRole refusal (38000, AccessDenied in the message), not as missing credentials (28000)",
      r["error_sqlstate"] == "38000" and "AccessDenied" in (r["error_message"] or "")
      and "assume role" in (r["error_message"] or "") and "no usable" not in (r["error_message"] or ""), json.dumps(r))
check("the hint names the trust policy and the ExternalId", "trust policy" in (r["error_hint"] or "")
      and "ExternalId" in (r["error_hint"] or ""), r["error_hint"])
check("nothing was written for the failed run", list_keys("test-bucket", "role-bad/") == [])
steps = psql_json("SELECT row_to_json(t) FROM btexport.test('role-bad') t")
cred = [s for s in steps if s["step"] == "credentials"][0]
check("test(): the credentials step fails with the trust-policy hint", not cred["ok"] and "trust policy" in (cred["hint"] or ""),
      json.dumps(cred))

# the secret of a named credential is readable by no ordinary role, and never shown
psql("DO $$BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'creds_alice') THEN CREATE ROLE creds_alice LOGIN; END IF; END$$; GRANT btexport_user TO creds_alice")
rc, out, err = psql("SELECT * FROM btexport.credentials", user="creds_alice", check_error=False)
check("an ordinary role cannot read btexport.credentials", rc != 0 and "permission denied" in err, err)
rc, out, err = psql("SELECT * FROM btexport.secrets", user="creds_alice", check_error=False)
check("...nor btexport.secrets, where the secret is (the one secret store)", rc != 0 and "permission denied" in err, err)
stored = psql("SELECT s.value FROM btexport.secrets s JOIN btexport.credentials c ON c.secret = s.id WHERE c.name = 'moto'").strip()
check("the credential's secret is in btexport.secrets (sealed: encrypted at rest), not in its row",
      stored.startswith("btx1:") and os.environ["BTX_SECRET"] not in stored
      and os.environ["BTX_SECRET"] not in psql("SELECT c::text FROM btexport.credentials c"), stored[:40])
out = psql("SELECT row_to_json(c) FROM btexport.credentials_info c")
check("credentials_info shows no secret", os.environ["BTX_SECRET"] not in out and os.environ["BTX_AKID"] not in out, out)
hist = psql("SELECT row_to_json(r) FROM btexport.runs r")
check("run history never contains the secret", os.environ["BTX_SECRET"] not in hist)

# update_credential rotates in place, only the owner's (names are per owner), and the old secret is forgotten
AK, SK = os.environ["BTX_AKID"], os.environ["BTX_SECRET"]
secrets_before = psql("SELECT count(*) FROM btexport.secrets").strip()
for ref in ("moto", "postgres/moto"):
    rc, out, err = psql(f"SELECT btexport.update_credential('{ref}', '{AK}', 'stolen')", user="creds_alice", check_error=False)
    check(f"another role cannot update the credential ('{ref}': it does not exist for her, 42704)",
          rc != 0 and "does not exist" in err, err)
old_id = psql("SELECT secret FROM btexport.credentials WHERE name = 'moto'").strip()
psql(f"SELECT btexport.update_credential('moto', '{AK}', 'wrong-secret-key')")
r = run("role-ok")
check("after rotating to a wrong secret the next run signs with it and fails", r["status"] == "failed", json.dumps(r)[:300])
psql(f"SELECT btexport.update_credential('moto', '{AK}', '{SK}')")
check("the rotation replaced the secret and forgot the old one (no secret left behind)",
      psql(f"SELECT count(*) FROM btexport.secrets WHERE id = '{old_id}'").strip() == "0"
      and psql("SELECT count(*) FROM btexport.secrets").strip() == secrets_before)
# a restored dump has the credential without its secret: the run says so, update_credential sets it again
psql("DELETE FROM btexport.secrets s USING btexport.credentials c WHERE c.name = 'moto' AND s.id = c.secret")
r = run("role-ok")
check("a credential without its secret (restored dump) fails the run with a hint naming update_credential",
      r["status"] == "failed" and "update_credential" in (r["error_hint"] or ""), json.dumps(r)[:400])
psql(f"SELECT btexport.update_credential('moto', '{AK}', '{SK}')")
r = run("role-ok")
check("... and after update_credential the run succeeds again", r["status"] == "succeeded", json.dumps(r)[:300])

# the server's own credentials are gated: creds_alice has no credential and no btexport_s3_writer
psql("SELECT btexport.create_project('creds_alice-app')", user="creds_alice")
psql("GRANT SELECT ON btexport.logs TO creds_alice")
rc, out, err = psql(f"""SELECT btexport.create_automation('creds_alice-ambient', 'creds_alice-app', 's3://test-bucket/creds_alice/',
                       endpoint => '{EP}')""", user="creds_alice", check_error=False)
check("a non-superuser may not use an endpoint outside btexport.allowed_endpoints",
      rc != 0 and "allowed_endpoints" in err, err)
psql(f"ALTER SYSTEM SET btexport.allowed_endpoints = '{EP}'; SELECT pg_reload_conf()")
for _ in range(50):
    if EP in psql("SHOW btexport.allowed_endpoints", user="creds_alice"):
        break
    time.sleep(0.1)
psql(f"""SELECT btexport.create_automation('creds_alice-ambient', 'creds_alice-app', 's3://test-bucket/creds_alice/',
         endpoint => '{EP}')""", user="creds_alice")
steps = psql_json("SELECT row_to_json(t) FROM btexport.test('creds_alice-ambient') t", user="creds_alice")
cred = [s for s in steps if s["step"] == "credentials"][0]
check("without btexport_s3_writer the server's own credentials are refused, with a hint",
      not cred["ok"] and "btexport_s3_writer" in (cred["hint"] or ""), json.dumps(cred))
psql("ALTER SYSTEM RESET btexport.allowed_endpoints; SELECT pg_reload_conf()")

# an automation exports only what its owner may SELECT: row-level security applies ...
psql(f"SELECT btexport.create_credential('alice-moto', '{os.environ['BTX_AKID']}', '{os.environ['BTX_SECRET']}')",
     user="creds_alice")
psql(f"ALTER SYSTEM SET btexport.allowed_endpoints = '{EP}'; SELECT pg_reload_conf()")
for _ in range(50):
    if EP in psql("SHOW btexport.allowed_endpoints", user="creds_alice"):
        break
    time.sleep(0.1)
psql("SELECT btexport.grant_project('app', 'creds_alice', 'export')")
psql(f"""SELECT btexport.create_automation('alice-rls', 'app', 's3://test-bucket/alice-rls/', endpoint => '{EP}',
         credential => 'alice-moto')""", user="creds_alice")
# (restrictive: a permissive policy would widen btexport's own project policies)
psql("CREATE POLICY alice_roots ON btexport.logs AS RESTRICTIVE FOR SELECT TO creds_alice USING (is_root)")
r = psql_json("SELECT row_to_json(r) FROM btexport.run('alice-rls') r", user="creds_alice")[-1]
rows = read_jsonl_objects("test-bucket", list_keys("test-bucket", "alice-rls/"))
roots = set(psql("SELECT l.id FROM btexport.logs l JOIN btexport.projects p ON p.id = l.project_id"
                 " WHERE p.name = 'app' AND l.is_root").split())
check("row-level security on the span store applies to the owner's export (only the rows she may see)",
      r["status"] == "succeeded" and {x["id"] for x in rows} == roots and len(rows) < n, f"{r['rows']} rows")
psql("DROP POLICY alice_roots ON btexport.logs")
# ... and without SELECT on the span store the run fails, exporting nothing
psql("SELECT btexport.generate_sample_data('app', traces => 2, seed => 77, first_trace => 5000)")
psql("REVOKE SELECT ON btexport.logs FROM btexport_user, creds_alice")
r = psql_json("SELECT row_to_json(r) FROM btexport.run('alice-rls') r", user="creds_alice")[-1]
check("without SELECT on btexport.logs the owner's run fails with permission denied",
      r["status"] == "failed" and "permission denied" in (r["error_message"] or ""), json.dumps(r)[:300])
psql("GRANT SELECT ON btexport.logs TO btexport_user")
psql("ALTER SYSTEM RESET btexport.allowed_endpoints; SELECT pg_reload_conf()")

# max_failures: failing runs in a row pause the automation with the reason
psql("SELECT btexport.update_automation('role-bad', max_failures => 2)")
r = run("role-bad")
st = psql_json("SELECT row_to_json(a) FROM btexport.automations a WHERE name = 'role-bad'")[0]
check("after max_failures failed runs in a row the automation pauses itself, saying why",
      r["status"] == "failed" and st["status"] == "paused" and "2 consecutive failed runs" in (st["paused_reason"] or ""),
      json.dumps(st)[:300])
# issue 12 finding 8: the warning printed the name from memory the failed run's transaction had freed
with open(os.path.join(os.environ["PGDIR"], "server.log"), "rb") as f:
    log = f.read()
check("the server log's pause warning names the automation (no freed memory read)",
      b'WARNING:  automation "role-bad" paused after repeated failures' in log
      and b"HINT:  Fix the cause (see btexport.runs), then call btexport.resume('role-bad')." in log,
      repr([l for l in log.split(b"\n") if b"paused after repeated" in l or b"btexport.resume(" in l][-4:]))
finish()
