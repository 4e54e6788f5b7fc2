/*
 * module.c — module entry point: magic block, GUCs, hooks.
 */
#include "adapters/btexport.h"

#include "fmgr.h"
#include "utils/guc.h"

#include "adapters/logredact.h"

PG_MODULE_MAGIC;

void		_PG_init(void);

void
_PG_init(void)
{
	BtxDefineGucs();
	BtxInstallLogRedaction();
}
