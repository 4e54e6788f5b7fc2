/*
 * sink.h — where a run's rows go.
 *
 * A sink takes the rows of one run (in the shape its format takes), writes
 * them as objects of the destination, and on finish describes what it wrote
 * (the run's files, totals and commit point) for the history to commit.  It
 * keeps the exactly-once properties of a run:
 *   - write-once keys: every object key starts with the run's base key, and
 *     an object is never written over (If-None-Match);
 *   - a commit point in the store (the files sink's manifest, written last),
 *     and the history's commit in PostgreSQL after it;
 *   - no partial object: abort removes what the run wrote; what a crash left
 *     is found under the run's base key by remove_orphans, which keeps every
 *     object the history lists as committed.
 * The export loop (export.c) and the cleanup of failed runs (cleanup.c) call
 * the sink, never the S3 core.
 *
 * The implementations: loose files in S3 under the automation's prefix
 * (sink_files.c: a format writer, adapters/format_writer.h, into the object
 * store, adapters/objstore.h), and an Apache Iceberg table at the
 * automation's s3_path (sink_iceberg.c: one snapshot per run).  A new file format is a BtxFormat, not a sink;
 * a new kind of destination (a table format with its own commit) implements
 * BtxSinkMethods in one file and is chosen in BtxSinkFor.
 */
#ifndef BTX_RUN_SINK_H
#define BTX_RUN_SINK_H

#include "adapters/btexport.h"

#include "adapters/automation.h"
#include "adapters/format_writer.h"
#include "run/history.h"
#include "run/source.h"

typedef struct BtxSink BtxSink;

/* is this object of the store committed (listed by a succeeded run)? */
typedef bool (*BtxCommittedFn) (const char *store, const char *key);

typedef struct BtxSinkMethods
{
	const char *name;

	/* T3, first: reach the destination (credentials, role); ereports on failure */
	void		(*connect) (BtxSink *sink);

	/*
	 * What a failed run left under base_key: remove every object that
	 * committed() does not list, and any unfinished upload.  false when
	 * something could not be removed (the next run tries again); never throws
	 * for the store's errors.
	 */
	bool		(*remove_orphans) (BtxSink *sink, const char *base_key, BtxCommittedFn committed);

	/* rows, in sink->shape */
	void		(*write) (BtxSink *sink, const BtxRowBatch *batch);
	/* how far it got: rows and bytes written, the object being written */
	void		(*progress) (BtxSink *sink, BtxRunProgress *p);

	/*
	 * After the last row: finish the open object and write the commit point.
	 * *result gets the run's objects and totals (allocated in run->cxt).
	 */
	void		(*finish) (BtxSink *sink, const BtxRun *run, BtxRunResult *result);

	/* after an error: abort the open upload, delete what the run finished; never throws */
	void		(*abort) (BtxSink *sink);
	/* release the connection */
	void		(*close) (BtxSink *sink);
} BtxSinkMethods;

struct BtxSink
{
	const BtxSinkMethods *methods;
	BtxAutomation *automation;
	BtxRowShape shape;			/* the rows write() takes */
	const char *store;			/* the bucket, for committed() */
	void	   *state;			/* the implementation's */
};

/*
 * The sink of a run of automation a: objects under base_key, files of
 * target_size bytes, multipart parts of part_size bytes (0: the GUC's).
 */
extern BtxSink *BtxSinkFor(BtxAutomation *a, const char *base_key, uint64 target_size, int part_size_kb);

/* the implementations */
extern const BtxSinkMethods BtxFilesSink;
extern const BtxSinkMethods BtxIcebergSink;	/* an Iceberg table (sink_iceberg.c) */

#endif
