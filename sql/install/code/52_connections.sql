-- ---------------------------------------------------------------------------
-- Secrets and Braintrust connections (docs/braintrust-source.md).
--
-- Every secret (a connection's API key, a credential's secret access key and
-- session token) is stored the same way: btexport._secret_store seals it
-- (btexport._secret_seal, src/adapters/secret.c) into btexport.secrets and
-- returns the id its owner row keeps; only btexport's C code opens it
-- (BtxSecretRead).  btexport.secrets is readable by no ordinary role and is
-- not part of a dump.
-- ---------------------------------------------------------------------------

CREATE OR REPLACE FUNCTION btexport._secret_seal(value text) RETURNS text
	LANGUAGE c STRICT AS 'MODULE_PATHNAME', 'btexport_secret_seal';
REVOKE ALL ON FUNCTION btexport._secret_seal(text) FROM PUBLIC;

-- store a secret; returns its id (called by the SECURITY DEFINER API only)
CREATE OR REPLACE FUNCTION btexport._secret_store(value text) RETURNS uuid
LANGUAGE sql SET search_path = pg_catalog, pg_temp AS $$
	INSERT INTO btexport.secrets (value) VALUES (btexport._secret_seal(value)) RETURNING id
$$;
REVOKE ALL ON FUNCTION btexport._secret_store(text) FROM PUBLIC;

CREATE OR REPLACE FUNCTION btexport._secret_forget(id uuid) RETURNS void
LANGUAGE sql SET search_path = pg_catalog, pg_temp AS $$
	DELETE FROM btexport.secrets s WHERE s.id = _secret_forget.id
$$;
REVOKE ALL ON FUNCTION btexport._secret_forget(uuid) FROM PUBLIC;

-- The outbound rules for a Braintrust URL (src/adapters/braintrust.c, the same check every
-- request passes): https unless btexport.allow_http; for non-superusers Braintrust's own
-- hosts and btexport.allowed_endpoints.  Returns the URL without a trailing '/'.
CREATE OR REPLACE FUNCTION btexport._check_braintrust_url(url text, what text) RETURNS text
	LANGUAGE c STABLE AS 'MODULE_PATHNAME', 'btexport_check_braintrust_url';
REVOKE ALL ON FUNCTION btexport._check_braintrust_url(text, text) FROM PUBLIC;

-- an API key as Braintrust issues it: printable, no white space
CREATE OR REPLACE FUNCTION btexport._check_api_key(connection text, api_key text) RETURNS void
LANGUAGE plpgsql IMMUTABLE SET search_path = pg_catalog, pg_temp AS $$
BEGIN
	IF api_key IS NULL OR length(api_key) NOT BETWEEN 4 AND 1024 OR api_key ~ '[\s\x01-\x1f\x7f]' THEN
		RAISE EXCEPTION 'invalid Braintrust API key for connection "%"', connection
			USING ERRCODE = '22023',
				  DETAIL = 'An API key is 4 to 1024 printable characters without white space.',
				  HINT = 'Copy the key from Braintrust (Settings, API keys), such as sk-...';
	END IF;
END
$$;
REVOKE ALL ON FUNCTION btexport._check_api_key(text, text) FROM PUBLIC;

CREATE OR REPLACE FUNCTION btexport._check_org_name(org_name text) RETURNS text
LANGUAGE plpgsql IMMUTABLE SET search_path = pg_catalog, pg_temp AS $$
BEGIN
	IF org_name IS NULL OR org_name = '' THEN
		RETURN NULL;
	END IF;
	IF length(org_name) > 256 OR org_name ~ '[\x01-\x1f\x7f]' THEN
		RAISE EXCEPTION 'invalid Braintrust organization name'
			USING ERRCODE = '22023', HINT = 'Use the organization''s name as Braintrust shows it (at most 256 characters).';
	END IF;
	RETURN org_name;
END
$$;
REVOKE ALL ON FUNCTION btexport._check_org_name(text) FROM PUBLIC;

-- Register a Braintrust API connection.  The key can never be read back.
CREATE OR REPLACE FUNCTION btexport.create_connection(name text, api_key text, org_name text DEFAULT NULL,
										   app_url text DEFAULT 'https://www.braintrust.dev',
										   api_url text DEFAULT NULL)
RETURNS text LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	app text;
	api text;
BEGIN
	-- the key must not reach the server log (docs/security.md "Secrets"): refused unless
	-- btexport is preloaded, whose log hook redacts this call's statement and parameters
	PERFORM btexport._check_secret_logging();
	IF name IS NULL OR name !~ '^[A-Za-z0-9_.@:+=-]{1,128}$' THEN
		RAISE EXCEPTION 'invalid connection name "%"', btexport._excerpt(name)
			USING ERRCODE = '22023', HINT = 'Use 1 to 128 letters, digits and _ . @ : + = -.';
	END IF;
	PERFORM btexport._check_api_key(name, api_key);
	org_name := btexport._check_org_name(org_name);
	app := btexport._check_braintrust_url(coalesce(nullif(app_url, ''), 'https://www.braintrust.dev'), 'Braintrust app URL');
	api := CASE WHEN nullif(api_url, '') IS NOT NULL THEN btexport._check_braintrust_url(api_url, 'Braintrust API URL') END;
	IF EXISTS (SELECT 1 FROM btexport.connections c WHERE c.owner = btexport._invoker() AND c.name = create_connection.name) THEN
		RAISE EXCEPTION 'connection "%" already exists', name
			USING ERRCODE = '42710',
				  HINT = 'Rotate its key with btexport.update_connection(name, api_key => ...), or drop it first with btexport.drop_connection(name).';
	END IF;
	INSERT INTO btexport.connections (name, owner, api_key, org_name, app_url, api_url)
	VALUES (name, btexport._invoker(), btexport._secret_store(api_key), org_name, app, api);
	RETURN name;
END
$$;
COMMENT ON FUNCTION btexport.create_connection(text, text, text, text, text) IS 'register a Braintrust API connection (the key can never be read back)';

-- The connection `connection` names for `role` (an automation's owner, or the caller): the
-- rules of credential names (btexport._owned_name, 50_api.sql).
CREATE OR REPLACE FUNCTION btexport._connection_for(role oid, connection text)
RETURNS btexport.connections LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
	SELECT c.* FROM btexport._owned_name(role, 'connections', connection, 'connection',
			'btexport.create_connection(name, api_key)', 'btexport.connections_info') o
	  JOIN btexport.connections c ON c.owner OPERATOR(pg_catalog.=) o.owner AND c.name OPERATOR(pg_catalog.=) o.name
$$;
REVOKE ALL ON FUNCTION btexport._connection_for(oid, text) FROM PUBLIC;

-- Change a connection in place: a new key (rotation), organization, app URL or API URL.
-- NULL leaves a setting as it is; '' clears org_name and api_url.  Automations using the
-- connection use the new settings from their next run.
CREATE OR REPLACE FUNCTION btexport.update_connection(connection text, api_key text DEFAULT NULL,
										   org_name text DEFAULT NULL, app_url text DEFAULT NULL,
										   api_url text DEFAULT NULL)
RETURNS text LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	c btexport.connections;
	old_key uuid;
BEGIN
	IF api_key IS NOT NULL THEN
		PERFORM btexport._check_secret_logging();		-- as in create_connection
	END IF;
	c := btexport._connection_for(btexport._invoker(), connection);
	old_key := c.api_key;
	IF api_key IS NOT NULL THEN
		PERFORM btexport._check_api_key(c.name, api_key);
		c.api_key := btexport._secret_store(api_key);
	END IF;
	IF org_name IS NOT NULL THEN
		c.org_name := btexport._check_org_name(org_name);
	END IF;
	IF app_url IS NOT NULL THEN
		c.app_url := btexport._check_braintrust_url(coalesce(nullif(app_url, ''), 'https://www.braintrust.dev'),
													'Braintrust app URL');
	END IF;
	IF api_url IS NOT NULL THEN
		c.api_url := CASE WHEN api_url <> '' THEN btexport._check_braintrust_url(api_url, 'Braintrust API URL') END;
	END IF;
	UPDATE btexport.connections x
	   SET api_key = c.api_key, org_name = c.org_name, app_url = c.app_url, api_url = c.api_url, updated = now()
	 WHERE x.owner = c.owner AND x.name = c.name;
	IF c.api_key <> old_key THEN
		PERFORM btexport._secret_forget(old_key);
	END IF;
	RETURN c.name;
END
$$;
COMMENT ON FUNCTION btexport.update_connection(text, text, text, text, text) IS 'change a Braintrust connection: rotate its key, or its organization or URLs';

CREATE OR REPLACE FUNCTION btexport.drop_connection(connection text)
RETURNS void LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	c btexport.connections := btexport._connection_for(btexport._invoker(), connection);
	user_name text;
BEGIN
	SELECT CASE WHEN pg_has_role(btexport._invoker(), a.owner::oid, 'USAGE') THEN format('automation "%s"', a.name)
				ELSE format('an automation of role %s', a.owner) END INTO user_name
	  FROM btexport.automations a WHERE a.connection_owner = c.owner AND a.connection = c.name LIMIT 1;
	IF user_name IS NOT NULL THEN
		RAISE EXCEPTION 'connection "%" is used by %', connection, user_name
			USING ERRCODE = '2BP01',
				  HINT = 'Drop the automation first (its source cannot change), or keep the connection.';
	END IF;
	DELETE FROM btexport.connections x WHERE x.owner = c.owner AND x.name = c.name;
	PERFORM btexport._secret_forget(c.api_key);
END
$$;
COMMENT ON FUNCTION btexport.drop_connection(text) IS 'drop a Braintrust connection (refused while an automation uses it)';

-- connections as users may see them: no key
CREATE OR REPLACE VIEW btexport.connections_info WITH (security_barrier) AS
	SELECT c.name, c.owner, c.org_name, c.app_url, c.api_url,
		   EXISTS (SELECT 1 FROM btexport.secrets s WHERE s.id OPERATOR(pg_catalog.=) c.api_key) AS has_api_key,
		   c.created, c.updated
	  FROM btexport.connections c
	 WHERE pg_catalog.pg_has_role(CURRENT_USER, c.owner::oid, 'USAGE');
COMMENT ON VIEW btexport.connections_info IS 'the Braintrust connections you may use (never the key; has_api_key is false after a restore from a dump)';
GRANT SELECT ON btexport.connections_info TO btexport_user;

-- run a BTQL query against a connection (Braintrust runs it); one JSON object per row
CREATE OR REPLACE FUNCTION btexport.query(connection text, btql text, tz_offset integer DEFAULT 0)
RETURNS SETOF jsonb LANGUAGE c VOLATILE STRICT SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS 'MODULE_PATHNAME', 'btexport_query_connection';
COMMENT ON FUNCTION btexport.query(text, text, integer) IS 'run a BTQL query in Braintrust through a connection and return its rows as JSON (tz_offset: minutes west of UTC)';

GRANT EXECUTE ON FUNCTION btexport.create_connection(text, text, text, text, text),
	btexport.update_connection(text, text, text, text, text), btexport.drop_connection(text),
	btexport.query(text, text, integer) TO btexport_user;

-- ---------------------------------------------------------------------------
-- Settings of an automation whose source is a connection (checked by
-- btexport._build_automation, 51_settings.sql)
-- ---------------------------------------------------------------------------

-- the Braintrust project: a name (case matters) or an id, resolved by the run
CREATE OR REPLACE FUNCTION btexport._check_remote_project(project text) RETURNS text
LANGUAGE plpgsql IMMUTABLE SET search_path = pg_catalog, pg_temp AS $$
BEGIN
	IF project IS NULL OR btrim(project) = '' THEN
		RAISE EXCEPTION 'project must be given'
			USING ERRCODE = '22004', HINT = 'Pass the Braintrust project''s name or id, e.g. project => ''Support Bot''.';
	END IF;
	IF length(project) > 512 OR project ~ '[\x01-\x1f\x7f]' THEN
		RAISE EXCEPTION 'invalid Braintrust project name'
			USING ERRCODE = '22023', HINT = 'Use the project''s name as Braintrust shows it, or its id.';
	END IF;
	RETURN project;
END
$$;
REVOKE ALL ON FUNCTION btexport._check_remote_project(text) FROM PUBLIC;

-- the request budget: requests per minute of one run (every request: login, lookup, pages,
-- retries); the default suits Braintrust's lower plans (about 20 BTQL requests a minute)
CREATE OR REPLACE FUNCTION btexport._check_requests_per_minute(n integer) RETURNS integer
LANGUAGE plpgsql IMMUTABLE SET search_path = pg_catalog, pg_temp AS $$
BEGIN
	IF n IS NULL THEN
		RETURN 15;
	END IF;
	IF n NOT BETWEEN 1 AND 6000 THEN
		RAISE EXCEPTION 'requests_per_minute must be between 1 and 6000'
			USING ERRCODE = '22023', DETAIL = format('requests_per_minute was %s.', n),
				  HINT = 'Braintrust''s lower plans allow about 20 BTQL requests a minute; the default is 15.';
	END IF;
	RETURN n;
END
$$;
REVOKE ALL ON FUNCTION btexport._check_requests_per_minute(integer) FROM PUBLIC;

-- a btql export's query for a connection: clause syntax with select, from and filter only,
-- reading the automation's project (src/api/connections.c)
CREATE OR REPLACE FUNCTION btexport._check_remote_query(query text, project text) RETURNS void
	LANGUAGE c VOLATILE SET search_path = pg_catalog, pg_temp AS 'MODULE_PATHNAME', 'btexport_check_remote_query';
REVOKE ALL ON FUNCTION btexport._check_remote_query(text, text) FROM PUBLIC;
