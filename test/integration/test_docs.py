"""Every SQL example of README.md and docs/*.md, run against the cluster and moto (docs/testing.md).

Each ```sql block runs, in document order, with psql (ON_ERROR_STOP) in the database `postgres`
(the one with pg_cron, which the README's schedule needs); each file starts from a fresh
`CREATE EXTENSION btexport`.  Markers on the line before a block (HTML comments, invisible on the page):
  <!-- recipe: NAME -->          a loader recipe for another engine: test_loaders.py runs (DuckDB) or
                                 checks (Snowflake, Athena, BigQuery, ClickHouse) it
  <!-- doc-test: skip: REASON --> not run; the reason is required
In docs/btql.md the ```sql and ```btql blocks are BTQL: each runs through btexport.query() over
sample data in a project with the id the examples name.  A ```psql block is SQL anywhere (btql.md's
tz_offset example runs over the span sql/btql_tz.sql creates).

What the test changes in a block, and nothing else: the placeholders of the credential ('AKIA...',
'...', '<secret access key>') become the access key of the IAM user btexport-source, and every
's3://your-bucket-name/...' argument gets `, endpoint => '<moto>'` after it.  In moto (IAM policy
evaluation on) the test creates what docs/aws-setup.md describes, from that page's JSON blocks as
written: the bucket your-bucket-name, the user btexport-source with the least-privilege permissions
policy and the source policy, and the role BraintrustExportRole with the trust policy and the
permissions policy.  Per file it adds only what the page assumes exists: the project support-bot
with sample spans, the credential prod-writer (except on the pages that create them), the role
analytics_team (aws-setup.md's GRANT), the roles old_role and new_owner (operations.md's reassign_owned),
the automation testing.md tests.
docs/braintrust-source.md runs against the Braintrust API test double (its project 'Support Bot';
'sk-...' and Braintrust's URLs become the double's key and URL).
Then it checks that the documented policy passes btexport.test() and exports, with a static key and
through the role, and that the README walkthrough's run exports what it says.
"""
import glob
import json
import os
import re
import subprocess

from lib import aws, braintrust_double, check, finish, psql, psql_json, list_keys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
EP = os.environ["MOTO_ENDPOINT"]
BTQL_PROJECT = "0c9f4d2e-6a51-4b8e-93d7-5e2f1a7b8c04"


def blocks(path):
    """[(line, lang, text, marker)] of a markdown file's fenced blocks"""
    lines = open(os.path.join(ROOT, path), encoding="utf-8").read().split("\n")
    out, i = [], 0
    while i < len(lines):
        m = re.match(r"^( *)```(\w+)\s*$", lines[i])          # blocks inside list items are indented
        if m:
            ind = len(m.group(1))
            j = i + 1
            while j < len(lines) and lines[j].strip() != "```":
                j += 1
            k = i - 1
            while k >= 0 and not lines[k].strip():
                k -= 1
            marker = lines[k].strip() if k >= 0 and lines[k].strip().startswith("<!--") else ""
            out.append((i + 1, m.group(2), "\n".join(l[ind:] for l in lines[i + 1:j]), marker))
            i = j
        i += 1
    return out


def moto_env(akid, secret):
    return {**os.environ, "AWS_ACCESS_KEY_ID": akid, "AWS_SECRET_ACCESS_KEY": secret, "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_EC2_METADATA_DISABLED": "true", "AWS_CONFIG_FILE": "/dev/null", "AWS_SHARED_CREDENTIALS_FILE": "/dev/null"}


def aws_as(akid, secret, *args, check_error=True):
    p = subprocess.run(["/usr/bin/aws", "--endpoint-url", EP, *args], capture_output=True, text=True,
                       env=moto_env(akid, secret))
    if check_error and p.returncode != 0:
        raise RuntimeError(f"aws {' '.join(args)}: {p.stderr}")
    return p


def reset_auth(n):
    subprocess.run(["curl", "-s", "-X", "POST", "-H", "Content-Type: text/plain", "--data-binary", str(n),
                    f"{EP}/moto-api/reset-auth"], check=True, capture_output=True)


# ---- moto: what docs/aws-setup.md describes, from its JSON blocks ------------------------------------
setup = {m[len("<!-- policy: "):-len(" -->")]: text for _, lang, text, m in blocks("docs/aws-setup.md")
         if lang == "json" and m.startswith("<!-- policy: ")}
check("docs/aws-setup.md holds the permissions, trust and source policies", set(setup) == {"permissions", "trust", "source"},
      repr(sorted(setup)))
reset_auth(20)            # a window of unauthenticated requests for the IAM set-up, closed below
try:
    boot = ("boot", "boot")
    aws_as(*boot, "s3api", "create-bucket", "--bucket", "your-bucket-name")
    aws_as(*boot, "iam", "create-user", "--user-name", "btexport-source")
    key = json.loads(aws_as(*boot, "iam", "create-access-key", "--user-name", "btexport-source").stdout)["AccessKey"]
    aws_as(*boot, "iam", "put-user-policy", "--user-name", "btexport-source", "--policy-name", "exports",
           "--policy-document", setup["permissions"])
    aws_as(*boot, "iam", "put-user-policy", "--user-name", "btexport-source", "--policy-name", "assume",
           "--policy-document", setup["source"])
    aws_as(*boot, "iam", "create-role", "--role-name", "BraintrustExportRole", "--assume-role-policy-document", setup["trust"])
    aws_as(*boot, "iam", "put-role-policy", "--role-name", "BraintrustExportRole", "--policy-name", "exports",
           "--policy-document", setup["permissions"])
finally:
    reset_auth(0)
AKID, SECRET = key["AccessKeyId"], key["SecretAccessKey"]
# IAM policy evaluation is on: the documented policy allows writing under the prefix, nothing else
ok_put = aws_as(AKID, SECRET, "s3api", "put-object", "--bucket", "your-bucket-name", "--key", "braintrust-exports/probe",
                check_error=False)
no_get = aws_as(AKID, SECRET, "s3api", "head-object", "--bucket", "your-bucket-name", "--key", "braintrust-exports/probe",
                check_error=False)
no_put = aws_as(AKID, SECRET, "s3api", "put-object", "--bucket", "your-bucket-name", "--key", "elsewhere/probe",
                check_error=False)
aws_as(AKID, SECRET, "s3api", "delete-object", "--bucket", "your-bucket-name", "--key", "braintrust-exports/probe")
check("moto evaluates the documented policy: PutObject under the prefix allowed, HEAD (GetObject) and other prefixes denied",
      ok_put.returncode == 0 and no_get.returncode != 0 and "403" in no_get.stderr and no_put.returncode != 0
      and "AccessDenied" in no_put.stderr, ok_put.stderr + no_get.stderr + no_put.stderr)


# docs/braintrust-source.md reads a Braintrust project through the API: its examples run against the
# Braintrust API test double (test/harness/braintrust.sh's, or a private one), which serves the project
# 'Support Bot' with the id the examples name.  Its key placeholder 'sk-...' becomes a key of the double
# and Braintrust's URLs the double's (test_remote.py runs the same examples in its own set-up).
BT = braintrust_double()
BT_PROJECT = "0c9f4d2e-6a51-4b8e-93d7-5e2f1a7b8c04"
BT.ctl("/control/project", {"name": "Support Bot", "org": "acme", "id": BT_PROJECT})
BT.ctl("/control/generate", {"project_id": BT_PROJECT, "traces": 5, "spans": 3, "seed": 9})


def substitute_braintrust(sql):
    sql = sql.replace("'sk-...'", "'sk-acme'").replace("'https://api-eu.braintrust.dev'", f"'{BT.url}'")
    return re.sub(r"(create_connection\('braintrust', 'sk-acme')\)", lambda m: m.group(1) + f", app_url => '{BT.url}')", sql)


def substitute(sql):
    sql = substitute_braintrust(sql)
    sql = sql.replace("'AKIA...'", f"'{AKID}'").replace("'<secret access key>'", f"'{SECRET}'")
    sql = re.sub(r"(create_credential\('[^']*', '[^']*', )'\.\.\.'", lambda m: m.group(1) + f"'{SECRET}'", sql)
    return re.sub(r"('s3://your-bucket-name/[^']*')(?=\s*[,)])", lambda m: m.group(1) + f", endpoint => '{EP}'", sql)


def run_sql(sql):
    p = subprocess.run(["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", "postgres"], input=sql,
                       capture_output=True, text=True)
    return p.returncode, p.stdout, p.stderr


FILES = ["README.md"] + sorted(os.path.relpath(p, ROOT) for p in glob.glob(os.path.join(ROOT, "docs", "*.md")))
SELF_SETUP = {"README.md"}                      # the page creates the extension, project and credential
NO_CREDENTIAL = {"docs/aws-setup.md"}           # the page creates prod-writer itself
ran = skipped = elsewhere = 0
# the roles the pages assume (created below when missing) are dropped at the end, so that later suites in
# the same cluster (test_security creates old_role and new_owner with LOGIN) find none of them
DOC_ROLES = ("analytics_team", "old_role", "new_owner")
created_roles = [r for r in DOC_ROLES if psql(f"SELECT count(*) FROM pg_roles WHERE rolname = '{r}'").strip() == "0"]
check("every page of docs/ is read, security.md and architecture.md included",
      {"docs/security.md", "docs/architecture.md"} <= set(FILES), repr(FILES))
# SQL in a block of another language would be skipped silently: every SQL-ish block is ```sql
odd = [(f, line, lang) for f in FILES for line, lang, _, _ in blocks(f)
       if lang.lower() in ("pgsql", "postgres", "postgresql", "plpgsql", "sql92")]
check("no SQL example hides in a block of another language (```psql, ```postgresql, ...)", not odd, repr(odd))
for f in FILES:
    bs = [b for b in blocks(f) if b[1] in ("sql", "btql", "psql")]
    if not bs:
        continue
    # the previous page's spans: dropping them needs the confirmation (docs/operations.md "Dropping the extension")
    pre = ["SET btexport.allow_drop_spans = on;", "DROP EXTENSION IF EXISTS btexport CASCADE;"]
    if f == "README.md":
        pre.append("DROP EXTENSION IF EXISTS pg_cron CASCADE;")
    if f not in SELF_SETUP:
        pre += ["CREATE EXTENSION IF NOT EXISTS pg_cron;", "CREATE EXTENSION btexport;",
                "SELECT btexport.generate_sample_data('support-bot', traces => 20, seed => 1);"]
        if f not in NO_CREDENTIAL:
            pre.append(f"SELECT btexport.create_credential('prod-writer', '{AKID}', '{SECRET}');")
        if f == "docs/aws-setup.md":
            pre.append("DO $$BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'analytics_team') THEN"
                       " CREATE ROLE analytics_team; END IF; END$$;")
        if f == "docs/operations.md":      # "Dropping a role" reassigns old_role's objects to new_owner
            pre.append("DO $$BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'old_role') THEN"
                       " CREATE ROLE old_role; END IF; IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'new_owner')"
                       " THEN CREATE ROLE new_owner; END IF; END$$;")
        if f == "docs/testing.md":         # the page tests the automation the previous pages created
            pre.append(f"SELECT btexport.create_automation(name => 'Daily Data Export to S3', project => 'support-bot',"
                       f" s3_path => 's3://your-bucket-name/braintrust-exports/', endpoint => '{EP}',"
                       f" credential => 'prod-writer');")
        if f == "docs/btql.md":
            pre += [f"SELECT btexport.create_project('docs-btql', id => '{BTQL_PROJECT}');",
                    "SELECT btexport.generate_sample_data('docs-btql', traces => 30, seed => 2);",
                    # the tz_offset example's span (as sql/btql_tz.sql creates it)
                    "SELECT btexport.create_project('tz-app');",
                    "INSERT INTO btexport.logs (id, span_id, root_span_id, project_id, created)"
                    " SELECT 'tz-span', 'tz-span', 'tz-span', p.id, '2024-01-15 05:00+00' FROM btexport.projects p"
                    " WHERE p.name = 'tz-app';"]
    # each page starts from an empty bucket: a recreated extension has forgotten the keys it wrote,
    # and a page's run in the same second as the previous page's would find its key taken (412)
    aws("s3", "rm", "--recursive", "--only-show-errors", "s3://your-bucket-name/")
    rc, out, err = run_sql("\n".join(pre))
    if rc != 0:
        check(f"{f}: set-up", False, err)
        continue
    for line, lang, text, marker in bs:
        where = f"{f}:{line}"
        if marker.startswith("<!-- recipe:"):
            elsewhere += 1
            continue
        if marker.startswith("<!-- doc-test: skip"):
            check(f"{where}: a skipped block says why", re.match(r"<!-- doc-test: skip: \S", marker) is not None, marker)
            skipped += 1
            continue
        if lang == "psql":                  # SQL as typed into psql (in docs/btql.md too)
            sql = substitute(text)
        elif f == "docs/btql.md":
            sql = f"SELECT count(*) FROM btexport.query($btql${text}$btql$);"
        elif lang == "sql":
            sql = substitute(text)
        else:
            check(f"{where}: a ```{lang} block outside docs/btql.md is not SQL to run", False, text[:200])
            continue
        rc, out, err = run_sql(sql)
        ran += 1
        check(f"{where}: the example runs", rc == 0, (err or out)[-800:] + "\n--- block ---\n" + sql[:600])
        for shown in (l[3:].strip() for l in text.split("\n") if l.startswith("-- {")):
            check(f"{where}: the result the block shows ({shown[:60]}) is what it returns", shown in out, out[-800:])
    if f == "README.md":
        # the walkthrough does what it says: the documented policy passes test(), the run exports every trace
        steps = psql_json("SELECT row_to_json(t) FROM btexport.test('Daily Data Export to S3') t")
        check("README: btexport.test() passes every step with the least-privilege policy of docs/aws-setup.md",
              steps and all(s["ok"] for s in steps), json.dumps(steps))
        r = psql_json("SELECT row_to_json(r) FROM btexport.runs r ORDER BY id DESC LIMIT 1")[0]
        st = psql_json("SELECT row_to_json(s) FROM btexport.status s")[0]
        check("README: the walkthrough's run exports all 200 traces and leaves lag_rows at 0",
              r["status"] == "succeeded" and r["rows"] == 200 and st["lag_rows"] == 0, json.dumps([r, st])[:600])
    if f == "docs/braintrust-source.md":
        r = psql_json("SELECT row_to_json(r) FROM btexport.runs r JOIN btexport.automations a ON a.id = r.automation_id"
                      " WHERE a.name = 'Support Bot logs to S3' ORDER BY r.id DESC LIMIT 1")
        check("braintrust-source: the five-minute example's run exports the Braintrust project's spans (the double's)",
              r and r[0]["status"] == "succeeded" and r[0]["rows"] == 15 and r[0]["api_requests"] > 0
              and list_keys("your-bucket-name", "braintrust-exports/support-bot/"), json.dumps(r)[:600])
    if f == "docs/aws-setup.md":
        steps = psql_json("SELECT row_to_json(t) FROM btexport.test('Daily Data Export to S3') t")
        cred = [s for s in steps if s["step"] == "credentials"]
        check("aws-setup: through the documented role (trust + permissions + source policies), test() passes",
              steps and all(s["ok"] for s in steps) and cred and "BraintrustExportRole" in cred[0]["detail"], json.dumps(steps))
        r = psql_json("SELECT row_to_json(r) FROM btexport.run('Daily Data Export to S3') r")[-1]
        check("aws-setup: ... and a run exports through the role",
              r["status"] == "succeeded" and r["rows"] > 0 and list_keys("your-bucket-name", "braintrust-exports/"),
              json.dumps({k: r[k] for k in ("status", "rows", "error_message", "error_detail")})[:800])
check(f"every SQL example ran or is accounted for ({ran} run, {elsewhere} recipes for test_loaders.py, {skipped} skipped)",
      ran >= 30)
run_sql("SET btexport.allow_drop_spans = on; DROP EXTENSION IF EXISTS btexport CASCADE;")
for r in created_roles:
    rc, out, err = run_sql(f"DROP OWNED BY {r}; DROP ROLE IF EXISTS {r};")
    check(f"the role {r} the pages assumed is dropped again", rc == 0, err[-300:])
BT.stop()
finish()
