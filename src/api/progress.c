/*
 * progress.c — what btexport.progress shows of running runs: the progress
 * each run's worker publishes (run/history.c), and the key of the object it
 * is writing.
 */
#include "adapters/btexport.h"

#include "fmgr.h"
#include "funcapi.h"
#include "utils/builtins.h"

#include "adapters/format_writer.h"
#include "run/history.h"
#include "run/keys.h"

PG_FUNCTION_INFO_V1(btexport_live_progress);
PG_FUNCTION_INFO_V1(btexport_object_key);

/* btexport._live_progress() RETURNS TABLE (pid integer, run_id bigint, rows bigint, bytes bigint, object_seq integer,
 * api_requests bigint) */
Datum
btexport_live_progress(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	ListCell   *lc;

	InitMaterializedSRF(fcinfo, 0);
	foreach(lc, BtxHistoryLiveProgress())
	{
		BtxLiveProgress *p = lfirst(lc);
		Datum		values[6];
		bool		nulls[6] = {false, false, false, false, false, false};

		values[0] = Int32GetDatum(p->pid);
		values[1] = Int64GetDatum(p->run_id);
		values[2] = Int64GetDatum((int64) p->progress.rows);
		values[3] = Int64GetDatum((int64) p->progress.bytes);
		values[4] = Int32GetDatum(p->progress.object_seq);
		values[5] = Int64GetDatum(p->progress.requests);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	return (Datum) 0;
}

/* btexport._object_key(base_key text, seq integer, format text, compression text) RETURNS text */
Datum
btexport_object_key(PG_FUNCTION_ARGS)
{
	int			seq;
	const BtxFormat *format;
	const char *ext;

	if (PG_ARGISNULL(0) || PG_ARGISNULL(1) || PG_ARGISNULL(2) || (seq = PG_GETARG_INT32(1)) <= 0)
		PG_RETURN_NULL();
	format = BtxFormatLookup(text_to_cstring(PG_GETARG_TEXT_PP(2)));
	ext = format->extension(PG_ARGISNULL(3) ? NULL : text_to_cstring(PG_GETARG_TEXT_PP(3)));
	PG_RETURN_TEXT_P(cstring_to_text(BtxObjectKeyFor(text_to_cstring(PG_GETARG_TEXT_PP(0)), seq, ext)));
}
