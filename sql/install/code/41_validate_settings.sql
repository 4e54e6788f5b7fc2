-- ---------------------------------------------------------------------------
-- Validation of the advanced settings (compression, encryption, sizes, backlog).
-- ---------------------------------------------------------------------------

-- compression: JSON Lines none|gzip|zstd (default none); Parquet snappy|zstd|gzip|none (default snappy)
CREATE OR REPLACE FUNCTION btexport._check_compression(format text, compression text)
RETURNS text LANGUAGE plpgsql IMMUTABLE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	c text := lower(btrim(compression));
BEGIN
	IF compression IS NULL THEN
		RETURN CASE WHEN format IN ('parquet', 'iceberg') THEN 'snappy' ELSE 'none' END;
	END IF;
	IF c = 'gz' THEN c := 'gzip'; ELSIF c IN ('zst', 'zstandard') THEN c := 'zstd'; ELSIF c = 'uncompressed' THEN c := 'none'; END IF;
	IF format = 'jsonl' AND c NOT IN ('none', 'gzip', 'zstd') THEN
		RAISE EXCEPTION 'unknown compression "%" for JSON Lines', btexport._excerpt(compression)
			USING ERRCODE = '22023', HINT = 'Use none, gzip (.jsonl.gz) or zstd (.jsonl.zst).';
	END IF;
	IF format IN ('parquet', 'iceberg') AND c NOT IN ('none', 'gzip', 'zstd', 'snappy') THEN
		RAISE EXCEPTION 'unknown compression "%" for Parquet', btexport._excerpt(compression)
			USING ERRCODE = '22023', HINT = 'Use snappy (the default), zstd, gzip or none.';
	END IF;
	RETURN c;
END
$$;

-- The codec's level for `compression` (already checked): NULL or 0 is the codec's default
-- (stored as NULL); gzip takes 1-9, zstd 1-19 (20-22 need windows of up to 128 MB per
-- writer); snappy and none have no level.
CREATE OR REPLACE FUNCTION btexport._check_compression_level(compression text, level integer)
RETURNS integer LANGUAGE plpgsql IMMUTABLE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	top integer;		-- the codec's highest level
BEGIN
	IF level IS NULL OR level = 0 THEN
		RETURN NULL;
	END IF;
	IF compression NOT IN ('gzip', 'zstd') THEN
		RAISE EXCEPTION 'compression % has no level', compression
			USING ERRCODE = '22023',
				  DETAIL = format('compression_level %s was given with compression %s.', level, compression),
				  HINT = 'Leave compression_level out, or use compression gzip (levels 1 to 9) or zstd (1 to 19).';
	END IF;
	top := CASE compression WHEN 'gzip' THEN 9 ELSE 19 END;
	IF level NOT BETWEEN 1 AND top THEN
		RAISE EXCEPTION '% compression level must be between 1 and %', compression, top
			USING ERRCODE = '22023', DETAIL = format('compression_level is %s.', level),
				  HINT = format('Use 1 (fastest) to %s (smallest files), or 0 for the default.', top);
	END IF;
	RETURN level;
END
$$;

CREATE OR REPLACE FUNCTION btexport._check_sse(sse text, kms_key_id text)
RETURNS text LANGUAGE plpgsql IMMUTABLE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	v text := btrim(sse);
BEGIN
	IF sse IS NULL OR lower(v) IN ('', 'none') THEN
		v := NULL;
	ELSIF upper(v) IN ('AES256', 'SSE-S3') THEN
		v := 'AES256';
	ELSIF lower(v) IN ('aws:kms', 'kms', 'sse-kms') THEN
		v := 'aws:kms';
	ELSE
		RAISE EXCEPTION 'unknown server-side encryption "%"', btexport._excerpt(sse)
			USING ERRCODE = '22023', HINT = 'Use AES256 (SSE-S3) or aws:kms (SSE-KMS, optionally with kms_key_id).';
	END IF;
	IF kms_key_id IS NOT NULL AND v IS DISTINCT FROM 'aws:kms' THEN
		RAISE EXCEPTION 'kms_key_id requires sse => ''aws:kms'''
			USING ERRCODE = '22023', HINT = 'Pass sse => ''aws:kms'' with the key, or leave kms_key_id out.';
	END IF;
	IF kms_key_id IS NOT NULL AND kms_key_id !~ '^[A-Za-z0-9:/_-]+$' THEN
		RAISE EXCEPTION 'invalid KMS key id "%"', btexport._excerpt(kms_key_id)
			USING ERRCODE = '22023', HINT = 'Use the key id, key ARN, or alias (alias/name) of the KMS key.';
	END IF;
	RETURN v;
END
$$;

-- a size such as '16MB' -> bytes, within [lo, hi]
CREATE OR REPLACE FUNCTION btexport._check_size(what text, size text, lo bigint, hi bigint)
RETURNS bigint LANGUAGE plpgsql IMMUTABLE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	b bigint;
BEGIN
	IF size IS NULL THEN
		RETURN NULL;
	END IF;
	BEGIN
		b := pg_size_bytes(size);
	EXCEPTION WHEN others THEN
		RAISE EXCEPTION 'invalid % "%"', btexport._excerpt(what), btexport._excerpt(size)
			USING ERRCODE = '22023', HINT = 'Use a size such as ''16MB'' or ''128MB''.';
	END;
	IF b < lo OR b > hi THEN
		RAISE EXCEPTION '% must be between % and %', what,
			CASE lo WHEN 5242880 THEN '5MB' WHEN 1048576 THEN '1MB' ELSE lo::text || ' bytes' END,
			CASE hi WHEN 5368709120 THEN '5GB' WHEN 5497558138880 THEN '5TB' ELSE hi::text || ' bytes' END
			USING ERRCODE = '22023', DETAIL = format('%s was %s.', what, size),
				  HINT = CASE WHEN what = 'part_size' THEN 'S3 parts are at least 5 MB and at most 5 GB.'
							  ELSE 'Snowflake loads files of 100-250 MB best; the default is 128MB.' END;
	END IF;
	RETURN b;
END
$$;

CREATE OR REPLACE FUNCTION btexport._check_positive(what text, v bigint, dflt bigint)
RETURNS bigint LANGUAGE plpgsql IMMUTABLE SET search_path = pg_catalog, pg_temp AS $$
BEGIN
	IF v IS NULL THEN
		RETURN dflt;
	END IF;
	IF v <= 0 THEN
		RAISE EXCEPTION '% must be greater than zero', what
			USING ERRCODE = '22023', DETAIL = format('%s was %s.', what, v),
				  HINT = format('Leave it out for the default of %s.', dflt);
	END IF;
	RETURN v;
END
$$;

CREATE OR REPLACE FUNCTION btexport._check_trace_idle(trace_idle interval)
RETURNS interval LANGUAGE plpgsql IMMUTABLE SET search_path = pg_catalog, pg_temp AS $$
BEGIN
	IF trace_idle IS NULL THEN
		RETURN '30 seconds';
	END IF;
	IF trace_idle < '0'::interval OR trace_idle > '7 days'::interval THEN
		RAISE EXCEPTION 'trace_idle must be between 0 and 7 days'
			USING ERRCODE = '22023', DETAIL = format('trace_idle was %s seconds.', extract(epoch FROM trace_idle)),
				  HINT = 'A trace is exported once none of its spans changed for this long; the default is 30 seconds.';
	END IF;
	RETURN trace_idle;
END
$$;

-- key layout under the prefix: date = YYYY/MM/DD/ (the original guide's), hive = dt=YYYY-MM-DD/hour=HH/
CREATE OR REPLACE FUNCTION btexport._check_layout(layout text)
RETURNS text LANGUAGE plpgsql IMMUTABLE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	l text := lower(btrim(layout));
BEGIN
	IF layout IS NULL THEN
		RETURN 'date';
	END IF;
	-- hive_date: btexport 1.0's hive layout (date=YYYY-MM-DD/hour=HH/), kept by automations created
	-- with 1.0 (the upgrade renames their layout); create_automation does not offer it
	IF l NOT IN ('date', 'hive', 'hive_date') THEN
		RAISE EXCEPTION 'unknown layout "%"', btexport._excerpt(layout)
			USING ERRCODE = '22023',
				  DETAIL = 'Layout date writes keys under <prefix>YYYY/MM/DD/, layout hive under <prefix>dt=YYYY-MM-DD/hour=HH/.',
				  HINT = 'Use layout => ''date'' (the default) or layout => ''hive'' (Hive-style partitions for Athena, Spark and Snowflake external tables).';
	END IF;
	RETURN l;
END
$$;

-- Iceberg tables (docs/iceberg.md): the partitioning of format 'iceberg' ('day' by default for spans,
-- 'none' for traces), and
-- the combinations that make no sense refused: partitioning without Iceberg, an Iceberg table of a
-- BTQL query (its rows need not have the id and created columns a table resolves updates and
-- partitions on), an Iceberg table with layout hive (Iceberg lays out its own files)
CREATE OR REPLACE FUNCTION btexport._check_table_format(format text, partitioning text, export_type text, layout text)
RETURNS text LANGUAGE plpgsql IMMUTABLE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	p text := lower(btrim(partitioning));
BEGIN
	IF format IS DISTINCT FROM 'iceberg' THEN
		IF partitioning IS NOT NULL THEN
			RAISE EXCEPTION 'partitioning applies to Iceberg tables only'
				USING ERRCODE = '22023',
					  DETAIL = format('The automation writes %s files; their keys follow layout.', format),
					  HINT = 'Use format => ''iceberg'' with partitioning, or leave partitioning out.';
		END IF;
		RETURN NULL;
	END IF;
	IF export_type = 'btql' THEN
		RAISE EXCEPTION 'an Iceberg table cannot hold a BTQL query''s rows'
			USING ERRCODE = '0A000',
				  DETAIL = 'A table keeps one row per span (or trace) by its id and partitions on created; a query''s rows need not have them.',
				  HINT = 'Use export_type => ''logs_spans'' or ''logs_traces'' with format => ''iceberg'', or format => ''parquet'' for the query.';
	END IF;
	IF layout = 'hive' THEN
		RAISE EXCEPTION 'layout hive does not apply to Iceberg tables'
			USING ERRCODE = '22023',
				  DETAIL = 'An Iceberg table lays out its own files: data/ and metadata/ under s3_path.',
				  HINT = 'Leave layout out (or ''date''); choose the table''s partitioning with partitioning => ''day'' or ''none''.';
	END IF;
	IF partitioning IS NULL THEN
		RETURN CASE WHEN export_type = 'logs_traces' THEN 'none' ELSE 'day' END;
	END IF;
	IF p = 'day' AND export_type = 'logs_traces' THEN
		RAISE EXCEPTION 'a table of traces cannot be partitioned by day'
			USING ERRCODE = '0A000',
				  DETAIL = 'A trace''s created time can move to another day when its root span arrives after its children, and a partition''s deletes reach no other partition: the old row would stay.',
				  HINT = 'Leave partitioning out for logs_traces (it is ''none''), or export logs_spans.';
	END IF;
	IF p NOT IN ('day', 'none') THEN
		RAISE EXCEPTION 'unknown partitioning "%"', btexport._excerpt(partitioning)
			USING ERRCODE = '22023',
				  HINT = 'Use partitioning => ''day'' (hidden partitioning on day(created), the default) or ''none''.';
	END IF;
	RETURN p;
END
$$;

-- an automation that has exported keeps its kind of destination: an Iceberg table's format,
-- partitioning and export type are fixed by its first export (so is a folder's against becoming a table)
CREATE OR REPLACE FUNCTION btexport._check_table_immutable(cur btexport.automations, a btexport.automations)
RETURNS void LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
BEGIN
	IF (cur.format = 'iceberg' OR a.format = 'iceberg')
	   AND (a.format IS DISTINCT FROM cur.format OR a.partitioning IS DISTINCT FROM cur.partitioning
			OR a.export_type IS DISTINCT FROM cur.export_type)
	   AND EXISTS (SELECT 1 FROM btexport.runs r
				    WHERE r.automation_id = cur.id AND r.status = 'succeeded' AND r.files > 0) THEN
		RAISE EXCEPTION 'the table format of automation "%" cannot be changed after it exported', cur.name
			USING ERRCODE = '55000',
				  DETAIL = format('%s holds what the automation exported as %s (partitioning %s, export type %s).',
								  cur.s3_path, cur.format, coalesce(cur.partitioning, 'none'), cur.export_type),
				  HINT = 'Create a new automation with a new s3_path for the new format (and pause or drop this one).';
	END IF;
END
$$;

-- the cursor a new automation starts from: everything, or what was written since start_from
CREATE OR REPLACE FUNCTION btexport._cursor_since(project uuid, since timestamptz)
RETURNS xid8 LANGUAGE sql STABLE AS $$
	SELECT CASE WHEN since IS NULL THEN '0'::xid8
		ELSE COALESCE((SELECT pg_catalog.min(l._xact_id) FROM btexport.logs l
						WHERE l.project_id OPERATOR(pg_catalog.=) project
						  AND (l.created OPERATOR(pg_catalog.>=) since OR l._updated OPERATOR(pg_catalog.>=) since)),
					  pg_catalog.pg_snapshot_xmin(pg_catalog.pg_current_snapshot())) END
$$;
