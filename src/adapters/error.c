/*
 * error.c — core error values (btx_error) as PostgreSQL errors; see error.h.
 */
#include "adapters/btexport.h"

#include "lib/stringinfo.h"
#include "utils/elog.h"

#include "adapters/error.h"

int
BtxCoreSqlstate(const btx_error *e)
{
	int			i;

	/* five characters of [0-9A-Z], not class 00 (success): anything else is a core bug */
	for (i = 0; i < 5; i++)
		if (!((e->sqlstate[i] >= '0' && e->sqlstate[i] <= '9') || (e->sqlstate[i] >= 'A' && e->sqlstate[i] <= 'Z')))
			return ERRCODE_INTERNAL_ERROR;
	if (e->sqlstate[0] == '0' && e->sqlstate[1] == '0')
		return ERRCODE_INTERNAL_ERROR;
	return MAKE_SQLSTATE(e->sqlstate[0], e->sqlstate[1], e->sqlstate[2], e->sqlstate[3], e->sqlstate[4]);
}

void
BtxRaiseCoreError(const btx_error *e)
{
	ereport(ERROR,
			(errcode(BtxCoreSqlstate(e)),
			 errmsg("%s", e->message[0] ? e->message : "unknown error in a btexport core"),
			 e->detail[0] ? errdetail_internal("%s", e->detail) : 0,
			 e->hint[0] ? errhint("%s", e->hint) : 0));
	pg_unreachable();
}

void
BtxErrorDescribe(const ErrorData *edata, char **detail, char **hint)
{
	StringInfoData s;

	initStringInfo(&s);
	appendStringInfoString(&s, edata->message ? edata->message : "unknown error");
	if (edata->detail && edata->detail[0])
		appendStringInfo(&s, ". %s", edata->detail);
	*detail = s.data;
	*hint = edata->hint ? pstrdup(edata->hint) : NULL;
}
