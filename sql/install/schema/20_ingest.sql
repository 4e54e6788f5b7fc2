-- ---------------------------------------------------------------------------
-- Ingestion: btexport.log() and btexport.log_text() write Braintrust log events
-- (the rows the SDK posts to /logs3) into btexport.logs.  See docs/ingest.md.
-- ---------------------------------------------------------------------------

-- one event after validation: its id (generated when missing), whether it is a
-- merge, and the normalised document; or why it is rejected
CREATE TYPE btexport._ingest_prepared AS (
	id			text,
	is_merge	boolean,
	doc			jsonb,
	field		text,
	sqlstate	text,
	message		text,
	detail		text,
	hint		text
);

-- what btexport.log() reports: one row per input event
CREATE TYPE btexport.log_result AS (
	event_index		integer,	-- 0-based position of the event in the input
	id				text,		-- row id (generated when the event had none)
	action			text,		-- insert | replace | merge | reject
	span_id			text,		-- the row's span_id after the call
	root_span_id	text,		-- the row's root_span_id (trace id) after the call
	field			text,		-- reject: the offending top-level field, if one
	sqlstate		text,		-- reject: SQLSTATE
	message			text,		-- reject: what is wrong
	detail			text,		-- reject: what was found
	hint			text		-- reject: what to do
);
COMMENT ON TYPE btexport.log_result IS 'one row per event passed to btexport.log(): what was written, or why it was rejected';
