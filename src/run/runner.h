/*
 * runner.h — one export run and its parts: the export of a cursor window
 * (export.c), object keys (keys.c), run history (history.c), cleanup of what
 * failed runs left in S3 (cleanup.c), the launcher (launch.c) and the
 * background worker (worker.c).
 */
#ifndef BTX_RUNNER_H
#define BTX_RUNNER_H

#include "adapters/btexport.h"

#include "nodes/pg_list.h"
#include "utils/timestamp.h"

#include "adapters/automation.h"
#include "adapters/objstore.h"

typedef struct BtxRunStats
{
	uint64		rows;
	uint64		bytes;
	List	   *files;
	char	   *manifest_key;	/* NULL when the run wrote no file */
} BtxRunStats;

/* settings a run takes from the session that triggered it */
typedef struct BtxRunSettings
{
	int			target_file_size_kb;
	int			part_size_kb;
} BtxRunSettings;

/* one finished object of a run */
typedef struct RunFile
{
	int			seq;
	char	   *key;
	uint64		rows;
	BtxObjectResult res;
} RunFile;

/* what the launcher hands the background worker (in bgw_extra) */
typedef struct BtxWorkerArgs
{
	Oid			dboid;
	Oid			caller;
	int64		automation_id;
	char		trigger[12];
	char		token[40];
	BtxRunSettings settings;
} BtxWorkerArgs;

/* export.c */
extern void BtxExportWindow(BtxAutomation *a, int64 run_id, const char *base_key, const char *from,
							const char *to, const BtxRunSettings *settings, MemoryContext keep,
							BtxRunStats *stats);
extern void BtxBuildExportQuery(BtxAutomation *a, bool typed, const char *from, const char *to,
								BtxExportQuery *q);

/* keys.c */
extern char *BtxChooseBaseKey(BtxAutomation *a, int64 run_id, TimestampTz started);
extern char *BtxManifestKey(const char *prefix, const char *base_key);

/* history.c */
extern void BtxRecordFiles(BtxAutomation *a, int64 run_id, List *files);

/* cleanup.c */
extern void BtxCleanupOrphans(BtxAutomation *a, BtxTarget *t);

#endif
