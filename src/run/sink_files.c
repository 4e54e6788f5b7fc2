/*
 * sink_files.c — a run's rows as loose files in S3 (see sink.h): the
 * automation's format writes each file, the object store streams it, and a
 * manifest written last is the run's commit point in the store.
 *
 * Files rotate at the target size: a file is finished once its writer
 * reports target_size bytes, and the next row opens <base>_part-NNNN.  An
 * object is streamed while rows arrive (multipart, with a part uploading on
 * the core's helper thread while the next fills: src/core/s3/upload.c) and
 * becomes visible only when its upload completes; keys are write-once
 * (If-None-Match), so a key of a committed run is never overwritten.
 */
#include "adapters/btexport.h"

#include "utils/json.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"

#include "adapters/format_values.h"
#include "adapters/objstore.h"
#include "run/iceberg.h"
#include "core/format/jsonl.h"
#include "run/keys.h"
#include "run/sink.h"

typedef struct FilesState
{
	BtxTarget	target;
	const BtxFormat *format;
	char	   *base_key;		/* prefix + date folders + export_<ts> */
	const char *ext;
	const char *content_type;
	uint64		target_size;
	BtxFormatWriter *fw;		/* the current file's writer */
	BtxObject  *obj;			/* ... and its object */
	uint64		file_rows;
	List	   *files;			/* BtxRunFile * of finished objects */
	uint64		total_rows;
	uint64		total_bytes;
	MemoryContext cxt;			/* the sink's: the file list */
} FilesState;

static void
files_connect(BtxSink *sink)
{
	FilesState *fs = sink->state;

	BtxTargetConnect(&fs->target);
}

/* finish the current file: its trailer, its upload; it joins the run's files */
static void
close_current(FilesState *fs)
{
	BtxRunFile *f;
	MemoryContext old;

	if (fs->fw == NULL)
		return;
	fs->format->finish(fs->fw);
	old = MemoryContextSwitchTo(fs->cxt);
	f = palloc0(sizeof(BtxRunFile));
	f->seq = list_length(fs->files) + 1;
	f->key = pstrdup(BtxObjectKey(fs->obj));
	f->rows = fs->file_rows;
	MemoryContextSwitchTo(old);
	BtxObjectFinish(fs->obj, &f->res);
	fs->obj = NULL;
	fs->format->free(fs->fw);
	fs->fw = NULL;
	old = MemoryContextSwitchTo(fs->cxt);
	fs->files = lappend(fs->files, f);
	MemoryContextSwitchTo(old);
	fs->total_bytes += f->res.bytes;
	fs->file_rows = 0;
}

static void
open_next(FilesState *fs, BtxAutomation *a, const BtxRowBatch *batch)
{
	char	   *key = BtxObjectKeyFor(fs->base_key, list_length(fs->files) + 1, fs->ext);

	fs->obj = BtxObjectOpen(&fs->target, key, fs->content_type, true);
	fs->fw = fs->format->open(a, batch->desc, batch->colnames, batch->pivot, fs->obj);
	fs->file_rows = 0;
}

static void
files_write(BtxSink *sink, const BtxRowBatch *batch)
{
	FilesState *fs = sink->state;
	uint64		i;

	for (i = 0; i < batch->n; i++)
	{
		if (fs->fw == NULL)
			open_next(fs, sink->automation, batch);
		fs->format->row(fs->fw, batch->rows[i]);
		fs->file_rows++;
		fs->total_rows++;
		if (fs->format->bytes(fs->fw) >= fs->target_size)
			close_current(fs);
	}
}

static void
files_progress(BtxSink *sink, BtxRunProgress *p)
{
	FilesState *fs = sink->state;

	p->rows = fs->total_rows;
	p->bytes = fs->total_bytes + (fs->fw ? fs->format->bytes(fs->fw) : 0);
	p->object_seq = fs->obj ? list_length(fs->files) + 1 : 0;
}

/*
 * The run's manifest: every object with its rows, bytes and checksum, the
 * format and the cursor window.  Written after the data objects and before
 * the ledger commits: a run without a manifest did not happen.
 */
static char *
write_manifest(FilesState *fs, BtxAutomation *a, const BtxRun *run)
{
	StringInfoData j;
	ListCell   *lc;
	char	   *key = BtxManifestKey(a->prefix, fs->base_key);
	BtxObject  *o;
	BtxObjectResult res;
	bool		first = true;

	initStringInfo(&j);
	appendStringInfo(&j, "{\"manifest_version\": 2, \"schema_version\": %d, \"run_id\": " INT64_FORMAT
					 ", \"automation\": {\"id\": " INT64_FORMAT ", \"name\": ", BTX_ROW_SCHEMA_VERSION, run->id, a->id);
	escape_json(&j, a->name);
	appendStringInfoString(&j, "}, \"project_id\": ");
	escape_json(&j, a->project_id ? a->project_id : a->remote_project_id ? a->remote_project_id : "");
	appendStringInfoString(&j, ", \"export_type\": ");
	escape_json(&j, a->export_type);
	appendStringInfoString(&j, ", \"format\": ");
	escape_json(&j, a->format);
	appendStringInfoString(&j, ", \"compression\": ");
	escape_json(&j, a->compression ? a->compression : "none");
	if (run->position_kind == BTX_POSITION_CURSOR)
		appendStringInfo(&j, ", \"cursor\": {\"from\": \"%s\", \"to\": \"%s\"}", run->from, run->to);
	else
	{
		/* a remote source: its connection and its position (text of its own) */
		appendStringInfoString(&j, ", \"source\": {\"connection\": ");
		escape_json(&j, a->connection);
		appendStringInfoString(&j, ", \"position_from\": ");
		if (run->from[0])
			escape_json(&j, run->from);
		else
			appendStringInfoString(&j, "null");	/* the project's beginning */
		appendStringInfoString(&j, ", \"position_to\": ");
		escape_json(&j, run->to);
		appendStringInfoChar(&j, '}');
	}
	appendStringInfoString(&j, ", \"layout\": ");
	escape_json(&j, a->hive ? "hive" : "date");
	appendStringInfo(&j, ", \"rows\": " UINT64_FORMAT ", \"bytes\": " UINT64_FORMAT ", \"created\": ",
					 fs->total_rows, fs->total_bytes);
	{
		/* RFC 3339 in UTC, the data files' timestamp form */
		btx_buf		ts;
		int64		us;

		btx_buf_init(&ts);
		if (!BtxUnixMicros(GetCurrentTimestamp(), &us) || btx_json_timestamp(&ts, us) != 0)
			ereport(ERROR, (errcode(ERRCODE_OUT_OF_MEMORY), errmsg("out of memory")));
		appendBinaryStringInfo(&j, ts.data, ts.len);
		btx_buf_free(&ts);
	}
	appendStringInfoString(&j, ", \"bucket\": ");
	escape_json(&j, a->bucket);
	appendStringInfoString(&j, ", \"files\": [");
	foreach(lc, fs->files)
	{
		BtxRunFile *f = lfirst(lc);

		appendStringInfo(&j, "%s{\"key\": ", first ? "" : ", ");
		escape_json(&j, f->key);
		appendStringInfo(&j, ", \"rows\": " UINT64_FORMAT ", \"bytes\": " UINT64_FORMAT ", \"sha256\": \"%s\", \"etag\": ",
						 f->rows, f->res.bytes, f->res.sha256);
		escape_json(&j, f->res.etag);
		appendStringInfoChar(&j, '}');
		first = false;
	}
	appendStringInfoString(&j, "]}\n");
	o = BtxObjectOpen(&fs->target, key, "application/json", true);
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

static void
files_finish(BtxSink *sink, const BtxRun *run, BtxRunResult *result)
{
	FilesState *fs = sink->state;

	close_current(fs);
	memset(result, 0, sizeof(*result));
	if (fs->files != NIL)
		result->manifest_key = MemoryContextStrdup(run->cxt, write_manifest(fs, sink->automation, run));
	result->rows = fs->total_rows;
	result->bytes = fs->total_bytes;
	result->files = fs->files;
}

/* no partial object: abort the open upload, delete the finished ones */
static void
files_abort(BtxSink *sink)
{
	FilesState *fs = sink->state;
	ListCell   *lc;

	if (fs->obj)
		BtxObjectAbort(fs->obj);
	fs->obj = NULL;
	if (fs->fw)
		fs->format->free(fs->fw);
	fs->fw = NULL;
	foreach(lc, fs->files)
		(void) BtxStoreTryDelete(&fs->target, ((BtxRunFile *) lfirst(lc))->key, true);
}

static bool
files_remove_orphans(BtxSink *sink, const char *base_key, BtxCommittedFn committed)
{
	FilesState *fs = sink->state;
	bool		ok = true;
	ListCell   *pc;

	/*
	 * Open multipart uploads, then objects no committed run lists, then the
	 * manifest; under the prefixes of the run's own keys only, never a later
	 * same-second run's.
	 */
	foreach(pc, BtxRunObjectPrefixes(base_key))
	{
		const char *under = lfirst(pc);
		List	   *keys = NIL;
		ListCell   *lc;

		if (!BtxStoreAbortUploads(&fs->target, under))
			ok = false;
		if (BtxStoreListKeys(&fs->target, under, &keys))
		{
			foreach(lc, keys)
				if (!committed(sink->store, lfirst(lc)) && !BtxStoreTryDelete(&fs->target, lfirst(lc), false))
					ok = false;
		}
		else
			ok = false;
	}
	if (!BtxStoreTryDelete(&fs->target, BtxManifestKey(sink->automation->prefix, base_key), false))
		ok = false;
	return ok;
}

static void
files_close(BtxSink *sink)
{
	FilesState *fs = sink->state;

	BtxTargetClose(&fs->target);
}

const BtxSinkMethods BtxFilesSink = {
	.name = "files",
	.connect = files_connect,
	.remove_orphans = files_remove_orphans,
	.write = files_write,
	.progress = files_progress,
	.finish = files_finish,
	.abort = files_abort,
	.close = files_close,
};

/* the sink of a run: state allocated in the current (the export transaction's) memory context */
BtxSink *
BtxSinkFor(BtxAutomation *a, const char *base_key, uint64 target_size, int part_size_kb)
{
	BtxSink    *sink;
	FilesState *fs;

	/* a table format with its own commit, or loose files in S3 */
	if (strcmp(a->format, "iceberg") == 0)
		return BtxIcebergSinkNew(a, base_key, target_size, part_size_kb);
	sink = palloc0(sizeof(BtxSink));
	fs = palloc0(sizeof(FilesState));
	sink->methods = &BtxFilesSink;
	sink->automation = a;
	sink->state = fs;
	sink->store = a->bucket;
	fs->format = BtxFormatLookup(a->format);
	sink->shape = fs->format->shape;
	BtxTargetFromAutomation(a, &fs->target);
	if (fs->target.part_size_kb == 0)
		fs->target.part_size_kb = part_size_kb;
	fs->base_key = pstrdup(base_key);
	fs->ext = fs->format->extension(a->compression);
	fs->content_type = fs->format->content_type(a->compression);
	fs->target_size = target_size;
	fs->cxt = CurrentMemoryContext;
	return sink;
}
