/*
 * format_parquet.c — Parquet: the typed columns of a result set as one
 * Parquet file (src/core/format/parquet.c), one row group buffered at a time.
 *
 * Each PostgreSQL type maps to a Parquet type once per file (BtxValueKindOf);
 * a row's values are converted in a memory context reset after the row, so a
 * run's memory stays bounded by the row group, not by its rows.  The
 * conversion (BtxPqRow, format_parquet.h) is shared with the Iceberg sink,
 * which writes the same values through its table's writer.
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
#include "adapters/format_values.h"
#include "adapters/format_writer.h"
#include "core/format/parquet.h"

/* the conversion of one result set's rows (format_parquet.h) */
struct BtxPqRow
{
	BtxRowValues rv;			/* the columns' kinds, output functions, the current row */
	btx_buf		scratch;		/* a jsonb's text (malloc'd, reused) */
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

/*
 * The Parquet type of each column (types[i]), decided once per result set.
 * The tuple descriptor is copied: a source that fetches in batches (the span
 * store's cursor) frees the batch's descriptor with the next fetch, while a
 * file outlives many batches.
 */
BtxPqRow *
BtxPqRowNew(TupleDesc tupdesc, btx_pq_type *types)
{
	BtxPqRow   *r = palloc0(sizeof(BtxPqRow));

	BtxRowValuesInit(&r->rv, tupdesc, types);
	return r;
}

void
BtxPqRowFree(BtxPqRow *r)
{
	BtxRowValuesFree(&r->rv);
	btx_buf_free(&r->scratch);
	pfree(r);
}

static BtxFormatWriter *
parquet_open(BtxAutomation *a, TupleDesc tupdesc, char **colnames, int pivot, BtxObject *obj)
{
	ParquetWriter *w = palloc0(sizeof(ParquetWriter));
	int			n = tupdesc->natts;
	btx_pq_column *cols = palloc0(sizeof(btx_pq_column) * n);
	btx_pq_type *types = palloc0(sizeof(btx_pq_type) * n);
	btx_pq_options opt;
	btx_pq_kv	kv[3];
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
	kv[1].value = CppAsString2(BTX_ROW_SCHEMA_VERSION);
	kv[2].key = "btexport.export_type";
	kv[2].value = a->export_type;
	opt.kv = kv;
	opt.nkv = 3;
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
	opt->level = a->compression_level;	/* 0: the codec's default */
	/* a row group is buffered in memory: keep it well under a run's memory budget */
	opt->row_group_bytes = (size_t) 64 * 1024 * 1024;
	opt->created_by = "btexport version 1.1.0";
}

/*
 * One value as its Parquet type: text and JSON as their bytes (jsonb as its
 * text form, which no reader rewrites), timestamps as exact Unix
 * microseconds (infinite ones, and those past 294246 AD, as null), uuids as
 * their text, integers widened to INT64, floats
 * and numerics as DOUBLE, text[] as LIST<STRING>.  Returns -1 when the core
 * refused; the writer then reports it at the end of the row.
 */
static int
pq_value(BtxPqRow *w, btx_pq_writer *pq, int i, Datum d)
{
	switch (w->rv.kinds[i])
	{
		case BTX_V_TEXT:
			{
				text	   *t = DatumGetTextPP(d);

				return btx_pq_bytes(pq, i, VARDATA_ANY(t), VARSIZE_ANY_EXHDR(t));
			}
		case BTX_V_JSONB:
			{
				char	   *s;

				if (TupleDescAttr(w->rv.tupdesc, i)->atttypid == JSONBOID)
				{
					/* the same text as JsonbToCString, through the reused scratch buffer */
					btx_buf_reset(&w->scratch);
					BtxJsonbWrite(&w->scratch, DatumGetJsonbP(d));
					if (w->scratch.oom)
						ereport(ERROR, (errcode(ERRCODE_OUT_OF_MEMORY), errmsg("out of memory")));
					return btx_pq_bytes(pq, i, w->scratch.data, w->scratch.len);
				}
				else
					s = TextDatumGetCString(d);
				return btx_pq_bytes(pq, i, s, strlen(s));
			}
		case BTX_V_TS:
			{
				int64		us;

				if (!BtxUnixMicros(DatumGetTimestampTz(d), &us))
					return btx_pq_null(pq, i);
				return btx_pq_int64(pq, i, us);
			}
		case BTX_V_INT8:
			return btx_pq_int64(pq, i, DatumGetInt64(d));
		case BTX_V_INT4:
			return btx_pq_int64(pq, i, DatumGetInt32(d));
		case BTX_V_INT2:
			return btx_pq_int64(pq, i, DatumGetInt16(d));
		case BTX_V_FLOAT8:
			return btx_pq_double(pq, i, DatumGetFloat8(d));
		case BTX_V_FLOAT4:
			return btx_pq_double(pq, i, DatumGetFloat4(d));
		case BTX_V_NUMERIC:
			return btx_pq_double(pq, i, DatumGetFloat8(DirectFunctionCall1(numeric_float8_no_overflow, d)));
		case BTX_V_BOOL:
			return btx_pq_bool(pq, i, DatumGetBool(d) ? 1 : 0);
		case BTX_V_TEXTARR:
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
		case BTX_V_UUID:
			{
				char		u[36];

				BtxUuidText(d, u);
				return btx_pq_bytes(pq, i, u, 36);
			}
		case BTX_V_OTHER:
			{
				char	   *s = OutputFunctionCall(&w->rv.out[i], d);

				return btx_pq_bytes(pq, i, s, strlen(s));
			}
	}
	return -1;
}

/* one row's values into pq, converted in the row context; the caller ends the row */
void
BtxPqRowPut(BtxPqRow *r, btx_pq_writer *pq, HeapTuple tuple)
{
	int			i;
	MemoryContext old;

	/* converted in the row context (BtxRowValues: ~10 KB a row would pile up otherwise) */
	old = BtxRowValuesBegin(&r->rv, tuple);
	for (i = 0; i < r->rv.tupdesc->natts; i++)
	{
		if (r->rv.isnull[i])
			btx_pq_null(pq, i);
		else
			(void) pq_value(r, pq, i, r->rv.values[i]);	/* a failure surfaces at end_row */
	}
	BtxRowValuesEnd(&r->rv, old);
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
