/*
 * iceberg.h — Apache Iceberg tables as a run's destination (sink_iceberg.c)
 * and their maintenance (compaction, snapshot expiry), for src/api/iceberg.c.
 */
#ifndef BTX_RUN_ICEBERG_H
#define BTX_RUN_ICEBERG_H

#include "adapters/btexport.h"

#include "adapters/automation.h"

struct BtxSink;

/* the sink of an Iceberg automation's run (chosen by BtxSinkFor) */
extern struct BtxSink *BtxIcebergSinkNew(BtxAutomation *a, const char *base_key, uint64 target_size,
										 int part_size_kb);
/* the tag naming a run's objects, from its base key */
extern char *BtxIcebergRunTag(const char *base_key);

typedef struct BtxIcebergMaint
{
	int64		snapshot_id;	/* committed (0: nothing to do) */
	int64		rows;			/* compaction: rows rewritten */
	int			files_added;
	int			files_removed;	/* compaction: live files replaced; expiry: objects deleted */
	int			snapshots_expired;
} BtxIcebergMaint;

/*
 * Maintenance of automation a's table, as a commit of its own (the caller
 * holds the automation's run lock).  Compaction rewrites every current row
 * of the store into new files at the base snapshot's sequence number and
 * removes every live data and delete file; expiry keeps the current snapshot
 * and its keep - 1 newest ancestors and those at or after older_than_ms
 * (INT64_MAX: none by age), then deletes what only the dropped ones used.
 */
extern void BtxIcebergCompact(BtxAutomation *a, uint64 target_size, BtxIcebergMaint *out);
extern void BtxIcebergExpire(BtxAutomation *a, int keep, int64 older_than_ms, BtxIcebergMaint *out);

#endif
