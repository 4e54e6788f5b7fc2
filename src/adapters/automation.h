/*
 * automation.h — an automation as the backend sees it: a btexport.automations
 * row decoded into C values, its S3 target, and the export query it runs.
 */
#ifndef BTX_AUTOMATION_H
#define BTX_AUTOMATION_H

#include "adapters/btexport.h"

#include "access/htup.h"

#include "adapters/objstore.h"

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
	Oid			credential_owner;	/* InvalidOid without a credential */
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

/* automation.c (the strings live in a child of the transaction's memory) */
extern void BtxLoadAutomation(int64 id, BtxAutomation *a, bool lock);
extern void BtxAutomationFromRow(HeapTupleHeader row, BtxAutomation *a);
extern void BtxTargetFromAutomation(BtxAutomation *a, BtxTarget *t);

#endif
