/*
 * logredact.h — secrets out of the server log (logredact.c).
 */
#ifndef BTX_LOGREDACT_H
#define BTX_LOGREDACT_H

#include "adapters/btexport.h"

/* install the emit_log_hook (from _PG_init) */
extern void BtxInstallLogRedaction(void);

/* was the library loaded through shared_preload_libraries (the hook sees every statement)? */
extern bool BtxLogRedactionPreloaded(void);

#endif
