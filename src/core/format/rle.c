/*
 * rle.c — RLE/bit-packed hybrid and PLAIN encoders (see rle.h).
 *
 * Design: the hybrid encoder sees a whole page of values at once, so it can
 * choose per stretch: runs of 8 or more equal values become RLE runs,
 * anything else is bit-packed in groups of 8 (one macro expands the encoder
 * for 8-bit levels and 32-bit dictionary indices).  PLAIN encoders append
 * little-endian values to a btx_buf.
 */
#include "core/format/rle.h"

#include <string.h>

#include "core/format/thrift.h"

int
btx_rle_bit_width(uint64_t max_value)
{
	int			w = 0;

	while (max_value)
	{
		w++;
		max_value >>= 1;
	}
	return w ? w : 1;
}

static void
put_rle_run(btx_buf *out, uint32_t value, size_t count, int bit_width)
{
	unsigned char b[4];
	int			nbytes = (bit_width + 7) / 8;
	int			i;

	btx_thrift_put_varint(out, (uint64_t) count << 1);
	for (i = 0; i < nbytes; i++)
		b[i] = (unsigned char) (value >> (8 * i));
	btx_buf_append(out, b, nbytes);
}

/*
 * Bit-pack values [0, n) LSB first; n is padded with zeros to a multiple of
 * 8 (only ever for the last run of a stream).  GET(i) reads value i.
 */
#define PACK_LITERALS(out, vals, n, bit_width) \
	do { \
		size_t		groups_ = ((n) + 7) / 8; \
		size_t		total_ = groups_ * 8; \
		size_t		nbytes_ = groups_ * (size_t) (bit_width); \
		unsigned char *dst_; \
		uint64_t	acc_ = 0; \
		int			nbits_ = 0; \
		size_t		pk_i_; \
		btx_thrift_put_varint((out), ((uint64_t) groups_ << 1) | 1); \
		if (btx_buf_reserve((out), nbytes_) != 0) \
			break; \
		dst_ = (unsigned char *) (out)->data + (out)->len; \
		for (pk_i_ = 0; pk_i_ < total_; pk_i_++) \
		{ \
			uint64_t	v_ = pk_i_ < (n) ? (uint64_t) (vals)[pk_i_] : 0; \
			acc_ |= v_ << nbits_; \
			nbits_ += (bit_width); \
			while (nbits_ >= 8) \
			{ \
				*dst_++ = (unsigned char) acc_; \
				acc_ >>= 8; \
				nbits_ -= 8; \
			} \
		} \
		(out)->len += nbytes_; \
		(out)->data[(out)->len] = '\0'; \
	} while (0)

/*
 * The encoder: scan runs of equal values.  A run of >= 8 values becomes an
 * RLE run, after first topping the pending literals up to a multiple of 8
 * from the run's head (if the rest of the run still has >= 8 values).
 */
#define HYBRID_ENCODE(TYPE, out, v, n, bit_width) \
	do { \
		size_t		i_ = 0; \
		size_t		lit_ = 0; \
		while (i_ < (n)) \
		{ \
			TYPE		x_ = (v)[i_]; \
			size_t		j_ = i_ + 1; \
			size_t		run_; \
			while (j_ < (n) && (v)[j_] == x_) \
				j_++; \
			run_ = j_ - i_; \
			if (run_ >= 8) \
			{ \
				size_t		pad_ = (8 - (i_ - lit_) % 8) % 8; \
				if (run_ - pad_ >= 8) \
				{ \
					if (i_ + pad_ > lit_) \
						PACK_LITERALS((out), (v) + lit_, i_ + pad_ - lit_, (bit_width)); \
					put_rle_run((out), (uint32_t) x_, run_ - pad_, (bit_width)); \
					lit_ = j_; \
				} \
			} \
			i_ = j_; \
		} \
		if ((n) > lit_) \
			PACK_LITERALS((out), (v) + lit_, (n) - lit_, (bit_width)); \
	} while (0)

void
btx_rle_encode_u8(btx_buf *out, const uint8_t *v, size_t n, int bit_width)
{
	HYBRID_ENCODE(uint8_t, out, v, n, bit_width);
}

void
btx_rle_encode_u32(btx_buf *out, const uint32_t *v, size_t n, int bit_width)
{
	HYBRID_ENCODE(uint32_t, out, v, n, bit_width);
}

void
btx_rle_levels_v1(btx_buf *out, const uint8_t *levels, size_t n, int bit_width)
{
	size_t		start;
	uint32_t	len;

	btx_plain_uint32(out, 0);
	if (out->oom)
		return;
	start = out->len;
	btx_rle_encode_u8(out, levels, n, bit_width);
	if (out->oom)
		return;
	len = (uint32_t) (out->len - start);
	out->data[start - 4] = (char) (len & 0xFF);
	out->data[start - 3] = (char) ((len >> 8) & 0xFF);
	out->data[start - 2] = (char) ((len >> 16) & 0xFF);
	out->data[start - 1] = (char) ((len >> 24) & 0xFF);
}

void
btx_plain_uint32(btx_buf *out, uint32_t v)
{
	unsigned char b[4];

	b[0] = (unsigned char) v;
	b[1] = (unsigned char) (v >> 8);
	b[2] = (unsigned char) (v >> 16);
	b[3] = (unsigned char) (v >> 24);
	btx_buf_append(out, b, 4);
}

void
btx_plain_int64(btx_buf *out, int64_t v)
{
	uint64_t	u = (uint64_t) v;
	unsigned char b[8];
	int			i;

	for (i = 0; i < 8; i++)
		b[i] = (unsigned char) (u >> (8 * i));
	btx_buf_append(out, b, 8);
}

void
btx_plain_double(btx_buf *out, double v)
{
	uint64_t	u;

	memcpy(&u, &v, 8);
	btx_plain_int64(out, (int64_t) u);
}

void
btx_plain_byte_array(btx_buf *out, const void *p, size_t len)
{
	if (btx_buf_reserve(out, len + 4) != 0)
		return;
	btx_plain_uint32(out, (uint32_t) len);
	btx_buf_append(out, p, len);
}

void
btx_plain_bools(btx_buf *out, const uint8_t *v, size_t n)
{
	size_t		nbytes = (n + 7) / 8;
	size_t		i;
	unsigned char *dst;

	if (btx_buf_reserve(out, nbytes) != 0)
		return;
	dst = (unsigned char *) out->data + out->len;
	memset(dst, 0, nbytes);
	for (i = 0; i < n; i++)
		if (v[i])
			dst[i >> 3] |= (unsigned char) (1u << (i & 7));
	out->len += nbytes;
	out->data[out->len] = '\0';
}
