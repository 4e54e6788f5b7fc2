-- Helper the BTQL compiler's SQL calls for json_extract(): parse a string as
-- JSON, NULL when it is not valid JSON.  The extension's install script must
-- define it (same name and body) for json_extract() to work in the server.
CREATE FUNCTION btexport.btql_try_jsonb(t text) RETURNS jsonb
LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE AS $$
BEGIN
	RETURN t::jsonb;
EXCEPTION WHEN others THEN
	RETURN NULL;
END
$$;

-- Compiled BTQL reads JSON numbers with btexport._json_float8 (a C function of the extension,
-- src/api/ingest.c): a double as a JSON parser reads it, NULL for non-numbers and for numbers no
-- double holds.  This fixture does not load the extension, so this is a stand-in with the same
-- results for every number a double holds (the dataset has no others).
CREATE FUNCTION btexport._json_float8(j jsonb) RETURNS float8
LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE AS $$
BEGIN
	IF jsonb_typeof(j) <> 'number' THEN
		RETURN NULL;
	END IF;
	RETURN j::float8;
EXCEPTION WHEN numeric_value_out_of_range THEN
	RETURN CASE WHEN abs(j::numeric) < 1 THEN 0 END;
END
$$;
