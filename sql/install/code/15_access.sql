-- ---------------------------------------------------------------------------
-- Project access (docs/security.md "Projects"): every project has an owner, who
-- holds every privilege on its spans and grants others
--   read    SELECT its spans, btexport.query() over it
--   ingest  btexport.log(), log_text(), INSERT / UPDATE / DELETE of its spans
--   export  automations that export it (an export can be read, so export includes read)
-- Members of a role (pg_has_role ... 'USAGE') have its privileges; a grant to
-- btexport_user is a grant to every btexport user; superusers have all of them.
-- Row-level security on logs, projects and project_grants enforces this for every
-- statement of an ordinary role, including an export, which runs as the automation's
-- owner; the SECURITY DEFINER API checks the same rule with btexport._may_project().
-- ---------------------------------------------------------------------------

-- the projects on which `role` holds `privilege` (read | ingest | export | any | own).
-- SECURITY DEFINER: it reads projects and project_grants past their own policies (the
-- policies call it, so a policy-bound read would recurse).  Not executable by anyone:
-- btexport._visible_projects() calls it with the current user, _may_project() with the
-- role the API acts for.
CREATE OR REPLACE FUNCTION btexport._projects_of(role oid, privilege text)
RETURNS uuid[] LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
	SELECT COALESCE(array_agg(p.id), '{}')
	  FROM btexport.projects p
	 WHERE pg_has_role(_projects_of.role, p.owner::oid, 'USAGE')
		OR (_projects_of.privilege <> 'own' AND EXISTS (
			SELECT 1 FROM btexport.project_grants g
			 WHERE g.project_id = p.id AND pg_has_role(_projects_of.role, g.grantee::oid, 'USAGE')
			   AND (g.privilege = _projects_of.privilege OR _projects_of.privilege = 'any'
					OR (_projects_of.privilege = 'read' AND g.privilege = 'export'))))
$$;
REVOKE ALL ON FUNCTION btexport._projects_of(oid, text) FROM PUBLIC;

-- the projects on which the current user holds `privilege`: what the row-level security
-- policies compare with, evaluated once per statement (an InitPlan).  In C so that it sees
-- the current user (inside a SECURITY DEFINER function it would be the definer).
CREATE OR REPLACE FUNCTION btexport._visible_projects(privilege text)
RETURNS uuid[] LANGUAGE c STABLE STRICT PARALLEL RESTRICTED AS 'MODULE_PATHNAME', 'btexport_visible_projects';

-- does `role` hold `privilege` on project `project`?
CREATE OR REPLACE FUNCTION btexport._may_project(role oid, project uuid, privilege text)
RETURNS boolean LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
	SELECT project = ANY (btexport._projects_of(role, privilege))
$$;
REVOKE ALL ON FUNCTION btexport._may_project(oid, uuid, text) FROM PUBLIC;

-- is this text a project id (a UUID, any case)?  Where a project is named, a UUID is only ever an id.
CREATE OR REPLACE FUNCTION btexport._is_uuid(t text)
RETURNS boolean LANGUAGE sql IMMUTABLE PARALLEL SAFE SET search_path = pg_catalog, pg_temp AS $$
	SELECT t ~* '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$'
$$;

-- why a new project name is refused, or NULL.  A project is named by its id or its name
-- everywhere (log, create_automation, project_logs() in BTQL): a name shaped like an id would
-- be ambiguous, so ids are never names.  The length keeps the name's unique index usable.
CREATE OR REPLACE FUNCTION btexport._project_name_problem(name text)
RETURNS text LANGUAGE sql IMMUTABLE SET search_path = pg_catalog, pg_temp AS $$
	SELECT CASE
		WHEN name IS NULL OR name = '' THEN 'empty'
		WHEN octet_length(name) > 512 THEN 'too long'
		WHEN name ~ '[\x01-\x1f\x7f]' THEN 'control characters'
		WHEN btexport._is_uuid(name) THEN 'id-shaped'
	END
$$;

CREATE OR REPLACE FUNCTION btexport._check_project_name(name text)
RETURNS void LANGUAGE plpgsql IMMUTABLE SET search_path = pg_catalog, pg_temp AS $$
BEGIN
	CASE btexport._project_name_problem(name)
		WHEN 'empty' THEN
			RAISE EXCEPTION 'project name must not be empty'
				USING ERRCODE = '22023', HINT = 'Pass a non-empty project name.';
		WHEN 'too long' THEN
			RAISE EXCEPTION 'project name is too long'
				USING ERRCODE = '22001', DETAIL = format('The name has %s bytes; at most 512 are allowed.', octet_length(name)),
					  HINT = 'Choose a shorter project name.';
		WHEN 'control characters' THEN
			RAISE EXCEPTION 'project name must not contain control characters'
				USING ERRCODE = '22023', HINT = 'Use printable characters only (no tabs, newlines or other control characters).';
		WHEN 'id-shaped' THEN
			RAISE EXCEPTION 'project name "%" has the form of a project id', name
				USING ERRCODE = '22023',
					  DETAIL = 'Projects are referred to by id or by name; a name shaped like a UUID would be taken for an id.',
					  HINT = 'Choose a name that is not a UUID.';
		ELSE NULL;
	END CASE;
END
$$;

-- Row-level security (ENABLE in sql/install/schema/10_spanstore.sql).  Superusers and the
-- tables' owner bypass it; every other role sees and writes only what its privileges allow.
-- Policies added by an administrator should be RESTRICTIVE: a permissive one widens these.
DROP POLICY IF EXISTS logs_read ON btexport.logs;
DROP POLICY IF EXISTS logs_insert ON btexport.logs;
DROP POLICY IF EXISTS logs_update ON btexport.logs;
DROP POLICY IF EXISTS logs_delete ON btexport.logs;
CREATE POLICY logs_read ON btexport.logs FOR SELECT
	USING (project_id OPERATOR(pg_catalog.=) ANY ((SELECT btexport._visible_projects('read'))::uuid[]));
CREATE POLICY logs_insert ON btexport.logs FOR INSERT
	WITH CHECK (project_id OPERATOR(pg_catalog.=) ANY ((SELECT btexport._visible_projects('ingest'))::uuid[]));
CREATE POLICY logs_update ON btexport.logs FOR UPDATE
	USING (project_id OPERATOR(pg_catalog.=) ANY ((SELECT btexport._visible_projects('ingest'))::uuid[]))
	WITH CHECK (project_id OPERATOR(pg_catalog.=) ANY ((SELECT btexport._visible_projects('ingest'))::uuid[]));
CREATE POLICY logs_delete ON btexport.logs FOR DELETE
	USING (project_id OPERATOR(pg_catalog.=) ANY ((SELECT btexport._visible_projects('ingest'))::uuid[]));

DROP POLICY IF EXISTS projects_read ON btexport.projects;
DROP POLICY IF EXISTS projects_insert ON btexport.projects;
DROP POLICY IF EXISTS projects_update ON btexport.projects;
-- a project is visible to whoever holds any privilege on it
CREATE POLICY projects_read ON btexport.projects FOR SELECT
	USING (id OPERATOR(pg_catalog.=) ANY ((SELECT btexport._visible_projects('any'))::uuid[]));
-- anyone with INSERT may create a project, owned by a role of theirs
CREATE POLICY projects_insert ON btexport.projects FOR INSERT
	WITH CHECK (pg_catalog.pg_has_role(CURRENT_USER, owner::oid, 'USAGE')
				AND btexport._project_name_problem(name) IS NULL);
-- only the owner renames it (or gives it to another role of theirs)
CREATE POLICY projects_update ON btexport.projects FOR UPDATE
	USING (id OPERATOR(pg_catalog.=) ANY ((SELECT btexport._visible_projects('own'))::uuid[]))
	WITH CHECK (pg_catalog.pg_has_role(CURRENT_USER, owner::oid, 'USAGE')
				AND btexport._project_name_problem(name) IS NULL);

DROP POLICY IF EXISTS project_grants_read ON btexport.project_grants;
-- grants are visible to their grantees and to the project's owner
CREATE POLICY project_grants_read ON btexport.project_grants FOR SELECT
	USING (pg_catalog.pg_has_role(CURRENT_USER, grantee::oid, 'USAGE')
		   OR project_id OPERATOR(pg_catalog.=) ANY ((SELECT btexport._visible_projects('own'))::uuid[]));

-- a project given by id (a UUID) or by name, visible to the role the API acts for
-- (btexport._invoker()); 42704 when there is none.  A UUID is only ever an id.
CREATE OR REPLACE FUNCTION btexport._project_for_caller(project text)
RETURNS btexport.projects LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	p btexport.projects;
BEGIN
	IF project IS NULL OR project = '' THEN
		RAISE EXCEPTION 'project must be given'
			USING ERRCODE = '22004', HINT = 'Pass the project''s name or id, e.g. project => ''my-app''.';
	END IF;
	IF btexport._is_uuid(project) THEN
		SELECT * INTO p FROM btexport.projects x WHERE x.id = project::uuid;
	ELSE
		SELECT * INTO p FROM btexport.projects x WHERE x.name = project;
	END IF;
	IF p.id IS NULL OR NOT btexport._may_project(btexport._invoker(), p.id, 'any') THEN
		RAISE EXCEPTION 'project "%" does not exist', btexport._excerpt(project)
			USING ERRCODE = '42704',
				  HINT = 'Create it with btexport.create_project(name), or see btexport.projects for the projects you may use.';
	END IF;
	RETURN p;
END
$$;
REVOKE ALL ON FUNCTION btexport._project_for_caller(text) FROM PUBLIC;

-- resolve a project given by id or name (a UUID is only ever an id) that the caller may
-- use; raises 42704 with a hint when there is none
CREATE OR REPLACE FUNCTION btexport._resolve_project(project text)
RETURNS uuid LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
	SELECT (btexport._project_for_caller(project)).id
$$;

-- a value for an error message: at most 64 characters, control characters escaped
CREATE OR REPLACE FUNCTION btexport._excerpt(v text)
RETURNS text LANGUAGE sql IMMUTABLE SET search_path = pg_catalog, pg_temp AS $$
	SELECT regexp_replace(CASE WHEN length(v) > 64 THEN left(v, 61) || '...' ELSE v END, '[\x01-\x1f\x7f]', '?', 'g')
$$;

-- the privileges an API call names: read, ingest, export, or all of them
CREATE OR REPLACE FUNCTION btexport._check_privileges(privileges text[])
RETURNS text[] LANGUAGE plpgsql IMMUTABLE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	out text[] := '{}';
	p text;
BEGIN
	IF privileges IS NULL OR cardinality(privileges) = 0 THEN
		RAISE EXCEPTION 'no privilege given'
			USING ERRCODE = '22023', HINT = 'Name one or more of read, ingest, export (or all).';
	END IF;
	FOREACH p IN ARRAY privileges LOOP
		p := lower(btrim(p));
		IF p = 'all' THEN
			out := out || '{read,ingest,export}'::text[];
		ELSIF p IN ('read', 'ingest', 'export') THEN
			out := out || p;
		ELSE
			RAISE EXCEPTION 'unknown project privilege "%"', btexport._excerpt(p)
				USING ERRCODE = '22023',
					  DETAIL = 'read: query its spans; ingest: write its spans; export: export it with automations (includes read).',
					  HINT = 'Name one or more of read, ingest, export (or all).';
		END IF;
	END LOOP;
	RETURN ARRAY(SELECT DISTINCT x FROM unnest(out) x ORDER BY x);
END
$$;

-- a role given by name; 42704 when it does not exist
CREATE OR REPLACE FUNCTION btexport._check_role_name(role text)
RETURNS regrole LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	r regrole;
BEGIN
	IF role IS NULL OR role = '' THEN
		RAISE EXCEPTION 'role must be given'
			USING ERRCODE = '22004', HINT = 'Pass a role name, e.g. ''analytics'' (btexport_user means every btexport user).';
	END IF;
	IF lower(role) = 'public' THEN
		RAISE EXCEPTION 'privileges on projects cannot be granted to PUBLIC'
			USING ERRCODE = '22023', HINT = 'Grant them to btexport_user to reach every btexport user.';
	END IF;
	BEGIN
		r := to_regrole(quote_ident(role));
	EXCEPTION WHEN others THEN
		r := NULL;
	END;
	IF r IS NULL THEN
		RAISE EXCEPTION 'role "%" does not exist', btexport._excerpt(role)
			USING ERRCODE = '42704', HINT = 'Pass the name of an existing role (see pg_roles).';
	END IF;
	RETURN r;
END
$$;

-- the project an owner acts on: visible, and owned by the caller (or a superuser calls)
CREATE OR REPLACE FUNCTION btexport._project_owned_by_caller(project text)
RETURNS btexport.projects LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	p btexport.projects := btexport._project_for_caller(project);
BEGIN
	IF NOT btexport._may_project(btexport._invoker(), p.id, 'own') THEN
		RAISE EXCEPTION 'only the owner of project "%" can change its privileges', btexport._excerpt(p.name)
			USING ERRCODE = '42501', DETAIL = format('The project belongs to %s.', p.owner),
				  HINT = 'Ask its owner (or a superuser) to do it.';
	END IF;
	RETURN p;
END
$$;
REVOKE ALL ON FUNCTION btexport._project_owned_by_caller(text) FROM PUBLIC;

-- grant privileges on a project (its owner or a superuser); returns what the role now holds
CREATE OR REPLACE FUNCTION btexport.grant_project(project text, role text, VARIADIC privileges text[])
RETURNS text[] LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	p btexport.projects := btexport._project_owned_by_caller(project);
	r regrole := btexport._check_role_name(role);
	privs text[] := btexport._check_privileges(privileges);
BEGIN
	INSERT INTO btexport.project_grants (project_id, grantee, privilege, granted_by)
	SELECT p.id, r, x, btexport._invoker() FROM unnest(privs) x
	ON CONFLICT DO NOTHING;
	RETURN ARRAY(SELECT g.privilege FROM btexport.project_grants g
				  WHERE g.project_id = p.id AND g.grantee = r ORDER BY 1);
END
$$;
COMMENT ON FUNCTION btexport.grant_project(text, text, text[]) IS
	'give a role read, ingest and/or export on a project (the project''s owner or a superuser)';

-- revoke privileges on a project; returns what the role still holds
CREATE OR REPLACE FUNCTION btexport.revoke_project(project text, role text, VARIADIC privileges text[])
RETURNS text[] LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	p btexport.projects := btexport._project_owned_by_caller(project);
	r regrole := btexport._check_role_name(role);
	privs text[] := btexport._check_privileges(privileges);
	n bigint;
BEGIN
	DELETE FROM btexport.project_grants g WHERE g.project_id = p.id AND g.grantee = r AND g.privilege = ANY (privs);
	IF 'export' = ANY (privs) OR 'read' = ANY (privs) THEN
		SELECT count(*) INTO n FROM btexport.automations a
		 WHERE a.project_id = p.id AND NOT btexport._may_project(a.owner, p.id, 'export');
		IF n > 0 THEN
			RAISE WARNING '% automation(s) can no longer export project "%"', n, btexport._excerpt(p.name)
				USING DETAIL = 'Their runs fail with SQLSTATE 42501 until the privilege is granted again.',
					  HINT = format('Grant it back with btexport.grant_project(%L, <role>, ''export''), or have their owners drop them.', p.name);
		END IF;
	END IF;
	RETURN ARRAY(SELECT g.privilege FROM btexport.project_grants g
				  WHERE g.project_id = p.id AND g.grantee = r ORDER BY 1);
END
$$;
COMMENT ON FUNCTION btexport.revoke_project(text, text, text[]) IS
	'take read, ingest and/or export on a project back from a role (the project''s owner or a superuser)';

-- give a project to another role (its owner, who must be a member of the new owner, or a superuser)
CREATE OR REPLACE FUNCTION btexport.set_project_owner(project text, new_owner text)
RETURNS btexport.projects LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	p btexport.projects := btexport._project_owned_by_caller(project);
	r regrole := btexport._check_role_name(new_owner);
BEGIN
	IF NOT pg_has_role(btexport._invoker(), r::oid, 'USAGE') THEN
		RAISE EXCEPTION 'you must be a member of role "%" to give it project "%"', r, btexport._excerpt(p.name)
			USING ERRCODE = '42501', HINT = 'Ask a superuser, or a member of that role, to do it.';
	END IF;
	UPDATE btexport.projects x SET owner = r WHERE x.id = p.id RETURNING * INTO p;
	RETURN p;
END
$$;

-- Cleanup after a role is dropped (or before): everything of old_role's in this database
-- (projects, grants, automations with their history, credentials) goes to new_role.
-- old_role may be given as the number btexport's tables show for a dropped role.
CREATE OR REPLACE FUNCTION btexport.reassign_owned(old_role regrole, new_role regrole)
RETURNS TABLE (what text, n bigint) LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	clash text;
BEGIN
	IF NOT btexport._invoker_is_superuser() THEN
		RAISE EXCEPTION 'only a superuser can reassign btexport objects'
			USING ERRCODE = '42501', HINT = 'Ask a superuser; owners can give a project away with btexport.set_project_owner.';
	END IF;
	IF old_role IS NULL OR new_role IS NULL OR NOT EXISTS (SELECT 1 FROM pg_roles r WHERE r.oid = new_role) THEN
		RAISE EXCEPTION 'reassign_owned needs the old role and an existing new role'
			USING ERRCODE = '22004', HINT = 'Pass e.g. btexport.reassign_owned(''16385'', ''analytics'').';
	END IF;
	SELECT c.name INTO clash FROM btexport.credentials c
	 WHERE c.owner = old_role AND EXISTS (SELECT 1 FROM btexport.credentials d WHERE d.owner = new_role AND d.name = c.name)
	 LIMIT 1;
	IF clash IS NOT NULL THEN
		RAISE EXCEPTION 'role % already has a credential named "%"', new_role, clash
			USING ERRCODE = '42710', HINT = 'Drop or rename one of the two credentials first.';
	END IF;
	SELECT c.name INTO clash FROM btexport.connections c
	 WHERE c.owner = old_role AND EXISTS (SELECT 1 FROM btexport.connections d WHERE d.owner = new_role AND d.name = c.name)
	 LIMIT 1;
	IF clash IS NOT NULL THEN
		RAISE EXCEPTION 'role % already has a Braintrust connection named "%"', new_role, clash
			USING ERRCODE = '42710', HINT = 'Drop one of the two connections first.';
	END IF;
	-- credentials and connections first: copied to the new owner (with the same secrets' ids), the
	-- automations' references moved, the old rows deleted
	what := 'credentials';
	WITH c AS (INSERT INTO btexport.credentials (name, owner, access_key_id, secret, token_secret, created)
			   SELECT c.name, new_role, c.access_key_id, c.secret, c.token_secret, c.created
				 FROM btexport.credentials c WHERE c.owner = old_role RETURNING 1)
	SELECT count(*) INTO n FROM c;
	UPDATE btexport.automations a SET credential_owner = new_role WHERE a.credential_owner = old_role;
	DELETE FROM btexport.credentials c WHERE c.owner = old_role;
	RETURN NEXT;
	what := 'connections';
	WITH c AS (INSERT INTO btexport.connections (name, owner, api_key, org_name, app_url, api_url, created, updated)
			   SELECT c.name, new_role, c.api_key, c.org_name, c.app_url, c.api_url, c.created, now()
				 FROM btexport.connections c WHERE c.owner = old_role RETURNING 1)
	SELECT count(*) INTO n FROM c;
	UPDATE btexport.automations a SET connection_owner = new_role WHERE a.connection_owner = old_role;
	DELETE FROM btexport.connections c WHERE c.owner = old_role;
	RETURN NEXT;
	what := 'automations';
	UPDATE btexport.automations a SET owner = new_role, updated = now() WHERE a.owner = old_role;
	GET DIAGNOSTICS n = ROW_COUNT;
	RETURN NEXT;
	UPDATE btexport.runs r SET owner = new_role WHERE r.owner = old_role;
	UPDATE btexport.run_files f SET owner = new_role WHERE f.owner = old_role;
	what := 'projects';
	UPDATE btexport.projects p SET owner = new_role WHERE p.owner = old_role;
	GET DIAGNOSTICS n = ROW_COUNT;
	RETURN NEXT;
	what := 'project grants';
	INSERT INTO btexport.project_grants (project_id, grantee, privilege, granted_by, granted)
	SELECT g.project_id, new_role, g.privilege, g.granted_by, g.granted FROM btexport.project_grants g
	 WHERE g.grantee = old_role ON CONFLICT DO NOTHING;
	DELETE FROM btexport.project_grants g WHERE g.grantee = old_role;
	GET DIAGNOSTICS n = ROW_COUNT;
	RETURN NEXT;
END
$$;
COMMENT ON FUNCTION btexport.reassign_owned(regrole, regrole) IS
	'superuser: give a (possibly dropped) role''s projects, grants, automations, credentials and Braintrust connections to another role';

GRANT EXECUTE ON FUNCTION btexport.grant_project(text, text, text[]), btexport.revoke_project(text, text, text[]),
	btexport.set_project_owner(text, text) TO btexport_user;
