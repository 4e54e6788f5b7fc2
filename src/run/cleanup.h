/*
 * cleanup.h — removal of what failed or interrupted runs left in the store.
 */
#ifndef BTX_CLEANUP_H
#define BTX_CLEANUP_H

#include "adapters/btexport.h"

#include "run/sink.h"

/* inside the export transaction, the sink connected */
extern void BtxCleanupOrphans(BtxSink *sink);

#endif
