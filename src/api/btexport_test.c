/*
 * btexport_test.c — btexport.test(): check an automation's configuration end to end
 * without exporting anything: the export query, credentials, and a test
 * object written, read back and deleted under the prefix.  Each step is a
 * result row (step, ok, detail, hint); a failed step never throws.
 */
#include "adapters/btexport.h"

#include "access/htup_details.h"
#include "executor/executor.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/timestamp.h"

#include "adapters/objstore.h"
#include "core/s3/s3client.h"
#include "run/runner.h"

PG_FUNCTION_INFO_V1(btexport_test_internal);

typedef struct TestOut
{
	Tuplestorestate *store;
	TupleDesc	desc;
	bool		all_ok;
} TestOut;

static void
emit(TestOut *out, const char *step, bool ok, const char *detail, const char *hint)
{
	Datum		values[4];
	bool		nulls[4] = {false, false, detail == NULL, hint == NULL};

	values[0] = CStringGetTextDatum(step);
	values[1] = BoolGetDatum(ok);
	values[2] = detail ? CStringGetTextDatum(detail) : (Datum) 0;
	values[3] = hint ? CStringGetTextDatum(hint) : (Datum) 0;
	tuplestore_putvalues(out->store, out->desc, values, nulls);
	if (!ok)
		out->all_ok = false;
}

/* count the rows the next run would export, as the owner; false on error */
static bool
count_pending(BtxAutomation *a, int64 *n, char **detail, char **hint)
{
	MemoryContext old = CurrentMemoryContext;
	ResourceOwner oldowner = CurrentResourceOwner;
	volatile bool ok = true;

	BeginInternalSubTransaction(NULL);
	MemoryContextSwitchTo(old);
	PG_TRY();
	{
		BtxExportQuery q;
		Oid			save_userid;
		int			save_sec;
		char	   *sql;
		int			rc;

		BtxBuildExportQuery(a, false, a->cursor, "18446744073709551615", &q);
		sql = psprintf("SELECT count(*) FROM (%s LIMIT 10000001) q", q.sql);
		GetUserIdAndSecContext(&save_userid, &save_sec);
		SetUserIdAndSecContext(a->owner, save_sec | SECURITY_LOCAL_USERID_CHANGE |
							   SECURITY_RESTRICTED_OPERATION);
		rc = SPI_execute_with_args(sql, q.nargs, q.argtypes, q.values, q.nulls, true, 1);
		SetUserIdAndSecContext(save_userid, save_sec);
		if (rc != SPI_OK_SELECT || SPI_processed != 1)
			elog(ERROR, "count query failed");
		*n = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &(bool) {false}));
		ReleaseCurrentSubTransaction();
		MemoryContextSwitchTo(old);
		CurrentResourceOwner = oldowner;
	}
	PG_CATCH();
	{
		ErrorData  *e;

		MemoryContextSwitchTo(old);
		e = CopyErrorData();
		FlushErrorState();
		RollbackAndReleaseCurrentSubTransaction();
		MemoryContextSwitchTo(old);
		CurrentResourceOwner = oldowner;
		*detail = psprintf("The export query failed as role \"%s\": %s", GetUserNameFromId(a->owner, false), e->message);
		*hint = e->hint ? pstrdup(e->hint) :
			pstrdup("Check that the automation's owner may SELECT from btexport.logs, and the query.");
		ok = false;
	}
	PG_END_TRY();
	return ok;
}

/*
 * The read-back step: HEAD the test object.  A 403 is not a failure: exports
 * never read objects back, so the least-privilege policy of docs/aws-setup.md
 * grants no s3:GetObject (which S3 requires for HEAD); the PUT already
 * succeeded.  Any other error fails the step with S3's explanation.
 */
static void
head_step(TestOut *out, BtxTarget *t, const char *bucket, const char *key)
{
	btx_s3_response resp;
	btx_error	err;

	btx_s3_response_init(&resp);
	if (btx_s3_head_object(BtxTargetClient(t), bucket, key, &resp, &err) == 0)
		emit(out, "head", true, psprintf("Read back s3://%s/%s.", bucket, key), NULL);
	else if (resp.status == 403)
		emit(out, "head", true,
			 psprintf("Not read back: reading s3://%s/%s is denied (HTTP 403), which is fine: exports never read objects, "
					  "so the policy need not allow s3:GetObject.", bucket, key), NULL);
	else
		emit(out, "head", false, psprintf("%s%s%s", err.message, err.detail[0] ? ". " : "", err.detail),
			 err.hint[0] ? err.hint : NULL);
	btx_s3_response_free(&resp);
}

/* btexport._test(a btexport.automations) RETURNS TABLE (step, ok, detail, hint) */
Datum
btexport_test_internal(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	HeapTupleHeader row = PG_GETARG_HEAPTUPLEHEADER(0);
	TestOut		out;
	BtxAutomation a;
	BtxTarget	t;
	char	   *detail = NULL;
	char	   *hint = NULL;
	char	   *etag = NULL;
	char	   *key;
	int64		pending = 0;
	char		stamp[32];
	pg_time_t	now = (pg_time_t) time(NULL);
	struct pg_tm *tm = pg_gmtime(&now);

	InitMaterializedSRF(fcinfo, 0);
	out.store = rsinfo->setResult;
	out.desc = rsinfo->setDesc;
	out.all_ok = true;

	BtxAutomationFromRow(row, &a);

	emit(&out, "configuration", true,
		 psprintf("Export %s as %s to s3://%s/%s (region %s%s%s).", a.export_type, a.format, a.bucket, a.prefix,
				  a.region, a.endpoint ? ", endpoint " : "", a.endpoint ? a.endpoint : ""), NULL);

	SPI_connect();
	if (count_pending(&a, &pending, &detail, &hint))
		emit(&out, "query", true,
			 psprintf(INT64_FORMAT " row%s waiting to be exported.", pending, pending == 1 ? "" : "s"),
			 pending == 0 ? "Nothing to export yet: check the project and the query's filter." : NULL);
	else
		emit(&out, "query", false, detail, hint);

	BtxTargetFromAutomation(&a, &t);
	if (!BtxTargetTryConnect(&t, &detail, &hint))
	{
		emit(&out, "credentials", false, detail, hint);
		emit(&out, "put", false, "Skipped: no credentials.", NULL);
		emit(&out, "head", false, "Skipped: no credentials.", NULL);
		emit(&out, "delete", false, "Skipped: no credentials.", NULL);
		SPI_finish();
		return (Datum) 0;
	}
	emit(&out, "credentials", true, psprintf("Using %s.", t.cred_source), NULL);

	snprintf(stamp, sizeof(stamp), "%04d%02d%02dT%02d%02d%02dZ", tm->tm_year + 1900, tm->tm_mon + 1,
			 tm->tm_mday, tm->tm_hour, tm->tm_min, tm->tm_sec);
	key = psprintf("%sbtexport-test-%s-%d.txt", a.prefix, stamp, MyProcPid);
	{
		const char *body = "btexport connectivity test object; safe to delete\n";

		if (!BtxPutSmall(&t, key, body, strlen(body), &detail, &hint, &etag))
		{
			emit(&out, "put", false, detail, hint);
			emit(&out, "head", false, "Skipped: the test object was not written.", NULL);
			emit(&out, "delete", false, "Skipped: the test object was not written.", NULL);
			BtxTargetClose(&t);
			SPI_finish();
			return (Datum) 0;
		}
		emit(&out, "put", true, psprintf("Wrote s3://%s/%s (ETag %s).", a.bucket, key, etag ? etag : "?"), NULL);
	}
	head_step(&out, &t, a.bucket, key);
	if (BtxDelete(&t, key, &detail, &hint))
		emit(&out, "delete", true, psprintf("Deleted s3://%s/%s.", a.bucket, key), NULL);
	else
		emit(&out, "delete", false, detail, hint);
	BtxTargetClose(&t);
	SPI_finish();
	return (Datum) 0;
}
