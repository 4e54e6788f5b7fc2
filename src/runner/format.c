/*
 * format.c — backend side of the file formats: turns SPI result rows into the
 * bytes of a JSON Lines or Parquet file and streams them into an S3 object.
 */
#include "postgres.h"

#include "executor/spi.h"
#include "utils/builtins.h"

#include "btexport.h"
#include "runner.h"

#define FLUSH_BYTES (1024 * 1024)

struct BtxFormatWriter
{
	bool		parquet;
	TupleDesc	tupdesc;
	BtxObject  *obj;
	StringInfoData buf;			/* bytes not yet handed to the object */
	uint64		bytes;			/* bytes of the file so far */
};

BtxFormatWriter *
BtxFormatOpen(const char *format, TupleDesc tupdesc, BtxObject *obj)
{
	BtxFormatWriter *w = palloc0(sizeof(BtxFormatWriter));

	w->parquet = strcmp(format, "parquet") == 0;
	if (w->parquet)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("parquet output is not available in this build"),
				 errhint("Use format => 'jsonl'.")));
	w->tupdesc = tupdesc;
	w->obj = obj;
	initStringInfo(&w->buf);
	return w;
}

static void
flush(BtxFormatWriter *w)
{
	if (w->buf.len > 0)
	{
		BtxObjectWrite(w->obj, w->buf.data, w->buf.len);
		resetStringInfo(&w->buf);
	}
}

/* JSON Lines: the query returns one text column holding the row's JSON */
void
BtxFormatRow(BtxFormatWriter *w, HeapTuple tuple)
{
	bool		isnull;
	Datum		d = SPI_getbinval(tuple, w->tupdesc, 1, &isnull);
	text	   *t;

	if (isnull)
		return;
	t = DatumGetTextPP(d);
	appendBinaryStringInfo(&w->buf, VARDATA_ANY(t), VARSIZE_ANY_EXHDR(t));
	appendStringInfoChar(&w->buf, '\n');
	w->bytes += VARSIZE_ANY_EXHDR(t) + 1;
	if ((Pointer) t != DatumGetPointer(d))
		pfree(t);
	if (w->buf.len >= FLUSH_BYTES)
		flush(w);
}

uint64
BtxFormatBytes(BtxFormatWriter *w)
{
	return w->bytes;
}

void
BtxFormatFinish(BtxFormatWriter *w)
{
	flush(w);
}

void
BtxFormatFree(BtxFormatWriter *w)
{
	if (w->buf.data)
		pfree(w->buf.data);
	pfree(w);
}
