/*
 * sink_iceberg.c — a run's rows as one snapshot of an Apache Iceberg v2
 * table at the automation's s3_path (format 'iceberg'; docs/iceberg.md),
 * through the sink interface (sink.h): the run loop knows no Iceberg.
 *
 * The plain-C core (src/core/iceberg) writes the files and commits; this
 * file gives it the object store as its I/O (BtxStoreRead/BtxStoreWrite,
 * which never throw) and the run's typed rows as Parquet values
 * (adapters/format_parquet.h).
 *
 * A run:
 *   - on its first rows, loads the table, or creates it from the rows'
 *     columns (field ids 1..n in column order; identifier `id`; day(created)
 *     or unpartitioned as the automation's partitioning says).  A table whose
 *     schema is not the rows' is refused;
 *   - writes each row into the data file of its partition (one file per day
 *     open at a time, at most MAX_PARTS; a file rotates at the target size).
 *     A row of another day while MAX_PARTS are open goes to a tuplesort on
 *     created (work_mem, then temporary files: memory stays flat), written
 *     day after day before the commit: a run of new spans (a day or two)
 *     never sorts, a backfill of many days sorts only what does not fit
 *     and its id into the equality delete file that goes with that data
 *     file: a delete with the snapshot's sequence number N removes every
 *     older version (data sequence < N) and leaves the new one, committed
 *     with N, in place.  Deletes are global (written with the table's
 *     unpartitioned spec, under data/): they reach an older version in any
 *     day, also one a changed created left behind.  A table without a
 *     snapshot gets no deletes;
 *   - finish: one commit (manifests, manifest list, vN.metadata.json created
 *     with If-None-Match — the commit point — and version-hint.text), retried
 *     on a lost race.  The snapshot summary carries btexport.run-id,
 *     btexport.run-tag and the cursor range.
 *
 * Every object the run writes is named after its tag (the last component of
 * its base key): data/<part>/<tag>-<k>.parquet, data/<tag>-<k>-eqdel.parquet,
 * metadata/<tag>-m<k>.avro, metadata/snap-<id>-<attempt>-<tag>.avro.  A run
 * that failed before its commit is invisible; the next run's remove_orphans
 * deletes its objects unless a snapshot of the table carries its tag (it
 * committed, then failed in PostgreSQL: its snapshot stays, and re-exporting
 * the window is harmless, the deletes make it idempotent).
 *
 * Compaction (BtxIcebergCompact) uses the same writer in rewrite mode: every
 * current row of the store into new data files at the base snapshot's
 * sequence number, no deletes, a replace snapshot removing every live file.
 */
#include "adapters/btexport.h"

#include "catalog/pg_type.h"
#include "executor/tuptable.h"
#include "common/hashfn.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"
#include "utils/tuplesort.h"
#include "utils/typcache.h"

#include "adapters/error.h"
#include "adapters/format_parquet.h"
#include "adapters/objstore.h"
#include "core/iceberg/iceberg.h"
#include "run/iceberg.h"
#include "run/sink.h"
#include "run/source.h"

/* open partitions: each holds a data and a delete upload (objstore allows 8 live uploads) */
#define MAX_PARTS 3
#define COMMIT_ATTEMPTS 5

typedef struct IceFile
{
	btx_ice_writer *w;
	BtxObject  *obj;
	char	   *uri;
	uint64		rows;
} IceFile;

typedef struct IcePart
{
	btx_ice_partition p;
	IceFile		data;
	IceFile		del;
	uint64		seq;			/* when it was last written, for eviction */
} IcePart;

typedef struct IceState
{
	BtxAutomation *a;
	BtxTarget	target;
	char	   *key_root;		/* the table's key prefix, no trailing slash */
	char	   *location;		/* s3://bucket/prefix, no trailing slash */
	char	   *uri_prefix;		/* s3://bucket/ */
	char	   *tag;			/* names the run's objects */
	btx_ice_io	io;
	bool		rewrite;		/* compaction: no deletes, the base's sequence number */
	uint64		target_size;
	/* core objects (malloc'd), freed in close */
	btx_ice_table *t;
	btx_ice_commit *commit;
	btx_ice_data_file *dfs;		/* the finished files (their insides malloc'd) ... */
	int64	   *dseqs;			/* ... and their data sequence numbers (-1: inherited) */
	int			ndfs;
	int			maxdfs;
	/* the rows */
	BtxPqRow   *conv;
	TupleDesc	desc;			/* the rows' (a copy) */
	int			id_col;
	int			created_col;
	bool		deletes;		/* write equality deletes (the table has rows) */
	IcePart		parts[MAX_PARTS];
	int			nparts;
	/* rows of further days while MAX_PARTS are open: sorted by created, written at the end */
	Tuplesortstate *spill;
	TupleTableSlot *in_slot;	/* a heap tuple into the sort ... */
	TupleTableSlot *slot;		/* ... and a minimal one out of it */
	bool		draining;		/* writing the spilled rows: a new day closes the oldest */
	uint64		clock;
	int			nfile;			/* files named so far */
	/* the result */
	List	   *files;			/* BtxRunFile * */
	uint64		total_rows;
	uint64		total_bytes;
	bool		committing;		/* the commit began: its outcome decides what stays */
	int64		snapshot_id;
	char	   *metadata_key;
	MemoryContext cxt;
} IceState;

/* ---------- the object store as the core's I/O ---------- */

static const char *
key_of(IceState *st, const char *uri, btx_error *err)
{
	size_t		n = strlen(st->uri_prefix);

	if (strncmp(uri, st->uri_prefix, n) != 0)
	{
		btx_error_set(err, BTX_ICE_E_IO, "0A000", "the table refers to an object outside its bucket: %.200s", uri);
		return NULL;
	}
	return uri + n;
}

static int
io_read(void *ctx, const char *uri, btx_buf *out, btx_error *err)
{
	IceState   *st = ctx;
	const char *key = key_of(st, uri, err);
	int			rc;

	if (key == NULL)
		return -1;
	rc = BtxStoreRead(&st->target, key, out, err);
	return rc == 1 ? BTX_ICE_IO_NOT_FOUND : rc;
}

static int
io_write(void *ctx, const char *uri, const void *data, size_t len, int if_none_match, btx_error *err)
{
	IceState   *st = ctx;
	const char *key = key_of(st, uri, err);
	int			rc;

	if (key == NULL)
		return -1;
	rc = BtxStoreWrite(&st->target, key, data, len, if_none_match != 0, err);
	return rc == 1 ? BTX_ICE_IO_EXISTS : rc;
}

/* a core error as an ereport: the core's SQLSTATE, a lost race as 40001 */
static void
raise_ice(const btx_error *err)
{
	btx_error	e = *err;

	if (e.code == BTX_ICE_E_CONFLICT && strcmp(e.sqlstate, "40001") != 0)
		strlcpy(e.sqlstate, "40001", sizeof(e.sqlstate));
	if (e.hint[0] == '\0' && e.code == BTX_ICE_E_CONFLICT)
		strlcpy(e.hint, "Another writer committed to the table meanwhile; try again.", sizeof(e.hint));
	BtxRaiseCoreError(&e);
}

static IceState *
state_new(BtxAutomation *a, const char *tag, uint64 target_size)
{
	IceState   *st = palloc0(sizeof(IceState));
	size_t		plen = strlen(a->prefix);

	st->a = a;
	BtxTargetFromAutomation(a, &st->target);
	st->key_root = pstrdup(a->prefix);
	if (plen && st->key_root[plen - 1] == '/')
		st->key_root[plen - 1] = '\0';
	st->uri_prefix = psprintf("s3://%s/", a->bucket);
	st->location = psprintf("s3://%s%s%.*s", a->bucket, plen ? "/" : "",
							(int) (plen && a->prefix[plen - 1] == '/' ? plen - 1 : plen), a->prefix);
	st->tag = pstrdup(tag);
	st->io.read = io_read;
	st->io.write = io_write;
	st->io.ctx = st;
	st->target_size = target_size;
	st->cxt = CurrentMemoryContext;
	return st;
}

/*
 * The run's tag: the last component of its base key (export_<UTC start>, 26
 * characters) as the core's names allow it ([A-Za-z0-9-]), then '-' and 8
 * hex digits of a hash of the whole base key: every tag has the same length,
 * so no run's tag is the beginning of another's (a base key that collided in
 * its second gets the run id appended: without the hash, cleaning up after
 * the one run could match the other's objects).  SQL spells it
 * left(translate(<last component>, '_', '-'), 26) || '-' || lpad(to_hex(hashtext(base_key)), 8, '0').
 */
char *
BtxIcebergRunTag(const char *base_key)
{
	const char *slash = strrchr(base_key, '/');
	char	   *last = pstrdup(slash ? slash + 1 : base_key);
	char	   *p;

	for (p = last; *p; p++)
		if (!isalnum((unsigned char) *p))
			*p = '-';
	if (strlen(last) > 26)
		last[26] = '\0';
	return psprintf("%s-%08x", last, (unsigned int) hash_bytes((const unsigned char *) base_key, (int) strlen(base_key)));
}

/* ---------- the table ---------- */

/* the Iceberg type of a column, from its Parquet type */
static btx_ice_type
ice_type(btx_pq_type t, int *json)
{
	*json = t == BTX_PQ_JSON;
	switch (t)
	{
		case BTX_PQ_INT64:
			return BTX_ICE_LONG;
		case BTX_PQ_DOUBLE:
			return BTX_ICE_DOUBLE;
		case BTX_PQ_BOOLEAN:
			return BTX_ICE_BOOLEAN;
		case BTX_PQ_TIMESTAMP:
			return BTX_ICE_TIMESTAMPTZ;
		case BTX_PQ_LIST_STRING:
			return BTX_ICE_LIST_STRING;
		default:
			return BTX_ICE_STRING;
	}
}

static const char *
col_name(const BtxRowBatch *b, int i)
{
	return b->colnames ? b->colnames[i] : NameStr(TupleDescAttr(b->desc, i)->attname);
}

/*
 * The table for rows of this shape: loaded, or created (conditionally: a
 * concurrent creator's table is loaded instead).  An existing table must
 * have exactly these columns, in this order, with these types.
 */
static void
open_table(IceState *st, BtxAutomation *a, const BtxRowBatch *b)
{
	int			n = b->desc->natts;
	btx_pq_type *types = palloc0(sizeof(btx_pq_type) * n);
	btx_ice_field *fields = palloc0(sizeof(btx_ice_field) * n);
	btx_ice_table_def def;
	btx_error	err;
	int			i;

	/* the batch's descriptor goes with its SPI tuple table: the conversion keeps a copy */
	{
		MemoryContext old = MemoryContextSwitchTo(st->cxt);

		st->desc = CreateTupleDescCopy(b->desc);
		st->conv = BtxPqRowNew(st->desc, types);
		MemoryContextSwitchTo(old);
	}
	st->id_col = st->created_col = -1;
	for (i = 0; i < n; i++)
	{
		fields[i].id = i + 1;
		fields[i].name = col_name(b, i);
		fields[i].type = ice_type(types[i], &fields[i].json);
		fields[i].element_id = fields[i].type == BTX_ICE_LIST_STRING ? n + i + 1 : 0;
		if (strcmp(fields[i].name, "id") == 0 && types[i] == BTX_PQ_STRING)
			st->id_col = i;
		if (strcmp(fields[i].name, "created") == 0 && types[i] == BTX_PQ_TIMESTAMP)
			st->created_col = i;
	}
	if (st->id_col < 0 || st->created_col < 0)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("the rows of automation \"%s\" have no id and created columns for an Iceberg table", a->name),
				 errhint("Iceberg tables take logs_spans or logs_traces exports.")));
	st->t = btx_ice_table_load(st->location, &st->io, &err);
	if (st->t == NULL && strcmp(err.sqlstate, "42P01") != 0)
		raise_ice(&err);
	if (st->t == NULL)
	{
		memset(&def, 0, sizeof(def));
		def.location = st->location;
		def.fields = fields;
		def.nfields = n;
		def.identifier_id = st->id_col + 1;
		def.day_source_id = a->partitioning && strcmp(a->partitioning, "day") == 0 ? st->created_col + 1 : 0;
		def.now_ms = (int64) (time(NULL)) * 1000;
		st->t = btx_ice_table_create_or_load(&def, &st->io, &err);
		if (st->t == NULL)
			raise_ice(&err);
	}
	if (btx_ice_table_nfields(st->t) != n)
		goto mismatch;
	for (i = 0; i < n; i++)
	{
		const btx_ice_field *f = btx_ice_table_field_at(st->t, i);

		if (strcmp(f->name, fields[i].name) != 0 || f->type != fields[i].type)
			goto mismatch;
	}
	if (btx_ice_table_identifier_id(st->t) != st->id_col + 1)
		goto mismatch;
	st->deletes = !st->rewrite && btx_ice_table_current_snapshot(st->t) >= 0;
	return;

mismatch:
	ereport(ERROR,
			(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
			 errmsg("the Iceberg table at %s does not have the columns automation \"%s\" exports", st->location, a->name),
			 errdetail("The table has %d columns; the export has %d (id, created, ...).", btx_ice_table_nfields(st->t), n),
			 errhint("Give the automation an s3_path of its own: btexport writes only tables it created for the same export.")));
}

/* ---------- files ---------- */

static void
open_file(IceState *st, IceFile *f, IcePart *part, int content)
{
	btx_buf		uri;
	btx_error	err;
	btx_pq_options opt;
	char	   *name;
	const char *key;

	name = psprintf("%s-%d%s.parquet", st->tag, ++st->nfile, content == BTX_ICE_DATA ? "" : "-eqdel");
	btx_buf_init(&uri);
	if (btx_ice_file_uri(st->t, content, &part->p, name, &uri, &err) != 0)
	{
		btx_buf_free(&uri);
		raise_ice(&err);
	}
	f->uri = MemoryContextStrdup(st->cxt, uri.data);
	btx_buf_free(&uri);
	key = key_of(st, f->uri, &err);
	if (key == NULL)
		raise_ice(&err);
	f->obj = BtxObjectOpen(&st->target, key, "application/vnd.apache.parquet", true);
	BtxPqOptionsFor(st->a, &opt);
	f->w = btx_ice_writer_open(st->t, content, &part->p, &opt, BtxObjectSink, f->obj, &err);
	if (f->w == NULL)
		BtxObjectRaise(f->obj, &err);
	f->rows = 0;
}

/* finish a file: trailer, upload, its entry joins the commit and the run's files */
static void
close_file(IceState *st, IceFile *f, int64 data_seq)
{
	btx_ice_data_file df;
	btx_error	err;
	BtxRunFile *rf;
	MemoryContext old;

	if (f->w == NULL)
		return;
	if (btx_ice_writer_close(f->w, f->uri, &df, &err) != 0)
		BtxObjectRaise(f->obj, &err);
	old = MemoryContextSwitchTo(st->cxt);
	rf = palloc0(sizeof(BtxRunFile));
	rf->seq = list_length(st->files) + 1;
	rf->key = pstrdup(BtxObjectKey(f->obj));
	rf->rows = f->rows;
	MemoryContextSwitchTo(old);
	PG_TRY();
	{
		BtxObjectFinish(f->obj, &rf->res);
	}
	PG_CATCH();
	{
		btx_ice_data_file_free(&df);
		PG_RE_THROW();
	}
	PG_END_TRY();
	f->obj = NULL;
	btx_ice_writer_free(f->w);
	f->w = NULL;
	old = MemoryContextSwitchTo(st->cxt);
	st->files = lappend(st->files, rf);
	MemoryContextSwitchTo(old);
	st->total_bytes += rf->res.bytes;
	if (st->ndfs == st->maxdfs)
	{
		st->maxdfs = st->maxdfs ? st->maxdfs * 2 : 16;
		st->dfs = st->dfs ? repalloc(st->dfs, sizeof(btx_ice_data_file) * st->maxdfs) :
			MemoryContextAlloc(st->cxt, sizeof(btx_ice_data_file) * st->maxdfs);
		st->dseqs = st->dseqs ? repalloc(st->dseqs, sizeof(int64) * st->maxdfs) :
			MemoryContextAlloc(st->cxt, sizeof(int64) * st->maxdfs);
	}
	st->dfs[st->ndfs] = df;
	st->dseqs[st->ndfs++] = data_seq;
}

static void
close_part(IceState *st, IcePart *part)
{
	/* compaction: the rows keep the base's sequence, so deletes committed after it still apply */
	int64		data_seq = st->rewrite ? btx_ice_table_last_sequence(st->t) : -1;

	close_file(st, &part->data, data_seq);
	close_file(st, &part->del, -1);
}

/*
 * The open partition of a row, opened if needed; when MAX_PARTS are open,
 * NULL (evict false) or the least recently written one is closed first.
 */
static IcePart *
part_for(IceState *st, const btx_ice_partition *p, bool evict)
{
	IcePart    *part = NULL;
	int			i;

	for (i = 0; i < st->nparts; i++)
		if (st->parts[i].p.is_null == p->is_null && (p->is_null || st->parts[i].p.day == p->day))
			part = &st->parts[i];
	if (part == NULL)
	{
		if (st->nparts == MAX_PARTS && !evict)
			return NULL;		/* the caller spills the row */
		if (st->nparts == MAX_PARTS)
		{
			IcePart    *old = &st->parts[0];

			for (i = 1; i < st->nparts; i++)
				if (st->parts[i].seq < old->seq)
					old = &st->parts[i];
			close_part(st, old);
			*old = st->parts[--st->nparts];
		}
		part = &st->parts[st->nparts++];
		memset(part, 0, sizeof(*part));
		part->p = *p;
	}
	if (part->data.w == NULL)
	{
		open_file(st, &part->data, part, BTX_ICE_DATA);
		if (st->deletes)
			open_file(st, &part->del, part, BTX_ICE_EQUALITY_DELETES);
	}
	part->seq = ++st->clock;
	return part;
}

/* a row of a day that has no open file now: into the tuplesort on created */
static void
spill_row(IceState *st, HeapTuple tuple)
{
	if (st->spill == NULL)
	{
		MemoryContext old = MemoryContextSwitchTo(st->cxt);
		AttrNumber	col = st->created_col + 1;
		Oid			lt = lookup_type_cache(TIMESTAMPTZOID, TYPECACHE_LT_OPR)->lt_opr;
		Oid			coll = InvalidOid;
		bool		nulls_first = false;

		st->spill = tuplesort_begin_heap(st->desc, 1, &col, &lt, &coll, &nulls_first, work_mem, NULL,
										 TUPLESORT_NONE);
		st->in_slot = MakeSingleTupleTableSlot(st->desc, &TTSOpsHeapTuple);
		st->slot = MakeSingleTupleTableSlot(st->desc, &TTSOpsMinimalTuple);
		MemoryContextSwitchTo(old);
	}
	ExecStoreHeapTuple(tuple, st->in_slot, false);
	tuplesort_puttupleslot(st->spill, st->in_slot);	/* copied */
	ExecClearTuple(st->in_slot);
}

static void write_row(IceState *st, const BtxRowBatch *b, HeapTuple tuple);

/* the spilled rows, by created: each day's file closes when the next days need its place */
static void
drain_spill(IceState *st)
{
	BtxRowBatch b;

	if (st->spill == NULL)
		return;
	memset(&b, 0, sizeof(b));
	b.desc = st->desc;
	tuplesort_performsort(st->spill);
	st->draining = true;
	while (tuplesort_gettupleslot(st->spill, true, false, st->slot, NULL))
	{
		bool		should_free;
		HeapTuple	t = ExecFetchSlotHeapTuple(st->slot, false, &should_free);

		write_row(st, &b, t);
		if (should_free)
			heap_freetuple(t);
		CHECK_FOR_INTERRUPTS();
	}
	tuplesort_end(st->spill);
	st->spill = NULL;
	ExecDropSingleTupleTableSlot(st->slot);
	ExecDropSingleTupleTableSlot(st->in_slot);
	st->slot = st->in_slot = NULL;
}

static void
write_row(IceState *st, const BtxRowBatch *b, HeapTuple tuple)
{
	btx_ice_partition p = {1, 0};
	IcePart    *part;
	bool		isnull;
	Datum		d;
	btx_error	err;

	if (btx_ice_table_day_source_id(st->t) != 0)
	{
		d = heap_getattr(tuple, st->created_col + 1, b->desc, &isnull);
		if (!isnull && !TIMESTAMP_NOT_FINITE(DatumGetTimestampTz(d)))
		{
			p.is_null = 0;
			p.day = btx_ice_day_of_micros(DatumGetTimestampTz(d) +
										  (int64) (POSTGRES_EPOCH_JDATE - UNIX_EPOCH_JDATE) * USECS_PER_DAY);
		}
	}
	part = part_for(st, &p, st->draining);
	if (part == NULL)
	{
		spill_row(st, tuple);
		return;
	}
	BtxPqRowPut(st->conv, btx_ice_writer_pq(part->data.w), tuple);
	if (btx_pq_end_row(btx_ice_writer_pq(part->data.w), &err) != 0)
		BtxObjectRaise(part->data.obj, &err);
	part->data.rows++;
	st->total_rows++;
	if (part->del.w)
	{
		text	   *id;

		d = heap_getattr(tuple, st->id_col + 1, b->desc, &isnull);
		if (!isnull)
		{
			id = DatumGetTextPP(d);
			if (btx_ice_writer_delete_id(part->del.w, VARDATA_ANY(id), VARSIZE_ANY_EXHDR(id), &err) != 0)
				BtxObjectRaise(part->del.obj, &err);
			part->del.rows++;
			if ((Pointer) id != DatumGetPointer(d))
				pfree(id);
		}
	}
	if (btx_pq_bytes_written(btx_ice_writer_pq(part->data.w)) +
		btx_pq_buffered_bytes(btx_ice_writer_pq(part->data.w)) / 4 >= st->target_size)
		close_part(st, part);
}

/* ---------- the sink ---------- */

static void
ice_connect(BtxSink *sink)
{
	IceState   *st = sink->state;

	BtxTargetConnect(&st->target);
}

static void
ice_write(BtxSink *sink, const BtxRowBatch *batch)
{
	IceState   *st = sink->state;
	uint64		i;

	if (st->t == NULL)
		open_table(st, sink->automation, batch);
	for (i = 0; i < batch->n; i++)
		write_row(st, batch, batch->rows[i]);
}

static void
ice_progress(BtxSink *sink, BtxRunProgress *p)
{
	IceState   *st = sink->state;

	p->rows = st->total_rows;
	p->bytes = st->total_bytes;
	p->object_seq = 0;
}

static void
new_commit(IceState *st, const BtxRun *run, btx_ice_op op)
{
	btx_ice_commit_opts o;
	btx_ice_kv	kv[4];
	btx_error	err;

	memset(&o, 0, sizeof(o));
	o.op = op;
	o.commit_uuid = st->tag;
	o.now_ms = (int64) time(NULL) * 1000;
	if (run)
	{
		kv[0] = (btx_ice_kv) {"btexport.run-id", psprintf(INT64_FORMAT, run->id)};
		kv[1] = (btx_ice_kv) {"btexport.run-tag", st->tag};
		kv[2] = (btx_ice_kv) {"btexport.cursor-start", run->from};
		kv[3] = (btx_ice_kv) {"btexport.cursor-end", run->to};
		o.summary = kv;
		o.nsummary = 4;
	}
	else
	{
		kv[0] = (btx_ice_kv) {"btexport.run-tag", st->tag};
		o.summary = kv;
		o.nsummary = 1;
	}
	st->commit = btx_ice_commit_new(&o, &err);
	if (st->commit == NULL)
		raise_ice(&err);
}

/*
 * The commit: one snapshot holding every file of the run (for a compaction,
 * replacing the live files listed in remove).  Returns the committed table.
 */
static void
commit_files(IceState *st, const BtxRun *run, btx_ice_op op, btx_ice_entry *remove, int nremove)
{
	btx_ice_table *committed = NULL;
	btx_error	err;
	int			i;

	drain_spill(st);
	for (i = 0; i < st->nparts; i++)
		close_part(st, &st->parts[i]);
	st->nparts = 0;
	if (st->ndfs == 0)
		return;
	new_commit(st, run, op);
	for (i = 0; i < st->ndfs; i++)
		if (btx_ice_commit_add(st->commit, &st->dfs[i], st->dseqs[i], &err) != 0)
			raise_ice(&err);
	for (i = 0; i < nremove; i++)
		if (btx_ice_commit_remove(st->commit, remove[i].file.path, &err) != 0)
			raise_ice(&err);
	st->committing = true;
	if (btx_ice_commit_run(st->commit, st->location, &st->io, COMMIT_ATTEMPTS, &committed, &err) != 0)
		raise_ice(&err);
	st->snapshot_id = btx_ice_table_current_snapshot(committed);
	st->metadata_key = MemoryContextStrdup(st->cxt,
										   psprintf("%s%smetadata/v%d.metadata.json", st->key_root,
													st->key_root[0] ? "/" : "", btx_ice_table_version(committed)));
	btx_ice_table_free(committed);
}

static void
ice_finish(BtxSink *sink, const BtxRun *run, BtxRunResult *result)
{
	IceState   *st = sink->state;

	commit_files(st, run, BTX_ICE_OP_APPEND, NULL, 0);
	memset(result, 0, sizeof(*result));
	result->rows = st->total_rows;
	result->bytes = st->total_bytes;
	result->files = st->files;
	if (st->metadata_key)
		result->manifest_key = MemoryContextStrdup(run->cxt, st->metadata_key);
	result->snapshot_id = st->snapshot_id;
}

/*
 * After an error: abort the open uploads; before the commit began, delete the
 * finished files too.  Once it began the outcome may be unknown: what stays
 * is decided by the next run's remove_orphans, which reads the table.
 */
static void
ice_abort(BtxSink *sink)
{
	IceState   *st = sink->state;
	ListCell   *lc;
	int			i;

	for (i = 0; i < st->nparts; i++)
	{
		IceFile    *fs[2] = {&st->parts[i].data, &st->parts[i].del};
		int			k;

		for (k = 0; k < 2; k++)
		{
			if (fs[k]->obj)
				BtxObjectAbort(fs[k]->obj);
			fs[k]->obj = NULL;
			btx_ice_writer_free(fs[k]->w);
			fs[k]->w = NULL;
		}
	}
	st->nparts = 0;
	if (!st->committing)
		foreach(lc, st->files)
			(void) BtxStoreTryDelete(&st->target, ((BtxRunFile *) lfirst(lc))->key, true);
}

/*
 * Abort the open multipart uploads under the table's data/ and metadata/,
 * then delete the objects there that match accepts (counted in *removed).
 * False when a step failed: a folder whose uploads or listing failed is left
 * as it is, for a later attempt.
 */
static bool
delete_table_objects(IceState *st, bool (*match) (IceState *st, const char *key, void *arg),
					 void *arg, int *removed)
{
	const char *dirs[2] = {"data/", "metadata/"};
	bool		ok = true;
	int			d;

	for (d = 0; d < 2; d++)
	{
		char	   *under = psprintf("%s%s%s", st->key_root, st->key_root[0] ? "/" : "", dirs[d]);
		List	   *keys = NIL;
		ListCell   *lc;

		if (!BtxStoreAbortUploads(&st->target, under) || !BtxStoreListKeys(&st->target, under, &keys))
		{
			ok = false;
			continue;
		}
		foreach(lc, keys)
		{
			if (!match(st, lfirst(lc), arg))
				continue;
			if (BtxStoreTryDelete(&st->target, lfirst(lc), false))
				(*removed)++;
			else
				ok = false;
		}
	}
	return ok;
}

/* is key one of the objects a run with this tag writes? */
static bool
tagged(const char *key, const char *tag)
{
	const char *base = strrchr(key, '/');
	size_t		n = strlen(tag);
	size_t		blen;
	const char *end;

	base = base ? base + 1 : key;
	blen = strlen(base);
	if (strncmp(base, tag, n) == 0 && base[n] == '-')
		return true;			/* data and delete files, manifests */
	/* manifest lists: snap-<id>-<attempt>-<tag>.avro */
	if (strncmp(base, "snap-", 5) != 0 || blen < n + 11)
		return false;
	end = base + blen - 5;
	return strcmp(end, ".avro") == 0 && end[-(long) n - 1] == '-' && strncmp(end - n, tag, n) == 0;
}

static bool
tagged_match(IceState *st, const char *key, void *tag)
{
	return tagged(key, tag);
}

static bool
ice_remove_orphans(BtxSink *sink, const char *base_key, BtxCommittedFn committed)
{
	IceState   *st = sink->state;
	char	   *tag = BtxIcebergRunTag(base_key);
	btx_ice_table *t;
	btx_error	err;
	int			removed = 0;

	t = btx_ice_table_load(st->location, &st->io, &err);
	if (t != NULL)
	{
		bool		kept = btx_ice_table_find_snapshot(t, "btexport.run-tag", tag) >= 0;

		btx_ice_table_free(t);
		if (kept)
			return true;		/* the run committed its snapshot: everything stays */
	}
	else if (strcmp(err.sqlstate, "42P01") != 0)
		return false;			/* cannot tell: try again next time */
	return delete_table_objects(st, tagged_match, tag, &removed);
}

static void
ice_close(BtxSink *sink)
{
	IceState   *st = sink->state;

	int			i;

	btx_ice_commit_free(st->commit);
	st->commit = NULL;
	for (i = 0; i < st->ndfs; i++)
		btx_ice_data_file_free(&st->dfs[i]);
	st->ndfs = 0;
	btx_ice_table_free(st->t);
	st->t = NULL;
	if (st->conv)
		BtxPqRowFree(st->conv);
	st->conv = NULL;
	BtxTargetClose(&st->target);
}

const BtxSinkMethods BtxIcebergSink = {
	.name = "iceberg",
	.connect = ice_connect,
	.remove_orphans = ice_remove_orphans,
	.write = ice_write,
	.progress = ice_progress,
	.finish = ice_finish,
	.abort = ice_abort,
	.close = ice_close,
};

BtxSink *
BtxIcebergSinkNew(BtxAutomation *a, const char *base_key, uint64 target_size, int part_size_kb)
{
	BtxSink    *sink = palloc0(sizeof(BtxSink));
	IceState   *st = state_new(a, BtxIcebergRunTag(base_key), target_size);

	sink->methods = &BtxIcebergSink;
	sink->automation = a;
	sink->state = st;
	sink->store = a->bucket;
	sink->shape = BTX_ROWS_TYPED;
	if (st->target.part_size_kb == 0)
		st->target.part_size_kb = part_size_kb;
	return sink;
}

/* ---------- maintenance ---------- */

/* the automation's table, loaded; 55000 when it has none yet */
static btx_ice_table *
load_existing(IceState *st)
{
	btx_error	err;
	btx_ice_table *t = btx_ice_table_load(st->location, &st->io, &err);

	if (t == NULL && strcmp(err.sqlstate, "42P01") == 0)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("automation \"%s\" has no Iceberg table at %s yet", st->a->name, st->location),
				 errhint("Its first run with rows creates the table: SELECT * FROM btexport.run('%s', wait => true);",
						 st->a->name)));
	if (t == NULL)
		raise_ice(&err);
	return t;
}

/* what the table's snapshots reference (btx_ice_referenced) */
typedef struct IceRefs
{
	char	  **uris;
	int			n;
} IceRefs;

/* an object named after a compaction's tag ("compact-<time>") that no snapshot references */
static bool
compaction_leftover(IceState *st, const char *key, void *refs)
{
	const char *base = strrchr(key, '/');
	bool		named;

	base = base ? base + 1 : key;
	if (strncmp(base, "snap-", 5) == 0)
		named = strstr(base, "-compact-") != NULL;	/* manifest lists: snap-<id>-<attempt>-<tag>.avro */
	else
		named = strncmp(base, "compact-", 8) == 0;
	return named && !btx_ice_is_referenced(((IceRefs *) refs)->uris, ((IceRefs *) refs)->n,
											psprintf("%s%s", st->uri_prefix, key));
}

/*
 * Remove what an earlier compaction that crashed (or whose backend was
 * killed) left: objects named after a compaction's tag that no snapshot of
 * the table references, and open multipart uploads.  The caller holds the
 * automation's run lock, so no run or compaction is writing to the table: a
 * finished compaction's objects are referenced by its snapshot, or were
 * removed by expiry with it.  A step that fails leaves the leftovers for the
 * next compaction.  Returns how many objects went.
 */
static int
sweep_compactions(IceState *st)
{
	IceRefs	refs = {NULL, 0};
	volatile int removed = 0;
	btx_error	err;

	if (btx_ice_referenced(st->t, &st->io, &refs.uris, &refs.n, &err) != 0)
		raise_ice(&err);
	PG_TRY();
	{
		int			n = 0;

		(void) delete_table_objects(st, compaction_leftover, &refs, &n);
		removed = n;
	}
	PG_FINALLY();
	{
		btx_ice_referenced_free(refs.uris, refs.n);
	}
	PG_END_TRY();
	return removed;
}

/* the newest transaction id any row the caller can see may have: the end of a window over everything */
static char *
window_end_now(void)
{
	if (SPI_execute("SELECT pg_catalog.pg_snapshot_xmax(pg_catalog.pg_current_snapshot())::text", true, 1) != SPI_OK_SELECT ||
		SPI_processed != 1)
		elog(ERROR, "could not read the current snapshot");
	return SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1);
}

/*
 * Compaction: the store's current rows (every span or trace the automation
 * exports, read through its source as its owner) into new files, one per
 * day, committed as a replace of every live file at the base snapshot's
 * sequence number.  A row changed after the base's cursor-end is rewritten
 * in its newest version, and its next export deletes and adds it again:
 * one row per id, always.
 */
void
BtxIcebergCompact(BtxAutomation *a, uint64 target_size, BtxIcebergMaint *out)
{
	char	   *tag = psprintf("compact-" INT64_FORMAT, (int64) GetCurrentTimestamp());
	BtxSink    *sink = BtxIcebergSinkNew(a, tag, target_size, 0);
	IceState   *st = sink->state;
	BtxSource  *src = BtxSourceFor(a);
	BtxRun		run;
	BtxRowBatch batch;
	btx_ice_entry *live = NULL;
	int			nlive = 0;
	int			leftovers;
	btx_error	err;

	memset(out, 0, sizeof(*out));
	memset(&run, 0, sizeof(run));
	run.cxt = CurrentMemoryContext;
	run.automation = a;
	run.from = "0";
	run.to = window_end_now();
	st->rewrite = true;
	PG_TRY();
	{
		ice_connect(sink);
		st->t = load_existing(st);
		leftovers = sweep_compactions(st);
		if (leftovers > 0)
			ereport(NOTICE,
					(errmsg("removed %d objects an interrupted compaction of automation \"%s\" left",
							leftovers, a->name),
					 errdetail("No snapshot of the table referenced them.")));
		if (btx_ice_live_files(st->t, &st->io, &live, &nlive, &err) != 0)
			raise_ice(&err);
		if (nlive > 0)
		{
			btx_ice_table *base = st->t;

			/* open_table checks the rows against the loaded table */
			st->t = NULL;
			src->methods->open(src, &run, BTX_ROWS_TYPED);
			while (src->methods->next(src, &batch))
			{
				if (st->t == NULL)
				{
					btx_ice_table_free(base);
					base = NULL;
					open_table(st, a, &batch);
				}
				{
					uint64		i;

					for (i = 0; i < batch.n; i++)
						write_row(st, &batch, batch.rows[i]);
				}
			}
			src->methods->close(src);
			if (st->t == NULL)
				st->t = base;
			/* the files live in the table the rows were checked against */
			btx_ice_entries_free(live, nlive);
			live = NULL;
			if (btx_ice_live_files(st->t, &st->io, &live, &nlive, &err) != 0)
				raise_ice(&err);
			out->rows = st->total_rows;
			out->files_removed = nlive;
			commit_files(st, NULL, BTX_ICE_OP_REPLACE, live, nlive);
			out->files_added = st->ndfs;
			out->snapshot_id = st->snapshot_id;
		}
	}
	PG_CATCH();
	{
		btx_ice_entries_free(live, nlive);
		ice_abort(sink);
		ice_close(sink);
		PG_RE_THROW();
	}
	PG_END_TRY();
	btx_ice_entries_free(live, nlive);
	ice_close(sink);
}

void
BtxIcebergExpire(BtxAutomation *a, int keep, int64 older_than_ms, BtxIcebergMaint *out)
{
	BtxSink    *sink = BtxIcebergSinkNew(a, "expire", 0, 0);
	IceState   *st = sink->state;
	btx_ice_plan plan;
	btx_error	err;
	bool		planned = false;

	memset(out, 0, sizeof(*out));
	memset(&plan, 0, sizeof(plan));
	PG_TRY();
	{
		int			i;

		ice_connect(sink);
		st->t = load_existing(st);
		if (btx_ice_expire_plan(st->t, keep, older_than_ms, (int64) time(NULL) * 1000, &st->io, &plan, &err) != 0)
			raise_ice(&err);
		planned = true;
		if (plan.nobjects > 0)
		{
			if (btx_ice_plan_execute(&plan, &st->io, &err) != 0)
				raise_ice(&err);
			out->snapshot_id = btx_ice_table_current_snapshot(plan.next);
			out->snapshots_expired = btx_ice_table_snapshot_count(st->t) - btx_ice_table_snapshot_count(plan.next);
			/* after the commit: what only the dropped snapshots referenced */
			for (i = 0; i < plan.ndeletable; i++)
			{
				const char *key = key_of(st, plan.deletable[i], &err);

				if (key && BtxStoreTryDelete(&st->target, key, false))
					out->files_removed++;
			}
		}
	}
	PG_CATCH();
	{
		if (planned)
			btx_ice_plan_free(&plan);
		ice_close(sink);
		PG_RE_THROW();
	}
	PG_END_TRY();
	btx_ice_plan_free(&plan);
	ice_close(sink);
}
