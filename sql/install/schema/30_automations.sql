-- Static AWS keys.  The table is readable by no ordinary role; the secret access key and the
-- session token are in btexport.secrets (schema/40_remote.sql), which only btexport's C code
-- reads, when it signs a request for the credential's owner.
CREATE TABLE btexport.credentials (
	name				text NOT NULL CHECK (name ~ '^[A-Za-z0-9_.@:+=-]{1,128}$'),
	owner				regrole NOT NULL,
	access_key_id		text NOT NULL,
	secret				uuid NOT NULL,		-- btexport.secrets.id: the secret access key
	token_secret		uuid,				-- btexport.secrets.id: the session token, if any
	created				timestamptz NOT NULL DEFAULT pg_catalog.now(),
	-- names are per owner: another role's credential of the same name is invisible
	CONSTRAINT credentials_pkey PRIMARY KEY (owner, name)
);
REVOKE ALL ON btexport.credentials FROM PUBLIC;
COMMENT ON TABLE btexport.credentials IS 'named static AWS credentials; secrets are never readable through SQL';

CREATE TABLE btexport.automations (
	id					bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	name				text NOT NULL UNIQUE,
	description			text,
	owner				regrole NOT NULL,
	project_id			uuid NOT NULL REFERENCES btexport.projects (id),
	event_type			text NOT NULL DEFAULT 'btql_export' CHECK (event_type = 'btql_export'),
	export_type			text NOT NULL CHECK (export_type IN ('logs_traces', 'logs_spans', 'btql')),
	query				text,
	s3_path				text NOT NULL,
	bucket				text NOT NULL,
	prefix				text NOT NULL,
	role_arn			text,
	external_id			text,
	region				text NOT NULL,
	endpoint			text,
	credential			text,
	format				text NOT NULL CHECK (format IN ('jsonl', 'parquet', 'iceberg')),
	"interval"			text,
	schedule			text,
	period				interval,		-- start-to-start cadence when cron cannot express the interval
	batch_size			integer NOT NULL CHECK (batch_size > 0),
	status				text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'paused')),
	paused_reason		text,
	cron_jobid			bigint,
	cursor				xid8 NOT NULL DEFAULT '0',
	max_failures		integer NOT NULL DEFAULT 5 CHECK (max_failures > 0),
	compression			text CHECK (compression IN ('none', 'gzip', 'zstd', 'snappy')),
	sse					text CHECK (sse IN ('AES256', 'aws:kms')),
	kms_key_id			text,
	bucket_owner_full_control boolean NOT NULL DEFAULT false,
	part_size			bigint CHECK (part_size BETWEEN 5242880 AND 5368709120),
	target_file_size	bigint CHECK (target_file_size > 0),
	max_rows_per_run	bigint NOT NULL DEFAULT 100000 CHECK (max_rows_per_run > 0),
	trace_idle			interval NOT NULL DEFAULT '30 seconds',
	start_from			timestamptz,
	layout				text NOT NULL DEFAULT 'date' CHECK (layout IN ('date', 'hive', 'hive_date')),
	created				timestamptz NOT NULL DEFAULT pg_catalog.now(),
	updated				timestamptz NOT NULL DEFAULT pg_catalog.now(),
	credential_owner	regrole,		-- the credential is (credential_owner, credential)
	partitioning		text CHECK (partitioning IN ('day', 'none')),	-- Iceberg tables only (docs/iceberg.md)
	CHECK ((export_type = 'btql') = (query IS NOT NULL)),
	CONSTRAINT automations_partitioning_format_check CHECK ((format = 'iceberg') = (partitioning IS NOT NULL)),
	CONSTRAINT automations_credential_owner_check CHECK ((credential IS NULL) = (credential_owner IS NULL)),
	CONSTRAINT automations_credential_fkey FOREIGN KEY (credential_owner, credential)
		REFERENCES btexport.credentials (owner, name)
);
COMMENT ON TABLE btexport.automations IS 'S3 export automations (configuration; change through the btexport functions)';
COMMENT ON COLUMN btexport.automations.cursor IS 'export watermark: every span version with _xact_id below it has been exported';

CREATE TABLE btexport.runs (
	id					bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	automation_id		bigint NOT NULL REFERENCES btexport.automations (id) ON DELETE CASCADE,
	owner				regrole NOT NULL,
	trigger				text NOT NULL CHECK (trigger IN ('manual', 'schedule', 'backlog')),
	status				text NOT NULL CHECK (status IN ('queued', 'running', 'succeeded', 'failed', 'cancelled')),
	queued_at			timestamptz NOT NULL DEFAULT pg_catalog.clock_timestamp(),
	started_at			timestamptz,
	finished_at			timestamptz,
	rows				bigint NOT NULL DEFAULT 0,
	bytes				bigint NOT NULL DEFAULT 0,
	files				integer NOT NULL DEFAULT 0,
	cursor_from			xid8,
	cursor_to			xid8,
	pid					integer,
	request_token		text,
	base_key			text,
	manifest_key		text,
	cleaned				boolean NOT NULL DEFAULT false,
	error_sqlstate		text,
	error_message		text,
	error_detail		text,
	error_hint			text,
	progress_rows		bigint,
	progress_bytes		bigint,
	progress_object		text,
	progress_at			timestamptz,
	snapshot_id			bigint
);
CREATE INDEX runs_automation_idx ON btexport.runs (automation_id, id DESC);
CREATE INDEX runs_started_idx ON btexport.runs (started_at);
CREATE INDEX runs_token_idx ON btexport.runs (request_token);
COMMENT ON COLUMN btexport.runs.base_key IS 'every object of the run has a key starting with this';
COMMENT ON COLUMN btexport.runs.cleaned IS 'objects a failed run left in S3 have been removed';
COMMENT ON TABLE btexport.runs IS 'run history: one row per export run';
COMMENT ON COLUMN btexport.runs.progress_rows IS 'rows the run had written when it ended (a failed run''s were removed again; NULL before it started); btexport.progress shows them live';
COMMENT ON COLUMN btexport.runs.progress_object IS 'the object the run was writing when it ended';
COMMENT ON COLUMN btexport.runs.snapshot_id IS 'Iceberg automations: the snapshot the run committed (docs/iceberg.md)';
COMMENT ON COLUMN btexport.automations.partitioning IS 'Iceberg tables: day (hidden partitioning day(created)) or none; chosen at creation';

CREATE TABLE btexport.run_files (
	run_id				bigint NOT NULL REFERENCES btexport.runs (id) ON DELETE CASCADE,
	automation_id		bigint NOT NULL REFERENCES btexport.automations (id) ON DELETE CASCADE,
	owner				regrole NOT NULL,
	seq					integer NOT NULL,
	bucket				text NOT NULL,
	key					text NOT NULL,
	format				text NOT NULL,
	rows				bigint NOT NULL,
	bytes				bigint NOT NULL,
	etag				text,
	sha256				text,
	committed			boolean NOT NULL DEFAULT false,
	created				timestamptz NOT NULL DEFAULT pg_catalog.clock_timestamp(),
	PRIMARY KEY (run_id, seq),
	UNIQUE (bucket, key)
);
COMMENT ON TABLE btexport.run_files IS 'every S3 object a run wrote (committed = the run that wrote it succeeded)';

-- pg_dump keeps the configuration and the history
SELECT pg_catalog.pg_extension_config_dump('btexport.projects', '');
SELECT pg_catalog.pg_extension_config_dump('btexport.logs', '');
SELECT pg_catalog.pg_extension_config_dump('btexport.credentials', '');
SELECT pg_catalog.pg_extension_config_dump('btexport.automations', '');
SELECT pg_catalog.pg_extension_config_dump('btexport.runs', '');
SELECT pg_catalog.pg_extension_config_dump('btexport.run_files', '');
SELECT pg_catalog.pg_extension_config_dump('btexport.project_grants', '');

-- Users see only their own automations and runs (superusers see all).
ALTER TABLE btexport.automations ENABLE ROW LEVEL SECURITY;
ALTER TABLE btexport.runs ENABLE ROW LEVEL SECURITY;
ALTER TABLE btexport.run_files ENABLE ROW LEVEL SECURITY;
CREATE POLICY automations_owner ON btexport.automations FOR SELECT
	USING (pg_catalog.pg_has_role(CURRENT_USER, owner::oid, 'USAGE'));
CREATE POLICY runs_owner ON btexport.runs FOR SELECT
	USING (pg_catalog.pg_has_role(CURRENT_USER, owner::oid, 'USAGE'));
CREATE POLICY run_files_owner ON btexport.run_files FOR SELECT
	USING (pg_catalog.pg_has_role(CURRENT_USER, owner::oid, 'USAGE'));
GRANT SELECT ON btexport.automations, btexport.runs, btexport.run_files TO btexport_user;
