/*
 * The search_path lint (test/btql/sql_lint.c) on its own, then on the SQL of
 * every valid case of the differential suite, in normal and export mode:
 * compiled BTQL must not call a function, use an operator or cast to a type
 * that search_path could resolve (issue 12, finding 2).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/btql/btql.h"
#include "check.h"
#include "sql_lint.h"

static void
test_lint_rules(void)
{
	static const char *const bad[] = {
		"SELECT lower(x) FROM t",
		"SELECT a = b FROM t",
		"SELECT x::text FROM t",
		"SELECT x::pg_catalog FROM t",
		"SELECT NULLIF(x, 'null'::pg_catalog.jsonb) FROM t",
		"SELECT 1 FROM t WHERE x LIKE $1::pg_catalog.text",
		"SELECT 1 FROM t WHERE x IS NOT DISTINCT FROM y",
		"SELECT 1 FROM t WHERE x IN ($1::pg_catalog.text)",
		"SELECT CASE pg_catalog.lower(x) WHEN 'a' THEN 1 END FROM t",
		"SELECT jsonb '{}' FROM t",
		"SELECT public.lower(x) FROM t",
		"SELECT x OPERATOR(public.=) y FROM t",
		"SELECT -x FROM t",
		"SELECT x @> y FROM t",
		"SELECT 'a' || 'b' FROM t",
		NULL
	};
	static const char *const good[] = {
		"SELECT pg_catalog.lower(x) AS c1 FROM btexport.logs l",
		"SELECT pg_catalog.count(*), r0.* FROM t r0 WHERE x OPERATOR(pg_catalog.=) $1::pg_catalog.text",
		"SELECT (CASE WHEN x OPERATOR(pg_catalog.=) 'null'::pg_catalog.jsonb THEN NULL ELSE x END) FROM t",
		"SELECT 1 FROM t CROSS JOIN LATERAL pg_catalog.jsonb_each(x) AS u1(k, v) WHERE EXISTS (SELECT 1)",
		"SELECT (ts AT TIME ZONE 'UTC')::pg_catalog.date, pg_catalog.make_interval(secs => 1::pg_catalog.float8) FROM t",
		"SELECT btexport.btql_try_jsonb(x), x::pg_catalog.text[] FROM t WHERE x OPERATOR(pg_catalog.=) ANY (ARRAY['a'])",
		NULL
	};
	char		why[300];
	int			i;

	for (i = 0; bad[i]; i++)
		CHECK(btql_sql_lint(bad[i], why, sizeof(why)) != 0, "lint flags: %s", bad[i]);
	for (i = 0; good[i]; i++)
		CHECK(btql_sql_lint(good[i], why, sizeof(why)) == 0, "lint passes: %s (%s)", good[i], why);
}

/* every "### name ... === sql" case of the file, compiled both ways and linted; returns the count */
static int
lint_case_file(const char *path)
{
	char	   *text = slurp(path),
			   *p;
	int			n = 0;

	CHECK(text != NULL, "case file %s readable", path);
	if (text == NULL)
		return 0;
	for (p = strstr(text, "### "); p; p = strstr(p + 1, "\n### "))
	{
		char	   *name = p[0] == '\n' ? p + 5 : p + 4,
				   *eol = strchr(name, '\n'),
				   *sec,
				   *query;
		int			mode;

		if (eol == NULL || (sec = strstr(eol, "\n=== ")) == NULL)
			break;
		if (strncmp(sec, "\n=== sql", 8) != 0)
			continue;
		query = strndup(eol + 1, sec - eol - 1);
		for (mode = 0; mode < 2; mode++)
		{
			btx_btql_options opt;
			btx_btql_query q;
			btx_error	e;
			char		why[300];

			memset(&opt, 0, sizeof(opt));
			opt.export_cursor = mode;
			if (btx_btql_compile(query, &opt, &q, &e) != 0)
			{
				CHECK(mode == 1, "case %.*s compiles: %s", (int) (eol - name), name, e.message);
				continue;
			}
			CHECK(btql_sql_lint(q.sql, why, sizeof(why)) == 0, "case %.*s (%s): %s\n%s", (int) (eol - name), name,
				  mode ? "export" : "query", why, q.sql);
			btx_btql_query_free(&q);
			n++;
		}
		free(query);
	}
	free(text);
	return n;
}

void
test_lint(int nfiles, char **files)
{
	int			i,
				n = 0;

	test_lint_rules();
	for (i = 0; i < nfiles; i++)
		n += lint_case_file(files[i]);
	CHECK(n >= 200, "at least 200 compiled case queries linted (%d)", n);
}
