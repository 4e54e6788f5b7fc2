/*
 * validate.c — SQL-callable wrappers of the cores' validation rules, so that a
 * setting is checked by the same code when an automation is saved (SQL,
 * sql/install/code/40_validate.sql) and when a run uses it (C):
 *
 *   btexport._check_s3_prefix(prefix text)       btx_s3_check_key_prefix
 *   btexport._check_external_id(external_id text) btx_sts_check_external_id
 *
 * Each raises the core's SQLSTATE, message, detail and hint, the message
 * followed by an excerpt of the value (control characters escaped, at most
 * 64 characters: the value may be anything a caller sent).
 */
#include "adapters/btexport.h"

#include "fmgr.h"
#include "lib/stringinfo.h"
#include "mb/pg_wchar.h"
#include "utils/builtins.h"

#include "core/s3/s3client.h"
#include "core/s3/sts.h"

PG_FUNCTION_INFO_V1(btexport_check_s3_prefix);
PG_FUNCTION_INFO_V1(btexport_check_external_id);

/* at most 64 characters of s, control characters as \xNN */
static char *
value_excerpt(const char *s)
{
	StringInfoData out;
	int			len = strlen(s);
	int			cut = pg_mbcharcliplen(s, len, 64);
	int			i;

	initStringInfo(&out);
	for (i = 0; i < cut; i++)
	{
		unsigned char c = (unsigned char) s[i];

		if (c < 0x20 || c == 0x7f)
			appendStringInfo(&out, "\\x%02x", c);
		else
			appendStringInfoChar(&out, (char) c);
	}
	if (cut < len)
		appendStringInfoString(&out, "...");
	return out.data;
}

static void
raise_core_error(const btx_error *e, const char *value)
{
	ereport(ERROR,
			(errcode(MAKE_SQLSTATE(e->sqlstate[0], e->sqlstate[1], e->sqlstate[2], e->sqlstate[3], e->sqlstate[4])),
			 errmsg("%s \"%s\"", e->message, value_excerpt(value)),
			 e->detail[0] ? errdetail_internal("%s", e->detail) : 0,
			 e->hint[0] ? errhint("%s", e->hint) : 0));
}

Datum
btexport_check_s3_prefix(PG_FUNCTION_ARGS)
{
	char	   *prefix = text_to_cstring(PG_GETARG_TEXT_PP(0));
	btx_error	err;

	btx_error_clear(&err);
	if (btx_s3_check_key_prefix(prefix, &err) != 0)
		raise_core_error(&err, prefix);
	PG_RETURN_VOID();
}

Datum
btexport_check_external_id(PG_FUNCTION_ARGS)
{
	char	   *external_id = text_to_cstring(PG_GETARG_TEXT_PP(0));
	btx_error	err;

	btx_error_clear(&err);
	if (btx_sts_check_external_id(external_id, &err) != 0)
		raise_core_error(&err, external_id);
	PG_RETURN_VOID();
}
