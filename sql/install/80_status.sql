-- ---------------------------------------------------------------------------
-- Monitoring: one row per automation.
-- ---------------------------------------------------------------------------
CREATE VIEW btexport.status WITH (security_barrier) AS
	SELECT a.id, a.name, a.owner, p.name AS project, a.export_type, a.format, a.s3_path, a.status,
		   a.paused_reason, a."interval", a.schedule,
		   last.id AS last_run_id, last.status AS last_run_status, last.started_at AS last_run_started,
		   last.finished_at AS last_run_finished, last.rows AS last_run_rows, last.files AS last_run_files,
		   last.error_message AS last_error,
		   (SELECT max(r.finished_at) FROM btexport.runs r
			 WHERE r.automation_id = a.id AND r.status = 'succeeded') AS last_success,
		   (SELECT count(*) FROM btexport.runs r
			 WHERE r.automation_id = a.id AND r.status = 'failed'
			   AND r.id > COALESCE((SELECT max(s.id) FROM btexport.runs s
									 WHERE s.automation_id = a.id AND s.status = 'succeeded'), 0)) AS consecutive_failures,
		   a.cursor
	  FROM btexport.automations a
	  JOIN btexport.projects p ON p.id = a.project_id
	  LEFT JOIN LATERAL (SELECT r.* FROM btexport.runs r WHERE r.automation_id = a.id
						 ORDER BY r.id DESC LIMIT 1) last ON true
	 WHERE pg_catalog.pg_has_role(CURRENT_USER, a.owner::oid, 'USAGE');
COMMENT ON VIEW btexport.status IS 'per automation: schedule, last run, last success, consecutive failures, cursor';
GRANT SELECT ON btexport.status TO btexport_user;

-- running runs: rows and bytes so far, rate, current object (from the worker's activity)
CREATE FUNCTION btexport._progress()
RETURNS TABLE (run_id bigint, automation text, pid integer, started_at timestamptz, rows bigint, bytes bigint,
			   rows_per_second numeric, current_object text)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
	SELECT r.id, a.name, r.pid, r.started_at, m[2]::bigint, m[3]::bigint,
		   round(m[2]::numeric / GREATEST(extract(epoch FROM clock_timestamp() - r.started_at), 0.001), 1),
		   NULLIF(m[4], 's3://' || a.bucket || '/')
	  FROM btexport.runs r
	  JOIN btexport.automations a ON a.id = r.automation_id
	  JOIN pg_stat_activity s ON s.pid = r.pid AND s.backend_type = 'btexport run'
	  LEFT JOIN LATERAL regexp_match(s.query, '^btexport run (\d+): (\d+) rows, (\d+) bytes, object (.*)$') m ON true
	 WHERE r.status = 'running' AND pg_has_role(btexport._invoker(), r.owner::oid, 'USAGE')
$$;
CREATE VIEW btexport.progress AS SELECT * FROM btexport._progress();
COMMENT ON VIEW btexport.progress IS 'each running run: rows and bytes so far, rate, current object';
GRANT SELECT ON btexport.progress TO btexport_user;
