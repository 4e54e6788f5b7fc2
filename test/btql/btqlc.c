/*
 * btqlc — standalone driver for the BTQL compiler.
 *
 *   btqlc sql [--export] [--clause|--sql] < query
 *       print the compiled SQL, parameters and columns (or the error)
 *   btqlc docs page.md case-file ...
 *       check that every ```sql / ```btql block of the page is, verbatim, the
 *       query of one of the cases (so the documented examples are tested)
 *   btqlc exec '<conninfo>' query-file ...
 *       compile each file (normal and export mode) and execute the SQL of
 *       those that compile; report any database error and any search_path
 *       lint failure (the compiler must never produce SQL that PostgreSQL
 *       rejects, at the limits included)
 *   btqlc run [--valid-only] [--label L] '<conninfo>' case-file ...
 *       run differential cases: compile each query, check its SQL with the
 *       search_path lint (sql_lint.h), execute it with the bind parameters
 *       (under the connecting role's search_path), execute the hand-written
 *       reference SQL (under search_path = pg_catalog), and compare column
 *       names, column types (declared, actual, reference) and rows (in order
 *       when the query sorts).  Invalid cases compare the exact error
 *       (sqlstate, message, detail, hint); --valid-only skips them.  Prints
 *       one line per case (prefixed with [L]) and ends with
 *       "N passed, N failed".
 *   btqlc server '<conninfo>' case-file ...
 *       run every valid case through the server's btexport.query() (and
 *       btexport.explain() in export mode) in a session whose search_path
 *       puts look-alike objects first: the functions must pin their own
 *       search_path.  Compares the row count with the reference SQL.
 *
 * Case file format:
 *   ### name [export=LO,HI] [empty]
 *   <query>
 *   === sql
 *   <reference SQL>
 * or
 *   ### name
 *   <query>
 *   === error
 *   sqlstate: 42601
 *   message: ...
 *   detail:
 *   <detail lines>
 *   hint: ...
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "core/btql/btql.h"
#include "sql_lint.h"

static char *
read_all(FILE *f)
{
	btx_buf		b;
	char		tmp[4096];
	size_t		n;

	btx_buf_init(&b);
	while ((n = fread(tmp, 1, sizeof(tmp), f)) > 0)
		btx_buf_append(&b, tmp, n);
	if (b.data == NULL)
		btx_buf_puts(&b, "");
	return btx_buf_steal(&b);
}

static void
print_error(FILE *o, const btx_error *e)
{
	fprintf(o, "sqlstate: %s\nmessage: %s\ndetail:\n%s\nhint: %s\n", e->sqlstate, e->message, e->detail, e->hint);
}

static int
cmd_sql(int argc, char **argv)
{
	btx_btql_options opt;
	btx_btql_query q;
	btx_error	e;
	char	   *text;
	int			i;

	memset(&opt, 0, sizeof(opt));
	for (i = 2; i < argc; i++)
	{
		if (strcmp(argv[i], "--export") == 0)
			opt.export_cursor = 1;
		else if (strcmp(argv[i], "--clause") == 0)
			opt.syntax = BTX_BTQL_SYNTAX_CLAUSE;
		else if (strcmp(argv[i], "--sql") == 0)
			opt.syntax = BTX_BTQL_SYNTAX_SQL;
	}
	text = read_all(stdin);
	if (btx_btql_compile(text, &opt, &q, &e) != 0)
	{
		print_error(stdout, &e);
		free(text);
		return 1;
	}
	printf("%s\n", q.sql);
	for (i = 0; i < q.nparams; i++)
		printf("$%d %s = %s\n", q.first_param + i, q.params[i].type, q.params[i].value);
	for (i = 0; i < q.ncolumns; i++)
		printf("column %s %s\n", q.columns[i].name, q.columns[i].type);
	printf("shape %d grouped %d sort %d limit %d xact %d pivot %d unbounded %d\n", (int) q.shape, q.grouped,
		   q.has_sort, q.has_limit, q.xact_column, q.pivot_column, q.unbounded);
	btx_btql_query_free(&q);
	free(text);
	return 0;
}

/* ---- differential runner ---- */

typedef struct tcase
{
	char		name[200];
	char	   *query;
	char	   *ref;			/* reference SQL, or NULL */
	char	   *err;			/* expected error text, or NULL */
	char		xlo[32];
	char		xhi[32];
	int			exportmode;
	int			empty;
} tcase;

static const char *
type_oid_name(Oid oid)
{
	switch (oid)
	{
		case 25:
			return "text";
		case 701:
			return "float8";
		case 20:
			return "int8";
		case 16:
			return "bool";
		case 1184:
			return "timestamptz";
		case 3802:
			return "jsonb";
		case 1009:
			return "text[]";
		case 1082:
			return "date";
		case 1186:
			return "interval";
		case 23:
			return "int4";
		case 1700:
			return "numeric";
		default:
			return "other";
	}
}

static int
cmpstr(const void *a, const void *b)
{
	return strcmp(*(char *const *) a, *(char *const *) b);
}

static char **
rows_of(PGresult *r)
{
	int			n = PQntuples(r),
				m = PQnfields(r),
				i,
				j;
	char	  **rows = calloc(n + 1, sizeof(char *));

	for (i = 0; i < n; i++)
	{
		btx_buf		b;

		btx_buf_init(&b);
		for (j = 0; j < m; j++)
		{
			if (j)
				btx_buf_puts(&b, " | ");
			if (PQgetisnull(r, i, j))
				btx_buf_puts(&b, "<NULL>");
			else
				btx_buf_puts(&b, PQgetvalue(r, i, j));
		}
		if (b.data == NULL)
			btx_buf_puts(&b, "");
		rows[i] = btx_buf_steal(&b);
	}
	return rows;
}

static void
free_rows(char **rows, int n)
{
	int			i;

	for (i = 0; i < n; i++)
		free(rows[i]);
	free(rows);
}

/*
 * The hand-written reference SQL is plain unqualified SQL: it runs with
 * search_path = pg_catalog, whatever look-alikes the role's own search_path
 * puts first (those are for the compiled SQL).
 */
static PGresult *
exec_reference(PGconn *conn, const char *sql)
{
	PGresult   *r;

	PQclear(PQexec(conn, "SET search_path = pg_catalog, pg_temp"));
	r = PQexec(conn, sql);
	PQclear(PQexec(conn, "RESET search_path"));
	return r;
}

/* returns NULL on success, else a malloc'd reason */
static char *
run_valid(PGconn *conn, tcase *tc)
{
	btx_btql_options opt;
	btx_btql_query q;
	btx_error	e;
	PGresult   *a = NULL,
			   *r = NULL;
	const char **vals = NULL;
	int			nvals,
				i;
	char	  **ra = NULL,
			  **rr = NULL;
	btx_buf		why;

	btx_buf_init(&why);
	memset(&opt, 0, sizeof(opt));
	opt.export_cursor = tc->exportmode;
	if (btx_btql_compile(tc->query, &opt, &q, &e) != 0)
	{
		btx_buf_appendf(&why, "compile error %s: %s | %s | %s", e.sqlstate, e.message, e.detail, e.hint);
		return btx_buf_steal(&why);
	}
	{
		char		lint[300];

		if (btql_sql_lint(q.sql, lint, sizeof(lint)) != 0)
			btx_buf_appendf(&why, "search_path lint: %s\n", lint);
	}
	nvals = q.first_param - 1 + q.nparams;
	vals = calloc(nvals + 1, sizeof(char *));
	if (tc->exportmode)
	{
		vals[0] = tc->xlo;
		vals[1] = tc->xhi;
	}
	for (i = 0; i < q.nparams; i++)
		vals[q.first_param - 1 + i] = q.params[i].value;
	a = PQexecParams(conn, q.sql, nvals, NULL, vals, NULL, NULL, 0);
	if (PQresultStatus(a) != PGRES_TUPLES_OK)
	{
		btx_buf_appendf(&why, "compiled SQL failed: %s\nSQL: %s", PQresultErrorMessage(a), q.sql);
		goto done;
	}
	r = exec_reference(conn, tc->ref);
	if (PQresultStatus(r) != PGRES_TUPLES_OK)
	{
		btx_buf_appendf(&why, "reference SQL failed: %s", PQresultErrorMessage(r));
		goto done;
	}
	if (PQnfields(a) != q.ncolumns || PQnfields(r) != q.ncolumns)
	{
		btx_buf_appendf(&why, "column count: declared %d, compiled %d, reference %d", q.ncolumns, PQnfields(a), PQnfields(r));
		goto done;
	}
	for (i = 0; i < q.ncolumns; i++)
	{
		if (strcmp(q.columns[i].name, PQfname(r, i)) != 0)
			btx_buf_appendf(&why, "column %d name: declared \"%s\", reference \"%s\"\n", i + 1, q.columns[i].name, PQfname(r, i));
		if (strcmp(q.columns[i].type, type_oid_name(PQftype(a, i))) != 0)
			btx_buf_appendf(&why, "column %d type: declared %s, compiled SQL returns %s\n", i + 1, q.columns[i].type,
							type_oid_name(PQftype(a, i)));
		if (strcmp(q.columns[i].type, type_oid_name(PQftype(r, i))) != 0)
			btx_buf_appendf(&why, "column %d type: declared %s, reference returns %s\n", i + 1, q.columns[i].type,
							type_oid_name(PQftype(r, i)));
	}
	if (why.len)
		goto done;
	if (PQntuples(a) != PQntuples(r))
		btx_buf_appendf(&why, "row count: compiled %d, reference %d\n", PQntuples(a), PQntuples(r));
	if (PQntuples(r) == 0 && !tc->empty)
		btx_buf_appendf(&why, "reference returned no rows (mark the case \"empty\" if intended)\n");
	ra = rows_of(a);
	rr = rows_of(r);
	if (!q.has_sort)
	{
		qsort(ra, PQntuples(a), sizeof(char *), cmpstr);
		qsort(rr, PQntuples(r), sizeof(char *), cmpstr);
	}
	for (i = 0; i < PQntuples(a) && i < PQntuples(r); i++)
		if (strcmp(ra[i], rr[i]) != 0)
		{
			btx_buf_appendf(&why, "row %d differs:\n  compiled:  %s\n  reference: %s\n", i + 1, ra[i], rr[i]);
			break;
		}
	if (why.len)
		btx_buf_appendf(&why, "SQL: %s", q.sql);
done:
	if (ra)
		free_rows(ra, PQntuples(a));
	if (rr)
		free_rows(rr, PQntuples(r));
	PQclear(a);
	PQclear(r);
	free(vals);
	btx_btql_query_free(&q);
	if (why.len == 0)
	{
		btx_buf_free(&why);
		return NULL;
	}
	return btx_buf_steal(&why);
}

static char *
run_invalid(tcase *tc)
{
	btx_btql_query q;
	btx_error	e;
	btx_buf		got;
	char	   *g;
	btx_buf		why;

	btx_buf_init(&why);
	if (btx_btql_compile(tc->query, NULL, &q, &e) == 0)
	{
		btx_buf_appendf(&why, "compiled without error: %s", q.sql);
		btx_btql_query_free(&q);
		return btx_buf_steal(&why);
	}
	btx_buf_init(&got);
	btx_buf_appendf(&got, "sqlstate: %s\nmessage: %s\ndetail:\n%s\nhint: %s", e.sqlstate, e.message, e.detail, e.hint);
	g = btx_buf_steal(&got);
	if (strcmp(g, tc->err) != 0)
	{
		btx_buf_appendf(&why, "error differs\n--- expected\n%s\n--- got\n%s", tc->err, g);
		free(g);
		return btx_buf_steal(&why);
	}
	free(g);
	return NULL;
}

static char *
trim_dup(const char *s, size_t n)
{
	char	   *r;

	while (n > 0 && (s[n - 1] == '\n' || s[n - 1] == ' ' || s[n - 1] == '\r'))
		n--;
	r = malloc(n + 1);
	memcpy(r, s, n);
	r[n] = '\0';
	return r;
}

/*
 * btexport.query() and btexport.explain() in the server, in a session whose
 * search_path puts the look-alikes first: NULL when they work and query()
 * returns as many rows as the reference.  The harness's own SQL here is
 * qualified too, or it would trip over the look-alikes itself.
 */
static char *
run_server(PGconn *conn, tcase *tc)
{
	const char *vals[1] = {tc->query};
	PGresult   *a,
			   *r = NULL;
	btx_buf		why,
				ref;

	btx_buf_init(&why);
	a = PQexecParams(conn, tc->exportmode ?
					 "SELECT pg_catalog.length(btexport.explain($1::pg_catalog.text, true))" :
					 "SELECT pg_catalog.count(*) FROM btexport.query($1::pg_catalog.text)",
					 1, NULL, vals, NULL, NULL, 0);
	if (PQresultStatus(a) != PGRES_TUPLES_OK)
		btx_buf_appendf(&why, "btexport.%s failed: %s", tc->exportmode ? "explain" : "query", PQresultErrorMessage(a));
	else if (!tc->exportmode)
	{
		btx_buf_init(&ref);
		btx_buf_appendf(&ref, "SELECT count(*) FROM (%s) r", tc->ref);
		r = exec_reference(conn, ref.data);
		btx_buf_free(&ref);
		if (PQresultStatus(r) != PGRES_TUPLES_OK)
			btx_buf_appendf(&why, "reference SQL failed: %s", PQresultErrorMessage(r));
		else if (strcmp(PQgetvalue(a, 0, 0), PQgetvalue(r, 0, 0)) != 0)
			btx_buf_appendf(&why, "btexport.query returned %s rows, the reference %s", PQgetvalue(a, 0, 0),
							PQgetvalue(r, 0, 0));
	}
	PQclear(a);
	PQclear(r);
	if (why.len == 0)
	{
		btx_buf_free(&why);
		return NULL;
	}
	return btx_buf_steal(&why);
}

typedef struct run_mode
{
	int			valid_only;		/* skip the invalid cases */
	int			server;			/* through btexport.query() (run_server) */
	const char *label;			/* printed before each case name, or NULL */
} run_mode;

static int
run_file(PGconn *conn, const char *path, const run_mode *m, int *passed, int *failed)
{
	FILE	   *f = fopen(path, "r");
	char	   *text,
			   *p;

	if (f == NULL)
	{
		fprintf(stderr, "cannot open %s\n", path);
		(*failed)++;
		return -1;
	}
	text = read_all(f);
	fclose(f);
	p = strstr(text, "### ");
	while (p)
	{
		tcase		tc;
		char	   *eol = strchr(p, '\n'),
				   *next,
				   *body,
				   *sec,
				   *why = NULL;

		memset(&tc, 0, sizeof(tc));
		if (eol == NULL)
			break;
		{
			char		hdr[400];
			char	   *tok;
			size_t		hl = eol - p - 4;

			if (hl >= sizeof(hdr))
				hl = sizeof(hdr) - 1;
			memcpy(hdr, p + 4, hl);
			hdr[hl] = '\0';
			tok = strtok(hdr, " ");
			snprintf(tc.name, sizeof(tc.name), "%s", tok ? tok : "?");
			while ((tok = strtok(NULL, " ")) != NULL)
			{
				if (strncmp(tok, "export=", 7) == 0 && strchr(tok, ','))
				{
					tc.exportmode = 1;
					snprintf(tc.xlo, sizeof(tc.xlo), "%.*s", (int) (strchr(tok, ',') - tok - 7), tok + 7);
					snprintf(tc.xhi, sizeof(tc.xhi), "%s", strchr(tok, ',') + 1);
				}
				else if (strcmp(tok, "empty") == 0)
					tc.empty = 1;
			}
		}
		body = eol + 1;
		next = strstr(body, "\n### ");
		if (next)
			next++;
		sec = strstr(body, "\n=== ");
		if (sec == NULL || (next && sec > next))
		{
			printf("FAIL %s: no === section\n", tc.name);
			(*failed)++;
			p = next;
			continue;
		}
		tc.query = trim_dup(body, sec - body + 1);
		{
			char	   *secbody = strchr(sec + 1, '\n');
			size_t		len;

			secbody = secbody ? secbody + 1 : sec + strlen(sec);
			len = next ? (size_t) (next - secbody) : strlen(secbody);
			if (strncmp(sec + 1, "=== sql", 7) == 0)
				tc.ref = trim_dup(secbody, len);
			else
				tc.err = trim_dup(secbody, len);
		}
		if (tc.ref == NULL && (m->valid_only || m->server))
		{
			free(tc.query);
			free(tc.err);
			p = next;
			continue;
		}
		if (tc.ref)
			why = m->server ? run_server(conn, &tc) : run_valid(conn, &tc);
		else
			why = run_invalid(&tc);
		if (why)
		{
			printf("FAIL %s%s%s%s: %s\n", m->label ? "[" : "", m->label ? m->label : "", m->label ? "] " : "",
				   tc.name, why);
			(*failed)++;
		}
		else
		{
			printf("ok   %s%s%s%s\n", m->label ? "[" : "", m->label ? m->label : "", m->label ? "] " : "", tc.name);
			(*passed)++;
		}
		free(why);
		free(tc.query);
		free(tc.ref);
		free(tc.err);
		p = next;
	}
	free(text);
	return 0;
}

/* does any case of the files have exactly this query? */
static int
query_in_cases(const char *q, int nfiles, char **files)
{
	int			i;

	for (i = 0; i < nfiles; i++)
	{
		FILE	   *f = fopen(files[i], "r");
		char	   *text,
				   *p;

		if (f == NULL)
			continue;
		text = read_all(f);
		fclose(f);
		for (p = strstr(text, "### "); p; p = strstr(p + 1, "\n### "))
		{
			char	   *body = strchr(p + 1, '\n'),
					   *sec;
			char	   *cq;

			if (body == NULL)
				break;
			sec = strstr(body, "\n=== ");
			if (sec == NULL)
				break;
			cq = trim_dup(body + 1, sec - body);
			if (strcmp(cq, q) == 0)
			{
				free(cq);
				free(text);
				return 1;
			}
			free(cq);
		}
		free(text);
	}
	return 0;
}

static int
cmd_docs(int argc, char **argv)
{
	FILE	   *f = fopen(argv[2], "r");
	char	   *text,
			   *p;
	int			passed = 0,
				failed = 0,
				n = 0;

	if (f == NULL)
	{
		printf("FAIL docs: cannot open %s\n0 passed, 1 failed\n", argv[2]);
		return 1;
	}
	text = read_all(f);
	fclose(f);
	for (p = text; (p = strstr(p, "```")) != NULL;)
	{
		char	   *eol = strchr(p, '\n'),
				   *end;
		int			is_query = strncmp(p, "```sql\n", 7) == 0 || strncmp(p, "```btql\n", 8) == 0;

		if (eol == NULL)
			break;
		end = strstr(eol + 1, "\n```");
		if (end == NULL)
			break;
		if (is_query)
		{
			char	   *q = trim_dup(eol + 1, end - eol);

			n++;
			if (query_in_cases(q, argc - 3, argv + 3))
			{
				printf("ok   docs example %d\n", n);
				passed++;
			}
			else
			{
				printf("FAIL docs example %d is not a tested case:\n%s\n", n, q);
				failed++;
			}
			free(q);
		}
		p = end + 4;
	}
	free(text);
	if (n == 0)
	{
		printf("FAIL docs: no examples found\n");
		failed++;
	}
	printf("%d passed, %d failed\n", passed, failed);
	return failed ? 1 : 0;
}

static int
cmd_exec(int argc, char **argv)
{
	PGconn	   *conn = PQconnectdb(argv[2]);
	int			i,
				mode,
				compiled = 0,
				bad = 0;

	if (PQstatus(conn) != CONNECTION_OK)
	{
		fprintf(stderr, "connection failed: %s", PQerrorMessage(conn));
		return 1;
	}
	PQclear(PQexec(conn, "SET statement_timeout = '5s'"));
	for (i = 3; i < argc; i++)
	{
		FILE	   *f = fopen(argv[i], "r");
		char	   *text;

		if (f == NULL)
			continue;
		text = read_all(f);
		fclose(f);
		for (mode = 0; mode < 2; mode++)
		{
			btx_btql_options opt;
			btx_btql_query q;
			btx_error	e;
			const char **vals;
			int			nvals,
						j;
			PGresult   *r;

			memset(&opt, 0, sizeof(opt));
			opt.export_cursor = mode;
			if (btx_btql_compile(text, &opt, &q, &e) != 0)
				continue;
			compiled++;
			{
				char		why[300];

				if (btql_sql_lint(q.sql, why, sizeof(why)) != 0)
				{
					bad++;
					printf("LINT %s: %s\n", argv[i], why);
				}
			}
			nvals = q.first_param - 1 + q.nparams;
			vals = calloc(nvals + 1, sizeof(char *));
			if (mode)
			{
				vals[0] = "0";
				vals[1] = "1000";
			}
			for (j = 0; j < q.nparams; j++)
				vals[q.first_param - 1 + j] = q.params[j].value;
			r = PQexecParams(conn, q.sql, nvals, NULL, vals, NULL, NULL, 0);
			if (PQresultStatus(r) != PGRES_TUPLES_OK)
			{
				const char *st = PQresultErrorField(r, PG_DIAG_SQLSTATE);

				bad++;
				printf("ERROR %s [%s] %s--- query:\n%s\n--- sql:\n%s\n\n", argv[i], st ? st : "?",
					   PQresultErrorMessage(r), text, q.sql);
			}
			PQclear(r);
			free(vals);
			btx_btql_query_free(&q);
		}
		free(text);
	}
	PQfinish(conn);
	printf("%d compiled queries executed, %d database errors\n", compiled, bad);
	return bad ? 1 : 0;
}

static void
ignore_notice(void *arg, const char *message)
{
}

int
main(int argc, char **argv)
{
	if (argc >= 4 && strcmp(argv[1], "exec") == 0)
		return cmd_exec(argc, argv);
	if (argc >= 4 && strcmp(argv[1], "docs") == 0)
		return cmd_docs(argc, argv);
	if (argc >= 2 && strcmp(argv[1], "sql") == 0)
		return cmd_sql(argc, argv);
	if (argc >= 4 && (strcmp(argv[1], "run") == 0 || strcmp(argv[1], "server") == 0))
	{
		PGconn	   *conn;
		run_mode	m;
		int			passed = 0,
					failed = 0,
					i = 2;

		memset(&m, 0, sizeof(m));
		m.server = strcmp(argv[1], "server") == 0;
		for (; i < argc - 1 && strncmp(argv[i], "--", 2) == 0; i++)
		{
			if (strcmp(argv[i], "--valid-only") == 0)
				m.valid_only = 1;
			else if (strcmp(argv[i], "--label") == 0 && i + 1 < argc)
				m.label = argv[++i];
		}
		conn = PQconnectdb(argv[i]);
		if (PQstatus(conn) != CONNECTION_OK)
		{
			fprintf(stderr, "connection failed: %s", PQerrorMessage(conn));
			printf("0 passed, 1 failed\n");
			return 1;
		}
		/* btexport.query() warns about queries without a time bound: not a failure */
		PQsetNoticeProcessor(conn, ignore_notice, NULL);
		PQclear(PQexec(conn, "SET TIME ZONE 'UTC'"));
		for (i++; i < argc; i++)
			run_file(conn, argv[i], &m, &passed, &failed);
		PQfinish(conn);
		printf("%d passed, %d failed\n", passed, failed);
		return failed ? 1 : 0;
	}
	fprintf(stderr, "usage: btqlc sql [--export] [--clause|--sql] < query\n"
			"       btqlc run [--valid-only] [--label L] '<conninfo>' case-file ...\n"
			"       btqlc server '<conninfo>' case-file ...\n");
	return 2;
}
