/*
 * source.c — the source of an automation (see source.h), and what every
 * source's rows are produced under.
 */
#include "adapters/btexport.h"

#include "utils/guc.h"

#include "run/source.h"

BtxSource *
BtxSourceFor(BtxAutomation *a)
{
	BtxSource  *src = palloc0(sizeof(BtxSource));

	/* a Braintrust connection, else the local span store (btexport.logs) */
	src->methods = a->connection ? &BtxBraintrustSource : &BtxSpanStoreSource;
	src->automation = a;
	return src;
}

/*
 * The settings every export query runs under (in the caller's GUC nest
 * level): timestamps in UTC, names resolved in pg_catalog only, fixed date
 * and interval styles (the writers write values of types without their own
 * encoding as their text output).  The same for every source, so that the
 * same spans give the same values.
 */
void
BtxSourcePinSettings(void)
{
	(void) set_config_option("TimeZone", "UTC", PGC_USERSET, PGC_S_SESSION, GUC_ACTION_SAVE, true, 0, false);
	(void) set_config_option("DateStyle", "ISO, YMD", PGC_USERSET, PGC_S_SESSION, GUC_ACTION_SAVE, true, 0, false);
	(void) set_config_option("IntervalStyle", "postgres", PGC_USERSET, PGC_S_SESSION,
							 GUC_ACTION_SAVE, true, 0, false);
	(void) set_config_option("search_path", "pg_catalog, pg_temp", PGC_USERSET, PGC_S_SESSION,
							 GUC_ACTION_SAVE, true, 0, false);
}
