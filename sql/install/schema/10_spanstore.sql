-- ---------------------------------------------------------------------------
-- Span store: Braintrust project_logs, one row per span (latest version).
-- ---------------------------------------------------------------------------
CREATE TABLE btexport.projects (
	id			uuid PRIMARY KEY DEFAULT pg_catalog.gen_random_uuid(),
	name		text NOT NULL UNIQUE CHECK (name OPERATOR(pg_catalog.<>) ''),
	org_id		uuid,
	created		timestamptz NOT NULL DEFAULT pg_catalog.now(),
	owner		regrole NOT NULL DEFAULT (CURRENT_USER::text)::regrole
);
COMMENT ON TABLE btexport.projects IS 'projects whose logs btexport stores and exports';
COMMENT ON COLUMN btexport.projects.owner IS 'the role that owns the project: all privileges on its spans, grants them to others';

CREATE TABLE btexport.logs (
	project_id		uuid NOT NULL REFERENCES btexport.projects (id) ON DELETE CASCADE,
	id				text NOT NULL,
	span_id			text NOT NULL,
	root_span_id	text NOT NULL,
	span_parents	text[],
	is_root			boolean NOT NULL
		GENERATED ALWAYS AS (COALESCE(pg_catalog.cardinality(span_parents), 0) OPERATOR(pg_catalog.=) 0) STORED,
	created			timestamptz NOT NULL DEFAULT pg_catalog.now(),
	org_id			uuid,
	log_id			text NOT NULL DEFAULT 'g',
	input			jsonb,
	output			jsonb,
	expected		jsonb,
	error			jsonb,
	scores			jsonb,
	metrics			jsonb,
	metadata		jsonb,
	span_attributes	jsonb,
	context			jsonb,
	origin			jsonb,
	comment			jsonb,
	tags			text[],
	audit_source	text,
	audit_metadata	jsonb,
	_xact_id		xid8 NOT NULL DEFAULT pg_catalog.pg_current_xact_id(),
	_updated		timestamptz NOT NULL DEFAULT pg_catalog.now(),
	PRIMARY KEY (project_id, id)
);
COMMENT ON TABLE btexport.logs IS 'span store in Braintrust''s project_logs schema; _xact_id is the export cursor';
COMMENT ON COLUMN btexport.logs._xact_id IS 'id of the transaction that last wrote the row (set by trigger)';
COMMENT ON COLUMN btexport.logs._updated IS 'start time of the transaction that last wrote the row (set by trigger)';

-- "spans of project P changed since cursor C", in the export's order (_xact_id, id): a run
-- streams its window from this index without sorting it; and "all spans of trace T"
CREATE INDEX logs_project_xact_idx ON btexport.logs (project_id, _xact_id, id);
CREATE INDEX logs_project_trace_idx ON btexport.logs (project_id, root_span_id);

GRANT SELECT, INSERT, UPDATE, DELETE ON btexport.logs TO btexport_user;
GRANT SELECT, INSERT, UPDATE ON btexport.projects TO btexport_user;

-- Project access (docs/security.md): a project's owner has every privilege on its spans;
-- btexport.grant_project() gives other roles read, ingest or export.  Row-level security on
-- logs, projects and project_grants enforces it for every statement of an ordinary role
-- (policies: sql/install/code/15_access.sql).
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
ALTER TABLE btexport.logs ENABLE ROW LEVEL SECURITY;
ALTER TABLE btexport.projects ENABLE ROW LEVEL SECURITY;
ALTER TABLE btexport.project_grants ENABLE ROW LEVEL SECURITY;
