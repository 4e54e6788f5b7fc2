/*
 * invoker.c — small SQL-callable helpers of the API layer: who called.
 */
#include "adapters/btexport.h"

#include "fmgr.h"
#include "miscadmin.h"
#include "utils/builtins.h"


PG_FUNCTION_INFO_V1(btexport_invoker);
PG_FUNCTION_INFO_V1(btexport_invoker_is_superuser);

/*
 * The role that called into btexport's API.  Inside a SECURITY DEFINER
 * function current_user is the definer; the outer user id is still the
 * caller's (as changed by SET ROLE, not by SECURITY DEFINER).
 */
Datum
btexport_invoker(PG_FUNCTION_ARGS)
{
	PG_RETURN_OID(GetOuterUserId());
}

Datum
btexport_invoker_is_superuser(PG_FUNCTION_ARGS)
{
	PG_RETURN_BOOL(superuser_arg(GetOuterUserId()));
}
