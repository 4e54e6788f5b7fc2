"""Runs in background workers: the exactly-once cursor with open transactions and concurrent
ingestion, wait => false, cancel, NOTIFY, kill -9 of the worker mid-upload, a postmaster crash
mid-run, and a pg_cron-scheduled run.  No fixed sleeps as synchronisation: every wait polls."""
import json
import os
import select
import signal
import subprocess
import threading
import time

from lib import (check, finish, fresh_db, psql, psql_json, list_keys, read_jsonl_objects, setup_credential,
                 aws, wait_for, pg_start_cmd)

DB = fresh_db("btx_worker")
EP = os.environ["MOTO_ENDPOINT"]
setup_credential("moto")
psql("SELECT btexport.generate_sample_data('app', traces => 50, seed => 21)")


def run(name, extra=""):
    return psql_json(f"SELECT row_to_json(r) FROM btexport.run('{name}'{extra}) r")[-1]


def s3_rows(prefix):
    return read_jsonl_objects("test-bucket", list_keys("test-bucket", prefix))


def table_versions():
    return {(r[0], int(r[1])) for r in (l.split("|") for l in psql("SELECT id, _xact_id FROM btexport.logs").split())}


def exactly_once(rows):
    got = [(r["id"], r["_xact_id"]) for r in rows]
    return len(got) == len(set(got)), set(got)


# ---- a transaction open across a run: its spans go to a later run -----------------------
psql(f"SELECT btexport.create_automation('open-tx', 'app', 's3://test-bucket/w/open-tx/', endpoint => '{EP}', credential => 'moto')")
run("open-tx")
holder = subprocess.Popen(["psql", "-X", "-q", "-At", "-d", DB], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True)
holder.stdin.write("BEGIN;\nSELECT btexport.generate_sample_data('app', traces => 3, seed => 22, first_trace => 700);\n"
                   "SELECT 'inserted';\n")
holder.stdin.flush()
line = ""
while "inserted" not in line:
    line = holder.stdout.readline()
r_mid = run("open-tx")
open_ids = set(psql("SELECT btexport._pid(22, t, s, 'id') FROM generate_series(700, 702) t, generate_series(0, 8) s").split())
mid_ids = {r["id"] for r in s3_rows("w/open-tx/")}
check("spans of a transaction still open are not exported by the run", r_mid["status"] == "succeeded"
      and not (open_ids & mid_ids), json.dumps(r_mid))
holder.stdin.write("COMMIT;\n\\q\n")
holder.stdin.flush()
holder.wait(timeout=30)
r_after = run("open-tx")
rows = s3_rows("w/open-tx/")
new_ids = set(psql("SELECT id FROM btexport.logs").split()) - mid_ids
check("after it commits, a later run exports them", r_after["rows"] > 0
      and {r["id"] for r in rows} >= new_ids and new_ids, f"{r_after['rows']} rows")
once, got = exactly_once(rows)
check("...and every (id, _xact_id) is in S3 exactly once", once and got == table_versions())

# ---- concurrent ingestion through 20 back-to-back runs ------------------------------------
psql(f"SELECT btexport.create_automation('busy', 'app', 's3://test-bucket/w/busy/', endpoint => '{EP}', credential => 'moto')")
stop = threading.Event()
errors = []


def ingest():
    k = 10000
    while not stop.is_set():
        try:
            psql(f"SELECT btexport.generate_sample_data('app', traces => 2, seed => 23, first_trace => {k})")
            psql(f"UPDATE btexport.logs SET scores = jsonb_build_object('late', {k}) WHERE id IN "
                 f"(SELECT id FROM btexport.logs ORDER BY id LIMIT 2 OFFSET {k % 50})")
        except Exception as e:       # noqa: BLE001
            errors.append(str(e))
        k += 2


t = threading.Thread(target=ingest)
t.start()
statuses = []
for i in range(20):
    statuses.append(run("busy")["status"])
stop.set()
t.join()
statuses.append(run("busy")["status"])
rows = s3_rows("w/busy/")
once, got = exactly_once(rows)
now = table_versions()
check("20 runs during ingestion (plus one after) all succeed", all(s == "succeeded" for s in statuses) and not errors,
      f"{statuses} {errors[:1]}")
check("S3 holds every (id, _xact_id) of the table exactly once", once and now <= got,
      f"missing {len(now - got)}, duplicates: {not once}")
latest = {}
for i, x in now:
    latest[i] = max(latest.get(i, 0), x)
check("...and nothing else: every exported version is current or superseded by a later one",
      all(x in now or (x[0] in latest and latest[x[0]] > x[1]) for x in got))

# ---- wait => false, NOTIFY ----------------------------------------------------------------
listener = subprocess.Popen(["psql", "-X", "-q", "-At", "-d", DB], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
listener.stdin.write("LISTEN btexport;\nSELECT 'listening';\n")
listener.stdin.flush()
while "listening" not in listener.stdout.readline():
    pass
psql("SELECT btexport.generate_sample_data('app', traces => 2, seed => 24, first_trace => 90000)")
q = run("busy", ", wait => false")
check("run(wait => false) returns the run queued or running", q["status"] in ("queued", "running", "succeeded"), json.dumps(q))
done = wait_for(lambda: psql(f"SELECT status FROM btexport.runs WHERE id = {q['id']}").strip() in ("succeeded", "failed"),
                60, "the run to finish")
check("...and it finishes by itself", psql(f"SELECT status FROM btexport.runs WHERE id = {q['id']}").strip() == "succeeded")
fin = psql_json(f"SELECT row_to_json(r) FROM btexport.runs r WHERE id = {q['id']}")[0]
check("a succeeded run's progress columns equal its totals", fin["progress_rows"] == fin["rows"] > 0
      and fin["progress_bytes"] == fin["bytes"] and fin["progress_object"] and fin["progress_at"], json.dumps(fin)[:400])
listener.stdin.write("SELECT 1;\n\\q\n")
listener.stdin.flush()
out = listener.communicate(timeout=30)[0]
payloads = [json.loads(l.split('with payload "', 1)[1].rsplit('"', 1)[0].replace('\\"', '"'))
            for l in out.split("\n") if "btexport" in l and "payload" in l]
mine = [p for p in payloads if p.get("run_id") == q["id"]]
# queued, running (with its window), succeeded: ids only (test_security checks what other roles get)
check("NOTIFY btexport sends a JSON payload of ids for each of the run's state changes",
      len(mine) >= 3 and all(set(p) == {"run_id", "automation_id"} for p in mine), f"{mine} / {out[:300]}")

# ---- cancel and kill -9 mid-upload: no partial object, the next run completes -------------
psql("SELECT btexport.generate_sample_data('app', traces => 3000, seed => 25, first_trace => 200000)")


def start_big(name):
    q = run(name, ", wait => false")
    pid = wait_for(lambda: psql(f"SELECT pid FROM btexport.runs WHERE id = {q['id']} AND status = 'running'").strip(),
                   60, "running")

    def uploading():
        m = psql(f"SELECT bytes FROM btexport.progress WHERE run_id = {q['id']}").strip()
        return m and int(m) > 12 * 1024 * 1024
    wait_for(uploading, 120, "the run to upload parts")
    return q, int(pid)


def up():
    try:
        return psql("SELECT 1", db="postgres").strip() == "1"
    except Exception:        # noqa: BLE001
        return False


psql(f"""SELECT btexport.create_automation('kill', 'app', 's3://test-bucket/w/kill/', endpoint => '{EP}',
         credential => 'moto', part_size => '5MB', max_rows_per_run => 10000000)""")
psql(f"""SELECT btexport.create_automation('cancel', 'app', 's3://test-bucket/w/cancel/', endpoint => '{EP}',
         credential => 'moto', part_size => '5MB', max_rows_per_run => 10000000)""")
qc, pid = start_big("cancel")
# btexport.progress: the running run's figures as its worker publishes them (structured, live)
prog = psql_json(f"SELECT row_to_json(p) FROM btexport.progress p WHERE run_id = {qc['id']}")
base = psql(f"SELECT base_key FROM btexport.runs WHERE id = {qc['id']}").strip()
check("btexport.progress shows the running run: its worker, rows and bytes so far, rate, the object it writes",
      len(prog) == 1 and prog[0]["pid"] == pid and prog[0]["rows"] > 0 and prog[0]["bytes"] > 12 * 1024 * 1024
      and prog[0]["rows_per_second"] > 0 and prog[0]["current_object"].startswith(f"s3://test-bucket/{base}")
      and prog[0]["current_object"].endswith(".jsonl"), json.dumps(prog))
check("cancel(run_id) signals the running run", psql(f"SELECT btexport.cancel({qc['id']})").strip() == "t")
wait_for(lambda: psql(f"SELECT status FROM btexport.runs WHERE id = {qc['id']}").strip() in ("cancelled", "failed"), 60, "cancel")
st = psql_json(f"SELECT row_to_json(r) FROM btexport.runs r WHERE id = {qc['id']}")[0]
ups = aws("s3api", "list-multipart-uploads", "--bucket", "test-bucket", "--prefix", "w/cancel/")
check("a cancelled run ends 'cancelled' with no object and no open upload",
      st["status"] == "cancelled" and list_keys("test-bucket", "w/cancel/") == [] and '"UploadId"' not in ups,
      json.dumps(st)[:300] + ups[:200])
check("the cancelled run records how far it got: rows, bytes, the object it was writing",
      st["progress_rows"] > 0 and st["progress_bytes"] > 12 * 1024 * 1024 and st["rows"] == 0
      and st["progress_object"].startswith(base) and st["progress_at"], json.dumps(st)[:400])
check("btexport.progress no longer lists it", psql(f"SELECT count(*) FROM btexport.progress WHERE run_id = {qc['id']}").strip() == "0")

qk, pid = start_big("kill")
# run locks are keyed on the whole 64-bit id: an automation whose id is 2^31 - 1 above a running
# one's (the same lock under a 32-bit key modulo 2^31 - 1) does not wait for it
kill_id = int(psql("SELECT id FROM btexport.automations WHERE name = 'kill'"))
psql(f"ALTER TABLE btexport.automations ALTER COLUMN id RESTART WITH {kill_id + 2147483647}")
psql("SELECT btexport.create_project('twin-app')")      # no spans: the table's versions stay the kill test's
twin = psql_json(f"""SELECT row_to_json(a) FROM btexport.create_automation('twin', 'twin-app', 's3://test-bucket/w/twin/',
                     endpoint => '{EP}', credential => 'moto') a""")[0]
rt = run("twin")
check("a run of an automation whose id differs by 2^31 - 1 is not blocked by the other's running export",
      twin["id"] == kill_id + 2147483647 and rt["status"] == "succeeded"
      and psql(f"SELECT status FROM btexport.runs WHERE id = {qk['id']}").strip() == "running",
      f"{twin['id']} {rt['status']}")
os.kill(pid, signal.SIGKILL)
wait_for(up, 90, "the server to come back")
ups = aws("s3api", "list-multipart-uploads", "--bucket", "test-bucket", "--prefix", "w/kill/")
check("the killed run was mid-upload: it left a multipart upload open", '"UploadId"' in ups, ups[:300])
check("kill -9 of the worker mid-upload leaves no object", list_keys("test-bucket", "w/kill/") == [],
      repr(list_keys("test-bucket", "w/kill/")))
r2 = run("kill")
st1 = psql_json(f"SELECT row_to_json(r) FROM btexport.runs r WHERE id = {qk['id']}")[0]
ups = aws("s3api", "list-multipart-uploads", "--bucket", "test-bucket", "--prefix", "w/kill/")
check("the next run marks the killed run failed (interrupted) and completes",
      st1["status"] == "failed" and st1["error_message"] == "run interrupted" and r2["status"] == "succeeded",
      json.dumps(st1)[:300])
check("...and aborts the upload the killed run left open", '"UploadId"' not in ups, ups[:300])
rows = s3_rows("w/kill/")
once, got = exactly_once(rows)
check("S3 holds every row of the table exactly once after the crash", once and got == table_versions(),
      f"{len(got)} vs {len(table_versions())}")

# ---- a postmaster crash mid-run -----------------------------------------------------------
psql(f"""SELECT btexport.create_automation('pmcrash', 'app', 's3://test-bucket/w/pmcrash/', endpoint => '{EP}',
         credential => 'moto', part_size => '5MB', max_rows_per_run => 10000000)""")
qp, pid = start_big("pmcrash")
pm = int(open(os.path.join(os.environ["PGDIR"], "data", "postmaster.pid")).readline())
os.kill(pm, signal.SIGKILL)
wait_for(lambda: subprocess.run(["pgrep", "-f", f"btexport run of automation"], capture_output=True).returncode != 0
         or not os.path.exists(f"/proc/{pid}"), 60, "the orphaned worker to exit")
start = ["su", "postgres", "-s", "/bin/bash", "-c", pg_start_cmd()]
wait_for(lambda: subprocess.run(start, capture_output=True).returncode == 0 or up(), 120, "the server to restart")
wait_for(up, 60, "connections")
check("a postmaster crash mid-run leaves no object", list_keys("test-bucket", "w/pmcrash/") == [])
r3 = run("pmcrash")
st = psql_json(f"SELECT row_to_json(r) FROM btexport.runs r WHERE id = {qp['id']}")[0]
ups = aws("s3api", "list-multipart-uploads", "--bucket", "test-bucket", "--prefix", "w/pmcrash/")
rows = s3_rows("w/pmcrash/")
once, got = exactly_once(rows)
check("after the restart the interrupted run is failed, the next completes, no upload is left open",
      st["status"] == "failed" and r3["status"] == "succeeded" and '"UploadId"' not in ups, json.dumps(st)[:300])
check("S3 holds every row exactly once after the postmaster crash", once and got == table_versions())

# ---- pg_cron: a scheduled run happens by itself -------------------------------------------
psql("CREATE EXTENSION IF NOT EXISTS pg_cron", db="postgres")
psql("CREATE EXTENSION IF NOT EXISTS btexport", db="postgres")
psql("SELECT btexport.generate_sample_data('cron-app', traces => 3)", db="postgres")
psql(f"DO $$BEGIN PERFORM btexport.create_credential('moto', '{os.environ['BTX_AKID']}', '{os.environ['BTX_SECRET']}');"
     f" EXCEPTION WHEN duplicate_object THEN NULL; END$$", db="postgres")
psql(f"""SELECT btexport.create_automation('cron', 'cron-app', 's3://test-bucket/w/cron/', endpoint => '{EP}',
         credential => 'moto', "interval" => '1 minute')""", db="postgres")
check("the schedule is a pg_cron job btexport:<id>",
      psql("SELECT count(*) FROM cron.job WHERE jobname LIKE 'btexport:%' AND schedule = '* * * * *'", db="postgres").strip() == "1")
# an interval cron cannot express: the job ticks every minute, a run starts once 90 minutes have
# passed since the last scheduled start (the first tick finds none, so it runs at once)
psql(f"""SELECT btexport.create_automation('period', 'cron-app', 's3://test-bucket/w/period/', endpoint => '{EP}',
         credential => 'moto', "interval" => '90 minutes')""", db="postgres")
check("a 90-minute interval is a per-minute pg_cron job with a start-to-start period",
      psql("SELECT a.schedule || '|' || extract(epoch FROM a.period) FROM btexport.automations a"
           " JOIN cron.job j ON j.jobname = 'btexport:' || a.id WHERE a.name = 'period'", db="postgres").strip()
      == "* * * * *|5400.000000")
sched_ok = lambda name: ("SELECT count(*) FROM btexport.runs r JOIN btexport.automations a ON a.id = r.automation_id"
                         f" WHERE a.name = '{name}' AND r.trigger = 'schedule' AND r.status = 'succeeded'")
wait_for(lambda: psql(sched_ok("cron"), db="postgres").strip() != "0"
         and psql(sched_ok("period"), db="postgres").strip() != "0", 100, "the scheduled runs")
check("a pg_cron-scheduled automation runs by itself and its run appears in history",
      len(list_keys("test-bucket", "w/cron/")) >= 1)
check("the period automation's first tick ran it", len(list_keys("test-bucket", "w/period/")) >= 1)
again = psql("SELECT (btexport.run(a.id, trigger => 'schedule')).id IS NULL FROM btexport.automations a"
             " WHERE a.name = 'period'", db="postgres").strip()
check("before 90 minutes have passed a scheduled tick starts nothing", again == "t", again)
nxt = psql("SELECT round(extract(epoch FROM s.next_run - r.queued_at) / 60) FROM btexport.status s"
           " JOIN btexport.runs r ON r.automation_id = s.id AND r.trigger = 'schedule' WHERE s.name = 'period'",
           db="postgres").strip()
check("btexport.status shows the next start about 90 minutes after the last", nxt in ("90", "91"), nxt)
check("one scheduled run of the period automation", psql(sched_ok("period").replace(" AND r.status = 'succeeded'", ""),
                                                         db="postgres").strip() == "1")
psql("SELECT btexport.drop_automation('period')", db="postgres")
psql("SELECT btexport.pause('cron')", db="postgres")
check("pause removes the cron job", psql("SELECT count(*) FROM cron.job WHERE jobname LIKE 'btexport:%'", db="postgres").strip() == "0")
psql("SELECT btexport.resume('cron')", db="postgres")
check("resume restores it", psql("SELECT count(*) FROM cron.job WHERE jobname LIKE 'btexport:%'", db="postgres").strip() == "1")
psql("SELECT btexport.drop_automation('cron')", db="postgres")
check("drop_automation removes it", psql("SELECT count(*) FROM cron.job WHERE jobname LIKE 'btexport:%'", db="postgres").strip() == "0")
finish()
