-- ---------------------------------------------------------------------------
-- Privileges: the API is for btexport_user (and superusers); nothing else is
-- executable by PUBLIC except the pure helpers export queries and the span
-- store use while running as an automation's owner or as the writing role.
-- ---------------------------------------------------------------------------
REVOKE EXECUTE ON ALL FUNCTIONS IN SCHEMA btexport FROM PUBLIC;

GRANT EXECUTE ON FUNCTION
	btexport._num(jsonb, text),
	btexport._span_cost(jsonb),
	btexport._json_float8(jsonb),
	btexport._span_metrics(jsonb),
	btexport.export_schema(),
	btexport.export_type_map(),
	btexport._export_spans(uuid, xid8, xid8),
	btexport._export_traces(uuid, xid8, xid8),
	btexport.btql_try_jsonb(text),
	btexport._stamp_xact_id(),
	btexport._prng(integer, bigint, integer, text),
	btexport._pid(integer, bigint, integer, text),
	btexport._next_run(text, timestamptz),
	btexport._period_due_at(bigint, interval),
	btexport._consecutive_failures(bigint),
	-- the row-level security policies of the span store call these as the querying role
	btexport._visible_projects(text),
	btexport._project_name_problem(text),
	btexport._is_uuid(text)
TO PUBLIC;

-- internal entry points the SECURITY DEFINER API calls as the extension owner stay revoked;
-- the API itself:
GRANT EXECUTE ON FUNCTION
	btexport._check_query(text, uuid),
	btexport._resolve_project(text),
	btexport._progress(),
	-- btexport.status (security_invoker) shows why a restored automation's runs refuse
	btexport._cursor_problem(btexport.automations),
	btexport._cluster_id(),
	-- superusers only: it says so (42501 with a hint) to anyone else
	btexport.reassign_owned(regrole, regrole)
TO btexport_user;

-- ingestion runs as the writing role (not SECURITY DEFINER): btexport_user needs its helpers too
DO $$
DECLARE
	f regprocedure;
BEGIN
	FOR f IN SELECT p.oid::regprocedure FROM pg_catalog.pg_proc p
			  WHERE p.pronamespace OPERATOR(pg_catalog.=) 'btexport'::regnamespace
				AND (p.proname OPERATOR(pg_catalog.~~) '\_ingest%' OR p.proname OPERATOR(pg_catalog.=) ANY (ARRAY['log', 'log_text']))
	LOOP
		EXECUTE pg_catalog.format('GRANT EXECUTE ON FUNCTION %s TO btexport_user', f);
	END LOOP;
END
$$;
