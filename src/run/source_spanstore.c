/*
 * source_spanstore.c — the local span store (btexport.logs) as a run's
 * source.
 *
 * The position is the cursor, an xid8: a run exports the span versions whose
 * _xact_id lies in [cursor, xmin of the run's T2 snapshot), cut by
 * btexport._window_end (trace_idle, max_rows_per_run).  Every transaction
 * below that xmin has ended, so no row can later appear below the new
 * cursor; rows of transactions still open go to a later run.
 *
 * The rows come from one query, run as the automation's owner with
 * TimeZone UTC and search_path pg_catalog, pg_temp through an SPI cursor: btexport._export_spans or
 * _export_traces, or the automation's compiled BTQL query.  Both formats
 * take the query's typed columns as they are (BTX_ROWS_TYPED; the JSON Lines
 * writer builds each line in C).
 */
#include "adapters/btexport.h"

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/guc.h"

#include "adapters/btql_glue.h"
#include "run/source.h"

/* a fetch is held in memory: aim at about this much per batch */
#define FETCH_BYTES (8 * 1024 * 1024)

typedef struct SpanStoreState
{
	BtxExportQuery q;
	Portal		portal;
	long		fetch;			/* rows per fetch, adapted to the rows' size */
	Oid			save_userid;
	int			save_sec;
	int			nestlevel;
	SPITupleTable *batch;		/* the last batch, freed at the next fetch */
} SpanStoreState;

/* the export query: $1 project, $2/$3 the cursor window, then BTQL parameters */
static void
build_query(BtxAutomation *a, BtxRowShape shape, const char *from, const char *to, BtxExportQuery *q)
{
	const char *fn;
	bool		typed = shape == BTX_ROWS_TYPED;

	if (strcmp(a->export_type, "btql") == 0)
	{
		BtxBuildBtqlExportQuery(a, typed, from, to, q);
		return;
	}
	if (strcmp(a->export_type, "logs_spans") == 0)
		fn = "btexport._export_spans($1::uuid, $2::xid8, $3::xid8)";
	else
		fn = "btexport._export_traces($1::uuid, $2::xid8, $3::xid8)";
	if (typed)
		q->sql = psprintf("SELECT * FROM %s", fn);
	else
		q->sql = psprintf("SELECT pg_catalog.row_to_json(e)::text FROM %s e", fn);
	q->colnames = NULL;
	q->pivot_column = -1;
	q->nargs = 3;
	q->argtypes = palloc(sizeof(Oid) * 3);
	q->values = palloc(sizeof(Datum) * 3);
	q->nulls = NULL;
	q->argtypes[0] = q->argtypes[1] = q->argtypes[2] = TEXTOID;
	q->values[0] = CStringGetTextDatum(a->project_id);
	q->values[1] = CStringGetTextDatum(from);
	q->values[2] = CStringGetTextDatum(to);
}

/*
 * run what follows as the automation's owner (restricted), in UTC, resolving names in pg_catalog
 * only, with fixed date and interval styles (values of types without their own encoding are
 * written as their text output)
 */
static void
become_owner(SpanStoreState *st, BtxAutomation *a)
{
	st->nestlevel = NewGUCNestLevel();
	BtxSourcePinSettings();
	GetUserIdAndSecContext(&st->save_userid, &st->save_sec);
	SetUserIdAndSecContext(a->owner, st->save_sec | SECURITY_LOCAL_USERID_CHANGE | SECURITY_RESTRICTED_OPERATION);
}

static void
become_self(SpanStoreState *st)
{
	SetUserIdAndSecContext(st->save_userid, st->save_sec);
	AtEOXact_GUC(true, st->nestlevel);
}

static void
spanstore_plan(BtxSource *src, BtxRun *run)
{
	BtxAutomation *a = src->automation;
	bool		isnull;

	if (SPI_execute_with_args("SELECT w.cursor_to::text, w.more FROM btexport._window_end($1, $2::xid8,"
							  " pg_catalog.pg_snapshot_xmin(pg_catalog.pg_current_snapshot())) w",
							  2, (Oid[]) {INT8OID, TEXTOID},
							  (Datum[]) {Int64GetDatum(a->id), CStringGetTextDatum(a->cursor)},
							  NULL, false, 1) != SPI_OK_SELECT || SPI_processed != 1)
		elog(ERROR, "could not plan the run's window");
	run->from = MemoryContextStrdup(run->cxt, a->cursor);
	run->to = MemoryContextStrdup(run->cxt, SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1));
	run->more = DatumGetBool(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2, &isnull));
}

static void
spanstore_open(BtxSource *src, const BtxRun *run, BtxRowShape shape)
{
	SpanStoreState *st = palloc0(sizeof(SpanStoreState));
	BtxAutomation *a = src->automation;

	src->state = st;
	st->fetch = Min(a->batch_size, 100);
	build_query(a, shape, run->from, run->to, &st->q);
	become_owner(st, a);
	st->portal = SPI_cursor_open_with_args(NULL, st->q.sql, st->q.nargs, st->q.argtypes, st->q.values,
										   st->q.nulls, true, 0);
}

/*
 * batch_size rows per fetch, fewer when rows are large: a fetch is held in
 * memory, so the next fetch aims at about FETCH_BYTES given this one's rows.
 */
static bool
spanstore_next(BtxSource *src, BtxRowBatch *batch)
{
	SpanStoreState *st = src->state;
	uint64		bytes = 0;
	uint64		i;

	if (st->batch)
		SPI_freetuptable(st->batch);
	st->batch = NULL;
	CHECK_FOR_INTERRUPTS();
	SPI_cursor_fetch(st->portal, true, st->fetch);
	if (SPI_processed == 0)
		return false;
	st->batch = SPI_tuptable;
	for (i = 0; i < SPI_processed; i++)
		bytes += SPI_tuptable->vals[i]->t_len;
	st->fetch = (long) Max(1, Min((uint64) src->automation->batch_size,
								  (uint64) FETCH_BYTES * SPI_processed / Max(bytes, 1)));
	batch->desc = SPI_tuptable->tupdesc;
	batch->colnames = st->q.colnames;
	batch->pivot = st->q.pivot_column;
	batch->rows = SPI_tuptable->vals;
	batch->n = SPI_processed;
	return true;
}

static void
spanstore_close(BtxSource *src)
{
	SpanStoreState *st = src->state;

	if (st->batch)
		SPI_freetuptable(st->batch);
	st->batch = NULL;
	SPI_cursor_close(st->portal);
	become_self(st);
}

/* rows of [cursor, the end of xid8) the owner may read, at most cap (in a subtransaction of btexport.test) */
static int64
spanstore_pending(BtxSource *src, int64 cap)
{
	SpanStoreState st;
	BtxAutomation *a = src->automation;
	bool		isnull;
	int			rc;

	memset(&st, 0, sizeof(st));
	build_query(a, BTX_ROWS_JSON, a->cursor, "18446744073709551615", &st.q);
	become_owner(&st, a);
	rc = SPI_execute_with_args(psprintf("SELECT count(*) FROM (%s LIMIT " INT64_FORMAT ") q", st.q.sql, cap),
							   st.q.nargs, st.q.argtypes, st.q.values, st.q.nulls, true, 1);
	become_self(&st);
	if (rc != SPI_OK_SELECT || SPI_processed != 1)
		elog(ERROR, "count query failed");
	return DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
}

const BtxSourceMethods BtxSpanStoreSource = {
	.name = "span store",
	.position_kind = BTX_POSITION_CURSOR,
	.plan = spanstore_plan,
	.open = spanstore_open,
	.next = spanstore_next,
	.close = spanstore_close,
	.commit = NULL,
	.pending = spanstore_pending,
};
