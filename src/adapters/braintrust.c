/*
 * braintrust.c — a Braintrust connection as an API client in the server
 * (see braintrust.h).
 */
#include "adapters/btexport.h"

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "storage/pmsignal.h"
#include "utils/builtins.h"
#include "utils/memutils.h"

#include "adapters/braintrust.h"
#include "adapters/error.h"
#include "adapters/sleep.h"
#include "adapters/secret.h"

static bool curl_ready = false;

/* a cancel, a shutdown request, or the postmaster gone: stop the request or the wait */
static int
interrupt_cb(void *arg)
{
	if (!PostmasterIsAlive())
		return 1;
	return InterruptPending ? 1 : 0;
}

/* the role whose rights decide the outbound rules, for allow_cb */
typedef struct ClientArg
{
	Oid			role;
} ClientArg;

static int
allow_cb(void *arg, const char *url, btx_error *err)
{
	return BtxBraintrustCheckUrl(((ClientArg *) arg)->role, url, "Braintrust URL", false, err);
}

/* is origin ("scheme://authority") in the comma-separated list? */
static bool
origin_listed(const char *origin, const char *list)
{
	char	   *copy = pstrdup(list ? list : "");
	char	   *save = NULL;
	char	   *tok;

	for (tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save))
	{
		size_t		n;

		while (*tok == ' ' || *tok == '\t')
			tok++;
		n = strlen(tok);
		while (n > 0 && (tok[n - 1] == ' ' || tok[n - 1] == '\t' || tok[n - 1] == '/'))
			tok[--n] = '\0';
		if (n > 0 && pg_strcasecmp(tok, origin) == 0)
			return true;
	}
	return false;
}

int
BtxBraintrustCheckUrl(Oid role, const char *url, const char *what, bool whole, btx_error *err)
{
	static const char *const builtin[] = BTX_BRAINTRUST_ORIGINS;
	btx_http_url u;
	const char *sep = url ? strstr(url, "://") : NULL;
	char	   *origin;
	int			i;
	int			rc;

	/* the origin: scheme://authority, without the path and query a request carries */
	origin = sep ? pnstrdup(url, (sep + 3 - url) + strcspn(sep + 3, "/?#")) : pstrdup(url ? url : "");
	btx_http_url_init(&u);
	rc = btx_http_parse_url(whole ? url : origin, what, btx_allow_http ? 1 : 0, whole ? 1 : 0, &u, err);
	btx_http_url_free(&u);
	if (rc != 0)
	{
		if (strncmp(url ? url : "", "http://", 7) == 0 && !btx_allow_http)
			btx_error_hint(err, "Use an https:// URL. For local testing a superuser can set btexport.allow_http = on.");
		else
			btx_error_hint(err, "Use the form https://host[:port][/path], such as https://www.braintrust.dev or https://api-eu.braintrust.dev.");
		return -1;
	}
	if (superuser_arg(role) || origin_listed(origin, btx_allowed_endpoints))
		return 0;
	for (i = 0; builtin[i]; i++)
		if (pg_strcasecmp(origin, builtin[i]) == 0)
			return 0;
	btx_error_set(err, 1, "42501", "%s %s is not in btexport.allowed_endpoints", what, origin);
	btx_error_detail(err, "Roles other than superusers may reach Braintrust's own hosts (www.braintrust.dev, api.braintrust.dev, api-eu.braintrust.dev) and the origins a superuser lists in btexport.allowed_endpoints.");
	btx_error_hint(err, "Ask a superuser to add %s to btexport.allowed_endpoints.", origin);
	return -1;
}

void
BtxConnectionRaise(const btx_error *err)
{
	if (!PostmasterIsAlive())
		proc_exit(1);
	/* a request the interrupt callback stopped: the cancel or shutdown itself is reported */
	CHECK_FOR_INTERRUPTS();
	BtxRaiseCoreError(err);
}

static void
client_free(void *arg)
{
	BtxConnection *c = (BtxConnection *) arg;

	if (c->client)
		btx_btapi_client_free(c->client);
	c->client = NULL;
}

/* the connection's row: name, owner, org_name, app_url, api_url, api_key (the secret's id) */
static void
load_row(Oid role, Oid owner, const char *name, BtxConnection *c, char **secret_id)
{
	int			rc;
	HeapTuple	t;
	TupleDesc	d;

	/*
	 * An automation's connection (owner given): usable only while the
	 * automation's owner still has the connection owner's rights, as a
	 * credential is (adapters/objstore.c); a revoked membership finds none.
	 */
	if (OidIsValid(owner))
		rc = SPI_execute_with_args("SELECT c.name, c.owner::pg_catalog.oid, c.org_name, c.app_url, c.api_url,"
								   " c.api_key::pg_catalog.text FROM btexport.connections c"
								   " WHERE c.owner OPERATOR(pg_catalog.=) $1 AND c.name OPERATOR(pg_catalog.=) $2"
								   " AND pg_catalog.pg_has_role($3, c.owner::pg_catalog.oid, 'USAGE')",
								   3, (Oid[]) {OIDOID, TEXTOID, OIDOID},
								   (Datum[]) {ObjectIdGetDatum(owner), CStringGetTextDatum(name), ObjectIdGetDatum(role)},
								   NULL, true, 1);
	else
		rc = SPI_execute_with_args("SELECT c.name, c.owner::pg_catalog.oid, c.org_name, c.app_url, c.api_url,"
								   " c.api_key::pg_catalog.text FROM btexport._connection_for($1, $2) c",
								   2, (Oid[]) {OIDOID, TEXTOID},
								   (Datum[]) {ObjectIdGetDatum(role), CStringGetTextDatum(name)}, NULL, true, 1);
	if (rc != SPI_OK_SELECT || SPI_processed != 1)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("Braintrust connection \"%s\" does not exist", name),
				 errhint("Create it with btexport.create_connection(name, api_key), or see btexport.connections_info.")));
	t = SPI_tuptable->vals[0];
	d = SPI_tuptable->tupdesc;
	c->name = SPI_getvalue(t, d, 1);
	c->owner = (Oid) strtoul(SPI_getvalue(t, d, 2), NULL, 10);
	c->org_name = SPI_getvalue(t, d, 3);
	c->app_url = SPI_getvalue(t, d, 4);
	c->api_url = SPI_getvalue(t, d, 5);
	*secret_id = SPI_getvalue(t, d, 6);
}

BtxConnection *
BtxConnectionOpen(Oid role, Oid owner, const char *name, const BtxConnectionOptions *opt, MemoryContext cxt)
{
	MemoryContext old = MemoryContextSwitchTo(cxt);
	BtxConnection *c = palloc0(sizeof(BtxConnection));
	ClientArg  *arg = palloc0(sizeof(ClientArg));
	MemoryContextCallback *cb = palloc0(sizeof(MemoryContextCallback));
	char	   *secret_id = NULL;
	char	   *key;
	btx_btapi_config cfg;
	btx_error	err;

	load_row(role, owner, name, c, &secret_id);
	MemoryContextSwitchTo(old);
	key = BtxSecretRead(secret_id);
	if (key == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("the API key of Braintrust connection \"%s\" is missing", c->name),
				 errdetail("Secrets are not part of a dump: a restored database has its connections without their keys."),
				 errhint("Set the key again with btexport.update_connection('%s', api_key => '...').", c->name)));
	if (!curl_ready)
	{
		if (btx_http_global_init() != 0)
			ereport(ERROR, (errcode(ERRCODE_SYSTEM_ERROR), errmsg("could not initialize libcurl")));
		curl_ready = true;
	}
	/* the outbound rules are the owner's: the connection acts with the owner's rights */
	arg->role = c->owner;
	memset(&cfg, 0, sizeof(cfg));
	cfg.api_key = key;
	cfg.app_url = c->app_url;
	cfg.api_url = c->api_url;
	cfg.org_name = c->org_name;
	cfg.user_agent = "btexport";
	cfg.allow_url = allow_cb;
	cfg.http.allow_http = btx_allow_http ? 1 : 0;
	cfg.http.connect_timeout_ms = btx_connect_timeout_ms;
	cfg.http.low_speed_limit = 1;
	cfg.http.low_speed_time_s = Max(1, btx_http_timeout_ms / 1000);
	cfg.requests_per_minute = opt ? opt->requests_per_minute : 0;
	cfg.burst = opt && opt->burst > 0 ? opt->burst : 1;
	cfg.first_wait_ms = opt ? opt->first_wait_ms : 0;
	cfg.max_attempts = opt ? opt->max_attempts : 0;
	cfg.retry_base_ms = opt ? opt->retry_base_ms : 0;
	cfg.interrupt = interrupt_cb;
	cfg.sleep_ms = BtxSleepMs;
	cfg.callback_arg = arg;
	c->client = btx_btapi_client_new(&cfg, &err);
	BtxSecretForget(key);
	if (c->client == NULL)
		BtxConnectionRaise(&err);
	cb->func = client_free;
	cb->arg = c;
	MemoryContextRegisterResetCallback(cxt, cb);
	return c;
}
