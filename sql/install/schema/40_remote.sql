-- ---------------------------------------------------------------------------
-- Braintrust as a source (docs/braintrust-source.md): the one secret store,
-- connections, and the columns of automations and runs a remote source uses.
-- The same changes are in sql/upgrade/1.0--1.1.sql (ALTER TABLE appends there
-- as here, so a fresh install and an upgrade have the same column order).
-- ---------------------------------------------------------------------------

-- The one storage of secrets (src/adapters/secret.c): API keys of connections,
-- secret access keys and session tokens of credentials.  Values are sealed by
-- btexport._secret_seal.  No privileges for anyone but the extension's owner,
-- and not a configuration table: pg_dump never writes a secret.
CREATE TABLE btexport.secrets (
	id					uuid PRIMARY KEY DEFAULT pg_catalog.gen_random_uuid(),
	value				text NOT NULL,
	created				timestamptz NOT NULL DEFAULT pg_catalog.now()
);
REVOKE ALL ON btexport.secrets FROM PUBLIC;
COMMENT ON TABLE btexport.secrets IS 'every stored secret, sealed; readable by no role but the extension owner, never dumped';

-- Braintrust API connections: an API key (a secret's id), the organization, the app URL
-- (login) or the API URL of a data plane.  Readable by no ordinary role: see
-- btexport.connections_info.
CREATE TABLE btexport.connections (
	name				text NOT NULL CHECK (name ~ '^[A-Za-z0-9_.@:+=-]{1,128}$'),
	owner				regrole NOT NULL,
	api_key				uuid NOT NULL,		-- btexport.secrets.id
	org_name			text,
	app_url				text NOT NULL,
	api_url				text,
	created				timestamptz NOT NULL DEFAULT pg_catalog.now(),
	updated				timestamptz NOT NULL DEFAULT pg_catalog.now(),
	-- names are per owner, as credentials' are
	CONSTRAINT connections_pkey PRIMARY KEY (owner, name)
);
REVOKE ALL ON btexport.connections FROM PUBLIC;
COMMENT ON TABLE btexport.connections IS 'Braintrust API connections; the API key is in btexport.secrets and never readable';
SELECT pg_catalog.pg_extension_config_dump('btexport.connections', '');

-- automations whose source is a connection: the Braintrust project (as given, and its id once
-- a run resolved it), the request budget and the source's position
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

-- a run of a remote source: its position window and the API requests it made
ALTER TABLE btexport.runs
	ADD COLUMN position_from text,
	ADD COLUMN position_to text,
	ADD COLUMN api_requests bigint;
COMMENT ON COLUMN btexport.runs.api_requests IS 'requests the run sent to the Braintrust API (retries included)';
