/*
 * Unit tests of the BTQL compiler's limits (btx_btql_limits): each limit
 * passes at its value and fails one past it, with its SQLSTATE, a message
 * carrying the position, a caret and a hint; and memory grows linearly with
 * the input (compiling 4x the path costs about 4x the memory and SQL, where
 * it once cost 16x).  Memory is measured through the compiler's own
 * allocator (btx_btql_stats.memory: every byte of a compile comes from its
 * arena), so the figures do not depend on the machine or on timing.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/btql/btql.h"
#include "check.h"

typedef struct outcome
{
	int			rc;
	btx_error	e;
	btx_btql_stats st;
} outcome;

static outcome
compile(const char *text, const btx_btql_limits *lim)
{
	btx_btql_options opt;
	btx_btql_query q;
	outcome		o;

	memset(&opt, 0, sizeof(opt));
	memset(&o, 0, sizeof(o));
	opt.limits = lim;
	opt.stats = &o.st;
	o.rc = btx_btql_compile(text, &opt, &q, &o.e);
	if (o.rc == 0)
		btx_btql_query_free(&q);
	return o;
}

/* a limit error: the SQLSTATE, the message, its position, a caret, a hint */
static int
limit_error(const outcome *o, const char *sqlstate, const char *message)
{
	return o->rc != 0 && strcmp(o->e.sqlstate, sqlstate) == 0 && strstr(o->e.message, message) != NULL &&
		strstr(o->e.message, " at line ") != NULL && strchr(o->e.detail, '^') != NULL &&
		o->e.hint[0] >= 'A' && o->e.hint[0] <= 'Z' && o->e.message[0] >= 'a' && o->e.message[0] <= 'z';
}

#define SHOW(o) (o).rc, (o).e.sqlstate, (o).e.message

/* ---- query builders ---- */

typedef enum
{
	SEG_KEY,					/* .a */
	SEG_INDEX,					/* [0] */
	SEG_QUOTED,					/* ."q" */
	SEG_DISTINCT,				/* .k0.k1.k2 ... (a parameter each) */
	SEG_FILTER					/* .a, in the filter */
} segkind;

static const char *const segname[] = {".a", "[0]", ".\"q\"", ".k<i>", ".a in filter:"};

/* a query with one path of metadata + n segments */
static char *
path_query(segkind kind, int n)
{
	btx_buf		b;
	int			i;

	btx_buf_init(&b);
	btx_buf_puts(&b, kind == SEG_FILTER ? "select: id | from: project_logs('p') | filter: metadata" : "select: metadata");
	for (i = 0; i < n; i++)
		switch (kind)
		{
			case SEG_KEY:
			case SEG_FILTER:
				btx_buf_puts(&b, ".a");
				break;
			case SEG_INDEX:
				btx_buf_puts(&b, "[0]");
				break;
			case SEG_QUOTED:
				btx_buf_puts(&b, ".\"q\"");
				break;
			case SEG_DISTINCT:
				btx_buf_appendf(&b, ".k%d", i);
				break;
		}
	btx_buf_puts(&b, kind == SEG_FILTER ? " = 1" : " as v | from: project_logs('p')");
	return btx_buf_steal(&b);
}

/* the 1-based column of the first occurrence of needle after from */
static int
column_of(const char *text, const char *needle, int from)
{
	const char *p = strstr(text + from, needle);

	return p ? (int) (p - text) + 1 : -1;
}

static int
has_position(const outcome *o, int line, int col)
{
	char		at[64];

	snprintf(at, sizeof(at), " at line %d, column %d", line, col);
	return strstr(o->e.message, at) != NULL;
}

/* ---- one test per limit ---- */

static void
test_query_bytes(void)
{
	const char *head = "select: * | from: project_logs('p') | filter: id = '";
	size_t		hl = strlen(head);
	char	   *t = malloc(BTX_BTQL_MAX_QUERY_BYTES + 2);
	outcome		o;

	memcpy(t, head, hl);
	memset(t + hl, 'x', BTX_BTQL_MAX_QUERY_BYTES - hl - 1);
	t[BTX_BTQL_MAX_QUERY_BYTES - 1] = '\'';
	t[BTX_BTQL_MAX_QUERY_BYTES] = '\0';
	o = compile(t, NULL);
	CHECK(o.rc == 0, "a query of exactly %d bytes compiles: %s", BTX_BTQL_MAX_QUERY_BYTES, o.e.message);
	t[BTX_BTQL_MAX_QUERY_BYTES - 1] = 'x';
	t[BTX_BTQL_MAX_QUERY_BYTES] = '\'';
	t[BTX_BTQL_MAX_QUERY_BYTES + 1] = '\0';
	o = compile(t, NULL);
	CHECK(limit_error(&o, "54000", "btql query is longer than 1000000 bytes") && has_position(&o, 1, 1000001) &&
		  o.st.memory == 0, "one byte more: %d %s %s (memory %zu)", SHOW(o), o.st.memory);
	free(t);
}

static void
test_tokens(void)
{
	/* 16 tokens: select : id | from : project_logs ( 'p' ) | filter : id = 'a' */
	const char *q = "select: id | from: project_logs('p') | filter: id = 'a'";
	btx_btql_limits lim;
	outcome		o;
	btx_buf		b;
	int			i;

	memset(&lim, 0, sizeof(lim));
	lim.max_tokens = 16;
	o = compile(q, &lim);
	CHECK(o.rc == 0 && o.st.tokens == 17, "16 tokens (and EOF) within max_tokens = 16: %s, %d tokens", o.e.message,
		  o.st.tokens);
	lim.max_tokens = 15;
	o = compile(q, &lim);
	CHECK(limit_error(&o, "54000", "btql query has more than 15 tokens") &&
		  has_position(&o, 1, column_of(q, "'a'", 0)), "the 16th token fails: %d %s %s", SHOW(o));

	/* the default, reached long before the parser's limits */
	btx_buf_init(&b);
	btx_buf_puts(&b, "select: id | from: project_logs('p') | filter: ");
	for (i = 0; i < BTX_BTQL_MAX_TOKENS / 4; i++)
		btx_buf_puts(&b, "id = 'a' and ");
	btx_buf_puts(&b, "true");
	o = compile(b.data, NULL);
	CHECK(limit_error(&o, "54000", "btql query has more than 100000 tokens"), "default token limit: %d %s %s", SHOW(o));
	btx_buf_free(&b);
}

/* n lists "id IN [1, ..., 255]" joined with AND: 258 nodes each, plus the ANDs */
static char *
lists_query(int n)
{
	btx_buf		b;
	int			i,
				j;

	btx_buf_init(&b);
	btx_buf_puts(&b, "select: id | from: project_logs('p') | filter: ");
	for (i = 0; i < n; i++)
	{
		btx_buf_puts(&b, i ? " and id IN [" : "id IN [");
		for (j = 1; j <= 255; j++)
			btx_buf_appendf(&b, "%s%d", j > 1 ? ", " : "", j);
		btx_buf_puts(&b, "]");
	}
	return btx_buf_steal(&b);
}

static void
test_nodes(void)
{
	/* the select item, the source, then 77 * 258 + 76 = 19942 nodes */
	char	   *q = lists_query(77);
	outcome		o;

	o = compile(q, NULL);
	CHECK(o.rc == 0 && o.st.nodes == 19944, "19944 expressions compile: %s (%d nodes)", o.e.message, o.st.nodes);
	free(q);
	q = lists_query(78);		/* 20203 */
	o = compile(q, NULL);
	CHECK(limit_error(&o, "54000", "btql query has more than 20000 expressions"), "20201 expressions: %d %s %s", SHOW(o));
	free(q);
}

static void
test_items(void)
{
	btx_buf		b;
	outcome		o;
	int			i,
				col = 0;

	/* 1000 select items compile (every one named), 1001 do not */
	btx_buf_init(&b);
	btx_buf_puts(&b, "select: ");
	for (i = 1; i <= BTX_BTQL_MAX_ITEMS; i++)
		btx_buf_appendf(&b, "%sid as c%d", i > 1 ? ", " : "", i);
	btx_buf_puts(&b, " | from: project_logs('p')");
	o = compile(b.data, NULL);
	CHECK(o.rc == 0, "1000 select items: %s", o.e.message);
	btx_buf_free(&b);

	btx_buf_init(&b);
	btx_buf_puts(&b, "select: ");
	for (i = 1; i <= BTX_BTQL_MAX_ITEMS + 1; i++)
	{
		if (i == BTX_BTQL_MAX_ITEMS + 1)
			col = (int) b.len + 3;
		btx_buf_appendf(&b, "%sid as c%d", i > 1 ? ", " : "", i);
	}
	btx_buf_puts(&b, " | from: project_logs('p')");
	o = compile(b.data, NULL);
	CHECK(limit_error(&o, "54000", "more than 1000 items in select:") && has_position(&o, 1, col),
		  "1001 select items: %d %s %s (column %d)", SHOW(o), col);
	btx_buf_free(&b);

	/* ORDER BY, project_logs() */
	btx_buf_init(&b);
	btx_buf_puts(&b, "SELECT id FROM project_logs('p') ORDER BY id");
	for (i = 0; i < BTX_BTQL_MAX_ITEMS; i++)
		btx_buf_puts(&b, ", id");
	o = compile(b.data, NULL);
	CHECK(limit_error(&o, "54000", "more than 1000 items in ORDER BY"), "1001 sort keys: %d %s %s", SHOW(o));
	btx_buf_free(&b);
	btx_buf_init(&b);
	btx_buf_puts(&b, "select: id | from: project_logs('p'");
	for (i = 0; i < BTX_BTQL_MAX_ITEMS; i++)
		btx_buf_puts(&b, ", 'p'");
	btx_buf_puts(&b, ")");
	o = compile(b.data, NULL);
	CHECK(limit_error(&o, "54000", "more than 1000 items in project_logs()"), "1001 projects: %d %s %s", SHOW(o));
	btx_buf_free(&b);
}

static void
test_path_segments(void)
{
	segkind		k;

	for (k = SEG_KEY; k <= SEG_FILTER; k++)
	{
		/* metadata + 255 = 256 segments compile; one more fails at its token */
		char	   *q = path_query(k, BTX_BTQL_MAX_PATH_SEGMENTS - 1);
		outcome		o = compile(q, NULL);
		int			col;

		CHECK(o.rc == 0, "path of 256 segments (%s): %s", segname[k], o.e.message);
		free(q);
		q = path_query(k, BTX_BTQL_MAX_PATH_SEGMENTS);
		o = compile(q, NULL);
		/* the 257th segment: after "metadata" and 255 segments */
		col = column_of(q, "metadata", 0) + 8 + 255 * (k == SEG_INDEX ? 3 : k == SEG_QUOTED ? 4 : 2) +
			(k == SEG_INDEX ? 1 : 1);
		if (k == SEG_DISTINCT)
			col = column_of(q, ".k255", 0) + 1;
		CHECK(limit_error(&o, "54000", "field path has more than 256 segments") && has_position(&o, 1, col),
			  "path of 257 segments (%s): %d %s %s (column %d)", segname[k], SHOW(o), col);
		free(q);
	}
}

static void
test_nesting(void)
{
	btx_btql_limits lim;
	outcome		o;

	memset(&lim, 0, sizeof(lim));
	lim.max_nesting = 5;
	/* the item itself is the first level: four parentheses make five */
	o = compile("select: ((((1)))) as x | from: project_logs('p')", &lim);
	CHECK(o.rc == 0, "nesting within max_nesting: %s", o.e.message);
	o = compile("select: (((((1))))) as x | from: project_logs('p')", &lim);
	CHECK(o.rc != 0 && strcmp(o.e.sqlstate, "0A000") == 0 &&
		  strstr(o.e.message, "nesting deeper than 5 levels is not supported at line 1, column 14") != NULL,
		  "nesting past max_nesting: %d %s %s", SHOW(o));
}

static void
test_depth(void)
{
	btx_btql_limits lim;
	outcome		o;

	memset(&lim, 0, sizeof(lim));
	lim.max_depth = 4;
	/* literals are leaves of height 0: n terms make a tree of height n - 1 */
	o = compile("select: 1 + 1 + 1 + 1 + 1 as x | from: project_logs('p')", &lim);
	CHECK(o.rc == 0, "tree of height 4 within max_depth = 4: %s", o.e.message);
	o = compile("select: 1 + 1 + 1 + 1 + 1 + 1 as x | from: project_logs('p')", &lim);
	CHECK(limit_error(&o, "54001", "expression is nested more than 4 levels deep"), "height 5: %d %s %s", SHOW(o));
}

static void
test_sql_bytes(void)
{
	btx_btql_limits lim;
	outcome		o;
	btx_buf		b;
	int			i;

	memset(&lim, 0, sizeof(lim));
	lim.max_sql_bytes = 2000;
	o = compile("select: metadata.a as v | from: project_logs('p')", &lim);
	CHECK(o.rc == 0 && o.st.sql_bytes > 0 && o.st.sql_bytes <= 2000, "short SQL: %s (%zu bytes)", o.e.message,
		  o.st.sql_bytes);
	o = compile("select: metadata.a as v, metadata.b as w, metadata.c as x, to_number(metadata.d) as y, to_boolean(metadata.e) as z"
				" | from: project_logs('p') summary", &lim);
	CHECK(limit_error(&o, "54001", "compiled query would be longer than 2000 bytes"), "long SQL: %d %s %s", SHOW(o));

	/*
	 * The default: conversions repeat their operand, so nesting them makes
	 * the SQL grow exponentially in a short text; that ends at the limit,
	 * with the memory bounded, and the position inside the nesting.
	 */
	btx_buf_init(&b);
	btx_buf_puts(&b, "select: ");
	for (i = 0; i < 30; i++)
		btx_buf_puts(&b, "to_number(to_string(");
	btx_buf_puts(&b, "metadata.x");
	for (i = 0; i < 30; i++)
		btx_buf_puts(&b, "))");
	btx_buf_puts(&b, " as v | from: project_logs('p')");
	o = compile(b.data, NULL);
	CHECK(limit_error(&o, "54001", "compiled query would be longer than 4194304 bytes") &&
		  o.st.memory <= BTX_BTQL_MAX_MEMORY, "nested conversions: %d %s %s (memory %zu)", SHOW(o), o.st.memory);
	btx_buf_free(&b);
}

static void
test_memory(void)
{
	btx_btql_limits lim;
	char	   *q = path_query(SEG_DISTINCT, 20000);
	outcome		o;

	memset(&lim, 0, sizeof(lim));
	lim.max_path_segments = 100000;
	lim.max_tokens = 1000000;
	lim.max_memory = 1 << 20;
	o = compile(q, &lim);
	CHECK(limit_error(&o, "54001", "btql query needs more than 1 MB of memory to compile") &&
		  o.st.memory <= (1 << 20), "memory limit: %d %s %s (memory %zu)", SHOW(o), o.st.memory);
	free(q);
}

/*
 * Linear growth: with the limits raised out of the way, compile paths of 10k
 * and 40k segments.  Memory and SQL grow 4x (a quadratic stage would make
 * it 16x); the 50k-segment path of the report, under the default limits, is
 * rejected with memory to spare.
 */
static void
test_linear(void)
{
	btx_btql_limits lim;
	segkind		k;

	memset(&lim, 0, sizeof(lim));
	lim.max_path_segments = 100000;
	lim.max_tokens = 1000000;
	lim.max_sql_bytes = (size_t) 64 << 20;
	lim.max_memory = (size_t) 1 << 30;
	for (k = SEG_KEY; k <= SEG_FILTER; k++)
	{
		char	   *q1 = path_query(k, 10000),
				   *q4 = path_query(k, 40000);
		outcome		o1 = compile(q1, &lim),
					o4 = compile(q4, &lim);
		double		mem = o1.rc == 0 && o4.rc == 0 ? (double) o4.st.memory / (double) o1.st.memory : 0,
					sql = o1.rc == 0 && o4.rc == 0 ? (double) o4.st.sql_bytes / (double) o1.st.sql_bytes : 0;

		CHECK(o1.rc == 0 && o4.rc == 0, "10k and 40k segments (%s) compile: %s %s", segname[k], o1.e.message,
			  o4.e.message);
		CHECK(mem >= 3.0 && mem <= 5.0, "memory grows linearly (%s): %zu -> %zu bytes, x%.2f", segname[k],
			  o1.st.memory, o4.st.memory, mem);
		CHECK(sql >= 3.5 && sql <= 4.5, "SQL grows linearly (%s): %zu -> %zu bytes, x%.2f", segname[k],
			  o1.st.sql_bytes, o4.st.sql_bytes, sql);
		CHECK(o4.st.memory < (size_t) 500 * strlen(q4), "memory per byte of query (%s): %zu for %zu", segname[k],
			  o4.st.memory, strlen(q4));
		free(q1);
		free(q4);
	}
	for (k = SEG_KEY; k <= SEG_FILTER; k++)
	{
		char	   *q = path_query(k, 50000);
		outcome		o = compile(q, NULL);

		CHECK(o.rc != 0 && strcmp(o.e.sqlstate, "54000") == 0 && o.st.memory < ((size_t) 16 << 20),
			  "50k segments (%s), default limits: %d %s %s, memory %zu", segname[k], SHOW(o), o.st.memory);
		free(q);
	}
}

/*
 * Chains of operators are written flat or around a placeholder, not by
 * re-copying the text so far: 4x the terms, about 4x the memory.
 */
static void
test_linear_chains(void)
{
	static const char *const ops[] = {" - ", " + ", " * ", " / ", " or ", " and "};
	btx_btql_limits lim;
	int			o;

	memset(&lim, 0, sizeof(lim));
	lim.max_depth = 100000;
	lim.max_tokens = 1000000;
	lim.max_nodes = 1000000;
	lim.max_sql_bytes = (size_t) 256 << 20;
	lim.max_memory = (size_t) 1 << 30;
	for (o = 0; o < 6; o++)
	{
		outcome		r[2];
		int			n;

		for (n = 0; n < 2; n++)
		{
			btx_buf		b;
			int			i,
						terms = n ? 8000 : 2000;

			btx_buf_init(&b);
			btx_buf_puts(&b, o < 4 ? "select: " : "select: id | from: project_logs('p') | filter: ");
			for (i = 0; i < terms; i++)
				btx_buf_appendf(&b, "%s%s", i ? ops[o] : "", o < 4 ? "metrics.start" : "metrics.start > 1");
			if (o < 4)
				btx_buf_puts(&b, " as x | from: project_logs('p')");
			r[n] = compile(b.data, &lim);
			btx_buf_free(&b);
		}
		CHECK(r[0].rc == 0 && r[1].rc == 0 && r[1].st.memory < 6 * r[0].st.memory &&
			  r[1].st.sql_bytes < 5 * r[0].st.sql_bytes,
			  "chain of%s: 2000 -> 8000 terms, memory %zu -> %zu, SQL %zu -> %zu (%s %s)", ops[o],
			  r[0].st.memory, r[1].st.memory, r[0].st.sql_bytes, r[1].st.sql_bytes, r[0].e.message, r[1].e.message);
	}
}

void
test_limits(void)
{
	test_query_bytes();
	test_tokens();
	test_nodes();
	test_items();
	test_path_segments();
	test_nesting();
	test_depth();
	test_sql_bytes();
	test_memory();
	test_linear();
	test_linear_chains();
}
