/*
 * btql_lex.c — the memory and the first stage of a BTQL compile: the arena
 * (with the memory limits), growable arrays and strings in it, error
 * formatting, and the tokenizer shared by both BTQL syntaxes.
 *
 * Memory.  A compile allocates only from its arena (btx_btql_ctx.arena) and
 * frees it in one go at the end; nothing is freed earlier.  That keeps the
 * error paths simple, and it is why every growing structure must grow by
 * doubling (btx_btql_vec, btx_btql_sb): the outgrown copies stay behind, and
 * doubling bounds them by the final size, where growing by one element
 * would leave a quadratic trail (a 50,000-segment path once needed 24 GB).
 * The arena counts its blocks against limits.max_memory and refuses strings
 * longer than limits.max_sql_bytes, so even input that makes the SQL grow
 * faster than the text (nested conversions repeat their operand) ends in a
 * BTQL error, never in an allocation the server cannot afford.
 *
 * Tokens.  The tokenizer makes one pass over the text, which must be valid
 * UTF-8 (it becomes bind parameters), and produces an array of tokens that
 * the parser indexes freely; the array ends with TK_EOF plus a sentinel copy
 * so that looking one token past the end stays on EOF.  Tokens keep their
 * byte offset, line and column (in characters) for error positions, and
 * whether they start a line (clause headers of the clause syntax must).
 * String literals and quoted names are unescaped into the arena.
 *
 * Errors.  btx_btql_error_at formats every BTQL error the same way: the
 * message with "at line L, column C", a detail with what was expected and a
 * caret under the offending spot of its line, and a hint.  The first error
 * wins; later stages check err->code and stop.
 */
#include "core/btql/btql_int.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ARENA_BLOCK 8192
/* block header: keeps the data 16-byte aligned */
#define BLOCK_HEADER 16

typedef struct arena_block
{
	struct arena_block *next;
} arena_block;

/* ---- arena ---- */

static void
arena_fail(btx_btql_arena *a, btx_btql_arena_failure why)
{
	if (a->failed == BTX_BTQL_ARENA_OK)
		a->failed = why;
}

/* a new block with room for n bytes; the memory limit is checked first */
static int
arena_grow(btx_btql_arena *a, size_t n)
{
	size_t		sz = n > ARENA_BLOCK / 2 ? n + BLOCK_HEADER : ARENA_BLOCK;
	arena_block *b;

	if (a->max_memory && a->used + sz > a->max_memory)
	{
		arena_fail(a, BTX_BTQL_ARENA_MEMORY_LIMIT);
		return -1;
	}
	b = malloc(sz);
	if (b == NULL)
	{
		arena_fail(a, BTX_BTQL_ARENA_NOMEM);
		return -1;
	}
	a->used += sz;
	b->next = a->blocks;
	a->blocks = b;
	a->cur = (char *) b + BLOCK_HEADER;
	a->left = sz - BLOCK_HEADER;
	return 0;
}

void *
btx_btql_alloc(btx_btql_arena *a, size_t n)
{
	void	   *p;

	if (a->failed)
		return NULL;
	if (n > (size_t) 1 << 40)
	{
		arena_fail(a, BTX_BTQL_ARENA_MEMORY_LIMIT);
		return NULL;
	}
	n = (n + 15) & ~(size_t) 15;
	if (n > a->left && arena_grow(a, n) != 0)
		return NULL;
	p = a->cur;
	a->cur += n;
	a->left -= n;
	memset(p, 0, n);
	return p;
}

/* may the arena hold a string of n bytes? (sets the failure if not) */
static int
string_fits(btx_btql_arena *a, size_t n)
{
	if (a->max_string && n > a->max_string)
	{
		arena_fail(a, BTX_BTQL_ARENA_SQL_LIMIT);
		return 0;
	}
	return 1;
}

char *
btx_btql_strndup(btx_btql_arena *a, const char *s, size_t n)
{
	char	   *p;

	if (!string_fits(a, n) || (p = btx_btql_alloc(a, n + 1)) == NULL)
		return NULL;
	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

/* the length is measured first, so an over-long result is never allocated */
char *
btx_btql_printf(btx_btql_arena *a, const char *fmt,...)
{
	va_list		ap;
	int			n;
	char	   *p;

	if (a->failed)
		return NULL;
	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
	{
		arena_fail(a, BTX_BTQL_ARENA_NOMEM);
		return NULL;
	}
	if (!string_fits(a, (size_t) n) || (p = btx_btql_alloc(a, (size_t) n + 1)) == NULL)
		return NULL;
	va_start(ap, fmt);
	vsnprintf(p, (size_t) n + 1, fmt, ap);
	va_end(ap);
	return p;
}

void
btx_btql_arena_free(btx_btql_arena *a)
{
	arena_block *b = a->blocks;

	while (b)
	{
		arena_block *n = b->next;

		free(b);
		b = n;
	}
	memset(a, 0, sizeof(*a));
}

/* ---- growable arrays and strings in the arena ---- */

void *
btx_btql_vec_push(btx_btql_arena *a, btx_btql_vec *v, size_t elem)
{
	if (v->n == v->cap)
	{
		int			ncap = v->cap ? v->cap * 2 : 8;
		char	   *nd = btx_btql_alloc(a, elem * (size_t) ncap);

		if (nd == NULL)
			return NULL;
		if (v->n)
			memcpy(nd, v->data, elem * (size_t) v->n);
		v->data = nd;
		v->cap = ncap;
	}
	return (char *) v->data + elem * (size_t) v->n++;
}

void
btx_btql_sb_init(btx_btql_sb *b, btx_btql_arena *a)
{
	memset(b, 0, sizeof(*b));
	b->a = a;
}

/* room for n more bytes and the terminator; 0 on success */
static int
sb_reserve(btx_btql_sb *b, size_t n)
{
	size_t		ncap;
	char	   *nd;

	if (b->a->failed || !string_fits(b->a, b->len + n))
		return -1;
	if (b->len + n + 1 <= b->cap)
		return 0;
	ncap = b->cap ? b->cap * 2 : 256;
	while (ncap < b->len + n + 1)
		ncap *= 2;
	if ((nd = btx_btql_alloc(b->a, ncap)) == NULL)
		return -1;
	if (b->len)
		memcpy(nd, b->data, b->len);
	b->data = nd;
	b->cap = ncap;
	return 0;
}

void
btx_btql_sb_append(btx_btql_sb *b, const char *s, size_t n)
{
	if (sb_reserve(b, n) != 0)
		return;
	memcpy(b->data + b->len, s, n);
	b->len += n;
	b->data[b->len] = '\0';
}

/* s NULL: a piece whose allocation failed (the arena has the failure) */
void
btx_btql_sb_puts(btx_btql_sb *b, const char *s)
{
	if (s == NULL)
	{
		arena_fail(b->a, BTX_BTQL_ARENA_NOMEM);
		return;
	}
	btx_btql_sb_append(b, s, strlen(s));
}

/* formats straight into the buffer: no temporary copy of a long argument */
void
btx_btql_sb_printf(btx_btql_sb *b, const char *fmt,...)
{
	va_list		ap;
	int			n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
	{
		arena_fail(b->a, BTX_BTQL_ARENA_NOMEM);
		return;
	}
	if (sb_reserve(b, (size_t) n) != 0)
		return;
	va_start(ap, fmt);
	vsnprintf(b->data + b->len, (size_t) n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t) n;
}

char *
btx_btql_sb_finish(btx_btql_sb *b)
{
	if (b->a->failed)
		return NULL;
	if (b->data == NULL)
		return btx_btql_strndup(b->a, "", 0);
	return b->data;
}

/* ---- compile state ---- */

void
btx_btql_ctx_init(btx_btql_ctx *c, const char *src, btx_error *err, const btx_btql_limits *limits)
{
	static const btx_btql_limits defaults = {
		BTX_BTQL_MAX_QUERY_BYTES, BTX_BTQL_MAX_TOKENS, BTX_BTQL_MAX_NODES, BTX_BTQL_MAX_ITEMS,
		BTX_BTQL_MAX_PATH_SEGMENTS, BTX_BTQL_MAX_NESTING, BTX_BTQL_MAX_DEPTH, BTX_BTQL_MAX_SQL_BYTES,
		BTX_BTQL_MAX_MEMORY
	};

	memset(c, 0, sizeof(*c));
	c->src = src ? src : "";
	c->err = err;
	c->lim = defaults;
	if (limits)
	{
#define TAKE(f) if (limits->f > 0) c->lim.f = limits->f
		TAKE(max_query_bytes);
		TAKE(max_tokens);
		TAKE(max_nodes);
		TAKE(max_items);
		TAKE(max_path_segments);
		TAKE(max_nesting);
		TAKE(max_depth);
		TAKE(max_sql_bytes);
		TAKE(max_memory);
#undef TAKE
	}
	c->arena.max_memory = c->lim.max_memory;
	c->arena.max_string = c->lim.max_sql_bytes;
}

/* ---- UTF-8 ---- */

/* length of the valid UTF-8 sequence at s (as PostgreSQL accepts it), or 0 */
static int
utf8_seq_len(const unsigned char *s)
{
	unsigned char c = s[0];

	if (c < 0x80)
		return c ? 1 : 0;
	if (c >= 0xC2 && c <= 0xDF)
		return (s[1] >= 0x80 && s[1] <= 0xBF) ? 2 : 0;
	if (c >= 0xE0 && c <= 0xEF)
	{
		unsigned char lo = c == 0xE0 ? 0xA0 : 0x80,
					hi = c == 0xED ? 0x9F : 0xBF;

		return (s[1] >= lo && s[1] <= hi && s[2] >= 0x80 && s[2] <= 0xBF) ? 3 : 0;
	}
	if (c >= 0xF0 && c <= 0xF4)
	{
		unsigned char lo = c == 0xF0 ? 0x90 : 0x80,
					hi = c == 0xF4 ? 0x8F : 0xBF;

		return (s[1] >= lo && s[1] <= hi && s[2] >= 0x80 && s[2] <= 0xBF && s[3] >= 0x80 && s[3] <= 0xBF) ? 4 : 0;
	}
	return 0;
}

/* ---- errors ---- */

/* line, column (characters) and line start of byte offset off */
static void
position_of(const char *src, int off, int *line, int *col, int *lstart)
{
	int			i;

	*line = 1;
	*col = 1;
	*lstart = 0;
	for (i = 0; i < off && src[i]; i++)
	{
		if (src[i] == '\n')
		{
			(*line)++;
			*col = 1;
			*lstart = i + 1;
		}
		else if (((unsigned char) src[i] & 0xC0) != 0x80)
			(*col)++;
	}
}

/*
 * The detail: what was expected, then the error's line (its first 200 bytes;
 * invalid UTF-8 shown as "?") and a caret under column col.
 */
static void
caret_excerpt(btx_buf *d, const char *src, int lstart, int col, const char *expected)
{
	int			lend = lstart,
				i;

	if (expected)
		btx_buf_appendf(d, "Expected %s.\n", expected);
	while (src[lend] && src[lend] != '\n' && lend - lstart < 200)
		lend++;
	for (i = lstart; i < lend;)
	{
		char		ch = src[i];
		int			n = utf8_seq_len((const unsigned char *) src + i);

		if (n <= 1)
		{
			/* invalid bytes never reach the message: they show as "?" */
			btx_buf_putc(d, (ch == '\t' || ch == '\r') ? ' ' : n == 0 ? '?' : ch);
			i++;
		}
		else
		{
			btx_buf_append(d, src + i, n);
			i += n;
		}
	}
	btx_buf_putc(d, '\n');
	for (i = 1; i < col && i < 200; i++)
		btx_buf_putc(d, ' ');
	btx_buf_putc(d, '^');
}

/* see btql_int.h; the message gets " at line L, column C" */
void
btx_btql_error_at(btx_btql_ctx *c, int off, const char *sqlstate,
				  const char *expected, const char *hint,
				  const char *fmt,...)
{
	va_list		ap;
	char		msg[400];
	int			line,
				col,
				lstart;
	btx_buf		d;

	if (c->err->code != 0)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (off < 0)
		off = 0;
	position_of(c->src, off, &line, &col, &lstart);
	btx_error_set(c->err, 1, sqlstate, "%s at line %d, column %d", msg, line, col);
	btx_buf_init(&d);
	caret_excerpt(&d, c->src, lstart, col, expected);
	if (d.data)
		btx_error_detail(c->err, "%s", d.data);
	btx_buf_free(&d);
	btx_error_hint(c->err, "%s", hint ? hint :
				   "See docs/btql.md for the supported BTQL syntax.");
}

/* see btql_int.h: the limit that failed the arena, or out of memory */
void
btx_btql_error_alloc(btx_btql_ctx *c, int off)
{
	if (c->err->code != 0)
		return;
	switch (c->arena.failed)
	{
		case BTX_BTQL_ARENA_MEMORY_LIMIT:
			btx_btql_error_at(c, off, "54001", NULL,
							  "Simplify the query: fewer, shorter expressions, paths and lists.",
							  "btql query needs more than %zu MB of memory to compile",
							  c->lim.max_memory >> 20);
			break;
		case BTX_BTQL_ARENA_SQL_LIMIT:
			btx_btql_error_at(c, off, "54001", NULL,
							  "Simplify the expression here: nested conversions and aliases used many times repeat their operand in the SQL.",
							  "compiled query would be longer than %zu bytes", c->lim.max_sql_bytes);
			break;
		default:
			btx_error_set(c->err, 2, "53200", "out of memory while compiling a btql query");
			break;
	}
}

/* ---- tokenizer ---- */

static const char *const ops3[] = {"<!=>", "<=>", NULL};
static const char *const ops2[] = {"<=", ">=", "<>", "!=", "=>", "::", NULL};
static const char ops1[] = "()[],.:|?*+-/%=<>;";

typedef struct lexer
{
	btx_btql_ctx *c;
	const char *s;
	int			i;				/* byte offset of the next character */
	int			line;
	int			col;
	int			lasttokline;	/* line of the previous token */
	int			cap;			/* capacity of c->toks */
} lexer;

static int
is_ident_start(char ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || ch == '_';
}

static int
is_ident_char(char ch)
{
	return is_ident_start(ch) || (ch >= '0' && ch <= '9') || ch == '$';
}

static int
is_digit(char ch)
{
	return ch >= '0' && ch <= '9';
}

/* the text becomes bind parameters: it must be valid UTF-8 */
static int
check_utf8(btx_btql_ctx *c)
{
	int			i;

	for (i = 0; c->src[i];)
	{
		int			n = utf8_seq_len((const unsigned char *) c->src + i);

		if (n == 0)
		{
			btx_btql_error_at(c, i, "22021", "UTF-8 text", "Write the query in UTF-8.",
							  "invalid byte sequence for encoding \"UTF8\"");
			return -1;
		}
		i += n;
	}
	return 0;
}

/*
 * Append t.  The array doubles in the arena and always keeps one spare slot
 * for the EOF sentinel; more than max_tokens tokens is an error at t.
 */
static int
push_tok(lexer *lx, btx_btql_token *t)
{
	btx_btql_ctx *c = lx->c;

	if (c->ntoks >= c->lim.max_tokens && t->kind != TK_EOF)
	{
		btx_btql_error_at(c, t->off, "54000", NULL,
						  "Shorten the query: use IN lists instead of long chains of conditions, or split it.",
						  "btql query has more than %d tokens", c->lim.max_tokens);
		return -1;
	}
	if (c->ntoks + 1 >= lx->cap)
	{
		int			ncap = lx->cap ? lx->cap * 2 : 64;
		btx_btql_token *n = btx_btql_alloc(&c->arena, sizeof(btx_btql_token) * ncap);

		if (n == NULL)
		{
			btx_btql_error_alloc(c, t->off);
			return -1;
		}
		if (c->ntoks)
			memcpy(n, c->toks, sizeof(btx_btql_token) * c->ntoks);
		c->toks = n;
		lx->cap = ncap;
	}
	c->toks[c->ntoks++] = *t;
	return 0;
}

/* whitespace and -- comments; the column counts characters */
static void
skip_blank(lexer *lx)
{
	const char *s = lx->s;

	for (;;)
	{
		char		ch = s[lx->i];

		if (ch == '\n')
		{
			lx->line++;
			lx->col = 1;
			lx->i++;
		}
		else if (ch == ' ' || ch == '\t' || ch == '\r' || ch == '\f' || ch == '\v')
		{
			lx->i++;
			lx->col++;
		}
		else if (ch == '-' && s[lx->i + 1] == '-')
		{
			while (s[lx->i] && s[lx->i] != '\n')
				lx->i++;
		}
		else
			return;
	}
}

/* digits [. digits] [e [+-] digits]; a letter right after is an error */
static int
lex_number(lexer *lx, btx_btql_token *t)
{
	const char *s = lx->s;
	int			i = lx->i,
				isf = 0;

	while (is_digit(s[i]))
		i++;
	if (s[i] == '.' && is_digit(s[i + 1]))
	{
		isf = 1;
		i++;
		while (is_digit(s[i]))
			i++;
	}
	if ((s[i] == 'e' || s[i] == 'E') &&
		(is_digit(s[i + 1]) || ((s[i + 1] == '+' || s[i + 1] == '-') && is_digit(s[i + 2]))))
	{
		isf = 1;
		i += 2;
		while (is_digit(s[i]))
			i++;
	}
	if (is_ident_start(s[i]))
	{
		btx_btql_error_at(lx->c, i, "42601", "an operator, a comma or the end of the clause",
						  "Separate numbers from names with a space or an operator.",
						  "syntax error in number");
		return -1;
	}
	t->kind = isf ? TK_FLOAT : TK_INT;
	t->text = btx_btql_strndup(&lx->c->arena, s + lx->i, i - lx->i);
	lx->i = i;
	return 0;
}

/*
 * 'string' or "name", the quote doubled inside.  The closing quote is found
 * first, so the unescaped text is written once into an arena block of the
 * raw length (never longer than the literal itself).
 */
static int
lex_quoted(lexer *lx, btx_btql_token *t)
{
	const char *s = lx->s;
	char		q = s[lx->i];
	int			start = lx->i,
				i = lx->i + 1,
				k = 0;
	char	   *out;

	for (;; i++)
	{
		if (s[i] == '\0')
		{
			btx_btql_error_at(lx->c, start, "42601", q == '\'' ? "a closing single quote" : "a closing double quote",
							  q == '\'' ? "Close the string with ' and write '' for a quote inside it." :
							  "Close the quoted name with \" and write \"\" for a quote inside it.",
							  "unterminated %s", q == '\'' ? "string literal" : "quoted name");
			return -1;
		}
		if (s[i] == q)
		{
			if (s[i + 1] != q)
				break;
			i++;
		}
	}
	/* s[i] is the closing quote */
	out = btx_btql_alloc(&lx->c->arena, (size_t) (i - start));
	if (out == NULL)
		return 0;				/* the caller reports the arena failure */
	for (lx->i = start + 1; lx->i < i; lx->i++)
	{
		out[k++] = s[lx->i];
		if (s[lx->i] == q)
			lx->i++;			/* the second quote of a doubled pair */
	}
	out[k] = '\0';
	lx->i = i + 1;
	t->kind = q == '\'' ? TK_STRING : TK_QIDENT;
	t->text = out;
	return 0;
}

/* the longest operator of ops3, ops2, ops1 at the current position */
static int
lex_operator(lexer *lx, btx_btql_token *t)
{
	const char *s = lx->s + lx->i;
	char		ch = *s;
	int			k;

	for (k = 0; ops3[k]; k++)
		if (strncmp(s, ops3[k], strlen(ops3[k])) == 0)
		{
			strcpy(t->op, ops3[k]);
			lx->i += (int) strlen(ops3[k]);
			t->kind = TK_OP;
			return 0;
		}
	for (k = 0; ops2[k]; k++)
		if (strncmp(s, ops2[k], 2) == 0)
		{
			strcpy(t->op, ops2[k]);
			lx->i += 2;
			t->kind = TK_OP;
			return 0;
		}
	if (strchr(ops1, ch) != NULL)
	{
		t->op[0] = ch;
		lx->i++;
		t->kind = TK_OP;
		return 0;
	}
	if ((unsigned char) ch >= 0x80)
		btx_btql_error_at(lx->c, lx->i, "42601", "a name, a literal or an operator",
						  "Quote names that contain non-ASCII characters with double quotes.",
						  "unexpected character");
	else
		btx_btql_error_at(lx->c, lx->i, "42601", "a name, a literal or an operator",
						  "Remove the character or quote it inside a string literal.",
						  "unexpected character \"%c\"", (ch >= 32 && ch < 127) ? ch : '?');
	return -1;
}

/* move line and column over the token's text (a string may span lines) */
static void
advance_position(lexer *lx, int start)
{
	int			k;

	for (k = start; k < lx->i; k++)
	{
		if (lx->s[k] == '\n')
		{
			lx->line++;
			lx->col = 1;
		}
		else if (((unsigned char) lx->s[k] & 0xC0) != 0x80)
			lx->col++;
	}
}

/* the EOF token, plus a sentinel copy so lookahead past EOF stays on EOF */
static int
push_eof(lexer *lx)
{
	btx_btql_token t;

	memset(&t, 0, sizeof(t));
	t.kind = TK_EOF;
	t.off = lx->i;
	t.line = lx->line;
	t.col = lx->col;
	t.bol = 1;
	if (push_tok(lx, &t) != 0)
		return -1;
	lx->c->toks[lx->c->ntoks] = t;
	return 0;
}

/* see btql_int.h: c->toks for c->src (valid UTF-8), or -1 with the error set */
int
btx_btql_lex(btx_btql_ctx *c)
{
	lexer		lx;

	c->toks = NULL;
	c->ntoks = 0;
	if (check_utf8(c) != 0)
		return -1;
	memset(&lx, 0, sizeof(lx));
	lx.c = c;
	lx.s = c->src;
	lx.line = 1;
	lx.col = 1;
	for (;;)
	{
		btx_btql_token t;
		int			start,
					rc;
		char		ch;

		skip_blank(&lx);
		ch = lx.s[lx.i];
		if (ch == '\0')
			return push_eof(&lx);
		memset(&t, 0, sizeof(t));
		start = lx.i;
		t.off = start;
		t.line = lx.line;
		t.col = lx.col;
		t.bol = (lx.lasttokline != lx.line);
		if (is_ident_start(ch))
		{
			while (is_ident_char(lx.s[lx.i]))
				lx.i++;
			t.kind = TK_IDENT;
			t.text = btx_btql_strndup(&c->arena, lx.s + start, lx.i - start);
			rc = 0;
		}
		else if (is_digit(ch))
			rc = lex_number(&lx, &t);
		else if (ch == '\'' || ch == '"')
			rc = lex_quoted(&lx, &t);
		else
			rc = lex_operator(&lx, &t);
		if (rc != 0)
			return -1;
		if (c->arena.failed)
		{
			btx_btql_error_alloc(c, start);
			return -1;
		}
		t.len = lx.i - start;
		advance_position(&lx, start);
		lx.lasttokline = lx.line;
		if (push_tok(&lx, &t) != 0)
			return -1;
	}
}
