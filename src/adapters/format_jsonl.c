/*
 * format_jsonl.c — JSON Lines: one JSON object per line, as the query wrote
 * it (row_to_json), optionally compressed as one gzip member or one zstd
 * frame (src/core/format/compress.c).
 *
 * Lines are gathered into a buffer of FLUSH_BYTES and handed on in one write:
 * the object store then sees few large writes instead of one per row.
 */
#include "adapters/btexport.h"

#include "access/htup_details.h"
#include "lib/stringinfo.h"
#include "utils/builtins.h"

#include "adapters/error.h"
#include "adapters/format_writer.h"
#include "core/format/compress.h"

#define FLUSH_BYTES (1024 * 1024)

typedef struct JsonlWriter
{
	BtxFormatWriter base;
	TupleDesc	tupdesc;
	StringInfoData buf;			/* lines not yet handed on */
	btx_zsink  *z;				/* compression, or NULL */
	uint64		raw_bytes;
} JsonlWriter;

static bool
compressed(const char *compression, const char *codec)
{
	return compression != NULL && strcmp(compression, codec) == 0;
}

static const char *
jsonl_extension(const char *compression)
{
	return compressed(compression, "gzip") ? ".jsonl.gz" : compressed(compression, "zstd") ? ".jsonl.zst" : ".jsonl";
}

/*
 * Compressed JSON Lines are stored as the compressed bytes with a matching
 * type and no Content-Encoding, so HTTP clients do not decompress them on
 * the way (loaders expect the .gz / .zst bytes).
 */
static const char *
jsonl_content_type(const char *compression)
{
	return compressed(compression, "gzip") ? "application/gzip" :
		compressed(compression, "zstd") ? "application/zstd" : "application/x-ndjson";
}

static BtxFormatWriter *
jsonl_open(BtxAutomation *a, TupleDesc tupdesc, char **colnames, BtxObject *obj)
{
	JsonlWriter *w = palloc0(sizeof(JsonlWriter));
	btx_error	err;

	w->base.format = &BtxFormatJsonl;
	w->base.obj = obj;
	w->tupdesc = tupdesc;
	initStringInfo(&w->buf);
	if (compressed(a->compression, "gzip") || compressed(a->compression, "zstd"))
	{
		w->z = btx_zsink_open(compressed(a->compression, "gzip") ? BTX_ZSINK_GZIP : BTX_ZSINK_ZSTD, 0,
							  BtxObjectSink, obj, &err);
		if (w->z == NULL)
			BtxRaiseCoreError(&err);
	}
	return &w->base;
}

static void
flush(JsonlWriter *w)
{
	if (w->buf.len == 0)
		return;
	if (w->z)
	{
		if (btx_zsink_write(w->z, w->buf.data, w->buf.len) != 0)
			BtxObjectRaise(w->base.obj, btx_zsink_error(w->z));
	}
	else
		BtxObjectWrite(w->base.obj, w->buf.data, w->buf.len);
	resetStringInfo(&w->buf);
}

/* the row is one text column holding its JSON (BTX_ROWS_JSON) */
static void
jsonl_row(BtxFormatWriter *fw, HeapTuple tuple)
{
	JsonlWriter *w = (JsonlWriter *) fw;
	bool		isnull;
	Datum		d = heap_getattr(tuple, 1, w->tupdesc, &isnull);
	text	   *t;

	if (isnull)
		return;
	t = DatumGetTextPP(d);
	appendBinaryStringInfo(&w->buf, VARDATA_ANY(t), VARSIZE_ANY_EXHDR(t));
	appendStringInfoChar(&w->buf, '\n');
	w->raw_bytes += VARSIZE_ANY_EXHDR(t) + 1;
	if ((Pointer) t != DatumGetPointer(d))
		pfree(t);
	if (w->buf.len >= FLUSH_BYTES)
		flush(w);
}

static uint64
jsonl_bytes(BtxFormatWriter *fw)
{
	JsonlWriter *w = (JsonlWriter *) fw;

	/* compressed: what left the compressor, plus a guess for the buffered lines (4:1) */
	if (w->z)
		return btx_zsink_out_bytes(w->z) + w->buf.len / 4;
	return w->raw_bytes;
}

static void
jsonl_finish(BtxFormatWriter *fw)
{
	JsonlWriter *w = (JsonlWriter *) fw;
	btx_error	err;

	flush(w);
	if (w->z && btx_zsink_finish(w->z, &err) != 0)
		BtxObjectRaise(w->base.obj, &err);
}

static void
jsonl_free(BtxFormatWriter *fw)
{
	JsonlWriter *w = (JsonlWriter *) fw;

	if (w->z)
		btx_zsink_free(w->z);
	w->z = NULL;
	if (w->buf.data)
		pfree(w->buf.data);
	pfree(w);
}

const BtxFormat BtxFormatJsonl = {
	.name = "jsonl",
	.shape = BTX_ROWS_JSON,
	.extension = jsonl_extension,
	.content_type = jsonl_content_type,
	.open = jsonl_open,
	.row = jsonl_row,
	.bytes = jsonl_bytes,
	.finish = jsonl_finish,
	.free = jsonl_free,
};
