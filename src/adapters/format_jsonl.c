/*
 * format_jsonl.c — JSON Lines: one JSON object per line, built in C from
 * the query's typed columns by the core writer (src/core/format/jsonl.c) —
 * not through row_to_json — so timestamps have one fixed RFC 3339 form in
 * UTC and every export type formats JSON alike; optionally compressed as one
 * gzip member or one zstd frame (src/core/format/compress.c).
 *
 * A column's type picks its encoding once per file (format_values.h, the
 * same as Parquet's); a row is deformed once and its values converted in a
 * memory context reset after the row, so memory stays bounded by the
 * writer's buffer, not by the run's rows.  A BTQL pivot column's object
 * members join the row instead of being one value.
 */
#include "adapters/btexport.h"

#include "access/htup_details.h"
#include "catalog/pg_type.h"
#include "mb/pg_wchar.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/float.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"

#include "adapters/error.h"
#include "adapters/format_values.h"
#include "adapters/format_writer.h"
#include "core/format/compress.h"
#include "core/format/jsonl.h"

typedef struct JsonlWriter
{
	BtxFormatWriter base;
	BtxRowValues rv;			/* the columns' kinds, output functions, the current row */
	btx_jsonl  *jl;
	btx_zsink  *z;				/* compression, or NULL */
	int			pivot;			/* BTQL pivot column: its members join the row; -1 */
	bool		validate_utf8;	/* not a UTF8 database: text is checked */
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
jsonl_open(BtxAutomation *a, TupleDesc tupdesc, char **colnames, int pivot, BtxObject *obj)
{
	JsonlWriter *w = palloc0(sizeof(JsonlWriter));
	int			n = tupdesc->natts;
	const char **names = palloc(sizeof(char *) * (n + 1));
	btx_jsonl_options opt;
	btx_error	err;
	int			i;

	w->base.format = &BtxFormatJsonl;
	w->base.obj = obj;
	w->pivot = pivot;
	BtxRowValuesInit(&w->rv, tupdesc, NULL);
	for (i = 0; i < n; i++)
		names[i] = colnames ? colnames[i] : NameStr(TupleDescAttr(tupdesc, i)->attname);
	memset(&opt, 0, sizeof(opt));
	/* text in a UTF8 database is valid UTF-8 already; anything else is checked */
	opt.validate_utf8 = w->validate_utf8 = GetDatabaseEncoding() != PG_UTF8;
	if (compressed(a->compression, "gzip") || compressed(a->compression, "zstd"))
	{
		w->z = btx_zsink_open(compressed(a->compression, "gzip") ? BTX_ZSINK_GZIP : BTX_ZSINK_ZSTD,
							  a->compression_level,
							  BtxObjectSink, obj, &err);
		if (w->z == NULL)
			BtxRaiseCoreError(&err);
	}
	w->jl = btx_jsonl_open(names, n, &opt, w->z ? btx_zsink_write : BtxObjectSink,
						   w->z ? (void *) w->z : (void *) obj, &err);
	if (w->jl == NULL)
		BtxRaiseCoreError(&err);
	return &w->base;
}

/*
 * A writer call failed: raise the error at its origin — the object upload,
 * the compressing sink, or the writer itself.
 */
static void
raise_writer(JsonlWriter *w, const btx_error *werr)
{
	BtxObjectCheck(w->base.obj);
	if (w->z && btx_zsink_error(w->z)->code != 0)
		BtxRaiseCoreError(btx_zsink_error(w->z));
	BtxRaiseCoreError(werr);
}

/* a float or numeric value as JSON: its shortest exact text, or null for NaN and infinities */
static int
jl_number(JsonlWriter *w, int i, Datum d)
{
	char	   *s;

	if (w->rv.kinds[i] == BTX_V_FLOAT8)
	{
		double		v = DatumGetFloat8(d);

		if (isnan(v) || isinf(v))
			return btx_jsonl_null(w->jl, i);
		s = float8out_internal(v);
	}
	else
	{
		s = OutputFunctionCall(&w->rv.out[i], d);
		if (strcmp(s, "NaN") == 0 || strcmp(s, "Infinity") == 0 || strcmp(s, "-Infinity") == 0)
			return btx_jsonl_null(w->jl, i);
	}
	return btx_jsonl_raw(w->jl, i, s, strlen(s));
}

/* a jsonb or json value: written as it is (a pivot column's members join the row) */
static int
jl_json(JsonlWriter *w, int i, Datum d)
{
	char	   *s;

	if (TupleDescAttr(w->rv.tupdesc, i)->atttypid == JSONBOID)
	{
		Jsonb	   *j = DatumGetJsonbP(d);
		btx_buf    *b;

		if (i != w->pivot && !w->validate_utf8)
		{
			if ((b = btx_jsonl_value(w->jl, i)) == NULL)
				return -1;
			BtxJsonbWrite(b, j);
			return 0;
		}
		s = JsonbToCString(NULL, &j->root, VARSIZE(j));
	}
	else
		s = TextDatumGetCString(d);
	if (i == w->pivot)
		return btx_jsonl_members(w->jl, i, s, strlen(s));
	return btx_jsonl_raw(w->jl, i, s, strlen(s));
}

/* a text[] as a JSON array of strings (a multi-dimensional array flattened in storage order) */
static int
jl_text_array(JsonlWriter *w, int i, Datum d)
{
	ArrayType  *arr = DatumGetArrayTypeP(d);
	Datum	   *elems;
	bool	   *nulls;
	int			n,
				k;

	deconstruct_array(arr, ARR_ELEMTYPE(arr), -1, false, TYPALIGN_INT, &elems, &nulls, &n);
	if (btx_jsonl_list_begin(w->jl, i) != 0)
		return -1;
	for (k = 0; k < n; k++)
	{
		text	   *t;

		if (nulls[k])
		{
			if (btx_jsonl_list_item(w->jl, NULL, 0) != 0)
				return -1;
			continue;
		}
		t = DatumGetTextPP(elems[k]);
		if (btx_jsonl_list_item(w->jl, VARDATA_ANY(t), VARSIZE_ANY_EXHDR(t)) != 0)
			return -1;
	}
	return btx_jsonl_list_end(w->jl);
}

/* one non-null value; -1 when the core refused (reported at the end of the row) */
static int
jl_value(JsonlWriter *w, int i, Datum d)
{
	switch (w->rv.kinds[i])
	{
		case BTX_V_TEXT:
			{
				text	   *t = DatumGetTextPP(d);

				return btx_jsonl_string(w->jl, i, VARDATA_ANY(t), VARSIZE_ANY_EXHDR(t));
			}
		case BTX_V_JSONB:
			return jl_json(w, i, d);
		case BTX_V_TS:
			{
				int64		us;

				if (!BtxUnixMicros(DatumGetTimestampTz(d), &us))
					return btx_jsonl_null(w->jl, i);
				return btx_jsonl_timestamp(w->jl, i, us);
			}
		case BTX_V_INT8:
			return btx_jsonl_int64(w->jl, i, DatumGetInt64(d));
		case BTX_V_INT4:
			return btx_jsonl_int64(w->jl, i, DatumGetInt32(d));
		case BTX_V_INT2:
			return btx_jsonl_int64(w->jl, i, DatumGetInt16(d));
		case BTX_V_FLOAT8:
		case BTX_V_FLOAT4:
		case BTX_V_NUMERIC:
			return jl_number(w, i, d);
		case BTX_V_BOOL:
			return btx_jsonl_bool(w->jl, i, DatumGetBool(d) ? 1 : 0);
		case BTX_V_TEXTARR:
			return jl_text_array(w, i, d);
		case BTX_V_UUID:
			{
				char		u[36];

				BtxUuidText(d, u);
				return btx_jsonl_string(w->jl, i, u, 36);
			}
		case BTX_V_OTHER:
			{
				char	   *s = OutputFunctionCall(&w->rv.out[i], d);

				return btx_jsonl_string(w->jl, i, s, strlen(s));
			}
	}
	return -1;
}

static void
jsonl_row(BtxFormatWriter *fw, HeapTuple tuple)
{
	JsonlWriter *w = (JsonlWriter *) fw;
	btx_error	err;
	MemoryContext old;
	int			i;

	old = BtxRowValuesBegin(&w->rv, tuple);
	for (i = 0; i < w->rv.tupdesc->natts; i++)
	{
		/* a failure surfaces at end_row */
		if (!w->rv.isnull[i])
			(void) jl_value(w, i, w->rv.values[i]);
		else if (i != w->pivot)
			(void) btx_jsonl_null(w->jl, i);
	}
	BtxRowValuesEnd(&w->rv, old);
	if (btx_jsonl_end_row(w->jl, &err) != 0)
		raise_writer(w, &err);
}

static uint64
jsonl_bytes(BtxFormatWriter *fw)
{
	JsonlWriter *w = (JsonlWriter *) fw;

	/* compressed: what left the compressor, plus a guess for the bytes still in it (4:1) */
	if (w->z)
		return btx_zsink_out_bytes(w->z) + (btx_jsonl_bytes(w->jl) - btx_zsink_raw_bytes(w->z)) / 4;
	return btx_jsonl_bytes(w->jl);
}

static void
jsonl_finish(BtxFormatWriter *fw)
{
	JsonlWriter *w = (JsonlWriter *) fw;
	btx_error	err;

	if (btx_jsonl_finish(w->jl, &err) != 0)
		raise_writer(w, &err);
	if (w->z && btx_zsink_finish(w->z, &err) != 0)
		raise_writer(w, &err);
}

static void
jsonl_free(BtxFormatWriter *fw)
{
	JsonlWriter *w = (JsonlWriter *) fw;

	if (w->jl)
		btx_jsonl_free(w->jl);
	w->jl = NULL;
	if (w->z)
		btx_zsink_free(w->z);
	w->z = NULL;
	BtxRowValuesFree(&w->rv);
	pfree(w);
}

const BtxFormat BtxFormatJsonl = {
	.name = "jsonl",
	.shape = BTX_ROWS_TYPED,
	.extension = jsonl_extension,
	.content_type = jsonl_content_type,
	.open = jsonl_open,
	.row = jsonl_row,
	.bytes = jsonl_bytes,
	.finish = jsonl_finish,
	.free = jsonl_free,
};
