"""Issue 5: a 1 GB export uploads as multipart with bounded memory, to @20minutes/s3rver 5 (a
second, independent SigV4 verifier): the worker's peak private memory (RssAnon, polled while it
runs; shared buffers are not the run's memory) stays under 100 MB, and the object read back with
the AWS CLI matches the SHA-256 recorded in run_files."""
import hashlib
import json
import os
import socket
import subprocess
import tempfile
import time

from lib import check, finish, fresh_db, psql, psql_json

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DB = fresh_db("btx_large")
s = socket.socket()
s.bind(("127.0.0.1", 0))
port = s.getsockname()[1]
s.close()
data_dir = tempfile.mkdtemp(prefix="btx-s3rver-")
AK, SK = "AKIAS3RVERTEST000001", "s3rver/secret+key=1"
srv = subprocess.Popen(["node", os.path.join(ROOT, "test", "harness", "start-s3rver5.js"), data_dir, str(port), "big"],
                       env={**os.environ, "S3_KEYS": f"{AK}:{SK}"}, cwd=os.path.join(ROOT, "test"),
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
assert "listening" in srv.stdout.readline(), "s3rver did not start"
EP = f"http://127.0.0.1:{port}"
psql(f"SELECT btexport.create_credential('s3rver', '{AK}', '{SK}')")
psql("SELECT btexport.create_project('big-app')")
# ~1.05 GB of JSON Lines: 10,000 spans with ~100 KB inputs
psql("""INSERT INTO btexport.logs (project_id, id, span_id, root_span_id, input, metadata)
        SELECT p.id, 'big-' || g, 'span-' || g, 'root-' || (g / 10),
               jsonb_build_object('document', repeat(md5(g::text), 3300)), jsonb_build_object('n', g)
          FROM btexport.projects p, generate_series(1, 10000) g WHERE p.name = 'big-app'""")
psql(f"""SELECT btexport.create_automation('big', 'big-app', 's3://big/exports/', endpoint => '{EP}',
         credential => 's3rver', target_file_size => '2GB', max_rows_per_run => 1000000)""")
q = psql_json("SELECT row_to_json(r) FROM btexport.run('big', wait => false) r")[-1]
peak = 0
pid = None
deadline = time.time() + 600
while time.time() < deadline:
    st = psql(f"SELECT status || '|' || coalesce(pid::text, '') FROM btexport.runs WHERE id = {q['id']}").strip()
    status, _, p = st.partition("|")
    if status == "running" and p:
        pid = int(p)
        try:
            for line in open(f"/proc/{pid}/status"):
                if line.startswith("RssAnon:"):
                    peak = max(peak, int(line.split()[1]))
        except OSError:
            pass
    if status in ("succeeded", "failed", "cancelled"):
        break
    time.sleep(0.05)
r = psql_json(f"SELECT row_to_json(r) FROM btexport.runs r WHERE id = {q['id']}")[0]
f = psql_json(f"SELECT row_to_json(f) FROM btexport.run_files f WHERE run_id = {q['id']}")
# (s3rver's multipart ETag has no "-N"; an object larger than part_size is always multipart)
check("the 1 GB export succeeds as one multipart object", r["status"] == "succeeded" and len(f) == 1
      and f[0]["bytes"] > 1_000_000_000, json.dumps(r)[:400])
check(f"the worker's peak private memory stays under 100 MB ({peak // 1024} MB)", pid and 0 < peak < 100 * 1024)
if f:
    out = tempfile.NamedTemporaryFile(delete=False).name
    env = {**os.environ, "AWS_ACCESS_KEY_ID": AK, "AWS_SECRET_ACCESS_KEY": SK, "AWS_DEFAULT_REGION": "us-east-1",
           "AWS_CONFIG_FILE": "/dev/null", "AWS_SHARED_CREDENTIALS_FILE": "/dev/null", "AWS_EC2_METADATA_DISABLED": "true"}
    cp = subprocess.run(["/usr/bin/aws", "--endpoint-url", EP, "s3", "cp", f"s3://big/{f[0]['key']}", out,
                         "--only-show-errors"], env=env, capture_output=True, text=True)
    h = hashlib.sha256()
    n = 0
    lines = 0
    with open(out, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
            n += len(chunk)
            lines += chunk.count(b"\n")
    os.unlink(out)
    check("the object read back with the AWS CLI matches run_files (SHA-256, bytes, rows)",
          cp.returncode == 0 and h.hexdigest() == f[0]["sha256"] and n == f[0]["bytes"] and lines == 10000,
          cp.stderr[:300])
srv.terminate()
srv.wait(timeout=10)
subprocess.run(["rm", "-rf", data_dir])
finish()
