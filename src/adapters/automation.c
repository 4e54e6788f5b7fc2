/*
 * automation.c — a btexport.automations row decoded into a BtxAutomation, and
 * the S3 target (objstore.h) it names.
 */
#include "adapters/btexport.h"

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "utils/builtins.h"
#include "utils/memutils.h"
#include "utils/typcache.h"

#include "adapters/automation.h"

/*
 * Decode an automations row (a composite datum).  The strings are allocated in
 * a child of the current transaction's memory that is freed, not recycled, when
 * the transaction ends (its sizes keep it off the allocator's freelist): a
 * pointer kept past the end of the transaction then points at memory returned
 * to malloc, which the sanitizer run of the server (test/sanitize) reports as a
 * use after free instead of reading whatever a later transaction put there.
 */
void
BtxAutomationFromRow(HeapTupleHeader row, BtxAutomation *a)
{
	TupleDesc	desc = lookup_rowtype_tupdesc(HeapTupleHeaderGetTypeId(row), HeapTupleHeaderGetTypMod(row));
	HeapTupleData tuple;
	char	   *v;
	MemoryContext cxt = AllocSetContextCreate(CurTransactionContext, "btexport automation", 0, 2048, 8192);
	MemoryContext old = MemoryContextSwitchTo(cxt);

#define COL(name) SPI_getvalue(&tuple, desc, SPI_fnumber(desc, name))
	tuple.t_len = HeapTupleHeaderGetDatumLength(row);
	ItemPointerSetInvalid(&tuple.t_self);
	tuple.t_tableOid = InvalidOid;
	tuple.t_data = row;
	memset(a, 0, sizeof(*a));
	v = COL("id");
	a->id = v ? strtoll(v, NULL, 10) : 0;
	a->name = COL("name");
	{
		bool		isnull;

		a->owner = DatumGetObjectId(SPI_getbinval(&tuple, desc, SPI_fnumber(desc, "owner"), &isnull));
	}
	a->project_id = COL("project_id");
	a->export_type = COL("export_type");
	a->query = COL("query");
	a->bucket = COL("bucket");
	a->prefix = COL("prefix");
	a->region = COL("region");
	a->endpoint = COL("endpoint");
	a->role_arn = COL("role_arn");
	a->external_id = COL("external_id");
	a->credential = COL("credential");
	{
		bool		isnull;
		Datum		d = SPI_getbinval(&tuple, desc, SPI_fnumber(desc, "credential_owner"), &isnull);

		a->credential_owner = isnull ? InvalidOid : DatumGetObjectId(d);
	}
	a->format = COL("format");
	a->batch_size = atoi(COL("batch_size"));
	a->status = COL("status");
	a->cursor = COL("cursor");
	a->compression = COL("compression");
	a->sse = COL("sse");
	a->kms_key_id = COL("kms_key_id");
	v = COL("bucket_owner_full_control");
	a->bucket_owner_full_control = v && v[0] == 't';
	v = COL("part_size");
	a->part_size = v ? strtoll(v, NULL, 10) : 0;
	v = COL("target_file_size");
	a->target_file_size = v ? strtoll(v, NULL, 10) : 0;
	v = COL("max_rows_per_run");
	a->max_rows_per_run = v ? strtoll(v, NULL, 10) : 100000;
	a->trace_idle = COL("trace_idle");
	v = COL("layout");
	a->hive = v && strcmp(v, "hive") == 0;
#undef COL
	ReleaseTupleDesc(desc);
	MemoryContextSwitchTo(old);
}

void
BtxLoadAutomation(int64 id, BtxAutomation *a, bool lock)
{
	int			rc;
	bool		isnull;

	rc = SPI_execute_with_args(lock ? "SELECT a FROM btexport.automations a WHERE id = $1 FOR UPDATE" :
							   "SELECT a FROM btexport.automations a WHERE id = $1",
							   1, (Oid[]) {INT8OID}, (Datum[]) {Int64GetDatum(id)}, NULL, false, 1);
	if (rc != SPI_OK_SELECT || SPI_processed != 1)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("automation %lld does not exist", (long long) id),
				 errhint("See btexport.automations for the automations you own.")));
	BtxAutomationFromRow(DatumGetHeapTupleHeader(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1,
															   &isnull)), a);
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
