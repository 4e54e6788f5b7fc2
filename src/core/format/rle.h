/*
 * rle.h — Parquet RLE/bit-packed hybrid encoder (definition/repetition
 * levels, dictionary indices) and PLAIN value encoders.
 *
 * The hybrid encoder works on a whole page's values at once: runs of 8 or
 * more equal values become RLE runs, everything else is bit-packed in
 * groups of 8; only the final bit-packed run is padded (with zeros, up to
 * the next multiple of 8).  No length prefix is written here: V1 level
 * sections need a 4-byte LE length before these bytes (see
 * btx_rle_levels_v1), dictionary indices need a 1-byte bit width instead.
 */
#ifndef BTX_RLE_H
#define BTX_RLE_H

#include <stddef.h>
#include <stdint.h>

#include "core/common/btx_buf.h"

/* bits needed for values 0..max_value (at least 1) */
extern int	btx_rle_bit_width(uint64_t max_value);

/* hybrid-encode n values of bit_width (1..32) bits and append to out */
extern void btx_rle_encode_u8(btx_buf *out, const uint8_t *v, size_t n,
							  int bit_width);
extern void btx_rle_encode_u32(btx_buf *out, const uint32_t *v, size_t n,
							   int bit_width);
/* V1 page level section: 4-byte LE length, then the hybrid encoding */
extern void btx_rle_levels_v1(btx_buf *out, const uint8_t *levels, size_t n,
							  int bit_width);

/* PLAIN encoders (little endian) */
extern void btx_plain_int64(btx_buf *out, int64_t v);
extern void btx_plain_double(btx_buf *out, double v);
extern void btx_plain_uint32(btx_buf *out, uint32_t v);
/* BYTE_ARRAY: 4-byte LE length, then the bytes */
extern void btx_plain_byte_array(btx_buf *out, const void *p, size_t len);
/* BOOLEAN: one bit per value (0/1 bytes in v), LSB first, last byte zero-padded */
extern void btx_plain_bools(btx_buf *out, const uint8_t *v, size_t n);

#endif							/* BTX_RLE_H */
