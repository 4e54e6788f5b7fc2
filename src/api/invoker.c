/*
 * invoker.c — small SQL-callable helpers of the API layer: who called, and
 * whether a secret may be passed in this session.
 */
#include "adapters/btexport.h"

#include "fmgr.h"
#include "miscadmin.h"
#include "utils/builtins.h"

#include "adapters/logredact.h"


PG_FUNCTION_INFO_V1(btexport_invoker);
PG_FUNCTION_INFO_V1(btexport_invoker_is_superuser);
PG_FUNCTION_INFO_V1(btexport_check_secret_logging);

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

/*
 * btexport._check_secret_logging(): raises unless btexport was preloaded, whose
 * log hook keeps secrets out of the server log (src/adapters/logredact.c).  The
 * error hides its statement: it carries the secret, and no hook redacts it.
 */
Datum
btexport_check_secret_logging(PG_FUNCTION_ARGS)
{
	if (!BtxLogRedactionPreloaded())
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("btexport must be in shared_preload_libraries to store a secret"),
				 errdetail("Without it, the server log could record the statement that carries the secret."),
				 errhint("Add btexport to shared_preload_libraries and restart the server; meanwhile an automation can use an IAM role (role_arn) with the server's own credentials."),
				 errhidestmt(true)));
	PG_RETURN_VOID();
}
