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
