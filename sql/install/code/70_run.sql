-- ---------------------------------------------------------------------------
-- Runs: btexport.run (manual or scheduled trigger) and btexport.test.
-- ---------------------------------------------------------------------------

CREATE OR REPLACE FUNCTION btexport._run(automation_id bigint, trigger text, wait boolean)
RETURNS btexport.runs LANGUAGE c VOLATILE STRICT AS 'MODULE_PATHNAME', 'btexport_run_launch';
REVOKE ALL ON FUNCTION btexport._run(bigint, text, boolean) FROM PUBLIC;

CREATE OR REPLACE FUNCTION btexport._check_trigger(trigger text) RETURNS text
LANGUAGE plpgsql IMMUTABLE SET search_path = pg_catalog, pg_temp AS $$
BEGIN
	IF trigger IS NULL OR trigger NOT IN ('manual', 'schedule') THEN
		RAISE EXCEPTION 'unknown trigger "%"', btexport._excerpt(trigger)
			USING ERRCODE = '22023', HINT = 'Use trigger => ''manual'' (the default) or ''schedule''.';
	END IF;
	RETURN trigger;
END
$$;

-- Run an automation now: exports what it has not exported yet.  With wait => true (the
-- default) returns the finished run; with wait => false returns it queued.
CREATE OR REPLACE FUNCTION btexport.run(automation text, trigger text DEFAULT 'manual', wait boolean DEFAULT true)
RETURNS btexport.runs LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	a btexport.automations := btexport._automation_for_caller(automation);
BEGIN
	PERFORM btexport._check_cursor(a);
	RETURN btexport._run(a.id, btexport._check_trigger(trigger), coalesce(wait, true));
END
$$;
COMMENT ON FUNCTION btexport.run(text, text, boolean) IS 'export the new rows of an automation to S3 now (in a background worker) and return the run';

-- the form pg_cron jobs call: SELECT btexport.run(<id>::bigint, trigger => 'schedule')
-- (only enqueues: the export runs in a background worker, not in pg_cron's connection)
CREATE OR REPLACE FUNCTION btexport.run(automation_id bigint, trigger text DEFAULT 'manual', wait boolean DEFAULT NULL)
RETURNS btexport.runs LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	a btexport.automations := btexport._automation_for_caller(automation_id);
	skip text;
BEGIN
	-- a scheduled trigger that starts no run leaves its reason in btexport.trigger_skips
	IF trigger = 'schedule' THEN
		skip := CASE WHEN a.status = 'paused' THEN 'paused'
					 WHEN btexport._period_due_at(a.id, a.period) > now() THEN 'not_due'
					 WHEN btexport._cursor_problem(a) IS NOT NULL THEN 'cursor_foreign' END;
		IF skip IS NOT NULL THEN
			PERFORM btexport._record_skip(a.id, trigger, skip, NULL);
			RETURN NULL;
		END IF;
	ELSE
		PERFORM btexport._check_cursor(a);
	END IF;
	RETURN btexport._run(a.id, btexport._check_trigger(trigger), coalesce(wait, trigger <> 'schedule'));
END
$$;

-- stop a queued or running run cleanly (its uploads are aborted, nothing is committed)
CREATE OR REPLACE FUNCTION btexport.cancel(run_id bigint)
RETURNS boolean LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	r btexport.runs;
BEGIN
	SELECT * INTO r FROM btexport.runs x WHERE x.id = run_id;
	IF NOT FOUND OR NOT pg_has_role(btexport._invoker(), r.owner::oid, 'USAGE') THEN
		RAISE EXCEPTION 'run % does not exist', run_id
			USING ERRCODE = '42704', HINT = 'See btexport.runs for your runs.';
	END IF;
	IF r.status NOT IN ('queued', 'running') THEN
		RETURN false;
	END IF;
	-- only the run's own worker: a crashed run's pid may belong to another process by now
	-- (the worker names itself "btexport run <id>" before the run row commits)
	RETURN COALESCE((SELECT pg_cancel_backend(r.pid) FROM pg_stat_activity s
					  WHERE s.pid = r.pid AND s.backend_type = 'btexport run'
						AND s.application_name = 'btexport run ' || r.id), false);
END
$$;

GRANT EXECUTE ON FUNCTION btexport.run(text, text, boolean), btexport.run(bigint, text, boolean),
	btexport.cancel(bigint) TO btexport_user;


CREATE OR REPLACE FUNCTION btexport._test(a btexport.automations)
RETURNS TABLE (step text, ok boolean, detail text, hint text)
LANGUAGE c VOLATILE STRICT AS 'MODULE_PATHNAME', 'btexport_test_internal';
REVOKE ALL ON FUNCTION btexport._test(btexport.automations) FROM PUBLIC;

-- Test a saved automation: query, credentials, and a test object put, read and deleted.
CREATE OR REPLACE FUNCTION btexport.test(automation text)
RETURNS TABLE (step text, ok boolean, detail text, hint text)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	a btexport.automations := btexport._automation_for_caller(automation);
BEGIN
	PERFORM btexport._check_runnable(a);
	RETURN QUERY SELECT * FROM btexport._test(a);
END
$$;
CREATE OR REPLACE FUNCTION btexport.test(automation_id bigint)
RETURNS TABLE (step text, ok boolean, detail text, hint text)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	a btexport.automations := btexport._automation_for_caller(automation_id);
BEGIN
	PERFORM btexport._check_runnable(a);
	RETURN QUERY SELECT * FROM btexport._test(a);
END
$$;
COMMENT ON FUNCTION btexport.test(text) IS 'test a saved automation without exporting: query, credentials, put/head/delete of a test object';

-- test(<the create_automation arguments>): generated with create_automation (51_settings.sql)
GRANT EXECUTE ON FUNCTION btexport.test(text), btexport.test(bigint) TO btexport_user;
