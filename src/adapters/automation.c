/*
 * automation.c — a btexport.automations row decoded into a BtxAutomation,
 * the S3 target (objstore.h) it names, and whether it may run now.
 *
 * One table below names every column of btexport.automations: how the
 * runner decodes it (its type, its field) or that only SQL uses it.  A row is
 * decoded by attribute number: the row's tuple descriptor maps each column
 * name to its attribute once per row, each value is taken as a Datum of the
 * column's type and converted without a text round trip, and NULL stays
 * NULL (0 for numbers).  A column of the wrong type, or a column the table
 * lacks, is an error; btexport._automation_columns() shows the table, and
 * sql/settings.sql compares it with the catalog, so a new column cannot be
 * forgotten here.
 */
#include "adapters/btexport.h"

#include "access/htup_details.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "funcapi.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"
#include "utils/typcache.h"

#include "adapters/automation.h"

PG_FUNCTION_INFO_V1(btexport_automation_columns);

typedef enum FieldKind
{
	F_SQL,						/* used in SQL only (not decoded) */
	F_TEXT,						/* text → char * */
	F_OUT,						/* any type → char *, its text output (uuid, xid8) */
	F_INT4,
	F_INT8,
	F_BOOL,
	F_OID,						/* regrole → Oid */
	F_INTERVAL_MS				/* interval → int64 milliseconds (a month as 30 days) */
} FieldKind;

typedef struct AutomationColumn
{
	const char *column;
	Oid			type;			/* the column's type */
	FieldKind	kind;
	size_t		offset;			/* of the field in BtxAutomation */
} AutomationColumn;

#define FIELD(col, type, kind, member) {col, type, kind, offsetof(BtxAutomation, member)}
#define SQL_ONLY(col, type) {col, type, F_SQL, 0}

/* every column of btexport.automations, in table order */
static const AutomationColumn columns[] = {
	FIELD("id", INT8OID, F_INT8, id),
	FIELD("name", TEXTOID, F_TEXT, name),
	SQL_ONLY("description", TEXTOID),
	FIELD("owner", REGROLEOID, F_OID, owner),
	FIELD("project_id", UUIDOID, F_OUT, project_id),
	SQL_ONLY("event_type", TEXTOID),
	FIELD("export_type", TEXTOID, F_TEXT, export_type),
	FIELD("query", TEXTOID, F_TEXT, query),
	SQL_ONLY("s3_path", TEXTOID),
	FIELD("bucket", TEXTOID, F_TEXT, bucket),
	FIELD("prefix", TEXTOID, F_TEXT, prefix),
	FIELD("role_arn", TEXTOID, F_TEXT, role_arn),
	FIELD("external_id", TEXTOID, F_TEXT, external_id),
	FIELD("region", TEXTOID, F_TEXT, region),
	FIELD("endpoint", TEXTOID, F_TEXT, endpoint),
	FIELD("credential", TEXTOID, F_TEXT, credential),
	FIELD("format", TEXTOID, F_TEXT, format),
	SQL_ONLY("interval", TEXTOID),		/* pg_cron: _sync_schedule */
	SQL_ONLY("schedule", TEXTOID),
	SQL_ONLY("period", INTERVALOID),	/* btexport.run's due check */
	FIELD("batch_size", INT4OID, F_INT4, batch_size),
	SQL_ONLY("status", TEXTOID),	/* run/history.c reads it in SQL */
	SQL_ONLY("paused_reason", TEXTOID),
	SQL_ONLY("cron_jobid", INT8OID),
	FIELD("cursor", XID8OID, F_OUT, cursor),
	SQL_ONLY("max_failures", INT4OID),	/* history's pause after failures */
	FIELD("compression", TEXTOID, F_TEXT, compression),
	FIELD("sse", TEXTOID, F_TEXT, sse),
	FIELD("kms_key_id", TEXTOID, F_TEXT, kms_key_id),
	FIELD("bucket_owner_full_control", BOOLOID, F_BOOL, bucket_owner_full_control),
	FIELD("part_size", INT8OID, F_INT8, part_size),
	FIELD("target_file_size", INT8OID, F_INT8, target_file_size),
	FIELD("max_rows_per_run", INT8OID, F_INT8, max_rows_per_run),	/* _window_end; the remote source */
	FIELD("trace_idle", INTERVALOID, F_INTERVAL_MS, trace_idle_ms), /* _window_end; the remote source */
	SQL_ONLY("start_from", TIMESTAMPTZOID),
	FIELD("layout", TEXTOID, F_TEXT, layout),
	SQL_ONLY("created", TIMESTAMPTZOID),
	SQL_ONLY("updated", TIMESTAMPTZOID),
	FIELD("credential_owner", REGROLEOID, F_OID, credential_owner),	/* names are per owner */
	FIELD("partitioning", TEXTOID, F_TEXT, partitioning),	/* Iceberg tables */
	FIELD("connection", TEXTOID, F_TEXT, connection),
	FIELD("connection_owner", REGROLEOID, F_OID, connection_owner),
	FIELD("remote_project", TEXTOID, F_TEXT, remote_project),
	FIELD("remote_project_id", UUIDOID, F_OUT, remote_project_id),
	FIELD("requests_per_minute", INT4OID, F_INT4, requests_per_minute),
	FIELD("source_position", TEXTOID, F_TEXT, source_position),
	SQL_ONLY("cursor_cluster", TEXTOID),	/* btexport._check_cursor (T2's _check_runnable) */
	FIELD("compression_level", INT4OID, F_INT4, compression_level),	/* 0: the codec's default */
};

/* one column's Datum into its field: binary values as they are, uuid and xid8 through their output functions */
static void
decode(const AutomationColumn *c, Datum d, bool isnull, BtxAutomation *a)
{
	char	   *field = (char *) a + c->offset;

	switch (c->kind)
	{
		case F_SQL:
			break;
		case F_TEXT:
			*(char **) field = isnull ? NULL : TextDatumGetCString(d);
			break;
		case F_OUT:
			{
				Oid			fn;
				bool		varlena;

				getTypeOutputInfo(c->type, &fn, &varlena);
				*(char **) field = isnull ? NULL : OidOutputFunctionCall(fn, d);
				break;
			}
		case F_INT4:
			*(int32 *) field = isnull ? 0 : DatumGetInt32(d);
			break;
		case F_INT8:
			*(int64 *) field = isnull ? 0 : DatumGetInt64(d);
			break;
		case F_BOOL:
			*(bool *) field = !isnull && DatumGetBool(d);
			break;
		case F_OID:
			*(Oid *) field = isnull ? InvalidOid : DatumGetObjectId(d);
			break;
		case F_INTERVAL_MS:
			{
				Interval   *iv = isnull ? NULL : DatumGetIntervalP(d);

				*(int64 *) field = iv == NULL ? 0 :
					iv->time / 1000 + ((int64) iv->day + (int64) iv->month * 30) * 86400000;
				break;
			}
	}
}

void
BtxAutomationFromRow(HeapTupleHeader row, BtxAutomation *a)
{
	TupleDesc	desc = lookup_rowtype_tupdesc(HeapTupleHeaderGetTypeId(row), HeapTupleHeaderGetTypMod(row));
	HeapTupleData tuple;
	int			i;
	int			att;

	tuple.t_len = HeapTupleHeaderGetDatumLength(row);
	ItemPointerSetInvalid(&tuple.t_self);
	tuple.t_tableOid = InvalidOid;
	tuple.t_data = row;
	memset(a, 0, sizeof(*a));
	for (i = 0; i < (int) lengthof(columns); i++)
	{
		const AutomationColumn *c = &columns[i];
		Form_pg_attribute attr = NULL;
		bool		isnull;
		Datum		d;

		if (c->kind == F_SQL)
			continue;
		for (att = 0; att < desc->natts; att++)
		{
			attr = TupleDescAttr(desc, att);
			if (!attr->attisdropped && strcmp(NameStr(attr->attname), c->column) == 0)
				break;
		}
		if (att == desc->natts || attr->atttypid != c->type)
			elog(ERROR, "btexport.automations has no column \"%s\" of type %s", c->column, format_type_be(c->type));
		d = heap_getattr(&tuple, att + 1, desc, &isnull);
		decode(c, d, isnull, a);
	}
	ReleaseTupleDesc(desc);
	a->hive = a->layout != NULL && (strcmp(a->layout, "hive") == 0 || strcmp(a->layout, "hive_date") == 0);
	/* 1.0's hive layout (hive_date) named the day partition date, an Athena reserved word */
	a->hive_day = a->layout != NULL && strcmp(a->layout, "hive_date") == 0 ? "date" : "dt";
}

void
BtxLoadAutomation(int64 id, BtxAutomation *a, MemoryContext cxt)
{
	int			rc;
	bool		isnull;
	MemoryContext old;

	rc = SPI_execute_with_args("SELECT a FROM btexport.automations a WHERE id = $1",
							   1, (Oid[]) {INT8OID}, (Datum[]) {Int64GetDatum(id)}, NULL, false, 1);
	if (rc != SPI_OK_SELECT || SPI_processed != 1)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("automation %lld does not exist", (long long) id),
				 errhint("See btexport.automations for the automations you own.")));
	old = MemoryContextSwitchTo(cxt);
	BtxAutomationFromRow(DatumGetHeapTupleHeader(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1,
															   &isnull)), a);
	MemoryContextSwitchTo(old);
}

/*
 * Why the automation cannot run now, raised as the run's error: its owner role
 * was dropped, its owner may no longer export its project, or a setting stored
 * by an older version fails today's validation (btexport._check_runnable, the
 * check test() makes too).
 */
void
BtxCheckRunnable(int64 id)
{
	if (SPI_execute_with_args("SELECT btexport._check_runnable(a) FROM btexport.automations a"
							  " WHERE a.id OPERATOR(pg_catalog.=) $1",
							  1, (Oid[]) {INT8OID}, (Datum[]) {Int64GetDatum(id)}, NULL, false, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not check automation %lld", (long long) id);
}

/* btexport._automation_columns() RETURNS TABLE (column_name text, type regtype, decoded boolean) */
Datum
btexport_automation_columns(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	int			i;

	InitMaterializedSRF(fcinfo, 0);
	for (i = 0; i < (int) lengthof(columns); i++)
	{
		Datum		values[3] = {CStringGetTextDatum(columns[i].column), ObjectIdGetDatum(columns[i].type),
		BoolGetDatum(columns[i].kind != F_SQL)};
		bool		nulls[3] = {false, false, false};

		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	return (Datum) 0;
}

void
BtxTargetFromAutomation(BtxAutomation *a, BtxTarget *t)
{
	memset(t, 0, sizeof(*t));
	t->bucket = a->bucket;
	t->prefix = a->prefix;
	t->region = a->region;
	t->endpoint = a->endpoint;
	t->role_arn = a->role_arn;
	t->external_id = a->external_id;
	t->credential = a->credential;
	t->credential_owner = a->credential_owner;
	t->owner = a->owner;
	t->automation_name = a->name;
	t->session_name = psprintf("btexport-%lld", (long long) a->id);
	t->sse = a->sse;
	t->kms_key_id = a->kms_key_id;
	t->bucket_owner_full_control = a->bucket_owner_full_control;
	t->part_size_kb = a->part_size > 0 ? (int) (a->part_size / 1024) : 0;
}
