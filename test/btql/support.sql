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
