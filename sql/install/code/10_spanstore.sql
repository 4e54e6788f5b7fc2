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
-- the caller may use it (docs/security.md "Projects": project names are unique in the database).
-- id: the new project's id (to keep the project id the SDK's events carry; docs/ingest.md).
-- Another role's project is never described (its id or name) to a caller who may not use it.
CREATE OR REPLACE FUNCTION btexport.create_project(name text, org_id uuid DEFAULT NULL, id uuid DEFAULT NULL)
RETURNS uuid LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	p btexport.projects;
	other btexport.projects;
BEGIN
	SELECT * INTO p FROM btexport.projects x WHERE x.name = create_project.name;
	IF p.id IS NULL THEN
		PERFORM btexport._check_project_name(name);
		IF create_project.id IS NOT NULL THEN
			SELECT * INTO other FROM btexport.projects x WHERE x.id = create_project.id;
			IF other.id IS NOT NULL THEN
				IF btexport._may_project(btexport._invoker(), other.id, 'any') THEN
					RAISE EXCEPTION 'a project with id % already exists', create_project.id
						USING ERRCODE = '42710', DETAIL = format('Its name is "%s".', btexport._excerpt(other.name)),
							  HINT = 'Log into that project by its id or name.';
				END IF;
				RAISE EXCEPTION 'a project with id % already exists', create_project.id
					USING ERRCODE = '42710', DETAIL = 'Project ids are unique in the database; the project belongs to another role.',
						  HINT = 'Ask the project''s owner for access (btexport.grant_project), or create the project without an id.';
			END IF;
		END IF;
		INSERT INTO btexport.projects AS x (id, name, org_id, owner)
		VALUES (COALESCE(create_project.id, pg_catalog.gen_random_uuid()), create_project.name,
				create_project.org_id, btexport._invoker())
			ON CONFLICT DO NOTHING RETURNING * INTO p;
		IF p.id IS NULL THEN		-- created concurrently
			SELECT * INTO p FROM btexport.projects x WHERE x.name = create_project.name;
			IF p.id IS NULL THEN
				RAISE EXCEPTION 'a project with id % already exists', create_project.id
					USING ERRCODE = '42710', DETAIL = 'It was created concurrently.',
						  HINT = 'Log into that project by its id, or create the project without an id.';
			END IF;
		END IF;
	END IF;
	IF NOT btexport._may_project(btexport._invoker(), p.id, 'any') THEN
		RAISE EXCEPTION 'project "%" already exists', btexport._excerpt(name)
			USING ERRCODE = '42710',
				  DETAIL = 'Project names are unique in the database; the project belongs to another role.',
				  HINT = 'Choose another name, or ask the project''s owner for access (btexport.grant_project).';
	END IF;
	IF create_project.id IS NOT NULL AND p.id <> create_project.id THEN
		RAISE EXCEPTION 'project "%" already exists with another id', btexport._excerpt(name)
			USING ERRCODE = '42710', DETAIL = format('Its id is %s, not %s.', p.id, create_project.id),
				  HINT = 'Choose another name for the project with that id.';
	END IF;
	RETURN p.id;
END
$$;
COMMENT ON FUNCTION btexport.create_project(text, uuid, uuid) IS 'create a project owned by the caller (or return the id of the existing one with that name); id keeps a given project id';
