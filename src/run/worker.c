/*
 * worker.c — runs execute in dynamic background workers.
 *
 * btexport.run() (through btexport._run, launch.c) registers a worker and,
 * with wait => true, waits for it; cancelling the waiting statement leaves the
 * run alone.  The worker connects to the caller's database, queues behind the
 * automation's running export (advisory locks), and then works in its own
 * transactions:
 *
 *   T1  the run row appears as 'queued' (so history shows every trigger)
 *   T2  cleanup of runs a crash left 'running'; the run becomes 'running'
 *       with its cursor window [cursor, xmin of T2's snapshot) and base key
 *   T3  remove objects failed runs left behind; export the window as the
 *       automation's owner; record run_files, mark the run succeeded and
 *       advance the cursor — all in the one commit
 *   T3' on failure: the run is marked failed (message, detail, hint), the
 *       consecutive failure count may pause the automation
 *
 * Every state change sends NOTIFY btexport with a JSON payload of ids only
 * ({"run_id": .., "automation_id": ..}): any role may LISTEN, so the payload
 * carries nothing a role may not see; owners read the run through btexport.runs.
 *
 * While it runs, the worker's application_name is "btexport run <run id>":
 * cancel() and progress signal or read a pid only when it still names the run.
 */
#include "adapters/btexport.h"

#include "access/xact.h"
#include "catalog/pg_type.h"
#include "commands/extension.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "storage/proc.h"
#include "tcop/tcopprot.h"
#include "utils/builtins.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"

#include "run/runner.h"

PGDLLEXPORT void btexport_worker_main(Datum main_arg);

#define LOCK_RUNNING	1651798128	/* advisory lock class: the automation's running export */
#define LOCK_QUEUED		1651798130	/* ... the one trigger waiting behind it */
#define LOCK_SLOT		1651798131	/* ... a slot of btexport.max_workers */

StaticAssertDecl(sizeof(BtxWorkerArgs) <= BGW_EXTRALEN, "worker arguments do not fit bgw_extra");

/* ------------------------------------------------------------------------
 * small SPI helpers (run inside a transaction with SPI connected)
 * ------------------------------------------------------------------------ */

static void
begin_tx(void)
{
	SetCurrentStatementStartTimestamp();
	StartTransactionCommand();
	SPI_connect();
	PushActiveSnapshot(GetTransactionSnapshot());
}

static void
commit_tx(void)
{
	SPI_finish();
	PopActiveSnapshot();
	CommitTransactionCommand();
	pgstat_report_stat(false);
	pgstat_report_activity(STATE_IDLE, NULL);
}

static bool
sql_bool(const char *sql, int nargs, Oid *types, Datum *values)
{
	bool		isnull;
	int			rc = SPI_execute_with_args(sql, nargs, types, values, NULL, false, 1);

	if ((rc != SPI_OK_SELECT && rc != SPI_OK_UPDATE_RETURNING && rc != SPI_OK_INSERT_RETURNING) ||
		SPI_processed < 1)
		return false;
	return DatumGetBool(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull)) && !isnull;
}

static void
notify_run(int64 run_id)
{
	if (SPI_execute_with_args("SELECT pg_catalog.pg_notify('btexport', pg_catalog.json_build_object("
							  "'run_id', r.id, 'automation_id', r.automation_id)::text)"
							  " FROM btexport.runs r WHERE r.id OPERATOR(pg_catalog.=) $1",
							  1, (Oid[]) {INT8OID}, (Datum[]) {Int64GetDatum(run_id)}, NULL, false, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not notify");
}

static void
advisory_lock(int32 cls, int64 id, bool wait, bool *got)
{
	Datum		values[2] = {Int32GetDatum(cls), Int32GetDatum((int32) (id % 2147483647))};
	Oid			types[2] = {INT4OID, INT4OID};

	*got = sql_bool(wait ? "SELECT pg_catalog.pg_advisory_lock($1, $2) IS NULL" :
					"SELECT pg_catalog.pg_try_advisory_lock($1, $2)", 2, types, values);
	if (wait)
		*got = true;
}

static void
advisory_unlock(int32 cls, int64 id)
{
	Datum		values[2] = {Int32GetDatum(cls), Int32GetDatum((int32) (id % 2147483647))};
	Oid			types[2] = {INT4OID, INT4OID};

	(void) sql_bool("SELECT pg_catalog.pg_advisory_unlock($1, $2)", 2, types, values);
}

/* take one of btexport.max_workers slots, waiting for a free one */
static int
take_slot(void)
{
	for (;;)
	{
		int			i;
		bool		got;

		for (i = 1; i <= btx_max_workers; i++)
		{
			begin_tx();
			advisory_lock(LOCK_SLOT, i, false, &got);
			commit_tx();
			if (got)
				return i;
		}
		(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH, 250, PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
		CHECK_FOR_INTERRUPTS();
	}
}

/* ------------------------------------------------------------------------
 * the worker
 * ------------------------------------------------------------------------ */

/*
 * The run failed (its transaction is already aborted): record why, and pause
 * the automation after too many failures in a row.  automation_id and name
 * must not point into the aborted transaction's memory (0 / NULL when the
 * run failed before the automation was loaded).
 */
static void
record_failure(int64 run_id, int64 automation_id, const char *name, ErrorData *edata)
{
	char		sqlstate[6];
	bool		cancelled = edata->sqlerrcode == ERRCODE_QUERY_CANCELED;
	int			rc;

	memcpy(sqlstate, unpack_sql_state(edata->sqlerrcode), 6);
	begin_tx();
	rc = SPI_execute_with_args("UPDATE btexport.runs SET status = $6, finished_at = clock_timestamp(),"
							   " error_sqlstate = $2, error_message = $3, error_detail = $4, error_hint = $5"
							   " WHERE id = $1",
							   6, (Oid[]) {INT8OID, TEXTOID, TEXTOID, TEXTOID, TEXTOID, TEXTOID},
							   (Datum[]) {Int64GetDatum(run_id), CStringGetTextDatum(sqlstate),
								   CStringGetTextDatum(edata->message ? edata->message : "unknown error"),
								   edata->detail ? CStringGetTextDatum(edata->detail) : (Datum) 0,
								   edata->hint ? CStringGetTextDatum(edata->hint) : (Datum) 0,
							   CStringGetTextDatum(cancelled ? "cancelled" : "failed")},
							   (const char[]) {' ', ' ', ' ', edata->detail ? ' ' : 'n', edata->hint ? ' ' : 'n', ' '},
							   false, 0);
	if (rc != SPI_OK_UPDATE)
		elog(ERROR, "could not record the run's failure");
	/* too many failures in a row: pause the automation, with the reason */
	if (!cancelled && automation_id != 0)
	{
		rc = SPI_execute_with_args("WITH f AS (SELECT count(*) AS n FROM btexport.runs r"
								   "  WHERE r.automation_id = $1 AND r.status = 'failed'"
								   "    AND r.id > COALESCE((SELECT max(s.id) FROM btexport.runs s"
								   "                          WHERE s.automation_id = $1 AND s.status = 'succeeded'), 0))"
								   " UPDATE btexport.automations a SET status = 'paused',"
								   "   paused_reason = pg_catalog.format('paused after %s consecutive failed runs; last error: %s', f.n, $2),"
								   "   updated = now()"
								   " FROM f WHERE a.id = $1 AND a.status = 'active' AND f.n >= a.max_failures"
								   " RETURNING a.id",
								   2, (Oid[]) {INT8OID, TEXTOID},
								   (Datum[]) {Int64GetDatum(automation_id), CStringGetTextDatum(edata->message ? edata->message : "")},
								   NULL, false, 0);
		if (rc == SPI_OK_UPDATE_RETURNING && SPI_processed > 0)
		{
			/* keep pg_cron in step: a paused automation has no job */
			(void) SPI_execute_with_args("SELECT btexport._sync_schedule(a) FROM btexport.automations a WHERE a.id = $1",
										 1, (Oid[]) {INT8OID}, (Datum[]) {Int64GetDatum(automation_id)}, NULL, false, 0);
			ereport(WARNING,
					(errmsg("automation \"%s\" paused after repeated failures", name),
					 errhint("Fix the cause (see btexport.runs), then call btexport.resume(%s).",
							 quote_literal_cstr(name))));
		}
	}
	notify_run(run_id);
	commit_tx();
}

/*
 * One run: queued -> running -> succeeded/failed.  Returns true when it
 * succeeded; *more tells whether rows remain beyond its window.
 */
static bool
run_once(BtxWorkerArgs *args, const char *trigger, const char *token, bool first, bool *more)
{
	MemoryContext keep = AllocSetContextCreate(TopMemoryContext, "btexport run", ALLOCSET_DEFAULT_SIZES);
	volatile int slot = 0;
	BtxAutomation a;
	volatile int64 fail_id = 0;		/* the automation, for record_failure: */
	char	   *volatile fail_name = NULL;	/* both outlive the transactions */
	int64		run_id = 0;
	bool		got;
	char	   *from = NULL;
	char	   *to = NULL;
	char	   *base_key = NULL;
	bool		schedule = strcmp(trigger, "schedule") == 0;
	bool		ok = false;
	int			rc;

	*more = false;
	/* T0: is btexport still there, and the automation? */
	begin_tx();
	if (!OidIsValid(get_extension_oid("btexport", true)))
	{
		commit_tx();
		return false;
	}
	rc = SPI_execute_with_args("SELECT status FROM btexport.automations WHERE id = $1", 1, (Oid[]) {INT8OID},
							   (Datum[]) {Int64GetDatum(args->automation_id)}, NULL, true, 1);
	if (rc != SPI_OK_SELECT || SPI_processed == 0 ||
		(!first && strcmp(SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1), "paused") == 0) ||
		(schedule && strcmp(SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1), "paused") == 0))
	{
		commit_tx();
		return false;
	}
	/* a scheduled trigger behind one already waiting is redundant: it would export nothing more */
	advisory_lock(LOCK_QUEUED, args->automation_id, !schedule, &got);
	commit_tx();
	if (!got)
		return false;

	/* T1: the run is queued */
	begin_tx();
	rc = SPI_execute_with_args("INSERT INTO btexport.runs (automation_id, owner, trigger, status, pid, request_token)"
							   " SELECT a.id, a.owner, $2, 'queued', pg_backend_pid(), $3 FROM btexport.automations a"
							   " WHERE a.id = $1 RETURNING id",
							   3, (Oid[]) {INT8OID, TEXTOID, TEXTOID},
							   (Datum[]) {Int64GetDatum(args->automation_id), CStringGetTextDatum(trigger),
							   CStringGetTextDatum(token)}, NULL, false, 0);
	if (rc != SPI_OK_INSERT_RETURNING || SPI_processed != 1)
	{
		commit_tx();
		return false;
	}
	run_id = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &got));
	/* before the run row commits: whoever sees the row sees the worker named for it */
	pgstat_report_appname(psprintf("btexport run " INT64_FORMAT, run_id));
	notify_run(run_id);
	commit_tx();

	PG_TRY();
	{
		/* one running export per automation; at most btexport.max_workers at once */
		begin_tx();
		pgstat_report_activity(STATE_RUNNING, "btexport: waiting for the automation's running export");
		advisory_lock(LOCK_RUNNING, args->automation_id, true, &got);
		advisory_unlock(LOCK_QUEUED, args->automation_id);
		commit_tx();
		slot = take_slot();

		/* T2: orphans of crashed runs; the run starts with its window */
		begin_tx();
		pgstat_report_activity(STATE_RUNNING, "btexport: starting run");
		rc = SPI_execute_with_args("UPDATE btexport.runs SET status = 'failed', finished_at = clock_timestamp(),"
								   " error_sqlstate = '57P01', error_message = 'run interrupted',"
								   " error_detail = 'The server or the run''s worker stopped before the run finished.',"
								   " error_hint = 'Nothing it wrote is committed; the next run exports its rows.'"
								   " WHERE automation_id = $1 AND id <> $2 AND (status = 'running' OR (status = 'queued'"
								   "   AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_stat_activity s WHERE s.pid = runs.pid"
								   "                   AND s.backend_type = 'btexport run'"
								   "                   AND s.application_name = 'btexport run ' || runs.id)))",
								   2, (Oid[]) {INT8OID, INT8OID},
								   (Datum[]) {Int64GetDatum(args->automation_id), Int64GetDatum(run_id)}, NULL, false, 0);
		if (rc != SPI_OK_UPDATE)
			elog(ERROR, "could not clean up interrupted runs");
		/* run history retention (btexport.run_retention); failed runs stay until their objects are gone */
		rc = SPI_execute_with_args("DELETE FROM btexport.runs WHERE automation_id = $1 AND id <> $2"
								   " AND finished_at < now() - pg_catalog.make_interval(days => $3)"
								   " AND (status = 'succeeded' OR cleaned OR base_key IS NULL)",
								   3, (Oid[]) {INT8OID, INT8OID, INT4OID},
								   (Datum[]) {Int64GetDatum(args->automation_id), Int64GetDatum(run_id),
								   Int32GetDatum(btx_run_retention_days)}, NULL, false, 0);
		if (rc != SPI_OK_DELETE)
			elog(ERROR, "could not apply run history retention");
		BtxLoadAutomation(args->automation_id, &a, false);
		/* a's strings live as long as this transaction; a failure is recorded after it */
		fail_id = a.id;
		fail_name = MemoryContextStrdup(keep, a.name);
		/* a dropped owner, a revoked export privilege, a setting that fails today's checks */
		if (SPI_execute_with_args("SELECT btexport._check_runnable(a) FROM btexport.automations a"
								  " WHERE a.id OPERATOR(pg_catalog.=) $1",
								  1, (Oid[]) {INT8OID}, (Datum[]) {Int64GetDatum(a.id)}, NULL, false, 0) != SPI_OK_SELECT)
			elog(ERROR, "could not check the automation");
		rc = SPI_execute_with_args("UPDATE btexport.runs SET status = 'running', started_at = clock_timestamp(),"
								   " cursor_from = $2::xid8, cursor_to = w.cursor_to"
								   " FROM btexport._window_end($3, $2::xid8,"
								   "      pg_catalog.pg_snapshot_xmin(pg_catalog.pg_current_snapshot())) w"
								   " WHERE id = $1 RETURNING started_at, w.cursor_to::text, w.more",
								   3, (Oid[]) {INT8OID, TEXTOID, INT8OID},
								   (Datum[]) {Int64GetDatum(run_id), CStringGetTextDatum(a.cursor),
								   Int64GetDatum(a.id)}, NULL, false, 0);
		if (rc != SPI_OK_UPDATE_RETURNING || SPI_processed != 1)
			elog(ERROR, "could not start the run");
		{
			TimestampTz started = DatumGetTimestampTz(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &got));
			MemoryContext old;

			*more = DatumGetBool(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 3, &got));
			to = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2);
			base_key = BtxChooseBaseKey(&a, run_id, started);
			old = MemoryContextSwitchTo(keep);
			to = pstrdup(to);
			from = pstrdup(a.cursor);
			base_key = pstrdup(base_key);
			MemoryContextSwitchTo(old);
		}
		rc = SPI_execute_with_args("UPDATE btexport.runs SET base_key = $2 WHERE id = $1", 2, (Oid[]) {INT8OID, TEXTOID},
								   (Datum[]) {Int64GetDatum(run_id), CStringGetTextDatum(base_key)}, NULL, false, 0);
		notify_run(run_id);
		commit_tx();

		/* T3: export and commit the ledger atomically */
		begin_tx();
		pgstat_report_activity(STATE_RUNNING, "btexport: exporting");
		{
			BtxRunStats stats;

			memset(&stats, 0, sizeof(stats));
			BtxLoadAutomation(args->automation_id, &a, false);
			if (strcmp(from, to) != 0)
				BtxExportWindow(&a, run_id, base_key, from, to, &args->settings, keep, &stats);
			BtxRecordFiles(&a, run_id, stats.files);
			rc = SPI_execute_with_args("UPDATE btexport.runs SET status = 'succeeded', finished_at = clock_timestamp(),"
									   " rows = $2, bytes = $3, files = $4, manifest_key = $5 WHERE id = $1",
									   5, (Oid[]) {INT8OID, INT8OID, INT8OID, INT4OID, TEXTOID},
									   (Datum[]) {Int64GetDatum(run_id), Int64GetDatum((int64) stats.rows),
										   Int64GetDatum((int64) stats.bytes), Int32GetDatum(list_length(stats.files)),
									   stats.manifest_key ? CStringGetTextDatum(stats.manifest_key) : (Datum) 0},
									   stats.manifest_key ? "     " : "    n", false, 0);
			if (rc != SPI_OK_UPDATE)
				elog(ERROR, "could not record the run's result");
			/* the cursor moves only from where this run started */
			if (!sql_bool("UPDATE btexport.automations SET cursor = $3::xid8 WHERE id = $1 AND cursor = $2::xid8"
						  " RETURNING true",
						  3, (Oid[]) {INT8OID, TEXTOID, TEXTOID},
						  (Datum[]) {Int64GetDatum(a.id), CStringGetTextDatum(from), CStringGetTextDatum(to)}))
				ereport(ERROR,
						(errcode(ERRCODE_T_R_SERIALIZATION_FAILURE),
						 errmsg("the cursor of automation \"%s\" moved during the run", a.name),
						 errdetail("The cursor was rewound or changed while the run exported from %s.", from),
						 errhint("Nothing of this run is committed; the next run exports from the new cursor.")));
			notify_run(run_id);
		}
		commit_tx();
		ok = true;
	}
	PG_CATCH();
	{
		ErrorData  *edata;
		MemoryContext old;

		HOLD_INTERRUPTS();
		old = MemoryContextSwitchTo(keep);
		edata = CopyErrorData();
		MemoryContextSwitchTo(old);
		EmitErrorReport();
		FlushErrorState();
		AbortCurrentTransaction();
		QueryCancelPending = false;
		RESUME_INTERRUPTS();
		record_failure(run_id, fail_id, fail_name, edata);
	}
	PG_END_TRY();

	/* release the slot and the automation for the next trigger */
	begin_tx();
	if (slot > 0)
		advisory_unlock(LOCK_SLOT, slot);
	advisory_unlock(LOCK_RUNNING, args->automation_id);
	commit_tx();
	MemoryContextDelete(keep);
	return ok;
}

static void
worker_run(BtxWorkerArgs *args)
{
	bool		more = false;
	int			n = 1;

	/* while a backlog remains (max_rows_per_run), the next run starts at once */
	if (run_once(args, args->trigger, args->token, true, &more))
	{
		while (more)
		{
			char		token[64];

			snprintf(token, sizeof(token), "%s-%d", args->token, ++n);
			if (!run_once(args, "backlog", token, false, &more))
				break;
		}
	}
}

void
btexport_worker_main(Datum main_arg)
{
	BtxWorkerArgs args;

	memcpy(&args, MyBgworkerEntry->bgw_extra, sizeof(args));
	pqsignal(SIGTERM, die);
	pqsignal(SIGINT, StatementCancelHandler);
	BackgroundWorkerUnblockSignals();
	BackgroundWorkerInitializeConnectionByOid(args.dboid, InvalidOid, 0);
	pgstat_report_appname("btexport");
	worker_run(&args);
	proc_exit(0);
}
