"""The shared harness of btexport's Python tests (Python 3 stdlib only): test/integration,
test/ingest and test/upgrade import it.

Talks to the cluster with psql and to S3 with the AWS CLI; each check prints
"ok - ..." or "not ok - ..." and the script ends with "N passed, N failed".
Environment (set by test/run-all.sh): PGHOST PGPORT PGUSER, MOTO_ENDPOINT,
BTX_AKID BTX_SECRET BTX_ROLE_ARN BTX_EXTERNAL_ID, BT_DOUBLE_URL (the Braintrust API test double,
test/harness/braintrust.sh; braintrust_double() starts a private one without it).
"""
import json
import os
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import time
import urllib.request

PASSED = 0
FAILED = 0


def check(name, cond, info=""):
    global PASSED, FAILED
    if cond:
        PASSED += 1
        print(f"ok - {name}")
    else:
        FAILED += 1
        print(f"not ok - {name}" + (f"\n    {info}" if info else ""))
    sys.stdout.flush()
    return cond


def finish():
    print(f"{PASSED} passed, {FAILED} failed")
    sys.exit(1 if FAILED else 0)


def run_psql(sql, db=None, user=None, args=()):
    """Run an SQL script (unaligned, tuples only, stop at the first error); return (rc, stdout, stderr).
    The script may hold lone surrogates (sent as WTF-8, for tests of invalid input)."""
    cmd = ["psql", "-X", "-q", "-At", "-v", "ON_ERROR_STOP=1", "-d", db or os.environ.get("BTX_DB", "postgres")]
    if user:
        cmd += ["-U", user]
    cmd += list(args)
    p = subprocess.run(cmd, input=sql.encode("utf-8", "surrogatepass"), capture_output=True)
    return p.returncode, p.stdout.decode("utf-8", "replace"), p.stderr.decode("utf-8", "replace")


def psql(sql, db=None, user=None, check_error=True, args=()):
    """Run SQL; return stdout (unaligned, tuples only), or (rc, stdout, stderr) with check_error=False."""
    rc, out, err = run_psql(sql, db=db, user=user, args=args)
    if check_error and rc != 0:
        raise RuntimeError(f"psql failed: {err.strip()}\nSQL: {sql[:500]}")
    return out if check_error else (rc, out, err)


def psql_json(sql, db=None, user=None):
    """Run a query returning one json value per row."""
    out = psql(sql, db=db, user=user)
    return [json.loads(line) for line in out.splitlines() if line.strip()]


def fresh_db(name):
    """A new database with btexport installed; returns its name."""
    psql(f'DROP DATABASE IF EXISTS "{name}"', db="postgres")
    psql(f'CREATE DATABASE "{name}"', db="postgres")
    psql("CREATE EXTENSION btexport", db=name)
    os.environ["BTX_DB"] = name
    return name


def aws(*args, check_error=True, env_extra=None):
    env = dict(os.environ)
    env.update({
        "AWS_DEFAULT_REGION": "us-east-1", "AWS_EC2_METADATA_DISABLED": "true",
        "AWS_CONFIG_FILE": "/dev/null", "AWS_SHARED_CREDENTIALS_FILE": "/dev/null",
        "AWS_ACCESS_KEY_ID": os.environ["BTX_AKID"], "AWS_SECRET_ACCESS_KEY": os.environ["BTX_SECRET"],
    })
    if env_extra:
        env.update(env_extra)
    p = subprocess.run(["/usr/bin/aws", "--endpoint-url", os.environ["MOTO_ENDPOINT"], *args],
                       capture_output=True, text=True, env=env)
    if check_error and p.returncode != 0:
        raise RuntimeError(f"aws {' '.join(args)} failed: {p.stderr.strip()}")
    return p.stdout


def moto_iam(*args):
    """An IAM call on moto, which checks IAM permissions the test user lacks: authentication is off
    for that one request (moto's reset-auth)."""
    curl = ["curl", "-s", "-X", "POST", "-H", "Content-Type: text/plain",
            f"{os.environ['MOTO_ENDPOINT']}/moto-api/reset-auth", "--data-binary"]
    subprocess.run(curl + ["1"], check=True, capture_output=True)
    try:
        return aws("iam", *args)
    finally:
        subprocess.run(curl + ["0"], check=True, capture_output=True)


def moto_user_key(user):
    """A new IAM user of moto allowed s3:*, and an access key of it (AccessKeyId, SecretAccessKey)."""
    moto_iam("create-user", "--user-name", user)
    moto_iam("put-user-policy", "--user-name", user, "--policy-name", "s3", "--policy-document",
             '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*"}]}')
    return json.loads(moto_iam("create-access-key", "--user-name", user))["AccessKey"]


def _s3_get(bucket, key="", query=None):
    """A GET on moto's S3 signed with SigV4 (AWS Signature Version 4, stdlib hmac/hashlib) by the
    test user's key: the tests read back what btexport wrote many hundred times, and one AWS CLI
    process costs about a second each (its start-up, not the request).  moto checks the signature
    as it does the CLI's; the AWS CLI is still the reader where its own behaviour is the point
    (head-object, multipart listings, recursive copies: see the callers of aws())."""
    import datetime
    import hashlib
    import hmac
    from urllib.parse import quote, urlsplit
    endpoint = os.environ["MOTO_ENDPOINT"]
    host = urlsplit(endpoint).netloc
    path = "/" + quote(bucket, safe="") + ("/" + quote(key, safe="/~") if key else "")
    qs = "&".join(f"{quote(k, safe='-_.~')}={quote(v, safe='-_.~')}" for k, v in sorted((query or {}).items()))
    now = datetime.datetime.now(datetime.timezone.utc)
    amz_date, day = now.strftime("%Y%m%dT%H%M%SZ"), now.strftime("%Y%m%d")
    empty = hashlib.sha256(b"").hexdigest()
    canonical = f"GET\n{path}\n{qs}\nhost:{host}\nx-amz-content-sha256:{empty}\nx-amz-date:{amz_date}\n\n" \
                f"host;x-amz-content-sha256;x-amz-date\n{empty}"
    scope = f"{day}/us-east-1/s3/aws4_request"
    to_sign = f"AWS4-HMAC-SHA256\n{amz_date}\n{scope}\n{hashlib.sha256(canonical.encode()).hexdigest()}"
    k = ("AWS4" + os.environ["BTX_SECRET"]).encode()
    for part in (day, "us-east-1", "s3", "aws4_request"):
        k = hmac.new(k, part.encode(), hashlib.sha256).digest()
    sig = hmac.new(k, to_sign.encode(), hashlib.sha256).hexdigest()
    req = urllib.request.Request(endpoint + path + (f"?{qs}" if qs else ""), headers={
        "x-amz-date": amz_date, "x-amz-content-sha256": empty,
        "Authorization": f"AWS4-HMAC-SHA256 Credential={os.environ['BTX_AKID']}/{scope}, "
                         f"SignedHeaders=host;x-amz-content-sha256;x-amz-date, Signature={sig}"})
    try:
        with urllib.request.urlopen(req, timeout=60) as r:
            return r.read()
    except urllib.error.HTTPError as e:
        raise RuntimeError(f"GET s3://{bucket}/{key} failed: {e.code} {e.read()[:300]!r}") from None


def list_keys(bucket, prefix=""):
    """Every key under prefix, sorted (ListObjectsV2, following continuation tokens)."""
    import xml.etree.ElementTree as ET
    ns = "{http://s3.amazonaws.com/doc/2006-03-01/}"
    keys, token = [], None
    while True:
        q = {"list-type": "2", "prefix": prefix}
        if token:
            q["continuation-token"] = token
        root = ET.fromstring(_s3_get(bucket, query=q))
        keys += [c.findtext(f"{ns}Key") for c in root.findall(f"{ns}Contents")]
        token = root.findtext(f"{ns}NextContinuationToken")
        if root.findtext(f"{ns}IsTruncated") != "true" or not token:
            return sorted(keys)


def get_object(bucket, key):
    return _s3_get(bucket, key)


def read_jsonl_objects(bucket, keys):
    rows = []
    for k in keys:
        data = get_object(bucket, k)
        for line in data.decode("utf-8").split("\n"):
            if line:
                rows.append(json.loads(line))
    return rows


def setup_credential(name="moto"):
    psql(f"SELECT btexport.create_credential('{name}', '{os.environ['BTX_AKID']}', '{os.environ['BTX_SECRET']}')")


def pg_start_cmd():
    """The command (for the cluster's OS user) that starts the test cluster again: this tree's
    private install (PG_BIN) with the server's environment (PG_ENV, e.g. the sanitizer runtime)."""
    env = os.environ.get("PG_ENV", "")
    pgdir = os.environ["PGDIR"]
    return (f"{'env ' + env + ' ' if env else ''}{os.environ.get('PG_BIN', '/usr/lib/postgresql/15/bin')}/pg_ctl"
            f" -D {pgdir}/data -l {pgdir}/server.log -w start")


def wait_for(fn, timeout=90, what="condition"):
    """Poll fn() until it returns a truthy value (never a fixed sleep as synchronisation)."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        v = fn()
        if v:
            return v
        time.sleep(0.2)
    raise TimeoutError(f"timed out waiting for {what}")


HARNESS = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "harness")


class BraintrustDouble:
    """The Braintrust API test double (test/harness/braintrust_double.py; a test double: no real
    Braintrust can run in the tests) and its control API.  Uses the harness's double
    (BT_DOUBLE_URL, test/harness/braintrust.sh) reset to its start, or starts a private one."""

    def __init__(self):
        self.proc = None
        self.url = os.environ.get("BT_DOUBLE_URL")
        if not self.url:
            events = os.path.join(os.environ.get("BTX_TESTDATA", os.path.join(HARNESS, "..", "data")),
                                  "sdk-events", "events.jsonl")
            self.proc = subprocess.Popen([sys.executable, os.path.join(HARNESS, "braintrust_double.py"),
                                          "--sdk-events", events], stdout=subprocess.PIPE, text=True)
            line = self.proc.stdout.readline().split()
            if len(line) != 2 or line[0] != "ready":
                raise RuntimeError("the Braintrust API double did not start")
            self.url = "http://127.0.0.1:%s" % line[1]
        self.ctl("/control/reset", {})

    def ctl(self, path, obj=None):
        data = json.dumps(obj).encode() if obj is not None else None
        req = urllib.request.Request(self.url + path, data=data, method="POST" if data is not None else "GET")
        with urllib.request.urlopen(req, timeout=60) as r:
            return json.load(r)

    def requests(self, since=0):
        return self.ctl("/control/requests?since=%d" % since)["requests"]

    def rows(self, project_id):
        return self.ctl("/control/rows?project_id=" + project_id)["rows"]

    def versions(self, project_id):
        return self.ctl("/control/versions?project_id=" + project_id)["versions"]

    def faults(self, rules):
        return self.ctl("/control/faults", {"faults": rules})

    def stop(self):
        if self.proc:
            self.proc.kill()
            self.proc.wait()


def braintrust_double():
    return BraintrustDouble()


def doc_sql(doc, section):
    """The ```sql blocks of a section ("## <section>") of docs/<doc>: tests execute the SQL
    examples of the docs."""
    with open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "docs", doc)) as f:
        text = f.read()
    body = text.split(f"## {section}\n", 1)[1].split("\n## ", 1)[0]
    return [b.split("```", 1)[0] for b in body.split("```sql\n")[1:]]


class Wire:
    """A minimal PostgreSQL frontend over the cluster's unix socket (trust authentication):
    simple queries and one-shot extended-protocol calls, returning the error's fields
    (C = SQLSTATE, M, D, H, ...) or None.  For tests that need the extended protocol or one
    session's backend (its pid, its memory) across many statements."""

    def __init__(self, db, user="postgres"):
        self.s = socket.socket(socket.AF_UNIX)
        self.s.connect(os.path.join(os.environ["PGHOST"], f".s.PGSQL.{os.environ['PGPORT']}"))
        self.buf = b""
        body = struct.pack("!i", 196608) + b"user\0" + user.encode() + b"\0database\0" + db.encode() + b"\0\0"
        self.s.sendall(struct.pack("!i", len(body) + 4) + body)
        err, _ = self._until_ready()
        if err:
            raise RuntimeError(f"connection refused: {err}")
        self.pid = int(self.query("SELECT pg_backend_pid()")[1][0][0])

    def _msg(self, kind, payload):
        self.s.sendall(kind + struct.pack("!i", len(payload) + 4) + payload)

    def _recv(self, n):
        while len(self.buf) < n:
            chunk = self.s.recv(1 << 20)
            if not chunk:
                raise ConnectionError("the server closed the connection")
            self.buf += chunk
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def _until_ready(self):
        err, rows = None, []
        while True:
            kind = self._recv(1)
            n = struct.unpack("!i", self._recv(4))[0]
            payload = self._recv(n - 4)
            if kind == b"E":
                err = {f[:1].decode(): f[1:].decode("utf-8", "replace") for f in payload.split(b"\0") if f}
            elif kind == b"D":
                cols, off, row = struct.unpack("!h", payload[:2])[0], 2, []
                for _ in range(cols):
                    ln = struct.unpack("!i", payload[off:off + 4])[0]
                    off += 4
                    row.append(None if ln < 0 else payload[off:off + ln].decode("utf-8", "replace"))
                    off += max(ln, 0)
                rows.append(row)
            elif kind == b"Z":
                return err, rows

    def query(self, sql):
        """A simple query (one or more statements): (error fields or None, rows)."""
        self._msg(b"Q", sql.encode() + b"\0")
        return self._until_ready()

    def extended(self, sql, params):
        """Parse/Bind/Execute/Sync with text parameters: error fields or None."""
        self._msg(b"P", b"\0" + sql.encode() + b"\0" + struct.pack("!h", 0))
        bind = b"\0\0" + struct.pack("!h", 0) + struct.pack("!h", len(params))
        for p in params:
            v = p.encode()
            bind += struct.pack("!i", len(v)) + v
        self._msg(b"B", bind + struct.pack("!h", 0))
        self._msg(b"E", b"\0" + struct.pack("!i", 0))
        self._msg(b"S", b"")
        return self._until_ready()[0]

    def close(self):
        try:
            self._msg(b"X", b"")
        finally:
            self.s.close()


HARNESS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "harness")


class Cluster:
    """Another throwaway cluster beside the suite's (test/harness/pg.sh, this tree's private install
    in PG_BIN, run as the postgres OS user): for tests of restores, replicas and promotion.
    `data` given: a data directory made elsewhere (pg_basebackup) is configured and started instead
    of a new initdb."""

    def __init__(self, tag, extra_conf="", data=None):
        self.dir = tempfile.mkdtemp(prefix=f"btx-{tag}.")
        os.chmod(self.dir, 0o755)
        self.host = os.path.join(self.dir, "sock")
        env = dict(os.environ, PG_EXTRA_CONF=extra_conf)
        if data is None:
            script = f'source "{HARNESS}/pg.sh"; pg_start "{self.dir}" && echo "$PGPORT"'
        else:
            script = f'source "{HARNESS}/pg.sh"; pg_start_existing "{self.dir}" "{data}" && echo "$PGPORT"'
        p = subprocess.run(["bash", "-c", script], capture_output=True, text=True, env=env)
        if p.returncode != 0:
            raise RuntimeError(f"starting cluster {tag}: {p.stdout}{p.stderr}"
                               f"{self.log()}")
        self.port = p.stdout.strip().splitlines()[-1]
        self.args = ["-h", self.host, "-p", self.port]

    def log(self):
        try:
            with open(os.path.join(self.dir, "server.log")) as f:
                return f.read()[-3000:]
        except OSError:
            return ""

    def psql(self, sql, db="postgres", user=None, check_error=True):
        return psql(sql, db=db, user=user, check_error=check_error, args=self.args)

    def pg_ctl(self, *args):
        """pg_ctl as the cluster's OS user (stop -m immediate, promote, ...)."""
        cmd = " ".join([f"{os.environ.get('PG_BIN', '/usr/lib/postgresql/15/bin')}/pg_ctl", "-D",
                        f"{self.dir}/data", "-l", f"{self.dir}/server.log", "-w", *args])
        if os.getuid() == 0:
            return subprocess.run(["su", "postgres", "-s", "/bin/bash", "-c", cmd], capture_output=True, text=True)
        return subprocess.run(["bash", "-c", cmd], capture_output=True, text=True)

    def stop(self, mode="fast", remove=True):
        self.pg_ctl("stop", "-m", mode)
        if remove:
            shutil.rmtree(self.dir, ignore_errors=True)


def hold(args, statements):
    """A psql session (args: connection options and -d) that ran `statements` (ending in an open
    transaction, say) and stays open: returns the process; write "COMMIT;\n\\q\n" to end it.
    Raises when the session ends before the statements are done (an error)."""
    p = subprocess.Popen(["psql", "-X", "-q", "-At", "-v", "ON_ERROR_STOP=1", *args], stdin=subprocess.PIPE,
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    p.stdin.write(statements + "\nSELECT 'held';\n")
    p.stdin.flush()
    out = ""
    while True:
        line = p.stdout.readline()
        if line.strip() == "held":
            return p
        if not line:
            raise RuntimeError(f"the holding session ended: {out}")
        out += line
