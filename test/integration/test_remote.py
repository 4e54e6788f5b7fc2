"""The remote source (docs/braintrust-source.md) against the Braintrust API test double
(test/harness/braintrust_double.py, the only fake here; S3 is moto): a connection, automations for
spans, traces and btql in JSON Lines and Parquet, tested and run, the rows in S3 compared with the
double's by id and value; updates that keep their pagination key, late-visible rows and deletes;
the status, progress and run history of remote runs; btexport.query against a connection; every
error class of btexport.test with Braintrust's status, message and hint, and as a failed run; the
outbound rules for non-superusers; the API key in no column, view, dump, NOTIFY or pg_cron command."""
import json
import os
import re
import secrets
import subprocess
import tempfile

from lib import (check, finish, fresh_db, psql, psql_json, list_keys, get_object, setup_credential,
                 braintrust_double, run_psql)

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DB = fresh_db("btx_remote")
EP = os.environ["MOTO_ENDPOINT"]
SDK = "0b6f3a52-8f5e-4c1a-b1d2-3e4f5a6b7c8d"
GLOBEX = "5e6f7a8b-9c0d-4e1f-8a2b-3c4d5e6f7a8b"
setup_credential("moto")
D = braintrust_double()
SECRET = "sk-remote-" + secrets.token_hex(24)
D.ctl("/control/keys", {SECRET: ["acme"]})
psql(f"SELECT btexport.create_connection('bt', '{SECRET}', app_url => '{D.url}')")


def auto(name, export_type="logs_spans", fmt="jsonl", project="sdk-capture", conn="bt", extra=""):
    return psql_json(f"""SELECT row_to_json(a) FROM btexport.create_automation('{name}', '{project}',
        's3://test-bucket/remote/{name}/', connection => '{conn}', export_type => '{export_type}', format => '{fmt}',
        endpoint => '{EP}', credential => 'moto', requests_per_minute => 6000 {extra}) a""")[0]


def run(name):
    return psql_json(f"SELECT row_to_json(r) FROM btexport.run('{name}') r")[-1]


def test_rows(args):
    return {r["step"]: r for r in psql_json(f"SELECT row_to_json(t) FROM btexport.test({args}) t")}


def jsonl_rows(name, run_id=None):
    where = f"run_id = {run_id}" if run_id else f"automation_id = (SELECT id FROM btexport.automations WHERE name = '{name}')"
    keys = psql(f"SELECT key FROM btexport.run_files WHERE {where} ORDER BY run_id, seq").split()
    out = []
    for k in keys:
        out += [json.loads(x) for x in get_object("test-bucket", k).decode().split("\n") if x]
    return out


def parquet_rows(name, cols):
    keys = psql(f"""SELECT key FROM btexport.run_files WHERE automation_id =
                    (SELECT id FROM btexport.automations WHERE name = '{name}') ORDER BY run_id, seq""").split()
    out = []
    with tempfile.TemporaryDirectory() as d:
        for i, k in enumerate(keys):
            f = os.path.join(d, f"{i}.parquet")
            open(f, "wb").write(get_object("test-bucket", k))
            p = subprocess.run(["node", os.path.join(ROOT, "test", "harness", "duckq.mjs"),
                                f"SELECT {cols} FROM read_parquet('{f}')"], capture_output=True, text=True,
                               cwd=os.path.join(ROOT, "test"))
            if p.returncode != 0:
                raise RuntimeError(p.stderr)
            out += [json.loads(x) for x in p.stdout.split("\n") if x]
    return out


def norm(v):
    """JSON values compared as a reader sees them: every number as a float (jsonb writes 1e+21 as
    digits); a NUL character as U+FFFD (jsonb cannot hold U+0000: the remote source replaces it)"""
    if isinstance(v, str):
        return v.replace("\x00", "\ufffd")
    if isinstance(v, bool) or v is None:
        return v
    if isinstance(v, (int, float)):
        return float(v)
    if isinstance(v, list):
        return [norm(x) for x in v]
    return {k: norm(x) for k, x in v.items()}


def visible(pid=SDK):
    return [r for r in D.rows(pid) if not r.get("_object_delete")]


# ---- a connection, and automations of every export type and format ----------------------------
info = psql_json("SELECT row_to_json(c) FROM btexport.connections_info c")
check("connections_info shows the connection without its key",
      len(info) == 1 and info[0]["name"] == "bt" and info[0]["has_api_key"] and SECRET not in json.dumps(info)
      and set(info[0]) == {"name", "owner", "org_name", "app_url", "api_url", "has_api_key", "created", "updated"},
      json.dumps(info))
t = test_rows(f"""name => 't', project => 'sdk-capture', s3_path => 's3://test-bucket/remote/t/', connection => 'bt',
                 endpoint => '{EP}', credential => 'moto'""")
check("test(...) of a connection: login, project and a one-row query before the S3 steps, all ok",
      list(t) == ["configuration", "login", "project", "query", "credentials", "put", "head", "delete"]
      and all(r["ok"] for r in t.values()) and "acme" in t["login"]["detail"] and SDK in t["project"]["detail"],
      json.dumps(t)[:800])

expected_spans = {(r["id"], r["_xact_id"]) for r in visible()}
a = auto("rs-jsonl")
check("create_automation with a connection: project kept as given, no local project, the budget",
      a["connection"] == "bt" and a["remote_project"] == "sdk-capture" and a["project_id"] is None
      and a["requests_per_minute"] == 6000 and a["source_position"] is None, json.dumps(a)[:400])
r = run("rs-jsonl")
got = jsonl_rows("rs-jsonl")
check("spans as JSON Lines: every visible span version of the project once",
      r["status"] == "succeeded" and r["rows"] == len(expected_spans)
      and sorted((x["id"], str(x["_xact_id"])) for x in got) == sorted(expected_spans),
      json.dumps(r)[:400])
byid = {x["id"]: x for x in visible()}
ok = all(norm(g["input"]) == norm(byid[g["id"]].get("input")) and norm(g["output"]) == norm(byid[g["id"]].get("output"))
         and g["trace_id"] == byid[g["id"]]["root_span_id"] and g["project_id"] == SDK for g in got)
check("...with the double's values (input, output, trace id, project)", ok)
check("the run records the API requests it made and the positions it moved between",
      r["api_requests"] == 4 and r["position_from"] is None and json.loads(r["position_to"])["horizon"] is None
      and json.loads(r["position_to"])["xact_id"] == max(x for _, x in expected_spans), json.dumps(r)[:600])
st = psql_json("SELECT row_to_json(s) FROM btexport.status s WHERE name = 'rs-jsonl'")[0]
check("status: the remote source, the position the next run starts at, the last run's API requests",
      st["source"] == "Braintrust connection bt" and st["project"] == "sdk-capture"
      and st["source_position"] == r["position_to"] and st["last_run_api_requests"] == 4 and st["lag_rows"] is None,
      json.dumps(st)[:600])
pinned = psql("SELECT remote_project_id FROM btexport.automations WHERE name = 'rs-jsonl'").strip()
check("the project's id is pinned by the first run", pinned == SDK, pinned)
man = json.loads(get_object("test-bucket", r["manifest_key"]))
check("the manifest names the connection and the positions", man["project_id"] == SDK
      and man["source"] == {"connection": "bt", "position_from": None, "position_to": r["position_to"]}, json.dumps(man)[:500])
r2 = run("rs-jsonl")
check("a run with nothing new: one empty page, no file", r2["status"] == "succeeded" and r2["rows"] == 0
      and r2["files"] == 0 and r2["api_requests"] == 2, json.dumps(r2)[:300])

a = auto("rs-parquet", fmt="parquet")
r = run("rs-parquet")
pq = parquet_rows("rs-parquet", "id, _xact_id::VARCHAR AS x, trace_id, input::VARCHAR AS input")
check("spans as Parquet: every visible version once, with the double's values",
      r["status"] == "succeeded" and sorted((x["id"], x["x"]) for x in pq) == sorted(expected_spans)
      and all(norm(json.loads(x["input"])) == norm(byid[x["id"]].get("input")) for x in pq if x["input"] is not None),
      json.dumps(r)[:300])

traces = {x["root_span_id"] for x in visible()}
for fmt in ("jsonl", "parquet"):
    name = f"rt-{fmt}"
    auto(name, export_type="logs_traces", fmt=fmt, extra=", trace_idle => '0 seconds'")
    r = run(name)
    rows = jsonl_rows(name) if fmt == "jsonl" else parquet_rows(name, "id, span_count")
    counts = {}
    for x in visible():
        counts[x["root_span_id"]] = counts.get(x["root_span_id"], 0) + 1
    check(f"traces as {fmt}: one row per trace, over all its spans",
          r["status"] == "succeeded" and sorted(x["id"] for x in rows) == sorted(traces)
          and all(int(x["span_count"]) == counts[x["id"]] for x in rows), json.dumps(r)[:300])

BTQL = "select: id, metadata.scenario, scores.exact_match AS em | from: project_logs(''sdk-capture'') | filter: is_root"
roots = {x["id"]: x for x in visible() if x.get("is_root")}
for fmt in ("jsonl", "parquet"):
    name = f"rb-{fmt}"
    auto(name, export_type="btql", fmt=fmt, extra=f", query => '{BTQL}'")
    r = run(name)
    rows = jsonl_rows(name) if fmt == "jsonl" else [
        dict(x, scenario=json.loads(x["scenario"]) if x["scenario"] is not None else None)   # a jsonb column
        for x in parquet_rows(name, "id, scenario, em, _xact_id::VARCHAR AS _xact_id")]
    ok = sorted(x["id"] for x in rows) == sorted(roots) and all(
        x["scenario"] == (roots[x["id"]].get("metadata") or {}).get("scenario")
        and (x["em"] is None if (roots[x["id"]].get("scores") or {}).get("exact_match") is None
             else float(x["em"]) == float(roots[x["id"]]["scores"]["exact_match"]))
        and str(x["_xact_id"]) == roots[x["id"]]["_xact_id"] for x in rows)
    check(f"btql as {fmt}: Braintrust runs the query (select with aliases, filter); the compiler's columns",
          r["status"] == "succeeded" and ok and (fmt == "parquet" or list(rows[0]) == ["id", "scenario", "em", "_xact_id"]),
          json.dumps(r)[:300] + json.dumps(rows[:2]))
qs = [x["query"] for x in D.requests() if x["path"] == "/btql" and x["query"] and "is_root" in x["query"]]
check("the btql query is sent with the window's conjuncts, the sort and the limit, and the pager's fields",
      qs and qs[0].startswith("select: id, metadata.scenario, scores.exact_match AS em, _xact_id, _pagination_key, _object_delete\n")
      and "\nfilter: ( is_root)" in qs[0] and qs[0].endswith("sort: _pagination_key asc\nlimit: 1000"), repr(qs[:1]))

# ---- updates that keep or change their key, late-visible rows, deletes -----------------------
ids = sorted(byid)
x1 = D.ctl("/control/update", {"project_id": SDK, "id": ids[0], "patch": {"scores": {"late": 1}}})["xact_id"]
x2 = D.ctl("/control/update", {"project_id": SDK, "id": ids[1], "patch": {"metadata": {"fb": "ok"}}, "change_key": True})["xact_id"]
r = run("rs-jsonl")
got = jsonl_rows("rs-jsonl", r["id"])
check("an update is exported again as its new version, whether its _pagination_key changed or not",
      r["status"] == "succeeded" and sorted((g["id"], str(g["_xact_id"])) for g in got) == sorted([(ids[0], x1), (ids[1], x2)])
      and [g for g in got if g["id"] == ids[0]][0]["scores"]["late"] == 1, json.dumps(got)[:400])
D.ctl("/control/freshness", {"hold": True})
late = D.ctl("/control/rows", {"project_id": SDK, "rows": [{"id": "late-1", "span_id": "ls1", "root_span_id": "lr1",
                                                            "input": "late"}]})["xact_ids"][0]
r = run("rs-jsonl")
check("a row the index has not processed yet is not exported (nor skipped)", r["status"] == "succeeded" and r["rows"] == 0,
      json.dumps(r)[:300])
D.ctl("/control/freshness", {"hold": False})
r = run("rs-jsonl")
got = jsonl_rows("rs-jsonl", r["id"])
check("...a later run exports it once it is visible", [(g["id"], str(g["_xact_id"])) for g in got] == [("late-1", late)],
      json.dumps(got)[:300])
dx = D.ctl("/control/delete", {"project_id": SDK, "ids": [ids[2]]})["xact_ids"][0]
r = run("rs-jsonl")
pos = json.loads(psql("SELECT source_position FROM btexport.automations WHERE name = 'rs-jsonl'"))
check("a delete (_object_delete) never stops a run: nothing is written for it and the position moves past it",
      r["status"] == "succeeded" and r["rows"] == 0 and pos["xact_id"] == dx, json.dumps(r)[:300] + json.dumps(pos))
allrows = jsonl_rows("rs-jsonl")
vkeys = [(g["id"], str(g["_xact_id"])) for g in allrows]
latest = {}
for i, x in vkeys:
    latest[i] = max(latest.get(i, x), x)
real = {(v["id"], v["_xact_id"]) for v in D.versions(SDK) if not v["deleted"]}
check("over all its runs the automation exported every version once: no duplicate, each a real version,"
      " the current version of every visible span the last one",
      len(vkeys) == len(set(vkeys)) and set(vkeys) <= real
      and {(i, x) for i, x in latest.items() if i != ids[2]} == {(v["id"], v["_xact_id"]) for v in visible()},
      f"{len(vkeys)} exported")

# ---- btexport.query against a connection --------------------------------------------------------
q = psql_json(f"SELECT btexport.query('bt', 'select: id, is_root | from: project_logs(''{SDK}'') | filter: is_root | limit: 3')")
check("btexport.query(connection, btql): Braintrust's rows as jsonb", len(q) == 3 and all(x["is_root"] for x in q), json.dumps(q))
q = psql_json(f"""SELECT btexport.query(connection => 'bt', btql => 'select: id | from: project_logs(''{SDK}'') | limit: 1',
                   tz_offset => 480)""")
body = [x for x in D.requests() if x["path"] == "/btql"][-1]
check("...named arguments, and tz_offset sent", len(q) == 1 and body["status"] == 200)

# ---- every error class, with Braintrust's status and message and a hint that names the fix -----


def conn(name, key, **kw):
    args = "".join(f", {k} => '{v}'" for k, v in kw.items())
    psql(f"SELECT btexport.create_connection('{name}', '{key}', app_url => '{D.url}'{args})")


def failing_step(conn_name, project="sdk-capture", step="login", extra=""):
    t = test_rows(f"""name => 'e', project => '{project}', s3_path => 's3://test-bucket/remote/e/', connection => '{conn_name}',
                     endpoint => '{EP}', credential => 'moto' {extra}""")
    return t[step], t


conn("badkey", "sk-not-a-key")
s, t = failing_step("badkey")
check("invalid key: login fails with HTTP 401, Braintrust's message, a hint to create a key",
      not s["ok"] and "HTTP 401" in s["detail"] and "Invalid API key" in s["detail"] and "API keys" in s["hint"]
      and not t["project"]["ok"] and t["put"]["ok"], json.dumps(s))
conn("wrongorg", "sk-acme", org_name="initech")
s, _ = failing_step("wrongorg")
check("wrong organization: the key's organizations are listed, with a hint",
      not s["ok"] and "initech" in s["detail"] and "acme" in s["detail"] and s["hint"], json.dumps(s))
conn("multi", "sk-multi")
s, _ = failing_step("multi")
check("a key of several organizations without org_name: they are listed, the hint names org_name",
      not s["ok"] and "acme" in s["detail"] and "globex" in s["detail"] and "org" in s["hint"].lower(), json.dumps(s))
s, _ = failing_step("bt", project="no-such-project", step="project")
check("project not found: 42704-style error naming the project, a hint on name, organization and access",
      not s["ok"] and "no-such-project" in s["detail"] and "not found" in s["detail"] and "case" in s["hint"], json.dumps(s))
s, _ = failing_step("bt", project=GLOBEX, step="query")
check("project not visible to this key: HTTP 403 with Braintrust's message and a hint to grant read access",
      not s["ok"] and "HTTP 403" in s["detail"] and "permission" in s["detail"] and "read access" in s["hint"], json.dumps(s))
s, _ = failing_step("bt", project="0c9f4d2e-6a51-4b8e-93d7-000000000000", step="query")
check("project id unknown: HTTP 404, with a hint on the id, the organization and the API URL",
      not s["ok"] and "HTTP 404" in s["detail"] and "not found" in s["detail"] and "API URL" in s["hint"], json.dumps(s))
psql("SELECT btexport.create_connection('nowhere', 'sk-acme', api_url => 'http://127.0.0.1:9')")
s, t = failing_step("nowhere", step="project")
check("data plane unreachable: the login is skipped (explicit API URL), the lookup fails with a network error and a hint",
      t["login"]["ok"] and "no login" in t["login"]["detail"] and not s["ok"]
      and ("connect" in s["detail"] or "connection" in s["detail"]) and "unreachable" in s["hint"], json.dumps(t)[:800])
s, _ = failing_step("bt", step="query", extra=", export_type => 'btql', query => 'select: id | from: project_logs(''sdk-capture'') | filter: tags includes ''x'''")
check("a query Braintrust rejects: HTTP 400 with its message and a hint on the filter",
      not s["ok"] and "HTTP 400" in s["detail"] and "Invalid BTQL" in s["detail"] and "filter" in s["hint"], json.dumps(s))
auto("rfail", conn="badkey")
r = run("rfail")
check("a failing run records SQLSTATE, the HTTP status, Braintrust's message and the hint",
      r["status"] == "failed" and r["error_sqlstate"] == "38000" and "HTTP 401" in r["error_message"]
      and "Invalid API key" in r["error_detail"] and "API keys" in r["error_hint"] and r["api_requests"] == 1
      and SECRET not in json.dumps(r), json.dumps(r)[:600])

for bad, state, what in (("SELECT btexport.create_connection('x y', 'sk-acme')", "22023", "name"),
                         ("SELECT btexport.create_connection('x', 'sk acme')", "22023", "key with a space"),
                         (f"SELECT btexport.create_connection('bt', 'sk-acme', app_url => '{D.url}')", "42710", "duplicate"),
                         ("SELECT btexport.create_connection('x', 'sk-acme', app_url => 'ftp://h')", "22023", "scheme"),
                         ("SELECT btexport.drop_connection('bt')", "2BP01", "used by an automation"),
                         ("SELECT btexport.update_connection('nope', api_key => 'sk-x1234')", "42704", "unknown"),
                         ("SELECT btexport.create_automation('z', 'p', 's3://test-bucket/z/', connection => 'nope')", "42704", "unknown connection"),
                         ("SELECT btexport.create_automation('z', 'p', 's3://test-bucket/z/', connection => 'bt', start_from => now())", "0A000", "start_from"),
                         ("SELECT btexport.create_automation('z', 'p', 's3://test-bucket/z/', requests_per_minute => 5)", "22023", "budget without a connection"),
                         ("SELECT btexport.create_automation('z', 'p', 's3://test-bucket/z/', connection => 'bt', export_type => 'btql', query => 'select: id | from: project_logs(''p'') | sort: id')", "0A000", "btql sort"),
                         ("SELECT btexport.create_automation('z', 'p', 's3://test-bucket/z/', connection => 'bt', export_type => 'btql', query => 'select: id | from: project_logs(''other'')')", "22023", "btql other project")):
    rc, out, err = run_psql(f"\\set VERBOSITY verbose\n{bad}")
    check(f"refused with {state} and a hint: {what}", rc != 0 and state in err and "HINT" in err, err[:400])
rc, out, err = run_psql("SET btexport.allow_http = off; SELECT btexport.create_connection('plain', 'sk-acme', app_url => 'http://h:1')")
check("plain http is refused unless btexport.allow_http (a superuser setting)", rc != 0 and "allow_http" in err, err[:300])

# rotate the key in place: the next run uses the new one
NEW = "sk-rotated-" + secrets.token_hex(16)
D.ctl("/control/keys", {NEW: ["acme"]})
psql(f"SELECT btexport.update_connection('badkey', api_key => '{NEW}')")
r = run("rfail")
check("update_connection rotates the key in place: the failing automation now runs", r["status"] == "succeeded", json.dumps(r)[:300])
check("the old key's secret is gone (one secret per connection, one or two per credential: the one secret store)",
      psql("""SELECT (SELECT count(*) FROM btexport.secrets) = (SELECT count(*) FROM btexport.connections)
                     + (SELECT count(*) + count(token_secret) FROM btexport.credentials)""").strip() == "t")

# ---- outbound rules for non-superusers -------------------------------------------------------------
psql("DROP ROLE IF EXISTS rem_user; CREATE ROLE rem_user LOGIN; GRANT btexport_user TO rem_user")
rc, out, err = run_psql(f"SELECT btexport.create_connection('mine', 'sk-acme', app_url => '{D.url}')", user="rem_user")
check("a non-superuser may not use a host outside btexport.allowed_endpoints (42501, with a hint)",
      rc != 0 and "allowed_endpoints" in err and "42501" in run_psql(f"\\set VERBOSITY verbose\nSELECT btexport.create_connection('mine', 'sk-acme', app_url => '{D.url}')", user="rem_user")[2], err[:300])
psql(f"ALTER SYSTEM SET btexport.allowed_endpoints = '{D.url}, {EP}'; SELECT pg_reload_conf()")
import time  # noqa: E402
for _ in range(50):
    if psql("SHOW btexport.allowed_endpoints", user="rem_user").strip().startswith(D.url):
        break
    time.sleep(0.1)
psql(f"SELECT btexport.create_connection('mine', 'sk-acme', app_url => '{D.url}')", user="rem_user")
psql("SELECT btexport.create_credential('moto2', '%s', '%s')" % (os.environ["BTX_AKID"], os.environ["BTX_SECRET"]), user="rem_user")
other = D.url.replace("127.0.0.1", "localhost")
D.ctl("/control/config", {"login_api_url": other})
t = {r["step"]: r for r in psql_json(f"""SELECT row_to_json(t) FROM btexport.test(name => 'u', project => 'sdk-capture',
        s3_path => 's3://test-bucket/remote/u/', connection => 'mine', endpoint => '{EP}', credential => 'moto2') t""",
                                     user="rem_user")}
check("the API URL a login returns is checked too: a host outside allowed_endpoints is refused before any request to it",
      not t["project"]["ok"] and "localhost" in t["project"]["detail"] and "allowed_endpoints" in t["project"]["hint"]
      and not any(x["host"].startswith("localhost") for x in D.requests()), json.dumps(t)[:600])
D.ctl("/control/config", {"login_api_url": None})
t = {r["step"]: r for r in psql_json(f"""SELECT row_to_json(t) FROM btexport.test(name => 'u', project => 'sdk-capture',
        s3_path => 's3://test-bucket/remote/u/', connection => 'mine', endpoint => '{EP}', credential => 'moto2') t""",
                                     user="rem_user")}
check("...and allowed once it is listed", t["project"]["ok"] and t["query"]["ok"], json.dumps(t)[:400])
rc, out, err = run_psql(f"""SELECT btexport.create_automation('theirs', 'sdk-capture', 's3://test-bucket/remote/theirs/',
                             connection => 'bt', endpoint => '{EP}', credential => 'moto2')""", user="rem_user")
check("another role's connection cannot be used (it does not exist for them)", rc != 0 and "does not exist" in err, err[:300])
check("nor seen", psql("SELECT count(*) FROM btexport.connections_info", user="rem_user").strip() == "1")
rc, out, err = run_psql("SELECT * FROM btexport.connections", user="rem_user")
rc2, out2, err2 = run_psql("SELECT * FROM btexport.secrets", user="rem_user")
check("btexport.connections and btexport.secrets are not readable by an ordinary role",
      rc != 0 and rc2 != 0 and "permission denied" in err and "permission denied" in err2, err + err2)

# a team's connection: usable by its members (as a credential is), and by nobody once the membership goes
psql("DO $$BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'rem_team') THEN CREATE ROLE rem_team; END IF;"
     " IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'rem_member') THEN CREATE ROLE rem_member LOGIN; END IF; END$$;"
     " GRANT btexport_user TO rem_team, rem_member; GRANT rem_team TO rem_member")
psql(f"SET ROLE rem_team; SELECT btexport.create_connection('team', 'sk-acme', app_url => '{D.url}')", user="rem_member")
psql("SELECT btexport.create_credential('moto3', '%s', '%s')" % (os.environ["BTX_AKID"], os.environ["BTX_SECRET"]),
     user="rem_member")
psql(f"""SELECT btexport.create_automation('team-auto', 'sdk-capture', 's3://test-bucket/remote/team-auto/',
         connection => 'team', endpoint => '{EP}', credential => 'moto3', requests_per_minute => 6000)""", user="rem_member")
r = psql_json("SELECT row_to_json(r) FROM btexport.run('team-auto') r", user="rem_member")[-1]
check("a member of the connection's owner role may use it (an automation of hers runs through it)",
      r["status"] == "succeeded" and r["rows"] > 0, json.dumps(r)[:300])
psql("REVOKE rem_team FROM rem_member")
r = psql_json("SELECT row_to_json(r) FROM btexport.run('team-auto') r", user="rem_member")[-1]
check("once the membership is revoked her run fails (42501, a hint) and exports nothing more",
      r["status"] == "failed" and r["error_sqlstate"] == "42501" and "may not use Braintrust connection" in r["error_message"]
      and r["error_hint"] and r["rows"] == 0, json.dumps(r)[:400])
for sql in ("SELECT btexport.update_connection('rem_team/team', api_key => 'sk-stolen')",
            "SELECT btexport.drop_connection('rem_team/team')",
            "SELECT count(*) FROM btexport.query('rem_team/team', 'select: id | from: project_logs(''sdk-capture'')')"):
    rc, out, err = run_psql(sql, user="rem_member")
    check(f"... nor update, drop or query it by '<owner>/<name>': {sql[16:40]}", rc != 0 and "does not exist" in err, err[:300])
psql("SELECT btexport.drop_automation('team-auto')", user="rem_member")
psql("SET ROLE rem_team; SELECT btexport.drop_connection('team')")
psql("ALTER SYSTEM RESET btexport.allowed_endpoints; SELECT pg_reload_conf()")

# ---- docs/braintrust-source.md: every SQL example runs as written ---------------------------------
# Changed, and nothing else: the key placeholder 'sk-...' becomes a key of the double, Braintrust's URLs
# the double's, 's3://your-bucket-name/...' a prefix of test-bucket with moto's endpoint; the project
# 'Support Bot' (with the id the examples name) exists in the double; the credential prod-writer here.
DOC_PROJECT = "0c9f4d2e-6a51-4b8e-93d7-5e2f1a7b8c04"
D.ctl("/control/project", {"name": "Support Bot", "org": "acme", "id": DOC_PROJECT})
D.ctl("/control/generate", {"project_id": DOC_PROJECT, "traces": 5, "spans": 3, "seed": 9})
psql("SELECT btexport.create_credential('prod-writer', '%s', '%s')" % (os.environ["BTX_AKID"], os.environ["BTX_SECRET"]))
doc = open(os.path.join(ROOT, "docs", "braintrust-source.md"), encoding="utf-8").read()
blocks = re.findall(r"\n```sql\n(.*?)\n```", doc, re.S)


def doc_sql(sql):
    sql = sql.replace("'sk-...'", "'sk-acme'")
    sql = sql.replace("'https://api-eu.braintrust.dev'", f"'{D.url}'")
    sql = re.sub(r"(create_connection\('braintrust', 'sk-acme')\)", lambda m: m.group(1) + f", app_url => '{D.url}')", sql)
    return re.sub(r"'s3://your-bucket-name/([^']*)'", lambda m: f"'s3://test-bucket/doc/{m.group(1)}', endpoint => '{EP}'", sql)


outs = []
for b in blocks:
    rc, out, err = run_psql(doc_sql(b))
    outs.append(out)
    check(f"docs/braintrust-source.md: the example runs: {b.strip().splitlines()[-1][:70]}", rc == 0, err[:400])
check("docs/braintrust-source.md: the five-minute example tests, saves and runs the automation",
      len(blocks) >= 5 and "succeeded" in outs[0] and "login|t" in outs[0].replace(" ", ""), outs[0][:600])

# ---- the key is in no column, view, dump, NOTIFY or pg_cron command --------------------------------
rels = psql("""SELECT c.oid::regclass FROM pg_class c WHERE c.relnamespace = 'btexport'::regnamespace
               AND c.relkind IN ('r', 'v') AND c.relname <> 'secrets'""").split()
hits = [rel for rel in rels if psql(f"SELECT count(*) FROM {rel} t WHERE t::text LIKE '%{SECRET[10:]}%'").strip() != "0"]
check(f"no table or view of btexport but btexport.secrets holds the key ({len(rels)} searched)", hits == [], repr(hits))
dump = subprocess.run(["pg_dump", "-d", DB], capture_output=True, text=True)
check("pg_dump holds the connection but never a key", dump.returncode == 0 and SECRET not in dump.stdout
      and NEW not in dump.stdout and re.search(r"COPY btexport\.connections .*\n(.*\n)*bt\t", dump.stdout) is not None,
      dump.stderr[:300])
rc, out, err = run_psql("LISTEN btexport; SELECT (btexport.run('rs-jsonl')).status; SELECT 1;", args=("-e",))
check("NOTIFY payloads of remote runs hold no key", "Asynchronous notification" in out + err and SECRET not in out + err,
      (out + err)[:300])
psql("CREATE EXTENSION IF NOT EXISTS pg_cron", db="postgres")
psql("CREATE EXTENSION IF NOT EXISTS btexport", db="postgres")
if psql("SELECT count(*) FROM btexport.credentials_info WHERE name = 'moto'", db="postgres").strip() == "0":
    psql(f"SELECT btexport.create_credential('moto', '{os.environ['BTX_AKID']}', '{os.environ['BTX_SECRET']}')", db="postgres")
psql(f"""SELECT btexport.create_connection('cronbt', '{SECRET}', app_url => '{D.url}');
         SELECT btexport.create_automation('cron-remote', 'sdk-capture', 's3://test-bucket/remote/cron/', connection => 'cronbt',
                                           "interval" => 'hourly', endpoint => '{EP}', credential => 'moto')""", db="postgres")
cmds = psql("SELECT command FROM cron.job WHERE jobname LIKE 'btexport:%'", db="postgres")
check("the pg_cron job of a remote automation calls run(<id>) and holds no key",
      "btexport.run(" in cmds and SECRET not in cmds, cmds[:300])
psql("SELECT btexport.drop_automation('cron-remote'); SELECT btexport.drop_connection('cronbt')", db="postgres")
D.stop()
finish()
