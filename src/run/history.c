/*
 * history.c — run history (see history.h): every read and write of
 * btexport.runs, btexport.run_files, the cursor and the run-driven status of
 * an automation, and the NOTIFY of each state change.
 *
 * Status, trigger and automation-status values travel as bind parameters
 * spelled by the tables below, so the SQL spelling of each exists once.
 */
#include "adapters/btexport.h"

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "utils/backend_progress.h"
#include "utils/backend_status.h"
#include "utils/builtins.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"

#include "adapters/format_writer.h"
#include "run/history.h"
#include "run/keys.h"

static const char *const run_status_names[] = {
	[BTX_RUN_QUEUED] = "queued",
	[BTX_RUN_RUNNING] = "running",
	[BTX_RUN_SUCCEEDED] = "succeeded",
	[BTX_RUN_FAILED] = "failed",
	[BTX_RUN_CANCELLED] = "cancelled",
};

static const char *const trigger_names[] = {
	[BTX_TRIGGER_MANUAL] = "manual",
	[BTX_TRIGGER_SCHEDULE] = "schedule",
	[BTX_TRIGGER_BACKLOG] = "backlog",
};

/* btexport.automations.status */
#define AUTOMATION_ACTIVE	"active"
#define AUTOMATION_PAUSED	"paused"

const char *
BtxRunStatusName(BtxRunStatus s)
{
	if ((int) s < 0 || (int) s >= (int) lengthof(run_status_names))
		elog(ERROR, "unknown run status %d", (int) s);
	return run_status_names[s];
}

const char *
BtxRunTriggerName(BtxRunTrigger t)
{
	if ((int) t < 0 || (int) t >= (int) lengthof(trigger_names))
		elog(ERROR, "unknown run trigger %d", (int) t);
	return trigger_names[t];
}

BtxRunTrigger
BtxRunTriggerFromName(const char *name)
{
	int			i;

	for (i = 0; i < (int) lengthof(trigger_names); i++)
		if (strcmp(name, trigger_names[i]) == 0)
			return (BtxRunTrigger) i;
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("unknown trigger \"%s\"", name),
			 errhint("Use trigger => 'manual' (the default) or 'schedule'.")));
	pg_unreachable();
}

#define T(s) CStringGetTextDatum(s)
#define STATUS(s) CStringGetTextDatum(BtxRunStatusName(s))

/* run one statement; ereport unless it returns the expected SPI code */
static void
run_sql(const char *sql, int nargs, Oid *types, Datum *values, const char *nulls, int expect, const char *what)
{
	if (SPI_execute_with_args(sql, nargs, types, values, nulls, false, 0) != expect)
		elog(ERROR, "could not %s", what);
}

/*
 * NOTIFY btexport with ids only ({"run_id": .., "automation_id": ..}): any
 * role may LISTEN, so the payload carries nothing a role may not see (no
 * name, status, bucket or error); owners read the run from btexport.runs.
 */
static void
notify_run(int64 run_id)
{
	run_sql("SELECT pg_catalog.pg_notify('btexport', pg_catalog.json_build_object("
		 "'run_id', r.id, 'automation_id', r.automation_id)::text)"
		 " FROM btexport.runs r WHERE r.id OPERATOR(pg_catalog.=) $1",
		 1, (Oid[]) {INT8OID}, (Datum[]) {Int64GetDatum(run_id)}, NULL, SPI_OK_SELECT, "notify");
}

/* the first column of the first row as a C string (NULL when no row or NULL) */
static char *
first_value(void)
{
	if (SPI_processed == 0)
		return NULL;
	return SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1);
}

bool
BtxHistoryMayRun(int64 automation_id, bool allow_paused, const char **skip)
{
	char	   *status;

	*skip = NULL;
	run_sql("SELECT status FROM btexport.automations WHERE id = $1", 1, (Oid[]) {INT8OID},
		 (Datum[]) {Int64GetDatum(automation_id)}, NULL, SPI_OK_SELECT, "read the automation");
	status = first_value();
	if (status == NULL)
		return false;
	if (!allow_paused && strcmp(status, AUTOMATION_PAUSED) == 0)
	{
		*skip = BTX_SKIP_PAUSED;
		return false;
	}
	return true;
}

void
BtxHistorySkip(int64 automation_id, const char *trigger, const char *token, const char *reason, const char *detail)
{
	run_sql("SELECT btexport._record_skip($1, $2, $3, $4, $5)", 5,
		 (Oid[]) {INT8OID, TEXTOID, TEXTOID, TEXTOID, TEXTOID},
		 (Datum[]) {Int64GetDatum(automation_id), T(trigger), T(reason), detail ? T(detail) : (Datum) 0,
		 token ? T(token) : (Datum) 0},
		 (const char[]) {' ', ' ', ' ', detail ? ' ' : 'n', token ? ' ' : 'n'},
		 SPI_OK_SELECT, "record the skipped trigger");
}

bool
BtxHistorySkipByToken(const char *token)
{
	int			rc;

	PushActiveSnapshot(GetLatestSnapshot());
	rc = SPI_execute_with_args("SELECT 1 FROM btexport.trigger_skips WHERE request_token = $1", 1, (Oid[]) {TEXTOID},
							   (Datum[]) {T(token)}, NULL, true, 1);
	PopActiveSnapshot();
	return rc == SPI_OK_SELECT && SPI_processed == 1;
}

bool
BtxHistoryQueue(BtxRun *run, const char *token)
{
	bool		isnull;

	run_sql("INSERT INTO btexport.runs (automation_id, owner, trigger, status, pid, request_token)"
		 " SELECT a.id, a.owner, $2, $3, pg_catalog.pg_backend_pid(), $4 FROM btexport.automations a"
		 " WHERE a.id = $1 RETURNING id",
		 4, (Oid[]) {INT8OID, TEXTOID, TEXTOID, TEXTOID},
		 (Datum[]) {Int64GetDatum(run->automation_id), T(BtxRunTriggerName(run->trigger)),
		 STATUS(BTX_RUN_QUEUED), T(token)}, NULL, SPI_OK_INSERT_RETURNING, "queue the run");
	if (SPI_processed != 1)
		return false;
	run->id = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	notify_run(run->id);
	return true;
}

/*
 * Runs of this automation that a crash or a killed worker left running, or
 * queued by a worker that is gone (no run worker whose application_name
 * still names the run: its pid may be another process's by now): they are
 * failed, and their objects are removed by the next cleanup (their base key
 * is recorded).
 */
void
BtxHistoryFailInterrupted(BtxRun *run)
{
	run_sql("UPDATE btexport.runs SET status = $3, finished_at = pg_catalog.clock_timestamp(),"
		 " error_sqlstate = '57P01', error_message = 'run interrupted',"
		 " error_detail = 'The server or the run''s worker stopped before the run finished.',"
		 " error_hint = 'Nothing it wrote is committed; the next run exports its rows.'"
		 " WHERE automation_id = $1 AND id <> $2 AND (status = $4 OR (status = $5"
		 "   AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_stat_activity s WHERE s.pid = runs.pid"
		 "                   AND s.backend_type = $6"
		 "                   AND s.application_name = $6 || ' ' || runs.id)))",
		 6, (Oid[]) {INT8OID, INT8OID, TEXTOID, TEXTOID, TEXTOID, TEXTOID},
		 (Datum[]) {Int64GetDatum(run->automation_id), Int64GetDatum(run->id), STATUS(BTX_RUN_FAILED),
			 STATUS(BTX_RUN_RUNNING), STATUS(BTX_RUN_QUEUED), T(BTX_RUN_BACKEND_TYPE)},
		 NULL, SPI_OK_UPDATE, "clean up interrupted runs");
}

/* run history retention (btexport.run_retention); failed runs stay until their objects are gone;
 * skipped triggers last seen before it go too */
void
BtxHistoryApplyRetention(BtxRun *run, int days)
{
	run_sql("DELETE FROM btexport.runs WHERE automation_id = $1 AND id <> $2"
		 " AND finished_at < pg_catalog.now() - pg_catalog.make_interval(days => $3)"
		 " AND (status = $4 OR cleaned OR base_key IS NULL)",
		 4, (Oid[]) {INT8OID, INT8OID, INT4OID, TEXTOID},
		 (Datum[]) {Int64GetDatum(run->automation_id), Int64GetDatum(run->id), Int32GetDatum(days),
		 STATUS(BTX_RUN_SUCCEEDED)}, NULL, SPI_OK_DELETE, "apply run history retention");
	run_sql("DELETE FROM btexport.trigger_skips WHERE automation_id = $1"
		 " AND last_at < pg_catalog.now() - pg_catalog.make_interval(days => $2)",
		 2, (Oid[]) {INT8OID, INT4OID}, (Datum[]) {Int64GetDatum(run->automation_id), Int32GetDatum(days)},
		 NULL, SPI_OK_DELETE, "apply skipped-trigger retention");
}

/*
 * The run is running: its base key, and its window — [cursor_from,
 * cursor_to) for the span store, position_from for a source with a text
 * position (its end is known when the run commits).
 */
void
BtxHistoryStart(BtxRun *run)
{
	bool		cursor = run->position_kind == BTX_POSITION_CURSOR;

	memset(&run->progress, 0, sizeof(run->progress));
	run->progress.requests = cursor ? -1 : 0;
	run_sql("UPDATE btexport.runs SET status = $2, started_at = $3, base_key = $6,"
		 " cursor_from = CASE WHEN $7 THEN $4::xid8 END, cursor_to = CASE WHEN $7 THEN $5::xid8 END,"
		 " position_from = CASE WHEN NOT $7 AND $4 OPERATOR(pg_catalog.<>) '' THEN $4 END,"
		 " api_requests = CASE WHEN NOT $7 THEN 0 END"
		 " WHERE id = $1",
		 7, (Oid[]) {INT8OID, TEXTOID, TIMESTAMPTZOID, TEXTOID, TEXTOID, TEXTOID, BOOLOID},
		 (Datum[]) {Int64GetDatum(run->id), STATUS(BTX_RUN_RUNNING), TimestampTzGetDatum(run->started),
			 T(run->from), run->to ? T(run->to) : (Datum) 0, T(run->base_key), BoolGetDatum(cursor)},
		 (const char[]) {' ', ' ', ' ', ' ', run->to ? ' ' : 'n', ' ', ' '},
		 SPI_OK_UPDATE, "start the run");
	notify_run(run->id);
}

int64
BtxHistoryMsSincePreviousRun(const BtxRun *run)
{
	char	   *ms;

	run_sql("SELECT (pg_catalog.date_part('epoch', pg_catalog.clock_timestamp() OPERATOR(pg_catalog.-)"
		 " pg_catalog.max(r.finished_at)) OPERATOR(pg_catalog.*) 1000)::pg_catalog.int8"
		 " FROM btexport.runs r WHERE r.automation_id = $1 AND r.id <> $2 AND r.api_requests > 0",
		 2, (Oid[]) {INT8OID, INT8OID}, (Datum[]) {Int64GetDatum(run->automation_id), Int64GetDatum(run->id)},
		 NULL, SPI_OK_SELECT, "read the previous run");
	ms = first_value();
	return ms ? strtoll(ms, NULL, 10) : -1;
}

/* ------------------------------------------------------------------------
 * live progress: the worker's backend status carries it while the run's
 * transaction is open (nothing it writes to btexport.runs is visible yet)
 * ------------------------------------------------------------------------ */

#define PROGRESS_MAGIC		0x627478	/* "btx": these progress slots are a btexport run's */
enum
{
	PROGRESS_TAG, PROGRESS_RUN, PROGRESS_ROWS, PROGRESS_BYTES, PROGRESS_OBJECT, PROGRESS_REQUESTS,
	PROGRESS_NPARAMS
};

void
BtxHistoryProgress(BtxRun *run, const BtxRunProgress *p)
{
	static const int index[PROGRESS_NPARAMS] = {PROGRESS_TAG, PROGRESS_RUN, PROGRESS_ROWS, PROGRESS_BYTES,
	PROGRESS_OBJECT, PROGRESS_REQUESTS};
	int64		values[PROGRESS_NPARAMS];

	run->progress = *p;
	values[PROGRESS_TAG] = PROGRESS_MAGIC;
	values[PROGRESS_RUN] = run->id;
	values[PROGRESS_ROWS] = (int64) p->rows;
	values[PROGRESS_BYTES] = (int64) p->bytes;
	values[PROGRESS_OBJECT] = p->object_seq;
	values[PROGRESS_REQUESTS] = p->requests;
	pgstat_progress_update_multi_param(PROGRESS_NPARAMS, index, values);
}

void
BtxHistoryProgressDone(void)
{
	pgstat_progress_update_param(PROGRESS_TAG, 0);
}

/* every backend whose progress slots carry a run's figures (the tag tells them from other commands' progress) */
List *
BtxHistoryLiveProgress(void)
{
	List	   *out = NIL;
	int			n = pgstat_fetch_stat_numbackends();
	int			i;

	for (i = 1; i <= n; i++)
	{
		LocalPgBackendStatus *l = pgstat_fetch_stat_local_beentry(i);
		PgBackendStatus *b;
		BtxLiveProgress *p;

		if (l == NULL)
			continue;
		b = &l->backendStatus;
		if (b->st_procpid <= 0 || b->st_progress_param[PROGRESS_TAG] != PROGRESS_MAGIC)
			continue;
		p = palloc(sizeof(BtxLiveProgress));
		p->pid = b->st_procpid;
		p->run_id = b->st_progress_param[PROGRESS_RUN];
		p->progress.rows = (uint64) b->st_progress_param[PROGRESS_ROWS];
		p->progress.bytes = (uint64) b->st_progress_param[PROGRESS_BYTES];
		p->progress.object_seq = (int) b->st_progress_param[PROGRESS_OBJECT];
		p->progress.requests = b->st_progress_param[PROGRESS_REQUESTS];
		out = lappend(out, p);
	}
	return out;
}

/* the key of the object a run was writing, or NULL */
static char *
progress_object(BtxRun *run)
{
	if (run->progress.object_seq <= 0 || run->base_key == NULL || run->automation == NULL)
		return NULL;
	return BtxObjectKeyFor(run->base_key, run->progress.object_seq,
						   BtxFormatLookup(run->automation->format)->extension(run->automation->compression));
}

/* ------------------------------------------------------------------------
 * the end of a run
 * ------------------------------------------------------------------------ */

static void
record_files(BtxRun *run, List *files)
{
	ListCell   *lc;

	foreach(lc, files)
	{
		BtxRunFile *f = lfirst(lc);

		run_sql("INSERT INTO btexport.run_files (run_id, automation_id, owner, seq, bucket, key,"
			 " format, rows, bytes, etag, sha256, committed)"
			 " SELECT $1, $2, a.owner, $3, $4, $5, $6, $7, $8, $9, $10, true"
			 " FROM btexport.automations a WHERE a.id = $2",
			 10, (Oid[]) {INT8OID, INT8OID, INT4OID, TEXTOID, TEXTOID, TEXTOID, INT8OID, INT8OID, TEXTOID, TEXTOID},
			 (Datum[]) {Int64GetDatum(run->id), Int64GetDatum(run->automation_id), Int32GetDatum(f->seq),
				 T(run->automation->bucket), T(f->key), T(run->automation->format), Int64GetDatum((int64) f->rows),
			 Int64GetDatum((int64) f->res.bytes), T(f->res.etag), T(f->res.sha256)},
			 NULL, SPI_OK_INSERT, "record run file");
	}
}

/*
 * The run's commit: its objects, its totals, succeeded, and the cursor moved
 * from where the run started to where it ended — one transaction.  The
 * cursor moves only from `from`: a rewind during the run fails it.
 */
void
BtxHistorySucceed(BtxRun *run, const BtxRunResult *result)
{
	char	   *object = progress_object(run);
	bool		cursor = run->position_kind == BTX_POSITION_CURSOR;
	int64		requests = run->progress.requests;

	record_files(run, result->files);
	run_sql("UPDATE btexport.runs SET status = $2, finished_at = pg_catalog.clock_timestamp(),"
		 " rows = $3, bytes = $4, files = $5, manifest_key = $6,"
		 " progress_rows = $3, progress_bytes = $4, progress_object = $7,"
		 " progress_at = pg_catalog.clock_timestamp(),"
		 " position_to = $8, api_requests = $9, snapshot_id = $10 WHERE id = $1",
		 10, (Oid[]) {INT8OID, TEXTOID, INT8OID, INT8OID, INT4OID, TEXTOID, TEXTOID, TEXTOID, INT8OID, INT8OID},
		 (Datum[]) {Int64GetDatum(run->id), STATUS(BTX_RUN_SUCCEEDED), Int64GetDatum((int64) result->rows),
			 Int64GetDatum((int64) result->bytes), Int32GetDatum(list_length(result->files)),
			 result->manifest_key ? T(result->manifest_key) : (Datum) 0, object ? T(object) : (Datum) 0,
		 cursor ? (Datum) 0 : T(run->to), Int64GetDatum(requests), Int64GetDatum(result->snapshot_id)},
		 (const char[]) {' ', ' ', ' ', ' ', ' ', result->manifest_key ? ' ' : 'n', object ? ' ' : 'n',
		 cursor ? 'n' : ' ', requests >= 0 ? ' ' : 'n', result->snapshot_id ? ' ' : 'n'},
		 SPI_OK_UPDATE, "record the run's result");
	if (cursor)
		run_sql("UPDATE btexport.automations SET cursor = $3::xid8 WHERE id = $1 AND cursor = $2::xid8",
			 3, (Oid[]) {INT8OID, TEXTOID, TEXTOID},
			 (Datum[]) {Int64GetDatum(run->automation_id), T(run->from), T(run->to)},
			 NULL, SPI_OK_UPDATE, "move the cursor");
	else
		run_sql("UPDATE btexport.automations SET source_position = $3"
			 " WHERE id = $1 AND source_position IS NOT DISTINCT FROM $2",
			 3, (Oid[]) {INT8OID, TEXTOID, TEXTOID},
			 (Datum[]) {Int64GetDatum(run->automation_id), run->from[0] ? T(run->from) : (Datum) 0, T(run->to)},
			 (const char[]) {' ', run->from[0] ? ' ' : 'n', ' '}, SPI_OK_UPDATE, "move the source position");
	if (SPI_processed != 1)
		ereport(ERROR,
				(errcode(ERRCODE_T_R_SERIALIZATION_FAILURE),
				 errmsg("the %s of automation \"%s\" moved during the run", cursor ? "cursor" : "source position",
						run->automation->name),
				 errdetail("The %s was rewound or changed while the run exported from %s.",
						   cursor ? "cursor" : "source position", run->from[0] ? run->from : "the start"),
				 errhint("Nothing of this run is committed; the next run exports from the new %s.",
						 cursor ? "cursor" : "position")));
	notify_run(run->id);
}

/*
 * Too many failed runs in a row (max_failures): pause the automation, with
 * the reason, and remove its pg_cron job.
 */
static void
pause_after_failures(BtxRun *run, const char *message)
{
	char	   *name;

	run_sql("UPDATE btexport.automations a SET status = $3,"
		 "   paused_reason = pg_catalog.format('paused after %s consecutive failed runs; last error: %s',"
		 "                                     btexport._consecutive_failures(a.id), $2),"
		 "   updated = pg_catalog.now()"
		 " WHERE a.id = $1 AND a.status = $4 AND btexport._consecutive_failures(a.id) >= a.max_failures"
		 " RETURNING a.name",
		 4, (Oid[]) {INT8OID, TEXTOID, TEXTOID, TEXTOID},
		 (Datum[]) {Int64GetDatum(run->automation_id), T(message), T(AUTOMATION_PAUSED), T(AUTOMATION_ACTIVE)},
		 NULL, SPI_OK_UPDATE_RETURNING, "pause the automation");
	if ((name = first_value()) == NULL)
		return;
	/* keep pg_cron in step: a paused automation has no job */
	run_sql("SELECT btexport._sync_schedule(a) FROM btexport.automations a WHERE a.id = $1",
		 1, (Oid[]) {INT8OID}, (Datum[]) {Int64GetDatum(run->automation_id)}, NULL, SPI_OK_SELECT,
		 "update the schedule");
	ereport(WARNING,
			(errmsg("automation \"%s\" paused after repeated failures", name),
			 errhint("Fix the cause (see btexport.runs), then call btexport.resume(%s).", quote_literal_cstr(name))));
}

/*
 * The run's end after an error: cancelled (a cancel, btexport.cancel) or
 * failed, with the error's SQLSTATE, message, detail and hint, and how far it
 * got (NULL when it never started exporting).  A failure may pause the
 * automation; a cancel never does.
 */
void
BtxHistoryFail(BtxRun *run, ErrorData *edata)
{
	bool		cancelled = edata->sqlerrcode == ERRCODE_QUERY_CANCELED;
	const char *message = edata->message ? edata->message : "unknown error";
	char	   *object = progress_object(run);

	run_sql("UPDATE btexport.runs SET status = $2, finished_at = pg_catalog.clock_timestamp(),"
		 " error_sqlstate = $3, error_message = $4, error_detail = $5, error_hint = $6,"
		 " progress_rows = CASE WHEN started_at IS NOT NULL THEN $7 END,"
		 " progress_bytes = CASE WHEN started_at IS NOT NULL THEN $8 END, progress_object = $9,"
		 " progress_at = CASE WHEN started_at IS NOT NULL THEN pg_catalog.clock_timestamp() END,"
		 " api_requests = CASE WHEN started_at IS NOT NULL AND $10 >= 0 THEN $10 END"
		 " WHERE id = $1",
		 10, (Oid[]) {INT8OID, TEXTOID, TEXTOID, TEXTOID, TEXTOID, TEXTOID, INT8OID, INT8OID, TEXTOID, INT8OID},
		 (Datum[]) {Int64GetDatum(run->id), STATUS(cancelled ? BTX_RUN_CANCELLED : BTX_RUN_FAILED),
			 T(unpack_sql_state(edata->sqlerrcode)), T(message),
			 edata->detail ? T(edata->detail) : (Datum) 0, edata->hint ? T(edata->hint) : (Datum) 0,
			 Int64GetDatum((int64) run->progress.rows), Int64GetDatum((int64) run->progress.bytes),
		 object ? T(object) : (Datum) 0, Int64GetDatum(run->progress.requests)},
		 (const char[]) {' ', ' ', ' ', ' ', edata->detail ? ' ' : 'n', edata->hint ? ' ' : 'n', ' ', ' ',
		 object ? ' ' : 'n', ' '},
		 SPI_OK_UPDATE, "record the run's failure");
	if (!cancelled && run->automation != NULL)
		pause_after_failures(run, edata->message ? edata->message : "");
	notify_run(run->id);
}

/* ------------------------------------------------------------------------
 * the launcher's reads and writes
 * ------------------------------------------------------------------------ */

HeapTupleHeader
BtxHistoryLaunchFailure(int64 automation_id, const char *trigger, int sqlerrcode, const char *message,
						const char *hint)
{
	run_sql("INSERT INTO btexport.runs (automation_id, owner, trigger, status, started_at, finished_at,"
		 " error_sqlstate, error_message, error_hint)"
		 " SELECT a.id, a.owner, $2, $3, pg_catalog.clock_timestamp(), pg_catalog.clock_timestamp(), $4, $5, $6"
		 " FROM btexport.automations a WHERE a.id = $1 RETURNING *",
		 6, (Oid[]) {INT8OID, TEXTOID, TEXTOID, TEXTOID, TEXTOID, TEXTOID},
		 (Datum[]) {Int64GetDatum(automation_id), T(trigger), STATUS(BTX_RUN_FAILED),
		 T(unpack_sql_state(sqlerrcode)), T(message), T(hint)}, NULL, SPI_OK_INSERT_RETURNING,
		 "record the failed run");
	if (SPI_processed != 1)
		elog(ERROR, "could not record the failed run");
	return SPI_returntuple(SPI_tuptable->vals[0], SPI_tuptable->tupdesc);
}

/* through a fresh snapshot, whatever the caller's isolation level: the worker committed it */
bool
BtxHistoryRunByToken(const char *token, HeapTupleHeader *out)
{
	int			rc;

	PushActiveSnapshot(GetLatestSnapshot());
	rc = SPI_execute_with_args("SELECT * FROM btexport.runs WHERE request_token = $1", 1, (Oid[]) {TEXTOID},
							   (Datum[]) {T(token)}, NULL, true, 1);
	PopActiveSnapshot();
	if (rc != SPI_OK_SELECT || SPI_processed != 1)
		return false;
	*out = SPI_returntuple(SPI_tuptable->vals[0], SPI_tuptable->tupdesc);
	return true;
}

bool
BtxHistoryAutomationCommitted(int64 automation_id)
{
	int			rc;

	PushActiveSnapshot(GetLatestSnapshot());
	rc = SPI_execute_with_args("SELECT 1 FROM btexport.automations WHERE id = $1", 1, (Oid[]) {INT8OID},
							   (Datum[]) {Int64GetDatum(automation_id)}, NULL, true, 1);
	PopActiveSnapshot();
	return rc == SPI_OK_SELECT && SPI_processed == 1;
}

/* ------------------------------------------------------------------------
 * keys and cleanup
 * ------------------------------------------------------------------------ */

/* does a run_files row match (bucket $1, key $2)? */
static bool
run_file_exists(const char *sql, const char *bucket, const char *key)
{
	if (SPI_execute_with_args(sql, 2, (Oid[]) {TEXTOID, TEXTOID}, (Datum[]) {T(bucket), T(key)},
							  NULL, true, 1) != SPI_OK_SELECT)
		elog(ERROR, "could not read btexport.run_files");
	return SPI_processed > 0;
}

bool
BtxHistoryKeyPrefixUsed(const char *bucket, const char *prefix)
{
	/* an object key under it, or a run with this base key (a table's files are not under it) */
	return run_file_exists("SELECT 1 FROM btexport.run_files WHERE bucket = $1"
						   " AND pg_catalog.starts_with(key, $2)"
						   " UNION ALL SELECT 1 FROM btexport.runs r JOIN btexport.automations a"
						   " ON a.id = r.automation_id WHERE a.bucket = $1 AND r.base_key = $2 LIMIT 1",
						   bucket, prefix);
}

List *
BtxHistoryUncleanedRuns(int64 automation_id)
{
	List	   *out = NIL;
	uint64		i;
	bool		isnull;

	run_sql("SELECT r.id, r.base_key FROM btexport.runs r"
		 " WHERE r.automation_id = $1 AND r.status IN ($2, $3)"
		 " AND NOT r.cleaned AND r.base_key IS NOT NULL ORDER BY r.id",
		 3, (Oid[]) {INT8OID, TEXTOID, TEXTOID},
		 (Datum[]) {Int64GetDatum(automation_id), STATUS(BTX_RUN_FAILED), STATUS(BTX_RUN_CANCELLED)},
		 NULL, SPI_OK_SELECT, "read failed runs");
	for (i = 0; i < SPI_processed; i++)
	{
		BtxUncleanedRun *r = palloc(sizeof(BtxUncleanedRun));

		r->id = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1, &isnull));
		r->base_key = SPI_getvalue(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 2);
		out = lappend(out, r);
	}
	return out;
}

bool
BtxHistoryKeyCommitted(const char *bucket, const char *key)
{
	return run_file_exists("SELECT 1 FROM btexport.run_files WHERE bucket = $1 AND key = $2 AND committed",
						   bucket, key);
}

void
BtxHistoryMarkCleaned(int64 run_id)
{
	run_sql("UPDATE btexport.runs SET cleaned = true WHERE id = $1", 1, (Oid[]) {INT8OID},
		 (Datum[]) {Int64GetDatum(run_id)}, NULL, SPI_OK_UPDATE, "mark the run cleaned");
}
