/*
 * history.h — run history: the one module that reads and writes
 * btexport.runs, btexport.run_files, an automation's cursor and its
 * run-driven status (pause after repeated failures).
 *
 * Shape (pg_cron's job_metadata.c is the model): the run's status is a C
 * enum whose SQL spelling lives in one table (BtxRunStatusName); every state
 * change of a run is one function here, called inside the caller's
 * transaction with SPI connected; the run's own changes (queued, running,
 * succeeded, failed, cancelled) send NOTIFY btexport with the run's and the
 * automation's ids only (any role may LISTEN).  Nothing else in
 * the C code names these tables; the SQL views (btexport.status,
 * btexport.progress) only read them.
 *
 * A run's transactions (run/worker.c):
 *   T1  BtxHistoryQueue            the run row appears as queued
 *   T2  BtxHistoryFailInterrupted  runs a crash left behind become failed
 *       BtxHistoryApplyRetention   old history goes
 *       BtxHistoryStart            running, with its window and base key
 *   T3  BtxHistorySucceed          run_files, totals, succeeded, cursor moved
 *   T3' BtxHistoryFail             failed or cancelled, with the error
 *
 * A trigger that produces no run (paused, queued behind a waiting one, no
 * worker, the worker gone before T1) is recorded by BtxHistorySkip in
 * btexport.trigger_skips, which the automation's owner can read.
 *
 * Live progress (rows, bytes, the object being written) is published in the
 * worker's backend status (BtxHistoryProgress) and read by
 * btexport._live_progress(): a run's own writes to btexport.runs stay
 * invisible until its transaction commits.  The last progress is recorded in
 * the run's progress columns when it ends.
 */
#ifndef BTX_HISTORY_H
#define BTX_HISTORY_H

#include "adapters/btexport.h"

#include "nodes/pg_list.h"
#include "utils/timestamp.h"

#include "adapters/automation.h"
#include "adapters/objstore.h"

/*
 * pg_stat_activity.backend_type of a run's worker (launch.c registers it); its
 * application_name is BTX_RUN_BACKEND_TYPE " <run id>" from the moment its run
 * is queued (run/worker.c), which is how SQL tells a run's live worker from a
 * process that reuses a crashed run's pid
 */
#define BTX_RUN_BACKEND_TYPE "btexport run"

/* btexport.runs.status */
typedef enum BtxRunStatus
{
	BTX_RUN_QUEUED,
	BTX_RUN_RUNNING,
	BTX_RUN_SUCCEEDED,
	BTX_RUN_FAILED,
	BTX_RUN_CANCELLED
} BtxRunStatus;

/* btexport.runs.trigger */
typedef enum BtxRunTrigger
{
	BTX_TRIGGER_MANUAL,
	BTX_TRIGGER_SCHEDULE,
	BTX_TRIGGER_BACKLOG			/* the next run of a backlog, started by the worker */
} BtxRunTrigger;

extern const char *BtxRunStatusName(BtxRunStatus s);
extern const char *BtxRunTriggerName(BtxRunTrigger t);
/* ereports on an unknown name (btexport._check_trigger validated it) */
extern BtxRunTrigger BtxRunTriggerFromName(const char *name);

/* one finished object of a run: a btexport.run_files row */
typedef struct BtxRunFile
{
	int			seq;
	char	   *key;
	uint64		rows;
	BtxObjectResult res;
} BtxRunFile;

/* how far a run has got */
typedef struct BtxRunProgress
{
	uint64		rows;
	uint64		bytes;
	int			object_seq;		/* the object being written (1, 2, ...), 0 = none */
	int64		requests;		/* API requests the source made (a remote source), -1 = none */
} BtxRunProgress;

/*
 * Where a source's position is stored: the span store's cursor is an xid8
 * (automations.cursor, runs.cursor_from/cursor_to); a remote source's is
 * text of its own (automations.position, runs.position_from/position_to).
 */
typedef enum BtxPositionKind
{
	BTX_POSITION_CURSOR,
	BTX_POSITION_TEXT
} BtxPositionKind;

/* what a successful run commits */
typedef struct BtxRunResult
{
	uint64		rows;
	uint64		bytes;
	List	   *files;			/* BtxRunFile * */
	char	   *manifest_key;	/* NULL when the run wrote no file */
	int64		snapshot_id;	/* a table's sink: the snapshot committed (0: none) */
} BtxRunResult;

struct BtxSource;

/*
 * One run as its worker holds it across its transactions; strings live in
 * cxt, which outlives them.
 */
typedef struct BtxRun
{
	int64		id;
	int64		automation_id;
	BtxRunTrigger trigger;
	MemoryContext cxt;
	BtxAutomation *automation;	/* loaded once, in T2: T3 exports what T2 planned */
	struct BtxSource *source;	/* the automation's source (run/source.h), made in T2 */
	BtxPositionKind position_kind;	/* how the source's position is stored */
	char	   *from;			/* source position the run starts at */
	char	   *to;				/* ... and the one it commits (NULL until known: a remote
								 * source learns it while reading, in T3) */
	bool		more;			/* rows remain beyond `to` */
	TimestampTz started;
	char	   *base_key;		/* every object of the run starts with it */
	BtxRunProgress progress;	/* last published */
} BtxRun;

/* T0: may a run of this automation start?  false when it is gone, or paused (unless allowed: then
 * *skip is BTX_SKIP_PAUSED) */
extern bool BtxHistoryMayRun(int64 automation_id, bool allow_paused, const char **skip);

/*
 * btexport.trigger_skips.reason: why a trigger produced no run (the table's CHECK lists
 * them; btexport.run records paused, not_due and cursor_foreign itself)
 */
#define BTX_SKIP_PAUSED			"paused"
#define BTX_SKIP_ALREADY_QUEUED	"already_queued"
#define BTX_SKIP_NO_WORKER_SLOT	"no_worker_slot"
#define BTX_SKIP_WORKER_FAILED	"worker_failed"

/* a trigger that produced no run, with its reason (detail NULL: the reason's standard text) */
extern void BtxHistorySkip(int64 automation_id, const char *trigger, const char *token, const char *reason,
						   const char *detail);
/* launch.c: did the launch with this token record a skip (through a fresh snapshot)? */
extern bool BtxHistorySkipByToken(const char *token);

/* T1: insert the queued run (fills run->id); false when the automation is gone */
extern bool BtxHistoryQueue(BtxRun *run, const char *token);

/* T2 */
extern void BtxHistoryFailInterrupted(BtxRun *run);
extern void BtxHistoryApplyRetention(BtxRun *run, int days);
extern BtxAutomation *BtxHistoryLoadAutomation(BtxRun *run);
extern void BtxHistoryStart(BtxRun *run);

/* T3 */
extern void BtxHistoryProgress(BtxRun *run, const BtxRunProgress *p);
/* milliseconds since the automation's previous run that made API requests ended, -1 when none */
extern int64 BtxHistoryMsSincePreviousRun(const BtxRun *run);
extern void BtxHistorySucceed(BtxRun *run, const BtxRunResult *result);

/* T3': the run failed (cancelled when edata is a cancel); may pause the automation */
extern void BtxHistoryFail(BtxRun *run, ErrorData *edata);

/* the end of a run, in any outcome: the worker's backend no longer shows it */
extern void BtxHistoryProgressDone(void);

/* btexport._live_progress(): the progress every running run's worker shows now */
typedef struct BtxLiveProgress
{
	int			pid;
	int64		run_id;
	BtxRunProgress progress;
} BtxLiveProgress;
extern List *BtxHistoryLiveProgress(void);

/* launch.c: a run that could not get a worker, recorded failed; returns its row */
extern HeapTupleHeader BtxHistoryLaunchFailure(int64 automation_id, const char *trigger, int sqlerrcode,
											   const char *message, const char *hint);
/* launch.c: the run a launch created (by its request token), through a fresh snapshot */
extern bool BtxHistoryRunByToken(const char *token, HeapTupleHeader *out);
/* launch.c: is the automation committed (visible to a worker)? */
extern bool BtxHistoryAutomationCommitted(int64 automation_id);

/* keys.c: does any run_files key in bucket start with prefix? */
extern bool BtxHistoryKeyPrefixUsed(const char *bucket, const char *prefix);

/* cleanup.c: failed or cancelled runs of an automation whose objects are not removed yet */
typedef struct BtxUncleanedRun
{
	int64		id;
	char	   *base_key;
} BtxUncleanedRun;
extern List *BtxHistoryUncleanedRuns(int64 automation_id);
extern bool BtxHistoryKeyCommitted(const char *bucket, const char *key);
extern void BtxHistoryMarkCleaned(int64 run_id);

#endif
