/*
 * format_values.h — typed PostgreSQL values as the file formats encode them,
 * shared by JSON Lines (format_jsonl.c) and Parquet (format_parquet.c), so
 * both formats write a column the same way (row schema version
 * BTX_ROW_SCHEMA_VERSION; btexport.export_type_map() lists the mapping).
 *
 * A column's PostgreSQL type picks its kind once per file (BtxValueKindOf);
 * timestamps become Unix microseconds, uuids their 36-character text, jsonb
 * the text JsonbToCString prints (written straight into a buffer).
 */
#ifndef BTX_FORMAT_VALUES_H
#define BTX_FORMAT_VALUES_H

#include "adapters/btexport.h"

#include "access/htup.h"
#include "access/tupdesc.h"
#include "fmgr.h"
#include "utils/jsonb.h"
#include "utils/timestamp.h"

#include "core/common/btx_buf.h"
#include "core/format/parquet.h"

typedef enum BtxValueKind
{
	BTX_V_TEXT,					/* text, varchar: bytes as they are */
	BTX_V_JSONB,				/* jsonb, json: text form */
	BTX_V_TS,					/* timestamptz, timestamp: Unix microseconds */
	BTX_V_INT8, BTX_V_INT4, BTX_V_INT2,
	BTX_V_FLOAT8, BTX_V_FLOAT4, BTX_V_NUMERIC,
	BTX_V_BOOL,
	BTX_V_TEXTARR,				/* text[]: LIST<STRING> */
	BTX_V_UUID,					/* uuid: its 36-character text, as STRING */
	BTX_V_OTHER					/* anything else: its text output, as STRING */
} BtxValueKind;

/* the kind of a column of type t, and its Parquet column type (*pt) */
extern BtxValueKind BtxValueKindOf(Oid t, btx_pq_type *pt);

/*
 * A timestamp as Unix microseconds; false for ±infinity and for the last
 * thirty years of PostgreSQL's range (after 294246 AD), which 64-bit Unix
 * microseconds cannot hold: both are written as null.
 */
extern bool BtxUnixMicros(TimestampTz ts, int64 *out);

/* a uuid's canonical text (what uuid_out prints), into buf[36] */
extern void BtxUuidText(Datum d, char *buf);

/* a jsonb's text, the same as JsonbToCString's, appended to b */
extern void BtxJsonbWrite(btx_buf *b, Jsonb *jb);

/*
 * One result set's rows as typed values, decided once per file: a copy of the
 * tuple descriptor (a source that fetches in batches, the span store's
 * cursor, frees a batch's descriptor with the next fetch, while a file
 * outlives many batches), each column's kind, the output functions of the
 * kinds written as text (other types, float4, numeric), and a per-row memory
 * context: detoasted copies and text forms are garbage once a writer has
 * copied the bytes, and without it they pile up until the run ends.
 */
typedef struct BtxRowValues
{
	TupleDesc	tupdesc;
	BtxValueKind *kinds;
	FmgrInfo   *out;
	MemoryContext rowcxt;
	Datum	   *values;			/* the current row, deformed once */
	bool	   *isnull;
} BtxRowValues;

/* set up r for rows of tupdesc; types[i] (if not NULL) gets each column's Parquet type */
extern void BtxRowValuesInit(BtxRowValues *r, TupleDesc tupdesc, btx_pq_type *types);

/* deform tuple into r->values / r->isnull inside the row context; returns the context to go back to */
extern MemoryContext BtxRowValuesBegin(BtxRowValues *r, HeapTuple tuple);

/* the row is written: back to old, the row's memory freed */
extern void BtxRowValuesEnd(BtxRowValues *r, MemoryContext old);

extern void BtxRowValuesFree(BtxRowValues *r);

#endif
