/*
 * drop_guard.c — btexport._drop_guard(), the event trigger at
 * ddl_command_start of DROP EXTENSION (sql/install/code/75_operations.sql).
 *
 * Only the parse tree tells which extensions a DROP EXTENSION names (an
 * event trigger at ddl_command_start has no object list, and at sql_drop the
 * span store is already gone), so this C function reads it and, when btexport
 * is among them, calls btexport._before_drop(): it refuses while
 * btexport.logs holds spans unless btexport.allow_drop_spans is on, and
 * removes the automations' pg_cron jobs in the drop's own transaction.
 */
#include "adapters/btexport.h"

#include "commands/event_trigger.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "nodes/parsenodes.h"
#include "nodes/value.h"

PG_FUNCTION_INFO_V1(btexport_drop_guard);

/* does a DROP statement drop the extension btexport? */
static bool
drops_btexport(Node *parsetree)
{
	DropStmt   *stmt;
	ListCell   *lc;

	if (parsetree == NULL || !IsA(parsetree, DropStmt))
		return false;
	stmt = (DropStmt *) parsetree;
	if (stmt->removeType != OBJECT_EXTENSION)
		return false;
	foreach(lc, stmt->objects)
	{
		Node	   *name = lfirst(lc);

		if (IsA(name, String) && strcmp(strVal(name), "btexport") == 0)
			return true;
	}
	return false;
}

Datum
btexport_drop_guard(PG_FUNCTION_ARGS)
{
	EventTriggerData *trigdata;

	if (!CALLED_AS_EVENT_TRIGGER(fcinfo))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("btexport._drop_guard() may only be called as an event trigger")));
	trigdata = (EventTriggerData *) fcinfo->context;
	if (!drops_btexport(trigdata->parsetree))
		PG_RETURN_VOID();
	SPI_connect();
	if (SPI_execute("SELECT btexport._before_drop()", false, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not check the span store before dropping btexport");
	SPI_finish();
	PG_RETURN_VOID();
}
