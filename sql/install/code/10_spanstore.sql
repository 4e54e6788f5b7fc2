-- ---------------------------------------------------------------------------
-- Span store: the trigger that stamps each write, project lookup.
-- ---------------------------------------------------------------------------

-- Every insert and update stamps the writing transaction, whatever the client sent.
CREATE OR REPLACE FUNCTION btexport._stamp_xact_id() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
	NEW._xact_id := pg_catalog.pg_current_xact_id();
	NEW._updated := pg_catalog.now();
	RETURN NEW;
END
$$;
CREATE OR REPLACE TRIGGER logs_stamp_xact_id BEFORE INSERT OR UPDATE ON btexport.logs
	FOR EACH ROW EXECUTE FUNCTION btexport._stamp_xact_id();

-- create a project owned by the caller, or return the id of the one with that name when
-- the caller may use it (docs/security.md "Projects": project names are unique in the database)
CREATE OR REPLACE FUNCTION btexport.create_project(name text, org_id uuid DEFAULT NULL)
RETURNS uuid LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	p btexport.projects;
BEGIN
	SELECT * INTO p FROM btexport.projects x WHERE x.name = create_project.name;
	IF p.id IS NULL THEN
		PERFORM btexport._check_project_name(name);
		INSERT INTO btexport.projects AS x (name, org_id, owner)
		VALUES (create_project.name, create_project.org_id, btexport._invoker())
			ON CONFLICT ON CONSTRAINT projects_name_key DO NOTHING RETURNING * INTO p;
		IF p.id IS NULL THEN		-- created concurrently
			SELECT * INTO p FROM btexport.projects x WHERE x.name = create_project.name;
		END IF;
	END IF;
	IF NOT btexport._may_project(btexport._invoker(), p.id, 'any') THEN
		RAISE EXCEPTION 'project "%" already exists', btexport._excerpt(name)
			USING ERRCODE = '42710',
				  DETAIL = 'Project names are unique in the database; the project belongs to another role.',
				  HINT = 'Choose another name, or ask the project''s owner for access (btexport.grant_project).';
	END IF;
	RETURN p.id;
END
$$;
COMMENT ON FUNCTION btexport.create_project(text, uuid) IS 'create a project (or return the id of the existing one with that name)';
