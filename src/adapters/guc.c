/*
 * guc.c — btexport.* configuration parameters.  No secrets ever live here.
 */
#include "adapters/btexport.h"

#include "utils/guc.h"


bool		btx_allow_http = false;
char	   *btx_allowed_endpoints = NULL;
int			btx_http_timeout_ms = 60000;
int			btx_connect_timeout_ms = 10000;
int			btx_target_file_size_kb = 128 * 1024;
int			btx_part_size_kb = 16 * 1024;
int			btx_max_workers = 4;
int			btx_run_retention_days = 30;
bool		btx_allow_drop_spans = false;

void
BtxDefineGucs(void)
{
	DefineCustomBoolVariable("btexport.allow_http",
							 "Allows plain-http S3 endpoints (local testing only).",
							 "Exports use HTTPS unless a superuser turns this on.",
							 &btx_allow_http, false, PGC_SUSET, 0,
							 NULL, NULL, NULL);
	DefineCustomStringVariable("btexport.allowed_endpoints",
							   "Comma-separated S3 endpoints that non-superusers may use.",
							   "Superusers may use any endpoint; other roles only AWS endpoints and these.",
							   &btx_allowed_endpoints, "", PGC_SUSET, 0,
							   NULL, NULL, NULL);
	DefineCustomIntVariable("btexport.http_timeout",
							"Aborts an S3 request that transfers nothing for this long.",
							"In milliseconds.",
							&btx_http_timeout_ms, 60000, 1000, 3600000, PGC_USERSET,
							GUC_UNIT_MS, NULL, NULL, NULL);
	DefineCustomIntVariable("btexport.connect_timeout",
							"Connection timeout for S3 and STS requests.",
							"In milliseconds.",
							&btx_connect_timeout_ms, 10000, 100, 600000, PGC_USERSET,
							GUC_UNIT_MS, NULL, NULL, NULL);
	DefineCustomIntVariable("btexport.target_file_size",
							"Size at which a run starts a new file.",
							"Each file is complete and independently readable; Snowflake loads best at 100-250 MB.",
							&btx_target_file_size_kb, 128 * 1024, 1, 1024 * 1024 * 1024, PGC_USERSET,
							GUC_UNIT_KB, NULL, NULL, NULL);
	DefineCustomIntVariable("btexport.part_size",
							"Size of the parts of a multipart upload.",
							"At least 5 MB (S3's minimum); an object needs at most 10000 parts.",
							&btx_part_size_kb, 16 * 1024, 5 * 1024, 5 * 1024 * 1024, PGC_USERSET,
							GUC_UNIT_KB, NULL, NULL, NULL);
	DefineCustomIntVariable("btexport.max_workers",
							"Maximum number of export runs at once.",
							"Further runs wait for a free slot; each run also needs a max_worker_processes slot.",
							&btx_max_workers, 4, 1, 64, PGC_SIGHUP, 0, NULL, NULL, NULL);
	DefineCustomIntVariable("btexport.run_retention",
							"How long run history is kept.",
							"In days; runs that finished earlier are deleted when their automation runs next.",
							&btx_run_retention_days, 30, 1, 36500, PGC_SIGHUP, 0, NULL, NULL, NULL);
	DefineCustomBoolVariable("btexport.allow_drop_spans",
							 "Allows DROP EXTENSION btexport while btexport.logs holds spans.",
							 "Off: DROP EXTENSION btexport refuses while spans are stored (docs/operations.md \"Dropping the extension\").",
							 &btx_allow_drop_spans, false, PGC_USERSET, 0,
							 NULL, NULL, NULL);
	MarkGUCPrefixReserved("btexport");
}
