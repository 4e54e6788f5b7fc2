/*
 * thrift.c — Thrift compact protocol encoder (see thrift.h).
 *
 * Design: write-only and allocation-free beyond the output buffer: each field
 * header is a delta from the previous field id of the enclosing struct (a
 * small stack of ids, one per open struct), integers are zigzag varints, and
 * an out-of-memory buffer makes the whole encoding fail once at the end
 * (btx_thrift_status).  Enough of the protocol for Parquet's PageHeader and
 * FileMetaData, nothing more.
 */
#include "core/format/thrift.h"

#include <string.h>

void
btx_thrift_put_varint(btx_buf *b, uint64_t v)
{
	unsigned char tmp[10];
	int			n = 0;

	while (v >= 0x80)
	{
		tmp[n++] = (unsigned char) (v | 0x80);
		v >>= 7;
	}
	tmp[n++] = (unsigned char) v;
	btx_buf_append(b, tmp, n);
}

uint64_t
btx_thrift_zigzag64(int64_t v)
{
	/* arithmetic on unsigned values: no undefined behaviour for INT64_MIN */
	uint64_t	u = (uint64_t) v;

	return (u << 1) ^ (v < 0 ? UINT64_MAX : 0);
}

void
btx_thrift_init(btx_thrift *t, btx_buf *out)
{
	t->out = out;
	t->depth = 0;
	t->overflow = 0;
	memset(t->last_id, 0, sizeof(t->last_id));
}

int
btx_thrift_status(const btx_thrift *t)
{
	if (t->out->oom || t->overflow)
		return -1;
	return 0;
}

static void
field_header(btx_thrift *t, int16_t id, int type)
{
	int16_t		prev = 0;
	int			delta;

	if (t->depth > 0 && t->depth <= BTX_THRIFT_MAX_DEPTH)
		prev = t->last_id[t->depth - 1];
	else if (t->depth == 0)
		t->overflow = 1;		/* a field outside any struct */
	delta = (int) id - (int) prev;
	if (delta > 0 && delta <= 15)
		btx_buf_putc(t->out, (char) ((delta << 4) | type));
	else
	{
		btx_buf_putc(t->out, (char) type);
		btx_thrift_put_varint(t->out, btx_thrift_zigzag64(id));
	}
	if (t->depth > 0 && t->depth <= BTX_THRIFT_MAX_DEPTH)
		t->last_id[t->depth - 1] = id;
}

void
btx_thrift_field_i8(btx_thrift *t, int16_t id, int8_t v)
{
	field_header(t, id, BTX_THRIFT_I8);
	btx_buf_putc(t->out, (char) v);
}

void
btx_thrift_field_i16(btx_thrift *t, int16_t id, int16_t v)
{
	field_header(t, id, BTX_THRIFT_I16);
	btx_thrift_put_varint(t->out, btx_thrift_zigzag64(v));
}

void
btx_thrift_field_i32(btx_thrift *t, int16_t id, int32_t v)
{
	field_header(t, id, BTX_THRIFT_I32);
	btx_thrift_put_varint(t->out, btx_thrift_zigzag64(v));
}

void
btx_thrift_field_i64(btx_thrift *t, int16_t id, int64_t v)
{
	field_header(t, id, BTX_THRIFT_I64);
	btx_thrift_put_varint(t->out, btx_thrift_zigzag64(v));
}

void
btx_thrift_field_bool(btx_thrift *t, int16_t id, int v)
{
	field_header(t, id, v ? BTX_THRIFT_BOOL_TRUE : BTX_THRIFT_BOOL_FALSE);
}

void
btx_thrift_field_binary(btx_thrift *t, int16_t id, const void *p, size_t len)
{
	field_header(t, id, BTX_THRIFT_BINARY);
	btx_thrift_put_varint(t->out, len);
	btx_buf_append(t->out, p, len);
}

void
btx_thrift_field_string(btx_thrift *t, int16_t id, const char *s)
{
	btx_thrift_field_binary(t, id, s, strlen(s));
}

void
btx_thrift_struct_begin(btx_thrift *t)
{
	if (t->depth >= BTX_THRIFT_MAX_DEPTH)
		t->overflow = 1;
	else
		t->last_id[t->depth] = 0;
	t->depth++;
}

void
btx_thrift_field_struct_begin(btx_thrift *t, int16_t id)
{
	field_header(t, id, BTX_THRIFT_STRUCT);
	btx_thrift_struct_begin(t);
}

void
btx_thrift_struct_end(btx_thrift *t)
{
	if (t->depth <= 0)
	{
		t->overflow = 1;
		return;
	}
	btx_buf_putc(t->out, 0);
	t->depth--;
}

static void
list_header(btx_thrift *t, int elem_type, uint32_t n)
{
	if (n <= 14)
		btx_buf_putc(t->out, (char) ((n << 4) | elem_type));
	else
	{
		btx_buf_putc(t->out, (char) (0xF0 | elem_type));
		btx_thrift_put_varint(t->out, n);
	}
}

void
btx_thrift_field_list_begin(btx_thrift *t, int16_t id, int elem_type, uint32_t n)
{
	field_header(t, id, BTX_THRIFT_LIST);
	list_header(t, elem_type, n);
}

void
btx_thrift_elem_i32(btx_thrift *t, int32_t v)
{
	btx_thrift_put_varint(t->out, btx_thrift_zigzag64(v));
}

void
btx_thrift_elem_i64(btx_thrift *t, int64_t v)
{
	btx_thrift_put_varint(t->out, btx_thrift_zigzag64(v));
}

void
btx_thrift_elem_binary(btx_thrift *t, const void *p, size_t len)
{
	btx_thrift_put_varint(t->out, len);
	btx_buf_append(t->out, p, len);
}

void
btx_thrift_elem_string(btx_thrift *t, const char *s)
{
	btx_thrift_elem_binary(t, s, strlen(s));
}
