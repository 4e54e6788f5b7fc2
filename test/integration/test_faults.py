"""Issue 5: through a fault-injecting proxy (test/harness/faultproxy.py, a test double) at a 20%
fault rate — 500, 503 SlowDown, connection resets and stalls — 20 runs with new spans between
them all complete, S3 holds every row exactly once, no multipart upload is left open, and each
object read back matches the SHA-256 recorded in run_files."""
import hashlib
import json
import os
import socket
import subprocess
import sys

from lib import (check, finish, fresh_db, psql, psql_json, list_keys, get_object, setup_credential, aws)

HERE = os.path.dirname(os.path.abspath(__file__))
DB = fresh_db("btx_faults")
setup_credential("moto")
s = socket.socket()
s.bind(("127.0.0.1", 0))
port = s.getsockname()[1]
s.close()
moto_port = int(os.environ["MOTO_ENDPOINT"].rsplit(":", 1)[1])
proxy = subprocess.Popen([sys.executable, os.path.join(HERE, "..", "harness", "faultproxy.py"), str(port), str(moto_port),
                          "0.2", "42", "0.3"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
assert proxy.stdout.readline().strip() == "ready"
EP = f"http://127.0.0.1:{port}"
psql("SELECT btexport.create_project('app-f')")
psql(f"""SELECT btexport.create_automation('faulty', 'app-f', 's3://test-bucket/faults/', endpoint => '{EP}',
         credential => 'moto', part_size => '5MB', target_file_size => '12MB')""")
statuses = []
for i in range(20):
    # new spans between runs; every fourth run is large enough for multipart uploads and several files
    traces = 400 if i % 4 == 0 else 15
    psql(f"SELECT btexport.generate_sample_data('app-f', traces => {traces}, seed => 31, first_trace => {i * 1000})")
    r = psql_json("SELECT row_to_json(r) FROM btexport.run('faulty') r")[-1]
    statuses.append((r["status"], r["rows"], r.get("error_message")))
ok_runs = [s for s in statuses if s[0] == "succeeded"]
check("20 runs at a 20% fault rate all complete", len(ok_runs) == 20, repr([s for s in statuses if s[0] != "succeeded"][:3]))
keys = list_keys("test-bucket", "faults/")
rows = []
files = {f["key"]: f for f in psql_json("SELECT row_to_json(f) FROM btexport.run_files f")}
sha_ok = True
for k in keys:
    body = get_object("test-bucket", k)
    sha_ok &= k in files and files[k]["sha256"] == hashlib.sha256(body).hexdigest() and files[k]["bytes"] == len(body)
    rows += [json.loads(x) for x in body.decode().split("\n") if x]
src = set(psql("SELECT id || ':' || _xact_id FROM btexport.logs").split())
got = [f"{r['id']}:{r['_xact_id']}" for r in rows]
check("S3 holds every row exactly once", len(got) == len(set(got)) and set(got) == src, f"{len(got)} vs {len(src)}")
check("every object in S3 is in the ledger, with its SHA-256 and size", sha_ok and set(keys) == set(files))
check("multipart uploads happened", any(f["bytes"] > 5 * 1024 * 1024 for f in files.values()))
ups = aws("s3api", "list-multipart-uploads", "--bucket", "test-bucket", "--prefix", "faults/")
check("no multipart upload is left open", '"UploadId"' not in ups, ups[:300])
proxy.terminate()
counts = proxy.communicate(timeout=10)[1]
check("the proxy injected faults of every kind", all(f"'{k}': 0" not in counts for k in ("500", "503", "reset", "stall")), counts)
finish()
