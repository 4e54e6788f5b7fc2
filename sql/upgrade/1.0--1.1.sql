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
