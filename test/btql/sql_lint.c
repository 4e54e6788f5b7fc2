/*
 * sql_lint.c — see sql_lint.h.  A small tokenizer for the SQL the compiler
 * writes (no dollar quoting, no E'' strings, no comments), then one pass over
 * the tokens with the rules below.  It is deliberately strict: a construct it
 * does not know is a violation, so a new kind of SQL in the compiler has to
 * be looked at here too.
 */
#include "sql_lint.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

typedef enum
{
	L_END, L_IDENT, L_QIDENT, L_STR, L_NUM, L_PARAM, L_CAST, L_ARROW, L_OP, L_PUNCT
} lkind;

typedef struct ltok
{
	lkind		kind;
	const char *s;
	int			len;
} ltok;

static int
is_opchar(char c)
{
	return c != '\0' && strchr("+-*/<>=~!@#%^&|`?", c) != NULL;
}

/* the tokens of sql, ending with L_END; NULL on a lexical error */
static ltok *
tokenize(const char *sql, int *n, char *why, size_t whylen)
{
	int			cap = 256,
				k = 0;
	ltok	   *t = malloc(sizeof(ltok) * cap);
	const char *p = sql;

	while (t)
	{
		ltok		x;

		while (isspace((unsigned char) *p))
			p++;
		x.s = p;
		if (*p == '\0')
			x.kind = L_END;
		else if (*p == '\'' || *p == '"')
		{
			char		q = *p++;

			for (;;)
			{
				if (*p == '\0')
				{
					snprintf(why, whylen, "unterminated quote at offset %d", (int) (x.s - sql));
					free(t);
					return NULL;
				}
				if (*p == q && p[1] == q)
					p += 2;
				else if (*p++ == q)
					break;
			}
			x.kind = q == '\'' ? L_STR : L_QIDENT;
		}
		else if (*p == '$' && isdigit((unsigned char) p[1]))
		{
			p++;
			while (isdigit((unsigned char) *p))
				p++;
			x.kind = L_PARAM;
		}
		else if (isdigit((unsigned char) *p))
		{
			while (isalnum((unsigned char) *p) || *p == '.')
				p++;
			x.kind = L_NUM;
		}
		else if (isalpha((unsigned char) *p) || *p == '_')
		{
			while (isalnum((unsigned char) *p) || *p == '_' || *p == '$')
				p++;
			x.kind = L_IDENT;
		}
		else if (p[0] == ':' && p[1] == ':')
		{
			p += 2;
			x.kind = L_CAST;
		}
		else if (p[0] == '=' && p[1] == '>')
		{
			p += 2;
			x.kind = L_ARROW;
		}
		else if (is_opchar(*p))
		{
			while (is_opchar(*p))
				p++;
			x.kind = L_OP;
		}
		else
		{
			p++;
			x.kind = L_PUNCT;
		}
		x.len = (int) (p - x.s);
		if (k == cap)
		{
			ltok	   *nt = realloc(t, sizeof(ltok) * (cap *= 2));

			if (nt == NULL)
				break;
			t = nt;
		}
		t[k++] = x;
		if (x.kind == L_END)
		{
			*n = k;
			return t;
		}
	}
	free(t);
	snprintf(why, whylen, "out of memory");
	return NULL;
}

static int
is(const ltok *t, const char *word)
{
	return (t->kind == L_IDENT || t->kind == L_PUNCT || t->kind == L_OP) && (int) strlen(word) == t->len &&
		strncasecmp(t->s, word, t->len) == 0;
}

static int
is_any(const ltok *t, const char *const *words)
{
	for (; *words; words++)
		if (is(t, *words))
			return 1;
	return 0;
}

/* SQL keywords that may stand before "(" */
static const char *const paren_keywords[] = {
	"and", "or", "not", "any", "all", "exists", "coalesce", "greatest", "least", "filter", "group",
	"lateral", "on", "when", "then", "else", "where", "from", "select", "values", "array", "over", "join",
	"by", "distinct", "having", "row", "as", NULL
};

/* constructs that look an operator up by name (through search_path) */
static const char *const hidden_operator_keywords[] = {
	"nullif", "like", "ilike", "similar", "between", "overlaps", NULL
};

/* keywords that may stand before a string literal */
static const char *const string_keywords[] = {
	"when", "then", "else", "and", "or", "not", "select", "where", "by", "zone", NULL
};

static int
violation(char *why, size_t whylen, const char *sql, const ltok *t, const char *fmt,...)
{
	va_list		ap;
	int			n;
	int			off = (int) (t->s - sql);

	va_start(ap, fmt);
	n = vsnprintf(why, whylen, fmt, ap);
	va_end(ap);
	if (n >= 0 && (size_t) n < whylen)
		snprintf(why + n, whylen - n, " at offset %d: ...%.60s", off, off > 20 ? t->s - 20 : sql);
	return -1;
}

/* pg_catalog. or btexport. right before token i (a qualified name) */
static int
qualified(const ltok *t, int i)
{
	return i >= 2 && is(&t[i - 1], ".") && (is(&t[i - 2], "pg_catalog") || is(&t[i - 2], "btexport"));
}

int
btql_sql_lint(const char *sql, char *why, size_t whylen)
{
	int			n,
				i,
				rc = 0;
	ltok	   *t = tokenize(sql, &n, why, whylen);

	if (t == NULL)
		return -1;
	for (i = 0; rc == 0 && t[i].kind != L_END; i++)
	{
		ltok	   *x = &t[i],
				   *next = &t[i + 1];

		if (x->kind == L_IDENT && is(x, "operator") && is(next, "("))
		{
			/* OPERATOR(pg_catalog.op): skip it whole */
			if (!(is(&t[i + 2], "pg_catalog") && is(&t[i + 3], ".") && t[i + 4].kind == L_OP && is(&t[i + 5], ")")))
				rc = violation(why, whylen, sql, x, "OPERATOR() without pg_catalog");
			i += 5;
			continue;
		}
		switch (x->kind)
		{
			case L_OP:
				if (x->len == 1 && x->s[0] == '*' && ((i > 0 && is(&t[i - 1], "(") && is(next, ")")) ||
													  (i > 0 && is(&t[i - 1], "."))))
					break;		/* count(*), rel.* */
				rc = violation(why, whylen, sql, x, "bare operator \"%.*s\"", x->len, x->s);
				break;
			case L_CAST:
				if (!(is(next, "pg_catalog") && is(&t[i + 2], ".") && t[i + 3].kind == L_IDENT))
					rc = violation(why, whylen, sql, x, "cast to a type not qualified with pg_catalog");
				break;
			case L_IDENT:
				if (is_any(x, hidden_operator_keywords))
					rc = violation(why, whylen, sql, x, "%.*s looks up an operator through search_path", x->len, x->s);
				else if (is(x, "distinct") && i > 0 && (is(&t[i - 1], "is") || is(&t[i - 1], "not")))
					rc = violation(why, whylen, sql, x, "IS DISTINCT FROM looks up = through search_path");
				else if (is(x, "in") && is(next, "("))
					rc = violation(why, whylen, sql, x, "IN (...) looks up = through search_path");
				else if (is(x, "case") && !is(next, "when"))
					rc = violation(why, whylen, sql, x, "CASE x WHEN looks up = through search_path");
				else if (next->kind == L_STR && !is_any(x, string_keywords))
					rc = violation(why, whylen, sql, x, "typed literal %.*s '...'", x->len, x->s);
				else if (is(next, "(") && !qualified(t, i) && !is_any(x, paren_keywords) &&
						 !(i > 0 && is(&t[i - 1], "as")))
					rc = violation(why, whylen, sql, x, "unqualified function %.*s()", x->len, x->s);
				else if (is(next, "(") && i > 0 && is(&t[i - 1], ".") && !qualified(t, i))
					rc = violation(why, whylen, sql, x, "function %.*s() in a schema other than pg_catalog",
								   x->len, x->s);
				break;
			default:
				break;
		}
	}
	free(t);
	return rc;
}
