-- ---------------------------------------------------------------------------
-- Iceberg table maintenance (docs/iceberg.md "Maintenance"): each call is a commit of the table
-- of its own, taken under the automation's run lock (never while a run exports), by the
-- automation's owner.  A text form (the automation's name) and a bigint form (its id).
-- ---------------------------------------------------------------------------

CREATE OR REPLACE FUNCTION btexport._iceberg_compact(a btexport.automations,
	OUT snapshot_id bigint, OUT rows bigint, OUT files_added integer, OUT files_removed integer,
	OUT snapshots_expired integer)
LANGUAGE c VOLATILE STRICT AS 'MODULE_PATHNAME', 'btexport_iceberg_compact';
REVOKE ALL ON FUNCTION btexport._iceberg_compact(btexport.automations) FROM PUBLIC;

CREATE OR REPLACE FUNCTION btexport._iceberg_expire(a btexport.automations, keep integer, older_than interval,
	OUT snapshot_id bigint, OUT rows bigint, OUT files_added integer, OUT files_removed integer,
	OUT snapshots_expired integer)
LANGUAGE c VOLATILE AS 'MODULE_PATHNAME', 'btexport_iceberg_expire';
REVOKE ALL ON FUNCTION btexport._iceberg_expire(btexport.automations, integer, interval) FROM PUBLIC;

-- may table maintenance run on automation a now?  An Iceberg automation, and runnable
CREATE OR REPLACE FUNCTION btexport._check_iceberg_maintenance(a btexport.automations)
RETURNS void LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
BEGIN
	IF a.format IS DISTINCT FROM 'iceberg' THEN
		RAISE EXCEPTION 'automation "%" does not write an Iceberg table', a.name
			USING ERRCODE = '55000', DETAIL = format('It writes %s files to %s.', a.format, a.s3_path),
				  HINT = 'Table maintenance applies to automations created with format => ''iceberg''.';
	END IF;
	PERFORM btexport._check_runnable(a);
END
$$;

-- ... and, checked under the run lock (src/api/iceberg.c): no run that a crash left 'running' or
-- that failed with objects still to be removed (its next run decides what of them stays)
CREATE OR REPLACE FUNCTION btexport._check_iceberg_leftovers(a btexport.automations)
RETURNS void LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
BEGIN
	IF EXISTS (SELECT 1 FROM btexport.runs r WHERE r.automation_id = a.id
				AND r.status IN ('failed', 'cancelled', 'running') AND NOT r.cleaned AND r.base_key IS NOT NULL) THEN
		RAISE EXCEPTION 'automation "%" has a run that did not end cleanly and left files not yet removed', a.name
			USING ERRCODE = '55000',
				  DETAIL = 'The next run removes them (or keeps them, if the run committed its snapshot); maintenance before that could not tell them apart.',
				  HINT = format('Run the automation once, then call again: SELECT * FROM btexport.run(%L, wait => true);', a.name);
	END IF;
END
$$;
REVOKE ALL ON FUNCTION btexport._check_iceberg_leftovers(btexport.automations) FROM PUBLIC;

-- compaction rewrites the table from the local span store: not for an automation whose source is
-- Braintrust's API (its rows are not in this database)
CREATE OR REPLACE FUNCTION btexport._check_compactable(a btexport.automations)
RETURNS void LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
BEGIN
	IF a.connection IS NOT NULL THEN
		RAISE EXCEPTION 'automation "%" reads Braintrust''s API: its table cannot be compacted from this database', a.name
			USING ERRCODE = '0A000',
				  DETAIL = 'Compaction rewrites the table from the local span store.',
				  HINT = 'Expire old snapshots with btexport.iceberg_expire_snapshots; compact with an engine that rewrites Iceberg tables (Spark''s rewrite_data_files).';
	END IF;
END
$$;


-- keep the current snapshot and its keep - 1 newest ancestors, and those younger than older_than
CREATE OR REPLACE FUNCTION btexport._check_expire_args(keep integer, older_than interval)
RETURNS void LANGUAGE plpgsql IMMUTABLE SET search_path = pg_catalog, pg_temp AS $$
BEGIN
	IF keep IS NULL OR keep < 1 THEN
		RAISE EXCEPTION 'keep must be at least 1'
			USING ERRCODE = '22023', DETAIL = format('keep => %s was given.', coalesce(keep::text, 'NULL')),
				  HINT = 'The current snapshot always stays: keep => 1 keeps it alone, keep => 5 it and its four newest ancestors.';
	END IF;
	IF older_than IS NOT NULL AND older_than < '0'::interval THEN
		RAISE EXCEPTION 'older_than must not be negative'
			USING ERRCODE = '22023', HINT = 'Pass an age, e.g. older_than => ''7 days''; snapshots younger than it stay.';
	END IF;
END
$$;

-- The public calls, by name (text) and by id (bigint): generated, one text for both forms
DO $gen$
DECLARE
	form text;				-- "automation text" | "automation_id bigint"
BEGIN
	FOREACH form IN ARRAY ARRAY['automation text', 'automation_id bigint'] LOOP
		EXECUTE format($f$
CREATE OR REPLACE FUNCTION btexport.iceberg_compact(%1$s,
	OUT snapshot_id bigint, OUT rows bigint, OUT files_added integer, OUT files_removed integer)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $b$
DECLARE
	a btexport.automations := btexport._automation_for_caller(%2$I);
BEGIN
	PERFORM btexport._check_iceberg_maintenance(a);
	PERFORM btexport._check_compactable(a);
	SELECT c.snapshot_id, c.rows, c.files_added, c.files_removed
	  INTO snapshot_id, rows, files_added, files_removed FROM btexport._iceberg_compact(a) c;
END
$b$$f$, form, split_part(form, ' ', 1));
		EXECUTE format($f$
CREATE OR REPLACE FUNCTION btexport.iceberg_expire_snapshots(%1$s, keep integer DEFAULT 1,
	older_than interval DEFAULT NULL,
	OUT snapshot_id bigint, OUT snapshots_expired integer, OUT files_removed integer)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $b$
DECLARE
	a btexport.automations := btexport._automation_for_caller(%2$I);
BEGIN
	PERFORM btexport._check_expire_args(keep, older_than);
	PERFORM btexport._check_iceberg_maintenance(a);
	SELECT e.snapshot_id, e.snapshots_expired, e.files_removed
	  INTO snapshot_id, snapshots_expired, files_removed FROM btexport._iceberg_expire(a, keep, older_than) e;
END
$b$$f$, form, split_part(form, ' ', 1));
	END LOOP;
END
$gen$;
COMMENT ON FUNCTION btexport.iceberg_compact(text) IS 'rewrite an Iceberg automation''s table into fewer files with its deletes folded in (a replace snapshot)';
COMMENT ON FUNCTION btexport.iceberg_expire_snapshots(text, integer, interval) IS 'drop old snapshots of an Iceberg automation''s table and delete the files only they used';

GRANT EXECUTE ON FUNCTION btexport.iceberg_compact(text), btexport.iceberg_compact(bigint),
	btexport.iceberg_expire_snapshots(text, integer, interval),
	btexport.iceberg_expire_snapshots(bigint, integer, interval) TO btexport_user;
