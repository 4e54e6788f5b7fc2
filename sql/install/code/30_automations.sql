-- ---------------------------------------------------------------------------
-- Credentials, automations, run history.
-- ---------------------------------------------------------------------------

-- the role that called into the API, even from inside SECURITY DEFINER functions
CREATE OR REPLACE FUNCTION btexport._invoker() RETURNS regrole
	LANGUAGE c STABLE STRICT AS 'MODULE_PATHNAME', 'btexport_invoker';
CREATE OR REPLACE FUNCTION btexport._invoker_is_superuser() RETURNS boolean
	LANGUAGE c STABLE STRICT AS 'MODULE_PATHNAME', 'btexport_invoker_is_superuser';
CREATE OR REPLACE FUNCTION btexport._check_secret_logging() RETURNS void
	LANGUAGE c VOLATILE AS 'MODULE_PATHNAME', 'btexport_check_secret_logging';
REVOKE ALL ON FUNCTION btexport._invoker() FROM PUBLIC;
REVOKE ALL ON FUNCTION btexport._check_secret_logging() FROM PUBLIC;
REVOKE ALL ON FUNCTION btexport._invoker_is_superuser() FROM PUBLIC;

-- credentials as users may see them: no secret, key id masked
CREATE OR REPLACE VIEW btexport.credentials_info WITH (security_barrier) AS
	SELECT c.name, c.owner,
		   pg_catalog.left(c.access_key_id, 4) OPERATOR(pg_catalog.||) '…' OPERATOR(pg_catalog.||)
		   pg_catalog.right(c.access_key_id, 4) AS access_key_id,
		   c.token_secret IS NOT NULL AS has_session_token, c.created
	  FROM btexport.credentials c
	 WHERE pg_catalog.pg_has_role(CURRENT_USER, c.owner::oid, 'USAGE');
GRANT SELECT ON btexport.credentials_info TO btexport_user;
