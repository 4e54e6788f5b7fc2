/*
 * format_parquet.c — Parquet: the typed columns of a result set as one
 * Parquet file (src/core/format/parquet.c), one row group buffered at a time.
 *
 * Each PostgreSQL type maps to a Parquet type once per file (kind_of); a
 * row's values are converted in a memory context reset after the row, so a
 * run's memory stays bounded by the row group, not by its rows.
 */
#include "adapters/btexport.h"

#include "access/htup_details.h"
#include "catalog/pg_type.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"

#include "adapters/error.h"
#include "adapters/format_parquet.h"
#include "adapters/format_writer.h"
#include "core/format/parquet.h"

typedef enum PqKind
{
	K_TEXT,						/* text, varchar: bytes as they are */
	K_JSONB,					/* jsonb, json: text form */
	K_TS,						/* timestamptz, timestamp: Unix microseconds */
	K_INT8, K_INT4, K_INT2,
	K_FLOAT8, K_FLOAT4, K_NUMERIC,
	K_BOOL,
	K_TEXTARR,					/* text[]: LIST<STRING> */
	K_OTHER						/* anything else: its text output, as STRING */
} PqKind;

/* the conversion of one result set's rows (format_parquet.h) */
struct BtxPqRow
{
	TupleDesc	tupdesc;
	PqKind	   *kinds;
	FmgrInfo   *out;			/* output functions for K_OTHER */
	MemoryContext rowcxt;		/* a row's detoasted values and text forms; reset per row */
};

typedef struct ParquetWriter
{
	BtxFormatWriter base;
	btx_pq_writer *pq;
	BtxPqRow   *conv;
} ParquetWriter;

static const char *
parquet_extension(const char *compression)
{
	return ".parquet";
}

static const char *
parquet_content_type(const char *compression)
{
	return "application/vnd.apache.parquet";
}

/* the writer-side kind and the Parquet column type of a PostgreSQL type, decided once per file */
static PqKind
kind_of(Oid t, btx_pq_type *pt)
{
	switch (t)
	{
		case TEXTOID:
		case VARCHAROID:
		case BPCHAROID:
		case NAMEOID:
			*pt = BTX_PQ_STRING;
			return K_TEXT;
		case JSONBOID:
		case JSONOID:
			*pt = BTX_PQ_JSON;
			return K_JSONB;
		case TIMESTAMPTZOID:
		case TIMESTAMPOID:
			*pt = BTX_PQ_TIMESTAMP;
			return K_TS;
		case INT8OID:
			*pt = BTX_PQ_INT64;
			return K_INT8;
		case INT4OID:
			*pt = BTX_PQ_INT64;
			return K_INT4;
		case INT2OID:
			*pt = BTX_PQ_INT64;
			return K_INT2;
		case FLOAT8OID:
			*pt = BTX_PQ_DOUBLE;
			return K_FLOAT8;
		case FLOAT4OID:
			*pt = BTX_PQ_DOUBLE;
			return K_FLOAT4;
		case NUMERICOID:
			*pt = BTX_PQ_DOUBLE;
			return K_NUMERIC;
		case BOOLOID:
			*pt = BTX_PQ_BOOLEAN;
			return K_BOOL;
		case TEXTARRAYOID:
		case VARCHARARRAYOID:
			*pt = BTX_PQ_LIST_STRING;
			return K_TEXTARR;
		default:
			*pt = BTX_PQ_STRING;
			return K_OTHER;
	}
}

/* the Parquet type of each column (types[i]), decided once per result set */
BtxPqRow *
BtxPqRowNew(TupleDesc tupdesc, btx_pq_type *types)
{
	BtxPqRow   *r = palloc0(sizeof(BtxPqRow));
	int			n = tupdesc->natts;
	int			i;

	r->tupdesc = tupdesc;
	r->kinds = palloc(sizeof(PqKind) * n);
	r->out = palloc0(sizeof(FmgrInfo) * n);
	r->rowcxt = AllocSetContextCreate(CurrentMemoryContext, "btexport parquet row", ALLOCSET_DEFAULT_SIZES);
	for (i = 0; i < n; i++)
	{
		Form_pg_attribute att = TupleDescAttr(tupdesc, i);

		r->kinds[i] = kind_of(att->atttypid, &types[i]);
		if (r->kinds[i] == K_OTHER)
		{
			Oid			fn;
			bool		varlena;

			getTypeOutputInfo(att->atttypid, &fn, &varlena);
			fmgr_info(fn, &r->out[i]);
		}
	}
	return r;
}

void
BtxPqRowFree(BtxPqRow *r)
{
	/* after an error thrown inside a row the context may still be current: its parent frees it */
	if (r->rowcxt && CurrentMemoryContext != r->rowcxt)
		MemoryContextDelete(r->rowcxt);
	r->rowcxt = NULL;
	pfree(r);
}

static BtxFormatWriter *
parquet_open(BtxAutomation *a, TupleDesc tupdesc, char **colnames, BtxObject *obj)
{
	ParquetWriter *w = palloc0(sizeof(ParquetWriter));
	int			n = tupdesc->natts;
	btx_pq_column *cols = palloc0(sizeof(btx_pq_column) * n);
	btx_pq_type *types = palloc0(sizeof(btx_pq_type) * n);
	btx_pq_options opt;
	btx_pq_kv	kv[2];
	btx_error	err;
	int			i;

	w->base.format = &BtxFormatParquet;
	w->base.obj = obj;
	w->conv = BtxPqRowNew(tupdesc, types);
	for (i = 0; i < n; i++)
	{
		cols[i].name = colnames ? colnames[i] : NameStr(TupleDescAttr(tupdesc, i)->attname);
		cols[i].type = types[i];
	}
	BtxPqOptionsFor(a, &opt);
	kv[0].key = "btexport.automation";
	kv[0].value = a->name;
	kv[1].key = "btexport.schema_version";
	kv[1].value = "1";
	opt.kv = kv;
	opt.nkv = 2;
	w->pq = btx_pq_open(cols, n, &opt, BtxObjectSink, obj, &err);
	if (w->pq == NULL)
		BtxRaiseCoreError(&err);
	return &w->base;
}

/* the writer options of an automation's Parquet files: its codec, a bounded row group */
void
BtxPqOptionsFor(BtxAutomation *a, btx_pq_options *opt)
{
	btx_pq_options_init(opt);
	opt->codec = !a->compression || strcmp(a->compression, "snappy") == 0 ? BTX_PQ_CODEC_SNAPPY :
		strcmp(a->compression, "zstd") == 0 ? BTX_PQ_CODEC_ZSTD :
		strcmp(a->compression, "gzip") == 0 ? BTX_PQ_CODEC_GZIP : BTX_PQ_CODEC_NONE;
	/* a row group is buffered in memory: keep it well under a run's memory budget */
	opt->row_group_bytes = (size_t) 64 * 1024 * 1024;
	opt->created_by = "btexport version 1.0.0";
}

/*
 * One value as its Parquet type: text and JSON as their bytes (jsonb as its
 * text form, which no reader rewrites), timestamps as exact Unix
 * microseconds (infinite ones as null), integers widened to INT64, floats
 * and numerics as DOUBLE, text[] as LIST<STRING>.  Returns -1 when the core
 * refused; the writer then reports it at the end of the row.
 */
static int
pq_value(BtxPqRow *w, btx_pq_writer *pq, int i, Datum d)
{
	switch (w->kinds[i])
	{
		case K_TEXT:
			{
				text	   *t = DatumGetTextPP(d);

				return btx_pq_bytes(pq, i, VARDATA_ANY(t), VARSIZE_ANY_EXHDR(t));
			}
		case K_JSONB:
			{
				char	   *s;

				if (TupleDescAttr(w->tupdesc, i)->atttypid == JSONBOID)
				{
					Jsonb	   *j = DatumGetJsonbP(d);

					s = JsonbToCString(NULL, &j->root, VARSIZE(j));
				}
				else
					s = TextDatumGetCString(d);
				return btx_pq_bytes(pq, i, s, strlen(s));
			}
		case K_TS:
			{
				TimestampTz ts = DatumGetTimestampTz(d);

				if (TIMESTAMP_NOT_FINITE(ts))
					return btx_pq_null(pq, i);
				return btx_pq_int64(pq, i, ts + (int64) (POSTGRES_EPOCH_JDATE - UNIX_EPOCH_JDATE) * USECS_PER_DAY);
			}
		case K_INT8:
			return btx_pq_int64(pq, i, DatumGetInt64(d));
		case K_INT4:
			return btx_pq_int64(pq, i, DatumGetInt32(d));
		case K_INT2:
			return btx_pq_int64(pq, i, DatumGetInt16(d));
		case K_FLOAT8:
			return btx_pq_double(pq, i, DatumGetFloat8(d));
		case K_FLOAT4:
			return btx_pq_double(pq, i, DatumGetFloat4(d));
		case K_NUMERIC:
			return btx_pq_double(pq, i, DatumGetFloat8(DirectFunctionCall1(numeric_float8_no_overflow, d)));
		case K_BOOL:
			return btx_pq_bool(pq, i, DatumGetBool(d) ? 1 : 0);
		case K_TEXTARR:
			{
				ArrayType  *arr = DatumGetArrayTypeP(d);
				Datum	   *elems;
				bool	   *nulls;
				int			n,
							k;

				deconstruct_array(arr, ARR_ELEMTYPE(arr), -1, false, TYPALIGN_INT, &elems, &nulls, &n);
				if (btx_pq_list_begin(pq, i) != 0)
					return -1;
				for (k = 0; k < n; k++)
				{
					text	   *t;

					if (nulls[k])
					{
						if (btx_pq_list_item(pq, i, NULL, 0) != 0)
							return -1;
						continue;
					}
					t = DatumGetTextPP(elems[k]);
					if (btx_pq_list_item(pq, i, VARDATA_ANY(t), VARSIZE_ANY_EXHDR(t)) != 0)
						return -1;
				}
				return btx_pq_list_end(pq, i);
			}
		case K_OTHER:
			{
				char	   *s = OutputFunctionCall(&w->out[i], d);

				return btx_pq_bytes(pq, i, s, strlen(s));
			}
	}
	return -1;
}

/* one row's values into pq (the caller ends the row: a failed value surfaces there) */
void
BtxPqRowPut(BtxPqRow *r, btx_pq_writer *pq, HeapTuple tuple)
{
	int			i;
	MemoryContext old;

	/*
	 * Detoasted copies, JsonbToCString's strings and output-function results
	 * are garbage once the writer has copied the bytes: without a per-row
	 * context they pile up in the SPI procedure context until the run ends
	 * (~10 KB a row, gigabytes for a million spans).
	 */
	old = MemoryContextSwitchTo(r->rowcxt);
	for (i = 0; i < r->tupdesc->natts; i++)
	{
		bool		isnull;
		Datum		d = heap_getattr(tuple, i + 1, r->tupdesc, &isnull);

		if (isnull)
			btx_pq_null(pq, i);
		else
			(void) pq_value(r, pq, i, d);	/* a failure surfaces at end_row */
	}
	MemoryContextSwitchTo(old);
	MemoryContextReset(r->rowcxt);
}

static void
parquet_row(BtxFormatWriter *fw, HeapTuple tuple)
{
	ParquetWriter *w = (ParquetWriter *) fw;
	btx_error	err;

	BtxPqRowPut(w->conv, w->pq, tuple);
	if (btx_pq_end_row(w->pq, &err) != 0)
		BtxObjectRaise(w->base.obj, &err);
}

/* written bytes plus a guess for the buffered row group (4:1 compression) */
static uint64
parquet_bytes(BtxFormatWriter *fw)
{
	ParquetWriter *w = (ParquetWriter *) fw;

	return btx_pq_bytes_written(w->pq) + btx_pq_buffered_bytes(w->pq) / 4;
}

static void
parquet_finish(BtxFormatWriter *fw)
{
	ParquetWriter *w = (ParquetWriter *) fw;
	btx_error	err;

	if (btx_pq_close(w->pq, &err) != 0)
		BtxObjectRaise(w->base.obj, &err);
}

static void
parquet_free(BtxFormatWriter *fw)
{
	ParquetWriter *w = (ParquetWriter *) fw;

	if (w->pq)
		btx_pq_free(w->pq);
	w->pq = NULL;
	if (w->conv)
		BtxPqRowFree(w->conv);
	w->conv = NULL;
	pfree(w);
}

const BtxFormat BtxFormatParquet = {
	.name = "parquet",
	.shape = BTX_ROWS_TYPED,
	.extension = parquet_extension,
	.content_type = parquet_content_type,
	.open = parquet_open,
	.row = parquet_row,
	.bytes = parquet_bytes,
	.finish = parquet_finish,
	.free = parquet_free,
};
