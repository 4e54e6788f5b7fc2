-- Automation settings have one definition each (btexport._settings(),
-- sql/install/code/51_settings.sql).  Every query below returns no row unless
-- a setting is missing from one of the places that must know it.
\set VERBOSITY default
SET btexport.allow_http = on;

-- 1. create_automation and test(...) take exactly the listed settings, in order, with their types;
--    update_automation the automation (by name, or by id) and the updatable ones, in their order
WITH s AS (SELECT * FROM btexport._settings() WITH ORDINALITY x(setting, type, create_default, update_position, n)),
	 f AS (SELECT p.proname::text AS fn, p.proargnames[1:p.pronargs]::text[] AS names,
				  ARRAY(SELECT t::regtype::text FROM unnest(p.proargtypes::oid[]) WITH ORDINALITY u(t, i) ORDER BY i) AS types
			 FROM pg_proc p WHERE p.pronamespace = 'btexport'::regnamespace AND p.pronargs > 1
			  AND p.proname IN ('create_automation', 'test', 'update_automation'))
SELECT fn AS function_disagreeing_with_settings FROM f
 WHERE (fn <> 'update_automation' AND (names, types) IS DISTINCT FROM
		((SELECT array_agg(setting ORDER BY n) FROM s), (SELECT array_agg(type::regtype::text ORDER BY n) FROM s)))
	OR (fn = 'update_automation' AND (names[2:], types[2:]) IS DISTINCT FROM
		((SELECT array_agg(setting ORDER BY update_position) FROM s WHERE update_position IS NOT NULL),
		 (SELECT array_agg(type::regtype::text ORDER BY update_position) FROM s WHERE update_position IS NOT NULL)))
	OR (fn = 'update_automation' AND (names[1], types[1]) NOT IN (('automation', 'text'), ('automation_id', 'bigint')));
SELECT count(*) AS generated_functions FROM pg_proc p
 WHERE p.pronamespace = 'btexport'::regnamespace AND p.pronargs > 1
   AND p.proname IN ('create_automation', 'test', 'update_automation');

-- 2. every setting is a column of btexport.automations (project: project_id), and every column
--    is a setting or one of the automation's own (identity, destination, schedule, state; the credential's
--    owner, which _build_automation derives from the credential setting; a connection's owner, the
--    Braintrust project as given and its id, the remote source's position)
WITH cols AS (SELECT attname::text AS col FROM pg_attribute
			   WHERE attrelid = 'btexport.automations'::regclass AND attnum > 0 AND NOT attisdropped)
SELECT setting AS setting_without_column FROM btexport._settings()
 WHERE CASE setting WHEN 'project' THEN 'project_id' ELSE setting END NOT IN (SELECT col FROM cols);
WITH cols AS (SELECT attname::text AS col FROM pg_attribute
			   WHERE attrelid = 'btexport.automations'::regclass AND attnum > 0 AND NOT attisdropped)
SELECT col AS column_without_setting FROM cols
 WHERE col NOT IN (SELECT CASE setting WHEN 'project' THEN 'project_id' ELSE setting END FROM btexport._settings())
   AND col NOT IN ('id', 'owner', 'bucket', 'prefix', 'schedule', 'period', 'status', 'paused_reason', 'cron_jobid',
				   'cursor', 'created', 'updated', 'credential_owner', 'connection_owner', 'remote_project',
				   'remote_project_id', 'source_position', 'cursor_cluster');

-- 3. the runner's column table (src/adapters/automation.c) names every column, with its type
SELECT column_name, type FROM btexport._automation_columns()
EXCEPT SELECT attname::text, atttypid::regtype FROM pg_attribute
 WHERE attrelid = 'btexport.automations'::regclass AND attnum > 0 AND NOT attisdropped;
SELECT attname::text AS column_missing_in_automation_c, atttypid::regtype FROM pg_attribute
 WHERE attrelid = 'btexport.automations'::regclass AND attnum > 0 AND NOT attisdropped
EXCEPT SELECT column_name, type FROM btexport._automation_columns();

-- 4. every setting reaches the automation: a value for each (event_type has one value only),
--    built into a row and compared with a row built from the required settings alone
SELECT btexport.create_project('settings-app') IS NOT NULL AND btexport.create_project('settings-base') IS NOT NULL AS projects_created;
SELECT btexport.create_credential('settings-key', 'AKIAIOSFODNN7EXAMPLE', 'secret') AS credential;
CREATE TEMP TABLE setting_values (setting text PRIMARY KEY, value jsonb);
INSERT INTO setting_values VALUES
	('name', '"all-settings"'), ('project', '"settings-app"'), ('s3_path', '"s3://b-9/all/"'),
	('export_type', '"btql"'), ('query', to_jsonb('select: * | from: project_logs(''settings-app'')'::text)),
	('format', '"parquet"'), ('interval', '"hourly"'),
	('role_arn', '"arn:aws:iam::123456789012:role/R"'), ('external_id', '"ext-1"'), ('region', '"eu-west-1"'),
	('endpoint', '"http://127.0.0.1:9999"'), ('batch_size', '10'), ('description', '"d"'),
	('event_type', '"btql_export"'), ('credential', '"settings-key"'), ('compression', '"zstd"'),
	('sse', '"aws:kms"'), ('kms_key_id', '"alias/k"'), ('bucket_owner_full_control', 'true'),
	('part_size', '"8MB"'), ('target_file_size', '"64MB"'), ('max_rows_per_run', '7'),
	('trace_idle', '"5 minutes"'), ('start_from', '"2024-01-01T00:00:00Z"'), ('max_failures', '2'),
	('layout', '"hive"'), ('compression_level', '7');
-- the source settings: a Braintrust connection (checked with a remote automation below)
CREATE TEMP TABLE remote_values (setting text PRIMARY KEY, value jsonb);
SELECT btexport.create_connection('settings-conn', 'sk-settings-key') AS connection;
INSERT INTO remote_values VALUES ('connection', '"settings-conn"'), ('requests_per_minute', '42');
-- (partitioning applies to format iceberg only, which takes no BTQL query and no layout hive:
--  its own check follows)
SELECT setting AS setting_without_test_value FROM btexport._settings() WHERE setting <> 'partitioning'
EXCEPT SELECT setting FROM setting_values EXCEPT SELECT setting FROM remote_values;
WITH base AS (SELECT to_jsonb(btexport._build_automation(
				'{"name": "x", "project": "settings-base", "s3_path": "s3://b-9/base/"}')) AS j),
	 given AS (SELECT to_jsonb(btexport._build_automation((SELECT jsonb_object_agg(setting, value)
														   FROM setting_values))) AS j),
	 col AS (SELECT setting, CASE setting WHEN 'project' THEN 'project_id' ELSE setting END AS c
			   FROM btexport._settings() WHERE setting NOT IN ('event_type', 'partitioning'))
SELECT setting AS setting_lost_by_build_automation FROM col, base, given
 WHERE base.j -> c = given.j -> c AND setting NOT IN (SELECT setting FROM remote_values);
-- partitioning: an Iceberg automation's reaches the row, from create and from update
SELECT (btexport._build_automation('{"name": "x", "project": "settings-base", "s3_path": "s3://b-9/base/",
		"format": "iceberg"}')).partitioning AS iceberg_default,
	   (btexport._build_automation('{"name": "x", "project": "settings-base", "s3_path": "s3://b-9/base/",
		"format": "iceberg", "partitioning": "none"}')).partitioning AS iceberg_given;
-- ... and with a connection as the source (project: remote_project; start_from is refused there)
WITH base AS (SELECT to_jsonb(btexport._build_automation(
				'{"name": "x", "project": "settings-base", "s3_path": "s3://b-9/base/", "connection": "settings-conn"}')) AS j),
	 given AS (SELECT to_jsonb(btexport._build_automation((SELECT jsonb_object_agg(setting, value) FROM
				(SELECT * FROM setting_values WHERE setting <> 'start_from' UNION ALL SELECT * FROM remote_values) v))) AS j),
	 col AS (SELECT setting, CASE setting WHEN 'project' THEN 'remote_project' ELSE setting END AS c
			   FROM btexport._settings() WHERE setting NOT IN ('event_type', 'start_from', 'connection', 'partitioning'))
SELECT setting AS remote_setting_lost_by_build_automation FROM col, base, given WHERE base.j -> c = given.j -> c;

-- 5. every updatable setting reaches the saved automation through update_automation
--    (interval needs pg_cron, which this database lacks: test/integration/test_worker.py)
SELECT name FROM btexport.create_automation('upd', 'settings-app', 's3://b-9/upd/');
CREATE TEMP TABLE before_update AS SELECT to_jsonb(a) AS j FROM btexport.automations a WHERE name = 'upd';
SELECT (btexport._update_automation(btexport._automation_for_caller('upd'), (SELECT jsonb_object_agg(setting, value) FROM setting_values
	WHERE setting IN (SELECT setting FROM btexport._settings() WHERE update_position IS NOT NULL)
	  AND setting NOT IN ('s3_path', 'interval')))).name;
SELECT s.setting AS setting_lost_by_update FROM btexport._settings() s, before_update b, btexport.automations a
 WHERE a.name = 'all-settings' AND s.update_position IS NOT NULL AND s.setting NOT IN ('s3_path', 'interval', 'partitioning')
   AND s.setting NOT IN (SELECT setting FROM remote_values)
   AND b.j -> s.setting = to_jsonb(a) -> s.setting;
SELECT btexport.drop_automation('all-settings');
SELECT name, format, partitioning FROM btexport.create_automation('upd-ice', 'settings-app', 's3://b-9/upd-ice/', format => 'iceberg');
SELECT name, format, partitioning FROM btexport.update_automation('upd-ice', partitioning => 'none');
SELECT name, format, partitioning FROM btexport.update_automation('upd-ice', format => 'parquet');
SELECT btexport.drop_automation('upd-ice');
-- ... and the remote settings of an automation whose source is a connection
SELECT name FROM btexport.create_automation('upd-remote', 'settings-app', 's3://b-9/upd-remote/', connection => 'settings-conn');
SELECT (btexport._update_automation(btexport._automation_for_caller('upd-remote'), (SELECT jsonb_object_agg(setting, value) FROM remote_values
	WHERE setting IN (SELECT setting FROM btexport._settings() WHERE update_position IS NOT NULL)))).requests_per_minute;
SELECT s.setting AS remote_setting_not_updatable FROM remote_values s
 WHERE s.setting NOT IN (SELECT setting FROM btexport._settings() WHERE update_position IS NOT NULL)
   AND s.setting <> 'connection';
SELECT btexport.drop_automation('upd-remote');
SELECT btexport.drop_connection('settings-conn');
