/*
 * runner.h — an export run and its parts (backend glue).
 */
#ifndef BTX_RUNNER_H
#define BTX_RUNNER_H

#include "postgres.h"

#include "access/htup.h"
#include "access/tupdesc.h"
#include "nodes/pg_list.h"
#include "utils/timestamp.h"

#include "objstore.h"

/* an automation row, as text where the runner only passes values on */
typedef struct BtxAutomation
{
	int64		id;
	char	   *name;
	Oid			owner;
	char	   *project_id;
	char	   *export_type;	/* logs_spans | logs_traces | btql */
	char	   *query;
	char	   *bucket;
	char	   *prefix;
	char	   *region;
	char	   *endpoint;
	char	   *role_arn;
	char	   *external_id;
	char	   *credential;
	char	   *format;			/* jsonl | parquet */
	int			batch_size;
	char	   *status;
	char	   *cursor;			/* xid8 as text */
	char	   *compression;	/* none | gzip | zstd | snappy */
	bool		hive;			/* layout: date=YYYY-MM-DD/hour=HH/ instead of YYYY/MM/DD/ */
	char	   *sse;			/* NULL | AES256 | aws:kms */
	char	   *kms_key_id;
	bool		bucket_owner_full_control;
	int64		part_size;		/* bytes, 0 = session/GUC */
	int64		target_file_size;	/* bytes, 0 = session/GUC */
	int64		max_rows_per_run;
	char	   *trace_idle;		/* interval as text */
} BtxAutomation;

typedef struct BtxRunStats
{
	uint64		rows;
	uint64		bytes;
	List	   *files;
	char	   *manifest_key;	/* NULL when the run wrote no file */
} BtxRunStats;

/* an export query with its bind parameters */
typedef struct BtxExportQuery
{
	char	   *sql;
	int			nargs;
	Oid		   *argtypes;
	Datum	   *values;
	char	   *nulls;
	char	  **colnames;		/* user-visible names of typed columns, or NULL */
} BtxExportQuery;

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

extern void BtxLoadAutomation(int64 id, BtxAutomation *a, bool lock);
extern void BtxAutomationFromRow(HeapTupleHeader row, BtxAutomation *a);
extern char *BtxChooseBaseKey(BtxAutomation *a, int64 run_id, TimestampTz started);
extern void BtxExportWindow(BtxAutomation *a, int64 run_id, const char *base_key, const char *from,
							const char *to, const BtxRunSettings *settings, MemoryContext keep,
							BtxRunStats *stats);
extern void BtxRecordFiles(BtxAutomation *a, int64 run_id, List *files);
extern void BtxCleanupOrphans(BtxAutomation *a, BtxTarget *t);
extern char *BtxManifestKey(const char *prefix, const char *base_key);
extern void BtxTargetFromAutomation(BtxAutomation *a, BtxTarget *t);
extern void BtxBuildExportQuery(BtxAutomation *a, bool typed, const char *from, const char *to,
								BtxExportQuery *q);
extern void BtxBuildBtqlExportQuery(BtxAutomation *a, bool typed, const char *from, const char *to,
									BtxExportQuery *q);

/* format.c: rows of a result set → bytes of one file, streamed into an object */
typedef struct BtxFormatWriter BtxFormatWriter;

extern BtxFormatWriter *BtxFormatOpen(BtxAutomation *a, TupleDesc tupdesc, char **colnames, BtxObject *obj);
extern const char *BtxFormatExtension(BtxAutomation *a);
extern const char *BtxFormatContentType(BtxAutomation *a);
extern void BtxFormatRow(BtxFormatWriter *w, HeapTuple tuple);
extern uint64 BtxFormatBytes(BtxFormatWriter *w);
extern void BtxFormatFinish(BtxFormatWriter *w);
extern void BtxFormatFree(BtxFormatWriter *w);

extern const char *BtxObjectKey(BtxObject *o);

#endif
