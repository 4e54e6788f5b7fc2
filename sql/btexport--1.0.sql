-- btexport 1.0 install script.  Generated from sql/install/*.sql by the Makefile:
-- edit the parts, not btexport--1.0.sql.
\echo Use "CREATE EXTENSION btexport" to load this file. \quit

CREATE SCHEMA btexport;
COMMENT ON SCHEMA btexport IS 'btexport: Braintrust-style S3 export automations';

-- Roles: btexport_user may create and run automations; ambient server credentials
-- (environment, ~/.aws, instance metadata) are usable only by members of btexport_s3_writer.
DO $$
BEGIN
	IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname OPERATOR(pg_catalog.=) 'btexport_user') THEN
		CREATE ROLE btexport_user NOLOGIN;
	END IF;
	IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname OPERATOR(pg_catalog.=) 'btexport_s3_writer') THEN
		CREATE ROLE btexport_s3_writer NOLOGIN;
	END IF;
END
$$;
GRANT USAGE ON SCHEMA btexport TO btexport_user;
-- ---------------------------------------------------------------------------
-- Span store: Braintrust project_logs, one row per span (latest version).
-- ---------------------------------------------------------------------------
CREATE TABLE btexport.projects (
	id			uuid PRIMARY KEY DEFAULT pg_catalog.gen_random_uuid(),
	name		text NOT NULL UNIQUE CHECK (name OPERATOR(pg_catalog.<>) ''),
	org_id		uuid,
	created		timestamptz NOT NULL DEFAULT pg_catalog.now()
);
COMMENT ON TABLE btexport.projects IS 'projects whose logs btexport stores and exports';

CREATE TABLE btexport.logs (
	project_id		uuid NOT NULL REFERENCES btexport.projects (id) ON DELETE CASCADE,
	id				text NOT NULL,
	span_id			text NOT NULL,
	root_span_id	text NOT NULL,
	span_parents	text[],
	is_root			boolean NOT NULL
		GENERATED ALWAYS AS (COALESCE(pg_catalog.cardinality(span_parents), 0) OPERATOR(pg_catalog.=) 0) STORED,
	created			timestamptz NOT NULL DEFAULT pg_catalog.now(),
	org_id			uuid,
	log_id			text NOT NULL DEFAULT 'g',
	input			jsonb,
	output			jsonb,
	expected		jsonb,
	error			jsonb,
	scores			jsonb,
	metrics			jsonb,
	metadata		jsonb,
	span_attributes	jsonb,
	context			jsonb,
	origin			jsonb,
	comment			jsonb,
	tags			text[],
	audit_source	text,
	audit_metadata	jsonb,
	_xact_id		xid8 NOT NULL DEFAULT pg_catalog.pg_current_xact_id(),
	_updated		timestamptz NOT NULL DEFAULT pg_catalog.now(),
	PRIMARY KEY (project_id, id)
);
COMMENT ON TABLE btexport.logs IS 'span store in Braintrust''s project_logs schema; _xact_id is the export cursor';
COMMENT ON COLUMN btexport.logs._xact_id IS 'id of the transaction that last wrote the row (set by trigger)';
COMMENT ON COLUMN btexport.logs._updated IS 'start time of the transaction that last wrote the row (set by trigger)';

-- "spans of project P changed since cursor C", in the export's order (_xact_id, id): a run
-- streams its window from this index without sorting it; and "all spans of trace T"
CREATE INDEX logs_project_xact_idx ON btexport.logs (project_id, _xact_id, id);
CREATE INDEX logs_project_trace_idx ON btexport.logs (project_id, root_span_id);

-- Every insert and update stamps the writing transaction, whatever the client sent.
CREATE FUNCTION btexport._stamp_xact_id() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
	NEW._xact_id := pg_catalog.pg_current_xact_id();
	NEW._updated := pg_catalog.now();
	RETURN NEW;
END
$$;
CREATE TRIGGER logs_stamp_xact_id BEFORE INSERT OR UPDATE ON btexport.logs
	FOR EACH ROW EXECUTE FUNCTION btexport._stamp_xact_id();

GRANT SELECT, INSERT, UPDATE, DELETE ON btexport.logs TO btexport_user;
GRANT SELECT, INSERT, UPDATE ON btexport.projects TO btexport_user;

-- create (or find) a project by name
CREATE FUNCTION btexport.create_project(name text, org_id uuid DEFAULT NULL)
RETURNS uuid LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	pid uuid;
BEGIN
	IF name IS NULL OR name = '' THEN
		RAISE EXCEPTION 'project name must not be empty'
			USING ERRCODE = '22023', HINT = 'Pass a non-empty project name.';
	END IF;
	SELECT p.id INTO pid FROM btexport.projects p WHERE p.name = create_project.name;
	IF pid IS NULL THEN
		INSERT INTO btexport.projects (name, org_id) VALUES (create_project.name, create_project.org_id)
		RETURNING id INTO pid;
	END IF;
	RETURN pid;
END
$$;
COMMENT ON FUNCTION btexport.create_project(text, uuid) IS 'create a project (or return the id of the existing one with that name)';

-- resolve a project given by id or name; raises 42704 with a hint when unknown
CREATE FUNCTION btexport._resolve_project(project text)
RETURNS uuid LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	pid uuid;
BEGIN
	IF project IS NULL OR project = '' THEN
		RAISE EXCEPTION 'project must be given'
			USING ERRCODE = '22004', HINT = 'Pass the project''s name or id, e.g. project => ''my-app''.';
	END IF;
	SELECT p.id INTO pid FROM btexport.projects p
	 WHERE p.name = project OR p.id::text = pg_catalog.lower(project);
	IF pid IS NULL THEN
		RAISE EXCEPTION 'project "%" does not exist', project
			USING ERRCODE = '42704',
				  HINT = 'Create it with btexport.create_project(name), or check btexport.projects for the name or id.';
	END IF;
	RETURN pid;
END
$$;
-- ---------------------------------------------------------------------------
-- Ingestion: btexport.log() and btexport.log_text() write Braintrust log events
-- (the rows the SDK posts to /logs3) into btexport.logs.  See docs/ingest.md.
-- ---------------------------------------------------------------------------

-- one event after validation: its id (generated when missing), whether it is a
-- merge, and the normalised document; or why it is rejected
CREATE TYPE btexport._ingest_prepared AS (
	id			text,
	is_merge	boolean,
	doc			jsonb,
	field		text,
	sqlstate	text,
	message		text,
	detail		text,
	hint		text
);

CREATE FUNCTION btexport._ingest_prepare(event jsonb)
RETURNS btexport._ingest_prepared
AS 'MODULE_PATHNAME', 'btexport_ingest_prepare' LANGUAGE C VOLATILE PARALLEL SAFE;
COMMENT ON FUNCTION btexport._ingest_prepare(jsonb) IS 'internal: validate and normalise one log event';

CREATE FUNCTION btexport._ingest_fold_step(state jsonb, doc jsonb, is_merge boolean, now jsonb)
RETURNS jsonb
AS 'MODULE_PATHNAME', 'btexport_ingest_fold_step' LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION btexport._ingest_fold_step(jsonb, jsonb, boolean, jsonb) IS 'internal: apply one event (replace or deep merge) to a row document';

-- fold the events of one row id, in order, onto the stored row (if any);
-- the last argument is the created value for a new row whose first event has none
CREATE AGGREGATE btexport._ingest_fold(jsonb, boolean, jsonb) (
	SFUNC = btexport._ingest_fold_step,
	STYPE = jsonb
);

CREATE FUNCTION btexport._ingest_text_array(jsonb)
RETURNS text[]
AS 'MODULE_PATHNAME', 'btexport_ingest_text_array' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION btexport._ingest_random_hex(integer)
RETURNS text
AS 'MODULE_PATHNAME', 'btexport_ingest_random_hex' LANGUAGE C VOLATILE STRICT PARALLEL SAFE;

-- a stored row as a document in the same shape _ingest_prepare produces
-- (SQL NULL columns are absent keys; jsonb 'null' stays a JSON null)
CREATE FUNCTION btexport._ingest_row_doc(l btexport.logs)
RETURNS jsonb LANGUAGE sql STABLE PARALLEL SAFE SET search_path = pg_catalog, pg_temp AS $$
	SELECT pg_catalog.jsonb_object_agg(k, v)
	  FROM (VALUES
			('id', pg_catalog.to_jsonb(l.id)),
			('span_id', pg_catalog.to_jsonb(l.span_id)),
			('root_span_id', pg_catalog.to_jsonb(l.root_span_id)),
			('span_parents', pg_catalog.to_jsonb(l.span_parents)),
			('created', pg_catalog.to_jsonb(l.created)),
			('input', l.input),
			('output', l.output),
			('expected', l.expected),
			('error', l.error),
			('scores', l.scores),
			('metrics', l.metrics),
			('metadata', l.metadata),
			('span_attributes', l.span_attributes),
			('context', l.context),
			('origin', l.origin),
			('comment', l.comment),
			('tags', pg_catalog.to_jsonb(l.tags)),
			('audit_source', pg_catalog.to_jsonb(l.audit_source)),
			('audit_metadata', l.audit_metadata)) AS f(k, v)
	 WHERE v IS NOT NULL
$$;

-- what btexport.log() reports: one row per input event
CREATE TYPE btexport.log_result AS (
	event_index		integer,	-- 0-based position of the event in the input
	id				text,		-- row id (generated when the event had none)
	action			text,		-- insert | replace | merge | reject
	span_id			text,		-- the row's span_id after the call
	root_span_id	text,		-- the row's root_span_id (trace id) after the call
	field			text,		-- reject: the offending top-level field, if one
	sqlstate		text,		-- reject: SQLSTATE
	message			text,		-- reject: what is wrong
	detail			text,		-- reject: what was found
	hint			text		-- reject: what to do
);
COMMENT ON TYPE btexport.log_result IS 'one row per event passed to btexport.log(): what was written, or why it was rejected';

-- find the project by id, or by name creating it when missing
CREATE FUNCTION btexport._ingest_project(project text)
RETURNS uuid LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	pid uuid;
BEGIN
	IF project IS NULL OR project = '' THEN
		RAISE EXCEPTION 'project must be given'
			USING ERRCODE = '22004', HINT = 'Pass the project''s name or id, e.g. project => ''my-app''.';
	END IF;
	SELECT p.id INTO pid FROM btexport.projects p WHERE p.name = project;
	IF pid IS NOT NULL THEN
		RETURN pid;
	END IF;
	IF project ~* '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$' THEN
		-- an id: it must exist (raises 42704 with a hint when it does not)
		RETURN btexport._resolve_project(project);
	END IF;
	-- a name: register it, as the SDK does implicitly (safe against a concurrent insert)
	INSERT INTO btexport.projects AS p (name) VALUES (project)
		ON CONFLICT (name) DO NOTHING RETURNING p.id INTO pid;
	IF pid IS NULL THEN
		SELECT p.id INTO pid FROM btexport.projects p WHERE p.name = project;
	END IF;
	RETURN pid;
END
$$;

-- The engine.  events: a jsonb array of events; idxs: the event index to report
-- for each array element (NULL = its 0-based position); pre: events already
-- rejected by the caller (log_text's parse failures).
CREATE FUNCTION btexport._ingest_apply(project text, events jsonb, idxs integer[],
									   pre btexport.log_result[], on_error text)
RETURNS SETOF btexport.log_result
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	pid			uuid;
	porg		uuid;
	skip		boolean;
	may_write	boolean;
	res			btexport.log_result[] := COALESCE(pre, '{}');
	part		btexport.log_result[];
	pending		integer[];		-- array ordinals (1-based) still to apply; NULL = all
	lost		integer[];
	attempt		integer := 0;
	rej			btexport.log_result;
	nrej		integer;
	nwarn		integer := 0;
	now_json	jsonb := to_jsonb(now());
BEGIN
	IF on_error IS NULL OR on_error NOT IN ('error', 'skip') THEN
		RAISE EXCEPTION 'invalid on_error value "%"', on_error
			USING ERRCODE = '22023',
				  DETAIL = 'on_error must be ''error'' (reject the whole call when any event is invalid) or ''skip'' (write the valid events, report the rest).',
				  HINT = 'Pass on_error => ''error'' or on_error => ''skip''.';
	END IF;
	IF events IS NULL THEN
		RAISE EXCEPTION 'events must not be null'
			USING ERRCODE = '22004', HINT = 'Pass one event object or an array of them.';
	END IF;
	IF jsonb_typeof(events) <> 'array' THEN
		events := jsonb_build_array(events);
	END IF;
	skip := on_error = 'skip';
	may_write := skip OR cardinality(res) = 0;
	pid := btexport._ingest_project(project);
	SELECT p.org_id INTO porg FROM btexport.projects p WHERE p.id = pid;

	LOOP
		WITH ev AS MATERIALIZED (
			SELECT t.n::integer AS ord,
				   COALESCE(idxs[t.n], t.n::integer - 1) AS idx,
				   CASE WHEN p.message IS NOT NULL AND jsonb_typeof(t.e -> 'id') = 'string'
						THEN t.e ->> 'id' END AS bad_id,
				   p.*
			  FROM jsonb_array_elements(events) WITH ORDINALITY AS t(e, n)
			 CROSS JOIN LATERAL btexport._ingest_prepare(t.e) AS p
			 WHERE pending IS NULL OR t.n = ANY (pending)
		),
		good AS MATERIALIZED (
			SELECT ev.ord, ev.id, ev.is_merge, ev.doc
			  FROM ev
			 WHERE ev.message IS NULL
			   AND (skip OR (may_write AND NOT EXISTS (SELECT 1 FROM ev b WHERE b.message IS NOT NULL)))
		),
		base AS MATERIALIZED (
			SELECT l.id, btexport._ingest_row_doc(l) AS doc
			  FROM btexport.logs l
			 WHERE l.project_id = pid AND l.id IN (SELECT g.id FROM good g)
			 ORDER BY l.id
			   FOR UPDATE OF l
		),
		folded AS MATERIALIZED (
			SELECT s.id, btexport._ingest_fold(s.doc, s.is_merge, now_json ORDER BY s.ord) AS doc,
				   bool_or(s.ord = 0) AS had_base
			  FROM (SELECT b.id, 0 AS ord, b.doc, false AS is_merge FROM base b
					UNION ALL
					SELECT g.id, g.ord, g.doc, g.is_merge FROM good g) s
			 GROUP BY s.id
		),
		cols AS MATERIALIZED (
			SELECT f.id, f.had_base,
				   COALESCE(f.doc ->> 'span_id', btexport._ingest_random_hex(16)) AS span_id,
				   COALESCE(f.doc ->> 'root_span_id', btexport._ingest_random_hex(32)) AS root_span_id,
				   btexport._ingest_text_array(f.doc -> 'span_parents') AS span_parents,
				   (f.doc ->> 'created')::timestamptz AS created,
				   f.doc -> 'input' AS input,
				   f.doc -> 'output' AS output,
				   f.doc -> 'expected' AS expected,
				   f.doc -> 'error' AS error,
				   f.doc -> 'scores' AS scores,
				   f.doc -> 'metrics' AS metrics,
				   f.doc -> 'metadata' AS metadata,
				   f.doc -> 'span_attributes' AS span_attributes,
				   f.doc -> 'context' AS context,
				   f.doc -> 'origin' AS origin,
				   f.doc -> 'comment' AS comment,
				   btexport._ingest_text_array(f.doc -> 'tags') AS tags,
				   f.doc ->> 'audit_source' AS audit_source,
				   f.doc -> 'audit_metadata' AS audit_metadata
			  FROM folded f
		),
		upd AS (
			UPDATE btexport.logs l
			   SET span_id = c.span_id, root_span_id = c.root_span_id, span_parents = c.span_parents,
				   created = c.created, org_id = porg, log_id = 'g',
				   input = c.input, output = c.output, expected = c.expected, error = c.error,
				   scores = c.scores, metrics = c.metrics, metadata = c.metadata,
				   span_attributes = c.span_attributes, context = c.context, origin = c.origin,
				   comment = c.comment, tags = c.tags,
				   audit_source = c.audit_source, audit_metadata = c.audit_metadata
			  FROM cols c
			 WHERE c.had_base AND l.project_id = pid AND l.id = c.id
			RETURNING l.id
		),
		ins AS (
			INSERT INTO btexport.logs AS l
				(project_id, id, span_id, root_span_id, span_parents, created, org_id, log_id,
				 input, output, expected, error, scores, metrics, metadata, span_attributes,
				 context, origin, comment, tags, audit_source, audit_metadata)
			SELECT pid, c.id, c.span_id, c.root_span_id, c.span_parents, c.created, porg, 'g',
				   c.input, c.output, c.expected, c.error, c.scores, c.metrics, c.metadata,
				   c.span_attributes, c.context, c.origin, c.comment, c.tags,
				   c.audit_source, c.audit_metadata
			  FROM cols c
			 WHERE NOT c.had_base
			ON CONFLICT (project_id, id) DO NOTHING
			RETURNING l.id
		),
		outcome AS (
			SELECT e.ord, e.idx, e.id, e.is_merge, e.message IS NOT NULL AS rejected,
				   e.bad_id, e.field, e.sqlstate, e.message, e.detail, e.hint,
				   c.span_id, c.root_span_id, c.had_base,
				   (c.id IS NOT NULL AND NOT c.had_base
					AND NOT EXISTS (SELECT 1 FROM ins WHERE ins.id = c.id)) AS lost,
				   row_number() OVER (PARTITION BY e.id ORDER BY e.ord) AS nth
			  FROM ev e
			  LEFT JOIN cols c ON c.id = e.id AND e.message IS NULL
		)
		SELECT array_agg(ROW(o.idx,
							 CASE WHEN o.rejected THEN o.bad_id ELSE o.id END,
							 CASE WHEN o.rejected THEN 'reject'
								  WHEN o.nth = 1 AND NOT o.had_base THEN 'insert'
								  WHEN o.is_merge THEN 'merge'
								  ELSE 'replace' END,
							 o.span_id, o.root_span_id,
							 o.field, o.sqlstate, o.message, o.detail, o.hint)::btexport.log_result
						 ORDER BY o.idx) FILTER (WHERE NOT COALESCE(o.lost, false)),
			   array_agg(o.ord) FILTER (WHERE o.lost)
		  INTO part, lost
		  FROM outcome o;	-- (upd and ins run whether or not they are read)

		res := res || COALESCE(part, '{}');
		EXIT WHEN lost IS NULL;
		-- a concurrent call inserted some of our new ids after we looked: apply
		-- their events again, now on top of the committed rows
		attempt := attempt + 1;
		IF attempt > 5 THEN
			RAISE EXCEPTION 'could not apply log events: their rows keep being inserted concurrently'
				USING ERRCODE = '40001', HINT = 'Retry the call.';
		END IF;
		pending := lost;
	END LOOP;

	SELECT count(*) INTO nrej FROM unnest(res) r WHERE r.action = 'reject';
	IF nrej > 0 THEN
		SELECT * INTO rej FROM unnest(res) r WHERE r.action = 'reject' ORDER BY r.event_index LIMIT 1;
		IF NOT skip THEN
			RAISE EXCEPTION 'invalid log event at index %: %', rej.event_index, rej.message
				USING ERRCODE = rej.sqlstate,
					  DETAIL = rej.detail || CASE WHEN nrej > 1
						  THEN format(' %s of %s events are invalid; nothing was written.', nrej, cardinality(res))
						  ELSE ' Nothing was written.' END,
					  HINT = rej.hint || ' Or pass on_error => ''skip'' to write the valid events and report the others.';
		END IF;
		FOR rej IN SELECT * FROM unnest(res) r WHERE r.action = 'reject' ORDER BY r.event_index LIMIT 10 LOOP
			RAISE WARNING 'skipped log event at index %: %', rej.event_index, rej.message
				USING ERRCODE = rej.sqlstate, DETAIL = rej.detail, HINT = rej.hint;
			nwarn := nwarn + 1;
		END LOOP;
		IF nrej > nwarn THEN
			RAISE WARNING '% more log events were skipped', nrej - nwarn
				USING DETAIL = 'The result rows with action ''reject'' list every skipped event.';
		END IF;
	END IF;

	RETURN QUERY SELECT * FROM unnest(res) r ORDER BY r.event_index;
END
$$;

CREATE FUNCTION btexport.log(project text, events jsonb, on_error text DEFAULT 'error')
RETURNS SETOF btexport.log_result
LANGUAGE sql SET search_path = pg_catalog, pg_temp AS $$
	SELECT * FROM btexport._ingest_apply(project, events, NULL, NULL, on_error)
$$;
COMMENT ON FUNCTION btexport.log(text, jsonb, text) IS
	'write Braintrust log events (one object or an array, in order; _is_merge deep-merges) into btexport.logs';

-- The same from text, for input that jsonb cannot hold as a whole (NUL
-- characters, unpaired surrogates): a JSON array, one JSON object, or JSON
-- Lines (one event per line).  Events jsonb cannot hold are rejected one by one.
CREATE FUNCTION btexport.log_text(project text, events text, on_error text DEFAULT 'error')
RETURNS SETOF btexport.log_result
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	whole		jsonb;
	whole_json	json;
	elems		jsonb[] := '{}';
	idxs		integer[] := '{}';
	pre			btexport.log_result[] := '{}';
	item		record;
	one			jsonb;
	n			integer := 0;
	st			text;
	msg			text;
	det			text;
BEGIN
	IF events IS NULL THEN
		RAISE EXCEPTION 'events must not be null'
			USING ERRCODE = '22004', HINT = 'Pass a JSON array of events, one event object, or JSON Lines.';
	END IF;
	-- fast path: the whole text is one value jsonb can hold
	BEGIN
		whole := events::jsonb;
	EXCEPTION WHEN data_exception THEN
		whole := NULL;
	END;
	IF whole IS NOT NULL THEN
		RETURN QUERY SELECT * FROM btexport._ingest_apply(project, whole, NULL, NULL, on_error);
		RETURN;
	END IF;

	-- one JSON value (syntax is fine; some content is not storable)?
	BEGIN
		whole_json := events::json;
	EXCEPTION WHEN data_exception THEN
		whole_json := NULL;
		IF ltrim(events, E' \t\r\n') LIKE '[%' THEN
			GET STACKED DIAGNOSTICS msg = MESSAGE_TEXT, det = PG_EXCEPTION_DETAIL;
			RAISE EXCEPTION 'events is not valid JSON: %', msg
				USING ERRCODE = '22P02', DETAIL = COALESCE(det, ''),
					  HINT = 'Pass a JSON array of event objects, one event object, or JSON Lines (one object per line).';
		END IF;
	END;

	IF whole_json IS NOT NULL THEN
		FOR item IN
			SELECT e::text AS t, k::integer - 1 AS i
			  FROM json_array_elements(CASE WHEN json_typeof(whole_json) = 'array' THEN whole_json
											ELSE json_build_array(whole_json) END) WITH ORDINALITY AS a(e, k)
		LOOP
			BEGIN
				one := item.t::jsonb;
				elems := elems || one;
				idxs := idxs || item.i;
			EXCEPTION WHEN data_exception THEN
				GET STACKED DIAGNOSTICS st = RETURNED_SQLSTATE, msg = MESSAGE_TEXT, det = PG_EXCEPTION_DETAIL;
				pre := pre || ROW(item.i, NULL, 'reject', NULL, NULL, NULL, st,
								  'event cannot be stored as jsonb: ' || msg,
								  COALESCE(det || ' ', '') || 'The event is valid JSON, but PostgreSQL jsonb cannot hold it.',
								  'Remove NUL characters (\u0000) and unpaired UTF-16 surrogates (e.g. replace them with U+FFFD) before logging.')::btexport.log_result;
			END;
		END LOOP;
	ELSE
		-- JSON Lines: every non-blank line is one event
		FOR item IN
			SELECT l.t, l.k::integer AS line
			  FROM regexp_split_to_table(events, E'\n') WITH ORDINALITY AS l(t, k)
			 WHERE l.t !~ '^\s*$'
			 ORDER BY l.k
		LOOP
			BEGIN
				one := item.t::jsonb;
				elems := elems || one;
				idxs := idxs || n;
			EXCEPTION WHEN data_exception THEN
				GET STACKED DIAGNOSTICS st = RETURNED_SQLSTATE, msg = MESSAGE_TEXT, det = PG_EXCEPTION_DETAIL;
				pre := pre || ROW(n, NULL, 'reject', NULL, NULL, NULL, st,
								  CASE WHEN st = '22P02' AND det IS NOT NULL AND det NOT LIKE 'Unicode%'
									   THEN 'event is not valid JSON: ' ELSE 'event cannot be stored as jsonb: ' END || msg,
								  COALESCE(det || ' ', '') || format('The event is line %s of the input.', item.line),
								  'Send one JSON object per line; remove NUL characters (\u0000) and unpaired UTF-16 surrogates (e.g. replace them with U+FFFD).')::btexport.log_result;
			END;
			n := n + 1;
		END LOOP;
	END IF;

	RETURN QUERY SELECT * FROM btexport._ingest_apply(project, to_jsonb(elems), idxs, pre, on_error);
END
$$;
COMMENT ON FUNCTION btexport.log_text(text, text, text) IS
	'btexport.log() for text input (JSON array, object or JSON Lines); events jsonb cannot hold are rejected one by one';

GRANT EXECUTE ON FUNCTION btexport.log(text, jsonb, text) TO btexport_user;
GRANT EXECUTE ON FUNCTION btexport.log_text(text, text, text) TO btexport_user;
-- ---------------------------------------------------------------------------
-- Deterministic sample data for the demo, tests and benchmarks.
-- ---------------------------------------------------------------------------

-- a pseudo-random number in [0, 1) from (seed, a, b, salt); independent of plan and order
CREATE FUNCTION btexport._prng(seed integer, a bigint, b integer, salt text) RETURNS float8
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
	SELECT (('x' OPERATOR(pg_catalog.||) pg_catalog.substr(pg_catalog.md5(
				seed::text OPERATOR(pg_catalog.||) ':' OPERATOR(pg_catalog.||) a::text OPERATOR(pg_catalog.||) ':'
				OPERATOR(pg_catalog.||) b::text OPERATOR(pg_catalog.||) ':' OPERATOR(pg_catalog.||) salt), 1, 8))::bit(32)::bigint
			OPERATOR(pg_catalog.&) 4294967295)::float8 OPERATOR(pg_catalog./) 4294967296.0
$$;

-- a uuid-shaped id from (seed, a, b, salt)
CREATE FUNCTION btexport._pid(seed integer, a bigint, b integer, salt text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
	SELECT pg_catalog.md5(seed::text OPERATOR(pg_catalog.||) '/' OPERATOR(pg_catalog.||) a::text
			 OPERATOR(pg_catalog.||) '/' OPERATOR(pg_catalog.||) b::text OPERATOR(pg_catalog.||) '/'
			 OPERATOR(pg_catalog.||) salt)::uuid::text
$$;

/*
 * Generate `traces` traces of sample spans into a project (created if missing):
 * a root "chat_request" task span with llm, tool and score children; tokens,
 * cost, start/end, metadata.environment/model/user_id, Factuality/Helpfulness
 * scores, tags, inputs and outputs from a few bytes to tens of KB.  The same
 * (traces, seed, first_trace) always produces the same rows.  Returns the
 * number of spans written.
 */
CREATE FUNCTION btexport.generate_sample_data(project text, traces integer DEFAULT 100,
											  seed integer DEFAULT 42, first_trace bigint DEFAULT 0,
											  start_time timestamptz DEFAULT '2024-01-15 00:00:00+00')
RETURNS bigint LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	pid uuid;
	n bigint;
BEGIN
	IF traces IS NULL OR traces < 0 THEN
		RAISE EXCEPTION 'traces must be zero or more' USING ERRCODE = '22023', HINT = 'Pass e.g. traces => 100.';
	END IF;
	SELECT p.id INTO pid FROM btexport.projects p WHERE p.name = project OR p.id::text = lower(project);
	IF pid IS NULL THEN
		pid := btexport.create_project(project);
	END IF;
	WITH t AS (
		SELECT g AS t,
			   1 + (btexport._prng(seed, g, 0, 'nllm') * 3)::int AS nllm,
			   (btexport._prng(seed, g, 0, 'ntool') * 3)::int AS ntool,
			   start_time + make_interval(secs => g * 37.0) AS t0,
			   (ARRAY['production','production','production','staging','development'])[1 + (btexport._prng(seed, g, 0, 'env') * 5)::int % 5] AS env,
			   (ARRAY['gpt-4o','gpt-4o-mini','claude-3-5-sonnet'])[1 + (btexport._prng(seed, g, 0, 'model') * 3)::int % 3] AS model,
			   'user_' || (1 + (btexport._prng(seed, g, 0, 'user') * 50)::int) AS user_id,
			   btexport._pid(seed, g, 0, 'root') AS root_sid,
			   (ARRAY[0, 0, 1, 2, 4, 16, 64])[1 + (btexport._prng(seed, g, 0, 'size') * 7)::int % 7] AS size_kb
		  FROM generate_series(first_trace, first_trace + traces - 1) g
	), s AS (
		-- span 0 = root, 1..nllm = llm, then tools, then one score span
		SELECT t.*, k AS s,
			   CASE WHEN k = 0 THEN 'task' WHEN k <= t.nllm THEN 'llm'
					WHEN k <= t.nllm + t.ntool THEN 'tool' ELSE 'score' END AS type
		  FROM t, generate_series(0, t.nllm + t.ntool + 1) k
	)
	INSERT INTO btexport.logs (project_id, id, span_id, root_span_id, span_parents, created, input, output,
							   expected, error, scores, metrics, metadata, span_attributes, context, tags)
	SELECT pid,
		   btexport._pid(seed, s.t, s.s, 'id'),
		   CASE WHEN s.s = 0 THEN s.root_sid ELSE btexport._pid(seed, s.t, s.s, 'span') END,
		   s.root_sid,
		   CASE WHEN s.s = 0 THEN NULL ELSE ARRAY[s.root_sid] END,
		   s.t0 + make_interval(secs => s.s * 0.25),
		   CASE s.type
			   WHEN 'task' THEN jsonb_build_object('question', 'Question ' || s.t || ': ' || repeat('How do I export logs to S3? ', 1 + s.size_kb * 36))
			   WHEN 'llm' THEN jsonb_build_array(jsonb_build_object('role', 'system', 'content', 'You are a helpful assistant.'),
												  jsonb_build_object('role', 'user', 'content', 'Step ' || s.s || ' of trace ' || s.t))
			   WHEN 'tool' THEN jsonb_build_object('query', 'lookup ' || s.t || '/' || s.s)
			   ELSE jsonb_build_object('output', 'answer ' || s.t) END,
		   CASE s.type
			   WHEN 'task' THEN to_jsonb('Answer ' || s.t || ': ' || repeat('Use an automation with a role ARN. ', 1 + s.size_kb * 29))
			   WHEN 'llm' THEN jsonb_build_object('role', 'assistant', 'content', 'Completion ' || s.t || '.' || s.s)
			   WHEN 'tool' THEN jsonb_build_object('rows', (btexport._prng(seed, s.t, s.s, 'rows') * 10)::int)
			   ELSE jsonb_build_object('score', round(btexport._prng(seed, s.t, s.s, 'sc')::numeric, 3)) END,
		   CASE WHEN s.s = 0 AND btexport._prng(seed, s.t, 0, 'exp') < 0.3 THEN to_jsonb('Expected answer ' || s.t) END,
		   CASE WHEN s.type = 'tool' AND btexport._prng(seed, s.t, s.s, 'err') < 0.1
				THEN to_jsonb('ToolError: lookup ' || s.t || '/' || s.s || ' timed out') END,
		   CASE WHEN s.s = 0 OR s.type = 'score'
					 OR (s.type = 'llm' AND btexport._prng(seed, s.t, s.s, 'llmscore') < 0.4)
				THEN jsonb_build_object('Factuality', round(btexport._prng(seed, s.t, s.s, 'fact')::numeric, 3),
										'Helpfulness', round(btexport._prng(seed, s.t, s.s, 'help')::numeric, 3)) END,
		   jsonb_strip_nulls(jsonb_build_object(
			   'start', round(extract(epoch FROM s.t0)::numeric + s.s * 0.25, 3),
			   'end', round(extract(epoch FROM s.t0)::numeric + s.s * 0.25 + 0.05
							+ (btexport._prng(seed, s.t, s.s, 'lat') * 3)::numeric, 3),
			   'prompt_tokens', CASE WHEN s.type = 'llm' THEN 50 + (btexport._prng(seed, s.t, s.s, 'pt') * 2000)::int END,
			   'completion_tokens', CASE WHEN s.type = 'llm' THEN 10 + (btexport._prng(seed, s.t, s.s, 'ct') * 800)::int END,
			   'tokens', CASE WHEN s.type = 'llm' THEN 60 + (btexport._prng(seed, s.t, s.s, 'pt') * 2000)::int
											  + (btexport._prng(seed, s.t, s.s, 'ct') * 800)::int END,
			   'total_tokens', CASE WHEN s.type = 'llm' THEN 60 + (btexport._prng(seed, s.t, s.s, 'pt') * 2000)::int
											  + (btexport._prng(seed, s.t, s.s, 'ct') * 800)::int END,
			   'estimated_cost', CASE WHEN s.type = 'llm' THEN round((btexport._prng(seed, s.t, s.s, 'cost') * 0.05)::numeric, 6) END,
			   'total_cost', CASE WHEN s.type = 'llm' THEN round((btexport._prng(seed, s.t, s.s, 'cost') * 0.05)::numeric, 6) END)),
		   CASE WHEN s.s = 0 THEN jsonb_build_object('environment', s.env, 'model', s.model, 'user_id', s.user_id)
				ELSE jsonb_build_object('model', s.model) END,
		   jsonb_build_object('name', CASE s.type WHEN 'task' THEN 'chat_request' WHEN 'llm' THEN 'llm_call'
											  WHEN 'tool' THEN 'search_docs' ELSE 'Factuality' END,
							  'type', s.type),
		   jsonb_build_object('caller_functionname', 'handle_request', 'caller_filename', 'app/server.py',
							  'caller_lineno', 42 + s.s),
		   CASE WHEN s.s = 0 THEN
				CASE (btexport._prng(seed, s.t, 0, 'tags') * 4)::int % 4
					WHEN 0 THEN ARRAY['support'] WHEN 1 THEN ARRAY['support', 'vip'] WHEN 2 THEN ARRAY[]::text[] END END
	  FROM s;
	GET DIAGNOSTICS n = ROW_COUNT;
	RETURN n;
END
$$;
COMMENT ON FUNCTION btexport.generate_sample_data(text, integer, integer, bigint, timestamptz)
	IS 'write deterministic sample traces (root, llm, tool and score spans) into a project';
GRANT EXECUTE ON FUNCTION btexport.generate_sample_data(text, integer, integer, bigint, timestamptz) TO btexport_user;
-- ---------------------------------------------------------------------------
-- Credentials, automations, run history.
-- ---------------------------------------------------------------------------

-- the role that called into the API, even from inside SECURITY DEFINER functions
CREATE FUNCTION btexport._invoker() RETURNS regrole
	LANGUAGE c STABLE STRICT AS 'MODULE_PATHNAME', 'btexport_invoker';
CREATE FUNCTION btexport._invoker_is_superuser() RETURNS boolean
	LANGUAGE c STABLE STRICT AS 'MODULE_PATHNAME', 'btexport_invoker_is_superuser';
REVOKE ALL ON FUNCTION btexport._invoker() FROM PUBLIC;
REVOKE ALL ON FUNCTION btexport._invoker_is_superuser() FROM PUBLIC;

-- Static AWS keys.  The table is readable by no ordinary role; only btexport's
-- C code reads the secret, when it signs a request for the credential's owner.
CREATE TABLE btexport.credentials (
	name				text PRIMARY KEY CHECK (name ~ '^[A-Za-z0-9_.@:+=-]{1,128}$'),
	owner				regrole NOT NULL,
	access_key_id		text NOT NULL,
	secret_access_key	text NOT NULL,
	session_token		text,
	created				timestamptz NOT NULL DEFAULT pg_catalog.now()
);
REVOKE ALL ON btexport.credentials FROM PUBLIC;
COMMENT ON TABLE btexport.credentials IS 'named static AWS credentials; secrets are never readable through SQL';

CREATE TABLE btexport.automations (
	id					bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	name				text NOT NULL UNIQUE,
	description			text,
	owner				regrole NOT NULL,
	project_id			uuid NOT NULL REFERENCES btexport.projects (id),
	event_type			text NOT NULL DEFAULT 'btql_export' CHECK (event_type = 'btql_export'),
	export_type			text NOT NULL CHECK (export_type IN ('logs_traces', 'logs_spans', 'btql')),
	query				text,
	s3_path				text NOT NULL,
	bucket				text NOT NULL,
	prefix				text NOT NULL,
	role_arn			text,
	external_id			text,
	region				text NOT NULL,
	endpoint			text,
	credential			text REFERENCES btexport.credentials (name),
	format				text NOT NULL CHECK (format IN ('jsonl', 'parquet')),
	"interval"			text,
	schedule			text,
	period				interval,		-- start-to-start cadence when cron cannot express the interval
	batch_size			integer NOT NULL CHECK (batch_size > 0),
	status				text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'paused')),
	paused_reason		text,
	cron_jobid			bigint,
	cursor				xid8 NOT NULL DEFAULT '0',
	max_failures		integer NOT NULL DEFAULT 5 CHECK (max_failures > 0),
	compression			text CHECK (compression IN ('none', 'gzip', 'zstd', 'snappy')),
	sse					text CHECK (sse IN ('AES256', 'aws:kms')),
	kms_key_id			text,
	bucket_owner_full_control boolean NOT NULL DEFAULT false,
	part_size			bigint CHECK (part_size BETWEEN 5242880 AND 5368709120),
	target_file_size	bigint CHECK (target_file_size > 0),
	max_rows_per_run	bigint NOT NULL DEFAULT 100000 CHECK (max_rows_per_run > 0),
	trace_idle			interval NOT NULL DEFAULT '30 seconds',
	start_from			timestamptz,
	layout				text NOT NULL DEFAULT 'date' CHECK (layout IN ('date', 'hive')),
	created				timestamptz NOT NULL DEFAULT pg_catalog.now(),
	updated				timestamptz NOT NULL DEFAULT pg_catalog.now(),
	CHECK ((export_type = 'btql') = (query IS NOT NULL))
);
COMMENT ON TABLE btexport.automations IS 'S3 export automations (configuration; change through the btexport functions)';
COMMENT ON COLUMN btexport.automations.cursor IS 'export watermark: every span version with _xact_id below it has been exported';

CREATE TABLE btexport.runs (
	id					bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	automation_id		bigint NOT NULL REFERENCES btexport.automations (id) ON DELETE CASCADE,
	owner				regrole NOT NULL,
	trigger				text NOT NULL CHECK (trigger IN ('manual', 'schedule', 'backlog')),
	status				text NOT NULL CHECK (status IN ('queued', 'running', 'succeeded', 'failed', 'cancelled')),
	queued_at			timestamptz NOT NULL DEFAULT pg_catalog.clock_timestamp(),
	started_at			timestamptz,
	finished_at			timestamptz,
	rows				bigint NOT NULL DEFAULT 0,
	bytes				bigint NOT NULL DEFAULT 0,
	files				integer NOT NULL DEFAULT 0,
	cursor_from			xid8,
	cursor_to			xid8,
	pid					integer,
	request_token		text,
	base_key			text,
	manifest_key		text,
	cleaned				boolean NOT NULL DEFAULT false,
	error_sqlstate		text,
	error_message		text,
	error_detail		text,
	error_hint			text
);
CREATE INDEX runs_automation_idx ON btexport.runs (automation_id, id DESC);
CREATE INDEX runs_started_idx ON btexport.runs (started_at);
CREATE INDEX runs_token_idx ON btexport.runs (request_token);
COMMENT ON COLUMN btexport.runs.base_key IS 'every object of the run has a key starting with this';
COMMENT ON COLUMN btexport.runs.cleaned IS 'objects a failed run left in S3 have been removed';
COMMENT ON TABLE btexport.runs IS 'run history: one row per export run';

CREATE TABLE btexport.run_files (
	run_id				bigint NOT NULL REFERENCES btexport.runs (id) ON DELETE CASCADE,
	automation_id		bigint NOT NULL REFERENCES btexport.automations (id) ON DELETE CASCADE,
	owner				regrole NOT NULL,
	seq					integer NOT NULL,
	bucket				text NOT NULL,
	key					text NOT NULL,
	format				text NOT NULL,
	rows				bigint NOT NULL,
	bytes				bigint NOT NULL,
	etag				text,
	sha256				text,
	committed			boolean NOT NULL DEFAULT false,
	created				timestamptz NOT NULL DEFAULT pg_catalog.clock_timestamp(),
	PRIMARY KEY (run_id, seq),
	UNIQUE (bucket, key)
);
COMMENT ON TABLE btexport.run_files IS 'every S3 object a run wrote (committed = the run that wrote it succeeded)';

-- pg_dump keeps the configuration and the history
SELECT pg_catalog.pg_extension_config_dump('btexport.projects', '');
SELECT pg_catalog.pg_extension_config_dump('btexport.logs', '');
SELECT pg_catalog.pg_extension_config_dump('btexport.credentials', '');
SELECT pg_catalog.pg_extension_config_dump('btexport.automations', '');
SELECT pg_catalog.pg_extension_config_dump('btexport.runs', '');
SELECT pg_catalog.pg_extension_config_dump('btexport.run_files', '');

-- Users see only their own automations and runs (superusers see all).
ALTER TABLE btexport.automations ENABLE ROW LEVEL SECURITY;
ALTER TABLE btexport.runs ENABLE ROW LEVEL SECURITY;
ALTER TABLE btexport.run_files ENABLE ROW LEVEL SECURITY;
CREATE POLICY automations_owner ON btexport.automations FOR SELECT
	USING (pg_catalog.pg_has_role(CURRENT_USER, owner::oid, 'USAGE'));
CREATE POLICY runs_owner ON btexport.runs FOR SELECT
	USING (pg_catalog.pg_has_role(CURRENT_USER, owner::oid, 'USAGE'));
CREATE POLICY run_files_owner ON btexport.run_files FOR SELECT
	USING (pg_catalog.pg_has_role(CURRENT_USER, owner::oid, 'USAGE'));
GRANT SELECT ON btexport.automations, btexport.runs, btexport.run_files TO btexport_user;

-- credentials as users may see them: no secret, key id masked
CREATE VIEW btexport.credentials_info WITH (security_barrier) AS
	SELECT c.name, c.owner,
		   pg_catalog.left(c.access_key_id, 4) OPERATOR(pg_catalog.||) '…' OPERATOR(pg_catalog.||)
		   pg_catalog.right(c.access_key_id, 4) AS access_key_id,
		   c.session_token IS NOT NULL AS has_session_token, c.created
	  FROM btexport.credentials c
	 WHERE pg_catalog.pg_has_role(CURRENT_USER, c.owner::oid, 'USAGE');
GRANT SELECT ON btexport.credentials_info TO btexport_user;
-- ---------------------------------------------------------------------------
-- Validation of automation settings.  Each check raises a specific SQLSTATE
-- with a hint; none changes anything.
-- ---------------------------------------------------------------------------

-- s3://bucket/prefix/ -> (bucket, prefix with trailing slash or '')
CREATE FUNCTION btexport._parse_s3_path(s3_path text, OUT bucket text, OUT prefix text)
LANGUAGE plpgsql IMMUTABLE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	m text[];
BEGIN
	IF s3_path IS NULL OR s3_path = '' THEN
		RAISE EXCEPTION 's3_path must be given'
			USING ERRCODE = '22004', HINT = 'Pass the destination as s3://bucket-name/prefix/.';
	END IF;
	m := regexp_match(s3_path, '^s3://([^/]*)(/(.*))?$');
	IF m IS NULL THEN
		RAISE EXCEPTION 'invalid S3 path "%"', s3_path
			USING ERRCODE = '22023', DETAIL = 'An S3 path starts with s3:// followed by the bucket name.',
				  HINT = 'Use the form s3://bucket-name/prefix/.';
	END IF;
	bucket := m[1];
	prefix := coalesce(m[3], '');
	IF bucket !~ '^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$' OR bucket ~ '\.\.|\.-|-\.'
	   OR bucket ~ '^\d+\.\d+\.\d+\.\d+$' OR bucket ~ '^xn--' OR bucket ~ '-s3alias$' THEN
		RAISE EXCEPTION 'invalid S3 bucket name "%" in "%"', bucket, s3_path
			USING ERRCODE = '22023',
				  DETAIL = 'Bucket names are 3 to 63 characters of lower-case letters, digits, dots and hyphens, and begin and end with a letter or digit.',
				  HINT = 'Use the form s3://bucket-name/prefix/.';
	END IF;
	IF prefix ~ '//' OR prefix ~ '^/' OR prefix ~ '[\x00-\x1f\x7f\\{}^%`\[\]"<>~#|]' OR octet_length(prefix) > 900 THEN
		RAISE EXCEPTION 'invalid S3 prefix "%"', prefix
			USING ERRCODE = '22023',
				  DETAIL = 'The prefix must not contain empty path segments, control characters or characters S3 keys should avoid (\ { } ^ % ` [ ] " < > ~ # |), and must stay under 900 bytes.',
				  HINT = 'Use a prefix of letters, digits and / - _ . such as exports/prod/.';
	END IF;
	IF prefix <> '' AND right(prefix, 1) <> '/' THEN
		prefix := prefix || '/';
	END IF;
END
$$;

CREATE FUNCTION btexport._check_role(role_arn text, external_id text)
RETURNS void LANGUAGE plpgsql IMMUTABLE SET search_path = pg_catalog, pg_temp AS $$
BEGIN
	IF role_arn IS NOT NULL AND role_arn !~ '^arn:aws(-[a-z]+)*:iam::[0-9]{12}:role/([\w+=,.@-]+/)*[\w+=,.@-]{1,64}$' THEN
		RAISE EXCEPTION 'invalid role ARN "%"', role_arn
			USING ERRCODE = '22023',
				  DETAIL = 'A role ARN has the form arn:aws:iam::<12-digit account id>:role/<path/name>.',
				  HINT = 'Copy the ARN from the IAM console, e.g. arn:aws:iam::123456789012:role/BraintrustExportRole.';
	END IF;
	IF external_id IS NOT NULL THEN
		IF role_arn IS NULL THEN
			RAISE EXCEPTION 'external_id requires role_arn'
				USING ERRCODE = '22023', HINT = 'Pass role_arn too, or leave external_id out.';
		END IF;
		IF external_id !~ '^[\w+=,.@:/-]+$' OR length(external_id) NOT BETWEEN 2 AND 1224 THEN
			RAISE EXCEPTION 'invalid external id "%"', external_id
				USING ERRCODE = '22023',
					  DETAIL = 'An external id is 2 to 1224 characters of letters, digits and + = , . @ : / - _.',
					  HINT = 'Use the value of sts:ExternalId in the role''s trust policy.';
		END IF;
	END IF;
END
$$;

CREATE FUNCTION btexport._check_region(region text)
RETURNS text LANGUAGE plpgsql IMMUTABLE SET search_path = pg_catalog, pg_temp AS $$
BEGIN
	IF region IS NULL OR region = '' THEN
		RETURN 'us-east-1';
	END IF;
	IF region !~ '^[a-z]{2}(-[a-z]+)+-[0-9]{1,2}$' THEN
		RAISE EXCEPTION 'invalid AWS region "%"', region
			USING ERRCODE = '22023', HINT = 'Use the bucket''s region code, such as us-east-1 or eu-west-2.';
	END IF;
	RETURN region;
END
$$;

CREATE FUNCTION btexport._check_endpoint(endpoint text)
RETURNS text LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	allowed text[];
BEGIN
	IF endpoint IS NULL OR endpoint = '' THEN
		RETURN NULL;
	END IF;
	endpoint := rtrim(endpoint, '/');
	IF endpoint !~ '^https?://(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+)(:[0-9]{1,5})?$' THEN
		RAISE EXCEPTION 'invalid endpoint "%"', endpoint
			USING ERRCODE = '22023',
				  DETAIL = 'An endpoint is a scheme, a host and an optional port, without a path.',
				  HINT = 'Use the form https://s3.example.com or http://127.0.0.1:9000.';
	END IF;
	IF endpoint ~ '^http://' AND NOT coalesce(current_setting('btexport.allow_http', true), 'off')::boolean THEN
		RAISE EXCEPTION 'plain http endpoint "%" is not allowed', endpoint
			USING ERRCODE = '22023', DETAIL = 'btexport sends credentials and data only over HTTPS.',
				  HINT = 'Use an https:// endpoint.  For local testing a superuser can set btexport.allow_http = on.';
	END IF;
	IF NOT btexport._invoker_is_superuser() THEN
		allowed := regexp_split_to_array(coalesce(current_setting('btexport.allowed_endpoints', true), ''), '\s*,\s*');
		IF NOT (endpoint = ANY (SELECT rtrim(a, '/') FROM unnest(allowed) a WHERE a <> '')) THEN
			RAISE EXCEPTION 'endpoint "%" is not in btexport.allowed_endpoints', endpoint
				USING ERRCODE = '42501',
					  HINT = 'Ask a superuser to add it to btexport.allowed_endpoints, or leave endpoint out to use AWS.';
		END IF;
	END IF;
	RETURN endpoint;
END
$$;

-- export type: canonical name (accepts Braintrust's REST spellings too)
CREATE FUNCTION btexport._check_export_type(export_type text, query text)
RETURNS text LANGUAGE plpgsql IMMUTABLE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	t text := lower(btrim(coalesce(export_type, 'logs_spans')));
BEGIN
	t := CASE t
		WHEN 'logs_traces' THEN 'logs_traces' WHEN 'log_traces' THEN 'logs_traces' WHEN 'traces' THEN 'logs_traces'
		WHEN 'logs_spans' THEN 'logs_spans' WHEN 'log_spans' THEN 'logs_spans' WHEN 'spans' THEN 'logs_spans'
		WHEN 'btql' THEN 'btql' WHEN 'btql_query' THEN 'btql' WHEN 'sql' THEN 'btql'
		ELSE NULL END;
	IF t IS NULL THEN
		RAISE EXCEPTION 'unknown export type "%"', export_type
			USING ERRCODE = '22023', HINT = 'Use logs_traces, logs_spans or btql (with query => ''...'').';
	END IF;
	IF t = 'btql' AND (query IS NULL OR btrim(query) = '') THEN
		RAISE EXCEPTION 'export type btql needs a query'
			USING ERRCODE = '22023', HINT = 'Pass query => ''select: * | from: project_logs(''''<project>'''') | filter: ...''.';
	END IF;
	IF t <> 'btql' AND query IS NOT NULL THEN
		RAISE EXCEPTION 'a query is only used with export type btql'
			USING ERRCODE = '22023', HINT = 'Pass export_type => ''btql'' with the query, or leave query out.';
	END IF;
	RETURN t;
END
$$;

CREATE FUNCTION btexport._check_format(format text)
RETURNS text LANGUAGE plpgsql IMMUTABLE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	f text := lower(btrim(coalesce(format, 'jsonl')));
BEGIN
	f := CASE f WHEN 'jsonl' THEN 'jsonl' WHEN 'json_lines' THEN 'jsonl' WHEN 'json lines' THEN 'jsonl'
				WHEN 'ndjson' THEN 'jsonl' WHEN 'parquet' THEN 'parquet' ELSE NULL END;
	IF f IS NULL THEN
		RAISE EXCEPTION 'unknown format "%"', format
			USING ERRCODE = '22023', HINT = 'Use jsonl (JSON Lines) or parquet.';
	END IF;
	RETURN f;
END
$$;

CREATE FUNCTION btexport._check_batch_size(batch_size integer)
RETURNS integer LANGUAGE plpgsql IMMUTABLE SET search_path = pg_catalog, pg_temp AS $$
BEGIN
	IF batch_size IS NULL THEN
		RETURN 1000;
	END IF;
	IF batch_size <= 0 THEN
		RAISE EXCEPTION 'batch_size must be greater than zero'
			USING ERRCODE = '22023', DETAIL = format('batch_size was %s.', batch_size),
				  HINT = 'Leave it out for the default of 1000 rows per batch.';
	END IF;
	RETURN batch_size;
END
$$;

-- interval -> cron schedule: hourly | daily | weekly | a cron expression | '15 minutes'
CREATE FUNCTION btexport._schedule_for(intv text)
RETURNS text LANGUAGE plpgsql IMMUTABLE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	t text := lower(btrim(intv));
	iv interval;
	mins numeric;
	field text := '(\*|[0-9]{1,2}(-[0-9]{1,2})?)(/[0-9]{1,2})?(,(\*|[0-9]{1,2}(-[0-9]{1,2})?)(/[0-9]{1,2})?)*';
BEGIN
	IF intv IS NULL THEN
		RETURN NULL;
	END IF;
	CASE t
		WHEN 'hourly' THEN RETURN '0 * * * *';
		WHEN 'daily' THEN RETURN '0 0 * * *';
		WHEN 'weekly' THEN RETURN '0 0 * * 0';
		ELSE NULL;
	END CASE;
	IF t ~ ('^' || field || ' ' || field || ' ' || field || ' ' || field || ' ' || field || '$') THEN
		RETURN t;
	END IF;
	BEGIN
		iv := t::interval;
	EXCEPTION WHEN others THEN
		iv := NULL;
	END;
	IF iv IS NOT NULL THEN
		mins := extract(epoch FROM iv) / 60;
		IF mins = 1 THEN RETURN '* * * * *';
		ELSIF mins >= 1 AND mins < 60 AND mins = trunc(mins) AND 60 % mins::int = 0 THEN
			RETURN '*/' || mins::int || ' * * * *';
		ELSIF mins = 60 THEN RETURN '0 * * * *';
		ELSIF mins > 60 AND mins < 1440 AND mins % 60 = 0 AND 24 % (mins / 60)::int = 0 THEN
			RETURN '0 */' || (mins / 60)::int || ' * * *';
		ELSIF mins = 1440 THEN RETURN '0 0 * * *';
		ELSIF mins = 10080 THEN RETURN '0 0 * * 0';
		ELSIF mins >= 1 AND mins <= 43200 THEN
			-- any other period up to 30 days: the job ticks every minute and a run starts once
			-- the period has passed since the last scheduled start (btexport._period_for)
			RETURN '* * * * *';
		END IF;
	END IF;
	RAISE EXCEPTION 'invalid interval "%"', intv
		USING ERRCODE = '22023',
			  DETAIL = 'The interval must be hourly, daily, weekly, a five-field cron expression, or a period between 1 minute and 30 days (pg_cron starts jobs at whole minutes).',
			  HINT = 'Use e.g. ''hourly'', ''*/10 * * * *'', ''15 minutes'' or ''36 hours''.';
END
$$;

-- the start-to-start period of an interval that cron cannot express exactly (NULL otherwise):
-- its pg_cron job ticks every minute and btexport.run(id, trigger => 'schedule') starts a run
-- only when the period has passed since the last scheduled start
CREATE FUNCTION btexport._period_for(intv text)
RETURNS interval LANGUAGE plpgsql IMMUTABLE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	s text := btexport._schedule_for(intv);
	iv interval;
BEGIN
	IF s IS DISTINCT FROM '* * * * *' OR lower(btrim(intv)) ~ '^[*]' THEN
		RETURN NULL;
	END IF;
	iv := lower(btrim(intv))::interval;
	IF extract(epoch FROM iv) = 60 THEN
		RETURN NULL;			-- every minute is exactly what cron does
	END IF;
	RETURN iv;
END
$$;

-- when the next scheduled run of a period automation is due: the period after the last
-- scheduled start, 30 seconds early at most (pg_cron ticks at whole minutes); NULL when it
-- has no period or no scheduled run yet (due at once).  btexport.run and btexport.status use it.
CREATE FUNCTION btexport._period_due_at(automation_id bigint, period interval)
RETURNS timestamptz LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $$
	SELECT max(r.queued_at) OPERATOR(pg_catalog.+) period OPERATOR(pg_catalog.-) interval '30 seconds'
	  FROM btexport.runs r
	 WHERE r.automation_id OPERATOR(pg_catalog.=) _period_due_at.automation_id AND r.trigger OPERATOR(pg_catalog.=) 'schedule'
$$;

-- no two automations may write into overlapping prefixes of the same bucket
CREATE FUNCTION btexport._check_overlap(bucket text, prefix text, endpoint text, exclude_id bigint)
RETURNS void LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	other text;
BEGIN
	SELECT a.name INTO other FROM btexport.automations a
	 WHERE a.bucket = _check_overlap.bucket
	   AND a.endpoint IS NOT DISTINCT FROM _check_overlap.endpoint
	   AND (starts_with(a.prefix, _check_overlap.prefix) OR starts_with(_check_overlap.prefix, a.prefix))
	   AND a.id IS DISTINCT FROM exclude_id
	 LIMIT 1;
	IF other IS NOT NULL THEN
		RAISE EXCEPTION 's3 path s3://%/% overlaps the path of automation "%"', bucket, prefix, other
			USING ERRCODE = '42710',
				  DETAIL = 'Two automations writing under one prefix would mix their files and their loaders'' inputs.',
				  HINT = 'Give each automation its own prefix that is neither inside nor above another automation''s, such as s3://' || bucket || '/exports/<automation-name>/.';
	END IF;
END
$$;
-- ---------------------------------------------------------------------------
-- Validation of the advanced settings (compression, encryption, sizes, backlog).
-- ---------------------------------------------------------------------------

-- compression: JSON Lines none|gzip|zstd (default none); Parquet snappy|zstd|gzip|none (default snappy)
CREATE FUNCTION btexport._check_compression(format text, compression text)
RETURNS text LANGUAGE plpgsql IMMUTABLE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	c text := lower(btrim(compression));
BEGIN
	IF compression IS NULL THEN
		RETURN CASE format WHEN 'parquet' THEN 'snappy' ELSE 'none' END;
	END IF;
	IF c = 'gz' THEN c := 'gzip'; ELSIF c IN ('zst', 'zstandard') THEN c := 'zstd'; ELSIF c = 'uncompressed' THEN c := 'none'; END IF;
	IF format = 'jsonl' AND c NOT IN ('none', 'gzip', 'zstd') THEN
		RAISE EXCEPTION 'unknown compression "%" for JSON Lines', compression
			USING ERRCODE = '22023', HINT = 'Use none, gzip (.jsonl.gz) or zstd (.jsonl.zst).';
	END IF;
	IF format = 'parquet' AND c NOT IN ('none', 'gzip', 'zstd', 'snappy') THEN
		RAISE EXCEPTION 'unknown compression "%" for Parquet', compression
			USING ERRCODE = '22023', HINT = 'Use snappy (the default), zstd, gzip or none.';
	END IF;
	RETURN c;
END
$$;

CREATE FUNCTION btexport._check_sse(sse text, kms_key_id text)
RETURNS text LANGUAGE plpgsql IMMUTABLE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	v text := btrim(sse);
BEGIN
	IF sse IS NULL OR lower(v) IN ('', 'none') THEN
		v := NULL;
	ELSIF upper(v) IN ('AES256', 'SSE-S3') THEN
		v := 'AES256';
	ELSIF lower(v) IN ('aws:kms', 'kms', 'sse-kms') THEN
		v := 'aws:kms';
	ELSE
		RAISE EXCEPTION 'unknown server-side encryption "%"', sse
			USING ERRCODE = '22023', HINT = 'Use AES256 (SSE-S3) or aws:kms (SSE-KMS, optionally with kms_key_id).';
	END IF;
	IF kms_key_id IS NOT NULL AND v IS DISTINCT FROM 'aws:kms' THEN
		RAISE EXCEPTION 'kms_key_id requires sse => ''aws:kms'''
			USING ERRCODE = '22023', HINT = 'Pass sse => ''aws:kms'' with the key, or leave kms_key_id out.';
	END IF;
	IF kms_key_id IS NOT NULL AND kms_key_id !~ '^[A-Za-z0-9:/_-]+$' THEN
		RAISE EXCEPTION 'invalid KMS key id "%"', kms_key_id
			USING ERRCODE = '22023', HINT = 'Use the key id, key ARN, or alias (alias/name) of the KMS key.';
	END IF;
	RETURN v;
END
$$;

-- a size such as '16MB' -> bytes, within [lo, hi]
CREATE FUNCTION btexport._check_size(what text, size text, lo bigint, hi bigint)
RETURNS bigint LANGUAGE plpgsql IMMUTABLE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	b bigint;
BEGIN
	IF size IS NULL THEN
		RETURN NULL;
	END IF;
	BEGIN
		b := pg_size_bytes(size);
	EXCEPTION WHEN others THEN
		RAISE EXCEPTION 'invalid % "%"', what, size
			USING ERRCODE = '22023', HINT = 'Use a size such as ''16MB'' or ''128MB''.';
	END;
	IF b < lo OR b > hi THEN
		RAISE EXCEPTION '% must be between % and %', what,
			CASE lo WHEN 5242880 THEN '5MB' WHEN 1048576 THEN '1MB' ELSE lo::text || ' bytes' END,
			CASE hi WHEN 5368709120 THEN '5GB' WHEN 5497558138880 THEN '5TB' ELSE hi::text || ' bytes' END
			USING ERRCODE = '22023', DETAIL = format('%s was %s.', what, size),
				  HINT = CASE WHEN what = 'part_size' THEN 'S3 parts are at least 5 MB and at most 5 GB.'
							  ELSE 'Snowflake loads files of 100-250 MB best; the default is 128MB.' END;
	END IF;
	RETURN b;
END
$$;

CREATE FUNCTION btexport._check_positive(what text, v bigint, dflt bigint)
RETURNS bigint LANGUAGE plpgsql IMMUTABLE SET search_path = pg_catalog, pg_temp AS $$
BEGIN
	IF v IS NULL THEN
		RETURN dflt;
	END IF;
	IF v <= 0 THEN
		RAISE EXCEPTION '% must be greater than zero', what
			USING ERRCODE = '22023', DETAIL = format('%s was %s.', what, v),
				  HINT = format('Leave it out for the default of %s.', dflt);
	END IF;
	RETURN v;
END
$$;

CREATE FUNCTION btexport._check_trace_idle(trace_idle interval)
RETURNS interval LANGUAGE plpgsql IMMUTABLE SET search_path = pg_catalog, pg_temp AS $$
BEGIN
	IF trace_idle IS NULL THEN
		RETURN '30 seconds';
	END IF;
	IF trace_idle < '0'::interval OR trace_idle > '7 days'::interval THEN
		RAISE EXCEPTION 'trace_idle must be between 0 and 7 days'
			USING ERRCODE = '22023', DETAIL = format('trace_idle was %s seconds.', extract(epoch FROM trace_idle)),
				  HINT = 'A trace is exported once none of its spans changed for this long; the default is 30 seconds.';
	END IF;
	RETURN trace_idle;
END
$$;

-- key layout under the prefix: date = YYYY/MM/DD/ (the original guide's), hive = date=YYYY-MM-DD/hour=HH/
CREATE FUNCTION btexport._check_layout(layout text)
RETURNS text LANGUAGE plpgsql IMMUTABLE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	l text := lower(btrim(layout));
BEGIN
	IF layout IS NULL THEN
		RETURN 'date';
	END IF;
	IF l NOT IN ('date', 'hive') THEN
		RAISE EXCEPTION 'unknown layout "%"', layout
			USING ERRCODE = '22023',
				  DETAIL = 'Layout date writes keys under <prefix>YYYY/MM/DD/, layout hive under <prefix>date=YYYY-MM-DD/hour=HH/.',
				  HINT = 'Use layout => ''date'' (the default) or layout => ''hive'' (Hive-style partitions for Athena, Spark and Snowflake external tables).';
	END IF;
	RETURN l;
END
$$;

-- the cursor a new automation starts from: everything, or what was written since start_from
CREATE FUNCTION btexport._cursor_since(project uuid, since timestamptz)
RETURNS xid8 LANGUAGE sql STABLE AS $$
	SELECT CASE WHEN since IS NULL THEN '0'::xid8
		ELSE COALESCE((SELECT pg_catalog.min(l._xact_id) FROM btexport.logs l
						WHERE l.project_id OPERATOR(pg_catalog.=) project
						  AND (l.created OPERATOR(pg_catalog.>=) since OR l._updated OPERATOR(pg_catalog.>=) since)),
					  pg_catalog.pg_snapshot_xmin(pg_catalog.pg_current_snapshot())) END
$$;
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

-- run a BTQL query (either syntax) as the caller; one JSON object per result row.
-- tz_offset: the request parameter of Braintrust's /btql (minutes, JavaScript's sign: 480 = UTC-8)
CREATE FUNCTION btexport.query(btql text, tz_offset integer DEFAULT 0)
RETURNS SETOF jsonb LANGUAGE c VOLATILE STRICT AS 'MODULE_PATHNAME', 'btexport_query';
COMMENT ON FUNCTION btexport.query(text, integer) IS 'run a BTQL query over the span store and return its rows as JSON (tz_offset: day/hour boundaries, minutes west of UTC)';

-- the SQL a BTQL query compiles to, with its bind parameters and result columns
CREATE FUNCTION btexport.explain(btql text, export boolean DEFAULT false, tz_offset integer DEFAULT 0)
RETURNS text LANGUAGE c IMMUTABLE STRICT AS 'MODULE_PATHNAME', 'btexport_explain';
COMMENT ON FUNCTION btexport.explain(text, boolean, integer) IS 'show the PostgreSQL query a BTQL query compiles to (export => true: as an export runs it)';

GRANT EXECUTE ON FUNCTION btexport.query(text, integer), btexport.explain(text, boolean, integer) TO btexport_user;
-- ---------------------------------------------------------------------------
-- SQL API: credentials and automations.
-- These functions are SECURITY DEFINER so that the configuration tables stay
-- behind the API; they act for btexport._invoker(), the calling role.
-- ---------------------------------------------------------------------------

CREATE FUNCTION btexport.create_credential(name text, access_key_id text, secret_access_key text,
										   session_token text DEFAULT NULL)
RETURNS text LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
	IF name IS NULL OR name !~ '^[A-Za-z0-9_.@:+=-]{1,128}$' THEN
		RAISE EXCEPTION 'invalid credential name "%"', name
			USING ERRCODE = '22023', HINT = 'Use 1 to 128 letters, digits and _ . @ : + = -.';
	END IF;
	IF access_key_id IS NULL OR access_key_id !~ '^[A-Z0-9]{16,128}$' THEN
		RAISE EXCEPTION 'invalid access key id for credential "%"', name
			USING ERRCODE = '22023', DETAIL = 'An AWS access key id is 16 to 128 upper-case letters and digits, such as AKIAIOSFODNN7EXAMPLE.',
				  HINT = 'Copy the access key id of the IAM user or role session.';
	END IF;
	IF secret_access_key IS NULL OR length(secret_access_key) < 1 OR secret_access_key ~ '\s' THEN
		RAISE EXCEPTION 'invalid secret access key for credential "%"', name
			USING ERRCODE = '22023', HINT = 'Pass the secret access key exactly as AWS issued it.';
	END IF;
	IF EXISTS (SELECT 1 FROM btexport.credentials c WHERE c.name = create_credential.name) THEN
		RAISE EXCEPTION 'credential "%" already exists', name
			USING ERRCODE = '42710', HINT = 'Drop it first with btexport.drop_credential(name), or choose another name.';
	END IF;
	INSERT INTO btexport.credentials (name, owner, access_key_id, secret_access_key, session_token)
	VALUES (name, btexport._invoker(), access_key_id, secret_access_key, session_token);
	RETURN name;
END
$$;
COMMENT ON FUNCTION btexport.create_credential(text, text, text, text) IS 'store named static AWS keys; the secret can never be read back';

CREATE FUNCTION btexport.drop_credential(name text)
RETURNS void LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	c btexport.credentials;
	user_name text;
BEGIN
	SELECT * INTO c FROM btexport.credentials x WHERE x.name = drop_credential.name;
	IF NOT FOUND OR NOT pg_has_role(btexport._invoker(), c.owner::oid, 'USAGE') THEN
		RAISE EXCEPTION 'credential "%" does not exist', name
			USING ERRCODE = '42704', HINT = 'See btexport.credentials_info for the credentials you can use.';
	END IF;
	SELECT a.name INTO user_name FROM btexport.automations a WHERE a.credential = c.name LIMIT 1;
	IF user_name IS NOT NULL THEN
		RAISE EXCEPTION 'credential "%" is used by automation "%"', name, user_name
			USING ERRCODE = '2BP01', HINT = 'Point the automation at another credential with btexport.update_automation, or drop it first.';
	END IF;
	DELETE FROM btexport.credentials x WHERE x.name = c.name;
END
$$;

-- the automation a caller may act on: by name, owned by the caller (or a superuser)
CREATE FUNCTION btexport._automation_for_caller(automation text)
RETURNS btexport.automations LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	a btexport.automations;
BEGIN
	SELECT * INTO a FROM btexport.automations x WHERE x.name = automation;
	IF NOT FOUND AND automation ~ '^[0-9]{1,18}$' THEN
		SELECT * INTO a FROM btexport.automations x WHERE x.id = automation::bigint;
	END IF;
	IF a.id IS NULL OR NOT pg_has_role(btexport._invoker(), a.owner::oid, 'USAGE') THEN
		RAISE EXCEPTION 'automation "%" does not exist', automation
			USING ERRCODE = '42704', HINT = 'See btexport.automations for the automations you own.';
	END IF;
	RETURN a;
END
$$;
REVOKE ALL ON FUNCTION btexport._automation_for_caller(text) FROM PUBLIC;

-- Validate a full configuration and return it as an automations row (id NULL).
-- Used by create_automation, update_automation and test().
CREATE FUNCTION btexport._build_automation(
	name text, description text, project text, event_type text, export_type text, query text,
	s3_path text, role_arn text, external_id text, region text, endpoint text, format text,
	"interval" text, batch_size integer, credential text,
	compression text DEFAULT NULL, sse text DEFAULT NULL, kms_key_id text DEFAULT NULL,
	bucket_owner_full_control boolean DEFAULT NULL, part_size text DEFAULT NULL,
	target_file_size text DEFAULT NULL, max_rows_per_run bigint DEFAULT NULL,
	trace_idle interval DEFAULT NULL, start_from timestamptz DEFAULT NULL, max_failures integer DEFAULT NULL,
	layout text DEFAULT NULL)
RETURNS btexport.automations LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	a btexport.automations;
	p record;
	cred btexport.credentials;
BEGIN
	IF name IS NULL OR btrim(name) = '' THEN
		RAISE EXCEPTION 'automation name must be given'
			USING ERRCODE = '22004', HINT = 'Pass a descriptive name, e.g. name => ''Daily export to S3''.';
	END IF;
	IF length(name) > 200 THEN
		RAISE EXCEPTION 'automation name is too long'
			USING ERRCODE = '22023', DETAIL = format('The name has %s characters; at most 200 are allowed.', length(name)),
				  HINT = 'Choose a shorter name.';
	END IF;
	IF coalesce(event_type, 'btql_export') <> 'btql_export' THEN
		RAISE EXCEPTION 'unknown event type "%"', event_type
			USING ERRCODE = '22023', HINT = 'S3 export automations use event type btql_export.';
	END IF;
	a.name := name;
	a.description := description;
	a.owner := btexport._invoker();
	a.project_id := btexport._resolve_project(project);
	a.event_type := 'btql_export';
	a.export_type := btexport._check_export_type(export_type, query);
	a.query := CASE WHEN a.export_type = 'btql' THEN query END;
	p := btexport._parse_s3_path(s3_path);
	a.s3_path := 's3://' || p.bucket || '/' || p.prefix;
	a.bucket := p.bucket;
	a.prefix := p.prefix;
	PERFORM btexport._check_role(role_arn, external_id);
	a.role_arn := role_arn;
	a.external_id := external_id;
	a.region := btexport._check_region(region);
	a.endpoint := btexport._check_endpoint(endpoint);
	a.format := btexport._check_format(format);
	a."interval" := "interval";
	a.schedule := btexport._schedule_for("interval");
	a.period := btexport._period_for("interval");
	a.batch_size := btexport._check_batch_size(batch_size);
	a.compression := btexport._check_compression(a.format, compression);
	a.sse := btexport._check_sse(sse, kms_key_id);
	a.kms_key_id := kms_key_id;
	a.bucket_owner_full_control := coalesce(bucket_owner_full_control, false);
	a.part_size := btexport._check_size('part_size', part_size, 5242880, 5368709120);
	a.target_file_size := btexport._check_size('target_file_size', target_file_size, 1048576, 5497558138880);
	a.max_rows_per_run := btexport._check_positive('max_rows_per_run', max_rows_per_run, 100000);
	a.trace_idle := btexport._check_trace_idle(trace_idle);
	a.start_from := start_from;
	a.max_failures := btexport._check_positive('max_failures', max_failures, 5);
	a.layout := btexport._check_layout(layout);
	IF credential IS NOT NULL THEN
		SELECT * INTO cred FROM btexport.credentials c WHERE c.name = credential;
		IF NOT FOUND OR NOT pg_has_role(a.owner::oid, cred.owner::oid, 'USAGE') THEN
			RAISE EXCEPTION 'credential "%" does not exist', credential
				USING ERRCODE = '42704',
					  HINT = 'Create it with btexport.create_credential(name, access_key_id, secret_access_key), or see btexport.credentials_info.';
		END IF;
		a.credential := credential;
	END IF;
	IF a.export_type = 'btql' THEN
		PERFORM btexport._check_query(a.query, a.project_id);
	END IF;
	a.status := 'active';
	a.cursor := btexport._cursor_since(a.project_id, start_from);
	a.created := now();
	a.updated := now();
	RETURN a;
END
$$;
REVOKE ALL ON FUNCTION btexport._build_automation(text, text, text, text, text, text, text, text, text, text, text, text, text, integer, text, text, text, text, boolean, text, text, bigint, interval, timestamptz, integer, text) FROM PUBLIC;

-- pg_cron wiring: one job per scheduled automation, named btexport:<id>, whose command holds
-- only the automation's id (an integer, never user text) and only enqueues a run.
CREATE FUNCTION btexport._sync_schedule(a btexport.automations)
RETURNS bigint LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	jobid bigint;
	has_cron boolean := EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'pg_cron');
BEGIN
	IF a.schedule IS NOT NULL AND a.status = 'active' THEN
		IF NOT has_cron THEN
			RAISE EXCEPTION 'cannot schedule automation "%": pg_cron is not installed', a.name
				USING ERRCODE = '55000', DETAIL = 'btexport uses pg_cron to run automations on a schedule.',
					  HINT = 'Run CREATE EXTENSION pg_cron in this database (it must be cron.database_name), or leave interval out and call btexport.run() yourself.';
		END IF;
		EXECUTE 'SELECT cron.schedule($1, $2, $3)' INTO jobid
			USING 'btexport:' || a.id, a.schedule,
				  -- only integers in the command; after DROP EXTENSION the job removes itself
				  format('DO $btx$BEGIN IF pg_catalog.to_regnamespace(''btexport'') IS NULL THEN '
						 'PERFORM cron.unschedule(''btexport:%s''); ELSE '
						 'PERFORM btexport.run(%s::bigint, trigger => ''schedule''); END IF; END$btx$',
						 a.id, a.id);
		RETURN jobid;
	END IF;
	IF has_cron THEN
		EXECUTE 'SELECT cron.unschedule(j.jobid) FROM cron.job j WHERE j.jobname = $1'
			USING 'btexport:' || a.id;
	END IF;
	RETURN NULL;
END
$$;
REVOKE ALL ON FUNCTION btexport._sync_schedule(btexport.automations) FROM PUBLIC;

CREATE FUNCTION btexport.create_automation(
	name text,
	project text,
	s3_path text,
	export_type text DEFAULT 'logs_spans',
	query text DEFAULT NULL,
	format text DEFAULT 'jsonl',
	"interval" text DEFAULT NULL,
	role_arn text DEFAULT NULL,
	external_id text DEFAULT NULL,
	region text DEFAULT NULL,
	endpoint text DEFAULT NULL,
	batch_size integer DEFAULT 1000,
	description text DEFAULT NULL,
	event_type text DEFAULT 'btql_export',
	credential text DEFAULT NULL,
	compression text DEFAULT NULL,
	sse text DEFAULT NULL,
	kms_key_id text DEFAULT NULL,
	bucket_owner_full_control boolean DEFAULT false,
	part_size text DEFAULT NULL,
	target_file_size text DEFAULT NULL,
	max_rows_per_run bigint DEFAULT 100000,
	trace_idle interval DEFAULT '30 seconds',
	start_from timestamptz DEFAULT NULL,
	max_failures integer DEFAULT 5,
	layout text DEFAULT 'date')
RETURNS btexport.automations LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	a btexport.automations;
BEGIN
	a := btexport._build_automation(name, description, project, event_type, export_type, query, s3_path,
									role_arn, external_id, region, endpoint, format, "interval", batch_size,
									credential, compression, sse, kms_key_id, bucket_owner_full_control,
									part_size, target_file_size, max_rows_per_run, trace_idle, start_from,
									max_failures, layout);
	IF EXISTS (SELECT 1 FROM btexport.automations x WHERE x.name = a.name) THEN
		RAISE EXCEPTION 'automation "%" already exists', a.name
			USING ERRCODE = '42710', HINT = 'Choose another name, or change the existing one with btexport.update_automation.';
	END IF;
	PERFORM btexport._check_overlap(a.bucket, a.prefix, a.endpoint, NULL);
	INSERT INTO btexport.automations (name, description, owner, project_id, event_type, export_type, query,
		s3_path, bucket, prefix, role_arn, external_id, region, endpoint, credential, format, "interval",
		schedule, period, batch_size, cursor, max_failures, compression, sse, kms_key_id, bucket_owner_full_control,
		part_size, target_file_size, max_rows_per_run, trace_idle, start_from, layout)
	VALUES (a.name, a.description, a.owner, a.project_id, a.event_type, a.export_type, a.query,
		a.s3_path, a.bucket, a.prefix, a.role_arn, a.external_id, a.region, a.endpoint, a.credential, a.format,
		a."interval", a.schedule, a.period, a.batch_size, a.cursor, a.max_failures, a.compression, a.sse, a.kms_key_id,
		a.bucket_owner_full_control, a.part_size, a.target_file_size, a.max_rows_per_run, a.trace_idle,
		a.start_from, a.layout)
	RETURNING * INTO a;
	a.cron_jobid := btexport._sync_schedule(a);
	UPDATE btexport.automations x SET cron_jobid = a.cron_jobid WHERE x.id = a.id;
	RETURN a;
END
$$;
COMMENT ON FUNCTION btexport.create_automation(text, text, text, text, text, text, text, text, text, text, text, integer, text, text, text, text, text, text, boolean, text, text, bigint, interval, timestamptz, integer, text)
	IS 'create an S3 export automation (validated; scheduled through pg_cron when interval is given)';

-- change settings; NULL leaves a setting as it is.  The S3 path is immutable.
CREATE FUNCTION btexport.update_automation(
	automation text,
	name text DEFAULT NULL,
	description text DEFAULT NULL,
	export_type text DEFAULT NULL,
	query text DEFAULT NULL,
	s3_path text DEFAULT NULL,
	role_arn text DEFAULT NULL,
	external_id text DEFAULT NULL,
	region text DEFAULT NULL,
	endpoint text DEFAULT NULL,
	format text DEFAULT NULL,
	"interval" text DEFAULT NULL,
	batch_size integer DEFAULT NULL,
	credential text DEFAULT NULL,
	compression text DEFAULT NULL,
	sse text DEFAULT NULL,
	kms_key_id text DEFAULT NULL,
	bucket_owner_full_control boolean DEFAULT NULL,
	part_size text DEFAULT NULL,
	target_file_size text DEFAULT NULL,
	max_rows_per_run bigint DEFAULT NULL,
	trace_idle interval DEFAULT NULL,
	max_failures integer DEFAULT NULL,
	layout text DEFAULT NULL)
RETURNS btexport.automations LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	cur btexport.automations := btexport._automation_for_caller(automation);
	a btexport.automations;
	new_type text := coalesce(export_type, cur.export_type);
	new_query text;
	p record;
BEGIN
	IF s3_path IS NOT NULL THEN
		p := btexport._parse_s3_path(s3_path);
		IF p.bucket <> cur.bucket OR p.prefix <> cur.prefix THEN
			RAISE EXCEPTION 'the S3 path of automation "%" cannot be changed', cur.name
				USING ERRCODE = '55000',
					  DETAIL = format('The automation writes to %s; loaders and the export cursor depend on it.', cur.s3_path),
					  HINT = 'Create a new automation for the new path (and pause or drop this one).';
		END IF;
	END IF;
	new_query := CASE WHEN lower(new_type) IN ('btql', 'btql_query', 'sql') THEN coalesce(query, cur.query) END;
	IF query IS NOT NULL AND new_query IS NULL THEN
		new_query := query;		-- let the check report a query on a non-btql export
	END IF;
	a := btexport._build_automation(coalesce(name, cur.name), coalesce(description, cur.description),
		cur.project_id::text, cur.event_type, new_type, new_query, cur.s3_path,
		coalesce(role_arn, cur.role_arn), coalesce(external_id, cur.external_id),
		coalesce(region, cur.region), coalesce(endpoint, cur.endpoint), coalesce(format, cur.format),
		coalesce("interval", cur."interval"), coalesce(batch_size, cur.batch_size),
		coalesce(credential, cur.credential),
		CASE WHEN format IS NOT NULL AND format IS DISTINCT FROM cur.format THEN compression
			 ELSE coalesce(compression, cur.compression) END,
		coalesce(sse, cur.sse), coalesce(kms_key_id, cur.kms_key_id),
		coalesce(bucket_owner_full_control, cur.bucket_owner_full_control),
		coalesce(part_size, cur.part_size::text), coalesce(target_file_size, cur.target_file_size::text),
		coalesce(max_rows_per_run, cur.max_rows_per_run), coalesce(trace_idle, cur.trace_idle),
		cur.start_from, coalesce(max_failures, cur.max_failures), coalesce(layout, cur.layout));
	IF a.name <> cur.name AND EXISTS (SELECT 1 FROM btexport.automations x WHERE x.name = a.name) THEN
		RAISE EXCEPTION 'automation "%" already exists', a.name
			USING ERRCODE = '42710', HINT = 'Choose another name.';
	END IF;
	IF a.endpoint IS DISTINCT FROM cur.endpoint THEN
		PERFORM btexport._check_overlap(a.bucket, a.prefix, a.endpoint, cur.id);
	END IF;
	UPDATE btexport.automations x
	   SET name = a.name, description = a.description, export_type = a.export_type, query = a.query,
		   role_arn = a.role_arn, external_id = a.external_id, region = a.region, endpoint = a.endpoint,
		   format = a.format, "interval" = a."interval", schedule = a.schedule, period = a.period, batch_size = a.batch_size,
		   credential = a.credential, compression = a.compression, sse = a.sse, kms_key_id = a.kms_key_id,
		   bucket_owner_full_control = a.bucket_owner_full_control, part_size = a.part_size,
		   target_file_size = a.target_file_size, max_rows_per_run = a.max_rows_per_run,
		   trace_idle = a.trace_idle, max_failures = a.max_failures, layout = a.layout, updated = now()
	 WHERE x.id = cur.id
	RETURNING * INTO a;
	a.cron_jobid := btexport._sync_schedule(a);
	UPDATE btexport.automations x SET cron_jobid = a.cron_jobid WHERE x.id = a.id;
	RETURN a;
END
$$;

-- clear the schedule of an automation (interval => NULL cannot express it)
CREATE FUNCTION btexport.unschedule(automation text)
RETURNS btexport.automations LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	a btexport.automations := btexport._automation_for_caller(automation);
BEGIN
	UPDATE btexport.automations x SET "interval" = NULL, schedule = NULL, period = NULL, cron_jobid = NULL, updated = now()
	 WHERE x.id = a.id RETURNING * INTO a;
	PERFORM btexport._sync_schedule(a);
	RETURN a;
END
$$;

CREATE FUNCTION btexport.drop_automation(automation text)
RETURNS void LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	a btexport.automations := btexport._automation_for_caller(automation);
BEGIN
	a.status := 'paused';
	PERFORM btexport._sync_schedule(a);
	DELETE FROM btexport.automations x WHERE x.id = a.id;
END
$$;

CREATE FUNCTION btexport.pause(automation text, reason text DEFAULT NULL)
RETURNS btexport.automations LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	a btexport.automations := btexport._automation_for_caller(automation);
BEGIN
	UPDATE btexport.automations x SET status = 'paused', paused_reason = coalesce(reason, 'paused by ' || btexport._invoker()::text),
		   updated = now()
	 WHERE x.id = a.id RETURNING * INTO a;
	PERFORM btexport._sync_schedule(a);
	RETURN a;
END
$$;

CREATE FUNCTION btexport.resume(automation text)
RETURNS btexport.automations LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	a btexport.automations := btexport._automation_for_caller(automation);
BEGIN
	UPDATE btexport.automations x SET status = 'active', paused_reason = NULL, updated = now()
	 WHERE x.id = a.id RETURNING * INTO a;
	a.cron_jobid := btexport._sync_schedule(a);
	UPDATE btexport.automations x SET cron_jobid = a.cron_jobid WHERE x.id = a.id;
	RETURN a;
END
$$;

GRANT EXECUTE ON FUNCTION btexport.create_automation(text, text, text, text, text, text, text, text, text, text, text, integer, text, text, text, text, text, text, boolean, text, text, bigint, interval, timestamptz, integer, text) TO btexport_user;
GRANT EXECUTE ON FUNCTION btexport.update_automation(text, text, text, text, text, text, text, text, text, text, text, text, integer, text, text, text, text, boolean, text, text, bigint, interval, integer, text) TO btexport_user;
GRANT EXECUTE ON FUNCTION btexport.drop_automation(text), btexport.pause(text, text), btexport.resume(text),
	btexport.unschedule(text), btexport.create_credential(text, text, text, text), btexport.drop_credential(text),
	btexport.create_project(text, uuid) TO btexport_user;

-- move the cursor back for a deliberate re-export of what was written since `to`
CREATE FUNCTION btexport.rewind(automation text, "to" timestamptz)
RETURNS btexport.automations LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	a btexport.automations := btexport._automation_for_caller(automation);
BEGIN
	IF "to" IS NULL THEN
		RAISE EXCEPTION 'rewind needs a point in time'
			USING ERRCODE = '22004', HINT = 'Pass e.g. "to" => now() - interval ''1 day''; runs then re-export what was written since.';
	END IF;
	UPDATE btexport.automations x SET cursor = LEAST(x.cursor, btexport._cursor_since(a.project_id, "to")), updated = now()
	 WHERE x.id = a.id RETURNING * INTO a;
	RETURN a;
END
$$;
COMMENT ON FUNCTION btexport.rewind(text, timestamptz) IS 'move an automation''s cursor back so the next runs re-export what was written since a time';
GRANT EXECUTE ON FUNCTION btexport.rewind(text, timestamptz) TO btexport_user;
-- ---------------------------------------------------------------------------
-- The built-in exports as SQL functions (inlinable: LANGUAGE sql, STABLE, no
-- SET clause, so everything is schema-qualified).  The runner calls them with
-- the project and the cursor window [p_from, p_to) as bind parameters, as the
-- automation's owner.
-- ---------------------------------------------------------------------------

-- a number stored under key k of a JSON object, or NULL
CREATE FUNCTION btexport._num(j jsonb, k text) RETURNS numeric
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
	SELECT CASE WHEN pg_catalog.jsonb_typeof(j OPERATOR(pg_catalog.->) k) OPERATOR(pg_catalog.=) 'number'
				THEN (j OPERATOR(pg_catalog.->>) k)::numeric END
$$;

-- span metrics as stored, plus latency (end - start), tokens and cost when derivable.
-- STABLE, not IMMUTABLE: jsonb_build_object is STABLE, and the planner inlines a SQL function
-- only when its body is no more volatile than its declaration; inlined into _export_spans it
-- costs a few microseconds a row instead of a SQL-function call (fmgr_sql) per row.
CREATE FUNCTION btexport._span_metrics(m jsonb) RETURNS jsonb
LANGUAGE sql STABLE PARALLEL SAFE AS $$
	SELECT CASE WHEN m IS NULL OR pg_catalog.jsonb_typeof(m) OPERATOR(pg_catalog.<>) 'object' THEN m
		ELSE pg_catalog.jsonb_strip_nulls(pg_catalog.jsonb_build_object(
			'latency', btexport._num(m, 'end') OPERATOR(pg_catalog.-) btexport._num(m, 'start'),
			'tokens', COALESCE(btexport._num(m, 'tokens'),
							   btexport._num(m, 'prompt_tokens') OPERATOR(pg_catalog.+) btexport._num(m, 'completion_tokens')),
			'cost', COALESCE(btexport._num(m, 'cost'), btexport._num(m, 'estimated_cost'))))
			 OPERATOR(pg_catalog.||) m
	END
$$;

-- Logs (spans): one row per span version written in [p_from, p_to)
CREATE FUNCTION btexport._export_spans(p_project uuid, p_from xid8, p_to xid8)
RETURNS TABLE (id text, span_id text, trace_id text, parent_span_id text, project_id uuid,
			   created timestamptz, name text, type text, input jsonb, output jsonb, expected jsonb,
			   error jsonb, scores jsonb, metadata jsonb, tags text[], metrics jsonb, _xact_id bigint)
LANGUAGE sql STABLE AS $$
	SELECT l.id, l.span_id, l.root_span_id, l.span_parents[1], l.project_id, l.created,
		   l.span_attributes OPERATOR(pg_catalog.->>) 'name', l.span_attributes OPERATOR(pg_catalog.->>) 'type',
		   l.input, l.output, l.expected, l.error, l.scores, l.metadata, l.tags,
		   btexport._span_metrics(l.metrics), l._xact_id::text::bigint
	  FROM btexport.logs l
	 WHERE l.project_id OPERATOR(pg_catalog.=) p_project
	   AND l._xact_id OPERATOR(pg_catalog.>=) p_from AND l._xact_id OPERATOR(pg_catalog.<) p_to
	 ORDER BY l._xact_id, l.id
$$;

-- Logs (traces): one row per trace with a span written in [p_from, p_to), recomputed
-- over all of the trace's spans written before p_to.
CREATE FUNCTION btexport._export_traces(p_project uuid, p_from xid8, p_to xid8)
RETURNS TABLE (id text, root_span_id text, project_id uuid, created timestamptz, name text,
			   metadata jsonb, scores jsonb, metrics jsonb, input jsonb, output jsonb, expected jsonb,
			   error jsonb, tags text[], span_count bigint, _xact_id bigint)
LANGUAGE sql STABLE AS $$
	SELECT c.root_span_id, c.root_span_id, p_project, COALESCE(r.created, agg.min_created),
		   r.span_attributes OPERATOR(pg_catalog.->>) 'name',
		   r.metadata, sc.scores,
		   pg_catalog.jsonb_strip_nulls(pg_catalog.jsonb_build_object(
			   'prompt_tokens', agg.prompt_tokens,
			   'completion_tokens', agg.completion_tokens,
			   'total_tokens', CASE WHEN agg.prompt_tokens IS NULL AND agg.completion_tokens IS NULL THEN agg.tokens
									ELSE COALESCE(agg.prompt_tokens, 0) OPERATOR(pg_catalog.+) COALESCE(agg.completion_tokens, 0) END,
			   'total_cost', agg.total_cost,
			   'llm_calls', agg.llm_calls,
			   'tool_calls', agg.tool_calls,
			   'errors', agg.errors,
			   'start', agg.start_ts,
			   'end', agg.end_ts,
			   'duration', agg.end_ts OPERATOR(pg_catalog.-) agg.start_ts)),
		   r.input, r.output, r.expected, r.error, r.tags, agg.span_count, agg.max_xact
	  FROM (SELECT DISTINCT w.root_span_id
			  FROM btexport.logs w
			 WHERE w.project_id OPERATOR(pg_catalog.=) p_project
			   AND w._xact_id OPERATOR(pg_catalog.>=) p_from AND w._xact_id OPERATOR(pg_catalog.<) p_to) c
	 CROSS JOIN LATERAL (
			SELECT pg_catalog.count(*) AS span_count,
				   pg_catalog.min(s.created) AS min_created,
				   pg_catalog.max(s._xact_id::text::bigint) AS max_xact,
				   pg_catalog.sum(btexport._num(s.metrics, 'prompt_tokens')) AS prompt_tokens,
				   pg_catalog.sum(btexport._num(s.metrics, 'completion_tokens')) AS completion_tokens,
				   pg_catalog.sum(btexport._num(s.metrics, 'tokens')) AS tokens,
				   pg_catalog.sum(COALESCE(btexport._num(s.metrics, 'estimated_cost'), btexport._num(s.metrics, 'cost'))) AS total_cost,
				   pg_catalog.count(*) FILTER (WHERE s.span_attributes OPERATOR(pg_catalog.->>) 'type' OPERATOR(pg_catalog.=) 'llm') AS llm_calls,
				   pg_catalog.count(*) FILTER (WHERE s.span_attributes OPERATOR(pg_catalog.->>) 'type' OPERATOR(pg_catalog.=) 'tool') AS tool_calls,
				   pg_catalog.count(*) FILTER (WHERE s.error IS NOT NULL AND s.error OPERATOR(pg_catalog.<>) 'null'::jsonb) AS errors,
				   pg_catalog.min(btexport._num(s.metrics, 'start')) AS start_ts,
				   pg_catalog.max(btexport._num(s.metrics, 'end')) AS end_ts
			  FROM btexport.logs s
			 WHERE s.project_id OPERATOR(pg_catalog.=) p_project AND s.root_span_id OPERATOR(pg_catalog.=) c.root_span_id
			   AND s._xact_id OPERATOR(pg_catalog.<) p_to) agg
	  LEFT JOIN LATERAL (
			SELECT s.* FROM btexport.logs s
			 WHERE s.project_id OPERATOR(pg_catalog.=) p_project AND s.root_span_id OPERATOR(pg_catalog.=) c.root_span_id
			   AND s.is_root AND s._xact_id OPERATOR(pg_catalog.<) p_to
			 ORDER BY s.created, s.id LIMIT 1) r ON true
	  LEFT JOIN LATERAL (
			SELECT pg_catalog.jsonb_object_agg(e.key, e.avg) AS scores
			  FROM (SELECT kv.key, pg_catalog.avg((kv.value)::text::float8) AS avg
					  FROM btexport.logs s, pg_catalog.jsonb_each(
							CASE WHEN pg_catalog.jsonb_typeof(s.scores) OPERATOR(pg_catalog.=) 'object' THEN s.scores END) kv
					 WHERE s.project_id OPERATOR(pg_catalog.=) p_project AND s.root_span_id OPERATOR(pg_catalog.=) c.root_span_id
					   AND s._xact_id OPERATOR(pg_catalog.<) p_to
					   AND pg_catalog.jsonb_typeof(kv.value) OPERATOR(pg_catalog.=) 'number'
					 GROUP BY kv.key) e) sc ON true
	 ORDER BY agg.max_xact, c.root_span_id
$$;

-- The end of a run's cursor window, starting at p_from, below the snapshot's xmin:
--   * logs_traces: before the first span of a trace that changed within trace_idle
--     (a trace is exported once it has been idle, then in full);
--   * at most max_rows_per_run span versions, cut at a transaction boundary
--     (one transaction's rows are never split across runs).
-- more = true when rows remain beyond the window (the next run starts at once).
CREATE FUNCTION btexport._window_end(p_automation bigint, p_from xid8, p_xmin xid8,
									 OUT cursor_to xid8, OUT more boolean)
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	a btexport.automations;
	cut xid8;
BEGIN
	SELECT * INTO a FROM btexport.automations WHERE id = p_automation;
	cursor_to := GREATEST(p_from, p_xmin);
	more := false;
	IF a.export_type = 'logs_traces' AND a.trace_idle > '0'::interval THEN
		SELECT min(w._xact_id) INTO cut
		  FROM btexport.logs w
		 WHERE w.project_id = a.project_id AND w._xact_id >= p_from AND w._xact_id < cursor_to
		   AND w.root_span_id IN (SELECT r.root_span_id FROM btexport.logs r
								   WHERE r.project_id = a.project_id AND r._xact_id >= p_from
									 AND r._updated > now() - a.trace_idle);
		IF cut IS NOT NULL THEN
			cursor_to := cut;
		END IF;
	END IF;
	SELECT w._xact_id INTO cut
	  FROM btexport.logs w
	 WHERE w.project_id = a.project_id AND w._xact_id >= p_from AND w._xact_id < cursor_to
	 ORDER BY w._xact_id OFFSET a.max_rows_per_run LIMIT 1;
	IF cut IS NOT NULL THEN
		-- the first transaction alone exceeds the limit: export it whole
		IF cut = (SELECT min(w._xact_id) FROM btexport.logs w
				   WHERE w.project_id = a.project_id AND w._xact_id >= p_from AND w._xact_id < cursor_to) THEN
			SELECT min(w._xact_id) INTO cut FROM btexport.logs w
			 WHERE w.project_id = a.project_id AND w._xact_id > cut AND w._xact_id < cursor_to;
		END IF;
		IF cut IS NOT NULL THEN
			cursor_to := cut;
			more := true;
		END IF;
	END IF;
END
$$;
-- ---------------------------------------------------------------------------
-- Runs: btexport.run (manual or scheduled trigger) and btexport.test.
-- ---------------------------------------------------------------------------

CREATE FUNCTION btexport._run(automation_id bigint, trigger text, wait boolean)
RETURNS btexport.runs LANGUAGE c VOLATILE STRICT AS 'MODULE_PATHNAME', 'btexport_run_launch';
REVOKE ALL ON FUNCTION btexport._run(bigint, text, boolean) FROM PUBLIC;

CREATE FUNCTION btexport._check_trigger(trigger text) RETURNS text
LANGUAGE plpgsql IMMUTABLE SET search_path = pg_catalog, pg_temp AS $$
BEGIN
	IF trigger IS NULL OR trigger NOT IN ('manual', 'schedule') THEN
		RAISE EXCEPTION 'unknown trigger "%"', trigger
			USING ERRCODE = '22023', HINT = 'Use trigger => ''manual'' (the default) or ''schedule''.';
	END IF;
	RETURN trigger;
END
$$;

-- Run an automation now: exports what it has not exported yet.  With wait => true (the
-- default) returns the finished run; with wait => false returns it queued.
CREATE FUNCTION btexport.run(automation text, trigger text DEFAULT 'manual', wait boolean DEFAULT true)
RETURNS btexport.runs LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	a btexport.automations := btexport._automation_for_caller(automation);
BEGIN
	RETURN btexport._run(a.id, btexport._check_trigger(trigger), coalesce(wait, true));
END
$$;
COMMENT ON FUNCTION btexport.run(text, text, boolean) IS 'export the new rows of an automation to S3 now (in a background worker) and return the run';

-- the form pg_cron jobs call: SELECT btexport.run(<id>::bigint, trigger => 'schedule')
-- (only enqueues: the export runs in a background worker, not in pg_cron's connection)
CREATE FUNCTION btexport.run(automation_id bigint, trigger text DEFAULT 'manual', wait boolean DEFAULT NULL)
RETURNS btexport.runs LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	a btexport.automations := btexport._automation_for_caller(automation_id::text);
BEGIN
	IF trigger = 'schedule' AND (a.status = 'paused' OR btexport._period_due_at(a.id, a.period) > now()) THEN
		RETURN NULL;
	END IF;
	RETURN btexport._run(a.id, btexport._check_trigger(trigger), coalesce(wait, trigger <> 'schedule'));
END
$$;

-- stop a queued or running run cleanly (its uploads are aborted, nothing is committed)
CREATE FUNCTION btexport.cancel(run_id bigint)
RETURNS boolean LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	r btexport.runs;
BEGIN
	SELECT * INTO r FROM btexport.runs x WHERE x.id = run_id;
	IF NOT FOUND OR NOT pg_has_role(btexport._invoker(), r.owner::oid, 'USAGE') THEN
		RAISE EXCEPTION 'run % does not exist', run_id
			USING ERRCODE = '42704', HINT = 'See btexport.runs for your runs.';
	END IF;
	IF r.status NOT IN ('queued', 'running') THEN
		RETURN false;
	END IF;
	RETURN pg_cancel_backend(r.pid) FROM pg_stat_activity s WHERE s.pid = r.pid AND s.backend_type = 'btexport run';
END
$$;

GRANT EXECUTE ON FUNCTION btexport.run(text, text, boolean), btexport.run(bigint, text, boolean),
	btexport.cancel(bigint) TO btexport_user;


CREATE FUNCTION btexport._test(a btexport.automations)
RETURNS TABLE (step text, ok boolean, detail text, hint text)
LANGUAGE c VOLATILE STRICT AS 'MODULE_PATHNAME', 'btexport_test_internal';
REVOKE ALL ON FUNCTION btexport._test(btexport.automations) FROM PUBLIC;

-- Test a saved automation: query, credentials, and a test object put, read and deleted.
CREATE FUNCTION btexport.test(automation text)
RETURNS TABLE (step text, ok boolean, detail text, hint text)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
	RETURN QUERY SELECT * FROM btexport._test(btexport._automation_for_caller(automation));
END
$$;
COMMENT ON FUNCTION btexport.test(text) IS 'test a saved automation without exporting: query, credentials, put/head/delete of a test object';

-- Test a configuration before saving it (the create_automation arguments).
CREATE FUNCTION btexport.test(
	name text,
	project text,
	s3_path text,
	export_type text DEFAULT 'logs_spans',
	query text DEFAULT NULL,
	format text DEFAULT 'jsonl',
	"interval" text DEFAULT NULL,
	role_arn text DEFAULT NULL,
	external_id text DEFAULT NULL,
	region text DEFAULT NULL,
	endpoint text DEFAULT NULL,
	batch_size integer DEFAULT 1000,
	description text DEFAULT NULL,
	event_type text DEFAULT 'btql_export',
	credential text DEFAULT NULL,
	compression text DEFAULT NULL,
	sse text DEFAULT NULL,
	kms_key_id text DEFAULT NULL,
	bucket_owner_full_control boolean DEFAULT false,
	part_size text DEFAULT NULL,
	target_file_size text DEFAULT NULL,
	max_rows_per_run bigint DEFAULT 100000,
	trace_idle interval DEFAULT '30 seconds',
	start_from timestamptz DEFAULT NULL,
	max_failures integer DEFAULT 5,
	layout text DEFAULT 'date')
RETURNS TABLE (step text, ok boolean, detail text, hint text)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	a btexport.automations;
BEGIN
	a := btexport._build_automation(name, description, project, event_type, export_type, query, s3_path,
									role_arn, external_id, region, endpoint, format, "interval", batch_size,
									credential, compression, sse, kms_key_id, bucket_owner_full_control,
									part_size, target_file_size, max_rows_per_run, trace_idle, start_from,
									max_failures, layout);
	a.id := 0;
	RETURN QUERY SELECT * FROM btexport._test(a);
END
$$;
GRANT EXECUTE ON FUNCTION btexport.test(text) TO btexport_user;
GRANT EXECUTE ON FUNCTION btexport.test(text, text, text, text, text, text, text, text, text, text, text, integer, text, text, text, text, text, text, boolean, text, text, bigint, interval, timestamptz, integer, text) TO btexport_user;
-- ---------------------------------------------------------------------------
-- Monitoring: one row per automation.
-- ---------------------------------------------------------------------------
-- next firing of the schedules btexport writes (UTC, pg_cron's default cron.timezone); NULL otherwise
CREATE FUNCTION btexport._next_run(schedule text, after timestamptz)
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

CREATE VIEW btexport.status WITH (security_barrier) AS
	SELECT a.id, a.name, a.owner, p.name AS project, a.export_type, a.format, a.s3_path, a.status,
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
		   (SELECT count(*) FROM btexport.runs r
			 WHERE r.automation_id = a.id AND r.status = 'failed'
			   AND r.id > COALESCE((SELECT max(s.id) FROM btexport.runs s
									 WHERE s.automation_id = a.id AND s.status = 'succeeded'), 0)) AS consecutive_failures,
		   a.cursor,
		   lag.rows AS lag_rows,
		   lag.seconds AS lag_seconds
	  FROM btexport.automations a
	  JOIN btexport.projects p ON p.id = a.project_id
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
-- ---------------------------------------------------------------------------
-- Privileges: the API is for btexport_user (and superusers); nothing else is
-- executable by PUBLIC except the pure helpers export queries and the span
-- store use while running as an automation's owner or as the writing role.
-- ---------------------------------------------------------------------------
REVOKE EXECUTE ON ALL FUNCTIONS IN SCHEMA btexport FROM PUBLIC;

GRANT EXECUTE ON FUNCTION
	btexport._num(jsonb, text),
	btexport._span_metrics(jsonb),
	btexport._export_spans(uuid, xid8, xid8),
	btexport._export_traces(uuid, xid8, xid8),
	btexport.btql_try_jsonb(text),
	btexport._stamp_xact_id(),
	btexport._prng(integer, bigint, integer, text),
	btexport._pid(integer, bigint, integer, text),
	btexport._next_run(text, timestamptz),
	btexport._period_due_at(bigint, interval)
TO PUBLIC;

-- internal entry points the SECURITY DEFINER API calls as the extension owner stay revoked;
-- the API itself:
GRANT EXECUTE ON FUNCTION
	btexport._check_query(text, uuid),
	btexport._resolve_project(text),
	btexport._progress()
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
