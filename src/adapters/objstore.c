/*
 * objstore.c — backend glue over the plain-C S3 core (src/core/s3): credentials,
 * the client with PostgreSQL-aware callbacks, and streaming objects.
 *
 * The core never longjmps and allocates with malloc; this file turns its
 * error values into ereport() and makes sure core state is freed when a
 * transaction aborts (a memory-context reset callback owns the client).
 */
#include "adapters/btexport.h"

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "storage/pmsignal.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/memutils.h"

#include "adapters/objstore.h"
#include "core/s3/creds.h"
#include "core/s3/s3client.h"
#include "core/s3/sts.h"
#include "core/s3/upload.h"

/* owns the malloc'd client; freed with the memory context if not before */
typedef struct ClientHolder
{
	btx_s3_client *client;		/* signs S3 requests */
	btx_s3_client *source;		/* signs AssumeRole (role_arn only) */
	btx_s3_credentials creds;	/* source credentials */
	btx_sts_params sts;			/* strings below are malloc'd */
} ClientHolder;

/* assumed-role credentials, per (role, external id), for the life of the process */
static btx_creds_cache *role_cache = NULL;

struct BtxObject
{
	BtxTarget  *t;
	char	   *key;
	btx_s3_upload *u;			/* malloc'd by the core */
	bool		committing;		/* PUT/Complete sent: the object may exist */
	bool		not_ours;		/* 412: the key belongs to an older object */
	bool		failed;			/* a write through BtxObjectSink failed */
	btx_error	err;			/* ... with this error */
};

static bool curl_ready = false;
static bool in_cleanup = false;	/* aborting after an error: ignore interrupts */

/*
 * Uploads open in this process.  A part may be in flight on the upload's
 * helper thread (src/core/s3/upload.c); before the process exits (FATAL, which
 * skips PG_CATCH) the thread is stopped and joined, so that nothing runs
 * while libraries clean up at exit.  The multipart upload it leaves is
 * removed by the automation's next run (BtxCleanupOrphans).
 */
#define MAX_LIVE_UPLOADS 8
static btx_s3_upload *live_uploads[MAX_LIVE_UPLOADS];
static bool live_hook = false;

static void
stop_live_uploads(int code, Datum arg)
{
	int			i;

	for (i = 0; i < MAX_LIVE_UPLOADS; i++)
		if (live_uploads[i])
			btx_s3_upload_cancel(live_uploads[i]);
}

static void
live_add(btx_s3_upload *u)
{
	int			i;

	if (!live_hook)
	{
		before_shmem_exit(stop_live_uploads, (Datum) 0);
		live_hook = true;
	}
	for (i = 0; i < MAX_LIVE_UPLOADS; i++)
		if (live_uploads[i] == NULL)
		{
			live_uploads[i] = u;
			return;
		}
	elog(ERROR, "too many S3 uploads open at once");
}

static void
live_free(btx_s3_upload *u)
{
	int			i;

	for (i = 0; i < MAX_LIVE_UPLOADS; i++)
		if (live_uploads[i] == u)
			live_uploads[i] = NULL;
	btx_s3_upload_free(u);
}

static int
interrupt_cb(void *arg)
{
	/* a cancel, a shutdown request, or the postmaster gone: stop the transfer */
	if (!PostmasterIsAlive())
		return 1;
	return (InterruptPending && !in_cleanup) ? 1 : 0;
}

static int
sleep_cb(void *arg, long ms)
{
	(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH, ms, PG_WAIT_EXTENSION);
	ResetLatch(MyLatch);
	return InterruptPending ? 1 : 0;
}

static void
holder_free(void *arg)
{
	ClientHolder *h = (ClientHolder *) arg;

	if (h->client)
		btx_s3_client_free(h->client);
	h->client = NULL;
	if (h->source)
		btx_s3_client_free(h->source);
	h->source = NULL;
	btx_s3_credentials_clear(&h->creds);
	free((char *) h->sts.endpoint);
	free((char *) h->sts.role_arn);
	free((char *) h->sts.external_id);
	free((char *) h->sts.session_name);
	memset(&h->sts, 0, sizeof(h->sts));
}

/* the client's refresh callback: credentials about to expire, or ExpiredToken */
static int
refresh_cb(void *arg, btx_s3_credentials *out, btx_error *err)
{
	ClientHolder *h = (ClientHolder *) arg;

	if (h->source)
		return btx_creds_assume_role_cached(role_cache, h->source, &h->sts, time(NULL), 1, out, NULL, err);
	return btx_s3_credentials_copy(out, &h->creds) == 0 ? 0 : -1;
}

static void
base_config(BtxTarget *t, btx_s3_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->region = t->region;
	cfg->endpoint = t->endpoint;
	cfg->allow_http = btx_allow_http;
	cfg->user_agent = "btexport/1.0";
	cfg->connect_timeout_ms = btx_connect_timeout_ms;
	cfg->low_speed_limit = 1;
	cfg->low_speed_time_s = Max(1, btx_http_timeout_ms / 1000);
	cfg->interrupt = interrupt_cb;
	cfg->sleep_ms = sleep_cb;
	cfg->sse = t->sse == NULL ? BTX_S3_SSE_NONE :
		strcmp(t->sse, "AES256") == 0 ? BTX_S3_SSE_AES256 : BTX_S3_SSE_KMS;
	cfg->sse_kms_key_id = t->kms_key_id;
	cfg->acl_bucket_owner_full_control = t->bucket_owner_full_control ? 1 : 0;
}

static char *
strdup_or_null(const char *s)
{
	return s ? strdup(s) : NULL;
}

/* raise a core error as a PostgreSQL error */
static void
raise_error(const btx_error *e)
{
	int			code = MAKE_SQLSTATE(e->sqlstate[0], e->sqlstate[1], e->sqlstate[2], e->sqlstate[3],
									 e->sqlstate[4]);

	if (e->sqlstate[0] == '\0')
		code = ERRCODE_EXTERNAL_ROUTINE_EXCEPTION;
	if (!PostmasterIsAlive())
		proc_exit(1);			/* the server is gone: nothing to record */
	CHECK_FOR_INTERRUPTS();		/* a cancel wins over the aborted transfer */
	ereport(ERROR,
			(errcode(code),
			 errmsg("%s", e->message),
			 e->detail[0] ? errdetail_internal("%s", e->detail) : 0,
			 e->hint[0] ? errhint("%s", e->hint) : 0));
}

/*
 * Resolve the source credentials of t: a named credential, or the server's
 * environment for roles allowed to use it.  Returns false with detail/hint.
 */
static bool
resolve_credentials(BtxTarget *t, ClientHolder *h, char **detail, char **hint)
{
	if (t->credential)
	{
		int			rc;
		char	   *akid,
				   *secret,
				   *token;

		rc = SPI_execute_with_args("SELECT c.access_key_id, c.secret_access_key, c.session_token,"
								   " pg_catalog.pg_has_role($2, c.owner::oid, 'USAGE')"
								   " FROM btexport.credentials c"
								   " WHERE c.name OPERATOR(pg_catalog.=) $1 AND c.owner::oid OPERATOR(pg_catalog.=) $3",
								   3, (Oid[]) {TEXTOID, OIDOID, OIDOID},
								   (Datum[]) {CStringGetTextDatum(t->credential), ObjectIdGetDatum(t->owner),
								   ObjectIdGetDatum(t->credential_owner)},
								   NULL, true, 1);
		if (rc != SPI_OK_SELECT || SPI_processed != 1 ||
			strcmp(SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 4), "t") != 0)
		{
			*detail = psprintf("Credential \"%s\" does not exist or does not belong to the automation's owner.",
							   t->credential);
			*hint = pstrdup("Create it with btexport.create_credential(), or point the automation at another one.");
			return false;
		}
		akid = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1);
		secret = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2);
		token = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 3);
		if (btx_s3_credentials_set(&h->creds, akid, secret, token, 0) != 0)
			ereport(ERROR, (errcode(ERRCODE_OUT_OF_MEMORY), errmsg("out of memory")));
		memset(secret, 0, strlen(secret));
		t->cred_source = psprintf("named credential \"%s\"", t->credential);
		return true;
	}

	/* ambient credentials act as the server's identity: gated by a role */
	if (!superuser_arg(t->owner) &&
		!has_privs_of_role(t->owner, get_role_oid("btexport_s3_writer", false)))
	{
		*detail = psprintf("The automation has no credential, and its owner \"%s\" may not use the server's own AWS credentials.",
						   GetUserNameFromId(t->owner, false));
		*hint = pstrdup("Pass credential => '<name>' (see btexport.create_credential), or have a superuser GRANT btexport_s3_writer to the owner.");
		return false;
	}
	{
		btx_creds_options co;
		btx_s3_config http;
		btx_creds_source src = BTX_CREDS_NONE;
		btx_error	err;

		base_config(t, &http);
		memset(&co, 0, sizeof(co));
		co.region = t->region;
		co.http = &http;
		if (btx_creds_resolve(&co, &h->creds, &src, &err) != 0)
		{
			*detail = psprintf("The automation has no named credential, and %s%s%s", err.message,
							   err.detail[0] ? ": " : "", err.detail);
			*hint = pstrdup("Create a named credential with btexport.create_credential() and pass credential => '<name>', or give the PostgreSQL server AWS credentials (environment, ~/.aws of its OS user, web identity, or an instance role).");
			return false;
		}
		t->cred_source = psprintf("the server's own credentials (%s)", btx_creds_source_name(src));
		return true;
	}
}

bool
BtxTargetTryConnect(BtxTarget *t, char **detail, char **hint)
{
	ClientHolder *h;
	MemoryContextCallback *cb;
	btx_s3_config cfg;
	btx_error	err;

	if (!curl_ready)
	{
		if (btx_s3_global_init() != 0)
			ereport(ERROR, (errcode(ERRCODE_SYSTEM_ERROR), errmsg("could not initialize libcurl")));
		curl_ready = true;
	}
	h = MemoryContextAllocZero(CurTransactionContext, sizeof(ClientHolder));
	cb = MemoryContextAllocZero(CurTransactionContext, sizeof(MemoryContextCallback));
	cb->func = holder_free;
	cb->arg = h;
	MemoryContextRegisterResetCallback(CurTransactionContext, cb);
	t->client = h;

	if (!resolve_credentials(t, h, detail, hint))
		return false;
	if (role_cache == NULL && (role_cache = btx_creds_cache_new()) == NULL)
		ereport(ERROR, (errcode(ERRCODE_OUT_OF_MEMORY), errmsg("out of memory")));

	base_config(t, &cfg);
	cfg.refresh_credentials = refresh_cb;
	cfg.callback_arg = h;
	if (t->role_arn)
	{
		btx_s3_credentials role;
		btx_s3_config scfg;

		/* STS at the custom endpoint when there is one (S3-compatible stores, tests), else AWS */
		base_config(t, &scfg);
		h->source = btx_s3_client_new(&scfg, &h->creds, &err);
		if (h->source == NULL)
		{
			*detail = psprintf("%s%s%s", err.message, err.detail[0] ? ": " : "", err.detail);
			*hint = err.hint[0] ? pstrdup(err.hint) : NULL;
			return false;
		}
		h->sts.endpoint = strdup_or_null(t->endpoint);
		h->sts.role_arn = strdup_or_null(t->role_arn);
		h->sts.external_id = strdup_or_null(t->external_id);
		h->sts.session_name = strdup(t->session_name ? t->session_name : "btexport");
		memset(&role, 0, sizeof(role));
		if (btx_creds_assume_role_cached(role_cache, h->source, &h->sts, time(NULL), 0, &role, NULL, &err) != 0)
		{
			*detail = psprintf("%s%s%s", err.message, err.detail[0] ? ". " : "", err.detail);
			*hint = err.hint[0] ? pstrdup(err.hint) :
				pstrdup("Check the role's trust policy: it must allow sts:AssumeRole for these credentials with this ExternalId.");
			return false;
		}
		h->client = btx_s3_client_new(&cfg, &role, &err);
		btx_s3_credentials_clear(&role);
		t->cred_source = psprintf("role %s assumed with %s", t->role_arn, t->cred_source);
	}
	else
		h->client = btx_s3_client_new(&cfg, &h->creds, &err);
	if (h->client == NULL)
	{
		*detail = psprintf("%s%s%s", err.message, err.detail[0] ? ": " : "", err.detail);
		*hint = err.hint[0] ? pstrdup(err.hint) : NULL;
		return false;
	}
	return true;
}

void
BtxTargetConnect(BtxTarget *t)
{
	char	   *detail = NULL;
	char	   *hint = NULL;

	if (!BtxTargetTryConnect(t, &detail, &hint))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_AUTHORIZATION_SPECIFICATION),
				 errmsg("no usable AWS credentials for automation \"%s\"", t->automation_name),
				 detail ? errdetail_internal("%s", detail) : 0,
				 hint ? errhint("%s", hint) : 0));
}

void
BtxTargetClose(BtxTarget *t)
{
	if (t->client)
		holder_free(t->client);
}

btx_s3_client *
BtxTargetClient(BtxTarget *t)
{
	ClientHolder *h = (ClientHolder *) t->client;

	if (h == NULL || h->client == NULL)
		elog(ERROR, "S3 target is not connected");
	return h->client;
}

/* ---- small operations for btexport.test() ---- */

static void
describe(const btx_error *e, char **detail, char **hint)
{
	*detail = psprintf("%s%s%s", e->message, e->detail[0] ? ". " : "", e->detail);
	*hint = e->hint[0] ? pstrdup(e->hint) : NULL;
}

bool
BtxPutSmall(BtxTarget *t, const char *key, const char *body, size_t len,
			char **detail, char **hint, char **etag)
{
	btx_s3_response resp;
	btx_error	err;
	btx_s3_put_options opt = {"text/plain", 0};
	int			rc;

	btx_s3_response_init(&resp);
	rc = btx_s3_put_object(BtxTargetClient(t), t->bucket, key, body, len, &opt, &resp, &err);
	if (rc == 0)
		*etag = pstrdup(resp.etag);
	else
		describe(&err, detail, hint);
	btx_s3_response_free(&resp);
	return rc == 0;
}

bool
BtxHead(BtxTarget *t, const char *key, char **detail, char **hint)
{
	btx_s3_response resp;
	btx_error	err;
	int			rc;

	btx_s3_response_init(&resp);
	rc = btx_s3_head_object(BtxTargetClient(t), t->bucket, key, &resp, &err);
	if (rc != 0)
		describe(&err, detail, hint);
	btx_s3_response_free(&resp);
	return rc == 0;
}

bool
BtxDelete(BtxTarget *t, const char *key, char **detail, char **hint)
{
	btx_s3_response resp;
	btx_error	err;
	int			rc;
	ClientHolder *h = (ClientHolder *) t->client;

	if (h == NULL || h->client == NULL)
	{
		*detail = pstrdup("not connected");
		*hint = NULL;
		return false;
	}
	btx_s3_response_init(&resp);
	in_cleanup = true;
	rc = btx_s3_delete_object(h->client, t->bucket, key, &resp, &err);
	in_cleanup = false;
	if (rc != 0)
		describe(&err, detail, hint);
	btx_s3_response_free(&resp);
	return rc == 0;
}

/* ---- streaming objects: one PUT when small, multipart otherwise (src/core/s3/upload.c) ---- */

BtxObject *
BtxObjectOpen(BtxTarget *t, const char *key, const char *content_type, bool if_none_match)
{
	BtxObject  *o = palloc0(sizeof(BtxObject));
	btx_s3_upload_options opt;
	btx_error	err;

	o->t = t;
	o->key = pstrdup(key);
	memset(&opt, 0, sizeof(opt));
	opt.part_size = Max((size_t) (t->part_size_kb > 0 ? t->part_size_kb : btx_part_size_kb) * 1024,
						BTX_S3_MIN_PART_SIZE);
	opt.content_type = content_type;
	opt.if_none_match = if_none_match ? 1 : 0;
	o->u = btx_s3_upload_open(BtxTargetClient(t), t->bucket, key, &opt, &err);
	if (o->u == NULL)
		raise_error(&err);
	PG_TRY();
	{
		live_add(o->u);
	}
	PG_CATCH();
	{
		btx_s3_upload_free(o->u);
		PG_RE_THROW();
	}
	PG_END_TRY();
	return o;
}

const char *
BtxObjectKey(BtxObject *o)
{
	return o->key;
}

void
BtxObjectWrite(BtxObject *o, const char *data, size_t len)
{
	btx_error	err;

	if (btx_s3_upload_write(o->u, data, len, &err) != 0)
		raise_error(&err);
	CHECK_FOR_INTERRUPTS();
}

/*
 * btx_sink_fn for the plain-C writers (Parquet, compression): never throws;
 * BtxObjectCheck() raises what went wrong once the writer has returned.
 */
int
BtxObjectSink(void *ctx, const void *data, size_t len)
{
	BtxObject  *o = (BtxObject *) ctx;

	if (o->failed)
		return -1;
	if (btx_s3_upload_write(o->u, data, len, &o->err) != 0)
	{
		o->failed = true;
		return -1;
	}
	return 0;
}

void
BtxObjectCheck(BtxObject *o)
{
	if (o->failed)
		raise_error(&o->err);
}

void
BtxObjectFinish(BtxObject *o, BtxObjectResult *res)
{
	btx_s3_upload_result r;
	btx_error	err;

	memset(res, 0, sizeof(*res));
	o->committing = true;
	if (btx_s3_upload_finish(o->u, &r, &err) != 0)
	{
		o->not_ours = btx_s3_upload_failure_class(o->u) == BTX_S3_PRECONDITION_FAILED;
		raise_error(&err);
	}
	strlcpy(res->etag, r.etag, sizeof(res->etag));
	strlcpy(res->sha256, r.sha256_hex, sizeof(res->sha256));
	res->bytes = r.bytes;
	res->parts = r.parts;
	live_free(o->u);
	o->u = NULL;
}

/* never throws: abort the multipart upload, and remove an object a lost answer may hide */
void
BtxObjectAbort(BtxObject *o)
{
	ClientHolder *h = (ClientHolder *) o->t->client;
	btx_error	err;

	in_cleanup = true;
	if (o->u)
	{
		(void) btx_s3_upload_abort(o->u, &err);
		live_free(o->u);
		o->u = NULL;
	}
	if (o->committing && !o->not_ours && h && h->client)
	{
		btx_s3_response resp;

		btx_s3_response_init(&resp);
		(void) btx_s3_delete_object(h->client, o->t->bucket, o->key, &resp, &err);
		btx_s3_response_free(&resp);
	}
	in_cleanup = false;
}
