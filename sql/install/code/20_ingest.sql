-- ---------------------------------------------------------------------------
-- Ingestion: btexport.log() and btexport.log_text() (see docs/ingest.md).
-- ---------------------------------------------------------------------------

CREATE OR REPLACE FUNCTION btexport._ingest_prepare(event jsonb)
RETURNS btexport._ingest_prepared
AS 'MODULE_PATHNAME', 'btexport_ingest_prepare' LANGUAGE C VOLATILE PARALLEL SAFE;
COMMENT ON FUNCTION btexport._ingest_prepare(jsonb) IS 'internal: validate and normalise one log event';

CREATE OR REPLACE FUNCTION btexport._ingest_fold_step(state jsonb, doc jsonb, is_merge boolean, now jsonb)
RETURNS jsonb
AS 'MODULE_PATHNAME', 'btexport_ingest_fold_step' LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION btexport._ingest_fold_step(jsonb, jsonb, boolean, jsonb) IS 'internal: apply one event (replace or deep merge) to a row document';

-- An event's own project_id must name the project it is logged into (or be absent or null):
-- btexport never moves an event into another project silently.  A prepared event that names
-- another project comes back as a reject.
CREATE OR REPLACE FUNCTION btexport._ingest_check_project(p btexport._ingest_prepared, event jsonb, pid uuid,
														   pname text)
RETURNS btexport._ingest_prepared LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
	SELECT CASE
		WHEN p.message IS NOT NULL OR event OPERATOR(pg_catalog.->) 'project_id' IS NULL
			 OR event OPERATOR(pg_catalog.->) 'project_id' OPERATOR(pg_catalog.=) 'null'::jsonb
			 OR pg_catalog.lower(event OPERATOR(pg_catalog.->>) 'project_id') OPERATOR(pg_catalog.=) pid::text
		THEN p
		ELSE ROW(p.id, p.is_merge, NULL, 'project_id', '22023',
				 pg_catalog.format('project_id %s is not the project being logged into',
								   (event OPERATOR(pg_catalog.->) 'project_id')::text),
				 pg_catalog.format('The events are logged into project "%s" (%s); an event''s project_id must be that id or absent, because btexport never moves an event into another project.',
								   pname, pid),
				 'Log the event into the project it names (create it with btexport.create_project(name, id => ''<its project_id>'')), or leave project_id out.'
				)::btexport._ingest_prepared
	END
$$;

-- fold the events of one row id, in order, onto the stored row (if any);
-- the last argument is the created value for a new row whose first event has none
CREATE OR REPLACE AGGREGATE btexport._ingest_fold(jsonb, boolean, jsonb) (
	SFUNC = btexport._ingest_fold_step,
	STYPE = jsonb
);

CREATE OR REPLACE FUNCTION btexport._ingest_text_array(jsonb)
RETURNS text[]
AS 'MODULE_PATHNAME', 'btexport_ingest_text_array' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE OR REPLACE FUNCTION btexport._ingest_random_hex(integer)
RETURNS text
AS 'MODULE_PATHNAME', 'btexport_ingest_random_hex' LANGUAGE C VOLATILE STRICT PARALLEL SAFE;

-- a stored row as a document in the same shape _ingest_prepare produces
-- (SQL NULL columns are absent keys; jsonb 'null' stays a JSON null)
CREATE OR REPLACE FUNCTION btexport._ingest_row_doc(l btexport.logs)
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

-- find the project by id, or by name creating it (owned by the caller) when missing; the
-- caller must hold ingest on it (docs/security.md "Projects").  A UUID is only ever an id.
CREATE OR REPLACE FUNCTION btexport._ingest_project(project text)
RETURNS uuid LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	p btexport.projects;
BEGIN
	IF project IS NULL OR project = '' THEN
		RAISE EXCEPTION 'project must be given'
			USING ERRCODE = '22004', HINT = 'Pass the project''s name or id, e.g. project => ''my-app''.';
	END IF;
	IF btexport._is_uuid(project) THEN
		-- an id: it must exist (raises 42704 with a hint when it does not)
		p := btexport._project_for_caller(project);
	ELSE
		SELECT * INTO p FROM btexport.projects x WHERE x.name = project;
		IF p.id IS NULL THEN
			-- a name: register it, as the SDK does implicitly (safe against a concurrent insert)
			PERFORM btexport._check_project_name(project);
			INSERT INTO btexport.projects AS x (name, owner) VALUES (project, btexport._invoker())
				ON CONFLICT ON CONSTRAINT projects_name_key DO NOTHING RETURNING * INTO p;
			IF p.id IS NULL THEN
				SELECT * INTO p FROM btexport.projects x WHERE x.name = project;
			END IF;
		END IF;
	END IF;
	IF NOT btexport._may_project(btexport._invoker(), p.id, 'ingest') THEN
		RAISE EXCEPTION 'permission denied to write to project "%"', btexport._excerpt(project)
			USING ERRCODE = '42501',
				  DETAIL = format('Role %s holds no ingest privilege on the project.', btexport._invoker()),
				  HINT = 'Its owner can grant it: SELECT btexport.grant_project(''<project>'', ''<role>'', ''ingest'').';
	END IF;
	RETURN p.id;
END
$$;

-- The engine.  events: a jsonb array of events; idxs: the event index to report
-- for each array element (NULL = its 0-based position); pre: events already
-- rejected by the caller (log_text's parse failures).
-- SECURITY DEFINER: the caller's ingest privilege is checked by _ingest_project; a merge
-- reads the stored row even when the caller may not read the project.
CREATE OR REPLACE FUNCTION btexport._ingest_apply(project text, events jsonb, idxs integer[],
									   pre btexport.log_result[], on_error text)
RETURNS SETOF btexport.log_result
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	pid			uuid;
	pname		text;
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
	SELECT p.org_id, p.name INTO porg, pname FROM btexport.projects p WHERE p.id = pid;

	LOOP
		WITH ev AS MATERIALIZED (
			SELECT t.n::integer AS ord,
				   COALESCE(idxs[t.n], t.n::integer - 1) AS idx,
				   CASE WHEN p.message IS NOT NULL AND jsonb_typeof(t.e -> 'id') = 'string'
						THEN t.e ->> 'id' END AS bad_id,
				   p.*
			  FROM jsonb_array_elements(events) WITH ORDINALITY AS t(e, n)
			 CROSS JOIN LATERAL btexport._ingest_check_project(btexport._ingest_prepare(t.e), t.e, pid, pname) AS p
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

CREATE OR REPLACE FUNCTION btexport.log(project text, events jsonb, on_error text DEFAULT 'error')
RETURNS SETOF btexport.log_result
LANGUAGE sql SET search_path = pg_catalog, pg_temp AS $$
	SELECT * FROM btexport._ingest_apply(project, events, NULL, NULL, on_error)
$$;
COMMENT ON FUNCTION btexport.log(text, jsonb, text) IS
	'write Braintrust log events (one object or an array, in order; _is_merge deep-merges) into btexport.logs';

-- The same from text, for input that jsonb cannot hold as a whole (NUL
-- characters, unpaired surrogates): a JSON array, one JSON object, or JSON
-- Lines (one event per line).  Events jsonb cannot hold are rejected one by one.
CREATE OR REPLACE FUNCTION btexport.log_text(project text, events text, on_error text DEFAULT 'error')
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
