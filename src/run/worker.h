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

#endif
