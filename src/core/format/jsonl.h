/*
 * jsonl.h — JSON Lines writer (plain C, no PostgreSQL headers).
 *
 * One JSON object per row, '\n'-terminated, keys in column order, no spaces
 * between members (`{"id":"a","n":1}`), UTF-8.  The caller hands typed
 * values per column; the writer encodes them:
 *
 *   btx_jsonl_string     a JSON string: '"' and '\' escaped, control
 *                        characters U+0000..U+001F as \b \f \n \r \t or
 *                        \u00XX, everything else as is (so UTF-8 passes
 *                        through unchanged).  With opt.validate_utf8 an
 *                        invalid byte sequence fails the row (SQLSTATE
 *                        22021): nothing is replaced or dropped silently.
 *   btx_jsonl_raw        text that is already JSON (a jsonb's text form, a
 *                        number formatted by the caller): copied as is.
 *   btx_jsonl_int64, btx_jsonl_bool, btx_jsonl_null
 *   btx_jsonl_timestamp  Unix microseconds as RFC 3339 in UTC with six
 *                        fraction digits: "2024-01-15T10:30:00.123000Z".
 *                        Years outside 0000..9999 use ISO 8601's expanded
 *                        form ("+10000-01-01T…Z", "-000044-…"); astronomical
 *                        year numbering (0000 = 1 BC).
 *   btx_jsonl_list_*     an array of strings or nulls.
 *   btx_jsonl_members    the members of a JSON object text ("{...}"),
 *                        spliced into the row (BTQL pivot columns).
 *
 * Usage per row: any subset of the columns in increasing order (a skipped
 * column is left out of the object), each at most once, then
 * btx_jsonl_end_row.  Lines are collected in a buffer and handed to the sink
 * once it holds flush_bytes (default 1 MB) and by btx_jsonl_finish.  A value
 * call returns 0 or -1; after -1 the writer is failed: every later call
 * fails and the error comes from btx_jsonl_end_row / btx_jsonl_finish (or
 * btx_jsonl_error).  Always btx_jsonl_free.
 */
#ifndef BTX_JSONL_H
#define BTX_JSONL_H

#include <stddef.h>
#include <stdint.h>

#include "core/common/btx_buf.h"
#include "core/format/sink.h"

#define BTX_JSONL_DEFAULT_FLUSH_BYTES (1024 * 1024)
/* the longest timestamp text: "-294277-01-09T04:00:54.775807Z" plus quotes */
#define BTX_JSONL_TIMESTAMP_MAX 40

typedef struct btx_jsonl_options
{
	int			validate_utf8;	/* check strings and raw text; 0 when the caller guarantees UTF-8 */
	size_t		flush_bytes;	/* 0 = BTX_JSONL_DEFAULT_FLUSH_BYTES */
} btx_jsonl_options;

typedef struct btx_jsonl btx_jsonl;

/* names are copied (escaped once); NULL on failure with err set; opt may be NULL */
extern btx_jsonl *btx_jsonl_open(const char *const *names, int ncols, const btx_jsonl_options *opt,
								 btx_sink_fn sink, void *ctx, btx_error *err);

extern int	btx_jsonl_null(btx_jsonl *w, int col);
extern int	btx_jsonl_string(btx_jsonl *w, int col, const void *p, size_t len);
extern int	btx_jsonl_raw(btx_jsonl *w, int col, const void *p, size_t len);
extern int	btx_jsonl_int64(btx_jsonl *w, int col, int64_t v);
extern int	btx_jsonl_bool(btx_jsonl *w, int col, int v);
extern int	btx_jsonl_timestamp(btx_jsonl *w, int col, int64_t unix_micros);
extern int	btx_jsonl_list_begin(btx_jsonl *w, int col);
/* p == NULL appends null */
extern int	btx_jsonl_list_item(btx_jsonl *w, const void *p, size_t len);
extern int	btx_jsonl_list_end(btx_jsonl *w);
/*
 * Open column col's member and return the output buffer, for a caller that
 * writes a JSON value straight into it (with btx_json_escape and
 * btx_buf_append): the value must be complete, valid JSON in UTF-8 when the
 * next call on the writer comes.  A failed append marks the buffer out of
 * memory, which the next call reports.  NULL after a failure.
 */
extern btx_buf *btx_jsonl_value(btx_jsonl *w, int col);
/* the members of the JSON object text p ("{}" or "{...}"), appended to the row */
extern int	btx_jsonl_members(btx_jsonl *w, int col, const void *p, size_t len);

extern int	btx_jsonl_end_row(btx_jsonl *w, btx_error *err);
extern int	btx_jsonl_finish(btx_jsonl *w, btx_error *err);
extern const btx_error *btx_jsonl_error(const btx_jsonl *w);

/* bytes produced so far (handed to the sink or buffered) */
extern uint64_t btx_jsonl_bytes(const btx_jsonl *w);
extern int64_t btx_jsonl_rows(const btx_jsonl *w);
extern void btx_jsonl_free(btx_jsonl *w);

/*
 * The encoders on their own (append to b; 0 or -1 when out of memory):
 * a JSON string of the len bytes at p (not validated), and a timestamp's
 * quoted RFC 3339 text.
 */
extern int	btx_json_escape(btx_buf *b, const void *p, size_t len);
extern int	btx_json_timestamp(btx_buf *b, int64_t unix_micros);

#endif							/* BTX_JSONL_H */
