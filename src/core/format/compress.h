/*
 * compress.h — compressing sink wrapper for JSON Lines output.
 *
 * btx_zsink_open(codec, level, downstream, ctx) returns a handle; feed bytes
 * with btx_zsink_write (a btx_sink_fn whose ctx is the handle), then call
 * btx_zsink_finish to flush the trailer (gzip member trailer / zstd frame
 * epilogue).  Output is one proper gzip member (RFC 1952) or one zstd frame,
 * produced in bounded buffers (BTX_ZSINK_OUT_BYTES) and passed downstream as
 * it fills.  BTX_ZSINK_NONE passes bytes through unchanged (still counted).
 * Once a write or the downstream sink fails, the handle is failed: later
 * writes return non-zero and btx_zsink_finish reports the error.
 */
#ifndef BTX_COMPRESS_H
#define BTX_COMPRESS_H

#include <stddef.h>
#include <stdint.h>

#include "core/common/btx_buf.h"
#include "core/format/sink.h"

typedef enum btx_zcodec
{
	BTX_ZSINK_NONE = 0,
	BTX_ZSINK_GZIP = 1,
	BTX_ZSINK_ZSTD = 2
} btx_zcodec;

#define BTX_ZSINK_OUT_BYTES (256 * 1024)

typedef struct btx_zsink btx_zsink;

/* level 0 = default (gzip 6, zstd 3); NULL on failure with err set */
extern btx_zsink *btx_zsink_open(btx_zcodec codec, int level,
								 btx_sink_fn down, void *down_ctx,
								 btx_error *err);
/* btx_sink_fn: ctx is the btx_zsink handle */
extern int	btx_zsink_write(void *ctx, const void *data, size_t len);
extern int	btx_zsink_finish(btx_zsink *z, btx_error *err);
/* the error behind a failed write (empty when none) */
extern const btx_error *btx_zsink_error(const btx_zsink *z);
extern uint64_t btx_zsink_raw_bytes(const btx_zsink *z);
extern uint64_t btx_zsink_out_bytes(const btx_zsink *z);
/* conventional file-name suffix: "", ".gz", ".zst" */
extern const char *btx_zsink_suffix(btx_zcodec codec);
extern void btx_zsink_free(btx_zsink *z);

#endif							/* BTX_COMPRESS_H */
