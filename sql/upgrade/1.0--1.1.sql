-- btexport 1.0 -> 1.1: changes to the objects that sql/install/schema/ creates once
-- (tables, columns, indexes, types, policies, dump configuration).
--
-- Runs at ALTER EXTENSION btexport UPDATE, before every part of sql/install/code/
-- is run again (functions, views, grants: all CREATE OR REPLACE).  Whatever changes
-- here must also change in sql/install/schema/ so that a fresh 1.1 install and an
-- upgraded 1.0 are the same; test/upgrade/run.sh compares their catalogs.
-- New columns go at the end of their table in sql/install/schema/ too (ALTER TABLE
-- ADD COLUMN appends).  A function whose signature or result type changes, or that
-- goes away, is dropped here first.

-- Row schema version 2 (docs/file-layout.md): the spans export returns eleven more columns,
-- so its result type changes and CREATE OR REPLACE cannot redefine it.
DROP FUNCTION btexport._export_spans(uuid, xid8, xid8);

-- create_project gains id (keep the project id the SDK's events carry; an event's project_id
-- must name the project it is logged into)
DROP FUNCTION btexport.create_project(text, uuid);

-- layout hive now writes dt=YYYY-MM-DD/hour=HH/ (date is a reserved word in Athena DDL); automations
-- created with 1.0's hive layout keep their keys (date=YYYY-MM-DD/hour=HH/) as layout hive_date
ALTER TABLE btexport.automations DROP CONSTRAINT automations_layout_check;
ALTER TABLE btexport.automations ADD CONSTRAINT automations_layout_check
	CHECK (layout IN ('date', 'hive', 'hive_date'));
UPDATE btexport.automations SET layout = 'hive_date' WHERE layout = 'hive';

-- ---------------------------------------------------------------------------
-- Project access (docs/security.md "Projects"): projects get an owner and grants.
-- A 1.0 project becomes the extension owner's; so that nothing that worked on 1.0
-- stops working, the roles owning automations on it get 'export' (which includes
-- reading) and btexport_user gets 'ingest' (log(), log_text(), INSERT).  Reading spans
-- through SELECT or btexport.query() needs a grant from now on: docs/operations.md
-- "Upgrading from 1.0" shows the one statement that restores 1.0's open reads.
-- ---------------------------------------------------------------------------
ALTER TABLE btexport.projects ADD COLUMN owner regrole;
UPDATE btexport.projects
   SET owner = (SELECT e.extowner FROM pg_catalog.pg_extension e
				 WHERE e.extname OPERATOR(pg_catalog.=) 'btexport')::regrole;
ALTER TABLE btexport.projects
	ALTER COLUMN owner SET NOT NULL,
	ALTER COLUMN owner SET DEFAULT (CURRENT_USER::text)::regrole;
COMMENT ON COLUMN btexport.projects.owner IS 'the role that owns the project: all privileges on its spans, grants them to others';

CREATE TABLE btexport.project_grants (
	project_id		uuid NOT NULL REFERENCES btexport.projects (id) ON DELETE CASCADE,
	grantee			regrole NOT NULL,
	privilege		text NOT NULL CHECK (privilege IN ('read', 'ingest', 'export')),
	granted_by		regrole NOT NULL,
	granted			timestamptz NOT NULL DEFAULT pg_catalog.now(),
	PRIMARY KEY (project_id, grantee, privilege)
);
COMMENT ON TABLE btexport.project_grants IS 'privileges on projects granted to roles (change through btexport.grant_project / revoke_project)';
GRANT SELECT ON btexport.project_grants TO btexport_user;
SELECT pg_catalog.pg_extension_config_dump('btexport.project_grants', '');

INSERT INTO btexport.project_grants (project_id, grantee, privilege, granted_by)
SELECT DISTINCT a.project_id, a.owner, 'export', p.owner
  FROM btexport.automations a JOIN btexport.projects p ON p.id OPERATOR(pg_catalog.=) a.project_id
 WHERE a.owner OPERATOR(pg_catalog.<>) p.owner
UNION ALL
SELECT p.id, 'btexport_user'::regrole, 'ingest', p.owner FROM btexport.projects p;

ALTER TABLE btexport.logs ENABLE ROW LEVEL SECURITY;
ALTER TABLE btexport.projects ENABLE ROW LEVEL SECURITY;
ALTER TABLE btexport.project_grants ENABLE ROW LEVEL SECURITY;

-- ---------------------------------------------------------------------------
-- Credential names are per owner (a name taken by another role is neither visible
-- nor an error); an automation names its credential by (credential_owner, credential).
-- ---------------------------------------------------------------------------
ALTER TABLE btexport.automations DROP CONSTRAINT automations_credential_fkey;
ALTER TABLE btexport.credentials DROP CONSTRAINT credentials_pkey;
ALTER TABLE btexport.credentials ADD CONSTRAINT credentials_pkey PRIMARY KEY (owner, name);
ALTER TABLE btexport.automations ADD COLUMN credential_owner regrole;
UPDATE btexport.automations a SET credential_owner = c.owner
  FROM btexport.credentials c WHERE c.name OPERATOR(pg_catalog.=) a.credential;
ALTER TABLE btexport.automations
	ADD CONSTRAINT automations_credential_owner_check CHECK ((credential IS NULL) = (credential_owner IS NULL)),
	ADD CONSTRAINT automations_credential_fkey FOREIGN KEY (credential_owner, credential)
		REFERENCES btexport.credentials (owner, name);

-- ---------------------------------------------------------------------------
-- Run history: how far a run got (rows, bytes, the object it was writing), recorded when it
-- ends; while it runs btexport.progress reads the same figures from the worker (no text to parse).
-- ---------------------------------------------------------------------------
ALTER TABLE btexport.runs
	ADD COLUMN progress_rows bigint,
	ADD COLUMN progress_bytes bigint,
	ADD COLUMN progress_object text,
	ADD COLUMN progress_at timestamptz;
COMMENT ON COLUMN btexport.runs.progress_rows IS 'rows the run had written when it ended (a failed run''s were removed again; NULL before it started); btexport.progress shows them live';
COMMENT ON COLUMN btexport.runs.progress_object IS 'the object the run was writing when it ended';

-- ---------------------------------------------------------------------------
-- Iceberg tables (docs/iceberg.md): format 'iceberg', its partitioning, and the snapshot a run
-- committed.
-- ---------------------------------------------------------------------------
ALTER TABLE btexport.automations DROP CONSTRAINT automations_format_check;
ALTER TABLE btexport.automations
	ADD CONSTRAINT automations_format_check CHECK (format IN ('jsonl', 'parquet', 'iceberg'));
ALTER TABLE btexport.automations ADD COLUMN partitioning text CHECK (partitioning IN ('day', 'none'));
ALTER TABLE btexport.automations
	ADD CONSTRAINT automations_partitioning_format_check CHECK ((format = 'iceberg') = (partitioning IS NOT NULL));
ALTER TABLE btexport.runs ADD COLUMN snapshot_id bigint;
COMMENT ON COLUMN btexport.runs.snapshot_id IS 'Iceberg automations: the snapshot the run committed (docs/iceberg.md)';
COMMENT ON COLUMN btexport.automations.partitioning IS 'Iceberg tables: day (hidden partitioning day(created)) or none; chosen at creation';

-- ---------------------------------------------------------------------------
-- Functions whose signature changed.
-- ---------------------------------------------------------------------------
-- automation settings have one definition (sql/install/code/51_settings.sql): the builder takes them
-- as one jsonb object (with the owner to build for: update_automation keeps the automation's owner)
DROP FUNCTION btexport._build_automation(text, text, text, text, text, text, text, text, text, text, text, text,
	text, integer, text, text, text, text, boolean, text, text, bigint, interval, timestamptz, integer, text);

-- Braintrust as a source (sql/install/schema/40_remote.sql): the one secret store, connections,
-- the columns of automations and runs a remote source uses
CREATE TABLE btexport.secrets (
	id					uuid PRIMARY KEY DEFAULT pg_catalog.gen_random_uuid(),
	value				text NOT NULL,
	created				timestamptz NOT NULL DEFAULT pg_catalog.now()
);
REVOKE ALL ON btexport.secrets FROM PUBLIC;
COMMENT ON TABLE btexport.secrets IS 'every stored secret, sealed; readable by no role but the extension owner, never dumped';

CREATE TABLE btexport.connections (
	name				text NOT NULL CHECK (name ~ '^[A-Za-z0-9_.@:+=-]{1,128}$'),
	owner				regrole NOT NULL,
	api_key				uuid NOT NULL,
	org_name			text,
	app_url				text NOT NULL,
	api_url				text,
	created				timestamptz NOT NULL DEFAULT pg_catalog.now(),
	updated				timestamptz NOT NULL DEFAULT pg_catalog.now(),
	CONSTRAINT connections_pkey PRIMARY KEY (owner, name)
);
REVOKE ALL ON btexport.connections FROM PUBLIC;
COMMENT ON TABLE btexport.connections IS 'Braintrust API connections; the API key is in btexport.secrets and never readable';
SELECT pg_catalog.pg_extension_config_dump('btexport.connections', '');

ALTER TABLE btexport.automations
	ADD COLUMN connection text,
	ADD COLUMN connection_owner regrole,
	ADD COLUMN remote_project text,
	ADD COLUMN remote_project_id uuid,
	ADD COLUMN requests_per_minute integer CHECK (requests_per_minute BETWEEN 1 AND 6000),
	ADD COLUMN source_position text,
	ADD CONSTRAINT automations_connection_fkey FOREIGN KEY (connection_owner, connection)
		REFERENCES btexport.connections (owner, name),
	ADD CONSTRAINT automations_source_check CHECK ((connection IS NULL) = (connection_owner IS NULL)
		AND (connection IS NULL) = (remote_project IS NULL) AND (connection IS NULL) = (project_id IS NOT NULL)),
	ALTER COLUMN project_id DROP NOT NULL;
COMMENT ON COLUMN btexport.automations.source_position IS 'a remote source''s position: {"xact_id", "horizon", "pagination_key"} (docs/braintrust-source.md)';

ALTER TABLE btexport.runs
	ADD COLUMN position_from text,
	ADD COLUMN position_to text,
	ADD COLUMN api_requests bigint;
COMMENT ON COLUMN btexport.runs.api_requests IS 'requests the run sent to the Braintrust API (retries included)';

-- credentials keep their secrets in the one secret store (not part of a dump): each secret moves
-- to btexport.secrets and its column becomes the secret's id, in place (a dropped column would stay
-- in the catalog): secret_access_key -> secret, session_token -> token_secret
DROP VIEW btexport.credentials_info;		-- sql/install/code re-creates it
CREATE TABLE btexport._credential_secrets_1_0 AS
	SELECT c.name, pg_catalog.gen_random_uuid() AS secret,
		   CASE WHEN c.session_token IS NOT NULL THEN pg_catalog.gen_random_uuid() END AS token_secret
	  FROM btexport.credentials c;
-- sealed as btexport._secret_store seals (src/adapters/secret.c: encrypted with the server's key);
-- sql/install/code/52_connections.sql defines the function again, the same
CREATE OR REPLACE FUNCTION btexport._secret_seal(value text) RETURNS text
	LANGUAGE c STRICT AS 'MODULE_PATHNAME', 'btexport_secret_seal';
INSERT INTO btexport.secrets (id, value)
	SELECT m.secret, btexport._secret_seal(c.secret_access_key) FROM btexport.credentials c JOIN btexport._credential_secrets_1_0 m USING (name)
	UNION ALL
	SELECT m.token_secret, btexport._secret_seal(c.session_token) FROM btexport.credentials c JOIN btexport._credential_secrets_1_0 m USING (name)
	 WHERE m.token_secret IS NOT NULL;
CREATE FUNCTION btexport._credential_secret_1_0(n text, token boolean) RETURNS uuid LANGUAGE sql STABLE AS $$
	SELECT CASE WHEN token THEN m.token_secret ELSE m.secret END FROM btexport._credential_secrets_1_0 m WHERE m.name = n
$$;
ALTER TABLE btexport.credentials RENAME COLUMN secret_access_key TO secret;
ALTER TABLE btexport.credentials RENAME COLUMN session_token TO token_secret;
ALTER TABLE btexport.credentials
	ALTER COLUMN secret TYPE uuid USING btexport._credential_secret_1_0(name, false),
	ALTER COLUMN token_secret TYPE uuid USING btexport._credential_secret_1_0(name, true);
DROP FUNCTION btexport._credential_secret_1_0(text, boolean);
DROP TABLE btexport._credential_secrets_1_0;

-- btexport.progress shows a remote run's API requests and position: its functions' results change
DROP VIEW btexport.progress;
DROP FUNCTION btexport._progress();
DROP FUNCTION IF EXISTS btexport._live_progress();

-- create_automation, update_automation and test(...) take the settings connection,
-- requests_per_minute and partitioning (at the end): the 1.0 signatures go, the code re-creates them
DROP FUNCTION btexport.create_automation(text, text, text, text, text, text, text, text, text, text, text, integer,
	text, text, text, text, text, text, boolean, text, text, bigint, interval, timestamptz, integer, text);
DROP FUNCTION btexport.test(text, text, text, text, text, text, text, text, text, text, text, integer,
	text, text, text, text, text, text, boolean, text, text, bigint, interval, timestamptz, integer, text);
DROP FUNCTION btexport.update_automation(text, text, text, text, text, text, text, text, text, text, text, text,
	integer, text, text, text, text, boolean, text, text, bigint, interval, integer, text);

-- ---------------------------------------------------------------------------
-- Operations (docs/operations.md): the cursor's cluster, the trace of skipped triggers, and the
-- identity sequences in pg_dump (sql/install/schema/45_operations.sql).
-- The cursors of 1.0 automations count this cluster's transaction ids.
-- ---------------------------------------------------------------------------
ALTER TABLE btexport.automations ADD COLUMN cursor_cluster text;
COMMENT ON COLUMN btexport.automations.cursor_cluster IS 'the cluster (system identifier) and database (oid) whose transaction ids the cursor counts; runs refuse elsewhere until btexport.rebase_cursor';
UPDATE btexport.automations
   SET cursor_cluster = (SELECT c.system_identifier::text FROM pg_catalog.pg_control_system() c)
						OPERATOR(pg_catalog.||) '/'
						OPERATOR(pg_catalog.||) (SELECT d.oid::text FROM pg_catalog.pg_database d
												  WHERE d.datname OPERATOR(pg_catalog.=) pg_catalog.current_database());

CREATE TABLE btexport.trigger_skips (
	id					bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	automation_id		bigint NOT NULL REFERENCES btexport.automations (id) ON DELETE CASCADE,
	owner				regrole NOT NULL,
	trigger				text NOT NULL CHECK (trigger IN ('manual', 'schedule', 'backlog')),
	reason				text NOT NULL CHECK (reason IN ('paused', 'not_due', 'already_queued', 'no_worker_slot',
														'worker_failed', 'cursor_foreign')),
	detail				text,
	first_at			timestamptz NOT NULL DEFAULT pg_catalog.clock_timestamp(),
	last_at				timestamptz NOT NULL DEFAULT pg_catalog.clock_timestamp(),
	count				bigint NOT NULL DEFAULT 1,
	request_token		text
);
CREATE INDEX trigger_skips_automation_idx ON btexport.trigger_skips (automation_id, id DESC);
COMMENT ON TABLE btexport.trigger_skips IS 'triggers (scheduled or manual) that produced no run, with the reason (docs/troubleshooting.md "Why didn''t my export run?")';
ALTER TABLE btexport.trigger_skips ENABLE ROW LEVEL SECURITY;
CREATE POLICY trigger_skips_owner ON btexport.trigger_skips FOR SELECT
	USING (pg_catalog.pg_has_role(CURRENT_USER, owner::oid, 'USAGE'));
GRANT SELECT ON btexport.trigger_skips TO btexport_user;

SELECT pg_catalog.pg_extension_config_dump('btexport.trigger_skips', '');
SELECT pg_catalog.pg_extension_config_dump('btexport.automations_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('btexport.runs_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('btexport.trigger_skips_id_seq', '');

-- the codec's level (sql/install/schema/50_compression_level.sql); create_automation,
-- update_automation and test(...) gain the setting compression_level (their 1.0 signatures are
-- dropped above)
ALTER TABLE btexport.automations ADD COLUMN compression_level integer
	CHECK (compression_level BETWEEN 1 AND 19);
COMMENT ON COLUMN btexport.automations.compression_level IS 'gzip (1-9) or zstd (1-19) level; NULL: the codec''s default';
