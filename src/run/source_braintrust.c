/*
 * source_braintrust.c — a project's logs in Braintrust, read through its
 * API (a connection: adapters/braintrust.h, the btapi core), as a run's
 * source.  The user guide is docs/braintrust-source.md.
 *
 * Position.  The btapi position ({"xact_id", "horizon", "pagination_key"},
 * core/btapi/btapi.h): every version with _xact_id <= xact_id has been
 * exported; the window (xact_id, horizon] is read in _pagination_key order
 * and pagination_key is the last key exported.  It is text of its own
 * (BTX_POSITION_TEXT): automations.source_position, runs.position_from and
 * position_to, committed by run/history.c in the run's commit, only from
 * where the run started — exactly as the span store's cursor.  The window's
 * end is known only once read: plan leaves run->to NULL and reached() sets
 * it.  A run reads at most one window (the rest of the window an earlier
 * run began, or a new one) and at most max_rows_per_run of its rows; when
 * it stops early, or finished a window an earlier run began, run->more asks
 * for the next run at once.
 *
 * Row mapping: one definition for both sources.  A page's rows become rows
 * of btexport.logs' shape in the temporary table pg_temp.btexport_staged
 * (btexport._stage_api_rows: Braintrust's row fields into the same columns
 * btexport.log writes), and the exported rows come from
 * btexport._export_spans_staged / _export_traces_staged, which the install
 * script derives from _export_spans / _export_traces by changing the table
 * they read (sql/install/code/62_remote.sql): the same columns and values
 * as a local export of the same spans, by construction.
 *
 * Traces.  A trace's row needs all of its spans.  The window's pages only
 * yield the ids of the traces it touches (pg_temp.btexport_staged_roots).
 * Once trace_idle has passed since the window's first page answered, the
 * spans of those traces are fetched from the API in batches of TRACE_BATCH
 * traces (filter: root_span_id = '...' or ..., paged like a window), and
 * each batch is mapped like a local trace export.  A trace with a span
 * newer than the window's horizon was written after the window was fixed
 * (within trace_idle of the fetch): it is left out, and exported by the
 * later window that holds that span.  So a trace is exported once it has
 * been idle for trace_idle, over all its spans, as the span store's trace
 * export does.
 *
 * btql.  The user's query (clause syntax: select, from, filter) is sent to
 * Braintrust, which runs it; btexport adds the window's conjuncts, the sort
 * and the limit, and the fields the pager reads to the select list.  The
 * columns and their types are those btexport's own compiler gives the query
 * (the columns of a local btql export); each page's values are converted to
 * them by name (btexport._api_* functions).
 *
 * Deletes.  A row whose current version is {id, _object_delete: true} is
 * counted and skipped: like a span deleted from btexport.logs, it is not
 * written, and the files already exported keep its earlier versions.  The
 * position moves past it, so it never stops a run.
 *
 * Memory.  One page at a time: the client's answer (at most its size cap)
 * and its rows as one JSON text; the staged rows are in a temporary table
 * (temp_buffers, then disk), the trace ids too.  Nothing in memory grows
 * with the backlog.
 */
#include "adapters/btexport.h"

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "storage/latch.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"

#include "adapters/braintrust.h"
#include "adapters/btql_glue.h"
#include "adapters/error.h"
#include "run/source.h"

#define TRACE_BATCH 100			/* traces whose spans one fetch asks for */
#define FETCH_ROWS 1000			/* staged rows handed over per batch */
#define MAX_XID8 "18446744073709551615"

typedef enum Phase
{
	PH_WINDOW,					/* reading the window's pages */
	PH_TRACES,					/* traces: fetching and exporting the touched traces */
	PH_DONE
} Phase;

typedef struct RemoteState
{
	/* in run->cxt (read after an abort by progress()) */
	int64		requests;		/* API requests of this run */

	/* T3 */
	BtxAutomation *a;
	BtxConnection *conn;
	BtxRowShape shape;
	char		project_id[64];
	btx_btapi_position pos;		/* the resume point after the rows read */
	bool		resumed;		/* the run continues a window an earlier run began */
	bool		complete;		/* the window was read to its end */
	char		window_hi[BTX_BTAPI_XACT_LEN];	/* its horizon */
	int			page_size;
	int64		max_rows;
	int64		rows_read;		/* window rows read, deleted ones included */
	int64		deleted;
	Phase		phase;
	int			nestlevel;		/* pinned settings while mapping */

	/* the page being read: its rows as one JSON array (malloc'd, freed with the context) */
	btx_buf		page;
	int			page_rows;
	bool		roots_only;		/* keep only root_span_id strings */
	bool		count_rows;		/* count towards max_rows (the window's pages) */

	/* btql */
	BtxBtqlCompiled btql;
	char	   *select;
	char	   *filter;

	/* the rows handed over */
	Portal		portal;
	SPITupleTable *batch;
	char	  **colnames;
	int			pivot;			/* the btql pivot column of the rows handed over, -1: none */

	/* traces */
	TimestampTz first_answer;	/* the window's first answer arrived */
	char	   *last_root;		/* the last trace id fetched */
	int64		roots;			/* window rows with a trace id */
} RemoteState;

/* ------------------------------------------------------------------------
 * the page buffer and the row callback (called by the core: never throws)
 * ------------------------------------------------------------------------ */

static void
page_free(void *arg)
{
	btx_buf_free(&((RemoteState *) arg)->page);
}

static int
collect_row(void *arg, const btx_btapi_row *row, btx_error *err)
{
	RemoteState *st = arg;
	int			stop = 0;

	if (st->count_rows)
	{
		st->rows_read++;
		stop = st->rows_read >= st->max_rows ? 1 : 0;
	}
	if (row->deleted)
	{
		st->deleted++;
		return stop;
	}
	if (st->roots_only)
	{
		size_t		mark = st->page.len;
		int			r;

		if (st->page_rows > 0)
			btx_buf_putc(&st->page, ',');
		r = btx_btapi_row_string_json(row->object, "root_span_id", &st->page);
		if (r < 0)
			goto oom;
		if (r == 0 && st->page.data)
		{
			st->page.len = mark;	/* no trace id: take the comma back */
			st->page.data[mark] = '\0';
		}
		else
			st->page_rows++;
		return stop;
	}
	if (st->page_rows++ > 0)
		btx_buf_putc(&st->page, ',');
	if (btx_btapi_row_json(row->object, &st->page) < 0 || st->page.oom)
		goto oom;
	return stop;
oom:
	btx_error_set(err, 1, "53200", "out of memory");
	btx_error_detail(err, "A page of Braintrust rows did not fit in memory.");
	btx_error_hint(err, "Lower the automation's batch size.");
	return -1;
}

/*
 * Read one page (at pos, with this select list and filter) into st->page as
 * a JSON array; true when the window ended with it.  The client's request
 * count is taken before an error is raised.
 */
static bool
read_page(RemoteState *st, const char *select, const char *filter, btx_btapi_position *pos, int *rows)
{
	btx_btapi_scan_options o;
	btx_btapi_scan_result res;
	btx_error	err;
	int			rc;

	btx_buf_reset(&st->page);
	btx_buf_putc(&st->page, '[');
	st->page_rows = 0;
	memset(&o, 0, sizeof(o));
	o.project_id = st->project_id;
	o.select = select;
	o.filter = filter;
	o.page_size = st->page_size;
	o.max_pages = 1;
	o.on_row = collect_row;
	o.arg = st;
	btx_error_clear(&err);
	rc = btx_btapi_scan(st->conn->client, &o, pos, &res, &err);
	st->requests = btx_btapi_stats_get(st->conn->client)->requests;
	if (rc != 0)
		BtxConnectionRaise(&err);
	st->page_size = res.page_size;
	btx_buf_putc(&st->page, ']');
	if (st->page.oom)
		ereport(ERROR, (errcode(ERRCODE_OUT_OF_MEMORY), errmsg("out of memory")));
	*rows = st->page_rows;
	return res.complete != 0;
}

/* ------------------------------------------------------------------------
 * staging and mapping (SQL in sql/install/code/62_remote.sql)
 * ------------------------------------------------------------------------ */

static void
run_sql(const char *sql, int nargs, Oid *types, Datum *values, int expect)
{
	int			rc = SPI_execute_with_args(sql, nargs, types, values, NULL, false, 0);

	if (rc != expect)
		elog(ERROR, "could not run \"%s\": %s", sql, SPI_result_code_string(rc));
}

/* the temporary tables of this backend: staged spans, trace ids */
static void
create_staging(void)
{
	run_sql("CREATE TEMP TABLE IF NOT EXISTS btexport_staged"
			" (LIKE btexport.logs INCLUDING DEFAULTS INCLUDING GENERATED INCLUDING INDEXES)",
			0, NULL, NULL, SPI_OK_UTILITY);
	run_sql("CREATE TEMP TABLE IF NOT EXISTS btexport_staged_roots (root_span_id text PRIMARY KEY)",
			0, NULL, NULL, SPI_OK_UTILITY);
	run_sql("TRUNCATE pg_temp.btexport_staged, pg_temp.btexport_staged_roots", 0, NULL, NULL, SPI_OK_UTILITY);
}

/* the page's rows into pg_temp.btexport_staged */
static void
stage_page(RemoteState *st)
{
	run_sql("SELECT btexport._stage_api_rows($1::pg_catalog.jsonb, $2::pg_catalog.uuid)", 2,
			(Oid[]) {TEXTOID, TEXTOID},
			(Datum[]) {CStringGetTextDatum(st->page.data), CStringGetTextDatum(st->project_id)}, SPI_OK_SELECT);
}

/* TimeZone UTC and search_path pg_catalog, pg_temp while the mapping runs (as a local export) */
static void
pin_settings(RemoteState *st)
{
	st->nestlevel = NewGUCNestLevel();
	BtxSourcePinSettings();
}

static void
open_portal(RemoteState *st, const char *sql, int nargs, Oid *types, Datum *values)
{
	/* not read-only: a new snapshot, which sees the rows just staged */
	st->portal = SPI_cursor_open_with_args(NULL, sql, nargs, types, values, NULL, false, 0);
}

static void
close_portal(RemoteState *st)
{
	if (st->batch)
		SPI_freetuptable(st->batch);
	st->batch = NULL;
	if (st->portal)
		SPI_cursor_close(st->portal);
	st->portal = NULL;
}

/* the staged spans (or traces) as the export's rows, in the sink's shape */
static void
open_mapping(RemoteState *st, const char *fn)
{
	char	   *call = psprintf("btexport.%s($1::pg_catalog.uuid, '0'::pg_catalog.xid8, '" MAX_XID8 "'::pg_catalog.xid8)", fn);
	char	   *sql = st->shape == BTX_ROWS_TYPED ? psprintf("SELECT * FROM %s", call) :
		psprintf("SELECT pg_catalog.row_to_json(e)::pg_catalog.text FROM %s e", call);

	st->colnames = NULL;
	st->pivot = -1;
	open_portal(st, sql, 1, (Oid[]) {TEXTOID}, (Datum[]) {CStringGetTextDatum(st->project_id)});
}

/* the next batch of the open portal; false when it is exhausted (and closed) */
static bool
fetch_batch(RemoteState *st, BtxRowBatch *batch)
{
	if (st->batch)
		SPI_freetuptable(st->batch);
	st->batch = NULL;
	CHECK_FOR_INTERRUPTS();
	SPI_cursor_fetch(st->portal, true, FETCH_ROWS);
	if (SPI_processed == 0)
	{
		close_portal(st);
		return false;
	}
	st->batch = SPI_tuptable;
	batch->desc = SPI_tuptable->tupdesc;
	batch->colnames = st->colnames;
	batch->pivot = st->pivot;
	batch->rows = SPI_tuptable->vals;
	batch->n = SPI_processed;
	return true;
}

/* ------------------------------------------------------------------------
 * btql: the user's select list and filter, its columns
 * ------------------------------------------------------------------------ */

/* is name one of the query's output columns? */
static bool
has_column(BtxBtqlCompiled *c, const char *name)
{
	int			i;

	for (i = 0; i < c->ncolumns; i++)
		if (strcmp(c->colnames[i], name) == 0)
			return true;
	return false;
}

/*
 * The query's columns (btexport's compiler, as for a local btql export), the
 * select list sent (the user's, plus the fields the pager reads when the
 * user did not select them) and the filter.
 */
static void
prepare_btql(BtxAutomation *a, BtxBtqlCompiled *c, char **select, char **filter)
{
	static const char *const pager_fields[] = {"_xact_id", "_pagination_key", "id", "_object_delete", NULL};
	btx_btapi_clauses cl;
	btx_error	err;
	BtxBtqlCompiled plain;
	int			i;

	/* the export's columns (with the _xact_id an export adds), and the user's own names */
	BtxBtqlCompile(a->query, true, 0, c);
	BtxBtqlCompile(a->query, false, 0, &plain);
	btx_error_clear(&err);
	if (btx_btapi_split_query(a->query, &cl, &err) != 0)
		BtxRaiseCoreError(&err);
	*filter = cl.filter ? pstrdup(cl.filter) : NULL;
	*select = NULL;
	/* "select: *" (or none) is sent as "*": every field comes, the pager's too */
	if (cl.select && strspn(cl.select, " \t\r\n*") != strlen(cl.select))
	{
		StringInfoData s;
		const char *p = cl.select;
		size_t		n = strlen(p);

		while (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n')
			p++, n--;
		while (n > 0 && (p[n - 1] == ' ' || p[n - 1] == '\t' || p[n - 1] == '\r' || p[n - 1] == '\n'))
			n--;
		initStringInfo(&s);
		appendBinaryStringInfo(&s, p, (int) n);
		/* the fields the pager reads, unless the query names them itself (BTQL refuses a name twice) */
		for (i = 0; pager_fields[i]; i++)
			if (!has_column(&plain, pager_fields[i]))
				appendStringInfo(&s, ", %s", pager_fields[i]);
		*select = s.data;
	}
	btx_btapi_clauses_free(&cl);
}

/* the SQL cast of one value of the page to a column type of the compiler */
static void
append_cell(StringInfo s, const char *type, int param)
{
	const char *v = psprintf("(r.v OPERATOR(pg_catalog.->) $%d::pg_catalog.text)", param);

	if (strcmp(type, "text") == 0)
		appendStringInfo(s, "btexport._api_text(%s)", v);
	else if (strcmp(type, "jsonb") == 0)
		appendStringInfoString(s, v);
	else if (strcmp(type, "text[]") == 0)
		appendStringInfo(s, "btexport._api_text_array(%s)", v);
	else if (strcmp(type, "float8") == 0 || strcmp(type, "int8") == 0 || strcmp(type, "bool") == 0 ||
			 strcmp(type, "timestamptz") == 0 || strcmp(type, "date") == 0 || strcmp(type, "interval") == 0)
		appendStringInfo(s, "btexport._api_%s(%s)", type, v);
	else
		appendStringInfo(s, "%s", v);	/* a type the compiler adds later: its JSON */
}

/*
 * The page as the query's columns c1..cN: $1 the page (a JSON array), $2..
 * the column names (the keys of Braintrust's rows, and the names of the JSON
 * Lines objects: BtxBtqlJsonRowSql binds them the same way).
 */
static char *
btql_page_sql(BtxBtqlCompiled *c)
{
	StringInfoData s;
	int			i;

	initStringInfo(&s);
	appendStringInfoString(&s, "SELECT ");
	for (i = 0; i < c->ncolumns; i++)
	{
		if (i > 0)
			appendStringInfoString(&s, ", ");
		append_cell(&s, c->coltypes[i], 2 + i);
		appendStringInfo(&s, " AS c%d", i + 1);
	}
	if (c->ncolumns == 0)
		appendStringInfoString(&s, "NULL::pg_catalog.jsonb AS c1");
	appendStringInfoString(&s, " FROM pg_catalog.jsonb_array_elements($1::pg_catalog.jsonb) WITH ORDINALITY r(v, n)"
						   " ORDER BY r.n");
	return s.data;
}

static void
open_btql_page(RemoteState *st)
{
	BtxBtqlCompiled c = st->btql;
	int			n = 1 + c.ncolumns;
	Oid		   *types = palloc(sizeof(Oid) * n);
	Datum	   *values = palloc(sizeof(Datum) * n);
	char	   *sql;
	int			i;

	c.sql = btql_page_sql(&st->btql);
	c.nparams = 0;
	types[0] = TEXTOID;
	values[0] = CStringGetTextDatum(st->page.data);
	for (i = 0; i < c.ncolumns; i++)
	{
		types[1 + i] = TEXTOID;
		values[1 + i] = CStringGetTextDatum(c.colnames[i]);
	}
	if (st->shape == BTX_ROWS_TYPED)
	{
		sql = psprintf("SELECT * FROM (%s) q", c.sql);
		st->colnames = c.colnames;
		st->pivot = c.pivot_column;	/* its members join each JSON Lines row, as in a local export */
	}
	else
	{
		sql = BtxBtqlJsonRowSql(&c, 2, false);
		st->colnames = NULL;
		st->pivot = -1;
	}
	open_portal(st, sql, n, types, values);
}

/* ------------------------------------------------------------------------
 * the source's methods
 * ------------------------------------------------------------------------ */

/* T2: the committed position; the window's end is learnt while reading (reached) */
static void
braintrust_plan(BtxSource *src, BtxRun *run)
{
	BtxAutomation *a = src->automation;

	run->from = MemoryContextStrdup(run->cxt, a->source_position ? a->source_position : "");
	run->to = NULL;
	run->more = false;
}

/* the connection of automation a, with its request budget, in cxt */
BtxConnection *
BtxBraintrustConnect(BtxAutomation *a, long first_wait_ms, MemoryContext cxt)
{
	BtxConnectionOptions o;

	memset(&o, 0, sizeof(o));
	o.requests_per_minute = a->requests_per_minute;
	o.burst = 1;
	o.first_wait_ms = first_wait_ms;
	return BtxConnectionOpen(a->owner, a->connection_owner, a->connection, &o, cxt);
}

/*
 * The Braintrust project id of automation a: pinned, given as an id, or
 * looked up by name (logging in first).  *requests (when not NULL) gets the
 * client's request count, also when it fails.
 */
void
BtxBraintrustProject(BtxAutomation *a, BtxConnection *c, char out[64], int64 *requests)
{
	btx_error	err;
	int			rc;

	if (a->remote_project_id || btx_btapi_check_uuid(a->remote_project))
	{
		/* no lookup; the login (API URL discovery) is the first request all the same */
		btx_error_clear(&err);
		rc = btx_btapi_login(c->client, &err);
		if (requests)
			*requests = btx_btapi_stats_get(c->client)->requests;
		if (rc != 0)
			BtxConnectionRaise(&err);
	}
	if (a->remote_project_id)
	{
		strlcpy(out, a->remote_project_id, 64);
		return;
	}
	if (btx_btapi_check_uuid(a->remote_project))
	{
		strlcpy(out, a->remote_project, 64);
		for (char *p = out; *p; p++)
			*p = pg_tolower((unsigned char) *p);
		return;
	}
	btx_error_clear(&err);
	rc = btx_btapi_find_project(c->client, a->remote_project, out, &err);
	if (requests)
		*requests = btx_btapi_stats_get(c->client)->requests;
	if (rc != 0)
		BtxConnectionRaise(&err);
}

static int
count_probe_row(void *arg, const btx_btapi_row *row, btx_error *err)
{
	(*(int *) arg)++;
	return 1;
}

/*
 * btexport.test's one-row query: the first page of the export's query (its
 * select list and filter) with a limit of 1; the rows it returned (0 or 1).
 */
int
BtxBraintrustProbe(BtxAutomation *a, BtxConnection *c, const char *project_id)
{
	BtxBtqlCompiled compiled;
	btx_btapi_scan_options o;
	btx_btapi_scan_result res;
	btx_btapi_position pos;
	btx_error	err;
	char	   *select = NULL;
	char	   *filter = NULL;
	int			rows = 0;

	if (strcmp(a->export_type, "btql") == 0)
		prepare_btql(a, &compiled, &select, &filter);
	memset(&o, 0, sizeof(o));
	memset(&pos, 0, sizeof(pos));
	o.project_id = project_id;
	o.select = select;
	o.filter = filter;
	o.page_size = 1;
	o.page_size_floor = 1;
	o.max_pages = 1;
	o.on_row = count_probe_row;
	o.arg = &rows;
	btx_error_clear(&err);
	if (btx_btapi_scan(c->client, &o, &pos, &res, &err) != 0)
		BtxConnectionRaise(&err);
	return rows;
}

static void
braintrust_open(BtxSource *src, const BtxRun *run, BtxRowShape shape)
{
	BtxAutomation *a = src->automation;
	RemoteState *st = MemoryContextAllocZero(run->cxt, sizeof(RemoteState));
	MemoryContextCallback *cb = palloc0(sizeof(MemoryContextCallback));
	btx_error	err;
	int64		since = BtxHistoryMsSincePreviousRun(run);
	long		interval = a->requests_per_minute > 0 ? 60000L / a->requests_per_minute : 0;

	src->state = st;
	st->a = a;
	st->shape = shape;
	st->max_rows = a->max_rows_per_run > 0 ? a->max_rows_per_run : 100000;
	st->page_size = Min(Max(a->batch_size, 1), BTX_BTAPI_MAX_PAGE);
	btx_buf_init(&st->page);
	cb->func = page_free;
	cb->arg = st;
	MemoryContextRegisterResetCallback(CurrentMemoryContext, cb);
	btx_error_clear(&err);
	if (btx_btapi_position_parse(run->from, &st->pos, &err) != 0)
	{
		btx_error_hint(&err, "Start the automation over with btexport.rewind('%s', NULL).", a->name);
		BtxRaiseCoreError(&err);
	}
	st->resumed = st->pos.xact_hi[0] != '\0';
	/* the budget across runs: the first request keeps its distance from the previous run's last */
	st->conn = BtxBraintrustConnect(a, since >= 0 && since < interval ? interval - (long) since : 0,
									CurrentMemoryContext);
	BtxBraintrustProject(a, st->conn, st->project_id, &st->requests);
	if (a->remote_project_id == NULL)
		a->remote_project_id = MemoryContextStrdup(run->cxt, st->project_id);
	if (strcmp(a->export_type, "btql") == 0)
		prepare_btql(a, &st->btql, &st->select, &st->filter);
	create_staging();
	pin_settings(st);
	st->phase = PH_WINDOW;
}

/* spans and btql: page by page, each page's rows handed over */
static bool
next_window_page(RemoteState *st, BtxRowBatch *batch)
{
	bool		btql = strcmp(st->a->export_type, "btql") == 0;

	for (;;)
	{
		int			rows;
		bool		ended;

		if (st->portal && fetch_batch(st, batch))
			return true;
		if (st->complete || st->rows_read >= st->max_rows)
			return false;
		if (!btql)
			run_sql("TRUNCATE pg_temp.btexport_staged", 0, NULL, NULL, SPI_OK_UTILITY);
		st->count_rows = true;
		st->roots_only = false;
		ended = read_page(st, btql ? (st->select ? st->select : NULL) : NULL, btql ? st->filter : NULL,
						  &st->pos, &rows);
		st->complete = ended;
		if (st->pos.xact_hi[0])
			strlcpy(st->window_hi, st->pos.xact_hi, sizeof(st->window_hi));
		if (rows == 0)
			continue;
		if (btql)
			open_btql_page(st);
		else
		{
			stage_page(st);
			open_mapping(st, "_export_spans_staged");
		}
	}
}

/* traces, first: the ids of the traces the window touches */
static void
read_window_roots(RemoteState *st)
{
	st->count_rows = true;
	st->roots_only = true;
	while (!st->complete && st->rows_read < st->max_rows)
	{
		int			rows;

		st->complete = read_page(st, NULL, NULL, &st->pos, &rows);
		if (st->first_answer == 0)
			st->first_answer = GetCurrentTimestamp();
		if (st->pos.xact_hi[0])
			strlcpy(st->window_hi, st->pos.xact_hi, sizeof(st->window_hi));
		else if (st->complete)
			strlcpy(st->window_hi, st->pos.xact_lo, sizeof(st->window_hi));
		st->roots += rows;
		if (rows > 0)
			run_sql("INSERT INTO pg_temp.btexport_staged_roots"
					" SELECT DISTINCT r FROM pg_catalog.jsonb_array_elements_text($1::pg_catalog.jsonb) r"
					" ON CONFLICT DO NOTHING", 1, (Oid[]) {TEXTOID},
					(Datum[]) {CStringGetTextDatum(st->page.data)}, SPI_OK_INSERT);
	}
}

/* wait (on the latch, interruptibly) until trace_idle has passed since the window's first answer */
static void
wait_trace_idle(RemoteState *st)
{
	for (;;)
	{
		long		secs;
		int			usecs;
		long		ms;

		TimestampDifference(GetCurrentTimestamp(),
							TimestampTzPlusMilliseconds(st->first_answer, st->a->trace_idle_ms), &secs, &usecs);
		ms = secs * 1000 + usecs / 1000;
		if (ms <= 0)
			return;
		pgstat_report_activity(STATE_RUNNING, "btexport: waiting for the window's traces to be idle (trace_idle)");
		(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH, Min(ms, 1000), PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
		CHECK_FOR_INTERRUPTS();
	}
}

/*
 * The filter of the next batch of touched traces (root_span_id = '...' or
 * ...), NULL when none are left.  A trace id that cannot be written as a
 * BTQL literal is skipped with a warning.
 */
static char *
next_roots_filter(RemoteState *st)
{
	StringInfoData f;
	btx_buf		lit;
	uint64		i;
	int			n = 0;

	run_sql("SELECT root_span_id FROM pg_temp.btexport_staged_roots WHERE root_span_id > $1 ORDER BY 1 LIMIT "
			CppAsString2(TRACE_BATCH), 1, (Oid[]) {TEXTOID},
			(Datum[]) {CStringGetTextDatum(st->last_root ? st->last_root : "")}, SPI_OK_SELECT);
	if (SPI_processed == 0)
		return NULL;
	initStringInfo(&f);
	btx_buf_init(&lit);
	for (i = 0; i < SPI_processed; i++)
	{
		char	   *root = SPI_getvalue(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1);
		btx_error	err;

		btx_buf_reset(&lit);
		btx_error_clear(&err);
		if (btx_btapi_quote(&lit, root, "a trace id", &err) != 0)
		{
			ereport(WARNING,
					(errmsg("trace \"%s\" of Braintrust project %s is not exported", root, st->project_id),
					 errdetail("%s. %s", err.message, err.detail),
					 errhint("Its spans are exported by a logs_spans automation.")));
			continue;
		}
		appendStringInfo(&f, "%sroot_span_id = %s", n++ ? " or " : "", lit.data);
	}
	btx_buf_free(&lit);
	st->last_root = MemoryContextStrdup(TopTransactionContext,
										SPI_getvalue(SPI_tuptable->vals[SPI_processed - 1], SPI_tuptable->tupdesc, 1));
	return n > 0 ? f.data : pstrdup("false");
}

/* the spans of the next batch of traces, staged and mapped; false when none are left */
static bool
fetch_trace_batch(RemoteState *st)
{
	char	   *filter = next_roots_filter(st);
	btx_btapi_position pos;
	bool		done = false;

	if (filter == NULL)
		return false;
	run_sql("TRUNCATE pg_temp.btexport_staged", 0, NULL, NULL, SPI_OK_UTILITY);
	memset(&pos, 0, sizeof(pos));
	st->count_rows = false;
	st->roots_only = false;
	while (!done)
	{
		int			rows;

		done = read_page(st, NULL, filter, &pos, &rows);
		if (rows > 0)
			stage_page(st);
	}
	/* written after the window's horizon: the later window that holds the span exports the trace */
	run_sql("DELETE FROM pg_temp.btexport_staged s WHERE s.root_span_id IN"
			" (SELECT l.root_span_id FROM pg_temp.btexport_staged l"
			"   WHERE l._xact_id OPERATOR(pg_catalog.>) $1::pg_catalog.xid8)",
			1, (Oid[]) {TEXTOID}, (Datum[]) {CStringGetTextDatum(st->window_hi[0] ? st->window_hi : "0")},
			SPI_OK_DELETE);
	open_mapping(st, "_export_traces_staged");
	return true;
}

static bool
next_traces(RemoteState *st, BtxRowBatch *batch)
{
	if (st->phase == PH_WINDOW)
	{
		read_window_roots(st);
		if (st->roots > 0)
			wait_trace_idle(st);
		st->phase = PH_TRACES;
	}
	while (st->phase == PH_TRACES)
	{
		if (st->portal && fetch_batch(st, batch))
			return true;
		if (!fetch_trace_batch(st))
			st->phase = PH_DONE;
	}
	return false;
}

static bool
braintrust_next(BtxSource *src, BtxRowBatch *batch)
{
	RemoteState *st = src->state;

	if (strcmp(st->a->export_type, "logs_traces") == 0)
		return next_traces(st, batch);
	return next_window_page(st, batch);
}

static void
braintrust_close(BtxSource *src)
{
	RemoteState *st = src->state;

	close_portal(st);
	AtEOXact_GUC(true, st->nestlevel);
	if (st->deleted > 0)
		ereport(LOG,
				(errmsg("automation \"%s\": %lld deleted rows of Braintrust project %s were skipped",
						st->a->name, (long long) st->deleted, st->project_id)));
}

/* after the last batch: the position to commit, and whether the next run starts at once */
static void
braintrust_reached(BtxSource *src, BtxRun *run)
{
	RemoteState *st = src->state;
	btx_buf		b;

	btx_buf_init(&b);
	if (btx_btapi_position_format(&st->pos, &b) != 0)
		ereport(ERROR, (errcode(ERRCODE_OUT_OF_MEMORY), errmsg("out of memory")));
	run->to = MemoryContextStrdup(run->cxt, b.data);
	btx_buf_free(&b);
	run->more = !st->complete || st->resumed;
}

/* T3, in the run's commit: the project id is pinned once resolved (a renamed project stays the same) */
static void
braintrust_commit(BtxSource *src, const BtxRun *run)
{
	RemoteState *st = src->state;

	run_sql("UPDATE btexport.automations SET remote_project_id = $2::pg_catalog.uuid"
			" WHERE id = $1 AND remote_project_id IS NULL", 2, (Oid[]) {INT8OID, TEXTOID},
			(Datum[]) {Int64GetDatum(st->a->id), CStringGetTextDatum(st->project_id)}, SPI_OK_UPDATE);
}

static void
braintrust_progress(BtxSource *src, BtxRunProgress *p)
{
	RemoteState *st = src->state;

	if (st)
		p->requests = st->requests;
}

const BtxSourceMethods BtxBraintrustSource = {
	.name = "Braintrust",
	.position_kind = BTX_POSITION_TEXT,
	.plan = braintrust_plan,
	.open = braintrust_open,
	.next = braintrust_next,
	.close = braintrust_close,
	.commit = braintrust_commit,
	.pending = NULL,
	.reached = braintrust_reached,
	.progress = braintrust_progress,
};
