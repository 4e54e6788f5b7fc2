"""Failover (docs/operations.md "Failover"): a streaming replica made with pg_basebackup
(synchronous), runs on the primary, then one run caught between writing its objects and
committing them while more spans arrive, the primary crashes (immediate stop) and the standby is
promoted.  On the promoted node the cursor still belongs (same system identifier, same database),
so runs go on without a re-base: the interrupted run is marked failed, its objects are removed,
and S3 holds every span version of the promoted database exactly once (by id and _xact_id).
Every SQL step of the doc section is executed here."""
import json
import os
import shutil
import subprocess
import tempfile

from lib import Cluster, check, doc_sql, finish, hold, list_keys, read_jsonl_objects, wait_for

EP = os.environ["MOTO_ENDPOINT"]
N = os.urandom(4).hex()
PREFIX = f"ops-{N}/failover/"
DB = "btx_failover"

primary = Cluster("primary")
standby = None
base = None
try:
    P = primary
    P.psql(f"CREATE DATABASE {DB}")
    P.psql("CREATE EXTENSION btexport", db=DB)
    P.psql(f"SELECT btexport.create_credential('moto', '{os.environ['BTX_AKID']}', '{os.environ['BTX_SECRET']}')", db=DB)
    P.psql("SELECT btexport.generate_sample_data('app', traces => 15, seed => 51)", db=DB)
    P.psql(f"SELECT btexport.create_automation('fo', 'app', 's3://test-bucket/{PREFIX}', endpoint => '{EP}', credential => 'moto')",
           db=DB)

    def run(c, extra=""):
        return json.loads(c.psql(f"SELECT row_to_json(r) FROM btexport.run('fo'{extra}) r", db=DB).splitlines()[-1])

    r = run(P)
    check("a run on the primary before the replica exists", r["status"] == "succeeded" and r["rows"] > 0, json.dumps(r))

    # ---- the standby: pg_basebackup -R, then synchronous ------------------------------------------
    base = tempfile.mkdtemp(prefix="btx-basebackup.")      # the data directory moves into the standby's
    os.chmod(base, 0o755)
    subprocess.run(["pg_basebackup", *P.args, "-U", "postgres", "-D", f"{base}/data", "-R", "-X", "stream", "-c", "fast"],
                   check=True, capture_output=True)
    standby = Cluster("standby", data=f"{base}/data")
    S = standby
    check("the standby is in recovery", S.psql("SELECT pg_is_in_recovery()").strip() == "t")
    P.psql("ALTER SYSTEM SET synchronous_standby_names = '*'; SELECT pg_reload_conf()")
    wait_for(lambda: P.psql("SELECT sync_state FROM pg_stat_replication").strip() == "sync", 60, "synchronous replication")
    for sql in doc_sql("operations.md", "Failover")[:1]:
        out = P.psql(sql)
    check("the doc's replication check shows the standby streaming, synchronous", "streaming|sync" in out, out)

    P.psql("SELECT btexport.generate_sample_data('app', traces => 5, seed => 51, first_trace => 100)", db=DB)
    r = run(P)
    check("a run on the primary with the standby streaming", r["status"] == "succeeded" and r["rows"] > 0, json.dumps(r))

    # ---- mid-stream: a run caught before its commit, more spans, then the primary dies ------------
    P.psql("SELECT btexport.generate_sample_data('app', traces => 5, seed => 51, first_trace => 200)", db=DB)
    # the run writes its objects, then waits to move the cursor (UPDATE btexport.automations): a row
    # lock that FK checks (FOR KEY SHARE) pass
    holder = hold([*P.args, "-d", DB], "BEGIN;\nSELECT 1 FROM btexport.automations WHERE name = 'fo' FOR NO KEY UPDATE;")
    q = run(P, ", wait => false")
    wait_for(lambda: P.psql("SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'btexport run'"
                            " AND wait_event_type = 'Lock'").strip() == "1", 60, "the run to wait for its commit")
    caught = json.loads(P.psql(f"SELECT row_to_json(r) FROM btexport.runs r WHERE id = {q['id']}", db=DB))
    written = list_keys("test-bucket", caught["base_key"]) if caught["base_key"] else []
    check("a run on the primary has written its objects and waits to commit", caught["status"] == "running"
          and len(written) >= 1, json.dumps(caught)[:300])
    P.psql("SELECT btexport.generate_sample_data('app', traces => 4, seed => 51, first_trace => 300)", db=DB)
    P.pg_ctl("stop", "-m", "immediate")
    holder.kill()
    holder.wait()

    # ---- promote ----------------------------------------------------------------------------------
    steps = doc_sql("operations.md", "Failover")
    for sql in steps[1:]:
        S.psql(sql, db=DB)
    wait_for(lambda: S.psql("SELECT pg_is_in_recovery()").strip() == "f", 60, "the promotion")
    same = S.psql("SELECT cursor_cluster = btexport._cluster_id() FROM btexport.automations WHERE name = 'fo'", db=DB)
    check("on the promoted standby the cursor still belongs (same system identifier and database)", same.strip() == "t")
    r = run(S)
    check("the first run on the promoted node succeeds without a re-base", r["status"] == "succeeded" and r["rows"] > 0,
          json.dumps(r)[:400])
    st = S.psql(f"SELECT status || '|' || cleaned FROM btexport.runs WHERE id = {q['id']}", db=DB).strip()
    check("the run the crash interrupted is failed and cleaned", st == "failed|true", st)
    # its objects are <base_key><ext> and <base_key>_part-NNNN<ext>; a run that started in the same
    # second writes <base_key>_<run id><ext>, which shares the prefix but is not the caught run's
    mine = lambda k: k.startswith(caught["base_key"] + ".") or k.startswith(caught["base_key"] + "_part-")
    left = [k for k in list_keys("test-bucket", caught["base_key"]) if mine(k)]
    check("...and its objects are gone from S3", not left and not set(written) & set(list_keys("test-bucket", PREFIX))
          and all(mine(k) for k in written), json.dumps({"left": left, "written": written}))
    again = run(S)
    check("a second run finds nothing left", again["status"] == "succeeded" and again["rows"] == 0)
    rows = read_jsonl_objects("test-bucket", [k for k in list_keys("test-bucket", PREFIX)])
    got = [(x["id"], str(x["_xact_id"])) for x in rows]
    table = sorted(tuple(l.split("|")) for l in S.psql("SELECT id || '|' || _xact_id FROM btexport.logs", db=DB).split())
    check("S3 holds every span version of the promoted database exactly once (by id and _xact_id)",
          sorted(got) == table and len(got) == len(set(got)),
          f"{len(got)} in S3 ({len(got) - len(set(got))} duplicates), {len(table)} in the table")
    check("...including the spans written on the primary after the caught run started",
          S.psql("SELECT count(*) FROM btexport.logs WHERE id IN (SELECT btexport._pid(51, t, 0, 'id')"
                 " FROM generate_series(300, 303) t)", db=DB).strip() == "4")
finally:
    if standby:
        standby.stop()
    primary.stop("immediate")
    if base:
        shutil.rmtree(base, ignore_errors=True)
finish()
