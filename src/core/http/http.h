/*
 * http.h — the HTTP transport shared by the plain-C cores (s3, btapi).  No
 * PostgreSQL headers, no mutable globals (libcurl's own process-wide init
 * aside), errors as values.
 *
 * Design
 *   - One exchange = one btx_http_request through a transport.  The default
 *     transport is libcurl; tests plug in a scripted function of the same
 *     type (btx_http_transport_fn), so every code path above the wire is
 *     tested without a network.
 *   - Outbound rules, enforced for every transport:
 *       * protocols: https only, http only when the client allows it
 *         (allow_http; for tests and superuser-enabled setups).  libcurl is
 *         also restricted to those protocols (CURLOPT_PROTOCOLS_STR).
 *       * redirects are never followed by libcurl.  btx_http_exchange()
 *         follows a redirect only when the caller allows it (max_redirects)
 *         AND the Location has the same origin (scheme, host, port) as the
 *         request: request headers, Authorization included, are only ever
 *         sent to the origin the caller chose.  A redirect to another origin
 *         is never followed; the 3xx is returned with offsite_redirect set
 *         and the Location is not kept (it may be a presigned URL, i.e. a
 *         secret).
 *       * response bodies are capped (max_body, default 64 MiB): a larger
 *         body, or a gzip body that inflates beyond the cap, stops the
 *         transfer with BTX_HTTP_NET_TOO_LARGE.  Memory per exchange is at
 *         most twice the cap (compressed + inflated), never the body size.
 *       * gzip: with accept_gzip the request carries Accept-Encoding: gzip
 *         and a body with Content-Encoding: gzip (or starting with the gzip
 *         magic, for offloaded .json.gz objects that lack the header) is
 *         inflated with zlib here, not by libcurl, so scripted transports
 *         exercise the same decoder.
 *       * the transfer polls the interrupt callback (curl progress callback)
 *         and stops with BTX_HTTP_NET_ABORTED when it answers non-zero;
 *         connect timeout, low-speed abort and an optional total timeout
 *         bound every exchange.
 *   - Network failures are classified (btx_http_net) from curl's codes;
 *     btx_http_net_transient() says which are worth a retry.
 *   - Retry building blocks for the cores' own retry loops: exponential
 *     backoff with full jitter, HTTP-date and Retry-After parsing, an
 *     xorshift random source the caller seeds and owns, an interruptible
 *     sleep.  The retry policy itself stays with each core (S3 and
 *     Braintrust classify answers differently).
 */
#ifndef BTX_HTTP_H
#define BTX_HTTP_H

#include <stddef.h>
#include <time.h>

#include "core/common/btx_buf.h"

/* network failure kinds (btx_http_response.net_error) */
typedef enum btx_http_net
{
	BTX_HTTP_NET_NONE = 0,
	BTX_HTTP_NET_DNS,
	BTX_HTTP_NET_CONNECT,
	BTX_HTTP_NET_TIMEOUT,
	BTX_HTTP_NET_RESET,
	BTX_HTTP_NET_TLS,
	BTX_HTTP_NET_ABORTED,		/* interrupt callback */
	BTX_HTTP_NET_PROTOCOL,		/* scheme not allowed, bad URL */
	BTX_HTTP_NET_TOO_LARGE,		/* body above max_body (raw or inflated) */
	BTX_HTTP_NET_BAD_ENCODING,	/* a gzip body that does not inflate */
	BTX_HTTP_NET_OTHER
} btx_http_net;

/* One HTTP exchange as seen by a transport. */
typedef struct btx_http_request
{
	const char *method;
	const char *url;			/* complete URL, query included */
	const char *const *headers; /* "Name: value" lines */
	int			nheaders;
	const void *body;
	size_t		body_len;
	size_t		max_body;		/* stop reading beyond this (0 = no cap) */
} btx_http_request;

typedef struct btx_http_response
{
	long		status;			/* 0 when no HTTP answer */
	btx_buf		headers;		/* raw header lines of the final response */
	btx_buf		body;
	btx_http_net net_error;
	char		net_message[256];
	int			redirects;		/* same-origin redirects followed */
	int			offsite_redirect;	/* a 3xx to another origin, not followed */
} btx_http_response;

/*
 * A transport performs one exchange and fills resp (status, raw headers,
 * body); returns 0, or -1 with resp->net_error set.  It must stop reading a
 * body beyond req->max_body with BTX_HTTP_NET_TOO_LARGE (the caller checks
 * again anyway).  The default is libcurl; tests plug in scripted ones.
 */
typedef int (*btx_http_transport_fn) (void *arg, const btx_http_request *req,
									  btx_http_response *resp);

typedef struct btx_http_config
{
	int			allow_http;		/* permit http:// */
	long		connect_timeout_ms; /* default 10000 */
	long		low_speed_limit;	/* bytes/s, default 1024 ... */
	long		low_speed_time_s;	/* ... over this many seconds, default 30 */
	long		request_timeout_ms; /* whole exchange; 0 = none */
	size_t		max_body;		/* default 64 MiB, raw and inflated */
	/* non-zero → abort the transfer now (polled during transfers) */
	int			(*interrupt) (void *arg);
	void	   *interrupt_arg;
	btx_http_transport_fn transport;	/* NULL = libcurl */
	void	   *transport_arg;
} btx_http_config;

typedef struct btx_http_options
{
	int			accept_gzip;	/* send Accept-Encoding: gzip, inflate gzip bodies */
	int			max_redirects;	/* same-origin redirects to follow (0 = none) */
} btx_http_options;

typedef struct btx_http_client btx_http_client;

/* curl_global_init: once per process, before the first client */
extern int	btx_http_global_init(void);
extern void btx_http_global_cleanup(void);

/* copies the config (defaults applied); NULL when out of memory */
extern btx_http_client *btx_http_client_new(const btx_http_config *cfg);
extern void btx_http_client_free(btx_http_client *c);
extern const btx_http_config *btx_http_client_config(const btx_http_client *c);

extern void btx_http_response_init(btx_http_response *r);
extern void btx_http_response_free(btx_http_response *r);
/* empty headers and body (buffers kept), clear status and errors */
extern void btx_http_response_reset(btx_http_response *r);

/*
 * One exchange through the client's transport, with the outbound rules
 * above.  Returns 0 when an HTTP answer (any status) is in resp, -1 with
 * resp->net_error set otherwise.  opt may be NULL (no gzip, no redirects).
 */
extern int	btx_http_exchange(btx_http_client *c, const btx_http_request *req,
							  const btx_http_options *opt, btx_http_response *resp);

/* ------------------------------------------------------------ building blocks */

/* DNS, connect, timeout and reset failures are worth a retry */
extern int	btx_http_net_transient(btx_http_net n);
/* "could not resolve host", "connection reset" ... */
extern const char *btx_http_net_reason(btx_http_net n);

/* full jitter: uniform in [0, min(cap_ms, base_ms * 2^(attempt-1))] */
extern long btx_http_backoff_ms(int attempt, long base_ms, long cap_ms, unsigned int rnd);

/* UTC broken-down time (month 0-11) -> time_t, fields range-checked; 0 or -1 */
extern int	btx_http_utc_time(int year, int mon0, int mday, int hour, int min, int sec,
							  time_t *out);

/* HTTP-date (IMF-fixdate, RFC 850 or asctime form) -> time_t; 0 or -1 */
extern int	btx_http_parse_date(const char *s, time_t *out);

/*
 * Retry-After value: delay-seconds or an HTTP-date (relative to now).
 * Returns 0 with *delay_ms (>= 0; a date in the past gives 0), -1 when the
 * value is neither.  Seconds are clamped to a day.
 */
extern int	btx_http_parse_retry_after(const char *value, time_t now, long *delay_ms);

/*
 * Walk the raw header block: returns 1 with the next "Name: value" line's
 * name and value (value trimmed of surrounding white space), 0 at the end.
 * Status lines and lines without a colon are skipped.  *cursor starts at
 * the block's first character.
 */
extern int	btx_http_header_next(const char **cursor, const char **name, size_t *nlen,
								 const char **value, size_t *vlen);
/* value of the last header called name (case-insensitive): 1 found, 0 not */
extern int	btx_http_header_get(const btx_buf *raw, const char *name, char *dst, size_t sz);
/* copy a header value of vl bytes into dst (truncated, NUL-terminated) */
extern void btx_http_copy_value(const char *v, size_t vl, char *dst, size_t sz);

/* A parsed "scheme://host[:port][/path]" URL (pieces are private copies). */
typedef struct btx_http_url
{
	btx_buf		scheme;			/* "https" or "http" */
	btx_buf		authority;		/* "host[:port]" as written */
	btx_buf		path;			/* "" or "/..." without a trailing '/' */
} btx_http_url;

extern void btx_http_url_init(btx_http_url *u);
extern void btx_http_url_free(btx_http_url *u);

/*
 * Parse a base URL.  what names it in messages ("S3 endpoint", "Braintrust
 * API URL"); allow_path permits a path prefix; user names, queries and
 * fragments are refused; http only with allow_http.  22023 errors.
 */
extern int	btx_http_parse_url(const char *url, const char *what, int allow_http, int allow_path,
							   btx_http_url *out, btx_error *err);

/* 1 when both absolute URLs have the same scheme, host and port */
extern int	btx_http_same_origin(const char *a, const char *b);

/*
 * Resolve a Location header against the URL it answered: absolute URLs,
 * "//authority/path" and absolute or relative paths.  0 or -1 (malformed).
 */
extern int	btx_http_resolve(const char *base, const char *location, btx_buf *out);

/* inflate a gzip body (one or more members) into out, at most max bytes */
extern btx_http_net btx_http_gunzip(const void *in, size_t len, size_t max, btx_buf *out);

/*
 * Percent-encode len bytes of s: RFC 3986 unreserved characters are kept,
 * '/' too with keep_slash, everything else becomes %XX (upper-case hex).
 * The encoding both SigV4 (canonical URIs) and query strings need.
 */
extern int	btx_http_percent_encode(btx_buf *out, const char *s, size_t len, int keep_slash);

/* xorshift32: a seed from the clock, the pid and salt; the next value */
extern unsigned int btx_http_rng_seed(const void *salt);
extern unsigned int btx_http_rng_next(unsigned int *state);

/* nanosleep, resumed after signals; a sleep callback (always returns 0) */
extern int	btx_http_sleep_ms(void *arg, long ms);

#endif							/* BTX_HTTP_H */
