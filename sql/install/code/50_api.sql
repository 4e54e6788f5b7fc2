-- ---------------------------------------------------------------------------
-- SQL API: credentials and automations.
-- These functions are SECURITY DEFINER so that the configuration tables stay
-- behind the API; they act for btexport._invoker(), the calling role.
-- Automations are named by text and identified by a number: every function taking
-- one has a text form (the name) and a bigint form (the id), never one for the other.
-- ---------------------------------------------------------------------------

-- The rules for a credential's keys (create_credential, update_credential): nothing is stored
-- unless all of them hold.
CREATE OR REPLACE FUNCTION btexport._check_credential_keys(name text, access_key_id text, secret_access_key text,
												session_token text)
RETURNS void LANGUAGE plpgsql IMMUTABLE SET search_path = pg_catalog, pg_temp AS $$
BEGIN
	IF access_key_id IS NULL OR access_key_id !~ '^[A-Z0-9]{16,128}$' THEN
		RAISE EXCEPTION 'invalid access key id for credential "%"', name
			USING ERRCODE = '22023', DETAIL = 'An AWS access key id is 16 to 128 upper-case letters and digits, such as AKIAIOSFODNN7EXAMPLE.',
				  HINT = 'Copy the access key id of the IAM user or role session.';
	END IF;
	IF secret_access_key IS NULL OR length(secret_access_key) NOT BETWEEN 1 AND 1024
	   OR secret_access_key ~ '[\s\x01-\x1f\x7f]' THEN
		RAISE EXCEPTION 'invalid secret access key for credential "%"', name
			USING ERRCODE = '22023', HINT = 'Pass the secret access key exactly as AWS issued it.';
	END IF;
	IF session_token IS NOT NULL AND (length(session_token) NOT BETWEEN 1 AND 8192
									  OR session_token ~ '[\s\x01-\x1f\x7f]') THEN
		RAISE EXCEPTION 'invalid session token for credential "%"', name
			USING ERRCODE = '22023', HINT = 'Pass the session token exactly as AWS STS issued it, or leave it out.';
	END IF;
END
$$;
REVOKE ALL ON FUNCTION btexport._check_credential_keys(text, text, text, text) FROM PUBLIC;

CREATE OR REPLACE FUNCTION btexport.create_credential(name text, access_key_id text, secret_access_key text,
										   session_token text DEFAULT NULL)
RETURNS text LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
	-- secrets must not reach the server log (docs/security.md "Secrets"): refused unless
	-- btexport is preloaded, whose log hook redacts this call's statement and parameters
	PERFORM btexport._check_secret_logging();
	IF name IS NULL OR name !~ '^[A-Za-z0-9_.@:+=-]{1,128}$' THEN
		RAISE EXCEPTION 'invalid credential name "%"', btexport._excerpt(name)
			USING ERRCODE = '22023', HINT = 'Use 1 to 128 letters, digits and _ . @ : + = -.';
	END IF;
	PERFORM btexport._check_credential_keys(name, access_key_id, secret_access_key, session_token);
	-- names are per owner: only the caller's own credentials can collide
	IF EXISTS (SELECT 1 FROM btexport.credentials c
				WHERE c.owner = btexport._invoker() AND c.name = create_credential.name) THEN
		RAISE EXCEPTION 'credential "%" already exists', name
			USING ERRCODE = '42710', HINT = 'Drop it first with btexport.drop_credential(name), or choose another name.';
	END IF;
	-- the secrets go to the one secret store (52_connections.sql), the row keeps their ids
	INSERT INTO btexport.credentials (name, owner, access_key_id, secret, token_secret)
	VALUES (name, btexport._invoker(), access_key_id, btexport._secret_store(secret_access_key),
			CASE WHEN session_token IS NOT NULL THEN btexport._secret_store(session_token) END);
	RETURN name;
END
$$;
COMMENT ON FUNCTION btexport.create_credential(text, text, text, text) IS 'store named static AWS keys; the secret can never be read back';

-- The owner and name of the credential or connection (tbl: 'credentials' or 'connections',
-- never a user's input) that `ref` names for `role` (an automation's owner, or the caller):
-- the role's own of that name, else the one of that name of a role it is a member of;
-- '<owner>/<name>' picks one of several.  Another role's is never found (names are per
-- owner).  noun: 'credential' or 'connection', how_to_create and info: for the hints.
CREATE OR REPLACE FUNCTION btexport._owned_name(role oid, tbl text, ref text, noun text, how_to_create text, info text,
												OUT owner regrole, OUT name text)
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	cname text := ref;
	cowner regrole;
	n integer;
	q text := format('SELECT x.owner, x.name FROM btexport.%I x WHERE x.name = $2 AND ', tbl);
BEGIN
	IF ref ~ '/' THEN
		cname := substring(ref FROM '/([^/]*)$');
		BEGIN
			cowner := to_regrole(substring(ref FROM '^(.*)/[^/]*$'));
		EXCEPTION WHEN others THEN
			cowner := NULL;
		END;
		EXECUTE q || 'x.owner = $3 AND pg_has_role($1, x.owner::oid, ''USAGE'')' INTO owner, name USING role, cname, cowner;
	ELSE
		EXECUTE q || 'x.owner = $1' INTO owner, name USING role, cname;
		IF name IS NULL THEN
			EXECUTE format('SELECT count(*) FROM btexport.%I x WHERE x.name = $2 AND pg_has_role($1, x.owner::oid, ''USAGE'')', tbl)
				INTO n USING role, cname;
			IF n > 1 THEN
				RAISE EXCEPTION '% name "%" is ambiguous', noun, btexport._excerpt(ref)
					USING ERRCODE = '42725',
						  DETAIL = format('%s roles whose %ss you may use have a %s of that name.', n, noun, noun),
						  HINT = format('Name it with its owner, as ''<owner>/<name>'' (see %s).', info);
			END IF;
			EXECUTE q || 'pg_has_role($1, x.owner::oid, ''USAGE'')' INTO owner, name USING role, cname;
		END IF;
	END IF;
	IF name IS NULL THEN
		RAISE EXCEPTION '%"%" does not exist', CASE noun WHEN 'connection' THEN 'Braintrust connection ' ELSE noun || ' ' END,
			btexport._excerpt(ref)
			USING ERRCODE = '42704', HINT = format('Create it with %s, or see %s.', how_to_create, info);
	END IF;
END
$$;
REVOKE ALL ON FUNCTION btexport._owned_name(oid, text, text, text, text, text) FROM PUBLIC;

-- the credential `credential` names for `role` (btexport._owned_name)
CREATE OR REPLACE FUNCTION btexport._credential_for(role oid, credential text)
RETURNS btexport.credentials LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
	SELECT c.* FROM btexport._owned_name(role, 'credentials', credential, 'credential',
			'btexport.create_credential(name, access_key_id, secret_access_key)', 'btexport.credentials_info') o
	  JOIN btexport.credentials c ON c.owner OPERATOR(pg_catalog.=) o.owner AND c.name OPERATOR(pg_catalog.=) o.name
$$;
REVOKE ALL ON FUNCTION btexport._credential_for(oid, text) FROM PUBLIC;

-- Rotate a credential's keys in place (the automations using it sign with the new ones from their
-- next run); also how the secret is set again in a database restored from a dump.  The same
-- rules as create_credential: the caller's own credential (or its member roles'), the keys
-- checked alike, refused without the log redaction that keeps the secret out of the server log.
CREATE OR REPLACE FUNCTION btexport.update_credential(name text, access_key_id text, secret_access_key text,
										   session_token text DEFAULT NULL)
RETURNS text LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	c btexport.credentials;
BEGIN
	PERFORM btexport._check_secret_logging();
	c := btexport._credential_for(btexport._invoker(), name);
	PERFORM btexport._check_credential_keys(c.name, access_key_id, secret_access_key, session_token);
	UPDATE btexport.credentials x
	   SET access_key_id = update_credential.access_key_id, secret = btexport._secret_store(secret_access_key),
		   token_secret = CASE WHEN session_token IS NOT NULL THEN btexport._secret_store(session_token) END
	 WHERE x.owner = c.owner AND x.name = c.name;
	PERFORM btexport._secret_forget(c.secret);
	PERFORM btexport._secret_forget(c.token_secret);
	RETURN c.name;
END
$$;
COMMENT ON FUNCTION btexport.update_credential(text, text, text, text) IS 'rotate the keys of a named credential in place (the secret can never be read back)';

CREATE OR REPLACE FUNCTION btexport.drop_credential(name text)
RETURNS void LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	c btexport.credentials := btexport._credential_for(btexport._invoker(), name);
	user_name text;
BEGIN
	SELECT CASE WHEN pg_has_role(btexport._invoker(), a.owner::oid, 'USAGE') THEN format('automation "%s"', a.name)
				ELSE format('an automation of role %s', a.owner) END INTO user_name
	  FROM btexport.automations a WHERE a.credential_owner = c.owner AND a.credential = c.name LIMIT 1;
	IF user_name IS NOT NULL THEN
		RAISE EXCEPTION 'credential "%" is used by %', name, user_name
			USING ERRCODE = '2BP01', HINT = 'Point the automation at another credential with btexport.update_automation, or drop it first.';
	END IF;
	DELETE FROM btexport.credentials x WHERE x.owner = c.owner AND x.name = c.name;
	PERFORM btexport._secret_forget(c.secret);
	PERFORM btexport._secret_forget(c.token_secret);
END
$$;

-- The automation a caller may act on, owned by the caller (or a superuser calls): by name
-- (text) or by id (bigint), never one for the other (docs/security.md "Names and ids").
CREATE OR REPLACE FUNCTION btexport._automation_for_caller(automation text)
RETURNS btexport.automations LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	a btexport.automations;
BEGIN
	SELECT * INTO a FROM btexport.automations x WHERE x.name = automation;
	IF a.id IS NULL OR NOT pg_has_role(btexport._invoker(), a.owner::oid, 'USAGE') THEN
		RAISE EXCEPTION 'automation "%" does not exist', btexport._excerpt(automation)
			USING ERRCODE = '42704',
				  HINT = CASE WHEN automation ~ '^\s*[0-9]+\s*$'
						 THEN format('A text argument is an automation''s name; to use automation %s by its id, pass the number, e.g. btexport.run(%s).',
									 btrim(automation), btrim(automation))
						 ELSE 'See btexport.automations for the automations you own.' END;
	END IF;
	RETURN a;
END
$$;
REVOKE ALL ON FUNCTION btexport._automation_for_caller(text) FROM PUBLIC;

CREATE OR REPLACE FUNCTION btexport._automation_for_caller(automation_id bigint)
RETURNS btexport.automations LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	a btexport.automations;
BEGIN
	SELECT * INTO a FROM btexport.automations x WHERE x.id = automation_id;
	IF a.id IS NULL OR NOT pg_has_role(btexport._invoker(), a.owner::oid, 'USAGE') THEN
		RAISE EXCEPTION 'automation % does not exist', coalesce(automation_id::text, 'NULL')
			USING ERRCODE = '42704', HINT = 'See btexport.automations for the ids of the automations you own.';
	END IF;
	RETURN a;
END
$$;
REVOKE ALL ON FUNCTION btexport._automation_for_caller(bigint) FROM PUBLIC;

-- a new name for an automation: not a number (it would read as an id), no control characters
CREATE OR REPLACE FUNCTION btexport._check_automation_name(name text)
RETURNS void LANGUAGE plpgsql IMMUTABLE SET search_path = pg_catalog, pg_temp AS $$
BEGIN
	IF name ~ '^\s*[0-9]+\s*$' THEN
		RAISE EXCEPTION 'automation name "%" is a number', btrim(name)
			USING ERRCODE = '22023',
				  DETAIL = 'Automations are referred to by name (text) or by id (a number); a name that is a number would read as an id.',
				  HINT = format('Choose a name with a character that is not a digit, e.g. ''export-%s''.', btrim(name));
	END IF;
	IF name ~ '[\x01-\x1f\x7f]' THEN
		RAISE EXCEPTION 'automation name must not contain control characters'
			USING ERRCODE = '22023', HINT = 'Use printable characters only (no tabs, newlines or other control characters).';
	END IF;
END
$$;

-- Why an automation cannot run now, raised as the error its run records (docs/troubleshooting.md):
-- its owner role was dropped, its owner may no longer export its project, or a setting stored
-- by an older version fails today's validation.  The worker calls it before every run; test()
-- before testing a saved automation.
CREATE OR REPLACE FUNCTION btexport._check_runnable(a btexport.automations)
RETURNS void LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	pname text;
BEGIN
	IF NOT EXISTS (SELECT 1 FROM pg_roles r WHERE r.oid = a.owner::oid) THEN
		RAISE EXCEPTION 'the owner of automation "%" no longer exists', a.name
			USING ERRCODE = '42704',
				  DETAIL = format('Role %s was dropped; an automation runs with its owner''s rights, so it cannot run.', a.owner::oid),
				  HINT = format('A superuser can give the dropped role''s automations, credentials, connections and projects to another role with SELECT * FROM btexport.reassign_owned(%L, ''<role>''), or drop the automation.', a.owner::oid);
	END IF;
	IF a.connection IS NULL AND NOT btexport._may_project(a.owner::oid, a.project_id, 'export') THEN
		SELECT p.name INTO pname FROM btexport.projects p WHERE p.id = a.project_id;
		RAISE EXCEPTION 'role % may not export project "%"', a.owner, btexport._excerpt(pname)
			USING ERRCODE = '42501',
				  DETAIL = format('Automation "%s" exports the project, and its owner holds no export privilege on it.', a.name),
				  HINT = format('The project''s owner can grant it: SELECT btexport.grant_project(%L, %L, ''export'').', pname, a.owner);
	END IF;
	-- a remote source reads through its connection: usable only while the owner still has the
	-- connection owner's rights (the Braintrust key decides what it may read)
	IF a.connection IS NOT NULL AND NOT coalesce((SELECT pg_has_role(a.owner::oid, r.oid, 'USAGE') FROM pg_roles r
												  WHERE r.oid = a.connection_owner::oid), false) THEN
		RAISE EXCEPTION 'role % may not use Braintrust connection "%"', a.owner, a.connection_owner || '/' || a.connection
			USING ERRCODE = '42501',
				  DETAIL = format('Automation "%s" reads through a connection of role %s, whose rights its owner no longer has.',
								  a.name, a.connection_owner),
				  HINT = 'Grant the owner membership in the connection''s owner again, or drop the automation and create it with a connection of the owner''s own.';
	END IF;
	PERFORM btexport._parse_s3_path(a.s3_path);
	PERFORM btexport._check_role(a.role_arn, a.external_id);
	-- a restored or copied database's automation waits for btexport.rebase_cursor (75_operations.sql)
	PERFORM btexport._check_cursor(a);
END
$$;
REVOKE ALL ON FUNCTION btexport._check_runnable(btexport.automations) FROM PUBLIC;

-- pg_cron wiring: one job per scheduled automation, named btexport:<id>, whose command holds
-- only the automation's id (an integer, never user text) and only enqueues a run.
CREATE OR REPLACE FUNCTION btexport._sync_schedule(a btexport.automations)
RETURNS bigint LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	jobid bigint;
	has_cron boolean := EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'pg_cron');
BEGIN
	IF a.schedule IS NOT NULL AND a.status = 'active' THEN
		IF NOT has_cron THEN
			RAISE EXCEPTION 'cannot schedule automation "%": pg_cron is not installed', a.name
				USING ERRCODE = '55000', DETAIL = 'btexport uses pg_cron to run automations on a schedule.',
					  HINT = 'Run CREATE EXTENSION pg_cron in this database (it must be cron.database_name), or leave interval out and call btexport.run() yourself.';
		END IF;
		EXECUTE 'SELECT cron.schedule($1, $2, $3)' INTO jobid
			USING 'btexport:' || a.id, a.schedule,
				  -- only integers in the command; after DROP EXTENSION the job removes itself
				  format('DO $btx$BEGIN IF pg_catalog.to_regnamespace(''btexport'') IS NULL THEN '
						 'PERFORM cron.unschedule(''btexport:%s''); ELSE '
						 'PERFORM btexport.run(%s::bigint, trigger => ''schedule''); END IF; END$btx$',
						 a.id, a.id);
		RETURN jobid;
	END IF;
	IF has_cron THEN
		EXECUTE 'SELECT cron.unschedule(j.jobid) FROM cron.job j WHERE j.jobname = $1'
			USING 'btexport:' || a.id;
	END IF;
	RETURN NULL;
END
$$;
REVOKE ALL ON FUNCTION btexport._sync_schedule(btexport.automations) FROM PUBLIC;

-- create_automation, update_automation (text and bigint forms) and test(...): generated from
-- the list of settings (51_settings.sql)

-- clear the schedule of an automation (interval => NULL cannot express it)
CREATE OR REPLACE FUNCTION btexport._unschedule(a btexport.automations)
RETURNS btexport.automations LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
	UPDATE btexport.automations x SET "interval" = NULL, schedule = NULL, period = NULL, cron_jobid = NULL, updated = now()
	 WHERE x.id = a.id RETURNING * INTO a;
	PERFORM btexport._sync_schedule(a);
	RETURN a;
END
$$;

CREATE OR REPLACE FUNCTION btexport._drop_automation(a btexport.automations)
RETURNS void LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
	a.status := 'paused';
	PERFORM btexport._sync_schedule(a);
	DELETE FROM btexport.automations x WHERE x.id = a.id;
END
$$;

CREATE OR REPLACE FUNCTION btexport._pause(a btexport.automations, reason text)
RETURNS btexport.automations LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
	UPDATE btexport.automations x SET status = 'paused', paused_reason = coalesce(reason, 'paused by ' || btexport._invoker()::text),
		   updated = now()
	 WHERE x.id = a.id RETURNING * INTO a;
	PERFORM btexport._sync_schedule(a);
	RETURN a;
END
$$;

CREATE OR REPLACE FUNCTION btexport._resume(a btexport.automations)
RETURNS btexport.automations LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
	UPDATE btexport.automations x SET status = 'active', paused_reason = NULL, updated = now()
	 WHERE x.id = a.id RETURNING * INTO a;
	a.cron_jobid := btexport._sync_schedule(a);
	UPDATE btexport.automations x SET cron_jobid = a.cron_jobid WHERE x.id = a.id;
	RETURN a;
END
$$;

-- move the cursor back for a deliberate re-export of what was written since `to`
CREATE OR REPLACE FUNCTION btexport._rewind(a btexport.automations, "to" timestamptz)
RETURNS btexport.automations LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
	IF "to" IS NULL THEN
		RAISE EXCEPTION 'rewind needs a point in time'
			USING ERRCODE = '22004', HINT = 'Pass e.g. "to" => now() - interval ''1 day''; runs then re-export what was written since.';
	END IF;
	UPDATE btexport.automations x SET cursor = LEAST(x.cursor, btexport._cursor_since(a.project_id, "to")), updated = now()
	 WHERE x.id = a.id RETURNING * INTO a;
	RETURN a;
END
$$;
REVOKE ALL ON FUNCTION btexport._unschedule(btexport.automations), btexport._drop_automation(btexport.automations),
	btexport._pause(btexport.automations, text), btexport._resume(btexport.automations),
	btexport._rewind(btexport.automations, timestamptz) FROM PUBLIC;

-- the text (name) and bigint (id) forms
CREATE OR REPLACE FUNCTION btexport.unschedule(automation text)
RETURNS btexport.automations LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
	SELECT btexport._unschedule(btexport._automation_for_caller(automation))
$$;
CREATE OR REPLACE FUNCTION btexport.unschedule(automation_id bigint)
RETURNS btexport.automations LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
	SELECT btexport._unschedule(btexport._automation_for_caller(automation_id))
$$;
CREATE OR REPLACE FUNCTION btexport.drop_automation(automation text)
RETURNS void LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
	SELECT btexport._drop_automation(btexport._automation_for_caller(automation))
$$;
CREATE OR REPLACE FUNCTION btexport.drop_automation(automation_id bigint)
RETURNS void LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
	SELECT btexport._drop_automation(btexport._automation_for_caller(automation_id))
$$;
CREATE OR REPLACE FUNCTION btexport.pause(automation text, reason text DEFAULT NULL)
RETURNS btexport.automations LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
	SELECT btexport._pause(btexport._automation_for_caller(automation), reason)
$$;
CREATE OR REPLACE FUNCTION btexport.pause(automation_id bigint, reason text DEFAULT NULL)
RETURNS btexport.automations LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
	SELECT btexport._pause(btexport._automation_for_caller(automation_id), reason)
$$;
CREATE OR REPLACE FUNCTION btexport.resume(automation text)
RETURNS btexport.automations LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
	SELECT btexport._resume(btexport._automation_for_caller(automation))
$$;
CREATE OR REPLACE FUNCTION btexport.resume(automation_id bigint)
RETURNS btexport.automations LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
	SELECT btexport._resume(btexport._automation_for_caller(automation_id))
$$;
CREATE OR REPLACE FUNCTION btexport.rewind(automation text, "to" timestamptz)
RETURNS btexport.automations LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
	SELECT btexport._rewind(btexport._automation_for_caller(automation), "to")
$$;
CREATE OR REPLACE FUNCTION btexport.rewind(automation_id bigint, "to" timestamptz)
RETURNS btexport.automations LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
	SELECT btexport._rewind(btexport._automation_for_caller(automation_id), "to")
$$;
COMMENT ON FUNCTION btexport.rewind(text, timestamptz) IS 'move an automation''s cursor back so the next runs re-export what was written since a time';

GRANT EXECUTE ON FUNCTION btexport.drop_automation(text), btexport.drop_automation(bigint),
	btexport.pause(text, text), btexport.pause(bigint, text), btexport.resume(text), btexport.resume(bigint),
	btexport.unschedule(text), btexport.unschedule(bigint), btexport.rewind(text, timestamptz),
	btexport.rewind(bigint, timestamptz), btexport.create_credential(text, text, text, text),
	btexport.drop_credential(text), btexport.update_credential(text, text, text, text),
	btexport.create_project(text, uuid, uuid) TO btexport_user;
