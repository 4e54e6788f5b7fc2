-- ---------------------------------------------------------------------------
-- The row schema of the exported files, as data: the one definition that the
-- docs check (test/integration/test_schema.py compares docs/file-layout.md
-- and every exported file with it), loaders' DDL and Iceberg field ids derive
-- from.  Version 2 (btexport 1.1); version 1 is btexport 1.0's first seventeen
-- span columns and the fifteen trace columns, with the rules listed under
-- "Schema versions" in docs/file-layout.md.
--
-- A column keeps its name, position, types and field id forever; a new
-- version only appends columns (since = the version that added it) or
-- changes documented value rules.  The export functions (60_export.sql)
-- return exactly these columns in this order (checked by sql/schema.sql).
-- ---------------------------------------------------------------------------

-- How a PostgreSQL type of an export column is written: its JSON Lines type and its Parquet
-- physical and logical type.  Built-in exports use the first rows; a BTQL export's columns get
-- the row of their type (any other type: its text output, as a string).
CREATE OR REPLACE FUNCTION btexport.export_type_map()
RETURNS TABLE (pg_type text, json_type text, parquet_physical text, parquet_logical text, note text)
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
	VALUES
	('text', 'string', 'BYTE_ARRAY', 'STRING', 'UTF-8'),
	('uuid', 'string', 'BYTE_ARRAY', 'STRING', '36 characters, lower case'),
	('timestamp with time zone', 'string: RFC 3339 timestamp', 'INT64', 'TIMESTAMP(isAdjustedToUTC=true, MICROS)',
	 'JSON: RFC 3339 in UTC, always six fraction digits: 2024-01-15T10:30:00.123000Z; infinity: null'),
	('jsonb', 'any JSON value', 'BYTE_ARRAY', 'JSON', 'JSON Lines: nested JSON; Parquet: the JSON text'),
	('bigint', 'integer', 'INT64', NULL, NULL),
	('boolean', 'boolean', 'BOOLEAN', NULL, NULL),
	('text[]', 'array of strings (elements may be null)', 'BYTE_ARRAY', 'LIST<STRING> (3-level)', NULL),
	('double precision', 'number', 'DOUBLE', NULL, 'NaN and infinities: null in JSON Lines'),
	('numeric', 'number', 'DOUBLE', NULL, 'JSON Lines: exact decimal text; Parquet: nearest double'),
	('integer', 'integer', 'INT64', NULL, NULL),
	('date', 'string', 'BYTE_ARRAY', 'STRING', 'YYYY-MM-DD'),
	('interval', 'string', 'BYTE_ARRAY', 'STRING', 'PostgreSQL''s interval text, e.g. 1 day 02:00:00'),
	('json', 'any JSON value', 'BYTE_ARRAY', 'JSON', NULL)
$$;
COMMENT ON FUNCTION btexport.export_type_map() IS 'how each PostgreSQL type of an export column is written in JSON Lines and Parquet';

CREATE OR REPLACE FUNCTION btexport.export_schema()
RETURNS TABLE (schema_version integer, export_type text, "position" integer, name text, field_id integer,
			   pg_type text, json_type text, parquet_physical text, parquet_logical text, nullable boolean,
			   since integer, description text)
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
	SELECT 2, c.export_type, c.pos, c.name, c.pos, c.pg_type, m.json_type, m.parquet_physical,
		   m.parquet_logical, c.nullable, c.since, c.description
	  FROM (VALUES
		('logs_spans', 1, 'id', 'text', false, 1, 'the row id (one span = one id); versions of a span share it'),
		('logs_spans', 2, 'span_id', 'text', false, 1, 'the span id (not the same as id)'),
		('logs_spans', 3, 'trace_id', 'text', false, 1, 'the trace: root_span_id'),
		('logs_spans', 4, 'parent_span_id', 'text', true, 1, 'first element of span_parents; null for a root'),
		('logs_spans', 5, 'project_id', 'uuid', false, 1, 'the btexport project the span is stored in (an event''s own project_id must name it)'),
		('logs_spans', 6, 'created', 'timestamp with time zone', false, 1, 'when the span was created (its first write)'),
		('logs_spans', 7, 'name', 'text', true, 1, 'span_attributes.name'),
		('logs_spans', 8, 'type', 'text', true, 1, 'span_attributes.type (task, llm, tool, function, score, ...)'),
		('logs_spans', 9, 'input', 'jsonb', true, 1, 'as stored'),
		('logs_spans', 10, 'output', 'jsonb', true, 1, 'as stored'),
		('logs_spans', 11, 'expected', 'jsonb', true, 1, 'as stored'),
		('logs_spans', 12, 'error', 'jsonb', true, 1, 'as stored'),
		('logs_spans', 13, 'scores', 'jsonb', true, 1, 'as stored: {name: number in [0,1] or null}'),
		('logs_spans', 14, 'metadata', 'jsonb', true, 1, 'as stored'),
		('logs_spans', 15, 'tags', 'text[]', true, 1, 'as stored'),
		('logs_spans', 16, 'metrics', 'jsonb', true, 1, 'as stored, plus latency (end - start), tokens (stored, or prompt + completion) and cost (cost, else estimated_cost): always present, null when not derivable'),
		('logs_spans', 17, '_xact_id', 'bigint', false, 1, 'the writing transaction: keep the highest per id'),
		('logs_spans', 18, 'root_span_id', 'text', false, 2, 'the trace id, under Braintrust''s name (= trace_id)'),
		('logs_spans', 19, 'span_parents', 'text[]', true, 2, 'parent span ids as stored (null for a root)'),
		('logs_spans', 20, 'is_root', 'boolean', false, 2, 'true when span_parents is empty'),
		('logs_spans', 21, 'org_id', 'uuid', true, 2, 'the project''s organization, when known'),
		('logs_spans', 22, 'log_id', 'text', false, 2, '"g": project logs'),
		('logs_spans', 23, 'span_attributes', 'jsonb', true, 2, 'as stored: {name, type, ...}'),
		('logs_spans', 24, 'context', 'jsonb', true, 2, 'as stored: caller file, line, SDK'),
		('logs_spans', 25, 'origin', 'jsonb', true, 2, 'a comment row: {id} of the row it comments on'),
		('logs_spans', 26, 'comment', 'jsonb', true, 2, 'a comment row: {text}; comments are rows of their own'),
		('logs_spans', 27, 'audit_source', 'text', true, 2, 'who made the last write: app, api or external (Braintrust''s _audit_source)'),
		('logs_spans', 28, 'audit_metadata', 'jsonb', true, 2, 'about the last write (Braintrust''s _audit_metadata)'),
		('logs_traces', 1, 'id', 'text', false, 1, 'the trace id (root_span_id of its spans)'),
		('logs_traces', 2, 'root_span_id', 'text', false, 1, 'the same'),
		('logs_traces', 3, 'project_id', 'uuid', false, 1, 'the btexport project'),
		('logs_traces', 4, 'created', 'timestamp with time zone', false, 1, 'the root span''s, else the earliest span''s'),
		('logs_traces', 5, 'name', 'text', true, 1, 'the root span''s span_attributes.name'),
		('logs_traces', 6, 'metadata', 'jsonb', true, 1, 'the root span''s'),
		('logs_traces', 7, 'scores', 'jsonb', true, 1, 'per score name, the average over the spans that carry it'),
		('logs_traces', 8, 'metrics', 'jsonb', false, 1, 'prompt_tokens, completion_tokens, total_tokens, total_cost, llm_calls, tool_calls, errors, start, end, duration: every key present, null when no span provides it'),
		('logs_traces', 9, 'input', 'jsonb', true, 1, 'the root span''s'),
		('logs_traces', 10, 'output', 'jsonb', true, 1, 'the root span''s'),
		('logs_traces', 11, 'expected', 'jsonb', true, 1, 'the root span''s'),
		('logs_traces', 12, 'error', 'jsonb', true, 1, 'the root span''s'),
		('logs_traces', 13, 'tags', 'text[]', true, 1, 'the root span''s'),
		('logs_traces', 14, 'span_count', 'bigint', false, 1, 'spans of the trace'),
		('logs_traces', 15, '_xact_id', 'bigint', false, 1, 'the highest over its spans: keep the highest per id'),
		('btql', NULL, '_xact_id', 'bigint', false, 1, 'after the query''s own columns (named as selected): the row''s writing transaction')
	  ) AS c(export_type, pos, name, pg_type, nullable, since, description)
	  JOIN btexport.export_type_map() m ON m.pg_type OPERATOR(pg_catalog.=) c.pg_type
	 ORDER BY pg_catalog.array_position(ARRAY['logs_spans', 'logs_traces', 'btql'], c.export_type), c.pos
$$;
COMMENT ON FUNCTION btexport.export_schema() IS 'the row schema (version 2) of every export type: columns, JSON and Parquet types, nullability, meaning';
