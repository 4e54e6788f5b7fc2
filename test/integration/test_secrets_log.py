"""Secrets never reach the server log (issue 12, finding 7; docs/security.md "Secrets"):
btexport.create_credential called every way a client can -- simple queries that succeed and fail
(invalid name, duplicate, syntax error, unknown signature), PREPARE/EXECUTE, a DO block, and the
extended protocol with bind parameters (succeeding and failing) -- with log_statement = 'all',
log_min_duration_statement = 0, log_min_error_statement = error and every parameter logged,
leaves none of the secrets in the server log.  Without btexport in shared_preload_libraries,
create_credential refuses to store a secret, and its error hides the statement.  The extended
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
    with open(f"{tmp}/server.log", encoding="utf-8", errors="replace") as f:
        nolog = f.read()
    check("... and the refusal's log entry has no STATEMENT line with the secret (default log settings)",
          "shared_preload_libraries to store a secret" in nolog and s3 not in nolog, nolog[-1500:])
finally:
    subprocess.run(as_pg(f"{pg_bin}/pg_ctl -D {tmp}/data -m immediate stop >/dev/null"))
    subprocess.run(["rm", "-rf", tmp])
finish()
