/*
 * iceberg.c — table maintenance of Iceberg automations as SQL calls
 * (sql/install/code/72_iceberg.sql: btexport.iceberg_compact and
 * btexport.iceberg_expire_snapshots check the caller owns the automation and
 * call these with its row).
 *
 * Each takes the automation's run lock without waiting, so it never overlaps
 * a run (55P03 while one exports: try again after it), does its work as one
 * commit of the table (run/iceberg.h), and releases the lock in every outcome.
 */
#include "adapters/btexport.h"

#include "executor/spi.h"
#include "fmgr.h"
#include "funcapi.h"
#include "utils/builtins.h"
#include "utils/timestamp.h"

#include "adapters/automation.h"
#include "run/iceberg.h"
#include "run/worker.h"

PG_FUNCTION_INFO_V1(btexport_iceberg_compact);
PG_FUNCTION_INFO_V1(btexport_iceberg_expire);

/*
 * The run lock, then (under it: no run of the automation is alive) no run a
 * crash left 'running' or that failed with its objects still to be removed:
 * btexport._check_iceberg_leftovers, with the automation's row.
 */
static void
lock_automation(BtxAutomation *a, Datum row, Oid rowtype)
{
	if (!BtxRunLockTry(a->id))
		ereport(ERROR,
				(errcode(ERRCODE_LOCK_NOT_AVAILABLE),
				 errmsg("automation \"%s\" is exporting now", a->name),
				 errhint("Table maintenance waits for no run: call it again once the run has ended (see btexport.progress).")));
	PG_TRY();
	{
		SPI_connect();
		if (SPI_execute_with_args("SELECT btexport._check_iceberg_leftovers($1)", 1,
								  (Oid[]) {rowtype}, &row, NULL, false, 1) != SPI_OK_SELECT)
			elog(ERROR, "could not check the automation's runs");
		SPI_finish();
	}
	PG_CATCH();
	{
		BtxRunLockRelease(a->id);
		PG_RE_THROW();
	}
	PG_END_TRY();
}

/* one row (snapshot_id, rows, files_added, files_removed, snapshots_expired) */
static Datum
result_row(FunctionCallInfo fcinfo, const BtxIcebergMaint *m)
{
	TupleDesc	desc;
	Datum		v[5];
	bool		n[5] = {m->snapshot_id == 0, false, false, false, false};

	if (get_call_result_type(fcinfo, NULL, &desc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");
	v[0] = Int64GetDatum(m->snapshot_id);
	v[1] = Int64GetDatum(m->rows);
	v[2] = Int32GetDatum(m->files_added);
	v[3] = Int32GetDatum(m->files_removed);
	v[4] = Int32GetDatum(m->snapshots_expired);
	return HeapTupleGetDatum(heap_form_tuple(BlessTupleDesc(desc), v, n));
}

/* btexport._iceberg_compact(a btexport.automations) */
Datum
btexport_iceberg_compact(PG_FUNCTION_ARGS)
{
	BtxAutomation a;
	BtxIcebergMaint m;

	BtxAutomationFromRow(PG_GETARG_HEAPTUPLEHEADER(0), &a);
	lock_automation(&a, PG_GETARG_DATUM(0), get_fn_expr_argtype(fcinfo->flinfo, 0));
	PG_TRY();
	{
		SPI_connect();			/* the credentials and the rows are read through SPI */
		BtxIcebergCompact(&a, a.target_file_size > 0 ? (uint64) a.target_file_size :
						  (uint64) btx_target_file_size_kb * 1024, &m);
		SPI_finish();
	}
	PG_FINALLY();
	{
		BtxRunLockRelease(a.id);
	}
	PG_END_TRY();
	return result_row(fcinfo, &m);
}

/* btexport._iceberg_expire(a btexport.automations, keep integer, older_than interval) */
Datum
btexport_iceberg_expire(PG_FUNCTION_ARGS)
{
	BtxAutomation a;
	BtxIcebergMaint m;
	int			keep = PG_GETARG_INT32(1);
	volatile int64 older_than_ms = INT64_MAX;

	BtxAutomationFromRow(PG_GETARG_HEAPTUPLEHEADER(0), &a);
	if (!PG_ARGISNULL(2))
	{
		Interval   *iv = PG_GETARG_INTERVAL_P(2);
		TimestampTz cut = DatumGetTimestampTz(DirectFunctionCall2(timestamptz_mi_interval,
																  TimestampTzGetDatum(GetCurrentTimestamp()),
																  IntervalPGetDatum(iv)));

		older_than_ms = (cut + (int64) (POSTGRES_EPOCH_JDATE - UNIX_EPOCH_JDATE) * USECS_PER_DAY) / 1000;
	}
	lock_automation(&a, PG_GETARG_DATUM(0), get_fn_expr_argtype(fcinfo->flinfo, 0));
	PG_TRY();
	{
		SPI_connect();			/* the credentials are read through SPI */
		BtxIcebergExpire(&a, keep, older_than_ms, &m);
		SPI_finish();
	}
	PG_FINALLY();
	{
		BtxRunLockRelease(a.id);
	}
	PG_END_TRY();
	return result_row(fcinfo, &m);
}
