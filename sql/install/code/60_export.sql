-- ---------------------------------------------------------------------------
-- The built-in exports as SQL functions (inlinable: LANGUAGE sql, STABLE, no
-- SET clause, so everything is schema-qualified).  The runner calls them with
-- the project and the cursor window [p_from, p_to) as bind parameters, as the
-- automation's owner.
-- ---------------------------------------------------------------------------

-- a JSON number as a double (1e-400 is 0; NULL for one no double holds, like 1e400, and for
-- non-numbers): how exports and compiled BTQL read scores and metrics, so that a value stored
-- before ingest checked the range (1.0, plain INSERT) cannot fail every run (src/api/ingest.c)
CREATE OR REPLACE FUNCTION btexport._json_float8(jsonb) RETURNS float8
LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE AS 'MODULE_PATHNAME', 'btexport_json_float8';

-- a number stored under key k of a JSON object, or NULL
CREATE OR REPLACE FUNCTION btexport._num(j jsonb, k text) RETURNS numeric
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
	SELECT CASE WHEN pg_catalog.jsonb_typeof(j OPERATOR(pg_catalog.->) k) OPERATOR(pg_catalog.=) 'number'
				THEN (j OPERATOR(pg_catalog.->>) k)::numeric END
$$;

-- A span's cost, one rule for every export (span metrics, trace totals, BTQL's summary shape):
-- the cost the application reported (metrics.cost) when it is a number, else Braintrust's
-- estimate (metrics.estimated_cost), else NULL.
CREATE OR REPLACE FUNCTION btexport._span_cost(m jsonb) RETURNS numeric
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
	SELECT COALESCE(btexport._num(m, 'cost'), btexport._num(m, 'estimated_cost'))
$$;

-- span metrics as stored, plus latency (end - start), tokens (stored, or prompt + completion) and
-- cost (btexport._span_cost); the three derived keys are always there, null when not derivable,
-- and a stored key of the same name wins.
-- STABLE, not IMMUTABLE: jsonb_build_object is STABLE, and the planner inlines a SQL function
-- only when its body is no more volatile than its declaration; inlined into _export_spans it
-- costs a few microseconds a row instead of a SQL-function call (fmgr_sql) per row.
CREATE OR REPLACE FUNCTION btexport._span_metrics(m jsonb) RETURNS jsonb
LANGUAGE sql STABLE PARALLEL SAFE AS $$
	SELECT CASE WHEN m IS NULL OR pg_catalog.jsonb_typeof(m) OPERATOR(pg_catalog.<>) 'object' THEN m
		ELSE pg_catalog.jsonb_build_object(
			'latency', btexport._num(m, 'end') OPERATOR(pg_catalog.-) btexport._num(m, 'start'),
			'tokens', COALESCE(btexport._num(m, 'tokens'),
							   btexport._num(m, 'prompt_tokens') OPERATOR(pg_catalog.+) btexport._num(m, 'completion_tokens')),
			'cost', btexport._span_cost(m))
			 OPERATOR(pg_catalog.||) m
	END
$$;

-- Logs (spans): one row per span version written in [p_from, p_to).  The columns are row schema
-- version 2 (btexport.export_schema()): 1.0's seventeen, then the span's remaining stored fields.
CREATE OR REPLACE FUNCTION btexport._export_spans(p_project uuid, p_from xid8, p_to xid8)
RETURNS TABLE (id text, span_id text, trace_id text, parent_span_id text, project_id uuid,
			   created timestamptz, name text, type text, input jsonb, output jsonb, expected jsonb,
			   error jsonb, scores jsonb, metadata jsonb, tags text[], metrics jsonb, _xact_id bigint,
			   root_span_id text, span_parents text[], is_root boolean, org_id uuid, log_id text,
			   span_attributes jsonb, context jsonb, origin jsonb, comment jsonb, audit_source text,
			   audit_metadata jsonb)
LANGUAGE sql STABLE AS $$
	SELECT l.id, l.span_id, l.root_span_id, l.span_parents[1], l.project_id, l.created,
		   l.span_attributes OPERATOR(pg_catalog.->>) 'name', l.span_attributes OPERATOR(pg_catalog.->>) 'type',
		   l.input, l.output, l.expected, l.error, l.scores, l.metadata, l.tags,
		   btexport._span_metrics(l.metrics), l._xact_id::text::bigint,
		   l.root_span_id, l.span_parents, l.is_root, l.org_id, l.log_id, l.span_attributes, l.context,
		   l.origin, l.comment, l.audit_source, l.audit_metadata
	  FROM btexport.logs l
	 WHERE l.project_id OPERATOR(pg_catalog.=) p_project
	   AND l._xact_id OPERATOR(pg_catalog.>=) p_from AND l._xact_id OPERATOR(pg_catalog.<) p_to
	 ORDER BY l._xact_id, l.id
$$;

-- Logs (traces): one row per trace with a span written in [p_from, p_to), recomputed
-- over all of the trace's spans written before p_to.  Every metrics key is always there
-- (null when no span provides it; the counts are 0).
CREATE OR REPLACE FUNCTION btexport._export_traces(p_project uuid, p_from xid8, p_to xid8)
RETURNS TABLE (id text, root_span_id text, project_id uuid, created timestamptz, name text,
			   metadata jsonb, scores jsonb, metrics jsonb, input jsonb, output jsonb, expected jsonb,
			   error jsonb, tags text[], span_count bigint, _xact_id bigint)
LANGUAGE sql STABLE AS $$
	SELECT c.root_span_id, c.root_span_id, p_project, COALESCE(r.created, agg.min_created),
		   r.span_attributes OPERATOR(pg_catalog.->>) 'name',
		   r.metadata, sc.scores,
		   pg_catalog.jsonb_build_object(
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
			   'duration', agg.end_ts OPERATOR(pg_catalog.-) agg.start_ts),
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
				   pg_catalog.sum(btexport._span_cost(s.metrics)) AS total_cost,
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
			  FROM (SELECT kv.key, pg_catalog.avg(btexport._json_float8(kv.value)) AS avg
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
CREATE OR REPLACE FUNCTION btexport._window_end(p_automation bigint, p_from xid8, p_xmin xid8,
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
