/*
 * Unit tests for src/core/format: golden bytes for the Thrift compact encoder,
 * the RLE/bit-packed hybrid, PLAIN encoders and page headers (vectors from
 * parquet.md's appendix), writer structure checks, and round trips of the
 * gzip/zstd sinks.  The JSON Lines writer's tests are in test_jsonl.c.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/common/btx_buf.h"
#include <zlib.h>
#include <zstd.h>

#include "core/format/compress.h"
#include "core/format/parquet.h"
#include "core/format/rle.h"
#include "core/format/thrift.h"
#include "unit.h"

int			n_pass;
int			n_fail;

static void
hexdump(char *dst, size_t dstlen, const unsigned char *p, size_t n)
{
	size_t		i;
	size_t		o = 0;

	dst[0] = '\0';
	for (i = 0; i < n && o + 4 < dstlen; i++)
		o += snprintf(dst + o, dstlen - o, "%s%02X", i ? " " : "", p[i]);
}

/* compare bytes with a hex string like "15 02 00" */
static void
check_hex(const char *name, const void *data, size_t len, const char *hex)
{
	unsigned char want[4096];
	size_t		nw = 0;
	const char *s = hex;
	char		got[8192];

	while (*s)
	{
		unsigned int b;

		if (*s == ' ')
		{
			s++;
			continue;
		}
		sscanf(s, "%2x", &b);
		want[nw++] = (unsigned char) b;
		s += 2;
	}
	if (nw == len && memcmp(want, data, len) == 0)
	{
		n_pass++;
		printf("ok   %s\n", name);
		return;
	}
	n_fail++;
	hexdump(got, sizeof(got), data, len);
	printf("FAIL %s\n     want %s\n     got  %s\n", name, hex, got);
}

void
check(const char *name, int cond)
{
	if (cond)
	{
		n_pass++;
		printf("ok   %s\n", name);
	}
	else
	{
		n_fail++;
		printf("FAIL %s\n", name);
	}
}

/* ---------- thrift ---------- */

static void
test_thrift(void)
{
	btx_buf		b;
	btx_thrift	t;

	btx_buf_init(&b);

	btx_thrift_put_varint(&b, 50399);
	check_hex("varint 50399", b.data, b.len, "DF 89 03");
	btx_buf_reset(&b);
	btx_thrift_put_varint(&b, btx_thrift_zigzag64(-1));
	check_hex("zigzag -1", b.data, b.len, "01");
	btx_buf_reset(&b);
	btx_thrift_put_varint(&b, btx_thrift_zigzag64(300));
	check_hex("zigzag 300", b.data, b.len, "D8 04");
	btx_buf_reset(&b);
	btx_thrift_put_varint(&b, btx_thrift_zigzag64(INT64_MIN));
	check_hex("zigzag INT64_MIN", b.data, b.len, "FF FF FF FF FF FF FF FF FF 01");
	btx_buf_reset(&b);
	btx_thrift_put_varint(&b, btx_thrift_zigzag64(INT64_MAX));
	check_hex("zigzag INT64_MAX", b.data, b.len, "FE FF FF FF FF FF FF FF FF 01");
	btx_buf_reset(&b);

	btx_thrift_init(&t, &b);
	btx_thrift_struct_begin(&t);
	btx_thrift_field_i32(&t, 1, 1);
	btx_thrift_struct_end(&t);
	check_hex("struct {1: i32 1}", b.data, b.len, "15 02 00");
	btx_buf_reset(&b);

	/* PageHeader DATA_PAGE */
	btx_thrift_init(&t, &b);
	btx_thrift_struct_begin(&t);
	btx_thrift_field_i32(&t, 1, 0);
	btx_thrift_field_i32(&t, 2, 100);
	btx_thrift_field_i32(&t, 3, 80);
	btx_thrift_field_struct_begin(&t, 5);
	btx_thrift_field_i32(&t, 1, 10);
	btx_thrift_field_i32(&t, 2, 0);
	btx_thrift_field_i32(&t, 3, 3);
	btx_thrift_field_i32(&t, 4, 3);
	btx_thrift_struct_end(&t);
	btx_thrift_struct_end(&t);
	check_hex("PageHeader data page", b.data, b.len,
			  "15 00 15 C8 01 15 A0 01 2C 15 14 15 00 15 06 15 06 00 00");
	check("thrift status ok", btx_thrift_status(&t) == 0 && t.depth == 0);
	btx_buf_reset(&b);

	/* PageHeader DICTIONARY_PAGE */
	btx_thrift_init(&t, &b);
	btx_thrift_struct_begin(&t);
	btx_thrift_field_i32(&t, 1, 2);
	btx_thrift_field_i32(&t, 2, 20);
	btx_thrift_field_i32(&t, 3, 20);
	btx_thrift_field_struct_begin(&t, 7);
	btx_thrift_field_i32(&t, 1, 3);
	btx_thrift_field_i32(&t, 2, 0);
	btx_thrift_struct_end(&t);
	btx_thrift_struct_end(&t);
	check_hex("PageHeader dictionary page", b.data, b.len,
			  "15 04 15 28 15 28 4C 15 06 15 00 00 00");
	btx_buf_reset(&b);

	/* SchemaElement */
	btx_thrift_init(&t, &b);
	btx_thrift_struct_begin(&t);
	btx_thrift_field_i32(&t, 1, 6);
	btx_thrift_field_i32(&t, 3, 1);
	btx_thrift_field_string(&t, 4, "s");
	btx_thrift_field_i32(&t, 6, 0);
	btx_thrift_field_struct_begin(&t, 10);
	btx_thrift_field_struct_begin(&t, 1);
	btx_thrift_struct_end(&t);
	btx_thrift_struct_end(&t);
	btx_thrift_struct_end(&t);
	check_hex("SchemaElement string", b.data, b.len,
			  "15 0C 25 02 18 01 73 25 00 4C 1C 00 00 00");
	btx_buf_reset(&b);

	/* LogicalType TIMESTAMP(true, MICROS) */
	btx_thrift_init(&t, &b);
	btx_thrift_struct_begin(&t);
	btx_thrift_field_struct_begin(&t, 8);
	btx_thrift_field_bool(&t, 1, 1);
	btx_thrift_field_struct_begin(&t, 2);
	btx_thrift_field_struct_begin(&t, 2);
	btx_thrift_struct_end(&t);
	btx_thrift_struct_end(&t);
	btx_thrift_struct_end(&t);
	btx_thrift_struct_end(&t);
	check_hex("LogicalType TIMESTAMP", b.data, b.len, "8C 11 1C 2C 00 00 00 00");
	btx_buf_reset(&b);

	{
		static const struct
		{
			int16_t		id;
			const char *hex;
			const char *name;
		}			unions[] = {
			{1, "1C 00 00", "LogicalType STRING"},
			{3, "3C 00 00", "LogicalType LIST"},
			{12, "CC 00 00", "LogicalType JSON"},
		};
		int			i;

		for (i = 0; i < 3; i++)
		{
			btx_thrift_init(&t, &b);
			btx_thrift_struct_begin(&t);
			btx_thrift_field_struct_begin(&t, unions[i].id);
			btx_thrift_struct_end(&t);
			btx_thrift_struct_end(&t);
			check_hex(unions[i].name, b.data, b.len, unions[i].hex);
			btx_buf_reset(&b);
		}
	}

	/* list<i32> [0,3,8] as a field 1 of nothing: header + elements */
	btx_thrift_init(&t, &b);
	btx_thrift_struct_begin(&t);
	btx_thrift_field_list_begin(&t, 1, BTX_THRIFT_I32, 3);
	btx_thrift_elem_i32(&t, 0);
	btx_thrift_elem_i32(&t, 3);
	btx_thrift_elem_i32(&t, 8);
	btx_thrift_struct_end(&t);
	/* skip the field header byte (19) and the stop byte */
	check_hex("list<i32> [0,3,8]", b.data + 1, b.len - 2, "35 00 06 10");
	btx_buf_reset(&b);

	btx_thrift_init(&t, &b);
	btx_thrift_struct_begin(&t);
	btx_thrift_field_list_begin(&t, 1, BTX_THRIFT_BINARY, 2);
	btx_thrift_elem_string(&t, "a");
	btx_thrift_elem_string(&t, "b");
	btx_thrift_struct_end(&t);
	check_hex("list<string> [a,b]", b.data + 1, b.len - 2, "28 01 61 01 62");
	btx_buf_reset(&b);

	btx_thrift_init(&t, &b);
	btx_thrift_struct_begin(&t);
	btx_thrift_field_list_begin(&t, 1, BTX_THRIFT_I64, 20);
	btx_thrift_struct_end(&t);
	check_hex("20-element list<i64> header", b.data + 1, b.len - 2, "F6 14");
	btx_buf_reset(&b);

	btx_thrift_init(&t, &b);
	btx_thrift_struct_begin(&t);
	btx_thrift_field_i32(&t, 1, 0);
	btx_thrift_field_i64(&t, 16, 7);
	btx_thrift_struct_end(&t);
	check_hex("struct {1: i32 0, 16: i64 7}", b.data, b.len, "15 00 F6 0E 00");
	btx_buf_reset(&b);

	btx_thrift_init(&t, &b);
	btx_thrift_struct_begin(&t);
	btx_thrift_field_i64(&t, 16, 7);
	btx_thrift_struct_end(&t);
	check_hex("long form field id 16", b.data, b.len, "06 20 0E 00");
	btx_buf_reset(&b);

	/* non-increasing id uses the long form; i8 is a raw byte; bools */
	btx_thrift_init(&t, &b);
	btx_thrift_struct_begin(&t);
	btx_thrift_field_i8(&t, 1, -2);
	btx_thrift_field_bool(&t, 2, 1);
	btx_thrift_field_bool(&t, 3, 0);
	btx_thrift_struct_end(&t);
	check_hex("i8 and bools", b.data, b.len, "13 FE 11 12 00");
	btx_buf_reset(&b);

	/* misuse is reported */
	btx_thrift_init(&t, &b);
	btx_thrift_struct_end(&t);
	check("unbalanced struct_end reported", btx_thrift_status(&t) != 0);

	btx_buf_free(&b);
}

/* ---------- RLE / plain ---------- */

static void
test_rle(void)
{
	btx_buf		b;
	uint8_t		v[64];
	uint32_t	u[64];
	int			i;

	btx_buf_init(&b);

	memset(v, 1, 10);
	btx_rle_encode_u8(&b, v, 10, 1);
	check_hex("rle ten 1s bw1", b.data, b.len, "14 01");
	btx_buf_reset(&b);

	for (i = 0; i < 8; i++)
		u[i] = (uint32_t) i;
	btx_rle_encode_u32(&b, u, 8, 3);
	check_hex("bitpack 0..7 bw3", b.data, b.len, "03 88 C6 FA");
	btx_buf_reset(&b);

	v[0] = 1;
	v[1] = 0;
	v[2] = 1;
	v[3] = 1;
	v[4] = 1;
	btx_rle_encode_u8(&b, v, 5, 1);
	check_hex("bitpack [1,0,1,1,1] bw1", b.data, b.len, "03 1D");
	btx_buf_reset(&b);

	/* 3 literals then a run of 20: literals topped up to 8, then RLE 15 */
	v[0] = 0;
	v[1] = 1;
	v[2] = 0;
	for (i = 3; i < 23; i++)
		v[i] = 2;
	btx_rle_encode_u8(&b, v, 23, 2);
	/* group 0,1,0,2,2,2,2,2 at 2 bits packs to 84 AA; then RLE 15 x 2 */
	check_hex("literals topped up then rle", b.data, b.len, "03 84 AA 1E 02");
	btx_buf_reset(&b);

	/* run of 9 at the start, then 2 singles: rle 9, then one padded group */
	memset(v, 0, 9);
	v[9] = 1;
	v[10] = 1;
	v[10] = 0;
	btx_rle_encode_u8(&b, v, 11, 1);
	check_hex("rle then padded literal", b.data, b.len, "12 00 03 01");
	btx_buf_reset(&b);

	/* run too short after top-up stays literal: 7 literals + run of 10 */
	for (i = 0; i < 7; i++)
		v[i] = (uint8_t) (i & 1);
	memset(v + 7, 1, 10);
	btx_rle_encode_u8(&b, v, 17, 1);
	/* pad 1 from run, remaining 9 >= 8 -> literal group of 8, rle 9 */
	check_hex("short top-up", b.data, b.len, "03 AA 12 01");
	btx_buf_reset(&b);

	/* dictionary indices with bit width 9: rle value takes 2 bytes */
	for (i = 0; i < 8; i++)
		u[i] = 300;
	btx_rle_encode_u32(&b, u, 8, 9);
	check_hex("rle bw9 2-byte value", b.data, b.len, "10 2C 01");
	btx_buf_reset(&b);

	memset(v, 1, 10);
	btx_rle_levels_v1(&b, v, 10, 1);
	check_hex("levels v1 with length prefix", b.data, b.len, "02 00 00 00 14 01");
	btx_buf_reset(&b);

	check("bit width 0 -> 1", btx_rle_bit_width(0) == 1);
	check("bit width 1 -> 1", btx_rle_bit_width(1) == 1);
	check("bit width 3 -> 2", btx_rle_bit_width(3) == 2);
	check("bit width 4 -> 3", btx_rle_bit_width(4) == 3);
	check("bit width 255 -> 8", btx_rle_bit_width(255) == 8);

	btx_plain_int64(&b, -2);
	check_hex("plain int64 -2", b.data, b.len, "FE FF FF FF FF FF FF FF");
	btx_buf_reset(&b);
	btx_plain_double(&b, 1.5);
	check_hex("plain double 1.5", b.data, b.len, "00 00 00 00 00 00 F8 3F");
	btx_buf_reset(&b);
	btx_plain_double(&b, -0.0);
	check_hex("plain double -0.0", b.data, b.len, "00 00 00 00 00 00 00 80");
	btx_buf_reset(&b);
	btx_plain_byte_array(&b, "hey", 3);
	btx_plain_byte_array(&b, "", 0);
	check_hex("plain byte arrays", b.data, b.len, "03 00 00 00 68 65 79 00 00 00 00");
	btx_buf_reset(&b);
	{
		uint8_t		bo[10] = {1, 0, 1, 1, 0, 0, 0, 1, 1, 0};

		btx_plain_bools(&b, bo, 10);
		check_hex("plain bools", b.data, b.len, "8D 01");
		btx_buf_reset(&b);
	}
	btx_buf_free(&b);
}

/* ---------- page headers and writer ---------- */

typedef struct memsink
{
	btx_buf		b;
	int			calls;
	int			fail_after;		/* fail the call with this number (1-based); 0 never */
} memsink;

static int
mem_sink(void *ctx, const void *data, size_t len)
{
	memsink    *m = ctx;

	m->calls++;
	if (m->fail_after && m->calls >= m->fail_after)
		return -1;
	return btx_buf_append(&m->b, data, len);
}

static uint32_t
rd32(const unsigned char *p)
{
	return (uint32_t) p[0] | ((uint32_t) p[1] << 8) | ((uint32_t) p[2] << 16) | ((uint32_t) p[3] << 24);
}

/* file starts and ends with PAR1 and the footer length fits */
static int
well_framed(const btx_buf *b)
{
	const unsigned char *p = (const unsigned char *) b->data;

	if (b->len < 12 || memcmp(p, "PAR1", 4) != 0 || memcmp(p + b->len - 4, "PAR1", 4) != 0)
		return 0;
	return rd32(p + b->len - 8) + 12 <= b->len;
}

static void
test_page_headers(void)
{
	btx_buf		b;

	btx_buf_init(&b);
	btx_pq_page_header(&b, 0, 100, 80, 10, 0);
	check_hex("btx_pq_page_header data page", b.data, b.len,
			  "15 00 15 C8 01 15 A0 01 2C 15 14 15 00 15 06 15 06 00 00");
	btx_buf_reset(&b);
	btx_pq_page_header(&b, 2, 20, 20, 3, 0);
	check_hex("btx_pq_page_header dictionary page", b.data, b.len,
			  "15 04 15 28 15 28 4C 15 06 15 00 00 00");
	btx_buf_free(&b);
}

static void
test_writer(void)
{
	btx_pq_column cols[2] = {{"n", BTX_PQ_INT64, 1}, {"s", BTX_PQ_STRING, 0}};
	btx_pq_column one[1] = {{"n", BTX_PQ_INT64, 1}};
	btx_pq_options opt;
	btx_pq_writer *w;
	btx_error	err;
	memsink		m;
	int			i;
	int			rc;

	/* golden bytes of the first page: int64 [5, NULL, 7], PLAIN, no codec */
	memset(&m, 0, sizeof(m));
	btx_pq_options_init(&opt);
	opt.codec = BTX_PQ_CODEC_NONE;
	w = btx_pq_open(one, 1, &opt, mem_sink, &m, &err);
	btx_pq_int64(w, 0, 5);
	btx_pq_end_row(w, &err);
	btx_pq_null(w, 0);
	btx_pq_end_row(w, &err);
	btx_pq_int64(w, 0, 7);
	btx_pq_end_row(w, &err);
	check("nothing written before the first flush", m.b.len == 0);
	rc = btx_pq_close(w, &err);
	check("close ok", rc == 0 && btx_pq_rows(w) == 3 && btx_pq_row_groups(w) == 1);
	check("bytes_written matches sink", btx_pq_bytes_written(w) == m.b.len);
	check("file framed by PAR1 and footer length", well_framed(&m.b));
	if (m.b.len > 4 + 17 + 22)
		check_hex("first data page (header + levels + PLAIN int64)", m.b.data + 4, 17 + 22,
				  "15 00 15 2C 15 2C 2C 15 06 15 00 15 06 15 06 00 00 "
				  "02 00 00 00 03 05 05 00 00 00 00 00 00 00 07 00 00 00 00 00 00 00");
	btx_pq_free(w);
	btx_buf_free(&m.b);

	/* zero rows: a schema-only file with no row groups */
	memset(&m, 0, sizeof(m));
	w = btx_pq_open(cols, 2, NULL, mem_sink, &m, &err);
	rc = btx_pq_close(w, &err);
	check("zero-row file is framed", rc == 0 && well_framed(&m.b) && btx_pq_row_groups(w) == 0);
	btx_pq_free(w);
	btx_buf_free(&m.b);

	/* misuse and bad data are reported as errors */
	memset(&m, 0, sizeof(m));
	w = btx_pq_open(cols, 2, NULL, mem_sink, &m, &err);
	btx_pq_int64(w, 0, 1);
	rc = btx_pq_end_row(w, &err);
	check("missing column value -> error", rc != 0 && strcmp(err.sqlstate, "XX000") == 0 &&
		  strstr(err.detail, "\"s\"") != NULL);
	check("writer stays failed", btx_pq_close(w, &err) != 0);
	btx_pq_free(w);

	w = btx_pq_open(cols, 2, NULL, mem_sink, &m, &err);
	rc = btx_pq_double(w, 0, 1.0);
	check("wrong value type -> error", rc != 0);
	btx_pq_free(w);

	w = btx_pq_open(cols, 2, NULL, mem_sink, &m, &err);
	btx_pq_int64(w, 0, 1);
	rc = btx_pq_bytes(w, 1, "a\xC3(", 3);
	btx_pq_end_row(w, &err);
	check("invalid UTF-8 -> 22021", rc != 0 && strcmp(err.sqlstate, "22021") == 0);
	btx_pq_free(w);

	w = btx_pq_open(cols, 2, NULL, mem_sink, &m, &err);
	btx_pq_int64(w, 0, 1);
	btx_pq_int64(w, 0, 2);
	rc = btx_pq_end_row(w, &err);
	check("two values for one column -> error", rc != 0);
	btx_pq_free(w);

	{
		btx_pq_column dup[2] = {{"x", BTX_PQ_INT64, 0}, {"x", BTX_PQ_STRING, 0}};

		w = btx_pq_open(dup, 2, NULL, mem_sink, &m, &err);
		check("duplicate column names -> 42701", w == NULL && strcmp(err.sqlstate, "42701") == 0);
		btx_pq_options_init(&opt);
		opt.codec = BTX_PQ_CODEC_ZSTD;
		opt.level = 99;
		w = btx_pq_open(cols, 2, &opt, mem_sink, &m, &err);
		check("bad zstd level -> 22023", w == NULL && strcmp(err.sqlstate, "22023") == 0);
	}
	btx_buf_free(&m.b);

	/* a failing sink aborts the writer with 58030 */
	memset(&m, 0, sizeof(m));
	m.fail_after = 2;
	btx_pq_options_init(&opt);
	opt.row_group_rows = 10;
	w = btx_pq_open(cols, 2, &opt, mem_sink, &m, &err);
	rc = 0;
	for (i = 0; i < 100 && rc == 0; i++)
	{
		btx_pq_int64(w, 0, i);
		btx_pq_bytes(w, 1, "abc", 3);
		rc = btx_pq_end_row(w, &err);
	}
	check("sink failure -> 58030", rc != 0 && strcmp(err.sqlstate, "58030") == 0);
	check("no write after sink failure", m.calls == 2);
	btx_pq_free(w);
	btx_buf_free(&m.b);

	/* memory stays bounded by the row group: 200k rows, 64 KiB row groups */
	memset(&m, 0, sizeof(m));
	btx_pq_options_init(&opt);
	opt.row_group_bytes = 64 * 1024;
	w = btx_pq_open(cols, 2, &opt, mem_sink, &m, &err);
	{
		size_t		peak = 0;
		char		s[32];

		for (i = 0; i < 200000; i++)
		{
			int			n = snprintf(s, sizeof(s), "value-%d", i);

			btx_pq_int64(w, 0, i);
			btx_pq_bytes(w, 1, s, n);
			if (btx_pq_end_row(w, &err) != 0)
				break;
			if (btx_pq_buffered_bytes(w) > peak)
				peak = btx_pq_buffered_bytes(w);
			btx_buf_reset(&m.b);	/* a streaming sink keeps nothing */
		}
		rc = btx_pq_close(w, &err);
		printf("     200k rows: %lld row groups, peak buffered %zu bytes\n",
			   (long long) btx_pq_row_groups(w), peak);
		check("streaming: many row groups", rc == 0 && btx_pq_row_groups(w) > 20);
		check("streaming: buffered memory bounded (< 2 MiB)", peak < 2 * 1024 * 1024);
	}
	btx_pq_free(w);
	btx_buf_free(&m.b);
}

/* ---------- compressing sinks ---------- */

static void
fill_lines(btx_buf *b, int n)
{
	int			i;

	for (i = 0; i < n; i++)
		btx_buf_appendf(b, "{\"id\":%d,\"name\":\"span-%d\",\"x\":%u}\n", i, i % 37,
						(unsigned) (i * 2654435761u));
}

static void
test_zsink_codec(btx_zcodec codec, const char *name)
{
	btx_buf		raw;
	memsink		m;
	btx_zsink  *z;
	btx_error	err;
	size_t		off = 0;
	int			rc = 0;
	char		label[128];
	unsigned char *back;
	size_t		backlen = 0;

	btx_buf_init(&raw);
	fill_lines(&raw, 100000);	/* ~5 MB, larger than the output buffer */
	memset(&m, 0, sizeof(m));
	z = btx_zsink_open(codec, 0, mem_sink, &m, &err);
	/* feed in uneven pieces, including empty ones */
	while (off < raw.len && rc == 0)
	{
		size_t		n = (off * 7 + 13) % 70001;

		if (n > raw.len - off)
			n = raw.len - off;
		rc = btx_zsink_write(z, raw.data + off, n);
		off += n;
	}
	rc |= btx_zsink_finish(z, &err);
	snprintf(label, sizeof(label), "%s sink: finish ok, counts", name);
	check(label, rc == 0 && btx_zsink_raw_bytes(z) == raw.len && btx_zsink_out_bytes(z) == m.b.len &&
		  m.b.len < raw.len / 2);
	printf("     %s: %zu raw -> %zu bytes in %d writes\n", name, raw.len, m.b.len, m.calls);

	back = malloc(raw.len + 1);
	if (codec == BTX_ZSINK_GZIP)
	{
		z_stream	s;

		memset(&s, 0, sizeof(s));
		snprintf(label, sizeof(label), "%s sink: gzip magic", name);
		check(label, m.b.len > 2 && (unsigned char) m.b.data[0] == 0x1F &&
			  (unsigned char) m.b.data[1] == 0x8B);
		inflateInit2(&s, 15 + 16);	/* gzip only */
		s.next_in = (Bytef *) m.b.data;
		s.avail_in = (uInt) m.b.len;
		s.next_out = back;
		s.avail_out = (uInt) raw.len + 1;
		rc = inflate(&s, Z_FINISH);
		backlen = raw.len + 1 - s.avail_out;
		snprintf(label, sizeof(label), "%s sink: one complete gzip member", name);
		check(label, rc == Z_STREAM_END && s.avail_in == 0);
		inflateEnd(&s);
	}
	else
	{
		ZSTD_DCtx  *d = ZSTD_createDCtx();
		ZSTD_inBuffer in = {m.b.data, m.b.len, 0};
		ZSTD_outBuffer out = {back, raw.len + 1, 0};
		size_t		r = ZSTD_decompressStream(d, &out, &in);

		snprintf(label, sizeof(label), "%s sink: one complete zstd frame", name);
		check(label, r == 0 && in.pos == in.size &&
			  ZSTD_findFrameCompressedSize(m.b.data, m.b.len) == m.b.len);
		backlen = out.pos;
		ZSTD_freeDCtx(d);
	}
	snprintf(label, sizeof(label), "%s sink: round trip equal", name);
	check(label, backlen == raw.len && memcmp(back, raw.data, raw.len) == 0);
	free(back);
	btx_zsink_free(z);
	btx_buf_free(&m.b);

	/* empty input still makes a valid (empty) stream */
	memset(&m, 0, sizeof(m));
	z = btx_zsink_open(codec, 1, mem_sink, &m, &err);
	rc = btx_zsink_finish(z, &err);
	snprintf(label, sizeof(label), "%s sink: empty stream has a trailer", name);
	check(label, rc == 0 && m.b.len > 8);
	btx_zsink_free(z);
	btx_buf_free(&m.b);

	/* downstream failure is reported */
	memset(&m, 0, sizeof(m));
	m.fail_after = 1;
	z = btx_zsink_open(codec, 0, mem_sink, &m, &err);
	rc = btx_zsink_write(z, raw.data, raw.len);
	rc |= btx_zsink_finish(z, &err);
	snprintf(label, sizeof(label), "%s sink: downstream failure -> 58030", name);
	check(label, rc != 0 && strcmp(err.sqlstate, "58030") == 0);
	btx_zsink_free(z);
	btx_buf_free(&m.b);
	btx_buf_free(&raw);
}

static void
test_zsink(void)
{
	memsink		m;
	btx_zsink  *z;
	btx_error	err;

	test_zsink_codec(BTX_ZSINK_GZIP, "gzip");
	test_zsink_codec(BTX_ZSINK_ZSTD, "zstd");

	memset(&m, 0, sizeof(m));
	z = btx_zsink_open(BTX_ZSINK_NONE, 0, mem_sink, &m, &err);
	btx_zsink_write(z, "abc\n", 4);
	check("none sink passes through", btx_zsink_finish(z, &err) == 0 && m.b.len == 4 &&
		  memcmp(m.b.data, "abc\n", 4) == 0 && btx_zsink_raw_bytes(z) == 4);
	btx_zsink_free(z);
	btx_buf_free(&m.b);
	z = btx_zsink_open(BTX_ZSINK_GZIP, 10, mem_sink, &m, &err);
	check("gzip level 10 rejected", z == NULL && strcmp(err.sqlstate, "22023") == 0);
	check("suffixes", strcmp(btx_zsink_suffix(BTX_ZSINK_GZIP), ".gz") == 0 &&
		  strcmp(btx_zsink_suffix(BTX_ZSINK_ZSTD), ".zst") == 0);
}

/*
 * File-level metrics (btx_pq_options.metrics) across several row groups and
 * a dictionary fallback, and field ids in the footer.
 */
static void
test_metrics(void)
{
	btx_pq_column cols[6] = {
		{"i", BTX_PQ_INT64, 0, 11, 0}, {"d", BTX_PQ_DOUBLE, 0, 12, 0},
		{"s", BTX_PQ_STRING, 0, 13, 0}, {"b", BTX_PQ_BOOLEAN, 0, 14, 0},
		{"l", BTX_PQ_LIST_STRING, 0, 15, 16}, {"j", BTX_PQ_JSON, 0, 17, 0}};
	btx_pq_options opt;
	btx_pq_col_metrics m;
	btx_pq_writer *w;
	btx_error	err;
	memsink		ms;
	int			i;
	int			rc;
	int			ids_found = 0;
	char		sbuf[32];

	memset(&ms, 0, sizeof(ms));
	btx_pq_options_init(&opt);
	opt.row_group_rows = 7;
	opt.metrics = 1;
	w = btx_pq_open(cols, 6, &opt, mem_sink, &ms, &err);
	check("metrics before close -> -1", btx_pq_column_metrics(w, 0, &m) == -1);
	for (i = 0; i < 20; i++)
	{
		/* i: -5..14 with a NULL at 3; d: NaN at 4, -0.0 at 5; s: "" at 6 */
		if (i == 3)
			btx_pq_null(w, 0);
		else
			btx_pq_int64(w, 0, i - 5);
		btx_pq_double(w, 1, i == 4 ? NAN : i == 5 ? -0.0 : (double) i * 1.5);
		snprintf(sbuf, sizeof(sbuf), "k%02d", 19 - i);
		btx_pq_bytes(w, 2, i == 6 ? "" : sbuf, i == 6 ? 0 : strlen(sbuf));
		btx_pq_bool(w, 3, 1);
		btx_pq_list_begin(w, 4);
		if (i % 2)
		{
			btx_pq_list_item(w, 4, "x", 1);
			btx_pq_list_item(w, 4, NULL, 0);
		}
		btx_pq_list_end(w, 4);
		btx_pq_bytes(w, 5, "{}", 2);
		rc = btx_pq_end_row(w, &err);
	}
	rc = btx_pq_close(w, &err);
	check("metrics writer closes", rc == 0 && btx_pq_row_groups(w) == 3);
	rc = btx_pq_column_metrics(w, 0, &m);
	check("int64 metrics: counts and exact bounds over row groups",
		  rc == 0 && m.value_count == 20 && m.null_count == 1 && m.has_bounds &&
		  m.imin == -5 && m.imax == 14 && m.compressed_bytes > 0);
	rc = btx_pq_column_metrics(w, 1, &m);
	check("double metrics: NaN counted, excluded from bounds",
		  rc == 0 && m.nan_count == 1 && m.null_count == 0 && m.has_bounds &&
		  m.dmin == 0.0 && m.dmax == 19 * 1.5);
	rc = btx_pq_column_metrics(w, 2, &m);
	check("string metrics: empty string is the minimum",
		  rc == 0 && m.has_bounds && m.smin_len == 0 && m.smin != NULL &&
		  m.smax_len == 3 && memcmp(m.smax, "k19", 3) == 0);
	rc = btx_pq_column_metrics(w, 3, &m);
	check("boolean metrics: all true", rc == 0 && m.has_bounds && m.imin == 1 && m.imax == 1);
	rc = btx_pq_column_metrics(w, 4, &m);
	check("list metrics: 10 empty lists + 10 x (x, NULL)",
		  rc == 0 && m.value_count == 30 && m.null_count == 20 && m.has_bounds &&
		  m.smin_len == 1 && m.smin[0] == 'x');
	rc = btx_pq_column_metrics(w, 5, &m);
	check("json metrics: counts, no bounds", rc == 0 && m.value_count == 20 && !m.has_bounds);
	check("metrics column out of range -> -1", btx_pq_column_metrics(w, 6, &m) == -1);
	/* field ids 11..17: SchemaElement field 9 (i32) follows the name or annotation */
	for (i = 11; i <= 17; i++)
	{
		unsigned char zz = (unsigned char) (i * 2);
		size_t		k;

		for (k = 0; k + 1 < ms.b.len; k++)
			if ((((unsigned char) ms.b.data[k]) & 0x0F) == 5 &&
				(unsigned char) ms.b.data[k + 1] == zz &&
				(((unsigned char) ms.b.data[k]) >> 4) >= 1 &&
				(((unsigned char) ms.b.data[k]) >> 4) <= 5)
			{
				ids_found++;
				break;
			}
	}
	check("field ids 11..17 are in the footer", ids_found == 7);
	btx_pq_free(w);
	btx_buf_free(&ms.b);

	/* without the option: no metrics */
	memset(&ms, 0, sizeof(ms));
	w = btx_pq_open(cols, 1, NULL, mem_sink, &ms, &err);
	btx_pq_int64(w, 0, 1);
	btx_pq_end_row(w, &err);
	rc = btx_pq_close(w, &err);
	check("metrics off by default", rc == 0 && btx_pq_column_metrics(w, 0, &m) == -1);
	btx_pq_free(w);
	btx_buf_free(&ms.b);

	cols[0].field_id = -1;
	w = btx_pq_open(cols, 1, NULL, mem_sink, &ms, &err);
	check("negative field id rejected", w == NULL && strcmp(err.sqlstate, "XX000") == 0);
	btx_buf_free(&ms.b);
}

int
main(void)
{
	test_thrift();
	test_rle();
	test_page_headers();
	test_writer();
	test_metrics();
	test_zsink();
	test_jsonl();
	printf("%d passed, %d failed\n", n_pass, n_fail);
	return n_fail ? 1 : 0;
}
