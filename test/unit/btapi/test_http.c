/*
 * test_http.c — unit tests of the HTTP core (src/core/http): the pure
 * building blocks, and btx_http_exchange's outbound rules over a scripted
 * transport (gzip, body cap, redirects).  One real libcurl case: a plain
 * http URL refused without a connection when http is not allowed.
 */
#include <stdlib.h>
#include <string.h>

#include "../s3/t.h"
#include "script.h"
#include "tests.h"

static void
test_backoff(void)
{
	T_BEGIN("http: backoff with full jitter stays in [0, min(cap, base*2^(n-1))]");
	{
		int			i;

		for (i = 1; i <= 10; i++)
		{
			long		ceil = 100L << (i - 1);

			if (ceil > 5000)
				ceil = 5000;
			T_CHECK(btx_http_backoff_ms(i, 100, 5000, 0) == 0, "zero random %d", i);
			T_CHECK(btx_http_backoff_ms(i, 100, 5000, (unsigned int) ceil) == ceil, "max %d", i);
			T_CHECK(btx_http_backoff_ms(i, 100, 5000, 0xffffffffu) <= ceil, "bound %d", i);
		}
		T_CHECK(btx_http_backoff_ms(40, 100, 5000, 5000) == 5000, "cap");
	}
	T_END();
}

static void
test_dates(void)
{
	T_BEGIN("http: HTTP dates in the three RFC 7231 forms, garbage refused");
	{
		time_t		t = 0;

		T_CHECK(btx_http_parse_date("Tue, 24 Nov 2026 23:39:48 GMT", &t) == 0 && t == 1795563588, "imf");
		T_CHECK(btx_http_parse_date("Tuesday, 24-Nov-26 23:39:48 GMT", &t) == 0 && t == 1795563588, "rfc850");
		T_CHECK(btx_http_parse_date("Tue Nov 24 23:39:48 2026", &t) == 0 && t == 1795563588, "asctime");
		T_CHECK(btx_http_parse_date("Sun, 06 Nov 1994 08:49:37 GMT", &t) == 0 && t == 784111777, "rfc example");
		T_CHECK(btx_http_parse_date("yesterday", &t) != 0, "garbage");
		T_CHECK(btx_http_parse_date("Tue, 24 Nov 2026 23:39:48 GMT trailing", &t) != 0, "trailing");
		T_CHECK(btx_http_parse_date("Tue, 24 Foo 2026 23:39:48 GMT", &t) != 0, "month");
		T_CHECK(btx_http_parse_date("Tue, 24 Nov 2026 25:39:48 GMT", &t) != 0, "hour");
		T_CHECK(btx_http_parse_date(NULL, &t) != 0, "null");
	}
	T_END();
	T_BEGIN("http: Retry-After as seconds or HTTP date");
	{
		long		ms = -1;
		time_t		now = 1795563588;

		T_CHECK(btx_http_parse_retry_after("120", now, &ms) == 0 && ms == 120000, "seconds %ld", ms);
		T_CHECK(btx_http_parse_retry_after(" 5 ", now, &ms) == 0 && ms == 5000, "spaces %ld", ms);
		T_CHECK(btx_http_parse_retry_after("0", now, &ms) == 0 && ms == 0, "zero");
		T_CHECK(btx_http_parse_retry_after("99999999999999999999", now, &ms) == 0 && ms == 86400000L, "clamped %ld", ms);
		T_CHECK(btx_http_parse_retry_after("Tue, 24 Nov 2026 23:40:18 GMT", now, &ms) == 0 && ms == 30000, "date %ld", ms);
		T_CHECK(btx_http_parse_retry_after("Tue, 24 Nov 2026 23:00:00 GMT", now, &ms) == 0 && ms == 0, "past date");
		T_CHECK(btx_http_parse_retry_after("soon", now, &ms) != 0, "garbage");
		T_CHECK(btx_http_parse_retry_after("-5", now, &ms) != 0, "negative");
		T_CHECK(btx_http_parse_retry_after("1.5", now, &ms) != 0, "fraction");
	}
	T_END();
}

static void
test_headers_urls(void)
{
	T_BEGIN("http: header walking and lookup");
	{
		btx_buf		b;
		char		v[64];
		const char *cur;
		const char *n,
				   *val;
		size_t		nl,
					vl;
		int			count = 0;

		btx_buf_init(&b);
		btx_buf_puts(&b, "HTTP/1.1 200 OK\r\nContent-Type:  application/json \r\nno colon line\r\nX-A: 1\r\nx-a: 2\r\n\r\n");
		cur = b.data;
		while (btx_http_header_next(&cur, &n, &nl, &val, &vl))
			count++;
		T_CHECK(count == 3, "three headers, got %d", count);
		T_CHECK(btx_http_header_get(&b, "content-type", v, sizeof(v)) && strcmp(v, "application/json") == 0, "trimmed [%s]", v);
		T_CHECK(btx_http_header_get(&b, "X-A", v, sizeof(v)) && strcmp(v, "2") == 0, "last wins");
		T_CHECK(!btx_http_header_get(&b, "missing", v, sizeof(v)), "missing");
		btx_buf_free(&b);
	}
	T_END();
	T_BEGIN("http: base URLs: https only unless allowed, paths only where allowed");
	{
		btx_http_url u;
		btx_error	e;

		btx_http_url_init(&u);
		btx_error_clear(&e);
		T_CHECK(btx_http_parse_url("https://api.braintrust.dev", "API URL", 0, 1, &u, &e) == 0, "plain");
		T_STREQ(u.authority.data, "api.braintrust.dev");
		T_STREQ(u.path.data ? u.path.data : "", "");
		T_CHECK(btx_http_parse_url("https://bt.example.com:8443/data/plane/", "API URL", 0, 1, &u, &e) == 0, "path");
		T_STREQ(u.authority.data, "bt.example.com:8443");
		T_STREQ(u.path.data, "/data/plane");
		T_CHECK(btx_http_parse_url("http://127.0.0.1:9", "API URL", 0, 1, &u, &e) != 0 &&
				strstr(e.message, "plain http") != NULL && strcmp(e.sqlstate, "22023") == 0, "http refused: %s", e.message);
		T_CHECK(btx_http_parse_url("http://127.0.0.1:9", "API URL", 1, 1, &u, &e) == 0, "http allowed");
		T_CHECK(btx_http_parse_url("https://h/x", "S3 endpoint", 0, 0, &u, &e) != 0, "path refused");
		T_CHECK(btx_http_parse_url("https://h/", "S3 endpoint", 0, 0, &u, &e) == 0, "trailing slash ok");
		T_CHECK(btx_http_parse_url("https://user@h", "API URL", 0, 1, &u, &e) != 0, "user refused");
		T_CHECK(btx_http_parse_url("https://h/x?y=1", "API URL", 0, 1, &u, &e) != 0, "query refused");
		T_CHECK(btx_http_parse_url("https://h /x", "API URL", 0, 1, &u, &e) != 0, "space refused");
		T_CHECK(btx_http_parse_url("ftp://h", "API URL", 1, 1, &u, &e) != 0, "ftp refused");
		T_CHECK(btx_http_parse_url("h.example.com", "API URL", 1, 1, &u, &e) != 0, "no scheme");
		btx_http_url_free(&u);
	}
	T_END();
	T_BEGIN("http: same origin and Location resolution");
	{
		btx_buf		o;

		btx_buf_init(&o);
		T_CHECK(btx_http_same_origin("https://API.example.com/btql", "https://api.example.com:443/x"), "default port, case");
		T_CHECK(!btx_http_same_origin("https://api.example.com/", "http://api.example.com/"), "scheme");
		T_CHECK(!btx_http_same_origin("https://api.example.com/", "https://api.example.com:8443/"), "port");
		T_CHECK(!btx_http_same_origin("https://api.example.com/", "https://bucket.s3.amazonaws.com/r"), "host");
		T_CHECK(!btx_http_same_origin("https://api.example.com/", "https://api.example.com@evil.com/"), "userinfo trick");
		T_CHECK(btx_http_resolve("https://a.example/v1/btql?x=1", "/other", &o) == 0, "abs path");
		T_STREQ(o.data, "https://a.example/other");
		T_CHECK(btx_http_resolve("https://a.example/v1/btql", "next", &o) == 0, "relative");
		T_STREQ(o.data, "https://a.example/v1/next");
		T_CHECK(btx_http_resolve("https://a.example/v1/btql", "//b.example/y", &o) == 0, "scheme-relative");
		T_STREQ(o.data, "https://b.example/y");
		T_CHECK(btx_http_resolve("https://a.example/v1/btql", "https://c.example/z", &o) == 0, "absolute");
		T_STREQ(o.data, "https://c.example/z");
		T_CHECK(btx_http_resolve("https://a.example/", "bad url", &o) != 0, "space");
		btx_buf_free(&o);
	}
	T_END();
	T_BEGIN("http: percent-encoding keeps RFC 3986 unreserved characters");
	{
		btx_buf		o;

		btx_buf_init(&o);
		btx_http_percent_encode(&o, "my project/é&x=1~._-", strlen("my project/é&x=1~._-"), 0);
		T_STREQ(o.data, "my%20project%2F%C3%A9%26x%3D1~._-");
		btx_buf_reset(&o);
		btx_http_percent_encode(&o, "a/b", 3, 1);
		T_STREQ(o.data, "a/b");
		btx_buf_free(&o);
	}
	T_END();
}

static void
test_gunzip(void)
{
	T_BEGIN("http: gunzip of one and two members, truncation, bombs and garbage");
	{
		btx_buf		gz,
					out;
		char	   *big = malloc(1000000);
		size_t		half;

		btx_buf_init(&gz);
		btx_buf_init(&out);
		gzip_bytes("{\"data\":[]}", 11, &gz);
		T_CHECK(btx_http_gunzip(gz.data, gz.len, 1000, &out) == BTX_HTTP_NET_NONE, "ok");
		T_STREQ(out.data, "{\"data\":[]}");
		btx_buf_reset(&out);
		gzip_bytes("more", 4, &gz);	/* a second member */
		T_CHECK(btx_http_gunzip(gz.data, gz.len, 1000, &out) == BTX_HTTP_NET_NONE, "two members");
		T_STREQ(out.data, "{\"data\":[]}more");
		btx_buf_reset(&out);
		half = gz.len / 3;
		T_CHECK(btx_http_gunzip(gz.data, half, 1000, &out) == BTX_HTTP_NET_BAD_ENCODING, "truncated");
		btx_buf_reset(&out);
		T_CHECK(btx_http_gunzip("not gzip at all", 15, 1000, &out) == BTX_HTTP_NET_BAD_ENCODING, "garbage");
		btx_buf_reset(&out);
		btx_buf_reset(&gz);
		memset(big, 'a', 1000000);
		gzip_bytes(big, 1000000, &gz);
		T_CHECK(gz.len < 10000, "compresses well (%zu)", gz.len);
		T_CHECK(btx_http_gunzip(gz.data, gz.len, 100000, &out) == BTX_HTTP_NET_TOO_LARGE, "bomb stopped");
		T_CHECK(out.len <= 100000, "bounded output %zu", out.len);
		free(big);
		btx_buf_free(&gz);
		btx_buf_free(&out);
	}
	T_END();
}

/* a client over the script */
static btx_http_client *
scripted_client(script *s, size_t max_body)
{
	btx_http_config cfg;

	memset(&cfg, 0, sizeof(cfg));
	cfg.transport = script_transport;
	cfg.transport_arg = s;
	cfg.max_body = max_body;
	return btx_http_client_new(&cfg);
}

static void
test_exchange(void)
{
	script		s;
	btx_http_client *c;
	btx_http_response r;
	btx_http_request q;
	btx_http_options gz = {1, 0};
	btx_http_options redir = {0, 3};
	const char *h[2] = {"Authorization: Bearer sk-test", "Content-Type: application/json"};

	memset(&q, 0, sizeof(q));
	q.method = "POST";
	q.url = "https://api.example.com/btql";
	q.headers = h;
	q.nheaders = 2;
	q.body = "{}";
	q.body_len = 2;

	T_BEGIN("http: exchange inflates gzip, asks for it, sniffs the magic, refuses unknown encodings");
	{
		script_init(&s, NULL);
		c = scripted_client(&s, 0);
		btx_http_response_init(&r);
		script_push_gzip(&s, 200, NULL, "{\"data\":[1]}");
		T_CHECK(btx_http_exchange(c, &q, &gz, &r) == 0 && r.status == 200, "ok");
		T_STREQ(r.body.data, "{\"data\":[1]}");
		T_STREQ(script_header(&s, 0, "Accept-Encoding"), "gzip");
		T_STREQ(script_header(&s, 0, "Authorization"), "Bearer sk-test");
		script_push_gzip(&s, 200, "Content-Type: application/octet-stream\r\n", "{\"x\":2}");
		T_CHECK(btx_http_exchange(c, &q, &gz, &r) == 0, "magic sniffed");
		T_STREQ(r.body.data, "{\"x\":2}");
		script_push(&s, 200, "Content-Encoding: br\r\n", "xxxx");
		T_CHECK(btx_http_exchange(c, &q, &gz, &r) != 0 && r.net_error == BTX_HTTP_NET_BAD_ENCODING, "br refused");
		script_push(&s, 200, "Content-Encoding: gzip\r\n", "not really gzip");
		T_CHECK(btx_http_exchange(c, &q, &gz, &r) != 0 && r.net_error == BTX_HTTP_NET_BAD_ENCODING, "bad gzip");
		script_push_gzip(&s, 200, NULL, "{}");
		T_CHECK(btx_http_exchange(c, &q, NULL, &r) == 0 && (unsigned char) r.body.data[0] == 0x1f, "no decoding unless asked");
		T_CHECK(script_header(&s, 4, "Accept-Encoding") == NULL, "not asked");
		btx_http_response_free(&r);
		btx_http_client_free(c);
		script_free(&s);
	}
	T_END();

	T_BEGIN("http: the body cap holds for raw and inflated bodies, whatever the transport does");
	{
		char	   *big = malloc(5001);

		memset(big, 'x', 5000);
		big[5000] = '\0';
		script_init(&s, NULL);
		c = scripted_client(&s, 4000);
		btx_http_response_init(&r);
		script_push(&s, 200, NULL, big);
		T_CHECK(btx_http_exchange(c, &q, &gz, &r) != 0 && r.net_error == BTX_HTTP_NET_TOO_LARGE, "raw");
		T_CHECK(s.seen[0].max_body == 4000, "transport told the cap");
		script_push_gzip(&s, 200, NULL, big);
		T_CHECK(btx_http_exchange(c, &q, &gz, &r) != 0 && r.net_error == BTX_HTTP_NET_TOO_LARGE, "inflated");
		T_CHECK(strstr(r.net_message, "4000") != NULL, "message names the cap: %s", r.net_message);
		free(big);
		btx_http_response_free(&r);
		btx_http_client_free(c);
		script_free(&s);
	}
	T_END();

	T_BEGIN("http: same-origin redirects are followed (303 -> GET), other origins never");
	{
		script_init(&s, NULL);
		c = scripted_client(&s, 0);
		btx_http_response_init(&r);
		script_push(&s, 303, "Location: /results/7\r\n", NULL);
		script_push(&s, 200, NULL, "{\"ok\":1}");
		T_CHECK(btx_http_exchange(c, &q, &redir, &r) == 0 && r.status == 200 && r.redirects == 1, "followed");
		T_CHECK(s.nseen == 2 && strcmp(s.seen[1].url, "https://api.example.com/results/7") == 0, "same host");
		T_STREQ(s.seen[1].method, "GET");
		T_CHECK(s.seen[1].body[0] == '\0', "body dropped");
		T_STREQ(script_header(&s, 1, "Authorization"), "Bearer sk-test");

		script_push(&s, 307, "Location: https://bucket.s3.amazonaws.com/responses/x.json.gz?X-Amz-Signature=abc\r\n", NULL);
		T_CHECK(btx_http_exchange(c, &q, &redir, &r) == 0 && r.status == 307 && r.offsite_redirect, "offsite not followed");
		T_CHECK(s.nseen == 3, "no request to the other host (%d)", s.nseen);

		script_push(&s, 302, "Location: https://API.EXAMPLE.com:443/again\r\n", NULL);
		script_push(&s, 302, "Location: /again2\r\n", NULL);
		script_push(&s, 302, "Location: /again3\r\n", NULL);
		script_push(&s, 302, "Location: /again4\r\n", NULL);
		T_CHECK(btx_http_exchange(c, &q, &redir, &r) == 0 && r.status == 302 && r.redirects == 3, "hop limit");
		T_CHECK(s.nseen == 7, "four requests");

		script_push(&s, 301, "Location: /moved\r\n", NULL);
		T_CHECK(btx_http_exchange(c, &q, NULL, &r) == 0 && r.status == 301 && s.nseen == 8, "no options: never followed");
		btx_http_response_free(&r);
		btx_http_client_free(c);
		script_free(&s);
	}
	T_END();

	T_BEGIN("http: libcurl refuses plain http unless allowed, and classifies a refused connection");
	{
		btx_http_config cfg;
		btx_http_request g;

		memset(&cfg, 0, sizeof(cfg));
		memset(&g, 0, sizeof(g));
		g.method = "GET";
		g.url = "http://127.0.0.1:1/";
		c = btx_http_client_new(&cfg);
		btx_http_response_init(&r);
		T_CHECK(btx_http_exchange(c, &g, NULL, &r) != 0 && r.net_error == BTX_HTTP_NET_PROTOCOL, "protocol: %d %s", (int) r.net_error, r.net_message);
		btx_http_client_free(c);
		cfg.allow_http = 1;
		c = btx_http_client_new(&cfg);
		T_CHECK(btx_http_exchange(c, &g, NULL, &r) != 0 && r.net_error == BTX_HTTP_NET_CONNECT &&
				btx_http_net_transient(r.net_error), "connect: %d %s", (int) r.net_error, r.net_message);
		btx_http_response_free(&r);
		btx_http_client_free(c);
	}
	T_END();
}

void
test_http(void)
{
	test_backoff();
	test_dates();
	test_headers_urls();
	test_gunzip();
	test_exchange();
}
