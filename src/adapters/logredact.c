/*
 * logredact.c — keeps the secrets passed to btexport's functions out of the
 * server log (docs/security.md "Secrets").
 *
 * btexport.create_credential() and update_credential() take an AWS secret
 * access key, create_connection() and update_connection() a Braintrust API
 * key (secret_functions below).  PostgreSQL
 * writes statements to its log in several ways, each of which would carry the
 * secret: log_statement ("statement: ..."), log_min_duration_statement
 * ("duration: ... statement/parse/bind/execute ..."), the parameters of the
 * extended protocol ("DETAIL: parameters: $1 = ..."), the statement of a
 * failing call (log_min_error_statement: the "STATEMENT:" line), and portal
 * parameters in the context of an error (log_parameter_max_length_on_error).
 *
 * An emit_log_hook (installed when the library loads; btexport belongs in
 * shared_preload_libraries so that it is there before the first statement)
 * looks at every message that goes to the server log.  When the statement, the
 * message, its detail or its context names a secret-taking function, it
 *   - hides the STATEMENT line (hide_stmt),
 *   - replaces the statement text of a statement-log line with a marker,
 *   - replaces a "parameters: ..." or "prepare: ..." detail with a marker,
 *   - drops "... with parameters: ..." lines from the context, and
 *   - for an error raised before the function ran (a syntax or input error),
 *     replaces every double-quoted part of the message that occurs in the
 *     statement (the value PostgreSQL quotes may be the secret).
 * Errors raised by the function itself name the credential, never the secret,
 * and are left as they are.
 *
 * The hook changes the message for the client too (PostgreSQL has one copy of
 * it); the client sent the statement, so it loses nothing it did not have.
 * Without preloading, each of them refuses to store a secret
 * (btexport._check_secret_logging, src/api/invoker.c): the statement of a call
 * that arrives before the library is loaded would be logged unredacted.
 */
#include "adapters/btexport.h"

#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "tcop/tcopprot.h"
#include "utils/elog.h"
#include "utils/memutils.h"

#include "adapters/logredact.h"

/* the functions whose arguments include a secret */
static const char *const secret_functions[] = {
	"create_credential", "update_credential",	/* AWS secret access key, session token */
	"create_connection", "update_connection",	/* Braintrust API key */
};

#define REDACTED_STATEMENT "<statement redacted by btexport: it passes a secret to a btexport function>"
#define REDACTED_DETAIL "<parameters redacted by btexport>"

static emit_log_hook_type prev_emit_log_hook = NULL;
static bool preloaded = false;

/* does s name a secret-taking function (case-insensitively)? */
static bool
names_secret_function(const char *s)
{
	int			i;

	if (s == NULL)
		return false;
	for (i = 0; i < lengthof(secret_functions); i++)
	{
		size_t		n = strlen(secret_functions[i]);
		const char *p;

		for (p = s; *p; p++)
			if (pg_strncasecmp(p, secret_functions[i], n) == 0)
				return true;
	}
	return false;
}

/*
 * Where the statement text starts in a statement-log message, or NULL when the
 * message is not one: "statement: ", "execute|parse|bind <name>: ", each
 * possibly after "duration: <n> ms  ".
 */
static const char *
statement_start(const char *msg)
{
	const char *p = msg;

	if (strncmp(p, "duration: ", 10) == 0)
	{
		p = strstr(p, " ms  ");
		if (p == NULL)
			return NULL;
		p += 5;
	}
	if (strncmp(p, "statement: ", 11) == 0)
		return p + 11;
	if (strncmp(p, "execute ", 8) == 0 || strncmp(p, "parse ", 6) == 0 || strncmp(p, "bind ", 5) == 0)
	{
		p = strstr(p, ": ");
		return p ? p + 2 : NULL;
	}
	return NULL;
}

/* the message with every "..." part whose text occurs in stmt replaced */
static char *
redact_quoted(const char *msg, const char *stmt)
{
	StringInfoData out;
	const char *p = msg;

	initStringInfo(&out);
	while (*p)
	{
		const char *q;

		if (*p == '"' && (q = strchr(p + 1, '"')) != NULL && q > p + 1)
		{
			char	   *inner = pnstrdup(p + 1, q - p - 1);

			if (strstr(stmt, inner) != NULL)
				appendStringInfoString(&out, "\"<redacted>\"");
			else
				appendBinaryStringInfo(&out, p, q - p + 1);
			pfree(inner);
			p = q + 1;
			continue;
		}
		appendStringInfoChar(&out, *p++);
	}
	return out.data;
}

/* the context without its "... with parameters: ..." lines */
static char *
drop_parameter_lines(const char *context)
{
	StringInfoData out;
	const char *p = context;

	initStringInfo(&out);
	while (*p)
	{
		const char *eol = strchr(p, '\n');
		size_t		len = eol ? (size_t) (eol - p) : strlen(p);
		char	   *line = pnstrdup(p, len);

		if (strstr(line, "with parameters: ") == NULL)
		{
			if (out.len > 0)
				appendStringInfoChar(&out, '\n');
			appendStringInfoString(&out, line);
		}
		pfree(line);
		p += len;
		if (*p == '\n')
			p++;
	}
	return out.data;
}

static void
redact(ErrorData *edata, bool raised_inside)
{
	const char *start;

	edata->hide_stmt = true;
	if (edata->message && (start = statement_start(edata->message)) != NULL)
		edata->message = psprintf("%.*s%s", (int) (start - edata->message), edata->message, REDACTED_STATEMENT);
	else if (edata->message && !raised_inside && debug_query_string && names_secret_function(debug_query_string))
		edata->message = redact_quoted(edata->message, debug_query_string);
	if (edata->detail &&
		(strncmp(edata->detail, "parameters: ", 12) == 0 || strncmp(edata->detail, "prepare: ", 9) == 0 ||
		 names_secret_function(edata->detail)))
		edata->detail = pstrdup(REDACTED_DETAIL);
	if (edata->detail_log && names_secret_function(edata->detail_log))
		edata->detail_log = pstrdup(REDACTED_DETAIL);
	if (edata->context && strstr(edata->context, "with parameters: ") != NULL)
		edata->context = drop_parameter_lines(edata->context);
}

static void
btx_emit_log_hook(ErrorData *edata)
{
	if (edata->output_to_server)
	{
		bool		inside = names_secret_function(edata->context);

		if (inside || names_secret_function(debug_query_string) ||
			names_secret_function(edata->message) || names_secret_function(edata->detail) ||
			names_secret_function(edata->detail_log))
		{
			MemoryContext old = MemoryContextSwitchTo(ErrorContext);

			redact(edata, inside);
			MemoryContextSwitchTo(old);
		}
	}
	if (prev_emit_log_hook)
		prev_emit_log_hook(edata);
}

void
BtxInstallLogRedaction(void)
{
	preloaded = process_shared_preload_libraries_in_progress;
	prev_emit_log_hook = emit_log_hook;
	emit_log_hook = btx_emit_log_hook;
}

bool
BtxLogRedactionPreloaded(void)
{
	return preloaded;
}
