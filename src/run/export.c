/*
 * export.c — one export run: cursor window → export query (as the automation's
 * owner) → JSON Lines / Parquet files → S3 objects → ledger.
 *
 * A run exports the span versions whose _xact_id lies in [cursor, xmin of the
 * run's snapshot): every transaction below that xmin has ended, so no row can
 * later appear below the new cursor.  Rows of transactions still open go to a
 * later run.  The ledger update, the run_files rows and the cursor advance
 * commit together.
 */
#include "adapters/btexport.h"

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

#include "adapters/btql_glue.h"
#include "adapters/format_writer.h"
#include "adapters/objstore.h"
#include "run/runner.h"

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
