/*
 * braintrust.h — a Braintrust connection (btexport.connections) as a client
 * of the Braintrust API core (src/core/btapi) in the server (braintrust.c).
 *
 * BtxConnectionOpen reads the connection's row and its API key (from the one
 * secret store, adapters/secret.h) and makes a client with the server's
 * callbacks: interrupts (a cancel or shutdown stops a request or a wait),
 * waits on the process latch, the configured timeouts, and the outbound
 * rules (BtxBraintrustCheckUrl) applied to every URL the client requests,
 * the API URL that a login returns included.  The client is freed with the
 * memory context it was made in (a reset callback), so an error never leaks
 * it.  Errors of the core go through the error boundary (adapters/error.h).
 */
#ifndef BTX_BRAINTRUST_H
#define BTX_BRAINTRUST_H

#include "adapters/btexport.h"

#include "core/btapi/btapi.h"

typedef struct BtxConnection
{
	char	   *name;
	Oid			owner;
	char	   *org_name;		/* NULL: the key's only organization */
	char	   *app_url;
	char	   *api_url;		/* NULL: discovered by the login */
	btx_btapi_client *client;
} BtxConnection;

typedef struct BtxConnectionOptions
{
	int			requests_per_minute;	/* the budget; 0 = none */
	int			burst;			/* requests sent at once before the pacing (default 1) */
	long		first_wait_ms;	/* the first request waits this long (the budget across runs) */
	int			max_attempts;	/* per request (0: the client's default, 6) */
	long		retry_base_ms;	/* backoff base (0: the client's default, 1 s) */
} BtxConnectionOptions;

/*
 * The connection of role owner named name (exact owner: an automation's
 * connection_owner), or, when owner is InvalidOid, the one that
 * btexport._connection_for(role, name) finds for role (its own, else a
 * role it is a member of; '<owner>/<name>' picks one).  The client lives in
 * cxt.  ereports 42704 when there is none, 55000 when its key is missing.
 */
extern BtxConnection *BtxConnectionOpen(Oid role, Oid owner, const char *name,
										const BtxConnectionOptions *opt, MemoryContext cxt);

/* raise a core error of the client (a cancel or shutdown is reported as itself) */
extern void BtxConnectionRaise(const btx_error *err) pg_attribute_noreturn();

/*
 * The outbound rules for a Braintrust URL, for requests made with role's
 * rights: https, or http when btexport.allow_http is on; for a role that is
 * not a superuser, only Braintrust's own hosts (BTX_BRAINTRUST_ORIGINS) and
 * the origins listed in btexport.allowed_endpoints.  0, or -1 with err set
 * (22023 or 42501, with a hint).  what names the URL in messages.  whole:
 * the URL is a setting (a base URL, no query); else a request's URL, of
 * which only the origin is checked.
 */
extern int	BtxBraintrustCheckUrl(Oid role, const char *url, const char *what, bool whole, btx_error *err);

/* Braintrust's own origins, open to every role */
#define BTX_BRAINTRUST_ORIGINS { "https://www.braintrust.dev", "https://api.braintrust.dev", \
		"https://api-eu.braintrust.dev", NULL }

#endif
