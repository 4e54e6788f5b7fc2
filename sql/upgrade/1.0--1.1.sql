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
-- a new setting (partitioning) changes the generated create_automation, update_automation (both
-- forms) and test(...) signatures: drop the 1.0 ones (sql/install/code/51_settings.sql makes the new)
DO $drop$
DECLARE
	f regprocedure;
BEGIN
	FOR f IN SELECT p.oid::regprocedure FROM pg_catalog.pg_proc p
			  WHERE p.pronamespace OPERATOR(pg_catalog.=) 'btexport'::regnamespace
				AND p.proname IN ('create_automation', 'update_automation', 'test')
				AND p.pronargs OPERATOR(pg_catalog.>) 20 LOOP
		EXECUTE pg_catalog.format('DROP FUNCTION %s', f);
	END LOOP;
END
$drop$;
