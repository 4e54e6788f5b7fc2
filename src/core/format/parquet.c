/*
 * parquet.c — streaming Parquet writer (see parquet.h and parquet.md).
 *
 * Per leaf column the writer keeps the current page (one byte per level
 * entry, and either PLAIN values or 32-bit dictionary indices), the chunk's
 * finished data pages (header + compressed body, serialised), the chunk's
 * dictionary and statistics.  Pages are cut at row boundaries.  A row group
 * is flushed by writing, per column, the dictionary page then the buffered
 * data pages; its RowGroup metadata is serialised right away into a small
 * buffer that the footer copies.
 */
#include "core/format/parquet.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <snappy-c.h>
#include <libdeflate.h>
#include <zstd.h>

#include "core/format/rle.h"
#include "core/format/thrift.h"
#include "core/format/utf8.h"

/* Parquet enums (parquet.thrift) */
#define PT_BOOLEAN		0
#define PT_INT64		2
#define PT_DOUBLE		5
#define PT_BYTE_ARRAY	6

#define REP_OPTIONAL	1
#define REP_REPEATED	2

#define CT_UTF8			0
#define CT_LIST			3
#define CT_TIMESTAMP_MICROS 10
#define CT_JSON			19

#define ENC_PLAIN		0
#define ENC_RLE			3
#define ENC_RLE_DICTIONARY 8

#define PAGE_DATA		0
#define PAGE_DICTIONARY	2

/* which statistics a column keeps */
#define ST_NONE			0
#define ST_INT64		1
#define ST_DOUBLE		2
#define ST_BYTES		3

typedef struct pq_col
{
	char	   *name;
	btx_pq_type type;
	int			physical;
	int			max_def;
	int			max_rep;
	int			dict_allowed;
	int			stats_kind;

	/* current page */
	btx_buf		def;			/* one byte per level entry */
	btx_buf		rep;
	btx_buf		vals;			/* PLAIN values; 0/1 bytes for BOOLEAN */
	btx_buf		idx;			/* uint32 dictionary indices */
	int64_t		page_entries;
	int64_t		page_nonnull;
	int64_t		page_rows;

	/* chunk */
	int			dict_mode;		/* values of the current page go to the dictionary */
	btx_buf		chunk;			/* finished data pages: header + body */
	int64_t		chunk_values;	/* level entries in finished pages */
	int64_t		null_count;
	int64_t		data_unc;		/* headers + uncompressed bodies */
	int			n_dict_pages;	/* data pages encoded RLE_DICTIONARY */
	int			n_plain_pages;

	/* dictionary: PLAIN entries, offsets, hashes, open-addressing slots */
	btx_buf		dict;
	size_t	   *doff;
	uint64_t   *dhash;
	uint32_t	ndict;
	uint32_t	dcap;
	uint32_t   *slots;			/* 0 = empty, else entry index + 1 */
	uint32_t	nslots;			/* power of two */
	uint64_t	dict_plain_equiv;	/* PLAIN size of the values it indexed */

	/* statistics */
	int			has_minmax;
	int			has_nan;
	int64_t		imin;
	int64_t		imax;
	double		dmin;
	double		dmax;
	btx_buf		smin;
	btx_buf		smax;

	/* row state */
	int			set;
	int			in_list;
	int64_t		list_n;

	/* Iceberg: field ids, file-level metrics (btx_pq_options.metrics) */
	int32_t		field_id;
	int32_t		element_field_id;
	int64_t		f_values;
	int64_t		f_nulls;
	int64_t		f_nans;			/* counted per value in btx_pq_double */
	uint64_t	f_bytes;
	int			f_bools;		/* bit 0: false seen, bit 1: true seen */
	int			f_has;
	int64_t		f_imin;
	int64_t		f_imax;
	double		f_dmin;
	double		f_dmax;
	btx_buf		f_smin;
	btx_buf		f_smax;
} pq_col;

struct btx_pq_writer
{
	pq_col	   *cols;
	int			ncols;
	btx_pq_options opt;
	char	   *created_by;
	char	  **kv_key;
	char	  **kv_val;
	int			nkv;

	btx_sink_fn sink;
	void	   *ctx;
	uint64_t	offset;
	int			magic_written;
	int			closed;

	int64_t		rows;
	int64_t		rg_rows;
	uint64_t	rg_est;
	int64_t		n_rg;
	btx_buf		rg_meta;		/* serialised RowGroup structs */

	btx_buf		body;			/* scratch: page body */
	btx_buf		comp;			/* scratch: compressed body */
	btx_buf		hdr;			/* scratch: page header */
	ZSTD_CCtx  *zctx;
	struct libdeflate_compressor *gz;	/* GZIP pages (libdeflate: whole buffers) */

	int			failed;
	btx_error	err;
};

/* ---------- errors ---------- */

static int
fail_oom(btx_pq_writer *w)
{
	if (!w->failed)
	{
		btx_error_set(&w->err, 1, "53200", "out of memory while writing Parquet");
		w->failed = 1;
	}
	return -1;
}

static int
fail_usage(btx_pq_writer *w, int col, const char *what)
{
	if (!w->failed)
	{
		btx_error_set(&w->err, 2, "XX000", "parquet writer misuse: %s", what);
		if (col >= 0 && col < w->ncols)
			btx_error_detail(&w->err, "Column \"%s\", row %lld.",
							 w->cols[col].name, (long long) w->rows + 1);
		w->failed = 1;
	}
	return -1;
}

/* ---------- small helpers ---------- */

static inline int
put_level(btx_buf *b, uint8_t v)
{
	if (b->len + 1 < b->cap && !b->oom)
	{
		b->data[b->len++] = (char) v;
		return 0;
	}
	return btx_buf_append(b, &v, 1);
}

static uint64_t
hash_bytes(const unsigned char *p, size_t n)
{
	uint64_t	h = UINT64_C(0x9E3779B97F4A7C15) ^ ((uint64_t) n * UINT64_C(0xFF51AFD7ED558CCD));
	uint64_t	k;

	while (n >= 8)
	{
		memcpy(&k, p, 8);
		k *= UINT64_C(0x87C37B91114253D5);
		k = (k << 31) | (k >> 33);
		h ^= k * UINT64_C(0x4CF5AD432745937F);
		h = ((h << 27) | (h >> 37)) * 5 + 0x52DCE729;
		p += 8;
		n -= 8;
	}
	k = 0;
	if (n)
		memcpy(&k, p, n);
	h ^= k * UINT64_C(0x87C37B91114253D5);
	h ^= h >> 33;
	h *= UINT64_C(0xFF51AFD7ED558CCD);
	h ^= h >> 33;
	h *= UINT64_C(0xC4CEB9FE1A85EC53);
	h ^= h >> 33;
	return h;
}

static int
bytes_cmp(const void *a, size_t alen, const void *b, size_t blen)
{
	int			r = memcmp(a, b, alen < blen ? alen : blen);

	if (r != 0)
		return r;
	return alen < blen ? -1 : (alen > blen ? 1 : 0);
}

static void
le64(unsigned char *b, uint64_t u)
{
	int			i;

	for (i = 0; i < 8; i++)
		b[i] = (unsigned char) (u >> (8 * i));
}

/* ---------- statistics ---------- */

static void
stats_reset(pq_col *c)
{
	c->has_minmax = 0;
	c->has_nan = 0;
	c->imin = c->imax = 0;
	c->dmin = c->dmax = 0;
	btx_buf_reset(&c->smin);
	btx_buf_reset(&c->smax);
}

static inline void
stats_int64(pq_col *c, int64_t v)
{
	if (!c->has_minmax)
	{
		c->imin = c->imax = v;
		c->has_minmax = 1;
		return;
	}
	if (v < c->imin)
		c->imin = v;
	if (v > c->imax)
		c->imax = v;
}

static inline void
stats_double(pq_col *c, double v)
{
	if (isnan(v))
	{
		c->has_nan = 1;
		return;
	}
	if (!c->has_minmax)
	{
		c->dmin = c->dmax = v;
		c->has_minmax = 1;
		return;
	}
	if (v < c->dmin)
		c->dmin = v;
	if (v > c->dmax)
		c->dmax = v;
}

static void
stats_bytes(pq_col *c, const void *p, size_t len)
{
	if (!c->has_minmax)
	{
		btx_buf_reset(&c->smin);
		btx_buf_reset(&c->smax);
		btx_buf_append(&c->smin, p, len);
		btx_buf_append(&c->smax, p, len);
		c->has_minmax = 1;
		return;
	}
	if (bytes_cmp(p, len, c->smin.data, c->smin.len) < 0)
	{
		btx_buf_reset(&c->smin);
		btx_buf_append(&c->smin, p, len);
	}
	else if (bytes_cmp(p, len, c->smax.data, c->smax.len) > 0)
	{
		btx_buf_reset(&c->smax);
		btx_buf_append(&c->smax, p, len);
	}
}

/* stats of a value given as its key bytes (8-byte LE for numbers) */
static void
stats_key(pq_col *c, const unsigned char *key, size_t len)
{
	uint64_t	u = 0;
	int			i;

	switch (c->stats_kind)
	{
		case ST_INT64:
			for (i = 7; i >= 0; i--)
				u = (u << 8) | key[i];
			stats_int64(c, (int64_t) u);
			break;
		case ST_DOUBLE:
			{
				double		d;

				for (i = 7; i >= 0; i--)
					u = (u << 8) | key[i];
				memcpy(&d, &u, 8);
				stats_double(c, d);
			}
			break;
		case ST_BYTES:
			stats_bytes(c, key, len);
			break;
		default:
			break;
	}
}

/* ---------- dictionary ---------- */

static void
dict_reset(pq_col *c)
{
	btx_buf_reset(&c->dict);
	c->ndict = 0;
	c->dict_plain_equiv = 0;
	if (c->slots)
		memset(c->slots, 0, sizeof(uint32_t) * c->nslots);
}

static int
dict_grow_slots(pq_col *c)
{
	uint32_t	n = c->nslots ? c->nslots * 2 : 1024;
	uint32_t   *s = calloc(n, sizeof(uint32_t));
	uint32_t	i;

	if (s == NULL || n == 0)
	{
		free(s);
		return -1;
	}
	for (i = 0; i < c->ndict; i++)
	{
		uint32_t	pos = (uint32_t) c->dhash[i] & (n - 1);

		while (s[pos])
			pos = (pos + 1) & (n - 1);
		s[pos] = i + 1;
	}
	free(c->slots);
	c->slots = s;
	c->nslots = n;
	return 0;
}

/*
 * Find key in the dictionary or add it.  *isnew tells whether it was added.
 * For BYTE_ARRAY the stored entry is PLAIN (4-byte length + bytes).
 */
static int
dict_lookup(pq_col *c, const unsigned char *key, size_t len,
			uint32_t *id, int *isnew)
{
	uint64_t	h = hash_bytes(key, len);
	size_t		prefix = c->physical == PT_BYTE_ARRAY ? 4 : 0;
	uint32_t	mask;
	uint32_t	pos;

	if ((uint64_t) (c->ndict + 1) * 2 > c->nslots)
	{
		if (dict_grow_slots(c) != 0)
			return -1;
	}
	mask = c->nslots - 1;
	pos = (uint32_t) h & mask;
	for (;;)
	{
		uint32_t	s = c->slots[pos];

		if (s == 0)
			break;
		if (c->dhash[s - 1] == h)
		{
			size_t		off = c->doff[s - 1] + prefix;
			size_t		elen = c->doff[s] - off;

			if (elen == len && memcmp(c->dict.data + off, key, len) == 0)
			{
				*id = s - 1;
				*isnew = 0;
				return 0;
			}
		}
		pos = (pos + 1) & mask;
	}
	/* add: doff has ndict+1 entries (entry i spans doff[i]..doff[i+1]) */
	if (c->ndict + 2 > c->dcap)
	{
		uint32_t	ncap = c->dcap ? c->dcap * 2 : 1024;
		size_t	   *o = realloc(c->doff, sizeof(size_t) * ncap);
		uint64_t   *hh;

		if (o == NULL)
			return -1;
		c->doff = o;
		hh = realloc(c->dhash, sizeof(uint64_t) * ncap);
		if (hh == NULL)
			return -1;
		c->dhash = hh;
		c->dcap = ncap;
	}
	if (c->ndict == 0)
		c->doff[0] = c->dict.len;
	if (prefix)
		btx_plain_byte_array(&c->dict, key, len);
	else
		btx_buf_append(&c->dict, key, len);
	if (c->dict.oom)
		return -1;
	c->dhash[c->ndict] = h;
	c->doff[c->ndict + 1] = c->dict.len;
	c->slots[pos] = c->ndict + 1;
	*id = c->ndict;
	c->ndict++;
	*isnew = 1;
	return 0;
}

/* ---------- compression ---------- */

static int
compress_body(btx_pq_writer *w, const btx_buf *in, const btx_buf **out)
{
	btx_buf    *o = &w->comp;

	btx_buf_reset(o);
	switch (w->opt.codec)
	{
		case BTX_PQ_CODEC_NONE:
			*out = in;
			return 0;
		case BTX_PQ_CODEC_SNAPPY:
			{
				size_t		cap = snappy_max_compressed_length(in->len);

				if (btx_buf_reserve(o, cap) != 0)
					return fail_oom(w);
				if (snappy_compress(in->data, in->len, o->data, &cap) != SNAPPY_OK)
					break;
				o->len = cap;
				*out = o;
				return 0;
			}
		case BTX_PQ_CODEC_ZSTD:
			{
				size_t		cap = ZSTD_compressBound(in->len);
				size_t		r;

				if (btx_buf_reserve(o, cap) != 0)
					return fail_oom(w);
				r = ZSTD_compressCCtx(w->zctx, o->data, cap, in->data, in->len,
									  w->opt.level);
				if (ZSTD_isError(r))
					break;
				o->len = r;
				*out = o;
				return 0;
			}
		case BTX_PQ_CODEC_GZIP:
			{
				size_t		cap = libdeflate_gzip_compress_bound(w->gz, in->len);
				size_t		r;

				if (btx_buf_reserve(o, cap) != 0)
					return fail_oom(w);
				r = libdeflate_gzip_compress(w->gz, in->data, in->len, o->data, cap);
				if (r == 0)
					break;
				o->len = r;
				*out = o;
				return 0;
			}
	}
	if (!w->failed)
	{
		btx_error_set(&w->err, 3, "XX000", "could not compress a Parquet page");
		btx_error_detail(&w->err, "The compression library failed on a page of %zu bytes.",
						 in->len);
		w->failed = 1;
	}
	return -1;
}

/* ---------- pages ---------- */

void
btx_pq_page_header(btx_buf *out, int page_type, int32_t uncompressed,
				   int32_t compressed, int32_t num_values, int encoding)
{
	btx_thrift	t;

	btx_thrift_init(&t, out);
	btx_thrift_struct_begin(&t);
	btx_thrift_field_i32(&t, 1, page_type);
	btx_thrift_field_i32(&t, 2, uncompressed);
	btx_thrift_field_i32(&t, 3, compressed);
	if (page_type == PAGE_DICTIONARY)
	{
		btx_thrift_field_struct_begin(&t, 7);
		btx_thrift_field_i32(&t, 1, num_values);
		btx_thrift_field_i32(&t, 2, encoding);
		btx_thrift_struct_end(&t);
	}
	else
	{
		btx_thrift_field_struct_begin(&t, 5);
		btx_thrift_field_i32(&t, 1, num_values);
		btx_thrift_field_i32(&t, 2, encoding);
		btx_thrift_field_i32(&t, 3, ENC_RLE);
		btx_thrift_field_i32(&t, 4, ENC_RLE);
		btx_thrift_struct_end(&t);
	}
	btx_thrift_struct_end(&t);
}

static int
check_page_size(btx_pq_writer *w, pq_col *c, size_t n)
{
	if (n > (size_t) INT32_MAX - 64)
	{
		if (!w->failed)
		{
			btx_error_set(&w->err, 4, "54000", "Parquet page too large in column \"%s\"",
						  c->name);
			btx_error_detail(&w->err, "A page would hold %zu bytes; Parquet limits pages to 2 GB.",
							 n);
			w->failed = 1;
		}
		return -1;
	}
	return 0;
}

static void
fall_back_to_plain(pq_col *c)
{
	c->dict_mode = 0;
}

/* encode, compress and buffer the current page of c */
static int
finish_page(btx_pq_writer *w, pq_col *c)
{
	btx_buf    *body = &w->body;
	const btx_buf *out;
	int			encoding = ENC_PLAIN;
	size_t		nent = (size_t) c->page_entries;

	if (c->page_entries == 0)
		return 0;
	btx_buf_reset(body);
	if (c->max_rep > 0)
		btx_rle_levels_v1(body, (const uint8_t *) c->rep.data, nent,
						  btx_rle_bit_width(c->max_rep));
	btx_rle_levels_v1(body, (const uint8_t *) c->def.data, nent,
					  btx_rle_bit_width(c->max_def));
	if (c->dict_mode && c->page_nonnull > 0)
	{
		int			bw = btx_rle_bit_width(c->ndict - 1);

		encoding = ENC_RLE_DICTIONARY;
		btx_buf_putc(body, (char) bw);
		btx_rle_encode_u32(body, (const uint32_t *) c->idx.data,
						   c->idx.len / sizeof(uint32_t), bw);
	}
	else if (c->physical == PT_BOOLEAN)
		btx_plain_bools(body, (const uint8_t *) c->vals.data, c->vals.len);
	else
		btx_buf_append(body, c->vals.data, c->vals.len);
	if (body->oom)
		return fail_oom(w);
	if (check_page_size(w, c, body->len) != 0)
		return -1;
	if (compress_body(w, body, &out) != 0)
		return -1;
	if (check_page_size(w, c, out->len) != 0)
		return -1;
	btx_buf_reset(&w->hdr);
	btx_pq_page_header(&w->hdr, PAGE_DATA, (int32_t) body->len, (int32_t) out->len,
					   (int32_t) c->page_entries, encoding);
	btx_buf_append(&c->chunk, w->hdr.data, w->hdr.len);
	btx_buf_append(&c->chunk, out->data, out->len);
	if (c->chunk.oom || w->hdr.oom)
		return fail_oom(w);
	c->data_unc += (int64_t) (w->hdr.len + body->len);
	c->chunk_values += c->page_entries;
	if (encoding == ENC_RLE_DICTIONARY)
		c->n_dict_pages++;
	else
		c->n_plain_pages++;

	btx_buf_reset(&c->def);
	btx_buf_reset(&c->rep);
	btx_buf_reset(&c->vals);
	btx_buf_reset(&c->idx);
	c->page_entries = 0;
	c->page_nonnull = 0;
	c->page_rows = 0;

	/*
	 * Fallback: the dictionary outgrew its limit, or it saves too little
	 * (it holds more than 80% of the PLAIN bytes of the values it indexed).
	 */
	if (c->dict_mode &&
		(c->dict.len > w->opt.dict_bytes ||
		 (uint64_t) c->dict.len * 5 > c->dict_plain_equiv * 4))
		fall_back_to_plain(c);
	return 0;
}

/* ---------- output ---------- */

static int
emit(btx_pq_writer *w, const void *p, size_t n)
{
	if (n == 0)
		return 0;
	if (w->sink(w->ctx, p, n) != 0)
	{
		if (!w->failed)
		{
			btx_error_set(&w->err, 5, "58030", "could not write Parquet output");
			btx_error_detail(&w->err, "The output sink failed after %llu bytes.",
							 (unsigned long long) w->offset);
			w->failed = 1;
		}
		return -1;
	}
	w->offset += n;
	return 0;
}

static int
emit_magic(btx_pq_writer *w)
{
	if (w->magic_written)
		return 0;
	if (emit(w, "PAR1", 4) != 0)
		return -1;
	w->magic_written = 1;
	return 0;
}

/* Statistics struct for a finished chunk */
static void
write_statistics(btx_thrift *t, pq_col *c)
{
	unsigned char minb[8];
	unsigned char maxb[8];
	unsigned char maxtrunc[BTX_PQ_STATS_TRUNCATE];
	const unsigned char *minp = NULL;
	const unsigned char *maxp = NULL;
	size_t		minlen = 0;
	size_t		maxlen = 0;
	int			legacy = 0;
	int			min_inexact = 0;
	int			max_inexact = 0;

	if (c->has_minmax)
	{
		if (c->stats_kind == ST_INT64)
		{
			le64(minb, (uint64_t) c->imin);
			le64(maxb, (uint64_t) c->imax);
			minp = minb;
			maxp = maxb;
			minlen = maxlen = 8;
			legacy = 1;
		}
		else if (c->stats_kind == ST_DOUBLE && !c->has_nan)
		{
			double		mn = c->dmin == 0 ? -0.0 : c->dmin;
			double		mx = c->dmax == 0 ? 0.0 : c->dmax;
			uint64_t	u;

			memcpy(&u, &mn, 8);
			le64(minb, u);
			memcpy(&u, &mx, 8);
			le64(maxb, u);
			minp = minb;
			maxp = maxb;
			minlen = maxlen = 8;
			legacy = 1;
		}
		else if (c->stats_kind == ST_BYTES)
		{
			minp = (const unsigned char *) c->smin.data;
			minlen = c->smin.len;
			maxp = (const unsigned char *) c->smax.data;
			maxlen = c->smax.len;
			if (minlen > BTX_PQ_STATS_TRUNCATE)
			{
				/* cut at a UTF-8 character boundary: a lower bound */
				size_t		cut = BTX_PQ_STATS_TRUNCATE;

				while (cut > 0 && (minp[cut] & 0xC0) == 0x80)
					cut--;
				minlen = cut;
				min_inexact = 1;
			}
			if (maxlen > BTX_PQ_STATS_TRUNCATE)
			{
				/*
				 * Upper bound: keep the prefix up to the last byte < 0x7F,
				 * incremented; omit when there is none.
				 */
				size_t		cut = BTX_PQ_STATS_TRUNCATE;
				size_t		k;

				while (cut > 0 && (maxp[cut] & 0xC0) == 0x80)
					cut--;
				k = cut;
				while (k > 0 && maxp[k - 1] >= 0x7F)
					k--;
				if (k == 0)
					maxp = NULL;
				else
				{
					memcpy(maxtrunc, maxp, k);
					maxtrunc[k - 1]++;
					maxp = maxtrunc;
					maxlen = k;
					max_inexact = 1;
				}
			}
			if (maxp == NULL)
				minp = NULL;	/* write both bounds or none */
		}
	}

	btx_thrift_field_struct_begin(t, 12);
	if (minp && legacy)
	{
		btx_thrift_field_binary(t, 1, maxp, maxlen);
		btx_thrift_field_binary(t, 2, minp, minlen);
	}
	btx_thrift_field_i64(t, 3, c->null_count);
	if (minp)
	{
		btx_thrift_field_binary(t, 5, maxp, maxlen);
		btx_thrift_field_binary(t, 6, minp, minlen);
		if (max_inexact)
			btx_thrift_field_bool(t, 7, 0);
		if (min_inexact)
			btx_thrift_field_bool(t, 8, 0);
	}
	btx_thrift_struct_end(t);
}

/* number of leaf path components and the path itself */
static void
write_path(btx_thrift *t, pq_col *c)
{
	if (c->type == BTX_PQ_LIST_STRING)
	{
		btx_thrift_field_list_begin(t, 3, BTX_THRIFT_BINARY, 3);
		btx_thrift_elem_string(t, c->name);
		btx_thrift_elem_string(t, "list");
		btx_thrift_elem_string(t, "element");
	}
	else
	{
		btx_thrift_field_list_begin(t, 3, BTX_THRIFT_BINARY, 1);
		btx_thrift_elem_string(t, c->name);
	}
}

static void
reset_chunk(pq_col *c)
{
	btx_buf_reset(&c->chunk);
	c->chunk_values = 0;
	c->null_count = 0;
	c->data_unc = 0;
	c->n_dict_pages = 0;
	c->n_plain_pages = 0;
	dict_reset(c);
	c->dict_mode = c->dict_allowed;
	stats_reset(c);
}

/*
 * Fold the finished chunk's counts and min/max into the file-level metrics.
 * The chunk statistics already hold exact bounds (truncation happens only
 * when they are serialised), so the file bounds are exact too.
 */
static int
merge_file_metrics(pq_col *c, uint64_t chunk_bytes)
{
	c->f_values += c->chunk_values;
	c->f_nulls += c->null_count;
	c->f_bytes += chunk_bytes;
	if (!c->has_minmax)
		return 0;
	switch (c->stats_kind)
	{
		case ST_INT64:
			if (!c->f_has || c->imin < c->f_imin)
				c->f_imin = c->imin;
			if (!c->f_has || c->imax > c->f_imax)
				c->f_imax = c->imax;
			break;
		case ST_DOUBLE:
			if (!c->f_has || c->dmin < c->f_dmin)
				c->f_dmin = c->dmin;
			if (!c->f_has || c->dmax > c->f_dmax)
				c->f_dmax = c->dmax;
			break;
		case ST_BYTES:
			{
				/* empty values leave a buffer's data NULL: compare "" instead */
				const char *mn = c->smin.data ? c->smin.data : "";
				const char *mx = c->smax.data ? c->smax.data : "";
				const char *fmn = c->f_smin.data ? c->f_smin.data : "";
				const char *fmx = c->f_smax.data ? c->f_smax.data : "";

				if (!c->f_has || bytes_cmp(mn, c->smin.len, fmn, c->f_smin.len) < 0)
				{
					btx_buf_reset(&c->f_smin);
					if (btx_buf_append(&c->f_smin, mn, c->smin.len) != 0)
						return -1;
				}
				if (!c->f_has || bytes_cmp(mx, c->smax.len, fmx, c->f_smax.len) > 0)
				{
					btx_buf_reset(&c->f_smax);
					if (btx_buf_append(&c->f_smax, mx, c->smax.len) != 0)
						return -1;
				}
			}
			break;
		default:
			return 0;
	}
	c->f_has = 1;
	return 0;
}

static int
flush_row_group(btx_pq_writer *w)
{
	btx_thrift	t;
	int			i;
	int64_t		total_unc = 0;
	int64_t		total_comp = 0;
	uint64_t	rg_offset;

	if (w->rg_rows == 0)
		return 0;
	for (i = 0; i < w->ncols; i++)
		if (finish_page(w, &w->cols[i]) != 0)
			return -1;
	if (emit_magic(w) != 0)
		return -1;
	rg_offset = w->offset;

	btx_thrift_init(&t, &w->rg_meta);
	btx_thrift_struct_begin(&t);
	btx_thrift_field_list_begin(&t, 1, BTX_THRIFT_STRUCT, (uint32_t) w->ncols);
	for (i = 0; i < w->ncols; i++)
	{
		pq_col	   *c = &w->cols[i];
		uint64_t	start = w->offset;
		int64_t		dict_unc = 0;
		uint64_t	data_off;
		int			nenc;

		if (c->ndict > 0)
		{
			const btx_buf *out;

			if (check_page_size(w, c, c->dict.len) != 0)
				return -1;
			if (compress_body(w, &c->dict, &out) != 0)
				return -1;
			if (check_page_size(w, c, out->len) != 0)
				return -1;
			btx_buf_reset(&w->hdr);
			btx_pq_page_header(&w->hdr, PAGE_DICTIONARY, (int32_t) c->dict.len,
							   (int32_t) out->len, (int32_t) c->ndict, ENC_PLAIN);
			if (w->hdr.oom)
				return fail_oom(w);
			if (emit(w, w->hdr.data, w->hdr.len) != 0 ||
				emit(w, out->data, out->len) != 0)
				return -1;
			dict_unc = (int64_t) (w->hdr.len + c->dict.len);
		}
		data_off = w->offset;
		if (emit(w, c->chunk.data, c->chunk.len) != 0)
			return -1;

		/* ColumnChunk */
		btx_thrift_struct_begin(&t);
		btx_thrift_field_i64(&t, 2, 0);
		btx_thrift_field_struct_begin(&t, 3);
		btx_thrift_field_i32(&t, 1, c->physical);
		nenc = 1 + (c->ndict > 0 || c->n_plain_pages > 0) + (c->n_dict_pages > 0);
		btx_thrift_field_list_begin(&t, 2, BTX_THRIFT_I32, (uint32_t) nenc);
		if (c->ndict > 0 || c->n_plain_pages > 0)
			btx_thrift_elem_i32(&t, ENC_PLAIN);
		btx_thrift_elem_i32(&t, ENC_RLE);
		if (c->n_dict_pages > 0)
			btx_thrift_elem_i32(&t, ENC_RLE_DICTIONARY);
		write_path(&t, c);
		btx_thrift_field_i32(&t, 4, (int32_t) w->opt.codec);
		btx_thrift_field_i64(&t, 5, c->chunk_values);
		btx_thrift_field_i64(&t, 6, dict_unc + c->data_unc);
		btx_thrift_field_i64(&t, 7, (int64_t) (w->offset - start));
		btx_thrift_field_i64(&t, 9, (int64_t) data_off);
		if (c->ndict > 0)
			btx_thrift_field_i64(&t, 11, (int64_t) start);
		write_statistics(&t, c);
		btx_thrift_struct_end(&t);	/* ColumnMetaData */
		btx_thrift_struct_end(&t);	/* ColumnChunk */

		total_unc += dict_unc + c->data_unc;
		total_comp += (int64_t) (w->offset - start);
		if (w->opt.metrics && merge_file_metrics(c, w->offset - start) != 0)
			return fail_oom(w);
		reset_chunk(c);
	}
	btx_thrift_field_i64(&t, 2, total_unc);
	btx_thrift_field_i64(&t, 3, w->rg_rows);
	btx_thrift_field_i64(&t, 5, (int64_t) rg_offset);
	btx_thrift_field_i64(&t, 6, total_comp);
	btx_thrift_struct_end(&t);
	if (btx_thrift_status(&t) != 0)
		return fail_oom(w);

	w->n_rg++;
	w->rg_rows = 0;
	w->rg_est = 0;
	return 0;
}

/* ---------- schema / footer ---------- */

static void
write_schema(btx_thrift *t, btx_pq_writer *w)
{
	int			n = 1;
	int			i;

	for (i = 0; i < w->ncols; i++)
		n += w->cols[i].type == BTX_PQ_LIST_STRING ? 3 : 1;
	btx_thrift_field_list_begin(t, 2, BTX_THRIFT_STRUCT, (uint32_t) n);

	btx_thrift_struct_begin(t);
	btx_thrift_field_string(t, 4, "schema");
	btx_thrift_field_i32(t, 5, w->ncols);
	btx_thrift_struct_end(t);

	for (i = 0; i < w->ncols; i++)
	{
		pq_col	   *c = &w->cols[i];

		btx_thrift_struct_begin(t);
		if (c->type == BTX_PQ_LIST_STRING)
		{
			btx_thrift_field_i32(t, 3, REP_OPTIONAL);
			btx_thrift_field_string(t, 4, c->name);
			btx_thrift_field_i32(t, 5, 1);
			btx_thrift_field_i32(t, 6, CT_LIST);
			if (c->field_id > 0)
				btx_thrift_field_i32(t, 9, c->field_id);
			btx_thrift_field_struct_begin(t, 10);
			btx_thrift_field_struct_begin(t, 3);
			btx_thrift_struct_end(t);
			btx_thrift_struct_end(t);
			btx_thrift_struct_end(t);

			btx_thrift_struct_begin(t);
			btx_thrift_field_i32(t, 3, REP_REPEATED);
			btx_thrift_field_string(t, 4, "list");
			btx_thrift_field_i32(t, 5, 1);
			btx_thrift_struct_end(t);

			btx_thrift_struct_begin(t);
			btx_thrift_field_i32(t, 1, PT_BYTE_ARRAY);
			btx_thrift_field_i32(t, 3, REP_OPTIONAL);
			btx_thrift_field_string(t, 4, "element");
			btx_thrift_field_i32(t, 6, CT_UTF8);
			if (c->element_field_id > 0)
				btx_thrift_field_i32(t, 9, c->element_field_id);
			btx_thrift_field_struct_begin(t, 10);
			btx_thrift_field_struct_begin(t, 1);
			btx_thrift_struct_end(t);
			btx_thrift_struct_end(t);
			btx_thrift_struct_end(t);
			continue;
		}
		btx_thrift_field_i32(t, 1, c->physical);
		btx_thrift_field_i32(t, 3, REP_OPTIONAL);
		btx_thrift_field_string(t, 4, c->name);
		switch (c->type)
		{
			case BTX_PQ_STRING:
			case BTX_PQ_JSON:
				if (c->type == BTX_PQ_STRING || w->opt.json_as_string)
				{
					btx_thrift_field_i32(t, 6, CT_UTF8);
					if (c->field_id > 0)
						btx_thrift_field_i32(t, 9, c->field_id);
					btx_thrift_field_struct_begin(t, 10);
					btx_thrift_field_struct_begin(t, 1);	/* STRING */
				}
				else
				{
					btx_thrift_field_i32(t, 6, CT_JSON);
					if (c->field_id > 0)
						btx_thrift_field_i32(t, 9, c->field_id);
					btx_thrift_field_struct_begin(t, 10);
					btx_thrift_field_struct_begin(t, 12);	/* JSON */
				}
				btx_thrift_struct_end(t);
				btx_thrift_struct_end(t);
				break;
			case BTX_PQ_TIMESTAMP:
				btx_thrift_field_i32(t, 6, CT_TIMESTAMP_MICROS);
				if (c->field_id > 0)
					btx_thrift_field_i32(t, 9, c->field_id);
				btx_thrift_field_struct_begin(t, 10);
				btx_thrift_field_struct_begin(t, 8);	/* TIMESTAMP */
				btx_thrift_field_bool(t, 1, 1); /* isAdjustedToUTC */
				btx_thrift_field_struct_begin(t, 2);	/* unit */
				btx_thrift_field_struct_begin(t, 2);	/* MICROS */
				btx_thrift_struct_end(t);
				btx_thrift_struct_end(t);
				btx_thrift_struct_end(t);
				btx_thrift_struct_end(t);
				break;
			default:
				/* INT64, DOUBLE, BOOLEAN: no annotation */
				if (c->field_id > 0)
					btx_thrift_field_i32(t, 9, c->field_id);
				break;
		}
		btx_thrift_struct_end(t);
	}
}

static int
write_footer(btx_pq_writer *w)
{
	btx_buf		f;
	btx_thrift	t;
	int			i;
	int			nleaves = w->ncols;
	unsigned char tail[8];
	int			rc;

	btx_buf_init(&f);
	btx_thrift_init(&t, &f);
	btx_thrift_struct_begin(&t);
	btx_thrift_field_i32(&t, 1, 1);
	write_schema(&t, w);
	btx_thrift_field_i64(&t, 3, w->rows);
	btx_thrift_field_list_begin(&t, 4, BTX_THRIFT_STRUCT, (uint32_t) w->n_rg);
	btx_buf_append(&f, w->rg_meta.data, w->rg_meta.len);
	if (w->nkv > 0)
	{
		btx_thrift_field_list_begin(&t, 5, BTX_THRIFT_STRUCT, (uint32_t) w->nkv);
		for (i = 0; i < w->nkv; i++)
		{
			btx_thrift_struct_begin(&t);
			btx_thrift_field_string(&t, 1, w->kv_key[i]);
			if (w->kv_val[i])
				btx_thrift_field_string(&t, 2, w->kv_val[i]);
			btx_thrift_struct_end(&t);
		}
	}
	btx_thrift_field_string(&t, 6, w->created_by);
	btx_thrift_field_list_begin(&t, 7, BTX_THRIFT_STRUCT, (uint32_t) nleaves);
	for (i = 0; i < nleaves; i++)
	{
		btx_thrift_struct_begin(&t);
		btx_thrift_field_struct_begin(&t, 1);	/* TYPE_ORDER */
		btx_thrift_struct_end(&t);
		btx_thrift_struct_end(&t);
	}
	btx_thrift_struct_end(&t);
	if (btx_thrift_status(&t) != 0 || f.len > UINT32_MAX)
	{
		btx_buf_free(&f);
		return fail_oom(w);
	}
	tail[0] = (unsigned char) f.len;
	tail[1] = (unsigned char) (f.len >> 8);
	tail[2] = (unsigned char) (f.len >> 16);
	tail[3] = (unsigned char) (f.len >> 24);
	memcpy(tail + 4, "PAR1", 4);
	rc = emit(w, f.data, f.len);
	if (rc == 0)
		rc = emit(w, tail, 8);
	btx_buf_free(&f);
	return rc;
}

/* ---------- open / free ---------- */

void
btx_pq_options_init(btx_pq_options *opt)
{
	memset(opt, 0, sizeof(*opt));
	opt->codec = BTX_PQ_CODEC_SNAPPY;
	opt->page_bytes = BTX_PQ_DEFAULT_PAGE_BYTES;
	opt->page_rows = BTX_PQ_DEFAULT_PAGE_ROWS;
	opt->row_group_bytes = BTX_PQ_DEFAULT_ROW_GROUP_BYTES;
	opt->row_group_rows = BTX_PQ_DEFAULT_ROW_GROUP_ROWS;
	opt->dict_bytes = BTX_PQ_DEFAULT_DICT_BYTES;
}

static char *
dupstr(const char *s)
{
	size_t		n = strlen(s);
	char	   *d = malloc(n + 1);

	if (d)
		memcpy(d, s, n + 1);
	return d;
}

static void
col_free(pq_col *c)
{
	free(c->name);
	btx_buf_free(&c->def);
	btx_buf_free(&c->rep);
	btx_buf_free(&c->vals);
	btx_buf_free(&c->idx);
	btx_buf_free(&c->chunk);
	btx_buf_free(&c->dict);
	free(c->doff);
	free(c->dhash);
	free(c->slots);
	btx_buf_free(&c->smin);
	btx_buf_free(&c->smax);
	btx_buf_free(&c->f_smin);
	btx_buf_free(&c->f_smax);
}

void
btx_pq_free(btx_pq_writer *w)
{
	int			i;

	if (w == NULL)
		return;
	if (w->cols)
		for (i = 0; i < w->ncols; i++)
			col_free(&w->cols[i]);
	free(w->cols);
	free(w->created_by);
	if (w->kv_key)
		for (i = 0; i < w->nkv; i++)
			free(w->kv_key[i]);
	if (w->kv_val)
		for (i = 0; i < w->nkv; i++)
			free(w->kv_val[i]);
	free(w->kv_key);
	free(w->kv_val);
	btx_buf_free(&w->rg_meta);
	btx_buf_free(&w->body);
	btx_buf_free(&w->comp);
	btx_buf_free(&w->hdr);
	if (w->zctx)
		ZSTD_freeCCtx(w->zctx);
	if (w->gz)
		libdeflate_free_compressor(w->gz);
	free(w);
}

static btx_pq_writer *
open_fail(btx_pq_writer *w, btx_error *err, const char *sqlstate,
		  const char *msg, const char *detail)
{
	if (err)
	{
		btx_error_set(err, 6, sqlstate, "%s", msg);
		if (detail)
			btx_error_detail(err, "%s", detail);
	}
	btx_pq_free(w);
	return NULL;
}

/* a failed open: e gets the error (code 6, as every open error) */
static int
open_error(btx_error *e, const char *sqlstate, const char *msg, const char *detail)
{
	btx_error_set(e, 6, sqlstate, "%s", msg);
	if (detail)
		btx_error_detail(e, "%s", detail);
	return -1;
}

#define OPEN_OOM(e) open_error(e, "53200", "out of memory while writing Parquet", NULL)

/* the options' defaults for zero fields, and the codec's compressor */
static int
open_codec(btx_pq_writer *w, btx_error *e)
{
	char		detail[512];

	if (w->opt.page_bytes == 0)
		w->opt.page_bytes = BTX_PQ_DEFAULT_PAGE_BYTES;
	if (w->opt.page_rows <= 0)
		w->opt.page_rows = BTX_PQ_DEFAULT_PAGE_ROWS;
	if (w->opt.row_group_bytes == 0)
		w->opt.row_group_bytes = BTX_PQ_DEFAULT_ROW_GROUP_BYTES;
	if (w->opt.row_group_rows <= 0)
		w->opt.row_group_rows = BTX_PQ_DEFAULT_ROW_GROUP_ROWS;
	if (w->opt.dict_bytes == 0)
		w->opt.dict_bytes = BTX_PQ_DEFAULT_DICT_BYTES;

	switch (w->opt.codec)
	{
		case BTX_PQ_CODEC_NONE:
		case BTX_PQ_CODEC_SNAPPY:
			return 0;
		case BTX_PQ_CODEC_ZSTD:
			if (w->opt.level == 0)
				w->opt.level = 3;
			if (w->opt.level < 1 || w->opt.level > ZSTD_maxCLevel())
			{
				snprintf(detail, sizeof(detail), "ZSTD levels run from 1 to %d; got %d.",
						 ZSTD_maxCLevel(), w->opt.level);
				return open_error(e, "22023", "invalid Parquet compression level", detail);
			}
			w->zctx = ZSTD_createCCtx();
			return w->zctx == NULL ? OPEN_OOM(e) : 0;
		case BTX_PQ_CODEC_GZIP:
			if (w->opt.level == 0)
				w->opt.level = BTX_PQ_GZIP_DEFAULT_LEVEL;
			if (w->opt.level < 1 || w->opt.level > 9)
			{
				snprintf(detail, sizeof(detail), "GZIP levels run from 1 to 9; got %d.",
						 w->opt.level);
				return open_error(e, "22023", "invalid Parquet compression level", detail);
			}
			/* a gzip member (RFC 1952) per page, as the Parquet spec's GZIP codec asks */
			w->gz = libdeflate_alloc_compressor(w->opt.level);
			return w->gz == NULL ? OPEN_OOM(e) : 0;
	}
	snprintf(detail, sizeof(detail), "Codec number %d is not one of NONE, SNAPPY, GZIP, ZSTD.",
			 (int) w->opt.codec);
	return open_error(e, "22023", "unsupported Parquet compression codec", detail);
}

/* created_by and the key-value metadata of the footer, copied */
static int
open_metadata(btx_pq_writer *w, const btx_pq_options *opt, btx_error *e)
{
	int			i;

	w->created_by = dupstr(opt->created_by ? opt->created_by : BTX_PQ_DEFAULT_CREATED_BY);
	if (w->created_by == NULL)
		return OPEN_OOM(e);
	if (opt->nkv <= 0)
		return 0;
	w->kv_key = calloc(opt->nkv, sizeof(char *));
	w->kv_val = calloc(opt->nkv, sizeof(char *));
	if (w->kv_key == NULL || w->kv_val == NULL)
		return OPEN_OOM(e);
	w->nkv = opt->nkv;
	for (i = 0; i < opt->nkv; i++)
	{
		if (opt->kv[i].key == NULL)
			return open_error(e, "XX000", "parquet writer misuse: key-value metadata without a key", NULL);
		w->kv_key[i] = dupstr(opt->kv[i].key);
		w->kv_val[i] = opt->kv[i].value ? dupstr(opt->kv[i].value) : NULL;
		if (w->kv_key[i] == NULL || (opt->kv[i].value && w->kv_val[i] == NULL))
			return OPEN_OOM(e);
	}
	return 0;
}

/* column i: a unique UTF-8 name, and its physical type, levels and statistics */
static int
open_column(btx_pq_writer *w, const btx_pq_column *cols, int i, btx_error *e)
{
	pq_col	   *c = &w->cols[i];
	const char *name = cols[i].name;
	char		detail[512];
	int			j;

	btx_buf_init(&c->def);
	btx_buf_init(&c->rep);
	btx_buf_init(&c->vals);
	btx_buf_init(&c->idx);
	btx_buf_init(&c->chunk);
	btx_buf_init(&c->dict);
	btx_buf_init(&c->smin);
	btx_buf_init(&c->smax);
	btx_buf_init(&c->f_smin);
	btx_buf_init(&c->f_smax);
	if (name == NULL || name[0] == '\0' ||
		!btx_utf8_valid((const unsigned char *) name, strlen(name)))
	{
		snprintf(detail, sizeof(detail), "Column %d has an empty or non-UTF-8 name.", i + 1);
		return open_error(e, "42602", "invalid Parquet column name", detail);
	}
	for (j = 0; j < i; j++)
		if (strcmp(cols[j].name, name) == 0)
		{
			snprintf(detail, sizeof(detail), "Column name \"%.200s\" appears more than once.", name);
			return open_error(e, "42701", "duplicate Parquet column name", detail);
		}
	c->name = dupstr(name);
	if (c->name == NULL)
		return OPEN_OOM(e);
	c->type = cols[i].type;
	if (cols[i].field_id < 0 || cols[i].element_field_id < 0)
	{
		snprintf(detail, sizeof(detail), "Column \"%.200s\" has a negative field id.", name);
		return open_error(e, "XX000", "parquet writer misuse: invalid field id", detail);
	}
	c->field_id = cols[i].field_id;
	c->element_field_id = cols[i].element_field_id;
	c->max_def = 1;
	c->max_rep = 0;
	c->dict_allowed = !cols[i].no_dictionary;
	switch (c->type)
	{
		case BTX_PQ_STRING:
			c->physical = PT_BYTE_ARRAY;
			c->stats_kind = ST_BYTES;
			break;
		case BTX_PQ_JSON:
			c->physical = PT_BYTE_ARRAY;
			c->stats_kind = ST_NONE;
			break;
		case BTX_PQ_TIMESTAMP:
		case BTX_PQ_INT64:
			c->physical = PT_INT64;
			c->stats_kind = ST_INT64;
			break;
		case BTX_PQ_DOUBLE:
			c->physical = PT_DOUBLE;
			c->stats_kind = ST_DOUBLE;
			break;
		case BTX_PQ_BOOLEAN:
			c->physical = PT_BOOLEAN;
			c->stats_kind = ST_NONE;
			c->dict_allowed = 0;
			break;
		case BTX_PQ_LIST_STRING:
			c->physical = PT_BYTE_ARRAY;
			c->stats_kind = ST_BYTES;
			c->max_def = 3;
			c->max_rep = 1;
			break;
		default:
			snprintf(detail, sizeof(detail), "Column \"%.200s\" has type number %d.", name, (int) c->type);
			return open_error(e, "XX000", "parquet writer misuse: unknown column type", detail);
	}
	c->dict_mode = c->dict_allowed;
	return 0;
}

btx_pq_writer *
btx_pq_open(const btx_pq_column *cols, int ncols, const btx_pq_options *opt,
			btx_sink_fn sink, void *ctx, btx_error *err)
{
	btx_pq_writer *w;
	btx_pq_options def;
	btx_error	e;
	int			i;

	if (err)
		btx_error_clear(err);
	if (opt == NULL)
	{
		btx_pq_options_init(&def);
		opt = &def;
	}
	if (ncols <= 0 || cols == NULL || sink == NULL)
		return open_fail(NULL, err, "XX000", "parquet writer misuse: no columns or no sink", NULL);
	w = calloc(1, sizeof(*w));
	if (w == NULL)
		return open_fail(NULL, err, "53200", "out of memory while writing Parquet", NULL);
	w->opt = *opt;
	w->sink = sink;
	w->ctx = ctx;
	btx_buf_init(&w->rg_meta);
	btx_buf_init(&w->body);
	btx_buf_init(&w->comp);
	btx_buf_init(&w->hdr);
	if (open_codec(w, &e) != 0 || open_metadata(w, opt, &e) != 0)
		goto fail;
	w->cols = calloc(ncols, sizeof(pq_col));
	if (w->cols == NULL)
	{
		OPEN_OOM(&e);
		goto fail;
	}
	w->ncols = ncols;
	for (i = 0; i < ncols; i++)
		if (open_column(w, cols, i, &e) != 0)
			goto fail;
	return w;

fail:
	if (err)
		*err = e;
	btx_pq_free(w);
	return NULL;
}

/* ---------- values ---------- */

static pq_col *
get_col(btx_pq_writer *w, int col)
{
	pq_col	   *c;

	if (w->failed)
		return NULL;
	if (w->closed)
	{
		fail_usage(w, -1, "writer already closed");
		return NULL;
	}
	if (col < 0 || col >= w->ncols)
	{
		fail_usage(w, -1, "column number out of range");
		return NULL;
	}
	c = &w->cols[col];
	if (c->set)
	{
		fail_usage(w, col, "two values for one column in a row");
		return NULL;
	}
	return c;
}

/* add a present value: to the dictionary (indices) or to the PLAIN values */
static int
add_value(btx_pq_writer *w, pq_col *c, const unsigned char *key, size_t len)
{
	if (c->dict_mode)
	{
		uint32_t	id;
		int			isnew;

		if (dict_lookup(c, key, len, &id, &isnew) != 0)
			return fail_oom(w);
		if (btx_buf_append(&c->idx, &id, sizeof(id)) != 0)
			return fail_oom(w);
		if (isnew)
			stats_key(c, key, len);
		c->dict_plain_equiv += len + (c->physical == PT_BYTE_ARRAY ? 4 : 0);
	}
	else
	{
		if (c->physical == PT_BYTE_ARRAY)
			btx_plain_byte_array(&c->vals, key, len);
		else
			btx_buf_append(&c->vals, key, len);
		if (c->vals.oom)
			return fail_oom(w);
		stats_key(c, key, len);
	}
	c->page_nonnull++;
	w->rg_est += len + (c->physical == PT_BYTE_ARRAY ? 4 : 0);
	return 0;
}

int
btx_pq_null(btx_pq_writer *w, int col)
{
	pq_col	   *c = get_col(w, col);

	if (c == NULL)
		return -1;
	if (c->in_list)
		return fail_usage(w, col, "NULL inside an open list (use btx_pq_list_item with NULL)");
	if (c->max_rep > 0 && put_level(&c->rep, 0) != 0)
		return fail_oom(w);
	if (put_level(&c->def, 0) != 0)
		return fail_oom(w);
	c->page_entries++;
	c->null_count++;
	c->set = 1;
	return 0;
}

static int
flat_value(btx_pq_writer *w, int col, btx_pq_type t1, btx_pq_type t2,
		   const unsigned char *key, size_t len)
{
	pq_col	   *c = get_col(w, col);

	if (c == NULL)
		return -1;
	if (c->type != t1 && c->type != t2)
		return fail_usage(w, col, "value of the wrong type for the column");
	if (put_level(&c->def, 1) != 0)
		return fail_oom(w);
	if (add_value(w, c, key, len) != 0)
		return -1;
	c->page_entries++;
	c->set = 1;
	return 0;
}

int
btx_pq_int64(btx_pq_writer *w, int col, int64_t v)
{
	unsigned char b[8];

	le64(b, (uint64_t) v);
	return flat_value(w, col, BTX_PQ_INT64, BTX_PQ_TIMESTAMP, b, 8);
}

int
btx_pq_double(btx_pq_writer *w, int col, double v)
{
	unsigned char b[8];
	uint64_t	u;

	memcpy(&u, &v, 8);
	le64(b, u);
	if (flat_value(w, col, BTX_PQ_DOUBLE, BTX_PQ_DOUBLE, b, 8) != 0)
		return -1;
	if (w->opt.metrics && isnan(v))
		w->cols[col].f_nans++;
	return 0;
}

int
btx_pq_bool(btx_pq_writer *w, int col, int v)
{
	pq_col	   *c = get_col(w, col);

	if (c == NULL)
		return -1;
	if (c->type != BTX_PQ_BOOLEAN)
		return fail_usage(w, col, "value of the wrong type for the column");
	if (put_level(&c->def, 1) != 0 || put_level(&c->vals, v ? 1 : 0) != 0)
		return fail_oom(w);
	c->f_bools |= v ? 2 : 1;
	c->page_entries++;
	c->page_nonnull++;
	w->rg_est += 1;
	c->set = 1;
	return 0;
}

static int
check_utf8(btx_pq_writer *w, pq_col *c, const void *p, size_t len)
{
	if (w->opt.no_utf8_check || btx_utf8_valid(p, len))
		return 0;
	if (!w->failed)
	{
		btx_error_set(&w->err, 7, "22021", "invalid UTF-8 in column \"%s\"", c->name);
		btx_error_detail(&w->err, "Row %lld holds a byte sequence that is not valid UTF-8; Parquet readers reject such files.",
						 (long long) w->rows + 1);
		w->failed = 1;
	}
	return -1;
}

int
btx_pq_bytes(btx_pq_writer *w, int col, const void *p, size_t len)
{
	pq_col	   *c;

	if (p == NULL)
		return btx_pq_null(w, col);
	c = get_col(w, col);
	if (c == NULL)
		return -1;
	if (c->type != BTX_PQ_STRING && c->type != BTX_PQ_JSON)
		return fail_usage(w, col, "value of the wrong type for the column");
	if (len > (size_t) INT32_MAX)
		return check_page_size(w, c, len);
	if (check_utf8(w, c, p, len) != 0)
		return -1;
	return flat_value(w, col, BTX_PQ_STRING, BTX_PQ_JSON, p, len);
}

int
btx_pq_list_begin(btx_pq_writer *w, int col)
{
	pq_col	   *c = get_col(w, col);

	if (c == NULL)
		return -1;
	if (c->type != BTX_PQ_LIST_STRING)
		return fail_usage(w, col, "list value for a column that is not a list");
	if (c->in_list)
		return fail_usage(w, col, "list begun twice");
	c->in_list = 1;
	c->list_n = 0;
	return 0;
}

int
btx_pq_list_item(btx_pq_writer *w, int col, const void *p, size_t len)
{
	pq_col	   *c = get_col(w, col);

	if (c == NULL)
		return -1;
	if (!c->in_list)
		return fail_usage(w, col, "list item outside btx_pq_list_begin/btx_pq_list_end");
	if (p != NULL && len > (size_t) INT32_MAX)
		return check_page_size(w, c, len);
	if (p != NULL && check_utf8(w, c, p, len) != 0)
		return -1;
	if (put_level(&c->rep, c->list_n == 0 ? 0 : 1) != 0 ||
		put_level(&c->def, p == NULL ? 2 : 3) != 0)
		return fail_oom(w);
	if (p == NULL)
		c->null_count++;
	else if (add_value(w, c, p, len) != 0)
		return -1;
	c->page_entries++;
	c->list_n++;
	return 0;
}

int
btx_pq_list_end(btx_pq_writer *w, int col)
{
	pq_col	   *c = get_col(w, col);

	if (c == NULL)
		return -1;
	if (!c->in_list)
		return fail_usage(w, col, "btx_pq_list_end without btx_pq_list_begin");
	if (c->list_n == 0)
	{
		/* empty list: one entry (rep 0, def 1) */
		if (put_level(&c->rep, 0) != 0 || put_level(&c->def, 1) != 0)
			return fail_oom(w);
		c->page_entries++;
		c->null_count++;
	}
	c->in_list = 0;
	c->set = 1;
	return 0;
}

static int
report(btx_pq_writer *w, btx_error *err)
{
	if (err)
		*err = w->err;
	return -1;
}

/* neither failed nor closed (a closed writer fails now) */
static int
writable(btx_pq_writer *w)
{
	if (!w->failed && w->closed)
		fail_usage(w, -1, "writer already closed");
	return !w->failed;
}

int
btx_pq_end_row(btx_pq_writer *w, btx_error *err)
{
	int			i;

	if (!writable(w))
		return report(w, err);
	for (i = 0; i < w->ncols; i++)
	{
		pq_col	   *c = &w->cols[i];

		if (!c->set)
		{
			fail_usage(w, i, c->in_list ? "list not ended at the end of the row"
					   : "no value for a column at the end of the row");
			return report(w, err);
		}
	}
	for (i = 0; i < w->ncols; i++)
	{
		pq_col	   *c = &w->cols[i];
		size_t		est;

		c->set = 0;
		c->page_rows++;
		est = c->dict_mode ? c->idx.len / 2 : c->vals.len;
		est += c->def.len / 8 + c->rep.len / 8;
		if (c->page_rows >= w->opt.page_rows || est >= w->opt.page_bytes ||
			(c->dict_mode && c->dict.len > w->opt.dict_bytes))
		{
			if (finish_page(w, c) != 0)
				return report(w, err);
		}
	}
	w->rows++;
	w->rg_rows++;
	if (w->rg_rows >= w->opt.row_group_rows || w->rg_est >= w->opt.row_group_bytes)
	{
		if (flush_row_group(w) != 0)
			return report(w, err);
	}
	return 0;
}

int
btx_pq_close(btx_pq_writer *w, btx_error *err)
{
	int			i;

	if (!writable(w))
		return report(w, err);
	for (i = 0; i < w->ncols; i++)
		if (w->cols[i].set || w->cols[i].in_list)
		{
			fail_usage(w, i, "btx_pq_close in the middle of a row");
			return report(w, err);
		}
	if (flush_row_group(w) != 0 || emit_magic(w) != 0 || write_footer(w) != 0)
		return report(w, err);
	w->closed = 1;
	if (err)
		btx_error_clear(err);
	return 0;
}

uint64_t
btx_pq_bytes_written(const btx_pq_writer *w)
{
	return w->offset;
}

int64_t
btx_pq_rows(const btx_pq_writer *w)
{
	return w->rows;
}

int64_t
btx_pq_row_groups(const btx_pq_writer *w)
{
	return w->n_rg;
}

size_t
btx_pq_buffered_bytes(const btx_pq_writer *w)
{
	size_t		n = w->rg_meta.cap + w->body.cap + w->comp.cap + w->hdr.cap;
	int			i;

	for (i = 0; i < w->ncols; i++)
	{
		const pq_col *c = &w->cols[i];

		n += c->def.cap + c->rep.cap + c->vals.cap + c->idx.cap + c->chunk.cap +
			c->dict.cap + c->smin.cap + c->smax.cap +
			(size_t) c->dcap * (sizeof(size_t) + sizeof(uint64_t)) +
			(size_t) c->nslots * sizeof(uint32_t);
	}
	return n;
}

int
btx_pq_column_metrics(const btx_pq_writer *w, int col, btx_pq_col_metrics *m)
{
	const pq_col *c;

	memset(m, 0, sizeof(*m));
	if (!w->opt.metrics || !w->closed || col < 0 || col >= w->ncols)
		return -1;
	c = &w->cols[col];
	m->value_count = c->f_values;
	m->null_count = c->f_nulls;
	m->nan_count = c->f_nans;
	m->compressed_bytes = c->f_bytes;
	if (c->type == BTX_PQ_BOOLEAN)
	{
		m->has_bounds = c->f_bools != 0;
		m->imin = (c->f_bools & 1) ? 0 : 1;
		m->imax = (c->f_bools & 2) ? 1 : 0;
		return 0;
	}
	m->has_bounds = c->f_has;
	m->imin = c->f_imin;
	m->imax = c->f_imax;
	m->dmin = c->f_dmin;
	m->dmax = c->f_dmax;
	if (c->f_has && c->stats_kind == ST_BYTES)
	{
		/* an empty string is a valid bound: point at a NUL, not NULL */
		m->smin = c->f_smin.data ? (const unsigned char *) c->f_smin.data : (const unsigned char *) "";
		m->smin_len = c->f_smin.len;
		m->smax = c->f_smax.data ? (const unsigned char *) c->f_smax.data : (const unsigned char *) "";
		m->smax_len = c->f_smax.len;
	}
	return 0;
}
