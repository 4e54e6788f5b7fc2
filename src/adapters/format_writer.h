/*
 * format_writer.h — the file formats: rows of a result set → the bytes of
 * one file, streamed into an object (objstore.h).
 *
 * A format is one BtxFormat (format_jsonl.c, format_parquet.c): the rows it
 * takes (BtxRowShape), its file name extension and content type, and a
 * writer — open, row, bytes so far, finish, free.  A writer turns each row
 * into bytes through a plain-C core (src/core/format) whose output goes
 * through BtxObjectSink, which never throws; errors are raised after a core
 * call returns (BtxObjectCheck, then the error boundary), so no longjmp ever
 * crosses a core.  A new format implements one BtxFormat and adds it to the
 * table in format_writer.c (and the CHECK on btexport.automations.format).
 */
#ifndef BTX_FORMAT_WRITER_H
#define BTX_FORMAT_WRITER_H

#include "adapters/btexport.h"

#include "access/htup.h"
#include "access/tupdesc.h"

#include "adapters/automation.h"
#include "adapters/objstore.h"

/*
 * The row schema version of the files written (manifest "schema_version",
 * Parquet key-value btexport.schema_version); btexport.export_schema()
 * defines its columns.
 */
#define BTX_ROW_SCHEMA_VERSION 2

/* the rows a format takes (a run's source yields them so) */
typedef enum BtxRowShape
{
	BTX_ROWS_TYPED,				/* one typed column per field */
	BTX_ROWS_JSON				/* one text column: the row as a JSON object, as row_to_json writes it */
} BtxRowShape;

typedef struct BtxFormat BtxFormat;

/* a writer's state begins with this */
typedef struct BtxFormatWriter
{
	const BtxFormat *format;
	BtxObject  *obj;			/* where the bytes go */
} BtxFormatWriter;

struct BtxFormat
{
	const char *name;			/* btexport.automations.format */
	BtxRowShape shape;
	/* file name extension (starting with ".": run/keys.c relies on it) and Content-Type for a compression setting */
	const char *(*extension) (const char *compression);
	const char *(*content_type) (const char *compression);
	/*
	 * a writer of one file; colnames (or NULL: the tupdesc's) name typed
	 * columns; pivot: a BTQL pivot column whose object members join each
	 * JSON Lines row (-1: none)
	 */
	BtxFormatWriter *(*open) (BtxAutomation *a, TupleDesc tupdesc, char **colnames, int pivot, BtxObject *obj);
	void		(*row) (BtxFormatWriter *w, HeapTuple tuple);
	/* the file's size so far (an estimate of the compressed size), for splitting runs into files */
	uint64		(*bytes) (BtxFormatWriter *w);
	/* write what is buffered and the file's trailer */
	void		(*finish) (BtxFormatWriter *w);
	/* release the writer (also after an error) */
	void		(*free) (BtxFormatWriter *w);
};

/* the format of that name; ereports when there is none */
extern const BtxFormat *BtxFormatLookup(const char *name);

/* the implementations (format_jsonl.c, format_parquet.c) */
extern const BtxFormat BtxFormatJsonl;
extern const BtxFormat BtxFormatParquet;

#endif
