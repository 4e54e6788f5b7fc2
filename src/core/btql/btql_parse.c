/*
 * btql_parse.c — recursive-descent parser for both BTQL syntaxes (clause
 * syntax and SQL syntax), producing the query model of btql_int.h (the AST:
 * expression nodes plus the clauses of one query).
 *
 * Syntaxes.  btx_btql_parse detects the syntax from the first tokens.  The
 * SQL syntax (parse_sql) reads clauses in SQL order.  The clause syntax
 * (parse_clauses) first cuts the token array at clause headers ("name:" at
 * the start of a line or after "|") and hands each body to its clause
 * function (clauses[]) with an end position, so a body can never run into
 * the next clause; clause order is free.
 *
 * Expressions.  One function per precedence level, loosest first: p_expr
 * (?:), p_or, p_and, p_not, p_cmp (comparisons, IS, LIKE, MATCH, INCLUDES,
 * IN), p_add, p_mul, p_unary, p_primary.  Binary operators are read in
 * loops, so a chain a OR b OR c ... builds a left-deep tree without
 * recursion; only parentheses, brackets, calls and unary operators recurse.
 *
 * Limits (btx_btql_limits), each an error at the offending token: the
 * recursion depth (max_nesting); the height of every tree, which each node
 * records (max_depth: the compiler and PostgreSQL walk trees recursively);
 * the node count (max_nodes); items per clause or list (max_items, and the
 * fixed 256 values of a list, 64 arguments of a call); path segments
 * (max_path_segments).  Every array grows by doubling in the arena, and
 * token texts are shared, not copied, so the AST is linear in the input.
 */
#include "core/btql/btql_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* longest IN list and argument list (fixed: not part of btx_btql_limits) */
#define MAX_LIST 256
#define MAX_ARGS 64

typedef struct parser
{
	btx_btql_ctx *c;
	btx_btql_syntax syntax;
	int			pos;
	int			end;			/* exclusive token limit of the current body */
	int			depth;			/* recursion: parentheses, brackets, unary */
	btx_btql_token eof;			/* synthetic end token */
	btx_btql_vec unpivots;		/* of the query: UNPIVOT may repeat */
} parser;

static btx_btql_node *p_expr(parser *p);

static btx_btql_token *
peek_n(parser *p, int n)
{
	if (p->pos + n >= p->end)
		return &p->eof;
	return &p->c->toks[p->pos + n];
}

static btx_btql_token *
peek(parser *p)
{
	return peek_n(p, 0);
}

static int
last_end(parser *p)
{
	if (p->pos == 0)
		return 0;
	return p->c->toks[p->pos - 1].off + p->c->toks[p->pos - 1].len;
}

static btx_btql_token *
advance(parser *p)
{
	btx_btql_token *t = peek(p);

	if (p->pos < p->end)
		p->pos++;
	return t;
}

static int
is_op(btx_btql_token *t, const char *op)
{
	return t->kind == TK_OP && strcmp(t->op, op) == 0;
}

static int
is_kw(btx_btql_token *t, const char *kw)
{
	return t->kind == TK_IDENT && strcasecmp(t->text, kw) == 0;
}

/* consume the keyword kw if it comes next: 1 if it did */
static int
accept_kw(parser *p, const char *kw)
{
	if (!is_kw(peek(p), kw))
		return 0;
	advance(p);
	return 1;
}

/* the synthetic end token of the current body: at the end of its last token */
static void
set_eof(parser *p)
{
	memset(&p->eof, 0, sizeof(p->eof));
	p->eof.kind = TK_EOF;
	if (p->end < p->c->ntoks && p->end > 0)
		p->eof.off = p->c->toks[p->end - 1].off + p->c->toks[p->end - 1].len;
	else
		p->eof.off = p->c->toks[p->c->ntoks - 1].off;
}

/* a token as error messages name it */
static const char *
tok_desc(parser *p, btx_btql_token *t)
{
	btx_btql_arena *a = &p->c->arena;

	switch (t->kind)
	{
		case TK_EOF:
			return "end of input";
		case TK_STRING:
			return "a string literal";
		case TK_INT:
		case TK_FLOAT:
			return btx_btql_printf(a, "number %.*s", t->len > 40 ? 40 : t->len, p->c->src + t->off);
		default:
			return btx_btql_printf(a, "\"%.*s\"", t->len > 40 ? 40 : t->len, p->c->src + t->off);
	}
}

static void *
syntax_error(parser *p, btx_btql_token *t, const char *expected, const char *hint)
{
	btx_btql_error_at(p->c, t->off, "42601", expected, hint,
					  "syntax error at %s", tok_desc(p, t));
	return NULL;
}

static void *
not_supported(parser *p, int off, const char *hint, const char *what)
{
	btx_btql_error_at(p->c, off, "0A000", NULL, hint, "%s is not supported", what);
	return NULL;
}

/*
 * SQL's two-word clauses (GROUP BY, ORDER BY): 1 if kw BY was consumed, 0 if the clause is absent,
 * -1 (error set) for kw without BY
 */
static int
accept_kw_by(parser *p, const char *kw, const char *expected)
{
	if (!accept_kw(p, kw))
		return 0;
	if (!accept_kw(p, "by"))
	{
		syntax_error(p, peek(p), expected, NULL);
		return -1;
	}
	return 1;
}

/*
 * Every expression node comes from here, so the node count is exact: more
 * than max_nodes nodes is an error at off.
 */
static btx_btql_node *
alloc_node(parser *p, int off)
{
	btx_btql_ctx *c = p->c;

	if (c->err->code)
		return NULL;
	if (++c->nnodes > c->lim.max_nodes)
	{
		btx_btql_error_at(c, off, "54000", NULL,
						  "Shorten the query: use IN lists instead of long chains of conditions, or split it.",
						  "btql query has more than %d expressions", c->lim.max_nodes);
		return NULL;
	}
	return btx_btql_alloc(&c->arena, sizeof(btx_btql_node));
}

/* more than max_items in one clause or list: an error at off */
static void *
too_many_items(parser *p, int off, const char *what)
{
	btx_btql_error_at(p->c, off, "54000", NULL, "Split the query into several queries.",
					  "more than %d items in %s", p->c->lim.max_items, what);
	return NULL;
}

static btx_btql_node *
new_node(parser *p, btx_btql_ekind kind, btx_btql_token *at)
{
	btx_btql_node *n = alloc_node(p, at->off);

	if (n == NULL)
		return NULL;
	n->kind = kind;
	n->off = at->off;
	n->end = at->off + at->len;
	n->line = at->line;
	n->col = at->col;
	return n;
}

/* height of n from its direct children; an error once it gets too deep */
static void
set_depth(parser *p, btx_btql_node *n)
{
	int			d = 0,
				i;

	if (n == NULL)
		return;
	if (n->left && n->left->depth > d)
		d = n->left->depth;
	if (n->right && n->right->depth > d)
		d = n->right->depth;
	for (i = 0; i < n->nargs; i++)
		if (n->args[i] && n->args[i]->depth > d)
			d = n->args[i]->depth;
	n->depth = d + 1;
	if (n->depth > p->c->lim.max_depth)
		btx_btql_error_at(p->c, n->off, "54001", NULL,
						  "Split the condition, or use IN (...) instead of a long chain of OR terms.",
						  "expression is nested more than %d levels deep", p->c->lim.max_depth);
}

/* extend n to the last token read and record its height */
static void
finish(parser *p, btx_btql_node *n)
{
	int			e = last_end(p);

	if (n && e > n->end)
		n->end = e;
	set_depth(p, n);
}

static int
expect_op(parser *p, const char *op, const char *expected)
{
	if (!is_op(peek(p), op))
	{
		syntax_error(p, peek(p), expected, NULL);
		return -1;
	}
	advance(p);
	return 0;
}

/* words that end an expression or an alias-less select item */
static const char *const reserved[] = {
	"select", "from", "where", "group", "by", "having", "order", "limit", "offset",
	"pivot", "unpivot", "as", "and", "or", "not", "in", "is", "like", "ilike",
	"match", "includes", "contains", "asc", "desc", "for", "isnull", "isnotnull",
	"with", "join", "union", NULL
};

static int
is_reserved(btx_btql_token *t)
{
	int			i;

	if (t->kind != TK_IDENT)
		return 0;
	for (i = 0; reserved[i]; i++)
		if (strcasecmp(t->text, reserved[i]) == 0)
			return 1;
	return 0;
}

static int
parse_int64(const char *s, int64_t *out)
{
	char	   *e;
	long long	v;

	errno = 0;
	v = strtoll(s, &e, 10);
	if (errno != 0 || *e != '\0')
		return -1;
	*out = (int64_t) v;
	return 0;
}

/* list of expressions after an opening bracket, up to the closing one */
static btx_btql_node *
p_list(parser *p, btx_btql_token *open, const char *close)
{
	btx_btql_node *n = new_node(p, E_ARRAY, open);
	btx_btql_vec items = {0};

	if (n == NULL)
		return NULL;
	if (!is_op(peek(p), close))
	{
		for (;;)
		{
			btx_btql_node **slot;

			if (items.n >= MAX_LIST)
				return not_supported(p, peek(p)->off, "Split the list into several conditions joined with OR.",
									 "a list of more than 256 values");
			if ((slot = btx_btql_vec_push(&p->c->arena, &items, sizeof(*slot))) == NULL ||
				(*slot = p_expr(p)) == NULL)
				return NULL;
			if (is_op(peek(p), ","))
			{
				advance(p);
				continue;
			}
			break;
		}
	}
	if (expect_op(p, close, strcmp(close, ")") == 0 ? "\",\" or \")\"" : "\",\" or \"]\"") != 0)
		return NULL;
	n->nargs = items.n;
	n->args = items.data;
	finish(p, n);
	return n;
}

/*
 * Append a segment to the path being read (segs grows by doubling: a path
 * of n segments costs O(n) memory).  The token's text is shared, not copied.
 */
static int
add_seg(parser *p, btx_btql_vec *segs, btx_btql_token *at, char *name, int64_t index, int quoted)
{
	btx_btql_seg *s;

	if (segs->n >= p->c->lim.max_path_segments)
	{
		btx_btql_error_at(p->c, at->off, "54000", NULL,
						  "Shorten the path; JSON nested that deep is better read with a shorter path and json_extract().",
						  "field path has more than %d segments", p->c->lim.max_path_segments);
		return -1;
	}
	if ((s = btx_btql_vec_push(&p->c->arena, segs, sizeof(*s))) == NULL)
		return -1;
	s->name = name;
	s->index = index;
	s->quoted = quoted;
	return 0;
}

/*
 * [-]<integer> with |value| <= 10^9 (array indexes, interval counts): the integer's token, its
 * value with the sign in *v; NULL (error set) for anything else
 */
static btx_btql_token *
p_bounded_int(parser *p, const char *expected, const char *syntax_hint, const char *range_msg,
			  const char *range_hint, int64_t *v)
{
	int			neg = 0;
	btx_btql_token *t;

	if (is_op(peek(p), "-"))
	{
		neg = 1;
		advance(p);
	}
	t = peek(p);
	if (t->kind != TK_INT)
		return syntax_error(p, t, expected, syntax_hint);
	if (parse_int64(t->text, v) != 0 || *v > 1000000000)
	{
		btx_btql_error_at(p->c, t->off, "22023", NULL, range_hint, "%s", range_msg);
		return NULL;
	}
	if (neg)
		*v = -*v;
	return advance(p);
}

/*
 * A path whose first segment is the token first (a name or a quoted name):
 * .name, ."name", [i], [-i] follow.  Reads iteratively, whatever the length.
 */
static btx_btql_node *
p_path(parser *p, btx_btql_node *n, btx_btql_token *first)
{
	btx_btql_vec segs = {0};

	if (add_seg(p, &segs, first, first->text, 0, first->kind == TK_QIDENT) != 0)
		return NULL;
	for (;;)
	{
		btx_btql_token *t = peek(p);

		if (is_op(t, "."))
		{
			btx_btql_token *s;

			advance(p);
			s = peek(p);
			if (s->kind != TK_IDENT && s->kind != TK_QIDENT)
				return syntax_error(p, s, "a field name after \".\"",
									"Quote field names that contain spaces or symbols with double quotes, as in scores.\"Answer Relevance\".");
			advance(p);
			if (add_seg(p, &segs, s, s->text, 0, s->kind == TK_QIDENT) != 0)
				return NULL;
		}
		else if (is_op(t, "["))
		{
			int64_t		v;
			btx_btql_token *s;

			advance(p);
			s = p_bounded_int(p, "an integer array index",
							  "Index arrays with integer literals, as in tags[0] or tags[-1].",
							  "array index out of range", "Use an index between -1000000000 and 1000000000.", &v);
			if (s == NULL || expect_op(p, "]", "\"]\"") != 0)
				return NULL;
			if (add_seg(p, &segs, s, NULL, v, 0) != 0)
				return NULL;
		}
		else
			break;
	}
	n->segs = segs.data;
	n->nsegs = segs.n;
	finish(p, n);
	return n;
}

static const char *const interval_units[] = {
	"year", "month", "day", "hour", "minute", "second", "millisecond", "microsecond", NULL
};

/* interval <integer> <unit>, after the keyword (units singular; plurals get a hint) */
static btx_btql_node *
p_interval(parser *p, btx_btql_token *kw)
{
	btx_btql_node *n = new_node(p, E_INTERVAL, kw);
	btx_btql_token *t;
	int			i;
	int64_t		v;

	if (n == NULL)
		return NULL;
	t = peek(p);
	if (t->kind == TK_STRING)
		return not_supported(p, t->off, "Write the interval as interval <number> <unit>, as in interval 3 day.",
							 "a quoted interval");
	if (p_bounded_int(p, "an integer after interval",
					  "Write the interval as interval <number> <unit>, as in interval 7 day.",
					  "interval value out of range", "Use an interval count below one billion.", &v) == NULL)
		return NULL;
	t = peek(p);
	if (t->kind != TK_IDENT)
		return syntax_error(p, t, "an interval unit (year, month, day, hour, minute, second, millisecond or microsecond)",
							"Write the interval as interval <number> <unit>, as in interval 7 day.");
	for (i = 0; interval_units[i]; i++)
		if (strcasecmp(t->text, interval_units[i]) == 0)
			break;
	if (!interval_units[i])
	{
		size_t		l = strlen(t->text);

		/* plural units are a common slip: point at the singular form */
		for (i = 0; interval_units[i]; i++)
			if (l == strlen(interval_units[i]) + 1 && strncasecmp(t->text, interval_units[i], l - 1) == 0 &&
				(t->text[l - 1] == 's' || t->text[l - 1] == 'S'))
			{
				btx_btql_error_at(p->c, t->off, "22023", "a singular interval unit",
								  btx_btql_printf(&p->c->arena, "Write interval %lld %s.", (long long) v, interval_units[i]),
								  "unknown interval unit \"%s\"", t->text);
				return NULL;
			}
		btx_btql_error_at(p->c, t->off, "22023",
						  "one of year, month, day, hour, minute, second, millisecond, microsecond",
						  "Write the interval as interval <number> <unit>, as in interval 7 day.",
						  "unknown interval unit \"%s\"", t->text);
		return NULL;
	}
	advance(p);
	n->ival = v;
	n->str = (char *) interval_units[i];
	finish(p, n);
	return n;
}

/*
 * A call after its name: ANY_SPAN(e) and FILTER_SPANS(e) become their own
 * nodes, CAST(e AS type) a cast; other names a function node (DISTINCT and
 * count(*) are recorded; the compiler knows which functions exist).
 */
static btx_btql_node *
p_call(parser *p, btx_btql_token *name)
{
	btx_btql_node *n;
	btx_btql_vec args = {0};
	btx_btql_node **slot;

	advance(p);					/* ( */
	if (strcasecmp(name->text, "any_span") == 0 || strcasecmp(name->text, "filter_spans") == 0)
	{
		n = new_node(p, strcasecmp(name->text, "any_span") == 0 ? E_ANYSPAN : E_FILTERSPANS, name);
		if (n == NULL || (n->left = p_expr(p)) == NULL)
			return NULL;
		if (expect_op(p, ")", "\")\"") != 0)
			return NULL;
		finish(p, n);
		return n;
	}
	if (strcasecmp(name->text, "cast") == 0)
	{
		btx_btql_token *t;

		n = new_node(p, E_CAST, name);
		if (n == NULL || (n->left = p_expr(p)) == NULL)
			return NULL;
		if (!is_kw(peek(p), "as"))
			return syntax_error(p, peek(p), "AS and a type name", "Write CAST(expr AS type), as in CAST(metrics.tokens AS INTEGER).");
		advance(p);
		t = peek(p);
		if (t->kind != TK_IDENT)
			return syntax_error(p, t, "a type name", "Write CAST(expr AS type), as in CAST(metrics.tokens AS INTEGER).");
		advance(p);
		n->str = t->text;
		if (expect_op(p, ")", "\")\"") != 0)
			return NULL;
		finish(p, n);
		return n;
	}
	n = new_node(p, E_FUNC, name);
	if (n == NULL)
		return NULL;
	n->str = name->text;
	if (is_kw(peek(p), "distinct"))
	{
		advance(p);
		n->distinct = 1;
	}
	if (is_op(peek(p), "*") && is_op(peek_n(p, 1), ")"))
	{
		if ((slot = btx_btql_vec_push(&p->c->arena, &args, sizeof(*slot))) == NULL ||
			(*slot = new_node(p, E_STAR, peek(p))) == NULL)
			return NULL;
		advance(p);
	}
	else if (!is_op(peek(p), ")"))
	{
		for (;;)
		{
			if (args.n >= MAX_ARGS)
				return not_supported(p, peek(p)->off, "Pass at most 64 arguments.", "a call with more than 64 arguments");
			if ((slot = btx_btql_vec_push(&p->c->arena, &args, sizeof(*slot))) == NULL ||
				(*slot = p_expr(p)) == NULL)
				return NULL;
			if (is_op(peek(p), ","))
			{
				advance(p);
				continue;
			}
			break;
		}
	}
	if (expect_op(p, ")", "\",\" or \")\"") != 0)
		return NULL;
	n->nargs = args.n;
	n->args = args.data;
	finish(p, n);
	return n;
}

/* literals, paths, calls, interval, parenthesised expressions and [lists] */
static btx_btql_node *
p_primary(parser *p)
{
	btx_btql_token *t = peek(p);
	btx_btql_node *n;

	switch (t->kind)
	{
		case TK_INT:
		case TK_FLOAT:
			advance(p);
			n = new_node(p, t->kind == TK_INT ? E_INT : E_FLOAT, t);
			if (n == NULL)
				return NULL;
			n->str = t->text;
			if (t->kind == TK_INT && parse_int64(t->text, &n->ival) != 0)
			{
				/* too large for int8: keep it as a floating-point number */
				n->kind = E_FLOAT;
			}
			if (n->kind == E_FLOAT)
				n->fval = strtod(t->text, NULL);
			return n;
		case TK_STRING:
			advance(p);
			n = new_node(p, E_STRING, t);
			if (n)
				n->str = t->text;
			return n;
		case TK_QIDENT:
			advance(p);
			n = new_node(p, E_PATH, t);
			if (n == NULL || p_path(p, n, t) == NULL)
				return NULL;
			if (n->nsegs == 1)
			{
				/* resolved by the compiler: a known field, else a string */
				n->kind = E_QSTRING;
				n->str = n->segs[0].name;
			}
			return n;
		case TK_IDENT:
			if (is_kw(t, "null") || is_kw(t, "true") || is_kw(t, "false"))
			{
				advance(p);
				n = new_node(p, is_kw(t, "null") ? E_NULL : E_BOOL, t);
				if (n)
					n->ival = is_kw(t, "true");
				return n;
			}
			if (is_kw(t, "interval"))
			{
				advance(p);
				return p_interval(p, t);
			}
			if (is_op(peek_n(p, 1), "("))
			{
				advance(p);
				return p_call(p, t);
			}
			if (is_reserved(t))
				return syntax_error(p, t, "an expression",
									"Quote a field whose name is a keyword with double quotes, as in metadata.\"order\".");
			advance(p);
			n = new_node(p, E_PATH, t);
			if (n == NULL)
				return NULL;
			return p_path(p, n, t);
		case TK_OP:
			if (is_op(t, "("))
			{
				advance(p);
				if (is_kw(peek(p), "select") || is_kw(peek(p), "with"))
					return not_supported(p, peek(p)->off, "Rewrite the query without a subquery.", "a subquery");
				n = p_expr(p);
				if (n == NULL)
					return NULL;
				if (expect_op(p, ")", "\")\"") != 0)
					return NULL;
				return n;
			}
			if (is_op(t, "["))
			{
				advance(p);
				return p_list(p, t, "]");
			}
			return syntax_error(p, t, "an expression", NULL);
		case TK_EOF:
			return syntax_error(p, t, "an expression", NULL);
	}
	return syntax_error(p, t, "an expression", NULL);
}

/*
 * One more level of recursion (a parenthesis, a bracket, a unary operator):
 * the parser recurses for these, so their nesting is bounded (max_nesting).
 */
static int
too_deep(parser *p, btx_btql_token *at)
{
	if (++p->depth <= p->c->lim.max_nesting)
		return 0;
	btx_btql_error_at(p->c, at->off, "0A000", NULL, "Simplify the expression.",
					  "nesting deeper than %d levels is not supported", p->c->lim.max_nesting);
	return 1;
}

/* unary minus; folded into a number that follows it directly (-2 is a literal) */
static btx_btql_node *
p_unary(parser *p)
{
	btx_btql_token *t = peek(p);
	btx_btql_node *n,
			   *e;

	if (is_op(t, "-"))
	{
		if (too_deep(p, t))
			return NULL;
		advance(p);
		e = p_unary(p);
		p->depth--;
		if (e == NULL)
			return NULL;
		if (e->kind == E_INT && e->off == t->off + 1 && e->ival != INT64_MIN)
		{
			e->ival = -e->ival;
			e->off = t->off;
			e->col = t->col;
			return e;
		}
		if (e->kind == E_FLOAT && e->off == t->off + 1)
		{
			e->fval = -e->fval;
			e->off = t->off;
			e->col = t->col;
			return e;
		}
		n = new_node(p, E_NEG, t);
		if (n == NULL)
			return NULL;
		n->left = e;
		finish(p, n);
		return n;
	}
	return p_primary(p);
}

/* a binary node; its height is checked here, where chains grow */
static btx_btql_node *
binop(parser *p, btx_btql_node *l, const char *op, btx_btql_node *r)
{
	btx_btql_node *n = alloc_node(p, l->off);

	if (n == NULL)
		return NULL;
	n->kind = E_BINOP;
	n->off = l->off;
	n->line = l->line;
	n->col = l->col;
	n->end = r->end;
	snprintf(n->op, sizeof(n->op), "%s", op);
	n->left = l;
	n->right = r;
	set_depth(p, n);
	return p->c->err->code ? NULL : n;
}

/*
 * one left-associative binary level: operands from next, operators the TK_OP spellings ops
 * (NULL-terminated) or the keyword kw
 */
static btx_btql_node *
p_left(parser *p, btx_btql_node *(*next) (parser *), const char *const *ops, const char *kw)
{
	btx_btql_node *l = next(p);

	while (l)
	{
		btx_btql_token *t = peek(p);
		const char *op = NULL;
		btx_btql_node *r;

		if (kw && is_kw(t, kw))
			op = kw;
		for (int i = 0; ops && ops[i] && op == NULL; i++)
			if (is_op(t, ops[i]))
				op = t->op;
		if (op == NULL)
			break;
		advance(p);
		if ((r = next(p)) == NULL)
			return NULL;
		l = binop(p, l, op, r);
	}
	return l;
}

static btx_btql_node *
p_mul(parser *p)
{
	static const char *const ops[] = {"*", "/", "%", NULL};

	return p_left(p, p_unary, ops, NULL);
}

static btx_btql_node *
p_add(parser *p)
{
	static const char *const ops[] = {"+", "-", NULL};

	return p_left(p, p_mul, ops, NULL);
}

/* a unary postfix node (IS NULL ...) around e */
static btx_btql_node *
wrap(parser *p, btx_btql_ekind kind, btx_btql_node *e, int neg)
{
	btx_btql_node *n = alloc_node(p, e->off);

	if (n == NULL)
		return NULL;
	n->kind = kind;
	n->off = e->off;
	n->line = e->line;
	n->col = e->col;
	n->left = e;
	n->neg = neg;
	n->end = last_end(p);
	set_depth(p, n);
	return p->c->err->code ? NULL : n;
}

/*
 * Comparisons and the word operators after an additive expression, in a
 * loop: = != <> < <= > >= <=> <!=>, IS [NOT] NULL/TRUE/FALSE, ISNULL,
 * [NOT] LIKE / ILIKE / MATCH / INCLUDES / CONTAINS, [NOT] IN (list).
 */
static btx_btql_node *
p_cmp(parser *p)
{
	btx_btql_node *l = p_add(p);

	while (l)
	{
		btx_btql_token *t = peek(p);
		int			neg = 0;

		if (t->kind == TK_OP && (strcmp(t->op, "=") == 0 || strcmp(t->op, "!=") == 0 ||
								 strcmp(t->op, "<>") == 0 || strcmp(t->op, "<") == 0 ||
								 strcmp(t->op, "<=") == 0 || strcmp(t->op, ">") == 0 ||
								 strcmp(t->op, ">=") == 0 || strcmp(t->op, "<=>") == 0 ||
								 strcmp(t->op, "<!=>") == 0))
		{
			btx_btql_node *r;

			advance(p);
			if ((r = p_add(p)) == NULL)
				return NULL;
			l = binop(p, l, strcmp(t->op, "<>") == 0 ? "!=" : t->op, r);
			continue;
		}
		if (is_kw(t, "is"))
		{
			btx_btql_token *w;

			advance(p);
			if (is_kw(peek(p), "not"))
			{
				advance(p);
				neg = 1;
			}
			w = peek(p);
			if (is_kw(w, "null"))
				l = wrap(p, neg ? E_ISNOTNULL : E_ISNULL, l, 0);
			else if (is_kw(w, "true"))
				l = wrap(p, neg ? E_ISNOTTRUE : E_ISTRUE, l, 0);
			else if (is_kw(w, "false"))
				l = wrap(p, neg ? E_ISNOTFALSE : E_ISFALSE, l, 0);
			else
				return syntax_error(p, w, "NULL, TRUE or FALSE after IS",
									"Only IS [NOT] NULL, IS [NOT] TRUE and IS [NOT] FALSE are supported.");
			advance(p);
			if (l)
				l->end = last_end(p);
			continue;
		}
		if (is_kw(t, "isnull") || is_kw(t, "isnotnull"))
		{
			advance(p);
			l = wrap(p, is_kw(t, "isnull") ? E_ISNULL : E_ISNOTNULL, l, 0);
			continue;
		}
		if (is_kw(t, "not"))
		{
			btx_btql_token *w = peek_n(p, 1);

			if (is_kw(w, "like") || is_kw(w, "ilike") || is_kw(w, "match") || is_kw(w, "in") ||
				is_kw(w, "includes") || is_kw(w, "contains"))
			{
				advance(p);
				t = peek(p);
				neg = 1;
			}
			else
				break;
		}
		if (is_kw(t, "like") || is_kw(t, "ilike") || is_kw(t, "match") ||
			is_kw(t, "includes") || is_kw(t, "contains"))
		{
			btx_btql_ekind k = is_kw(t, "like") ? E_LIKE : is_kw(t, "ilike") ? E_ILIKE :
				is_kw(t, "match") ? E_MATCH : E_INCLUDES;
			btx_btql_node *r,
					   *n;

			if (k == E_INCLUDES && p->syntax == BTX_BTQL_SYNTAX_SQL)
				return not_supported(p, t->off,
									 "Use the function contains(array, value) in SQL syntax, or write the query in BTQL clause syntax.",
									 "the INCLUDES operator in SQL syntax");
			advance(p);
			if ((r = p_add(p)) == NULL)
				return NULL;
			n = binop(p, l, "", r);
			if (n == NULL)
				return NULL;
			n->kind = k;
			n->neg = neg;
			l = n;
			continue;
		}
		if (is_kw(t, "in"))
		{
			btx_btql_token *o;
			btx_btql_node *lst,
					   *n;

			advance(p);
			o = peek(p);
			if (!is_op(o, "(") && !is_op(o, "["))
				return syntax_error(p, o, "a list of values in parentheses or brackets",
									"Write x IN ('a', 'b') in SQL syntax or x IN ['a', 'b'] in BTQL syntax.");
			advance(p);
			if (is_op(o, "(") && (is_kw(peek(p), "select") || is_kw(peek(p), "with")))
				return not_supported(p, peek(p)->off, "List the values literally.", "a subquery");
			if ((lst = p_list(p, o, is_op(o, "(") ? ")" : "]")) == NULL)
				return NULL;
			n = binop(p, l, "", lst);
			if (n == NULL)
				return NULL;
			n->kind = E_IN;
			n->neg = neg;
			l = n;
			continue;
		}
		break;
	}
	return l;
}

static btx_btql_node *
p_not(parser *p)
{
	btx_btql_token *t = peek(p);

	if (is_kw(t, "not"))
	{
		btx_btql_node *e,
				   *n;

		if (too_deep(p, t))
			return NULL;
		advance(p);
		e = p_not(p);
		p->depth--;
		if (e == NULL)
			return NULL;
		n = new_node(p, E_NOT, t);
		if (n == NULL)
			return NULL;
		n->left = e;
		finish(p, n);
		return n;
	}
	return p_cmp(p);
}

static btx_btql_node *
p_and(parser *p)
{
	return p_left(p, p_not, NULL, "and");
}

static btx_btql_node *
p_or(parser *p)
{
	return p_left(p, p_and, NULL, "or");
}

/* a whole expression: cond ? a : b (right-associative) over OR */
static btx_btql_node *
p_expr(parser *p)
{
	btx_btql_node *c,
			   *n;

	if (too_deep(p, peek(p)))
		return NULL;
	c = p_or(p);
	if (c && is_op(peek(p), "?"))
	{
		btx_btql_node *a,
				   *b;

		advance(p);
		if ((a = p_expr(p)) == NULL)
		{
			p->depth--;
			return NULL;
		}
		if (expect_op(p, ":", "\":\" of the conditional expression") != 0)
		{
			p->depth--;
			return NULL;
		}
		if ((b = p_expr(p)) == NULL)
		{
			p->depth--;
			return NULL;
		}
		n = alloc_node(p, c->off);
		if (n == NULL)
			return NULL;
		n->kind = E_IF;
		n->off = c->off;
		n->line = c->line;
		n->col = c->col;
		n->end = b->end;
		n->nargs = 3;
		n->args = btx_btql_alloc(&p->c->arena, sizeof(btx_btql_node *) * 3);
		if (n->args == NULL)
			return NULL;
		n->args[0] = c;
		n->args[1] = a;
		n->args[2] = b;
		set_depth(p, n);
		c = p->c->err->code ? NULL : n;
	}
	p->depth--;
	return c;
}

/* ---- clause-level helpers shared by both syntaxes ---- */

/* append it to the items of a clause (what names the clause for errors) */
static int
push_item(parser *p, btx_btql_vec *v, btx_btql_item *it, int off, const char *what)
{
	btx_btql_item *slot;

	if (v->n >= p->c->lim.max_items)
	{
		too_many_items(p, off, what);
		return -1;
	}
	if ((slot = btx_btql_vec_push(&p->c->arena, v, sizeof(*slot))) == NULL)
		return -1;
	*slot = *it;
	return 0;
}

/* the name after AS: a quoted name, or a word that is not reserved */
static char *
p_alias_name(parser *p)
{
	btx_btql_token *t = peek(p);

	if (t->kind == TK_QIDENT || (t->kind == TK_IDENT && !is_reserved(t)))
	{
		advance(p);
		return t->text;
	}
	syntax_error(p, t, "an alias name after AS", "Quote an alias that is a keyword with double quotes.");
	return NULL;
}

/*
 * comma list of expr [[AS] alias] (bare alias only in SQL syntax);
 * positions: a lone integer becomes a 1-based position (dimensions, GROUP BY)
 */
static int
p_items(parser *p, btx_btql_item **arr, int *n, int allow_alias, int allow_pos, int sort, const char *what)
{
	btx_btql_vec items = {0};

	for (;;)
	{
		btx_btql_item it;
		btx_btql_token *t = peek(p);

		memset(&it, 0, sizeof(it));
		if (allow_pos && t->kind == TK_INT &&
			(is_op(peek_n(p, 1), ",") || peek_n(p, 1)->kind == TK_EOF || is_kw(peek_n(p, 1), "having") ||
			 is_kw(peek_n(p, 1), "order") || is_kw(peek_n(p, 1), "limit") || is_kw(peek_n(p, 1), "pivot") ||
			 is_kw(peek_n(p, 1), "offset") || is_op(peek_n(p, 1), ";") || (sort && (is_kw(peek_n(p, 1), "asc") ||
																					 is_kw(peek_n(p, 1), "desc")))))
		{
			int64_t		v = 0;

			if (parse_int64(t->text, &v) != 0 || v < 1 || v > 1000)
			{
				btx_btql_error_at(p->c, t->off, "22023", NULL, "Positions count select items from 1.",
								  "position %s is out of range", t->text);
				return -1;
			}
			it.position = (int) v;
			it.expr = new_node(p, E_INT, t);
			if (it.expr == NULL)
				return -1;
			it.expr->ival = v;
			advance(p);
		}
		else if ((it.expr = p_expr(p)) == NULL)
			return -1;
		if (allow_alias)
		{
			if (is_kw(peek(p), "as"))
			{
				advance(p);
				if ((it.alias = p_alias_name(p)) == NULL)
					return -1;
			}
			else if (p->syntax == BTX_BTQL_SYNTAX_SQL &&
					 (peek(p)->kind == TK_QIDENT || (peek(p)->kind == TK_IDENT && !is_reserved(peek(p)))))
				it.alias = advance(p)->text;
		}
		if (sort)
		{
			if (is_kw(peek(p), "asc"))
				advance(p);
			else if (is_kw(peek(p), "desc"))
			{
				advance(p);
				it.desc = 1;
			}
		}
		if (push_item(p, &items, &it, t->off, what) != 0)
			return -1;
		*arr = items.data;
		*n = items.n;
		if (!is_op(peek(p), ","))
			return 0;
		advance(p);
	}
}

static const char *const other_sources[] = {
	"experiment", "dataset", "prompt", "function", "view", "project_prompts",
	"project_functions", "org_prompts", "org_functions", NULL
};

/* spans, traces or summary */
static int
set_shape(parser *p, btx_btql_ast *q, btx_btql_token *t, const char *name)
{
	if (strcasecmp(name, "spans") == 0)
		q->shape = BTX_BTQL_SPANS;
	else if (strcasecmp(name, "traces") == 0)
		q->shape = BTX_BTQL_TRACES;
	else if (strcasecmp(name, "summary") == 0)
		q->shape = BTX_BTQL_SUMMARY;
	else
	{
		btx_btql_error_at(p->c, t->off, "22023", "spans, traces or summary",
						  "Use one of the shapes spans, traces or summary.",
						  "unknown shape \"%s\"", name);
		return -1;
	}
	return 0;
}

/* fn('id' [, 'id' ...] [, shape => 'traces']) */
static int
p_source(parser *p, btx_btql_ast *q)
{
	btx_btql_token *fn = peek(p);
	btx_btql_vec ids = {0};
	int			i;

	if (is_op(fn, "("))
	{
		not_supported(p, fn->off, "Query project_logs('<project>') directly.", "a subquery as a source");
		return -1;
	}
	if (fn->kind != TK_IDENT)
	{
		syntax_error(p, fn, "a source such as project_logs('<project id or name>')", NULL);
		return -1;
	}
	for (i = 0; other_sources[i]; i++)
		if (strcasecmp(fn->text, other_sources[i]) == 0)
		{
			btx_btql_error_at(p->c, fn->off, "0A000", NULL,
							  "btexport queries the logs of projects: use project_logs('<project id or name>').",
							  "source \"%s\" is not supported", fn->text);
			return -1;
		}
	if (strcasecmp(fn->text, "project_logs") != 0)
	{
		btx_btql_error_at(p->c, fn->off, "42883", "project_logs('<project id or name>')",
						  "btexport queries the logs of projects: use project_logs('<project id or name>').",
						  "unknown source \"%s\"", fn->text);
		return -1;
	}
	q->from_at = new_node(p, E_PATH, fn);
	q->from_fn = fn->text;
	q->has_from = 1;
	advance(p);
	if (expect_op(p, "(", "\"(\" after project_logs") != 0)
		return -1;
	for (;;)
	{
		btx_btql_token *t = peek(p);

		if (is_kw(t, "shape") && is_op(peek_n(p, 1), "=>"))
		{
			btx_btql_token *s;

			advance(p);
			advance(p);
			s = peek(p);
			if (s->kind != TK_STRING)
			{
				syntax_error(p, s, "a quoted shape name ('spans', 'traces' or 'summary')", NULL);
				return -1;
			}
			advance(p);
			if (set_shape(p, q, s, s->text) != 0)
				return -1;
		}
		else if (t->kind == TK_STRING)
		{
			char	  **slot;

			if (ids.n >= p->c->lim.max_items)
			{
				too_many_items(p, t->off, "project_logs()");
				return -1;
			}
			if ((slot = btx_btql_vec_push(&p->c->arena, &ids, sizeof(*slot))) == NULL)
				return -1;
			*slot = t->text;
			q->ids = ids.data;
			q->nids = ids.n;
			advance(p);
		}
		else
		{
			syntax_error(p, t, "a quoted project id or name",
						 "Write the project as a string literal, as in project_logs('my-project').");
			return -1;
		}
		if (is_op(peek(p), ","))
		{
			advance(p);
			continue;
		}
		break;
	}
	if (expect_op(p, ")", "\",\" or \")\"") != 0)
		return -1;
	if (q->nids == 0)
	{
		btx_btql_error_at(p->c, fn->off, "22023", NULL, "Name at least one project id or name.",
						  "project_logs needs a project");
		return -1;
	}
	return 0;
}

/* append u to the query's unpivots (both syntaxes; at: for the limit error) */
static int
push_unpivot(parser *p, btx_btql_ast *q, btx_btql_unpivot *u, int at)
{
	btx_btql_unpivot *slot;

	if (p->unpivots.n >= p->c->lim.max_items)
	{
		too_many_items(p, at, "unpivot");
		return -1;
	}
	if ((slot = btx_btql_vec_push(&p->c->arena, &p->unpivots, sizeof(*slot))) == NULL)
		return -1;
	*slot = *u;
	q->unpivot = p->unpivots.data;
	q->nunpivot = p->unpivots.n;
	return 0;
}

/* UNPIVOT (value FOR key IN (object)), or (item FOR _ IN (array)), after UNPIVOT */
static int
p_unpivot_sql(parser *p, btx_btql_ast *q, btx_btql_token *kw)
{
	btx_btql_unpivot u;
	btx_btql_token *v,
			   *k;

	memset(&u, 0, sizeof(u));
	if (expect_op(p, "(", "\"(\" after UNPIVOT") != 0)
		return -1;
	v = peek(p);
	if (v->kind != TK_IDENT && v->kind != TK_QIDENT)
	{
		syntax_error(p, v, "the value column name", "Write UNPIVOT (value FOR key IN (object)) or UNPIVOT (item FOR _ IN (array)).");
		return -1;
	}
	advance(p);
	if (!is_kw(peek(p), "for"))
	{
		syntax_error(p, peek(p), "FOR", "Write UNPIVOT (value FOR key IN (object)) or UNPIVOT (item FOR _ IN (array)).");
		return -1;
	}
	advance(p);
	k = peek(p);
	if (k->kind != TK_IDENT && k->kind != TK_QIDENT)
	{
		syntax_error(p, k, "the key column name or _", "Write UNPIVOT (value FOR key IN (object)) or UNPIVOT (item FOR _ IN (array)).");
		return -1;
	}
	advance(p);
	if (!is_kw(peek(p), "in"))
	{
		syntax_error(p, peek(p), "IN", "Write UNPIVOT (value FOR key IN (object)) or UNPIVOT (item FOR _ IN (array)).");
		return -1;
	}
	advance(p);
	if (expect_op(p, "(", "\"(\"") != 0)
		return -1;
	if ((u.src = p_expr(p)) == NULL)
		return -1;
	if (expect_op(p, ")", "\")\"") != 0 || expect_op(p, ")", "\")\"") != 0)
		return -1;
	u.value_name = v->text;
	u.key_name = (k->kind == TK_IDENT && strcmp(k->text, "_") == 0) ? NULL : k->text;
	if ((u.at = new_node(p, E_PATH, kw)) == NULL)
		return -1;
	return push_unpivot(p, q, &u, kw->off);
}

/* PIVOT (agg [AS alias], ... FOR column IN (ANY)), after PIVOT */
static int
p_pivot_sql(parser *p, btx_btql_ast *q, btx_btql_token *kw)
{
	btx_btql_vec items = {0};

	if (q->pivot_at)
	{
		btx_btql_error_at(p->c, kw->off, "42601", NULL, "Write a single PIVOT with several aggregates.",
						  "PIVOT given twice");
		return -1;
	}
	q->pivot_at = new_node(p, E_PATH, kw);
	if (expect_op(p, "(", "\"(\" after PIVOT") != 0)
		return -1;
	for (;;)
	{
		btx_btql_item it;

		memset(&it, 0, sizeof(it));
		if ((it.expr = p_expr(p)) == NULL)
			return -1;
		if (is_kw(peek(p), "as"))
		{
			advance(p);
			if ((it.alias = p_alias_name(p)) == NULL)
				return -1;
		}
		if (push_item(p, &items, &it, it.expr->off, "PIVOT") != 0)
			return -1;
		q->pivot = items.data;
		q->npivot = items.n;
		if (!is_op(peek(p), ","))
			break;
		advance(p);
	}
	if (!is_kw(peek(p), "for"))
	{
		syntax_error(p, peek(p), "FOR and the pivot column", "Write PIVOT(avg(x) AS a FOR column IN (ANY)).");
		return -1;
	}
	advance(p);
	if ((q->pivot_col = p_add(p)) == NULL)
		return -1;
	if (!is_kw(peek(p), "in"))
	{
		syntax_error(p, peek(p), "IN (ANY)", "Write PIVOT(avg(x) AS a FOR column IN (ANY)).");
		return -1;
	}
	advance(p);
	if (expect_op(p, "(", "\"(\"") != 0)
		return -1;
	if (!is_kw(peek(p), "any"))
	{
		not_supported(p, peek(p)->off, "Write IN (ANY): the pivot columns come from the data.", "a PIVOT value list");
		return -1;
	}
	advance(p);
	if (expect_op(p, ")", "\")\"") != 0 || expect_op(p, ")", "\")\"") != 0)
		return -1;
	return 0;
}

/* the integer of LIMIT / limit: (0 or more) */
static int
p_limit_value(parser *p, btx_btql_ast *q)
{
	btx_btql_token *t = peek(p);

	if (t->kind != TK_INT)
	{
		if (t->kind == TK_OP && strcmp(t->op, "-") == 0)
		{
			btx_btql_error_at(p->c, t->off, "22023", NULL, "Use a limit of 0 or more.", "limit must not be negative");
			return -1;
		}
		syntax_error(p, t, "an integer limit", NULL);
		return -1;
	}
	if (parse_int64(t->text, &q->limit) != 0)
	{
		btx_btql_error_at(p->c, t->off, "22023", NULL, "Use a limit below 9223372036854775807.", "limit out of range");
		return -1;
	}
	advance(p);
	q->has_limit = 1;
	return 0;
}

/* the body or query must end here */
static int
at_end(parser *p)
{
	if (peek(p)->kind == TK_EOF)
		return 1;
	syntax_error(p, peek(p), p->syntax == BTX_BTQL_SYNTAX_SQL ? "the next clause or the end of the query" :
				 "the end of the clause", NULL);
	return 0;
}

/* ---- SQL syntax ---- */

/*
 * SELECT list FROM source [UNPIVOT ...] [PIVOT] [WHERE] [GROUP BY] [PIVOT]
 * [HAVING] [ORDER BY] [LIMIT] [OFFSET 'cursor']; what is not supported
 * (WITH, DISTINCT, JOIN, aliases, TABLESAMPLE, SETTINGS) says so.
 */
static btx_btql_ast *
parse_sql(parser *p, btx_btql_ast *q)
{
	btx_btql_token *t;
	int			by;

	t = advance(p);
	if (is_kw(t, "with"))
		return not_supported(p, t->off, "Rewrite the query as a single SELECT.", "WITH");
	if (is_kw(peek(p), "distinct"))
		return not_supported(p, peek(p)->off, "Use GROUP BY to get distinct values.", "SELECT DISTINCT");
	q->has_select = 1;
	if (is_op(peek(p), "*"))
	{
		advance(p);
		q->star = 1;
	}
	else if (p_items(p, &q->select, &q->nselect, 1, 0, 0, "the select list") != 0)
		return NULL;
	if (!is_kw(peek(p), "from"))
		return syntax_error(p, peek(p), "FROM", NULL);
	advance(p);
	if (p_source(p, q) != 0)
		return NULL;
	t = peek(p);
	if (is_kw(t, "as") || (t->kind == TK_IDENT && !is_reserved(t) && !is_kw(t, "group") && !is_kw(t, "tablesample") &&
						   !is_kw(t, "settings")))
	{
		if (is_kw(t, "join") || is_kw(peek_n(p, 1), "join"))
			return not_supported(p, t->off, "Query one source per query.", "JOIN");
		return not_supported(p, t->off, "Refer to fields without a table prefix.", "a table alias");
	}
	if (is_op(t, ","))
		return not_supported(p, t->off, "Query one source per query.", "more than one source");
	if (is_kw(t, "join"))
		return not_supported(p, t->off, "Query one source per query.", "JOIN");
	if (is_kw(t, "tablesample"))
		return not_supported(p, t->off, "Filter the rows instead, for example on created.", "TABLESAMPLE");
	while (is_kw(peek(p), "unpivot"))
	{
		t = advance(p);
		if (p_unpivot_sql(p, q, t) != 0)
			return NULL;
	}
	/* PIVOT may stand before WHERE or after GROUP BY */
	if (is_kw(peek(p), "pivot") && p_pivot_sql(p, q, advance(p)) != 0)
		return NULL;
	if (accept_kw(p, "where") && (q->filter = p_expr(p)) == NULL)
		return NULL;
	if ((by = accept_kw_by(p, "group", "BY after GROUP")) < 0)
		return NULL;
	if (by)
	{
		q->has_dims = 1;
		if (p_items(p, &q->dims, &q->ndims, 0, 1, 0, "GROUP BY") != 0)
			return NULL;
	}
	if (is_kw(peek(p), "pivot") && p_pivot_sql(p, q, advance(p)) != 0)
		return NULL;
	if (accept_kw(p, "having") && (q->having = p_expr(p)) == NULL)
		return NULL;
	if ((by = accept_kw_by(p, "order", "BY after ORDER")) < 0)
		return NULL;
	if (by && p_items(p, &q->sort, &q->nsort, 0, 1, 1, "ORDER BY") != 0)
		return NULL;
	if (accept_kw(p, "limit") && p_limit_value(p, q) != 0)
		return NULL;
	if (accept_kw(p, "offset"))
	{
		t = peek(p);
		if (t->kind == TK_INT)
			return not_supported(p, t->off, "Pass the cursor token of the previous response, as in OFFSET '<cursor>'.",
								 "a numeric OFFSET");
		if (t->kind != TK_STRING)
			return syntax_error(p, t, "a cursor token string", NULL);
		q->cursor = t->text;
		advance(p);
	}
	if (is_kw(peek(p), "settings"))
		return not_supported(p, peek(p)->off, "Remove the SETTINGS clause.", "SETTINGS");
	if (is_op(peek(p), ";"))
		advance(p);
	if (!at_end(p))
		return NULL;
	return q;
}

/* ---- clause syntax ---- */

/*
 * One function per clause of the clause syntax: each reads the clause's body
 * (the tokens up to the next header, which parse_clauses has cut out).
 */
typedef int (*clause_body) (parser *p, btx_btql_ast *q, btx_btql_token *hdr);

static int
c_select(parser *p, btx_btql_ast *q, btx_btql_token *hdr)
{
	q->has_select = 1;
	if (peek(p)->kind == TK_EOF)
	{
		syntax_error(p, peek(p), "* or a list of expressions", NULL);
		return -1;
	}
	if (is_op(peek(p), "*") && peek_n(p, 1)->kind == TK_EOF)
	{
		advance(p);
		q->star = 1;
		return 0;
	}
	return p_items(p, &q->select, &q->nselect, 1, 0, 0, "select:");
}

static int
c_from(parser *p, btx_btql_ast *q, btx_btql_token *hdr)
{
	btx_btql_token *t;

	if (p_source(p, q) != 0)
		return -1;
	t = peek(p);
	if (t->kind == TK_IDENT)
	{
		advance(p);
		return set_shape(p, q, t, t->text);
	}
	return 0;
}

static int
c_filter(parser *p, btx_btql_ast *q, btx_btql_token *hdr)
{
	return (q->filter = p_expr(p)) ? 0 : -1;
}

static int
c_final_filter(parser *p, btx_btql_ast *q, btx_btql_token *hdr)
{
	return (q->having = p_expr(p)) ? 0 : -1;
}

static int
c_dimensions(parser *p, btx_btql_ast *q, btx_btql_token *hdr)
{
	q->has_dims = 1;
	return p_items(p, &q->dims, &q->ndims, 1, 1, 0, "dimensions:");
}

static int
c_measures(parser *p, btx_btql_ast *q, btx_btql_token *hdr)
{
	q->has_measures = 1;
	return p_items(p, &q->measures, &q->nmeasures, 1, 0, 0, "measures:");
}

static int
c_sort(parser *p, btx_btql_ast *q, btx_btql_token *hdr)
{
	return p_items(p, &q->sort, &q->nsort, 0, 1, 1, "sort:");
}

static int
c_limit(parser *p, btx_btql_ast *q, btx_btql_token *hdr)
{
	return p_limit_value(p, q);
}

static int
c_cursor(parser *p, btx_btql_ast *q, btx_btql_token *hdr)
{
	btx_btql_token *t = peek(p);

	if (t->kind != TK_STRING)
	{
		syntax_error(p, t, "a quoted cursor token", NULL);
		return -1;
	}
	q->cursor = t->text;
	advance(p);
	return 0;
}

static int
c_preview_length(parser *p, btx_btql_ast *q, btx_btql_token *hdr)
{
	btx_btql_token *t = peek(p);
	int64_t		v;

	if (t->kind != TK_INT)
	{
		syntax_error(p, t, "an integer preview length", NULL);
		return -1;
	}
	if (parse_int64(t->text, &v) != 0 || v > 1000000000)
	{
		btx_btql_error_at(p->c, t->off, "22023", NULL, "Use a preview length below one billion.",
						  "preview_length out of range");
		return -1;
	}
	q->preview_length = (int) v;
	advance(p);
	return 0;
}

/* pivot: alias [, alias ...] (measure aliases; the pivot column is the last dimension) */
static int
c_pivot(parser *p, btx_btql_ast *q, btx_btql_token *hdr)
{
	btx_btql_vec items = {0};

	if ((q->pivot_at = new_node(p, E_PATH, hdr)) == NULL)
		return -1;
	for (;;)
	{
		btx_btql_item it;
		btx_btql_token *t = peek(p);

		memset(&it, 0, sizeof(it));
		if (t->kind != TK_IDENT && t->kind != TK_QIDENT)
		{
			syntax_error(p, t, "a measure alias", "List measure aliases, as in pivot: avg_helpfulness.");
			return -1;
		}
		advance(p);
		it.alias = t->text;
		it.expr = new_node(p, E_PATH, t);
		if (it.expr == NULL || push_item(p, &items, &it, t->off, "pivot:") != 0)
			return -1;
		q->pivot = items.data;
		q->npivot = items.n;
		if (!is_op(peek(p), ","))
			return 0;
		advance(p);
	}
}

/* one "source as (key, value)" or "source as (item)" of unpivot: */
static int
p_unpivot_item(parser *p, btx_btql_ast *q)
{
	btx_btql_unpivot u;
	btx_btql_token *n1,
			   *n2 = NULL;
	const char *usage = "Write unpivot: scores as (name, value) or unpivot: tags as (tag).";
	int			at = peek(p)->off;

	memset(&u, 0, sizeof(u));
	if ((u.at = new_node(p, E_PATH, peek(p))) == NULL || (u.src = p_add(p)) == NULL)
		return -1;
	if (!is_kw(peek(p), "as"))
	{
		syntax_error(p, peek(p), "AS and the new column names", usage);
		return -1;
	}
	advance(p);
	if (expect_op(p, "(", "\"(\"") != 0)
		return -1;
	n1 = peek(p);
	if (n1->kind != TK_IDENT && n1->kind != TK_QIDENT)
	{
		syntax_error(p, n1, "a column name", usage);
		return -1;
	}
	advance(p);
	if (is_op(peek(p), ","))
	{
		advance(p);
		n2 = peek(p);
		if (n2->kind != TK_IDENT && n2->kind != TK_QIDENT)
		{
			syntax_error(p, n2, "a column name", usage);
			return -1;
		}
		advance(p);
	}
	if (expect_op(p, ")", "\")\"") != 0)
		return -1;
	if (n2)
	{
		u.key_name = n1->text;
		u.value_name = n2->text;
	}
	else
		u.value_name = n1->text;
	return push_unpivot(p, q, &u, at);
}

static int
c_unpivot(parser *p, btx_btql_ast *q, btx_btql_token *hdr)
{
	for (;;)
	{
		if (p_unpivot_item(p, q) != 0)
			return -1;
		if (!is_op(peek(p), ","))
			return 0;
		advance(p);
	}
}

static int
c_sample(parser *p, btx_btql_ast *q, btx_btql_token *hdr)
{
	not_supported(p, hdr->off, "Filter the rows instead, for example on created or with a limit.", "the sample: clause");
	return -1;
}

static const struct
{
	const char *name;
	clause_body body;			/* NULL: recognised, not supported */
}			clauses[] = {
	{"select", c_select}, {"from", c_from}, {"filter", c_filter}, {"dimensions", c_dimensions},
	{"measures", c_measures}, {"final_filter", c_final_filter}, {"pivot", c_pivot},
	{"unpivot", c_unpivot}, {"sort", c_sort}, {"limit", c_limit}, {"cursor", c_cursor},
	{"sample", c_sample}, {"preview_length", c_preview_length},
	/* AST-only keys: recognised to reject them clearly */
	{"infer", NULL}, {"comparison_key", NULL}, {"weighted_scores", NULL}, {"custom_columns", NULL},
	{"inference_budget", NULL}, {"span_filter", NULL}, {"trace_filter", NULL},
	{"final_dimensions", NULL}, {"final_measures", NULL}, {NULL, NULL}
};

/* the index of a clause name in clauses[], or -1 */
static int
clause_index(btx_btql_token *t)
{
	int			i;

	if (t->kind != TK_IDENT)
		return -1;
	for (i = 0; clauses[i].name; i++)
		if (strcasecmp(t->text, clauses[i].name) == 0)
			return i;
	return -1;
}

/* token i starts a clause: a clause name and ":" at the start of a line or after "|" */
static int
is_header(btx_btql_ctx *c, int i)
{
	btx_btql_token *t = &c->toks[i];

	if (clause_index(t) < 0 || !(t[1].kind == TK_OP && strcmp(t[1].op, ":") == 0))
		return 0;
	return i == 0 || t->bol || (t[-1].kind == TK_OP && strcmp(t[-1].op, "|") == 0);
}

/* a clause body: empty bodies and recognised-but-unsupported clauses are errors */
static int
p_clause_body(parser *p, btx_btql_ast *q, int ci, btx_btql_token *hdr)
{
	const char *name = clauses[ci].name;

	if (peek(p)->kind == TK_EOF && strcmp(name, "select") != 0)
	{
		syntax_error(p, peek(p), btx_btql_printf(&p->c->arena, "the body of the %s: clause", name), NULL);
		return -1;
	}
	if (clauses[ci].body)
		return clauses[ci].body(p, q, hdr);
	btx_btql_error_at(p->c, hdr->off, "0A000", NULL,
					  "btexport accepts the clauses select, from, filter, dimensions, measures, final_filter, pivot, unpivot, sort, limit, cursor and preview_length.",
					  "clause \"%s\" is not supported", name);
	return -1;
}

/*
 * Clause syntax: find each header, cut its body at the next header or "|"
 * (a word and ":" starting a line that is no clause is a misspelt clause),
 * parse the body with its end fixed, and check that it was all read.
 */
static btx_btql_ast *
parse_clauses(parser *p, btx_btql_ast *q)
{
	btx_btql_ctx *c = p->c;
	int			i = 0,
				seen[32];

	memset(seen, 0, sizeof(seen));
	while (c->toks[i].kind != TK_EOF)
	{
		int			ci,
					j;
		btx_btql_token *hdr = &c->toks[i];

		if (!is_header(c, i))
		{
			if (hdr->kind == TK_IDENT && c->toks[i + 1].kind == TK_OP && strcmp(c->toks[i + 1].op, ":") == 0)
			{
				btx_btql_error_at(c, hdr->off, "42601", "a clause such as select:, from:, filter:, sort: or limit:",
								  "btexport accepts the clauses select, from, filter, dimensions, measures, final_filter, pivot, unpivot, sort, limit, cursor and preview_length.",
								  "unknown clause \"%s\"", hdr->text);
				return NULL;
			}
			return syntax_error(p, hdr, "a clause such as select:, from:, filter:, sort: or limit:",
								"Start each clause with its name and a colon, as in filter: scores.Factuality < 0.8.");
		}
		ci = clause_index(hdr);
		if (seen[ci])
		{
			btx_btql_error_at(c, hdr->off, "42601", NULL, "Combine the two clauses into one.",
							  "clause \"%s\" given twice", clauses[ci].name);
			return NULL;
		}
		seen[ci] = 1;
		/* body: up to the next header or "|" */
		j = i + 2;
		while (c->toks[j].kind != TK_EOF && !(c->toks[j].kind == TK_OP && strcmp(c->toks[j].op, "|") == 0) &&
			   !is_header(c, j))
		{
			/* an unknown "word:" starting a line is a misspelt clause */
			if (c->toks[j].bol && c->toks[j].kind == TK_IDENT && c->toks[j + 1].kind == TK_OP &&
				strcmp(c->toks[j + 1].op, ":") == 0 && c->toks[j + 1].off == c->toks[j].off + c->toks[j].len)
			{
				btx_btql_error_at(c, c->toks[j].off, "42601", "a clause such as select:, from:, filter:, sort: or limit:",
								  "btexport accepts the clauses select, from, filter, dimensions, measures, final_filter, pivot, unpivot, sort, limit, cursor and preview_length.",
								  "unknown clause \"%s\"", c->toks[j].text);
				return NULL;
			}
			j++;
		}
		p->pos = i + 2;
		p->end = j;
		set_eof(p);
		if (p_clause_body(p, q, ci, hdr) != 0)
			return NULL;
		if (!at_end(p))
			return NULL;
		i = j;
		if (c->toks[i].kind == TK_OP && strcmp(c->toks[i].op, "|") == 0)
		{
			i++;
			if (c->toks[i].kind == TK_EOF)
				return syntax_error(p, &c->toks[i], "a clause after \"|\"", NULL);
		}
	}
	return q;
}

/* the syntax of the query: forced, or detected from its first tokens */
static btx_btql_syntax
detect_syntax(parser *pr, btx_btql_syntax syntax)
{
	btx_btql_ctx *c = pr->c;
	btx_btql_token *t0 = &c->toks[0];

	if (syntax != BTX_BTQL_SYNTAX_AUTO)
		return syntax;
	if ((is_kw(t0, "select") || is_kw(t0, "with")) && !(c->toks[1].kind == TK_OP && strcmp(c->toks[1].op, ":") == 0))
		return BTX_BTQL_SYNTAX_SQL;
	if (clause_index(t0) >= 0 && c->toks[1].kind == TK_OP && strcmp(c->toks[1].op, ":") == 0)
		return BTX_BTQL_SYNTAX_CLAUSE;
	if (t0->kind == TK_EOF)
		btx_btql_error_at(c, t0->off, "42601", "a query", "Write a query such as select: * | from: project_logs('<project>').",
						  "empty query");
	else
		btx_btql_error_at(c, t0->off, "42601", "SELECT or a clause such as select: or from:",
						  "Start the query with SELECT (SQL syntax) or with a clause such as select: (BTQL syntax).",
						  "syntax error at %s", tok_desc(pr, t0));
	return BTX_BTQL_SYNTAX_AUTO;
}

/* see btql_int.h: the query model of the tokens, or NULL with the error set */
btx_btql_ast *
btx_btql_parse(btx_btql_ctx *c, btx_btql_syntax syntax)
{
	parser		pr;
	btx_btql_ast *q;
	btx_btql_token *t0;

	memset(&pr, 0, sizeof(pr));
	pr.c = c;
	pr.end = c->ntoks;
	set_eof(&pr);
	q = btx_btql_alloc(&c->arena, sizeof(btx_btql_ast));
	if (q == NULL)
	{
		btx_btql_error_alloc(c, 0);
		return NULL;
	}
	q->preview_length = -1;
	t0 = &c->toks[0];
	if ((syntax = detect_syntax(&pr, syntax)) == BTX_BTQL_SYNTAX_AUTO)
		return NULL;
	q->syntax = syntax;
	pr.syntax = syntax;
	if (syntax == BTX_BTQL_SYNTAX_SQL && !is_kw(t0, "select") && !is_kw(t0, "with"))
		return syntax_error(&pr, t0, "SELECT", NULL);
	q = syntax == BTX_BTQL_SYNTAX_SQL ? parse_sql(&pr, q) : parse_clauses(&pr, q);
	/* a failed allocation ends the parse without an error of its own */
	if (c->arena.failed && c->err->code == 0)
		btx_btql_error_alloc(c, peek(&pr)->off);
	return c->err->code ? NULL : q;
}
