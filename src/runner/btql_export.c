/*
 * btql_export.c — export queries of automations of type btql: the BTQL
 * compiler (src/btql) lowers the user's query to SQL with bind parameters.
 */
#include "postgres.h"

#include "btexport.h"
#include "runner.h"

void
BtxBuildBtqlExportQuery(BtxAutomation *a, bool typed, const char *from, const char *to, BtxExportQuery *q)
{
	ereport(ERROR,
			(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
			 errmsg("BTQL exports are not available in this build"),
			 errhint("Use export_type => 'logs_spans' or 'logs_traces'.")));
}
