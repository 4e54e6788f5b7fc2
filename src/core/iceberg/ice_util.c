/*
 * ice_util.c — small pieces of the Iceberg core: error values, the binary
 * single-value serialization of bounds (spec Appendix D) with string
 * truncation, the day transform, random UUIDs and snapshot ids, and the
 * ownership helpers of data_file values.
 *
 * String bounds follow Iceberg's default metrics mode truncate(16): the lower
 * bound is the first 16 code points (a prefix is never greater than the
 * value); the upper bound is the first 16 code points with the last one
 * incremented (never less than any value with that prefix), or absent when
 * every code point of the prefix is U+10FFFF.  UTF-8 byte order equals code
 * point order, so bounds compare bytewise.
 */
#include "core/iceberg/ice_int.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

int
ice_fail(btx_error *err, int code, const char *sqlstate, const char *fmt,...)
{
	va_list		ap;
	char		msg[sizeof(err->message)];

	if (err == NULL)
		return -1;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	btx_error_set(err, code, sqlstate, "%s", msg);
	return -1;
}

int
ice_oom(btx_error *err)
{
	return ice_fail(err, BTX_ICE_E_OOM, "53200", "out of memory while writing an Iceberg table");
}

char *
ice_strdup(const char *s)
{
	size_t		n;
	char	   *d;

	if (s == NULL)
		return NULL;
	n = strlen(s);
	d = malloc(n + 1);
	if (d)
		memcpy(d, s, n + 1);
	return d;
}

/* ---------- bounds ---------- */

void
btx_ice_bound_long(btx_buf *out, int64_t v)
{
	unsigned char b[8];
	uint64_t	u = (uint64_t) v;
	int			i;

	for (i = 0; i < 8; i++)
		b[i] = (unsigned char) (u >> (8 * i));
	btx_buf_reset(out);
	btx_buf_append(out, b, 8);
}

void
btx_ice_bound_int(btx_buf *out, int32_t v)
{
	unsigned char b[4];
	uint32_t	u = (uint32_t) v;
	int			i;

	for (i = 0; i < 4; i++)
		b[i] = (unsigned char) (u >> (8 * i));
	btx_buf_reset(out);
	btx_buf_append(out, b, 4);
}

void
btx_ice_bound_double(btx_buf *out, double v)
{
	uint64_t	u;

	memcpy(&u, &v, 8);
	btx_ice_bound_long(out, (int64_t) u);
}

/* length in bytes of the UTF-8 sequence led by c (1 for stray bytes) */
static size_t
utf8_len(unsigned char c)
{
	if (c >= 0xF0 && c <= 0xF4)
		return 4;
	if (c >= 0xE0)
		return c <= 0xEF ? 3 : 1;
	if (c >= 0xC2)
		return 2;
	return 1;
}

/* byte length of the first max_chars code points of s; *whole: nothing cut */
static size_t
prefix_bytes(const unsigned char *s, size_t len, int max_chars, int *whole)
{
	size_t		off = 0;
	int			n = 0;

	while (off < len && n < max_chars)
	{
		size_t		l = utf8_len(s[off]);

		if (off + l > len)
			l = len - off;
		off += l;
		n++;
	}
	*whole = off >= len;
	return off;
}

void
btx_ice_bound_string_lower(btx_buf *out, const unsigned char *s, size_t len, int max_chars)
{
	int			whole;

	btx_buf_reset(out);
	btx_buf_append(out, s, prefix_bytes(s, len, max_chars, &whole));
}

static uint32_t
decode_cp(const unsigned char *p, size_t l)
{
	switch (l)
	{
		case 2:
			return ((uint32_t) (p[0] & 0x1F) << 6) | (p[1] & 0x3F);
		case 3:
			return ((uint32_t) (p[0] & 0x0F) << 12) | ((uint32_t) (p[1] & 0x3F) << 6) | (p[2] & 0x3F);
		case 4:
			return ((uint32_t) (p[0] & 0x07) << 18) | ((uint32_t) (p[1] & 0x3F) << 12) |
				((uint32_t) (p[2] & 0x3F) << 6) | (p[3] & 0x3F);
		default:
			return p[0];
	}
}

static void
encode_cp(btx_buf *out, uint32_t cp)
{
	unsigned char b[4];
	size_t		n;

	if (cp < 0x80)
	{
		b[0] = (unsigned char) cp;
		n = 1;
	}
	else if (cp < 0x800)
	{
		b[0] = (unsigned char) (0xC0 | (cp >> 6));
		b[1] = (unsigned char) (0x80 | (cp & 0x3F));
		n = 2;
	}
	else if (cp < 0x10000)
	{
		b[0] = (unsigned char) (0xE0 | (cp >> 12));
		b[1] = (unsigned char) (0x80 | ((cp >> 6) & 0x3F));
		b[2] = (unsigned char) (0x80 | (cp & 0x3F));
		n = 3;
	}
	else
	{
		b[0] = (unsigned char) (0xF0 | (cp >> 18));
		b[1] = (unsigned char) (0x80 | ((cp >> 12) & 0x3F));
		b[2] = (unsigned char) (0x80 | ((cp >> 6) & 0x3F));
		b[3] = (unsigned char) (0x80 | (cp & 0x3F));
		n = 4;
	}
	btx_buf_append(out, b, n);
}

int
btx_ice_bound_string_upper(btx_buf *out, const unsigned char *s, size_t len, int max_chars)
{
	int			whole;
	size_t		n = prefix_bytes(s, len, max_chars, &whole);

	btx_buf_reset(out);
	if (whole)
	{
		btx_buf_append(out, s, len);
		return 1;
	}
	/* increment the last code point that can be incremented; drop those after it */
	while (n > 0)
	{
		size_t		start = n - 1;
		uint32_t	cp;

		while (start > 0 && (s[start] & 0xC0) == 0x80 && n - start < 4)
			start--;
		cp = decode_cp(s + start, n - start) + 1;
		if (cp >= 0xD800 && cp <= 0xDFFF)
			cp = 0xE000;
		if (cp <= 0x10FFFF)
		{
			btx_buf_append(out, s, start);
			encode_cp(out, cp);
			return 1;
		}
		n = start;
	}
	return 0;
}

/* ---------- day transform, ids ---------- */

int32_t
btx_ice_day_of_micros(int64_t micros)
{
	const int64_t per_day = INT64_C(86400000000);
	int64_t		d = micros / per_day;

	if (micros % per_day < 0)
		d--;
	return (int32_t) d;
}

int
ice_random_bytes(unsigned char *b, size_t n, btx_error *err)
{
	size_t		got = 0;

	while (got < n)
	{
		ssize_t		r = getrandom(b + got, n - got, 0);

		if (r < 0)
		{
			if (errno == EINTR)
				continue;
			return ice_fail(err, BTX_ICE_E_IO, "58000", "could not read random bytes: %s",
							strerror(errno));
		}
		got += (size_t) r;
	}
	return 0;
}

int
btx_ice_uuid(char out[37], btx_error *err)
{
	unsigned char b[16];

	if (ice_random_bytes(b, 16, err) != 0)
		return -1;
	b[6] = (unsigned char) ((b[6] & 0x0F) | 0x40);
	b[8] = (unsigned char) ((b[8] & 0x3F) | 0x80);
	snprintf(out, 37, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
			 b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11],
			 b[12], b[13], b[14], b[15]);
	return 0;
}

/* like the reference implementation: 63 random bits, never 0 */
int
btx_ice_random_id(int64_t *out, btx_error *err)
{
	unsigned char b[8];
	uint64_t	u = 0;
	int			i;

	do
	{
		if (ice_random_bytes(b, 8, err) != 0)
			return -1;
		for (i = 0; i < 8; i++)
			u = (u << 8) | b[i];
		u &= UINT64_C(0x7FFFFFFFFFFFFFFF);
	} while (u == 0);
	*out = (int64_t) u;
	return 0;
}

/* ---------- data_file ownership ---------- */

void
btx_ice_data_file_free(btx_ice_data_file *f)
{
	int			i;

	if (f == NULL)
		return;
	free(f->path);
	for (i = 0; i < f->nmetrics; i++)
	{
		btx_buf_free(&f->metrics[i].lower);
		btx_buf_free(&f->metrics[i].upper);
	}
	free(f->metrics);
	free(f->equality_ids);
	memset(f, 0, sizeof(*f));
}

int
btx_ice_data_file_copy(btx_ice_data_file *dst, const btx_ice_data_file *src)
{
	int			i;

	*dst = *src;
	dst->path = NULL;
	dst->metrics = NULL;
	dst->nmetrics = 0;
	dst->equality_ids = NULL;
	dst->nequality_ids = 0;
	dst->path = ice_strdup(src->path);
	if (src->path && dst->path == NULL)
		goto oom;
	if (src->nmetrics > 0)
	{
		dst->metrics = calloc(src->nmetrics, sizeof(btx_ice_metric));
		if (dst->metrics == NULL)
			goto oom;
		dst->nmetrics = src->nmetrics;
		for (i = 0; i < src->nmetrics; i++)
		{
			btx_ice_metric *d = &dst->metrics[i];
			const btx_ice_metric *s = &src->metrics[i];

			*d = *s;
			btx_buf_init(&d->lower);
			btx_buf_init(&d->upper);
			btx_buf_append(&d->lower, s->lower.data ? s->lower.data : "", s->lower.len);
			btx_buf_append(&d->upper, s->upper.data ? s->upper.data : "", s->upper.len);
			if (d->lower.oom || d->upper.oom)
				goto oom;
		}
	}
	if (src->nequality_ids > 0)
	{
		dst->equality_ids = malloc(sizeof(int32_t) * src->nequality_ids);
		if (dst->equality_ids == NULL)
			goto oom;
		memcpy(dst->equality_ids, src->equality_ids, sizeof(int32_t) * src->nequality_ids);
		dst->nequality_ids = src->nequality_ids;
	}
	return 0;
oom:
	btx_ice_data_file_free(dst);
	return -1;
}

void
btx_ice_entries_free(btx_ice_entry *e, int n)
{
	int			i;

	if (e == NULL)
		return;
	for (i = 0; i < n; i++)
		btx_ice_data_file_free(&e[i].file);
	free(e);
}

void
btx_ice_manifest_free(btx_ice_manifest *m)
{
	int			i;

	if (m == NULL)
		return;
	free(m->path);
	for (i = 0; i < m->nparts; i++)
	{
		btx_buf_free(&m->parts[i].lower);
		btx_buf_free(&m->parts[i].upper);
	}
	free(m->parts);
	memset(m, 0, sizeof(*m));
}
