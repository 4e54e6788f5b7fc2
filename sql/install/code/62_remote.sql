-- ---------------------------------------------------------------------------
-- Braintrust as a source: the row mapping of the remote source
-- (src/run/source_braintrust.c, docs/braintrust-source.md).
--
-- One definition for both sources.  A page of Braintrust rows is staged into
-- pg_temp.btexport_staged, a temporary table of btexport.logs' shape
-- (btexport._stage_api_rows: each field into the column btexport.log writes
-- it to), and the exported rows come from _export_spans_staged and
-- _export_traces_staged, which are _export_spans and _export_traces with the
-- table they read changed, derived below from their definitions in the
-- catalog.  A change to the local export is a change to the remote one.
-- ---------------------------------------------------------------------------

-- JSON values of Braintrust rows as column types, NULL where the value has another type
-- (an API's row never fails a run for a value's type)
CREATE OR REPLACE FUNCTION btexport._api_text(v jsonb) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
	SELECT CASE pg_catalog.jsonb_typeof(v) WHEN 'string' THEN v OPERATOR(pg_catalog.#>>) '{}'
										   WHEN 'null' THEN NULL ELSE v::text END
$$;

CREATE OR REPLACE FUNCTION btexport._api_text_array(v jsonb) RETURNS text[]
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
	SELECT CASE WHEN pg_catalog.jsonb_typeof(v) OPERATOR(pg_catalog.=) 'array' THEN
		COALESCE((SELECT pg_catalog.array_agg(btexport._api_text(e.value) ORDER BY e.n)
					FROM pg_catalog.jsonb_array_elements(v) WITH ORDINALITY e(value, n)), '{}'::text[]) END
$$;

CREATE OR REPLACE FUNCTION btexport._api_float8(v jsonb) RETURNS float8
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE SET search_path = pg_catalog, pg_temp AS $$
BEGIN
	IF jsonb_typeof(v) = 'number' THEN
		RETURN (v #>> '{}')::float8;
	END IF;
	RETURN NULL;
EXCEPTION WHEN numeric_value_out_of_range THEN
	RETURN NULL;
END
$$;

-- integers; _xact_id and other 64-bit ids come as strings of digits
CREATE OR REPLACE FUNCTION btexport._api_int8(v jsonb) RETURNS bigint
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE SET search_path = pg_catalog, pg_temp AS $$
BEGIN
	IF jsonb_typeof(v) = 'number' OR (jsonb_typeof(v) = 'string' AND (v #>> '{}') ~ '^-?[0-9]{1,19}$') THEN
		RETURN round((v #>> '{}')::numeric)::bigint;
	END IF;
	RETURN NULL;
EXCEPTION WHEN numeric_value_out_of_range THEN
	RETURN NULL;
END
$$;

CREATE OR REPLACE FUNCTION btexport._api_bool(v jsonb) RETURNS boolean
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
	SELECT CASE WHEN pg_catalog.jsonb_typeof(v) OPERATOR(pg_catalog.=) 'boolean' THEN v::boolean END
$$;

CREATE OR REPLACE FUNCTION btexport._api_timestamptz(v jsonb) RETURNS timestamptz
LANGUAGE plpgsql STABLE PARALLEL SAFE SET search_path = pg_catalog, pg_temp AS $$
BEGIN
	IF jsonb_typeof(v) = 'string' THEN
		RETURN (v #>> '{}')::timestamptz;
	END IF;
	RETURN NULL;
EXCEPTION WHEN data_exception THEN
	RETURN NULL;
END
$$;

CREATE OR REPLACE FUNCTION btexport._api_date(v jsonb) RETURNS date
LANGUAGE plpgsql STABLE PARALLEL SAFE SET search_path = pg_catalog, pg_temp AS $$
BEGIN
	IF jsonb_typeof(v) = 'string' THEN
		RETURN (v #>> '{}')::date;
	END IF;
	RETURN NULL;
EXCEPTION WHEN data_exception THEN
	RETURN NULL;
END
$$;

CREATE OR REPLACE FUNCTION btexport._api_interval(v jsonb) RETURNS interval
LANGUAGE plpgsql STABLE PARALLEL SAFE SET search_path = pg_catalog, pg_temp AS $$
BEGIN
	IF jsonb_typeof(v) = 'string' THEN
		RETURN (v #>> '{}')::interval;
	ELSIF jsonb_typeof(v) = 'number' THEN
		RETURN make_interval(secs => (v #>> '{}')::float8);
	END IF;
	RETURN NULL;
EXCEPTION WHEN data_exception THEN
	RETURN NULL;
END
$$;

-- Braintrust rows (a JSON array, one page) of project p into pg_temp.btexport_staged: the
-- fields into the columns btexport.log writes them to (src/api/ingest.c, 20_ingest.sql), the
-- version's _xact_id as it is.  Rows without an id are skipped; a missing span_id or
-- root_span_id falls back as Braintrust's own ids do (span_id = id, root = span); created
-- that is not a timestamp is the time of staging.
CREATE OR REPLACE FUNCTION btexport._stage_api_rows(rows jsonb, p uuid) RETURNS bigint
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	n bigint;
BEGIN
	INSERT INTO pg_temp.btexport_staged AS s
		(project_id, id, span_id, root_span_id, span_parents, created, org_id, log_id,
		 input, output, expected, error, scores, metrics, metadata, span_attributes,
		 context, origin, comment, tags, audit_source, audit_metadata, _xact_id, _updated)
	SELECT p, r.v ->> 'id',
		   COALESCE(r.v ->> 'span_id', r.v ->> 'id'),
		   COALESCE(r.v ->> 'root_span_id', r.v ->> 'span_id', r.v ->> 'id'),
		   btexport._api_text_array(r.v -> 'span_parents'),
		   COALESCE(btexport._api_timestamptz(r.v -> 'created'), now()),
		   CASE WHEN (r.v ->> 'org_id') ~* '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$'
				THEN (r.v ->> 'org_id')::uuid END,
		   'g',
		   r.v -> 'input', r.v -> 'output', r.v -> 'expected', r.v -> 'error', r.v -> 'scores',
		   r.v -> 'metrics', r.v -> 'metadata', r.v -> 'span_attributes', r.v -> 'context', r.v -> 'origin',
		   r.v -> 'comment', btexport._api_text_array(r.v -> 'tags'),
		   r.v ->> 'audit_source', r.v -> 'audit_metadata',
		   (r.v ->> '_xact_id')::xid8, now()
	  FROM jsonb_array_elements(rows) r(v)
	 WHERE jsonb_typeof(r.v -> 'id') = 'string'
	ON CONFLICT DO NOTHING;
	GET DIAGNOSTICS n = ROW_COUNT;
	RETURN n;
END
$$;
REVOKE ALL ON FUNCTION btexport._stage_api_rows(jsonb, uuid) FROM PUBLIC;

-- _export_spans_staged and _export_traces_staged: the local exports over the staged rows.
-- The body of each is its local function's body with btexport.logs replaced; the staging
-- table exists only in a run's session, so their bodies are not checked here.
DO $gen$
DECLARE
	f record;
	body text;
	old_check text := current_setting('check_function_bodies');
BEGIN
	PERFORM set_config('check_function_bodies', 'off', true);
	FOR f IN SELECT p.oid, p.proname, p.prosrc FROM pg_proc p
			  WHERE p.oid IN ('btexport._export_spans(uuid, xid8, xid8)'::regprocedure,
							  'btexport._export_traces(uuid, xid8, xid8)'::regprocedure)
	LOOP
		body := replace(f.prosrc, 'btexport.logs', 'pg_temp.btexport_staged');
		IF body = f.prosrc OR body ~ 'btexport\.logs' THEN
			RAISE EXCEPTION 'cannot derive the staged form of btexport.%', f.proname;
		END IF;
		-- dropped first: a change of the local export's columns changes its result type
		EXECUTE format('DROP FUNCTION IF EXISTS btexport.%I(uuid, xid8, xid8)', f.proname || '_staged');
		EXECUTE format('CREATE FUNCTION btexport.%I(%s) RETURNS %s LANGUAGE sql STABLE AS %L',
					   f.proname || '_staged', pg_get_function_arguments(f.oid), pg_get_function_result(f.oid), body);
		EXECUTE format('REVOKE ALL ON FUNCTION btexport.%I(uuid, xid8, xid8) FROM PUBLIC', f.proname || '_staged');
	END LOOP;
	PERFORM set_config('check_function_bodies', old_check, true);
END
$gen$;
