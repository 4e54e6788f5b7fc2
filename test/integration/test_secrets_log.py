"""Secrets never reach the server log (issue 12, finding 7; docs/security.md "Secrets"):
btexport.create_credential (and update_credential, create_connection, update_connection, which take
an AWS secret or a Braintrust API key) called every way a client can -- simple queries that succeed and fail
(invalid name, duplicate, syntax error, unknown signature), PREPARE/EXECUTE, a DO block, and the
extended protocol with bind parameters (succeeding and failing) -- with log_statement = 'all',
log_min_duration_statement = 0, log_min_error_statement = error and every parameter logged,
leaves none of the secrets in the server log.  Without btexport in shared_preload_libraries,
each of them refuses to store a secret, and its error hides the statement.  The extended
protocol is spoken by lib.Wire (Python's standard library has no PostgreSQL client)."""
import os
import secrets
import socket
import subprocess
import tempfile

from lib import Wire, check, finish, fresh_db, psql, wait_for

DB = fresh_db("btx_secrets")
AKID = "AKIAIOSFODNN7EXAMPLE"
LOG = os.path.join(os.environ["PGDIR"], "server.log")
SETTINGS = {"log_statement": "'all'", "log_min_duration_statement": "0", "log_min_error_statement": "error",
            "log_parameter_max_length": "-1", "log_parameter_max_length_on_error": "-1"}


def secret():
    return "S3cr3t" + secrets.token_hex(12)


def log_size():
    return os.path.getsize(LOG)


def log_since(offset):
    with open(LOG, "rb") as f:
        f.seek(offset)
        return f.read().decode("utf-8", "replace")


def extended(sql, params):
    err = Wire(DB).extended(sql, params)
    return err["M"] if err else None


for k, v in SETTINGS.items():
    psql(f"ALTER SYSTEM SET {k} = {v}")
psql("SELECT pg_reload_conf()")
wait_for(lambda: psql("SHOW log_statement").strip() == "all"
         and psql("SHOW log_parameter_max_length_on_error").strip() == "-1", 10, "the logging settings")
start = log_size()
used = []


def call(sql_template, expect_error=None):
    s = secret()
    used.append(s)
    rc, out, err = psql(sql_template.replace("SECRET", s), check_error=False)
    return rc, err


rc, err = call(f"SELECT btexport.create_credential('sl-ok', '{AKID}', 'SECRET')")
check("a credential is stored while every statement is logged", rc == 0, err)
rc, err = call(f"SELECT btexport.create_credential('bad name!', '{AKID}', 'SECRET')")
check("an invalid name fails (22023)", rc != 0 and "invalid credential name" in err, err)
rc, err = call(f"SELECT btexport.create_credential('sl-ok', '{AKID}', 'SECRET')")
check("a duplicate fails (42710)", rc != 0 and "already exists" in err, err)
rc, err = call(f"SELECT btexport.create_credential('sl-syntax', '{AKID}', 'SECRET'")
check("a syntax error fails", rc != 0 and "syntax error" in err, err)
rc, err = call(f"SELECT btexport.create_credential('sl-sig', '{AKID}', 'SECRET', 1, 2)")
check("an unknown signature fails", rc != 0 and "does not exist" in err, err)
rc, err = call(f"SELECT btexport.create_credential('sl-int', '{AKID}', 'SECRET', 'SECRET'::int)")
check("a value that is no integer fails (its text is quoted in the message)", rc != 0 and "invalid input" in err, err)
rc, err = call(f"PREPARE p(text) AS SELECT btexport.create_credential('sl-prep', '{AKID}', $1); EXECUTE p('SECRET')")
check("PREPARE / EXECUTE stores one", rc == 0, err)
rc, err = call(f"DO $$BEGIN PERFORM btexport.create_credential('sl-do', '{AKID}', 'SECRET', 'SECRET'); END$$")
check("a DO block stores one (with a session token)", rc == 0, err)
s1, s2 = secret(), secret()
used += [s1, s2]
e = extended("SELECT btexport.create_credential($1, $2, $3)", ["sl-ext", AKID, s1])
check("the extended protocol with bind parameters stores one", e is None, e)
e = extended("SELECT btexport.create_credential($1, $2, $3)", ["sl-ext", AKID, s2])
check("... and a failing extended-protocol call fails", e is not None and "already exists" in e, e)
# the other secret-taking functions: update_credential (a new secret access key), create_connection
# and update_connection (a Braintrust API key), every way as above
rc, err = call(f"SELECT btexport.update_credential('sl-ok', '{AKID}', 'SECRET', 'SECRET')")
check("update_credential rotates a secret while every statement is logged", rc == 0, err)
rc, err = call(f"SELECT btexport.update_credential('sl-missing', '{AKID}', 'SECRET')")
check("update_credential of a missing credential fails (42704)", rc != 0 and "does not exist" in err, err)
rc, err = call(f"SELECT btexport.update_credential('sl-ok', '{AKID}', 'SECRET', 'SECRET'::int)")
check("update_credential with a value that is no integer fails", rc != 0 and "invalid input" in err, err)
rc, err = call("SELECT btexport.create_connection('sl-conn', 'SECRET')")
check("create_connection stores an API key while every statement is logged", rc == 0, err)
rc, err = call("SELECT btexport.create_connection('sl-conn', 'SECRET')")
check("a duplicate connection fails (42710)", rc != 0 and "already exists" in err, err)
rc, err = call("SELECT btexport.create_connection('sl-conn2', 'SECRET', app_url => 'ftp://x')")
check("a connection with a bad app URL fails", rc != 0, err)
rc, err = call("SELECT btexport.create_connection('sl-syntax', 'SECRET'")
check("a create_connection syntax error fails", rc != 0 and "syntax error" in err, err)
rc, err = call("SELECT btexport.create_connection('sl-int', 'SECRET', 'SECRET'::int)")
check("a create_connection value that is no integer fails (its text is quoted in the message)",
      rc != 0 and "invalid input" in err, err)
rc, err = call("PREPARE pc(text) AS SELECT btexport.update_connection('sl-conn', api_key => $1); EXECUTE pc('SECRET')")
check("update_connection rotates the key through PREPARE / EXECUTE", rc == 0, err)
rc, err = call("DO $$BEGIN PERFORM btexport.update_connection('sl-conn', api_key => 'SECRET'); END$$")
check("update_connection rotates the key in a DO block", rc == 0, err)
c1, s4, s5 = secret(), secret(), secret()
used += [c1, s4, s5]
e = extended("SELECT btexport.create_connection($1, $2)", ["sl-conn-ext", c1])
check("create_connection through the extended protocol stores one", e is None, e)
e = extended("SELECT btexport.create_connection($1, $2)", ["sl-conn-ext", s4])
check("... and a failing extended-protocol create_connection fails", e is not None and "already exists" in e, e)
e = extended("SELECT btexport.update_connection($1, api_key => $2)", ["sl-conn-missing", s5])
check("... and a failing extended-protocol update_connection fails", e is not None and "does not exist" in e, e)
psql("SELECT 'canary-statement-is-logged'")
logged = log_since(start)
check("logging was on: other statements are in the server log", "canary-statement-is-logged" in logged)
check("the redacted statements are marked in the log", "statement redacted by btexport" in logged
      and "parameters redacted by btexport" in logged, logged[-2000:])
leaked = [s for s in used if s in logged]
check(f"none of the {len(used)} secrets is in the server log", not leaked,
      "\n".join(l for l in logged.split("\n") if any(s in l for s in leaked))[:2000])
check("the credentials were stored (the secrets are in the table, readable by no role)",
      psql("SELECT count(*) FROM btexport.credentials WHERE name LIKE 'sl-%'").strip() == "4")
check("the connections were stored (their keys in btexport.secrets, readable by no role)",
      psql("SELECT count(*) FROM btexport.connections WHERE name LIKE 'sl-conn%'").strip() == "2")
for k in SETTINGS:
    psql(f"ALTER SYSTEM RESET {k}")
psql("SELECT pg_reload_conf()")

# ---- without preloading: refused, and the refusal hides its statement ---------------------
tmp = tempfile.mkdtemp(prefix="btx-nopreload-")
os.chmod(tmp, 0o755)
as_pg = (lambda c: ["su", "postgres", "-s", "/bin/bash", "-c", c]) if os.getuid() == 0 else (lambda c: ["bash", "-c", c])
if os.getuid() == 0:
    subprocess.run(["chown", "postgres", tmp], check=True)
pg_bin = os.environ.get("PG_BIN", "/usr/lib/postgresql/15/bin")
subprocess.run(as_pg(f"{pg_bin}/initdb -D {tmp}/data -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 >/dev/null"),
               check=True)
with socket.socket() as so:
    so.bind(("127.0.0.1", 0))
    port = so.getsockname()[1]
subprocess.run(as_pg(f"{os.environ.get('PG_ENV') and 'env ' + os.environ['PG_ENV'] or ''} {pg_bin}/pg_ctl -D {tmp}/data"
                     f" -l {tmp}/server.log -w -o \"-p {port} -k {tmp} -c listen_addresses=''\" start >/dev/null"),
               check=True)
try:
    q = lambda sql: subprocess.run(["psql", "-X", "-At", "-h", tmp, "-p", str(port), "-U", "postgres", "-d", "postgres",
                                    "-c", sql], capture_output=True, text=True)
    q("CREATE EXTENSION btexport")
    s3 = secret()
    r = q(f"SELECT btexport.create_credential('np', '{AKID}', '{s3}')")
    check("without shared_preload_libraries create_credential refuses (55000), saying why",
          r.returncode != 0 and "shared_preload_libraries" in r.stderr, r.stderr)
    check("... nothing is stored", q("SELECT count(*) FROM btexport.credentials").stdout.strip() == "0")
    s6, s7 = secret(), secret()
    r = q(f"SELECT btexport.create_connection('np', '{s6}')")
    check("without shared_preload_libraries create_connection refuses too (55000)",
          r.returncode != 0 and "shared_preload_libraries" in r.stderr, r.stderr)
    r = q(f"SELECT btexport.update_credential('np', '{AKID}', '{s7}')")
    check("... and update_credential", r.returncode != 0 and "shared_preload_libraries" in r.stderr, r.stderr)
    check("... nothing is stored", q("SELECT count(*) FROM btexport.connections").stdout.strip() == "0"
          and q("SELECT count(*) FROM btexport.secrets").stdout.strip() == "0")
    with open(f"{tmp}/server.log", encoding="utf-8", errors="replace") as f:
        nolog = f.read()
    check("... and the refusal's log entry has no STATEMENT line with the secret (default log settings)",
          "shared_preload_libraries to store a secret" in nolog and not any(x in nolog for x in (s3, s6, s7)),
          nolog[-1500:])
finally:
    subprocess.run(as_pg(f"{pg_bin}/pg_ctl -D {tmp}/data -m immediate stop >/dev/null"))
    subprocess.run(["rm", "-rf", tmp])
finish()
