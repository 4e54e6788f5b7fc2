/*
 * launch.c — btexport._run (behind btexport.run() and pg_cron jobs): registers
 * the background worker of one run (worker.c) and, with wait => true, waits
 * for it and returns the run's row.  Cancelling the waiting statement leaves
 * the run alone.
 */
#include "adapters/btexport.h"

#include "executor/spi.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "storage/latch.h"
#include "utils/builtins.h"
#include "utils/timestamp.h"

#include "run/history.h"
#include "run/worker.h"

PG_FUNCTION_INFO_V1(btexport_run_launch);

/* ------------------------------------------------------------------------
 * the launcher: btexport._run(automation_id bigint, trigger text, wait boolean)
 * ------------------------------------------------------------------------ */

/*
 * No worker for the run: the trigger is recorded as skipped (no_worker_slot).
 * A caller that waits (a manual run) gets the error; the skip's row goes with
 * its transaction, and the error is its trace.  A scheduled trigger (wait =>
 * false) gets a WARNING and NULL, and the row stays for its owner to see.
 */
static void
launch_failure(int64 id, const char *trigger, const char *token, bool wait)
{
	const char *message = "could not start a background worker for the export run";
	const char *hint = "Raise max_worker_processes (it counts pg_cron's and btexport's workers) and restart the server, or retry when fewer runs are active.";

	BtxHistorySkip(id, trigger, token, BTX_SKIP_NO_WORKER_SLOT, NULL);
	ereport(wait ? ERROR : WARNING,
			(errcode(ERRCODE_INSUFFICIENT_RESOURCES),
			 errmsg("%s", message), errhint("%s", hint)));
}

/*
 * The worker stopped without recording a run.  When it recorded why
 * (btexport.trigger_skips: paused, queued behind a waiting trigger) that is
 * the trace; otherwise it failed before T1 and the skip is recorded here.
 */
static void
worker_gone(int64 id, const char *trigger, const char *token, bool wait)
{
	bool		recorded = BtxHistorySkipByToken(token);

	if (!recorded)
		BtxHistorySkip(id, trigger, token, BTX_SKIP_WORKER_FAILED, NULL);
	if (wait)
		ereport(ERROR,
				(errcode(ERRCODE_EXTERNAL_ROUTINE_EXCEPTION),
				 errmsg("the export worker for automation %lld stopped without recording a run", (long long) id),
				 errhint(recorded ? "btexport.trigger_skips says why." : "See the server log for the worker's error.")));
}

/*
 * Start the worker of one run.  The caller's uncommitted automation is
 * refused (the worker would not see it); the token in the worker's arguments
 * finds the run's row, which the worker commits, whatever the caller's
 * isolation level.  With wait => false it returns once the run is queued.
 */
Datum
btexport_run_launch(PG_FUNCTION_ARGS)
{
	int64		id = PG_GETARG_INT64(0);
	char	   *trigger = text_to_cstring(PG_GETARG_TEXT_PP(1));
	bool		wait = PG_GETARG_BOOL(2);
	BackgroundWorker worker;
	BackgroundWorkerHandle *handle;
	BtxWorkerArgs args;
	BgwHandleStatus st;
	pid_t		pid;
	HeapTupleHeader result = NULL;

	SPI_connect();

	/* the worker sees only committed configuration */
	if (!BtxHistoryAutomationCommitted(id))
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("automation %lld is not committed yet", (long long) id),
				 errdetail("Runs execute in a background worker, which sees only committed automations."),
				 errhint("Commit the transaction that created the automation, then call btexport.run().")));

	memset(&args, 0, sizeof(args));
	args.dboid = MyDatabaseId;
	args.caller = GetUserId();
	args.automation_id = id;
	strlcpy(args.trigger, trigger, sizeof(args.trigger));
	snprintf(args.token, sizeof(args.token), "%d-" INT64_FORMAT "-%08x", MyProcPid,
			 (int64) GetCurrentTimestamp(), (unsigned int) random());
	args.settings.target_file_size_kb = btx_target_file_size_kb;
	args.settings.part_size_kb = btx_part_size_kb;

	memset(&worker, 0, sizeof(worker));
	worker.bgw_flags = BGWORKER_SHMEM_ACCESS | BGWORKER_BACKEND_DATABASE_CONNECTION;
	worker.bgw_start_time = BgWorkerStart_RecoveryFinished;
	worker.bgw_restart_time = BGW_NEVER_RESTART;
	strlcpy(worker.bgw_library_name, "btexport", BGW_MAXLEN);
	strlcpy(worker.bgw_function_name, "btexport_worker_main", BGW_MAXLEN);
	snprintf(worker.bgw_name, BGW_MAXLEN, "btexport run of automation %lld", (long long) id);
	strlcpy(worker.bgw_type, BTX_RUN_BACKEND_TYPE, BGW_MAXLEN);
	worker.bgw_notify_pid = MyProcPid;
	memcpy(worker.bgw_extra, &args, sizeof(args));

	if (!RegisterDynamicBackgroundWorker(&worker, &handle))
	{
		launch_failure(id, trigger, args.token, wait);
		SPI_finish();
		PG_RETURN_NULL();
	}
	st = WaitForBackgroundWorkerStartup(handle, &pid);
	if (st == BGWH_POSTMASTER_DIED)
		ereport(ERROR, (errcode(ERRCODE_ADMIN_SHUTDOWN), errmsg("the server is shutting down")));

	if (wait)
	{
		st = WaitForBackgroundWorkerShutdown(handle);
		if (st == BGWH_POSTMASTER_DIED)
			ereport(ERROR, (errcode(ERRCODE_ADMIN_SHUTDOWN), errmsg("the server is shutting down")));
		if (!BtxHistoryRunByToken(args.token, &result))
			worker_gone(id, trigger, args.token, true);
	}
	else
	{
		/* return as soon as the run is queued (or the worker is gone) */
		for (;;)
		{
			if (BtxHistoryRunByToken(args.token, &result))
				break;
			if (GetBackgroundWorkerPid(handle, &pid) == BGWH_STOPPED)
			{
				/* it may have queued the run just before it stopped */
				if (BtxHistoryRunByToken(args.token, &result))
					break;
				worker_gone(id, trigger, args.token, false);
				SPI_finish();
				PG_RETURN_NULL();
			}
			(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH, 10, PG_WAIT_EXTENSION);
			ResetLatch(MyLatch);
			CHECK_FOR_INTERRUPTS();
		}
	}
	SPI_finish();
	PG_RETURN_DATUM(HeapTupleHeaderGetDatum(result));
}
