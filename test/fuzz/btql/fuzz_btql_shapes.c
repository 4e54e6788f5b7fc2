/*
 * libFuzzer target for the limits of the BTQL compiler (issue 12, finding
 * 1): the input is not a query but a small program that builds one, so a
 * few bytes make long paths (.a, [0], ."q"), long chains (AND, OR, +, =),
 * deep nesting (parentheses, NOT, unary minus, brackets, nested conversions)
 * and long lists, up to about 2 MB of query text, which plain byte fuzzing
 * (max_len 4096) never reaches.
 *
 * Program: a stack machine over 3-byte instructions [op, count_lo, count_hi]:
 *   op % 8 = 0  push a path of count segments (the next byte picks their kind)
 *            1  push a literal
 *            2  pop a, push a OP a OP ... (count terms; OP from the count)
 *            3  pop a, wrap it count times (wrapper from the count)
 *            4  pop a, push [a, a, ...] (count items)
 *            5  pop a, push coalesce(a, a, ...) (count arguments)
 *            6  pop a, pop b, push a AND b
 *            7  set the template (select item, filter, SQL syntax, sort,
 *               dimensions) from the count
 * The top of the stack goes into the template.  Every compile, whatever the
 * outcome, must stay within max_memory; success must give lint-clean SQL
 * within max_sql_bytes; failure must be a BTQL error (and a limit error
 * must carry its position).  -timeout in the Makefile catches anything
 * slower than linear.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/btql/btql.h"
#include "sql_lint.h"

int			LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_TEXT (2u << 20)
#define STACK 8

static const char *const binops[] = {" AND ", " OR ", " + ", " * ", " = ", " - ", " || ", " < "};
static const char *const segs[] = {".a", "[0]", ".\"q\"", "[-1]", ".b", "[7]"};

static const char *const wrap_pre[] = {"(", "NOT ", "-", "to_number(to_string(", "[", "to_boolean(", "ANY_SPAN(", "lower("};
static const char *const wrap_post[] = {")", "", "", "))", "]", ")", ")", ")"};

static int
too_long(btx_buf *b)
{
	return b->oom || b->len > MAX_TEXT;
}

/* run the program; the query text, or NULL */
static char *
build(const uint8_t *d, size_t n)
{
	btx_buf		st[STACK];
	int			sp = 0,
				tmpl = 0,
				i;
	size_t		pc;
	btx_buf		q;

	for (pc = 0; pc + 2 < n; pc += 3)
	{
		int			op = d[pc] % 8;
		unsigned	count = (unsigned) d[pc + 1] | ((unsigned) d[pc + 2] << 8);
		btx_buf		r;
		unsigned	k;

		btx_buf_init(&r);
		if (op == 0 || op == 1)
		{
			if (sp == STACK)
				break;
			if (op == 0)
			{
				int			kind = pc + 3 < n ? d[pc + 3] % 6 : 0;

				btx_buf_puts(&r, "metadata");
				for (k = 0; k < count && !too_long(&r); k++)
					btx_buf_puts(&r, segs[(kind + (count % 3 == 0 ? k : 0)) % 6]);
			}
			else
				btx_buf_puts(&r, count % 2 ? "1" : "'x'");
			st[sp++] = r;
			continue;
		}
		if (op == 7)
		{
			tmpl = count % 5;
			continue;
		}
		if (sp == 0)
		{
			btx_buf_free(&r);
			continue;
		}
		if (op == 6)
		{
			if (sp < 2)
				continue;
			btx_buf_appendf(&r, "%s AND %s", st[sp - 1].data, st[sp - 2].data);
			btx_buf_free(&st[--sp]);
			btx_buf_free(&st[--sp]);
			st[sp++] = r;
			continue;
		}
		for (k = 0; k < (op == 3 ? 1 : count ? count : 1) && !too_long(&r); k++)
		{
			if (op == 2)
			{
				if (k)
					btx_buf_puts(&r, binops[count % 8]);
				btx_buf_puts(&r, st[sp - 1].data);
			}
			else if (op == 4 || op == 5)
			{
				btx_buf_puts(&r, k == 0 ? (op == 4 ? "[" : "coalesce(") : ", ");
				btx_buf_puts(&r, st[sp - 1].data);
			}
		}
		if (op == 3)
		{
			/* the wrapper count times around a: prefixes, a, suffixes */
			unsigned	times = count >> 3;

			for (k = 0; k < times && !too_long(&r); k++)
				btx_buf_puts(&r, wrap_pre[count % 8]);
			btx_buf_puts(&r, st[sp - 1].data);
			for (k = 0; k < times && !too_long(&r); k++)
				btx_buf_puts(&r, wrap_post[count % 8]);
		}
		else if (op == 4)
			btx_buf_puts(&r, "]");
		else if (op == 5)
			btx_buf_puts(&r, ")");
		btx_buf_free(&st[sp - 1]);
		st[sp - 1] = r;
		if (too_long(&r))
			break;
	}
	btx_buf_init(&q);
	if (sp > 0 && !too_long(&st[sp - 1]))
	{
		const char *e = st[sp - 1].data;

		switch (tmpl)
		{
			case 0:
				btx_buf_appendf(&q, "select: %s as v | from: project_logs('p')", e);
				break;
			case 1:
				btx_buf_appendf(&q, "select: id | from: project_logs('p') traces | filter: %s", e);
				break;
			case 2:
				btx_buf_appendf(&q, "SELECT %s AS v FROM project_logs('p') WHERE %s", e, e);
				break;
			case 3:
				btx_buf_appendf(&q, "select: id | from: project_logs('p') | sort: %s desc", e);
				break;
			default:
				btx_buf_appendf(&q, "dimensions: %s as d | measures: count(1) as n | from: project_logs('p') summary", e);
				break;
		}
	}
	for (i = 0; i < sp; i++)
		btx_buf_free(&st[i]);
	if (q.oom || q.data == NULL)
	{
		btx_buf_free(&q);
		return NULL;
	}
	return btx_buf_steal(&q);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char	   *text = build(data, size);
	btx_btql_options opt;
	btx_btql_stats st;
	btx_btql_query q;
	btx_error	e;
	char		why[300];
	int			mode;

	if (text == NULL)
		return 0;
	for (mode = 0; mode < 2; mode++)
	{
		memset(&opt, 0, sizeof(opt));
		memset(&st, 0, sizeof(st));
		opt.stats = &st;
		opt.export_cursor = mode;
		if (btx_btql_compile(text, &opt, &q, &e) == 0)
		{
			if (q.sql == NULL || strlen(q.sql) > BTX_BTQL_MAX_SQL_BYTES || st.sql_bytes != strlen(q.sql))
				abort();
			if (btql_sql_lint(q.sql, why, sizeof(why)) != 0)
			{
				fprintf(stderr, "search_path lint: %s\n", why);
				abort();
			}
			btx_btql_query_free(&q);
		}
		else
		{
			if (e.sqlstate[0] == '\0' || e.message[0] == '\0' || q.sql != NULL || strcmp(e.sqlstate, "53200") == 0)
				abort();
			if ((strcmp(e.sqlstate, "54000") == 0 || strcmp(e.sqlstate, "54001") == 0) &&
				strstr(e.message, " at line ") == NULL)
				abort();
		}
		if (st.memory > BTX_BTQL_MAX_MEMORY)
			abort();
	}
	free(text);
	return 0;
}
