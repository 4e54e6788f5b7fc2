/*
 * jsonl.c — JSON Lines writer: typed values → one JSON object per line.
 *
 * Design.  The row is built directly in the output buffer: '{', then per
 * column a separator, the column's key (escaped once at open, kept as
 * `"name":`) and the value's encoding, then "}\n".  No intermediate tree or
 * per-value allocation: the buffer grows to about flush_bytes plus one row
 * and is handed to the sink in large pieces.  Strings are escaped with a
 * 256-entry class table: runs of plain bytes are copied with one memcpy, so
 * typical text costs little more than the copy.  Timestamps are formatted
 * from integer arithmetic (days → civil date, Howard Hinnant's algorithm),
 * not through a C library call.  A failure (invalid UTF-8, out of memory, a
 * sink error, a misuse) is sticky; the row being built is dropped, rows
 * before it were already complete.
 */
#include "core/format/jsonl.h"

#include <stdlib.h>
#include <string.h>

#include "core/format/utf8.h"

struct btx_jsonl
{
	int			ncols;
	char	  **keys;			/* `"name":` */
	size_t	   *key_len;
	btx_jsonl_options opt;
	btx_sink_fn sink;
	void	   *ctx;
	btx_buf		out;			/* complete lines, then the row being built */
	size_t		row_start;		/* where the current row begins in out */
	int			in_row;			/* '{' written */
	int			members;		/* members in the current row */
	int			last_col;		/* last column given in this row, -1 */
	int			list_col;		/* column of an open list, -1 */
	int			list_items;
	uint64_t	flushed;		/* bytes handed to the sink */
	int64_t		rows;
	int			failed;
	btx_error	err;
};

/*
 * Escape classes: 0 plain, 1 short escape (\" \\ \b \f \n \r \t), 2 \u00XX.
 */
static const unsigned char esc_class[256] = {
	2, 2, 2, 2, 2, 2, 2, 2, 1, 1, 1, 2, 1, 1, 2, 2,
	2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2,
	0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0,
};

int
btx_json_escape(btx_buf *b, const void *p, size_t len)
{
	const unsigned char *s = p;
	size_t		i = 0;

	/*
	 * Room for the plain copy and the quotes up front; an escape (at most 6
	 * bytes for 1) reserves what the rest may still need, so a large value
	 * with few escapes never reserves six times its size.
	 */
	if (len > SIZE_MAX - 16 || btx_buf_reserve(b, len + 2) != 0)
	{
		b->oom = 1;
		return -1;
	}
	b->data[b->len++] = '"';
	while (i < len)
	{
		size_t		j = i;
		unsigned char c;
		char	   *o;

		while (j < len && esc_class[s[j]] == 0)
			j++;
		if (j > i)
		{
			memcpy(b->data + b->len, s + i, j - i);
			b->len += j - i;
		}
		if (j >= len)
			break;
		if (btx_buf_reserve(b, 6 + (len - j - 1) + 1) != 0)
			return -1;
		c = s[j];
		o = b->data + b->len;
		*o++ = '\\';
		switch (c)
		{
			case '"':
				*o++ = '"';
				break;
			case '\\':
				*o++ = '\\';
				break;
			case '\b':
				*o++ = 'b';
				break;
			case '\f':
				*o++ = 'f';
				break;
			case '\n':
				*o++ = 'n';
				break;
			case '\r':
				*o++ = 'r';
				break;
			case '\t':
				*o++ = 't';
				break;
			default:
				*o++ = 'u';
				*o++ = '0';
				*o++ = '0';
				*o++ = "0123456789abcdef"[c >> 4];
				*o++ = "0123456789abcdef"[c & 15];
				break;
		}
		b->len = o - b->data;
		i = j + 1;
	}
	b->data[b->len++] = '"';
	b->data[b->len] = '\0';
	return 0;
}

/* days since 1970-01-01 → proleptic Gregorian (y, m, d); Hinnant's civil_from_days */
static void
civil_from_days(int64_t z, int64_t *y, int *m, int *d)
{
	int64_t		era,
				yoe,
				doy,
				mp;

	z += 719468;
	era = (z >= 0 ? z : z - 146096) / 146097;
	yoe = z - era * 146097;
	yoe = (yoe - yoe / 1460 + yoe / 36524 - yoe / 146096) / 365;
	doy = (z - era * 146097) - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	*d = (int) (doy - (153 * mp + 2) / 5 + 1);
	*m = (int) (mp < 10 ? mp + 3 : mp - 9);
	*y = yoe + era * 400 + (*m <= 2);
}

static char *
put_digits(char *o, uint64_t v, int width)
{
	char		tmp[24];
	int			n = 0;

	do
	{
		tmp[n++] = (char) ('0' + v % 10);
		v /= 10;
	} while (v);
	while (n < width)
		tmp[n++] = '0';
	while (n)
		*o++ = tmp[--n];
	return o;
}

int
btx_json_timestamp(btx_buf *b, int64_t us)
{
	int64_t		days,
				rem,
				year;
	int			mon,
				day;
	char	   *o;

	if (btx_buf_reserve(b, BTX_JSONL_TIMESTAMP_MAX) != 0)
		return -1;
	/* floor division, so instants before 1970 land on the right day */
	days = us / 86400000000LL;
	rem = us % 86400000000LL;
	if (rem < 0)
	{
		rem += 86400000000LL;
		days--;
	}
	civil_from_days(days, &year, &mon, &day);
	o = b->data + b->len;
	*o++ = '"';
	if (year >= 0 && year <= 9999)
		o = put_digits(o, (uint64_t) year, 4);
	else
	{
		*o++ = year < 0 ? '-' : '+';
		o = put_digits(o, (uint64_t) (year < 0 ? -year : year), 6);
	}
	*o++ = '-';
	o = put_digits(o, (uint64_t) mon, 2);
	*o++ = '-';
	o = put_digits(o, (uint64_t) day, 2);
	*o++ = 'T';
	o = put_digits(o, (uint64_t) (rem / 3600000000LL), 2);
	*o++ = ':';
	o = put_digits(o, (uint64_t) (rem / 60000000LL % 60), 2);
	*o++ = ':';
	o = put_digits(o, (uint64_t) (rem / 1000000 % 60), 2);
	*o++ = '.';
	o = put_digits(o, (uint64_t) (rem % 1000000), 6);
	*o++ = 'Z';
	*o++ = '"';
	b->len = o - b->data;
	b->data[b->len] = '\0';
	return 0;
}

static int
fail(btx_jsonl *w, const char *sqlstate, const char *msg)
{
	if (!w->failed)
	{
		btx_error_set(&w->err, 1, sqlstate, "%s", msg);
		w->failed = 1;
	}
	return -1;
}

static int
oom(btx_jsonl *w)
{
	return fail(w, "53200", "out of memory while writing JSON Lines");
}

btx_jsonl *
btx_jsonl_open(const char *const *names, int ncols, const btx_jsonl_options *opt,
			   btx_sink_fn sink, void *ctx, btx_error *err)
{
	btx_jsonl  *w;
	int			i;

	btx_error_clear(err);
	if (ncols < 0 || (ncols > 0 && names == NULL) || sink == NULL)
	{
		btx_error_set(err, 1, "22023", "invalid JSON Lines writer arguments");
		return NULL;
	}
	w = calloc(1, sizeof(btx_jsonl));
	if (w == NULL)
		goto nomem;
	w->keys = calloc(ncols ? ncols : 1, sizeof(char *));
	w->key_len = calloc(ncols ? ncols : 1, sizeof(size_t));
	if (w->keys == NULL || w->key_len == NULL)
		goto nomem;
	w->ncols = ncols;
	for (i = 0; i < ncols; i++)
	{
		btx_buf		k;

		if (names[i] == NULL || !btx_utf8_valid(names[i], strlen(names[i])))
		{
			btx_error_set(err, 1, "22021", "column %d has no valid UTF-8 name", i + 1);
			btx_jsonl_free(w);
			return NULL;
		}
		btx_buf_init(&k);
		if (btx_json_escape(&k, names[i], strlen(names[i])) != 0 || btx_buf_putc(&k, ':') != 0)
		{
			btx_buf_free(&k);
			goto nomem;
		}
		w->key_len[i] = k.len;
		w->keys[i] = btx_buf_steal(&k);
	}
	if (opt)
		w->opt = *opt;
	if (w->opt.flush_bytes == 0)
		w->opt.flush_bytes = BTX_JSONL_DEFAULT_FLUSH_BYTES;
	w->sink = sink;
	w->ctx = ctx;
	btx_buf_init(&w->out);
	w->last_col = -1;
	w->list_col = -1;
	btx_error_clear(&w->err);
	return w;

nomem:
	btx_jsonl_free(w);
	btx_error_set(err, 1, "53200", "out of memory while opening a JSON Lines writer");
	return NULL;
}

/* open the member for column col: separator and key */
static int
member(btx_jsonl *w, int col)
{
	btx_buf    *b = &w->out;

	if (w->failed)
		return -1;
	if (b->oom)
		return oom(w);
	if (col < 0 || col >= w->ncols || col <= w->last_col || w->list_col >= 0)
		return fail(w, "XX000", "JSON Lines writer: columns out of order");
	if (btx_buf_reserve(b, w->key_len[col] + 2) != 0)
		return oom(w);
	if (!w->in_row)
	{
		w->row_start = b->len;
		b->data[b->len++] = '{';
		w->in_row = 1;
	}
	else if (w->members > 0)
		b->data[b->len++] = ',';
	memcpy(b->data + b->len, w->keys[col], w->key_len[col]);
	b->len += w->key_len[col];
	b->data[b->len] = '\0';
	w->last_col = col;
	w->members++;
	return 0;
}

static int
check_utf8(btx_jsonl *w, int col, const void *p, size_t len)
{
	if (!w->opt.validate_utf8 || btx_utf8_valid(p, len))
		return 0;
	if (!w->failed)
	{
		/* the key is `"name":`: report the name without quotes and colon */
		btx_error_set(&w->err, 7, "22021", "invalid UTF-8 in column %.*s", (int) w->key_len[col] - 1,
					  w->keys[col]);
		btx_error_detail(&w->err, "Row %lld holds a byte sequence that is not valid UTF-8; JSON Lines are UTF-8.",
						 (long long) w->rows + 1);
		btx_error_hint(&w->err, "Store the text as UTF-8 (a UTF8 database), or fix the row.");
		w->failed = 1;
	}
	return -1;
}

btx_buf *
btx_jsonl_value(btx_jsonl *w, int col)
{
	return member(w, col) == 0 ? &w->out : NULL;
}

int
btx_jsonl_null(btx_jsonl *w, int col)
{
	if (member(w, col) != 0)
		return -1;
	return btx_buf_append(&w->out, "null", 4) == 0 ? 0 : oom(w);
}

int
btx_jsonl_string(btx_jsonl *w, int col, const void *p, size_t len)
{
	if (member(w, col) != 0 || check_utf8(w, col, p, len) != 0)
		return -1;
	return btx_json_escape(&w->out, p, len) == 0 ? 0 : oom(w);
}

int
btx_jsonl_raw(btx_jsonl *w, int col, const void *p, size_t len)
{
	if (member(w, col) != 0 || check_utf8(w, col, p, len) != 0)
		return -1;
	if (len == 0)
		return fail(w, "XX000", "JSON Lines writer: empty JSON text");
	return btx_buf_append(&w->out, p, len) == 0 ? 0 : oom(w);
}

int
btx_jsonl_int64(btx_jsonl *w, int col, int64_t v)
{
	char		tmp[24];
	char	   *o = tmp;

	if (member(w, col) != 0)
		return -1;
	if (v < 0)
		*o++ = '-';
	o = put_digits(o, v < 0 ? (uint64_t) 0 - (uint64_t) v : (uint64_t) v, 1);
	return btx_buf_append(&w->out, tmp, o - tmp) == 0 ? 0 : oom(w);
}

int
btx_jsonl_bool(btx_jsonl *w, int col, int v)
{
	if (member(w, col) != 0)
		return -1;
	return (v ? btx_buf_append(&w->out, "true", 4) : btx_buf_append(&w->out, "false", 5)) == 0 ? 0 : oom(w);
}

int
btx_jsonl_timestamp(btx_jsonl *w, int col, int64_t unix_micros)
{
	if (member(w, col) != 0)
		return -1;
	return btx_json_timestamp(&w->out, unix_micros) == 0 ? 0 : oom(w);
}

int
btx_jsonl_list_begin(btx_jsonl *w, int col)
{
	if (member(w, col) != 0)
		return -1;
	if (btx_buf_putc(&w->out, '[') != 0)
		return oom(w);
	w->list_col = col;
	w->list_items = 0;
	return 0;
}

int
btx_jsonl_list_item(btx_jsonl *w, const void *p, size_t len)
{
	if (w->failed)
		return -1;
	if (w->list_col < 0)
		return fail(w, "XX000", "JSON Lines writer: list item outside a list");
	if (w->list_items++ > 0 && btx_buf_putc(&w->out, ',') != 0)
		return oom(w);
	if (p == NULL)
		return btx_buf_append(&w->out, "null", 4) == 0 ? 0 : oom(w);
	if (check_utf8(w, w->list_col, p, len) != 0)
		return -1;
	return btx_json_escape(&w->out, p, len) == 0 ? 0 : oom(w);
}

int
btx_jsonl_list_end(btx_jsonl *w)
{
	if (w->failed)
		return -1;
	if (w->list_col < 0)
		return fail(w, "XX000", "JSON Lines writer: list end outside a list");
	w->list_col = -1;
	return btx_buf_putc(&w->out, ']') == 0 ? 0 : oom(w);
}

int
btx_jsonl_members(btx_jsonl *w, int col, const void *p, size_t len)
{
	const char *s = p;
	size_t		a = 0,
				b = len;

	if (w->failed)
		return -1;
	if (col < 0 || col >= w->ncols || col <= w->last_col || w->list_col >= 0)
		return fail(w, "XX000", "JSON Lines writer: columns out of order");
	if (check_utf8(w, col, p, len) != 0)
		return -1;
	/* the text between the object's braces, without surrounding blanks */
	while (a < b && (s[a] == ' ' || s[a] == '\n' || s[a] == '\t' || s[a] == '\r'))
		a++;
	while (b > a && (s[b - 1] == ' ' || s[b - 1] == '\n' || s[b - 1] == '\t' || s[b - 1] == '\r'))
		b--;
	if (b - a < 2 || s[a] != '{' || s[b - 1] != '}')
		return fail(w, "XX000", "JSON Lines writer: pivot value is not a JSON object");
	a++;
	b--;
	while (a < b && (s[a] == ' ' || s[a] == '\n' || s[a] == '\t' || s[a] == '\r'))
		a++;
	w->last_col = col;
	if (a == b)
		return 0;
	if (!w->in_row)
	{
		if (btx_buf_putc(&w->out, '{') != 0)
			return oom(w);
		w->row_start = w->out.len - 1;
		w->in_row = 1;
	}
	else if (w->members > 0 && btx_buf_putc(&w->out, ',') != 0)
		return oom(w);
	w->members++;
	return btx_buf_append(&w->out, s + a, b - a) == 0 ? 0 : oom(w);
}

static int
flush(btx_jsonl *w, size_t upto)
{
	if (upto == 0)
		return 0;
	if (w->sink(w->ctx, w->out.data, upto) != 0)
		return fail(w, "58030", "could not write JSON Lines output");
	w->flushed += upto;
	memmove(w->out.data, w->out.data + upto, w->out.len - upto);
	w->out.len -= upto;
	w->out.data[w->out.len] = '\0';
	return 0;
}

static int
report(btx_jsonl *w, btx_error *err)
{
	if (err)
		*err = w->err;
	return -1;
}

int
btx_jsonl_end_row(btx_jsonl *w, btx_error *err)
{
	if (!w->failed && w->out.oom)
		oom(w);
	if (!w->failed && w->list_col >= 0)
		fail(w, "XX000", "JSON Lines writer: row ended inside a list");
	if (w->failed)
	{
		/* drop the partial row: complete lines before it stay */
		if (w->in_row)
		{
			w->out.len = w->row_start;
			if (w->out.data)
				w->out.data[w->out.len] = '\0';
		}
		w->in_row = 0;
		return report(w, err);
	}
	if ((!w->in_row && btx_buf_putc(&w->out, '{') != 0) || btx_buf_append(&w->out, "}\n", 2) != 0)
	{
		oom(w);
		return report(w, err);
	}
	w->in_row = 0;
	w->members = 0;
	w->last_col = -1;
	w->rows++;
	if (w->out.len >= w->opt.flush_bytes && flush(w, w->out.len) != 0)
		return report(w, err);
	return 0;
}

int
btx_jsonl_finish(btx_jsonl *w, btx_error *err)
{
	if (!w->failed && (w->in_row || w->list_col >= 0))
		fail(w, "XX000", "JSON Lines writer: finished inside a row");
	if (w->failed || flush(w, w->out.len) != 0)
		return report(w, err);
	return 0;
}

const btx_error *
btx_jsonl_error(const btx_jsonl *w)
{
	return &w->err;
}

uint64_t
btx_jsonl_bytes(const btx_jsonl *w)
{
	return w->flushed + (w->in_row ? w->row_start : w->out.len);
}

int64_t
btx_jsonl_rows(const btx_jsonl *w)
{
	return w->rows;
}

void
btx_jsonl_free(btx_jsonl *w)
{
	int			i;

	if (w == NULL)
		return;
	if (w->keys)
		for (i = 0; i < w->ncols; i++)
			free(w->keys[i]);
	free(w->keys);
	free(w->key_len);
	btx_buf_free(&w->out);
	free(w);
}
