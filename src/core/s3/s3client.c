/*
 * s3client.c — S3 requests with SigV4 over the cores' HTTP transport
 * (core/http: libcurl, outbound rules, backoff, dates), see s3client.h.
 * This file keeps what is S3's own: addressing, signing, answer
 * classification, credential refresh, clock skew, detached mode, hints.
 *
 * Design: one operation (PutObject, UploadPart, ...) is a btx_s3_call — the
 * method, bucket, key, query, headers and body — run by btx_s3_call_perform,
 * which owns the retry policy (transient failures with jittered backoff,
 * one credentials refresh, one clock-skew correction) around perform_once,
 * one signed exchange.  perform_once builds the request in steps (URL,
 * headers, signature, wire lines), hands it to the HTTP transport and reads
 * status, headers and S3's XML error into a btx_s3_response; classifying the
 * response (btx_s3_classify) decides retry or failure, and
 * btx_s3_describe_error turns it into a message, detail and hint.  The
 * client never blocks or sleeps on its own: interrupts and sleeps go through
 * the owner's callbacks, except while detached on the upload thread, where
 * an atomic cancel flag and short naps stand in for them.
 */
#include "core/s3/s3client.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/s3/sigv4.h"

#define MAX_RESPONSE_BODY ((size_t) 64 * 1024 * 1024)
#define REFRESH_MARGIN_S 300

struct btx_s3_client
{
	btx_s3_config cfg;			/* strings below are private copies */
	char	   *region;
	char	   *endpoint;
	char	   *sse_kms_key_id;
	char	   *user_agent;
	btx_s3_credentials creds;
	btx_http_client *http;		/* the wire (libcurl or the config's transport) */
	long		clock_offset;
	unsigned int rng;
	int			no_interrupt;	/* btx_s3_client_suppress_interrupt */
	int			detached;		/* btx_s3_client_set_detached */
	int			detached_cancel;	/* atomic: btx_s3_client_cancel_detached */
};

/* ---------------------------------------------------------------- creds */

static char *
dup_or_null(const char *s)
{
	return s ? strdup(s) : NULL;
}

static void
wipe_free(char *s)
{
	if (s)
	{
		memset(s, 0, strlen(s));
		free(s);
	}
}

void
btx_s3_credentials_clear(btx_s3_credentials *c)
{
	wipe_free(c->access_key_id);
	wipe_free(c->secret_access_key);
	wipe_free(c->session_token);
	memset(c, 0, sizeof(*c));
}

int
btx_s3_credentials_set(btx_s3_credentials *c, const char *akid, const char *secret,
					   const char *token, time_t expiration)
{
	btx_s3_credentials n;

	memset(&n, 0, sizeof(n));
	n.access_key_id = dup_or_null(akid ? akid : "");
	n.secret_access_key = dup_or_null(secret ? secret : "");
	n.session_token = (token && token[0]) ? strdup(token) : NULL;
	n.expiration = expiration;
	if (n.access_key_id == NULL || n.secret_access_key == NULL ||
		(token && token[0] && n.session_token == NULL))
	{
		btx_s3_credentials_clear(&n);
		return -1;
	}
	btx_s3_credentials_clear(c);
	*c = n;
	return 0;
}

int
btx_s3_credentials_copy(btx_s3_credentials *dst, const btx_s3_credentials *src)
{
	if (dst == src)
		return 0;
	return btx_s3_credentials_set(dst, src->access_key_id, src->secret_access_key,
								  src->session_token, src->expiration);
}

/* ---------------------------------------------------------------- misc */

void
btx_s3_response_init(btx_s3_response *r)
{
	memset(r, 0, sizeof(*r));
	btx_buf_init(&r->body);
	r->content_length = -1;
}

void
btx_s3_response_free(btx_s3_response *r)
{
	btx_buf_free(&r->body);
	btx_s3_response_init(r);
}

static void
response_reset(btx_s3_response *r)
{
	btx_buf		keep = r->body;
	int			attempts = r->attempts;

	btx_buf_reset(&keep);
	memset(r, 0, sizeof(*r));
	r->body = keep;
	r->attempts = attempts;
	r->content_length = -1;
}

int
btx_s3_global_init(void)
{
	return btx_http_global_init();
}

void
btx_s3_global_cleanup(void)
{
	btx_http_global_cleanup();
}

btx_s3_class
btx_s3_classify(long status, const char *code, btx_http_net net)
{
	static const char *const transient_codes[] = {
		"SlowDown", "RequestTimeout", "InternalError", "ServiceUnavailable", "Throttling",
		"ThrottlingException", "RequestThrottled", "RequestLimitExceeded",
		"ConditionalRequestConflict", "OperationAborted", "IDPCommunicationError",
		"InternalFailure", "RequestTimeoutException", NULL
	};
	int			i;

	if (net != BTX_HTTP_NET_NONE)
	{
		if (net == BTX_HTTP_NET_ABORTED)
			return BTX_S3_CANCELED;
		return btx_http_net_transient(net) ? BTX_S3_TRANSIENT : BTX_S3_PERMANENT;
	}
	if (code && code[0])
	{
		if (strcmp(code, "ExpiredToken") == 0 || strcmp(code, "ExpiredTokenException") == 0 ||
			strcmp(code, "TokenRefreshRequired") == 0)
			return BTX_S3_EXPIRED_CREDENTIALS;
		if (strcmp(code, "PreconditionFailed") == 0)
			return BTX_S3_PRECONDITION_FAILED;
		for (i = 0; transient_codes[i]; i++)
			if (strcmp(code, transient_codes[i]) == 0)
				return BTX_S3_TRANSIENT;
	}
	else if (status >= 200 && status < 300)
		return BTX_S3_OK;
	if (status == 412)
		return BTX_S3_PRECONDITION_FAILED;
	if (status >= 500 || status == 429 || status == 408)
		return BTX_S3_TRANSIENT;
	if (status >= 200 && status < 300 && (code == NULL || code[0] == '\0'))
		return BTX_S3_OK;
	return BTX_S3_PERMANENT;
}

/* ---------------------------------------------------------------- URLs */

/* split "scheme://authority[/]" (core/http's parser, no path allowed) */
static int
parse_endpoint(const char *ep, int allow_http, btx_buf *scheme, btx_buf *authority, btx_error *err)
{
	btx_http_url u;
	int			r;

	btx_http_url_init(&u);
	r = btx_http_parse_url(ep, "S3 endpoint", allow_http, 0, &u, err);
	if (r == 0)
	{
		btx_buf_append(scheme, u.scheme.data, u.scheme.len);
		btx_buf_append(authority, u.authority.data, u.authority.len);
	}
	btx_http_url_free(&u);
	return r;
}

/*
 * The one rule for a key prefix an automation writes under (btexport._parse_s3_path
 * applies it when an automation is saved, and again before every run).  Besides
 * the characters S3 advises against, "." and ".." segments are refused: curl
 * removes them from the request path (RFC 3986 dot-segment removal), so the
 * object would land elsewhere than the key the request was signed for.
 */
int
btx_s3_check_key_prefix(const char *prefix, btx_error *err)
{
	static const char avoid[] = "\\{}^%`[]\"<>~#|";
	size_t		len = strlen(prefix);
	const char *seg = prefix;
	const char *p;
	int			bad = len > 900 || prefix[0] == '/';

	for (p = prefix; !bad && *p; p++)
	{
		unsigned char c = (unsigned char) *p;

		if (c < 0x20 || c == 0x7f || strchr(avoid, c) != NULL)
			bad = 1;
		else if (c == '/' && p[1] == '/')
			bad = 1;
	}
	if (bad)
	{
		btx_error_set(err, 1, "22023", "invalid S3 prefix");
		btx_error_detail(err, "The prefix must not contain empty path segments, control characters or characters S3 keys should avoid (\\ { } ^ %% ` [ ] \" < > ~ # |), and must stay under 900 bytes.");
		btx_error_hint(err, "Use a prefix of letters, digits and / - _ . such as exports/prod/.");
		return -1;
	}
	for (p = prefix;; p++)
	{
		if (*p == '/' || *p == '\0')
		{
			size_t		n = (size_t) (p - seg);

			if ((n == 1 && seg[0] == '.') || (n == 2 && seg[0] == '.' && seg[1] == '.'))
			{
				btx_error_set(err, 1, "22023", "invalid S3 prefix");
				btx_error_detail(err, "The prefix has a \"%s\" path segment; HTTP clients remove \".\" and \"..\" segments from a request's path, so objects would not land under the prefix and S3 would reject the request's signature.",
								 n == 1 ? "." : "..");
				btx_error_hint(err, "Remove the \".\" and \"..\" segments, e.g. exports/prod/ instead of exports/./prod/ or exports/x/../prod/.");
				return -1;
			}
			if (*p == '\0')
				break;
			seg = p + 1;
		}
	}
	return 0;
}

int
btx_s3_build_url(const btx_s3_config *cfg, const char *bucket, const char *key,
				 btx_buf *url, btx_buf *host, btx_buf *path, btx_error *err)
{
	btx_buf		scheme;
	int			r = 0;

	btx_buf_init(&scheme);
	if (cfg->region == NULL || cfg->region[0] == '\0')
	{
		btx_error_set(err, 1, "22023", "an S3 region is required");
		return -1;
	}
	if (bucket && (bucket[0] == '\0' || strchr(bucket, '/') != NULL))
	{
		btx_error_set(err, 1, "22023", "invalid S3 bucket name \"%s\"", bucket);
		return -1;
	}
	if (cfg->endpoint && cfg->endpoint[0])
	{
		if (parse_endpoint(cfg->endpoint, cfg->allow_http, &scheme, host, err) != 0)
			r = -1;
		else
		{
			btx_buf_putc(path, '/');
			if (bucket)
			{
				btx_sigv4_uri_encode(path, bucket, strlen(bucket), 0);
				if (key)
					btx_buf_putc(path, '/');
			}
		}
	}
	else
	{
		btx_buf_puts(&scheme, "https");
		if (bucket && strchr(bucket, '.') == NULL)
		{
			btx_buf_appendf(host, "%s.s3.%s.amazonaws.com", bucket, cfg->region);
			btx_buf_putc(path, '/');
		}
		else
		{
			btx_buf_appendf(host, "s3.%s.amazonaws.com", cfg->region);
			btx_buf_putc(path, '/');
			if (bucket)
			{
				btx_sigv4_uri_encode(path, bucket, strlen(bucket), 0);
				if (key)
					btx_buf_putc(path, '/');
			}
		}
	}
	if (r == 0 && key)
		btx_sigv4_uri_encode(path, key, strlen(key), 1);
	if (r == 0)
		btx_buf_appendf(url, "%s://%s%s", scheme.data, host->data, path->data);
	btx_buf_free(&scheme);
	if (r == 0 && (url->oom || host->oom || path->oom))
	{
		btx_error_set(err, 1, "53200", "out of memory");
		r = -1;
	}
	return r;
}

/* ---------------------------------------------------------------- client */

/* the request's view of the interrupt (defined below), for the HTTP client */
static int	interrupted(btx_s3_client *c);

static int
http_interrupt(void *arg)
{
	return interrupted(arg);
}

btx_s3_client *
btx_s3_client_new(const btx_s3_config *cfg, const btx_s3_credentials *creds, btx_error *err)
{
	btx_s3_client *c;
	btx_buf		u,
				h,
				p;
	int			bad;

	btx_buf_init(&u);
	btx_buf_init(&h);
	btx_buf_init(&p);
	bad = btx_s3_build_url(cfg, NULL, NULL, &u, &h, &p, err);
	btx_buf_free(&u);
	btx_buf_free(&h);
	btx_buf_free(&p);
	if (bad)
		return NULL;
	c = calloc(1, sizeof(*c));
	if (c == NULL)
	{
		btx_error_set(err, 1, "53200", "out of memory");
		return NULL;
	}
	c->cfg = *cfg;
	c->region = dup_or_null(cfg->region);
	c->endpoint = dup_or_null(cfg->endpoint);
	c->sse_kms_key_id = dup_or_null(cfg->sse_kms_key_id);
	c->user_agent = strdup(cfg->user_agent ? cfg->user_agent : "btexport");
	c->cfg.region = c->region;
	c->cfg.endpoint = c->endpoint;
	c->cfg.sse_kms_key_id = c->sse_kms_key_id;
	c->cfg.user_agent = c->user_agent;
	if (c->cfg.retry_max_attempts <= 0)
		c->cfg.retry_max_attempts = 5;
	if (c->cfg.retry_base_ms <= 0)
		c->cfg.retry_base_ms = 200;
	if (c->cfg.retry_cap_ms <= 0)
		c->cfg.retry_cap_ms = 20000;
	if (c->cfg.sleep_ms == NULL)
		c->cfg.sleep_ms = btx_http_sleep_ms;
	c->rng = btx_http_rng_seed(c);
	{
		btx_http_config hc;

		memset(&hc, 0, sizeof(hc));
		hc.allow_http = c->cfg.allow_http;
		hc.connect_timeout_ms = c->cfg.connect_timeout_ms;
		hc.low_speed_limit = c->cfg.low_speed_limit;
		hc.low_speed_time_s = c->cfg.low_speed_time_s;
		hc.request_timeout_ms = c->cfg.request_timeout_ms;
		hc.max_body = MAX_RESPONSE_BODY;
		hc.interrupt = http_interrupt;
		hc.interrupt_arg = c;
		hc.transport = c->cfg.transport;
		hc.transport_arg = c->cfg.transport_arg;
		c->http = btx_http_client_new(&hc);
		if (c->http)
		{
			/* the transport's defaults, for btx_s3_client_config() */
			c->cfg.connect_timeout_ms = btx_http_client_config(c->http)->connect_timeout_ms;
			c->cfg.low_speed_limit = btx_http_client_config(c->http)->low_speed_limit;
			c->cfg.low_speed_time_s = btx_http_client_config(c->http)->low_speed_time_s;
		}
	}
	if (c->http == NULL || c->region == NULL || (cfg->endpoint && c->endpoint == NULL) ||
		(cfg->sse_kms_key_id && c->sse_kms_key_id == NULL) || c->user_agent == NULL ||
		(creds && btx_s3_credentials_copy(&c->creds, creds) != 0))
	{
		btx_s3_client_free(c);
		btx_error_set(err, 1, "53200", "out of memory");
		return NULL;
	}
	return c;
}

void
btx_s3_client_free(btx_s3_client *c)
{
	if (c == NULL)
		return;
	btx_http_client_free(c->http);
	btx_s3_credentials_clear(&c->creds);
	free(c->region);
	free(c->endpoint);
	free(c->sse_kms_key_id);
	free(c->user_agent);
	free(c);
}

int
btx_s3_client_set_credentials(btx_s3_client *c, const btx_s3_credentials *creds)
{
	return btx_s3_credentials_copy(&c->creds, creds);
}

const btx_s3_config *
btx_s3_client_config(const btx_s3_client *c)
{
	return &c->cfg;
}

long
btx_s3_client_clock_offset(const btx_s3_client *c)
{
	return c->clock_offset;
}

static unsigned int
next_random(btx_s3_client *c)
{
	if (c->cfg.random)
		return c->cfg.random(c->cfg.callback_arg);
	return btx_http_rng_next(&c->rng);
}

static time_t
client_now(btx_s3_client *c)
{
	return c->cfg.now ? c->cfg.now(c->cfg.callback_arg) : time(NULL);
}

int
btx_s3_client_interrupted(btx_s3_client *c)
{
	/* the owner's view: its callback, even while a detached request runs */
	return !c->no_interrupt && c->cfg.interrupt && c->cfg.interrupt(c->cfg.callback_arg);
}

/* the request's view: the cancel flag while detached, else the owner's callback */
static int
interrupted(btx_s3_client *c)
{
	if (c->detached)
		return __atomic_load_n(&c->detached_cancel, __ATOMIC_ACQUIRE);
	return btx_s3_client_interrupted(c);
}

void
btx_s3_client_set_detached(btx_s3_client *c, int on)
{
	c->detached = on ? 1 : 0;
	__atomic_store_n(&c->detached_cancel, 0, __ATOMIC_RELEASE);
}

void
btx_s3_client_cancel_detached(btx_s3_client *c)
{
	__atomic_store_n(&c->detached_cancel, 1, __ATOMIC_RELEASE);
}

/* retry sleep: the config's callback, or (detached) short naps that watch the cancel flag */
static int
client_sleep(btx_s3_client *c, long ms)
{
	if (!c->detached)
		return c->cfg.sleep_ms(c->cfg.callback_arg, ms);
	while (ms > 0)
	{
		long		step = ms > 20 ? 20 : ms;

		if (interrupted(c))
			return 1;
		(void) btx_http_sleep_ms(NULL, step);
		ms -= step;
	}
	return interrupted(c);
}

/* detached: credentials that need a refresh fail the call; the owner refreshes */
static int
detached_refresh_needed(btx_s3_client *c, btx_s3_response *resp, btx_error *err)
{
	resp->klass = BTX_S3_EXPIRED_CREDENTIALS;
	btx_error_set(err, 1, "38000", "the S3 credentials need a refresh");
	btx_error_detail(err, "The request ran on the upload thread, which does not refresh credentials.");
	return -1;
}

void
btx_s3_client_suppress_interrupt(btx_s3_client *c, int on)
{
	c->no_interrupt = on;
}

/* ---------------------------------------------------------------- perform */

/* pick the headers we care about out of the raw block */
static void
parse_headers(const btx_buf *raw, btx_s3_response *r, time_t *server_date)
{
	const char *cur = raw->data;
	const char *p,
			   *v;
	size_t		nl,
				vl;
	char		tmp[128];

	*server_date = 0;
	while (btx_http_header_next(&cur, &p, &nl, &v, &vl))
	{
#define HDR(name) (nl == strlen(name) && strncasecmp(p, name, nl) == 0)
		if (HDR("etag"))
			btx_http_copy_value(v, vl, r->etag, sizeof(r->etag));
		else if (HDR("x-amz-request-id"))
			btx_http_copy_value(v, vl, r->request_id, sizeof(r->request_id));
		else if (HDR("x-amz-id-2"))
			btx_http_copy_value(v, vl, r->amz_id_2, sizeof(r->amz_id_2));
		else if (HDR("x-amz-bucket-region"))
			btx_http_copy_value(v, vl, r->bucket_region, sizeof(r->bucket_region));
		else if (HDR("x-amz-server-side-encryption"))
			btx_http_copy_value(v, vl, r->sse, sizeof(r->sse));
		else if (HDR("x-amz-server-side-encryption-aws-kms-key-id"))
			btx_http_copy_value(v, vl, r->sse_kms_key_id, sizeof(r->sse_kms_key_id));
		else if (HDR("content-length"))
		{
			btx_http_copy_value(v, vl, tmp, sizeof(tmp));
			r->content_length = strtoll(tmp, NULL, 10);
		}
		else if (HDR("date"))
		{
			btx_http_copy_value(v, vl, tmp, sizeof(tmp));
			if (btx_http_parse_date(tmp, server_date) != 0)
				*server_date = 0;
		}
#undef HDR
	}
}

/* region from "... expecting 'eu-west-1'" or "bucket.s3.eu-west-1.amazonaws.com" */
static void
region_from_text(const char *msg, const char *endpoint, char *dst, size_t sz)
{
	const char *p;

	if (msg && (p = strstr(msg, "expecting '")) != NULL)
	{
		const char *s = p + strlen("expecting '");
		const char *e = strchr(s, '\'');

		if (e && e > s && (size_t) (e - s) < sz)
		{
			memcpy(dst, s, e - s);
			dst[e - s] = '\0';
			return;
		}
	}
	if (endpoint && (p = strstr(endpoint, "s3.")) != NULL)
	{
		const char *s = p + 3;
		const char *e = strstr(s, ".amazonaws.com");

		if (e && e > s && (size_t) (e - s) < sz && memchr(s, '.', e - s) == NULL)
		{
			memcpy(dst, s, e - s);
			dst[e - s] = '\0';
		}
	}
}

static const char *
synth_code(long status)
{
	switch (status)
	{
		case 301:
			return "PermanentRedirect";
		case 400:
			return "BadRequest";
		case 403:
			return "Forbidden";
		case 404:
			return "NotFound";
		case 412:
			return "PreconditionFailed";
		default:
			return "";
	}
}

static int
oom_error(btx_error *err)
{
	btx_error_set(err, 1, "53200", "out of memory");
	return -1;
}

/*
 * One signed exchange is built in four steps over a request: the URL and
 * canonical query (request_target), the headers to sign and send
 * (request_headers), the SigV4 Authorization header (request_sign) and the
 * wire header lines (request_lines).  Every string a step makes is owned by
 * the request and freed by request_free, whatever step failed.
 */
typedef struct request
{
	btx_buf		url;
	btx_buf		host;
	btx_buf		path;
	btx_buf		query;
	btx_buf		auth;			/* "Authorization: ..." or empty (unsigned requests) */
	btx_sigv4_header sh[48];	/* headers signed and sent */
	int			nsh;
	const char *lines[48];		/* wire header lines */
	int			nlines;
	char	   *owned[96];		/* strings the request owns */
	int			nowned;
	char		amz_date[17];
	char		payload_hash[65];
	btx_sigv4_result sres;
} request;

static void
request_init(request *rq)
{
	memset(rq, 0, sizeof(*rq));
	btx_buf_init(&rq->url);
	btx_buf_init(&rq->host);
	btx_buf_init(&rq->path);
	btx_buf_init(&rq->query);
	btx_buf_init(&rq->auth);
	btx_sigv4_result_init(&rq->sres);
}

static void
request_free(request *rq)
{
	int			i;

	for (i = 0; i < rq->nowned; i++)
		free(rq->owned[i]);
	btx_buf_free(&rq->url);
	btx_buf_free(&rq->host);
	btx_buf_free(&rq->path);
	btx_buf_free(&rq->query);
	btx_buf_free(&rq->auth);
	btx_sigv4_result_free(&rq->sres);
}

/* keep s (malloc'd, may be NULL) in the request; -1 when it is NULL */
static int
request_own(request *rq, char *s)
{
	if (s == NULL)
		return -1;
	rq->owned[rq->nowned++] = s;
	return 0;
}

/* the URL: the endpoint's (call->base_url) or the bucket's, with the canonical query */
static int
request_target(btx_s3_client *c, const btx_s3_call *call, request *rq, btx_error *err)
{
	if (call->base_url)
	{
		btx_s3_config tc = c->cfg;

		tc.endpoint = call->base_url;
		if (btx_s3_build_url(&tc, NULL, NULL, &rq->url, &rq->host, &rq->path, err) != 0)
			return -1;
	}
	else if (btx_s3_build_url(&c->cfg, call->bucket, call->key, &rq->url, &rq->host, &rq->path, err) != 0)
		return -1;
	if (btx_sigv4_canonical_query(&rq->query, call->query) != 0)
		return oom_error(err);
	if (rq->query.len > 0)
	{
		btx_buf_putc(&rq->url, '?');
		btx_buf_append(&rq->url, rq->query.data, rq->query.len);
	}
	return 0;
}

/* Host, the SigV4 headers (signed requests) and the call's own "Name: value" headers */
static int
request_headers(btx_s3_client *c, const btx_s3_call *call, request *rq, btx_error *err)
{
	int			i;

	btx_sigv4_format_date(client_now(c) + c->clock_offset, rq->amz_date);
	btx_sigv4_sha256_hex(call->body ? call->body : "", call->body_len, rq->payload_hash);
	rq->sh[rq->nsh].name = "Host";
	rq->sh[rq->nsh++].value = rq->host.data;
	if (!call->unsigned_request)
	{
		rq->sh[rq->nsh].name = "x-amz-date";
		rq->sh[rq->nsh++].value = rq->amz_date;
		rq->sh[rq->nsh].name = "x-amz-content-sha256";
		rq->sh[rq->nsh++].value = rq->payload_hash;
		if (c->creds.session_token && c->creds.session_token[0])
		{
			rq->sh[rq->nsh].name = "x-amz-security-token";
			rq->sh[rq->nsh++].value = c->creds.session_token;
		}
	}
	for (i = 0; i < call->nheaders; i++)
	{
		const char *h = call->headers[i];
		const char *colon = strchr(h, ':');

		if (colon == NULL)
			continue;
		if (request_own(rq, strndup(h, (size_t) (colon - h))) != 0)
			return oom_error(err);
		colon++;
		while (*colon == ' ')
			colon++;
		rq->sh[rq->nsh].name = rq->owned[rq->nowned - 1];
		rq->sh[rq->nsh++].value = colon;
	}
	return 0;
}

/* the Authorization header of a signed request */
static int
request_sign(btx_s3_client *c, const btx_s3_call *call, request *rq, btx_error *err)
{
	btx_sigv4_params sp;
	btx_sigv4_request sreq;

	if (call->unsigned_request)
		return 0;
	if (c->creds.access_key_id == NULL || c->creds.access_key_id[0] == '\0' ||
		c->creds.secret_access_key == NULL || c->creds.secret_access_key[0] == '\0')
	{
		btx_error_set(err, 1, "22023", "no S3 credentials to sign %s", call->operation);
		btx_error_hint(err, "Configure a credential, or make one available to the server (environment, shared files, instance role).");
		return -1;
	}
	memset(&sp, 0, sizeof(sp));
	sp.access_key_id = c->creds.access_key_id;
	sp.secret_access_key = c->creds.secret_access_key;
	sp.region = c->region;
	sp.service = call->service ? call->service : "s3";
	sp.amz_date = rq->amz_date;
	sp.path_mode = (sp.service && strcmp(sp.service, "s3") == 0) ?
		BTX_SIGV4_PATH_AS_IS : BTX_SIGV4_PATH_ENCODE_NORMALIZE;
	sreq.method = call->method;
	sreq.path = rq->path.data;
	sreq.query = rq->query.data;
	sreq.headers = rq->sh;
	sreq.nheaders = rq->nsh;
	sreq.payload_hash = rq->payload_hash;
	if (btx_sigv4_sign_header(&sp, &sreq, &rq->sres, err) != 0)
		return -1;
	btx_buf_puts(&rq->auth, "Authorization: ");
	btx_buf_append(&rq->auth, rq->sres.authorization.data, rq->sres.authorization.len);
	return 0;
}

/* "Name: value" lines for the transport: the signed headers, Authorization, Expect:, User-Agent */
static int
request_lines(btx_s3_client *c, request *rq, btx_error *err)
{
	btx_buf		tmp;
	int			i;

	btx_buf_init(&tmp);
	for (i = 0; i < rq->nsh; i++)
	{
		btx_buf_reset(&tmp);
		btx_buf_appendf(&tmp, "%s: %s", rq->sh[i].name, rq->sh[i].value);
		if (tmp.oom || request_own(rq, btx_buf_steal(&tmp)) != 0)
			goto oom;
		rq->lines[rq->nlines++] = rq->owned[rq->nowned - 1];
	}
	if (rq->auth.len)
		rq->lines[rq->nlines++] = rq->auth.data;
	rq->lines[rq->nlines++] = "Expect:";
	btx_buf_reset(&tmp);
	btx_buf_appendf(&tmp, "User-Agent: %s", c->user_agent);
	if (tmp.oom || request_own(rq, btx_buf_steal(&tmp)) != 0)
		goto oom;
	rq->lines[rq->nlines++] = rq->owned[rq->nowned - 1];
	btx_buf_free(&tmp);
	return 0;
oom:
	btx_buf_free(&tmp);
	return oom_error(err);
}

/*
 * S3's XML error document (in an error answer, and in any 200 answer to
 * CompleteMultipartUpload, which reports failures that way): its code,
 * message, request id, the bucket's region and the server's clock.
 */
static void
read_error_body(const btx_s3_call *call, const btx_buf *body, btx_s3_response *resp, time_t *server_time)
{
	btx_s3xml_error xe;

	if (!((resp->status < 200 || resp->status >= 300 || call->operation == NULL ||
		   strcmp(call->operation, "CompleteMultipartUpload") == 0) && body->len > 0))
		return;
	if (btx_s3xml_parse_error(body->data, body->len, &xe) != 0)
		return;
	snprintf(resp->error_code, sizeof(resp->error_code), "%s", xe.code);
	snprintf(resp->error_message, sizeof(resp->error_message), "%s", xe.message);
	if (resp->request_id[0] == '\0')
		snprintf(resp->request_id, sizeof(resp->request_id), "%s", xe.request_id);
	if (resp->bucket_region[0] == '\0')
	{
		if (xe.region[0])
			snprintf(resp->bucket_region, sizeof(resp->bucket_region), "%s", xe.region);
		else
			region_from_text(xe.message, xe.endpoint, resp->bucket_region, sizeof(resp->bucket_region));
	}
	if (xe.server_time[0])
	{
		time_t		st;

		if (btx_s3xml_parse_iso8601(xe.server_time, &st) == 0)
			*server_time = st;
	}
}

/* one signed exchange; fills resp (status, headers, error fields, class) */
static int
perform_once(btx_s3_client *c, const btx_s3_call *call, btx_s3_response *resp,
			 time_t *server_time, btx_error *err)
{
	request		rq;
	btx_http_request hreq;
	btx_http_response hresp;
	int			r = -1;
	time_t		date_hdr = 0;

	request_init(&rq);
	btx_http_response_init(&hresp);
	hresp.body = resp->body;	/* borrow: the transport appends into it */
	btx_buf_init(&resp->body);
	btx_buf_reset(&hresp.body);
	*server_time = 0;

	if (call->nheaders > 32)
	{
		btx_error_set(err, 1, "22023", "too many headers for one S3 request");
		goto done;
	}
	if (request_target(c, call, &rq, err) != 0 || request_headers(c, call, &rq, err) != 0 ||
		request_sign(c, call, &rq, err) != 0 || request_lines(c, &rq, err) != 0)
		goto done;

	hreq.method = call->method;
	hreq.url = rq.url.data;
	hreq.headers = rq.lines;
	hreq.nheaders = rq.nlines;
	hreq.body = call->body;
	hreq.body_len = call->body_len;
	hreq.max_body = MAX_RESPONSE_BODY;

	(void) btx_http_exchange(c->http, &hreq, NULL, &hresp);

	resp->status = hresp.status;
	resp->net_error = hresp.net_error;
	r = 0;
	if (hresp.net_error != BTX_HTTP_NET_NONE)
	{
		snprintf(resp->error_message, sizeof(resp->error_message), "%s", hresp.net_message);
		resp->klass = btx_s3_classify(0, NULL, hresp.net_error);
		goto done;
	}
	parse_headers(&hresp.headers, resp, &date_hdr);
	*server_time = date_hdr;
	read_error_body(call, &hresp.body, resp, server_time);
	if ((resp->status < 200 || resp->status >= 300) && resp->error_code[0] == '\0')
		snprintf(resp->error_code, sizeof(resp->error_code), "%s", synth_code(resp->status));
	resp->klass = btx_s3_classify(resp->status, resp->error_code, BTX_HTTP_NET_NONE);

done:
	resp->body = hresp.body;
	btx_buf_free(&hresp.headers);
	request_free(&rq);
	return r;
}

/* ---------------------------------------------------------------- errors */

/* "arn:aws:s3:::bucket/dir/" prefix of a key for policy hints */
static void
key_prefix(const char *key, char *dst, size_t sz)
{
	const char *slash = key ? strrchr(key, '/') : NULL;
	size_t		l = slash ? (size_t) (slash - key + 1) : 0;

	if (l >= sz)
		l = sz - 1;
	if (l)
		memcpy(dst, key, l);
	dst[l] = '\0';
}

static const char *
s3_action(const char *op)
{
	if (op == NULL)
		return "s3:*";
	if (strcmp(op, "HeadObject") == 0)
		return "s3:GetObject";
	if (strcmp(op, "DeleteObject") == 0)
		return "s3:DeleteObject";
	if (strcmp(op, "ListObjectsV2") == 0)
		return "s3:ListBucket";
	if (strcmp(op, "AbortMultipartUpload") == 0)
		return "s3:AbortMultipartUpload";
	if (strcmp(op, "ListMultipartUploads") == 0)
		return "s3:ListBucketMultipartUploads";
	return "s3:PutObject";
}

void
btx_s3_describe_error(const btx_s3_call *call, const btx_s3_response *resp, int max_attempts,
					  btx_error *err)
{
	char		target[700];
	const char *what = call->what ? call->what : call->operation;
	const char *code = resp->error_code;
	int			is_sts = call->service && strcmp(call->service, "sts") == 0;

	if (call->bucket && call->key)
		snprintf(target, sizeof(target), "s3://%s/%s", call->bucket, call->key);
	else if (call->bucket)
		snprintf(target, sizeof(target), "s3://%s", call->bucket);
	else
		snprintf(target, sizeof(target), "%s", call->hint_context ? call->hint_context :
				 (call->base_url ? call->base_url : "S3"));

	if (resp->klass == BTX_S3_CANCELED)
	{
		btx_error_set(err, 1, "57014", "canceled %s of \"%s\"", what, target);
		btx_error_detail(err, "The transfer was interrupted on request.");
		return;
	}
	if (resp->net_error != BTX_HTTP_NET_NONE)
	{
		btx_error_set(err, 1, resp->net_error == BTX_HTTP_NET_PROTOCOL ? "22023" : "08006",
					  "could not %s \"%s\": %s", what, target, btx_http_net_reason(resp->net_error));
		btx_error_detail(err, "%s (%d attempt%s, %s).", resp->error_message, resp->attempts,
						 resp->attempts == 1 ? "" : "s",
						 resp->klass == BTX_S3_TRANSIENT ? "transient" : "permanent");
		switch (resp->net_error)
		{
			case BTX_HTTP_NET_DNS:
				btx_error_hint(err, "Check the endpoint host name and the server's DNS resolution.");
				break;
			case BTX_HTTP_NET_CONNECT:
			case BTX_HTTP_NET_TIMEOUT:
			case BTX_HTTP_NET_RESET:
				btx_error_hint(err, "Check the endpoint (scheme, host and port) and that the database server can reach it over the network.");
				break;
			case BTX_HTTP_NET_TLS:
				btx_error_hint(err, "Check the endpoint's TLS certificate and the server's CA bundle.");
				break;
			case BTX_HTTP_NET_PROTOCOL:
				btx_error_hint(err, "Use an https:// endpoint; plain http is only allowed when the configuration permits it.");
				break;
			default:
				break;
		}
		return;
	}

	btx_error_set(err, 1, "38000", "could not %s \"%s\": %s (HTTP %ld)", what, target,
				  code[0] ? code : "error", resp->status);
	btx_error_detail(err, "%s answered HTTP %ld%s%s%s%s%s; request id %s; %d attempt%s.",
					 is_sts ? "STS" : "S3", resp->status,
					 code[0] ? " with code " : "", code,
					 resp->error_message[0] ? ": \"" : "", resp->error_message,
					 resp->error_message[0] ? "\"" : "",
					 resp->request_id[0] ? resp->request_id : "(none)",
					 resp->attempts, resp->attempts == 1 ? "" : "s");

	if (strcmp(code, "AccessDenied") == 0 || strcmp(code, "Forbidden") == 0)
	{
		char		pfx[512];

		if (is_sts && call->operation && strcmp(call->operation, "AssumeRoleWithWebIdentity") == 0)
			btx_error_hint(err, "The trust policy of role %s must allow sts:AssumeRoleWithWebIdentity for the token's identity provider and audience.",
						   call->hint_context ? call->hint_context : "(unknown)");
		else if (is_sts)
			btx_error_hint(err, "The trust policy of role %s must allow sts:AssumeRole for the calling identity, and the ExternalId sent must match its sts:ExternalId condition.",
						   call->hint_context ? call->hint_context : "(unknown)");
		else if (strcmp(s3_action(call->operation), "s3:ListBucket") == 0 ||
				 strcmp(s3_action(call->operation), "s3:ListBucketMultipartUploads") == 0)
			btx_error_hint(err, "The IAM policy must allow %s on arn:aws:s3:::%s%s",
						   s3_action(call->operation), call->bucket ? call->bucket : "*",
						   strcmp(code, "Forbidden") == 0 ? ", and the credential must be valid." : ".");
		else
		{
			key_prefix(call->key, pfx, sizeof(pfx));
			btx_error_hint(err, "The IAM policy must allow %s on arn:aws:s3:::%s/%s*%s",
						   s3_action(call->operation), call->bucket ? call->bucket : "*", pfx,
						   strcmp(code, "Forbidden") == 0 ? ", and the credential must be valid." :
						   " (with SSE-KMS also kms:GenerateDataKey and kms:Decrypt on the key).");
		}
	}
	else if (strcmp(code, "NoSuchBucket") == 0)
		btx_error_hint(err, "The bucket \"%s\" does not exist at this endpoint: create it or correct the bucket name and region.",
					   call->bucket ? call->bucket : "");
	else if (strcmp(code, "SignatureDoesNotMatch") == 0)
		btx_error_hint(err, "Check the secret access key of the credential; it does not match the access key id.");
	else if (strcmp(code, "InvalidAccessKeyId") == 0 || strcmp(code, "InvalidClientTokenId") == 0)
		btx_error_hint(err, "Check the access key id of the credential; it is not known to %s.",
					   is_sts ? "STS" : "this S3 endpoint");
	else if (strcmp(code, "InvalidToken") == 0)
		btx_error_hint(err, "The session token is invalid or does not belong to the access key; refresh the temporary credentials.");
	else if (resp->klass == BTX_S3_EXPIRED_CREDENTIALS)
		btx_error_hint(err, "The temporary credentials expired and could not be refreshed; check the credential source.");
	else if (strcmp(code, "PermanentRedirect") == 0 || strcmp(code, "AuthorizationHeaderMalformed") == 0 ||
			 strcmp(code, "IllegalLocationConstraintException") == 0 || resp->status == 301)
	{
		if (resp->bucket_region[0])
			btx_error_hint(err, "The bucket \"%s\" is in region \"%s\": set the region to \"%s\".",
						   call->bucket ? call->bucket : "", resp->bucket_region, resp->bucket_region);
		else
			btx_error_hint(err, "The bucket is in another region than the one configured: set the bucket's region.");
	}
	else if (strcmp(code, "RequestTimeTooSkewed") == 0)
		btx_error_hint(err, "The database server's clock differs from S3's by more than 15 minutes: synchronise it (NTP).");
	else if (resp->klass == BTX_S3_PRECONDITION_FAILED)
		btx_error_hint(err, "The object \"%s\" already exists and keys are write-once (If-None-Match: *): use a new key, or delete the object if it is not a committed export.",
					   target);
	else if (strncmp(code, "KMS.", 4) == 0 || strncmp(code, "KMS", 3) == 0)
		btx_error_hint(err, "Check the KMS key id and that the credential may use it (kms:GenerateDataKey, kms:Decrypt).");
	else if (strcmp(code, "EntityTooSmall") == 0)
		btx_error_hint(err, "Every part except the last must be at least 5 MiB.");
	else if (strcmp(code, "InvalidPart") == 0 || strcmp(code, "InvalidPartOrder") == 0 ||
			 strcmp(code, "NoSuchUpload") == 0)
		btx_error_hint(err, "The multipart upload was lost or its parts do not match; the upload must be restarted.");
	else if (strcmp(code, "InvalidBucketName") == 0)
		btx_error_hint(err, "Check the bucket name.");
	else if (strcmp(code, "NotFound") == 0 || strcmp(code, "NoSuchKey") == 0)
		btx_error_hint(err, "The object does not exist.");
	else if (resp->klass == BTX_S3_TRANSIENT)
		btx_error_hint(err, "%s is throttling or failing; the request was tried %d times (limit %d). Retry later or raise the retry limits.",
					   is_sts ? "STS" : "S3", resp->attempts, max_attempts);
}

/* ---------------------------------------------------------------- retries */

/*
 * New credentials from the owner's refresh callback.  Never on the upload
 * thread (detached): the callback is the owner's, so the call fails there
 * and the owner uploads the part again itself.
 */
static int
refresh(btx_s3_client *c, btx_s3_response *resp, btx_error *err)
{
	btx_s3_credentials fresh;

	if (c->detached)
		return detached_refresh_needed(c, resp, err);
	memset(&fresh, 0, sizeof(fresh));
	if (c->cfg.refresh_credentials(c->cfg.callback_arg, &fresh, err) != 0)
	{
		btx_s3_credentials_clear(&fresh);
		if (err->code == 0)
			btx_error_set(err, 1, "38000", "could not refresh the S3 credentials");
		return -1;
	}
	btx_s3_credentials_copy(&c->creds, &fresh);
	btx_s3_credentials_clear(&fresh);
	return 0;
}

int
btx_s3_call_perform(btx_s3_client *c, const btx_s3_call *call, btx_s3_response *resp,
					btx_error *err)
{
	int			attempt;
	int			refreshed = 0;
	int			skew_fixed = 0;
	time_t		server_time;

	btx_error_clear(err);
	resp->attempts = 0;
	for (attempt = 1;; attempt++)
	{
		if (interrupted(c))
		{
			response_reset(resp);
			resp->klass = BTX_S3_CANCELED;
			resp->net_error = BTX_HTTP_NET_ABORTED;
			break;
		}
		/* refresh credentials that are about to expire */
		if (!call->unsigned_request && c->cfg.refresh_credentials && c->creds.expiration != 0 &&
			c->creds.expiration - REFRESH_MARGIN_S <= client_now(c) && refresh(c, resp, err) != 0)
			return -1;
		response_reset(resp);
		resp->attempts = attempt;
		if (perform_once(c, call, resp, &server_time, err) != 0)
			return -1;
		if (resp->klass == BTX_S3_OK)
			return 0;
		if (resp->klass == BTX_S3_CANCELED)
			break;
		if (resp->klass == BTX_S3_EXPIRED_CREDENTIALS && c->cfg.refresh_credentials && !refreshed &&
			!call->unsigned_request)
		{
			refreshed = 1;
			if (refresh(c, resp, err) != 0)
				return -1;
			attempt--;			/* a refresh does not use up an attempt */
			continue;
		}
		if (strcmp(resp->error_code, "RequestTimeTooSkewed") == 0 && !skew_fixed && server_time != 0)
		{
			skew_fixed = 1;
			c->clock_offset = (long) (server_time - client_now(c));
			attempt--;
			continue;
		}
		if (resp->klass != BTX_S3_TRANSIENT || attempt >= c->cfg.retry_max_attempts)
			break;
		if (client_sleep(c,
						 btx_http_backoff_ms(attempt, c->cfg.retry_base_ms, c->cfg.retry_cap_ms,
											  next_random(c))) != 0)
		{
			resp->klass = BTX_S3_CANCELED;
			resp->net_error = BTX_HTTP_NET_ABORTED;
			break;
		}
	}
	btx_s3_describe_error(call, resp, c->cfg.retry_max_attempts, err);
	return -1;
}

/* ---------------------------------------------------------------- operations */

static void
call_init(btx_s3_call *call, const char *op, const char *what, const char *method,
		  const char *bucket, const char *key)
{
	memset(call, 0, sizeof(*call));
	call->operation = op;
	call->what = what;
	call->service = "s3";
	call->method = method;
	call->bucket = bucket;
	call->key = key;
}

/* SSE + ACL headers for PutObject / CreateMultipartUpload */
static int
object_headers(btx_s3_client *c, const btx_s3_put_options *opt, const char **h, char **owned,
			   int *nowned, int n)
{
	btx_buf		b;

	btx_buf_init(&b);
	btx_buf_appendf(&b, "Content-Type: %s",
					opt && opt->content_type ? opt->content_type : "application/octet-stream");
	if (b.oom)
		return -1;
	owned[(*nowned)++] = btx_buf_steal(&b);
	h[n++] = owned[*nowned - 1];
	if (c->cfg.sse == BTX_S3_SSE_AES256)
		h[n++] = "x-amz-server-side-encryption: AES256";
	else if (c->cfg.sse == BTX_S3_SSE_KMS)
	{
		h[n++] = "x-amz-server-side-encryption: aws:kms";
		if (c->sse_kms_key_id && c->sse_kms_key_id[0])
		{
			btx_buf_init(&b);
			btx_buf_appendf(&b, "x-amz-server-side-encryption-aws-kms-key-id: %s", c->sse_kms_key_id);
			if (b.oom)
				return -1;
			owned[(*nowned)++] = btx_buf_steal(&b);
			h[n++] = owned[*nowned - 1];
		}
	}
	if (c->cfg.acl_bucket_owner_full_control)
		h[n++] = "x-amz-acl: bucket-owner-full-control";
	return n;
}

int
btx_s3_put_object(btx_s3_client *c, const char *bucket, const char *key, const void *body,
				  size_t len, const btx_s3_put_options *opt, btx_s3_response *resp, btx_error *err)
{
	btx_s3_call call;
	const char *h[8];
	char	   *owned[4];
	int			nowned = 0;
	int			n;
	unsigned char md5[16];
	char		md5b64[32];
	char		md5hdr[64];
	int			r;

	call_init(&call, "PutObject", "put object", "PUT", bucket, key);
	n = object_headers(c, opt, h, owned, &nowned, 0);
	if (n < 0)
	{
		while (nowned > 0)
			free(owned[--nowned]);
		return oom_error(err);
	}
	btx_sigv4_md5(body ? body : "", len, md5);
	btx_sigv4_base64(md5, 16, md5b64);
	snprintf(md5hdr, sizeof(md5hdr), "Content-MD5: %s", md5b64);
	h[n++] = md5hdr;
	if (opt && opt->if_none_match)
		h[n++] = "If-None-Match: *";
	call.headers = h;
	call.nheaders = n;
	call.body = body;
	call.body_len = len;
	r = btx_s3_call_perform(c, &call, resp, err);
	while (nowned > 0)
		free(owned[--nowned]);
	return r;
}

int
btx_s3_head_object(btx_s3_client *c, const char *bucket, const char *key,
				   btx_s3_response *resp, btx_error *err)
{
	btx_s3_call call;

	call_init(&call, "HeadObject", "head object", "HEAD", bucket, key);
	return btx_s3_call_perform(c, &call, resp, err);
}

/* the whole object in resp->body (at most the response limit, 64 MB: metadata, not data) */
int
btx_s3_get_object(btx_s3_client *c, const char *bucket, const char *key,
				  btx_s3_response *resp, btx_error *err)
{
	btx_s3_call call;

	call_init(&call, "GetObject", "get object", "GET", bucket, key);
	return btx_s3_call_perform(c, &call, resp, err);
}

int
btx_s3_delete_object(btx_s3_client *c, const char *bucket, const char *key,
					 btx_s3_response *resp, btx_error *err)
{
	btx_s3_call call;

	call_init(&call, "DeleteObject", "delete object", "DELETE", bucket, key);
	return btx_s3_call_perform(c, &call, resp, err);
}

int
btx_s3_list_objects_v2(btx_s3_client *c, const char *bucket, const char *prefix,
					   const char *continuation_token, int max_keys,
					   btx_s3_object_list *out, btx_s3_response *resp, btx_error *err)
{
	btx_s3_call call;
	btx_buf		q;
	int			r;

	btx_buf_init(&q);
	btx_buf_puts(&q, "list-type=2");
	if (prefix && prefix[0])
	{
		btx_buf_puts(&q, "&prefix=");
		btx_sigv4_uri_encode(&q, prefix, strlen(prefix), 0);
	}
	if (continuation_token && continuation_token[0])
	{
		btx_buf_puts(&q, "&continuation-token=");
		btx_sigv4_uri_encode(&q, continuation_token, strlen(continuation_token), 0);
	}
	if (max_keys > 0)
		btx_buf_appendf(&q, "&max-keys=%d", max_keys);
	if (q.oom)
		return oom_error(err);
	call_init(&call, "ListObjectsV2", "list objects in", "GET", bucket, NULL);
	call.query = q.data;
	r = btx_s3_call_perform(c, &call, resp, err);
	btx_buf_free(&q);
	if (r == 0)
	{
		out->truncated = 0;
		if (btx_s3xml_parse_list_objects(resp->body.data, resp->body.len, out) != 0)
		{
			btx_error_set(err, 1, "38000", "could not parse the ListObjectsV2 answer for \"s3://%s\"", bucket);
			btx_error_detail(err, "The body is not a ListBucketResult document (HTTP %ld).", resp->status);
			resp->klass = BTX_S3_PERMANENT;
			return -1;
		}
	}
	return r;
}

int
btx_s3_create_multipart_upload(btx_s3_client *c, const char *bucket, const char *key,
							   const btx_s3_put_options *opt, char **upload_id,
							   btx_s3_response *resp, btx_error *err)
{
	btx_s3_call call;
	const char *h[8];
	char	   *owned[4];
	int			nowned = 0;
	int			n;
	int			r;

	*upload_id = NULL;
	call_init(&call, "CreateMultipartUpload", "create multipart upload for", "POST", bucket, key);
	n = object_headers(c, opt, h, owned, &nowned, 0);
	if (n < 0)
	{
		while (nowned > 0)
			free(owned[--nowned]);
		return oom_error(err);
	}
	call.headers = h;
	call.nheaders = n;
	call.query = "uploads";
	r = btx_s3_call_perform(c, &call, resp, err);
	while (nowned > 0)
		free(owned[--nowned]);
	if (r == 0 && btx_s3xml_parse_initiate(resp->body.data, resp->body.len, upload_id) != 0)
	{
		btx_error_set(err, 1, "38000", "could not parse the CreateMultipartUpload answer for \"s3://%s/%s\"",
					  bucket, key);
		btx_error_detail(err, "The body holds no UploadId (HTTP %ld).", resp->status);
		resp->klass = BTX_S3_PERMANENT;
		return -1;
	}
	return r;
}

static int
upload_query(btx_buf *q, const char *upload_id, int part_number)
{
	if (part_number > 0)
		btx_buf_appendf(q, "partNumber=%d&", part_number);
	btx_buf_puts(q, "uploadId=");
	btx_sigv4_uri_encode(q, upload_id, strlen(upload_id), 0);
	return q->oom ? -1 : 0;
}

int
btx_s3_upload_part(btx_s3_client *c, const char *bucket, const char *key, const char *upload_id,
				   int part_number, const void *data, size_t len, btx_s3_response *resp,
				   btx_error *err)
{
	btx_s3_call call;
	btx_buf		q;
	unsigned char md5[16];
	char		md5b64[32];
	char		md5hdr[64];
	const char *h[1];
	int			r;

	btx_buf_init(&q);
	if (upload_query(&q, upload_id, part_number) != 0)
		return oom_error(err);
	btx_sigv4_md5(data ? data : "", len, md5);
	btx_sigv4_base64(md5, 16, md5b64);
	snprintf(md5hdr, sizeof(md5hdr), "Content-MD5: %s", md5b64);
	h[0] = md5hdr;
	call_init(&call, "UploadPart", "upload a part of", "PUT", bucket, key);
	call.query = q.data;
	call.headers = h;
	call.nheaders = 1;
	call.body = data;
	call.body_len = len;
	r = btx_s3_call_perform(c, &call, resp, err);
	btx_buf_free(&q);
	if (r == 0 && resp->etag[0] == '\0')
	{
		btx_error_set(err, 1, "38000", "S3 returned no ETag for part %d of \"s3://%s/%s\"",
					  part_number, bucket, key);
		resp->klass = BTX_S3_PERMANENT;
		return -1;
	}
	return r;
}

int
btx_s3_complete_multipart_upload(btx_s3_client *c, const char *bucket, const char *key,
								 const char *upload_id, const btx_s3_part *parts, int nparts,
								 int if_none_match, btx_s3_response *resp, btx_error *err)
{
	btx_s3_call call;
	btx_buf		q;
	btx_buf		body;
	const char *h[3];
	int			n = 0;
	int			i;
	int			r;
	char		etag[128];

	btx_buf_init(&q);
	btx_buf_init(&body);
	if (upload_query(&q, upload_id, 0) != 0)
		return oom_error(err);
	btx_buf_puts(&body, "<CompleteMultipartUpload xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">");
	for (i = 0; i < nparts; i++)
	{
		/* ETags are quoted hex: nothing to escape, but be safe with & < > */
		const char *e;

		btx_buf_appendf(&body, "<Part><PartNumber>%d</PartNumber><ETag>", parts[i].number);
		for (e = parts[i].etag; *e; e++)
		{
			if (*e == '&')
				btx_buf_puts(&body, "&amp;");
			else if (*e == '<')
				btx_buf_puts(&body, "&lt;");
			else if (*e == '>')
				btx_buf_puts(&body, "&gt;");
			else
				btx_buf_putc(&body, *e);
		}
		btx_buf_puts(&body, "</ETag></Part>");
	}
	btx_buf_puts(&body, "</CompleteMultipartUpload>");
	if (body.oom)
	{
		btx_buf_free(&q);
		btx_buf_free(&body);
		return oom_error(err);
	}
	h[n++] = "Content-Type: application/xml";
	if (if_none_match)
		h[n++] = "If-None-Match: *";
	call_init(&call, "CompleteMultipartUpload", "complete multipart upload of", "POST", bucket, key);
	call.query = q.data;
	call.headers = h;
	call.nheaders = n;
	call.body = body.data;
	call.body_len = body.len;
	r = btx_s3_call_perform(c, &call, resp, err);
	btx_buf_free(&q);
	btx_buf_free(&body);
	if (r == 0)
	{
		if (btx_s3xml_parse_complete(resp->body.data, resp->body.len, etag, sizeof(etag)) != 0)
		{
			btx_error_set(err, 1, "38000", "could not parse the CompleteMultipartUpload answer for \"s3://%s/%s\"",
						  bucket, key);
			btx_error_detail(err, "The body is not an XML document (HTTP %ld).",
							 resp->status);
			resp->klass = BTX_S3_PERMANENT;
			return -1;
		}
		if (etag[0])
			snprintf(resp->etag, sizeof(resp->etag), "%s", etag);
	}
	return r;
}

int
btx_s3_abort_multipart_upload(btx_s3_client *c, const char *bucket, const char *key,
							  const char *upload_id, btx_s3_response *resp, btx_error *err)
{
	btx_s3_call call;
	btx_buf		q;
	int			r;

	btx_buf_init(&q);
	if (upload_query(&q, upload_id, 0) != 0)
		return oom_error(err);
	call_init(&call, "AbortMultipartUpload", "abort multipart upload of", "DELETE", bucket, key);
	call.query = q.data;
	r = btx_s3_call_perform(c, &call, resp, err);
	btx_buf_free(&q);
	return r;
}

int
btx_s3_list_multipart_uploads(btx_s3_client *c, const char *bucket, const char *prefix,
							  btx_s3_upload_list *out, btx_s3_response *resp, btx_error *err)
{
	btx_s3_call call;
	btx_buf		q;
	int			r;

	btx_buf_init(&q);
	btx_buf_puts(&q, "uploads");
	if (prefix && prefix[0])
	{
		btx_buf_puts(&q, "&prefix=");
		btx_sigv4_uri_encode(&q, prefix, strlen(prefix), 0);
	}
	if (q.oom)
		return oom_error(err);
	call_init(&call, "ListMultipartUploads", "list multipart uploads in", "GET", bucket, NULL);
	call.query = q.data;
	r = btx_s3_call_perform(c, &call, resp, err);
	btx_buf_free(&q);
	if (r == 0 && btx_s3xml_parse_list_uploads(resp->body.data, resp->body.len, out) != 0)
	{
		btx_error_set(err, 1, "38000", "could not parse the ListMultipartUploads answer for \"s3://%s\"",
					  bucket);
		resp->klass = BTX_S3_PERMANENT;
		return -1;
	}
	return r;
}
