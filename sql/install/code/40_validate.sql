-- ---------------------------------------------------------------------------
-- Validation of automation settings.  Each check raises a specific SQLSTATE
-- with a hint; none changes anything.
-- ---------------------------------------------------------------------------

-- the cores' validation rules (src/api/validate.c): one rule for saving and for running
CREATE OR REPLACE FUNCTION btexport._check_s3_prefix(prefix text) RETURNS void
LANGUAGE c IMMUTABLE STRICT AS 'MODULE_PATHNAME', 'btexport_check_s3_prefix';
CREATE OR REPLACE FUNCTION btexport._check_external_id(external_id text) RETURNS void
LANGUAGE c IMMUTABLE STRICT AS 'MODULE_PATHNAME', 'btexport_check_external_id';

-- s3://bucket/prefix/ -> (bucket, prefix with trailing slash or '')
CREATE OR REPLACE FUNCTION btexport._parse_s3_path(s3_path text, OUT bucket text, OUT prefix text)
LANGUAGE plpgsql IMMUTABLE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	m text[];
BEGIN
	IF s3_path IS NULL OR s3_path = '' THEN
		RAISE EXCEPTION 's3_path must be given'
			USING ERRCODE = '22004', HINT = 'Pass the destination as s3://bucket-name/prefix/.';
	END IF;
	m := regexp_match(s3_path, '^s3://([^/]*)(/(.*))?$');
	IF m IS NULL THEN
		RAISE EXCEPTION 'invalid S3 path "%"', btexport._excerpt(s3_path)
			USING ERRCODE = '22023', DETAIL = 'An S3 path starts with s3:// followed by the bucket name.',
				  HINT = 'Use the form s3://bucket-name/prefix/.';
	END IF;
	bucket := m[1];
	prefix := coalesce(m[3], '');
	IF bucket !~ '^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$' OR bucket ~ '\.\.|\.-|-\.'
	   OR bucket ~ '^\d+\.\d+\.\d+\.\d+$' OR bucket ~ '^xn--' OR bucket ~ '-s3alias$' THEN
		RAISE EXCEPTION 'invalid S3 bucket name "%" in "%"', btexport._excerpt(bucket), btexport._excerpt(s3_path)
			USING ERRCODE = '22023',
				  DETAIL = 'Bucket names are 3 to 63 characters of lower-case letters, digits, dots and hyphens, and begin and end with a letter or digit.',
				  HINT = 'Use the form s3://bucket-name/prefix/.';
	END IF;
	-- the rule runs prefixes are held to as well (src/core/s3: btx_s3_check_key_prefix)
	PERFORM btexport._check_s3_prefix(prefix);
	IF prefix <> '' AND right(prefix, 1) <> '/' THEN
		prefix := prefix || '/';
	END IF;
END
$$;

CREATE OR REPLACE FUNCTION btexport._check_role(role_arn text, external_id text)
RETURNS void LANGUAGE plpgsql IMMUTABLE SET search_path = pg_catalog, pg_temp AS $$
BEGIN
	-- ASCII only (as IAM): \w would also match letters of other scripts
	IF role_arn IS NOT NULL AND role_arn !~ '^arn:aws(-[a-z]+)*:iam::[0-9]{12}:role/([A-Za-z0-9_+=,.@-]+/)*[A-Za-z0-9_+=,.@-]{1,64}$' THEN
		RAISE EXCEPTION 'invalid role ARN "%"', btexport._excerpt(role_arn)
			USING ERRCODE = '22023',
				  DETAIL = 'A role ARN has the form arn:aws:iam::<12-digit account id>:role/<path/name>.',
				  HINT = 'Copy the ARN from the IAM console, e.g. arn:aws:iam::123456789012:role/BraintrustExportRole.';
	END IF;
	IF external_id IS NOT NULL THEN
		IF role_arn IS NULL THEN
			RAISE EXCEPTION 'external_id requires role_arn'
				USING ERRCODE = '22023', HINT = 'Pass role_arn too, or leave external_id out.';
		END IF;
		-- the rule the AssumeRole request applies (src/core/s3: btx_sts_check_external_id)
		PERFORM btexport._check_external_id(external_id);
	END IF;
END
$$;

CREATE OR REPLACE FUNCTION btexport._check_region(region text)
RETURNS text LANGUAGE plpgsql IMMUTABLE SET search_path = pg_catalog, pg_temp AS $$
BEGIN
	IF region IS NULL OR region = '' THEN
		RETURN 'us-east-1';
	END IF;
	IF region !~ '^[a-z]{2}(-[a-z]+)+-[0-9]{1,2}$' THEN
		RAISE EXCEPTION 'invalid AWS region "%"', btexport._excerpt(region)
			USING ERRCODE = '22023', HINT = 'Use the bucket''s region code, such as us-east-1 or eu-west-2.';
	END IF;
	RETURN region;
END
$$;

CREATE OR REPLACE FUNCTION btexport._check_endpoint(endpoint text)
RETURNS text LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	allowed text[];
BEGIN
	IF endpoint IS NULL OR endpoint = '' THEN
		RETURN NULL;
	END IF;
	endpoint := rtrim(endpoint, '/');
	IF endpoint !~ '^https?://(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+)(:[0-9]{1,5})?$' THEN
		RAISE EXCEPTION 'invalid endpoint "%"', btexport._excerpt(endpoint)
			USING ERRCODE = '22023',
				  DETAIL = 'An endpoint is a scheme, a host and an optional port, without a path.',
				  HINT = 'Use the form https://s3.example.com or http://127.0.0.1:9000.';
	END IF;
	IF endpoint ~ '^http://' AND NOT coalesce(current_setting('btexport.allow_http', true), 'off')::boolean THEN
		RAISE EXCEPTION 'plain http endpoint "%" is not allowed', btexport._excerpt(endpoint)
			USING ERRCODE = '22023', DETAIL = 'btexport sends credentials and data only over HTTPS.',
				  HINT = 'Use an https:// endpoint.  For local testing a superuser can set btexport.allow_http = on.';
	END IF;
	IF NOT btexport._invoker_is_superuser() THEN
		allowed := regexp_split_to_array(coalesce(current_setting('btexport.allowed_endpoints', true), ''), '\s*,\s*');
		IF NOT (endpoint = ANY (SELECT rtrim(a, '/') FROM unnest(allowed) a WHERE a <> '')) THEN
			RAISE EXCEPTION 'endpoint "%" is not in btexport.allowed_endpoints', btexport._excerpt(endpoint)
				USING ERRCODE = '42501',
					  HINT = 'Ask a superuser to add it to btexport.allowed_endpoints, or leave endpoint out to use AWS.';
		END IF;
	END IF;
	RETURN endpoint;
END
$$;

-- export type: canonical name (accepts Braintrust's REST spellings too)
CREATE OR REPLACE FUNCTION btexport._check_export_type(export_type text, query text)
RETURNS text LANGUAGE plpgsql IMMUTABLE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	t text := lower(btrim(coalesce(export_type, 'logs_spans')));
BEGIN
	t := CASE t
		WHEN 'logs_traces' THEN 'logs_traces' WHEN 'log_traces' THEN 'logs_traces' WHEN 'traces' THEN 'logs_traces'
		WHEN 'logs_spans' THEN 'logs_spans' WHEN 'log_spans' THEN 'logs_spans' WHEN 'spans' THEN 'logs_spans'
		WHEN 'btql' THEN 'btql' WHEN 'btql_query' THEN 'btql' WHEN 'sql' THEN 'btql'
		ELSE NULL END;
	IF t IS NULL THEN
		RAISE EXCEPTION 'unknown export type "%"', btexport._excerpt(export_type)
			USING ERRCODE = '22023', HINT = 'Use logs_traces, logs_spans or btql (with query => ''...'').';
	END IF;
	IF t = 'btql' AND (query IS NULL OR btrim(query) = '') THEN
		RAISE EXCEPTION 'export type btql needs a query'
			USING ERRCODE = '22023', HINT = 'Pass query => ''select: * | from: project_logs(''''<project>'''') | filter: ...''.';
	END IF;
	IF t <> 'btql' AND query IS NOT NULL THEN
		RAISE EXCEPTION 'a query is only used with export type btql'
			USING ERRCODE = '22023', HINT = 'Pass export_type => ''btql'' with the query, or leave query out.';
	END IF;
	RETURN t;
END
$$;

CREATE OR REPLACE FUNCTION btexport._check_format(format text)
RETURNS text LANGUAGE plpgsql IMMUTABLE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	f text := lower(btrim(coalesce(format, 'jsonl')));
BEGIN
	f := CASE f WHEN 'jsonl' THEN 'jsonl' WHEN 'json_lines' THEN 'jsonl' WHEN 'json lines' THEN 'jsonl'
				WHEN 'ndjson' THEN 'jsonl' WHEN 'parquet' THEN 'parquet' WHEN 'iceberg' THEN 'iceberg' ELSE NULL END;
	IF f IS NULL THEN
		RAISE EXCEPTION 'unknown format "%"', btexport._excerpt(format)
			USING ERRCODE = '22023', HINT = 'Use jsonl (JSON Lines), parquet, or iceberg (an Apache Iceberg table at s3_path).';
	END IF;
	RETURN f;
END
$$;

CREATE OR REPLACE FUNCTION btexport._check_batch_size(batch_size integer)
RETURNS integer LANGUAGE plpgsql IMMUTABLE SET search_path = pg_catalog, pg_temp AS $$
BEGIN
	IF batch_size IS NULL THEN
		RETURN 1000;
	END IF;
	IF batch_size <= 0 THEN
		RAISE EXCEPTION 'batch_size must be greater than zero'
			USING ERRCODE = '22023', DETAIL = format('batch_size was %s.', batch_size),
				  HINT = 'Leave it out for the default of 1000 rows per batch.';
	END IF;
	RETURN batch_size;
END
$$;

-- interval -> cron schedule: hourly | daily | weekly | a cron expression | '15 minutes'
CREATE OR REPLACE FUNCTION btexport._schedule_for(intv text)
RETURNS text LANGUAGE plpgsql IMMUTABLE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	t text := lower(btrim(intv));
	iv interval;
	mins numeric;
	field text := '(\*|[0-9]{1,2}(-[0-9]{1,2})?)(/[0-9]{1,2})?(,(\*|[0-9]{1,2}(-[0-9]{1,2})?)(/[0-9]{1,2})?)*';
BEGIN
	IF intv IS NULL THEN
		RETURN NULL;
	END IF;
	CASE t
		WHEN 'hourly' THEN RETURN '0 * * * *';
		WHEN 'daily' THEN RETURN '0 0 * * *';
		WHEN 'weekly' THEN RETURN '0 0 * * 0';
		ELSE NULL;
	END CASE;
	IF t ~ ('^' || field || ' ' || field || ' ' || field || ' ' || field || ' ' || field || '$') THEN
		RETURN t;
	END IF;
	BEGIN
		iv := t::interval;
	EXCEPTION WHEN others THEN
		iv := NULL;
	END;
	IF iv IS NOT NULL THEN
		mins := extract(epoch FROM iv) / 60;
		IF mins = 1 THEN RETURN '* * * * *';
		ELSIF mins >= 1 AND mins < 60 AND mins = trunc(mins) AND 60 % mins::int = 0 THEN
			RETURN '*/' || mins::int || ' * * * *';
		ELSIF mins = 60 THEN RETURN '0 * * * *';
		ELSIF mins > 60 AND mins < 1440 AND mins % 60 = 0 AND 24 % (mins / 60)::int = 0 THEN
			RETURN '0 */' || (mins / 60)::int || ' * * *';
		ELSIF mins = 1440 THEN RETURN '0 0 * * *';
		ELSIF mins = 10080 THEN RETURN '0 0 * * 0';
		ELSIF mins >= 1 AND mins <= 43200 THEN
			-- any other period up to 30 days: the job ticks every minute and a run starts once
			-- the period has passed since the last scheduled start (btexport._period_for)
			RETURN '* * * * *';
		END IF;
	END IF;
	RAISE EXCEPTION 'invalid interval "%"', btexport._excerpt(intv)
		USING ERRCODE = '22023',
			  DETAIL = 'The interval must be hourly, daily, weekly, a five-field cron expression, or a period between 1 minute and 30 days (pg_cron starts jobs at whole minutes).',
			  HINT = 'Use e.g. ''hourly'', ''*/10 * * * *'', ''15 minutes'' or ''36 hours''.';
END
$$;

-- the start-to-start period of an interval that cron cannot express exactly (NULL otherwise):
-- its pg_cron job ticks every minute and btexport.run(id, trigger => 'schedule') starts a run
-- only when the period has passed since the last scheduled start
CREATE OR REPLACE FUNCTION btexport._period_for(intv text)
RETURNS interval LANGUAGE plpgsql IMMUTABLE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	s text := btexport._schedule_for(intv);
	iv interval;
BEGIN
	IF s IS DISTINCT FROM '* * * * *' OR lower(btrim(intv)) ~ '^[*]' THEN
		RETURN NULL;
	END IF;
	iv := lower(btrim(intv))::interval;
	IF extract(epoch FROM iv) = 60 THEN
		RETURN NULL;			-- every minute is exactly what cron does
	END IF;
	RETURN iv;
END
$$;

-- when the next scheduled run of a period automation is due: the period after the last
-- scheduled start, 30 seconds early at most (pg_cron ticks at whole minutes); NULL when it
-- has no period or no scheduled run yet (due at once).  btexport.run and btexport.status use it.
CREATE OR REPLACE FUNCTION btexport._period_due_at(automation_id bigint, period interval)
RETURNS timestamptz LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $$
	SELECT max(r.queued_at) OPERATOR(pg_catalog.+) period OPERATOR(pg_catalog.-) interval '30 seconds'
	  FROM btexport.runs r
	 WHERE r.automation_id OPERATOR(pg_catalog.=) _period_due_at.automation_id AND r.trigger OPERATOR(pg_catalog.=) 'schedule'
$$;

-- no two automations may write into overlapping prefixes of the same bucket
CREATE OR REPLACE FUNCTION btexport._check_overlap(bucket text, prefix text, endpoint text, exclude_id bigint)
RETURNS void LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	other text;
BEGIN
	-- another role's automation is not named: its name is not the caller's to see
	SELECT CASE WHEN pg_catalog.pg_has_role(btexport._invoker(), a.owner::oid, 'USAGE') THEN format('automation "%s"', a.name)
				ELSE 'an automation of another role' END INTO other
	  FROM btexport.automations a
	 WHERE a.bucket = _check_overlap.bucket
	   AND a.endpoint IS NOT DISTINCT FROM _check_overlap.endpoint
	   AND (starts_with(a.prefix, _check_overlap.prefix) OR starts_with(_check_overlap.prefix, a.prefix))
	   AND a.id IS DISTINCT FROM exclude_id
	 LIMIT 1;
	IF other IS NOT NULL THEN
		RAISE EXCEPTION 's3 path s3://%/% overlaps the path of %', bucket, prefix, other
			USING ERRCODE = '42710',
				  DETAIL = 'Two automations writing under one prefix would mix their files and their loaders'' inputs.',
				  HINT = 'Give each automation its own prefix that is neither inside nor above another automation''s, such as s3://' || bucket || '/exports/<automation-name>/.';
	END IF;
END
$$;
