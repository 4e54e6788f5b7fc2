/*
 * format_values.c — typed values as both file formats encode them (see
 * format_values.h).
 */
#include "adapters/btexport.h"

#include "access/htup_details.h"
#include "catalog/pg_type.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/numeric.h"
#include "utils/uuid.h"

#include "adapters/format_values.h"
#include "core/format/jsonl.h"

BtxValueKind
BtxValueKindOf(Oid t, btx_pq_type *pt)
{
	switch (t)
	{
		case TEXTOID:
		case VARCHAROID:
		case BPCHAROID:
		case NAMEOID:
			*pt = BTX_PQ_STRING;
			return BTX_V_TEXT;
		case JSONBOID:
		case JSONOID:
			*pt = BTX_PQ_JSON;
			return BTX_V_JSONB;
		case TIMESTAMPTZOID:
		case TIMESTAMPOID:
			*pt = BTX_PQ_TIMESTAMP;
			return BTX_V_TS;
		case INT8OID:
			*pt = BTX_PQ_INT64;
			return BTX_V_INT8;
		case INT4OID:
			*pt = BTX_PQ_INT64;
			return BTX_V_INT4;
		case INT2OID:
			*pt = BTX_PQ_INT64;
			return BTX_V_INT2;
		case FLOAT8OID:
			*pt = BTX_PQ_DOUBLE;
			return BTX_V_FLOAT8;
		case FLOAT4OID:
			*pt = BTX_PQ_DOUBLE;
			return BTX_V_FLOAT4;
		case NUMERICOID:
			*pt = BTX_PQ_DOUBLE;
			return BTX_V_NUMERIC;
		case BOOLOID:
			*pt = BTX_PQ_BOOLEAN;
			return BTX_V_BOOL;
		case TEXTARRAYOID:
		case VARCHARARRAYOID:
			*pt = BTX_PQ_LIST_STRING;
			return BTX_V_TEXTARR;
		case UUIDOID:
			*pt = BTX_PQ_STRING;
			return BTX_V_UUID;
		default:
			*pt = BTX_PQ_STRING;
			return BTX_V_OTHER;
	}
}

bool
BtxUnixMicros(TimestampTz ts, int64 *out)
{
	const int64 shift = (int64) (POSTGRES_EPOCH_JDATE - UNIX_EPOCH_JDATE) * USECS_PER_DAY;

	if (TIMESTAMP_NOT_FINITE(ts) || ts > PG_INT64_MAX - shift)
		return false;
	*out = ts + shift;
	return true;
}

void
BtxUuidText(Datum d, char *buf)
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
 * The same text as JsonbToCString (", " between members and elements, ": "
 * after keys, a raw scalar without brackets), without its intermediate
 * string and with the core's escaper.  test/integration/test_schema.py
 * compares it with the server's jsonb text.
 */
void
BtxJsonbWrite(btx_buf *b, Jsonb *jb)
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

void
BtxRowValuesInit(BtxRowValues *r, TupleDesc tupdesc, btx_pq_type *types)
{
	int			n = tupdesc->natts;
	int			i;

	r->tupdesc = CreateTupleDescCopy(tupdesc);
	r->kinds = palloc(sizeof(BtxValueKind) * n);
	r->out = palloc0(sizeof(FmgrInfo) * n);
	r->values = palloc(sizeof(Datum) * n);
	r->isnull = palloc(sizeof(bool) * n);
	r->rowcxt = AllocSetContextCreate(CurrentMemoryContext, "btexport row", ALLOCSET_DEFAULT_SIZES);
	for (i = 0; i < n; i++)
	{
		Form_pg_attribute att = TupleDescAttr(r->tupdesc, i);
		btx_pq_type pt;

		r->kinds[i] = BtxValueKindOf(att->atttypid, &pt);
		if (types)
			types[i] = pt;
		if (r->kinds[i] == BTX_V_OTHER || r->kinds[i] == BTX_V_FLOAT4 || r->kinds[i] == BTX_V_NUMERIC)
		{
			Oid			fn;
			bool		varlena;

			getTypeOutputInfo(att->atttypid, &fn, &varlena);
			fmgr_info(fn, &r->out[i]);
		}
	}
}

MemoryContext
BtxRowValuesBegin(BtxRowValues *r, HeapTuple tuple)
{
	MemoryContext old = MemoryContextSwitchTo(r->rowcxt);

	heap_deform_tuple(tuple, r->tupdesc, r->values, r->isnull);
	return old;
}

void
BtxRowValuesEnd(BtxRowValues *r, MemoryContext old)
{
	MemoryContextSwitchTo(old);
	MemoryContextReset(r->rowcxt);
}

void
BtxRowValuesFree(BtxRowValues *r)
{
	/* after an error thrown inside a row the context may still be current: its parent frees it */
	if (r->rowcxt && CurrentMemoryContext != r->rowcxt)
		MemoryContextDelete(r->rowcxt);
	r->rowcxt = NULL;
	if (r->tupdesc)
		FreeTupleDesc(r->tupdesc);
	r->tupdesc = NULL;
}
