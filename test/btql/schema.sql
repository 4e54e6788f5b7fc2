-- Span store for the BTQL differential tests: the tables of the extension's
-- install script (btexport.projects, btexport.logs), without its triggers, so
-- that the fixed dataset can set _xact_id explicitly.
CREATE SCHEMA btexport;
CREATE TABLE btexport.projects (
	id		uuid PRIMARY KEY,
	name	text UNIQUE NOT NULL,
	org_id	uuid,
	created	timestamptz
);
CREATE TABLE btexport.logs (
	project_id		uuid NOT NULL REFERENCES btexport.projects (id),
	id				text NOT NULL,
	span_id			text NOT NULL,
	root_span_id	text NOT NULL,
	span_parents	text[],
	is_root			boolean NOT NULL,
	created			timestamptz NOT NULL,
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
	_xact_id		xid8 NOT NULL,
	PRIMARY KEY (project_id, id)
);
