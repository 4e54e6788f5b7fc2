/*
 * format_writer.h — rows of a result set → bytes of one file (JSON Lines or
 * Parquet, through the format core), streamed into an object (objstore.h).
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

typedef struct BtxFormatWriter BtxFormatWriter;

/* pivot: a BTQL pivot column whose object members join each JSON Lines row (-1: none) */
extern BtxFormatWriter *BtxFormatOpen(BtxAutomation *a, TupleDesc tupdesc, char **colnames, int pivot,
									  BtxObject *obj);
extern const char *BtxFormatExtension(BtxAutomation *a);
extern const char *BtxFormatContentType(BtxAutomation *a);
extern void BtxFormatRow(BtxFormatWriter *w, HeapTuple tuple);
extern uint64 BtxFormatBytes(BtxFormatWriter *w);
extern void BtxFormatFinish(BtxFormatWriter *w);
extern void BtxFormatFree(BtxFormatWriter *w);

#endif
