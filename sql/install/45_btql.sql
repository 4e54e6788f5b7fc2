-- ---------------------------------------------------------------------------
-- BTQL: the compiler lives in src/btql; the glue in src/api/btql_glue.c.
-- ---------------------------------------------------------------------------

-- json_extract() in compiled queries: parse a string as JSON, NULL when it is not JSON
CREATE FUNCTION btexport.btql_try_jsonb(t text) RETURNS jsonb
LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE SET search_path = pg_catalog, pg_temp AS $$
BEGIN
	RETURN t::jsonb;
EXCEPTION WHEN others THEN
	RETURN NULL;
END
$$;

-- validate an automation's query: compiles, reads the automation's project, and plans
CREATE FUNCTION btexport._check_query(query text, project uuid)
RETURNS void LANGUAGE c VOLATILE AS 'MODULE_PATHNAME', 'btexport_check_query';

-- run a BTQL query (either syntax) as the caller; one JSON object per result row
CREATE FUNCTION btexport.query(btql text)
RETURNS SETOF jsonb LANGUAGE c VOLATILE STRICT AS 'MODULE_PATHNAME', 'btexport_query';
COMMENT ON FUNCTION btexport.query(text) IS 'run a BTQL query over the span store and return its rows as JSON';

-- the SQL a BTQL query compiles to, with its bind parameters and result columns
CREATE FUNCTION btexport.explain(btql text, export boolean DEFAULT false)
RETURNS text LANGUAGE c IMMUTABLE STRICT AS 'MODULE_PATHNAME', 'btexport_explain';
COMMENT ON FUNCTION btexport.explain(text, boolean) IS 'show the PostgreSQL query a BTQL query compiles to (export => true: as an export runs it)';

GRANT EXECUTE ON FUNCTION btexport.query(text), btexport.explain(text, boolean) TO btexport_user;
