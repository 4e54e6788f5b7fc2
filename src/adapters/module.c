/*
 * btexport.c — module entry point: magic block, GUCs, hooks.
 */
#include "postgres.h"

#include "fmgr.h"
#include "utils/guc.h"

#include "btexport.h"

PG_MODULE_MAGIC;

void		_PG_init(void);

void
_PG_init(void)
{
	BtxDefineGucs();
}
