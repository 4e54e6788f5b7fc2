-- Automations: creation, every validation error (SQLSTATE, message, detail, hint), and
-- proof that a rejected call changes nothing.
\set VERBOSITY default
\set SHOW_CONTEXT never
SET btexport.allow_http = on;

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

SELECT btexport.create_project('support-bot') IS NOT NULL AS project_created;
SELECT btexport.create_project('other-app') IS NOT NULL AS project_created;

-- a valid automation, all settings
SELECT name, export_type, s3_path, bucket, prefix, format, "interval", schedule, batch_size, region,
       role_arn, external_id, endpoint, status, cursor
  FROM btexport.create_automation(
	name => 'Daily Data Export to S3', project => 'support-bot',
	s3_path => 's3://your-bucket-name/braintrust-exports', export_type => 'logs_traces',
	format => 'parquet', role_arn => 'arn:aws:iam::123456789012:role/BraintrustExportRole',
	external_id => 'bt:org:proj:1', region => 'eu-west-2', batch_size => 500,
	description => 'Executive dashboards');

-- defaults: spans, jsonl, us-east-1, batch 1000, no schedule
SELECT name, export_type, format, region, batch_size, "interval", schedule, prefix
  FROM btexport.create_automation('spans-export', 'support-bot', 's3://your-bucket-name/spans/');

-- Braintrust's REST spellings are accepted
SELECT export_type FROM btexport.create_automation('rest-spelling', 'support-bot', 's3://bucket-two/a/', export_type => 'log_traces');

SELECT count(*) AS automations_before FROM btexport.automations;

-- every invalid input
SELECT pg_temp.try($$SELECT btexport.create_automation('never-created', 'support-bot', 's3://b-1/p/', export_type => 'everything')$$);
SELECT pg_temp.try($$SELECT btexport.create_automation('never-created', 'support-bot', 's3://b-1/p/', format => 'csv')$$);
SELECT pg_temp.try($$SELECT btexport.create_automation('never-created', 'support-bot', 'https://b-1/p/')$$);
SELECT pg_temp.try($$SELECT btexport.create_automation('never-created', 'support-bot', 's3://B_ad/p/')$$);
SELECT pg_temp.try($$SELECT btexport.create_automation('never-created', 'support-bot', 's3://ab/p/')$$);
SELECT pg_temp.try($$SELECT btexport.create_automation('never-created', 'support-bot', 's3://b-1//p/')$$);
SELECT pg_temp.try($$SELECT btexport.create_automation('never-created', 'support-bot', NULL)$$);
-- "." and ".." segments: curl would remove them from the signed path (issue 12, finding 9)
SELECT pg_temp.try($$SELECT btexport.create_automation('never-created', 'support-bot', 's3://b-1/a/../b/')$$);
SELECT pg_temp.try($$SELECT btexport.create_automation('never-created', 'support-bot', 's3://b-1/./a/')$$);
SELECT pg_temp.try($$SELECT btexport.create_automation('never-created', 'support-bot', 's3://b-1/a/..')$$);
-- (dots inside a segment are fine)
SELECT prefix FROM btexport.create_automation('dots-ok', 'support-bot', 's3://b-9/a..b/.c/d./');
SELECT btexport.drop_automation('dots-ok');
SELECT pg_temp.try($$SELECT btexport.create_automation('never-created', 'support-bot', 's3://b-1/p/', role_arn => 'arn:aws:iam::12345:role/x')$$);
SELECT pg_temp.try($$SELECT btexport.create_automation('never-created', 'support-bot', 's3://b-1/p/', role_arn => 'arn:aws:iam::123456789012:user/x')$$);
SELECT pg_temp.try($$SELECT btexport.create_automation('never-created', 'support-bot', 's3://b-1/p/', external_id => 'abc')$$);
SELECT pg_temp.try($$SELECT btexport.create_automation('never-created', 'support-bot', 's3://b-1/p/', role_arn => 'arn:aws:iam::123456789012:role/x', external_id => 'a b')$$);
-- one rule for the external id, the one the AssumeRole request applies: ASCII only (finding 9)
SELECT pg_temp.try($$SELECT btexport.create_automation('never-created', 'support-bot', 's3://b-1/p/', role_arn => 'arn:aws:iam::123456789012:role/x', external_id => 'bt:örg:1')$$);
SELECT pg_temp.try($$SELECT btexport.create_automation('never-created', 'support-bot', 's3://b-1/p/', role_arn => 'arn:aws:iam::123456789012:role/x', external_id => 'ａｂｃ')$$);
SELECT pg_temp.try($$SELECT btexport.create_automation('never-created', 'support-bot', 's3://b-1/p/', batch_size => 0)$$);
SELECT pg_temp.try($$SELECT btexport.create_automation('never-created', 'support-bot', 's3://b-1/p/', batch_size => -5)$$);
SELECT pg_temp.try($$SELECT btexport.create_automation('never-created', 'support-bot', 's3://b-1/p/', "interval" => 'fortnightly')$$);
SELECT pg_temp.try($$SELECT btexport.create_automation('never-created', 'support-bot', 's3://b-1/p/', "interval" => '30 seconds')$$);
SELECT pg_temp.try($$SELECT btexport.create_automation('never-created', 'support-bot', 's3://b-1/p/', "interval" => '31 days')$$);
SELECT pg_temp.try($$SELECT btexport.create_automation('never-created', 'support-bot', 's3://b-1/p/', "interval" => '* * *')$$);
SELECT pg_temp.try($$SELECT btexport.create_automation('never-created', 'no-such-project', 's3://b-1/p/')$$);
SELECT pg_temp.try($$SELECT btexport.create_automation('never-created', NULL, 's3://b-1/p/')$$);
SELECT pg_temp.try($$SELECT btexport.create_automation('spans-export', 'support-bot', 's3://b-1/p/')$$);
SELECT pg_temp.try($$SELECT btexport.create_automation('', 'support-bot', 's3://b-1/p/')$$);
SELECT pg_temp.try($$SELECT btexport.create_automation('never-created', 'support-bot', 's3://your-bucket-name/braintrust-exports/daily/')$$);
SELECT pg_temp.try($$SELECT btexport.create_automation('never-created', 'support-bot', 's3://your-bucket-name/')$$);
SELECT pg_temp.try($$SELECT btexport.create_automation('never-created', 'support-bot', 's3://b-1/p/', event_type => 'logs')$$);
SELECT pg_temp.try($$SELECT btexport.create_automation('never-created', 'support-bot', 's3://b-1/p/', export_type => 'btql')$$);
SELECT pg_temp.try($$SELECT btexport.create_automation('never-created', 'support-bot', 's3://b-1/p/', query => 'select: *')$$);
SELECT pg_temp.try($$SELECT btexport.create_automation('never-created', 'support-bot', 's3://b-1/p/', region => 'Europe')$$);
SELECT pg_temp.try($$SELECT btexport.create_automation('never-created', 'support-bot', 's3://b-1/p/', endpoint => 'ftp://host')$$);
SELECT pg_temp.try($$SELECT btexport.create_automation('never-created', 'support-bot', 's3://b-1/p/', credential => 'nope')$$);
SET btexport.allow_http = off;
SELECT pg_temp.try($$SELECT btexport.create_automation('never-created', 'support-bot', 's3://b-1/p/', endpoint => 'http://127.0.0.1:9000')$$);
SET btexport.allow_http = on;
-- no pg_cron in this database: a schedule is refused
SELECT pg_temp.try($$SELECT btexport.create_automation('never-created', 'support-bot', 's3://b-1/p/', "interval" => 'hourly')$$);

-- advanced settings
SELECT pg_temp.try($$SELECT btexport.create_automation('never-created', 'support-bot', 's3://b-1/p/', compression => 'lz4')$$);
SELECT pg_temp.try($$SELECT btexport.create_automation('never-created', 'support-bot', 's3://b-1/p/', format => 'parquet', compression => 'brotli')$$);
SELECT pg_temp.try($$SELECT btexport.create_automation('never-created', 'support-bot', 's3://b-1/p/', sse => 'DES')$$);
SELECT pg_temp.try($$SELECT btexport.create_automation('never-created', 'support-bot', 's3://b-1/p/', sse => 'AES256', kms_key_id => 'k1')$$);
SELECT pg_temp.try($$SELECT btexport.create_automation('never-created', 'support-bot', 's3://b-1/p/', part_size => '1MB')$$);
SELECT pg_temp.try($$SELECT btexport.create_automation('never-created', 'support-bot', 's3://b-1/p/', part_size => 'huge')$$);
SELECT pg_temp.try($$SELECT btexport.create_automation('never-created', 'support-bot', 's3://b-1/p/', target_file_size => '10kB')$$);
SELECT pg_temp.try($$SELECT btexport.create_automation('never-created', 'support-bot', 's3://b-1/p/', max_rows_per_run => 0)$$);
SELECT pg_temp.try($$SELECT btexport.create_automation('never-created', 'support-bot', 's3://b-1/p/', max_failures => -1)$$);
SELECT pg_temp.try($$SELECT btexport.create_automation('never-created', 'support-bot', 's3://b-1/p/', trace_idle => '-1 second')$$);
SELECT pg_temp.try($$SELECT btexport.create_automation('never-created', 'support-bot', 's3://b-1/p/', layout => 'monthly')$$);
-- compression_level: gzip 1-9, zstd 1-19, none for snappy and none
SELECT pg_temp.try($$SELECT btexport.create_automation('never-created', 'support-bot', 's3://b-1/p/', compression_level => 3)$$);
SELECT pg_temp.try($$SELECT btexport.create_automation('never-created', 'support-bot', 's3://b-1/p/', format => 'parquet', compression_level => 3)$$);
SELECT pg_temp.try($$SELECT btexport.create_automation('never-created', 'support-bot', 's3://b-1/p/', compression => 'gzip', compression_level => 10)$$);
SELECT pg_temp.try($$SELECT btexport.create_automation('never-created', 'support-bot', 's3://b-1/p/', format => 'parquet', compression => 'zstd', compression_level => 20)$$);
SELECT pg_temp.try($$SELECT btexport.create_automation('never-created', 'support-bot', 's3://b-1/p/', compression => 'zstd', compression_level => -1)$$);
SELECT name, compression, sse, kms_key_id, part_size, target_file_size, max_rows_per_run, trace_idle, max_failures,
       bucket_owner_full_control
  FROM btexport.create_automation('settings', 'support-bot', 's3://b-1/settings/', format => 'parquet',
       compression => 'ZSTD', sse => 'aws:kms', kms_key_id => 'alias/exports', part_size => '8MB',
       target_file_size => '256MB', max_rows_per_run => 5000, trace_idle => '1 minute', max_failures => 3,
       bucket_owner_full_control => true);
SELECT name, format, compression, layout FROM btexport.create_automation('gz', 'support-bot', 's3://b-1/gz/', compression => 'gz', layout => ' Hive ');

-- nothing changed by the rejected calls
SELECT count(*) AS automations_after FROM btexport.automations;

-- schedules: presets, cron expressions and periods map to cron
SELECT i, btexport._schedule_for(i) FROM unnest(ARRAY['hourly', 'daily', 'weekly', '*/10 * * * *',
	'15 minutes', '1 minute', '2 hours', '1 day', '1 week', '0 3 * * 1-5']) i;
-- periods cron cannot express: a job every minute, a run once the period has passed (start to start)
SELECT i, btexport._schedule_for(i), btexport._period_for(i)
  FROM unnest(ARRAY['7 minutes', '90 minutes', '36 hours', '3600', '2592000', '* * * * *', '1 minute', 'hourly']) i;

-- the S3 path is immutable
SELECT pg_temp.try($$SELECT btexport.update_automation('spans-export', s3_path => 's3://elsewhere/x/')$$);
-- other settings can change; invalid ones are refused
SELECT name, format, batch_size FROM btexport.update_automation('spans-export', format => 'parquet', batch_size => 250);
SELECT pg_temp.try($$SELECT btexport.update_automation('spans-export', batch_size => 0)$$);
SELECT pg_temp.try($$SELECT btexport.update_automation('no-such-automation', batch_size => 10)$$);
SELECT format, batch_size FROM btexport.automations WHERE name = 'spans-export';

-- the codec's level can change on a live automation (the files stay readable by the same loaders);
-- 0 is the codec's default (NULL), a new codec starts from its default unless a level is given
SELECT name, format, compression, compression_level
  FROM btexport.create_automation('level', 'support-bot', 's3://b-1/level/', compression => 'gzip', compression_level => 9);
SELECT compression, compression_level FROM btexport.update_automation('level', compression_level => 1);
SELECT compression, compression_level FROM btexport.update_automation('level', description => 'unchanged level');
SELECT compression, compression_level FROM btexport.update_automation('level', compression_level => 0);
SELECT compression, compression_level FROM btexport.update_automation('level', compression => 'zstd', compression_level => 19);
SELECT compression, compression_level FROM btexport.update_automation('level', compression => 'gzip');
SELECT format, compression, compression_level FROM btexport.update_automation('level', format => 'parquet', compression => 'gzip', compression_level => 2);
SELECT pg_temp.try($$SELECT btexport.update_automation('level', compression => 'snappy', compression_level => 2)$$);
SELECT pg_temp.try($$SELECT btexport.update_automation('level', compression => 'snappy')$$);
SELECT pg_temp.try($$SELECT btexport.update_automation('level', compression_level => 12)$$);
SELECT compression, compression_level FROM btexport.automations WHERE name = 'level';
SELECT btexport.drop_automation('level');

-- pause / resume
SELECT status, paused_reason FROM btexport.pause('spans-export', 'maintenance');
SELECT status, paused_reason FROM btexport.resume('spans-export');

-- credentials: the secret is never readable back
SELECT btexport.create_credential('ci-key', 'AKIAIOSFODNN7EXAMPLE', 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY');
SELECT name, access_key_id, has_session_token FROM btexport.credentials_info;
SELECT pg_temp.try($$SELECT btexport.create_credential('ci-key', 'AKIAIOSFODNN7EXAMPLE', 'x')$$);
SELECT pg_temp.try($$SELECT btexport.create_credential('bad key', 'AKIAIOSFODNN7EXAMPLE', 'x')$$);
SELECT pg_temp.try($$SELECT btexport.create_credential('k2', 'not-a-key', 'x')$$);
SELECT name, credential FROM btexport.update_automation('spans-export', credential => 'ci-key');
SELECT pg_temp.try($$SELECT btexport.drop_credential('ci-key')$$);

-- drop
SELECT btexport.drop_automation('rest-spelling');
SELECT pg_temp.try($$SELECT btexport.drop_automation('rest-spelling')$$);
SELECT name FROM btexport.automations ORDER BY id;
