/*
 * export.c — one run's export: the automation's source yields the rows of
 * the run's window, its sink writes them as objects, and the history commits
 * the result (run/history.c) with the position the source planned.
 *
 * The loop knows no PostgreSQL table and nothing of S3: the source reads
 * (source.h), the sink writes (sink.h), and the worker (worker.c) puts the
 * calls into the run's transactions.
 */
#include "adapters/btexport.h"

#include "utils/memutils.h"
#include "utils/timestamp.h"

#include "run/cleanup.h"
#include "run/export.h"
#include "run/keys.h"
#include "run/sink.h"
#include "run/source.h"

void
BtxExportPlan(BtxRun *run)
{
	BtxAutomation *a = run->automation;
	MemoryContext old = MemoryContextSwitchTo(run->cxt);

	run->source = BtxSourceFor(a);
	MemoryContextSwitchTo(old);
	run->position_kind = run->source->methods->position_kind;
	run->source->methods->plan(run->source, run);
	run->started = GetCurrentTimestamp();
	run->base_key = MemoryContextStrdup(run->cxt, BtxChooseBaseKey(a, run->id, run->started));
}

void
BtxExportRun(BtxRun *run, const BtxRunSettings *settings, BtxRunResult *result)
{
	BtxAutomation *a = run->automation;
	BtxSource  *src = run->source;
	BtxSink    *sink;
	BtxRowBatch batch;
	BtxRunProgress progress;
	uint64		target_size = a->target_file_size > 0 ? (uint64) a->target_file_size :
		(uint64) settings->target_file_size_kb * 1024;

	memset(result, 0, sizeof(*result));
	if (run->to != NULL && strcmp(run->from, run->to) == 0)
		return;					/* an empty window: nothing to export */
	progress = run->progress;
	sink = BtxSinkFor(a, run->base_key, target_size, settings->part_size_kb);
	PG_TRY();
	{
		sink->methods->connect(sink);
		BtxCleanupOrphans(sink);
		src->methods->open(src, run, sink->shape);
		while (src->methods->next(src, &batch))
		{
			sink->methods->write(sink, &batch);
			/* progress, for btexport.progress */
			sink->methods->progress(sink, &progress);
			if (src->methods->progress)
				src->methods->progress(src, &progress);
			BtxHistoryProgress(run, &progress);
		}
		src->methods->close(src);
		/* a source that learns its window while reading says where it ended */
		if (src->methods->reached)
			src->methods->reached(src, run);
		if (src->methods->progress)
			src->methods->progress(src, &run->progress);
		sink->methods->finish(sink, run, result);
	}
	PG_CATCH();
	{
		sink->methods->abort(sink);
		sink->methods->close(sink);
		PG_RE_THROW();
	}
	PG_END_TRY();
	sink->methods->close(sink);
}

void
BtxExportFailed(BtxRun *run)
{
	if (run->source && run->source->methods->progress)
		run->source->methods->progress(run->source, &run->progress);
}

void
BtxExportCommit(BtxRun *run, const BtxRunResult *result)
{
	BtxHistorySucceed(run, result);
	if (run->source->methods->commit)
		run->source->methods->commit(run->source, run);
}
