/*
 * libFuzzer target for src/core/format: the input drives the Parquet writer
 * (column types, codec, page/row-group/dictionary limits, rows of values
 * including NULLs, lists, invalid UTF-8, a failing sink, field ids, file
 * metrics) and the gzip/zstd sink.  Sanitizers catch memory errors and
 * leaks; after a successful close the output must be framed by "PAR1" with a
 * footer length that fits, the byte count must match what the sink received,
 * and file metrics must exist exactly when asked for, with sane counts.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/format/compress.h"
#include "core/format/parquet.h"

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

	o->calls++;
	if (o->fail_at && o->calls == o->fail_at)
		return -1;
	return btx_buf_append(&o->b, data, len);
}

int			LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *names[] = {"a", "b", "c", "d", "e", "f", "g", "h"};
	static const btx_pq_codec codecs[] = {BTX_PQ_CODEC_NONE, BTX_PQ_CODEC_SNAPPY,
	BTX_PQ_CODEC_GZIP, BTX_PQ_CODEC_ZSTD};
	rd			r = {data, size};
	btx_pq_column cols[8];
	btx_pq_options opt;
	btx_pq_writer *w;
	btx_error	err;
	outbuf		o;
	int			ncols = byte(&r) % 8 + 1;
	int			i;
	int			row;
	int			rc = 0;
	uint8_t		flags;

	memset(cols, 0, sizeof(cols));
	for (i = 0; i < ncols; i++)
	{
		uint8_t		t = byte(&r);

		cols[i].name = names[i];
		cols[i].type = (btx_pq_type) (t % 7);
		cols[i].no_dictionary = (t >> 3) & 1;
		/* Iceberg field ids on some columns */
		cols[i].field_id = (t >> 4) & 1 ? i + 1 : 0;
		cols[i].element_field_id = (t >> 4) & 1 ? i + 101 : 0;
	}
	btx_pq_options_init(&opt);
	flags = byte(&r);
	opt.codec = codecs[flags % 4];
	opt.level = (flags >> 2) & 1;
	opt.page_rows = byte(&r) % 16 + 1;
	opt.page_bytes = (size_t) byte(&r) * 16 + 1;
	opt.row_group_rows = byte(&r) % 32 + 1;
	opt.row_group_bytes = (size_t) byte(&r) * 64 + 1;
	opt.dict_bytes = (size_t) byte(&r) * 8 + 1;
	opt.json_as_string = (flags >> 3) & 1;
	opt.metrics = (flags >> 5) & 1;
	memset(&o, 0, sizeof(o));
	o.fail_at = (flags >> 4) & 1 ? byte(&r) % 8 + 1 : 0;

	w = btx_pq_open(cols, ncols, &opt, sink, &o, &err);
	if (w == NULL)
		abort();
	for (row = 0; r.n > 0 && rc == 0; row++)
	{
		for (i = 0; i < ncols && rc == 0; i++)
		{
			uint8_t		c = byte(&r);
			char		s[64];
			size_t		len;
			size_t		k;

			if ((c & 7) == 0)
			{
				btx_pq_null(w, i);
				continue;
			}
			len = (c >> 3) % 32;
			for (k = 0; k < len; k++)
				s[k] = (char) ((byte(&r) % 3 == 0) ? 0x80 + k : 'a' + (k % 26));
			/* mostly valid UTF-8: clear the high bit unless the flag says otherwise */
			if (!((c >> 2) & 1))
				for (k = 0; k < len; k++)
					s[k] &= 0x7F;
			switch (cols[i].type)
			{
				case BTX_PQ_STRING:
				case BTX_PQ_JSON:
					btx_pq_bytes(w, i, s, len);
					break;
				case BTX_PQ_TIMESTAMP:
				case BTX_PQ_INT64:
					btx_pq_int64(w, i, (int64_t) ((uint64_t) c << 56 | (uint64_t) len * 0x01010101u) - (c & 1));
					break;
				case BTX_PQ_DOUBLE:
					{
						double		d = (c & 1) ? (double) len / (c - 100.0) : -0.0 * len;

						if ((c & 0x30) == 0x30)
							d = 0.0 / (double) (len - len);	/* NaN */
						btx_pq_double(w, i, d);
					}
					break;
				case BTX_PQ_BOOLEAN:
					btx_pq_bool(w, i, c & 8);
					break;
				case BTX_PQ_LIST_STRING:
					btx_pq_list_begin(w, i);
					for (k = 0; k < len % 5; k++)
						btx_pq_list_item(w, i, (k & 1) ? NULL : s + k, len - k);
					btx_pq_list_end(w, i);
					break;
			}
		}
		/* occasionally leave a column unset to hit the misuse path */
		if (r.n > 0 && r.p[0] == 0xEE)
			btx_pq_int64(w, 0, 1);
		rc = btx_pq_end_row(w, &err);
	}
	if (rc == 0)
	{
		rc = btx_pq_close(w, &err);
		if (rc == 0)
		{
			const unsigned char *b = (const unsigned char *) o.b.data;
			size_t		n = o.b.len;
			uint32_t	flen;

			if (n < 12 || memcmp(b, "PAR1", 4) != 0 || memcmp(b + n - 4, "PAR1", 4) != 0)
				abort();
			flen = (uint32_t) b[n - 8] | ((uint32_t) b[n - 7] << 8) |
				((uint32_t) b[n - 6] << 16) | ((uint32_t) b[n - 5] << 24);
			if ((size_t) flen + 12 > n || btx_pq_bytes_written(w) != n)
				abort();
			/* file metrics: present exactly when asked for, counts consistent */
			for (i = 0; i < ncols; i++)
			{
				btx_pq_col_metrics m;
				int			mr = btx_pq_column_metrics(w, i, &m);

				if ((mr == 0) != (opt.metrics != 0))
					abort();
				if (mr == 0 && (m.null_count + m.nan_count > m.value_count ||
								m.value_count < btx_pq_rows(w) ||
								(m.has_bounds && cols[i].type == BTX_PQ_INT64 && m.imin > m.imax)))
					abort();
			}
		}
	}
	else if (err.message[0] == '\0' || strlen(err.sqlstate) != 5)
		abort();				/* every failure explains itself */
	btx_pq_free(w);
	btx_buf_free(&o.b);

	/* the compressing sink over the raw input */
	{
		btx_zsink  *z;
		outbuf		zo;

		memset(&zo, 0, sizeof(zo));
		z = btx_zsink_open(size % 2 ? BTX_ZSINK_GZIP : BTX_ZSINK_ZSTD, 1, sink, &zo, &err);
		if (z == NULL)
			abort();
		btx_zsink_write(z, data, size / 2);
		btx_zsink_write(z, data + size / 2, size - size / 2);
		if (btx_zsink_finish(z, &err) != 0 || btx_zsink_raw_bytes(z) != size ||
			btx_zsink_out_bytes(z) != zo.b.len)
			abort();
		btx_zsink_free(z);
		btx_buf_free(&zo.b);
	}
	return 0;
}
