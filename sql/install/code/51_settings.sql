-- ---------------------------------------------------------------------------
-- Automation settings: one definition each.
--
-- btexport._settings() lists every setting an automation has: its name and
-- argument type, its default in create_automation and test(...) (in this
-- order), and its place in update_automation (NULL: not updatable; every
-- update argument defaults to NULL, "unchanged").  The three public functions
-- are generated from this list at the end of this file, and pass their
-- arguments on as one jsonb object to btexport._build_automation, which
-- validates each setting and returns the automations row.
--
-- update_automation has a text form (the automation's name) and a bigint form
-- (its id), like every function that takes an automation (50_api.sql).
--
-- Adding a setting: a column of btexport.automations (sql/install/schema and
-- sql/upgrade), a row here, its check in _build_automation, its line in the
-- column table of src/adapters/automation.c, and its docs.  sql/settings.sql
-- fails when one of them is missing.
-- ---------------------------------------------------------------------------

CREATE OR REPLACE FUNCTION btexport._settings()
RETURNS TABLE (setting text, type text, create_default text, update_position integer)
LANGUAGE sql IMMUTABLE SET search_path = pg_catalog, pg_temp AS $$
	-- create_default: an SQL expression, NULL when the argument is required
	VALUES
		('name',						'text',			NULL,				1),
		('project',						'text',			NULL,				NULL),
		('s3_path',						'text',			NULL,				5),
		('export_type',					'text',			'''logs_spans''',	3),
		('query',						'text',			'NULL',				4),
		('format',						'text',			'''jsonl''',		10),
		('interval',					'text',			'NULL',				11),
		('role_arn',					'text',			'NULL',				6),
		('external_id',					'text',			'NULL',				7),
		('region',						'text',			'NULL',				8),
		('endpoint',					'text',			'NULL',				9),
		('batch_size',					'integer',		'1000',				12),
		('description',					'text',			'NULL',				2),
		('event_type',					'text',			'''btql_export''',	NULL),
		('credential',					'text',			'NULL',				13),
		('compression',					'text',			'NULL',				14),
		('sse',							'text',			'NULL',				15),
		('kms_key_id',					'text',			'NULL',				16),
		('bucket_owner_full_control',	'boolean',		'false',			17),
		('part_size',					'text',			'NULL',				18),
		('target_file_size',			'text',			'NULL',				19),
		('max_rows_per_run',			'bigint',		'100000',			20),
		('trace_idle',					'interval',		'''30 seconds''',	21),
		('start_from',					'timestamptz',	'NULL',				NULL),
		('max_failures',				'integer',		'5',				22),
		('layout',						'text',			'''date''',			23),
		-- the source: a Braintrust connection (project is then Braintrust's project, by name or id)
		('connection',					'text',			'NULL',				NULL),
		('requests_per_minute',			'integer',		'NULL',				24),
		-- Iceberg tables (docs/iceberg.md)
		('partitioning',				'text',			'NULL',				25),
		-- the codec's level (NULL or 0: the codec's default)
		('compression_level',			'integer',		'NULL',				26)
$$;
REVOKE ALL ON FUNCTION btexport._settings() FROM PUBLIC;

-- Validate a full configuration (settings as a jsonb object, keyed as in _settings()) and return
-- it as an automations row (id NULL), owned by the caller, or by the role whose oid is under the
-- key 'owner' (update_automation: the automation's own owner; never a user's input).  Used by
-- create_automation, update_automation and test().
CREATE OR REPLACE FUNCTION btexport._build_automation(s jsonb)
RETURNS btexport.automations LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	a btexport.automations;
	p record;
	cred btexport.credentials;
	conn btexport.connections;
	pname text;
	name text := s->>'name';
	project text := s->>'project';
	credential text := s->>'credential';
	start_from timestamptz := (s->>'start_from')::timestamptz;
BEGIN
	IF name IS NULL OR btrim(name) = '' THEN
		RAISE EXCEPTION 'automation name must be given'
			USING ERRCODE = '22004', HINT = 'Pass a descriptive name, e.g. name => ''Daily export to S3''.';
	END IF;
	IF length(name) > 200 THEN
		RAISE EXCEPTION 'automation name is too long'
			USING ERRCODE = '22023', DETAIL = format('The name has %s characters; at most 200 are allowed.', length(name)),
				  HINT = 'Choose a shorter name.';
	END IF;
	IF coalesce(s->>'event_type', 'btql_export') <> 'btql_export' THEN
		RAISE EXCEPTION 'unknown event type "%"', btexport._excerpt(s->>'event_type')
			USING ERRCODE = '22023', HINT = 'S3 export automations use event type btql_export.';
	END IF;
	a.name := name;
	a.description := s->>'description';
	a.owner := coalesce((s->>'owner')::oid::regrole, btexport._invoker());
	IF s->>'connection' IS NOT NULL THEN
		-- the source is a Braintrust connection of the owner's; the project is Braintrust's
		-- (names are per owner: the connection is (connection_owner, connection))
		conn := btexport._connection_for(a.owner::oid, s->>'connection');
		a.connection := conn.name;
		a.connection_owner := conn.owner;
		a.remote_project := btexport._check_remote_project(project);
		a.requests_per_minute := btexport._check_requests_per_minute((s->>'requests_per_minute')::integer);
		IF start_from IS NOT NULL THEN
			RAISE EXCEPTION 'start_from is not supported for an automation whose source is a Braintrust connection'
				USING ERRCODE = '0A000',
					  DETAIL = 'Braintrust''s transaction ids cannot be derived from a time: the first run exports the project from its beginning.',
					  HINT = 'Leave start_from out, or use a filter on created in a btql export.';
		END IF;
	ELSE
		IF s->>'requests_per_minute' IS NOT NULL THEN
			RAISE EXCEPTION 'requests_per_minute is only used with a Braintrust connection'
				USING ERRCODE = '22023', HINT = 'Leave it out, or pass connection => ''<name>''.';
		END IF;
		IF s ? 'owner' AND btexport._is_uuid(project) THEN
			a.project_id := project::uuid;		-- update_automation: the automation's own project
		ELSE
			a.project_id := btexport._resolve_project(project);
		END IF;
		-- an automation exports only a project its owner may export (docs/security.md "Projects")
		IF NOT btexport._may_project(a.owner::oid, a.project_id, 'export') THEN
			SELECT x.name INTO pname FROM btexport.projects x WHERE x.id = a.project_id;
			RAISE EXCEPTION 'role % may not export project "%"', a.owner, btexport._excerpt(pname)
				USING ERRCODE = '42501', DETAIL = 'An automation exports only projects its owner holds the export privilege on.',
					  HINT = format('The project''s owner can grant it: SELECT btexport.grant_project(%L, %L, ''export'').', pname, a.owner);
		END IF;
	END IF;
	a.event_type := 'btql_export';
	a.export_type := btexport._check_export_type(s->>'export_type', s->>'query');
	a.query := CASE WHEN a.export_type = 'btql' THEN s->>'query' END;
	p := btexport._parse_s3_path(s->>'s3_path');
	a.s3_path := 's3://' || p.bucket || '/' || p.prefix;
	a.bucket := p.bucket;
	a.prefix := p.prefix;
	PERFORM btexport._check_role(s->>'role_arn', s->>'external_id');
	a.role_arn := s->>'role_arn';
	a.external_id := s->>'external_id';
	a.region := btexport._check_region(s->>'region');
	a.endpoint := btexport._check_endpoint(s->>'endpoint');
	a.format := btexport._check_format(s->>'format');
	a."interval" := s->>'interval';
	a.schedule := btexport._schedule_for(s->>'interval');
	a.period := btexport._period_for(s->>'interval');
	a.batch_size := btexport._check_batch_size((s->>'batch_size')::integer);
	a.compression := btexport._check_compression(a.format, s->>'compression');
	a.compression_level := btexport._check_compression_level(a.compression, (s->>'compression_level')::integer);
	a.sse := btexport._check_sse(s->>'sse', s->>'kms_key_id');
	a.kms_key_id := s->>'kms_key_id';
	a.bucket_owner_full_control := coalesce((s->>'bucket_owner_full_control')::boolean, false);
	a.part_size := btexport._check_size('part_size', s->>'part_size', 5242880, 5368709120);
	a.target_file_size := btexport._check_size('target_file_size', s->>'target_file_size', 1048576, 5497558138880);
	a.max_rows_per_run := btexport._check_positive('max_rows_per_run', (s->>'max_rows_per_run')::bigint, 100000);
	a.trace_idle := btexport._check_trace_idle((s->>'trace_idle')::interval);
	a.start_from := start_from;
	a.max_failures := btexport._check_positive('max_failures', (s->>'max_failures')::integer, 5);
	a.layout := btexport._check_layout(s->>'layout');
	a.partitioning := btexport._check_table_format(a.format, s->>'partitioning', a.export_type, a.layout);
	IF credential IS NOT NULL THEN
		-- names are per owner: the credential is (credential_owner, credential)
		cred := btexport._credential_for(a.owner::oid, credential);
		a.credential := cred.name;
		a.credential_owner := cred.owner;
	END IF;
	IF a.export_type = 'btql' AND a.connection IS NOT NULL THEN
		PERFORM btexport._check_remote_query(a.query, a.remote_project);
	ELSIF a.export_type = 'btql' THEN
		PERFORM btexport._check_query(a.query, a.project_id);
	END IF;
	a.status := 'active';
	a.cursor := CASE WHEN a.connection IS NULL THEN btexport._cursor_since(a.project_id, start_from) ELSE '0' END;
	a.cursor_cluster := btexport._cluster_id();		-- the cursor counts this database's xids
	a.created := now();
	a.updated := now();
	RETURN a;
END
$$;
REVOKE ALL ON FUNCTION btexport._build_automation(jsonb) FROM PUBLIC;

-- the settings of a saved automation (_build_automation's input): its columns, by setting name;
-- the credential by its owner too ('<owner>/<name>'), so that it stays the same one
CREATE OR REPLACE FUNCTION btexport._settings_of(a btexport.automations)
RETURNS jsonb LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $$
	SELECT pg_catalog.jsonb_object_agg(s.setting, CASE s.setting
			WHEN 'project' THEN pg_catalog.to_jsonb(COALESCE(a.project_id::text, a.remote_project))
			-- the connection and the credential with their owners: the same ones whoever updates
			WHEN 'connection' THEN pg_catalog.to_jsonb(a.connection_owner::text OPERATOR(pg_catalog.||) '/'
													   OPERATOR(pg_catalog.||) a.connection)
			WHEN 'credential' THEN pg_catalog.to_jsonb(a.credential_owner::text OPERATOR(pg_catalog.||) '/'
													   OPERATOR(pg_catalog.||) a.credential)
			ELSE pg_catalog.to_jsonb(a) OPERATOR(pg_catalog.->) s.setting END)
	  FROM btexport._settings() s
$$;
REVOKE ALL ON FUNCTION btexport._settings_of(btexport.automations) FROM PUBLIC;

-- the columns of btexport.automations that update_automation writes: all but identity, owner,
-- destination and run state
CREATE OR REPLACE FUNCTION btexport._updatable_columns()
RETURNS text[] LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $$
	SELECT pg_catalog.array_agg(a.attname::text ORDER BY a.attnum)
	  FROM pg_catalog.pg_attribute a
	 WHERE a.attrelid OPERATOR(pg_catalog.=) 'btexport.automations'::pg_catalog.regclass
	   AND a.attnum OPERATOR(pg_catalog.>) 0 AND NOT a.attisdropped
	   AND a.attname OPERATOR(pg_catalog.<>) ALL (ARRAY['id', 'owner', 'project_id', 'event_type', 's3_path', 'bucket',
			'prefix', 'status', 'paused_reason', 'cron_jobid', 'cursor', 'start_from', 'created',
			'connection', 'connection_owner', 'remote_project', 'remote_project_id', 'source_position', 'cursor_cluster']::pg_catalog.name[])
$$;
REVOKE ALL ON FUNCTION btexport._updatable_columns() FROM PUBLIC;

-- layout hive_date is btexport 1.0's hive layout (date=YYYY-MM-DD/hour=HH/), kept by the
-- automations created with 1.0 (the upgrade renames their layout); new automations, and
-- automations changing their layout, get hive (dt=YYYY-MM-DD/hour=HH/)
CREATE OR REPLACE FUNCTION btexport._refuse_hive_date(layout text)
RETURNS void LANGUAGE plpgsql IMMUTABLE SET search_path = pg_catalog, pg_temp AS $$
BEGIN
	IF lower(btrim(layout)) = 'hive_date' THEN
		RAISE EXCEPTION 'layout hive_date is kept only by automations created with btexport 1.0'
			USING ERRCODE = '22023',
				  DETAIL = 'Its day partition is named date, a reserved word in Athena DDL.',
				  HINT = 'Use layout => ''hive'' (partitions dt=YYYY-MM-DD/hour=HH/).';
	END IF;
END
$$;
REVOKE ALL ON FUNCTION btexport._refuse_hive_date(text) FROM PUBLIC;

-- format, compression and layout are fixed for a prefix once it holds files, like the path: a
-- loader's file format, pattern and partitions over the prefix depend on them.  Refuses (55000)
-- when `a` (the validated new settings) changes one of them on automation `cur` after its first
-- committed file.
CREATE OR REPLACE FUNCTION btexport._check_file_settings_fixed(cur btexport.automations, a btexport.automations)
RETURNS void LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	changed text[];
BEGIN
	changed := array_remove(ARRAY[
		CASE WHEN a.format IS DISTINCT FROM cur.format THEN 'format' END,
		CASE WHEN a.compression IS DISTINCT FROM btexport._check_compression(cur.format, cur.compression)
			 THEN 'compression' END,
		CASE WHEN a.layout IS DISTINCT FROM cur.layout THEN 'layout' END], NULL);
	IF cardinality(changed) > 0
	   AND EXISTS (SELECT 1 FROM btexport.run_files f WHERE f.automation_id = cur.id AND f.committed) THEN
		RAISE EXCEPTION 'the % of automation "%" cannot be changed', array_to_string(changed, ' and '), cur.name
			USING ERRCODE = '55000',
				  DETAIL = format('%s already holds its files: format %s, compression %s, layout %s; loaders over the prefix (file format, pattern, partitions) depend on them.',
								  cur.s3_path, cur.format, btexport._check_compression(cur.format, cur.compression), cur.layout),
				  HINT = 'Create a new automation on a new prefix with the new settings (start_from picks where it begins), and pause or drop this one.';
	END IF;
END
$$;
REVOKE ALL ON FUNCTION btexport._check_file_settings_fixed(btexport.automations, btexport.automations) FROM PUBLIC;

-- create_automation's work: validate, refuse duplicates and overlapping paths, insert, schedule
CREATE OR REPLACE FUNCTION btexport._create_automation(s jsonb)
RETURNS btexport.automations LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	a btexport.automations;
	cols text;
BEGIN
	PERFORM btexport._check_automation_name(s->>'name');
	PERFORM btexport._refuse_hive_date(s->>'layout');
	a := btexport._build_automation(s);
	IF EXISTS (SELECT 1 FROM btexport.automations x WHERE x.name = a.name) THEN
		RAISE EXCEPTION 'automation "%" already exists', a.name
			USING ERRCODE = '42710', HINT = 'Choose another name, or change the existing one with btexport.update_automation.';
	END IF;
	PERFORM btexport._check_overlap(a.bucket, a.prefix, a.endpoint, NULL);
	-- every column the row sets (the identity and the columns left NULL take their defaults)
	SELECT string_agg(quote_ident(k), ', ') INTO cols
	  FROM jsonb_object_keys(jsonb_strip_nulls(to_jsonb(a))) k WHERE k <> 'id';
	-- the row's fields come from one evaluation of $1 (OFFSET 0 keeps it in its subquery): ($1).*
	-- would take each field from the parameter afresh, a copy of the whole row per column
	EXECUTE format('INSERT INTO btexport.automations (%1$s) SELECT %1$s FROM (SELECT (x.r).* FROM (SELECT $1 AS r OFFSET 0) x) n'
				   ' RETURNING *', cols)
		INTO a USING a;
	a.cron_jobid := btexport._sync_schedule(a);
	UPDATE btexport.automations x SET cron_jobid = a.cron_jobid WHERE x.id = a.id;
	RETURN a;
END
$$;
REVOKE ALL ON FUNCTION btexport._create_automation(jsonb) FROM PUBLIC;

-- update_automation's work on automation `cur` (the caller's, by name or id): the saved settings
-- with the given ones (changes: no NULLs) applied, for the automation's owner.  The S3 path is
-- immutable, and so are the format, compression and layout once the automation has exported a
-- file; changing the format resets the compression to the new format's default.
CREATE OR REPLACE FUNCTION btexport._update_automation(cur btexport.automations, changes jsonb)
RETURNS btexport.automations LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	a btexport.automations;
	new_type text := coalesce(changes->>'export_type', cur.export_type);
	new_query text;
	p record;
	cols text;
	-- a new format starts from its default codec and partitioning, a new codec from its default level
	new_format boolean := changes ? 'format' AND changes->>'format' IS DISTINCT FROM cur.format;
	new_codec boolean;
BEGIN
	IF changes ? 's3_path' THEN
		p := btexport._parse_s3_path(changes->>'s3_path');
		IF p.bucket <> cur.bucket OR p.prefix <> cur.prefix THEN
			RAISE EXCEPTION 'the S3 path of automation "%" cannot be changed', cur.name
				USING ERRCODE = '55000',
					  DETAIL = format('The automation writes to %s; loaders and the export cursor depend on it.', cur.s3_path),
					  HINT = 'Create a new automation for the new path (and pause or drop this one).';
		END IF;
	END IF;
	IF changes ? 'name' AND changes->>'name' <> cur.name THEN
		PERFORM btexport._check_automation_name(changes->>'name');
	END IF;
	IF changes ? 'layout' AND cur.layout <> 'hive_date' THEN
		PERFORM btexport._refuse_hive_date(changes->>'layout');
	END IF;
	new_query := CASE WHEN lower(new_type) IN ('btql', 'btql_query', 'sql') THEN coalesce(changes->>'query', cur.query) END;
	IF changes ? 'query' AND new_query IS NULL THEN
		new_query := changes->>'query';		-- let the check report a query on a non-btql export
	END IF;
	new_codec := new_format OR (changes ? 'compression'
		AND btexport._check_compression(coalesce(changes->>'format', cur.format), changes->>'compression')
			IS DISTINCT FROM btexport._check_compression(cur.format, cur.compression));
	a := btexport._build_automation(btexport._settings_of(cur) || (changes - 's3_path')
		|| jsonb_build_object('owner', cur.owner::oid, 'export_type', new_type, 'query', new_query,
			'compression', CASE WHEN new_format THEN changes->'compression'
								ELSE coalesce(changes->'compression', to_jsonb(cur.compression)) END,
			'compression_level', CASE WHEN new_codec THEN changes->'compression_level'
									  ELSE coalesce(changes->'compression_level', to_jsonb(cur.compression_level)) END,
			'partitioning', CASE WHEN new_format THEN changes->'partitioning'
								 ELSE coalesce(changes->'partitioning', to_jsonb(cur.partitioning)) END));
	-- an Iceberg table's format, partitioning and export type (its own message), then every
	-- prefix's format, compression and layout
	PERFORM btexport._check_table_immutable(cur, a);
	PERFORM btexport._check_file_settings_fixed(cur, a);
	IF a.name <> cur.name AND EXISTS (SELECT 1 FROM btexport.automations x WHERE x.name = a.name) THEN
		RAISE EXCEPTION 'automation "%" already exists', a.name
			USING ERRCODE = '42710', HINT = 'Choose another name.';
	END IF;
	IF a.endpoint IS DISTINCT FROM cur.endpoint THEN
		PERFORM btexport._check_overlap(a.bucket, a.prefix, a.endpoint, cur.id);
	END IF;
	SELECT string_agg(quote_ident(c), ', ') INTO cols FROM unnest(btexport._updatable_columns()) c;
	-- (one evaluation of $1, as in _create_automation)
	EXECUTE format('UPDATE btexport.automations x SET (%1$s) = (SELECT %1$s FROM (SELECT (y.r).* FROM'
				   ' (SELECT $1 AS r OFFSET 0) y) n) WHERE x.id = $2 RETURNING *',
				   cols) INTO a USING a, cur.id;
	a.cron_jobid := btexport._sync_schedule(a);
	UPDATE btexport.automations x SET cron_jobid = a.cron_jobid WHERE x.id = a.id;
	RETURN a;
END
$$;
REVOKE ALL ON FUNCTION btexport._update_automation(btexport.automations, jsonb) FROM PUBLIC;

-- test(...)'s work: validate and test without saving
CREATE OR REPLACE FUNCTION btexport._test_settings(s jsonb)
RETURNS TABLE (step text, ok boolean, detail text, hint text)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	a btexport.automations := btexport._build_automation(s);
BEGIN
	a.id := 0;
	RETURN QUERY SELECT * FROM btexport._test(a);
END
$$;
REVOKE ALL ON FUNCTION btexport._test_settings(jsonb) FROM PUBLIC;

-- the runner's column table (src/adapters/automation.c), for sql/settings.sql
CREATE OR REPLACE FUNCTION btexport._automation_columns()
RETURNS TABLE (column_name text, type regtype, decoded boolean)
LANGUAGE c IMMUTABLE AS 'MODULE_PATHNAME', 'btexport_automation_columns';

-- The public functions, generated from btexport._settings(): each passes its arguments on as
-- jsonb (update_automation only those given).  Only the list's names and types go into the
-- generated text, never user input.
DO $gen$
DECLARE
	create_args text;		-- "name text, project text, ... layout text DEFAULT 'date'"
	create_json text;		-- "'name', name, 'project', project, ..."
	create_types text;		-- "text, text, ..."
	update_args text;
	update_json text;
	update_types text;
	form text;				-- "automation text" | "automation_id bigint"
BEGIN
	SELECT string_agg(format('%I %s%s', setting, type, ' DEFAULT ' || create_default), ', ' ORDER BY n),
		   string_agg(format('%L, %I', setting, setting), ', ' ORDER BY n),
		   string_agg(type, ', ' ORDER BY n)
	  INTO create_args, create_json, create_types
	  FROM btexport._settings() WITH ORDINALITY s(setting, type, create_default, update_position, n);
	SELECT string_agg(format('%I %s DEFAULT NULL', setting, type), ', ' ORDER BY update_position),
		   string_agg(format('%L, %I', setting, setting), ', ' ORDER BY update_position),
		   string_agg(type, ', ' ORDER BY update_position)
	  INTO update_args, update_json, update_types
	  FROM btexport._settings() WHERE update_position IS NOT NULL;

	EXECUTE format($f$
CREATE OR REPLACE FUNCTION btexport.create_automation(%s)
RETURNS btexport.automations LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $b$
BEGIN
	RETURN btexport._create_automation(jsonb_build_object(%s));
END
$b$$f$, create_args, create_json);
	EXECUTE format('COMMENT ON FUNCTION btexport.create_automation(%s) IS %L', create_types,
				   'create an S3 export automation (validated; scheduled through pg_cron when interval is given)');
	EXECUTE format('GRANT EXECUTE ON FUNCTION btexport.create_automation(%s) TO btexport_user', create_types);

	-- change settings; NULL leaves a setting as it is.  The automation by name (text) or by id (bigint).
	FOREACH form IN ARRAY ARRAY['automation text', 'automation_id bigint'] LOOP
		EXECUTE format($f$
CREATE OR REPLACE FUNCTION btexport.update_automation(%s, %s)
RETURNS btexport.automations LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $b$
BEGIN
	RETURN btexport._update_automation(btexport._automation_for_caller(%I),
									   jsonb_strip_nulls(jsonb_build_object(%s)));
END
$b$$f$, form, update_args, split_part(form, ' ', 1), update_json);
		EXECUTE format('GRANT EXECUTE ON FUNCTION btexport.update_automation(%s, %s) TO btexport_user',
					   split_part(form, ' ', 2), update_types);
	END LOOP;

	-- test a configuration before saving it (the create_automation arguments)
	EXECUTE format($f$
CREATE OR REPLACE FUNCTION btexport.test(%s)
RETURNS TABLE (step text, ok boolean, detail text, hint text)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $b$
BEGIN
	RETURN QUERY SELECT * FROM btexport._test_settings(jsonb_build_object(%s));
END
$b$$f$, create_args, create_json);
	EXECUTE format('GRANT EXECUTE ON FUNCTION btexport.test(%s) TO btexport_user', create_types);
END
$gen$;
