-- Names and ids (issue 12, finding 3; docs/security.md "Names and ids"): an automation is named
-- by text and identified by a number, a project by a name or a UUID, and one is never taken for
-- the other.  Credential names are per owner (finding 9).  Before 1.1, run(bigint) -- the form
-- every pg_cron job calls -- looked the id up as a name first, across all owners, so another
-- role's automation named '20' took over automation 20's schedule.
\set VERBOSITY default
\set SHOW_CONTEXT never
SET client_min_messages = warning;
DROP ROLE IF EXISTS regress_nm_alice;
DROP ROLE IF EXISTS regress_nm_bob;
DROP ROLE IF EXISTS regress_nm_team1;
DROP ROLE IF EXISTS regress_nm_team2;
DROP ROLE IF EXISTS regress_nm_carol;
RESET client_min_messages;
CREATE ROLE regress_nm_alice IN ROLE btexport_user;
CREATE ROLE regress_nm_bob IN ROLE btexport_user;
CREATE ROLE regress_nm_team1 IN ROLE btexport_user;
CREATE ROLE regress_nm_team2 IN ROLE btexport_user;
CREATE ROLE regress_nm_carol IN ROLE btexport_user, regress_nm_team1, regress_nm_team2;
SET btexport.allow_http = on;
SET btexport.allowed_endpoints = 'http://127.0.0.1:9';

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
-- ids depend on what ran before: messages show <alice_id> instead
CREATE FUNCTION pg_temp.mask(t text, id bigint) RETURNS text LANGUAGE sql AS $$
	SELECT regexp_replace(t, '\m' || id || '\M', '<alice_id>', 'g')
$$;
GRANT EXECUTE ON FUNCTION pg_temp.mask(text, bigint) TO PUBLIC;
SELECT btexport.create_project('nm-app') IS NOT NULL AS ok;
SELECT btexport.grant_project('nm-app', 'btexport_user', 'export');

-- alice's automation, paused (a scheduled trigger of a paused automation starts nothing)
SET ROLE regress_nm_alice;
SELECT id AS alice_id FROM btexport.create_automation('nm-alice', 'nm-app', 's3://nm-bucket/alice/',
       endpoint => 'http://127.0.0.1:9') \gset
SELECT status FROM btexport.pause(:alice_id, 'held');

-- bob cannot give an automation a number for a name ...
SET ROLE regress_nm_bob;
SELECT pg_temp.mask(pg_temp.try(format($$SELECT btexport.create_automation(%L, 'nm-app', 's3://nm-bucket/bob/', endpoint => 'http://127.0.0.1:9')$$, :alice_id)), :alice_id);
SELECT id AS bob_id FROM btexport.create_automation('nm-bob', 'nm-app', 's3://nm-bucket/bob/', endpoint => 'http://127.0.0.1:9') \gset
SELECT pg_temp.mask(pg_temp.try(format($$SELECT btexport.update_automation('nm-bob', name => %L)$$, :alice_id)), :alice_id);
-- ... but a 1.0 database may hold one: bob's automation is named alice's id
RESET ROLE;
UPDATE btexport.automations SET name = :'alice_id' WHERE id = :bob_id;

-- every bigint form resolves alice's id to alice's automation, never to bob's name
SET ROLE regress_nm_alice;
SELECT (btexport.run(:alice_id::bigint, trigger => 'schedule')) IS NULL AS scheduled_tick_of_paused_automation;
SELECT id = :alice_id AS hers, status FROM btexport.resume(:alice_id);
SELECT id = :alice_id AS hers, status FROM btexport.pause(:alice_id, 'held again');
SELECT id = :alice_id AS hers, batch_size FROM btexport.update_automation(:alice_id, batch_size => 77);
SELECT id = :alice_id AS hers FROM btexport.rewind(:alice_id, now() - interval '1 day');
SELECT id = :alice_id AS hers FROM btexport.unschedule(:alice_id);
-- the text form is a name: alice's id as text names bob's automation, which she cannot see
SELECT pg_temp.mask(pg_temp.try(format($$SELECT btexport.pause(%L)$$, :alice_id)), :alice_id);
SELECT pg_temp.try($$SELECT btexport.pause('nm-bob')$$);
SELECT pg_temp.try($$SELECT btexport.pause(999999999)$$);
-- bob reaches his by its (numeric) name, not alice's
SET ROLE regress_nm_bob;
SELECT id = :bob_id AS his FROM btexport.pause(:'alice_id', 'by name');
SELECT pg_temp.mask(pg_temp.try(format($$SELECT btexport.pause(%s)$$, :alice_id)), :alice_id);
RESET ROLE;
SELECT id = :alice_id AS alice_row, status, paused_reason, batch_size FROM btexport.automations WHERE id IN (:alice_id, :bob_id) ORDER BY id;

-- projects: a UUID is only ever an id, even where a (1.0) project is named like another's id
SELECT btexport.create_project('nm-other') AS other_id \gset
SELECT btexport.create_project('nm-named-like-an-id') IS NOT NULL AS ok;
UPDATE btexport.projects SET name = :'other_id' WHERE name = 'nm-named-like-an-id';
SELECT p.name FROM btexport.projects p WHERE p.id = btexport._resolve_project(:'other_id');
SELECT p.name FROM btexport.projects p WHERE p.id = btexport._resolve_project(upper(:'other_id'));
SELECT event_index, action FROM btexport.log(:'other_id', '{"id": "nm-span"}');
SELECT p.name FROM btexport.logs l JOIN btexport.projects p ON p.id = l.project_id WHERE l.id = 'nm-span';
SELECT pg_temp.try($$SELECT btexport._resolve_project('00000000-0000-4000-8000-00000000dead')$$);

-- credentials: names are per owner; another role's credential is neither visible nor a collision
SET ROLE regress_nm_alice;
SELECT btexport.create_credential('prod', 'AKIAIOSFODNN7EXAMPLE', 'alice-secret');
SET ROLE regress_nm_bob;
SELECT btexport.create_credential('prod', 'AKIAI44QH8DHBEXAMPLE', 'bob-secret');
SELECT name, owner, access_key_id FROM btexport.credentials_info ORDER BY name;
SELECT credential, credential_owner FROM btexport.update_automation(:bob_id, credential => 'prod');
SET ROLE regress_nm_alice;
SELECT credential, credential_owner FROM btexport.update_automation(:alice_id, credential => 'prod');
SELECT pg_temp.try($$SELECT btexport.create_credential('prod', 'AKIAIOSFODNN7EXAMPLE', 'again')$$);
SELECT pg_temp.try($$SELECT btexport.update_automation('nm-alice', credential => 'regress_nm_bob/prod')$$);
SELECT pg_temp.try($$SELECT btexport.drop_credential('prod')$$);
SET ROLE regress_nm_bob;
SELECT credential, credential_owner FROM btexport.update_automation(:bob_id, batch_size => 9);
RESET ROLE;
SELECT a.name = 'nm-alice' AS alice, a.credential, a.credential_owner FROM btexport.automations a WHERE a.id IN (:alice_id, :bob_id) ORDER BY a.id;

-- a member of two teams that each have a credential 'shared': ambiguous unless qualified;
-- her own credential of that name wins
SET ROLE regress_nm_team1;
SELECT btexport.create_credential('shared', 'AKIAIOSFODNN7EXAMPLE', 'team1-secret');
SET ROLE regress_nm_team2;
SELECT btexport.create_credential('shared', 'AKIAIOSFODNN7EXAMPLE', 'team2-secret');
SET ROLE regress_nm_carol;
SELECT pg_temp.try($$SELECT btexport.create_automation('nm-carol', 'nm-app', 's3://nm-bucket/carol/', endpoint => 'http://127.0.0.1:9', credential => 'shared')$$);
SELECT name, credential, credential_owner FROM btexport.create_automation('nm-carol', 'nm-app', 's3://nm-bucket/carol/',
       endpoint => 'http://127.0.0.1:9', credential => 'regress_nm_team2/shared');
SELECT btexport.create_credential('shared', 'AKIAIOSFODNN7EXAMPLE', 'carol-secret');
SELECT credential, credential_owner FROM btexport.update_automation('nm-carol', credential => 'shared');
-- changing another setting keeps the credential it has (not the caller's same-named one)
SELECT credential, credential_owner FROM btexport.update_automation('nm-carol', credential => 'regress_nm_team1/shared');
SELECT credential, credential_owner FROM btexport.update_automation('nm-carol', batch_size => 5);

-- clean up
RESET ROLE;
SELECT btexport.drop_automation(id) FROM btexport.automations WHERE id IN (:alice_id, :bob_id) OR name = 'nm-carol';
DELETE FROM btexport.credentials WHERE owner IN ('regress_nm_alice'::regrole, 'regress_nm_bob'::regrole,
	'regress_nm_team1'::regrole, 'regress_nm_team2'::regrole, 'regress_nm_carol'::regrole);
DELETE FROM btexport.logs WHERE id = 'nm-span';
DELETE FROM btexport.projects WHERE name IN ('nm-app', 'nm-other') OR id::text = :'other_id' OR name = :'other_id';
RESET btexport.allowed_endpoints;
DROP ROLE regress_nm_alice, regress_nm_bob, regress_nm_carol, regress_nm_team1, regress_nm_team2;
