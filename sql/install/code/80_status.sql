-- ---------------------------------------------------------------------------
-- Monitoring: one row per automation.
-- ---------------------------------------------------------------------------
-- next firing of the schedules btexport writes (UTC, pg_cron's default cron.timezone); NULL otherwise
CREATE OR REPLACE FUNCTION btexport._next_run(schedule text, after timestamptz)
RETURNS timestamptz LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	m text[];
	t timestamp := after AT TIME ZONE 'UTC';
BEGIN
	IF schedule IS NULL THEN
		RETURN NULL;
	ELSIF schedule = '* * * * *' THEN
		RETURN (date_trunc('minute', t) + interval '1 minute') AT TIME ZONE 'UTC';
	ELSIF schedule = '0 * * * *' THEN
		RETURN (date_trunc('hour', t) + interval '1 hour') AT TIME ZONE 'UTC';
	ELSIF schedule = '0 0 * * *' THEN
		RETURN (date_trunc('day', t) + interval '1 day') AT TIME ZONE 'UTC';
	ELSIF schedule = '0 0 * * 0' THEN
		RETURN (date_trunc('day', t) + make_interval(days => 7 - extract(dow FROM t)::int)) AT TIME ZONE 'UTC';
	END IF;
	m := regexp_match(schedule, '^\*/([0-9]+) \* \* \* \*$');
	IF m IS NOT NULL THEN
		RETURN (date_trunc('hour', t) + make_interval(mins => ((extract(minute FROM t)::int / m[1]::int) + 1) * m[1]::int)) AT TIME ZONE 'UTC';
	END IF;
	m := regexp_match(schedule, '^0 \*/([0-9]+) \* \* \*$');
	IF m IS NOT NULL THEN
		RETURN (date_trunc('day', t) + make_interval(hours => ((extract(hour FROM t)::int / m[1]::int) + 1) * m[1]::int)) AT TIME ZONE 'UTC';
	END IF;
	RETURN NULL;
END
$$;

-- failed runs since the automation's last successful run (btexport.status; the worker pauses
-- the automation when it reaches max_failures)
CREATE OR REPLACE FUNCTION btexport._consecutive_failures(automation_id bigint)
RETURNS bigint LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $$
	SELECT count(*) FROM btexport.runs r
	 WHERE r.automation_id = _consecutive_failures.automation_id AND r.status = 'failed'
	   AND r.id > COALESCE((SELECT max(s.id) FROM btexport.runs s
							 WHERE s.automation_id = _consecutive_failures.automation_id AND s.status = 'succeeded'), 0)
$$;

-- security_invoker: the row-level security of the span store applies to the role querying
-- the view, so lag_rows counts only rows it may see (for the automation's owner: exactly the
-- rows its runs will export)
CREATE OR REPLACE VIEW btexport.status WITH (security_barrier, security_invoker) AS
	SELECT a.id, a.name, a.owner, COALESCE(p.name, a.remote_project) AS project, a.export_type, a.format, a.s3_path, a.status,
		   a.paused_reason, a."interval", a.schedule,
		   CASE WHEN a.status <> 'active' THEN NULL
				-- a period automation: the first minute tick once it is due
				WHEN a.period IS NOT NULL THEN
					date_trunc('minute', greatest(now(), btexport._period_due_at(a.id, a.period))) + interval '1 minute'
				ELSE btexport._next_run(a.schedule, now()) END AS next_run,
		   last.id AS last_run_id, last.status AS last_run_status, last.started_at AS last_run_started,
		   last.finished_at AS last_run_finished, last.rows AS last_run_rows, last.files AS last_run_files,
		   last.error_message AS last_error,
		   (SELECT max(r.finished_at) FROM btexport.runs r
			 WHERE r.automation_id = a.id AND r.status = 'succeeded') AS last_success,
		   btexport._consecutive_failures(a.id) AS consecutive_failures,
		   a.cursor,
		   CASE WHEN a.connection IS NULL THEN lag.rows END AS lag_rows,
		   CASE WHEN a.connection IS NULL THEN lag.seconds END AS lag_seconds,
		   -- where the rows come from, and where the next run starts (a remote source: its position)
		   CASE WHEN a.connection IS NULL THEN 'span store'
				ELSE 'Braintrust connection ' OPERATOR(pg_catalog.||) a.connection END AS source,
		   COALESCE(a.source_position, CASE WHEN a.connection IS NULL THEN a.cursor::text END) AS source_position,
		   last.api_requests AS last_run_api_requests,
		   -- a restored or copied database: why its runs refuse until btexport.rebase_cursor (lag_rows
		   -- counts from a cursor that means nothing here)
		   btexport._cursor_problem(a) AS cursor_problem
	  FROM btexport.automations a
	  LEFT JOIN btexport.projects p ON p.id = a.project_id
	  LEFT JOIN LATERAL (SELECT r.* FROM btexport.runs r WHERE r.automation_id = a.id
						 ORDER BY r.id DESC LIMIT 1) last ON true
	  -- cursor lag: span versions not exported yet (counted up to a million), and how old the oldest is
	  LEFT JOIN LATERAL (SELECT count(*) AS rows,
								round(extract(epoch FROM now() - min(w._updated))::numeric, 1) AS seconds
						   FROM (SELECT l._updated FROM btexport.logs l
								  WHERE l.project_id = a.project_id AND l._xact_id >= a.cursor
								  LIMIT 1000000) w) lag ON true
	 WHERE pg_catalog.pg_has_role(CURRENT_USER, a.owner::oid, 'USAGE');
COMMENT ON VIEW btexport.status IS 'per automation: schedule, last run, last success, consecutive failures, cursor';
GRANT SELECT ON btexport.status TO btexport_user;

-- running runs: rows and bytes so far, rate, current object.  While a run's transaction is open
-- its writes to btexport.runs are invisible, so its worker publishes its progress in its backend
-- status (src/run/history.c); _live_progress() reads it.
CREATE OR REPLACE FUNCTION btexport._live_progress()
RETURNS TABLE (pid integer, run_id bigint, rows bigint, bytes bigint, object_seq integer, api_requests bigint)
LANGUAGE c VOLATILE AS 'MODULE_PATHNAME', 'btexport_live_progress';
REVOKE ALL ON FUNCTION btexport._live_progress() FROM PUBLIC;

-- the key of a run's n-th object (the runner's own naming)
CREATE OR REPLACE FUNCTION btexport._object_key(base_key text, seq integer, format text, compression text)
RETURNS text LANGUAGE c IMMUTABLE AS 'MODULE_PATHNAME', 'btexport_object_key';

CREATE OR REPLACE FUNCTION btexport._progress()
RETURNS TABLE (run_id bigint, automation text, pid integer, started_at timestamptz, rows bigint, bytes bigint,
			   rows_per_second numeric, current_object text, api_requests bigint, position_from text)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
	SELECT r.id, a.name, r.pid, r.started_at, p.rows, p.bytes,
		   round(p.rows::numeric / GREATEST(extract(epoch FROM clock_timestamp() - r.started_at), 0.001), 1),
		   's3://' || a.bucket || '/' || btexport._object_key(r.base_key, p.object_seq, a.format, a.compression),
		   CASE WHEN p.api_requests >= 0 THEN p.api_requests END, r.position_from
	  FROM btexport.runs r
	  JOIN btexport.automations a ON a.id = r.automation_id
	  JOIN pg_stat_activity s ON s.pid = r.pid AND s.backend_type = 'btexport run'
							  AND s.application_name = 'btexport run ' || r.id
	  LEFT JOIN btexport._live_progress() p ON p.pid = r.pid AND p.run_id = r.id
	 WHERE r.status = 'running' AND pg_has_role(btexport._invoker(), r.owner::oid, 'USAGE')
$$;
CREATE OR REPLACE VIEW btexport.progress AS SELECT * FROM btexport._progress();
COMMENT ON VIEW btexport.progress IS 'each running run: rows and bytes so far, rate, current object';
GRANT SELECT ON btexport.progress TO btexport_user;
