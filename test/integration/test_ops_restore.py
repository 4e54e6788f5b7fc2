"""Backup and restore (docs/operations.md "Backup and restore"): pg_dump of a database with spans,
automations and runs, pg_restore into a fresh cluster.  The identity sequences come back (new
automations and runs get new ids); the restored automation refuses to run (its cursor counts the
original cluster's transaction ids) with SQLSTATE 55000 and a hint, for manual and scheduled
triggers alike, and writes nothing to the original's prefix; the scheduled trigger leaves a
'cursor_foreign' skip; rebase_cursor(export_from => 'now') confirms the copy, and its runs then
export exactly the spans written after it: the prefix holds every span version of the original
and of the copy exactly once.  export_from => <timestamp> re-exports the restored spans (a second
automation, another prefix).  Every SQL step of the doc section is executed here."""
import json
import os
import re
import shutil
import subprocess
import tempfile

from lib import (Cluster, check, doc_sql, finish, fresh_db, psql, psql_json, list_keys, read_jsonl_objects,
                 setup_credential)

SRC = fresh_db("btx_ops_src")
EP = os.environ["MOTO_ENDPOINT"]
N = os.urandom(4).hex()      # prefixes of this execution (moto may hold an earlier one's)
setup_credential("s3-key")
psql("SELECT btexport.generate_sample_data('app', traces => 20, seed => 41)")
psql(f"SELECT btexport.create_automation('nightly-export', 'app', 's3://test-bucket/ops/{N}/nightly/', endpoint => '{EP}', credential => 's3-key')")
psql(f"SELECT btexport.create_automation('replay', 'app', 's3://test-bucket/ops/{N}/replay/', endpoint => '{EP}', credential => 's3-key')")


def run(name, c=None, db=SRC):
    sql = f"SELECT row_to_json(r) FROM btexport.run('{name}') r"
    return json.loads((c.psql(sql, db=db) if c else psql(sql, db=db)).splitlines()[-1])


def versions(c=None, db=SRC):
    sql = "SELECT l.id || '|' || l._xact_id FROM btexport.logs l"
    out = c.psql(sql, db=db) if c else psql(sql, db=db)
    return [tuple(x.split("|")) for x in out.split()]


def s3_versions(prefix):
    return [(r["id"], str(r["_xact_id"])) for r in read_jsonl_objects("test-bucket", list_keys("test-bucket", prefix))]


# the source's transaction ids run well ahead of a fresh cluster's, as in any database in use (the
# premise checked after the restore; run alone on a fresh test cluster they would not)
psql("DO $$ BEGIN FOR i IN 1..5000 LOOP PERFORM pg_catalog.pg_current_xact_id(); COMMIT; END LOOP; END $$", db=SRC)
r1 = run("nightly-export")
r2 = run("replay")
check("the original exports before the backup", r1["status"] == "succeeded" and r1["rows"] > 0 and r2["rows"] > 0,
      json.dumps(r1))
src_versions = versions()
src_cursor_xid = int(psql("SELECT cursor::text FROM btexport.automations WHERE name = 'nightly-export'", db=SRC))

# ---- the backup: the doc's two commands, word for word (database names replaced) -------------
with open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "docs", "operations.md")) as f:
    doc_block = f.read().split("## Backup and restore\n", 1)[1].split("```bash\n", 1)[1].split("```", 1)[0]
doc_lines = [ln for ln in doc_block.splitlines() if ln.strip()]
check("docs/operations.md backs up with pg_dump -Fc and restores with pg_restore",
      len(doc_lines) == 2 and doc_lines[0].startswith("pg_dump -Fc ") and doc_lines[1].startswith("pg_restore "),
      doc_block)


def doc_command(line, env_extra):
    """one of the doc's lines, run by bash in the dump's folder: mydb is the source database, newdb
    the restored one; env_extra points libpq at the cluster the line runs on"""
    cmd = re.sub(r"\bnewdb\b", "btx_ops_dst", re.sub(r"\bmydb\b(?!\.dump)", SRC, line))
    return subprocess.run(["bash", "-c", cmd], cwd=os.path.dirname(dump), capture_output=True, text=True,
                          env=dict(os.environ, **env_extra))


dump = os.path.join(tempfile.mkdtemp(prefix="btx-dump."), "mydb.dump")
os.chmod(os.path.dirname(dump), 0o777)
p = doc_command(doc_lines[0], {})
check("the doc's pg_dump command succeeds", p.returncode == 0 and os.path.exists(dump), p.stderr[-800:])
out = subprocess.run(["pg_restore", "-l", dump], capture_output=True, text=True, check=True).stdout
check("the dump holds the identity sequences' positions", "SEQUENCE SET btexport automations_id_seq" in out
      and "SEQUENCE SET btexport runs_id_seq" in out, out[-800:])

dst = Cluster("restore")
try:
    dst.psql("CREATE DATABASE btx_ops_dst")
    p = doc_command(doc_lines[1], {"PGHOST": dst.host, "PGPORT": dst.port})
    check("the doc's pg_restore command into a fresh cluster succeeds", p.returncode == 0, p.stderr[-1500:])
    D = "btx_ops_dst"
    check("the restored spans are all there",
          sorted(i for i, _ in versions(dst, D)) == sorted(i for i, _ in src_versions))
    # without the guard, the restored cursor would be ahead of every new span of this cluster
    check("(the restored cursor lies beyond this fresh cluster's transaction ids)",
          src_cursor_xid > int(dst.psql("SELECT pg_current_xact_id()::text", db=D)))

    # ---- sequences ------------------------------------------------------------------------
    ids = dst.psql("SELECT max(id) FROM btexport.automations", db=D).strip()
    dst.psql(f"SELECT btexport.create_automation('after-restore', 'app', 's3://test-bucket/ops/{N}/after/', endpoint => '{EP}',"
             " credential => 's3-key')", db=D)
    new_id = dst.psql("SELECT id FROM btexport.automations WHERE name = 'after-restore'", db=D).strip()
    check("create_automation after the restore: the identity sequence continued", int(new_id) > int(ids),
          f"{new_id} vs {ids}")

    # ---- the guard: manual, scheduled, test() -----------------------------------------------
    before = list_keys("test-bucket", f"ops/{N}/nightly/")
    max_run = int(dst.psql("SELECT max(id) FROM btexport.runs", db=D))
    rc, _, err = dst.psql("SELECT btexport.run('nightly-export')", db=D, check_error=False)
    check("run() of the restored automation refuses: SQLSTATE 55000, errmsg, hint naming rebase_cursor",
          rc != 0 and "belongs to another database cluster" in err and "rebase_cursor('nightly-export', export_from => 'now')" in err,
          err)
    rc, _, err = dst.psql("\\set VERBOSITY verbose\nSELECT btexport.run('nightly-export')", db=D, check_error=False)
    check("...with SQLSTATE 55000", "55000" in err, err)
    mid = dst.psql("SELECT id FROM btexport.automations WHERE name = 'nightly-export'", db=D).strip()
    r = dst.psql(f"SELECT btexport.run({mid}::bigint, trigger => 'schedule') IS NULL", db=D).strip()
    skip = dst.psql(f"SELECT reason || '|' || detail FROM btexport.trigger_skips WHERE automation_id = {mid}", db=D).strip()
    check("a scheduled trigger (a restored pg_cron job) starts no run and leaves a 'cursor_foreign' skip",
          r == "t" and skip.startswith("cursor_foreign|") and "restored or copied" in skip, skip)
    rc, _, err = dst.psql("SELECT * FROM btexport.test('nightly-export')", db=D, check_error=False)
    check("btexport.test() refuses it too", rc != 0 and "belongs to another database cluster" in err, err)
    check("nothing was written to the original's prefix", list_keys("test-bucket", f"ops/{N}/nightly/") == before)
    check("no run was recorded on the copy",
          dst.psql(f"SELECT count(*) FROM btexport.runs WHERE id > {max_run}", db=D).strip() == "0")

    held = dst.psql("SELECT name FROM btexport.status WHERE cursor_problem LIKE '%restored or copied%' ORDER BY name", db=D).split()
    check("btexport.status.cursor_problem names the held automations (not the one created after the restore)",
          held == ["nightly-export", "replay"], str(held))

    # ---- confirm: the doc's re-base, then new spans on the copy ---------------------------------
    steps = doc_sql("operations.md", "Backup and restore")
    check("the doc section has its SQL steps", steps and "rebase_cursor" in steps[-1], str(steps))
    for sql in steps:
        dst.psql(sql.replace("<access key id>", os.environ["BTX_AKID"])
                 .replace("<secret access key>", os.environ["BTX_SECRET"]), db=D)
    c = dst.psql("SELECT cursor_cluster = btexport._cluster_id() FROM btexport.automations WHERE name = 'nightly-export'", db=D)
    check("rebase_cursor records this cluster", c.strip() == "t", c)
    dst.psql("SELECT btexport.generate_sample_data('app', traces => 6, seed => 42, first_trace => 500)", db=D)
    dst.psql("UPDATE btexport.logs SET scores = '{\"after\": 1}' WHERE id IN (SELECT id FROM btexport.logs ORDER BY id LIMIT 3)", db=D)
    r = run("nightly-export", dst, D)
    r_again = run("nightly-export", dst, D)
    restored_ids = {i for i, _ in src_versions}
    dst_versions = versions(dst, D)
    new_on_copy = [v for v in dst_versions if v[0] not in restored_ids or v[0] in
                   dst.psql("SELECT id FROM btexport.logs WHERE scores ? 'after'", db=D).split()]
    check("the re-based run exports the spans written after it", r["status"] == "succeeded"
          and r["rows"] == len(new_on_copy) and r_again["rows"] == 0, json.dumps(r)[:300])
    got = s3_versions(f"ops/{N}/nightly/")
    want = sorted(src_versions) + sorted(new_on_copy)
    check("the prefix holds every version of the original and of the copy exactly once (by id and _xact_id)",
          sorted(got) == sorted(want) and len(got) == len(set(got)),
          f"{len(got)} in S3, {len(want)} expected, {len(got) - len(set(got))} duplicates")

    # ---- export_from => a timestamp: the restored spans too (another prefix) -----------------
    rep = dst.psql("SELECT (btexport.rebase_cursor('replay', export_from => (now() - interval '1 day')::text)).cursor_cluster IS NOT NULL", db=D)
    r = run("replay", dst, D)
    got = s3_versions(f"ops/{N}/replay/")
    want = sorted(src_versions) + sorted(dst_versions)
    check("export_from => <timestamp before the restore> re-exports every restored span once, with the new ones",
          rep.strip() == "t" and r["status"] == "succeeded" and r["rows"] == len(dst_versions)
          and sorted(got) == sorted(want),
          f"{r['rows']} rows, {len(dst_versions)} versions; {len(got)} in S3, {len(want)} expected; "
          f"missing {sorted(set(want) - set(got))[:3]} extra {sorted(set(got) - set(want))[:3]}")
    rc, _, err = dst.psql("SELECT btexport.rebase_cursor('replay', export_from => 'yesterday-ish')", db=D, check_error=False)
    check("a bad export_from is refused with a hint", rc != 0 and "export_from must be 'now' or a timestamp" in err, err)
finally:
    dst.stop()
    shutil.rmtree(os.path.dirname(dump), ignore_errors=True)
finish()
