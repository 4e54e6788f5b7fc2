/*
 * btql_compile.c — lowers the BTQL query model to one PostgreSQL SELECT over
 * btexport.logs, with bind parameters and typed result columns.
 *
 * How SQL is produced.  Every expression node compiles (cx) to a val: its
 * SQL text and its type (vtype), so that the compiler knows the type of
 * every column it returns (Parquet files get typed columns) and inserts the
 * conversions itself: JSON values read from paths meet literals and typed
 * fields through unify(), which picks the common type of several operands,
 * and coerce(), which writes the conversion and turns what does not convert
 * into NULL instead of an error at run time.  compile_query then assembles
 * the statement clause by clause (struct stmt): the output columns first
 * (aliases resolve against them), FROM/WHERE per shape (spans; traces and
 * summary select whole traces through their spans), UNPIVOT lateral joins,
 * grouping, the select list, GROUP BY/HAVING, and ORDER BY/LIMIT or a PIVOT
 * wrapper.  Output columns are named c1, c2, ... in the SQL; the names the
 * user sees travel beside it (btx_btql_query.columns).
 *
 * Binds.  User text never reaches the SQL: literals, JSON keys, project ids
 * and names, pivot keys and the time zone all become bind parameters
 * (param()), deduplicated, each placeholder with an explicit cast
 * ($3::pg_catalog.text) so that the caller can bind every value as text.
 * Identifiers and SQL fragments come only from the tables and string
 * constants in this file.
 *
 * search_path.  Nothing in the SQL is resolved through search_path: every
 * function is written pg_catalog.f(...), every operator OPERATOR(pg_catalog.op),
 * every cast ::pg_catalog.type, and constructs that would look an operator up
 * by name behind the scenes (NULLIF, CASE x WHEN, IN, IS DISTINCT FROM,
 * LIKE) are written with explicit operators instead.  Write those names as
 * literal strings ("pg_catalog.lower(", "OPERATOR(pg_catalog.=)"): the
 * search_path test (test/btql/run.sh) plants a look-alike for every such
 * literal in this file, and test/btql/sql_lint.c fails on anything else.
 *
 * Limits.  The compiler recurses over expression trees, whose height the
 * parser bounds (max_depth).  All memory comes from the arena, which fails
 * past max_memory or for any string past max_sql_bytes (btql_lex.c); failed()
 * turns that into an error at the expression being compiled (comp.at).
 * Strings that grow with the input are built once, in a string builder
 * (paths, lists, chains of AND/OR), never by re-copying a growing string.
 */
#include "core/btql/btql_int.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

typedef enum
{
	T_NULL, T_JSON, T_TEXT, T_NUM, T_INT, T_BOOL, T_TS, T_DATE, T_INTERVAL, T_TEXTARR
} vtype;

static const char *const type_sql[] = {
	"text", "jsonb", "text", "float8", "int8", "bool", "timestamptz", "date", "interval", "text[]"
};
/* the same types in casts: schema-qualified, so search_path cannot redirect them */
static const char *const type_cast[] = {
	"pg_catalog.text", "pg_catalog.jsonb", "pg_catalog.text", "pg_catalog.float8", "pg_catalog.int8",
	"pg_catalog.bool", "pg_catalog.timestamptz", "pg_catalog.date", "pg_catalog.interval", "pg_catalog.text[]"
};
static const char *const type_desc[] = {
	"null", "json", "string", "number", "integer", "boolean", "timestamp", "date", "interval", "string array"
};

typedef struct val
{
	char	   *s;				/* SQL of the value */
	vtype		t;
	char	   *raw;			/* T_JSON read from a path: the same value with
								 * a JSON null left as is (s turns it into SQL
								 * NULL), for conversions that do so anyway;
								 * else NULL */
} val;

typedef struct field
{
	const char *name;
	const char *sql;			/* printf format with the row alias */
	vtype		t;
} field;

static const field span_fields[] = {
	{"id", "%s.id", T_TEXT},
	{"span_id", "%s.span_id", T_TEXT},
	{"root_span_id", "%s.root_span_id", T_TEXT},
	{"span_parents", "%s.span_parents", T_TEXTARR},
	{"is_root", "%s.is_root", T_BOOL},
	{"created", "%s.created", T_TS},
	{"org_id", "%s.org_id::pg_catalog.text", T_TEXT},
	{"project_id", "%s.project_id::pg_catalog.text", T_TEXT},
	{"log_id", "%s.log_id", T_TEXT},
	{"input", "%s.input", T_JSON},
	{"output", "%s.output", T_JSON},
	{"expected", "%s.expected", T_JSON},
	{"error", "%s.error", T_JSON},
	{"scores", "%s.scores", T_JSON},
	{"metrics", "%s.metrics", T_JSON},
	{"metadata", "%s.metadata", T_JSON},
	{"span_attributes", "%s.span_attributes", T_JSON},
	{"context", "%s.context", T_JSON},
	{"origin", "%s.origin", T_JSON},
	{"comment", "%s.comment", T_JSON},
	{"tags", "%s.tags", T_TEXTARR},
	{"_xact_id", "%s._xact_id::pg_catalog.text::pg_catalog.int8", T_INT},
	{NULL, NULL, T_NULL}
};

/* the summary row; the first NSUMMARY_STAR are what select * returns */
#define NSUMMARY_STAR 11
static const field summary_fields[] = {
	{"id", "%s.id", T_TEXT},
	{"project_id", "%s.project_id", T_TEXT},
	{"created", "%s.created", T_TS},
	{"metadata", "%s.metadata", T_JSON},
	{"input", "%s.input", T_JSON},
	{"output", "%s.output", T_JSON},
	{"tags", "%s.tags", T_TEXTARR},
	{"scores", "%s.scores", T_JSON},
	{"metrics", "%s.metrics", T_JSON},
	{"span_count", "%s.span_count", T_INT},
	{"_xact_id", "%s._xact_id", T_INT},
	/* not in select *, but addressable */
	{"root_span_id", "%s.id", T_TEXT},
	{"span_id", "%s.span_id", T_TEXT},
	{"org_id", "%s.org_id", T_TEXT},
	{"log_id", "%s.log_id", T_TEXT},
	{"expected", "%s.expected", T_JSON},
	{"error", "%s.error", T_JSON},
	{"span_attributes", "%s.span_attributes", T_JSON},
	{NULL, NULL, T_NULL}
};

static const char *const top_level_names =
"id, span_id, root_span_id, span_parents, is_root, created, org_id, project_id, log_id, input, output, "
"expected, error, scores, metrics, metadata, span_attributes, context, origin, comment, tags and _xact_id";

typedef struct outcol
{
	btx_btql_node *expr;
	char	   *name;			/* final output name */
	char	   *alias;			/* explicit alias */
	char	   *implicit;		/* implicit alias (last path segment) */
	int			is_agg;
} outcol;

typedef struct upv
{
	char	   *key_name;
	char	   *value_name;
	char	   *rel;			/* u1, u2 ... */
	vtype		vt;				/* type of the value column */
} upv;

typedef struct param
{
	char	   *value;
	const char *type;
} qparam;

typedef struct scope
{
	const char *rel;
	int			summary;
	int			aliases;
	int			agg;			/* aggregates allowed */
	int			in_agg;
	int			unpivot;
	int			filter;			/* the filter/WHERE: ANY_SPAN allowed */
	int			anyspan;		/* ANY_SPAN nesting */
	int			spans_shape;	/* FILTER_SPANS is a no-op */
} scope;

typedef struct comp
{
	btx_btql_ctx *c;
	btx_btql_arena *a;
	btx_btql_ast *q;
	const btx_btql_options *opt;
	qparam	   *params;
	int			nparams;
	int			capparams;
	int		   *pslots;			/* hash of params: index + 1, 0 = empty */
	int			npslots;		/* a power of two, at least 2 * nparams */
	int			first_param;
	int			nrel;
	outcol	   *cols;
	int			ncols;
	btx_btql_node **groups;		/* resolved grouping expressions */
	int		   *group_pos;		/* 1-based select position or 0 */
	int			ngroups;
	int			grouped;
	upv		   *upvs;
	int			nupvs;
	int			bounded;
	int			resolving;		/* alias expansion depth (cycle guard) */
	btx_btql_node *at;			/* expression being compiled: where a
								 * memory or SQL-length limit is reported */
} comp;

static val	cx(comp *k, btx_btql_node *n, scope *s);
static int	is_lit(comp *k, btx_btql_node *n, scope *s);
static val	cx_as(comp *k, btx_btql_node *n, scope *s, vtype t);
static char *coerce(comp *k, val v, vtype t, btx_btql_node *at);

#define F(...) btx_btql_printf(k->a, __VA_ARGS__)

/*
 * Has the compile failed?  A failed arena (memory or SQL-length limit, no
 * memory) becomes its error here, at the expression being compiled.
 */
static int
failed(comp *k)
{
	if (k->a->failed && k->c->err->code == 0)
		btx_btql_error_alloc(k->c, k->at ? k->at->off : 0);
	return k->c->err->code != 0;
}

static val
mkval(char *s, vtype t)
{
	val			v;

	v.s = s ? s : "NULL";
	v.t = t;
	v.raw = NULL;
	return v;
}

static val
bad(void)
{
	return mkval("NULL", T_NULL);
}

/* an error at node n (a BTQL error with its position); returns bad() */
static val
err_at(comp *k, btx_btql_node *n, const char *sqlstate, const char *expected, const char *hint,
	   const char *fmt,...) BTX_PRINTF(6, 7);

static val
err_at(comp *k, btx_btql_node *n, const char *sqlstate, const char *expected, const char *hint,
	   const char *fmt,...)
{
	char		msg[400];
	va_list		ap;

	/* an error after a failed allocation is a consequence of it */
	if (failed(k))
		return bad();
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	btx_btql_error_at(k->c, n ? n->off : 0, sqlstate, expected, hint, "%s", msg);
	return bad();
}

/* source text of a node, for names and messages */
static char *
src_text(comp *k, btx_btql_node *n)
{
	int			a = n->off,
				b = n->end;

	while (b > a && isspace((unsigned char) k->c->src[b - 1]))
		b--;
	return btx_btql_strndup(k->a, k->c->src + a, b - a);
}

/* ---- parameters ---- */

static unsigned
param_hash(const char *value, const char *type)
{
	unsigned	h = 2166136261u;	/* FNV-1a */

	for (; *type; type++)
		h = (h ^ (unsigned char) *type) * 16777619u;
	for (; *value; value++)
		h = (h ^ (unsigned char) *value) * 16777619u;
	return h;
}

/* double the hash of params and put every param back */
static int
param_rehash(comp *k)
{
	int			n = k->npslots ? k->npslots * 2 : 64,
				i;
	int		   *slots = btx_btql_alloc(k->a, sizeof(int) * n);

	if (slots == NULL)
		return -1;
	for (i = 0; i < k->nparams; i++)
	{
		unsigned	h = param_hash(k->params[i].value, k->params[i].type) & (n - 1);

		while (slots[h])
			h = (h + 1) & (n - 1);
		slots[h] = i + 1;
	}
	k->pslots = slots;
	k->npslots = n;
	return 0;
}

/*
 * The placeholder of a bind parameter ("$3::text") with this value and
 * type.  A value bound before is reused: the lookup is a hash (open
 * addressing, at most half full), so a query with n values costs O(n),
 * where a linear search made long paths quadratic.
 */
static char *
param(comp *k, const char *value, const char *type)
{
	unsigned	h;
	int			i;

	if (value == NULL || failed(k))
		return "NULL";
	if (2 * (k->nparams + 1) > k->npslots && param_rehash(k) != 0)
		return "NULL";
	for (h = param_hash(value, type) & (k->npslots - 1); k->pslots[h]; h = (h + 1) & (k->npslots - 1))
	{
		i = k->pslots[h] - 1;
		if (strcmp(k->params[i].type, type) == 0 && strcmp(k->params[i].value, value) == 0)
			return F("$%d::pg_catalog.%s", k->first_param + i, type);
	}
	if (k->nparams == k->capparams)
	{
		int			ncap = k->capparams ? k->capparams * 2 : 16;
		qparam	   *np = btx_btql_alloc(k->a, sizeof(qparam) * ncap);

		if (np == NULL)
			return "NULL";
		if (k->nparams)
			memcpy(np, k->params, sizeof(qparam) * k->nparams);
		k->params = np;
		k->capparams = ncap;
	}
	k->params[k->nparams].value = btx_btql_strndup(k->a, value, strlen(value));
	k->params[k->nparams].type = type;
	if (k->params[k->nparams].value == NULL)
		return "NULL";
	k->pslots[h] = ++k->nparams;
	return F("$%d::pg_catalog.%s", k->first_param + k->nparams - 1, type);
}

/*
 * The request's time zone for day and hour boundaries: 'UTC', or (tz_offset)
 * a POSIX zone bound as a parameter, whose sign is JavaScript's: BTX+08:00 is
 * 8 hours west of UTC.
 */
static char *
tz(comp *k)
{
	int			m = k->opt ? k->opt->tz_offset_minutes : 0;
	int			a = m < 0 ? -m : m;

	if (m == 0)
		return "'UTC'";
	return param(k, F("BTX%c%02d:%02d", m > 0 ? '+' : '-', a / 60, a % 60), "text");
}

/* ---- literal validation ---- */

static int
is_digit(char ch)
{
	return ch >= '0' && ch <= '9';
}

/* YYYY-MM-DD[( |T)HH:MM[:SS[.frac]]][Z|(+|-)HH[:MM]] */
static int
valid_iso(const char *s, int date_only)
{
	int			i;

	for (i = 0; i < 10; i++)
	{
		if (i == 4 || i == 7)
		{
			if (s[i] != '-')
				return 0;
		}
		else if (!is_digit(s[i]))
			return 0;
	}
	if ((s[5] - '0') * 10 + (s[6] - '0') < 1 || (s[5] - '0') * 10 + (s[6] - '0') > 12 ||
		(s[8] - '0') * 10 + (s[9] - '0') < 1 || (s[8] - '0') * 10 + (s[9] - '0') > 31)
		return 0;
	s += 10;
	if (*s == '\0')
		return 1;
	if (date_only)
		return 0;
	if (*s != 'T' && *s != 't' && *s != ' ')
		return 0;
	s++;
	if (!is_digit(s[0]) || !is_digit(s[1]) || s[2] != ':' || !is_digit(s[3]) || !is_digit(s[4]))
		return 0;
	if ((s[0] - '0') * 10 + (s[1] - '0') > 23 || (s[3] - '0') * 10 + (s[4] - '0') > 59)
		return 0;
	s += 5;
	if (s[0] == ':')
	{
		if (!is_digit(s[1]) || !is_digit(s[2]) || (s[1] - '0') * 10 + (s[2] - '0') > 60)
			return 0;
		s += 3;
		if (*s == '.')
		{
			s++;
			if (!is_digit(*s))
				return 0;
			while (is_digit(*s))
				s++;
		}
	}
	if (*s == 'Z' || *s == 'z')
		s++;
	else if (*s == '+' || *s == '-')
	{
		if (!is_digit(s[1]) || !is_digit(s[2]))
			return 0;
		s += 3;
		if (*s == ':')
			s++;
		if (is_digit(s[0]) && is_digit(s[1]))
			s += 2;
	}
	return *s == '\0';
}

static int
valid_number(const char *s)
{
	char	   *e;

	if (*s == '\0' || isspace((unsigned char) *s))
		return 0;
	strtod(s, &e);
	while (isspace((unsigned char) *e))
		e++;
	if (*e != '\0')
		return 0;
	/* reject inf/nan/hex forms strtod accepts */
	for (; *s; s++)
		if (!(is_digit(*s) || *s == '.' || *s == 'e' || *s == 'E' || *s == '+' || *s == '-' ||
			  isspace((unsigned char) *s)))
			return 0;
	return 1;
}

static int
valid_int(const char *s)
{
	int			n = 0;

	if (*s == '-' || *s == '+')
		s++;
	for (; *s; s++, n++)
		if (!is_digit(*s))
			return 0;
	return n > 0 && n <= 18;
}

static int
is_literal(btx_btql_node *n)
{
	return n->kind == E_STRING || n->kind == E_INT || n->kind == E_FLOAT || n->kind == E_BOOL || n->kind == E_NULL;
}

static const char *
lit_text(comp *k, btx_btql_node *n)
{
	if (n->kind == E_INT)
		return F("%lld", (long long) n->ival);
	if (n->kind == E_FLOAT)
		return F("%.17g", n->fval);
	return n->str;
}

/* a literal bound as a parameter of the wanted type */
static val
lit_as(comp *k, btx_btql_node *n, vtype t)
{
	const char *txt;
	btx_btql_node tmp;

	if (n->kind == E_QSTRING)
	{
		tmp = *n;
		tmp.kind = E_STRING;
		n = &tmp;
	}

	if (n->kind == E_NULL)
		return mkval(t == T_NULL ? "NULL" : F("NULL::%s", type_cast[t]), t);
	if (n->kind == E_BOOL)
	{
		if (t == T_BOOL || t == T_NULL)
			return mkval(n->ival ? "true" : "false", T_BOOL);
		if (t == T_JSON)
			return mkval(n->ival ? "'true'::pg_catalog.jsonb" : "'false'::pg_catalog.jsonb", T_JSON);
		if (t == T_TEXT)
			return mkval(n->ival ? "'true'::pg_catalog.text" : "'false'::pg_catalog.text", T_TEXT);
		return err_at(k, n, "42883", NULL, "Compare booleans with booleans.",
					  "cannot compare a boolean with a %s", type_desc[t]);
	}
	txt = lit_text(k, n);
	switch (t)
	{
		case T_NULL:
			if (n->kind == E_STRING)
				return mkval(param(k, txt, "text"), T_TEXT);
			if (n->kind == E_INT)
				return mkval(param(k, txt, "int8"), T_INT);
			return mkval(param(k, txt, "float8"), T_NUM);
		case T_TEXT:
			return mkval(param(k, txt, "text"), T_TEXT);
		case T_JSON:
			if (n->kind == E_STRING)
				return mkval(F("pg_catalog.to_jsonb(%s)", param(k, txt, "text")), T_JSON);
			return mkval(F("pg_catalog.to_jsonb(%s)", param(k, txt, n->kind == E_INT ? "int8" : "float8")), T_JSON);
		case T_NUM:
			if (n->kind != E_STRING || valid_number(txt))
				return mkval(param(k, txt, "float8"), T_NUM);
			return err_at(k, n, "22023", "a number", "Write numbers without quotes, as in scores.Factuality < 0.8.",
						  "invalid number \"%s\"", txt);
		case T_INT:
			if (n->kind == E_INT || (n->kind == E_STRING && valid_int(txt)))
				return mkval(param(k, txt, "int8"), T_INT);
			if (n->kind == E_FLOAT)
				return mkval(param(k, txt, "float8"), T_NUM);
			return err_at(k, n, "22023", "an integer", "Write integers without quotes.",
						  "invalid integer \"%s\"", txt);
		case T_BOOL:
			if (n->kind == E_STRING && (strcasecmp(txt, "true") == 0 || strcasecmp(txt, "false") == 0))
				return mkval(strcasecmp(txt, "true") == 0 ? "true" : "false", T_BOOL);
			return err_at(k, n, "22023", "true or false", "Write booleans as true or false without quotes.",
						  "invalid boolean \"%s\"", txt);
		case T_TS:
		case T_DATE:
			if (n->kind == E_STRING && valid_iso(txt, t == T_DATE))
				return mkval(param(k, txt, t == T_TS ? "timestamptz" : "date"), t);
			if (n->kind == E_STRING && t == T_DATE && valid_iso(txt, 0))
				return mkval(F("%s::pg_catalog.date", param(k, txt, "timestamptz")), t);
			return err_at(k, n, "22023", t == T_TS ? "an ISO 8601 timestamp" : "an ISO 8601 date",
						  "Write timestamps as ISO 8601 strings, as in '2024-01-01' or '2024-01-01T12:00:00Z'.",
						  "invalid timestamp \"%s\"", txt);
		case T_INTERVAL:
		case T_TEXTARR:
			break;
	}
	return err_at(k, n, "42883", NULL, "Compare values of the same kind.",
				  "cannot compare a %s literal with a %s",
				  n->kind == E_STRING ? "string" : "number", type_desc[t]);
}

/* ---- coercion ---- */

#define RX_NUM "'^\\s*[-+]?([0-9]+\\.?[0-9]*|\\.[0-9]+)([eE][-+]?[0-9]{1,3})?\\s*$'"
#define RX_INT "'^\\s*[-+]?[0-9]{1,18}(\\.[0-9]*)?\\s*$'"
#define RX_TS "'^\\s*[0-9]{4}-[0-9]{2}-[0-9]{2}([Tt ][0-9]{2}:[0-9]{2}(:[0-9]{2}(\\.[0-9]+)?)?)?\\s*([Zz]|[-+][0-9]{2}(:?[0-9]{2})?)?\\s*$'"
#define RX_INTERVAL "'^\\s*[-+]?[0-9]{1,9}(\\.[0-9]+)?\\s*(years?|months?|days?|hours?|minutes?|seconds?|milliseconds?|microseconds?)\\s*$'"

static char *
ts_text(comp *k, const char *x)
{
	return F("pg_catalog.to_char((%s) AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')", x);
}

/*
 * Constructs that would look an operator up by name through search_path
 * (NULLIF, CASE x WHEN, IN, IS DISTINCT FROM, LIKE) are never emitted; these
 * write the same thing with OPERATOR(pg_catalog.op).  The price: the operand
 * is written (and evaluated) twice.
 */

/* NULLIF(x, 'null'::jsonb): a JSON null is an SQL NULL */
static char *
json_null_to_sql(comp *k, const char *x)
{
	return F("(CASE WHEN (%s) OPERATOR(pg_catalog.=) 'null'::pg_catalog.jsonb THEN NULL ELSE (%s) END)", x, x);
}

/* a JSON value read from a path: JSON null becomes SQL NULL */
static val
json_val(comp *k, char *x)
{
	val			v = mkval(json_null_to_sql(k, x), T_JSON);

	v.raw = x;
	return v;
}

/*
 * The operand for a conversion of a JSON value to another type: every such
 * conversion (->> text, jsonb_typeof tests) already maps a JSON null to SQL
 * NULL, so it can read the value without json_null_to_sql, and the path is
 * written twice instead of four times.
 */
static const char *
json_operand(val v)
{
	return v.t == T_JSON && v.raw ? v.raw : v.s;
}

/* jsonb_typeof(x) = 'type' (type: a constant of the compiler) */
static char *
json_type_is(comp *k, const char *x, const char *type)
{
	return F("pg_catalog.jsonb_typeof(%s) OPERATOR(pg_catalog.=) '%s'", x, type);
}

/* CASE lower(x) WHEN 'true' THEN true WHEN 'false' THEN false END */
static char *
text_to_bool(comp *k, const char *x)
{
	return F("(CASE WHEN pg_catalog.lower(%s) OPERATOR(pg_catalog.=) 'true' THEN true "
			 "WHEN pg_catalog.lower(%s) OPERATOR(pg_catalog.=) 'false' THEN false END)", x, x);
}

/*
 * The SQL of v converted to type t.  Conversions never fail at run time:
 * what does not convert (a JSON string that is not a number, text that is
 * not a timestamp) becomes NULL, as in BTQL.  Timestamps become text in
 * ISO 8601 with a Z, as Braintrust prints them.
 */
static char *
coerce(comp *k, val v, vtype t, btx_btql_node *at)
{
	const char *x = json_operand(v);

	if (v.t == t)
		return v.s;
	if (v.t == T_NULL)
		return F("NULL::%s", type_cast[t]);
	switch (t)
	{
		case T_JSON:
			if (v.t == T_TS)
				return F("pg_catalog.to_jsonb(%s)", ts_text(k, x));
			return F("pg_catalog.to_jsonb(%s)", x);
		case T_TEXT:
			if (v.t == T_JSON)
				return F("((%s) OPERATOR(pg_catalog.#>>) '{}')", x);
			if (v.t == T_TS)
				return ts_text(k, x);
			if (v.t == T_TEXTARR)
				return F("(pg_catalog.to_jsonb(%s)::pg_catalog.text)", x);
			return F("(%s)::pg_catalog.text", x);
		case T_NUM:
			if (v.t == T_INT)
				return F("(%s)::pg_catalog.float8", x);
			if (v.t == T_JSON)
				return F("btexport._json_float8(%s)", x);
			if (v.t == T_TEXT)
				return F("(CASE WHEN (%s) OPERATOR(pg_catalog.~) " RX_NUM " THEN (%s)::pg_catalog.float8 END)", x, x);
			if (v.t == T_BOOL)
				return F("((%s)::pg_catalog.int4)::pg_catalog.float8", x);
			break;
		case T_INT:
			if (v.t == T_NUM)
				return F("(CASE WHEN pg_catalog.abs(%s) OPERATOR(pg_catalog.<) 9.2e18 THEN pg_catalog.trunc(%s)::pg_catalog.int8 END)", x, x);
			if (v.t == T_JSON)
				return F("(CASE WHEN pg_catalog.jsonb_typeof(%s) OPERATOR(pg_catalog.=) 'number' AND pg_catalog.abs((%s)::pg_catalog.numeric) OPERATOR(pg_catalog.<) 9.2e18 THEN pg_catalog.trunc((%s)::pg_catalog.numeric)::pg_catalog.int8 END)", x, x, x);
			if (v.t == T_TEXT)
				return F("(CASE WHEN (%s) OPERATOR(pg_catalog.~) " RX_INT " THEN pg_catalog.trunc((%s)::pg_catalog.numeric)::pg_catalog.int8 END)", x, x);
			if (v.t == T_BOOL)
				return F("((%s)::pg_catalog.int4)::pg_catalog.int8", x);
			break;
		case T_BOOL:
			if (v.t == T_JSON)
				return F("(CASE WHEN pg_catalog.jsonb_typeof(%s) OPERATOR(pg_catalog.=) 'boolean' THEN (%s)::pg_catalog.bool END)", x, x);
			if (v.t == T_TEXT)
				return text_to_bool(k, x);
			if (v.t == T_INT || v.t == T_NUM)
				return F("((%s) OPERATOR(pg_catalog.<>) 0)", x);
			break;
		case T_TS:
			if (v.t == T_DATE)
				return F("((%s)::pg_catalog.timestamp AT TIME ZONE %s)", x, tz(k));
			if (v.t == T_TEXT)
				return F("(CASE WHEN (%s) OPERATOR(pg_catalog.~) " RX_TS " THEN (%s)::pg_catalog.timestamptz END)", x, x);
			if (v.t == T_JSON)
				return coerce(k, mkval(coerce(k, v, T_TEXT, at), T_TEXT), T_TS, at);
			break;
		case T_DATE:
			if (v.t == T_TS)
				return F("((%s) AT TIME ZONE %s)::pg_catalog.date", x, tz(k));
			if (v.t == T_TEXT || v.t == T_JSON)
				return F("(%s)::pg_catalog.date", coerce(k, v, T_TS, at));
			break;
		case T_INTERVAL:
			if (v.t == T_TEXT)
				return F("(CASE WHEN (%s) OPERATOR(pg_catalog.~*) " RX_INTERVAL " THEN (%s)::pg_catalog.interval END)", x, x);
			if (v.t == T_JSON)
				return coerce(k, mkval(coerce(k, v, T_TEXT, at), T_TEXT), T_INTERVAL, at);
			if (v.t == T_NUM || v.t == T_INT)
				return F("pg_catalog.make_interval(secs => (%s)::pg_catalog.float8)", x);
			break;
		case T_TEXTARR:
		case T_NULL:
			break;
	}
	err_at(k, at, "42883", NULL, "Convert one side with to_string(), to_number() or to_datetime().",
		   "cannot use a %s as a %s", type_desc[v.t], type_desc[t]);
	return "NULL";
}

/* an expression as type t: literals are bound as t directly, the rest converted */
static val
cx_as(comp *k, btx_btql_node *n, scope *s, vtype t)
{
	val			v;

	if (is_lit(k, n, s))
		return lit_as(k, n, t);
	v = cx(k, n, s);
	if (failed(k))
		return bad();
	return mkval(coerce(k, v, t, n), t);
}

/*
 * Common type of several expressions (comparison operands, IN lists,
 * branches, coalesce arguments).  Literals adapt to the typed operands; a
 * JSON value adapts to a typed operand; mixed typed operands meet in JSON.
 */
static vtype
unify(comp *k, btx_btql_node **ns, int n, scope *s, val *out)
{
	vtype		target = T_NULL;
	int			i,
				mixed = 0,
				has_json = 0;
	vtype		littype = T_NULL;

	for (i = 0; i < n; i++)
	{
		if (is_lit(k, ns[i], s))
		{
			if (littype == T_NULL && ns[i]->kind != E_NULL)
				littype = (ns[i]->kind == E_STRING || ns[i]->kind == E_QSTRING) ? T_TEXT : ns[i]->kind == E_INT ? T_INT :
					ns[i]->kind == E_BOOL ? T_BOOL : T_NUM;
			else if (ns[i]->kind == E_FLOAT && littype == T_INT)
				littype = T_NUM;
			continue;
		}
		out[i] = cx(k, ns[i], s);
		if (failed(k))
			return T_NULL;
		if (out[i].t == T_NULL)
			continue;
		if (out[i].t == T_JSON)
		{
			has_json = 1;
			continue;
		}
		if (target == T_NULL || target == out[i].t)
			target = out[i].t;
		else if ((target == T_INT && out[i].t == T_NUM) || (target == T_NUM && out[i].t == T_INT))
			target = T_NUM;
		else if ((target == T_TS && out[i].t == T_DATE) || (target == T_DATE && out[i].t == T_TS))
			target = T_TS;
		else
			mixed = 1;
	}
	if (mixed)
		target = T_JSON;
	else if (target == T_NULL)
		target = has_json ? (littype != T_NULL ? (littype == T_INT ? T_NUM : littype) : T_JSON) : littype;
	else if (target == T_INT && littype == T_NUM)
		target = T_NUM;
	for (i = 0; i < n; i++)
	{
		if (is_lit(k, ns[i], s))
			out[i] = lit_as(k, ns[i], target);
		else
			out[i] = mkval(coerce(k, out[i], target, ns[i]), target);
		if (failed(k))
			return T_NULL;
	}
	return target;
}

/* ---- names ---- */

static const field *
find_field(const field *tab, const char *name)
{
	int			i;

	for (i = 0; tab[i].name; i++)
		if (strcmp(tab[i].name, name) == 0)
			return &tab[i];
	return NULL;
}

/* a top-level field of the row in scope (spans or summary), or NULL */
static const field *
row_field(scope *s, const char *name)
{
	const field *tab = s->summary ? summary_fields : span_fields;
	const field *f = find_field(tab, name);
	int			i;

	if (f)
		return f;
	/* unquoted SQL-style names are case-insensitive (ID, Created) */
	for (i = 0; tab[i].name; i++)
		if (strcasecmp(tab[i].name, name) == 0)
			return &tab[i];
	return NULL;
}

/* an unpivot column (key or value) of that name, latest first, or NULL */
static upv *
find_upv(comp *k, scope *s, const char *name, int *is_key)
{
	int			i;

	if (!s->unpivot)
		return NULL;
	for (i = k->nupvs - 1; i >= 0; i--)
	{
		if (k->upvs[i].key_name && strcmp(k->upvs[i].key_name, name) == 0)
		{
			*is_key = 1;
			return &k->upvs[i];
		}
		if (strcmp(k->upvs[i].value_name, name) == 0)
		{
			*is_key = 0;
			return &k->upvs[i];
		}
	}
	return NULL;
}

/* select item named by a bare name (explicit alias, else unique implicit alias) */
static int
find_alias(comp *k, const char *name, btx_btql_node *at, int *ambiguous)
{
	int			i,
				hit = -1;

	*ambiguous = 0;
	for (i = 0; i < k->ncols; i++)
		if (k->cols[i].alias && strcmp(k->cols[i].alias, name) == 0)
			return i;
	for (i = 0; i < k->ncols; i++)
		if (!k->cols[i].alias && k->cols[i].implicit && strcmp(k->cols[i].implicit, name) == 0)
		{
			if (hit >= 0)
			{
				*ambiguous = 1;
				return -1;
			}
			hit = i;
		}
	return hit;
}

/* a literal, or a double-quoted word that names no field, column or alias */
static int
is_lit(comp *k, btx_btql_node *n, scope *s)
{
	int			is_key,
				amb;

	if (is_literal(n))
		return 1;
	if (n->kind != E_QSTRING)
		return 0;
	if (row_field(s, n->str) || find_upv(k, s, n->str, &is_key))
		return 0;
	if (s->aliases && k->resolving == 0 && (find_alias(k, n->str, n, &amb) >= 0 || amb))
		return 0;
	return 1;
}

/* ---- paths ---- */

/*
 * base -> seg -> seg ... from segment from on: every key and index is a bind
 * parameter; written once into a string builder (linear in the segments).
 */
static val
json_path(comp *k, const char *base, btx_btql_node *n, int from, int numeric_leaf)
{
	btx_btql_sb		b;
	int			i;
	char	   *r;

	btx_btql_sb_init(&b, k->a);
	btx_btql_sb_puts(&b, base);
	for (i = from; i < n->nsegs; i++)
	{
		if (n->segs[i].name)
			btx_btql_sb_printf(&b, " OPERATOR(pg_catalog.->) %s", param(k, n->segs[i].name, "text"));
		else
			btx_btql_sb_printf(&b, " OPERATOR(pg_catalog.->) %s", param(k, F("%lld", (long long) n->segs[i].index), "int4"));
	}
	r = btx_btql_sb_finish(&b);
	if (r == NULL)
		return bad();
	if (numeric_leaf)
		return mkval(F("btexport._json_float8(%s)", r), T_NUM);
	if (n->nsegs - from > 0 || 1)
		return json_val(k, r);
	return mkval(r, T_JSON);
}

/* path rooted at a value of type t (row field or unpivot column) */
static val
path_from(comp *k, btx_btql_node *n, const char *base, vtype t, const char *root, int summary)
{
	if (n->nsegs == 1)
	{
		if (t == T_JSON)
			return json_val(k, (char *) base);
		return mkval((char *) base, t);
	}
	if (t == T_JSON)
	{
		int			numeric = n->nsegs == 2 && n->segs[1].name &&
			(strcmp(root, "scores") == 0 || strcmp(root, "metrics") == 0);

		if (summary && strcmp(root, "metrics") == 0 && n->segs[1].name &&
			strcmp(n->segs[1].name, "estimated_cost") == 0)
		{
			char	   *key = param(k, "total_cost", "text");

			return mkval(F("btexport._json_float8(%s OPERATOR(pg_catalog.->) %s)", base, key), T_NUM);
		}
		return json_path(k, base, n, 1, numeric);
	}
	if (t == T_TEXTARR && n->nsegs == 2 && !n->segs[1].name)
	{
		int64_t		i = n->segs[1].index;

		if (i >= 0)
			return mkval(F("(%s)[%s]", base, param(k, F("%lld", (long long) (i + 1)), "int4")), T_TEXT);
		return mkval(F("(%s)[pg_catalog.cardinality(%s) OPERATOR(pg_catalog.+) %s]", base, base, param(k, F("%lld", (long long) (i + 1)), "int4")),
					 T_TEXT);
	}
	return err_at(k, n, "42703", NULL,
				  t == T_TEXTARR ? "Index string arrays once, as in tags[0] or tags[-1]." :
				  "Only JSON fields (input, output, metadata, scores, metrics, ...) have nested fields.",
				  "field \"%s\" is a %s and has no nested fields", root, type_desc[t]);
}

static val	cx_alias(comp *k, int idx, scope *s);

/*
 * A name or path: a field of the row, an unpivot column, an alias of the
 * select list (bare names only, not while expanding an alias), or, for a
 * double-quoted word that is none of those, a string literal (qstring).
 * A filter on created, _xact_id, id or root_span_id makes the query bounded.
 */
static val
cx_path(comp *k, btx_btql_node *n, scope *s, int qstring)
{
	const char *root = n->segs[0].name;
	const field *f;
	upv		   *u;
	int			is_key = 0,
				amb = 0,
				ai;

	if (root == NULL)
		return err_at(k, n, "42601", "a field name", NULL, "a path must start with a field name");
	f = row_field(s, root);
	if (f)
	{
		if (s->filter && (strcmp(root, "created") == 0 || strcmp(root, "_xact_id") == 0 ||
						  strcmp(root, "id") == 0 || strcmp(root, "root_span_id") == 0))
			k->bounded = 1;
		return path_from(k, n, F(f->sql, s->rel), f->t, root, s->summary);
	}
	if ((u = find_upv(k, s, root, &is_key)) != NULL)
	{
		if (is_key)
			return path_from(k, n, F("%s.k", u->rel), T_TEXT, root, 0);
		return path_from(k, n, F("%s.v", u->rel), u->vt, root, 0);
	}
	if (s->aliases && n->nsegs == 1 && k->resolving == 0)
	{
		ai = find_alias(k, root, n, &amb);
		if (amb)
			return err_at(k, n, "42702", NULL, "Use the full path, or give the columns distinct aliases.",
						  "name \"%s\" is ambiguous", root);
		if (ai >= 0)
			return cx_alias(k, ai, s);
	}
	if (qstring)
		return lit_as(k, n, T_NULL);
	if (!s->summary && find_field(summary_fields, root) && strcmp(root, "span_count") == 0)
		return err_at(k, n, "42703", NULL, "span_count exists only in the summary shape.",
					  "unknown field \"%s\"", root);
	if (s->summary && find_field(span_fields, root))
		return err_at(k, n, "42703", NULL,
					  "The summary shape has id, project_id, created, metadata, input, output, expected, error, tags, scores, metrics, span_count and _xact_id.",
					  "field \"%s\" does not exist in the summary shape", root);
	return err_at(k, n, "42703", NULL,
				  F("Top-level fields are %s; nested fields are reached with a path such as metadata.%s.", top_level_names, root),
				  "unknown field \"%s\"", root);
}

/* ---- functions ---- */

static const char *const aggregates[] = {
	"count", "count_distinct", "sum", "avg", "min", "max", "any_value", "percentile", NULL
};

static int
is_agg_name(const char *name)
{
	int			i;

	for (i = 0; aggregates[i]; i++)
		if (strcasecmp(aggregates[i], name) == 0)
			return 1;
	return 0;
}

static int
contains_agg(btx_btql_node *n)
{
	int			i;

	if (n == NULL)
		return 0;
	if (n->kind == E_FUNC && is_agg_name(n->str))
		return 1;
	if (contains_agg(n->left) || contains_agg(n->right))
		return 1;
	for (i = 0; i < n->nargs; i++)
		if (contains_agg(n->args[i]))
			return 1;
	return 0;
}

static int
arity(comp *k, btx_btql_node *n, int lo, int hi, const char *usage)
{
	if (n->nargs >= lo && n->nargs <= hi)
		return 0;
	if (lo == hi)
		err_at(k, n, "42883", NULL, F("Call it as %s.", usage), "function %s() takes %d argument%s, not %d",
			   n->str, lo, lo == 1 ? "" : "s", n->nargs);
	else
		err_at(k, n, "42883", NULL, F("Call it as %s.", usage), "function %s() takes %d to %d arguments, not %d",
			   n->str, lo, hi, n->nargs);
	return -1;
}

static const char *const trunc_units[] = {"second", "minute", "hour", "day", "week", "month", "year", NULL};

static const char *
trunc_unit(const char *name)
{
	int			i;

	for (i = 0; trunc_units[i]; i++)
		if (strcasecmp(trunc_units[i], name) == 0)
			return trunc_units[i];
	return NULL;
}

/* text of a value for LIKE / MATCH: JSON strings unquoted, other JSON as text */
static char *
match_text(comp *k, val v, btx_btql_node *at)
{
	if (v.t == T_JSON)
		return F("((%s) OPERATOR(pg_catalog.#>>) '{}')", json_operand(v));
	return coerce(k, v, T_TEXT, at);
}

/* all string leaves of a value, joined by spaces (MATCH on objects and arrays) */
static char *
match_words_source(comp *k, val v, btx_btql_node *at)
{
	if (v.t == T_JSON)
		return F("(SELECT pg_catalog.string_agg(mw.v OPERATOR(pg_catalog.#>>) '{}', ' ') FROM pg_catalog.jsonb_path_query(%s, 'strict $.** ? (@.type() == \"string\")') AS mw(v))",
				 v.s);
	return coerce(k, v, T_TEXT, at);
}

/*
 * MATCH: every word of the pattern occurs as a word of the field (words are
 * runs of letters and digits, case-insensitive); NULL when either is NULL.
 */
static char *
match_sql(comp *k, val field, char *pat, btx_btql_node *at)
{
	char	   *src = match_words_source(k, field, at);

	return F("(CASE WHEN (%s) IS NULL OR (%s) IS NULL THEN NULL ELSE NOT EXISTS (SELECT 1 FROM pg_catalog.regexp_split_to_table(pg_catalog.lower(%s), '[^[:alnum:]]+') AS q(w) WHERE q.w OPERATOR(pg_catalog.<>) '' AND NOT (q.w OPERATOR(pg_catalog.=) ANY (pg_catalog.regexp_split_to_array(pg_catalog.lower(coalesce(%s, '')), '[^[:alnum:]]+')))) END)",
			 field.s, pat, pat, src);
}

/* LIKE pattern: "_" is literal (btql.md 5); "\%" stays an escaped "%" */
static char *
like_pattern_literal(comp *k, const char *p)
{
	btx_btql_sb		b;
	char	   *r;

	btx_btql_sb_init(&b, k->a);
	for (; *p; p++)
	{
		if (*p == '\\' && p[1])
		{
			btx_btql_sb_append(&b, p, 2);
			p++;
		}
		else if (*p == '_')
			btx_btql_sb_puts(&b, "\\_");
		else
			btx_btql_sb_append(&b, p, 1);
	}
	r = btx_btql_sb_finish(&b);
	return r;
}

/* INCLUDES / contains(): membership in a text array, a JSON array or a JSON object */
static val
includes_sql(comp *k, btx_btql_node *hn, btx_btql_node *nn, scope *s, btx_btql_node *at)
{
	val			h = cx(k, hn, s),
				nv;

	if (failed(k))
		return bad();
	if (h.t == T_TEXTARR)
	{
		nv = cx_as(k, nn, s, T_TEXT);
		return mkval(F("coalesce((%s) OPERATOR(pg_catalog.@>) ARRAY[%s], false)", h.s, nv.s), T_BOOL);
	}
	if (h.t == T_JSON)
	{
		nv = cx_as(k, nn, s, T_JSON);
		return mkval(F("coalesce(CASE WHEN %s THEN (%s) OPERATOR(pg_catalog.@>) pg_catalog.jsonb_build_array(%s) WHEN %s THEN (%s) OPERATOR(pg_catalog.@>) (%s) END, false)",
					   json_type_is(k, h.s, "array"), h.s, nv.s, json_type_is(k, h.s, "object"), h.s, nv.s), T_BOOL);
	}
	if (h.t == T_NULL)
		return mkval("false", T_BOOL);
	return err_at(k, at, "22023", NULL, "INCLUDES and contains() search arrays (such as tags) and JSON arrays or objects.",
				  "includes needs an array or an object, not a %s", type_desc[h.t]);
}

/*
 * Aggregates: only where the scope allows them, never nested.  min/max of
 * JSON compare JSON values (array_agg ordered, first non-null), of booleans
 * are bool_and/bool_or; sum of integers stays an integer.
 */
static val
cx_agg(comp *k, btx_btql_node *n, scope *s)
{
	const char *name = n->str;
	scope		in = *s;
	val			v;

	if (!s->agg)
		return err_at(k, n, "42803", NULL,
					  s->filter ? "Filter groups with HAVING (final_filter:) instead." :
					  "Use aggregates in the select list, measures, HAVING (final_filter:) or sort.",
					  "aggregate function %s() is not allowed here", name);
	if (s->in_agg)
		return err_at(k, n, "42803", NULL, "Compute the inner aggregate in a separate query.",
					  "aggregate function calls cannot be nested");
	in.in_agg = 1;
	in.aliases = 0;
	if (strcasecmp(name, "count") == 0 || strcasecmp(name, "count_distinct") == 0)
	{
		int			distinct = n->distinct || strcasecmp(name, "count_distinct") == 0;

		if (arity(k, n, 1, 1, F("%s(expr)", name)) != 0)
			return bad();
		if (n->args[0]->kind == E_STAR || (!distinct && n->args[0]->kind == E_INT))
		{
			if (distinct)
				return err_at(k, n->args[0], "42601", "an expression", NULL, "count_distinct(*) is not allowed");
			return mkval("pg_catalog.count(*)", T_INT);
		}
		v = cx(k, n->args[0], &in);
		if (v.t == T_TEXTARR)
			v = mkval(coerce(k, v, T_JSON, n), T_JSON);
		return mkval(F("pg_catalog.count(%s%s)", distinct ? "DISTINCT " : "", v.s), T_INT);
	}
	if (n->distinct)
		return err_at(k, n, "0A000", NULL, "Use count_distinct(expr) or count(DISTINCT expr).",
					  "DISTINCT is only supported in count()");
	if (n->nargs >= 1 && n->args[0]->kind == E_STAR)
		return err_at(k, n->args[0], "42601", "an expression", NULL, "%s(*) is not allowed", name);
	if (strcasecmp(name, "sum") == 0 || strcasecmp(name, "avg") == 0)
	{
		int			isavg = strcasecmp(name, "avg") == 0;

		if (arity(k, n, 1, 1, F("%s(expr)", name)) != 0)
			return bad();
		v = cx(k, n->args[0], &in);
		if (failed(k))
			return bad();
		if (v.t == T_INTERVAL)
			return mkval(F("%s(%s)", isavg ? "pg_catalog.avg" : "pg_catalog.sum", v.s), T_INTERVAL);
		if (v.t == T_INT && !isavg)
			return mkval(F("pg_catalog.sum(%s)::pg_catalog.int8", v.s), T_INT);
		if (v.t == T_INT)
			return mkval(F("pg_catalog.avg(%s)::pg_catalog.float8", v.s), T_NUM);
		v = mkval(coerce(k, v, T_NUM, n->args[0]), T_NUM);
		return mkval(F("%s(%s)", isavg ? "pg_catalog.avg" : "pg_catalog.sum", v.s), T_NUM);
	}
	if (strcasecmp(name, "min") == 0 || strcasecmp(name, "max") == 0)
	{
		int			ismin = strcasecmp(name, "min") == 0;

		if (arity(k, n, 1, 1, F("%s(expr)", name)) != 0)
			return bad();
		v = cx(k, n->args[0], &in);
		if (failed(k))
			return bad();
		if (v.t == T_BOOL)
			return mkval(F("%s(%s)", ismin ? "pg_catalog.bool_and" : "pg_catalog.bool_or", v.s), T_BOOL);
		if (v.t == T_JSON)
			return mkval(F("(pg_catalog.array_agg(%s ORDER BY %s %s) FILTER (WHERE %s IS NOT NULL))[1]",
						   v.s, v.s, ismin ? "ASC" : "DESC", v.s), T_JSON);
		if (v.t == T_NULL)
			return mkval("NULL::pg_catalog.text", T_TEXT);
		return mkval(F("%s(%s)", ismin ? "pg_catalog.min" : "pg_catalog.max", v.s), v.t);
	}
	if (strcasecmp(name, "any_value") == 0)
	{
		if (arity(k, n, 1, 1, "any_value(expr)") != 0)
			return bad();
		v = cx(k, n->args[0], &in);
		if (v.t == T_TEXTARR)
			v = mkval(coerce(k, v, T_JSON, n), T_JSON);
		if (v.t == T_NULL)
			return mkval("NULL::pg_catalog.text", T_TEXT);
		return mkval(F("(pg_catalog.array_agg(%s) FILTER (WHERE %s IS NOT NULL))[1]", v.s, v.s), v.t);
	}
	if (strcasecmp(name, "percentile") == 0)
	{
		btx_btql_node *pn;

		if (arity(k, n, 2, 2, "percentile(expr, 0.95)") != 0)
			return bad();
		pn = n->args[1];
		if ((pn->kind != E_INT && pn->kind != E_FLOAT) ||
			(pn->kind == E_INT ? (pn->ival < 0 || pn->ival > 1) : (pn->fval < 0 || pn->fval > 1)))
			return err_at(k, pn, "22023", "a number between 0 and 1", "Write the fraction as a literal, as in percentile(metrics.latency, 0.95).",
						  "percentile fraction must be a number between 0 and 1");
		v = cx_as(k, n->args[0], &in, T_NUM);
		return mkval(F("pg_catalog.percentile_cont(%s) WITHIN GROUP (ORDER BY %s)", param(k, lit_text(k, pn), "float8"), v.s),
					 T_NUM);
	}
	return bad();
}

/* to_*() and CAST(): like coerce, plus JSON strings that hold numbers and booleans */
static val
cx_cast(comp *k, btx_btql_node *n, vtype t, btx_btql_node *arg, scope *s)
{
	val			v = cx(k, arg, s);
	const char *x = json_operand(v);

	if (failed(k))
		return bad();
	if (v.t == t)
		return v;
	if (v.t == T_NULL)
		return mkval(F("NULL::%s", type_cast[t]), t);
	switch (t)
	{
		case T_TEXT:
			return mkval(coerce(k, v, T_TEXT, n), T_TEXT);
		case T_BOOL:
			if (v.t == T_JSON)
				return mkval(F("(CASE WHEN %s THEN (%s)::pg_catalog.bool WHEN %s THEN (%s)::pg_catalog.numeric OPERATOR(pg_catalog.<>) 0 WHEN %s THEN %s END)",
							   json_type_is(k, x, "boolean"), x, json_type_is(k, x, "number"), x,
							   json_type_is(k, x, "string"), text_to_bool(k, F("(%s OPERATOR(pg_catalog.#>>) '{}')", x))),
							 T_BOOL);
			if (v.t == T_TEXT || v.t == T_INT || v.t == T_NUM)
				return mkval(coerce(k, v, T_BOOL, n), T_BOOL);
			break;
		case T_INT:
		case T_NUM:
			if (v.t == T_JSON)
			{
				char	   *num = coerce(k, v, t, n);
				char	   *txt = coerce(k, mkval(F("(%s OPERATOR(pg_catalog.#>>) '{}')", x), T_TEXT), t, n);

				return mkval(F("(CASE WHEN %s THEN %s WHEN %s THEN %s END)", json_type_is(k, x, "number"), num,
							   json_type_is(k, x, "string"), txt), t);
			}
			if (v.t == T_TEXT || v.t == T_INT || v.t == T_NUM || v.t == T_BOOL)
				return mkval(coerce(k, v, t, n), t);
			break;
		case T_TS:
		case T_DATE:
			if (v.t == T_TEXT || v.t == T_JSON || v.t == T_TS || v.t == T_DATE)
				return mkval(coerce(k, v, t, n), t);
			break;
		case T_INTERVAL:
			if (v.t == T_TEXT || v.t == T_JSON || v.t == T_NUM || v.t == T_INT)
				return mkval(coerce(k, v, t, n), t);
			break;
		default:
			break;
	}
	/* no such cast: NULL, with the operand still in the text, so that every bind parameter
	 * it allocated stays referenced */
	return mkval(F("(CASE WHEN (%s) IS NULL THEN NULL END)::%s", v.s, type_cast[t]), t);
}

/*
 * Scalar functions: one compiler per function (or family), found by name in
 * the functions[] table below; cx_func checks what all have in common.
 */
typedef val (*fn_compiler) (comp *k, btx_btql_node *n, scope *s);

/* second(ts) ... year(ts): the start of the unit, in the request's zone */
static val
fn_trunc_unit(comp *k, btx_btql_node *n, scope *s)
{
	const char *unit = trunc_unit(n->str);
	val			v;

	if (arity(k, n, 1, 1, F("%s(created)", unit)) != 0)
		return bad();
	v = cx_as(k, n->args[0], s, T_TS);
	return mkval(F("pg_catalog.date_trunc('%s', %s, %s)", unit, v.s, tz(k)), T_TS);
}

static val
fn_date_trunc(comp *k, btx_btql_node *n, scope *s)
{
	const char *unit;
	val			v;

	if (arity(k, n, 2, 2, "date_trunc('day', created)") != 0)
		return bad();
	if (n->args[0]->kind != E_STRING || (unit = trunc_unit(n->args[0]->str)) == NULL)
		return err_at(k, n->args[0], "22023", "'second', 'minute', 'hour', 'day', 'week', 'month' or 'year'",
					  "Write the unit as a string literal, as in date_trunc('day', created).",
					  "invalid date_trunc unit");
	v = cx_as(k, n->args[1], s, T_TS);
	return mkval(F("pg_catalog.date_trunc('%s', %s, %s)", unit, v.s, tz(k)), T_TS);
}

/* now(), current_timestamp() */
static val
fn_now(comp *k, btx_btql_node *n, scope *s)
{
	if (arity(k, n, 0, 0, F("%s()", n->str)) != 0)
		return bad();
	return mkval("pg_catalog.now()", T_TS);
}

static val
fn_current_date(comp *k, btx_btql_node *n, scope *s)
{
	if (arity(k, n, 0, 0, "current_date()") != 0)
		return bad();
	return mkval(F("(pg_catalog.now() AT TIME ZONE %s)::pg_catalog.date", tz(k)), T_DATE);
}

/* lower(), upper() */
static val
fn_case(comp *k, btx_btql_node *n, scope *s)
{
	val			v;

	if (arity(k, n, 1, 1, F("%s(text)", n->str)) != 0)
		return bad();
	v = cx_as(k, n->args[0], s, T_TEXT);
	return mkval(F("%s(%s)", strcasecmp(n->str, "lower") == 0 ? "pg_catalog.lower" : "pg_catalog.upper", v.s), T_TEXT);
}

static val
fn_concat(comp *k, btx_btql_node *n, scope *s)
{
	btx_btql_sb b;
	int			i;

	if (arity(k, n, 1, 64, "concat(a, b, ...)") != 0)
		return bad();
	btx_btql_sb_init(&b, k->a);
	btx_btql_sb_puts(&b, "pg_catalog.concat(");
	for (i = 0; i < n->nargs; i++)
		btx_btql_sb_printf(&b, "%s%s", i ? ", " : "", cx_as(k, n->args[i], s, T_TEXT).s);
	btx_btql_sb_puts(&b, ")");
	return mkval(btx_btql_sb_finish(&b), T_TEXT);
}

/* len(x): elements of an array; length(x): also characters of a string */
static val
fn_length(comp *k, btx_btql_node *n, scope *s)
{
	int			islen = strcasecmp(n->str, "len") == 0;
	val			v;

	if (arity(k, n, 1, 1, F("%s(x)", n->str)) != 0)
		return bad();
	v = cx(k, n->args[0], s);
	if (v.t == T_TEXTARR)
		return mkval(F("pg_catalog.cardinality(%s)::pg_catalog.int8", v.s), T_INT);
	if (v.t == T_JSON && islen)
		return mkval(F("(CASE WHEN %s THEN pg_catalog.jsonb_array_length(%s)::pg_catalog.int8 END)",
					   json_type_is(k, v.s, "array"), v.s), T_INT);
	if (v.t == T_JSON)
		return mkval(F("(CASE WHEN %s THEN pg_catalog.jsonb_array_length(%s)::pg_catalog.int8 WHEN %s THEN pg_catalog.char_length(%s OPERATOR(pg_catalog.#>>) '{}')::pg_catalog.int8 END)",
					   json_type_is(k, v.s, "array"), v.s, json_type_is(k, v.s, "string"), v.s), T_INT);
	if (v.t == T_TEXT && !islen)
		return mkval(F("pg_catalog.char_length(%s)::pg_catalog.int8", v.s), T_INT);
	return mkval("NULL::pg_catalog.int8", T_INT);
}

/* contains(arr, v), includes(arr, v): the INCLUDES operator */
static val
fn_contains(comp *k, btx_btql_node *n, scope *s)
{
	if (arity(k, n, 2, 2, F("%s(tags, 'value')", n->str)) != 0)
		return bad();
	return includes_sql(k, n->args[0], n->args[1], s, n);
}

static val
fn_json_extract(comp *k, btx_btql_node *n, scope *s)
{
	val			v;

	if (arity(k, n, 2, 2, "json_extract(metadata.raw, 'key')") != 0)
		return bad();
	if (n->args[1]->kind != E_STRING)
		return err_at(k, n->args[1], "22023", "a string literal key", "Write the key as a string literal, as in json_extract(metadata.raw, 'x-request-id').",
					  "json_extract key must be a string literal");
	v = cx_as(k, n->args[0], s, T_TEXT);
	return json_val(k, F("btexport.btql_try_jsonb(%s) OPERATOR(pg_catalog.->) %s", v.s,
						 param(k, n->args[1]->str, "text")));
}

/*
 * coalesce, least, greatest (SQL syntax, no name lookup) and nullif: the
 * arguments meet in one type (unify).
 */
static val
fn_variadic(comp *k, btx_btql_node *n, scope *s)
{
	const char *name = n->str;
	const char *fn = strcasecmp(name, "coalesce") == 0 ? "coalesce" : strcasecmp(name, "least") == 0 ? "least" :
		strcasecmp(name, "greatest") == 0 ? "greatest" : NULL;
	val		   *vs;
	vtype		t;
	btx_btql_sb b;
	int			i;

	if (fn == NULL ? arity(k, n, 2, 2, "nullif(a, b)") != 0 :
		arity(k, n, 1, 64, F("%s(a, b, ...)", name)) != 0)
		return bad();
	if ((vs = btx_btql_alloc(k->a, sizeof(val) * n->nargs)) == NULL)
		return bad();
	t = unify(k, n->args, n->nargs, s, vs);
	if (failed(k))
		return bad();
	if (t == T_NULL)
		t = T_TEXT;
	for (i = 0; i < n->nargs; i++)
		if (vs[i].t == T_NULL)
			vs[i].s = F("NULL::%s", type_cast[t]);
	if (fn == NULL)				/* NULLIF(a, b), without NULLIF */
		return mkval(F("(CASE WHEN %s OPERATOR(pg_catalog.=) %s THEN NULL ELSE %s END)", vs[0].s, vs[1].s, vs[0].s), t);
	btx_btql_sb_init(&b, k->a);
	btx_btql_sb_printf(&b, "%s(", fn);
	for (i = 0; i < n->nargs; i++)
		btx_btql_sb_printf(&b, "%s%s", i ? ", " : "", vs[i].s);
	btx_btql_sb_puts(&b, ")");
	return mkval(btx_btql_sb_finish(&b), t);
}

static val
fn_round(comp *k, btx_btql_node *n, scope *s)
{
	val			v;

	if (arity(k, n, 1, 2, "round(x, 2)") != 0)
		return bad();
	v = cx_as(k, n->args[0], s, T_NUM);
	if (n->nargs == 1)
		return mkval(F("pg_catalog.round(%s)", v.s), T_NUM);
	if (n->args[1]->kind != E_INT || n->args[1]->ival < -100 || n->args[1]->ival > 100)
		return err_at(k, n->args[1], "22023", "an integer literal", "Write the precision as an integer literal, as in round(x, 2).",
					  "round precision must be an integer literal between -100 and 100");
	return mkval(F("pg_catalog.round((%s)::pg_catalog.numeric, %s)::pg_catalog.float8", v.s,
				   param(k, lit_text(k, n->args[1]), "int4")), T_NUM);
}

/* to_string() ... to_interval(): CAST(x AS type) */
static val
fn_convert(comp *k, btx_btql_node *n, scope *s)
{
	static const struct
	{
		const char *n;
		vtype		t;
	}			casts[] = {
		{"to_string", T_TEXT}, {"to_boolean", T_BOOL}, {"to_integer", T_INT}, {"to_number", T_NUM},
		{"to_date", T_DATE}, {"to_datetime", T_TS}, {"to_interval", T_INTERVAL}, {NULL, T_NULL}
	};
	int			i;

	for (i = 0; casts[i].n; i++)
		if (strcasecmp(casts[i].n, n->str) == 0)
			break;
	if (arity(k, n, 1, 1, F("%s(x)", casts[i].n)) != 0)
		return bad();
	return cx_cast(k, n, casts[i].t, n->args[0], s);
}

/* search('text'): MATCH over the text fields of the row */
static val
fn_search(comp *k, btx_btql_node *n, scope *s)
{
	static const char *const fields[] = {"input", "output", "expected", "metadata", "span_attributes", NULL};
	val			q;
	btx_btql_sb b;
	int			i;

	if (arity(k, n, 1, 1, "search('text')") != 0)
		return bad();
	q = cx_as(k, n->args[0], s, T_TEXT);
	btx_btql_sb_init(&b, k->a);
	btx_btql_sb_puts(&b, "(");
	for (i = 0; fields[i]; i++)
	{
		const field *f = row_field(s, fields[i]);

		if (f == NULL)
			continue;
		btx_btql_sb_printf(&b, "%scoalesce(%s, false)", b.len > 1 ? " OR " : "",
						   match_sql(k, mkval(F(f->sql, s->rel), T_JSON), q.s, n));
	}
	btx_btql_sb_puts(&b, ")");
	return mkval(F("(CASE WHEN (%s) IS NULL THEN NULL ELSE %s END)", q.s, btx_btql_sb_finish(&b)), T_BOOL);
}

/* estimated_cost(): a span's cost by the exports' one rule — metrics.cost, else metrics.estimated_cost (summary: total_cost) */
static val
fn_estimated_cost(comp *k, btx_btql_node *n, scope *s)
{
	const field *f = row_field(s, "metrics");
	char	   *m = F(f->sql, s->rel);

	if (arity(k, n, 0, 0, "estimated_cost()") != 0)
		return bad();
	if (s->summary)
		return mkval(F("btexport._json_float8(%s OPERATOR(pg_catalog.->) 'total_cost')", m), T_NUM);
	return mkval(F("coalesce(btexport._json_float8(%s OPERATOR(pg_catalog.->) 'cost'), btexport._json_float8(%s OPERATOR(pg_catalog.->) 'estimated_cost'))",
				   m, m), T_NUM);
}

static const struct
{
	const char *name;
	fn_compiler fn;
}			functions[] = {
	{"second", fn_trunc_unit}, {"minute", fn_trunc_unit}, {"hour", fn_trunc_unit}, {"day", fn_trunc_unit},
	{"week", fn_trunc_unit}, {"month", fn_trunc_unit}, {"year", fn_trunc_unit}, {"date_trunc", fn_date_trunc},
	{"now", fn_now}, {"current_timestamp", fn_now}, {"current_date", fn_current_date},
	{"lower", fn_case}, {"upper", fn_case}, {"concat", fn_concat}, {"len", fn_length}, {"length", fn_length},
	{"contains", fn_contains}, {"includes", fn_contains}, {"json_extract", fn_json_extract},
	{"coalesce", fn_variadic}, {"least", fn_variadic}, {"greatest", fn_variadic}, {"nullif", fn_variadic},
	{"round", fn_round}, {"to_string", fn_convert}, {"to_boolean", fn_convert}, {"to_integer", fn_convert},
	{"to_number", fn_convert}, {"to_date", fn_convert}, {"to_datetime", fn_convert}, {"to_interval", fn_convert},
	{"search", fn_search}, {"estimated_cost", fn_estimated_cost}, {NULL, NULL}
};

static val
cx_func(comp *k, btx_btql_node *n, scope *s)
{
	const char *name = n->str;
	int			i;

	if (is_agg_name(name))
		return cx_agg(k, n, s);
	if (n->distinct)
		return err_at(k, n, "42601", NULL, "DISTINCT is only allowed in count().", "DISTINCT in a call of %s()", name);
	for (i = 0; i < n->nargs; i++)
		if (n->args[i]->kind == E_STAR)
			return err_at(k, n->args[i], "42601", "an expression", "Only count(*) takes *.", "syntax error at \"*\"");
	for (i = 0; functions[i].name; i++)
		if (strcasecmp(functions[i].name, name) == 0)
			return functions[i].fn(k, n, s);
	if (strcasecmp(name, "any_span") == 0 || strcasecmp(name, "filter_spans") == 0)
		return bad();				/* parsed as E_ANYSPAN / E_FILTERSPANS */
	return err_at(k, n, "42883", NULL,
				  "Functions are second, minute, hour, day, week, month, year, date_trunc, now, current_timestamp, current_date, lower, upper, concat, len, length, contains, includes, json_extract, coalesce, nullif, least, greatest, round, to_string, to_boolean, to_integer, to_number, to_date, to_datetime, to_interval, search and estimated_cost; aggregates are count, count_distinct, sum, avg, min, max, any_value and percentile.",
				  "unknown function \"%s\"", name);
}

/* an alias reference: the aliased expression compiled in place (no alias inside it) */
static val
cx_alias(comp *k, int idx, scope *s)
{
	scope		in = *s;
	val			v;

	in.aliases = 0;
	k->resolving++;
	v = cx(k, k->cols[idx].expr, &in);
	k->resolving--;
	return v;
}

/* ---- expressions ---- */

/* the comparison operators = != < <= > >=, qualified */
static const char *
cmp_op(const char *op)
{
	if (strcmp(op, "=") == 0)
		return "OPERATOR(pg_catalog.=)";
	if (strcmp(op, "!=") == 0)
		return "OPERATOR(pg_catalog.<>)";
	if (strcmp(op, "<") == 0)
		return "OPERATOR(pg_catalog.<)";
	if (strcmp(op, "<=") == 0)
		return "OPERATOR(pg_catalog.<=)";
	if (strcmp(op, ">") == 0)
		return "OPERATOR(pg_catalog.>)";
	return "OPERATOR(pg_catalog.>=)";
}

/* the arithmetic operators + - *, qualified */
static const char *
arith_op(char op)
{
	return op == '+' ? "OPERATOR(pg_catalog.+)" : op == '-' ? "OPERATOR(pg_catalog.-)" : "OPERATOR(pg_catalog.*)";
}

/* the operands of a chain of one logical operator (a OR b OR c ...), in order */
static void
chain_terms(comp *k, btx_btql_node *n, const char *op, btx_btql_vec *terms)
{
	btx_btql_node **slot;

	if (n->kind == E_BINOP && strcmp(n->op, op) == 0)
	{
		chain_terms(k, n->left, op, terms);
		chain_terms(k, n->right, op, terms);
		return;
	}
	if ((slot = btx_btql_vec_push(k->a, terms, sizeof(*slot))) != NULL)
		*slot = n;
}

/*
 * A chain of AND (or of OR) is written flat, (a AND b AND c), in one string:
 * nesting it as the tree is, ((a AND b) AND c), would copy the text built so
 * far at every level, quadratic in the length of the chain.
 */
static val
cx_logical(comp *k, btx_btql_node *n, scope *s)
{
	int			and = strcmp(n->op, "and") == 0,
				i;
	btx_btql_vec terms = {0};
	btx_btql_sb b;

	chain_terms(k, n, n->op, &terms);
	btx_btql_sb_init(&b, k->a);
	btx_btql_sb_puts(&b, "(");
	for (i = 0; i < terms.n && !failed(k); i++)
	{
		val			v = cx_as(k, ((btx_btql_node **) terms.data)[i], s, T_BOOL);

		if (i)
			btx_btql_sb_puts(&b, and ? " AND " : " OR ");
		btx_btql_sb_puts(&b, v.s);
	}
	btx_btql_sb_puts(&b, ")");
	return mkval(btx_btql_sb_finish(&b), T_BOOL);
}

/*
 * = != < <= > >= <=> <!=> after unify.  IS [NOT] DISTINCT FROM would look =
 * up through search_path: <=> is written coalesce(a = b, a IS NULL AND b IS
 * NULL), the same truth table.
 */
static val
cx_compare(comp *k, btx_btql_node *n, scope *s)
{
	const char *op = n->op;
	btx_btql_node *ns[2];
	val			vs[2];
	vtype		t;
	char	   *a,
			   *b;

	ns[0] = n->left;
	ns[1] = n->right;
	t = unify(k, ns, 2, s, vs);
	if (failed(k))
		return bad();
	if (t == T_NULL)
		return mkval(strcmp(op, "<=>") == 0 ? "true" : strcmp(op, "<!=>") == 0 ? "false" : "NULL::pg_catalog.bool", T_BOOL);
	a = vs[0].t == T_NULL ? F("NULL::%s", type_cast[t]) : vs[0].s;
	b = vs[1].t == T_NULL ? F("NULL::%s", type_cast[t]) : vs[1].s;
	if (strcmp(op, "<=>") == 0 || strcmp(op, "<!=>") == 0)
		return mkval(F("(%scoalesce(%s OPERATOR(pg_catalog.=) %s, %s IS NULL AND %s IS NULL))",
					   op[1] == '!' ? "NOT " : "", a, b, a, b), T_BOOL);
	return mkval(F("(%s %s %s)", a, cmp_op(op), b), T_BOOL);
}

/*
 * One arithmetic operator, its left operand already compiled (a; for a
 * literal: T_NULL, read from the node): + - * / % on numbers, and + - on
 * timestamps, dates and intervals.
 */
static val
cx_arith(comp *k, btx_btql_node *n, val a, scope *s)
{
	const char *op = n->op;
	btx_btql_node *l = n->left,
			   *r = n->right;
	val			b = is_literal(r) ? mkval(NULL, T_NULL) : cx(k, r, s);

	if (failed(k))
		return bad();
	/* temporal arithmetic */
	if (op[0] == '+' || op[0] == '-')
	{
		if (is_literal(l) && l->kind == E_STRING && (b.t == T_INTERVAL || b.t == T_TS))
			a = lit_as(k, l, T_TS);
		if (is_literal(r) && r->kind == E_STRING && a.t == T_TS)
			b = lit_as(k, r, op[0] == '-' ? T_TS : T_INTERVAL);
		if (failed(k))
			return bad();
		if ((a.t == T_TS || a.t == T_DATE) && b.t == T_INTERVAL)
			return mkval(F("(%s %s %s)", coerce(k, a, T_TS, l), arith_op(op[0]), b.s), T_TS);
		if (op[0] == '+' && a.t == T_INTERVAL && (b.t == T_TS || b.t == T_DATE))
			return mkval(F("(%s OPERATOR(pg_catalog.+) %s)", a.s, coerce(k, b, T_TS, r)), T_TS);
		if (a.t == T_INTERVAL && b.t == T_INTERVAL)
			return mkval(F("(%s %s %s)", a.s, arith_op(op[0]), b.s), T_INTERVAL);
		if (op[0] == '-' && (a.t == T_TS || a.t == T_DATE) && (b.t == T_TS || b.t == T_DATE))
			return mkval(F("(%s OPERATOR(pg_catalog.-) %s)", coerce(k, a, T_TS, l), coerce(k, b, T_TS, r)), T_INTERVAL);
	}
	if (a.t == T_TS || a.t == T_DATE || a.t == T_INTERVAL || b.t == T_TS || b.t == T_DATE || b.t == T_INTERVAL ||
		a.t == T_TEXTARR || b.t == T_TEXTARR)
		return err_at(k, n, "42883", NULL, "Timestamps take + and - with intervals, as in now() - interval 7 day.",
					  "operator %s is not defined for a %s and a %s", op,
					  type_desc[a.t == T_NULL ? (l->kind == E_STRING ? T_TEXT : T_NUM) : a.t],
					  type_desc[b.t == T_NULL ? (r->kind == E_STRING ? T_TEXT : T_NUM) : b.t]);
	{
		int			ints = (is_literal(l) ? l->kind == E_INT : a.t == T_INT) &&
			(is_literal(r) ? r->kind == E_INT : b.t == T_INT);
		vtype		t = ints && op[0] != '/' ? T_INT : T_NUM;
		char	   *x = is_literal(l) ? lit_as(k, l, t).s : coerce(k, a, t, l);
		char	   *y = is_literal(r) ? lit_as(k, r, t).s : coerce(k, b, t, r);

		if (failed(k))
			return bad();
		/* x / 0 and x % 0 are NULL: NULLIF(y, 0), written without NULLIF */
		if (op[0] == '/')
			return mkval(F("(CASE WHEN (%s)::pg_catalog.float8 OPERATOR(pg_catalog.=) 0 THEN NULL "
						   "ELSE (%s)::pg_catalog.float8 OPERATOR(pg_catalog./) (%s)::pg_catalog.float8 END)", y, x, y), T_NUM);
		if (op[0] == '%')
		{
			if (t == T_INT)
				return mkval(F("(CASE WHEN (%s) OPERATOR(pg_catalog.=) 0 THEN NULL ELSE pg_catalog.mod(%s, %s) END)",
							   y, x, y), T_INT);
			return mkval(F("(CASE WHEN (%s)::pg_catalog.numeric OPERATOR(pg_catalog.=) 0 THEN NULL "
						   "ELSE pg_catalog.mod((%s)::pg_catalog.numeric, (%s)::pg_catalog.numeric)::pg_catalog.float8 END)",
						   y, x, y), T_NUM);
		}
		return mkval(F("(%s %s %s)", x, arith_op(op[0]), y), t);
	}
}

static int
is_arith(btx_btql_node *n)
{
	return n->kind == E_BINOP && n->op[0] != '\0' && strchr("+-*/%", n->op[0]) != NULL && n->op[1] == '\0';
}

/* stands in for the left operand while a level of a chain is compiled */
#define HOLE "\x01"

/*
 * A left-deep chain of arithmetic (a + b - c * ...).  Compiling each level
 * around the text of the level below would copy that growing text at every
 * level: quadratic.  Instead every level is compiled around a placeholder
 * (HOLE), which leaves the text before and after it; the chain is then
 * written once, outermost prefix first.  A level that would use its left
 * operand twice (none does today) is compiled the copying way.
 */
static val
cx_arith_chain(comp *k, btx_btql_node *n, scope *s)
{
	btx_btql_vec levels = {0},
				prefix = {0},
				suffix = {0};
	btx_btql_node *cur;
	btx_btql_sb b;
	val			acc;
	int			i,
				j;

	for (cur = n; is_arith(cur); cur = cur->left)
	{
		btx_btql_node **slot = btx_btql_vec_push(k->a, &levels, sizeof(*slot));

		if (slot == NULL)
			return bad();
		*slot = cur;
	}
	/* the innermost level with its real left operand */
	cur = ((btx_btql_node **) levels.data)[levels.n - 1];
	acc = cx_arith(k, cur, is_literal(cur->left) ? mkval(NULL, T_NULL) : cx(k, cur->left, s), s);
	for (i = levels.n - 2; i >= 0 && !failed(k); i--)
	{
		btx_btql_node *lv = ((btx_btql_node **) levels.data)[i];
		val			hole = mkval(HOLE, acc.t),
					r;
		char	   *at,
				  **pre,
				  **suf;

		k->at = lv;
		r = cx_arith(k, lv, hole, s);
		if (failed(k))
			return bad();
		at = strstr(r.s, HOLE);
		if (at == NULL || strstr(at + 1, HOLE) != NULL)
		{
			/* not exactly one hole: flatten what we have and go the copying way */
			btx_btql_sb_init(&b, k->a);
			for (; prefix.n > 0; prefix.n--)
				btx_btql_sb_puts(&b, ((char **) prefix.data)[prefix.n - 1]);
			btx_btql_sb_puts(&b, acc.s);
			for (j = 0; j < suffix.n; j++)
				btx_btql_sb_puts(&b, ((char **) suffix.data)[j]);
			suffix.n = 0;
			acc = cx_arith(k, lv, mkval(btx_btql_sb_finish(&b), acc.t), s);
			continue;
		}
		if ((pre = btx_btql_vec_push(k->a, &prefix, sizeof(*pre))) == NULL ||
			(suf = btx_btql_vec_push(k->a, &suffix, sizeof(*suf))) == NULL)
			return bad();
		*pre = btx_btql_strndup(k->a, r.s, at - r.s);
		*suf = at + 1;
		acc.t = r.t;
	}
	/* prefixes outermost first, the innermost level, suffixes innermost first */
	btx_btql_sb_init(&b, k->a);
	for (i = prefix.n - 1; i >= 0; i--)
		btx_btql_sb_puts(&b, ((char **) prefix.data)[i]);
	btx_btql_sb_puts(&b, acc.s);
	for (i = 0; i < suffix.n; i++)
		btx_btql_sb_puts(&b, ((char **) suffix.data)[i]);
	return failed(k) ? bad() : mkval(btx_btql_sb_finish(&b), acc.t);
}

/* binary operators: AND/OR chains, comparisons, and arithmetic (with timestamps) */
static val
cx_binop(comp *k, btx_btql_node *n, scope *s)
{
	const char *op = n->op;

	if (strcmp(op, "and") == 0 || strcmp(op, "or") == 0)
		return cx_logical(k, n, s);
	if (strchr("=!<>", op[0]) != NULL)
		return cx_compare(k, n, s);
	return cx_arith_chain(k, n, s);
}

/*
 * x [NOT] IN (a, b, ...): the operands meet in one type; written as
 * = ANY (ARRAY[...]) or <> ALL (...), which IN means (and which would look
 * = up by name if written IN).
 */
static val
cx_in(comp *k, btx_btql_node *n, scope *s)
{
	btx_btql_node *lst = n->right;
	btx_btql_node **ns;
	val		   *vs;
	btx_btql_sb		b;
	char	   *r;
	int			i;
	vtype		t;

	if (lst->nargs == 0)
		return mkval(n->neg ? "true" : "false", T_BOOL);
	ns = btx_btql_alloc(k->a, sizeof(btx_btql_node *) * (lst->nargs + 1));
	vs = btx_btql_alloc(k->a, sizeof(val) * (lst->nargs + 1));
	if (ns == NULL || vs == NULL)
		return bad();
	ns[0] = n->left;
	for (i = 0; i < lst->nargs; i++)
		ns[i + 1] = lst->args[i];
	t = unify(k, ns, lst->nargs + 1, s, vs);
	if (failed(k))
		return bad();
	if (t == T_NULL)
		return mkval("NULL::pg_catalog.bool", T_BOOL);
	for (i = 0; i <= lst->nargs; i++)
		if (vs[i].t == T_NULL)
			vs[i].s = F("NULL::%s", type_cast[t]);
	btx_btql_sb_init(&b, k->a);
	if (t == T_TEXTARR)
	{
		/* an ARRAY[] of arrays would be two-dimensional: compare one by one */
		btx_btql_sb_puts(&b, n->neg ? "(NOT (" : "((");
		for (i = 1; i <= lst->nargs; i++)
			btx_btql_sb_printf(&b, "%s%s OPERATOR(pg_catalog.=) %s", i > 1 ? " OR " : "", vs[0].s, vs[i].s);
		btx_btql_sb_puts(&b, "))");
	}
	else
	{
		/* x IN (a, b) is x = ANY (ARRAY[a, b]), NOT IN is <> ALL: same NULL rules */
		btx_btql_sb_printf(&b, "(%s %s (ARRAY[", vs[0].s,
						   n->neg ? "OPERATOR(pg_catalog.<>) ALL" : "OPERATOR(pg_catalog.=) ANY");
		for (i = 1; i <= lst->nargs; i++)
			btx_btql_sb_printf(&b, "%s%s", i > 1 ? ", " : "", vs[i].s);
		btx_btql_sb_puts(&b, "]))");
	}
	r = btx_btql_sb_finish(&b);
	return mkval(r, T_BOOL);
}

/* [a, b, ...] in BTQL: a JSON array */
static val
cx_array(comp *k, btx_btql_node *n, scope *s)
{
	btx_btql_sb b;
	int			i;

	btx_btql_sb_init(&b, k->a);
	btx_btql_sb_puts(&b, "pg_catalog.jsonb_build_array(");
	for (i = 0; i < n->nargs; i++)
		btx_btql_sb_printf(&b, "%s%s", i ? ", " : "", cx_as(k, n->args[i], s, T_JSON).s);
	btx_btql_sb_puts(&b, ")");
	return mkval(btx_btql_sb_finish(&b), T_JSON);
}

/* [NOT] LIKE / ILIKE, as the operators ~~ ~~* !~~ !~~* (LIKE looks them up by name) */
static val
cx_like(comp *k, btx_btql_node *n, scope *s)
{
	val			v = cx(k, n->left, s);
	char	   *pat;

	if (failed(k))
		return bad();
	if (n->right->kind == E_STRING)
		pat = param(k, like_pattern_literal(k, n->right->str), "text");
	else
		pat = F("pg_catalog.replace(%s, '_', '\\_')", cx_as(k, n->right, s, T_TEXT).s);
	return mkval(F("(%s %s %s)", match_text(k, v, n->left),
				   n->kind == E_LIKE ? (n->neg ? "OPERATOR(pg_catalog.!~~)" : "OPERATOR(pg_catalog.~~)") :
				   (n->neg ? "OPERATOR(pg_catalog.!~~*)" : "OPERATOR(pg_catalog.~~*)"), pat), T_BOOL);
}

/* cond ? a : b, the branches in one type */
static val
cx_if(comp *k, btx_btql_node *n, scope *s)
{
	val			c = cx_as(k, n->args[0], s, T_BOOL),
				vs[2];
	vtype		t = unify(k, n->args + 1, 2, s, vs);

	if (failed(k))
		return bad();
	if (t == T_NULL)
		t = T_TEXT;
	return mkval(F("(CASE WHEN %s THEN %s ELSE %s END)", c.s,
				   vs[0].t == T_NULL ? F("NULL::%s", type_cast[t]) : vs[0].s,
				   vs[1].t == T_NULL ? F("NULL::%s", type_cast[t]) : vs[1].s), t);
}

/* ANY_SPAN(cond): some span of the same trace (relation a<n>) satisfies cond */
static val
cx_any_span(comp *k, btx_btql_node *n, scope *s)
{
	scope		in = *s;
	char	   *rel;
	val			v;

	if (!s->filter || s->summary)
		return err_at(k, n, "0A000", NULL, "Use ANY_SPAN() in the filter (WHERE).",
					  "ANY_SPAN() is only allowed in the filter");
	if (s->anyspan >= 2)
		return err_at(k, n, "0A000", NULL, "Nest ANY_SPAN() at most two levels deep.",
					  "ANY_SPAN() nested more than two levels");
	rel = F("a%d", ++k->nrel);
	in.rel = rel;
	in.anyspan++;
	v = cx_as(k, n->left, &in, T_BOOL);
	return mkval(F("EXISTS (SELECT 1 FROM btexport.logs %s WHERE %s.project_id OPERATOR(pg_catalog.=) %s.project_id AND %s.root_span_id OPERATOR(pg_catalog.=) %s.root_span_id AND %s)",
				   rel, rel, s->rel, rel, s->rel, v.s), T_BOOL);
}

/* CAST(x AS type), by the type's BTQL/SQL name */
static val
cx_cast_expr(comp *k, btx_btql_node *n, scope *s)
{
	static const struct
	{
		const char *n;
		vtype		t;
	}			types[] = {
		{"text", T_TEXT}, {"varchar", T_TEXT}, {"string", T_TEXT}, {"char", T_TEXT},
		{"integer", T_INT}, {"int", T_INT}, {"bigint", T_INT}, {"int8", T_INT},
		{"double", T_NUM}, {"float", T_NUM}, {"float8", T_NUM}, {"real", T_NUM}, {"numeric", T_NUM},
		{"number", T_NUM}, {"decimal", T_NUM}, {"boolean", T_BOOL}, {"bool", T_BOOL},
		{"timestamp", T_TS}, {"timestamptz", T_TS}, {"datetime", T_TS}, {"date", T_DATE},
		{"interval", T_INTERVAL}, {NULL, T_NULL}
	};
	int			i;

	for (i = 0; types[i].n; i++)
		if (strcasecmp(types[i].n, n->str) == 0)
			return cx_cast(k, n, types[i].t, n->left, s);
	return err_at(k, n, "22023", NULL,
				  "Cast to text, varchar, integer, bigint, double, float, numeric, boolean, timestamp, date or interval.",
				  "unknown type \"%s\" in CAST", n->str);
}

/* the SQL of one expression node: a dispatch on its kind */
static val
cx_node(comp *k, btx_btql_node *n, scope *s)
{
	val			v,
				w;

	if (failed(k) || n == NULL)
		return bad();
	switch (n->kind)
	{
		case E_NULL:
			return mkval("NULL", T_NULL);
		case E_BOOL:
		case E_INT:
		case E_FLOAT:
		case E_STRING:
			return lit_as(k, n, T_NULL);
		case E_QSTRING:
			return cx_path(k, n, s, 1);
		case E_INTERVAL:
			return mkval(param(k, F("%lld %s", (long long) n->ival, n->str), "interval"), T_INTERVAL);
		case E_ARRAY:
			return cx_array(k, n, s);
		case E_PATH:
			return cx_path(k, n, s, 0);
		case E_STAR:
			return err_at(k, n, "42601", "an expression", "Only count(*) takes *.", "syntax error at \"*\"");
		case E_FUNC:
			return cx_func(k, n, s);
		case E_BINOP:
			return cx_binop(k, n, s);
		case E_NOT:
			v = cx_as(k, n->left, s, T_BOOL);
			return mkval(F("(NOT %s)", v.s), T_BOOL);
		case E_NEG:
			v = cx(k, n->left, s);
			if (v.t == T_INT || v.t == T_NUM || v.t == T_INTERVAL)
				return mkval(F("(OPERATOR(pg_catalog.-) %s)", v.s), v.t);
			if (failed(k))
				return bad();
			return mkval(F("(OPERATOR(pg_catalog.-) %s)", coerce(k, v, T_NUM, n->left)), T_NUM);
		case E_ISNULL:
		case E_ISNOTNULL:
			v = cx(k, n->left, s);
			return mkval(F("(%s IS %sNULL)", v.s, n->kind == E_ISNOTNULL ? "NOT " : ""), T_BOOL);
		case E_ISTRUE:
		case E_ISNOTTRUE:
		case E_ISFALSE:
		case E_ISNOTFALSE:
			v = cx_as(k, n->left, s, T_BOOL);
			return mkval(F("(%s IS %s%s)", v.s, (n->kind == E_ISNOTTRUE || n->kind == E_ISNOTFALSE) ? "NOT " : "",
						   (n->kind == E_ISTRUE || n->kind == E_ISNOTTRUE) ? "TRUE" : "FALSE"), T_BOOL);
		case E_LIKE:
		case E_ILIKE:
			return cx_like(k, n, s);
		case E_MATCH:
			v = cx(k, n->left, s);
			w = cx_as(k, n->right, s, T_TEXT);
			if (failed(k))
				return bad();
			return mkval(F("(%s%s)", n->neg ? "NOT " : "", match_sql(k, v, w.s, n)), T_BOOL);
		case E_INCLUDES:
			v = includes_sql(k, n->left, n->right, s, n);
			if (n->neg)
				return mkval(F("(NOT %s)", v.s), T_BOOL);
			return v;
		case E_IN:
			return cx_in(k, n, s);
		case E_IF:
			return cx_if(k, n, s);
		case E_ANYSPAN:
			return cx_any_span(k, n, s);
		case E_FILTERSPANS:
			if (s->filter && s->spans_shape)
				return cx_as(k, n->left, s, T_BOOL);
			return err_at(k, n, "0A000", NULL, "Write FILTER_SPANS(...) as a top-level AND term of the filter.",
						  "FILTER_SPANS() is only allowed as a top-level term of the filter");
		case E_CAST:
			return cx_cast_expr(k, n, s);
	}
	return bad();
}

/*
 * The SQL of expression n and its type.  k->at follows the recursion, and
 * stays on the innermost expression when the compile fails there, so that a
 * limit reached while building the SQL is reported where it was reached.
 */
static val
cx(comp *k, btx_btql_node *n, scope *s)
{
	btx_btql_node *outer = k->at;
	val			v;

	if (n)
		k->at = n;
	v = cx_node(k, n, s);
	if (!failed(k))
		k->at = outer;
	return v;
}

/* ---- structural equality (grouping) ---- */

/* structural equality of two expressions (a select item against a GROUP BY item) */
static int
node_eq(btx_btql_node *a, btx_btql_node *b)
{
	int			i;

	if (a == b)
		return 1;
	if (a == NULL || b == NULL || a->kind != b->kind || a->neg != b->neg || a->distinct != b->distinct ||
		strcmp(a->op, b->op) != 0 || a->nargs != b->nargs || a->nsegs != b->nsegs)
		return 0;
	switch (a->kind)
	{
		case E_INT:
		case E_BOOL:
			if (a->ival != b->ival)
				return 0;
			break;
		case E_FLOAT:
			if (a->fval != b->fval)
				return 0;
			break;
		case E_STRING:
		case E_QSTRING:
		case E_CAST:
			if (strcmp(a->str, b->str) != 0)
				return 0;
			break;
		case E_FUNC:
			if (strcasecmp(a->str, b->str) != 0)
				return 0;
			break;
		case E_INTERVAL:
			if (a->ival != b->ival || strcmp(a->str, b->str) != 0)
				return 0;
			break;
		default:
			break;
	}
	for (i = 0; i < a->nsegs; i++)
	{
		if ((a->segs[i].name == NULL) != (b->segs[i].name == NULL))
			return 0;
		if (a->segs[i].name ? strcmp(a->segs[i].name, b->segs[i].name) != 0 : a->segs[i].index != b->segs[i].index)
			return 0;
	}
	if (!node_eq(a->left, b->left) || !node_eq(a->right, b->right))
		return 0;
	for (i = 0; i < a->nargs; i++)
		if (!node_eq(a->args[i], b->args[i]))
			return 0;
	return 1;
}

/* an alias reference (bare name, not a field or unpivot column) -> select index */
static int
alias_ref(comp *k, btx_btql_node *n, scope *s)
{
	int			amb,
				is_key;

	if ((n->kind != E_PATH && n->kind != E_QSTRING) || n->nsegs != 1 || n->segs[0].name == NULL)
		return -1;
	if (row_field(s, n->segs[0].name) || find_upv(k, s, n->segs[0].name, &is_key))
		return -1;
	return find_alias(k, n->segs[0].name, n, &amb);
}

/* every column reference outside aggregates must be a grouping expression */
static int
check_grouped(comp *k, btx_btql_node *n, scope *s)
{
	int			i,
				ai;

	if (n == NULL || failed(k))
		return 0;
	for (i = 0; i < k->ngroups; i++)
		if (node_eq(n, k->groups[i]))
			return 0;
	if (n->kind == E_FUNC && is_agg_name(n->str))
		return 0;
	if (n->kind == E_PATH || n->kind == E_QSTRING)
	{
		if (s->aliases && (ai = alias_ref(k, n, s)) >= 0)
		{
			int			g;

			for (g = 0; g < k->ngroups; g++)
				if (k->group_pos[g] == ai + 1 || node_eq(k->cols[ai].expr, k->groups[g]))
					return 0;
			return check_grouped(k, k->cols[ai].expr, s);
		}
		if (n->kind == E_QSTRING && !row_field(s, n->str))
		{
			int			is_key;

			if (!find_upv(k, s, n->str, &is_key))
				return 0;		/* a string literal */
		}
		err_at(k, n, "42803", NULL,
			   "Add the expression to GROUP BY (dimensions:) or wrap it in an aggregate such as any_value().",
			   "column \"%s\" must appear in the GROUP BY clause or be used in an aggregate function", src_text(k, n));
		return -1;
	}
	if (check_grouped(k, n->left, s) || check_grouped(k, n->right, s))
		return -1;
	for (i = 0; i < n->nargs; i++)
		if (check_grouped(k, n->args[i], s))
			return -1;
	return 0;
}

/* ---- query assembly ---- */

/* the spans of the project_logs() projects, each given by id or by name (a parameter) */
static char *
projects_pred(comp *k, const char *rel)
{
	btx_btql_sb		b;
	char	   *r;
	int			i;

	btx_btql_sb_init(&b, k->a);
	btx_btql_sb_printf(&b, "%s.project_id OPERATOR(pg_catalog.=) ANY (SELECT p.id FROM btexport.projects p WHERE ", rel);
	for (i = 0; i < k->q->nids; i++)
	{
		char	   *pp = param(k, k->q->ids[i], "text");

		btx_btql_sb_printf(&b, "%sp.id::pg_catalog.text OPERATOR(pg_catalog.=) %s OR p.name OPERATOR(pg_catalog.=) %s", i ? " OR " : "", pp, pp);
	}
	btx_btql_sb_puts(&b, ")");
	r = btx_btql_sb_finish(&b);
	return r;
}

/* export mode: spans written in the run's window [$1, $2) of _xact_id */
static char *
window_pred(comp *k, const char *rel)
{
	return F("%s._xact_id OPERATOR(pg_catalog.>=) $1::pg_catalog.xid8 AND %s._xact_id OPERATOR(pg_catalog.<) $2::pg_catalog.xid8", rel, rel);
}

/* split the top-level AND terms of the filter into trace selection and FILTER_SPANS */
static void
split_filter(comp *k, btx_btql_node *n, btx_btql_vec *sel, btx_btql_vec *fs)
{
	btx_btql_node **slot;

	if (n == NULL)
		return;
	if (n->kind == E_BINOP && strcmp(n->op, "and") == 0)
	{
		split_filter(k, n->left, sel, fs);
		split_filter(k, n->right, sel, fs);
		return;
	}
	slot = btx_btql_vec_push(k->a, n->kind == E_FILTERSPANS ? fs : sel, sizeof(*slot));
	if (slot)
		*slot = n->kind == E_FILTERSPANS ? n->left : n;
}

static char *
and_terms(comp *k, btx_btql_node **ts, int n, scope *s)
{
	btx_btql_sb		b;
	char	   *r;
	int			i;

	btx_btql_sb_init(&b, k->a);
	for (i = 0; i < n; i++)
	{
		val			v = cx_as(k, ts[i], s, T_BOOL);

		btx_btql_sb_printf(&b, "%s%s", i ? " AND " : "", v.s);
	}
	r = b.len ? btx_btql_sb_finish(&b) : "true";
	return r;
}

/*
 * The summary shape: one row per selected trace, from its spans (where):
 * metrics summed over the spans, scores averaged per key, the rest from the
 * root span (the earliest root span when there are several), previews
 * truncated to preview_length.
 */
static char *
summary_relation(comp *k, const char *where)
{
	const char *N_fmt = "CASE WHEN pg_catalog.jsonb_typeof(l.metrics OPERATOR(pg_catalog.->) '%s') OPERATOR(pg_catalog.=) 'number' THEN (l.metrics OPERATOR(pg_catalog.->) '%s')::pg_catalog.numeric END";
	char	   *pt = F(N_fmt, "prompt_tokens", "prompt_tokens");
	char	   *ct = F(N_fmt, "completion_tokens", "completion_tokens");
	char	   *ec = F(N_fmt, "estimated_cost", "estimated_cost");
	char	   *co = F(N_fmt, "cost", "cost");
	char	   *st = F(N_fmt, "start", "start");
	char	   *en = F(N_fmt, "end", "end");
	char	   *pv_in = "r.input",
			   *pv_out = "r.output",
			   *pv_md = "r.metadata",
			   *pv_ex = "r.expected",
			   *pv_er = "r.error";

	if (k->q->preview_length >= 0)
	{
		char	   *len = param(k, F("%d", k->q->preview_length), "int4");
		const char *fmt = "CASE WHEN pg_catalog.jsonb_typeof(%s) OPERATOR(pg_catalog.=) 'string' AND pg_catalog.char_length(%s OPERATOR(pg_catalog.#>>) '{}') OPERATOR(pg_catalog.>) %s THEN pg_catalog.to_jsonb(pg_catalog.left(%s OPERATOR(pg_catalog.#>>) '{}', %s)) WHEN pg_catalog.jsonb_typeof(%s) OPERATOR(pg_catalog.=) ANY (ARRAY['object', 'array']) AND pg_catalog.char_length((%s)::pg_catalog.text) OPERATOR(pg_catalog.>) %s THEN pg_catalog.to_jsonb(pg_catalog.left((%s)::pg_catalog.text, %s)) ELSE %s END";

#define PV(x) F(fmt, x, x, len, x, len, x, x, len, x, len, x)
		pv_in = PV("r.input");
		pv_out = PV("r.output");
		pv_md = PV("r.metadata");
		pv_ex = PV("r.expected");
		pv_er = PV("r.error");
#undef PV
	}
	return F("(SELECT g.id, g.project_id, coalesce(r.created, g.min_created) AS created, %s AS metadata, %s AS input, "
			 "%s AS output, r.tags, g.scores, g.metrics, g.span_count, g._xact_id, r.span_id, r.org_id::pg_catalog.text AS org_id, "
			 "r.log_id, %s AS expected, %s AS error, r.span_attributes "
			 "FROM (SELECT l.project_id AS pid, l.root_span_id AS id, l.project_id::pg_catalog.text AS project_id, "
			 "pg_catalog.min(l.created) AS min_created, "
			 "(SELECT pg_catalog.jsonb_object_agg(sc.k, sc.a) FROM (SELECT e.key AS k, pg_catalog.avg(btexport._json_float8(e.value)) AS a "
			 "FROM pg_catalog.unnest(pg_catalog.array_agg(l.scores)) AS u(j), pg_catalog.jsonb_each(CASE WHEN pg_catalog.jsonb_typeof(u.j) OPERATOR(pg_catalog.=) 'object' THEN u.j END) AS e "
			 "WHERE pg_catalog.jsonb_typeof(e.value) OPERATOR(pg_catalog.=) 'number' GROUP BY e.key) sc) AS scores, "
			 "pg_catalog.jsonb_build_object('prompt_tokens', coalesce(pg_catalog.sum(%s), 0), 'completion_tokens', coalesce(pg_catalog.sum(%s), 0), "
			 "'total_tokens', coalesce(pg_catalog.sum(%s), 0) OPERATOR(pg_catalog.+) coalesce(pg_catalog.sum(%s), 0), "
			 /* a span's cost: the reported cost, else the estimate (the traces export's rule) */
			 "'total_cost', coalesce(pg_catalog.sum(coalesce(%s, %s)), 0), "
			 "'llm_calls', pg_catalog.count(*) FILTER (WHERE l.span_attributes OPERATOR(pg_catalog.->>) 'type' OPERATOR(pg_catalog.=) 'llm'), "
			 "'tool_calls', pg_catalog.count(*) FILTER (WHERE l.span_attributes OPERATOR(pg_catalog.->>) 'type' OPERATOR(pg_catalog.=) 'tool'), "
			 "'errors', pg_catalog.count(*) FILTER (WHERE l.error IS NOT NULL AND l.error OPERATOR(pg_catalog.<>) 'null'::pg_catalog.jsonb), "
			 "'start', pg_catalog.min(%s), 'end', pg_catalog.max(%s), 'duration', pg_catalog.max(%s) OPERATOR(pg_catalog.-) pg_catalog.min(%s)) AS metrics, "
			 "pg_catalog.count(*)::pg_catalog.int8 AS span_count, pg_catalog.max(l._xact_id::pg_catalog.text::pg_catalog.int8) AS _xact_id "
			 "FROM btexport.logs l WHERE %s GROUP BY l.project_id, l.root_span_id) g "
			 "LEFT JOIN LATERAL (SELECT r0.* FROM btexport.logs r0 WHERE r0.project_id OPERATOR(pg_catalog.=) g.pid AND r0.root_span_id OPERATOR(pg_catalog.=) g.id "
			 "AND r0.is_root ORDER BY r0.created, r0.id LIMIT 1) r ON true) t",
			 pv_md, pv_in, pv_out, pv_ex, pv_er, pt, ct, pt, ct, co, ec, st, en, en, st, where);
}

/* the user-visible name of a column: alias, last path segment, field, else the text */
static char *
output_name(comp *k, outcol *oc)
{
	btx_btql_node *e = oc->expr;

	if (oc->alias)
		return oc->alias;
	if ((e->kind == E_PATH || e->kind == E_QSTRING) && e->nsegs == 1)
		return e->segs[0].name;
	if (oc->implicit)
		return oc->implicit;
	return src_text(k, e);
}

/*
 * The output columns: the select list, or dimensions then measures; their
 * implicit aliases (last path segment) and names, with duplicate aliases
 * rejected and colliding implicit names falling back to the full path.
 */
static int
build_columns(comp *k)
{
	btx_btql_ast *q = k->q;
	int			i,
				j;

	if (q->has_select && q->has_measures)
	{
		err_at(k, q->measures[0].expr, "42601", NULL,
			   "Put aggregates in select: and name the grouping items with dimensions: 1, 2, or drop select: and use dimensions: with measures:.",
			   "select: cannot be combined with measures:");
		return -1;
	}
	if (!q->has_select && !q->has_dims && !q->has_measures)
	{
		k->cols = NULL;
		k->ncols = 0;
		q->star = 1;
		return 0;
	}
	if (q->has_select)
	{
		k->ncols = q->nselect;
		k->cols = btx_btql_alloc(k->a, sizeof(outcol) * (q->nselect + 1));
		if (k->cols == NULL)
			return -1;
		for (i = 0; i < q->nselect; i++)
		{
			k->cols[i].expr = q->select[i].expr;
			k->cols[i].alias = q->select[i].alias;
		}
	}
	else
	{
		/* classic aggregate form: dimensions then measures */
		k->ncols = q->ndims + q->nmeasures;
		k->cols = btx_btql_alloc(k->a, sizeof(outcol) * (k->ncols + 1));
		if (k->cols == NULL)
			return -1;
		for (i = 0; i < q->ndims; i++)
		{
			if (q->dims[i].position)
			{
				err_at(k, q->dims[i].expr, "42601", NULL, "Positions in dimensions: refer to items of select:.",
					   "dimensions: uses positions but there is no select: clause");
				return -1;
			}
			k->cols[i].expr = q->dims[i].expr;
			k->cols[i].alias = q->dims[i].alias;
		}
		for (i = 0; i < q->nmeasures; i++)
		{
			if (!contains_agg(q->measures[i].expr))
			{
				err_at(k, q->measures[i].expr, "42803", NULL,
					   "Measures are aggregates such as count(1), sum(x) or avg(x); put plain expressions in dimensions:.",
					   "measure \"%s\" is not an aggregate", src_text(k, q->measures[i].expr));
				return -1;
			}
			k->cols[q->ndims + i].expr = q->measures[i].expr;
			k->cols[q->ndims + i].alias = q->measures[i].alias;
		}
	}
	for (i = 0; i < k->ncols; i++)
	{
		btx_btql_node *e = k->cols[i].expr;

		k->cols[i].is_agg = contains_agg(e);
		if ((e->kind == E_PATH) && e->nsegs > 1 && e->segs[e->nsegs - 1].name)
			k->cols[i].implicit = e->segs[e->nsegs - 1].name;
		k->cols[i].name = output_name(k, &k->cols[i]);
	}
	/* duplicate explicit aliases */
	for (i = 0; i < k->ncols; i++)
		for (j = 0; j < k->ncols; j++)
			if (i != j && k->cols[i].alias && strcmp(k->cols[i].alias, k->cols[j].name) == 0 &&
				(k->cols[j].alias || j < i || !k->cols[j].implicit))
			{
				int			at = j > i ? j : i;

				err_at(k, k->cols[at].expr, "42701", NULL, "Give every column a distinct alias.",
					   "duplicate column name \"%s\"", k->cols[i].alias);
				return -1;
			}
	/* implicit names that collide with another output name fall back to the full path */
	{
		char	  **orig = btx_btql_alloc(k->a, sizeof(char *) * (k->ncols + 1));

		if (orig == NULL)
			return -1;
		for (i = 0; i < k->ncols; i++)
			orig[i] = k->cols[i].name;
		for (i = 0; i < k->ncols; i++)
			if (!k->cols[i].alias && k->cols[i].implicit)
				for (j = 0; j < k->ncols; j++)
					if (i != j && strcmp(k->cols[i].implicit, orig[j]) == 0)
					{
						k->cols[i].name = src_text(k, k->cols[i].expr);
						break;
					}
	}
	return 0;
}

/*
 * Grouping: whether the query is grouped, the GROUP BY items resolved
 * (positions, aliases, expressions), and every non-aggregate select item
 * checked against them.
 */
static int
build_groups(comp *k, scope *s)
{
	btx_btql_ast *q = k->q;
	int			i;

	k->grouped = q->has_dims || q->has_measures || q->having != NULL;
	for (i = 0; i < k->ncols; i++)
		if (k->cols[i].is_agg)
			k->grouped = 1;
	if (!k->grouped)
		return 0;
	if (q->star)
	{
		err_at(k, q->having ? q->having : q->from_at, "42803", NULL, "List the grouping expressions and aggregates instead of *.",
			   "select * cannot be used in an aggregate query");
		return -1;
	}
	k->groups = btx_btql_alloc(k->a, sizeof(btx_btql_node *) * (q->ndims + 1));
	k->group_pos = btx_btql_alloc(k->a, sizeof(int) * (q->ndims + 1));
	if (k->groups == NULL || k->group_pos == NULL)
		return -1;
	if (!q->has_select)
	{
		for (i = 0; i < q->ndims; i++)
		{
			k->groups[i] = k->cols[i].expr;
			k->group_pos[i] = i + 1;
		}
		k->ngroups = q->ndims;
	}
	else
	{
		for (i = 0; i < q->ndims; i++)
		{
			btx_btql_item *it = &q->dims[i];
			int			ai,
						j;

			k->group_pos[i] = 0;
			if (it->position)
			{
				if (it->position > k->ncols)
				{
					err_at(k, it->expr, "22023", NULL, F("The select list has %d item%s.", k->ncols, k->ncols == 1 ? "" : "s"),
						   "GROUP BY position %d is not in the select list", it->position);
					return -1;
				}
				k->group_pos[i] = it->position;
				k->groups[i] = k->cols[it->position - 1].expr;
			}
			else if ((ai = alias_ref(k, it->expr, s)) >= 0)
			{
				k->group_pos[i] = ai + 1;
				k->groups[i] = k->cols[ai].expr;
			}
			else
			{
				int			amb;

				if ((it->expr->kind == E_PATH) && it->expr->nsegs == 1 && !row_field(s, it->expr->segs[0].name))
				{
					find_alias(k, it->expr->segs[0].name, it->expr, &amb);
					if (amb)
					{
						err_at(k, it->expr, "42702", NULL, "Use the full path, or give the columns distinct aliases.",
							   "name \"%s\" is ambiguous", it->expr->segs[0].name);
						return -1;
					}
				}
				k->groups[i] = it->expr;
				for (j = 0; j < k->ncols; j++)
					if (node_eq(k->cols[j].expr, it->expr))
					{
						k->group_pos[i] = j + 1;
						break;
					}
			}
			if (contains_agg(k->groups[i]))
			{
				err_at(k, it->expr, "42803", NULL, "Group by plain expressions; aggregates go in the select list.",
					   "aggregate functions are not allowed in GROUP BY");
				return -1;
			}
		}
		k->ngroups = q->ndims;
	}
	for (i = 0; i < k->ncols; i++)
		if (check_grouped(k, k->cols[i].expr, s) != 0)
			return -1;
	return 0;
}

/* ORDER BY key: an output column when it names one, else an expression */
static char *
sort_key(comp *k, btx_btql_item *it, scope *s)
{
	int			i,
				ai;

	if (it->position)
	{
		if (it->position > k->ncols || k->q->star)
		{
			err_at(k, it->expr, "22023", NULL, "Positions count select items from 1.",
				   "ORDER BY position %d is not in the select list", it->position);
			return "1";
		}
		return F("c%d", it->position);
	}
	if ((ai = alias_ref(k, it->expr, s)) >= 0)
		return F("c%d", ai + 1);
	for (i = 0; i < k->ncols; i++)
		if (node_eq(k->cols[i].expr, it->expr))
			return F("c%d", i + 1);
	if (k->grouped && check_grouped(k, it->expr, s) != 0)
		return "1";
	return cx(k, it->expr, s).s;
}

typedef struct colinfo
{
	char	   *name;
	vtype		t;
} colinfo;

/*
 * The statement under construction: compile_query fills it clause by clause
 * (FROM and WHERE, UNPIVOT joins, select list, GROUP BY and HAVING, then
 * ORDER BY and LIMIT, or the PIVOT wrapper) and hands it over.
 */
typedef struct stmt
{
	scope		row;			/* select list, grouping, sort */
	scope		filt;			/* filter / WHERE */
	const char *rel;			/* the row's relation: l (spans), t (summary) */
	int			exp;			/* export mode */
	btx_btql_sb sel,
				from,
				where,
				tail;			/* GROUP BY, HAVING, ORDER BY, LIMIT */
	colinfo    *ci;				/* output columns */
	int			nci;
	int			xact_col;
	int			pivot_col;
	char	   *sql;
} stmt;

/* the scopes of the row and of the filter, per shape, and empty clauses */
static void
stmt_init(comp *k, stmt *st)
{
	btx_btql_ast *q = k->q;

	memset(st, 0, sizeof(*st));
	st->rel = q->shape == BTX_BTQL_SUMMARY ? "t" : "l";
	st->exp = k->opt->export_cursor;
	st->xact_col = -1;
	st->pivot_col = -1;
	st->row.rel = st->rel;
	st->row.summary = q->shape == BTX_BTQL_SUMMARY;
	st->row.unpivot = 1;
	st->row.agg = 1;
	st->row.spans_shape = q->shape == BTX_BTQL_SPANS;
	/* the filter reads spans, whatever the shape (summary: of the selected traces) */
	st->filt = st->row;
	st->filt.summary = 0;
	st->filt.rel = q->shape == BTX_BTQL_SPANS ? "l" : "s";
	st->filt.filter = 1;
	st->filt.agg = 0;
	st->filt.unpivot = 0;
	st->filt.aliases = q->shape != BTX_BTQL_SUMMARY;
	btx_btql_sb_init(&st->sel, k->a);
	btx_btql_sb_init(&st->from, k->a);
	btx_btql_sb_init(&st->where, k->a);
	btx_btql_sb_init(&st->tail, k->a);
}

/*
 * The span predicate of the traces and summary shapes: the project, then
 * the traces with a span matching the filter's selection terms, in export
 * mode the traces with a span written in the window, and the FILTER_SPANS
 * terms, which apply to the spans themselves.
 */
static char *
trace_predicate(comp *k, stmt *st)
{
	btx_btql_vec seln = {0},
				fsn = {0};
	char	   *w = projects_pred(k, "l");

	split_filter(k, k->q->filter, &seln, &fsn);
	if (seln.n)
		w = F("%s AND (l.project_id, l.root_span_id) OPERATOR(pg_catalog.=) ANY (SELECT s.project_id, s.root_span_id FROM btexport.logs s WHERE %s AND %s)",
			  w, projects_pred(k, "s"), and_terms(k, seln.data, seln.n, &st->filt));
	if (st->exp)
		w = F("%s AND (l.project_id, l.root_span_id) OPERATOR(pg_catalog.=) ANY (SELECT w.project_id, w.root_span_id FROM btexport.logs w WHERE %s AND %s)",
			  w, projects_pred(k, "w"), window_pred(k, "w"));
	if (fsn.n)
	{
		scope		fs = st->filt;

		fs.rel = "l";
		w = F("%s AND %s", w, and_terms(k, fsn.data, fsn.n, &fs));
	}
	return w;
}

/* FROM and WHERE: spans of the projects (and window), filtered, per shape */
static int
build_source(comp *k, stmt *st)
{
	btx_btql_ast *q = k->q;

	if (q->shape == BTX_BTQL_SUMMARY)
		btx_btql_sb_puts(&st->from, summary_relation(k, trace_predicate(k, st)));
	else if (q->shape == BTX_BTQL_TRACES)
	{
		btx_btql_sb_puts(&st->from, "btexport.logs l");
		btx_btql_sb_puts(&st->where, trace_predicate(k, st));
	}
	else
	{
		btx_btql_sb_puts(&st->from, "btexport.logs l");
		btx_btql_sb_puts(&st->where, projects_pred(k, "l"));
		if (st->exp)
			btx_btql_sb_printf(&st->where, " AND %s", window_pred(k, "l"));
		if (q->filter)
			btx_btql_sb_printf(&st->where, " AND %s", cx_as(k, q->filter, &st->filt, T_BOOL).s);
	}
	return failed(k) ? -1 : 0;
}

/* one UNPIVOT: a lateral join u<i> with columns k (key) and v (value) */
static int
build_unpivot(comp *k, stmt *st, btx_btql_unpivot *u, upv *p, int i)
{
	scope		us = st->row;
	int			is_key;
	val			src;

	us.agg = 0;
	if (row_field(&st->row, u->value_name) || (u->key_name && row_field(&st->row, u->key_name)))
	{
		err_at(k, u->at, "42701", NULL, "Choose unpivot column names that are not field names.",
			   "unpivot column \"%s\" has the name of a field",
			   row_field(&st->row, u->value_name) ? u->value_name : u->key_name);
		return -1;
	}
	if (find_upv(k, &us, u->value_name, &is_key) || (u->key_name && find_upv(k, &us, u->key_name, &is_key)) ||
		(u->key_name && strcmp(u->key_name, u->value_name) == 0))
	{
		err_at(k, u->at, "42701", NULL, "Give every unpivot column a distinct name.",
			   "duplicate unpivot column name");
		return -1;
	}
	src = cx(k, u->src, &us);
	if (failed(k))
		return -1;
	p->rel = F("u%d", i + 1);
	p->key_name = u->key_name;
	p->value_name = u->value_name;
	if (u->key_name)
	{
		if (src.t != T_JSON)
		{
			err_at(k, u->src, "22023", NULL, "Unpivot an object such as scores into (key, value), or an array such as tags into (item).",
				   "unpivot into (key, value) needs an object, not a %s", type_desc[src.t]);
			return -1;
		}
		p->vt = T_JSON;
		btx_btql_sb_printf(&st->from, " CROSS JOIN LATERAL pg_catalog.jsonb_each(CASE WHEN %s THEN %s END) AS %s(k, v)",
						   json_type_is(k, src.s, "object"), src.s, p->rel);
	}
	else if (src.t == T_TEXTARR)
	{
		p->vt = T_TEXT;
		btx_btql_sb_printf(&st->from, " CROSS JOIN LATERAL pg_catalog.unnest(%s) AS %s(v)", src.s, p->rel);
	}
	else if (src.t == T_JSON)
	{
		p->vt = T_JSON;
		btx_btql_sb_printf(&st->from, " CROSS JOIN LATERAL pg_catalog.jsonb_array_elements(CASE WHEN %s THEN %s END) AS %s(v)",
						   json_type_is(k, src.s, "array"), src.s, p->rel);
	}
	else
	{
		err_at(k, u->src, "22023", NULL, "Unpivot an array such as tags into (item), or an object such as scores into (key, value).",
			   "unpivot into (item) needs an array, not a %s", type_desc[src.t]);
		return -1;
	}
	return 0;
}

/* UNPIVOT: the joins, in order; later ones may unpivot earlier columns */
static int
build_unpivots(comp *k, stmt *st)
{
	btx_btql_ast *q = k->q;
	int			i;

	if (q->nunpivot == 0)
		return 0;
	if ((k->upvs = btx_btql_alloc(k->a, sizeof(upv) * q->nunpivot)) == NULL)
		return -1;
	for (i = 0; i < q->nunpivot; i++)
	{
		if (build_unpivot(k, st, &q->unpivot[i], &k->upvs[i], i) != 0)
			return -1;
		k->nupvs++;
	}
	return 0;
}

/* one output column cN of the select list */
static void
add_column(stmt *st, const char *sql, char *name, vtype t)
{
	btx_btql_sb_printf(&st->sel, "%s%s AS c%d", st->nci ? ", " : "", sql, st->nci + 1);
	st->ci[st->nci].name = name;
	st->ci[st->nci].t = t;
	st->nci++;
}

/* select *: the shape's columns, then the unpivot columns */
static void
build_star(comp *k, stmt *st)
{
	const field *tab = st->row.summary ? summary_fields : span_fields;
	int			nstar = st->row.summary ? NSUMMARY_STAR : 22,
				i;

	for (i = 0; i < nstar; i++)
	{
		if (strcmp(tab[i].name, "_xact_id") == 0)
			st->xact_col = st->nci;
		add_column(st, F(tab[i].sql, st->rel), (char *) tab[i].name, tab[i].t);
	}
	for (i = 0; i < k->nupvs; i++)
	{
		upv		   *u = &k->upvs[i];

		if (u->key_name)
			add_column(st, F("%s.k", u->rel), u->key_name, T_TEXT);
		add_column(st, u->vt == T_JSON ? json_null_to_sql(k, F("%s.v", u->rel)) : F("%s.v", u->rel), u->value_name, u->vt);
	}
}

/* the select list; in export mode a _xact_id column if it has none */
static int
build_select(comp *k, stmt *st)
{
	btx_btql_ast *q = k->q;
	int			i;

	/* select *: 22 columns, 2 per unpivot; else the items; and _xact_id */
	st->ci = btx_btql_alloc(k->a, sizeof(colinfo) * (k->ncols + 22 + 2 * k->nupvs + 2));
	if (st->ci == NULL)
		return -1;
	if (q->star)
		build_star(k, st);
	else
		for (i = 0; i < k->ncols; i++)
		{
			val			v = cx(k, k->cols[i].expr, &st->row);

			if (failed(k))
				return -1;
			if (v.t == T_NULL)
				v = mkval("NULL::pg_catalog.text", T_TEXT);
			if (strcmp(k->cols[i].name, "_xact_id") == 0 && v.t == T_INT)
				st->xact_col = st->nci;
			add_column(st, v.s, k->cols[i].name, v.t);
		}
	if (st->exp && st->xact_col < 0 && !q->npivot)
	{
		const field *f = row_field(&st->row, "_xact_id");

		st->xact_col = st->nci;
		add_column(st, k->grouped ? F("pg_catalog.max(%s)", F(f->sql, st->rel)) : F(f->sql, st->rel), "_xact_id", T_INT);
	}
	return failed(k) ? -1 : 0;
}

/* GROUP BY (positions where the item is in the select list) and HAVING */
static int
build_grouping(comp *k, stmt *st)
{
	btx_btql_ast *q = k->q;
	int			i;

	if (k->grouped && k->ngroups)
	{
		scope		gs = st->row;

		gs.agg = 0;
		btx_btql_sb_puts(&st->tail, " GROUP BY ");
		for (i = 0; i < k->ngroups; i++)
		{
			if (k->group_pos[i])
				btx_btql_sb_printf(&st->tail, "%s%d", i ? ", " : "", k->group_pos[i]);
			else
				btx_btql_sb_printf(&st->tail, "%s%s", i ? ", " : "", cx(k, k->groups[i], &gs).s);
		}
	}
	if (q->having)
	{
		scope		hs = st->row;

		hs.aliases = 1;
		if (check_grouped(k, q->having, &hs) != 0)
			return -1;
		btx_btql_sb_printf(&st->tail, " HAVING %s", cx_as(k, q->having, &hs, T_BOOL).s);
	}
	return failed(k) ? -1 : 0;
}

/* ORDER BY and LIMIT, then the statement */
static int
build_plain(comp *k, stmt *st)
{
	btx_btql_ast *q = k->q;
	scope		ss = st->row;
	int			i;

	ss.aliases = 1;
	for (i = 0; i < q->nsort; i++)
	{
		char	   *key = sort_key(k, &q->sort[i], &ss);

		btx_btql_sb_printf(&st->tail, "%s%s%s", i ? ", " : " ORDER BY ", key, q->sort[i].desc ? " DESC" : " ASC");
	}
	if (q->has_limit)
		btx_btql_sb_printf(&st->tail, " LIMIT %s", param(k, F("%lld", (long long) q->limit), "int8"));
	st->sql = F("SELECT %s FROM %s%s%s%s", btx_btql_sb_finish(&st->sel), btx_btql_sb_finish(&st->from),
				st->where.len ? " WHERE " : "", btx_btql_sb_finish(&st->where), btx_btql_sb_finish(&st->tail));
	return failed(k) || st->sql == NULL ? -1 : 0;
}

/* the pivot column: a grouping column of the select list, -1 after an error */
static int
pivot_column(comp *k, stmt *st)
{
	btx_btql_ast *q = k->q;
	int			pc = -1,
				i;

	if (q->pivot_col)
	{
		int			ai = alias_ref(k, q->pivot_col, &st->row);

		if (ai >= 0)
			pc = ai;
		else
			for (i = 0; i < k->ncols; i++)
				if (node_eq(k->cols[i].expr, q->pivot_col))
					pc = i;
	}
	else if (q->ndims > 0)
		pc = k->group_pos[q->ndims - 1] - 1;
	if (pc < 0 || k->cols[pc].is_agg)
	{
		err_at(k, q->pivot_col ? q->pivot_col : q->pivot_at, "42803", NULL,
			   "Pivot on a grouping column that is in the select list.",
			   "the pivot column must be a grouping column of the select list");
		return -1;
	}
	return pc;
}

/* is_measure[i] = 1 + the PIVOT item that select item i is, or 0 */
static int *
pivot_measures(comp *k)
{
	btx_btql_ast *q = k->q;
	int		   *is_measure = btx_btql_alloc(k->a, sizeof(int) * (k->ncols + 1));
	int			m,
				i;

	if (is_measure == NULL)
		return NULL;
	for (m = 0; m < q->npivot; m++)
	{
		int			hit = -1;

		if (!q->pivot[m].alias)
		{
			err_at(k, q->pivot[m].expr, "42601", NULL, "Write PIVOT(avg(x) AS name FOR column IN (ANY)).",
				   "a pivoted aggregate needs an alias");
			return NULL;
		}
		for (i = 0; i < k->ncols; i++)
			if (k->cols[i].is_agg && strcmp(k->cols[i].name, q->pivot[m].alias) == 0)
				hit = i;
		if (hit < 0 && q->pivot[m].expr && q->syntax == BTX_BTQL_SYNTAX_SQL)
			for (i = 0; i < k->ncols; i++)
				if (k->cols[i].is_agg && node_eq(k->cols[i].expr, q->pivot[m].expr))
					hit = i;
		if (hit < 0)
		{
			err_at(k, q->pivot[m].expr, "42703", NULL, "Pivot aggregates must also be in the select list (measures:).",
				   "pivot measure \"%s\" is not in the select list", q->pivot[m].alias);
			return NULL;
		}
		is_measure[hit] = m + 1;
	}
	return is_measure;
}

/* ORDER BY of a pivoted query: only its row keys, by their outer position */
static char *
pivot_order(comp *k, stmt *st, int pc, const int *is_measure)
{
	btx_btql_ast *q = k->q;
	btx_btql_sb ord;
	int			i;

	btx_btql_sb_init(&ord, k->a);
	for (i = 0; i < q->nsort; i++)
	{
		btx_btql_item *it = &q->sort[i];
		int			col = -1,
					j,
					o = 0;

		if (it->position)
			col = it->position - 1;
		else if ((col = alias_ref(k, it->expr, &st->row)) < 0)
			for (j = 0; j < k->ncols; j++)
				if (node_eq(k->cols[j].expr, it->expr))
					col = j;
		if (col < 0 || col >= k->ncols || col == pc || is_measure[col])
		{
			err_at(k, it->expr, "0A000", NULL, "Sort a pivoted query by its row keys.",
				   "sorting a pivoted query by \"%s\" is not supported", src_text(k, it->expr));
			return NULL;
		}
		for (j = 0; j < col; j++)
			if (j != pc && !is_measure[j])
				o++;
		btx_btql_sb_printf(&ord, "%sc%d%s", i ? ", " : " ORDER BY ", o + 1, it->desc ? " DESC" : " ASC");
	}
	if (q->has_limit)
		btx_btql_sb_printf(&ord, " LIMIT %s", param(k, F("%lld", (long long) q->limit), "int8"));
	return btx_btql_sb_finish(&ord);
}

/*
 * PIVOT: the grouped query becomes g; the outer query groups g by the other
 * row keys and folds each measure into one JSON column _pivot of cells
 * {"<pivot value>_<measure alias>": value} (the caller merges its keys).
 */
static int
build_pivot(comp *k, stmt *st)
{
	btx_btql_ast *q = k->q;
	int			pc,
			   *is_measure,
				noci = 0,
				i;
	btx_btql_sb outer,
				okeys,
				agg;
	colinfo    *oci;
	char	   *pvtext,
			   *ord;

	if (st->exp)
	{
		err_at(k, q->pivot_at, "0A000", NULL, "Export the unpivoted rows and pivot downstream.",
			   "PIVOT is not supported in exports");
		return -1;
	}
	if (!k->grouped || q->star)
	{
		err_at(k, q->pivot_at, "42803", NULL, "PIVOT needs an aggregate query with GROUP BY (dimensions:).",
			   "PIVOT needs an aggregate query");
		return -1;
	}
	if ((pc = pivot_column(k, st)) < 0 || (is_measure = pivot_measures(k)) == NULL)
		return -1;
	btx_btql_sb_init(&outer, k->a);
	btx_btql_sb_init(&okeys, k->a);
	btx_btql_sb_init(&agg, k->a);
	if ((oci = btx_btql_alloc(k->a, sizeof(colinfo) * (k->ncols + 2))) == NULL)
		return -1;
	switch (st->ci[pc].t)
	{
		case T_JSON:
			pvtext = F("(g.c%d OPERATOR(pg_catalog.#>>) '{}')", pc + 1);
			break;
		case T_TS:
			pvtext = ts_text(k, F("g.c%d", pc + 1));
			break;
		default:
			pvtext = F("(g.c%d)::pg_catalog.text", pc + 1);
	}
	for (i = 0; i < k->ncols; i++)
	{
		if (i == pc || is_measure[i])
			continue;
		if (k->cols[i].is_agg)
		{
			err_at(k, k->cols[i].expr, "42803", NULL, "List every aggregate of the select list in PIVOT (pivot:).",
				   "aggregate \"%s\" is not pivoted", k->cols[i].name);
			return -1;
		}
		btx_btql_sb_printf(&outer, "%sg.c%d AS c%d", noci ? ", " : "", i + 1, noci + 1);
		btx_btql_sb_printf(&okeys, "%sg.c%d", noci ? ", " : "", i + 1);
		oci[noci++] = st->ci[i];
	}
	for (i = 0; i < k->ncols; i++)
		if (is_measure[i])
			btx_btql_sb_printf(&agg, "%spg_catalog.jsonb_object_agg(coalesce(%s, 'null') OPERATOR(pg_catalog.||) %s, pg_catalog.to_jsonb(g.c%d))",
							   agg.len ? " OPERATOR(pg_catalog.||) " : "", pvtext,
							   param(k, F("_%s", k->cols[i].name), "text"), i + 1);
	btx_btql_sb_printf(&outer, "%s%s AS c%d", noci ? ", " : "", btx_btql_sb_finish(&agg), noci + 1);
	oci[noci].name = "_pivot";
	oci[noci].t = T_JSON;
	if ((ord = pivot_order(k, st, pc, is_measure)) == NULL)
		return -1;
	st->sql = F("SELECT %s FROM (SELECT %s FROM %s%s%s%s) g%s%s%s", btx_btql_sb_finish(&outer),
				btx_btql_sb_finish(&st->sel), btx_btql_sb_finish(&st->from), st->where.len ? " WHERE " : "",
				btx_btql_sb_finish(&st->where), btx_btql_sb_finish(&st->tail), okeys.len ? " GROUP BY " : "",
				btx_btql_sb_finish(&okeys), ord);
	st->ci = oci;
	st->pivot_col = noci;
	st->nci = noci + 1;
	st->xact_col = -1;
	return failed(k) || st->sql == NULL ? -1 : 0;
}

/* copy the statement out of the arena into the caller's malloc'd result */
static int
hand_over(comp *k, stmt *st, btx_btql_query *out)
{
	btx_btql_ast *q = k->q;
	int			i;

	out->sql = strdup(st->sql);
	out->first_param = k->first_param;
	out->nparams = k->nparams;
	out->params = calloc(k->nparams ? k->nparams : 1, sizeof(btx_btql_param));
	out->ncolumns = st->nci;
	out->columns = calloc(st->nci ? st->nci : 1, sizeof(btx_btql_column));
	out->nprojects = q->nids;
	out->projects = calloc(q->nids ? q->nids : 1, sizeof(char *));
	if (out->sql == NULL || out->params == NULL || out->columns == NULL || out->projects == NULL)
		return -1;
	for (i = 0; i < k->nparams; i++)
	{
		out->params[i].type = k->params[i].type;
		if ((out->params[i].value = strdup(k->params[i].value)) == NULL)
			return -1;
	}
	for (i = 0; i < st->nci; i++)
	{
		out->columns[i].type = type_sql[st->ci[i].t];
		if ((out->columns[i].name = strdup(st->ci[i].name)) == NULL)
			return -1;
	}
	for (i = 0; i < q->nids; i++)
		if ((out->projects[i] = strdup(q->ids[i])) == NULL)
			return -1;
	if (q->cursor && (out->cursor = strdup(q->cursor)) == NULL)
		return -1;
	out->xact_column = st->xact_col;
	out->pivot_column = st->pivot_col;
	out->shape = q->shape;
	out->syntax = q->syntax;
	out->grouped = k->grouped;
	out->has_sort = q->nsort > 0;
	out->has_limit = q->has_limit;
	out->limit = q->limit;
	return 0;
}

/*
 * The query model to one SELECT, in the order SQL needs the pieces: the
 * output columns first (aliases resolve against them), the source, UNPIVOT
 * joins, grouping, then the select list, GROUP BY/HAVING, and ORDER BY/LIMIT
 * or the PIVOT wrapper.
 */
static int
compile_query(comp *k, btx_btql_query *out)
{
	btx_btql_ast *q = k->q;
	stmt		st;

	if (!q->has_from)
	{
		err_at(k, NULL, "42601", "a from: clause", "Add from: project_logs('<project id or name>').",
			   "query has no from clause");
		return -1;
	}
	stmt_init(k, &st);
	if (build_columns(k) != 0 || build_source(k, &st) != 0)
		goto fail;
	if (!k->bounded && !st.exp)
		out->unbounded = 1;
	if (build_unpivots(k, &st) != 0 || build_groups(k, &st.row) != 0 || build_select(k, &st) != 0 ||
		build_grouping(k, &st) != 0)
		goto fail;
	if ((q->npivot ? build_pivot(k, &st) : build_plain(k, &st)) != 0)
		goto fail;
	if (hand_over(k, &st, out) != 0)
	{
		if (k->c->err->code == 0)
			btx_error_set(k->c->err, 2, "53200", "out of memory while compiling a btql query");
		return -1;
	}
	return 0;

fail:
	/* reports a failed arena at k->at; else every step above set its error */
	if (!failed(k))
		btx_error_set(k->c->err, 2, "53200", "out of memory while compiling a btql query");
	return -1;
}

void
btx_btql_query_free(btx_btql_query *q)
{
	int			i;

	if (q == NULL)
		return;
	free(q->sql);
	for (i = 0; q->params && i < q->nparams; i++)
		free(q->params[i].value);
	free(q->params);
	for (i = 0; q->columns && i < q->ncolumns; i++)
		free(q->columns[i].name);
	free(q->columns);
	for (i = 0; q->projects && i < q->nprojects; i++)
		free(q->projects[i]);
	free(q->projects);
	free(q->cursor);
	memset(q, 0, sizeof(*q));
	q->xact_column = -1;
	q->pivot_column = -1;
}

/*
 * The length limit comes before any other work: the rest of the compile is
 * linear in the text, so everything else is bounded through it.
 */
static int
check_length(btx_btql_ctx *c)
{
	size_t		len = strnlen(c->src, (size_t) c->lim.max_query_bytes + 1);

	if (len <= (size_t) c->lim.max_query_bytes)
		return 0;
	btx_btql_error_at(c, c->lim.max_query_bytes, "54000", NULL, "Shorten the query.",
					  "btql query is longer than %d bytes", c->lim.max_query_bytes);
	return -1;
}

/* see btql.h: length check, lex, parse, compile; the arena freed in all cases */
int
btx_btql_compile(const char *text, const btx_btql_options *opt, btx_btql_query *out, btx_error *err)
{
	btx_btql_ctx c;
	comp		k;
	btx_btql_options defopt;
	btx_btql_ast *q;
	int			rc = -1;

	memset(out, 0, sizeof(*out));
	out->xact_column = -1;
	out->pivot_column = -1;
	btx_error_clear(err);
	if (opt == NULL)
	{
		memset(&defopt, 0, sizeof(defopt));
		opt = &defopt;
	}
	btx_btql_ctx_init(&c, text, err, opt->limits);
	if (check_length(&c) == 0 && btx_btql_lex(&c) == 0 && (q = btx_btql_parse(&c, opt->syntax)) != NULL &&
		err->code == 0)
	{
		memset(&k, 0, sizeof(k));
		k.c = &c;
		k.a = &c.arena;
		k.q = q;
		k.opt = opt;
		k.first_param = opt->export_cursor ? 3 : 1;
		rc = compile_query(&k, out);
	}
	if (c.arena.failed && err->code == 0)
		btx_btql_error_alloc(&c, 0);
	if (rc != 0 || err->code != 0)
	{
		if (err->code == 0)
			btx_error_set(err, 2, "53200", "out of memory while compiling a btql query");
		btx_btql_query_free(out);
		rc = -1;
	}
	if (opt->stats)
	{
		opt->stats->tokens = c.ntoks;
		opt->stats->nodes = c.nnodes;
		opt->stats->memory = c.arena.used;
		opt->stats->sql_bytes = out->sql ? strlen(out->sql) : 0;
	}
	btx_btql_arena_free(&c.arena);
	return rc;
}
