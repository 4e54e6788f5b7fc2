-- ---------------------------------------------------------------------------
-- Operations (docs/operations.md): the cursor's cluster and its re-base after a restore, the
-- trace of triggers that produced no run, and the guard of DROP EXTENSION.
-- ---------------------------------------------------------------------------

-- The cluster and database whose transaction ids this database's cursors count:
-- '<system identifier>/<database oid>'.  A pg_dump restored elsewhere (another cluster, or
-- another database of the same cluster) has another; a promoted physical standby has the
-- primary's (its transaction ids continue the primary's).
CREATE OR REPLACE FUNCTION btexport._cluster_id()
RETURNS text LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
	SELECT (SELECT c.system_identifier::text FROM pg_catalog.pg_control_system() c)
		   OPERATOR(pg_catalog.||) '/'
		   OPERATOR(pg_catalog.||) (SELECT d.oid::text FROM pg_catalog.pg_database d
									 WHERE d.datname OPERATOR(pg_catalog.=) pg_catalog.current_database())
$$;

-- Why the cursor of `a` does not count this database's transaction ids (NULL when it does): it
-- was recorded by another cluster or database (a restore, a copy), or it lies beyond every
-- transaction id this cluster has assigned.  Exporting from it would skip or repeat spans.
CREATE OR REPLACE FUNCTION btexport._cursor_problem(a btexport.automations)
RETURNS text LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	here text := btexport._cluster_id();
BEGIN
	IF a.cursor_cluster IS DISTINCT FROM here THEN
		RETURN format('The cursor (%s) was recorded by cluster/database %s; this is %s: the database was restored or '
					  'copied, and its transaction ids do not continue the original''s. Nothing was exported.',
					  a.cursor, coalesce(a.cursor_cluster, 'unknown'), here);
	ELSIF a.connection IS NULL AND a.cursor > pg_snapshot_xmax(pg_current_snapshot()) THEN
		RETURN format('The cursor (%s) lies beyond every transaction id of this cluster (next: %s). Nothing was exported.',
					  a.cursor, pg_snapshot_xmax(pg_current_snapshot()));
	END IF;
	RETURN NULL;
END
$$;

-- runs (and btexport.test) refuse an automation whose cursor belongs elsewhere: a restored copy
-- does not write into the original's S3 prefix until its operator re-bases the cursor
CREATE OR REPLACE FUNCTION btexport._check_cursor(a btexport.automations)
RETURNS void LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	problem text := btexport._cursor_problem(a);
BEGIN
	IF problem IS NOT NULL THEN
		RAISE EXCEPTION 'the cursor of automation "%" belongs to another database cluster', a.name
			USING ERRCODE = '55000', DETAIL = problem,
				  HINT = format('If this database should export to %s (the original no longer does), re-base the cursor: '
								'SELECT btexport.rebase_cursor(%L, export_from => ''now'') exports what is written from now on, '
								'export_from => ''<timestamp>'' also what was written since then (docs/operations.md "Backup and restore").',
								a.s3_path, a.name);
	END IF;
END
$$;

-- Re-base an automation's cursor on this database's transaction ids, and so confirm that this
-- copy exports to the automation's S3 path.  export_from => 'now': the span versions written
-- from now on (every transaction not yet ended when it is called included); a timestamp: also
-- those written since then (after a restore every restored span counts as written when it was
-- restored, so a time before the restore re-exports them all).
CREATE OR REPLACE FUNCTION btexport._rebase_cursor(a btexport.automations, export_from text)
RETURNS btexport.automations LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	since timestamptz;
	c xid8;
BEGIN
	IF export_from IS NULL THEN
		RAISE EXCEPTION 'rebase_cursor needs export_from'
			USING ERRCODE = '22004', HINT = 'Pass export_from => ''now'' or a timestamp, e.g. export_from => ''2026-01-01 00:00+00''.';
	END IF;
	-- a Braintrust source's position is Braintrust's, valid anywhere: the call only confirms the copy
	IF a.connection IS NOT NULL THEN
		IF lower(btrim(export_from)) <> 'now' THEN
			RAISE EXCEPTION 'automation "%" reads a Braintrust connection: its position is Braintrust''s', a.name
				USING ERRCODE = '22023',
					  HINT = 'Pass export_from => ''now'' to confirm that this copy continues from the Braintrust position it was restored with.';
		END IF;
		UPDATE btexport.automations x SET cursor_cluster = btexport._cluster_id(), updated = now()
		 WHERE x.id = a.id RETURNING * INTO a;
		RETURN a;
	END IF;
	-- spans restored with triggers disabled keep the original's transaction ids, which mean nothing here
	IF EXISTS (SELECT 1 FROM btexport.logs l WHERE l.project_id = a.project_id
				  AND l._xact_id >= pg_snapshot_xmax(pg_current_snapshot())) THEN
		RAISE EXCEPTION 'spans of automation "%"''s project carry transaction ids of another cluster', a.name
			USING ERRCODE = '55000',
				  DETAIL = 'They were restored with triggers disabled (pg_restore --disable-triggers), which keeps the original''s _xact_id.',
				  HINT = 'Stamp them with this cluster''s transaction ids first: UPDATE btexport.logs SET _updated = _updated WHERE _xact_id >= pg_snapshot_xmax(pg_current_snapshot()); then re-base.';
	END IF;
	IF lower(btrim(export_from)) = 'now' THEN
		c := pg_snapshot_xmin(pg_current_snapshot());
	ELSE
		BEGIN
			since := export_from::timestamptz;
		EXCEPTION WHEN data_exception OR feature_not_supported THEN	-- any text that is no timestamp
			RAISE EXCEPTION 'export_from must be ''now'' or a timestamp, not "%"', btexport._excerpt(export_from)
				USING ERRCODE = '22007', HINT = 'Pass export_from => ''now'' or e.g. export_from => ''2026-01-01 00:00+00''.';
		END;
		c := btexport._cursor_since(a.project_id, since);
	END IF;
	UPDATE btexport.automations x SET cursor = c, cursor_cluster = btexport._cluster_id(), updated = now()
	 WHERE x.id = a.id RETURNING * INTO a;
	RETURN a;
END
$$;
CREATE OR REPLACE FUNCTION btexport.rebase_cursor(automation text, export_from text)
RETURNS btexport.automations LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
	SELECT btexport._rebase_cursor(btexport._automation_for_caller(automation), export_from)
$$;
CREATE OR REPLACE FUNCTION btexport.rebase_cursor(automation_id bigint, export_from text)
RETURNS btexport.automations LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
	SELECT btexport._rebase_cursor(btexport._automation_for_caller(automation_id), export_from)
$$;
COMMENT ON FUNCTION btexport.rebase_cursor(text, text) IS 'after a restore or copy: count the cursor in this database''s transaction ids (export_from => ''now'' or a timestamp) and so let its runs export again';
REVOKE ALL ON FUNCTION btexport._rebase_cursor(btexport.automations, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION btexport.rebase_cursor(text, text), btexport.rebase_cursor(bigint, text) TO btexport_user;

-- ---------------------------------------------------------------------------
-- Every trigger leaves a trace: one that produces no run is recorded in btexport.trigger_skips
-- (by btexport.run for paused, not due and a foreign cursor; by the launcher and the run's
-- worker in C for the rest, src/run/launch.c and worker.c).  A repeat of the automation's last
-- skip (same trigger and reason, no run queued since) counts up that row instead of adding one.
-- ---------------------------------------------------------------------------
CREATE OR REPLACE FUNCTION btexport._record_skip(automation_id bigint, trigger text, reason text, detail text,
												 request_token text DEFAULT NULL)
RETURNS void LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	a btexport.automations;
	s btexport.trigger_skips;
	why text := detail;
BEGIN
	SELECT * INTO a FROM btexport.automations x WHERE x.id = _record_skip.automation_id;
	IF NOT FOUND THEN
		RETURN;
	END IF;
	why := coalesce(why, CASE reason
		WHEN 'paused' THEN 'the automation is paused' || coalesce(' (' || a.paused_reason || ')', '')
						   || '; btexport.resume() starts it again'
		WHEN 'not_due' THEN format('the automation runs every %s; the next run is due at %s', a.period,
								   btexport._period_due_at(a.id, a.period))
		WHEN 'already_queued' THEN 'a trigger already waits behind the running export; that run exports these spans too'
		WHEN 'no_worker_slot' THEN 'no free background worker slot (max_worker_processes); raise it and restart the server'
		WHEN 'worker_failed' THEN 'the run''s background worker stopped before it recorded a run; the server log has its error'
		WHEN 'cursor_foreign' THEN btexport._cursor_problem(a) END);
	SELECT * INTO s FROM btexport.trigger_skips k WHERE k.automation_id = a.id ORDER BY k.id DESC LIMIT 1 FOR UPDATE;
	IF FOUND AND s.reason = _record_skip.reason AND s.trigger = _record_skip.trigger
	   AND NOT EXISTS (SELECT 1 FROM btexport.runs r WHERE r.automation_id = a.id AND r.queued_at > s.last_at) THEN
		UPDATE btexport.trigger_skips k SET count = k.count + 1, last_at = clock_timestamp(), detail = why,
			   request_token = coalesce(_record_skip.request_token, k.request_token)
		 WHERE k.id = s.id;
	ELSE
		INSERT INTO btexport.trigger_skips (automation_id, owner, trigger, reason, detail, request_token)
		VALUES (a.id, a.owner, _record_skip.trigger, _record_skip.reason, why, _record_skip.request_token);
	END IF;
END
$$;
REVOKE ALL ON FUNCTION btexport._record_skip(bigint, text, text, text, text) FROM PUBLIC;

-- ---------------------------------------------------------------------------
-- DROP EXTENSION btexport: refused while btexport.logs holds spans, unless the dropping session
-- confirms it with SET btexport.allow_drop_spans = on; the automations' pg_cron jobs are removed
-- in the drop's transaction.  An event trigger at ddl_command_start (src/api/drop_guard.c)
-- calls _before_drop() for a DROP EXTENSION that names btexport.
-- ---------------------------------------------------------------------------
CREATE OR REPLACE FUNCTION btexport._before_drop()
RETURNS void LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	n bigint;
BEGIN
	SELECT count(*) INTO n FROM (SELECT 1 FROM btexport.logs LIMIT 1000000) x;
	IF n > 0 AND NOT coalesce(current_setting('btexport.allow_drop_spans', true)::boolean, false) THEN
		RAISE EXCEPTION 'cannot drop extension btexport: btexport.logs holds % spans', CASE WHEN n >= 1000000 THEN 'over a million' ELSE n::text END
			USING ERRCODE = '2BP01',
				  DETAIL = 'Dropping the extension deletes its span store, which for btexport.log() users is the primary copy of their logs.',
				  HINT = 'Back them up first (pg_dump of this database keeps btexport''s tables), then confirm in the same session: SET btexport.allow_drop_spans = on; DROP EXTENSION btexport;';
	END IF;
	IF EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'pg_cron') THEN
		EXECUTE 'SELECT count(cron.unschedule(j.jobid)) FROM cron.job j WHERE j.jobname LIKE ''btexport:%'''
				' AND j.database = pg_catalog.current_database()';
	END IF;
END
$$;
REVOKE ALL ON FUNCTION btexport._before_drop() FROM PUBLIC;

CREATE OR REPLACE FUNCTION btexport._drop_guard()
RETURNS event_trigger LANGUAGE c AS 'MODULE_PATHNAME', 'btexport_drop_guard';
REVOKE ALL ON FUNCTION btexport._drop_guard() FROM PUBLIC;
DROP EVENT TRIGGER IF EXISTS btexport_drop_guard;
CREATE EVENT TRIGGER btexport_drop_guard ON ddl_command_start WHEN TAG IN ('DROP EXTENSION')
	EXECUTE FUNCTION btexport._drop_guard();
