/*
 * worker.h — what the launcher (launch.c) hands a run's background worker
 * (worker.c).
 */
#ifndef BTX_WORKER_H
#define BTX_WORKER_H

#include "adapters/btexport.h"

#include "run/export.h"

/* in bgw_extra */
typedef struct BtxWorkerArgs
{
	Oid			dboid;
	Oid			caller;
	int64		automation_id;
	char		trigger[12];	/* btexport.runs.trigger of the first run */
	char		token[40];		/* btexport.runs.request_token of the first run */
	BtxRunSettings settings;
} BtxWorkerArgs;

/*
 * The lock a running export of the automation holds (session level): taken
 * without waiting by a call that must not overlap a run (Iceberg
 * maintenance); false when a run holds it.  Release it in every outcome.
 */
extern bool BtxRunLockTry(int64 automation_id);
extern void BtxRunLockRelease(int64 automation_id);

#endif
