-- Look-alike objects for the search_path test of the differential suite (issue 12, finding 2).
-- run.sh lists every function, operator and type the BTQL compiler and its glue can emit (the
-- pg_catalog.name and OPERATOR(pg_catalog.op) strings of their sources) and calls
--   btql_plant.plant_all(schema, functions, operators, types)
-- for two schemas:
--   btql_evil  ahead of pg_catalog on the search_path of role btql_hostile: a same-signature
--              object there wins over pg_catalog's for any unqualified name;
--   public     on the default search_path, behind pg_catalog: an exact-type object there wins
--              over a polymorphic pg_catalog one (public.@>(text[], text[]) over @>(anyarray,
--              anyarray)), so polymorphic signatures are also planted with concrete types.
-- The helpers run with search_path = pg_catalog: they must not trip over what they plant.
-- Every planted function, operator and aggregate raises "planted ... reached"; every planted
-- type is a domain with CHECK (false), so a cast to it fails.  A compiled query that reaches any
-- of them fails its case.
CREATE SCHEMA btql_plant;
CREATE SCHEMA btql_evil;
GRANT USAGE ON SCHEMA btql_evil TO PUBLIC;

-- run one DDL statement; false (and a notice) if PostgreSQL refuses it
CREATE FUNCTION btql_plant.try(stmt text) RETURNS boolean LANGUAGE plpgsql SET search_path = pg_catalog AS $$
BEGIN
	EXECUTE stmt;
	RETURN true;
EXCEPTION WHEN others THEN
	RAISE DEBUG 'not planted: % (%)', stmt, SQLERRM;
	RETURN false;
END
$$;

-- the body of every planted function
CREATE FUNCTION btql_plant.body(what text) RETURNS text LANGUAGE sql IMMUTABLE SET search_path = pg_catalog AS $$
	SELECT format('BEGIN RAISE EXCEPTION %L; END', 'planted ' || what || ' reached')
$$;

-- a signature with its polymorphic types replaced by t (t[] for the array ones), or itself
CREATE FUNCTION btql_plant.concrete(sig text, t text) RETURNS text LANGUAGE sql IMMUTABLE SET search_path = pg_catalog AS $$
	SELECT CASE WHEN t IS NULL THEN sig ELSE
		regexp_replace(regexp_replace(regexp_replace(replace(sig, 'VARIADIC "any"', 'VARIADIC ' || t || '[]'),
			'"any"', t, 'g'),
			'\m(anyarray|anycompatiblearray)\M', t || '[]', 'g'),
			'\m(anyelement|anynonarray|anycompatible|anycompatiblenonarray)\M', t, 'g')
	END
$$;

-- the concrete types a polymorphic signature is also planted with
CREATE FUNCTION btql_plant.concrete_types() RETURNS SETOF text LANGUAGE sql IMMUTABLE SET search_path = pg_catalog AS $$
	VALUES (NULL), ('text'), ('jsonb'), ('double precision'), ('bigint'), ('integer'), ('boolean'),
		('timestamp with time zone'), ('timestamp without time zone'), ('date'), ('interval'), ('numeric')
$$;

CREATE FUNCTION btql_plant.functions(sch text, names text[]) RETURNS integer LANGUAGE plpgsql SET search_path = pg_catalog AS $$
DECLARE
	f record;
	t text;
	n integer := 0;
	args text;
	res text;
BEGIN
	FOR f IN SELECT p.oid, p.proname FROM pg_catalog.pg_proc p
			 WHERE p.pronamespace = 'pg_catalog'::regnamespace AND p.prokind = 'f' AND p.proname = ANY (names)
	LOOP
		FOR t IN SELECT * FROM btql_plant.concrete_types() LOOP
			args := btql_plant.concrete(pg_catalog.pg_get_function_arguments(f.oid), t);
			res := btql_plant.concrete(pg_catalog.pg_get_function_result(f.oid), t);
			IF (t IS NULL OR args <> pg_catalog.pg_get_function_arguments(f.oid)) AND
			   btql_plant.try(format('CREATE FUNCTION %I.%I(%s) RETURNS %s LANGUAGE plpgsql AS %L',
									 sch, f.proname, args, res, btql_plant.body(sch || '.' || f.proname))) THEN
				n := n + 1;
			END IF;
		END LOOP;
	END LOOP;
	RETURN n;
END
$$;

CREATE FUNCTION btql_plant.operators(sch text, ops text[]) RETURNS integer LANGUAGE plpgsql SET search_path = pg_catalog AS $$
DECLARE
	o record;
	t text;
	l text;
	r text;
	res text;
	fn text;
	n integer := 0;
	k integer := 0;
BEGIN
	FOR o IN SELECT op.oprname, op.oprleft, op.oprright, op.oprresult FROM pg_catalog.pg_operator op
			 WHERE op.oprnamespace = 'pg_catalog'::regnamespace AND op.oprname = ANY (ops)
	LOOP
		FOR t IN SELECT * FROM btql_plant.concrete_types() LOOP
			l := CASE WHEN o.oprleft = 0 THEN NULL ELSE btql_plant.concrete(pg_catalog.format_type(o.oprleft, NULL), t) END;
			r := btql_plant.concrete(pg_catalog.format_type(o.oprright, NULL), t);
			res := btql_plant.concrete(pg_catalog.format_type(o.oprresult, NULL), t);
			CONTINUE WHEN t IS NOT NULL AND l IS NOT DISTINCT FROM
				(CASE WHEN o.oprleft = 0 THEN NULL ELSE pg_catalog.format_type(o.oprleft, NULL) END)
				AND r = pg_catalog.format_type(o.oprright, NULL);
			k := k + 1;
			fn := format('%I.%I', sch, '_planted_op_' || k);
			IF btql_plant.try(format('CREATE FUNCTION %s(%s) RETURNS %s LANGUAGE plpgsql AS %L', fn,
									 concat_ws(', ', l, r), res, btql_plant.body(sch || '.' || o.oprname)))
			   AND btql_plant.try(format('CREATE OPERATOR %I.%s (%s RIGHTARG = %s, FUNCTION = %s)', sch, o.oprname,
										 CASE WHEN l IS NULL THEN '' ELSE 'LEFTARG = ' || l || ',' END, r, fn)) THEN
				n := n + 1;
			END IF;
		END LOOP;
	END LOOP;
	RETURN n;
END
$$;

-- one aggregate: args as in CREATE AGGREGATE ("*" for count(*)), direct: the direct arguments
-- of an ordered-set aggregate; the transition and final functions raise
CREATE FUNCTION btql_plant.aggregate(sch text, name text, args text, result text, k integer)
RETURNS boolean LANGUAGE plpgsql SET search_path = pg_catalog AS $$
DECLARE
	sf text := format('%I.%I', sch, '_planted_sf_' || k);
	ff text := format('%I.%I', sch, '_planted_ff_' || k);
	ordered boolean := args LIKE '% ORDER BY %';
	inputs text := CASE WHEN args = '*' THEN '' WHEN ordered THEN split_part(args, ' ORDER BY ', 2) ELSE args END;
	direct text := CASE WHEN ordered THEN split_part(args, ' ORDER BY ', 1) END;
BEGIN
	RETURN btql_plant.try(format('CREATE FUNCTION %s(%s) RETURNS integer LANGUAGE plpgsql AS %L', sf,
								 concat_ws(', ', 'integer', NULLIF(inputs, '')), btql_plant.body(sch || '.' || name)))
		AND btql_plant.try(format('CREATE FUNCTION %s(%s) RETURNS %s LANGUAGE plpgsql AS %L', ff,
								  concat_ws(', ', 'integer', direct), result, btql_plant.body(sch || '.' || name)))
		AND btql_plant.try(format('CREATE AGGREGATE %I.%I(%s) (SFUNC = %s, STYPE = integer, FINALFUNC = %s%s)',
								  sch, name, args, sf, ff, CASE WHEN ordered THEN '' ELSE ', INITCOND = ''0''' END));
END
$$;

-- the aggregates the compiler calls, with the argument types it calls them with
CREATE FUNCTION btql_plant.aggregates(sch text) RETURNS integer LANGUAGE plpgsql SET search_path = pg_catalog AS $$
DECLARE
	a record;
	n integer := 0;
	k integer := 0;
BEGIN
	FOR a IN
		SELECT 'count' AS name, '*' AS args, 'bigint' AS result
		UNION ALL SELECT 'count', t, 'bigint' FROM unnest(ARRAY['text', 'jsonb', 'double precision', 'bigint',
			'boolean', 'timestamp with time zone', 'date', 'interval', 'text[]', 'integer', 'numeric']) t
		UNION ALL SELECT f, t, CASE WHEN f = 'avg' AND t IN ('bigint', 'integer', 'numeric') THEN 'numeric'
									WHEN f = 'sum' AND t = 'integer' THEN 'bigint'
									WHEN f = 'sum' AND t = 'bigint' THEN 'numeric' ELSE t END
			FROM unnest(ARRAY['sum', 'avg']) f, unnest(ARRAY['double precision', 'bigint', 'integer', 'numeric', 'interval']) t
		UNION ALL SELECT f, t, t FROM unnest(ARRAY['min', 'max']) f,
			unnest(ARRAY['text', 'double precision', 'bigint', 'integer', 'numeric', 'timestamp with time zone',
						 'date', 'interval']) t
		UNION ALL SELECT f, 'boolean', 'boolean' FROM unnest(ARRAY['bool_and', 'bool_or']) f
		UNION ALL SELECT 'array_agg', t, t || '[]' FROM unnest(ARRAY['text', 'jsonb', 'double precision', 'bigint',
			'boolean', 'timestamp with time zone', 'date', 'interval', 'integer', 'numeric']) t
		UNION ALL SELECT 'string_agg', 'text, text', 'text'
		UNION ALL SELECT 'jsonb_object_agg', 'text, ' || t, 'jsonb' FROM unnest(ARRAY['double precision', 'jsonb', 'text',
			'bigint', 'numeric']) t
		UNION ALL SELECT 'percentile_cont', 'double precision ORDER BY double precision', 'double precision'
	LOOP
		k := k + 1;
		IF btql_plant.aggregate(sch, a.name, a.args, a.result, k) THEN
			n := n + 1;
		END IF;
	END LOOP;
	RETURN n;
END
$$;

-- every type as a domain that refuses every value
CREATE FUNCTION btql_plant.domains(sch text, names text[]) RETURNS integer LANGUAGE plpgsql SET search_path = pg_catalog AS $$
DECLARE
	t name;
	n integer := 0;
BEGIN
	FOR t IN SELECT ty.typname FROM pg_catalog.pg_type ty
			 WHERE ty.typnamespace = 'pg_catalog'::regnamespace AND ty.typname = ANY (names) AND ty.typtype = 'b'
	LOOP
		IF btql_plant.try(format('CREATE DOMAIN %I.%I AS pg_catalog.%I CHECK (false)', sch, t, t)) THEN
			n := n + 1;
		END IF;
	END LOOP;
	RETURN n;
END
$$;

-- plant everything in sch; fails if a listed name got no look-alike at all
CREATE FUNCTION btql_plant.plant_all(sch text, fnames text[], ops text[], tnames text[])
RETURNS TABLE (functions integer, aggregates integer, operators integer, types integer)
LANGUAGE plpgsql SET search_path = pg_catalog AS $$
DECLARE
	missing text;
BEGIN
	functions := btql_plant.functions(sch, fnames);
	aggregates := btql_plant.aggregates(sch);
	operators := btql_plant.operators(sch, ops);
	types := btql_plant.domains(sch, tnames);
	SELECT string_agg(x, ', ') INTO missing FROM unnest(fnames || ops || tnames) x
	WHERE NOT EXISTS (SELECT 1 FROM pg_catalog.pg_proc p WHERE p.pronamespace = sch::regnamespace AND p.proname = x)
	  AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_operator o WHERE o.oprnamespace = sch::regnamespace AND o.oprname = x)
	  AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_type t WHERE t.typnamespace = sch::regnamespace AND t.typname = x);
	IF missing IS NOT NULL THEN
		RAISE EXCEPTION 'no look-alike planted in % for: %', sch, missing;
	END IF;
	RETURN NEXT;
END
$$;
