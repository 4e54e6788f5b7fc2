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

-- create (or find) a project by name; id: the project's id (to keep an id the SDK's events carry)
CREATE OR REPLACE FUNCTION btexport.create_project(name text, org_id uuid DEFAULT NULL, id uuid DEFAULT NULL)
RETURNS uuid LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	pid uuid;
	other text;
BEGIN
	IF name IS NULL OR name = '' THEN
		RAISE EXCEPTION 'project name must not be empty'
			USING ERRCODE = '22023', HINT = 'Pass a non-empty project name.';
	END IF;
	SELECT p.id INTO pid FROM btexport.projects p WHERE p.name = create_project.name;
	IF pid IS NOT NULL AND create_project.id IS NOT NULL AND pid <> create_project.id THEN
		RAISE EXCEPTION 'project "%" already exists with another id', name
			USING ERRCODE = '42710', DETAIL = format('Its id is %s, not %s.', pid, create_project.id),
				  HINT = 'Choose another name for the project with that id.';
	END IF;
	IF pid IS NULL AND create_project.id IS NOT NULL THEN
		SELECT p.name INTO other FROM btexport.projects p WHERE p.id = create_project.id;
		IF other IS NOT NULL THEN
			RAISE EXCEPTION 'a project with id % already exists', create_project.id
				USING ERRCODE = '42710', DETAIL = format('Its name is "%s".', other),
					  HINT = 'Log into that project by its id or name.';
		END IF;
	END IF;
	IF pid IS NULL THEN
		INSERT INTO btexport.projects (id, name, org_id)
		VALUES (COALESCE(create_project.id, pg_catalog.gen_random_uuid()), create_project.name, create_project.org_id)
		RETURNING projects.id INTO pid;
	END IF;
	RETURN pid;
END
$$;
COMMENT ON FUNCTION btexport.create_project(text, uuid, uuid) IS 'create a project (or return the id of the existing one with that name); id keeps a given project id';

-- resolve a project given by id or name; raises 42704 with a hint when unknown
CREATE OR REPLACE FUNCTION btexport._resolve_project(project text)
RETURNS uuid LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	pid uuid;
BEGIN
	IF project IS NULL OR project = '' THEN
		RAISE EXCEPTION 'project must be given'
			USING ERRCODE = '22004', HINT = 'Pass the project''s name or id, e.g. project => ''my-app''.';
	END IF;
	SELECT p.id INTO pid FROM btexport.projects p
	 WHERE p.name = project OR p.id::text = pg_catalog.lower(project);
	IF pid IS NULL THEN
		RAISE EXCEPTION 'project "%" does not exist', project
			USING ERRCODE = '42704',
				  HINT = 'Create it with btexport.create_project(name), or check btexport.projects for the name or id.';
	END IF;
	RETURN pid;
END
$$;
