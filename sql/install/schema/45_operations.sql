-- ---------------------------------------------------------------------------
-- Operations (docs/operations.md): the cluster an automation's cursor belongs to, the trace of
-- triggers that did not produce a run, and what pg_dump must keep beyond the tables (their
-- identity sequences).  sql/upgrade/1.0--1.1.sql makes the same changes, in the same order
-- (ALTER TABLE appends there as here, so a fresh install and an upgrade have the same columns).
-- ---------------------------------------------------------------------------

-- '<system identifier>/<database oid>' whose transaction ids the cursor counts (btexport._cluster_id())
ALTER TABLE btexport.automations ADD COLUMN cursor_cluster text;
COMMENT ON COLUMN btexport.automations.cursor_cluster IS 'the cluster (system identifier) and database (oid) whose transaction ids the cursor counts; runs refuse elsewhere until btexport.rebase_cursor';

-- Every trigger leaves a trace: a scheduled or manual trigger that produced no run (paused,
-- not due, queued behind a waiting run, no worker slot, the worker stopped before recording a
-- run, a cursor from another cluster) is one row here; repeats of the same reason with no run
-- in between raise `count` and `last_at` instead of adding rows.  Owners see their own rows
-- (row-level security, like btexport.runs); nobody needs the cron schema.
CREATE TABLE btexport.trigger_skips (
	id					bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	automation_id		bigint NOT NULL REFERENCES btexport.automations (id) ON DELETE CASCADE,
	owner				regrole NOT NULL,
	trigger				text NOT NULL CHECK (trigger IN ('manual', 'schedule', 'backlog')),
	reason				text NOT NULL CHECK (reason IN ('paused', 'not_due', 'already_queued', 'no_worker_slot',
														'worker_failed', 'cursor_foreign')),
	detail				text,
	first_at			timestamptz NOT NULL DEFAULT pg_catalog.clock_timestamp(),
	last_at				timestamptz NOT NULL DEFAULT pg_catalog.clock_timestamp(),
	count				bigint NOT NULL DEFAULT 1,
	request_token		text
);
CREATE INDEX trigger_skips_automation_idx ON btexport.trigger_skips (automation_id, id DESC);
COMMENT ON TABLE btexport.trigger_skips IS 'triggers (scheduled or manual) that produced no run, with the reason (docs/troubleshooting.md "Why didn''t my export run?")';
ALTER TABLE btexport.trigger_skips ENABLE ROW LEVEL SECURITY;
CREATE POLICY trigger_skips_owner ON btexport.trigger_skips FOR SELECT
	USING (pg_catalog.pg_has_role(CURRENT_USER, owner::oid, 'USAGE'));
GRANT SELECT ON btexport.trigger_skips TO btexport_user;

-- pg_dump keeps the skips, and the positions of the identity sequences: a restored database's
-- next automation, run and skip continue after the restored ones
SELECT pg_catalog.pg_extension_config_dump('btexport.trigger_skips', '');
SELECT pg_catalog.pg_extension_config_dump('btexport.automations_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('btexport.runs_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('btexport.trigger_skips_id_seq', '');
