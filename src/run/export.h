/*
 * export.h — the export of one run's window (export.c): the run's source
 * yields rows, its sink writes them as objects, and the run's result goes to
 * the history.  The loop knows neither PostgreSQL tables nor S3.
 */
#ifndef BTX_EXPORT_H
#define BTX_EXPORT_H

#include "adapters/btexport.h"

#include "run/history.h"

/* settings a run takes from the session that triggered it (GUCs) */
typedef struct BtxRunSettings
{
	int			target_file_size_kb;
	int			part_size_kb;
} BtxRunSettings;

/* T2: the run's source and its window (run->from, run->to, run->more, in T2's snapshot), its base key */
extern void BtxExportPlan(BtxRun *run);

/*
 * T3: export run->automation's window [run->from, run->to) as the
 * automation's owner, and describe what was written in *result.  Throws on
 * failure, after removing every object it wrote (what a crash leaves behind,
 * the next run's cleanup removes).
 */
extern void BtxExportRun(BtxRun *run, const BtxRunSettings *settings, BtxRunResult *result);

/*
 * T3', after the failed transaction's abort: what the source counted so far
 * (API requests) into run->progress, for the history's record of the failure
 */
extern void BtxExportFailed(BtxRun *run);

/* T3, after BtxExportRun: the history's commit of the result, and the source's */
extern void BtxExportCommit(BtxRun *run, const BtxRunResult *result);

#endif
