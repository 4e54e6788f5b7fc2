/*
 * cleanup.c — removes what failed or interrupted runs left in the store.
 *
 * A failed run's objects all start with its base key (recorded in T2, before
 * it wrote anything), and a run's objects are committed only by the history's
 * run_files rows of a succeeded run.  So, for each failed or cancelled run of
 * the automation not yet cleaned, the sink removes every object under its
 * base key that the history does not list as committed, and the run is
 * marked cleaned.  This runs in the export transaction of the automation's
 * next run, before it writes anything; a failure here is a WARNING and is
 * retried by the run after.
 */
#include "adapters/btexport.h"

#include "miscadmin.h"

#include "run/cleanup.h"
#include "run/history.h"

void
BtxCleanupOrphans(BtxSink *sink)
{
	BtxAutomation *a = sink->automation;
	ListCell   *lc;

	foreach(lc, BtxHistoryUncleanedRuns(a->id))
	{
		BtxUncleanedRun *run = lfirst(lc);

		if (sink->methods->remove_orphans(sink, run->base_key, BtxHistoryKeyCommitted))
			BtxHistoryMarkCleaned(run->id);
		else
			ereport(WARNING,
					(errmsg("could not remove all objects left by failed run " INT64_FORMAT " of automation \"%s\"",
							run->id, a->name),
					 errhint("The next run tries again; keys start with s3://%s/%s.", sink->store, run->base_key)));
		CHECK_FOR_INTERRUPTS();
	}
}
