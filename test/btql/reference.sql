-- Hand-written reference relations for the differential tests, written
-- independently of the compiler (DISTINCT ON, CTEs, ->> casts).
CREATE SCHEMA ref;
-- select * over project_logs('support-bot') (spans shape)
CREATE VIEW ref.p_spans AS
SELECT id, span_id, root_span_id, span_parents, is_root, created, org_id::text AS org_id,
	project_id::text AS project_id, log_id, input, output, expected, error, scores, metrics, metadata,
	span_attributes, context, origin, comment, tags, _xact_id::text::int8 AS _xact_id
FROM btexport.logs WHERE project_id = '0c9f4d2e-6a51-4b8e-93d7-5e2f1a7b8c04';

-- the summary row of every trace of support-bot
CREATE VIEW ref.p_summary AS
WITH sp AS (
	SELECT * FROM btexport.logs WHERE project_id = '0c9f4d2e-6a51-4b8e-93d7-5e2f1a7b8c04'
), root AS (
	SELECT DISTINCT ON (root_span_id) * FROM sp WHERE is_root ORDER BY root_span_id, created, id
), sc AS (
	SELECT rid, jsonb_object_agg(k, a) AS scores FROM (
		SELECT sp.root_span_id AS rid, e.key AS k, avg((e.value #>> '{}')::float8) AS a
		FROM sp, jsonb_each(sp.scores) e
		WHERE jsonb_typeof(sp.scores) = 'object' AND jsonb_typeof(e.value) = 'number'
		GROUP BY 1, 2) x
	GROUP BY rid
), m AS (
	SELECT root_span_id AS rid, min(created) AS min_created, count(*) AS span_count,
		max(_xact_id::text::int8) AS max_xact,
		sum((metrics ->> 'prompt_tokens')::numeric) AS pt,
		sum((metrics ->> 'completion_tokens')::numeric) AS ct,
		sum(coalesce((metrics ->> 'cost')::numeric, (metrics ->> 'estimated_cost')::numeric)) AS cost,
		count(*) FILTER (WHERE span_attributes ->> 'type' = 'llm') AS llm,
		count(*) FILTER (WHERE span_attributes ->> 'type' = 'tool') AS tool,
		count(*) FILTER (WHERE error IS NOT NULL AND jsonb_typeof(error) <> 'null') AS errs,
		min((metrics ->> 'start')::numeric) AS st,
		max((metrics ->> 'end')::numeric) AS en
	FROM sp GROUP BY root_span_id
)
SELECT m.rid AS id, '0c9f4d2e-6a51-4b8e-93d7-5e2f1a7b8c04'::text AS project_id,
	coalesce(root.created, m.min_created) AS created, root.metadata, root.input, root.output, root.tags,
	sc.scores,
	jsonb_build_object('prompt_tokens', coalesce(m.pt, 0), 'completion_tokens', coalesce(m.ct, 0),
		'total_tokens', coalesce(m.pt, 0) + coalesce(m.ct, 0), 'total_cost', coalesce(m.cost, 0),
		'llm_calls', m.llm, 'tool_calls', m.tool, 'errors', m.errs, 'start', m.st, 'end', m.en,
		'duration', m.en - m.st) AS metrics,
	m.span_count, m.max_xact AS _xact_id
FROM m LEFT JOIN root ON root.root_span_id = m.rid LEFT JOIN sc ON sc.rid = m.rid;
