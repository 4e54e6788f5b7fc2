/*
 * format_writer.c — backend side of the file formats: turns the typed SPI result
 * rows of an export query into the bytes of a JSON Lines file (optionally
 * gzip/zstd) or a Parquet file, and streams them into an S3 object.
 *
 * Both formats take the same typed values: a column's PostgreSQL type picks
 * its encoding (btexport.export_type_map() lists the mapping; row schema
 * version BTX_ROW_SCHEMA_VERSION).  JSON Lines are built in C by the core
 * writer (src/core/format/jsonl.c) — not through row_to_json — so timestamps
 * have one fixed RFC 3339 form and every export type formats JSON alike.
 *
 * The plain-C writers (src/core/format) emit bytes through BtxObjectSink, which
 * never throws; errors are raised with BtxObjectCheck after a writer call
 * returns, so no longjmp ever crosses the core.
 */
#include "adapters/btexport.h"

#include "access/htup_details.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "mb/pg_wchar.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/float.h"
#include "utils/jsonb.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"
#include "utils/uuid.h"

#include "adapters/format_writer.h"
#include "core/format/compress.h"
#include "core/format/jsonl.h"
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
	K_UUID,						/* uuid: its 36-character text, as STRING */
	K_OTHER						/* anything else: its text output, as STRING */
} PqKind;

struct BtxFormatWriter
{
	bool		parquet;
	TupleDesc	tupdesc;
	BtxObject  *obj;
	PqKind	   *kinds;
	FmgrInfo   *out;			/* output functions for K_OTHER */
	MemoryContext rowcxt;		/* a row's detoasted values and text forms; reset per row */
	btx_buf		scratch;		/* a jsonb's text for Parquet (malloc'd, reused) */
	Datum	   *values;			/* the row, deformed once */
	bool	   *isnull;
	/* JSON Lines */
	btx_jsonl  *jl;
	btx_zsink  *z;				/* compression, or NULL */
	int			pivot;			/* BTQL pivot column: its members join the row; -1 */
	bool		validate_utf8;	/* not a UTF8 database: text is checked */
	/* Parquet */
	btx_pq_writer *pq;
};

static const char *
ext_for(const char *format, const char *compression)
{
	if (strcmp(format, "parquet") == 0)
		return ".parquet";
	if (compression && strcmp(compression, "gzip") == 0)
		return ".jsonl.gz";
	if (compression && strcmp(compression, "zstd") == 0)
		return ".jsonl.zst";
	return ".jsonl";
}

const char *
BtxFormatExtension(BtxAutomation *a)
{
	return ext_for(a->format, a->compression);
}

/*
 * Content types.  Compressed JSON Lines are stored as the compressed bytes
 * with a matching type and no Content-Encoding, so HTTP clients do not
 * decompress them on the way (loaders expect the .gz / .zst bytes).
 */
const char *
BtxFormatContentType(BtxAutomation *a)
{
	if (strcmp(a->format, "parquet") == 0)
		return "application/vnd.apache.parquet";
	if (a->compression && strcmp(a->compression, "gzip") == 0)
		return "application/gzip";
	if (a->compression && strcmp(a->compression, "zstd") == 0)
		return "application/zstd";
	return "application/x-ndjson";
}

static void
raise_core(const btx_error *e)
{
	ereport(ERROR,
			(errcode(MAKE_SQLSTATE(e->sqlstate[0], e->sqlstate[1], e->sqlstate[2], e->sqlstate[3], e->sqlstate[4])),
			 errmsg("%s", e->message),
			 e->detail[0] ? errdetail_internal("%s", e->detail) : 0,
			 e->hint[0] ? errhint("%s", e->hint) : 0));
}

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
		case UUIDOID:
			*pt = BTX_PQ_STRING;
			return K_UUID;
		default:
			*pt = BTX_PQ_STRING;
			return K_OTHER;
	}
}

BtxFormatWriter *
BtxFormatOpen(BtxAutomation *a, TupleDesc tupdesc, char **colnames, int pivot, BtxObject *obj)
{
	BtxFormatWriter *w = palloc0(sizeof(BtxFormatWriter));
	btx_error	err;
	int			n = tupdesc->natts;
	btx_pq_column *cols = palloc0(sizeof(btx_pq_column) * n);
	const char **names = palloc(sizeof(char *) * (n + 1));
	int			i;

	w->parquet = strcmp(a->format, "parquet") == 0;
	w->tupdesc = tupdesc;
	w->obj = obj;
	w->pivot = pivot;
	w->kinds = palloc(sizeof(PqKind) * n);
	w->out = palloc0(sizeof(FmgrInfo) * n);
	w->values = palloc(sizeof(Datum) * n);
	w->isnull = palloc(sizeof(bool) * n);
	w->rowcxt = AllocSetContextCreate(CurrentMemoryContext, "btexport format row",
									  ALLOCSET_DEFAULT_SIZES);
	for (i = 0; i < n; i++)
	{
		Form_pg_attribute att = TupleDescAttr(tupdesc, i);

		names[i] = cols[i].name = colnames ? colnames[i] : NameStr(att->attname);
		w->kinds[i] = kind_of(att->atttypid, &cols[i].type);
		if (w->kinds[i] == K_OTHER || att->atttypid == FLOAT4OID || att->atttypid == NUMERICOID)
		{
			Oid			fn;
			bool		varlena;

			getTypeOutputInfo(att->atttypid, &fn, &varlena);
			fmgr_info(fn, &w->out[i]);
		}
	}
	if (w->parquet)
	{
		btx_pq_options opt;
		btx_pq_kv	kv[3];

		btx_pq_options_init(&opt);
		opt.codec = !a->compression || strcmp(a->compression, "snappy") == 0 ? BTX_PQ_CODEC_SNAPPY :
			strcmp(a->compression, "zstd") == 0 ? BTX_PQ_CODEC_ZSTD :
			strcmp(a->compression, "gzip") == 0 ? BTX_PQ_CODEC_GZIP : BTX_PQ_CODEC_NONE;
		/* a row group is buffered in memory: keep it well under a run's memory budget */
		opt.row_group_bytes = (size_t) 64 * 1024 * 1024;
		opt.created_by = "btexport version 1.1.0";
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
			raise_core(&err);
	}
	else
	{
		btx_jsonl_options opt;

		memset(&opt, 0, sizeof(opt));
		/* text in a UTF8 database is valid UTF-8 already; anything else is checked */
		opt.validate_utf8 = w->validate_utf8 = GetDatabaseEncoding() != PG_UTF8;
		if (a->compression && strcmp(a->compression, "none") != 0)
		{
			w->z = btx_zsink_open(strcmp(a->compression, "gzip") == 0 ? BTX_ZSINK_GZIP : BTX_ZSINK_ZSTD, 0,
								  BtxObjectSink, obj, &err);
			if (w->z == NULL)
				raise_core(&err);
		}
		w->jl = btx_jsonl_open(names, n, &opt, w->z ? btx_zsink_write : BtxObjectSink,
							   w->z ? (void *) w->z : (void *) obj, &err);
		if (w->jl == NULL)
			raise_core(&err);
	}
	return w;
}

/*
 * A writer call failed: raise the error at its origin — the object upload,
 * the compressing sink, or the writer itself.
 */
static void
raise_writer(BtxFormatWriter *w, const btx_error *werr)
{
	BtxObjectCheck(w->obj);
	if (w->z && btx_zsink_error(w->z)->code != 0)
		raise_core(btx_zsink_error(w->z));
	raise_core(werr);
}

/*
 * A timestamp as Unix microseconds; false for ±infinity and for the last
 * thirty years of PostgreSQL's range (after 294246 AD), which 64-bit Unix
 * microseconds cannot hold: both are written as null.
 */
static bool
unix_micros(TimestampTz ts, int64 *out)
{
	const int64 shift = (int64) (POSTGRES_EPOCH_JDATE - UNIX_EPOCH_JDATE) * USECS_PER_DAY;

	if (TIMESTAMP_NOT_FINITE(ts) || ts > PG_INT64_MAX - shift)
		return false;
	*out = ts + shift;
	return true;
}

/* a uuid's canonical text (what uuid_out prints), into buf[36] */
static void
uuid_text(Datum d, char *buf)
{
	const unsigned char *u = DatumGetUUIDP(d)->data;
	static const char hex[] = "0123456789abcdef";
	int			i,
				o = 0;

	for (i = 0; i < UUID_LEN; i++)
	{
		if (i == 4 || i == 6 || i == 8 || i == 10)
			buf[o++] = '-';
		buf[o++] = hex[u[i] >> 4];
		buf[o++] = hex[u[i] & 15];
	}
}

/* one scalar of a jsonb, as JsonbToCString prints it */
static void
jsonb_scalar(btx_buf *b, JsonbValue *v)
{
	switch (v->type)
	{
		case jbvNull:
			btx_buf_append(b, "null", 4);
			break;
		case jbvString:
			btx_json_escape(b, v->val.string.val, v->val.string.len);
			break;
		case jbvNumeric:
			btx_buf_puts(b, DatumGetCString(DirectFunctionCall1(numeric_out, NumericGetDatum(v->val.numeric))));
			break;
		case jbvBool:
			v->val.boolean ? btx_buf_append(b, "true", 4) : btx_buf_append(b, "false", 5);
			break;
		default:
			elog(ERROR, "unexpected jsonb value type %d", (int) v->type);
	}
}

/*
 * A jsonb's text, written straight into the JSON Lines buffer: the same text
 * as JsonbToCString (", " between members and elements, ": " after keys, a
 * raw scalar without brackets), without its intermediate string and with the
 * core's escaper.  test/integration/test_schema.py compares it with the
 * server's jsonb text.
 */
static void
jsonb_write(btx_buf *b, Jsonb *jb)
{
	JsonbIterator *it = JsonbIteratorInit(&jb->root);
	JsonbValue	v;
	JsonbIteratorToken tok;
	bool		first = true;
	bool		raw = false;

	while ((tok = JsonbIteratorNext(&it, &v, false)) != WJB_DONE)
	{
		switch (tok)
		{
			case WJB_BEGIN_ARRAY:
				if (!first)
					btx_buf_append(b, ", ", 2);
				raw = v.val.array.rawScalar;
				if (!raw)
					btx_buf_putc(b, '[');
				first = true;
				break;
			case WJB_BEGIN_OBJECT:
				if (!first)
					btx_buf_append(b, ", ", 2);
				btx_buf_putc(b, '{');
				first = true;
				break;
			case WJB_KEY:
				if (!first)
					btx_buf_append(b, ", ", 2);
				btx_json_escape(b, v.val.string.val, v.val.string.len);
				btx_buf_append(b, ": ", 2);
				/* a container value follows as BEGIN_*: no separator before it */
				first = true;
				break;
			case WJB_VALUE:
			case WJB_ELEM:
				if (!first && tok == WJB_ELEM)
					btx_buf_append(b, ", ", 2);
				jsonb_scalar(b, &v);
				first = false;
				break;
			case WJB_END_ARRAY:
				if (!raw)
					btx_buf_putc(b, ']');
				raw = false;
				first = false;
				break;
			case WJB_END_OBJECT:
				btx_buf_putc(b, '}');
				first = false;
				break;
			default:
				elog(ERROR, "unexpected jsonb iterator token %d", (int) tok);
		}
	}
}

/* a float or numeric value as JSON: its shortest exact text, or null for NaN and infinities */
static int
jl_number(BtxFormatWriter *w, int i, Datum d)
{
	Oid			t = TupleDescAttr(w->tupdesc, i)->atttypid;
	char	   *s;

	if (t == FLOAT8OID)
	{
		double		v = DatumGetFloat8(d);

		if (isnan(v) || isinf(v))
			return btx_jsonl_null(w->jl, i);
		s = float8out_internal(v);
	}
	else
	{
		s = OutputFunctionCall(&w->out[i], d);
		if (strcmp(s, "NaN") == 0 || strcmp(s, "Infinity") == 0 || strcmp(s, "-Infinity") == 0)
			return btx_jsonl_null(w->jl, i);
	}
	return btx_jsonl_raw(w->jl, i, s, strlen(s));
}

/* one non-null JSON Lines value */
static int
jl_value(BtxFormatWriter *w, int i, Datum d)
{
	switch (w->kinds[i])
	{
		case K_TEXT:
			{
				text	   *t = DatumGetTextPP(d);

				return btx_jsonl_string(w->jl, i, VARDATA_ANY(t), VARSIZE_ANY_EXHDR(t));
			}
		case K_JSONB:
			{
				char	   *s;

				if (TupleDescAttr(w->tupdesc, i)->atttypid == JSONBOID)
				{
					Jsonb	   *j = DatumGetJsonbP(d);
					btx_buf    *b;

					if (i != w->pivot && !w->validate_utf8)
					{
						if ((b = btx_jsonl_value(w->jl, i)) == NULL)
							return -1;
						jsonb_write(b, j);
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
		case K_TS:
			{
				int64		us;

				if (!unix_micros(DatumGetTimestampTz(d), &us))
					return btx_jsonl_null(w->jl, i);
				return btx_jsonl_timestamp(w->jl, i, us);
			}
		case K_INT8:
			return btx_jsonl_int64(w->jl, i, DatumGetInt64(d));
		case K_INT4:
			return btx_jsonl_int64(w->jl, i, DatumGetInt32(d));
		case K_INT2:
			return btx_jsonl_int64(w->jl, i, DatumGetInt16(d));
		case K_FLOAT8:
		case K_FLOAT4:
		case K_NUMERIC:
			return jl_number(w, i, d);
		case K_BOOL:
			return btx_jsonl_bool(w->jl, i, DatumGetBool(d) ? 1 : 0);
		case K_TEXTARR:
			{
				ArrayType  *arr = DatumGetArrayTypeP(d);
				Datum	   *elems;
				bool	   *nulls;
				int			n,
							k;

				/* a multi-dimensional array is flattened in storage order */
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
		case K_UUID:
			{
				char		u[36];

				uuid_text(d, u);
				return btx_jsonl_string(w->jl, i, u, 36);
			}
		case K_OTHER:
			{
				char	   *s = OutputFunctionCall(&w->out[i], d);

				return btx_jsonl_string(w->jl, i, s, strlen(s));
			}
	}
	return -1;
}

static int
pq_value(BtxFormatWriter *w, int i, Datum d)
{
	switch (w->kinds[i])
	{
		case K_TEXT:
			{
				text	   *t = DatumGetTextPP(d);

				return btx_pq_bytes(w->pq, i, VARDATA_ANY(t), VARSIZE_ANY_EXHDR(t));
			}
		case K_JSONB:
			{
				char	   *s;

				if (TupleDescAttr(w->tupdesc, i)->atttypid == JSONBOID)
				{
					/* the same text as JsonbToCString, through the reused scratch buffer */
					btx_buf_reset(&w->scratch);
					jsonb_write(&w->scratch, DatumGetJsonbP(d));
					if (w->scratch.oom)
						ereport(ERROR, (errcode(ERRCODE_OUT_OF_MEMORY), errmsg("out of memory")));
					return btx_pq_bytes(w->pq, i, w->scratch.data, w->scratch.len);
				}
				s = TextDatumGetCString(d);
				return btx_pq_bytes(w->pq, i, s, strlen(s));
			}
		case K_TS:
			{
				int64		us;

				if (!unix_micros(DatumGetTimestampTz(d), &us))
					return btx_pq_null(w->pq, i);
				return btx_pq_int64(w->pq, i, us);
			}
		case K_INT8:
			return btx_pq_int64(w->pq, i, DatumGetInt64(d));
		case K_INT4:
			return btx_pq_int64(w->pq, i, DatumGetInt32(d));
		case K_INT2:
			return btx_pq_int64(w->pq, i, DatumGetInt16(d));
		case K_FLOAT8:
			return btx_pq_double(w->pq, i, DatumGetFloat8(d));
		case K_FLOAT4:
			return btx_pq_double(w->pq, i, DatumGetFloat4(d));
		case K_NUMERIC:
			return btx_pq_double(w->pq, i, DatumGetFloat8(DirectFunctionCall1(numeric_float8_no_overflow, d)));
		case K_BOOL:
			return btx_pq_bool(w->pq, i, DatumGetBool(d) ? 1 : 0);
		case K_TEXTARR:
			{
				ArrayType  *arr = DatumGetArrayTypeP(d);
				Datum	   *elems;
				bool	   *nulls;
				int			n,
							k;

				deconstruct_array(arr, ARR_ELEMTYPE(arr), -1, false, TYPALIGN_INT, &elems, &nulls, &n);
				if (btx_pq_list_begin(w->pq, i) != 0)
					return -1;
				for (k = 0; k < n; k++)
				{
					text	   *t;

					if (nulls[k])
					{
						if (btx_pq_list_item(w->pq, i, NULL, 0) != 0)
							return -1;
						continue;
					}
					t = DatumGetTextPP(elems[k]);
					if (btx_pq_list_item(w->pq, i, VARDATA_ANY(t), VARSIZE_ANY_EXHDR(t)) != 0)
						return -1;
				}
				return btx_pq_list_end(w->pq, i);
			}
		case K_UUID:
			{
				char		u[36];

				uuid_text(d, u);
				return btx_pq_bytes(w->pq, i, u, 36);
			}
		case K_OTHER:
			{
				char	   *s = OutputFunctionCall(&w->out[i], d);

				return btx_pq_bytes(w->pq, i, s, strlen(s));
			}
	}
	return -1;
}

void
BtxFormatRow(BtxFormatWriter *w, HeapTuple tuple)
{
	int			i;
	btx_error	err;
	MemoryContext old;
	int			rc;

	/*
	 * Detoasted copies, JsonbToCString's strings and output-function results
	 * are garbage once the writer has copied the bytes: without a per-row
	 * context they pile up in the SPI procedure context until the run ends
	 * (~10 KB a row, gigabytes for a million spans).
	 */
	old = MemoryContextSwitchTo(w->rowcxt);
	heap_deform_tuple(tuple, w->tupdesc, w->values, w->isnull);
	for (i = 0; i < w->tupdesc->natts; i++)
	{
		bool		isnull = w->isnull[i];
		Datum		d = w->values[i];

		/* a failure surfaces at end_row */
		if (w->parquet)
			(void) (isnull ? btx_pq_null(w->pq, i) : pq_value(w, i, d));
		else if (!isnull)
			(void) jl_value(w, i, d);
		else if (i != w->pivot)
			(void) btx_jsonl_null(w->jl, i);
	}
	MemoryContextSwitchTo(old);
	MemoryContextReset(w->rowcxt);
	rc = w->parquet ? btx_pq_end_row(w->pq, &err) : btx_jsonl_end_row(w->jl, &err);
	if (rc != 0)
		raise_writer(w, &err);
}

/* the file's size so far (compressed), for splitting runs into parts */
uint64
BtxFormatBytes(BtxFormatWriter *w)
{
	if (w->parquet)
		return btx_pq_bytes_written(w->pq) + btx_pq_buffered_bytes(w->pq) / 4;
	if (w->z)
		return btx_zsink_out_bytes(w->z) + (btx_jsonl_bytes(w->jl) - btx_zsink_raw_bytes(w->z)) / 4;
	return btx_jsonl_bytes(w->jl);
}

void
BtxFormatFinish(BtxFormatWriter *w)
{
	btx_error	err;

	if (w->parquet)
	{
		if (btx_pq_close(w->pq, &err) != 0)
			raise_writer(w, &err);
		return;
	}
	if (btx_jsonl_finish(w->jl, &err) != 0)
		raise_writer(w, &err);
	if (w->z && btx_zsink_finish(w->z, &err) != 0)
		raise_writer(w, &err);
}

void
BtxFormatFree(BtxFormatWriter *w)
{
	if (w->pq)
		btx_pq_free(w->pq);
	w->pq = NULL;
	/* after an error thrown inside a row the context may still be current: its parent frees it */
	if (w->rowcxt && CurrentMemoryContext != w->rowcxt)
		MemoryContextDelete(w->rowcxt);
	w->rowcxt = NULL;
	btx_buf_free(&w->scratch);
	if (w->jl)
		btx_jsonl_free(w->jl);
	w->jl = NULL;
	if (w->z)
		btx_zsink_free(w->z);
	w->z = NULL;
	pfree(w);
}
