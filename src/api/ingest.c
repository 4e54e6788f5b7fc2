/*
 * ingest.c — per-event helpers behind btexport.log() (sql/install/code/20_ingest.sql).
 *
 * The set-based SQL does the ordering, grouping, locking and writing; these
 * functions do the per-value work that would be slow or awkward in SQL:
 *
 *   btexport._ingest_prepare(event jsonb) -> btexport._ingest_prepared
 *       validates one log event and returns its normalised document (only the
 *       storable keys; _audit_* renamed to audit_*; id generated when missing),
 *       or the reason it is rejected (field, sqlstate, message, detail, hint).
 *   btexport._ingest_fold_step(state jsonb, doc jsonb, is_merge bool) -> jsonb
 *       applies one event to the row state: replace or deep merge.
 *   btexport._ingest_text_array(jsonb) -> text[]
 *   btexport._ingest_random_hex(int) -> text
 *
 * Nothing here writes to the database or keeps state between calls.
 */
#include "adapters/btexport.h"

#include <math.h>

#include "access/htup_details.h"
#include "catalog/pg_type.h"
#include "fmgr.h"
#include "funcapi.h"
#include "mb/pg_wchar.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/datetime.h"
#include "utils/jsonb.h"
#include "utils/numeric.h"
#include "utils/timestamp.h"

PG_FUNCTION_INFO_V1(btexport_ingest_prepare);
PG_FUNCTION_INFO_V1(btexport_ingest_fold_step);
PG_FUNCTION_INFO_V1(btexport_ingest_text_array);
PG_FUNCTION_INFO_V1(btexport_ingest_random_hex);
PG_FUNCTION_INFO_V1(btexport_json_float8);

/*
 * The longest id, span_id, root_span_id and span_parents element (bytes): ids
 * are keys of the span store's indexes, whose entries must fit a third of a
 * page.  Braintrust's ids are UUIDs (36 characters).  docs/ingest.md "Limits".
 */
#define MAX_ID_BYTES 1024

/* why an event is rejected (all NULL when it is accepted) */
typedef struct IngestReject
{
	const char *field;			/* top-level field at fault, or NULL */
	const char *sqlstate;		/* five characters */
	char	   *message;		/* lower case, no period */
	char	   *detail;			/* full sentence */
	char	   *hint;			/* full sentence */
} IngestReject;

/* how a top-level key of an event is treated */
typedef enum KeyKind
{
	K_ID,						/* non-empty string or null (null = absent) */
	K_STRING_ID,				/* span_id, root_span_id: same rule */
	K_STRING_ARRAY,				/* span_parents, tags: array of strings or null */
	K_SCORES,					/* object of numbers in [0,1] or null, or null */
	K_METRICS,					/* object of numbers or null, or null */
	K_OBJECT,					/* object or null */
	K_ANY,						/* any JSON value */
	K_CREATED,					/* timestamp string or null */
	K_IS_MERGE,					/* boolean or null */
	K_AUDIT_SOURCE,				/* string or null; stored as audit_source */
	K_AUDIT_METADATA,			/* object or null; stored as audit_metadata */
	K_LOG_ID,					/* "g" or null; not stored (the column is 'g') */
	K_IGNORED,					/* accepted and dropped: server-assigned fields */
	K_UNSUPPORTED				/* Braintrust fields btexport does not implement */
} KeyKind;

typedef struct KeySpec
{
	const char *name;
	KeyKind		kind;
	const char *store_as;		/* key in the normalised document, NULL = name */
} KeySpec;

static const KeySpec key_specs[] = {
	{"id", K_ID, NULL},
	{"span_id", K_STRING_ID, NULL},
	{"root_span_id", K_STRING_ID, NULL},
	{"span_parents", K_STRING_ARRAY, NULL},
	{"tags", K_STRING_ARRAY, NULL},
	{"scores", K_SCORES, NULL},
	{"metrics", K_METRICS, NULL},
	{"metadata", K_OBJECT, NULL},
	{"span_attributes", K_OBJECT, NULL},
	{"context", K_OBJECT, NULL},
	{"origin", K_OBJECT, NULL},
	{"input", K_ANY, NULL},
	{"output", K_ANY, NULL},
	{"expected", K_ANY, NULL},
	{"error", K_ANY, NULL},
	{"comment", K_ANY, NULL},
	{"created", K_CREATED, NULL},
	{"_is_merge", K_IS_MERGE, NULL},
	{"_audit_source", K_AUDIT_SOURCE, "audit_source"},
	{"_audit_metadata", K_AUDIT_METADATA, "audit_metadata"},
	{"log_id", K_LOG_ID, NULL},
	{"project_id", K_IGNORED, NULL},
	{"org_id", K_IGNORED, NULL},
	{"_xact_id", K_IGNORED, NULL},
	{"_pagination_key", K_IGNORED, NULL},
	{"is_root", K_IGNORED, NULL},
	{"_object_delete", K_UNSUPPORTED, NULL},
	{"_merge_paths", K_UNSUPPORTED, NULL},
	{"_parent_id", K_UNSUPPORTED, NULL},
};

static const KeySpec *
find_key_spec(const char *key, int len)
{
	int			i;

	for (i = 0; i < lengthof(key_specs); i++)
	{
		if (strlen(key_specs[i].name) == len && memcmp(key_specs[i].name, key, len) == 0)
			return &key_specs[i];
	}
	return NULL;
}

static const char *
jbv_type_name(JsonbValue *v)
{
	switch (v->type)
	{
		case jbvNull:
			return "null";
		case jbvString:
			return "a string";
		case jbvNumeric:
			return "a number";
		case jbvBool:
			return "a boolean";
		case jbvBinary:
			return JsonContainerIsObject(v->val.binary.data) ? "an object" :
				(JsonContainerIsScalar(v->val.binary.data) ? "a scalar" : "an array");
		case jbvArray:
			return "an array";
		case jbvObject:
			return "an object";
		default:
			return "an unknown value";
	}
}

static bool
jbv_is_object(JsonbValue *v)
{
	return v->type == jbvObject ||
		(v->type == jbvBinary && JsonContainerIsObject(v->val.binary.data));
}

static bool
jbv_is_array(JsonbValue *v)
{
	return v->type == jbvArray ||
		(v->type == jbvBinary && JsonContainerIsArray(v->val.binary.data) &&
		 !JsonContainerIsScalar(v->val.binary.data));
}

static void
set_reject(IngestReject *r, const char *field, const char *sqlstate,
		   char *message, char *detail, char *hint)
{
	r->field = field;
	r->sqlstate = sqlstate;
	r->message = message;
	r->detail = detail;
	r->hint = hint;
}

/* a short, printable excerpt of a string for error details */
static char *
excerpt(const char *s, int len)
{
	int			n = Min(len, 40);

	/* do not cut a multibyte character */
	n = pg_mbcliplen(s, len, n);
	return psprintf("%.*s%s", n, s, n < len ? "..." : "");
}

/*
 * Does the string parse as a finite timestamp with time zone?  Uses the same
 * parser as timestamptz_in without its ereport()s, so a string accepted here
 * is accepted by the final ::timestamptz cast.  Letters other than the ISO
 * 8601 'T' and 'Z' are refused up front: they lead to paths of
 * DecodeDateTime that may throw (named time zones) or to special values
 * ("now", "infinity") that a log event has no business sending.
 */
static bool
timestamp_string_ok(const char *s, int len)
{
	char		buf[MAXDATELEN + 1];
	char		workbuf[MAXDATELEN + MAXDATEFIELDS];
	char	   *field[MAXDATEFIELDS];
	int			ftype[MAXDATEFIELDS];
	int			nf;
	int			dtype;
	struct pg_tm tt,
			   *tm = &tt;
	fsec_t		fsec;
	int			tz;
	Timestamp	result;
	int			i;

	if (len < 10 || len > MAXDATELEN)
		return false;
	for (i = 0; i < len; i++)
	{
		char		c = s[i];

		if (!((c >= '0' && c <= '9') || c == '-' || c == ':' || c == '.' || c == '+' ||
			  c == ' ' || c == 'T' || c == 't' || c == 'Z' || c == 'z'))
			return false;
	}
	if (!(s[0] >= '0' && s[0] <= '9'))
		return false;
	memcpy(buf, s, len);
	buf[len] = '\0';
	if (ParseDateTime(buf, workbuf, sizeof(workbuf), field, ftype, MAXDATEFIELDS, &nf) != 0)
		return false;
	if (DecodeDateTime(field, ftype, nf, &dtype, tm, &fsec, &tz) != 0)
		return false;
	if (dtype != DTK_DATE)
		return false;
	if (tm2timestamp(tm, fsec, &tz, &result) != 0)
		return false;
	return IS_VALID_TIMESTAMP(result);
}

/* id, span_id, root_span_id: a non-empty string of at most MAX_ID_BYTES, or null (one is generated) */
static bool
check_id(const char *f, JsonbValue *v, IngestReject *r)
{
	if (v->type == jbvNull)
		return true;
	if (v->type != jbvString)
	{
		set_reject(r, f, "22023", psprintf("field \"%s\" must be a string", f),
				   psprintf("Found %s.", jbv_type_name(v)),
				   psprintf("Send \"%s\" as a non-empty JSON string, or leave it out to have one generated.", f));
		return false;
	}
	if (v->val.string.len == 0)
	{
		set_reject(r, f, "22023", psprintf("field \"%s\" must not be empty", f),
				   psprintf("Found an empty string."),
				   psprintf("Send a non-empty \"%s\", or leave it out to have one generated.", f));
		return false;
	}
	if (v->val.string.len > MAX_ID_BYTES)
	{
		set_reject(r, f, "22001", psprintf("field \"%s\" is too long", f),
				   psprintf("It has %d bytes; at most %d are allowed.", v->val.string.len, MAX_ID_BYTES),
				   psprintf("Send a shorter \"%s\", such as a UUID, or leave it out to have one generated.", f));
		return false;
	}
	return true;
}

/* tags, span_parents: an array of strings (span_parents: ids, at most MAX_ID_BYTES each), or null */
static bool
check_string_array(const char *f, JsonbValue *v, IngestReject *r)
{
	JsonbIterator *it;
	JsonbValue	e;
	JsonbIteratorToken tok;
	int			n = 0;

	if (v->type == jbvNull)
		return true;
	if (!jbv_is_array(v))
	{
		set_reject(r, f, "22023", psprintf("field \"%s\" must be an array of strings", f),
				   psprintf("Found %s.", jbv_type_name(v)),
				   psprintf("Send \"%s\" as a JSON array of strings, e.g. [\"a\", \"b\"].", f));
		return false;
	}
	it = JsonbIteratorInit(v->val.binary.data);
	while ((tok = JsonbIteratorNext(&it, &e, true)) != WJB_DONE)
	{
		if (tok != WJB_ELEM)
			continue;
		if (e.type != jbvString)
		{
			set_reject(r, f, "22023", psprintf("field \"%s\" must be an array of strings", f),
					   psprintf("Element %d (0-based) is %s.", n, jbv_type_name(&e)),
					   psprintf("Send \"%s\" as a JSON array of strings, e.g. [\"a\", \"b\"].", f));
			return false;
		}
		if (strcmp(f, "span_parents") == 0 && e.val.string.len > MAX_ID_BYTES)
		{
			set_reject(r, f, "22001", psprintf("field \"%s\" holds an id that is too long", f),
					   psprintf("Element %d (0-based) has %d bytes; at most %d are allowed.",
								n, e.val.string.len, MAX_ID_BYTES),
					   pstrdup("Send the span_id values of the parent spans."));
			return false;
		}
		n++;
	}
	return true;
}

/*
 * The value of a JSON number as a double, as a JSON parser would read it
 * (strtod: overflow to infinity, underflow to zero), without an error.
 */
static double
numeric_as_double(Numeric num)
{
	return DatumGetFloat8(DirectFunctionCall1(numeric_float8_no_overflow, NumericGetDatum(num)));
}

/*
 * Does a JSON number fit a double?  Scores and metrics are doubles in every
 * Braintrust client and in btexport's exports (averages, Parquet); a number
 * such as 1e400 or 1e-400 would make each export of the project fail
 * (float8 overflow/underflow, SQLSTATE 22003), so ingest refuses it.
 * Subnormal numbers (down to about 4.9e-324) fit.
 */
static bool
numeric_fits_double(Numeric num)
{
	double		d = numeric_as_double(num);

	if (isinf(d) || isnan(d))
		return false;
	if (d == 0.0)
		return DatumGetInt32(DirectFunctionCall2(numeric_cmp, NumericGetDatum(num),
												 NumericGetDatum(int64_to_numeric(0)))) == 0;
	return true;
}

/* a number a double cannot hold (numeric_fits_double), as the event's rejection */
static bool
check_double(const char *f, bool scores, JsonbValue *k, JsonbValue *e, IngestReject *r)
{
	char	   *numstr;

	if (numeric_fits_double(e->val.numeric))
		return true;
	numstr = DatumGetCString(DirectFunctionCall1(numeric_out, NumericGetDatum(e->val.numeric)));
	set_reject(r, f, "22003",
			   psprintf("%s \"%s\" is out of range", scores ? "score" : "metric",
						excerpt(k->val.string.val, k->val.string.len)),
			   psprintf("Found %s, which a double precision number cannot hold.", excerpt(numstr, strlen(numstr))),
			   pstrdup("Send numbers of magnitude between about 2.2e-308 and 1.8e308 (or 0), as JSON encoders of doubles do."));
	return false;
}

/* a score must lie in [0, 1] */
static bool
check_score_range(const char *f, JsonbValue *k, JsonbValue *e, IngestReject *r)
{
	Datum		num = NumericGetDatum(e->val.numeric);
	Datum		zero = NumericGetDatum(int64_to_numeric(0));
	Datum		one = NumericGetDatum(int64_to_numeric(1));
	char	   *numstr;

	if (DatumGetInt32(DirectFunctionCall2(numeric_cmp, num, zero)) >= 0 &&
		DatumGetInt32(DirectFunctionCall2(numeric_cmp, num, one)) <= 0)
		return true;
	numstr = DatumGetCString(DirectFunctionCall1(numeric_out, num));
	set_reject(r, f, "22023",
			   psprintf("score \"%s\" is out of range", excerpt(k->val.string.val, k->val.string.len)),
			   psprintf("Found %s; scores must lie between 0 and 1 inclusive.", excerpt(numstr, strlen(numstr))),
			   pstrdup("Scale the score into [0, 1], or send null for no score."));
	return false;
}

/* scores, metrics: an object of numbers a double holds (or nulls), or null; scores in [0, 1] */
static bool
check_numbers(const KeySpec *spec, JsonbValue *v, IngestReject *r)
{
	const char *f = spec->name;
	bool		scores = spec->kind == K_SCORES;
	JsonbIterator *it;
	JsonbValue	k,
				e;
	JsonbIteratorToken tok;

	if (v->type == jbvNull)
		return true;
	if (!jbv_is_object(v))
	{
		set_reject(r, f, "22023",
				   psprintf("field \"%s\" must be an object of numbers", f),
				   psprintf("Found %s.", jbv_type_name(v)),
				   scores ?
				   pstrdup("Send scores as {\"name\": number between 0 and 1, or null}.") :
				   pstrdup("Send metrics as {\"name\": number}, e.g. {\"start\": 1732492335.436}."));
		return false;
	}
	it = JsonbIteratorInit(v->val.binary.data);
	while ((tok = JsonbIteratorNext(&it, &k, true)) != WJB_DONE)
	{
		if (tok != WJB_KEY)
			continue;
		tok = JsonbIteratorNext(&it, &e, true);
		Assert(tok == WJB_VALUE);
		if (e.type == jbvNull)
			continue;
		if (e.type != jbvNumeric)
		{
			set_reject(r, f, "22023",
					   psprintf("field \"%s\" must be an object of numbers", f),
					   psprintf("Key \"%s\" is %s.",
								excerpt(k.val.string.val, k.val.string.len), jbv_type_name(&e)),
					   scores ?
					   pstrdup("Send each score as a number between 0 and 1, or null.") :
					   pstrdup("Send each metric as a JSON number (null is accepted for NaN)."));
			return false;
		}
		if (!check_double(f, scores, &k, &e, r))
			return false;
		if (scores && !check_score_range(f, &k, &e, r))
			return false;
	}
	return true;
}

/* created: an ISO 8601 timestamp string, or null */
static bool
check_created(const char *f, JsonbValue *v, IngestReject *r)
{
	if (v->type == jbvNull)
		return true;
	if (v->type != jbvString)
	{
		set_reject(r, f, "22007", pstrdup("field \"created\" must be a timestamp string"),
				   psprintf("Found %s.", jbv_type_name(v)),
				   pstrdup("Send created as an ISO 8601 string, e.g. \"2026-11-24T23:52:15.436Z\", or leave it out."));
		return false;
	}
	if (!timestamp_string_ok(v->val.string.val, v->val.string.len))
	{
		set_reject(r, f, "22007", pstrdup("field \"created\" is not a valid timestamp"),
				   psprintf("Found \"%s\".", excerpt(v->val.string.val, v->val.string.len)),
				   pstrdup("Send created as an ISO 8601 string, e.g. \"2026-11-24T23:52:15.436Z\", or leave it out."));
		return false;
	}
	return true;
}

/* a scalar of one type, or null */
static bool
check_scalar(const char *f, JsonbValue *v, enum jbvType type, const char *message, const char *hint,
			 IngestReject *r)
{
	if (v->type == jbvNull || v->type == type)
		return true;
	set_reject(r, f, "22023", pstrdup(message), psprintf("Found %s.", jbv_type_name(v)), pstrdup(hint));
	return false;
}

/* check one top-level value against its kind; false + *r filled when bad */
static bool
check_value(const KeySpec *spec, JsonbValue *v, IngestReject *r)
{
	const char *f = spec->name;

	switch (spec->kind)
	{
		case K_ID:
		case K_STRING_ID:
			return check_id(f, v, r);
		case K_STRING_ARRAY:
			return check_string_array(f, v, r);
		case K_SCORES:
		case K_METRICS:
			return check_numbers(spec, v, r);
		case K_OBJECT:
		case K_AUDIT_METADATA:
			if (v->type == jbvNull || jbv_is_object(v))
				return true;
			set_reject(r, f, "22023", psprintf("field \"%s\" must be an object", f),
					   psprintf("Found %s.", jbv_type_name(v)),
					   psprintf("Send \"%s\" as a JSON object, or null.", f));
			return false;

		case K_ANY:
			return true;

		case K_CREATED:
			return check_created(f, v, r);

		case K_IS_MERGE:
			return check_scalar(f, v, jbvBool, "field \"_is_merge\" must be a boolean",
								"Send true to deep-merge into the stored row, false (or nothing) to replace it.", r);

		case K_AUDIT_SOURCE:
			return check_scalar(f, v, jbvString, "field \"_audit_source\" must be a string",
								"Send _audit_source as \"app\", \"api\" or \"external\".", r);

		case K_LOG_ID:
			if (v->type == jbvNull ||
				(v->type == jbvString && v->val.string.len == 1 && v->val.string.val[0] == 'g'))
				return true;
			set_reject(r, f, "22023", pstrdup("field \"log_id\" must be \"g\""),
					   v->type == jbvString ?
					   psprintf("Found \"%s\"; btexport stores project logs only.",
								excerpt(v->val.string.val, v->val.string.len)) :
					   psprintf("Found %s.", jbv_type_name(v)),
					   pstrdup("Leave log_id out, or send \"g\" (project logs)."));
			return false;

		case K_IGNORED:
			return true;

		case K_UNSUPPORTED:
			set_reject(r, f, "0A000", psprintf("field \"%s\" is not supported", f),
					   pstrdup("btexport applies replaces (_is_merge false) and full-depth merges (_is_merge true) only."),
					   strcmp(f, "_parent_id") == 0 ?
					   pstrdup("Express the parent with span_id, root_span_id and span_parents instead.") :
					   pstrdup("Remove the field; see docs/ingest.md for the supported fields."));
			return false;
	}
	return true;
}

static char *
random_hex(int nchars)
{
	static const char hexd[] = "0123456789abcdef";
	unsigned char bytes[64];
	char	   *out;
	int			nbytes = (nchars + 1) / 2;
	int			i;

	if (nchars < 1 || nchars > 128)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("random id length must be between 1 and 128")));
	if (!pg_strong_random(bytes, nbytes))
		ereport(ERROR,
				(errcode(ERRCODE_INTERNAL_ERROR),
				 errmsg("could not generate a random id")));
	out = palloc(nchars + 1);
	for (i = 0; i < nchars; i++)
		out[i] = hexd[(bytes[i / 2] >> ((i % 2) ? 0 : 4)) & 0xF];
	out[nchars] = '\0';
	return out;
}

/* a random (version 4) UUID in text form */
static char *
random_uuid_text(void)
{
	char	   *h = random_hex(32);

	h[12] = '4';
	h[16] = "89ab"[(h[16] >= 'a' ? h[16] - 'a' + 10 : h[16] - '0') & 3];
	return psprintf("%.8s-%.4s-%.4s-%.4s-%.12s", h, h + 8, h + 12, h + 16, h + 20);
}

/* a string as an object's key (WJB_KEY) or value (WJB_VALUE) */
static void
push_string(JsonbParseState **ps, JsonbIteratorToken token, const char *s)
{
	JsonbValue	v;

	v.type = jbvString;
	v.val.string.val = (char *) s;
	v.val.string.len = strlen(s);
	pushJsonbValue(ps, token, &v);
}

/* every key and value of an object container, into the object being built */
static void
push_pairs(JsonbParseState **ps, JsonbContainer *c)
{
	JsonbIterator *it = JsonbIteratorInit(c);
	JsonbValue	k,
				v;
	JsonbIteratorToken tok;

	while ((tok = JsonbIteratorNext(&it, &k, true)) != WJB_DONE)
	{
		if (tok != WJB_KEY)
			continue;
		tok = JsonbIteratorNext(&it, &v, true);
		pushJsonbValue(ps, WJB_KEY, &k);
		pushJsonbValue(ps, WJB_VALUE, &v);
	}
}

static void
push_key(JsonbParseState **ps, const char *key)
{
	push_string(ps, WJB_KEY, key);
}

static void
push_string_value(JsonbParseState **ps, const char *s)
{
	push_string(ps, WJB_VALUE, s);
}

/*
 * btexport._ingest_prepare(event jsonb)
 *   RETURNS btexport._ingest_prepared
 *     (id text, is_merge boolean, doc jsonb,
 *      field text, sqlstate text, message text, detail text, hint text)
 */
Datum
btexport_ingest_prepare(PG_FUNCTION_ARGS)
{
	TupleDesc	tupdesc;
	Datum		values[8];
	bool		nulls[8];
	IngestReject rej;
	bool		ok = true;
	bool		is_merge = false;
	char	   *id = NULL;
	JsonbParseState *ps = NULL;
	JsonbValue *res = NULL;
	Jsonb	   *ev;

	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");
	tupdesc = BlessTupleDesc(tupdesc);
	memset(nulls, true, sizeof(nulls));
	memset(&rej, 0, sizeof(rej));

	if (PG_ARGISNULL(0))
	{
		set_reject(&rej, NULL, "22004", pstrdup("event is null"),
				   pstrdup("Each event must be a JSON object."),
				   pstrdup("Remove the null from the events."));
		ok = false;
	}
	else
	{
		ev = PG_GETARG_JSONB_P(0);
		if (!JB_ROOT_IS_OBJECT(ev))
		{
			JsonbValue	tmp;

			if (JB_ROOT_IS_SCALAR(ev))
			{
				JsonbExtractScalar(&ev->root, &tmp);
				set_reject(&rej, NULL, "22023", pstrdup("event is not a JSON object"),
						   psprintf("Found %s.", jbv_type_name(&tmp)),
						   pstrdup("Send each event as a JSON object such as {\"id\": \"...\", \"input\": ...}."));
			}
			else
				set_reject(&rej, NULL, "22023", pstrdup("event is not a JSON object"),
						   pstrdup("Found an array."),
						   pstrdup("Send each event as a JSON object; pass several events as one flat array of objects."));
			ok = false;
		}
		else
		{
			JsonbIterator *it = JsonbIteratorInit(&ev->root);
			JsonbValue	k,
						v;
			JsonbIteratorToken tok;

			pushJsonbValue(&ps, WJB_BEGIN_OBJECT, NULL);
			while (ok && (tok = JsonbIteratorNext(&it, &k, true)) != WJB_DONE)
			{
				const KeySpec *spec;

				if (tok != WJB_KEY)
					continue;
				tok = JsonbIteratorNext(&it, &v, true);
				Assert(tok == WJB_VALUE);
				spec = find_key_spec(k.val.string.val, k.val.string.len);
				if (spec == NULL)
				{
					set_reject(&rej, NULL, "22023",
							   psprintf("unknown field \"%s\"", excerpt(k.val.string.val, k.val.string.len)),
							   pstrdup("btexport.logs has no column for it, and dropping it would lose data."),
							   pstrdup("Put application data under metadata (or input/output), or remove the field; docs/ingest.md lists the fields."));
					rej.field = pnstrdup(k.val.string.val, Min(k.val.string.len, 63));
					ok = false;
					break;
				}
				if (!check_value(spec, &v, &rej))
				{
					ok = false;
					break;
				}
				switch (spec->kind)
				{
					case K_IS_MERGE:
						is_merge = (v.type == jbvBool && v.val.boolean);
						continue;
					case K_LOG_ID:
					case K_IGNORED:
					case K_UNSUPPORTED:
						continue;
					case K_ID:
					case K_STRING_ID:
					case K_CREATED:
						/* null means "not given" for ids and created */
						if (v.type == jbvNull)
							continue;
						if (spec->kind == K_ID)
							id = pnstrdup(v.val.string.val, v.val.string.len);
						break;
					case K_STRING_ARRAY:
						/* null and absent are the same in a text[] column */
						if (v.type == jbvNull)
							continue;
						break;
					default:
						break;
				}
				push_key(&ps, spec->store_as ? spec->store_as : spec->name);
				pushJsonbValue(&ps, WJB_VALUE, &v);
			}
			if (ok)
			{
				if (id == NULL)
				{
					id = random_uuid_text();
					push_key(&ps, "id");
					push_string_value(&ps, id);
				}
				res = pushJsonbValue(&ps, WJB_END_OBJECT, NULL);
			}
		}
	}

	if (ok)
	{
		values[0] = CStringGetTextDatum(id);
		nulls[0] = false;
		values[1] = BoolGetDatum(is_merge);
		nulls[1] = false;
		values[2] = JsonbPGetDatum(JsonbValueToJsonb(res));
		nulls[2] = false;
	}
	else
	{
		if (rej.field)
		{
			values[3] = CStringGetTextDatum(rej.field);
			nulls[3] = false;
		}
		values[4] = CStringGetTextDatum(rej.sqlstate);
		values[5] = CStringGetTextDatum(rej.message);
		values[6] = CStringGetTextDatum(rej.detail);
		values[7] = CStringGetTextDatum(rej.hint);
		nulls[4] = nulls[5] = nulls[6] = nulls[7] = false;
	}
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(tupdesc, values, nulls)));
}

/* ---- folding ---------------------------------------------------------- */

static bool
key_is(JsonbValue *k, const char *name)
{
	return k->val.string.len == strlen(name) &&
		memcmp(k->val.string.val, name, k->val.string.len) == 0;
}

static bool
string_in_list(JsonbValue *list, int n, JsonbValue *s)
{
	int			i;

	for (i = 0; i < n; i++)
	{
		if (list[i].val.string.len == s->val.string.len &&
			memcmp(list[i].val.string.val, s->val.string.val, s->val.string.len) == 0)
			return true;
	}
	return false;
}

/* push the union of two arrays of strings: a's, then b's new ones; no repeats */
static void
push_string_union(JsonbParseState **ps, JsonbContainer *a, JsonbContainer *b)
{
	int			cap = JsonContainerSize(a) + JsonContainerSize(b);
	JsonbValue *seen = palloc(sizeof(JsonbValue) * Max(cap, 1));
	int			n = 0;
	JsonbContainer *src[2];
	int			s;

	src[0] = a;
	src[1] = b;
	pushJsonbValue(ps, WJB_BEGIN_ARRAY, NULL);
	for (s = 0; s < 2; s++)
	{
		JsonbIterator *it = JsonbIteratorInit(src[s]);
		JsonbValue	e;
		JsonbIteratorToken tok;

		while ((tok = JsonbIteratorNext(&it, &e, true)) != WJB_DONE)
		{
			if (tok != WJB_ELEM)
				continue;
			if (e.type == jbvString && string_in_list(seen, n, &e))
				continue;
			if (e.type == jbvString)
				seen[n++] = e;
			pushJsonbValue(ps, WJB_ELEM, &e);
		}
	}
	pushJsonbValue(ps, WJB_END_ARRAY, NULL);
	pfree(seen);
}

/*
 * Deep-merge object b into object a, pushing the result.  At the top level
 * (the row): "created" keeps a's value, "tags" arrays are unioned, and
 * "audit_metadata" is replaced rather than merged (it describes the write).
 */
static JsonbValue *
push_merged_object(JsonbParseState **ps, JsonbContainer *a, JsonbContainer *b, bool top)
{
	JsonbIterator *it;
	JsonbValue	k,
				va,
				vb;
	JsonbIteratorToken tok;

	pushJsonbValue(ps, WJB_BEGIN_OBJECT, NULL);

	/* keys of a, merged with b's value when b has the key */
	it = JsonbIteratorInit(a);
	while ((tok = JsonbIteratorNext(&it, &k, true)) != WJB_DONE)
	{
		JsonbValue *found;

		if (tok != WJB_KEY)
			continue;
		tok = JsonbIteratorNext(&it, &va, true);
		found = getKeyJsonValueFromContainer(b, k.val.string.val, k.val.string.len, &vb);
		pushJsonbValue(ps, WJB_KEY, &k);
		if (found == NULL || (top && key_is(&k, "created")))
			pushJsonbValue(ps, WJB_VALUE, &va);
		else if (top && key_is(&k, "tags") && jbv_is_array(&va) && jbv_is_array(&vb))
			push_string_union(ps, va.val.binary.data, vb.val.binary.data);
		else if (jbv_is_object(&va) && jbv_is_object(&vb) &&
				 !(top && key_is(&k, "audit_metadata")))
			push_merged_object(ps, va.val.binary.data, vb.val.binary.data, false);
		else
			pushJsonbValue(ps, WJB_VALUE, &vb);
	}

	/* keys only b has */
	it = JsonbIteratorInit(b);
	while ((tok = JsonbIteratorNext(&it, &k, true)) != WJB_DONE)
	{
		if (tok != WJB_KEY)
			continue;
		tok = JsonbIteratorNext(&it, &vb, true);
		if (getKeyJsonValueFromContainer(a, k.val.string.val, k.val.string.len, &va) != NULL)
			continue;
		pushJsonbValue(ps, WJB_KEY, &k);
		pushJsonbValue(ps, WJB_VALUE, &vb);
	}

	/* the completed value when this is the outermost object */
	return pushJsonbValue(ps, WJB_END_OBJECT, NULL);
}

/*
 * Replace: the new document, except that it keeps the stored "created" when
 * it has none, and keeps the stored span identity (span_id, root_span_id,
 * span_parents) when it names none of the three.
 */
static JsonbValue *
replace_row(JsonbContainer *state, JsonbContainer *doc)
{
	JsonbParseState *ps = NULL;
	JsonbValue	v,
				tmp;
	bool		keep_created;
	bool		keep_identity;
	static const char *const identity[] = {"span_id", "root_span_id", "span_parents"};
	int			i;

	keep_created = getKeyJsonValueFromContainer(doc, "created", 7, &tmp) == NULL;
	keep_identity = true;
	for (i = 0; i < lengthof(identity); i++)
		if (getKeyJsonValueFromContainer(doc, identity[i], strlen(identity[i]), &tmp) != NULL)
			keep_identity = false;

	pushJsonbValue(&ps, WJB_BEGIN_OBJECT, NULL);
	push_pairs(&ps, doc);
	if (keep_created && getKeyJsonValueFromContainer(state, "created", 7, &v) != NULL)
	{
		push_key(&ps, "created");
		pushJsonbValue(&ps, WJB_VALUE, &v);
	}
	if (keep_identity)
	{
		for (i = 0; i < lengthof(identity); i++)
		{
			if (getKeyJsonValueFromContainer(state, identity[i], strlen(identity[i]), &v) != NULL)
			{
				push_key(&ps, identity[i]);
				pushJsonbValue(&ps, WJB_VALUE, &v);
			}
		}
	}
	return pushJsonbValue(&ps, WJB_END_OBJECT, NULL);
}

/*
 * A new row's first document: the event, plus "created" = now_value (the
 * caller's now(), as a jsonb string) when the event has no "created".
 */
static Jsonb *
first_write(Jsonb *doc, Jsonb *now_value)
{
	JsonbParseState *ps = NULL;
	JsonbValue	v;

	if (now_value == NULL || !JB_ROOT_IS_SCALAR(now_value) ||
		getKeyJsonValueFromContainer(&doc->root, "created", 7, &v) != NULL)
		return doc;
	pushJsonbValue(&ps, WJB_BEGIN_OBJECT, NULL);
	push_pairs(&ps, &doc->root);
	push_key(&ps, "created");
	JsonbExtractScalar(&now_value->root, &v);
	pushJsonbValue(&ps, WJB_VALUE, &v);
	return JsonbValueToJsonb(pushJsonbValue(&ps, WJB_END_OBJECT, NULL));
}

/*
 * btexport._ingest_fold_step(state jsonb, doc jsonb, is_merge boolean, now jsonb) RETURNS jsonb
 * Not strict: a NULL state is "no row yet", and then the document is the row
 * (with created = now when it has none: the first write decides created).
 */
Datum
btexport_ingest_fold_step(PG_FUNCTION_ARGS)
{
	Jsonb	   *state;
	Jsonb	   *doc;
	bool		is_merge;
	JsonbValue *res;

	if (PG_ARGISNULL(1))
	{
		if (PG_ARGISNULL(0))
			PG_RETURN_NULL();
		PG_RETURN_DATUM(PG_GETARG_DATUM(0));
	}
	doc = PG_GETARG_JSONB_P(1);
	if (!JB_ROOT_IS_OBJECT(doc))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("row documents must be JSON objects")));
	if (PG_ARGISNULL(0))
		PG_RETURN_JSONB_P(first_write(doc, PG_ARGISNULL(3) ? NULL : PG_GETARG_JSONB_P(3)));
	state = PG_GETARG_JSONB_P(0);
	is_merge = !PG_ARGISNULL(2) && PG_GETARG_BOOL(2);
	if (!JB_ROOT_IS_OBJECT(state))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("row documents must be JSON objects")));
	if (is_merge)
	{
		JsonbParseState *ps = NULL;

		res = push_merged_object(&ps, &state->root, &doc->root, true);
	}
	else
		res = replace_row(&state->root, &doc->root);
	PG_RETURN_JSONB_P(JsonbValueToJsonb(res));
}

/* btexport._ingest_text_array(jsonb) RETURNS text[]: array of strings -> text[], else NULL */
Datum
btexport_ingest_text_array(PG_FUNCTION_ARGS)
{
	Jsonb	   *j = PG_GETARG_JSONB_P(0);
	JsonbIterator *it;
	JsonbValue	e;
	JsonbIteratorToken tok;
	Datum	   *elems;
	int			n = 0;
	int			cap;

	if (!JB_ROOT_IS_ARRAY(j) || JB_ROOT_IS_SCALAR(j))
		PG_RETURN_NULL();
	cap = JB_ROOT_COUNT(j);
	elems = palloc(sizeof(Datum) * Max(cap, 1));
	it = JsonbIteratorInit(&j->root);
	while ((tok = JsonbIteratorNext(&it, &e, true)) != WJB_DONE)
	{
		if (tok != WJB_ELEM)
			continue;
		if (e.type != jbvString)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("array element is not a string")));
		elems[n++] = PointerGetDatum(cstring_to_text_with_len(e.val.string.val, e.val.string.len));
	}
	PG_RETURN_ARRAYTYPE_P(construct_array(elems, n, TEXTOID, -1, false, TYPALIGN_INT));
}

/* btexport._ingest_random_hex(n int) RETURNS text: n random lowercase hex digits */
Datum
btexport_ingest_random_hex(PG_FUNCTION_ARGS)
{
	PG_RETURN_TEXT_P(cstring_to_text(random_hex(PG_GETARG_INT32(0))));
}

/* ---- numbers in exports ------------------------------------------------ */

/*
 * btexport._json_float8(jsonb) RETURNS float8: a JSON number as a double, the
 * way the exports read scores and metrics: what a JSON parser makes of it
 * (1e-400 is 0), NULL for a number no double holds (1e400; as JSON has no
 * infinity) and for anything but a number.  Spans stored before ingest
 * checked the range (btexport 1.0, or plain INSERTs) then export instead of
 * failing every run with 22003.
 */
Datum
btexport_json_float8(PG_FUNCTION_ARGS)
{
	Jsonb	   *j = PG_GETARG_JSONB_P(0);
	JsonbValue	v;
	double		d;

	if (!JB_ROOT_IS_SCALAR(j) || !JsonbExtractScalar(&j->root, &v) || v.type != jbvNumeric)
		PG_RETURN_NULL();
	d = numeric_as_double(v.val.numeric);
	if (isinf(d) || isnan(d))
		PG_RETURN_NULL();
	PG_RETURN_FLOAT8(d);
}
