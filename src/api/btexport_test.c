/*
 * btexport_test.c — btexport.test(): check an automation's configuration end to end
 * without exporting anything: the export query, credentials, and a test
 * object written, read back and deleted under the prefix.  Each step is a
 * result row (step, ok, detail, hint); a failed step never throws: it runs in
 * a subtransaction, and its error becomes the row's detail ("message.
 * detail") and hint.
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

#include "adapters/braintrust.h"
#include "adapters/error.h"
#include "adapters/objstore.h"
#include "run/source.h"

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

/*
 * Run a step in a subtransaction: a failure is rolled back and reported as
 * the step's columns, through the error boundary (adapters/error.h) —
 * the same SQLSTATE-carrying errors a run records.
 */
static bool
try_step(void (*fn) (void *), void *arg, char **detail, char **hint)
{
	MemoryContext old = CurrentMemoryContext;
	ResourceOwner oldowner = CurrentResourceOwner;
	volatile bool ok = true;

	BeginInternalSubTransaction(NULL);
	MemoryContextSwitchTo(old);
	PG_TRY();
	{
		fn(arg);
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
		BtxErrorDescribe(e, detail, hint);
		FreeErrorData(e);
		ok = false;
	}
	PG_END_TRY();
	return ok;
}

/* what the steps work on */
typedef struct TestCtx
{
	BtxAutomation *a;
	BtxTarget	t;
	int64		pending;
	char	   *key;
	char	   *etag;
	bool		readable;		/* the HEAD read the object (false: denied, HTTP 403) */
	/* a Braintrust connection as the source */
	BtxConnection *conn;
	char		project_id[64];
	int			rows;
} TestCtx;

/* rows the next run would export, as the owner (up to ten million and one) */
static void
step_query(void *arg)
{
	TestCtx    *c = arg;
	BtxSource  *src = BtxSourceFor(c->a);

	c->pending = src->methods->pending(src, 10000001);
}

/* the connection's client (in the top transaction: it outlives the steps' subtransactions) and its login */
static void
step_login(void *arg)
{
	TestCtx    *c = arg;
	btx_error	err;
	BtxConnectionOptions o;

	/* the automation's budget, the three requests at once; one retry: a test reports, it does not wait */
	memset(&o, 0, sizeof(o));
	o.requests_per_minute = c->a->requests_per_minute;
	o.burst = 3;
	o.max_attempts = 2;
	o.retry_base_ms = 200;
	c->conn = BtxConnectionOpen(c->a->owner, c->a->connection_owner, c->a->connection, &o, TopTransactionContext);
	btx_error_clear(&err);
	if (btx_btapi_login(c->conn->client, &err) != 0)
		BtxConnectionRaise(&err);
}

static void
step_project(void *arg)
{
	TestCtx    *c = arg;

	BtxBraintrustProject(c->a, c->conn, c->project_id, NULL);
}

/* the export's one-row query: the project's logs with the automation's select list and filter */
static void
step_probe(void *arg)
{
	TestCtx    *c = arg;

	c->rows = BtxBraintrustProbe(c->a, c->conn, c->project_id);
}

/* login (API URL discovery), project lookup, a one-row query: each with Braintrust's answer and a hint */
static void
remote_steps(TestOut *out, TestCtx *c)
{
	char	   *detail = NULL;
	char	   *hint = NULL;
	BtxAutomation *a = c->a;

	if (!try_step(step_login, c, &detail, &hint))
	{
		emit(out, "login", false, detail, hint);
		emit(out, "project", false, "Skipped: no login.", NULL);
		emit(out, "query", false, "Skipped: no login.", NULL);
		return;
	}
	emit(out, "login", true,
		 c->conn->api_url ? psprintf("Using the API URL %s (no login).", btx_btapi_api_url(c->conn->client)) :
		 psprintf("Logged in at %s: organization \"%s\", API URL %s.", c->conn->app_url,
				  btx_btapi_org_name(c->conn->client), btx_btapi_api_url(c->conn->client)), NULL);
	if (!try_step(step_project, c, &detail, &hint))
	{
		emit(out, "project", false, detail, hint);
		emit(out, "query", false, "Skipped: no project.", NULL);
		return;
	}
	emit(out, "project", true, strcmp(a->remote_project, c->project_id) == 0 ?
		 psprintf("Braintrust project %s.", c->project_id) :
		 psprintf("Braintrust project \"%s\" is %s.", a->remote_project, c->project_id), NULL);
	if (try_step(step_probe, c, &detail, &hint))
		emit(out, "query", true,
			 c->rows > 0 ? "The export's query returned a row." : "The export's query returned no rows.",
			 c->rows > 0 ? NULL : "Nothing to export yet: check that the project has logs, and the query's filter.");
	else
		emit(out, "query", false, detail, hint);
}

static void
step_credentials(void *arg)
{
	BtxTargetConnect(&((TestCtx *) arg)->t);
}

static void
step_put(void *arg)
{
	TestCtx    *c = arg;
	const char *body = "btexport connectivity test object; safe to delete\n";

	c->etag = BtxStorePut(&c->t, c->key, body, strlen(body));
}

/*
 * The read-back.  A 403 is not a failure: exports never read objects back,
 * so the least-privilege policy of docs/aws-setup.md grants no s3:GetObject
 * (which S3 requires for HEAD); the PUT already succeeded.
 */
static void
step_head(void *arg)
{
	TestCtx    *c = arg;

	c->readable = BtxStoreHead(&c->t, c->key);
}

static void
step_delete(void *arg)
{
	BtxStoreDelete(&((TestCtx *) arg)->t, ((TestCtx *) arg)->key);
}

/* the key of the test object: under the prefix, named by the time and the backend */
static char *
test_key(BtxAutomation *a)
{
	pg_time_t	now = (pg_time_t) time(NULL);
	struct pg_tm *tm = pg_gmtime(&now);

	return psprintf("%sbtexport-test-%04d%02d%02dT%02d%02d%02dZ-%d.txt", a->prefix, tm->tm_year + 1900,
					tm->tm_mon + 1, tm->tm_mday, tm->tm_hour, tm->tm_min, tm->tm_sec, MyProcPid);
}

/* btexport._test(a btexport.automations) RETURNS TABLE (step, ok, detail, hint) */
Datum
btexport_test_internal(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	HeapTupleHeader row = PG_GETARG_HEAPTUPLEHEADER(0);
	TestOut		out;
	BtxAutomation a;
	TestCtx		c;
	char	   *detail = NULL;
	char	   *hint = NULL;

	InitMaterializedSRF(fcinfo, 0);
	out.store = rsinfo->setResult;
	out.desc = rsinfo->setDesc;
	out.all_ok = true;

	BtxAutomationFromRow(row, &a);
	memset(&c, 0, sizeof(c));
	c.a = &a;

	emit(&out, "configuration", true,
		 psprintf("Export %s%s%s%s%s as %s to s3://%s/%s (region %s%s%s).", a.export_type,
				  a.connection ? " of Braintrust project \"" : "", a.connection ? a.remote_project : "",
				  a.connection ? "\" through connection " : "", a.connection ? a.connection : "",
				  a.format, a.bucket, a.prefix, a.region, a.endpoint ? ", endpoint " : "", a.endpoint ? a.endpoint : ""),
		 NULL);

	SPI_connect();
	if (a.connection)
		remote_steps(&out, &c);
	else if (try_step(step_query, &c, &detail, &hint))
		emit(&out, "query", true,
			 psprintf(INT64_FORMAT " row%s waiting to be exported.", c.pending, c.pending == 1 ? "" : "s"),
			 c.pending == 0 ? "Nothing to export yet: check the project and the query's filter." : NULL);
	else
		emit(&out, "query", false,
			 psprintf("The export query failed as role \"%s\": %s", GetUserNameFromId(a.owner, false), detail),
			 hint ? hint : "Check that the automation's owner may SELECT from btexport.logs, and the query.");

	BtxTargetFromAutomation(&a, &c.t);
	if (!try_step(step_credentials, &c, &detail, &hint))
	{
		emit(&out, "credentials", false, detail, hint);
		emit(&out, "put", false, "Skipped: no credentials.", NULL);
		emit(&out, "head", false, "Skipped: no credentials.", NULL);
		emit(&out, "delete", false, "Skipped: no credentials.", NULL);
		SPI_finish();
		return (Datum) 0;
	}
	emit(&out, "credentials", true, psprintf("Using %s.", c.t.cred_source), NULL);

	c.key = test_key(&a);
	if (!try_step(step_put, &c, &detail, &hint))
	{
		emit(&out, "put", false, detail, hint);
		emit(&out, "head", false, "Skipped: the test object was not written.", NULL);
		emit(&out, "delete", false, "Skipped: the test object was not written.", NULL);
		BtxTargetClose(&c.t);
		SPI_finish();
		return (Datum) 0;
	}
	emit(&out, "put", true, psprintf("Wrote s3://%s/%s (ETag %s).", a.bucket, c.key, c.etag ? c.etag : "?"), NULL);
	if (try_step(step_head, &c, &detail, &hint))
		emit(&out, "head", true,
			 c.readable ? psprintf("Read back s3://%s/%s.", a.bucket, c.key) :
			 psprintf("Not read back: reading s3://%s/%s is denied (HTTP 403), which is fine: exports never read objects, "
					  "so the policy need not allow s3:GetObject.", a.bucket, c.key), NULL);
	else
		emit(&out, "head", false, detail, hint);
	if (try_step(step_delete, &c, &detail, &hint))
		emit(&out, "delete", true, psprintf("Deleted s3://%s/%s.", a.bucket, c.key), NULL);
	else
		emit(&out, "delete", false, detail, hint);
	BtxTargetClose(&c.t);
	SPI_finish();
	return (Datum) 0;
}
