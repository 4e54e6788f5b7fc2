-- ---------------------------------------------------------------------------
-- BTQL entry points (the compiler lives in src/btql; glue in src/api).
-- ---------------------------------------------------------------------------
CREATE FUNCTION btexport._check_query(query text, project uuid)
RETURNS void LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
BEGIN
	IF query IS NULL OR btrim(query) = '' THEN
		RAISE EXCEPTION 'export type btql needs a query'
			USING ERRCODE = '22023', HINT = 'Pass query => ''select: * | from: project_logs(''''<project>'''') | filter: ...''.';
	END IF;
END
$$;
