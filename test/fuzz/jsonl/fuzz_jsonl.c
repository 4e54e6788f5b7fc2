/*
 * libFuzzer target for the JSON Lines writer (src/core/format/jsonl.c).  The
 * input drives column names, rows of values (strings of arbitrary bytes,
 * integers, booleans, timestamps, lists with nulls, raw JSON, nulls, skipped
 * columns), UTF-8 validation on or off, the flush size and a sink that fails.
 *
 * Properties checked after a successful finish, with a small JSON parser of
 * its own: the output is one JSON object per '\n'-terminated line, one line
 * per row; every key is the column's name; every string decodes to exactly
 * the bytes given (so escaping loses nothing and adds nothing); integers and
 * booleans read back; timestamps have the fixed RFC 3339 shape; the byte
 * count equals what the sink received.  With validation on, a row holding
 * invalid UTF-8 must fail with 22021, and a failed writer must stay failed.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/format/jsonl.h"
#include "core/format/utf8.h"

typedef struct rd
{
	const uint8_t *p;
	size_t		n;
} rd;

static uint8_t
byte(rd *r)
{
	uint8_t		b;

	if (r->n == 0)
		return 0;
	b = *r->p++;
	r->n--;
	return b;
}

typedef struct outbuf
{
	btx_buf		b;
	int			calls;
	int			fail_at;
} outbuf;

static int
sink(void *ctx, const void *data, size_t len)
{
	outbuf	   *o = ctx;

	if (o->fail_at >= 0 && o->calls >= o->fail_at)
		return 1;
	o->calls++;
	return btx_buf_append(&o->b, data, len);
}

/* what a row's member should read back as */
typedef enum
{
	V_SKIP, V_NULL, V_STR, V_INT, V_BOOL, V_TS, V_LIST, V_RAW
} vkind;

typedef struct val
{
	vkind		kind;
	const uint8_t *s;			/* V_STR: the bytes; V_LIST: one string item (or NULL) */
	size_t		len;
	int64_t		i;
	int			nitems;
} val;

#define MAXCOLS 6
#define MAXROWS 64

/* ---- a small JSON reader for the checks ---- */

typedef struct jp
{
	const char *p;
	const char *end;
} jp;

static void
ws(jp *j)
{
	while (j->p < j->end && (*j->p == ' ' || *j->p == '\t' || *j->p == '\r'))
		j->p++;
}

static int
hexv(char c)
{
	return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

/* a JSON string into out (bytes, \u00XX for XX < 0x20 only, as the writer emits); 0 ok */
static int
jstring(jp *j, btx_buf *out)
{
	if (j->p >= j->end || *j->p != '"')
		return -1;
	j->p++;
	while (j->p < j->end && *j->p != '"')
	{
		unsigned char c = (unsigned char) *j->p++;

		if (c < 0x20)
			return -1;			/* a raw control character: invalid JSON */
		if (c != '\\')
		{
			btx_buf_putc(out, (char) c);
			continue;
		}
		if (j->p >= j->end)
			return -1;
		c = (unsigned char) *j->p++;
		switch (c)
		{
			case '"':
			case '\\':
			case '/':
				btx_buf_putc(out, (char) c);
				break;
			case 'b':
				btx_buf_putc(out, '\b');
				break;
			case 'f':
				btx_buf_putc(out, '\f');
				break;
			case 'n':
				btx_buf_putc(out, '\n');
				break;
			case 'r':
				btx_buf_putc(out, '\r');
				break;
			case 't':
				btx_buf_putc(out, '\t');
				break;
			case 'u':
				{
					int			a,
								b,
								cc,
								d;

					if (j->end - j->p < 4)
						return -1;
					a = hexv(j->p[0]), b = hexv(j->p[1]), cc = hexv(j->p[2]), d = hexv(j->p[3]);
					if (a != 0 || b != 0 || cc < 0 || d < 0 || cc > 1)
						return -1;
					btx_buf_putc(out, (char) (cc * 16 + d));
					j->p += 4;
					break;
				}
			default:
				return -1;
		}
	}
	if (j->p >= j->end)
		return -1;
	j->p++;
	return 0;
}

static int
jint(jp *j, int64_t *v)
{
	char		tmp[32];
	size_t		n = 0;
	char	   *e;

	while (j->p < j->end && n < sizeof(tmp) - 1 && (*j->p == '-' || (*j->p >= '0' && *j->p <= '9')))
		tmp[n++] = *j->p++;
	tmp[n] = '\0';
	if (n == 0)
		return -1;
	*v = strtoll(tmp, &e, 10);
	return *e == '\0' ? 0 : -1;
}

static int
jlit(jp *j, const char *lit)
{
	size_t		n = strlen(lit);

	if ((size_t) (j->end - j->p) < n || memcmp(j->p, lit, n) != 0)
		return -1;
	j->p += n;
	return 0;
}

static int
is_ts(const char *s, size_t n)
{
	/* "YYYY-MM-DDTHH:MM:SS.ffffffZ" or with an expanded year "+YYYYYY-…" / "-YYYYYY-…" */
	size_t		y = (n == 27) ? 4 : (n == 30 && (s[0] == '+' || s[0] == '-')) ? 7 : 0;
	size_t		i;

	if (y == 0)
		return 0;
	for (i = (y == 7); i < y; i++)
		if (s[i] < '0' || s[i] > '9')
			return 0;
	return s[y] == '-' && s[y + 3] == '-' && s[y + 6] == 'T' && s[y + 9] == ':' && s[y + 12] == ':'
		&& s[y + 15] == '.' && s[n - 1] == 'Z';
}

/* check one line against the row's expected members; 0 when it matches */
static int
check_line(const char *line, size_t len, char names[][8], const val *row, int ncols)
{
	jp			j = {line, line + len};
	btx_buf		k,
				v;
	int			c,
				first = 1,
				rc = -1;

	btx_buf_init(&k);
	btx_buf_init(&v);
	if (jlit(&j, "{") != 0)
		goto out;
	for (c = 0; c < ncols; c++)
	{
		if (row[c].kind == V_SKIP)
			continue;
		if (!first && jlit(&j, ",") != 0)
			goto out;
		first = 0;
		btx_buf_reset(&k);
		if (jstring(&j, &k) != 0 || k.len != strlen(names[c]) || memcmp(k.data, names[c], k.len) != 0
			|| jlit(&j, ":") != 0)
			goto out;
		switch (row[c].kind)
		{
			case V_NULL:
				if (jlit(&j, "null") != 0)
					goto out;
				break;
			case V_STR:
				btx_buf_reset(&v);
				if (jstring(&j, &v) != 0 || v.len != row[c].len || (v.len && memcmp(v.data, row[c].s, v.len) != 0))
					goto out;
				break;
			case V_INT:
				{
					int64_t		x;

					if (jint(&j, &x) != 0 || x != row[c].i)
						goto out;
					break;
				}
			case V_BOOL:
				if (jlit(&j, row[c].i ? "true" : "false") != 0)
					goto out;
				break;
			case V_TS:
				btx_buf_reset(&v);
				if (jstring(&j, &v) != 0 || !is_ts(v.data ? v.data : "", v.len))
					goto out;
				break;
			case V_LIST:
				{
					int			i;

					if (jlit(&j, "[") != 0)
						goto out;
					for (i = 0; i < row[c].nitems; i++)
					{
						if (i && jlit(&j, ",") != 0)
							goto out;
						if (row[c].s == NULL)
						{
							if (jlit(&j, "null") != 0)
								goto out;
							continue;
						}
						btx_buf_reset(&v);
						if (jstring(&j, &v) != 0 || v.len != row[c].len || (v.len && memcmp(v.data, row[c].s, v.len) != 0))
							goto out;
					}
					if (jlit(&j, "]") != 0)
						goto out;
					break;
				}
			case V_RAW:
				if (jlit(&j, "{\"a\": [1, 2.5, \"x\"]}") != 0)
					goto out;
				break;
			case V_SKIP:
				break;
		}
	}
	ws(&j);
	rc = jlit(&j, "}") == 0 && j.p == j.end ? 0 : -1;
out:
	btx_buf_free(&k);
	btx_buf_free(&v);
	return rc;
}

int			LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	rd			r = {data, size};
	uint8_t		h = byte(&r);
	int			ncols = 1 + h % MAXCOLS;
	int			validate = (h >> 3) & 1;
	char		names[MAXCOLS][8];
	const char *np[MAXCOLS];
	btx_jsonl_options opt;
	outbuf		o;
	btx_error	err;
	btx_jsonl  *w;
	static val	rows[MAXROWS][MAXCOLS];
	int			nrows = 0,
				failed = 0,
				c;

	for (c = 0; c < ncols; c++)
	{
		/* names with a quote, a backslash or a control character now and then */
		uint8_t		b = byte(&r);

		snprintf(names[c], sizeof(names[c]), "c%d%c", c, (b % 4 == 0) ? '"' : (b % 4 == 1) ? '\\' : (b % 4 == 2) ? '\n' : 'x');
		np[c] = names[c];
	}
	memset(&opt, 0, sizeof(opt));
	opt.validate_utf8 = validate;
	opt.flush_bytes = 1 + byte(&r) * 16;
	btx_buf_init(&o.b);
	o.calls = 0;
	o.fail_at = (h & 0x80) ? byte(&r) % 8 : -1;
	w = btx_jsonl_open(np, ncols, &opt, sink, &o, &err);
	if (w == NULL)
		abort();
	while (r.n > 0 && nrows < MAXROWS && !failed)
	{
		val		   *row = rows[nrows];
		int			bad_utf8 = 0,
					rc;

		for (c = 0; c < ncols; c++)
		{
			uint8_t		op = byte(&r);
			val		   *v = &row[c];

			memset(v, 0, sizeof(*v));
			switch (op % 8)
			{
				case 0:
					v->kind = V_SKIP;
					break;
				case 1:
					v->kind = V_NULL;
					btx_jsonl_null(w, c);
					break;
				case 2:
					v->kind = V_STR;
					v->len = byte(&r) % 48;
					if (v->len > r.n)
						v->len = r.n;
					v->s = r.p;
					r.p += v->len;
					r.n -= v->len;
					if (!btx_utf8_valid(v->s, v->len))
						bad_utf8 = 1;
					btx_jsonl_string(w, c, v->s, v->len);
					break;
				case 3:
					{
						uint64_t	x = 0;
						int			k;

						for (k = 0; k < 8; k++)
							x = (x << 8) | byte(&r);
						v->kind = V_INT;
						v->i = (int64_t) x;
						btx_jsonl_int64(w, c, v->i);
						break;
					}
				case 4:
					v->kind = V_BOOL;
					v->i = byte(&r) & 1;
					btx_jsonl_bool(w, c, (int) v->i);
					break;
				case 5:
					{
						uint64_t	x = 0;
						int			k;

						for (k = 0; k < 8; k++)
							x = (x << 8) | byte(&r);
						v->kind = V_TS;
						btx_jsonl_timestamp(w, c, (int64_t) x);
						break;
					}
				case 6:
					{
						int			i;

						v->kind = V_LIST;
						v->nitems = byte(&r) % 4;
						if (byte(&r) & 1)
						{
							v->len = byte(&r) % 8;
							if (v->len > r.n)
								v->len = r.n;
							v->s = r.p;
							r.p += v->len;
							r.n -= v->len;
							if (v->nitems && !btx_utf8_valid(v->s, v->len))
								bad_utf8 = 1;
						}
						btx_jsonl_list_begin(w, c);
						for (i = 0; i < v->nitems; i++)
							btx_jsonl_list_item(w, v->s, v->len);
						btx_jsonl_list_end(w);
						break;
					}
				default:
					v->kind = V_RAW;
					btx_jsonl_raw(w, c, "{\"a\": [1, 2.5, \"x\"]}", 20);
					break;
			}
		}
		rc = btx_jsonl_end_row(w, &err);
		if (rc != 0)
		{
			/* a failure is invalid UTF-8 (validation on) or the sink: nothing else */
			if (validate && bad_utf8)
			{
				if (strcmp(err.sqlstate, "22021") != 0 && strcmp(err.sqlstate, "58030") != 0)
					abort();
			}
			else if (strcmp(err.sqlstate, "58030") != 0)
				abort();
			if (btx_jsonl_null(w, 0) == 0 || btx_jsonl_finish(w, &err) == 0)
				abort();		/* stays failed */
			failed = 1;
			break;
		}
		if (validate && bad_utf8)
			abort();			/* accepted invalid UTF-8 */
		nrows++;
	}
	if (!failed && btx_jsonl_finish(w, &err) == 0)
	{
		size_t		pos = 0;
		int			i;

		if (btx_jsonl_bytes(w) != o.b.len || btx_jsonl_rows(w) != nrows)
			abort();
		for (i = 0; i < nrows; i++)
		{
			const char *nl = o.b.data ? memchr(o.b.data + pos, '\n', o.b.len - pos) : NULL;

			if (nl == NULL)
				abort();
			/* without validation, invalid UTF-8 passes through: the bytes still decode back */
			if (check_line(o.b.data + pos, nl - (o.b.data + pos), names, rows[i], ncols) != 0)
				abort();
			pos = nl - o.b.data + 1;
		}
		if (pos != o.b.len)
			abort();
	}
	btx_jsonl_free(w);
	btx_buf_free(&o.b);
	return 0;
}
