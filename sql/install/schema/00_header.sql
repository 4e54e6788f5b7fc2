CREATE SCHEMA btexport;
COMMENT ON SCHEMA btexport IS 'btexport: Braintrust-style S3 export automations';

-- Roles: btexport_user may create and run automations; ambient server credentials
-- (environment, ~/.aws, instance metadata) are usable only by members of btexport_s3_writer.
DO $$
BEGIN
	IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname OPERATOR(pg_catalog.=) 'btexport_user') THEN
		CREATE ROLE btexport_user NOLOGIN;
	END IF;
	IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname OPERATOR(pg_catalog.=) 'btexport_s3_writer') THEN
		CREATE ROLE btexport_s3_writer NOLOGIN;
	END IF;
END
$$;
GRANT USAGE ON SCHEMA btexport TO btexport_user;
