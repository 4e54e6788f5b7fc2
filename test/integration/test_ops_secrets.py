"""Secrets at rest and key rotation (docs/operations.md "Rotating a key", docs/security.md "Secrets").

- The server creates its key file in the data directory: 32 bytes, mode 0600, its OS user's.
- btexport.secrets holds only sealed values (btx1:..., AES-256-GCM): no stored secret in the clear.
- pg_dump of the database holds no secret (old or new) and not the key (raw, hex or base64).
- A non-superuser's automation on a real pg_cron schedule ('1 minute'): a scheduled run succeeds,
  the documented update_credential rotates the key while the schedule runs, the old key is deleted
  from (moto's) IAM, and the next scheduled run succeeds with the new one; S3 holds every span
  version exactly once.
- Without the key file the secrets do not open: a run fails with 58P01 and a hint; with the file
  back, runs work again.
Runs in the database "postgres" (pg_cron's cron.database_name)."""
import base64
import json
import os
import subprocess
import time

from lib import (check, doc_sql, finish, list_keys, moto_iam, moto_user_key, psql, psql_json, read_jsonl_objects,
                 wait_for)

DB = "postgres"
os.environ["BTX_DB"] = DB
EP = os.environ["MOTO_ENDPOINT"]
N = os.urandom(4).hex()
O = "sec_ops_owner"
KEYFILE = os.path.join(os.environ["PGDIR"], "data", "btexport_secrets.key")

psql("SET btexport.allow_drop_spans = on; DROP EXTENSION IF EXISTS btexport")
psql("CREATE EXTENSION IF NOT EXISTS pg_cron")
psql("CREATE EXTENSION btexport")
psql(f"DO $$BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{O}') THEN "
     f"CREATE ROLE {O} LOGIN IN ROLE btexport_user; END IF; END$$")
psql(f"ALTER SYSTEM SET btexport.allowed_endpoints = '{EP}'; SELECT pg_reload_conf()")
wait_for(lambda: EP in psql("SHOW btexport.allowed_endpoints", user=O), 10, "the setting")

IAM_USER = f"rot-{N}"
KEY_A = moto_user_key(IAM_USER)
psql("SELECT count(*) FROM btexport.log('rot-proj', '[{\"id\": \"r1\", \"input\": \"x\"}, {\"id\": \"r2\"}]')", user=O)
psql(f"SELECT btexport.create_credential('s3-key', '{KEY_A['AccessKeyId']}', '{KEY_A['SecretAccessKey']}')", user=O)
aid = psql(f"SELECT id FROM btexport.create_automation('rot', 'rot-proj', 's3://test-bucket/rot-{N}/', endpoint => '{EP}',"
           " credential => 's3-key', \"interval\" => '1 minute')", user=O).strip()

# ---- the key file and the stored form --------------------------------------------------------
st = os.stat(KEYFILE)
with open(KEYFILE, "rb") as f:
    key = f.read()
check("the server created its key file in the data directory: 32 bytes, mode 0600, the server's OS user",
      len(key) == 32 and (st.st_mode & 0o777) == 0o600 and st.st_uid == os.stat(os.path.dirname(KEYFILE)).st_uid,
      f"{len(key)} bytes, mode {oct(st.st_mode & 0o777)}")
stored = psql("SELECT value FROM btexport.secrets").split()
check("btexport.secrets holds only sealed values, never the secret",
      stored and all(v.startswith("btx1:") for v in stored) and not any(KEY_A["SecretAccessKey"] in v for v in stored),
      str([v[:20] for v in stored]))


def scheduled_after(t0):
    """the first scheduled run queued after t0 that finished"""
    out = psql_json(f"SELECT row_to_json(r) FROM btexport.runs r WHERE automation_id = {aid} AND trigger = 'schedule'"
                    f" AND queued_at > to_timestamp({t0}) AND status IN ('succeeded', 'failed') ORDER BY id LIMIT 1",
                    user=O)
    return out[0] if out else None


t0 = time.time()
first = wait_for(lambda: scheduled_after(t0 - 120), 130, "a scheduled run")
check("pg_cron runs the automation: a scheduled run succeeds with the first key", first["status"] == "succeeded",
      json.dumps(first)[:300])

# ---- rotation while the schedule runs ------------------------------------------------------------
KEY_B = json.loads(moto_iam("create-access-key", "--user-name", IAM_USER))["AccessKey"]
for sql in doc_sql("operations.md", "Rotating a key"):
    psql(sql.replace("<new access key id>", KEY_B["AccessKeyId"]).replace("<new secret access key>", KEY_B["SecretAccessKey"]),
         user=O)
moto_iam("delete-access-key", "--user-name", IAM_USER, "--access-key-id", KEY_A["AccessKeyId"])
t_rot = psql("SELECT extract(epoch FROM clock_timestamp())").strip()
psql("SELECT count(*) FROM btexport.log('rot-proj', '[{\"id\": \"r3\", \"input\": \"after rotation\"}]')", user=O)
nxt = wait_for(lambda: scheduled_after(float(t_rot)), 130, "the next scheduled run")
check("the next scheduled run after update_credential succeeds with the new key (the old one is deleted)",
      nxt["status"] == "succeeded" and nxt["rows"] >= 1, json.dumps(nxt)[:300])
check("the credential kept its name and the automation its schedule",
      psql(f"SELECT credential || '|' || (cron_jobid IS NOT NULL) FROM btexport.automations WHERE id = {aid}",
           user=O).strip() == "s3-key|true")
rows = read_jsonl_objects("test-bucket", list_keys("test-bucket", f"rot-{N}/"))
got = [(r["id"], str(r["_xact_id"])) for r in rows]
table = sorted(tuple(x.split("|")) for x in psql("SELECT l.id || '|' || l._xact_id FROM btexport.logs l JOIN btexport.projects p"
                                                 " ON p.id = l.project_id WHERE p.name = 'rot-proj'").split())
check("S3 holds every span version exactly once across the rotation", sorted(got) == table and len(got) == len(set(got)),
      f"{len(got)} in S3, {len(table)} in the table")

# ---- a dump carries no secret and no key ---------------------------------------------------------
dump = subprocess.run(["pg_dump", "-d", DB], capture_output=True, check=True).stdout
secrets = [KEY_A["SecretAccessKey"], KEY_B["SecretAccessKey"]]
key_forms = [key, key.hex().encode(), key.hex().upper().encode(), base64.b64encode(key)]
check("pg_dump of the database holds no secret (old or new) and not the key (raw, hex, base64)",
      b"btexport.credentials" in dump and not any(s.encode() in dump for s in secrets)
      and not any(k in dump for k in key_forms), f"{len(dump)} bytes")
check("...nor a sealed value (btexport.secrets is not dumped)", b"btx1:" not in dump)

# ---- without the key file the secrets do not open ----------------------------------------------------
psql("SELECT btexport.pause('rot')", user=O)
os.rename(KEYFILE, KEYFILE + ".away")
try:
    r = psql_json("SELECT row_to_json(r) FROM btexport.run('rot') r", user=O)[-1]
    check("without the key file a run fails with 58P01 and a hint naming the file",
          r["status"] == "failed" and r["error_sqlstate"] == "58P01" and "btexport_secrets.key" in (r["error_detail"] or "")
          and r["error_hint"], json.dumps(r)[:400])
finally:
    os.rename(KEYFILE + ".away", KEYFILE)
r = psql_json("SELECT row_to_json(r) FROM btexport.run('rot') r", user=O)[-1]
check("with the file back the next run succeeds", r["status"] == "succeeded", json.dumps(r)[:300])
finish()
