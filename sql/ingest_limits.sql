-- Ingest limits (issue 12, findings 4 and 5; docs/ingest.md "Limits"): numbers a double cannot
-- hold and oversized ids are rejected per event with a specific SQLSTATE, so on_error => 'skip'
-- writes the valid events; exports read numbers stored before the check without failing.
-- Before 1.1, 1e-400 and 1e400 were accepted and every traces / summary export of the project
-- then failed with 22003; a 20 KB id failed the whole call with "index row requires ... bytes".
\set VERBOSITY default
\set SHOW_CONTEXT never

-- numbers in scores and metrics must fit a double
SELECT event_index, id, action, field, sqlstate, message, detail, hint
  FROM btexport.log('lim-app', '[{"id": "t", "scores": {"a": 1e-400}},
                                 {"id": "h", "metrics": {"start": 1e400}},
                                 {"id": "m", "metrics": {"start": -1e309}},
                                 {"id": "ok", "scores": {"a": 4.9e-324, "b": 1}, "metrics": {"start": 1.7976931348623157e308, "end": -2.2e-308}}]',
                    on_error => 'skip');
SELECT l.id, btexport._json_float8(l.scores -> 'a') AS score_a, btexport._json_float8(l.metrics -> 'start') AS start,
       btexport._json_float8(l.metrics -> 'end') AS "end" FROM btexport.logs l JOIN btexport.projects p ON p.id = l.project_id
 WHERE p.name = 'lim-app' ORDER BY l.id;
-- on_error => 'error' (the default): the call is refused with the first event's reason
SELECT * FROM btexport.log('lim-app', '[{"id": "u", "input": 1}, {"id": "v", "scores": {"s": 1e-400}}]');
\echo :LAST_ERROR_SQLSTATE

-- ids of at most 1024 bytes: the others are rejected one by one, the rest is written.  (Hex
-- digits of md5s do not compress: a 20 KB id of them cannot fit an index entry; 1.0 failed the
-- whole call with "index row requires ... bytes".)
SELECT string_agg(md5(i::text), '') AS big FROM generate_series(1, 625) i \gset
SELECT event_index, left(id, 12) AS id, action, field, sqlstate, message, detail, hint
  FROM btexport.log_text('lim-app', '{"id": "' || :'big' || '"}' || E'\n' ||
                                    '{"id": "r", "root_span_id": "' || :'big' || '"}' || E'\n' ||
                                    '{"id": "s", "span_id": "' || repeat('s', 1025) || '"}' || E'\n' ||
                                    '{"id": "p", "span_parents": ["a", "' || repeat('p', 5000) || '"]}' || E'\n' ||
                                    '{"id": "' || repeat('k', 1024) || '", "span_id": "x"}' || E'\n' ||
                                    '{"id": "fine", "input": "kept"}',
                         on_error => 'skip');
SELECT left(l.id, 8) AS id, octet_length(l.id) AS bytes FROM btexport.logs l JOIN btexport.projects p ON p.id = l.project_id
 WHERE p.name = 'lim-app' ORDER BY l.id;

-- a project name too long for its index: one clear error (no internal context), nothing written
\set SHOW_CONTEXT always
SELECT * FROM btexport.log_text(left(:'big', 3000), '{"id": "a"}', on_error => 'skip');
\set SHOW_CONTEXT never
SELECT * FROM btexport.log(E'bad\nname', '{"id": "a"}');
SELECT count(*) AS long_projects FROM btexport.projects WHERE octet_length(name) > 512;

-- 1.0 data (or a plain INSERT) may hold such numbers: exports read them as a JSON parser would
INSERT INTO btexport.logs (project_id, id, span_id, root_span_id, scores, metrics)
SELECT p.id, v.id, v.id, 'trace-1', v.scores::jsonb, v.metrics::jsonb
  FROM btexport.projects p,
       (VALUES ('old-1', '{"a": 1e-400, "b": 0.5}', '{"start": 1e400, "end": 2}'),
               ('old-2', '{"a": 1, "b": 1e400}', '{"start": 1, "end": 1e-400, "tokens": 5}')) v(id, scores, metrics)
 WHERE p.name = 'lim-app';
SELECT id, scores, metrics, span_count
  FROM btexport._export_traces((SELECT id FROM btexport.projects WHERE name = 'lim-app'), '0', '18446744073709551615')
 WHERE id = 'trace-1';
SELECT count(*) AS span_rows
  FROM btexport._export_spans((SELECT id FROM btexport.projects WHERE name = 'lim-app'), '0', '18446744073709551615');
SELECT btexport.query('select: id, scores, metrics | from: project_logs(''lim-app'') summary | filter: root_span_id = ''trace-1''');
SELECT btexport.query('select: id, scores.a as a, metrics.start as s | from: project_logs(''lim-app'') | filter: id = ''old-1'' or id = ''old-2'' | sort: id');
SELECT v, btexport._json_float8(v::jsonb)
  FROM unnest(ARRAY['1e-400', '1e400', '-1e400', '4.9e-324', '0.5', '"0.5"', 'null', '[1]', '{"a": 1}']) v;

DELETE FROM btexport.logs WHERE project_id IN (SELECT id FROM btexport.projects WHERE name = 'lim-app');
DELETE FROM btexport.projects WHERE name = 'lim-app';
