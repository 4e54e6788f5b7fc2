-- ---------------------------------------------------------------------------
-- BTQL: the compiler lives in src/core/btql; the glue in src/adapters/btql_glue.c and src/api/btql_query.c.
-- ---------------------------------------------------------------------------

-- json_extract() in compiled queries: parse a string as JSON, NULL when it is not JSON
CREATE OR REPLACE FUNCTION btexport.btql_try_jsonb(t text) RETURNS jsonb
LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE SET search_path = pg_catalog, pg_temp AS $$
BEGIN
	RETURN t::jsonb;
EXCEPTION WHEN others THEN
	RETURN NULL;
END
$$;

-- validate an automation's query: compiles, reads the automation's project, and plans
-- The compiled SQL is schema-qualified throughout; these functions also pin search_path, so
-- that nothing a caller's search_path puts first is ever resolved in it (security.md).
CREATE OR REPLACE FUNCTION btexport._check_query(query text, project uuid)
RETURNS void LANGUAGE c VOLATILE SET search_path = pg_catalog, pg_temp
AS 'MODULE_PATHNAME', 'btexport_check_query';

-- run a BTQL query (either syntax) as the caller; one JSON object per result row.
-- tz_offset: the request parameter of Braintrust's /btql (minutes, JavaScript's sign: 480 = UTC-8)
CREATE OR REPLACE FUNCTION btexport.query(btql text, tz_offset integer DEFAULT 0)
RETURNS SETOF jsonb LANGUAGE c VOLATILE STRICT SET search_path = pg_catalog, pg_temp
AS 'MODULE_PATHNAME', 'btexport_query';
COMMENT ON FUNCTION btexport.query(text, integer) IS 'run a BTQL query over the span store and return its rows as JSON (tz_offset: day/hour boundaries, minutes west of UTC)';

-- the SQL a BTQL query compiles to, with its bind parameters and result columns
CREATE OR REPLACE FUNCTION btexport.explain(btql text, export boolean DEFAULT false, tz_offset integer DEFAULT 0)
RETURNS text LANGUAGE c IMMUTABLE STRICT SET search_path = pg_catalog, pg_temp
AS 'MODULE_PATHNAME', 'btexport_explain';
COMMENT ON FUNCTION btexport.explain(text, boolean, integer) IS 'show the PostgreSQL query a BTQL query compiles to (export => true: as an export runs it)';

GRANT EXECUTE ON FUNCTION btexport.query(text, integer), btexport.explain(text, boolean, integer) TO btexport_user;
