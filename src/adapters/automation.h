/*
 * automation.h — an automation as the backend sees it: a btexport.automations
 * row decoded into C values (automation.c), and the S3 target it names.
 */
#ifndef BTX_AUTOMATION_H
#define BTX_AUTOMATION_H

#include "adapters/btexport.h"

#include "access/htup.h"

#include "adapters/objstore.h"

/*
 * The columns of an automations row the runner uses.  Each has one line in
 * automation.c's column table, which lists every column of the table (the
 * others as used in SQL only); sql/settings.sql fails when a column is
 * missing there.  Text columns are NULL when NULL.
 */
typedef struct BtxAutomation
{
	int64		id;
	char	   *name;
	Oid			owner;
	char	   *project_id;		/* uuid as text */
	char	   *export_type;	/* logs_spans | logs_traces | btql */
	char	   *query;
	char	   *bucket;
	char	   *prefix;
	char	   *region;
	char	   *endpoint;
	char	   *role_arn;
	char	   *external_id;
	char	   *credential;
	Oid			credential_owner;	/* InvalidOid without a credential */
	char	   *format;			/* jsonl | parquet | iceberg (a table: run/sink_iceberg.c) */
	int32		batch_size;
	char	   *cursor;			/* xid8 as text */
	char	   *compression;	/* none | gzip | zstd | snappy */
	int32		compression_level;	/* gzip 1-9, zstd 1-19; 0 = the codec's default */
	char	   *sse;			/* NULL | AES256 | aws:kms */
	char	   *kms_key_id;
	bool		bucket_owner_full_control;
	int64		part_size;		/* bytes, 0 = session/GUC */
	int64		target_file_size;	/* bytes, 0 = session/GUC */
	int64		max_rows_per_run;
	int64		trace_idle_ms;	/* trace_idle in milliseconds (months as 30 days) */
	char	   *layout;			/* date | hive | hive_date (1.0's hive, kept by 1.0 automations) */
	bool		hive;			/* layout hive: <day>=YYYY-MM-DD/hour=HH/ instead of YYYY/MM/DD/ */
	const char *hive_day;		/* the day partition's name: dt (hive), date (hive_date, 1.0's) */
	char	   *partitioning;	/* format iceberg: day | none; else NULL */
	/* a Braintrust connection as the source (NULL: the local span store) */
	char	   *connection;
	Oid			connection_owner;
	char	   *remote_project;	/* the Braintrust project as given: name or id */
	char	   *remote_project_id;	/* its id once resolved (uuid as text), or NULL */
	int32		requests_per_minute;	/* the API request budget */
	char	   *source_position;	/* the remote source's position (text), NULL = the start */
} BtxAutomation;

/* an export query with its bind parameters */
typedef struct BtxExportQuery
{
	char	   *sql;
	int			nargs;
	Oid		   *argtypes;
	Datum	   *values;
	char	   *nulls;
	char	  **colnames;		/* user-visible names of typed columns, or NULL */
	int			pivot_column;	/* BTQL pivot column (0-based), -1: none */
} BtxExportQuery;

/* the automation's row, decoded into cxt; ereports when it does not exist */
extern void BtxLoadAutomation(int64 id, BtxAutomation *a, MemoryContext cxt);
/* decode an automations row (a composite datum) in the current memory context */
extern void BtxAutomationFromRow(HeapTupleHeader row, BtxAutomation *a);
extern void BtxTargetFromAutomation(BtxAutomation *a, BtxTarget *t);
/* ereports why the automation cannot run now (btexport._check_runnable) */
extern void BtxCheckRunnable(int64 id);

#endif
