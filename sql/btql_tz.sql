-- tz_offset (btql.md 11): day and hour boundaries of the date functions in the request's time
-- zone, minutes with JavaScript's sign (480 = UTC-8, -330 = UTC+5:30); 0 is UTC.
\set VERBOSITY default
\set SHOW_CONTEXT never
SET TIME ZONE 'UTC';
SELECT btexport.create_project('tz-app') IS NOT NULL AS ok;
INSERT INTO btexport.logs (id, span_id, root_span_id, project_id, created)
SELECT 'tz-span', 'tz-span', 'tz-span', p.id, '2024-01-15 05:00+00' FROM btexport.projects p WHERE p.name = 'tz-app';

-- 05:00 UTC is 21:00 the day before in UTC-8 and 10:30 the same day in UTC+5:30
SELECT o AS tz_offset, r->>'d' AS day, r->>'h' AS hour, r->>'local_date' AS local_date
  FROM unnest(ARRAY[0, 480, -330]) o,
       btexport.query('select: day(created) as d, hour(created) as h, to_date(created) as local_date, id
                       | from: project_logs(''tz-app'') | filter: created > ''2024-01-01''', tz_offset => o) r;
-- the SQL form, date_trunc, and grouping by local day
SELECT * FROM btexport.query('SELECT date_trunc(''day'', created) AS d, count(*) AS n FROM project_logs(''tz-app'')
                              WHERE created > ''2024-01-01'' GROUP BY 1', tz_offset => 480);
-- the zone travels as a bind parameter
SELECT btexport.explain('select: day(created) as d | from: project_logs(''tz-app'') | filter: created > ''2024-01-01''',
                        tz_offset => 480);
-- out of range
SELECT * FROM btexport.query('select: id | from: project_logs(''tz-app'')', tz_offset => 900);

DELETE FROM btexport.logs WHERE id = 'tz-span';
DELETE FROM btexport.projects WHERE name = 'tz-app';
