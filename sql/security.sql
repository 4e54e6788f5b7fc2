-- Ownership and privileges: automations belong to their owner; other roles cannot see,
-- run, test, change or drop them; secrets are unreadable; the API needs btexport_user.
\set VERBOSITY default
\set SHOW_CONTEXT never
SET client_min_messages = warning;
DROP ROLE IF EXISTS regress_btx_alice;
DROP ROLE IF EXISTS regress_btx_bob;
DROP ROLE IF EXISTS regress_btx_nobody;
RESET client_min_messages;
CREATE ROLE regress_btx_alice LOGIN IN ROLE btexport_user;
CREATE ROLE regress_btx_bob LOGIN IN ROLE btexport_user;
CREATE ROLE regress_btx_nobody LOGIN;
SET btexport.allow_http = on;
SELECT btexport.create_project('shared-app') IS NOT NULL AS ok;
-- the project's owner lets alice export it (sql/access.sql tests the project access model)
SELECT btexport.grant_project('shared-app', 'regress_btx_alice', 'export');
SELECT btexport.grant_project('shared-app', 'regress_btx_bob', 'export');
-- superuser-only setting, set for this session (SET ROLE keeps it)
SET btexport.allowed_endpoints = 'http://127.0.0.1:9';

SET ROLE regress_btx_alice;
SELECT btexport.create_credential('alice-key', 'AKIAIOSFODNN7EXAMPLE', 'secret-of-alice');
SELECT name, owner FROM btexport.create_automation('alice-export', 'shared-app', 's3://alice-bucket/x/',
       endpoint => 'http://127.0.0.1:9', credential => 'alice-key');
SELECT name FROM btexport.automations;
SELECT name, access_key_id FROM btexport.credentials_info;
SELECT * FROM btexport.credentials;
SELECT * FROM btexport.secrets;

SET ROLE regress_btx_bob;
-- bob sees nothing of alice's
SELECT count(*) AS visible_automations FROM btexport.automations;
SELECT count(*) AS visible_credentials FROM btexport.credentials_info;
SELECT count(*) AS visible_status FROM btexport.status;
-- and can do nothing with it
SELECT btexport.run('alice-export');
SELECT * FROM btexport.test('alice-export');
SELECT btexport.update_automation('alice-export', batch_size => 5);
SELECT btexport.pause('alice-export');
SELECT btexport.drop_automation('alice-export');
-- nor use alice's credential
SELECT btexport.create_automation('bob-export', 'shared-app', 's3://bob-bucket/x/',
       endpoint => 'http://127.0.0.1:9', credential => 'alice-key');
SELECT btexport.drop_credential('alice-key');
-- nor write where alice writes
SELECT btexport.create_automation('bob-export', 'shared-app', 's3://alice-bucket/x/sub/',
       endpoint => 'http://127.0.0.1:9');

SET ROLE regress_btx_nobody;
-- without btexport_user the API is closed
SELECT btexport.create_automation('nobody-export', 'shared-app', 's3://nobody-bucket/x/');
SELECT count(*) FROM btexport.automations;

RESET ROLE;
SELECT name, owner, batch_size, status FROM btexport.automations ORDER BY name;
RESET btexport.allowed_endpoints;
SELECT btexport.drop_automation('alice-export');
SELECT btexport.drop_credential('alice-key');
