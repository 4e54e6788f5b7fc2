/*
 * btql_lex.c — arena, error formatting and the tokenizer shared by both
 * BTQL syntaxes.
 */
#include "core/btql/btql_int.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ARENA_BLOCK 8192

typedef struct arena_block
{
	struct arena_block *next;
} arena_block;

void *
btx_btql_alloc(btx_btql_arena *a, size_t n)
{
	void	   *p;

	n = (n + 15) & ~(size_t) 15;
	if (a->oom)
		return NULL;
	if (n > a->left)
	{
		size_t		sz = n > ARENA_BLOCK / 2 ? n + sizeof(arena_block) + 16 : ARENA_BLOCK;
		arena_block *b = malloc(sz);

		if (b == NULL)
		{
			a->oom = 1;
			return NULL;
		}
		b->next = a->blocks;
		a->blocks = b;
		a->cur = (char *) b + 16;
		a->left = sz - 16;
		if (sizeof(arena_block) > 16)
		{
			/* never true on supported platforms; keep the layout honest */
			a->oom = 1;
			return NULL;
		}
	}
	p = a->cur;
	a->cur += n;
	a->left -= n;
	memset(p, 0, n);
	return p;
}

char *
btx_btql_strndup(btx_btql_arena *a, const char *s, size_t n)
{
	char	   *p = btx_btql_alloc(a, n + 1);

	if (p == NULL)
		return NULL;
	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

char *
btx_btql_printf(btx_btql_arena *a, const char *fmt,...)
{
	va_list		ap;
	int			n;
	char	   *p;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
	{
		a->oom = 1;
		return NULL;
	}
	p = btx_btql_alloc(a, (size_t) n + 1);
	if (p == NULL)
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

void
btx_btql_error_at(btx_btql_ctx *c, int off, const char *sqlstate,
				  const char *expected, const char *hint,
				  const char *fmt,...)
{
	va_list		ap;
	char		msg[400];
	int			line,
				col,
				lstart,
				lend,
				i;
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
	if (expected)
		btx_buf_appendf(&d, "Expected %s.\n", expected);
	lend = lstart;
	while (c->src[lend] && c->src[lend] != '\n' && lend - lstart < 200)
		lend++;
	for (i = lstart; i < lend;)
	{
		char		ch = c->src[i];
		int			n = utf8_seq_len((const unsigned char *) c->src + i);

		if (n <= 1)
		{
			/* invalid bytes never reach the message: they show as "?" */
			btx_buf_putc(&d, (ch == '\t' || ch == '\r') ? ' ' : n == 0 ? '?' : ch);
			i++;
		}
		else
		{
			btx_buf_append(&d, c->src + i, n);
			i += n;
		}
	}
	btx_buf_putc(&d, '\n');
	for (i = 1; i < col && i < 200; i++)
		btx_buf_putc(&d, ' ');
	btx_buf_putc(&d, '^');
	if (d.data)
		btx_error_detail(c->err, "%s", d.data);
	btx_buf_free(&d);
	btx_error_hint(c->err, "%s", hint ? hint :
				   "See docs/btql.md for the supported BTQL syntax.");
}

/* ---- tokenizer ---- */

static const char *const ops3[] = {"<!=>", "<=>", NULL};
static const char *const ops2[] = {"<=", ">=", "<>", "!=", "=>", "::", NULL};
static const char ops1[] = "()[],.:|?*+-/%=<>;";

static int
push_tok(btx_btql_ctx *c, int *cap, btx_btql_token *t)
{
	if (c->ntoks + 1 >= *cap)
	{
		int			ncap = *cap ? *cap * 2 : 64;
		btx_btql_token *n = btx_btql_alloc(&c->arena, sizeof(btx_btql_token) * ncap);

		if (n == NULL)
			return -1;
		if (c->ntoks)
			memcpy(n, c->toks, sizeof(btx_btql_token) * c->ntoks);
		c->toks = n;
		*cap = ncap;
	}
	c->toks[c->ntoks++] = *t;
	return 0;
}

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

int
btx_btql_lex(btx_btql_ctx *c)
{
	const char *s = c->src;
	int			i = 0,
				line = 1,
				col = 1,
				cap = 0,
				lasttokline = 0;

	c->toks = NULL;
	c->ntoks = 0;
	/* the text becomes bind parameters: it must be valid UTF-8 */
	for (i = 0; s[i];)
	{
		int			n = utf8_seq_len((const unsigned char *) s + i);

		if (n == 0)
		{
			btx_btql_error_at(c, i, "22021", "UTF-8 text", "Write the query in UTF-8.",
							  "invalid byte sequence for encoding \"UTF8\"");
			return -1;
		}
		i += n;
	}
	i = 0;
	for (;;)
	{
		btx_btql_token t;
		char		ch = s[i];
		int			start = i;

		memset(&t, 0, sizeof(t));
		if (ch == '\0')
		{
			t.kind = TK_EOF;
			t.off = i;
			t.line = line;
			t.col = col;
			t.bol = 1;
			if (push_tok(c, &cap, &t) != 0)
				goto oom;
			/* sentinel copy so lookahead past EOF stays on EOF */
			c->toks[c->ntoks] = t;
			return 0;
		}
		if (ch == '\n')
		{
			line++;
			col = 1;
			i++;
			continue;
		}
		if (ch == ' ' || ch == '\t' || ch == '\r' || ch == '\f' || ch == '\v')
		{
			i++;
			col++;
			continue;
		}
		if (ch == '-' && s[i + 1] == '-')
		{
			while (s[i] && s[i] != '\n')
				i++;
			continue;
		}
		t.off = i;
		t.line = line;
		t.col = col;
		t.bol = (lasttokline != line);
		if (is_ident_start(ch))
		{
			while (is_ident_char(s[i]))
				i++;
			t.kind = TK_IDENT;
			t.text = btx_btql_strndup(&c->arena, s + start, i - start);
		}
		else if (ch >= '0' && ch <= '9')
		{
			int			isf = 0;

			while (s[i] >= '0' && s[i] <= '9')
				i++;
			if (s[i] == '.' && s[i + 1] >= '0' && s[i + 1] <= '9')
			{
				isf = 1;
				i++;
				while (s[i] >= '0' && s[i] <= '9')
					i++;
			}
			if ((s[i] == 'e' || s[i] == 'E') &&
				((s[i + 1] >= '0' && s[i + 1] <= '9') ||
				 ((s[i + 1] == '+' || s[i + 1] == '-') && s[i + 2] >= '0' && s[i + 2] <= '9')))
			{
				isf = 1;
				i += 2;
				while (s[i] >= '0' && s[i] <= '9')
					i++;
			}
			if (is_ident_start(s[i]))
			{
				btx_btql_error_at(c, i, "42601", "an operator, a comma or the end of the clause",
								  "Separate numbers from names with a space or an operator.",
								  "syntax error in number");
				return -1;
			}
			t.kind = isf ? TK_FLOAT : TK_INT;
			t.text = btx_btql_strndup(&c->arena, s + start, i - start);
		}
		else if (ch == '\'' || ch == '"')
		{
			btx_buf		b;

			btx_buf_init(&b);
			i++;
			for (;;)
			{
				if (s[i] == '\0')
				{
					btx_buf_free(&b);
					btx_btql_error_at(c, start, "42601", ch == '\'' ? "a closing single quote" : "a closing double quote",
									  ch == '\'' ? "Close the string with ' and write '' for a quote inside it." :
									  "Close the quoted name with \" and write \"\" for a quote inside it.",
									  "unterminated %s", ch == '\'' ? "string literal" : "quoted name");
					return -1;
				}
				if (s[i] == ch)
				{
					if (s[i + 1] == ch)
					{
						btx_buf_putc(&b, ch);
						i += 2;
						continue;
					}
					i++;
					break;
				}
				btx_buf_putc(&b, s[i]);
				i++;
			}
			if (b.oom)
			{
				btx_buf_free(&b);
				goto oom;
			}
			t.kind = ch == '\'' ? TK_STRING : TK_QIDENT;
			t.text = btx_btql_strndup(&c->arena, b.data ? b.data : "", b.len);
			btx_buf_free(&b);
		}
		else
		{
			int			k,
						matched = 0;

			for (k = 0; ops3[k] && !matched; k++)
				if (strncmp(s + i, ops3[k], strlen(ops3[k])) == 0)
				{
					strcpy(t.op, ops3[k]);
					i += (int) strlen(ops3[k]);
					matched = 1;
				}
			for (k = 0; ops2[k] && !matched; k++)
				if (strncmp(s + i, ops2[k], 2) == 0)
				{
					strcpy(t.op, ops2[k]);
					i += 2;
					matched = 1;
				}
			if (!matched && strchr(ops1, ch) != NULL)
			{
				t.op[0] = ch;
				i++;
				matched = 1;
			}
			if (!matched)
			{
				if ((unsigned char) ch >= 0x80)
					btx_btql_error_at(c, i, "42601", "a name, a literal or an operator",
									  "Quote names that contain non-ASCII characters with double quotes.",
									  "unexpected character");
				else
					btx_btql_error_at(c, i, "42601", "a name, a literal or an operator",
									  "Remove the character or quote it inside a string literal.",
									  "unexpected character \"%c\"", (ch >= 32 && ch < 127) ? ch : '?');
				return -1;
			}
			t.kind = TK_OP;
		}
		if (c->arena.oom)
			goto oom;
		t.len = i - start;
		/* advance the column over the token (characters, not bytes) */
		{
			int			k2;

			for (k2 = start; k2 < i; k2++)
			{
				if (s[k2] == '\n')
				{
					line++;
					col = 1;
				}
				else if (((unsigned char) s[k2] & 0xC0) != 0x80)
					col++;
			}
		}
		lasttokline = line;
		if (push_tok(c, &cap, &t) != 0)
			goto oom;
	}
oom:
	if (c->err->code == 0)
		btx_error_set(c->err, 2, "53200", "out of memory while compiling a btql query");
	return -1;
}
