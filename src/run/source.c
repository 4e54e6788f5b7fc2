/*
 * source.c — the source of an automation (see source.h).
 */
#include "adapters/btexport.h"

#include "run/source.h"

BtxSource *
BtxSourceFor(BtxAutomation *a)
{
	BtxSource  *src = palloc0(sizeof(BtxSource));

	/* one source so far: the local span store (btexport.logs) */
	src->methods = &BtxSpanStoreSource;
	src->automation = a;
	return src;
}
