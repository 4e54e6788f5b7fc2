/*
 * sink.h — byte sink used by every btexport output writer.
 *
 * A writer pushes its output, strictly in order, through a sink callback.
 * The callback returns 0 when the bytes were accepted and non-zero to make
 * the writer abort (the writer then reports an error and writes nothing
 * more).  Writers never seek or re-read what they wrote: the sink may stream
 * straight into an S3 multipart upload.
 */
#ifndef BTX_SINK_H
#define BTX_SINK_H

#include <stddef.h>

typedef int (*btx_sink_fn) (void *ctx, const void *data, size_t len);

#endif							/* BTX_SINK_H */
