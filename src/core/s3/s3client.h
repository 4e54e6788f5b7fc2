/*
 * s3client.h — S3 requests over libcurl, signed with SigV4.  Plain C; no
 * PostgreSQL headers, never longjmps: every call returns 0 or -1 with a
 * btx_error filled in.
 *
 * Addressing: with config.endpoint ("scheme://host[:port]") requests go
 * path-style to <endpoint>/<bucket>/<key>; without it, AWS virtual-hosted
 * style https://<bucket>.s3.<region>.amazonaws.com/<key> (path style on
 * s3.<region>.amazonaws.com for bucket names containing dots).
 *
 * Every request carries x-amz-content-sha256 (the body's hash), x-amz-date,
 * x-amz-security-token when the credentials have one, an explicit
 * Content-Length and an empty "Expect:".  The wire is core/http: redirects
 * are never followed; protocols are limited to https unless allow_http is
 * set; bodies are capped at 64 MiB; the interrupt callback is polled.
 *
 * Retries: each operation retries transient failures (class
 * BTX_S3_TRANSIENT) with exponential backoff and full jitter
 * (btx_http_backoff_ms): sleep = random(0, min(cap_ms, base_ms * 2^(attempt-1))).  An
 * ExpiredToken answer calls refresh_credentials once and retries;
 * RequestTimeTooSkewed adjusts the client's clock offset from the server's
 * time and retries once.  When the credentials expire within 5 minutes the
 * refresh callback runs before the request.
 *
 * SQLSTATEs of the errors (btx_error.sqlstate):
 *   08006 connection_failure      network: DNS, refused, reset, timeout, TLS
 *   38000 external_routine_exception  S3/STS answered with an error status
 *   57014 query_canceled          the interrupt or sleep callback asked to stop
 *   22023 invalid_parameter_value bad configuration (endpoint, http not allowed)
 *   53200 out_of_memory
 * Messages name the operation, bucket and key, never credentials; detail
 * carries S3's code, message and request id; hint names the likely fix.
 *
 * The process must call btx_s3_global_init() (= btx_http_global_init())
 * once before the first client
 * (in a backend: in the worker, not the postmaster).
 */
#ifndef BTX_S3CLIENT_H
#define BTX_S3CLIENT_H

#include <stddef.h>
#include <time.h>

#include "core/common/btx_buf.h"
#include "core/http/http.h"
#include "core/s3/s3xml.h"

typedef enum btx_s3_class
{
	BTX_S3_OK = 0,
	BTX_S3_TRANSIENT,			/* 5xx, SlowDown, RequestTimeout, 409
								 * ConditionalRequestConflict, network */
	BTX_S3_EXPIRED_CREDENTIALS, /* ExpiredToken */
	BTX_S3_PRECONDITION_FAILED, /* 412: the key already exists */
	BTX_S3_PERMANENT,			/* everything else */
	BTX_S3_CANCELED				/* stopped by the interrupt/sleep callback */
} btx_s3_class;

typedef enum btx_s3_sse
{
	BTX_S3_SSE_NONE = 0,
	BTX_S3_SSE_AES256,
	BTX_S3_SSE_KMS
} btx_s3_sse;

typedef struct btx_s3_credentials
{
	char	   *access_key_id;
	char	   *secret_access_key;
	char	   *session_token;	/* NULL when none */
	time_t		expiration;		/* 0 = does not expire */
} btx_s3_credentials;

/* copy the strings in (token may be NULL); wipes secrets on clear */
extern int	btx_s3_credentials_set(btx_s3_credentials *c, const char *akid, const char *secret,
								   const char *token, time_t expiration);
extern int	btx_s3_credentials_copy(btx_s3_credentials *dst, const btx_s3_credentials *src);
extern void btx_s3_credentials_clear(btx_s3_credentials *c);

typedef struct btx_s3_config
{
	const char *region;			/* required, e.g. "us-east-1" */
	const char *endpoint;		/* NULL for AWS; else scheme://host[:port] */
	int			allow_http;		/* permit http:// (tests only) */
	btx_s3_sse	sse;
	const char *sse_kms_key_id; /* optional, with BTX_S3_SSE_KMS */
	int			acl_bucket_owner_full_control;
	const char *user_agent;		/* default "btexport" */

	long		connect_timeout_ms; /* default 10000 */
	long		low_speed_limit;	/* bytes/s, default 1024 ... */
	long		low_speed_time_s;	/* ... over this many seconds, default 30 */
	long		request_timeout_ms; /* whole request; 0 = none */

	int			retry_max_attempts; /* default 5 (first try included) */
	long		retry_base_ms;	/* default 200 */
	long		retry_cap_ms;	/* default 20000 */

	/* non-zero → abort the transfer now (polled during transfers) */
	int			(*interrupt) (void *arg);
	/* sleep between retries; non-zero return = interrupted; default nanosleep */
	int			(*sleep_ms) (void *arg, long ms);
	/* fetch fresh credentials (ExpiredToken, or expiring in < 5 min) */
	int			(*refresh_credentials) (void *arg, btx_s3_credentials *out, btx_error *err);
	/* random 32-bit values for jitter; default an internal xorshift */
	unsigned int (*random) (void *arg);
	/* current time; default time(NULL) */
	time_t		(*now) (void *arg);
	void	   *callback_arg;

	btx_http_transport_fn transport;	/* NULL = libcurl (core/http) */
	void	   *transport_arg;
} btx_s3_config;

typedef struct btx_s3_client btx_s3_client;

/* Parsed outcome of one operation (last attempt). */
typedef struct btx_s3_response
{
	long		status;
	btx_s3_class klass;
	btx_http_net net_error;
	int			attempts;
	char		etag[128];		/* quotes included, as returned */
	char		request_id[128];
	char		amz_id_2[256];
	char		bucket_region[64];
	char		sse[32];		/* x-amz-server-side-encryption echo */
	char		sse_kms_key_id[256];
	long long	content_length; /* Content-Length of the answer (HEAD: size) */
	char		error_code[128];
	char		error_message[512];
	btx_buf		body;
} btx_s3_response;

extern void btx_s3_response_init(btx_s3_response *r);
extern void btx_s3_response_free(btx_s3_response *r);

/* btx_http_global_init / cleanup (libcurl), under the S3 client's name */
extern int	btx_s3_global_init(void);
extern void btx_s3_global_cleanup(void);

/* Copies config strings and credentials; NULL with err on bad config. */
extern btx_s3_client *btx_s3_client_new(const btx_s3_config *cfg, const btx_s3_credentials *creds,
										btx_error *err);
extern void btx_s3_client_free(btx_s3_client *c);
extern int	btx_s3_client_set_credentials(btx_s3_client *c, const btx_s3_credentials *creds);
extern const btx_s3_config *btx_s3_client_config(const btx_s3_client *c);
/*
 * Ignore the interrupt callback while on != 0: for clean-up requests
 * (AbortMultipartUpload after a cancel), which timeouts still bound.
 */
extern void btx_s3_client_suppress_interrupt(btx_s3_client *c, int on);
/*
 * Detached mode, for a request the owner runs on another thread (upload.c
 * overlaps part uploads with the caller's work).  While on, the client calls
 * none of the interrupt, sleep and refresh callbacks, which belong to the
 * owner's thread: the interrupt is btx_s3_client_cancel_detached(), retry
 * sleeps are short naps that watch it, and credentials that need a refresh
 * (expiring, or ExpiredToken) fail the call with class
 * BTX_S3_EXPIRED_CREDENTIALS so that the owner can repeat it attached.  The
 * random, now and transport callbacks are still called and must be
 * thread-safe.  The owner must not use the client while a detached request
 * runs; set_detached (which also clears the cancel flag) is called by the
 * owner before the other thread starts and after it has been joined.
 */
extern void btx_s3_client_set_detached(btx_s3_client *c, int on);
/* async-safe: make the detached request in flight stop as soon as it can */
extern void btx_s3_client_cancel_detached(btx_s3_client *c);
/* for the owner's thread: its interrupt callback's verdict now (0 while suppressed) */
extern int	btx_s3_client_interrupted(btx_s3_client *c);
/* seconds added to the local clock when signing (after RequestTimeTooSkewed) */
extern long btx_s3_client_clock_offset(const btx_s3_client *c);

typedef struct btx_s3_put_options
{
	const char *content_type;	/* default application/octet-stream */
	int			if_none_match;	/* send If-None-Match: * (write-once) */
} btx_s3_put_options;

typedef struct btx_s3_part
{
	int			number;			/* 1 .. 10000 */
	char		etag[128];		/* as returned by UploadPart, quotes included */
} btx_s3_part;

extern int	btx_s3_put_object(btx_s3_client *c, const char *bucket, const char *key,
							  const void *body, size_t len, const btx_s3_put_options *opt,
							  btx_s3_response *resp, btx_error *err);
extern int	btx_s3_head_object(btx_s3_client *c, const char *bucket, const char *key,
							   btx_s3_response *resp, btx_error *err);
/* the object's bytes in resp->body; a missing object fails with resp->status 404 */
extern int	btx_s3_get_object(btx_s3_client *c, const char *bucket, const char *key,
							  btx_s3_response *resp, btx_error *err);
extern int	btx_s3_delete_object(btx_s3_client *c, const char *bucket, const char *key,
								 btx_s3_response *resp, btx_error *err);
/* one page; call again with out->next_token while out->truncated */
extern int	btx_s3_list_objects_v2(btx_s3_client *c, const char *bucket, const char *prefix,
								   const char *continuation_token, int max_keys,
								   btx_s3_object_list *out, btx_s3_response *resp, btx_error *err);
extern int	btx_s3_create_multipart_upload(btx_s3_client *c, const char *bucket, const char *key,
										   const btx_s3_put_options *opt, char **upload_id,
										   btx_s3_response *resp, btx_error *err);
extern int	btx_s3_upload_part(btx_s3_client *c, const char *bucket, const char *key,
							   const char *upload_id, int part_number, const void *data,
							   size_t len, btx_s3_response *resp, btx_error *err);
/* parts in ascending order; a 200 answer carrying <Error> is a failure */
extern int	btx_s3_complete_multipart_upload(btx_s3_client *c, const char *bucket, const char *key,
											 const char *upload_id, const btx_s3_part *parts,
											 int nparts, int if_none_match,
											 btx_s3_response *resp, btx_error *err);
extern int	btx_s3_abort_multipart_upload(btx_s3_client *c, const char *bucket, const char *key,
										  const char *upload_id, btx_s3_response *resp,
										  btx_error *err);
extern int	btx_s3_list_multipart_uploads(btx_s3_client *c, const char *bucket, const char *prefix,
										  btx_s3_upload_list *out, btx_s3_response *resp,
										  btx_error *err);

/*
 * Low-level signed (or unsigned) call, used by sts.c.  base_url overrides
 * the S3 address ("https://sts.us-east-1.amazonaws.com"); path is the wire
 * path; query is a raw query (canonicalised before sending).
 */
typedef struct btx_s3_call
{
	const char *operation;		/* "PutObject", "AssumeRole" ... */
	const char *what;			/* for messages: "put object", "assume role" */
	const char *service;		/* "s3" / "sts" */
	const char *base_url;		/* NULL = S3 address of bucket */
	const char *bucket;			/* may be NULL */
	const char *key;			/* may be NULL */
	const char *method;
	const char *query;
	const char *const *headers; /* extra "Name: value" (signed) */
	int			nheaders;
	const void *body;
	size_t		body_len;
	int			unsigned_request;	/* no Authorization (web identity) */
	const char *hint_context;	/* e.g. role ARN for STS hints */
} btx_s3_call;

extern int	btx_s3_call_perform(btx_s3_client *c, const btx_s3_call *call,
								btx_s3_response *resp, btx_error *err);

/* building blocks, exposed for unit tests */
extern btx_s3_class btx_s3_classify(long status, const char *code, btx_http_net net);
/* 0 when prefix is a key prefix btexport writes under (no dot segments, no characters S3
 * advises against, under 900 bytes), else -1 with err (SQLSTATE 22023) */
extern int	btx_s3_check_key_prefix(const char *prefix, btx_error *err);
extern int	btx_s3_build_url(const btx_s3_config *cfg, const char *bucket, const char *key,
							 btx_buf *url, btx_buf *host, btx_buf *path, btx_error *err);
/* fill err (message/detail/hint) for a failed call from resp */
extern void btx_s3_describe_error(const btx_s3_call *call, const btx_s3_response *resp,
								  int max_attempts, btx_error *err);

#endif							/* BTX_S3CLIENT_H */
