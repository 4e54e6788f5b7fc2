-- ---------------------------------------------------------------------------
-- Deterministic sample data for the demo, tests and benchmarks.
-- ---------------------------------------------------------------------------

-- a pseudo-random number in [0, 1) from (seed, a, b, salt); independent of plan and order
CREATE OR REPLACE FUNCTION btexport._prng(seed integer, a bigint, b integer, salt text) RETURNS float8
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
	SELECT (('x' OPERATOR(pg_catalog.||) pg_catalog.substr(pg_catalog.md5(
				seed::text OPERATOR(pg_catalog.||) ':' OPERATOR(pg_catalog.||) a::text OPERATOR(pg_catalog.||) ':'
				OPERATOR(pg_catalog.||) b::text OPERATOR(pg_catalog.||) ':' OPERATOR(pg_catalog.||) salt), 1, 8))::bit(32)::bigint
			OPERATOR(pg_catalog.&) 4294967295)::float8 OPERATOR(pg_catalog./) 4294967296.0
$$;

-- a uuid-shaped id from (seed, a, b, salt)
CREATE OR REPLACE FUNCTION btexport._pid(seed integer, a bigint, b integer, salt text) RETURNS text
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
CREATE OR REPLACE FUNCTION btexport.generate_sample_data(project text, traces integer DEFAULT 100,
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
	pid := btexport._ingest_project(project);	-- created when missing; needs ingest on it
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
