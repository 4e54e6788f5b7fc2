/*
 * btql_glue.c — BTQL in the server: the export query of btql automations,
 * validation at create/update time, btexport.query() and btexport.explain().
 * The compiler (src/btql) is plain C; its SQL never contains user text, and
 * every value, including the output column names, travels as a bind parameter.
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"
#include "utils/uuid.h"

#include "btexport.h"
#include "btql.h"
#include "runner.h"

PG_FUNCTION_INFO_V1(btexport_check_query);
PG_FUNCTION_INFO_V1(btexport_query);
PG_FUNCTION_INFO_V1(btexport_explain);

/* a compiled query, copied out of the core's malloc'd result */
typedef struct Compiled
{
	char	   *sql;
	int			nparams;
	char	  **param_values;
	const char **param_types;
	int			first_param;
	int			ncolumns;
	char	  **colnames;
	const char **coltypes;
	int			pivot_column;
	int			nprojects;
	char	  **projects;
	bool		unbounded;
} Compiled;

static void
compile(const char *text, bool export_mode, int tz_offset, Compiled *c)
{
	btx_btql_options opt;
	btx_btql_query q;
	btx_error	err;
	int			i;

	memset(&opt, 0, sizeof(opt));
	opt.export_cursor = export_mode ? 1 : 0;
	if (tz_offset < -840 || tz_offset > 840)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("tz_offset must be between -840 and 840 minutes"),
				 errdetail("tz_offset was %d.", tz_offset),
				 errhint("Pass minutes with JavaScript's getTimezoneOffset() sign: 480 for UTC-8, -60 for UTC+1.")));
	opt.tz_offset_minutes = tz_offset;
	if (btx_btql_compile(text, &opt, &q, &err) != 0)
		ereport(ERROR,
				(errcode(MAKE_SQLSTATE(err.sqlstate[0], err.sqlstate[1], err.sqlstate[2], err.sqlstate[3], err.sqlstate[4])),
				 errmsg("%s", err.message),
				 err.detail[0] ? errdetail_internal("%s", err.detail) : 0,
				 err.hint[0] ? errhint("%s", err.hint) : 0));
	c->sql = pstrdup(q.sql);
	c->nparams = q.nparams;
	c->first_param = q.first_param;
	c->param_values = palloc(sizeof(char *) * (q.nparams + 1));
	c->param_types = palloc(sizeof(char *) * (q.nparams + 1));
	for (i = 0; i < q.nparams; i++)
	{
		c->param_values[i] = pstrdup(q.params[i].value);
		c->param_types[i] = q.params[i].type;	/* static strings */
	}
	c->ncolumns = q.ncolumns;
	c->colnames = palloc(sizeof(char *) * (q.ncolumns + 1));
	c->coltypes = palloc(sizeof(char *) * (q.ncolumns + 1));
	for (i = 0; i < q.ncolumns; i++)
	{
		c->colnames[i] = pstrdup(q.columns[i].name);
		c->coltypes[i] = q.columns[i].type;
	}
	c->pivot_column = q.pivot_column;
	c->nprojects = q.nprojects;
	c->projects = palloc(sizeof(char *) * (q.nprojects + 1));
	for (i = 0; i < q.nprojects; i++)
		c->projects[i] = pstrdup(q.projects[i]);
	c->unbounded = q.unbounded != 0;
	btx_btql_query_free(&q);
}

/*
 * A JSON object per row with the user-visible column names, which are bind
 * parameters $first.. (json_build_object keeps their order; beyond 50
 * columns the pieces are concatenated as jsonb).
 */
static char *
json_row_sql(Compiled *c, int first, bool as_jsonb)
{
	StringInfoData s;
	int			i,
				k = 0;
	bool		chunks = c->ncolumns > 50;

	initStringInfo(&s);
	appendStringInfoString(&s, "SELECT (");
	if (c->ncolumns == 0)
		appendStringInfoString(&s, "'{}'::pg_catalog.jsonb");
	for (i = 0; i < c->ncolumns; i++)
	{
		if (i == c->pivot_column)
			continue;
		if (k % 50 == 0)
		{
			if (k > 0)
				appendStringInfoString(&s, ") OPERATOR(pg_catalog.||) ");
			appendStringInfoString(&s, chunks || as_jsonb || c->pivot_column >= 0 ? "pg_catalog.jsonb_build_object(" :
								   "pg_catalog.json_build_object(");
		}
		else
			appendStringInfoString(&s, ", ");
		appendStringInfo(&s, "$%d::pg_catalog.text, q.c%d", first + i, i + 1);
		k++;
	}
	if (k > 0)
		appendStringInfoChar(&s, ')');
	if (c->pivot_column >= 0)
		appendStringInfo(&s, " OPERATOR(pg_catalog.||) COALESCE(q.c%d, '{}'::pg_catalog.jsonb)", c->pivot_column + 1);
	appendStringInfo(&s, ")%s FROM (%s) q", as_jsonb ? "::pg_catalog.jsonb" : "::pg_catalog.text", c->sql);
	return s.data;
}

/* bind values: [window,] user parameters, then the column names */
static void
bind_all(Compiled *c, const char *from, const char *to, bool names, BtxExportQuery *q)
{
	int			n = (from ? 2 : 0) + c->nparams + (names ? c->ncolumns : 0);
	int			i,
				k = 0;

	q->nargs = n;
	q->argtypes = palloc(sizeof(Oid) * (n + 1));
	q->values = palloc(sizeof(Datum) * (n + 1));
	q->nulls = NULL;
	if (from)
	{
		q->argtypes[k] = TEXTOID;
		q->values[k++] = CStringGetTextDatum(from);
		q->argtypes[k] = TEXTOID;
		q->values[k++] = CStringGetTextDatum(to);
	}
	for (i = 0; i < c->nparams; i++)
	{
		q->argtypes[k] = TEXTOID;
		q->values[k++] = CStringGetTextDatum(c->param_values[i]);
	}
	if (names)
		for (i = 0; i < c->ncolumns; i++)
		{
			q->argtypes[k] = TEXTOID;
			q->values[k++] = CStringGetTextDatum(c->colnames[i]);
		}
}

/* every project_logs() argument must be the automation's project */
static void
check_projects(Compiled *c, const char *project_id)
{
	int			i;

	for (i = 0; i < c->nprojects; i++)
	{
		int			rc = SPI_execute_with_args("SELECT p.id::text, p.name FROM btexport.projects p"
											   " WHERE p.id::pg_catalog.text OPERATOR(pg_catalog.=) pg_catalog.lower($1)"
											   " OR p.name OPERATOR(pg_catalog.=) $1",
											   1, (Oid[]) {TEXTOID}, (Datum[]) {CStringGetTextDatum(c->projects[i])},
											   NULL, true, 1);

		if (rc != SPI_OK_SELECT || SPI_processed == 0)
			ereport(ERROR,
					(errcode(ERRCODE_UNDEFINED_OBJECT),
					 errmsg("project \"%s\" in the query does not exist", c->projects[i]),
					 errhint("Use the automation's project in project_logs('<id or name>').")));
		if (strcmp(SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1), project_id) != 0)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("the query reads project \"%s\", not the automation's project", c->projects[i]),
					 errdetail("An automation exports one project; its query must read that project."),
					 errhint("Use project_logs('%s') in the query, or create the automation for project \"%s\".",
							 project_id, c->projects[i])));
	}
}

void
BtxBuildBtqlExportQuery(BtxAutomation *a, bool typed, const char *from, const char *to, BtxExportQuery *q)
{
	Compiled	c;

	compile(a->query, true, 0, &c);
	check_projects(&c, a->project_id);
	if (typed)
	{
		q->sql = psprintf("SELECT * FROM (%s) q", c.sql);
		bind_all(&c, from, to, false, q);
		q->colnames = c.colnames;
	}
	else
	{
		q->sql = json_row_sql(&c, 3 + c.nparams, false);
		bind_all(&c, from, to, true, q);
		q->colnames = NULL;
	}
}

/* btexport._check_query(query text, project uuid): compile, check, plan */
Datum
btexport_check_query(PG_FUNCTION_ARGS)
{
	char	   *qtext;
	char	   *project;
	Compiled	c;
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
	compile(qtext, true, 0, &c);
	check_projects(&c, project);
	/* the generated SQL must plan: catches type errors now, not at the first run */
	q.sql = json_row_sql(&c, 3 + c.nparams, false);
	bind_all(&c, "0", "0", true, &q);
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
	Compiled	c;
	BtxExportQuery q;
	Portal		portal;

	InitMaterializedSRF(fcinfo, MAT_SRF_USE_EXPECTED_DESC);
	compile(qtext, false, PG_NARGS() > 1 ? PG_GETARG_INT32(1) : 0, &c);
	if (c.unbounded)
		ereport(WARNING,
				(errmsg("the query has no condition on created, _xact_id, id or root_span_id"),
				 errdetail("It reads the whole history of the project."),
				 errhint("Add a filter such as created > now() - interval 1 day.")));
	q.sql = json_row_sql(&c, c.first_param + c.nparams, true);
	bind_all(&c, NULL, NULL, true, &q);
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
	Compiled	c;
	StringInfoData s;
	int			i;

	compile(qtext, export_mode, PG_NARGS() > 2 ? PG_GETARG_INT32(2) : 0, &c);
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
