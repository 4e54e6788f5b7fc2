/*
 * thrift.h — Thrift compact protocol encoder (write side only), enough for
 * Parquet's FileMetaData and PageHeader.
 *
 * The encoder appends to a btx_buf.  Allocation failure is sticky in the
 * buffer (btx_buf.oom); callers check it once after serialising.
 * Fields must be written in increasing field-id order within a struct; the
 * encoder keeps the "previous field id" of each open struct on a stack.
 */
#ifndef BTX_THRIFT_H
#define BTX_THRIFT_H

#include <stdint.h>

#include "core/common/btx_buf.h"

/* compact protocol wire types */
#define BTX_THRIFT_BOOL_TRUE	1
#define BTX_THRIFT_BOOL_FALSE	2
#define BTX_THRIFT_I8			3
#define BTX_THRIFT_I16			4
#define BTX_THRIFT_I32			5
#define BTX_THRIFT_I64			6
#define BTX_THRIFT_DOUBLE		7
#define BTX_THRIFT_BINARY		8
#define BTX_THRIFT_LIST			9
#define BTX_THRIFT_SET			10
#define BTX_THRIFT_MAP			11
#define BTX_THRIFT_STRUCT		12

#define BTX_THRIFT_MAX_DEPTH	16

typedef struct btx_thrift
{
	btx_buf    *out;
	int			depth;			/* number of open structs */
	int			overflow;		/* nesting deeper than BTX_THRIFT_MAX_DEPTH */
	int16_t		last_id[BTX_THRIFT_MAX_DEPTH];
} btx_thrift;

/* raw primitives */
extern void btx_thrift_put_varint(btx_buf *b, uint64_t v);
extern uint64_t btx_thrift_zigzag64(int64_t v);

extern void btx_thrift_init(btx_thrift *t, btx_buf *out);
/* 0 when everything was encoded, -1 on allocation failure or misuse */
extern int	btx_thrift_status(const btx_thrift *t);

/* fields of the innermost open struct */
extern void btx_thrift_field_i8(btx_thrift *t, int16_t id, int8_t v);
extern void btx_thrift_field_i16(btx_thrift *t, int16_t id, int16_t v);
extern void btx_thrift_field_i32(btx_thrift *t, int16_t id, int32_t v);
extern void btx_thrift_field_i64(btx_thrift *t, int16_t id, int64_t v);
extern void btx_thrift_field_bool(btx_thrift *t, int16_t id, int v);
extern void btx_thrift_field_binary(btx_thrift *t, int16_t id,
									const void *p, size_t len);
extern void btx_thrift_field_string(btx_thrift *t, int16_t id, const char *s);
/* field of type struct: opens a nested struct; close with btx_thrift_struct_end */
extern void btx_thrift_field_struct_begin(btx_thrift *t, int16_t id);
/* field of type list: header only; then write n elements with the elem_* calls */
extern void btx_thrift_field_list_begin(btx_thrift *t, int16_t id,
										int elem_type, uint32_t n);

/* a struct not preceded by a field header (top level or a list element) */
extern void btx_thrift_struct_begin(btx_thrift *t);
/* writes the stop byte and pops the struct */
extern void btx_thrift_struct_end(btx_thrift *t);

/* list elements */
extern void btx_thrift_elem_i32(btx_thrift *t, int32_t v);
extern void btx_thrift_elem_i64(btx_thrift *t, int64_t v);
extern void btx_thrift_elem_binary(btx_thrift *t, const void *p, size_t len);
extern void btx_thrift_elem_string(btx_thrift *t, const char *s);

#endif							/* BTX_THRIFT_H */
