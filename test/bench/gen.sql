-- Bench-only span generator (not part of the extension): realistic row sizes.
--
-- btexport.generate_sample_data writes ~3,500 spans/s and its text is one phrase
-- repeated up to thousands of times (exported rows average ~5 KB of JSON, but they
-- compress ~100:1), which says little about real exports.  This generator writes
-- the same span shapes (root task, llm, tool and score spans; tokens, cost,
-- scores, metadata, tags) with text drawn from a fixed pool of pseudo-English
-- paragraphs (Zipf-distributed vocabulary), so exported rows average ~1.5 KB of
-- JSON with a realistic compression ratio.  Deterministic: no random(); every
-- value is a hash of the span number, so the same (spans, first) always produce
-- the same rows, whatever the plan.
--
--   SELECT bench.prepare();                          -- once per database (word and paragraph pools)
--   SELECT bench.generate('bench', 1000000, 0);      -- spans first .. first+spans-1 of project "bench"
CREATE SCHEMA IF NOT EXISTS bench;

-- a hash of (a, b) as a fraction in [0, 1)
CREATE OR REPLACE FUNCTION bench.u(a bigint, b integer) RETURNS float8
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
	SELECT ((hashint8extended(a, b) & 2147483647)::float8) / 2147483648.0
$$;

-- a uuid-shaped id from (a, b)
CREATE OR REPLACE FUNCTION bench.uuid(a bigint, b integer) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
	SELECT lpad(to_hex(hashint8extended(a, b) & 4294967295), 8, '0') || '-'
		|| lpad(to_hex((hashint8extended(a, b + 1) >> 16) & 65535), 4, '0') || '-4'
		|| lpad(to_hex(hashint8extended(a, b + 2) & 4095), 3, '0') || '-a'
		|| lpad(to_hex(hashint8extended(a, b + 3) & 4095), 3, '0') || '-'
		|| lpad(to_hex(hashint8extended(a, b + 4) & 16777215), 6, '0')
		|| lpad(to_hex(hashint8extended(a, b + 5) & 16777215), 6, '0')
$$;

CREATE OR REPLACE FUNCTION bench.prepare() RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
	n bigint;
BEGIN
	DROP TABLE IF EXISTS bench.words, bench.paragraphs;
	-- 5,000 words: 60 common English words first, then pseudo-words with English-like letters
	CREATE TABLE bench.words (i int PRIMARY KEY, w text NOT NULL);
	INSERT INTO bench.words
	SELECT i, w FROM unnest(string_to_array(
		'the to a of and in is you for it that on with this can be your as export S3 logs are not '
		'from or an if by use run at file I we span trace data have will bucket role query more '
		'which when all model token so do tool should then one what cost how time there any new',
		' ')) WITH ORDINALITY AS t(w, i);
	INSERT INTO bench.words
	SELECT i, translate(substr(md5(i::text), 1, 3 + (hashint4(i) & 7)), '0123456789abcdef', 'etaoinshrdlucmfy')
	  FROM generate_series((SELECT max(i) + 1 FROM bench.words), 5000) i;
	-- 40,000 paragraphs of 8..160 words (Zipf-like word choice), a sentence break every ~12 words
	CREATE TABLE bench.paragraphs (id int PRIMARY KEY, txt text NOT NULL);
	INSERT INTO bench.paragraphs
	SELECT p, string_agg(CASE WHEN k % 12 = 0 THEN initcap(w.w) ELSE w.w END
						 || CASE WHEN k % 12 = 11 THEN '.' ELSE '' END, ' ' ORDER BY k) || '.'
	  FROM generate_series(0, 39999) p
	 CROSS JOIN LATERAL generate_series(0, 7 + (bench.u(p, 1) ^ 2 * 153)::int) k
	  JOIN bench.words w ON w.i = 1 + floor(5000 * bench.u(p * 1000 + k, 2) ^ 3)::int
	 GROUP BY p;
	ANALYZE bench.words, bench.paragraphs;
	SELECT count(*) INTO n FROM bench.paragraphs;
	RETURN n;
END
$$;

-- spans [first, first + spans) of a project (created if missing); 6 spans per trace:
-- task root, llm, llm, tool, llm, score.  Returns the number of spans written.
CREATE OR REPLACE FUNCTION bench.generate(project text, spans bigint, first bigint DEFAULT 0)
RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
	pid uuid := btexport.create_project(project);
	n bigint;
BEGIN
	INSERT INTO btexport.logs (project_id, id, span_id, root_span_id, span_parents, created, input, output,
							   expected, error, scores, metrics, metadata, span_attributes, context, tags)
	SELECT pid, s.id, s.span_id, s.root, CASE WHEN s.k = 0 THEN NULL ELSE ARRAY[s.root] END,
		   s.t0,
		   CASE s.type
			   WHEN 'task' THEN jsonb_build_object('question', pin.txt, 'session', s.sess)
			   WHEN 'llm' THEN jsonb_build_array(
					jsonb_build_object('role', 'system', 'content',
						'You are a support assistant for a data platform. Answer briefly and cite the docs.'),
					jsonb_build_object('role', 'user', 'content', pin.txt))
			   WHEN 'tool' THEN jsonb_build_object('query', left(pin.txt, 60), 'top_k', 5)
			   ELSE jsonb_build_object('output', left(pout.txt, 80), 'expected', left(pin.txt, 80)) END,
		   CASE s.type
			   WHEN 'task' THEN to_jsonb(pout.txt)
			   WHEN 'llm' THEN jsonb_build_object('role', 'assistant', 'content', pout.txt)
			   WHEN 'tool' THEN jsonb_build_object('documents', jsonb_build_array(left(pout.txt, 200), left(pin.txt, 150)))
			   ELSE jsonb_build_object('score', round(s.u1::numeric, 3)) END,
		   CASE WHEN s.k = 0 AND s.u2 < 0.3 THEN to_jsonb(left(pout.txt, 120)) END,
		   CASE WHEN s.type = 'tool' AND s.u2 < 0.05 THEN to_jsonb('ToolError: search_docs timed out after 30s'::text) END,
		   CASE WHEN s.k IN (0, 5) OR (s.type = 'llm' AND s.u2 < 0.4)
				THEN jsonb_build_object('Factuality', round(s.u1::numeric, 3), 'Helpfulness', round(s.u2::numeric, 3)) END,
		   jsonb_strip_nulls(jsonb_build_object(
			   'start', round(extract(epoch FROM s.t0)::numeric, 3),
			   'end', round(extract(epoch FROM s.t0)::numeric + 0.05 + (s.u1 * 3)::numeric, 3),
			   'prompt_tokens', CASE WHEN s.type = 'llm' THEN 50 + (s.u1 * 2000)::int END,
			   'completion_tokens', CASE WHEN s.type = 'llm' THEN 10 + (s.u2 * 800)::int END,
			   'tokens', CASE WHEN s.type = 'llm' THEN 60 + (s.u1 * 2000)::int + (s.u2 * 800)::int END,
			   'estimated_cost', CASE WHEN s.type = 'llm' THEN round((s.u1 * 0.05)::numeric, 6) END)),
		   CASE WHEN s.k = 0 THEN jsonb_build_object('environment', s.env, 'model', s.model, 'user_id', s.uid,
													  'request_id', s.sess)
				ELSE jsonb_build_object('model', s.model) END,
		   jsonb_build_object('name', CASE s.type WHEN 'task' THEN 'chat_request' WHEN 'llm' THEN 'llm_call'
											  WHEN 'tool' THEN 'search_docs' ELSE 'Factuality' END, 'type', s.type),
		   jsonb_build_object('caller_functionname', 'handle_request', 'caller_filename', 'app/server.py',
							  'caller_lineno', 42 + s.k),
		   CASE WHEN s.k = 0 THEN (ARRAY['{support}', '{support,vip}', NULL, '{beta}']::text[][])[1 + (s.u2 * 4)::int % 4]::text[] END
	  FROM (SELECT g, g % 6 AS k,
				   (ARRAY['task', 'llm', 'llm', 'tool', 'llm', 'score'])[1 + g % 6] AS type,
				   bench.uuid(g, 10) AS id,
				   CASE WHEN g % 6 = 0 THEN bench.uuid(g / 6, 20) ELSE bench.uuid(g, 30) END AS span_id,
				   bench.uuid(g / 6, 20) AS root,
				   bench.uuid(g / 6, 40) AS sess,
				   timestamptz '2024-01-15 00:00:00+00' + make_interval(secs => (g / 6) * 7.0 + (g % 6) * 0.25) AS t0,
				   (ARRAY['production', 'production', 'staging', 'development'])[1 + (hashint8(g / 6) & 3)] AS env,
				   (ARRAY['gpt-4o', 'gpt-4o-mini', 'claude-3-5-sonnet'])[1 + ((hashint8(g / 6) >> 4) & 65535) % 3] AS model,
				   'user_' || ((hashint8(g / 6) >> 8) & 255) AS uid,
				   bench.u(g, 3) AS u1, bench.u(g, 4) AS u2,
				   (hashint8extended(g, 5) & 2147483647) % 40000 AS pin_id,
				   (hashint8extended(g, 6) & 2147483647) % 40000 AS pout_id
			  FROM generate_series(first, first + spans - 1) g) s
	  JOIN bench.paragraphs pin ON pin.id = s.pin_id
	  JOIN bench.paragraphs pout ON pout.id = s.pout_id;
	GET DIAGNOSTICS n = ROW_COUNT;
	RETURN n;
END
$$;

-- spans [first, first + spans) in transactions of `chunk` spans each (CALL it outside a
-- transaction block): data that arrived over time, so a run's max_rows_per_run can cut it
CREATE OR REPLACE PROCEDURE bench.load(project text, spans bigint, first bigint DEFAULT 0, chunk integer DEFAULT 5000)
LANGUAGE plpgsql AS $$
DECLARE
	done bigint := 0;
BEGIN
	WHILE done < spans LOOP
		PERFORM bench.generate(project, least(chunk, spans - done), first + done);
		COMMIT;
		done := done + least(chunk, spans - done);
	END LOOP;
END
$$;
