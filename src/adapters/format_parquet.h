/*
 * format_parquet.h — the typed rows of a result set as Parquet values
 * (format_parquet.c), for writers other than the Parquet format's own: the
 * Iceberg sink writes the same values through its table's writer.
 */
#ifndef BTX_FORMAT_PARQUET_H
#define BTX_FORMAT_PARQUET_H

#include "adapters/btexport.h"

#include "access/htup.h"
#include "access/tupdesc.h"

#include "adapters/automation.h"
#include "core/format/parquet.h"

typedef struct BtxPqRow BtxPqRow;

/* the conversion of tupdesc's rows; types[i] receives column i's Parquet type */
extern BtxPqRow *BtxPqRowNew(TupleDesc tupdesc, btx_pq_type *types);
/* one row's values into pq; the caller ends the row (btx_pq_end_row reports a refused value) */
extern void BtxPqRowPut(BtxPqRow *r, btx_pq_writer *pq, HeapTuple tuple);
extern void BtxPqRowFree(BtxPqRow *r);
/* the writer options of an automation's Parquet files (codec, row group size) */
extern void BtxPqOptionsFor(BtxAutomation *a, btx_pq_options *opt);

#endif
