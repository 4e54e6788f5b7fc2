/*
 * history.c — run history: the run_files rows of a run's committed objects.
 * (The runs rows are still written by worker.c and SQL functions.)
 */
#include "adapters/btexport.h"

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "utils/builtins.h"

#include "run/runner.h"

void
BtxRecordFiles(BtxAutomation *a, int64 run_id, List *files)
{
	ListCell   *lc;
	Oid			argtypes[10] = {INT8OID, INT8OID, INT4OID, TEXTOID, TEXTOID, TEXTOID, INT8OID, INT8OID,
	TEXTOID, TEXTOID};

	foreach(lc, files)
	{
		RunFile    *f = lfirst(lc);
		Datum		values[10];

		values[0] = Int64GetDatum(run_id);
		values[1] = Int64GetDatum(a->id);
		values[2] = Int32GetDatum(f->seq);
		values[3] = CStringGetTextDatum(a->bucket);
		values[4] = CStringGetTextDatum(f->key);
		values[5] = CStringGetTextDatum(a->format);
		values[6] = Int64GetDatum((int64) f->rows);
		values[7] = Int64GetDatum((int64) f->res.bytes);
		values[8] = CStringGetTextDatum(f->res.etag);
		values[9] = CStringGetTextDatum(f->res.sha256);
		if (SPI_execute_with_args("INSERT INTO btexport.run_files (run_id, automation_id, owner, seq, bucket, key,"
								  " format, rows, bytes, etag, sha256, committed)"
								  " SELECT $1, $2, a.owner, $3, $4, $5, $6, $7, $8, $9, $10, true"
								  " FROM btexport.automations a WHERE a.id = $2",
								  10, argtypes, values, NULL, false, 0) != SPI_OK_INSERT)
			elog(ERROR, "could not record run file");
	}
}
