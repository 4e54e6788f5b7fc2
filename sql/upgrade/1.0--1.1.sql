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

-- run history: how far a run got (rows, bytes, the object it was writing), recorded when it ends;
-- while it runs btexport.progress reads the same figures from the worker (no text to parse)
ALTER TABLE btexport.runs
	ADD COLUMN progress_rows bigint,
	ADD COLUMN progress_bytes bigint,
	ADD COLUMN progress_object text,
	ADD COLUMN progress_at timestamptz;
COMMENT ON COLUMN btexport.runs.progress_rows IS 'rows the run had written when it ended (a failed run''s were removed again; NULL before it started); btexport.progress shows them live';
COMMENT ON COLUMN btexport.runs.progress_object IS 'the object the run was writing when it ended';

-- automation settings have one definition (sql/install/code/51_settings.sql): the builder takes them
-- as one jsonb object
DROP FUNCTION btexport._build_automation(text, text, text, text, text, text, text, text, text, text, text, text,
	text, integer, text, text, text, text, boolean, text, text, bigint, interval, timestamptz, integer, text);
