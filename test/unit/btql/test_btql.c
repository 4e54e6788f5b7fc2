/*
 * Unit tests of the BTQL compiler: lexer, parser, compiler (SQL snapshots,
 * parameters, typed columns), safety (no user text in SQL), API contract,
 * and the exact error output of every invalid case of the differential suite.
 *
 *   test_btql snapshots.txt ../../btql/cases/90_invalid.txt ../../btql/cases/NN_*.txt
 * (the case files after the second argument: their compiled SQL is linted)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/btql/btql.h"
#include "core/btql/btql_int.h"
#include "check.h"

int			passed,
			failed;

/* the whole file, malloc'd, or NULL (also used by test_lint.c) */
char *
slurp(const char *path)
{
	FILE	   *f = fopen(path, "r");
	btx_buf		b;
	char		tmp[4096];
	size_t		n;

	if (f == NULL)
		return NULL;
	btx_buf_init(&b);
	while ((n = fread(tmp, 1, sizeof(tmp), f)) > 0)
		btx_buf_append(&b, tmp, n);
	fclose(f);
	if (b.data == NULL)
		btx_buf_puts(&b, "");
	return btx_buf_steal(&b);
}

/* ---- lexer ---- */

static void
test_lexer(void)
{
	btx_btql_ctx c;
	btx_error	e;
	const char *src = "select: a.\"b c\", 'it''s' -- comment\n| x <=> 1.5e3 <!=> [-2]";

	btx_error_clear(&e);
	btx_btql_ctx_init(&c, src, &e, NULL);
	CHECK(btx_btql_lex(&c) == 0, "lex ok");
	CHECK(c.ntoks == 17, "token count %d", c.ntoks);
	if (c.ntoks == 17)
	{
		CHECK(c.toks[0].kind == TK_IDENT && strcmp(c.toks[0].text, "select") == 0, "ident");
		CHECK(c.toks[1].kind == TK_OP && strcmp(c.toks[1].op, ":") == 0, "colon");
		CHECK(c.toks[4].kind == TK_QIDENT && strcmp(c.toks[4].text, "b c") == 0, "qident unescaped");
		CHECK(c.toks[6].kind == TK_STRING && strcmp(c.toks[6].text, "it's") == 0, "string '' escape");
		CHECK(c.toks[7].kind == TK_OP && strcmp(c.toks[7].op, "|") == 0 && c.toks[7].bol && c.toks[7].line == 2 &&
			  c.toks[7].col == 1, "pipe at line 2 col 1, bol");
		CHECK(strcmp(c.toks[9].op, "<=>") == 0, "<=> operator");
		CHECK(c.toks[10].kind == TK_FLOAT && strcmp(c.toks[10].text, "1.5e3") == 0, "float with exponent");
		CHECK(strcmp(c.toks[11].op, "<!=>") == 0, "<!=> operator");
		CHECK(c.toks[16].kind == TK_EOF, "eof");
		CHECK(c.toks[2].col == 9 && !c.toks[2].bol, "column of a");
	}
	btx_btql_arena_free(&c.arena);

	btx_error_clear(&e);
	btx_btql_ctx_init(&c, "x = 'open", &e, NULL);
	CHECK(btx_btql_lex(&c) != 0 && strcmp(e.sqlstate, "42601") == 0 &&
		  strstr(e.message, "unterminated string literal at line 1, column 5") != NULL, "unterminated: %s", e.message);
	btx_btql_arena_free(&c.arena);

	/* UTF-8 counts as one column per character */
	btx_error_clear(&e);
	btx_btql_ctx_init(&c, "'\xc3\xa9\xc3\xa9' x", &e, NULL);
	CHECK(btx_btql_lex(&c) == 0 && c.toks[1].col == 6, "utf-8 column %d", c.ntoks > 1 ? c.toks[1].col : -1);
	btx_btql_arena_free(&c.arena);
}

/* ---- parser ---- */

static btx_btql_ast *
parse(btx_btql_ctx *c, btx_error *e, const char *src)
{
	btx_error_clear(e);
	btx_btql_ctx_init(c, src, e, NULL);
	if (btx_btql_lex(c) != 0)
		return NULL;
	return btx_btql_parse(c, BTX_BTQL_SYNTAX_AUTO);
}

static void
test_parser(void)
{
	btx_btql_ctx c;
	btx_error	e;
	btx_btql_ast *q;

	/* NOT binds looser than INCLUDES; AND looser than comparison; OR loosest */
	q = parse(&c, &e, "select: * | from: project_logs('p') | filter: NOT tags INCLUDES 'x' or a = 1 and b");
	CHECK(q && q->syntax == BTX_BTQL_SYNTAX_CLAUSE, "clause syntax detected");
	if (q && q->filter)
	{
		btx_btql_node *f = q->filter;

		CHECK(f->kind == E_BINOP && strcmp(f->op, "or") == 0, "top is OR");
		CHECK(f->left->kind == E_NOT && f->left->left->kind == E_INCLUDES, "NOT (tags INCLUDES 'x')");
		CHECK(f->right->kind == E_BINOP && strcmp(f->right->op, "and") == 0 &&
			  strcmp(f->right->left->op, "=") == 0, "a = 1 AND b");
	}
	btx_btql_arena_free(&c.arena);

	/* ternary is right-associative; unary minus folds into literals */
	q = parse(&c, &e, "SELECT a ? 1 : b ? -2 : 3 AS x FROM project_logs('p')");
	CHECK(q && q->syntax == BTX_BTQL_SYNTAX_SQL && q->nselect == 1, "sql syntax detected");
	if (q && q->nselect == 1)
	{
		btx_btql_node *t = q->select[0].expr;

		CHECK(t->kind == E_IF && t->args[2]->kind == E_IF, "nested in else branch");
		CHECK(t->args[2]->args[1]->kind == E_INT && t->args[2]->args[1]->ival == -2, "folded -2");
		CHECK(strcmp(q->select[0].alias, "x") == 0, "alias");
	}
	btx_btql_arena_free(&c.arena);

	/* paths: quoted segments, indexes */
	q = parse(&c, &e, "SELECT metadata.\"a.b\"[0][-1].c FROM project_logs('p', 'q', shape => 'summary')");
	if (q && q->nselect == 1)
	{
		btx_btql_node *p = q->select[0].expr;

		CHECK(p->kind == E_PATH && p->nsegs == 5, "5 segments");
		CHECK(p->nsegs == 5 && strcmp(p->segs[1].name, "a.b") == 0 && p->segs[1].quoted, "quoted segment kept whole");
		CHECK(p->nsegs == 5 && p->segs[2].name == NULL && p->segs[2].index == 0 && p->segs[3].index == -1, "indexes");
		CHECK(q->nids == 2 && q->shape == BTX_BTQL_SUMMARY, "two ids and shape");
	}
	else
		CHECK(0, "path query parsed: %s", e.message);
	btx_btql_arena_free(&c.arena);

	/* clause bodies end at the next header; a | inside a string does not split */
	q = parse(&c, &e, "select: id\nfilter: x = 'a|b'\n  and y = 2 | from: project_logs('p') traces | limit: 5");
	CHECK(q && q->has_limit && q->limit == 5 && q->shape == BTX_BTQL_TRACES && q->filter &&
		  strcmp(q->filter->op, "and") == 0, "clauses split correctly");
	btx_btql_arena_free(&c.arena);

	/* positions in dimensions / GROUP BY / ORDER BY */
	q = parse(&c, &e, "SELECT a, count(1) AS n FROM project_logs('p') GROUP BY 1 ORDER BY 2 DESC, a");
	CHECK(q && q->ndims == 1 && q->dims[0].position == 1 && q->nsort == 2 && q->sort[0].position == 2 &&
		  q->sort[0].desc && q->sort[1].position == 0, "positions");
	btx_btql_arena_free(&c.arena);

	/* interval and IN lists */
	q = parse(&c, &e, "select: * | from: project_logs('p') | filter: created > now() - INTERVAL 3 Day and x NOT IN [1, 'a']");
	CHECK(q && q->filter && q->filter->left->right->right->kind == E_INTERVAL &&
		  q->filter->left->right->right->ival == 3 && strcmp(q->filter->left->right->right->str, "day") == 0,
		  "interval 3 day");
	CHECK(q && q->filter && q->filter->right->kind == E_IN && q->filter->right->neg &&
		  q->filter->right->right->nargs == 2, "NOT IN list");
	btx_btql_arena_free(&c.arena);

	/* detection: leading comments and whitespace, WITH goes to SQL */
	q = parse(&c, &e, "  -- c\n\n  with x");
	CHECK(q == NULL && strcmp(e.sqlstate, "0A000") == 0, "WITH rejected: %s", e.message);
	btx_btql_arena_free(&c.arena);
	q = parse(&c, &e, "");
	CHECK(q == NULL && strcmp(e.sqlstate, "42601") == 0 && strstr(e.message, "empty query") != NULL, "empty query");
	btx_btql_arena_free(&c.arena);
}

/* ---- compiler snapshots ---- */

static void
format_query(btx_buf *b, const btx_btql_query *q)
{
	int			i;

	btx_buf_appendf(b, "%s\n=== params", q->sql);
	for (i = 0; i < q->nparams; i++)
		btx_buf_appendf(b, "\n$%d %s = %s", q->first_param + i, q->params[i].type, q->params[i].value);
	btx_buf_puts(b, "\n=== columns");
	for (i = 0; i < q->ncolumns; i++)
		btx_buf_appendf(b, "\n%s %s", q->columns[i].name, q->columns[i].type);
}

static void
test_snapshots(const char *path)
{
	char	   *text = slurp(path);
	char	   *p;
	int			n = 0;
	/* BTQL_UPDATE_SNAPSHOTS=file: also write the snapshots as compiled now (review, then copy) */
	const char *update = getenv("BTQL_UPDATE_SNAPSHOTS");
	btx_buf		fresh;

	btx_buf_init(&fresh);

	CHECK(text != NULL, "snapshot file %s readable", path);
	if (text == NULL)
		return;
	p = strstr(text, "### ");
	while (p)
	{
		char		name[128];
		char	   *eol = strchr(p, '\n'),
				   *sec,
				   *next,
				   *query,
				   *expect;
		btx_btql_options opt;
		btx_btql_query q;
		btx_error	e;
		btx_buf		got;

		if (eol == NULL)
			break;
		memset(&opt, 0, sizeof(opt));
		snprintf(name, sizeof(name), "%.*s", (int) (eol - p - 4), p + 4);
		if (strstr(name, " export"))
		{
			opt.export_cursor = 1;
			*strstr(name, " export") = '\0';
		}
		next = strstr(eol, "\n### ");
		sec = strstr(eol, "\n=== sql\n");
		if (sec == NULL || (next && sec > next))
			break;
		query = strndup(eol + 1, sec - eol - 1);
		expect = next ? strndup(sec + 9, next - sec - 9) : strdup(sec + 9);
		while (strlen(expect) && expect[strlen(expect) - 1] == '\n')
			expect[strlen(expect) - 1] = '\0';
		btx_buf_init(&got);
		if (btx_btql_compile(query, &opt, &q, &e) == 0)
		{
			format_query(&got, &q);
			btx_btql_query_free(&q);
		}
		else
			btx_buf_appendf(&got, "error %s %s", e.sqlstate, e.message);
		CHECK(got.data && strcmp(got.data, expect) == 0, "snapshot %s\n--- expected\n%s\n--- got\n%s", name, expect,
			  got.data ? got.data : "");
		btx_buf_appendf(&fresh, "%s### %s%s\n%s\n=== sql\n%s\n", n ? "\n" : "", name, opt.export_cursor ? " export" : "",
						query, got.data ? got.data : "");
		btx_buf_free(&got);
		free(query);
		free(expect);
		n++;
		p = next ? next + 1 : NULL;
	}
	CHECK(n >= 10, "at least 10 snapshots (%d)", n);
	if (update && fresh.data)
	{
		FILE	   *f = fopen(update, "w");

		CHECK(f != NULL && fputs(fresh.data, f) >= 0 && fclose(f) == 0, "snapshots written to %s", update);
	}
	btx_buf_free(&fresh);
	free(text);
}

/* ---- error output of the invalid cases ---- */

/*
 * PostgreSQL message style: no trailing period; the first word is not a
 * capitalised ordinary word (lower case, a quoted name, or an upper-case SQL
 * keyword / function such as JOIN or ANY_SPAN()).
 */
static int
message_style_ok(const char *m)
{
	size_t		i;

	if (m[0] == '\0' || m[strlen(m) - 1] == '.')
		return 0;
	if ((m[0] >= 'a' && m[0] <= 'z') || m[0] == '"')
		return 1;
	for (i = 0; m[i] && m[i] != ' '; i++)
		if (!((m[i] >= 'A' && m[i] <= 'Z') || m[i] == '_' || m[i] == '(' || m[i] == ')'))
			return 0;
	return 1;
}

static void
test_invalid_cases(const char *path)
{
	char	   *text = slurp(path);
	char	   *p;
	int			n = 0;

	CHECK(text != NULL, "invalid case file %s readable", path);
	if (text == NULL)
		return;
	p = strstr(text, "### ");
	while (p)
	{
		char		name[128];
		char	   *eol = strchr(p, '\n'),
				   *sec,
				   *next,
				   *query,
				   *expect;
		btx_btql_query q;
		btx_error	e;
		btx_buf		got;

		if (eol == NULL)
			break;
		snprintf(name, sizeof(name), "%.*s", (int) (eol - p - 4), p + 4);
		next = strstr(eol, "\n### ");
		sec = strstr(eol, "\n=== error\n");
		if (sec == NULL || (next && sec > next))
			break;
		query = strndup(eol + 1, sec - eol - 1);
		expect = next ? strndup(sec + 11, next - sec - 11) : strdup(sec + 11);
		while (strlen(expect) && expect[strlen(expect) - 1] == '\n')
			expect[strlen(expect) - 1] = '\0';
		btx_buf_init(&got);
		if (btx_btql_compile(query, NULL, &q, &e) == 0)
		{
			btx_buf_appendf(&got, "compiled: %s", q.sql);
			btx_btql_query_free(&q);
		}
		else
		{
			btx_buf_appendf(&got, "sqlstate: %s\nmessage: %s\ndetail:\n%s\nhint: %s", e.sqlstate, e.message, e.detail, e.hint);
			/* style: message lower-case without a trailing period; hint a sentence */
			CHECK(message_style_ok(e.message), "%s: message style \"%s\"", name, e.message);
			CHECK((strncmp(e.hint, "btexport", 8) == 0 || (e.hint[0] >= 'A' && e.hint[0] <= 'Z')) &&
				  e.hint[strlen(e.hint) - 1] == '.', "%s: hint style \"%s\"", name, e.hint);
			CHECK(strstr(e.detail, "^") != NULL && strstr(e.message, " at line ") != NULL,
				  "%s: position and caret", name);
		}
		CHECK(got.data && strcmp(got.data, expect) == 0, "invalid case %s\n--- expected\n%s\n--- got\n%s", name, expect,
			  got.data ? got.data : "");
		btx_buf_free(&got);
		free(query);
		free(expect);
		n++;
		p = next ? next + 1 : NULL;
	}
	CHECK(n >= 40, "at least 40 invalid cases (%d)", n);
	free(text);
}

/* ---- safety: no user text in the SQL ---- */

static void
test_no_user_text(void)
{
	static const char *const queries[] = {
		"select: * | from: project_logs('zqproj''; DROP TABLE x; --') | filter: metadata.zqkey = 'zqval''); DROP TABLE btexport.logs; --'",
		"SELECT metadata.\"zq key'\"\"\" AS \"zq alias\"\"\" FROM project_logs('p') WHERE input LIKE '%zqlike%' AND output MATCH 'zqmatch' AND search('zqsearch')",
		"SELECT json_extract(metadata.zqraw, 'zqjk') AS zqa, scores.\"zq;score\" FROM project_logs('p') WHERE contains(tags, 'zqtag')",
		"select: zqu, zqv | from: project_logs('p') | unpivot: scores as (zqu, zqv) | filter: metadata.zqk IN ['zq1', 'zq2']",
		"dimensions: metadata.zqm as zqmodel | measures: count(1) as zqn | pivot: zqn | from: project_logs('p')",
		"SELECT id FROM project_logs('p') WHERE created > '2024-01-01T00:00:00Z' AND _xact_id > '12345678901' ORDER BY id LIMIT 7 OFFSET 'zqcursor'",
		"select: coalesce(metadata.zqa, 'zqb') as x, concat('zqc', id) as y | from: project_logs('p') summary | preview_length: 9",
		NULL
	};
	int			i;

	for (i = 0; queries[i]; i++)
	{
		btx_btql_query q;
		btx_error	e;
		int			j;

		if (btx_btql_compile(queries[i], NULL, &q, &e) != 0)
		{
			CHECK(0, "safety query %d compiles: %s %s", i, e.message, e.detail);
			continue;
		}
		CHECK(strstr(q.sql, "zq") == NULL && strstr(q.sql, "DROP") == NULL && strstr(q.sql, "1234567") == NULL &&
			  strstr(q.sql, "2024") == NULL, "no user text in SQL of query %d: %s", i, q.sql);
		/* every parameter is used, with an explicit cast */
		for (j = 0; j < q.nparams; j++)
		{
			char		ph[32];

			snprintf(ph, sizeof(ph), "$%d::pg_catalog.%s", q.first_param + j, q.params[j].type);
			CHECK(strstr(q.sql, ph) != NULL, "parameter %s used in query %d", ph, i);
		}
		btx_btql_query_free(&q);
	}
}

/* ---- API contract ---- */

static void
test_api(void)
{
	btx_btql_options opt;
	btx_btql_query q;
	btx_error	e;
	int			rc;

	memset(&opt, 0, sizeof(opt));
	opt.export_cursor = 1;
	rc = btx_btql_compile("select: id, created | from: project_logs('a', 'b') traces | filter: is_root | sort: created desc | limit: 10 | cursor: 'tok'",
						  &opt, &q, &e);
	CHECK(rc == 0, "export compile: %s", e.message);
	if (rc == 0)
	{
		CHECK(q.first_param == 3 && strstr(q.sql, "$1::pg_catalog.xid8") && strstr(q.sql, "$2::pg_catalog.xid8") &&
			  strstr(q.sql, "$3::pg_catalog.text"),
			  "export placeholders");
		CHECK(q.ncolumns == 3 && strcmp(q.columns[2].name, "_xact_id") == 0 && strcmp(q.columns[2].type, "int8") == 0 &&
			  q.xact_column == 2, "_xact_id column appended");
		CHECK(strcmp(q.columns[1].type, "timestamptz") == 0 && strcmp(q.columns[0].type, "text") == 0, "typed columns");
		CHECK(q.nprojects == 2 && strcmp(q.projects[0], "a") == 0 && strcmp(q.projects[1], "b") == 0, "projects");
		CHECK(q.shape == BTX_BTQL_TRACES && q.has_sort && q.has_limit && q.limit == 10 && q.cursor &&
			  strcmp(q.cursor, "tok") == 0 && !q.unbounded && q.syntax == BTX_BTQL_SYNTAX_CLAUSE, "flags");
		btx_btql_query_free(&q);
		btx_btql_query_free(&q);	/* idempotent */
	}
	rc = btx_btql_compile("SELECT * FROM project_logs('p') WHERE metadata.x = 1", NULL, &q, &e);
	CHECK(rc == 0 && q.first_param == 1 && q.unbounded && q.ncolumns == 22 && q.xact_column == 21 && !q.grouped,
		  "spans star: 22 columns, unbounded");
	if (rc == 0)
		btx_btql_query_free(&q);
	rc = btx_btql_compile("SELECT * FROM project_logs('p', shape => 'summary') WHERE created > now() - interval 1 day", NULL, &q, &e);
	CHECK(rc == 0 && q.ncolumns == 11 && !q.unbounded && strcmp(q.columns[9].name, "span_count") == 0 &&
		  strcmp(q.columns[8].type, "jsonb") == 0 && strcmp(q.columns[6].type, "text[]") == 0, "summary star: 11 columns");
	if (rc == 0)
		btx_btql_query_free(&q);
	rc = btx_btql_compile("SELECT count(1) AS n, avg(scores.x) AS a, day(created) AS d FROM project_logs('p') GROUP BY 3", NULL, &q, &e);
	CHECK(rc == 0 && q.grouped && strcmp(q.columns[0].type, "int8") == 0 && strcmp(q.columns[1].type, "float8") == 0 &&
		  strcmp(q.columns[2].type, "timestamptz") == 0, "aggregate types");
	if (rc == 0)
		btx_btql_query_free(&q);
	/* forced syntax */
	memset(&opt, 0, sizeof(opt));
	opt.syntax = BTX_BTQL_SYNTAX_SQL;
	rc = btx_btql_compile("select: * | from: project_logs('p')", &opt, &q, &e);
	CHECK(rc != 0 && strcmp(e.sqlstate, "42601") == 0, "forced SQL syntax rejects clause text");
	rc = btx_btql_compile(NULL, NULL, &q, &e);
	CHECK(rc != 0 && strcmp(e.sqlstate, "42601") == 0 && q.sql == NULL, "NULL text is an empty query");
	/* the result is empty after an error */
	rc = btx_btql_compile("SELECT nope FROM project_logs('p')", NULL, &q, &e);
	CHECK(rc != 0 && q.sql == NULL && q.params == NULL && q.columns == NULL && q.nparams == 0, "out left empty on error");
	/* a parameter value identical in two places is bound once */
	rc = btx_btql_compile("SELECT metadata.m AS m, count(1) AS n FROM project_logs('p') WHERE metadata.m = 'm' GROUP BY metadata.m", NULL, &q, &e);
	/* 'p', and 'm' once for both the key m and the value 'm' */
	CHECK(rc == 0 && q.nparams == 2, "deduplicated parameters (%d)", rc == 0 ? q.nparams : -1);
	if (rc == 0)
		btx_btql_query_free(&q);
	/* deep but legal nesting works; pathological input fails cleanly */
	{
		btx_buf		b;
		int			i;

		btx_buf_init(&b);
		btx_buf_puts(&b, "select: * | from: project_logs('p') | filter: ");
		for (i = 0; i < 10000; i++)
			btx_buf_puts(&b, "NOT ");
		btx_buf_puts(&b, "is_root");
		rc = btx_btql_compile(b.data, NULL, &q, &e);
		CHECK(rc != 0 && strcmp(e.sqlstate, "0A000") == 0, "deep NOT chain rejected: %s", e.message);
		btx_buf_free(&b);
		btx_buf_init(&b);
		btx_buf_puts(&b, "select: * | from: project_logs('p') | filter: ");
		for (i = 0; i < 900; i++)
			btx_buf_puts(&b, "is_root AND ");
		btx_buf_puts(&b, "is_root");
		rc = btx_btql_compile(b.data, NULL, &q, &e);
		CHECK(rc == 0, "900-term AND chain compiles: %s", e.message);
		if (rc == 0)
			btx_btql_query_free(&q);
		btx_buf_free(&b);
		/* a chain too deep for the recursive compiler fails cleanly */
		btx_buf_init(&b);
		btx_buf_puts(&b, "SELECT id FROM project_logs('p') WHERE ");
		for (i = 0; i < 20000; i++)
			btx_buf_puts(&b, "id = 'x' OR ");
		btx_buf_puts(&b, "is_root");
		rc = btx_btql_compile(b.data, NULL, &q, &e);
		CHECK(rc != 0 && strcmp(e.sqlstate, "54001") == 0 &&
			  strstr(e.message, "nested more than 1000 levels") != NULL, "20000-term OR chain rejected: %s", e.message);
		btx_buf_free(&b);
		btx_buf_init(&b);
		btx_buf_puts(&b, "select: 1");
		for (i = 0; i < 20000; i++)
			btx_buf_puts(&b, " + 1");
		btx_buf_puts(&b, " as x | from: project_logs('p')");
		rc = btx_btql_compile(b.data, NULL, &q, &e);
		CHECK(rc != 0 && strcmp(e.sqlstate, "54001") == 0, "20000-term sum rejected: %s", e.message);
		btx_buf_free(&b);
	}
}

int
main(int argc, char **argv)
{
	test_lexer();
	test_parser();
	test_no_user_text();
	test_api();
	test_limits();
	if (argc > 1)
		test_snapshots(argv[1]);
	else
		CHECK(0, "snapshot file argument missing");
	if (argc > 2)
		test_invalid_cases(argv[2]);
	else
		CHECK(0, "invalid case file argument missing");
	test_lint(argc > 3 ? argc - 3 : 0, argv + 3);
	printf("%d passed, %d failed\n", passed, failed);
	return failed ? 1 : 0;
}
