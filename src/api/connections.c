/*
 * connections.c — the SQL-callable side of Braintrust connections:
 * btexport._check_braintrust_url (the outbound rules when a connection is
 * saved, the same check every request passes: adapters/braintrust.c),
 * btexport.query(connection, btql) (a BTQL query Braintrust runs, rows as
 * jsonb) and btexport._check_remote_query (a btql export's query).
 */
#include "adapters/btexport.h"

#include "executor/spi.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"

#include "adapters/braintrust.h"
#include "adapters/btql_glue.h"
#include "adapters/error.h"

PG_FUNCTION_INFO_V1(btexport_check_braintrust_url);
PG_FUNCTION_INFO_V1(btexport_query_connection);
PG_FUNCTION_INFO_V1(btexport_check_remote_query);

/* btexport._check_braintrust_url(url text, what text) RETURNS text, for the calling role */
Datum
btexport_check_braintrust_url(PG_FUNCTION_ARGS)
{
	char	   *url;
	const char *what = PG_ARGISNULL(1) ? "Braintrust URL" : text_to_cstring(PG_GETARG_TEXT_PP(1));
	btx_error	err;
	size_t		n;

	if (PG_ARGISNULL(0))
		PG_RETURN_NULL();
	url = text_to_cstring(PG_GETARG_TEXT_PP(0));
	btx_error_clear(&err);
	if (BtxBraintrustCheckUrl(GetOuterUserId(), url, what, true, &err) != 0)
		BtxRaiseCoreError(&err);
	n = strlen(url);
	while (n > 0 && url[n - 1] == '/')
		url[--n] = '\0';
	PG_RETURN_TEXT_P(cstring_to_text(url));
}

/* the rows of one answer into the function's result, as jsonb */
typedef struct QueryOut
{
	ReturnSetInfo *rsinfo;
	btx_buf		text;
	bool		failed;
} QueryOut;

/* the core's row callback: collect the row's JSON text (no PostgreSQL call may throw here) */
static int
keep_row(void *arg, const btx_btapi_row *row, btx_error *err)
{
	QueryOut   *o = arg;

	if (o->text.len > 0)
		btx_buf_putc(&o->text, ',');
	if (btx_btapi_row_json(row->object, &o->text) < 0 || o->text.oom)
	{
		btx_error_set(err, 1, "53200", "out of memory");
		return -1;
	}
	return 0;
}

/* btexport.query(connection text, btql text, tz_offset integer) RETURNS SETOF jsonb */
Datum
btexport_query_connection(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	char	   *name = text_to_cstring(PG_GETARG_TEXT_PP(0));
	char	   *btql = text_to_cstring(PG_GETARG_TEXT_PP(1));
	int			tz = PG_GETARG_INT32(2);
	BtxConnectionOptions opt;
	BtxConnection *c;
	QueryOut	o;
	btx_error	err;
	int			rc;
	Datum		all;

	InitMaterializedSRF(fcinfo, MAT_SRF_USE_EXPECTED_DESC);
	if (tz < -840 || tz > 840)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("tz_offset must be between -840 and 840 minutes"),
				 errhint("Pass minutes with JavaScript's getTimezoneOffset() sign: 480 for UTC-8, -60 for UTC+1.")));
	memset(&opt, 0, sizeof(opt));
	opt.burst = 2;				/* the login and the query at once */
	opt.requests_per_minute = 60;
	opt.max_attempts = 3;		/* interactive: report soon rather than back off for long */
	opt.retry_base_ms = 500;
	SPI_connect();
	c = BtxConnectionOpen(GetOuterUserId(), InvalidOid, name, &opt, CurrentMemoryContext);
	memset(&o, 0, sizeof(o));
	o.rsinfo = rsinfo;
	btx_buf_init(&o.text);
	btx_error_clear(&err);
	rc = btx_btapi_query_tz(c->client, btql, tz, keep_row, &o, &err);
	if (rc != 0)
	{
		btx_buf_free(&o.text);
		BtxConnectionRaise(&err);
	}
	/* one jsonb array parsed by PostgreSQL, then its elements as rows */
	btx_buf_putc(&o.text, ']');
	all = DirectFunctionCall1(jsonb_in, CStringGetDatum(psprintf("[%s", o.text.data ? o.text.data : "]")));
	btx_buf_free(&o.text);
	{
		Jsonb	   *j = DatumGetJsonbP(all);
		JsonbIterator *it = JsonbIteratorInit(&j->root);
		JsonbValue	v;
		JsonbIteratorToken tok;

		while ((tok = JsonbIteratorNext(&it, &v, true)) != WJB_DONE)
		{
			Datum		d;
			bool		isnull = false;

			if (tok != WJB_ELEM)
				continue;
			d = JsonbPGetDatum(JsonbValueToJsonb(&v));
			tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, &d, &isnull);
		}
	}
	SPI_finish();
	return (Datum) 0;
}

/*
 * btexport._check_remote_query(query text, project text): a btql export of a
 * connection sends the query to Braintrust, which runs it.  It must be
 * clause syntax with select:, from: project_logs('<the automation's
 * project>') and filter: only (btexport pages it: core/btapi), and it must
 * compile with btexport's own BTQL compiler, whose columns (names and types)
 * the export's files have, as for a local btql export.
 */
Datum
btexport_check_remote_query(PG_FUNCTION_ARGS)
{
	char	   *query;
	char	   *project;
	btx_btapi_clauses cl;
	btx_error	err;
	BtxBtqlCompiled c;
	bool		same;

	if (PG_ARGISNULL(0) || PG_ARGISNULL(1))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("export type btql needs a query"),
				 errhint("Pass query => 'select: * | from: project_logs(''<project>'') | filter: ...'.")));
	query = text_to_cstring(PG_GETARG_TEXT_PP(0));
	project = text_to_cstring(PG_GETARG_TEXT_PP(1));
	btx_error_clear(&err);
	if (btx_btapi_split_query(query, &cl, &err) != 0)
		BtxRaiseCoreError(&err);
	same = strcmp(cl.project, project) == 0 ||
		(btx_btapi_check_uuid(cl.project) && pg_strcasecmp(cl.project, project) == 0);
	if (!same)
	{
		char	   *p = pstrdup(cl.project);

		btx_btapi_clauses_free(&cl);
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("the query reads project \"%s\", not the automation's project", p),
				 errdetail("An automation exports one project; its query must read that project."),
				 errhint("Use project_logs('%s') in the query (the project as the automation names it).", project)));
	}
	btx_btapi_clauses_free(&cl);
	BtxBtqlCompile(query, true, 0, &c);
	PG_RETURN_VOID();
}
