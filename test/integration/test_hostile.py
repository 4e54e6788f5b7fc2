"""Every API entry point against the hostile-input corpus (test/hostile/corpus.py; issue 12,
docs/security.md "Hostile input"), called by a hostile but ordinary btexport_user.  Each value
goes in as a bind parameter (no quoting in the way), one call per transaction, rolled back.
For every entry point and argument:
  - an error has a specific SQLSTATE (never XX000 or another internal one) and a hint
    (PostgreSQL's own input-syntax errors of a typed parameter excepted);
  - nothing changed: the configuration, span and run tables are the same after each call;
  - no crash: the session survives every call, and no server process is terminated by a signal;
  - memory is bounded: the backend's peak private memory (VmHWM, reset before each call, less
    its shared and file pages) stays under 64 MB plus 24 times the size of the value.
Values are not printed whole: a label and a size stand for them."""
import os
import sys
import time

from lib import Wire, check, finish, fresh_db, psql

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "hostile"))
import corpus  # noqa: E402

DB = fresh_db("btx_hostile")
EP = "http://127.0.0.1:9"
MOTO = os.environ["MOTO_ENDPOINT"]      # test() of a valid configuration talks to it (fast answers, no retries)
AKID = "AKIAIOSFODNN7EXAMPLE"
LOG = os.path.join(os.environ["PGDIR"], "server.log")
INTERNAL = ("XX", "58", "57")       # internal error, system error, operator intervention (crash)

psql("DO $$BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'hostile_user') THEN "
     "CREATE ROLE hostile_user LOGIN IN ROLE btexport_user; END IF; "
     "IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'hostile_victim') THEN "
     "CREATE ROLE hostile_victim LOGIN IN ROLE btexport_user; END IF; END$$")
psql(f"ALTER SYSTEM SET btexport.allowed_endpoints = '{EP}, {MOTO}'; SELECT pg_reload_conf()")
psql("SELECT count(*) FROM btexport.log('victim-app', '[{\"id\": \"v1\", \"input\": \"victim data\"}]')", user="hostile_victim")
psql(f"SELECT btexport.create_credential('victim-key', '{AKID}', 'victim-secret')", user="hostile_victim")
for _ in range(100):
    if EP in psql("SHOW btexport.allowed_endpoints", user="hostile_victim"):
        break
    time.sleep(0.05)
psql(f"SELECT btexport.create_automation('victim-auto', 'victim-app', 's3://victim-bucket/v/', endpoint => '{EP}',"
     " credential => 'victim-key')", user="hostile_victim")
psql("SELECT btexport.create_connection('victim-conn', 'sk-victim-key')", user="hostile_victim")
psql("SELECT btexport.create_connection('h-conn', 'sk-hostile-key')", user="hostile_user")
psql("SELECT count(*) FROM btexport.log('h-app', '[{\"id\": \"h1\"}]')", user="hostile_user")
psql(f"SELECT btexport.create_credential('h-key', '{AKID}', 'hostile-secret')", user="hostile_user")
psql(f"SELECT btexport.create_automation('h-auto', 'h-app', 's3://h-bucket/h/', endpoint => '{EP}', credential => 'h-key')",
     user="hostile_user")

STATE = ("SELECT md5(string_agg(t, '|' ORDER BY t)) FROM ("
         " SELECT 'a' || a::text FROM btexport.automations a UNION ALL SELECT 'c' || c::text FROM btexport.credentials c"
         " UNION ALL SELECT 'p' || p::text FROM btexport.projects p UNION ALL SELECT 'g' || g::text FROM btexport.project_grants g"
         " UNION ALL SELECT 'l' || l::text FROM btexport.logs l UNION ALL SELECT 'r' || r.id FROM btexport.runs r"
         " UNION ALL SELECT 'n' || n::text FROM btexport.connections n UNION ALL SELECT 's' || s::text FROM btexport.secrets s) x(t)")
admin = Wire(DB)
baseline = admin.query(STATE)[1][0][0]
with open(LOG, "rb") as f:
    log_start = len(f.read())

# entry points: (name, SQL with $1 for the hostile value, values)
TEXT = corpus.GENERIC + corpus.PARSED
CA = f"SELECT btexport.create_automation(%s)"
BASE = {"name": "'h-new'", "project": "'h-app'", "s3_path": "'s3://h-bucket/new/'", "endpoint": f"'{EP}'",
        "credential": "'h-key'"}


def args(**over):
    a = dict(BASE)
    a.update(over)
    return ", ".join(f"{k if k != 'interval' else chr(34) + k + chr(34)} => {v}" for k, v in a.items())


# the victim's credential and connection, named with their owner: never usable by another role
VICTIM_CRED = [("victim credential", "hostile_victim/victim-key")]
VICTIM_CONN = [("victim connection", "victim-conn"), ("victim connection by owner", "hostile_victim/victim-conn")]
ENTRY = []
for param in ("name", "project", "s3_path", "export_type", "format", "interval", "role_arn", "region", "endpoint",
              "description", "event_type", "credential", "compression", "sse", "part_size", "target_file_size", "layout"):
    ENTRY.append((f"create_automation.{param}", CA % args(**{param: "$1"}), TEXT))
    ENTRY.append((f"test(config).{param}", "SELECT count(*) FROM btexport.test(%s)"
                  % args(**{"endpoint": f"'{MOTO}'", param: "$1"}), TEXT))
    if param not in ("project", "s3_path", "event_type"):
        ENTRY.append((f"update_automation.{param}",
                      f"SELECT btexport.update_automation('h-auto', \"{param}\" => $1)", TEXT))
ENTRY += [
    ("create_automation.external_id", CA % args(role_arn="'arn:aws:iam::123456789012:role/r'", external_id="$1"), TEXT),
    ("create_automation.kms_key_id", CA % args(sse="'aws:kms'", kms_key_id="$1"), TEXT),
    ("create_automation.query", CA % args(export_type="'btql'", query="$1"), corpus.BTQL + corpus.GENERIC),
    ("update_automation.automation", "SELECT btexport.update_automation($1, batch_size => 5)", TEXT),
    ("update_automation.query", "SELECT btexport.update_automation('h-auto', export_type => 'btql', query => $1)",
     corpus.BTQL),
    ("create_automation.batch_size", CA % args(batch_size="$1::int"), [(v, v) for v in corpus.INTS]),
    ("create_automation.max_rows_per_run", CA % args(max_rows_per_run="$1::bigint"), [(v, v) for v in corpus.BIGINTS]),
    ("create_automation.max_failures", CA % args(max_failures="$1::int"), [(v, v) for v in corpus.INTS]),
    ("create_automation.trace_idle", CA % args(trace_idle="$1::interval"), [(v, v) for v in corpus.INTERVALS]),
    ("create_automation.start_from", CA % args(start_from="$1::timestamptz"), [(v, v) for v in corpus.TIMESTAMPS]),
    ("test(name)", "SELECT count(*) FROM btexport.test($1)", TEXT),
    ("run(name)", "SELECT btexport.run($1)", TEXT),
    ("run(name).trigger", "SELECT btexport.run('h-auto', trigger => $1)", TEXT),
    ("run(id)", "SELECT btexport.run($1::bigint)", [(v, v) for v in corpus.BIGINTS]),
    ("pause(name)", "SELECT btexport.pause($1)", TEXT),
    ("pause(id)", "SELECT btexport.pause($1::bigint)", [(v, v) for v in corpus.BIGINTS]),
    ("pause.reason", "SELECT btexport.pause('h-auto', $1)", TEXT),
    ("resume(name)", "SELECT btexport.resume($1)", TEXT),
    ("unschedule(name)", "SELECT btexport.unschedule($1)", TEXT),
    ("drop_automation(name)", "SELECT btexport.drop_automation($1)", TEXT),
    ("drop_automation(id)", "SELECT btexport.drop_automation($1::bigint)", [(v, v) for v in corpus.BIGINTS]),
    ("rewind(name)", "SELECT btexport.rewind($1, now())", TEXT),
    ("rewind.to", "SELECT btexport.rewind('h-auto', $1::timestamptz)", [(v, v) for v in corpus.TIMESTAMPS]),
    ("cancel(id)", "SELECT btexport.cancel($1::bigint)", [(v, v) for v in corpus.BIGINTS]),
    ("rebase_cursor(name)", "SELECT btexport.rebase_cursor($1, 'now')", TEXT),
    ("rebase_cursor(id)", "SELECT btexport.rebase_cursor($1::bigint, 'now')", [(v, v) for v in corpus.BIGINTS]),
    ("rebase_cursor.export_from", "SELECT btexport.rebase_cursor('h-auto', $1)", TEXT),
    ("query", "SELECT count(*) FROM btexport.query($1)", corpus.BTQL + corpus.GENERIC),
    ("query.tz_offset", "SELECT count(*) FROM btexport.query('select: id | from: project_logs(''h-app'')', $1::int)",
     [(v, v) for v in corpus.INTS]),
    ("explain", "SELECT btexport.explain($1)", corpus.BTQL + corpus.GENERIC),
    ("explain(export)", "SELECT btexport.explain($1, true)", corpus.BTQL),
    ("log.project", "SELECT count(*) FROM btexport.log($1, '{\"id\": \"x\"}')", TEXT),
    ("log.events", "SELECT count(*) FROM btexport.log('h-app', $1::jsonb, on_error => 'skip')", corpus.EVENTS),
    ("log.on_error", "SELECT count(*) FROM btexport.log('h-app', '{\"id\": \"x\"}', on_error => $1)", TEXT),
    ("log_text.project", "SELECT count(*) FROM btexport.log_text($1, '{\"id\": \"x\"}')", TEXT),
    ("log_text.events", "SELECT count(*) FROM btexport.log_text('h-app', $1, on_error => 'skip')",
     corpus.EVENTS + corpus.GENERIC),
    ("log_text.events(error)", "SELECT count(*) FROM btexport.log_text('h-app', $1)", corpus.EVENTS),
    ("create_credential.name", f"SELECT btexport.create_credential($1, '{AKID}', 'sec')", TEXT),
    ("create_credential.access_key_id", "SELECT btexport.create_credential('k', $1, 'sec')", TEXT),
    ("create_credential.secret", f"SELECT btexport.create_credential('k', '{AKID}', $1)", TEXT),
    ("create_credential.session_token", f"SELECT btexport.create_credential('k', '{AKID}', 'sec', $1)", TEXT),
    ("drop_credential", "SELECT btexport.drop_credential($1)", TEXT),
    ("update_credential.name", f"SELECT btexport.update_credential($1, '{AKID}', 'sec')", TEXT + VICTIM_CRED),
    ("update_credential.access_key_id", "SELECT btexport.update_credential('h-key', $1, 'sec')", TEXT),
    ("update_credential.secret", f"SELECT btexport.update_credential('h-key', '{AKID}', $1)", TEXT),
    ("update_credential.session_token", f"SELECT btexport.update_credential('h-key', '{AKID}', 'sec', $1)", TEXT),
    # Braintrust connections (docs/braintrust-source.md): no value reaches the network (lookups and checks
    # fail first, or the call stores a connection, rolled back)
    ("create_connection.name", "SELECT btexport.create_connection($1, 'sk-key')", TEXT),
    ("create_connection.api_key", "SELECT btexport.create_connection('c', $1)", TEXT),
    ("create_connection.org_name", "SELECT btexport.create_connection('c', 'sk-key', org_name => $1)", TEXT),
    ("create_connection.app_url", "SELECT btexport.create_connection('c', 'sk-key', app_url => $1)", TEXT),
    ("create_connection.api_url", "SELECT btexport.create_connection('c', 'sk-key', api_url => $1)", TEXT),
    ("update_connection.connection", "SELECT btexport.update_connection($1, api_key => 'sk-new')", TEXT + VICTIM_CONN),
    ("update_connection.api_key", "SELECT btexport.update_connection('h-conn', api_key => $1)", TEXT),
    ("update_connection.org_name", "SELECT btexport.update_connection('h-conn', org_name => $1)", TEXT),
    ("update_connection.app_url", "SELECT btexport.update_connection('h-conn', app_url => $1)", TEXT),
    ("update_connection.api_url", "SELECT btexport.update_connection('h-conn', api_url => $1)", TEXT),
    ("drop_connection", "SELECT btexport.drop_connection($1)", TEXT + VICTIM_CONN),
    ("query(connection).connection", "SELECT count(*) FROM btexport.query($1, 'select: id')", TEXT + VICTIM_CONN),
    ("create_automation.connection", CA % args(connection="$1"), TEXT + VICTIM_CONN),
    ("create_automation.remote_project", CA % args(connection="'h-conn'", project="$1"), TEXT),
    ("create_automation.requests_per_minute", CA % args(connection="'h-conn'", requests_per_minute="$1::int"),
     [(v, v) for v in corpus.INTS]),
    ("create_project", "SELECT btexport.create_project($1)", TEXT),
    ("generate_sample_data.project", "SELECT btexport.generate_sample_data($1, traces => 1)", TEXT),
    ("grant_project.project", "SELECT btexport.grant_project($1, 'btexport_user', 'read')", TEXT),
    ("grant_project.role", "SELECT btexport.grant_project('h-app', $1, 'read')", TEXT),
    ("grant_project.privilege", "SELECT btexport.grant_project('h-app', 'btexport_user', $1)", TEXT),
    ("revoke_project.project", "SELECT btexport.revoke_project($1, 'btexport_user', 'read')", TEXT),
    ("revoke_project.role", "SELECT btexport.revoke_project('h-app', $1, 'read')", TEXT),
    ("set_project_owner.project", "SELECT btexport.set_project_owner($1, 'hostile_user')", TEXT),
    ("set_project_owner.owner", "SELECT btexport.set_project_owner('h-app', $1)", TEXT),
    ("reassign_owned", "SELECT btexport.reassign_owned($1::regrole, 'hostile_user')", [("victim", "hostile_victim")]),
]


# values an entry point must refuse (docs/security.md "Outbound network"): by label prefix
MUST_REJECT = {
    "create_automation.endpoint": ("endpoint ", "s3 path", "arn ", "sql injection", "path traversal", "control"),
    "create_automation.s3_path": ("s3 path", "path traversal", "dot segments", "control", "newline"),
    "create_automation.external_id": ("external id", "control", "unicode", "sql injection", "newline"),
    "create_automation.role_arn": ("arn ", "control", "newline"),
    "create_automation.region": ("region ", "control", "newline"),
    "create_automation.kms_key_id": ("kms ", "control", "newline"),
    "create_automation.name": ("control", "newline", "number-like", "huge number-like"),
    "create_project": ("control", "newline", "uuid-like", "long 1 MB", "huge 8 MB", "huge multibyte"),
    "update_credential.name": ("victim",),
    "update_connection.connection": ("victim",),
    "drop_connection": ("victim",),
    "query(connection).connection": ("victim",),
    "create_automation.connection": ("victim",),
    "create_connection.app_url": ("endpoint ", "control", "newline", "sql injection", "path traversal"),
    "create_connection.api_url": ("endpoint ", "control", "newline", "sql injection", "path traversal"),
    "update_connection.app_url": ("endpoint ", "control", "newline", "sql injection", "path traversal"),
    "update_connection.api_url": ("endpoint ", "control", "newline", "sql injection", "path traversal"),
    "create_connection.api_key": ("empty", "space", "whitespace", "control", "newline"),
}


def private_peak_kb(pid):
    """The backend's peak resident memory since the last reset, less the shared memory and file
    pages it maps now (those only grow): an estimate of its peak private (anonymous) memory."""
    v = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            k, _, rest = line.partition(":")
            if k in ("VmHWM", "RssFile", "RssShmem"):
                v[k] = int(rest.split()[0])
    return v.get("VmHWM", 0) - v.get("RssFile", 0) - v.get("RssShmem", 0)


def reset_peak(pid):
    try:
        with open(f"/proc/{pid}/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def valid_jsonb(v):
    return admin.extended("SELECT $1::jsonb", [v]) is None


hostile = Wire(DB, "hostile_user")
can_reset = reset_peak(hostile.pid)
calls = 0
for name, sql, values in ENTRY:
    t0 = time.time()
    bad_state, bad_error, crashed, too_big, accepted, rejected = [], [], [], [], 0, 0
    for label, value in values:
        if "::jsonb" in sql and not valid_jsonb(value):
            continue        # PostgreSQL's jsonb input refuses it before btexport is called
        calls += 1
        nbytes = len(value.encode())
        reset_peak(hostile.pid)
        try:
            hostile.query("BEGIN")
            err = hostile.extended(sql, [value])
            hostile.query("ROLLBACK")
        except (ConnectionError, OSError) as e:
            crashed.append(f"{label}: {e}")
            hostile = Wire(DB, "hostile_user")
            continue
        peak_mb = private_peak_kb(hostile.pid) / 1024
        if can_reset and peak_mb > 64 + 24 * nbytes / (1 << 20):
            too_big.append(f"{label} ({nbytes} bytes): {peak_mb:.0f} MB")
        if err is None:
            accepted += 1
            if label.startswith(MUST_REJECT.get(name, ())):
                bad_error.append(f"{label}: accepted, must be refused")
        else:
            rejected += 1
            code = err.get("C", "")
            typed_input = code.startswith("22") and "::" in sql and not err.get("W")
            if code == "XX000" or code[:2] in INTERNAL or (not err.get("H") and not typed_input):
                bad_error.append(f"{label}: {code} {err.get('M', '')[:150]} (hint: {err.get('H', '')[:60]!r})")
        state = admin.query(STATE)[1][0][0]
        if state != baseline:
            bad_state.append(label)
            baseline = state
    ok = not (bad_state or bad_error or crashed or too_big)
    print(f"# {name}: {time.time() - t0:.1f} s")
    check(f"{name}: {accepted + rejected} hostile values ({rejected} rejected): specific SQLSTATE and hint, "
          "nothing changed, no crash, memory bounded", ok,
          "; ".join(bad_error[:4] + [f"changed state: {x}" for x in bad_state[:3]] + [f"crash: {x}" for x in crashed[:2]]
                    + [f"memory: {x}" for x in too_big[:3]]))

with open(LOG, "rb") as f:
    f.seek(log_start)
    tail = f.read().decode("utf-8", "replace")
sig = [l for l in tail.split("\n") if "terminated by signal" in l]
check(f"the server survived all {calls} calls: no process terminated by a signal", not sig, "\n".join(sig[:5]))
check("the peak-RSS measurement works here (/proc/<pid>/clear_refs)", can_reset)
check("the victim's automation, credential, connection and span are untouched",
      psql("SELECT count(*) FROM btexport.automations WHERE name = 'victim-auto' AND owner = 'hostile_victim'::regrole").strip() == "1"
      and psql("SELECT count(*) FROM btexport.connections WHERE name = 'victim-conn' AND owner = 'hostile_victim'::regrole").strip() == "1"
      and psql("SELECT input #>> '{}' FROM btexport.logs WHERE id = 'v1'").strip() == "victim data")
hostile.close()
admin.close()
psql("ALTER SYSTEM RESET btexport.allowed_endpoints; SELECT pg_reload_conf()")
finish()
