-- ---------------------------------------------------------------------------
-- SQL API: credentials and automations.
-- These functions are SECURITY DEFINER so that the configuration tables stay
-- behind the API; they act for btexport._invoker(), the calling role.
-- ---------------------------------------------------------------------------

CREATE OR REPLACE FUNCTION btexport.create_credential(name text, access_key_id text, secret_access_key text,
										   session_token text DEFAULT NULL)
RETURNS text LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
	IF name IS NULL OR name !~ '^[A-Za-z0-9_.@:+=-]{1,128}$' THEN
		RAISE EXCEPTION 'invalid credential name "%"', name
			USING ERRCODE = '22023', HINT = 'Use 1 to 128 letters, digits and _ . @ : + = -.';
	END IF;
	IF access_key_id IS NULL OR access_key_id !~ '^[A-Z0-9]{16,128}$' THEN
		RAISE EXCEPTION 'invalid access key id for credential "%"', name
			USING ERRCODE = '22023', DETAIL = 'An AWS access key id is 16 to 128 upper-case letters and digits, such as AKIAIOSFODNN7EXAMPLE.',
				  HINT = 'Copy the access key id of the IAM user or role session.';
	END IF;
	IF secret_access_key IS NULL OR length(secret_access_key) < 1 OR secret_access_key ~ '\s' THEN
		RAISE EXCEPTION 'invalid secret access key for credential "%"', name
			USING ERRCODE = '22023', HINT = 'Pass the secret access key exactly as AWS issued it.';
	END IF;
	IF EXISTS (SELECT 1 FROM btexport.credentials c WHERE c.name = create_credential.name) THEN
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

-- Rotate a credential's keys in place (the automations using it sign with the new ones from their
-- next run); also how the secret is set again in a database restored from a dump.
CREATE OR REPLACE FUNCTION btexport.update_credential(name text, access_key_id text, secret_access_key text,
										   session_token text DEFAULT NULL)
RETURNS text LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	c btexport.credentials;
BEGIN
	SELECT * INTO c FROM btexport.credentials x WHERE x.name = update_credential.name;
	IF NOT FOUND OR NOT pg_has_role(btexport._invoker(), c.owner::oid, 'USAGE') THEN
		RAISE EXCEPTION 'credential "%" does not exist', name
			USING ERRCODE = '42704', HINT = 'See btexport.credentials_info for the credentials you can use.';
	END IF;
	IF access_key_id IS NULL OR access_key_id !~ '^[A-Z0-9]{16,128}$' THEN
		RAISE EXCEPTION 'invalid access key id for credential "%"', name
			USING ERRCODE = '22023', DETAIL = 'An AWS access key id is 16 to 128 upper-case letters and digits, such as AKIAIOSFODNN7EXAMPLE.',
				  HINT = 'Copy the access key id of the IAM user or role session.';
	END IF;
	IF secret_access_key IS NULL OR length(secret_access_key) < 1 OR secret_access_key ~ '\s' THEN
		RAISE EXCEPTION 'invalid secret access key for credential "%"', name
			USING ERRCODE = '22023', HINT = 'Pass the secret access key exactly as AWS issued it.';
	END IF;
	UPDATE btexport.credentials x
	   SET access_key_id = update_credential.access_key_id, secret = btexport._secret_store(secret_access_key),
		   token_secret = CASE WHEN session_token IS NOT NULL THEN btexport._secret_store(session_token) END
	 WHERE x.name = c.name;
	PERFORM btexport._secret_forget(c.secret);
	PERFORM btexport._secret_forget(c.token_secret);
	RETURN name;
END
$$;
COMMENT ON FUNCTION btexport.update_credential(text, text, text, text) IS 'rotate the keys of a named credential in place (the secret can never be read back)';

CREATE OR REPLACE FUNCTION btexport.drop_credential(name text)
RETURNS void LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	c btexport.credentials;
	user_name text;
BEGIN
	SELECT * INTO c FROM btexport.credentials x WHERE x.name = drop_credential.name;
	IF NOT FOUND OR NOT pg_has_role(btexport._invoker(), c.owner::oid, 'USAGE') THEN
		RAISE EXCEPTION 'credential "%" does not exist', name
			USING ERRCODE = '42704', HINT = 'See btexport.credentials_info for the credentials you can use.';
	END IF;
	SELECT a.name INTO user_name FROM btexport.automations a WHERE a.credential = c.name LIMIT 1;
	IF user_name IS NOT NULL THEN
		RAISE EXCEPTION 'credential "%" is used by automation "%"', name, user_name
			USING ERRCODE = '2BP01', HINT = 'Point the automation at another credential with btexport.update_automation, or drop it first.';
	END IF;
	DELETE FROM btexport.credentials x WHERE x.name = c.name;
	PERFORM btexport._secret_forget(c.secret);
	PERFORM btexport._secret_forget(c.token_secret);
END
$$;

-- the automation a caller may act on: by name, owned by the caller (or a superuser)
CREATE OR REPLACE FUNCTION btexport._automation_for_caller(automation text)
RETURNS btexport.automations LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	a btexport.automations;
BEGIN
	SELECT * INTO a FROM btexport.automations x WHERE x.name = automation;
	IF NOT FOUND AND automation ~ '^[0-9]{1,18}$' THEN
		SELECT * INTO a FROM btexport.automations x WHERE x.id = automation::bigint;
	END IF;
	IF a.id IS NULL OR NOT pg_has_role(btexport._invoker(), a.owner::oid, 'USAGE') THEN
		RAISE EXCEPTION 'automation "%" does not exist', automation
			USING ERRCODE = '42704', HINT = 'See btexport.automations for the automations you own.';
	END IF;
	RETURN a;
END
$$;
REVOKE ALL ON FUNCTION btexport._automation_for_caller(text) FROM PUBLIC;

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

-- create_automation, update_automation and test(...): generated from the list of settings
-- (51_settings.sql)

-- clear the schedule of an automation (interval => NULL cannot express it)
CREATE OR REPLACE FUNCTION btexport.unschedule(automation text)
RETURNS btexport.automations LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	a btexport.automations := btexport._automation_for_caller(automation);
BEGIN
	UPDATE btexport.automations x SET "interval" = NULL, schedule = NULL, period = NULL, cron_jobid = NULL, updated = now()
	 WHERE x.id = a.id RETURNING * INTO a;
	PERFORM btexport._sync_schedule(a);
	RETURN a;
END
$$;

CREATE OR REPLACE FUNCTION btexport.drop_automation(automation text)
RETURNS void LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	a btexport.automations := btexport._automation_for_caller(automation);
BEGIN
	a.status := 'paused';
	PERFORM btexport._sync_schedule(a);
	DELETE FROM btexport.automations x WHERE x.id = a.id;
END
$$;

CREATE OR REPLACE FUNCTION btexport.pause(automation text, reason text DEFAULT NULL)
RETURNS btexport.automations LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	a btexport.automations := btexport._automation_for_caller(automation);
BEGIN
	UPDATE btexport.automations x SET status = 'paused', paused_reason = coalesce(reason, 'paused by ' || btexport._invoker()::text),
		   updated = now()
	 WHERE x.id = a.id RETURNING * INTO a;
	PERFORM btexport._sync_schedule(a);
	RETURN a;
END
$$;

CREATE OR REPLACE FUNCTION btexport.resume(automation text)
RETURNS btexport.automations LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	a btexport.automations := btexport._automation_for_caller(automation);
BEGIN
	UPDATE btexport.automations x SET status = 'active', paused_reason = NULL, updated = now()
	 WHERE x.id = a.id RETURNING * INTO a;
	a.cron_jobid := btexport._sync_schedule(a);
	UPDATE btexport.automations x SET cron_jobid = a.cron_jobid WHERE x.id = a.id;
	RETURN a;
END
$$;

GRANT EXECUTE ON FUNCTION btexport.drop_automation(text), btexport.pause(text, text), btexport.resume(text),
	btexport.unschedule(text), btexport.create_credential(text, text, text, text), btexport.drop_credential(text),
	btexport.update_credential(text, text, text, text),
	btexport.create_project(text, uuid) TO btexport_user;

-- move the cursor back for a deliberate re-export of what was written since `to`
CREATE OR REPLACE FUNCTION btexport.rewind(automation text, "to" timestamptz)
RETURNS btexport.automations LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	a btexport.automations := btexport._automation_for_caller(automation);
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
COMMENT ON FUNCTION btexport.rewind(text, timestamptz) IS 'move an automation''s cursor back so the next runs re-export what was written since a time';
GRANT EXECUTE ON FUNCTION btexport.rewind(text, timestamptz) TO btexport_user;
