/*
 * run.c — one export run: cursor window → export query (as the automation's
 * owner) → JSON Lines / Parquet files → S3 objects → ledger.
 *
 * A run exports the span versions whose _xact_id lies in [cursor, xmin of the
 * run's snapshot): every transaction below that xmin has ended, so no row can
 * later appear below the new cursor.  Rows of transactions still open go to a
 * later run.  The ledger update, the run_files rows and the cursor advance
 * commit together.
 */
#include "postgres.h"

#include "access/xact.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"
#include "utils/json.h"
#include "pgstat.h"
#include "utils/typcache.h"

#include "btexport.h"
#include "objstore.h"
#include "runner.h"

#define FETCH_BYTES (8 * 1024 * 1024)

/* the rotating set of output files of one run */
typedef struct RunFileSet
{
	BtxTarget  *target;
	BtxAutomation *a;
	int64		run_id;
	char	   *base_key;		/* prefix + date folders + export_<ts> */
	const char *ext;
	const char *content_type;
	uint64		target_size;
	BtxFormatWriter *fw;		/* current file's format writer */
	BtxObject  *obj;			/* current object */
	uint64		file_rows;
	List	   *files;			/* RunFile * of finished objects */
	uint64		total_rows;
	uint64		total_bytes;
	MemoryContext keep;			/* outlives the transaction: the file list */
} RunFileSet;


/* decode an automations row (a composite datum) */
void
BtxAutomationFromRow(HeapTupleHeader row, BtxAutomation *a)
{
	TupleDesc	desc = lookup_rowtype_tupdesc(HeapTupleHeaderGetTypeId(row), HeapTupleHeaderGetTypMod(row));
	HeapTupleData tuple;
	char	   *v;

#define COL(name) SPI_getvalue(&tuple, desc, SPI_fnumber(desc, name))
	tuple.t_len = HeapTupleHeaderGetDatumLength(row);
	ItemPointerSetInvalid(&tuple.t_self);
	tuple.t_tableOid = InvalidOid;
	tuple.t_data = row;
	memset(a, 0, sizeof(*a));
	v = COL("id");
	a->id = v ? strtoll(v, NULL, 10) : 0;
	a->name = COL("name");
	{
		bool		isnull;

		a->owner = DatumGetObjectId(SPI_getbinval(&tuple, desc, SPI_fnumber(desc, "owner"), &isnull));
	}
	a->project_id = COL("project_id");
	a->export_type = COL("export_type");
	a->query = COL("query");
	a->bucket = COL("bucket");
	a->prefix = COL("prefix");
	a->region = COL("region");
	a->endpoint = COL("endpoint");
	a->role_arn = COL("role_arn");
	a->external_id = COL("external_id");
	a->credential = COL("credential");
	a->format = COL("format");
	a->batch_size = atoi(COL("batch_size"));
	a->status = COL("status");
	a->cursor = COL("cursor");
	a->compression = COL("compression");
	a->sse = COL("sse");
	a->kms_key_id = COL("kms_key_id");
	v = COL("bucket_owner_full_control");
	a->bucket_owner_full_control = v && v[0] == 't';
	v = COL("part_size");
	a->part_size = v ? strtoll(v, NULL, 10) : 0;
	v = COL("target_file_size");
	a->target_file_size = v ? strtoll(v, NULL, 10) : 0;
	v = COL("max_rows_per_run");
	a->max_rows_per_run = v ? strtoll(v, NULL, 10) : 100000;
	a->trace_idle = COL("trace_idle");
	v = COL("layout");
	a->hive = v && strcmp(v, "hive") == 0;
#undef COL
	ReleaseTupleDesc(desc);
}

void
BtxLoadAutomation(int64 id, BtxAutomation *a, bool lock)
{
	int			rc;
	bool		isnull;

	rc = SPI_execute_with_args(lock ? "SELECT a FROM btexport.automations a WHERE id = $1 FOR UPDATE" :
							   "SELECT a FROM btexport.automations a WHERE id = $1",
							   1, (Oid[]) {INT8OID}, (Datum[]) {Int64GetDatum(id)}, NULL, false, 1);
	if (rc != SPI_OK_SELECT || SPI_processed != 1)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("automation %lld does not exist", (long long) id),
				 errhint("See btexport.automations for the automations you own.")));
	BtxAutomationFromRow(DatumGetHeapTupleHeader(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1,
															   &isnull)), a);
}

void
BtxTargetFromAutomation(BtxAutomation *a, BtxTarget *t)
{
	memset(t, 0, sizeof(*t));
	t->bucket = a->bucket;
	t->prefix = a->prefix;
	t->region = a->region;
	t->endpoint = a->endpoint;
	t->role_arn = a->role_arn;
	t->external_id = a->external_id;
	t->credential = a->credential;
	t->owner = a->owner;
	t->automation_name = a->name;
	t->session_name = psprintf("btexport-%lld", (long long) a->id);
	t->sse = a->sse;
	t->kms_key_id = a->kms_key_id;
	t->bucket_owner_full_control = a->bucket_owner_full_control;
	t->part_size_kb = a->part_size > 0 ? (int) (a->part_size / 1024) : 0;
}

static void
fileset_close_current(RunFileSet *fs)
{
	RunFile    *f;
	MemoryContext old;

	if (fs->fw == NULL)
		return;
	BtxFormatFinish(fs->fw);
	old = MemoryContextSwitchTo(fs->keep);
	f = palloc0(sizeof(RunFile));
	f->seq = list_length(fs->files) + 1;
	f->key = pstrdup(BtxObjectKey(fs->obj));
	f->rows = fs->file_rows;
	MemoryContextSwitchTo(old);
	BtxObjectFinish(fs->obj, &f->res);
	fs->obj = NULL;
	BtxFormatFree(fs->fw);
	fs->fw = NULL;
	old = MemoryContextSwitchTo(fs->keep);
	fs->files = lappend(fs->files, f);
	MemoryContextSwitchTo(old);
	fs->total_bytes += f->res.bytes;
	fs->file_rows = 0;
}

static void
fileset_open_next(RunFileSet *fs, TupleDesc tupdesc, char **colnames)
{
	int			n = list_length(fs->files) + 1;
	char	   *key;

	if (n == 1)
		key = psprintf("%s%s", fs->base_key, fs->ext);
	else
		key = psprintf("%s_part-%04d%s", fs->base_key, n, fs->ext);
	fs->obj = BtxObjectOpen(fs->target, key, fs->content_type, true);
	fs->fw = BtxFormatOpen(fs->a, tupdesc, colnames, fs->obj);
	fs->file_rows = 0;
}

/*
 * Choose the run's base key: <prefix>YYYY/MM/DD/export_YYYY-MM-DD_HH-MM-SS
 * (UTC, the run's start).  Should an earlier run of this automation have
 * started in the same second, the run id is appended so keys never collide.
 */
char *
BtxChooseBaseKey(BtxAutomation *a, int64 run_id, TimestampTz started)
{
	pg_time_t	t = timestamptz_to_time_t(started);
	struct pg_tm *tm = pg_gmtime(&t);
	char	   *folder;
	char	   *base;
	Oid			argtypes[2] = {TEXTOID, TEXTOID};
	Datum		values[2];
	int			rc;

	/* the folder of the run's day (and hour): layout date or hive */
	folder = a->hive ?
		psprintf("date=%04d-%02d-%02d/hour=%02d/", tm->tm_year + 1900, tm->tm_mon + 1, tm->tm_mday,
				 tm->tm_hour) :
		psprintf("%04d/%02d/%02d/", tm->tm_year + 1900, tm->tm_mon + 1, tm->tm_mday);
	base = psprintf("%s%sexport_%04d-%02d-%02d_%02d-%02d-%02d", a->prefix, folder,
					tm->tm_year + 1900, tm->tm_mon + 1, tm->tm_mday,
					tm->tm_hour, tm->tm_min, tm->tm_sec);
	values[0] = CStringGetTextDatum(a->bucket);
	values[1] = CStringGetTextDatum(base);
	rc = SPI_execute_with_args("SELECT 1 FROM btexport.run_files WHERE bucket = $1 AND starts_with(key, $2) LIMIT 1",
							   2, argtypes, values, NULL, true, 1);
	if (rc != SPI_OK_SELECT)
		elog(ERROR, "could not read btexport.run_files");
	if (SPI_processed > 0)
		base = psprintf("%s_%lld", base, (long long) run_id);
	return base;
}

/* the export query: $1 project, $2/$3 the cursor window, then BTQL parameters */
void
BtxBuildExportQuery(BtxAutomation *a, bool typed, const char *from, const char *to, BtxExportQuery *q)
{
	const char *fn;

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
 * The manifest's key: beside the data prefix, never under it, so a loader's
 * pattern on the data never matches it:
 *   exports/spans/2026/01/15/export_<ts>  ->  exports/spans.manifests/2026/01/15/export_<ts>.manifest.json
 * (a bucket-root prefix puts manifests under _btexport_manifests/).
 */
char *
BtxManifestKey(const char *prefix, const char *base_key)
{
	size_t		plen = strlen(prefix);
	const char *rest = base_key + (strncmp(base_key, prefix, plen) == 0 ? plen : 0);

	if (plen == 0)
		return psprintf("_btexport_manifests/%s.manifest.json", rest);
	return psprintf("%.*s.manifests/%s.manifest.json", (int) (plen - 1), prefix, rest);
}

/*
 * The run's manifest: every object with its rows, bytes and checksum, the
 * format and the cursor window.  Written after the data objects and before
 * the ledger commits: a run without a manifest did not happen.
 */
static char *
write_manifest(BtxTarget *t, BtxAutomation *a, int64 run_id, const char *base_key, const char *from,
			   const char *to, RunFileSet *fs)
{
	StringInfoData j;
	ListCell   *lc;
	char	   *key = BtxManifestKey(a->prefix, base_key);
	BtxObject  *o;
	BtxObjectResult res;
	bool		first = true;

	initStringInfo(&j);
	appendStringInfo(&j, "{\"manifest_version\": 1, \"schema_version\": 1, \"run_id\": " INT64_FORMAT
					 ", \"automation\": {\"id\": " INT64_FORMAT ", \"name\": ", run_id, a->id);
	escape_json(&j, a->name);
	appendStringInfoString(&j, "}, \"project_id\": ");
	escape_json(&j, a->project_id);
	appendStringInfoString(&j, ", \"export_type\": ");
	escape_json(&j, a->export_type);
	appendStringInfoString(&j, ", \"format\": ");
	escape_json(&j, a->format);
	appendStringInfoString(&j, ", \"compression\": ");
	escape_json(&j, a->compression ? a->compression : "none");
	appendStringInfo(&j, ", \"cursor\": {\"from\": \"%s\", \"to\": \"%s\"}", from, to);
	appendStringInfo(&j, ", \"rows\": " UINT64_FORMAT ", \"bytes\": " UINT64_FORMAT ", \"created\": ",
					 fs->total_rows, fs->total_bytes);
	escape_json(&j, timestamptz_to_str(GetCurrentTimestamp()));
	appendStringInfoString(&j, ", \"bucket\": ");
	escape_json(&j, a->bucket);
	appendStringInfoString(&j, ", \"files\": [");
	foreach(lc, fs->files)
	{
		RunFile    *f = lfirst(lc);

		appendStringInfo(&j, "%s{\"key\": ", first ? "" : ", ");
		escape_json(&j, f->key);
		appendStringInfo(&j, ", \"rows\": " UINT64_FORMAT ", \"bytes\": " UINT64_FORMAT ", \"sha256\": \"%s\", \"etag\": ",
						 f->rows, f->res.bytes, f->res.sha256);
		escape_json(&j, f->res.etag);
		appendStringInfoChar(&j, '}');
		first = false;
	}
	appendStringInfoString(&j, "]}\n");
	o = BtxObjectOpen(t, key, "application/json", true);
	PG_TRY();
	{
		BtxObjectWrite(o, j.data, j.len);
		BtxObjectFinish(o, &res);
	}
	PG_CATCH();
	{
		BtxObjectAbort(o);
		PG_RE_THROW();
	}
	PG_END_TRY();
	return key;
}

/*
 * Export [from, to) for automation a into S3 as run run_id.  Throws on
 * failure after aborting the open upload and deleting the objects this run
 * already completed (what a crash leaves behind, BtxCleanupOrphans removes).
 */
void
BtxExportWindow(BtxAutomation *a, int64 run_id, const char *base_key, const char *from, const char *to,
				const BtxRunSettings *settings, MemoryContext keep, BtxRunStats *stats)
{
	RunFileSet		fs;
	BtxTarget	target;
	BtxExportQuery q;
	Oid			save_userid;
	int			save_sec;
	int			nestlevel;
	Portal		portal;
	bool		typed = strcmp(a->format, "parquet") == 0;
	volatile long fetch = Min(a->batch_size, 100);

	memset(&fs, 0, sizeof(fs));
	BtxTargetFromAutomation(a, &target);
	fs.target = &target;
	fs.a = a;
	fs.run_id = run_id;
	fs.target_size = a->target_file_size > 0 ? (uint64) a->target_file_size :
		(uint64) settings->target_file_size_kb * 1024;
	fs.keep = keep;
	fs.ext = BtxFormatExtension(a);
	fs.content_type = BtxFormatContentType(a);

	PG_TRY();
	{
		BtxTargetConnect(&target);
		if (target.part_size_kb == 0)
			target.part_size_kb = settings->part_size_kb;
		BtxCleanupOrphans(a, &target);
		fs.base_key = pstrdup(base_key);

		BtxBuildExportQuery(a, typed, from, to, &q);

		/* run the query as the automation's owner, in UTC, resolving names in pg_catalog only */
		nestlevel = NewGUCNestLevel();
		(void) set_config_option("TimeZone", "UTC", PGC_USERSET, PGC_S_SESSION,
								 GUC_ACTION_SAVE, true, 0, false);
		(void) set_config_option("search_path", "pg_catalog, pg_temp", PGC_USERSET, PGC_S_SESSION,
								 GUC_ACTION_SAVE, true, 0, false);
		GetUserIdAndSecContext(&save_userid, &save_sec);
		SetUserIdAndSecContext(a->owner, save_sec | SECURITY_LOCAL_USERID_CHANGE |
							   SECURITY_RESTRICTED_OPERATION);

		portal = SPI_cursor_open_with_args(NULL, q.sql, q.nargs, q.argtypes, q.values, q.nulls, true, 0);
		for (;;)
		{
			uint64		i;
			uint64		batch_bytes = 0;

			/*
			 * batch_size rows per fetch, fewer when rows are large: a fetch
			 * is held in memory, so aim at about FETCH_BYTES per batch.
			 */
			SPI_cursor_fetch(portal, true, fetch);
			if (SPI_processed == 0)
				break;
			for (i = 0; i < SPI_processed; i++)
			{
				batch_bytes += SPI_tuptable->vals[i]->t_len;
				if (fs.fw == NULL)
					fileset_open_next(&fs, SPI_tuptable->tupdesc, q.colnames);
				BtxFormatRow(fs.fw, SPI_tuptable->vals[i]);
				fs.file_rows++;
				fs.total_rows++;
				if (BtxFormatBytes(fs.fw) >= fs.target_size)
					fileset_close_current(&fs);
			}
			fetch = (long) Max(1, Min((uint64) a->batch_size,
									  (uint64) FETCH_BYTES * SPI_processed / Max(batch_bytes, 1)));
			SPI_freetuptable(SPI_tuptable);
			/* progress, for btexport.progress */
			pgstat_report_activity(STATE_RUNNING,
								   psprintf("btexport run " INT64_FORMAT ": " UINT64_FORMAT " rows, " UINT64_FORMAT
											" bytes, object s3://%s/%s", run_id, fs.total_rows,
											fs.total_bytes + (fs.fw ? BtxFormatBytes(fs.fw) : 0),
											a->bucket, fs.obj ? BtxObjectKey(fs.obj) : ""));
			CHECK_FOR_INTERRUPTS();
		}
		SPI_cursor_close(portal);
		SetUserIdAndSecContext(save_userid, save_sec);
		AtEOXact_GUC(true, nestlevel);

		fileset_close_current(&fs);
		if (fs.files != NIL)
		{
			char	   *mkey = write_manifest(&target, a, run_id, base_key, from, to, &fs);
			MemoryContext old = MemoryContextSwitchTo(keep);

			stats->manifest_key = pstrdup(mkey);
			MemoryContextSwitchTo(old);
		}
	}
	PG_CATCH();
	{
		ListCell   *lc;

		/* no partial object: abort the open upload, delete finished ones */
		if (fs.obj)
			BtxObjectAbort(fs.obj);
		if (fs.fw)
			BtxFormatFree(fs.fw);
		foreach(lc, fs.files)
		{
			RunFile    *f = lfirst(lc);
			char	   *d,
					   *h;

			(void) BtxDelete(&target, f->key, &d, &h);
		}
		BtxTargetClose(&target);
		PG_RE_THROW();
	}
	PG_END_TRY();
	BtxTargetClose(&target);

	stats->rows = fs.total_rows;
	stats->bytes = fs.total_bytes;
	stats->files = fs.files;
}

void
BtxRecordFiles(BtxAutomation *a, int64 run_id, List *files)
{
	ListCell   *lc;
	Oid			argtypes[10] = {INT8OID, INT8OID, INT4OID, TEXTOID, TEXTOID, TEXTOID, INT8OID, INT8OID,
	TEXTOID, TEXTOID};

	foreach(lc, files)
	{
		RunFile    *f = lfirst(lc);
		Datum		values[10];

		values[0] = Int64GetDatum(run_id);
		values[1] = Int64GetDatum(a->id);
		values[2] = Int32GetDatum(f->seq);
		values[3] = CStringGetTextDatum(a->bucket);
		values[4] = CStringGetTextDatum(f->key);
		values[5] = CStringGetTextDatum(a->format);
		values[6] = Int64GetDatum((int64) f->rows);
		values[7] = Int64GetDatum((int64) f->res.bytes);
		values[8] = CStringGetTextDatum(f->res.etag);
		values[9] = CStringGetTextDatum(f->res.sha256);
		if (SPI_execute_with_args("INSERT INTO btexport.run_files (run_id, automation_id, owner, seq, bucket, key,"
								  " format, rows, bytes, etag, sha256, committed)"
								  " SELECT $1, $2, a.owner, $3, $4, $5, $6, $7, $8, $9, $10, true"
								  " FROM btexport.automations a WHERE a.id = $2",
								  10, argtypes, values, NULL, false, 0) != SPI_OK_INSERT)
			elog(ERROR, "could not record run file");
	}
}

