/*
 * keys.c — the object keys of a run: its base key (date or hive folders,
 * export_<UTC start>) and its manifest's key beside the data prefix.
 */
#include "adapters/btexport.h"

#include "pgtime.h"
#include "utils/timestamp.h"

#include "run/history.h"
#include "run/keys.h"

/*
 * Choose the run's base key: <prefix>YYYY/MM/DD/export_YYYY-MM-DD_HH-MM-SS (or, hive,
 * <prefix>dt=YYYY-MM-DD/hour=HH/export_...)
 * (UTC, the run's start).  Should an earlier run of this automation have
 * started in the same second, the run id is appended so keys never collide.
 */
char *
BtxChooseBaseKey(BtxAutomation *a, int64 run_id, TimestampTz started)
{
	pg_time_t	t = timestamptz_to_time_t(started);
	struct pg_tm *tm = pg_gmtime(&t);
	char	   *folder;
	char	   *base;

	/* the folder of the run's day (and hour): layout date or hive */
	folder = a->hive ?
		psprintf("%s=%04d-%02d-%02d/hour=%02d/", a->hive_day, tm->tm_year + 1900, tm->tm_mon + 1, tm->tm_mday,
				 tm->tm_hour) :
		psprintf("%04d/%02d/%02d/", tm->tm_year + 1900, tm->tm_mon + 1, tm->tm_mday);
	base = psprintf("%s%sexport_%04d-%02d-%02d_%02d-%02d-%02d", a->prefix, folder,
					tm->tm_year + 1900, tm->tm_mon + 1, tm->tm_mday,
					tm->tm_hour, tm->tm_min, tm->tm_sec);
	if (BtxHistoryKeyPrefixUsed(a->bucket, base))
		base = psprintf("%s_%lld", base, (long long) run_id);
	return base;
}

#define PART_INFIX "_part-"		/* <base>_part-NNNN<ext> */

char *
BtxObjectKeyFor(const char *base_key, int seq, const char *ext)
{
	if (seq == 1)
		return psprintf("%s%s", base_key, ext);
	return psprintf("%s" PART_INFIX "%04d%s", base_key, seq, ext);
}

List *
BtxRunObjectPrefixes(const char *base_key)
{
	/* every extension starts with "." (BtxFormat.extension) */
	return list_make2(psprintf("%s.", base_key), psprintf("%s" PART_INFIX, base_key));
}

/*
 * The manifest's key: beside the data prefix, never under it, so a loader's
 * pattern on the data never matches it:
 *   exports/spans/2026/01/15/export_<ts>  ->  exports/spans.manifests/2026/01/15/export_<ts>.manifest.json
 * (a bucket-root prefix puts manifests under _btexport_manifests/).
 */
char *
BtxManifestKey(const char *prefix, const char *base_key)
{
	size_t		plen = strlen(prefix);
	const char *rest = base_key + (strncmp(base_key, prefix, plen) == 0 ? plen : 0);

	if (plen == 0)
		return psprintf("_btexport_manifests/%s.manifest.json", rest);
	return psprintf("%.*s.manifests/%s.manifest.json", (int) (plen - 1), prefix, rest);
}
