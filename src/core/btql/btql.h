/*
 * btql.h — BTQL (clause syntax and SQL syntax) compiled to one PostgreSQL
 * SELECT over btexport.logs / btexport.projects.
 *
 * Plain C, no PostgreSQL headers.  The generated SQL never contains user
 * text: literals, JSON keys and project ids/names are bind parameters, every
 * identifier comes from the compiler's own whitelist, and output columns are
 * named c1, c2, ... in the SQL (their user-visible names are in columns[]).
 * Every placeholder carries an explicit cast ($3::pg_catalog.text), so the
 * caller may bind all parameters as text with unknown type.  Every function,
 * operator and type in the SQL is qualified with pg_catalog, so it means the
 * same whatever the search_path (the caller pins one all the same).
 *
 * Stages: btql_lex.c (arena and limits, tokens, errors), btql_parse.c (both
 * syntaxes to one query model, btql_int.h), btql_compile.c (model to SQL).
 */
#ifndef BTX_BTQL_H
#define BTX_BTQL_H

#include <stdint.h>

#include "core/common/btx_buf.h"

typedef enum btx_btql_shape
{
	BTX_BTQL_SPANS = 0,			/* one row per matching span (default) */
	BTX_BTQL_TRACES = 1,		/* every span of each selected trace */
	BTX_BTQL_SUMMARY = 2		/* one row per selected trace */
} btx_btql_shape;

typedef enum btx_btql_syntax
{
	BTX_BTQL_SYNTAX_AUTO = 0,
	BTX_BTQL_SYNTAX_CLAUSE = 1, /* select: / from: / filter: ... */
	BTX_BTQL_SYNTAX_SQL = 2		/* SELECT ... FROM project_logs(...) ... */
} btx_btql_syntax;

/*
 * Limits.  Each bounds the memory or the recursion of one compile stage, and
 * breaking one is a BTQL error with the position of the offending token or
 * expression (docs/btql.md "Limits").  A zero field takes the default.
 * Memory is linear in the input below the limits, and never above max_memory.
 */
typedef struct btx_btql_limits
{
	int			max_query_bytes;	/* query text (54000) */
	int			max_tokens;			/* tokens of the query (54000) */
	int			max_nodes;			/* expression nodes of the query (54000) */
	int			max_items;			/* items of one clause: select, dimensions,
									 * measures, sort, pivot, unpivot, projects
									 * (54000) */
	int			max_path_segments;	/* segments of one field path (54000) */
	int			max_nesting;		/* parentheses, brackets and unary operators
									 * nested in one another (0A000) */
	int			max_depth;			/* height of one expression tree (54001) */
	size_t		max_sql_bytes;		/* any SQL text the compiler builds,
									 * the final statement included (54001) */
	size_t		max_memory;			/* all memory of one compile (54001) */
} btx_btql_limits;

#define BTX_BTQL_MAX_QUERY_BYTES	1000000
#define BTX_BTQL_MAX_TOKENS			100000
#define BTX_BTQL_MAX_NODES			20000
#define BTX_BTQL_MAX_ITEMS			1000
#define BTX_BTQL_MAX_PATH_SEGMENTS	256
#define BTX_BTQL_MAX_NESTING		120
#define BTX_BTQL_MAX_DEPTH			1000
#define BTX_BTQL_MAX_SQL_BYTES		((size_t) 4 << 20)
#define BTX_BTQL_MAX_MEMORY			((size_t) 64 << 20)

/* what one compile used (filled on success and on failure) */
typedef struct btx_btql_stats
{
	int			tokens;
	int			nodes;
	size_t		memory;			/* bytes the compile allocated, peak (its
								 * arena is only freed at the end) */
	size_t		sql_bytes;		/* length of the compiled SQL, 0 on failure */
} btx_btql_stats;

typedef struct btx_btql_options
{
	/*
	 * Nonzero: export mode.  The caller binds $1 and $2 (xid8, the window
	 * [$1, $2)); spans shape returns matching spans written in the window,
	 * traces/summary return selected traces with at least one span written
	 * in the window (recomputed over all their spans).  Every row carries an
	 * extra int8 column "_xact_id" (summary: max over the trace) unless the
	 * select list already has it.  User parameters then start at $3.
	 */
	int			export_cursor;
	btx_btql_syntax syntax;		/* AUTO detects from the text */
	/*
	 * The request's tz_offset (btql.md 11): minutes, with JavaScript's
	 * getTimezoneOffset() sign (480 = UTC-8).  Day and hour boundaries of
	 * the date functions, and timestamp <-> date conversions, follow it.
	 * 0 = UTC.  The caller checks the range (-840 .. 840).
	 */
	int			tz_offset_minutes;
	const btx_btql_limits *limits;	/* NULL: the defaults above */
	btx_btql_stats *stats;		/* NULL, or filled by btx_btql_compile */
} btx_btql_options;

typedef struct btx_btql_param
{
	char	   *value;			/* text form of the value, never NULL */
	const char *type;			/* "text", "float8", "int8", "int4", "timestamptz",
								 * "interval", "bool" (static string) */
} btx_btql_param;

typedef struct btx_btql_column
{
	char	   *name;			/* user-visible name (alias, implicit alias,
								 * field name, or the expression's text) */
	const char *type;			/* "text", "float8", "int8", "bool", "timestamptz",
								 * "date", "interval", "jsonb", "text[]" */
} btx_btql_column;

typedef struct btx_btql_query
{
	char	   *sql;			/* one SELECT statement */
	btx_btql_param *params;		/* params[i] binds $(first_param + i) */
	int			nparams;
	int			first_param;	/* 3 in export mode, 1 otherwise */
	btx_btql_column *columns;	/* result columns c1..cN, in order */
	int			ncolumns;
	int			xact_column;	/* index of the "_xact_id" column, or -1 */
	int			pivot_column;	/* index of the jsonb column holding pivoted
								 * cells {"<value>_<measure>": v}, or -1; the
								 * caller merges its keys into the row */
	char	  **projects;		/* project_logs(...) arguments (id or name) */
	int			nprojects;
	btx_btql_shape shape;
	btx_btql_syntax syntax;		/* the syntax that was detected */
	int			grouped;		/* aggregate query */
	int			has_sort;
	int			has_limit;
	int64_t		limit;
	char	   *cursor;			/* cursor: / OFFSET token, or NULL (opaque;
								 * not compiled into the SQL) */
	int			unbounded;		/* no predicate on created, _xact_id, id or
								 * root_span_id (btql.md 4.4: warn) */
} btx_btql_query;

/*
 * Compile text into out (zeroed first).  Returns 0 on success; on failure
 * returns -1, fills err (sqlstate 42601 syntax, 42703 unknown field, 42702
 * ambiguous name, 42883 unknown function/operator, 42803 grouping, 22023 bad
 * argument, 0A000 not supported, 54000/54001 a limit, 53200 out of memory)
 * and leaves out empty.  opt may be NULL.
 */
extern int	btx_btql_compile(const char *text, const btx_btql_options *opt,
							 btx_btql_query *out, btx_error *err);
extern void btx_btql_query_free(btx_btql_query *q);

#endif							/* BTX_BTQL_H */
