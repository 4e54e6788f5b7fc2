/*
 * access.c — the current user's projects, for the row-level security policies
 * on btexport.logs, projects and project_grants (sql/install/code/15_access.sql).
 *
 * The rule itself is one SQL function, btexport._projects_of(role, privilege),
 * SECURITY DEFINER so that it reads projects and project_grants past their own
 * policies (which call it: a policy-bound read would recurse).  It takes the role
 * as an argument and so is executable by no one; this wrapper passes the current
 * user, the role a policy must judge: the querying role, or an automation's owner
 * while its export runs.  Inside a SECURITY DEFINER function CURRENT_USER would be
 * the definer, hence C.  The direct fmgr call needs no EXECUTE privilege and still
 * runs the callee as its definer (fmgr_security_definer).
 */
#include "adapters/btexport.h"

#include "catalog/pg_collation.h"
#include "catalog/pg_type.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "nodes/makefuncs.h"
#include "nodes/value.h"
#include "parser/parse_func.h"
#include "utils/builtins.h"

PG_FUNCTION_INFO_V1(btexport_visible_projects);

/* btexport._visible_projects(privilege text) RETURNS uuid[] */
Datum
btexport_visible_projects(PG_FUNCTION_ARGS)
{
	Oid			argtypes[2] = {OIDOID, TEXTOID};
	Oid			fn = LookupFuncName(list_make2(makeString("btexport"), makeString("_projects_of")),
									2, argtypes, false);

	PG_RETURN_DATUM(OidFunctionCall2Coll(fn, DEFAULT_COLLATION_OID, ObjectIdGetDatum(GetUserId()),
										 PG_GETARG_DATUM(0)));
}
