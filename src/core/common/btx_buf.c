/*
 * btx_buf.c — growable byte buffer and error value for the plain-C cores
 * (see btx_buf.h).
 *
 * Design: a buffer is data/len/cap over malloc, always NUL-terminated, grown
 * by doubling from 64 bytes so appends are amortised O(1).  Out-of-memory is
 * sticky (oom): every later append fails too, so a caller that appends many
 * pieces checks once at the end instead of after each call.  The error value
 * is fixed-size (no allocation, so reporting "out of memory" cannot fail) and
 * truncates long texts; its SQLSTATE defaults to XX000 and the backend turns
 * it into ereport in one place (src/adapters/error.c).
 */
#include "core/common/btx_buf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void
btx_buf_init(btx_buf *b)
{
	b->data = NULL;
	b->len = 0;
	b->cap = 0;
	b->oom = 0;
}

void
btx_buf_free(btx_buf *b)
{
	free(b->data);
	btx_buf_init(b);
}

void
btx_buf_reset(btx_buf *b)
{
	b->len = 0;
	if (b->data)
		b->data[0] = '\0';
}

int
btx_buf_reserve(btx_buf *b, size_t extra)
{
	size_t		need;
	size_t		ncap;
	char	   *p;

	if (b->oom)
		return -1;
	if (extra > SIZE_MAX - b->len - 1)
	{
		b->oom = 1;
		return -1;
	}
	need = b->len + extra + 1;
	if (need <= b->cap)
		return 0;
	ncap = b->cap ? b->cap : 64;
	while (ncap < need)
	{
		if (ncap > SIZE_MAX / 2)
		{
			ncap = need;
			break;
		}
		ncap *= 2;
	}
	p = realloc(b->data, ncap);
	if (p == NULL)
	{
		b->oom = 1;
		return -1;
	}
	b->data = p;
	b->cap = ncap;
	return 0;
}

int
btx_buf_append(btx_buf *b, const void *p, size_t n)
{
	if (btx_buf_reserve(b, n) != 0)
		return -1;
	if (n)
		memcpy(b->data + b->len, p, n);
	b->len += n;
	b->data[b->len] = '\0';
	return 0;
}

int
btx_buf_puts(btx_buf *b, const char *s)
{
	return btx_buf_append(b, s, strlen(s));
}

int
btx_buf_putc(btx_buf *b, char c)
{
	if (b->len + 1 < b->cap && !b->oom)
	{
		b->data[b->len++] = c;
		b->data[b->len] = '\0';
		return 0;
	}
	return btx_buf_append(b, &c, 1);
}

int
btx_buf_vappendf(btx_buf *b, const char *fmt, va_list ap)
{
	va_list		ap2;
	int			n;

	va_copy(ap2, ap);
	n = vsnprintf(NULL, 0, fmt, ap2);
	va_end(ap2);
	if (n < 0)
		return -1;
	if (btx_buf_reserve(b, (size_t) n) != 0)
		return -1;
	vsnprintf(b->data + b->len, (size_t) n + 1, fmt, ap);
	b->len += (size_t) n;
	return 0;
}

int
btx_buf_appendf(btx_buf *b, const char *fmt,...)
{
	va_list		ap;
	int			r;

	va_start(ap, fmt);
	r = btx_buf_vappendf(b, fmt, ap);
	va_end(ap);
	return r;
}

char *
btx_buf_steal(btx_buf *b)
{
	char	   *s = b->data;

	if (s == NULL)
	{
		s = malloc(1);
		if (s)
			s[0] = '\0';
	}
	btx_buf_init(b);
	return s;
}

void
btx_error_clear(btx_error *e)
{
	memset(e, 0, sizeof(*e));
}

void
btx_error_set(btx_error *e, int code, const char *sqlstate, const char *fmt,...)
{
	va_list		ap;

	btx_error_clear(e);
	e->code = code ? code : 1;
	snprintf(e->sqlstate, sizeof(e->sqlstate), "%s", sqlstate ? sqlstate : "XX000");
	va_start(ap, fmt);
	vsnprintf(e->message, sizeof(e->message), fmt, ap);
	va_end(ap);
}

void
btx_error_detail(btx_error *e, const char *fmt,...)
{
	va_list		ap;

	va_start(ap, fmt);
	vsnprintf(e->detail, sizeof(e->detail), fmt, ap);
	va_end(ap);
}

void
btx_error_hint(btx_error *e, const char *fmt,...)
{
	va_list		ap;

	va_start(ap, fmt);
	vsnprintf(e->hint, sizeof(e->hint), fmt, ap);
	va_end(ap);
}
