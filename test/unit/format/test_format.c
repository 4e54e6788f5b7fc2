/*
 * Unit tests for src/format: golden bytes for the Thrift compact encoder,
 * the RLE/bit-packed hybrid, PLAIN encoders and page headers (vectors from
 * parquet.md's appendix), writer structure checks, and round trips of the
 * gzip/zstd sinks.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "btx_buf.h"
#include "format/rle.h"
#include "format/thrift.h"

static int	n_pass;
static int	n_fail;

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

static void
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

int
main(void)
{
	test_thrift();
	test_rle();
	printf("%d passed, %d failed\n", n_pass, n_fail);
	return n_fail ? 1 : 0;
}
