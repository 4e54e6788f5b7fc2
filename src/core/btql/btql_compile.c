/*
 * btql_compile.c — lowers the BTQL query model to one PostgreSQL SELECT over
 * btexport.logs, with bind parameters and typed result columns.
 *
 * Safety: user text never reaches the SQL.  Literals, JSON keys, project ids
 * and names, aliases used as pivot keys all become parameters; identifiers
 * and SQL fragments come from the tables and string constants in this file.
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
static const char *const type_desc[] = {
	"null", "json", "string", "number", "integer", "boolean", "timestamp", "date", "interval", "string array"
};

typedef struct val
{
	char	   *s;
	vtype		t;
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
	{"org_id", "%s.org_id::text", T_TEXT},
	{"project_id", "%s.project_id::text", T_TEXT},
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
	{"_xact_id", "%s._xact_id::text::int8", T_INT},
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
} comp;

static val	cx(comp *k, btx_btql_node *n, scope *s);
static int	is_lit(comp *k, btx_btql_node *n, scope *s);
static val	cx_as(comp *k, btx_btql_node *n, scope *s, vtype t);
static char *coerce(comp *k, val v, vtype t, btx_btql_node *at);

#define F(...) btx_btql_printf(k->a, __VA_ARGS__)

static int
failed(comp *k)
{
	return k->c->err->code != 0 || k->a->oom;
}

static val
mkval(char *s, vtype t)
{
	val			v;

	v.s = s ? s : "NULL";
	v.t = t;
	return v;
}

static val
bad(void)
{
	return mkval("NULL", T_NULL);
}

static val
err_at(comp *k, btx_btql_node *n, const char *sqlstate, const char *expected, const char *hint,
	   const char *fmt,...) BTX_PRINTF(6, 7);

static val
err_at(comp *k, btx_btql_node *n, const char *sqlstate, const char *expected, const char *hint,
	   const char *fmt,...)
{
	char		msg[400];
	va_list		ap;

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

static char *
param(comp *k, const char *value, const char *type)
{
	int			i;

	for (i = 0; i < k->nparams; i++)
		if (strcmp(k->params[i].type, type) == 0 && strcmp(k->params[i].value, value) == 0)
			return F("$%d::%s", k->first_param + i, type);
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
	k->nparams++;
	return F("$%d::%s", k->first_param + k->nparams - 1, type);
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
		return mkval(t == T_NULL ? "NULL" : F("NULL::%s", type_sql[t]), t);
	if (n->kind == E_BOOL)
	{
		if (t == T_BOOL || t == T_NULL)
			return mkval(n->ival ? "true" : "false", T_BOOL);
		if (t == T_JSON)
			return mkval(n->ival ? "'true'::jsonb" : "'false'::jsonb", T_JSON);
		if (t == T_TEXT)
			return mkval(n->ival ? "'true'::text" : "'false'::text", T_TEXT);
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
				return mkval(F("to_jsonb(%s)", param(k, txt, "text")), T_JSON);
			return mkval(F("to_jsonb(%s)", param(k, txt, n->kind == E_INT ? "int8" : "float8")), T_JSON);
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
				return mkval(F("%s::date", param(k, txt, "timestamptz")), t);
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
	return F("to_char((%s) AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')", x);
}

static char *
coerce(comp *k, val v, vtype t, btx_btql_node *at)
{
	const char *x = v.s;

	if (v.t == t)
		return v.s;
	if (v.t == T_NULL)
		return F("NULL::%s", type_sql[t]);
	switch (t)
	{
		case T_JSON:
			if (v.t == T_TS)
				return F("to_jsonb(%s)", ts_text(k, x));
			return F("to_jsonb(%s)", x);
		case T_TEXT:
			if (v.t == T_JSON)
				return F("((%s) #>> '{}')", x);
			if (v.t == T_TS)
				return ts_text(k, x);
			if (v.t == T_TEXTARR)
				return F("(to_jsonb(%s)::text)", x);
			return F("(%s)::text", x);
		case T_NUM:
			if (v.t == T_INT)
				return F("(%s)::float8", x);
			if (v.t == T_JSON)
				return F("btexport._json_float8(%s)", x);
			if (v.t == T_TEXT)
				return F("(CASE WHEN (%s) ~ " RX_NUM " THEN (%s)::float8 END)", x, x);
			if (v.t == T_BOOL)
				return F("((%s)::int)::float8", x);
			break;
		case T_INT:
			if (v.t == T_NUM)
				return F("(CASE WHEN abs(%s) < 9.2e18 THEN trunc(%s)::int8 END)", x, x);
			if (v.t == T_JSON)
				return F("(CASE WHEN jsonb_typeof(%s) = 'number' AND abs((%s)::numeric) < 9.2e18 THEN trunc((%s)::numeric)::int8 END)", x, x, x);
			if (v.t == T_TEXT)
				return F("(CASE WHEN (%s) ~ " RX_INT " THEN trunc((%s)::numeric)::int8 END)", x, x);
			if (v.t == T_BOOL)
				return F("((%s)::int)::int8", x);
			break;
		case T_BOOL:
			if (v.t == T_JSON)
				return F("(CASE WHEN jsonb_typeof(%s) = 'boolean' THEN (%s)::bool END)", x, x);
			if (v.t == T_TEXT)
				return F("(CASE lower(%s) WHEN 'true' THEN true WHEN 'false' THEN false END)", x);
			if (v.t == T_INT || v.t == T_NUM)
				return F("((%s) <> 0)", x);
			break;
		case T_TS:
			if (v.t == T_DATE)
				return F("((%s)::timestamp AT TIME ZONE %s)", x, tz(k));
			if (v.t == T_TEXT)
				return F("(CASE WHEN (%s) ~ " RX_TS " THEN (%s)::timestamptz END)", x, x);
			if (v.t == T_JSON)
				return coerce(k, mkval(coerce(k, v, T_TEXT, at), T_TEXT), T_TS, at);
			break;
		case T_DATE:
			if (v.t == T_TS)
				return F("((%s) AT TIME ZONE %s)::date", x, tz(k));
			if (v.t == T_TEXT || v.t == T_JSON)
				return F("(%s)::date", coerce(k, v, T_TS, at));
			break;
		case T_INTERVAL:
			if (v.t == T_TEXT)
				return F("(CASE WHEN (%s) ~* " RX_INTERVAL " THEN (%s)::interval END)", x, x);
			if (v.t == T_JSON)
				return coerce(k, mkval(coerce(k, v, T_TEXT, at), T_TEXT), T_INTERVAL, at);
			if (v.t == T_NUM || v.t == T_INT)
				return F("make_interval(secs => (%s)::float8)", x);
			break;
		case T_TEXTARR:
		case T_NULL:
			break;
	}
	err_at(k, at, "42883", NULL, "Convert one side with to_string(), to_number() or to_datetime().",
		   "cannot use a %s as a %s", type_desc[v.t], type_desc[t]);
	return "NULL";
}

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

static val
json_path(comp *k, const char *base, btx_btql_node *n, int from, int numeric_leaf)
{
	btx_buf		b;
	int			i;
	char	   *r;

	btx_buf_init(&b);
	btx_buf_puts(&b, base);
	for (i = from; i < n->nsegs; i++)
	{
		if (n->segs[i].name)
			btx_buf_appendf(&b, " -> %s", param(k, n->segs[i].name, "text"));
		else
			btx_buf_appendf(&b, " -> %s", param(k, F("%lld", (long long) n->segs[i].index), "int4"));
	}
	r = btx_btql_strndup(k->a, b.data ? b.data : "", b.len);
	btx_buf_free(&b);
	if (r == NULL)
		return bad();
	if (numeric_leaf)
		return mkval(F("btexport._json_float8(%s)", r), T_NUM);
	if (n->nsegs - from > 0 || 1)
		return mkval(F("NULLIF(%s, 'null'::jsonb)", r), T_JSON);
	return mkval(r, T_JSON);
}

/* path rooted at a value of type t (row field or unpivot column) */
static val
path_from(comp *k, btx_btql_node *n, const char *base, vtype t, const char *root, int summary)
{
	if (n->nsegs == 1)
	{
		if (t == T_JSON)
			return mkval(F("NULLIF(%s, 'null'::jsonb)", base), T_JSON);
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

			return mkval(F("btexport._json_float8(%s -> %s)", base, key), T_NUM);
		}
		return json_path(k, base, n, 1, numeric);
	}
	if (t == T_TEXTARR && n->nsegs == 2 && !n->segs[1].name)
	{
		int64_t		i = n->segs[1].index;

		if (i >= 0)
			return mkval(F("(%s)[%s]", base, param(k, F("%lld", (long long) (i + 1)), "int4")), T_TEXT);
		return mkval(F("(%s)[cardinality(%s) + %s]", base, base, param(k, F("%lld", (long long) (i + 1)), "int4")),
					 T_TEXT);
	}
	return err_at(k, n, "42703", NULL,
				  t == T_TEXTARR ? "Index string arrays once, as in tags[0] or tags[-1]." :
				  "Only JSON fields (input, output, metadata, scores, metrics, ...) have nested fields.",
				  "field \"%s\" is a %s and has no nested fields", root, type_desc[t]);
}

static val	cx_alias(comp *k, int idx, scope *s);

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
		return F("((%s) #>> '{}')", v.s);
	return coerce(k, v, T_TEXT, at);
}

/* all string leaves of a value, joined by spaces (MATCH on objects and arrays) */
static char *
match_words_source(comp *k, val v, btx_btql_node *at)
{
	if (v.t == T_JSON)
		return F("(SELECT string_agg(mw.v #>> '{}', ' ') FROM jsonb_path_query(%s, 'strict $.** ? (@.type() == \"string\")') AS mw(v))",
				 v.s);
	return coerce(k, v, T_TEXT, at);
}

static char *
match_sql(comp *k, val field, char *pat, btx_btql_node *at)
{
	char	   *src = match_words_source(k, field, at);

	return F("(CASE WHEN (%s) IS NULL OR (%s) IS NULL THEN NULL ELSE NOT EXISTS (SELECT 1 FROM regexp_split_to_table(lower(%s), '[^[:alnum:]]+') AS q(w) WHERE q.w <> '' AND NOT (q.w = ANY (regexp_split_to_array(lower(coalesce(%s, '')), '[^[:alnum:]]+')))) END)",
			 field.s, pat, pat, src);
}

/* LIKE pattern: "_" is literal (btql.md 5); "\%" stays an escaped "%" */
static char *
like_pattern_literal(comp *k, const char *p)
{
	btx_buf		b;
	char	   *r;

	btx_buf_init(&b);
	for (; *p; p++)
	{
		if (*p == '\\' && p[1])
		{
			btx_buf_putc(&b, *p);
			btx_buf_putc(&b, p[1]);
			p++;
		}
		else if (*p == '_')
			btx_buf_puts(&b, "\\_");
		else
			btx_buf_putc(&b, *p);
	}
	r = btx_btql_strndup(k->a, b.data ? b.data : "", b.len);
	btx_buf_free(&b);
	return r;
}

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
		return mkval(F("coalesce((%s) @> ARRAY[%s], false)", h.s, nv.s), T_BOOL);
	}
	if (h.t == T_JSON)
	{
		nv = cx_as(k, nn, s, T_JSON);
		return mkval(F("coalesce(CASE jsonb_typeof(%s) WHEN 'array' THEN (%s) @> jsonb_build_array(%s) WHEN 'object' THEN (%s) @> (%s) END, false)",
					   h.s, h.s, nv.s, h.s, nv.s), T_BOOL);
	}
	if (h.t == T_NULL)
		return mkval("false", T_BOOL);
	return err_at(k, at, "22023", NULL, "INCLUDES and contains() search arrays (such as tags) and JSON arrays or objects.",
				  "includes needs an array or an object, not a %s", type_desc[h.t]);
}

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
			return mkval("count(*)", T_INT);
		}
		v = cx(k, n->args[0], &in);
		if (v.t == T_TEXTARR)
			v = mkval(coerce(k, v, T_JSON, n), T_JSON);
		return mkval(F("count(%s%s)", distinct ? "DISTINCT " : "", v.s), T_INT);
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
			return mkval(F("%s(%s)", isavg ? "avg" : "sum", v.s), T_INTERVAL);
		if (v.t == T_INT && !isavg)
			return mkval(F("sum(%s)::int8", v.s), T_INT);
		if (v.t == T_INT)
			return mkval(F("avg(%s)::float8", v.s), T_NUM);
		v = mkval(coerce(k, v, T_NUM, n->args[0]), T_NUM);
		return mkval(F("%s(%s)", isavg ? "avg" : "sum", v.s), T_NUM);
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
			return mkval(F("%s(%s)", ismin ? "bool_and" : "bool_or", v.s), T_BOOL);
		if (v.t == T_JSON)
			return mkval(F("(array_agg(%s ORDER BY %s %s) FILTER (WHERE %s IS NOT NULL))[1]",
						   v.s, v.s, ismin ? "ASC" : "DESC", v.s), T_JSON);
		if (v.t == T_NULL)
			return mkval("NULL::text", T_TEXT);
		return mkval(F("%s(%s)", ismin ? "min" : "max", v.s), v.t);
	}
	if (strcasecmp(name, "any_value") == 0)
	{
		if (arity(k, n, 1, 1, "any_value(expr)") != 0)
			return bad();
		v = cx(k, n->args[0], &in);
		if (v.t == T_TEXTARR)
			v = mkval(coerce(k, v, T_JSON, n), T_JSON);
		if (v.t == T_NULL)
			return mkval("NULL::text", T_TEXT);
		return mkval(F("(array_agg(%s) FILTER (WHERE %s IS NOT NULL))[1]", v.s, v.s), v.t);
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
		return mkval(F("percentile_cont(%s) WITHIN GROUP (ORDER BY %s)", param(k, lit_text(k, pn), "float8"), v.s),
					 T_NUM);
	}
	return bad();
}

static val
cx_cast(comp *k, btx_btql_node *n, vtype t, btx_btql_node *arg, scope *s)
{
	val			v = cx(k, arg, s);

	if (failed(k))
		return bad();
	if (v.t == t)
		return v;
	if (v.t == T_NULL)
		return mkval(F("NULL::%s", type_sql[t]), t);
	switch (t)
	{
		case T_TEXT:
			return mkval(coerce(k, v, T_TEXT, n), T_TEXT);
		case T_BOOL:
			if (v.t == T_JSON)
				return mkval(F("(CASE jsonb_typeof(%s) WHEN 'boolean' THEN (%s)::bool WHEN 'number' THEN (%s)::numeric <> 0 WHEN 'string' THEN (CASE lower(%s #>> '{}') WHEN 'true' THEN true WHEN 'false' THEN false END) END)",
							   v.s, v.s, v.s, v.s), T_BOOL);
			if (v.t == T_TEXT || v.t == T_INT || v.t == T_NUM)
				return mkval(coerce(k, v, T_BOOL, n), T_BOOL);
			break;
		case T_INT:
		case T_NUM:
			if (v.t == T_JSON)
			{
				char	   *num = coerce(k, v, t, n);
				char	   *txt = coerce(k, mkval(F("(%s #>> '{}')", v.s), T_TEXT), t, n);

				return mkval(F("(CASE jsonb_typeof(%s) WHEN 'number' THEN %s WHEN 'string' THEN %s END)", v.s, num, txt), t);
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
	return mkval(F("NULL::%s", type_sql[t]), t);
}

static val
cx_func(comp *k, btx_btql_node *n, scope *s)
{
	const char *name = n->str;
	const char *unit;
	val			v;
	int			i;

	if (is_agg_name(name))
		return cx_agg(k, n, s);
	if (n->distinct)
		return err_at(k, n, "42601", NULL, "DISTINCT is only allowed in count().", "DISTINCT in a call of %s()", name);
	for (i = 0; i < n->nargs; i++)
		if (n->args[i]->kind == E_STAR)
			return err_at(k, n->args[i], "42601", "an expression", "Only count(*) takes *.", "syntax error at \"*\"");
	if ((unit = trunc_unit(name)) != NULL)
	{
		if (arity(k, n, 1, 1, F("%s(created)", unit)) != 0)
			return bad();
		v = cx_as(k, n->args[0], s, T_TS);
		return mkval(F("date_trunc('%s', %s, %s)", unit, v.s, tz(k)), T_TS);
	}
	if (strcasecmp(name, "date_trunc") == 0)
	{
		if (arity(k, n, 2, 2, "date_trunc('day', created)") != 0)
			return bad();
		if (n->args[0]->kind != E_STRING || (unit = trunc_unit(n->args[0]->str)) == NULL)
			return err_at(k, n->args[0], "22023", "'second', 'minute', 'hour', 'day', 'week', 'month' or 'year'",
						  "Write the unit as a string literal, as in date_trunc('day', created).",
						  "invalid date_trunc unit");
		v = cx_as(k, n->args[1], s, T_TS);
		return mkval(F("date_trunc('%s', %s, %s)", unit, v.s, tz(k)), T_TS);
	}
	if (strcasecmp(name, "now") == 0 || strcasecmp(name, "current_timestamp") == 0)
	{
		if (arity(k, n, 0, 0, F("%s()", name)) != 0)
			return bad();
		return mkval("now()", T_TS);
	}
	if (strcasecmp(name, "current_date") == 0)
	{
		if (arity(k, n, 0, 0, "current_date()") != 0)
			return bad();
		return mkval(F("(now() AT TIME ZONE %s)::date", tz(k)), T_DATE);
	}
	if (strcasecmp(name, "lower") == 0 || strcasecmp(name, "upper") == 0)
	{
		if (arity(k, n, 1, 1, F("%s(text)", name)) != 0)
			return bad();
		v = cx_as(k, n->args[0], s, T_TEXT);
		return mkval(F("%s(%s)", strcasecmp(name, "lower") == 0 ? "lower" : "upper", v.s), T_TEXT);
	}
	if (strcasecmp(name, "concat") == 0)
	{
		btx_buf		b;
		char	   *r;

		if (arity(k, n, 1, 64, "concat(a, b, ...)") != 0)
			return bad();
		btx_buf_init(&b);
		btx_buf_puts(&b, "concat(");
		for (i = 0; i < n->nargs; i++)
		{
			v = cx_as(k, n->args[i], s, T_TEXT);
			btx_buf_appendf(&b, "%s%s", i ? ", " : "", v.s);
		}
		btx_buf_putc(&b, ')');
		r = btx_btql_strndup(k->a, b.data ? b.data : "", b.len);
		btx_buf_free(&b);
		return mkval(r, T_TEXT);
	}
	if (strcasecmp(name, "len") == 0 || strcasecmp(name, "length") == 0)
	{
		int			islen = strcasecmp(name, "len") == 0;

		if (arity(k, n, 1, 1, F("%s(x)", name)) != 0)
			return bad();
		v = cx(k, n->args[0], s);
		if (v.t == T_TEXTARR)
			return mkval(F("cardinality(%s)::int8", v.s), T_INT);
		if (v.t == T_JSON)
			return mkval(islen ? F("(CASE WHEN jsonb_typeof(%s) = 'array' THEN jsonb_array_length(%s)::int8 END)", v.s, v.s) :
						 F("(CASE jsonb_typeof(%s) WHEN 'array' THEN jsonb_array_length(%s)::int8 WHEN 'string' THEN char_length(%s #>> '{}')::int8 END)",
						   v.s, v.s, v.s), T_INT);
		if (v.t == T_TEXT && !islen)
			return mkval(F("char_length(%s)::int8", v.s), T_INT);
		return mkval("NULL::int8", T_INT);
	}
	if (strcasecmp(name, "contains") == 0 || strcasecmp(name, "includes") == 0)
	{
		if (arity(k, n, 2, 2, F("%s(tags, 'value')", name)) != 0)
			return bad();
		return includes_sql(k, n->args[0], n->args[1], s, n);
	}
	if (strcasecmp(name, "json_extract") == 0)
	{
		if (arity(k, n, 2, 2, "json_extract(metadata.raw, 'key')") != 0)
			return bad();
		if (n->args[1]->kind != E_STRING)
			return err_at(k, n->args[1], "22023", "a string literal key", "Write the key as a string literal, as in json_extract(metadata.raw, 'x-request-id').",
						  "json_extract key must be a string literal");
		v = cx_as(k, n->args[0], s, T_TEXT);
		return mkval(F("NULLIF(btexport.btql_try_jsonb(%s) -> %s, 'null'::jsonb)", v.s, param(k, n->args[1]->str, "text")),
					 T_JSON);
	}
	if (strcasecmp(name, "coalesce") == 0 || strcasecmp(name, "least") == 0 || strcasecmp(name, "greatest") == 0 ||
		strcasecmp(name, "nullif") == 0)
	{
		val		   *vs;
		vtype		t;
		btx_buf		b;
		char	   *r;
		const char *fn = strcasecmp(name, "coalesce") == 0 ? "coalesce" : strcasecmp(name, "least") == 0 ? "least" :
			strcasecmp(name, "greatest") == 0 ? "greatest" : "NULLIF";

		if (strcmp(fn, "NULLIF") == 0 ? arity(k, n, 2, 2, "nullif(a, b)") != 0 :
			arity(k, n, 1, 64, F("%s(a, b, ...)", name)) != 0)
			return bad();
		vs = btx_btql_alloc(k->a, sizeof(val) * n->nargs);
		if (vs == NULL)
			return bad();
		t = unify(k, n->args, n->nargs, s, vs);
		if (failed(k))
			return bad();
		if (t == T_NULL)
			t = T_TEXT;
		btx_buf_init(&b);
		btx_buf_appendf(&b, "%s(", fn);
		for (i = 0; i < n->nargs; i++)
			btx_buf_appendf(&b, "%s%s", i ? ", " : "", vs[i].t == T_NULL ? F("NULL::%s", type_sql[t]) : vs[i].s);
		btx_buf_putc(&b, ')');
		r = btx_btql_strndup(k->a, b.data ? b.data : "", b.len);
		btx_buf_free(&b);
		return mkval(r, t);
	}
	if (strcasecmp(name, "round") == 0)
	{
		if (arity(k, n, 1, 2, "round(x, 2)") != 0)
			return bad();
		v = cx_as(k, n->args[0], s, T_NUM);
		if (n->nargs == 1)
			return mkval(F("round(%s)", v.s), T_NUM);
		if (n->args[1]->kind != E_INT || n->args[1]->ival < -100 || n->args[1]->ival > 100)
			return err_at(k, n->args[1], "22023", "an integer literal", "Write the precision as an integer literal, as in round(x, 2).",
						  "round precision must be an integer literal between -100 and 100");
		return mkval(F("round((%s)::numeric, %s)::float8", v.s, param(k, lit_text(k, n->args[1]), "int4")), T_NUM);
	}
	if (strncasecmp(name, "to_", 3) == 0)
	{
		static const struct
		{
			const char *n;
			vtype		t;
		}			casts[] = {
			{"to_string", T_TEXT}, {"to_boolean", T_BOOL}, {"to_integer", T_INT}, {"to_number", T_NUM},
			{"to_date", T_DATE}, {"to_datetime", T_TS}, {"to_interval", T_INTERVAL}, {NULL, T_NULL}
		};

		for (i = 0; casts[i].n; i++)
			if (strcasecmp(casts[i].n, name) == 0)
			{
				if (arity(k, n, 1, 1, F("%s(x)", casts[i].n)) != 0)
					return bad();
				return cx_cast(k, n, casts[i].t, n->args[0], s);
			}
	}
	if (strcasecmp(name, "search") == 0)
	{
		static const char *const fields[] = {"input", "output", "expected", "metadata", "span_attributes", NULL};
		val			q;
		btx_buf		b;
		char	   *r;

		if (arity(k, n, 1, 1, "search('text')") != 0)
			return bad();
		q = cx_as(k, n->args[0], s, T_TEXT);
		btx_buf_init(&b);
		btx_buf_putc(&b, '(');
		for (i = 0; fields[i]; i++)
		{
			const field *f = row_field(s, fields[i]);
			val			fv;

			if (f == NULL)
				continue;
			fv = mkval(F(f->sql, s->rel), T_JSON);
			btx_buf_appendf(&b, "%scoalesce(%s, false)", b.len > 1 ? " OR " : "", match_sql(k, fv, q.s, n));
		}
		btx_buf_putc(&b, ')');
		r = btx_btql_strndup(k->a, b.data ? b.data : "", b.len);
		btx_buf_free(&b);
		return mkval(F("(CASE WHEN (%s) IS NULL THEN NULL ELSE %s END)", q.s, r), T_BOOL);
	}
	if (strcasecmp(name, "estimated_cost") == 0)
	{
		const field *f = row_field(s, "metrics");
		char	   *m = F(f->sql, s->rel);

		if (arity(k, n, 0, 0, "estimated_cost()") != 0)
			return bad();
		if (s->summary)
			return mkval(F("btexport._json_float8(%s -> 'total_cost')", m), T_NUM);
		return mkval(F("coalesce(btexport._json_float8(%s -> 'estimated_cost'), btexport._json_float8(%s -> 'cost'))",
					   m, m), T_NUM);
	}
	if (strcasecmp(name, "any_span") == 0 || strcasecmp(name, "filter_spans") == 0)
		return bad();				/* parsed as E_ANYSPAN / E_FILTERSPANS */
	return err_at(k, n, "42883", NULL,
				  "Functions are second, minute, hour, day, week, month, year, date_trunc, now, current_timestamp, current_date, lower, upper, concat, len, length, contains, includes, json_extract, coalesce, nullif, least, greatest, round, to_string, to_boolean, to_integer, to_number, to_date, to_datetime, to_interval, search and estimated_cost; aggregates are count, count_distinct, sum, avg, min, max, any_value and percentile.",
				  "unknown function \"%s\"", name);
}

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

static const char *
cmp_sql(const char *op)
{
	if (strcmp(op, "<=>") == 0)
		return "IS NOT DISTINCT FROM";
	if (strcmp(op, "<!=>") == 0)
		return "IS DISTINCT FROM";
	if (strcmp(op, "!=") == 0)
		return "<>";
	return op;
}

static val
cx_binop(comp *k, btx_btql_node *n, scope *s)
{
	const char *op = n->op;

	if (strcmp(op, "and") == 0 || strcmp(op, "or") == 0)
	{
		val			a = cx_as(k, n->left, s, T_BOOL);
		val			b = cx_as(k, n->right, s, T_BOOL);

		return mkval(F("(%s %s %s)", a.s, strcmp(op, "and") == 0 ? "AND" : "OR", b.s), T_BOOL);
	}
	if (strchr("=!<>", op[0]) != NULL)
	{
		btx_btql_node *ns[2];
		val			vs[2];
		vtype		t;

		ns[0] = n->left;
		ns[1] = n->right;
		t = unify(k, ns, 2, s, vs);
		if (failed(k))
			return bad();
		if (t == T_TEXTARR && strcmp(op, "=") != 0 && strcmp(op, "!=") != 0 && op[0] != '<')
			t = T_TEXTARR;
		if (t == T_NULL)
			return mkval(strcmp(op, "<=>") == 0 ? "true" : strcmp(op, "<!=>") == 0 ? "false" : "NULL::bool", T_BOOL);
		return mkval(F("(%s %s %s)", vs[0].t == T_NULL ? F("NULL::%s", type_sql[t]) : vs[0].s, cmp_sql(op),
					   vs[1].t == T_NULL ? F("NULL::%s", type_sql[t]) : vs[1].s), T_BOOL);
	}
	/* arithmetic */
	{
		val			a,
					b;
		btx_btql_node *l = n->left,
				   *r = n->right;

		a = is_literal(l) ? mkval(NULL, T_NULL) : cx(k, l, s);
		b = is_literal(r) ? mkval(NULL, T_NULL) : cx(k, r, s);
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
				return mkval(F("(%s %c %s)", coerce(k, a, T_TS, l), op[0], b.s), T_TS);
			if (op[0] == '+' && a.t == T_INTERVAL && (b.t == T_TS || b.t == T_DATE))
				return mkval(F("(%s + %s)", a.s, coerce(k, b, T_TS, r)), T_TS);
			if (a.t == T_INTERVAL && b.t == T_INTERVAL)
				return mkval(F("(%s %c %s)", a.s, op[0], b.s), T_INTERVAL);
			if (op[0] == '-' && (a.t == T_TS || a.t == T_DATE) && (b.t == T_TS || b.t == T_DATE))
				return mkval(F("(%s - %s)", coerce(k, a, T_TS, l), coerce(k, b, T_TS, r)), T_INTERVAL);
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
			if (op[0] == '/')
				return mkval(F("((%s)::float8 / NULLIF((%s)::float8, 0))", x, y), T_NUM);
			if (op[0] == '%')
			{
				if (t == T_INT)
					return mkval(F("mod(%s, NULLIF(%s, 0))", x, y), T_INT);
				return mkval(F("mod((%s)::numeric, NULLIF((%s)::numeric, 0))::float8", x, y), T_NUM);
			}
			return mkval(F("(%s %c %s)", x, op[0], y), t);
		}
	}
}

static val
cx_in(comp *k, btx_btql_node *n, scope *s)
{
	btx_btql_node *lst = n->right;
	btx_btql_node **ns;
	val		   *vs;
	btx_buf		b;
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
		return mkval("NULL::bool", T_BOOL);
	btx_buf_init(&b);
	btx_buf_appendf(&b, "(%s %sIN (", vs[0].t == T_NULL ? F("NULL::%s", type_sql[t]) : vs[0].s, n->neg ? "NOT " : "");
	for (i = 1; i <= lst->nargs; i++)
		btx_buf_appendf(&b, "%s%s", i > 1 ? ", " : "", vs[i].t == T_NULL ? F("NULL::%s", type_sql[t]) : vs[i].s);
	btx_buf_puts(&b, "))");
	r = btx_btql_strndup(k->a, b.data ? b.data : "", b.len);
	btx_buf_free(&b);
	return mkval(r, T_BOOL);
}

static val
cx(comp *k, btx_btql_node *n, scope *s)
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
			{
				btx_buf		b;
				char	   *r;
				int			i;

				btx_buf_init(&b);
				btx_buf_puts(&b, "jsonb_build_array(");
				for (i = 0; i < n->nargs; i++)
				{
					v = cx_as(k, n->args[i], s, T_JSON);
					btx_buf_appendf(&b, "%s%s", i ? ", " : "", v.s);
				}
				btx_buf_putc(&b, ')');
				r = btx_btql_strndup(k->a, b.data ? b.data : "", b.len);
				btx_buf_free(&b);
				return mkval(r, T_JSON);
			}
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
				return mkval(F("(-%s)", v.s), v.t);
			if (failed(k))
				return bad();
			return mkval(F("(-%s)", coerce(k, v, T_NUM, n->left)), T_NUM);
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
			{
				char	   *pat;

				v = cx(k, n->left, s);
				if (failed(k))
					return bad();
				if (n->right->kind == E_STRING)
					pat = param(k, like_pattern_literal(k, n->right->str), "text");
				else
					pat = F("replace(%s, '_', '\\_')", cx_as(k, n->right, s, T_TEXT).s);
				return mkval(F("(%s %s%s %s)", match_text(k, v, n->left), n->neg ? "NOT " : "",
							   n->kind == E_LIKE ? "LIKE" : "ILIKE", pat), T_BOOL);
			}
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
			{
				val			vs[2];
				vtype		t;

				v = cx_as(k, n->args[0], s, T_BOOL);
				t = unify(k, n->args + 1, 2, s, vs);
				if (failed(k))
					return bad();
				if (t == T_NULL)
					t = T_TEXT;
				return mkval(F("(CASE WHEN %s THEN %s ELSE %s END)", v.s,
							   vs[0].t == T_NULL ? F("NULL::%s", type_sql[t]) : vs[0].s,
							   vs[1].t == T_NULL ? F("NULL::%s", type_sql[t]) : vs[1].s), t);
			}
		case E_ANYSPAN:
			{
				scope		in = *s;
				char	   *rel;

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
				return mkval(F("EXISTS (SELECT 1 FROM btexport.logs %s WHERE %s.project_id = %s.project_id AND %s.root_span_id = %s.root_span_id AND %s)",
							   rel, rel, s->rel, rel, s->rel, v.s), T_BOOL);
			}
		case E_FILTERSPANS:
			if (s->filter && s->spans_shape)
				return cx_as(k, n->left, s, T_BOOL);
			return err_at(k, n, "0A000", NULL, "Write FILTER_SPANS(...) as a top-level AND term of the filter.",
						  "FILTER_SPANS() is only allowed as a top-level term of the filter");
		case E_CAST:
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
	}
	return bad();
}

/* ---- structural equality (grouping) ---- */

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

static char *
projects_pred(comp *k, const char *rel)
{
	btx_buf		b;
	char	   *r;
	int			i;

	btx_buf_init(&b);
	btx_buf_appendf(&b, "%s.project_id IN (SELECT p.id FROM btexport.projects p WHERE ", rel);
	for (i = 0; i < k->q->nids; i++)
	{
		char	   *pp = param(k, k->q->ids[i], "text");

		btx_buf_appendf(&b, "%sp.id::text = %s OR p.name = %s", i ? " OR " : "", pp, pp);
	}
	btx_buf_putc(&b, ')');
	r = btx_btql_strndup(k->a, b.data ? b.data : "", b.len);
	btx_buf_free(&b);
	return r;
}

static char *
window_pred(comp *k, const char *rel)
{
	return F("%s._xact_id >= $1::xid8 AND %s._xact_id < $2::xid8", rel, rel);
}

/* split the top-level AND terms of the filter into trace selection and FILTER_SPANS */
static void
split_filter(comp *k, btx_btql_node *n, btx_btql_node ***sel, int *nsel, btx_btql_node ***fs, int *nfs)
{
	if (n == NULL)
		return;
	if (n->kind == E_BINOP && strcmp(n->op, "and") == 0)
	{
		split_filter(k, n->left, sel, nsel, fs, nfs);
		split_filter(k, n->right, sel, nsel, fs, nfs);
		return;
	}
	if (n->kind == E_FILTERSPANS)
	{
		btx_btql_node **a = btx_btql_alloc(k->a, sizeof(btx_btql_node *) * (*nfs + 1));

		if (a == NULL)
			return;
		if (*nfs)
			memcpy(a, *fs, sizeof(btx_btql_node *) * (*nfs));
		a[(*nfs)++] = n->left;
		*fs = a;
	}
	else
	{
		btx_btql_node **a = btx_btql_alloc(k->a, sizeof(btx_btql_node *) * (*nsel + 1));

		if (a == NULL)
			return;
		if (*nsel)
			memcpy(a, *sel, sizeof(btx_btql_node *) * (*nsel));
		a[(*nsel)++] = n;
		*sel = a;
	}
}

static char *
and_terms(comp *k, btx_btql_node **ts, int n, scope *s)
{
	btx_buf		b;
	char	   *r;
	int			i;

	btx_buf_init(&b);
	for (i = 0; i < n; i++)
	{
		val			v = cx_as(k, ts[i], s, T_BOOL);

		btx_buf_appendf(&b, "%s%s", i ? " AND " : "", v.s);
	}
	r = btx_btql_strndup(k->a, b.data ? b.data : "true", b.data ? b.len : 4);
	btx_buf_free(&b);
	return r;
}

static char *
summary_relation(comp *k, const char *where)
{
	const char *N_fmt = "CASE WHEN jsonb_typeof(l.metrics -> '%s') = 'number' THEN (l.metrics -> '%s')::numeric END";
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
		const char *fmt = "CASE WHEN jsonb_typeof(%s) = 'string' AND char_length(%s #>> '{}') > %s THEN to_jsonb(left(%s #>> '{}', %s)) WHEN jsonb_typeof(%s) IN ('object', 'array') AND char_length((%s)::text) > %s THEN to_jsonb(left((%s)::text, %s)) ELSE %s END";

#define PV(x) F(fmt, x, x, len, x, len, x, x, len, x, len, x)
		pv_in = PV("r.input");
		pv_out = PV("r.output");
		pv_md = PV("r.metadata");
		pv_ex = PV("r.expected");
		pv_er = PV("r.error");
#undef PV
	}
	return F("(SELECT g.id, g.project_id, coalesce(r.created, g.min_created) AS created, %s AS metadata, %s AS input, "
			 "%s AS output, r.tags, g.scores, g.metrics, g.span_count, g._xact_id, r.span_id, r.org_id::text AS org_id, "
			 "r.log_id, %s AS expected, %s AS error, r.span_attributes "
			 "FROM (SELECT l.project_id AS pid, l.root_span_id AS id, l.project_id::text AS project_id, "
			 "min(l.created) AS min_created, "
			 "(SELECT jsonb_object_agg(sc.k, sc.a) FROM (SELECT e.key AS k, avg(btexport._json_float8(e.value)) AS a "
			 "FROM unnest(array_agg(l.scores)) AS u(j), jsonb_each(CASE WHEN jsonb_typeof(u.j) = 'object' THEN u.j END) AS e "
			 "WHERE jsonb_typeof(e.value) = 'number' GROUP BY e.key) sc) AS scores, "
			 "jsonb_build_object('prompt_tokens', coalesce(sum(%s), 0), 'completion_tokens', coalesce(sum(%s), 0), "
			 "'total_tokens', coalesce(sum(%s), 0) + coalesce(sum(%s), 0), "
			 "'total_cost', coalesce(sum(coalesce(%s, %s)), 0), "
			 "'llm_calls', count(*) FILTER (WHERE l.span_attributes ->> 'type' = 'llm'), "
			 "'tool_calls', count(*) FILTER (WHERE l.span_attributes ->> 'type' = 'tool'), "
			 "'errors', count(*) FILTER (WHERE l.error IS NOT NULL AND l.error <> 'null'::jsonb), "
			 "'start', min(%s), 'end', max(%s), 'duration', max(%s) - min(%s)) AS metrics, "
			 "count(*)::int8 AS span_count, max(l._xact_id::text::int8) AS _xact_id "
			 "FROM btexport.logs l WHERE %s GROUP BY l.project_id, l.root_span_id) g "
			 "LEFT JOIN LATERAL (SELECT r0.* FROM btexport.logs r0 WHERE r0.project_id = g.pid AND r0.root_span_id = g.id "
			 "AND r0.is_root ORDER BY r0.created, r0.id LIMIT 1) r ON true) t",
			 pv_md, pv_in, pv_out, pv_ex, pv_er, pt, ct, pt, ct, ec, co, st, en, en, st, where);
}

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

static int
compile_query(comp *k, btx_btql_query *out)
{
	btx_btql_ast *q = k->q;
	scope		row,
				filt;
	btx_buf		sel,
				from,
				where,
				tail;
	colinfo    *ci;
	int			nci = 0,
				i,
				xact_col = -1;
	char	   *sql;
	int			exp = k->opt->export_cursor;
	const char *rel = q->shape == BTX_BTQL_SUMMARY ? "t" : "l";
	btx_btql_node **seln = NULL,
			  **fsn = NULL;
	int			nseln = 0,
				nfsn = 0;
	int			pivot_col = -1;

	memset(&row, 0, sizeof(row));
	row.rel = rel;
	row.summary = q->shape == BTX_BTQL_SUMMARY;
	row.unpivot = 1;
	row.agg = 1;
	row.spans_shape = q->shape == BTX_BTQL_SPANS;
	filt = row;
	filt.summary = 0;
	filt.rel = q->shape == BTX_BTQL_SPANS ? "l" : "s";
	filt.filter = 1;
	filt.agg = 0;
	filt.unpivot = 0;
	filt.aliases = q->shape != BTX_BTQL_SUMMARY;

	if (!q->has_from)
	{
		err_at(k, NULL, "42601", "a from: clause", "Add from: project_logs('<project id or name>').",
			   "query has no from clause");
		return -1;
	}
	if (build_columns(k) != 0)
		return -1;

	/* unpivot columns */
	btx_buf_init(&from);
	btx_buf_init(&where);
	btx_buf_init(&sel);
	btx_buf_init(&tail);
	ci = btx_btql_alloc(k->a, sizeof(colinfo) * (k->ncols + 40));
	if (ci == NULL)
		goto fail;

	/* FROM and the row predicate */
	if (q->shape == BTX_BTQL_SUMMARY)
	{
		char	   *w = projects_pred(k, "l");

		split_filter(k, q->filter, &seln, &nseln, &fsn, &nfsn);
		if (nseln)
			w = F("%s AND (l.project_id, l.root_span_id) IN (SELECT s.project_id, s.root_span_id FROM btexport.logs s WHERE %s AND %s)",
				  w, projects_pred(k, "s"), and_terms(k, seln, nseln, &filt));
		if (exp)
			w = F("%s AND (l.project_id, l.root_span_id) IN (SELECT w.project_id, w.root_span_id FROM btexport.logs w WHERE %s AND %s)",
				  w, projects_pred(k, "w"), window_pred(k, "w"));
		if (nfsn)
		{
			scope		fs = filt;

			fs.rel = "l";
			w = F("%s AND %s", w, and_terms(k, fsn, nfsn, &fs));
		}
		btx_buf_puts(&from, summary_relation(k, w));
	}
	else
	{
		btx_buf_puts(&from, "btexport.logs l");
		btx_buf_puts(&where, projects_pred(k, "l"));
		if (q->shape == BTX_BTQL_SPANS)
		{
			if (exp)
				btx_buf_appendf(&where, " AND %s", window_pred(k, "l"));
			if (q->filter)
				btx_buf_appendf(&where, " AND %s", cx_as(k, q->filter, &filt, T_BOOL).s);
		}
		else
		{
			split_filter(k, q->filter, &seln, &nseln, &fsn, &nfsn);
			if (nseln)
				btx_buf_appendf(&where, " AND (l.project_id, l.root_span_id) IN (SELECT s.project_id, s.root_span_id FROM btexport.logs s WHERE %s AND %s)",
								projects_pred(k, "s"), and_terms(k, seln, nseln, &filt));
			if (exp)
				btx_buf_appendf(&where, " AND (l.project_id, l.root_span_id) IN (SELECT w.project_id, w.root_span_id FROM btexport.logs w WHERE %s AND %s)",
								projects_pred(k, "w"), window_pred(k, "w"));
			if (nfsn)
			{
				scope		fs = filt;

				fs.rel = "l";
				btx_buf_appendf(&where, " AND %s", and_terms(k, fsn, nfsn, &fs));
			}
		}
	}
	if (failed(k))
		goto fail;
	if (!k->bounded && !exp)
		out->unbounded = 1;

	/* UNPIVOT: lateral joins */
	if (q->nunpivot)
	{
		k->upvs = btx_btql_alloc(k->a, sizeof(upv) * q->nunpivot);
		if (k->upvs == NULL)
			goto fail;
	}
	for (i = 0; i < q->nunpivot; i++)
	{
		btx_btql_unpivot *u = &q->unpivot[i];
		upv		   *p = &k->upvs[i];
		val			src;
		int			is_key;
		scope		us = row;

		us.agg = 0;
		if (row_field(&row, u->value_name) || (u->key_name && row_field(&row, u->key_name)))
		{
			err_at(k, u->at, "42701", NULL, "Choose unpivot column names that are not field names.",
				   "unpivot column \"%s\" has the name of a field",
				   row_field(&row, u->value_name) ? u->value_name : u->key_name);
			goto fail;
		}
		if (find_upv(k, &us, u->value_name, &is_key) || (u->key_name && find_upv(k, &us, u->key_name, &is_key)) ||
			(u->key_name && strcmp(u->key_name, u->value_name) == 0))
		{
			err_at(k, u->at, "42701", NULL, "Give every unpivot column a distinct name.",
				   "duplicate unpivot column name");
			goto fail;
		}
		src = cx(k, u->src, &us);
		if (failed(k))
			goto fail;
		p->rel = F("u%d", i + 1);
		p->key_name = u->key_name;
		p->value_name = u->value_name;
		if (u->key_name)
		{
			if (src.t != T_JSON)
			{
				err_at(k, u->src, "22023", NULL, "Unpivot an object such as scores into (key, value), or an array such as tags into (item).",
					   "unpivot into (key, value) needs an object, not a %s", type_desc[src.t]);
				goto fail;
			}
			p->vt = T_JSON;
			btx_buf_appendf(&from, " CROSS JOIN LATERAL jsonb_each(CASE WHEN jsonb_typeof(%s) = 'object' THEN %s END) AS %s(k, v)",
							src.s, src.s, p->rel);
		}
		else if (src.t == T_TEXTARR)
		{
			p->vt = T_TEXT;
			btx_buf_appendf(&from, " CROSS JOIN LATERAL unnest(%s) AS %s(v)", src.s, p->rel);
		}
		else if (src.t == T_JSON)
		{
			p->vt = T_JSON;
			btx_buf_appendf(&from, " CROSS JOIN LATERAL jsonb_array_elements(CASE WHEN jsonb_typeof(%s) = 'array' THEN %s END) AS %s(v)",
							src.s, src.s, p->rel);
		}
		else
		{
			err_at(k, u->src, "22023", NULL, "Unpivot an array such as tags into (item), or an object such as scores into (key, value).",
				   "unpivot into (item) needs an array, not a %s", type_desc[src.t]);
			goto fail;
		}
		k->nupvs++;
	}

	if (build_groups(k, &row) != 0)
		goto fail;

	/* select list */
	if (q->star)
	{
		const field *tab = row.summary ? summary_fields : span_fields;
		int			nstar = row.summary ? NSUMMARY_STAR : 22;

		for (i = 0; i < nstar; i++)
		{
			btx_buf_appendf(&sel, "%s%s AS c%d", nci ? ", " : "", F(tab[i].sql, rel), nci + 1);
			ci[nci].name = (char *) tab[i].name;
			ci[nci].t = tab[i].t;
			if (strcmp(tab[i].name, "_xact_id") == 0)
				xact_col = nci;
			nci++;
		}
		for (i = 0; i < k->nupvs; i++)
		{
			if (k->upvs[i].key_name)
			{
				btx_buf_appendf(&sel, ", %s.k AS c%d", k->upvs[i].rel, nci + 1);
				ci[nci].name = k->upvs[i].key_name;
				ci[nci++].t = T_TEXT;
			}
			btx_buf_appendf(&sel, ", %s AS c%d", k->upvs[i].vt == T_JSON ? F("NULLIF(%s.v, 'null'::jsonb)", k->upvs[i].rel) :
							F("%s.v", k->upvs[i].rel), nci + 1);
			ci[nci].name = k->upvs[i].value_name;
			ci[nci++].t = k->upvs[i].vt;
		}
	}
	else
	{
		for (i = 0; i < k->ncols; i++)
		{
			val			v = cx(k, k->cols[i].expr, &row);

			if (failed(k))
				goto fail;
			if (v.t == T_NULL)
				v = mkval("NULL::text", T_TEXT);
			btx_buf_appendf(&sel, "%s%s AS c%d", nci ? ", " : "", v.s, nci + 1);
			ci[nci].name = k->cols[i].name;
			ci[nci].t = v.t;
			if (strcmp(ci[nci].name, "_xact_id") == 0 && v.t == T_INT)
				xact_col = nci;
			nci++;
		}
	}
	if (exp && xact_col < 0 && !q->npivot)
	{
		const field *f = row_field(&row, "_xact_id");

		btx_buf_appendf(&sel, ", %s AS c%d", k->grouped ? F("max(%s)", F(f->sql, rel)) : F(f->sql, rel), nci + 1);
		ci[nci].name = "_xact_id";
		ci[nci].t = T_INT;
		xact_col = nci++;
	}

	/* GROUP BY / HAVING */
	if (k->grouped && k->ngroups)
	{
		scope		gs = row;

		gs.agg = 0;
		btx_buf_puts(&tail, " GROUP BY ");
		for (i = 0; i < k->ngroups; i++)
		{
			if (k->group_pos[i])
				btx_buf_appendf(&tail, "%s%d", i ? ", " : "", k->group_pos[i]);
			else
				btx_buf_appendf(&tail, "%s%s", i ? ", " : "", cx(k, k->groups[i], &gs).s);
		}
	}
	if (q->having)
	{
		scope		hs = row;

		hs.aliases = 1;
		if (check_grouped(k, q->having, &hs) != 0)
			goto fail;
		btx_buf_appendf(&tail, " HAVING %s", cx_as(k, q->having, &hs, T_BOOL).s);
	}
	if (failed(k))
		goto fail;

	/* PIVOT */
	if (q->npivot)
	{
		int			pc = -1,
					m,
				   *is_measure;
		btx_buf		outer,
					okeys,
					agg;
		colinfo    *oci;
		int			noci = 0;
		char	   *pvtext;

		if (exp)
		{
			err_at(k, q->pivot_at, "0A000", NULL, "Export the unpivoted rows and pivot downstream.",
				   "PIVOT is not supported in exports");
			goto fail;
		}
		if (!k->grouped || q->star)
		{
			err_at(k, q->pivot_at, "42803", NULL, "PIVOT needs an aggregate query with GROUP BY (dimensions:).",
				   "PIVOT needs an aggregate query");
			goto fail;
		}
		/* the pivot column */
		if (q->pivot_col)
		{
			int			ai = alias_ref(k, q->pivot_col, &row);

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
			goto fail;
		}
		is_measure = btx_btql_alloc(k->a, sizeof(int) * k->ncols);
		if (is_measure == NULL)
			goto fail;
		for (m = 0; m < q->npivot; m++)
		{
			int			hit = -1;

			if (!q->pivot[m].alias)
			{
				err_at(k, q->pivot[m].expr, "42601", NULL, "Write PIVOT(avg(x) AS name FOR column IN (ANY)).",
					   "a pivoted aggregate needs an alias");
				goto fail;
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
				goto fail;
			}
			is_measure[hit] = m + 1;
		}
		btx_buf_init(&outer);
		btx_buf_init(&okeys);
		btx_buf_init(&agg);
		oci = btx_btql_alloc(k->a, sizeof(colinfo) * (k->ncols + 2));
		if (oci == NULL)
			goto fail;
		switch (ci[pc].t)
		{
			case T_JSON:
				pvtext = F("(g.c%d #>> '{}')", pc + 1);
				break;
			case T_TS:
				pvtext = ts_text(k, F("g.c%d", pc + 1));
				break;
			default:
				pvtext = F("(g.c%d)::text", pc + 1);
		}
		for (i = 0; i < k->ncols; i++)
		{
			if (i == pc || is_measure[i])
				continue;
			if (k->cols[i].is_agg)
			{
				err_at(k, k->cols[i].expr, "42803", NULL, "List every aggregate of the select list in PIVOT (pivot:).",
					   "aggregate \"%s\" is not pivoted", k->cols[i].name);
				goto fail;
			}
			btx_buf_appendf(&outer, "%sg.c%d AS c%d", noci ? ", " : "", i + 1, noci + 1);
			btx_buf_appendf(&okeys, "%sg.c%d", noci ? ", " : "", i + 1);
			oci[noci++] = ci[i];
		}
		for (i = 0; i < k->ncols; i++)
			if (is_measure[i])
				btx_buf_appendf(&agg, "%sjsonb_object_agg(coalesce(%s, 'null') || %s, to_jsonb(g.c%d))",
								agg.len ? " || " : "", pvtext, param(k, F("_%s", k->cols[i].name), "text"), i + 1);
		btx_buf_appendf(&outer, "%s%s AS c%d", noci ? ", " : "", agg.data, noci + 1);
		pivot_col = noci;
		oci[noci].name = "_pivot";
		oci[noci++].t = T_JSON;
		/* ORDER BY over the row keys */
		{
			btx_buf		ord;

			btx_buf_init(&ord);
			for (i = 0; i < q->nsort; i++)
			{
				btx_btql_item *it = &q->sort[i];
				int			col = -1,
							j,
							o = 0;

				if (it->position)
					col = it->position - 1;
				else if ((col = alias_ref(k, it->expr, &row)) < 0)
					for (j = 0; j < k->ncols; j++)
						if (node_eq(k->cols[j].expr, it->expr))
							col = j;
				if (col < 0 || col >= k->ncols || col == pc || is_measure[col])
				{
					btx_buf_free(&ord);
					btx_buf_free(&outer);
					btx_buf_free(&okeys);
					btx_buf_free(&agg);
					err_at(k, it->expr, "0A000", NULL, "Sort a pivoted query by its row keys.",
						   "sorting a pivoted query by \"%s\" is not supported", src_text(k, it->expr));
					goto fail;
				}
				for (j = 0; j < col; j++)
					if (j != pc && !is_measure[j])
						o++;
				btx_buf_appendf(&ord, "%sc%d%s", i ? ", " : " ORDER BY ", o + 1, it->desc ? " DESC" : " ASC");
			}
			if (q->has_limit)
				btx_buf_appendf(&ord, " LIMIT %s", param(k, F("%lld", (long long) q->limit), "int8"));
			sql = F("SELECT %s FROM (SELECT %s FROM %s%s%s%s) g%s%s%s", outer.data,
					sel.data, from.data, where.len ? " WHERE " : "", where.len ? where.data : "",
					tail.len ? tail.data : "", okeys.len ? " GROUP BY " : "", okeys.len ? okeys.data : "",
					ord.len ? ord.data : "");
			btx_buf_free(&ord);
		}
		btx_buf_free(&outer);
		btx_buf_free(&okeys);
		btx_buf_free(&agg);
		ci = oci;
		nci = noci;
		xact_col = -1;
	}
	else
	{
		/* ORDER BY / LIMIT */
		scope		ss = row;

		ss.aliases = 1;
		for (i = 0; i < q->nsort; i++)
		{
			char	   *key = sort_key(k, &q->sort[i], &ss);

			btx_buf_appendf(&tail, "%s%s%s", i ? ", " : " ORDER BY ", key, q->sort[i].desc ? " DESC" : " ASC");
		}
		if (q->has_limit)
			btx_buf_appendf(&tail, " LIMIT %s", param(k, F("%lld", (long long) q->limit), "int8"));
		sql = F("SELECT %s FROM %s%s%s%s", sel.data ? sel.data : "", from.data,
				where.len ? " WHERE " : "", where.len ? where.data : "", tail.len ? tail.data : "");
	}
	if (failed(k) || sel.oom || from.oom || where.oom || tail.oom || sql == NULL)
		goto fail;

	/* hand the result over in malloc'd memory */
	out->sql = strdup(sql);
	out->first_param = k->first_param;
	out->nparams = k->nparams;
	out->params = calloc(k->nparams ? k->nparams : 1, sizeof(btx_btql_param));
	out->ncolumns = nci;
	out->columns = calloc(nci ? nci : 1, sizeof(btx_btql_column));
	out->nprojects = q->nids;
	out->projects = calloc(q->nids ? q->nids : 1, sizeof(char *));
	if (out->sql == NULL || out->params == NULL || out->columns == NULL || out->projects == NULL)
		goto fail_oom;
	for (i = 0; i < k->nparams; i++)
	{
		out->params[i].type = k->params[i].type;
		if ((out->params[i].value = strdup(k->params[i].value)) == NULL)
			goto fail_oom;
	}
	for (i = 0; i < nci; i++)
	{
		out->columns[i].type = type_sql[ci[i].t];
		if ((out->columns[i].name = strdup(ci[i].name)) == NULL)
			goto fail_oom;
	}
	for (i = 0; i < q->nids; i++)
		if ((out->projects[i] = strdup(q->ids[i])) == NULL)
			goto fail_oom;
	if (q->cursor && (out->cursor = strdup(q->cursor)) == NULL)
		goto fail_oom;
	out->xact_column = xact_col;
	out->pivot_column = pivot_col;
	out->shape = q->shape;
	out->syntax = q->syntax;
	out->grouped = k->grouped;
	out->has_sort = q->nsort > 0;
	out->has_limit = q->has_limit;
	out->limit = q->limit;
	btx_buf_free(&sel);
	btx_buf_free(&from);
	btx_buf_free(&where);
	btx_buf_free(&tail);
	return 0;

fail_oom:
	if (k->c->err->code == 0)
		btx_error_set(k->c->err, 2, "53200", "out of memory while compiling a btql query");
fail:
	if (k->c->err->code == 0)
		btx_error_set(k->c->err, 2, "53200", "out of memory while compiling a btql query");
	btx_buf_free(&sel);
	btx_buf_free(&from);
	btx_buf_free(&where);
	btx_buf_free(&tail);
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
	memset(&c, 0, sizeof(c));
	c.src = text ? text : "";
	c.err = err;
	if (strlen(c.src) > 1000000)
	{
		btx_error_set(err, 1, "54000", "btql query is too long");
		btx_error_detail(err, "The query has %zu bytes; the limit is 1000000.", strlen(c.src));
		btx_error_hint(err, "Shorten the query.");
		return -1;
	}
	if (btx_btql_lex(&c) == 0 && (q = btx_btql_parse(&c, opt->syntax)) != NULL && err->code == 0)
	{
		memset(&k, 0, sizeof(k));
		k.c = &c;
		k.a = &c.arena;
		k.q = q;
		k.opt = opt;
		k.first_param = opt->export_cursor ? 3 : 1;
		rc = compile_query(&k, out);
	}
	if (c.arena.oom && err->code == 0)
		btx_error_set(err, 2, "53200", "out of memory while compiling a btql query");
	if (rc != 0 || err->code != 0)
	{
		if (err->code == 0)
			btx_error_set(err, 2, "53200", "out of memory while compiling a btql query");
		btx_btql_query_free(out);
		rc = -1;
	}
	btx_btql_arena_free(&c.arena);
	return rc;
}
