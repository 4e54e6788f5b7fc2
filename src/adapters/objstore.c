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

#include "adapters/error.h"
#include "adapters/sleep.h"
#include "adapters/objstore.h"
#include "adapters/secret.h"
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
	cfg->sleep_ms = BtxSleepMs;	/* the whole wait, whatever sets the latch */
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

/*
 * Raise an S3 core error (through the error boundary, adapters/error.h).  A
 * transfer the interrupt callback stopped fails with a core error too: the
 * cancel or shutdown that stopped it is reported instead, and when the
 * postmaster is gone there is nothing left to record.
 */
static void
raise_error(const btx_error *e)
{
	if (!PostmasterIsAlive())
		proc_exit(1);
	CHECK_FOR_INTERRUPTS();
	BtxRaiseCoreError(e);
}

/* "message<sep>detail" of a core error */
static char *
core_text(const btx_error *e, const char *sep)
{
	return psprintf("%s%s%s", e->message, e->detail[0] ? sep : "", e->detail);
}

/* t has no usable credentials: why (detail) and what to do (hint) */
static bool
no_credentials(btx_error *e, BtxTarget *t, const char *detail, const char *hint)
{
	btx_error_set(e, 1, "28000", "no usable AWS credentials for automation \"%s\"", t->automation_name);
	btx_error_detail(e, "%s", detail);
	if (hint)
		btx_error_hint(e, "%s", hint);
	return false;
}

/*
 * Did STS answer the failed AssumeRole?  A network failure (class 08, as
 * s3client.c classifies a transfer that got no response), a refused plain-http
 * or TLS exchange (22023) or a cancel (57014) says nothing about the
 * credentials, and is reported as itself.
 */
static bool
sts_answered(const btx_error *err)
{
	return strncmp(err->sqlstate, "08", 2) != 0 && strcmp(err->sqlstate, "22023") != 0 &&
		strcmp(err->sqlstate, "57014") != 0;
}

/*
 * Resolve the source credentials of t: a named credential, or the server's
 * environment for roles allowed to use it.  Returns false with *e set.
 */
static bool
resolve_credentials(BtxTarget *t, ClientHolder *h, btx_error *e)
{
	if (t->credential)
	{
		int			rc;
		char	   *akid,
				   *secret_id,
				   *token_id,
				   *secret,
				   *token;

		rc = SPI_execute_with_args("SELECT c.access_key_id, c.secret::pg_catalog.text, c.token_secret::pg_catalog.text,"
								   " pg_catalog.pg_has_role($2, c.owner::oid, 'USAGE')"
								   " FROM btexport.credentials c"
								   " WHERE c.name OPERATOR(pg_catalog.=) $1 AND c.owner::oid OPERATOR(pg_catalog.=) $3",
								   3, (Oid[]) {TEXTOID, OIDOID, OIDOID},
								   (Datum[]) {CStringGetTextDatum(t->credential), ObjectIdGetDatum(t->owner),
								   ObjectIdGetDatum(t->credential_owner)},
								   NULL, true, 1);
		if (rc != SPI_OK_SELECT || SPI_processed != 1 ||
			strcmp(SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 4), "t") != 0)
			return no_credentials(e, t,
								  psprintf("Credential \"%s\" does not exist or does not belong to the automation's owner.",
										   t->credential),
								  "Create it with btexport.create_credential(), or point the automation at another one.");
		akid = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1);
		secret_id = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2);
		token_id = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 3);
		/* the secrets from the one secret store (adapters/secret.h) */
		secret = BtxSecretRead(secret_id);
		token = BtxSecretRead(token_id);
		if (secret == NULL || (token_id != NULL && token == NULL))
			return no_credentials(e, t,
								  psprintf("The secret of credential \"%s\" is missing: secrets are not part of a dump, so a restored database has its credentials without them.",
										   t->credential),
								  "Set it again with btexport.update_credential(name, access_key_id, secret_access_key).");
		if (btx_s3_credentials_set(&h->creds, akid, secret, token, 0) != 0)
			ereport(ERROR, (errcode(ERRCODE_OUT_OF_MEMORY), errmsg("out of memory")));
		BtxSecretForget(secret);
		BtxSecretForget(token);
		t->cred_source = psprintf("named credential \"%s\"", t->credential);
		return true;
	}

	/* ambient credentials act as the server's identity: gated by a role */
	if (!superuser_arg(t->owner) &&
		!has_privs_of_role(t->owner, get_role_oid("btexport_s3_writer", false)))
		return no_credentials(e, t,
							  psprintf("The automation has no credential, and its owner \"%s\" may not use the server's own AWS credentials.",
									   GetUserNameFromId(t->owner, false)),
							  "Pass credential => '<name>' (see btexport.create_credential), or have a superuser GRANT btexport_s3_writer to the owner.");
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
			return no_credentials(e, t,
								  psprintf("The automation has no named credential, and %s", core_text(&err, ": ")),
								  "Create a named credential with btexport.create_credential() and pass credential => '<name>', or give the PostgreSQL server AWS credentials (environment, ~/.aws of its OS user, web identity, or an instance role).");
		t->cred_source = psprintf("the server's own credentials (%s)", btx_creds_source_name(src));
		return true;
	}
}

/*
 * The client of t: source credentials, then (role_arn) the assumed role's.
 * The holder lives in the top transaction's context, so that an error in a
 * subtransaction (btexport.test's steps) does not free it under t.
 */
static bool
connect_target(BtxTarget *t, btx_error *e)
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
	h = MemoryContextAllocZero(TopTransactionContext, sizeof(ClientHolder));
	cb = MemoryContextAllocZero(TopTransactionContext, sizeof(MemoryContextCallback));
	cb->func = holder_free;
	cb->arg = h;
	MemoryContextRegisterResetCallback(TopTransactionContext, cb);
	t->client = h;

	if (!resolve_credentials(t, h, e))
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
			return no_credentials(e, t, core_text(&err, ": "), err.hint[0] ? err.hint : NULL);
		h->sts.endpoint = strdup_or_null(t->endpoint);
		h->sts.role_arn = strdup_or_null(t->role_arn);
		h->sts.external_id = strdup_or_null(t->external_id);
		h->sts.session_name = strdup(t->session_name ? t->session_name : "btexport");
		memset(&role, 0, sizeof(role));
		if (btx_creds_assume_role_cached(role_cache, h->source, &h->sts, time(NULL), 0, &role, NULL, &err) != 0)
		{
			/* STS not reached (network, TLS, a cancel): that is the error, not the credentials */
			if (!sts_answered(&err))
			{
				*e = err;
				return false;
			}

			/*
			 * The credentials are there; STS refused: report STS's own error
			 * (38000), not "no usable credentials", whose fix would be a
			 * GRANT; the hint names what the trust policy must allow.
			 */
			*e = err;
			btx_error_hint(e, "Check the role's trust policy: it must allow sts:AssumeRole for %s with sts:ExternalId %s%s%s",
						   t->cred_source, t->external_id ? "\"" : "(none)", t->external_id ? t->external_id : "",
						   t->external_id ? "\"." : ".");
			return false;
		}
		h->client = btx_s3_client_new(&cfg, &role, &err);
		btx_s3_credentials_clear(&role);
		t->cred_source = psprintf("role %s assumed with %s", t->role_arn, t->cred_source);
	}
	else
		h->client = btx_s3_client_new(&cfg, &h->creds, &err);
	if (h->client == NULL)
		return no_credentials(e, t, core_text(&err, ": "), err.hint[0] ? err.hint : NULL);
	return true;
}

void
BtxTargetConnect(BtxTarget *t)
{
	btx_error	err;

	if (!connect_target(t, &err))
		BtxRaiseCoreError(&err);
}

void
BtxTargetClose(BtxTarget *t)
{
	if (t->client)
		holder_free(t->client);
}

static btx_s3_client *
target_client(BtxTarget *t)
{
	ClientHolder *h = (ClientHolder *) t->client;

	if (h == NULL || h->client == NULL)
		elog(ERROR, "S3 target is not connected");
	return h->client;
}

/* ---- whole objects: btexport.test's probe, cleanup of what failed runs left ---- */

char *
BtxStorePut(BtxTarget *t, const char *key, const char *body, size_t len)
{
	btx_s3_response resp;
	btx_error	err;
	btx_s3_put_options opt = {"text/plain", 0};
	char	   *etag;

	btx_s3_response_init(&resp);
	if (btx_s3_put_object(target_client(t), t->bucket, key, body, len, &opt, &resp, &err) != 0)
	{
		btx_s3_response_free(&resp);
		raise_error(&err);
	}
	etag = pstrdup(resp.etag);
	btx_s3_response_free(&resp);
	return etag;
}

bool
BtxStoreHead(BtxTarget *t, const char *key)
{
	btx_s3_response resp;
	btx_error	err;
	int			rc;
	long		status;

	btx_s3_response_init(&resp);
	rc = btx_s3_head_object(target_client(t), t->bucket, key, &resp, &err);
	status = resp.status;
	btx_s3_response_free(&resp);
	if (rc != 0 && status == 403)
		return false;
	if (rc != 0)
		raise_error(&err);
	return true;
}

/*
 * Whole small objects for a plain-C core's I/O callbacks (an Iceberg table's
 * metadata, src/core/iceberg): they never throw, so no longjmp crosses the
 * core.  Read: 0, 1 when there is no such object, -1 with *err.  Put
 * (write-once with if_none_match): 0, 1 when the key exists (412, or 409: a
 * concurrent conditional write), -1 with *err.
 */
int
BtxStoreRead(BtxTarget *t, const char *key, btx_buf *out, btx_error *err)
{
	ClientHolder *h = (ClientHolder *) t->client;
	btx_s3_response resp;
	int			rc;

	if (h == NULL || h->client == NULL)
	{
		btx_error_set(err, 1, "XX000", "S3 target is not connected");
		return -1;
	}
	btx_s3_response_init(&resp);
	rc = btx_s3_get_object(h->client, t->bucket, key, &resp, err);
	if (rc == 0)
		btx_buf_append(out, resp.body.data, resp.body.len);
	else if (resp.status == 404)
		rc = 1;
	btx_s3_response_free(&resp);
	return rc;
}

int
BtxStoreWrite(BtxTarget *t, const char *key, const void *data, size_t len, bool if_none_match,
			  btx_error *err)
{
	ClientHolder *h = (ClientHolder *) t->client;
	btx_s3_put_options opt;
	btx_s3_response resp;
	int			rc;

	if (h == NULL || h->client == NULL)
	{
		btx_error_set(err, 1, "XX000", "S3 target is not connected");
		return -1;
	}
	memset(&opt, 0, sizeof(opt));
	opt.content_type = "application/octet-stream";
	opt.if_none_match = if_none_match ? 1 : 0;
	btx_s3_response_init(&resp);
	rc = btx_s3_put_object(h->client, t->bucket, key, data, len, &opt, &resp, err);
	if (rc != 0 && if_none_match && (resp.status == 412 || resp.status == 409))
		rc = 1;
	btx_s3_response_free(&resp);
	return rc;
}

/* one DELETE; the core error in *err when it fails */
static bool
delete_object(BtxTarget *t, const char *key, bool ignore_interrupts, btx_error *err)
{
	ClientHolder *h = (ClientHolder *) t->client;
	btx_s3_response resp;
	int			rc;

	if (h == NULL || h->client == NULL)
	{
		btx_error_set(err, 1, "XX000", "S3 target is not connected");
		return false;
	}
	btx_s3_response_init(&resp);
	in_cleanup = ignore_interrupts;
	rc = btx_s3_delete_object(h->client, t->bucket, key, &resp, err);
	in_cleanup = false;
	btx_s3_response_free(&resp);
	return rc == 0;
}

void
BtxStoreDelete(BtxTarget *t, const char *key)
{
	btx_error	err;

	if (!delete_object(t, key, false, &err))
		raise_error(&err);
}

bool
BtxStoreTryDelete(BtxTarget *t, const char *key, bool ignore_interrupts)
{
	btx_error	err;

	return delete_object(t, key, ignore_interrupts, &err);
}

/* abort the open multipart uploads under prefix; stores without the call have none */
bool
BtxStoreAbortUploads(BtxTarget *t, const char *prefix)
{
	btx_s3_client *c = target_client(t);
	btx_s3_upload_list ups;
	btx_s3_response resp;
	btx_error	err;
	bool		ok = true;
	int			j;

	memset(&ups, 0, sizeof(ups));
	btx_s3_response_init(&resp);
	if (btx_s3_list_multipart_uploads(c, t->bucket, prefix, &ups, &resp, &err) == 0)
	{
		for (j = 0; j < ups.n; j++)
		{
			btx_s3_response r2;

			btx_s3_response_init(&r2);
			if (btx_s3_abort_multipart_upload(c, t->bucket, ups.items[j].key, ups.items[j].upload_id,
											  &r2, &err) != 0)
				ok = false;
			btx_s3_response_free(&r2);
		}
	}
	else if (resp.status != 501 && resp.status != 405)
		ok = false;
	btx_s3_upload_list_free(&ups);
	btx_s3_response_free(&resp);
	return ok;
}

/* every key under prefix (all pages), appended to *keys; false when a listing failed */
bool
BtxStoreListKeys(BtxTarget *t, const char *prefix, List **keys)
{
	btx_s3_client *c = target_client(t);
	char	   *token = NULL;

	do
	{
		btx_s3_object_list objs;
		btx_s3_response resp;
		btx_error	err;
		int			j;

		memset(&objs, 0, sizeof(objs));
		btx_s3_response_init(&resp);
		if (btx_s3_list_objects_v2(c, t->bucket, prefix, token, 1000, &objs, &resp, &err) != 0)
		{
			btx_s3_response_free(&resp);
			btx_s3_object_list_free(&objs);
			return false;
		}
		btx_s3_response_free(&resp);
		for (j = 0; j < objs.n; j++)
			*keys = lappend(*keys, pstrdup(objs.items[j].key));
		token = (objs.truncated && objs.next_token) ? pstrdup(objs.next_token) : NULL;
		btx_s3_object_list_free(&objs);
	} while (token != NULL);
	return true;
}

/* ---- streaming objects: one PUT when small, multipart otherwise (src/core/s3/upload.c) ---- */

/*
 * An upload of key (write-once with if_none_match), registered as live so
 * that a FATAL exit stops its part thread first.  Parts are
 * btexport.part_size unless the automation sets its own, and never below
 * S3's 5 MB minimum.
 */
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
	o->u = btx_s3_upload_open(target_client(t), t->bucket, key, &opt, &err);
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

/*
 * A writer over BtxObjectSink failed: when the object's write failed, that
 * is the cause (the writer only saw its sink refuse); else the writer's own.
 */
void
BtxObjectRaise(BtxObject *o, const btx_error *writer_error)
{
	BtxObjectCheck(o);
	BtxRaiseCoreError(writer_error);
}

/*
 * Complete the upload.  From here on the object may exist even if the answer
 * is lost, so BtxObjectAbort deletes it — unless S3 refused the key because
 * it already exists (412): then it belongs to another run and stays.
 */
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
