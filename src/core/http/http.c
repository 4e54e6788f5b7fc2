/*
 * http.c — the HTTP client of the cores (see http.h for the design): the
 * libcurl transport (protocol restriction, no redirects, timeouts, interrupt
 * polling, body cap, error classification) and btx_http_exchange(), which
 * adds the rules every transport is held to: the body cap again, gzip
 * inflation with zlib, and same-origin-only redirects.
 */
#include "core/http/http.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>
#include <zlib.h>

#define DEFAULT_MAX_BODY ((size_t) 64 * 1024 * 1024)
#define MAX_HEADER_BYTES (1024 * 1024)
#define MAX_HEADER_LINES 48

struct btx_http_client
{
	btx_http_config cfg;
	CURL	   *curl;			/* kept between exchanges: connection reuse */
	int			aborted;		/* set by the progress callback */
};

int
btx_http_global_init(void)
{
	return curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK ? 0 : -1;
}

void
btx_http_global_cleanup(void)
{
	curl_global_cleanup();
}

btx_http_client *
btx_http_client_new(const btx_http_config *cfg)
{
	btx_http_client *c = calloc(1, sizeof(*c));

	if (c == NULL)
		return NULL;
	c->cfg = *cfg;
	if (c->cfg.connect_timeout_ms <= 0)
		c->cfg.connect_timeout_ms = 10000;
	if (c->cfg.low_speed_limit <= 0)
		c->cfg.low_speed_limit = 1024;
	if (c->cfg.low_speed_time_s <= 0)
		c->cfg.low_speed_time_s = 30;
	if (c->cfg.max_body == 0)
		c->cfg.max_body = DEFAULT_MAX_BODY;
	return c;
}

void
btx_http_client_free(btx_http_client *c)
{
	if (c == NULL)
		return;
	if (c->curl)
		curl_easy_cleanup(c->curl);
	free(c);
}

const btx_http_config *
btx_http_client_config(const btx_http_client *c)
{
	return &c->cfg;
}

void
btx_http_response_init(btx_http_response *r)
{
	memset(r, 0, sizeof(*r));
	btx_buf_init(&r->headers);
	btx_buf_init(&r->body);
}

void
btx_http_response_free(btx_http_response *r)
{
	btx_buf_free(&r->headers);
	btx_buf_free(&r->body);
	btx_http_response_init(r);
}

void
btx_http_response_reset(btx_http_response *r)
{
	btx_buf		h = r->headers;
	btx_buf		b = r->body;

	btx_buf_reset(&h);
	btx_buf_reset(&b);
	memset(r, 0, sizeof(*r));
	r->headers = h;
	r->body = b;
}

/* ---------------------------------------------------------------- curl */

typedef struct read_state
{
	const char *p;
	size_t		len;
	size_t		off;
} read_state;

typedef struct write_state
{
	btx_buf    *b;
	size_t		max;
	int			too_large;
} write_state;

static size_t
curl_write_cb(char *ptr, size_t size, size_t nmemb, void *ud)
{
	write_state *ws = ud;
	size_t		n = size * nmemb;

	if (ws->max && ws->b->len + n > ws->max)
	{
		ws->too_large = 1;
		return 0;
	}
	if (btx_buf_append(ws->b, ptr, n) != 0)
		return 0;
	return n;
}

static size_t
curl_header_cb(char *ptr, size_t size, size_t nmemb, void *ud)
{
	btx_buf    *b = ud;
	size_t		n = size * nmemb;

	/* a new status line starts a new header block (1xx, ...) */
	if (n >= 5 && strncmp(ptr, "HTTP/", 5) == 0)
		btx_buf_reset(b);
	if (b->len + n > MAX_HEADER_BYTES || btx_buf_append(b, ptr, n) != 0)
		return 0;
	return n;
}

static size_t
curl_read_cb(char *buf, size_t size, size_t nmemb, void *ud)
{
	read_state *rs = ud;
	size_t		want = size * nmemb;
	size_t		left = rs->len - rs->off;

	if (want > left)
		want = left;
	if (want)
		memcpy(buf, rs->p + rs->off, want);
	rs->off += want;
	return want;
}

static int
curl_seek_cb(void *ud, curl_off_t offset, int origin)
{
	read_state *rs = ud;

	if (origin != SEEK_SET || offset < 0 || (size_t) offset > rs->len)
		return CURL_SEEKFUNC_CANTSEEK;
	rs->off = (size_t) offset;
	return CURL_SEEKFUNC_OK;
}

static int
curl_xfer_cb(void *ud, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal, curl_off_t ulnow)
{
	btx_http_client *c = ud;

	if (c->cfg.interrupt && c->cfg.interrupt(c->cfg.interrupt_arg))
	{
		c->aborted = 1;
		return 1;
	}
	return 0;
}

static btx_http_net
map_curl_error(CURLcode rc)
{
	switch (rc)
	{
		case CURLE_COULDNT_RESOLVE_HOST:
		case CURLE_COULDNT_RESOLVE_PROXY:
			return BTX_HTTP_NET_DNS;
		case CURLE_COULDNT_CONNECT:
			return BTX_HTTP_NET_CONNECT;
		case CURLE_OPERATION_TIMEDOUT:
			return BTX_HTTP_NET_TIMEOUT;
		case CURLE_SEND_ERROR:
		case CURLE_RECV_ERROR:
		case CURLE_GOT_NOTHING:
		case CURLE_PARTIAL_FILE:
		case CURLE_HTTP2:
		case CURLE_HTTP2_STREAM:
		case CURLE_SEND_FAIL_REWIND:
		case CURLE_SSL_CONNECT_ERROR:
			return BTX_HTTP_NET_RESET;
		case CURLE_PEER_FAILED_VERIFICATION:
		case CURLE_SSL_CACERT_BADFILE:
		case CURLE_SSL_CERTPROBLEM:
			return BTX_HTTP_NET_TLS;
		case CURLE_ABORTED_BY_CALLBACK:
			return BTX_HTTP_NET_ABORTED;
		case CURLE_UNSUPPORTED_PROTOCOL:
		case CURLE_URL_MALFORMAT:
			return BTX_HTTP_NET_PROTOCOL;
		default:
			return BTX_HTTP_NET_OTHER;
	}
}

static void
set_method(CURL *curl, const btx_http_request *req, read_state *rs)
{
	if (strcmp(req->method, "HEAD") == 0)
		curl_easy_setopt(curl, CURLOPT_NOBODY, 1L);
	else if (strcmp(req->method, "PUT") == 0 || strcmp(req->method, "POST") == 0)
	{
		curl_easy_setopt(curl, CURLOPT_UPLOAD, 1L);
		curl_easy_setopt(curl, CURLOPT_READFUNCTION, curl_read_cb);
		curl_easy_setopt(curl, CURLOPT_READDATA, rs);
		curl_easy_setopt(curl, CURLOPT_SEEKFUNCTION, curl_seek_cb);
		curl_easy_setopt(curl, CURLOPT_SEEKDATA, rs);
		curl_easy_setopt(curl, CURLOPT_INFILESIZE_LARGE, (curl_off_t) req->body_len);
		if (strcmp(req->method, "POST") == 0)
			curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, "POST");
	}
	else if (strcmp(req->method, "GET") != 0)
		curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, req->method);
}

static int
curl_transport(btx_http_client *c, const btx_http_request *req, btx_http_response *resp)
{
	struct curl_slist *hl = NULL;
	struct curl_slist *t;
	char		errbuf[CURL_ERROR_SIZE];
	read_state	rs;
	write_state ws;
	CURLcode	rc;
	int			i;
	const char *protos = c->cfg.allow_http ? "http,https" : "https";

	if (c->curl == NULL)
	{
		c->curl = curl_easy_init();
		if (c->curl == NULL)
		{
			resp->net_error = BTX_HTTP_NET_OTHER;
			snprintf(resp->net_message, sizeof(resp->net_message), "curl_easy_init failed");
			return -1;
		}
	}
	else
		curl_easy_reset(c->curl);	/* keeps the connection cache */

	for (i = 0; i < req->nheaders; i++)
	{
		t = curl_slist_append(hl, req->headers[i]);
		if (t == NULL)
		{
			curl_slist_free_all(hl);
			resp->net_error = BTX_HTTP_NET_OTHER;
			snprintf(resp->net_message, sizeof(resp->net_message), "out of memory");
			return -1;
		}
		hl = t;
	}
	errbuf[0] = '\0';
	rs.p = req->body;
	rs.len = req->body_len;
	rs.off = 0;
	ws.b = &resp->body;
	ws.max = req->max_body;
	ws.too_large = 0;
	c->aborted = 0;

	curl_easy_setopt(c->curl, CURLOPT_URL, req->url);
	curl_easy_setopt(c->curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c->curl, CURLOPT_PROTOCOLS_STR, protos);
	curl_easy_setopt(c->curl, CURLOPT_REDIR_PROTOCOLS_STR, protos);
	curl_easy_setopt(c->curl, CURLOPT_FOLLOWLOCATION, 0L);
	/* bodies arrive as sent; btx_http_exchange inflates gzip itself */
	curl_easy_setopt(c->curl, CURLOPT_HTTP_CONTENT_DECODING, 0L);
	curl_easy_setopt(c->curl, CURLOPT_VERBOSE, 0L);
	curl_easy_setopt(c->curl, CURLOPT_CONNECTTIMEOUT_MS, c->cfg.connect_timeout_ms);
	curl_easy_setopt(c->curl, CURLOPT_LOW_SPEED_LIMIT, c->cfg.low_speed_limit);
	curl_easy_setopt(c->curl, CURLOPT_LOW_SPEED_TIME, c->cfg.low_speed_time_s);
	if (c->cfg.request_timeout_ms > 0)
		curl_easy_setopt(c->curl, CURLOPT_TIMEOUT_MS, c->cfg.request_timeout_ms);
	curl_easy_setopt(c->curl, CURLOPT_ERRORBUFFER, errbuf);
	curl_easy_setopt(c->curl, CURLOPT_HTTPHEADER, hl);
	curl_easy_setopt(c->curl, CURLOPT_WRITEFUNCTION, curl_write_cb);
	curl_easy_setopt(c->curl, CURLOPT_WRITEDATA, &ws);
	curl_easy_setopt(c->curl, CURLOPT_HEADERFUNCTION, curl_header_cb);
	curl_easy_setopt(c->curl, CURLOPT_HEADERDATA, &resp->headers);
	curl_easy_setopt(c->curl, CURLOPT_NOPROGRESS, 0L);
	curl_easy_setopt(c->curl, CURLOPT_XFERINFOFUNCTION, curl_xfer_cb);
	curl_easy_setopt(c->curl, CURLOPT_XFERINFODATA, c);
	set_method(c->curl, req, &rs);

	rc = curl_easy_perform(c->curl);
	/* the slist and errbuf must not outlive this call inside the handle */
	curl_easy_setopt(c->curl, CURLOPT_HTTPHEADER, NULL);
	curl_easy_setopt(c->curl, CURLOPT_ERRORBUFFER, NULL);
	curl_slist_free_all(hl);
	if (rc != CURLE_OK)
	{
		resp->net_error = c->aborted ? BTX_HTTP_NET_ABORTED :
			ws.too_large ? BTX_HTTP_NET_TOO_LARGE : map_curl_error(rc);
		if (ws.too_large)
			snprintf(resp->net_message, sizeof(resp->net_message),
					 "the response body exceeds %zu bytes", req->max_body);
		else
			snprintf(resp->net_message, sizeof(resp->net_message), "%s",
					 errbuf[0] ? errbuf : curl_easy_strerror(rc));
		resp->status = 0;
		return -1;
	}
	curl_easy_getinfo(c->curl, CURLINFO_RESPONSE_CODE, &resp->status);
	return 0;
}

/* ---------------------------------------------------------------- gzip */

btx_http_net
btx_http_gunzip(const void *in, size_t len, size_t max, btx_buf *out)
{
	z_stream	zs;
	unsigned char chunk[16384];
	int			zr = Z_OK;
	btx_http_net result = BTX_HTTP_NET_NONE;

	memset(&zs, 0, sizeof(zs));
	if (inflateInit2(&zs, 16 + MAX_WBITS) != Z_OK)
		return BTX_HTTP_NET_OTHER;
	zs.next_in = (Bytef *) in;
	zs.avail_in = 0;
	while (len > 0 || zs.avail_in > 0)
	{
		size_t		take;

		if (zs.avail_in == 0)
		{
			take = len > (1u << 30) ? (1u << 30) : len;
			zs.avail_in = (uInt) take;
			len -= take;
		}
		zs.next_out = chunk;
		zs.avail_out = sizeof(chunk);
		zr = inflate(&zs, Z_NO_FLUSH);
		if (zr != Z_OK && zr != Z_STREAM_END && !(zr == Z_BUF_ERROR && zs.avail_out == 0))
		{
			result = BTX_HTTP_NET_BAD_ENCODING;
			break;
		}
		if (out->len + (sizeof(chunk) - zs.avail_out) > max)
		{
			result = BTX_HTTP_NET_TOO_LARGE;
			break;
		}
		if (btx_buf_append(out, chunk, sizeof(chunk) - zs.avail_out) != 0)
		{
			result = BTX_HTTP_NET_OTHER;
			break;
		}
		if (zr == Z_STREAM_END)
		{
			/* another member may follow (concatenated gzip) */
			if (zs.avail_in == 0 && len == 0)
				break;
			if (inflateReset(&zs) != Z_OK)
			{
				result = BTX_HTTP_NET_BAD_ENCODING;
				break;
			}
		}
	}
	if (result == BTX_HTTP_NET_NONE && zr != Z_STREAM_END)
		result = BTX_HTTP_NET_BAD_ENCODING;	/* truncated */
	inflateEnd(&zs);
	return result;
}

/* a body to inflate: Content-Encoding gzip, or the gzip magic (JSON never starts so) */
static int
is_gzip(const btx_http_response *resp)
{
	char		enc[64];

	if (btx_http_header_get(&resp->headers, "content-encoding", enc, sizeof(enc)))
	{
		if (strcasecmp(enc, "gzip") == 0 || strcasecmp(enc, "x-gzip") == 0)
			return 1;
		if (strcasecmp(enc, "identity") != 0 && enc[0] != '\0')
			return -1;			/* an encoding we did not ask for */
	}
	return resp->body.len >= 2 && (unsigned char) resp->body.data[0] == 0x1f &&
		(unsigned char) resp->body.data[1] == 0x8b;
}

static int
net_failure(btx_http_response *resp, btx_http_net n, const char *fmt, size_t arg)
{
	resp->net_error = n;
	resp->status = 0;
	snprintf(resp->net_message, sizeof(resp->net_message), fmt, arg);
	return -1;
}

/* ---------------------------------------------------------------- exchange */

/* one exchange through the transport, with the body cap and gzip applied */
static int
exchange_once(btx_http_client *c, const btx_http_request *req, int accept_gzip,
			  btx_http_response *resp)
{
	int			r;
	int			gz;

	btx_http_response_reset(resp);
	if (c->cfg.transport)
		r = c->cfg.transport(c->cfg.transport_arg, req, resp);
	else
		r = curl_transport(c, req, resp);
	if (r != 0 || resp->net_error != BTX_HTTP_NET_NONE)
	{
		if (resp->net_error == BTX_HTTP_NET_NONE)
			resp->net_error = BTX_HTTP_NET_OTHER;
		resp->status = 0;
		return -1;
	}
	if (resp->body.oom || resp->headers.oom)
		return net_failure(resp, BTX_HTTP_NET_OTHER, "out of memory reading %zu bytes", resp->body.len);
	if (req->max_body && resp->body.len > req->max_body)
		return net_failure(resp, BTX_HTTP_NET_TOO_LARGE, "the response body exceeds %zu bytes",
						   req->max_body);
	gz = accept_gzip && resp->body.len > 0 ? is_gzip(resp) : 0;
	if (gz < 0)
		return net_failure(resp, BTX_HTTP_NET_BAD_ENCODING,
						   "the response uses a content encoding that was not requested (%zu bytes)",
						   resp->body.len);
	if (gz > 0)
	{
		btx_buf		plain;
		btx_http_net n;

		btx_buf_init(&plain);
		n = btx_http_gunzip(resp->body.data, resp->body.len,
							req->max_body ? req->max_body : (size_t) -1, &plain);
		if (n != BTX_HTTP_NET_NONE)
		{
			btx_buf_free(&plain);
			if (n == BTX_HTTP_NET_TOO_LARGE)
				return net_failure(resp, n, "the inflated response body exceeds %zu bytes",
								   req->max_body);
			return net_failure(resp, n, "the gzip response body (%zu bytes) does not inflate",
							   resp->body.len);
		}
		btx_buf_free(&resp->body);
		resp->body = plain;
	}
	return 0;
}

static int
is_redirect(long status)
{
	return status == 301 || status == 302 || status == 303 || status == 307 || status == 308;
}

int
btx_http_exchange(btx_http_client *c, const btx_http_request *req, const btx_http_options *opt,
				  btx_http_response *resp)
{
	btx_http_request cur = *req;
	const char *lines[MAX_HEADER_LINES + 1];
	btx_buf		url;
	btx_buf		next;
	char		location[4096];
	int			accept_gzip = opt && opt->accept_gzip;
	int			max_redirects = opt ? opt->max_redirects : 0;
	int			hops = 0;
	int			r;
	int			i;

	if (req->nheaders > MAX_HEADER_LINES)
	{
		btx_http_response_reset(resp);
		return net_failure(resp, BTX_HTTP_NET_OTHER, "too many request headers (%zu)",
						   (size_t) req->nheaders);
	}
	if (cur.max_body == 0)
		cur.max_body = c->cfg.max_body;
	if (accept_gzip)
	{
		for (i = 0; i < req->nheaders; i++)
			lines[i] = req->headers[i];
		lines[i++] = "Accept-Encoding: gzip";
		cur.headers = lines;
		cur.nheaders = i;
	}
	btx_buf_init(&url);
	btx_buf_init(&next);
	btx_buf_puts(&url, req->url);
	for (;;)
	{
		cur.url = url.data;
		r = exchange_once(c, &cur, accept_gzip, resp);
		resp->redirects = hops;
		if (r != 0 || !is_redirect(resp->status))
			break;
		if (!btx_http_header_get(&resp->headers, "location", location, sizeof(location)) ||
			btx_http_resolve(url.data, location, &next) != 0)
			break;				/* a 3xx without a usable Location: the caller sees it */
		memset(location, 0, sizeof(location));	/* may be a presigned URL */
		if (!btx_http_same_origin(url.data, next.data))
		{
			/* never follow: the request's headers (the key) stay with its origin */
			resp->offsite_redirect = 1;
			break;
		}
		if (hops >= max_redirects)
			break;
		hops++;
		if (resp->status == 303 || ((resp->status == 301 || resp->status == 302) &&
									strcmp(cur.method, "POST") == 0))
		{
			cur.method = "GET";
			cur.body = NULL;
			cur.body_len = 0;
		}
		btx_buf_reset(&url);
		btx_buf_append(&url, next.data, next.len);
		if (url.oom)
		{
			r = net_failure(resp, BTX_HTTP_NET_OTHER, "out of memory (%zu)", next.len);
			break;
		}
	}
	btx_buf_free(&next);
	btx_buf_free(&url);
	return r;
}
