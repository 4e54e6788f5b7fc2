-- Project access (issue 12, finding 10; docs/security.md "Projects"): a project has an owner
-- and grants (read, ingest, export), enforced by row-level security for plain SQL and by the
-- API for log, log_text, query, explain, create_automation and runs.  Before 1.1 every
-- btexport_user could read, change and delete every project's spans and rename any project.
\set VERBOSITY default
\set SHOW_CONTEXT never
SET client_min_messages = warning;
DROP ROLE IF EXISTS regress_acc_owner;
DROP ROLE IF EXISTS regress_acc_reader;
DROP ROLE IF EXISTS regress_acc_writer;
DROP ROLE IF EXISTS regress_acc_exporter;
DROP ROLE IF EXISTS regress_acc_other;
DROP ROLE IF EXISTS regress_acc_team;
DROP ROLE IF EXISTS regress_acc_member;
RESET client_min_messages;
CREATE ROLE regress_acc_owner IN ROLE btexport_user;
CREATE ROLE regress_acc_reader IN ROLE btexport_user;
CREATE ROLE regress_acc_writer IN ROLE btexport_user;
CREATE ROLE regress_acc_exporter IN ROLE btexport_user;
CREATE ROLE regress_acc_other IN ROLE btexport_user;
CREATE ROLE regress_acc_team;
CREATE ROLE regress_acc_member IN ROLE btexport_user, regress_acc_team;
SET btexport.allow_http = on;
SET btexport.allowed_endpoints = 'http://127.0.0.1:9';

-- try(sql): run a statement and show the error it raises as one line
CREATE FUNCTION pg_temp.try(stmt text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
	st text; msg text; det text; hin text;
BEGIN
	EXECUTE stmt;
	RETURN 'ok';
EXCEPTION WHEN others THEN
	GET STACKED DIAGNOSTICS st = RETURNED_SQLSTATE, msg = MESSAGE_TEXT, det = PG_EXCEPTION_DETAIL, hin = PG_EXCEPTION_HINT;
	RETURN st || ': ' || msg || coalesce(E'\n  DETAIL: ' || nullif(det, ''), '') || coalesce(E'\n  HINT: ' || nullif(hin, ''), '');
END
$$;
GRANT EXECUTE ON FUNCTION pg_temp.try(text) TO PUBLIC;

-- the owner's project: log() creates it, owned by the caller
SET ROLE regress_acc_owner;
SELECT action FROM btexport.log('acc-secret', '[{"id": "s1", "input": "owner data", "scores": {"a": 0.5}},
                                                 {"id": "s2", "input": "more", "tags": ["x"]}]');
SELECT name, owner FROM btexport.projects WHERE name = 'acc-secret';
SELECT count(*) AS owner_sees FROM btexport.logs l JOIN btexport.projects p ON p.id = l.project_id WHERE p.name = 'acc-secret';

-- another btexport user sees nothing of it and can change nothing
SET ROLE regress_acc_other;
SELECT count(*) AS other_sees_projects FROM btexport.projects WHERE name = 'acc-secret';
SELECT count(*) AS other_sees_spans FROM btexport.logs WHERE id IN ('s1', 's2');
UPDATE btexport.logs SET input = '"stolen"' WHERE id = 's1';
DELETE FROM btexport.logs WHERE id = 's2';
UPDATE btexport.projects SET name = 'acc-taken' WHERE name = 'acc-secret';
-- not through the API either
SELECT pg_temp.try($$SELECT * FROM btexport.log('acc-secret', '{"id": "s1", "input": "overwritten"}')$$);
SELECT pg_temp.try($$SELECT * FROM btexport.log_text('acc-secret', '{"id": "s3", "input": "injected"}', on_error => 'skip')$$);
SELECT pg_temp.try($$SELECT btexport.generate_sample_data('acc-secret', traces => 1)$$);
SELECT count(*) AS other_query_rows FROM btexport.query('select: * | from: project_logs(''acc-secret'') | filter: created > now() - interval 1 day');
SELECT pg_temp.try($$SELECT btexport.create_automation('acc-steal', 'acc-secret', 's3://acc-bucket/steal/', endpoint => 'http://127.0.0.1:9')$$);
SELECT pg_temp.try($$SELECT btexport.create_project('acc-secret')$$);
-- explain compiles without reading anything: it reveals no span (and no project check happens)
SELECT btexport.explain('select: input | from: project_logs(''acc-secret'')') NOT LIKE '%owner data%' AS explain_reads_nothing;
-- a plain INSERT into the owner's project finds no project to insert into
SELECT pg_temp.try($$INSERT INTO btexport.logs (project_id, id, span_id, root_span_id)
                     SELECT id, 'x1', 'x', 'x' FROM btexport.projects WHERE name = 'acc-secret'$$);
RESET ROLE;
SELECT l.id, l.input FROM btexport.logs l JOIN btexport.projects p ON p.id = l.project_id
 WHERE p.name = 'acc-secret' ORDER BY l.id;
SELECT name FROM btexport.projects WHERE name IN ('acc-secret', 'acc-taken');
-- given the project's id, the INSERT is refused by row-level security
SELECT format($$INSERT INTO btexport.logs (project_id, id, span_id, root_span_id) VALUES (%L, 'x1', 'x', 'x')$$,
              p.id) AS stmt FROM btexport.projects p WHERE p.name = 'acc-secret' \gset
SET ROLE regress_acc_other;
SELECT pg_temp.try(:'stmt');
RESET ROLE;
SELECT count(*) AS spans_after_attacks FROM btexport.logs l JOIN btexport.projects p ON p.id = l.project_id WHERE p.name = 'acc-secret';

-- grants: only the owner (or a superuser) gives them
SET ROLE regress_acc_other;
SELECT pg_temp.try($$SELECT btexport.grant_project('acc-secret', 'regress_acc_other', 'read')$$);
SET ROLE regress_acc_owner;
SELECT btexport.grant_project('acc-secret', 'regress_acc_reader', 'read');
SELECT btexport.grant_project('acc-secret', 'regress_acc_writer', 'ingest');
SELECT btexport.grant_project('acc-secret', 'regress_acc_exporter', 'export');
SELECT btexport.grant_project('acc-secret', 'regress_acc_team', 'read', 'ingest');
SELECT pg_temp.try($$SELECT btexport.grant_project('acc-secret', 'regress_acc_reader', 'delete')$$);
SELECT pg_temp.try($$SELECT btexport.grant_project('acc-secret', 'no_such_role_x', 'read')$$);
SELECT pg_temp.try($$SELECT btexport.grant_project('acc-secret', 'public', 'read')$$);
SELECT grantee, privilege FROM btexport.project_grants ORDER BY grantee::text, privilege;

-- read: SELECT and query, no writes
SET ROLE regress_acc_reader;
SELECT count(*) AS reader_sees FROM btexport.logs WHERE id IN ('s1', 's2');
SELECT count(*) AS reader_query_rows FROM btexport.query('select: id | from: project_logs(''acc-secret'') | filter: created > now() - interval 1 day');
SELECT pg_temp.try($$SELECT * FROM btexport.log('acc-secret', '{"id": "r1"}')$$);
UPDATE btexport.logs SET input = '"changed by reader"' WHERE id = 's1';
SELECT pg_temp.try($$SELECT btexport.create_automation('acc-reader', 'acc-secret', 's3://acc-bucket/reader/', endpoint => 'http://127.0.0.1:9')$$);
-- the reader sees only the grants it holds
SELECT grantee, privilege FROM btexport.project_grants ORDER BY grantee::text, privilege;

-- ingest: log, log_text and INSERT, but no reading
SET ROLE regress_acc_writer;
SELECT event_index, action FROM btexport.log('acc-secret', '[{"id": "w1", "input": "from writer"}, {"id": "s1", "_is_merge": true, "metadata": {"k": 1}}]');
SELECT event_index, action FROM btexport.log_text('acc-secret', '{"id": "w2", "input": "jsonl"}');
INSERT INTO btexport.logs (project_id, id, span_id, root_span_id)
SELECT (SELECT p.id FROM btexport.projects p WHERE p.name = 'acc-secret'), 'w3', 'w3', 'w3';
SELECT count(*) AS writer_sees FROM btexport.logs;
SELECT count(*) AS writer_query_rows FROM btexport.query('select: id | from: project_logs(''acc-secret'') | filter: created > now() - interval 1 day');
-- a team member holds the team's grants
SET ROLE regress_acc_member;
SELECT count(*) AS member_sees FROM btexport.logs WHERE id LIKE 'w%';
UPDATE btexport.logs SET tags = ARRAY['by-member'] WHERE id = 'w3';
SELECT pg_temp.try($$UPDATE btexport.projects SET name = 'acc-renamed' WHERE name = 'acc-secret'$$);
SELECT count(*) AS renamed FROM btexport.projects WHERE name = 'acc-renamed';

-- export: automations on the project, whose runs export as their owner
SET ROLE regress_acc_exporter;
SELECT name, owner FROM btexport.create_automation('acc-export', 'acc-secret', 's3://acc-bucket/export/', endpoint => 'http://127.0.0.1:9');
SELECT count(*) AS exporter_sees FROM btexport.logs WHERE id IN ('s1', 's2', 'w1', 'w2', 'w3');
-- the owner revokes it: the automation can no longer run (SQLSTATE 42501 with the grant to ask for)
SET ROLE regress_acc_owner;
SELECT btexport.revoke_project('acc-secret', 'regress_acc_exporter', 'export');
SET ROLE regress_acc_exporter;
SELECT pg_temp.try($$SELECT * FROM btexport.test('acc-export')$$);
SELECT pg_temp.try($$SELECT btexport.update_automation('acc-export', batch_size => 10)$$);
SELECT count(*) AS exporter_sees_after_revoke FROM btexport.logs WHERE id IN ('s1', 's2', 'w1', 'w2', 'w3');
RESET ROLE;
SELECT btexport._check_runnable(a) FROM btexport.automations a WHERE a.name = 'acc-export';

-- the owner renames the project; it may give it only to a role it belongs to
SET ROLE regress_acc_owner;
UPDATE btexport.projects SET name = 'acc-secret-2' WHERE name = 'acc-secret';
SELECT pg_temp.try($$SELECT btexport.set_project_owner('acc-secret-2', 'regress_acc_other')$$);
-- ids are never names: a project cannot be named like a project id
SELECT pg_temp.try($$SELECT btexport.create_project('00000000-0000-4000-8000-000000000000')$$);
SELECT pg_temp.try($$INSERT INTO btexport.projects (name) VALUES ('00000000-0000-4000-8000-000000000000')$$);
SELECT pg_temp.try($$UPDATE btexport.projects SET name = '11111111-1111-4111-8111-111111111111' WHERE name = 'acc-secret-2'$$);
RESET ROLE;
SELECT name, owner FROM btexport.projects WHERE name LIKE 'acc-%' ORDER BY name;

-- status.lag_rows counts only rows the querying role may read (finding 9): a restrictive
-- policy hides two of the project's spans from the exporter
SELECT btexport.grant_project('acc-secret-2', 'regress_acc_exporter', 'export');
CREATE POLICY acc_hide ON btexport.logs AS RESTRICTIVE FOR SELECT TO regress_acc_exporter USING (id NOT IN ('s1', 's2'));
SET ROLE regress_acc_exporter;
SELECT name, lag_rows FROM btexport.status WHERE name = 'acc-export';
RESET ROLE;
SELECT name, lag_rows FROM btexport.status WHERE name = 'acc-export';
DROP POLICY acc_hide ON btexport.logs;

-- reassign_owned: the cleanup for a role that goes away (superuser only)
SET ROLE regress_acc_owner;
SELECT pg_temp.try($$SELECT * FROM btexport.reassign_owned('regress_acc_owner', 'regress_acc_other')$$);
RESET ROLE;
SELECT * FROM btexport.reassign_owned('regress_acc_exporter', 'regress_acc_other');
SELECT name, owner FROM btexport.automations WHERE name = 'acc-export';

-- clean up
SELECT btexport.drop_automation('acc-export');
DELETE FROM btexport.logs WHERE project_id IN (SELECT id FROM btexport.projects WHERE name LIKE 'acc-%');
DELETE FROM btexport.projects WHERE name LIKE 'acc-%';
RESET btexport.allowed_endpoints;
DROP ROLE regress_acc_owner, regress_acc_reader, regress_acc_writer, regress_acc_exporter, regress_acc_other,
	regress_acc_member, regress_acc_team;
