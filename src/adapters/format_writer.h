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

typedef struct BtxFormatWriter BtxFormatWriter;

extern BtxFormatWriter *BtxFormatOpen(BtxAutomation *a, TupleDesc tupdesc, char **colnames, BtxObject *obj);
extern const char *BtxFormatExtension(BtxAutomation *a);
extern const char *BtxFormatContentType(BtxAutomation *a);
extern void BtxFormatRow(BtxFormatWriter *w, HeapTuple tuple);
extern uint64 BtxFormatBytes(BtxFormatWriter *w);
extern void BtxFormatFinish(BtxFormatWriter *w);
extern void BtxFormatFree(BtxFormatWriter *w);

#endif
