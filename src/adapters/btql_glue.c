/*
 * btql_glue.c — BTQL in the server: compilation with ereport-style errors,
 * bind parameters, the project check, and the export query of btql
 * automations.  The SQL-callable functions (validation at create/update time,
 * btexport.query() and btexport.explain()) are in src/api/btql_query.c.
 * The compiler (src/core/btql) is plain C; its SQL never contains user text, and
 * every value, including the output column names, travels as a bind parameter.
 */
#include "adapters/btexport.h"

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"
#include "utils/uuid.h"

#include "adapters/btql_glue.h"
#include "adapters/error.h"
#include "core/btql/btql.h"

/*
 * PostgreSQL plans at most 1664 result columns and 65535 bind parameters, and
 * the row-to-JSON wrapper adds a parameter per column: a larger query is
 * refused before the planner sees it, with a hint (54000).
 */
#define BTX_BTQL_MAX_COLUMNS 1000
#define BTX_BTQL_MAX_PARAMS 60000

/*
 * Compile BTQL (errors through the boundary) and copy the result out of the
 * core's malloc'd memory into palloc'd memory, so nothing leaks when a later
 * step throws.
 */
void
BtxBtqlCompile(const char *text, bool export_mode, int tz_offset, BtxBtqlCompiled *c)
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
		BtxRaiseCoreError(&err);
	if (q.ncolumns > BTX_BTQL_MAX_COLUMNS || q.nparams + q.ncolumns > BTX_BTQL_MAX_PARAMS)
	{
		btx_error_set(&err, 1, "54000", "BTQL query is too large: %d columns, %d literals", q.ncolumns, q.nparams);
		btx_error_detail(&err, "A query may select at most %d columns and use at most %d literals and columns together.",
						 BTX_BTQL_MAX_COLUMNS, BTX_BTQL_MAX_PARAMS);
		btx_error_hint(&err, "Select fewer columns (or a whole object such as metadata), and combine literals with IN (...).");
		btx_btql_query_free(&q);
		BtxRaiseCoreError(&err);
	}
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
char *
BtxBtqlJsonRowSql(BtxBtqlCompiled *c, int first, bool as_jsonb)
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
void
BtxBtqlBind(BtxBtqlCompiled *c, const char *from, const char *to, bool names, BtxExportQuery *q)
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
void
BtxBtqlCheckProjects(BtxBtqlCompiled *c, const char *project_id)
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
	BtxBtqlCompiled c;

	BtxBtqlCompile(a->query, true, 0, &c);
	BtxBtqlCheckProjects(&c, a->project_id);
	if (typed)
	{
		q->sql = psprintf("SELECT * FROM (%s) q", c.sql);
		BtxBtqlBind(&c, from, to, false, q);
		q->colnames = c.colnames;
		q->pivot_column = c.pivot_column;
	}
	else
	{
		q->sql = BtxBtqlJsonRowSql(&c, 3 + c.nparams, false);
		BtxBtqlBind(&c, from, to, true, q);
		q->colnames = NULL;
		q->pivot_column = -1;
	}
}
