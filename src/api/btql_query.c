/*
 * btql_query.c — the SQL-callable BTQL functions: btexport._check_query
 * (validation when an automation is created or updated), btexport.query()
 * and btexport.explain().  Compilation and binding are in
 * src/adapters/btql_glue.c.
 */
#include "adapters/btexport.h"

#include "executor/spi.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/uuid.h"

#include "adapters/btql_glue.h"

PG_FUNCTION_INFO_V1(btexport_check_query);
PG_FUNCTION_INFO_V1(btexport_query);
PG_FUNCTION_INFO_V1(btexport_explain);

/* btexport._check_query(query text, project uuid): compile, check, plan */
Datum
btexport_check_query(PG_FUNCTION_ARGS)
{
	char	   *qtext;
	char	   *project;
	BtxBtqlCompiled c;
	BtxExportQuery q;
	SPIPlanPtr	plan;

	if (PG_ARGISNULL(0) || PG_ARGISNULL(1))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("export type btql needs a query"),
				 errhint("Pass query => 'select: * | from: project_logs(''<project>'') | filter: ...'.")));
	qtext = text_to_cstring(PG_GETARG_TEXT_PP(0));
	project = DatumGetCString(DirectFunctionCall1(uuid_out, PG_GETARG_DATUM(1)));
	SPI_connect();
	BtxBtqlCompile(qtext, true, 0, &c);
	BtxBtqlCheckProjects(&c, project);
	/* the generated SQL must plan: catches type errors now, not at the first run */
	q.sql = BtxBtqlJsonRowSql(&c, 3 + c.nparams, false);
	BtxBtqlBind(&c, "0", "0", true, &q);
	plan = SPI_prepare(q.sql, q.nargs, q.argtypes);
	if (plan == NULL)
		elog(ERROR, "could not plan the compiled query: %s", SPI_result_code_string(SPI_result));
	SPI_freeplan(plan);
	SPI_finish();
	PG_RETURN_VOID();
}

/* btexport.query(btql text, tz_offset integer) RETURNS SETOF jsonb: the query run as the caller */
Datum
btexport_query(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	char	   *qtext = text_to_cstring(PG_GETARG_TEXT_PP(0));
	BtxBtqlCompiled c;
	BtxExportQuery q;
	Portal		portal;

	InitMaterializedSRF(fcinfo, MAT_SRF_USE_EXPECTED_DESC);
	BtxBtqlCompile(qtext, false, PG_NARGS() > 1 ? PG_GETARG_INT32(1) : 0, &c);
	if (c.unbounded)
		ereport(WARNING,
				(errmsg("the query has no condition on created, _xact_id, id or root_span_id"),
				 errdetail("It reads the whole history of the project."),
				 errhint("Add a filter such as created > now() - interval 1 day.")));
	q.sql = BtxBtqlJsonRowSql(&c, c.first_param + c.nparams, true);
	BtxBtqlBind(&c, NULL, NULL, true, &q);
	SPI_connect();
	portal = SPI_cursor_open_with_args(NULL, q.sql, q.nargs, q.argtypes, q.values, NULL, true, 0);
	for (;;)
	{
		uint64		i;

		SPI_cursor_fetch(portal, true, 1000);
		if (SPI_processed == 0)
			break;
		for (i = 0; i < SPI_processed; i++)
		{
			bool		isnull;
			Datum		d = SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1, &isnull);
			MemoryContext old = MemoryContextSwitchTo(rsinfo->econtext->ecxt_per_query_memory);

			tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, &d, &isnull);
			MemoryContextSwitchTo(old);
		}
		SPI_freetuptable(SPI_tuptable);
		CHECK_FOR_INTERRUPTS();
	}
	SPI_cursor_close(portal);
	SPI_finish();
	return (Datum) 0;
}

/* btexport.explain(btql text, export boolean, tz_offset integer) RETURNS text: the generated SQL and its parameters */
Datum
btexport_explain(PG_FUNCTION_ARGS)
{
	char	   *qtext = text_to_cstring(PG_GETARG_TEXT_PP(0));
	bool		export_mode = PG_GETARG_BOOL(1);
	BtxBtqlCompiled c;
	StringInfoData s;
	int			i;

	BtxBtqlCompile(qtext, export_mode, PG_NARGS() > 2 ? PG_GETARG_INT32(2) : 0, &c);
	initStringInfo(&s);
	appendStringInfo(&s, "%s\n", c.sql);
	if (export_mode)
		appendStringInfoString(&s, "-- $1 = cursor (xid8): the run's window starts here\n"
							   "-- $2 = xmin of the run's snapshot (xid8): the window ends before it\n");
	for (i = 0; i < c.nparams; i++)
		appendStringInfo(&s, "-- $%d = %s (%s)\n", c.first_param + i,
						 quote_literal_cstr(c.param_values[i]), c.param_types[i]);
	for (i = 0; i < c.ncolumns; i++)
		appendStringInfo(&s, "-- column c%d: %s %s\n", i + 1, quote_identifier(c.colnames[i]), c.coltypes[i]);
	if (c.unbounded && !export_mode)
		appendStringInfoString(&s, "-- warning: no condition on created, _xact_id, id or root_span_id: reads the whole history\n");
	PG_RETURN_TEXT_P(cstring_to_text(s.data));
}
