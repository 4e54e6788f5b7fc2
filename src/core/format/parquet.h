/*
 * parquet.h — streaming Parquet writer (plain C, no PostgreSQL headers).
 *
 * Follows the "compat" profile of parquet.md: DataPage V1, file version 1,
 * PLAIN plus RLE_DICTIONARY with fallback to PLAIN, RLE/bit-packed levels,
 * every column OPTIONAL, chunk statistics, TYPE_ORDER column orders.
 *
 * Output goes, strictly in order, through a btx_sink_fn; the writer never
 * seeks.  Data pages are compressed as they fill and held in memory until
 * their row group is flushed (a dictionary page must precede them), so
 * memory is bounded by one row group's encoded pages plus dictionaries.
 * Nothing (not even the leading magic) is written before the first row
 * group is flushed or btx_pq_close is called.
 *
 * Usage, per row: exactly one value call per column — btx_pq_null,
 * btx_pq_int64 (INT64 and TIMESTAMP), btx_pq_double, btx_pq_bool,
 * btx_pq_bytes (STRING and JSON), or for LIST_STRING btx_pq_list_begin,
 * any number of btx_pq_list_item, btx_pq_list_end — then btx_pq_end_row.
 * Value calls return 0 or -1; after -1 (or any failed call) the writer is
 * failed: every later call fails and the error is reported by the next
 * btx_pq_end_row / btx_pq_close.  Finish with btx_pq_close (writes the
 * footer) and always btx_pq_free.
 */
#ifndef BTX_PARQUET_H
#define BTX_PARQUET_H

#include <stddef.h>
#include <stdint.h>

#include "core/common/btx_buf.h"
#include "core/format/sink.h"

typedef enum btx_pq_type
{
	BTX_PQ_STRING,				/* BYTE_ARRAY, STRING (UTF8) */
	BTX_PQ_JSON,				/* BYTE_ARRAY, JSON (see json_as_string) */
	BTX_PQ_TIMESTAMP,			/* INT64, TIMESTAMP(UTC, MICROS): Unix microseconds */
	BTX_PQ_INT64,				/* INT64 */
	BTX_PQ_DOUBLE,				/* DOUBLE */
	BTX_PQ_BOOLEAN,				/* BOOLEAN */
	BTX_PQ_LIST_STRING			/* 3-level LIST of optional STRING elements */
} btx_pq_type;

/* values are Parquet's CompressionCodec numbers */
typedef enum btx_pq_codec
{
	BTX_PQ_CODEC_NONE = 0,
	BTX_PQ_CODEC_SNAPPY = 1,
	BTX_PQ_CODEC_GZIP = 2,
	BTX_PQ_CODEC_ZSTD = 6
} btx_pq_codec;

typedef struct btx_pq_column
{
	const char *name;			/* copied; must be non-empty UTF-8 */
	btx_pq_type type;
	int			no_dictionary;	/* 1: always PLAIN; 0: dictionary with fallback */
	int32_t		field_id;		/* > 0: written as SchemaElement.field_id */
	int32_t		element_field_id;	/* LIST_STRING: field_id of the element */
} btx_pq_column;

typedef struct btx_pq_kv
{
	const char *key;
	const char *value;
} btx_pq_kv;

#define BTX_PQ_DEFAULT_PAGE_BYTES		(1024 * 1024)
#define BTX_PQ_DEFAULT_PAGE_ROWS		20000
#define BTX_PQ_DEFAULT_ROW_GROUP_BYTES	((size_t) 128 * 1024 * 1024)
#define BTX_PQ_DEFAULT_ROW_GROUP_ROWS	1048576
#define BTX_PQ_DEFAULT_DICT_BYTES		(1024 * 1024)
#define BTX_PQ_STATS_TRUNCATE			64
#define BTX_PQ_DEFAULT_CREATED_BY		"btexport version 1.0.0"
/*
 * GZIP pages are compressed with libdeflate (whole buffers, about twice
 * zlib's speed at the same level).  Level 4 writes files within about 2 % of
 * zlib's default level 6 at about three times its speed.
 */
#define BTX_PQ_GZIP_DEFAULT_LEVEL		4

typedef struct btx_pq_options
{
	btx_pq_codec codec;			/* default SNAPPY */
	int			level;			/* ZSTD 1..22 (default 3), GZIP 1..9 (default
								 * BTX_PQ_GZIP_DEFAULT_LEVEL); 0 = default */
	size_t		page_bytes;		/* cut a page at this many encoded bytes */
	int			page_rows;		/* ... or at this many rows */
	/*
	 * Flush a row group once the PLAIN-encoded size of its values (an
	 * uncompressed estimate) reaches row_group_bytes, or at row_group_rows.
	 */
	size_t		row_group_bytes;
	int64_t		row_group_rows;
	size_t		dict_bytes;		/* fall back to PLAIN past this dictionary size */
	int			json_as_string; /* annotate JSON columns as STRING instead of JSON */
	int			no_utf8_check;	/* skip UTF-8 validation of STRING/JSON/LIST values */
	const char *created_by;		/* NULL: BTX_PQ_DEFAULT_CREATED_BY */
	const btx_pq_kv *kv;		/* key-value metadata, copied at open */
	int			nkv;
	int			metrics;		/* keep file-level column metrics (see above) */
} btx_pq_options;

typedef struct btx_pq_writer btx_pq_writer;

/*
 * File-level metrics of one column (btx_pq_options.metrics).  Counts are
 * Parquet level entries: for LIST_STRING, elements plus one entry per empty
 * or NULL list (both counted as nulls, as in the chunk statistics).  Bounds
 * are exact (not truncated) and exclude NULLs and NaNs; has_bounds is 0 when
 * the column has no such value or its type keeps none (JSON).  smin/smax
 * point into the writer and stay valid until btx_pq_free.
 */
typedef struct btx_pq_col_metrics
{
	int64_t		value_count;
	int64_t		null_count;
	int64_t		nan_count;		/* DOUBLE only */
	uint64_t	compressed_bytes;	/* all pages of the column, headers included */
	int			has_bounds;
	int64_t		imin;			/* INT64, TIMESTAMP; BOOLEAN as 0/1 */
	int64_t		imax;
	double		dmin;			/* DOUBLE */
	double		dmax;
	const unsigned char *smin;	/* STRING, LIST_STRING elements */
	size_t		smin_len;
	const unsigned char *smax;
	size_t		smax_len;
} btx_pq_col_metrics;

/* fill *opt with the defaults (zero-filled options mean the same) */
extern void btx_pq_options_init(btx_pq_options *opt);

/* NULL on failure (err set); opt may be NULL */
extern btx_pq_writer *btx_pq_open(const btx_pq_column *cols, int ncols,
								  const btx_pq_options *opt,
								  btx_sink_fn sink, void *ctx, btx_error *err);

extern int	btx_pq_null(btx_pq_writer *w, int col);
extern int	btx_pq_int64(btx_pq_writer *w, int col, int64_t v);
extern int	btx_pq_double(btx_pq_writer *w, int col, double v);
extern int	btx_pq_bool(btx_pq_writer *w, int col, int v);
extern int	btx_pq_bytes(btx_pq_writer *w, int col, const void *p, size_t len);
extern int	btx_pq_list_begin(btx_pq_writer *w, int col);
/* p == NULL appends a NULL element */
extern int	btx_pq_list_item(btx_pq_writer *w, int col, const void *p, size_t len);
extern int	btx_pq_list_end(btx_pq_writer *w, int col);

/* finish the row; may flush a row group through the sink */
extern int	btx_pq_end_row(btx_pq_writer *w, btx_error *err);
/* flush the last row group and write the footer */
extern int	btx_pq_close(btx_pq_writer *w, btx_error *err);

extern uint64_t btx_pq_bytes_written(const btx_pq_writer *w);
extern int64_t btx_pq_rows(const btx_pq_writer *w);
extern int64_t btx_pq_row_groups(const btx_pq_writer *w);
/* bytes currently buffered (pages, dictionaries, footer metadata) */
extern size_t btx_pq_buffered_bytes(const btx_pq_writer *w);
extern void btx_pq_free(btx_pq_writer *w);

/*
 * Metrics of column col once btx_pq_close succeeded; -1 when the writer was
 * opened without btx_pq_options.metrics, is not closed, or col is out of range.
 */
extern int	btx_pq_column_metrics(const btx_pq_writer *w, int col, btx_pq_col_metrics *m);

/* exposed for unit tests: serialise a V1 data / dictionary page header */
extern void btx_pq_page_header(btx_buf *out, int page_type,
							   int32_t uncompressed, int32_t compressed,
							   int32_t num_values, int encoding);

#endif							/* BTX_PARQUET_H */
