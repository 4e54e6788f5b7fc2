/*
 * worker.c — runs execute in dynamic background workers.
 *
 * btexport.run() (through btexport._run, launch.c) registers a worker and,
 * with wait => true, waits for it; cancelling the waiting statement leaves the
 * run alone.  The worker connects to the caller's database, queues behind the
 * automation's running export (advisory locks), and then works in its own
 * transactions (each state change is a call into run/history.c):
 *
 *   T0  is the automation there (and active, for a scheduled trigger)?
 *   T1  the run row appears as 'queued' (so history shows every trigger)
 *   T2  runs a crash left 'running' become failed; the automation is loaded
 *       (once: T3 exports what T2 planned); the source plans the window
 *       [from, to) in T2's snapshot; the run becomes 'running' with it and
 *       its base key
 *   T3  export the window (run/export.c: source → sink, as the automation's
 *       owner); record run_files, mark the run succeeded and advance the
 *       cursor — all in the one commit
 *   T3' on failure: the run is marked failed (message, detail, hint), the
 *       consecutive failure count may pause the automation
 *
 * From T1 on, the worker's application_name is "btexport run <run id>" (set
 * before the run row commits): cancel(), progress and the clean-up of
 * interrupted runs trust a pid only while it still names the run, since a
 * crashed run's pid may belong to another process by then.
 *
 * The run's memory (run->cxt: the automation, the window, the base key)
 * outlives the transactions and is freed, not recycled, when the run ends; a
 * failure is recorded from it, never from an aborted transaction's memory.
 */
#include "adapters/btexport.h"

#include "access/xact.h"
#include "commands/extension.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "storage/lock.h"
#include "storage/proc.h"
#include "tcop/tcopprot.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"

#include "run/export.h"
#include "run/history.h"
#include "run/worker.h"

PGDLLEXPORT void btexport_worker_main(Datum main_arg);

StaticAssertDecl(sizeof(BtxWorkerArgs) <= BGW_EXTRALEN, "worker arguments do not fit bgw_extra");

/* ------------------------------------------------------------------------
 * transactions and locks
 * ------------------------------------------------------------------------ */

static void
begin_tx(const char *activity)
{
	SetCurrentStatementStartTimestamp();
	StartTransactionCommand();
	SPI_connect();
	PushActiveSnapshot(GetTransactionSnapshot());
	if (activity)
		pgstat_report_activity(STATE_RUNNING, activity);
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

/*
 * Session-level advisory locks of the runs.  The lock tag holds the whole
 * 64-bit id in its two 32-bit keys and the lock's class in its fourth field,
 * which SQL's pg_advisory_lock sets to 1 or 2: no two ids share a lock, and
 * no user's advisory lock is ever one of these (pg_locks shows them as
 * advisory locks with objsubid 25201, 25202, 25203).
 */
typedef enum LockClass
{
	LOCK_RUNNING = 25201,		/* an automation's running export */
	LOCK_QUEUED,				/* ... the one trigger waiting behind it */
	LOCK_SLOT					/* a slot of btexport.max_workers */
} LockClass;

static void
lock_tag(LOCKTAG *tag, LockClass cls, int64 id)
{
	SET_LOCKTAG_ADVISORY(*tag, MyDatabaseId, (uint32) ((uint64) id >> 32), (uint32) id, (uint16) cls);
}

/* inside a transaction; false when !wait and another session holds it */
static bool
advisory_lock(LockClass cls, int64 id, bool wait)
{
	LOCKTAG		tag;

	lock_tag(&tag, cls, id);
	return LockAcquire(&tag, ExclusiveLock, true, !wait) != LOCKACQUIRE_NOT_AVAIL;
}

static void
advisory_unlock(LockClass cls, int64 id)
{
	LOCKTAG		tag;

	lock_tag(&tag, cls, id);
	(void) LockRelease(&tag, ExclusiveLock, true);
}

/* maintenance of an automation's destination (src/api/iceberg.c) excludes its runs */
bool
BtxRunLockTry(int64 automation_id)
{
	return advisory_lock(LOCK_RUNNING, automation_id, false);
}

void
BtxRunLockRelease(int64 automation_id)
{
	advisory_unlock(LOCK_RUNNING, automation_id);
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
			begin_tx(NULL);
			got = advisory_lock(LOCK_SLOT, i, false);
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
 * one run
 * ------------------------------------------------------------------------ */

/*
 * T0 and T1: may the run start, and its row as 'queued'.  A scheduled
 * trigger behind one already waiting is redundant (it would export nothing
 * more) and so is dropped; a paused automation runs only on a manual
 * trigger, never for a backlog.  A dropped trigger is recorded with its
 * reason (btexport.trigger_skips).
 */
static bool
admit_and_queue(BtxRun *run, const char *token, bool first)
{
	bool		schedule = run->trigger == BTX_TRIGGER_SCHEDULE;
	bool		ok;
	const char *skip = NULL;

	begin_tx(NULL);
	ok = OidIsValid(get_extension_oid("btexport", true)) &&
		BtxHistoryMayRun(run->automation_id, first && !schedule, &skip);
	if (ok && !advisory_lock(LOCK_QUEUED, run->automation_id, !schedule))
	{
		ok = false;
		skip = BTX_SKIP_ALREADY_QUEUED;
	}
	/* the trigger's trace (btexport.trigger_skips): why it produced no run */
	if (skip)
		BtxHistorySkip(run->automation_id, BtxRunTriggerName(run->trigger), token, skip, NULL);
	commit_tx();
	if (!ok)
		return false;

	begin_tx(NULL);
	ok = BtxHistoryQueue(run, token);
	if (ok)
		pgstat_report_appname(psprintf(BTX_RUN_BACKEND_TYPE " " INT64_FORMAT, run->id));
	else
		advisory_unlock(LOCK_QUEUED, run->automation_id);
	commit_tx();
	return ok;
}

/* one running export per automation; at most btexport.max_workers at once */
static int
wait_turn(BtxRun *run)
{
	begin_tx("btexport: waiting for the automation's running export");
	(void) advisory_lock(LOCK_RUNNING, run->automation_id, true);
	advisory_unlock(LOCK_QUEUED, run->automation_id);
	commit_tx();
	return take_slot();
}

/*
 * T2: history's housekeeping, the automation (may it run now? a dropped
 * owner, a revoked export privilege, a stored setting that fails today's
 * checks), the window, the base key
 */
static void
start(BtxRun *run)
{
	begin_tx("btexport: starting run");
	BtxHistoryFailInterrupted(run);
	BtxHistoryApplyRetention(run, btx_run_retention_days);
	run->automation = MemoryContextAlloc(run->cxt, sizeof(BtxAutomation));
	BtxLoadAutomation(run->automation_id, run->automation, run->cxt);
	BtxCheckRunnable(run->automation_id);
	BtxExportPlan(run);
	BtxHistoryStart(run);
	commit_tx();
}

/* T3: export and commit the ledger atomically */
static void
export_window(BtxRun *run, const BtxRunSettings *settings)
{
	BtxRunResult result;

	begin_tx(psprintf("btexport run " INT64_FORMAT ": exporting (see btexport.progress)", run->id));
	BtxExportRun(run, settings, &result);
	BtxExportCommit(run, &result);
	commit_tx();
}

/* T3': the error, as the run's outcome */
static void
fail(BtxRun *run)
{
	ErrorData  *edata;
	MemoryContext old;

	HOLD_INTERRUPTS();
	old = MemoryContextSwitchTo(run->cxt);
	edata = CopyErrorData();
	MemoryContextSwitchTo(old);
	EmitErrorReport();
	FlushErrorState();
	AbortCurrentTransaction();
	QueryCancelPending = false;
	RESUME_INTERRUPTS();
	BtxExportFailed(run);
	begin_tx(NULL);
	BtxHistoryFail(run, edata);
	commit_tx();
}

/*
 * One run: queued -> running -> succeeded/failed.  Returns true when it
 * succeeded; *more tells whether rows remain beyond its window.
 */
static bool
run_once(BtxWorkerArgs *args, BtxRunTrigger trigger, const char *token, bool first, bool *more)
{
	BtxRun		run;
	volatile int slot = 0;
	volatile bool ok = false;

	memset(&run, 0, sizeof(run));
	run.automation_id = args->automation_id;
	run.trigger = trigger;
	*more = false;
	if (!admit_and_queue(&run, token, first))
		return false;
	/* not the default sizes: deleted, the context goes back to malloc instead of a freelist, so
	 * the sanitizer run of the server (test/sanitize) reports any use of it after the run */
	run.cxt = AllocSetContextCreate(TopMemoryContext, "btexport run", 0, 16 * 1024, ALLOCSET_DEFAULT_MAXSIZE);

	PG_TRY();
	{
		slot = wait_turn(&run);
		start(&run);
		export_window(&run, &args->settings);
		ok = true;
		*more = run.more;
	}
	PG_CATCH();
	{
		fail(&run);
	}
	PG_END_TRY();

	/* release the slot and the automation for the next trigger */
	begin_tx(NULL);
	if (slot > 0)
		advisory_unlock(LOCK_SLOT, slot);
	advisory_unlock(LOCK_RUNNING, args->automation_id);
	BtxHistoryProgressDone();
	commit_tx();
	MemoryContextDelete(run.cxt);
	return ok;
}

static void
worker_run(BtxWorkerArgs *args)
{
	bool		more = false;
	int			n = 1;

	/* while a backlog remains (max_rows_per_run), the next run starts at once */
	if (run_once(args, BtxRunTriggerFromName(args->trigger), args->token, true, &more))
	{
		while (more)
		{
			char		token[64];

			snprintf(token, sizeof(token), "%s-%d", args->token, ++n);
			if (!run_once(args, BTX_TRIGGER_BACKLOG, token, false, &more))
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
