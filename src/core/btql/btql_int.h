/*
 * btql_int.h — internals of the BTQL compiler shared by its .c files:
 * arena, tokens, AST (query model), lexer and parser entry points.
 *
 * The AST is one btx_btql_ast per query: its clauses (items, filter,
 * grouping, sort, pivot/unpivot, source) as parsed from either syntax, so
 * the compiler never sees which syntax a query was written in.  Expressions
 * are btx_btql_node trees; every node keeps its source span (for names and
 * error positions) and the height of its subtree (bounded by the parser, so
 * the compiler may recurse over trees).  Everything lives in the arena of
 * the compile (btx_btql_ctx) and goes with it.
 */
#ifndef BTX_BTQL_INT_H
#define BTX_BTQL_INT_H

#include <stddef.h>
#include <stdint.h>

#include "core/btql/btql.h"
#include "core/common/btx_buf.h"

/*
 * ---- arena: every compile-time allocation, freed at once ----
 *
 * The arena is also where the memory limits live: it counts the bytes of its
 * blocks against max_memory, and refuses any string longer than max_string
 * (the longest SQL text the compiler may build).  The first failure sticks:
 * every later allocation returns NULL, and the stage that notices reports
 * it with a position (btx_btql_error_alloc).
 */
typedef enum
{
	BTX_BTQL_ARENA_OK = 0,
	BTX_BTQL_ARENA_NOMEM,		/* malloc failed */
	BTX_BTQL_ARENA_MEMORY_LIMIT,	/* more than max_memory */
	BTX_BTQL_ARENA_SQL_LIMIT	/* a string longer than max_string */
} btx_btql_arena_failure;

typedef struct btx_btql_arena
{
	void	   *blocks;			/* linked list of malloc'd blocks */
	char	   *cur;
	size_t		left;
	size_t		used;			/* bytes of all blocks */
	size_t		max_memory;		/* 0: unlimited */
	size_t		max_string;		/* 0: unlimited */
	btx_btql_arena_failure failed;
} btx_btql_arena;

extern void *btx_btql_alloc(btx_btql_arena *a, size_t n);	/* zeroed */
extern char *btx_btql_strndup(btx_btql_arena *a, const char *s, size_t n);
extern char *btx_btql_printf(btx_btql_arena *a, const char *fmt,...) BTX_PRINTF(2, 3);
extern void btx_btql_arena_free(btx_btql_arena *a);

/*
 * A growable array in the arena.  Capacity doubles, so n pushes cost at most
 * twice the final array in bytes (the outgrown copies stay in the arena):
 * linear, where copying the array on every push would be quadratic.
 */
typedef struct btx_btql_vec
{
	void	   *data;
	int			n;
	int			cap;
} btx_btql_vec;

/* a new zeroed element of size elem at the end of v, or NULL */
extern void *btx_btql_vec_push(btx_btql_arena *a, btx_btql_vec *v, size_t elem);

/* A string builder in the arena, doubling like btx_btql_vec. */
typedef struct btx_btql_sb
{
	btx_btql_arena *a;
	char	   *data;
	size_t		len;
	size_t		cap;
} btx_btql_sb;

extern void btx_btql_sb_init(btx_btql_sb *b, btx_btql_arena *a);
extern void btx_btql_sb_append(btx_btql_sb *b, const char *s, size_t n);
extern void btx_btql_sb_puts(btx_btql_sb *b, const char *s);
extern void btx_btql_sb_printf(btx_btql_sb *b, const char *fmt,...) BTX_PRINTF(2, 3);
/* the built string ("" when nothing was added), or NULL after a failure */
extern char *btx_btql_sb_finish(btx_btql_sb *b);

/* ---- tokens ---- */
typedef enum
{
	TK_EOF = 0,
	TK_IDENT,					/* bare word (keywords too) */
	TK_QIDENT,					/* "double quoted" */
	TK_STRING,					/* 'single quoted' */
	TK_INT,
	TK_FLOAT,
	TK_OP						/* punctuation / operator, text in op[] */
} btx_btql_tokkind;

typedef struct btx_btql_token
{
	btx_btql_tokkind kind;
	int			off;			/* byte offset in the source */
	int			len;			/* byte length in the source */
	int			line;			/* 1-based */
	int			col;			/* 1-based, in characters */
	int			bol;			/* first token on its line */
	char		op[5];			/* TK_OP: "<=>", "(", ... */
	char	   *text;			/* IDENT: as written; STRING/QIDENT: unescaped */
} btx_btql_token;

/* ---- expressions ---- */
typedef enum
{
	E_NULL, E_BOOL, E_INT, E_FLOAT, E_STRING, E_QSTRING, E_INTERVAL, E_ARRAY,
	E_PATH,						/* segs[] */
	E_STAR,						/* count(*) */
	E_FUNC,						/* name, args */
	E_BINOP,					/* op: = != < <= > >= <=> <!=> + - * / % and or */
	E_NOT, E_NEG,
	E_ISNULL, E_ISNOTNULL, E_ISTRUE, E_ISNOTTRUE, E_ISFALSE, E_ISNOTFALSE,
	E_LIKE, E_ILIKE, E_MATCH, E_INCLUDES,	/* negated: flag neg */
	E_IN,						/* left, list (E_ARRAY), neg */
	E_IF,						/* args[0] cond, args[1] then, args[2] else */
	E_ANYSPAN, E_FILTERSPANS,	/* left */
	E_CAST						/* left, name = target type keyword */
} btx_btql_ekind;

typedef struct btx_btql_seg
{
	char	   *name;			/* NULL for an index */
	int64_t		index;
	int			quoted;
} btx_btql_seg;

typedef struct btx_btql_node btx_btql_node;
struct btx_btql_node
{
	btx_btql_ekind kind;
	int			off;			/* source span (for names and errors) */
	int			end;
	int			line;
	int			col;
	char		op[5];			/* E_BINOP */
	int			neg;			/* NOT LIKE, NOT IN, ... */
	int			distinct;		/* count(DISTINCT x) */
	int64_t		ival;
	double		fval;
	char	   *str;			/* literal text, function name, cast type, interval unit */
	btx_btql_seg *segs;
	int			nsegs;
	btx_btql_node *left;
	btx_btql_node *right;
	btx_btql_node **args;
	int			nargs;
	int			depth;			/* height of the subtree (bounded, see parser) */
};

/* ---- query model ---- */
typedef struct btx_btql_item
{
	btx_btql_node *expr;		/* NULL for a position */
	char	   *alias;			/* explicit alias or NULL */
	int			position;		/* 1-based GROUP BY / dimensions position, or 0 */
	int			desc;			/* sort items */
} btx_btql_item;

typedef struct btx_btql_unpivot
{
	btx_btql_node *src;
	char	   *key_name;		/* NULL for an array unpivot */
	char	   *value_name;
	btx_btql_node *at;			/* for error positions */
} btx_btql_unpivot;

typedef struct btx_btql_ast
{
	btx_btql_syntax syntax;
	int			star;
	btx_btql_item *select;
	int			nselect;
	int			has_select;
	btx_btql_node *from_at;
	char	   *from_fn;
	char	  **ids;
	int			nids;
	btx_btql_shape shape;
	int			has_from;
	btx_btql_node *filter;
	btx_btql_item *dims;
	int			ndims;
	int			has_dims;
	btx_btql_item *measures;
	int			nmeasures;
	int			has_measures;
	btx_btql_node *having;
	btx_btql_item *pivot;		/* SQL: expr + alias; clause: alias only (expr NULL) */
	int			npivot;
	btx_btql_node *pivot_col;	/* SQL: FOR path; clause: NULL (last dimension) */
	btx_btql_node *pivot_at;
	btx_btql_unpivot *unpivot;
	int			nunpivot;
	btx_btql_item *sort;
	int			nsort;
	int			has_limit;
	int64_t		limit;
	char	   *cursor;
	int			preview_length;	/* -1 = unset */
} btx_btql_ast;

/* ---- shared state of one compile ---- */
typedef struct btx_btql_ctx
{
	const char *src;
	btx_btql_arena arena;
	btx_error  *err;
	btx_btql_limits lim;		/* every field set (btx_btql_ctx_init) */
	btx_btql_token *toks;
	int			ntoks;
	int			nnodes;			/* expression nodes made by the parser */
} btx_btql_ctx;

/* zero c and set it up for src: limits (NULL = defaults), arena limits */
extern void btx_btql_ctx_init(btx_btql_ctx *c, const char *src, btx_error *err,
							  const btx_btql_limits *limits);
extern int	btx_btql_lex(btx_btql_ctx *c);
extern btx_btql_ast *btx_btql_parse(btx_btql_ctx *c, btx_btql_syntax syntax);
/* error at a source offset: sets err (first error wins) with caret excerpt */
extern void btx_btql_error_at(btx_btql_ctx *c, int off, const char *sqlstate,
							  const char *expected, const char *hint,
							  const char *fmt,...) BTX_PRINTF(6, 7);
/* the error for a failed arena (memory, SQL length, malloc), at off */
extern void btx_btql_error_alloc(btx_btql_ctx *c, int off);

#endif							/* BTX_BTQL_INT_H */
