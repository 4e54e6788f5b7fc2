/*
 * test_client.c — S3 client (fake transport), XML parsers, classification,
 * errors and hints, and the streaming uploader.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "fake.h"
#include "core/s3/s3client.h"
#include "core/s3/sigv4.h"
#include "core/s3/upload.h"
#include "t.h"
#include "tests.h"

#define SECRET "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"

typedef struct cbstate
{
	int			sleeps;
	long		slept[32];
	int			refreshes;
	int			interrupt_after;	/* interrupt() true once polls exceed this (0 = never) */
	int			polls;
	time_t		now;
	pthread_t	owner;			/* the thread that may run the callbacks */
	int			foreign;		/* callbacks run on another thread */
} cbstate;

/* callbacks belong to the owner's thread (upload parts run detached) */
static void
on_owner(cbstate *s)
{
	if (s->owner && !pthread_equal(s->owner, pthread_self()))
		__atomic_add_fetch(&s->foreign, 1, __ATOMIC_SEQ_CST);
}

static int
cb_sleep(void *arg, long ms)
{
	cbstate    *s = arg;

	on_owner(s);
	if (s->sleeps < 32)
		s->slept[s->sleeps] = ms;
	s->sleeps++;
	return 0;
}

static int
cb_refresh(void *arg, btx_s3_credentials *out, btx_error *err)
{
	cbstate    *s = arg;

	on_owner(s);
	s->refreshes++;
	return btx_s3_credentials_set(out, "ASIAFRESH", "freshsecret", "fresh-token", s->now + 3600);
}

static int
cb_interrupt(void *arg)
{
	cbstate    *s = arg;

	on_owner(s);
	s->polls++;
	return s->interrupt_after > 0 && s->polls > s->interrupt_after;
}

static unsigned int
cb_random(void *arg)
{
	return 0xffffffffu;
}

static time_t
cb_now(void *arg)
{
	cbstate    *s = arg;

	return s->now;
}

static btx_s3_client *
make_client(fake *f, cbstate *st, btx_s3_config *cfg, const char *token)
{
	btx_s3_credentials cr;
	btx_s3_client *c;
	btx_error	err;

	memset(&cr, 0, sizeof(cr));
	btx_s3_credentials_set(&cr, "AKIDEXAMPLE", SECRET, token, 0);
	if (cfg->region == NULL)
		cfg->region = "us-east-1";
	cfg->transport = fake_transport;
	cfg->transport_arg = f;
	cfg->sleep_ms = cb_sleep;
	cfg->refresh_credentials = cb_refresh;
	cfg->interrupt = cb_interrupt;
	cfg->random = cb_random;
	cfg->now = cb_now;
	cfg->callback_arg = st;
	c = btx_s3_client_new(cfg, &cr, &err);
	btx_s3_credentials_clear(&cr);
	T_CHECK(c != NULL, "client_new: %s", err.message);
	return c;
}

static int
no_secret(const btx_error *e)
{
	return strstr(e->message, SECRET) == NULL && strstr(e->detail, SECRET) == NULL &&
		strstr(e->hint, SECRET) == NULL;
}

static void
test_urls(void)
{
	btx_s3_config cfg;
	btx_buf		u,
				h,
				p;
	btx_error	err;

	memset(&cfg, 0, sizeof(cfg));
	btx_buf_init(&u);
	btx_buf_init(&h);
	btx_buf_init(&p);
	T_BEGIN("s3 url: endpoint path style, key encoded once");
	cfg.region = "us-east-1";
	cfg.endpoint = "http://127.0.0.1:5000";
	cfg.allow_http = 1;
	T_CHECK(btx_s3_build_url(&cfg, "test-bucket", "c/dt=2024-01-01/a b+\xc3\xa9.txt", &u, &h, &p, &err) == 0,
			"%s", err.message);
	T_STREQ(u.data, "http://127.0.0.1:5000/test-bucket/c/dt%3D2024-01-01/a%20b%2B%C3%A9.txt");
	T_STREQ(h.data, "127.0.0.1:5000");
	T_STREQ(p.data, "/test-bucket/c/dt%3D2024-01-01/a%20b%2B%C3%A9.txt");
	T_END();

	T_BEGIN("s3 url: http refused unless allowed");
	cfg.allow_http = 0;
	btx_buf_reset(&u);
	btx_buf_reset(&h);
	btx_buf_reset(&p);
	T_CHECK(btx_s3_build_url(&cfg, "b", "k", &u, &h, &p, &err) != 0, "http accepted");
	T_STREQ(err.sqlstate, "22023");
	T_CHECK(strstr(err.hint, "https") != NULL, "hint: %s", err.hint);
	T_END();

	T_BEGIN("s3 url: AWS virtual-hosted, dotted bucket path style");
	cfg.endpoint = NULL;
	cfg.region = "eu-west-1";
	btx_buf_reset(&u);
	btx_buf_reset(&h);
	btx_buf_reset(&p);
	T_CHECK(btx_s3_build_url(&cfg, "my-bucket", "x/y z", &u, &h, &p, &err) == 0, "%s", err.message);
	T_STREQ(u.data, "https://my-bucket.s3.eu-west-1.amazonaws.com/x/y%20z");
	T_STREQ(h.data, "my-bucket.s3.eu-west-1.amazonaws.com");
	btx_buf_reset(&u);
	btx_buf_reset(&h);
	btx_buf_reset(&p);
	T_CHECK(btx_s3_build_url(&cfg, "my.bucket", "k", &u, &h, &p, &err) == 0, "%s", err.message);
	T_STREQ(u.data, "https://s3.eu-west-1.amazonaws.com/my.bucket/k");
	btx_buf_reset(&u);
	btx_buf_reset(&h);
	btx_buf_reset(&p);
	cfg.endpoint = "https://host/path";
	T_CHECK(btx_s3_build_url(&cfg, "b", "k", &u, &h, &p, &err) != 0, "endpoint with path accepted");
	T_END();
	btx_buf_free(&u);
	btx_buf_free(&h);
	btx_buf_free(&p);
}

static void
test_classify(void)
{
	int			i;
	long		b;

	T_BEGIN("s3 classify");
	T_CHECK(btx_s3_classify(200, "", BTX_HTTP_NET_NONE) == BTX_S3_OK, "200");
	T_CHECK(btx_s3_classify(204, NULL, BTX_HTTP_NET_NONE) == BTX_S3_OK, "204");
	T_CHECK(btx_s3_classify(503, "SlowDown", BTX_HTTP_NET_NONE) == BTX_S3_TRANSIENT, "SlowDown");
	T_CHECK(btx_s3_classify(500, "InternalError", BTX_HTTP_NET_NONE) == BTX_S3_TRANSIENT, "500");
	T_CHECK(btx_s3_classify(502, "", BTX_HTTP_NET_NONE) == BTX_S3_TRANSIENT, "502 no body");
	T_CHECK(btx_s3_classify(400, "RequestTimeout", BTX_HTTP_NET_NONE) == BTX_S3_TRANSIENT, "RequestTimeout");
	T_CHECK(btx_s3_classify(409, "ConditionalRequestConflict", BTX_HTTP_NET_NONE) == BTX_S3_TRANSIENT, "409");
	T_CHECK(btx_s3_classify(409, "BucketAlreadyExists", BTX_HTTP_NET_NONE) == BTX_S3_PERMANENT, "409 other");
	T_CHECK(btx_s3_classify(400, "ExpiredToken", BTX_HTTP_NET_NONE) == BTX_S3_EXPIRED_CREDENTIALS, "expired");
	T_CHECK(btx_s3_classify(412, "PreconditionFailed", BTX_HTTP_NET_NONE) == BTX_S3_PRECONDITION_FAILED, "412");
	T_CHECK(btx_s3_classify(412, "", BTX_HTTP_NET_NONE) == BTX_S3_PRECONDITION_FAILED, "412 bare");
	T_CHECK(btx_s3_classify(403, "AccessDenied", BTX_HTTP_NET_NONE) == BTX_S3_PERMANENT, "403");
	T_CHECK(btx_s3_classify(403, "RequestTimeTooSkewed", BTX_HTTP_NET_NONE) == BTX_S3_PERMANENT, "skew");
	T_CHECK(btx_s3_classify(200, "InternalError", BTX_HTTP_NET_NONE) == BTX_S3_TRANSIENT, "200+Error");
	T_CHECK(btx_s3_classify(200, "InvalidPart", BTX_HTTP_NET_NONE) == BTX_S3_PERMANENT, "200+InvalidPart");
	T_CHECK(btx_s3_classify(0, NULL, BTX_HTTP_NET_CONNECT) == BTX_S3_TRANSIENT, "connect");
	T_CHECK(btx_s3_classify(0, NULL, BTX_HTTP_NET_DNS) == BTX_S3_TRANSIENT, "dns");
	T_CHECK(btx_s3_classify(0, NULL, BTX_HTTP_NET_TIMEOUT) == BTX_S3_TRANSIENT, "timeout");
	T_CHECK(btx_s3_classify(0, NULL, BTX_HTTP_NET_RESET) == BTX_S3_TRANSIENT, "reset");
	T_CHECK(btx_s3_classify(0, NULL, BTX_HTTP_NET_TLS) == BTX_S3_PERMANENT, "tls");
	T_CHECK(btx_s3_classify(0, NULL, BTX_HTTP_NET_ABORTED) == BTX_S3_CANCELED, "aborted");
	T_END();

	T_BEGIN("s3 backoff: full jitter within the exponential ceiling");
	for (i = 1; i <= 12; i++)
	{
		long		ceil = 100L << (i - 1);

		if (ceil > 5000)
			ceil = 5000;
		b = btx_http_backoff_ms(i, 100, 5000, 0xffffffffu);
		T_CHECK(b >= 0 && b <= ceil, "attempt %d: %ld > %ld", i, b, ceil);
		T_CHECK(btx_http_backoff_ms(i, 100, 5000, 0) == 0, "zero random");
		T_CHECK(btx_http_backoff_ms(i, 100, 5000, (unsigned int) ceil) == ceil, "max random %d", i);
	}
	T_CHECK(btx_http_backoff_ms(40, 100, 5000, 5000) == 5000, "cap");
	T_END();
}

static void
test_xml(void)
{
	btx_s3xml_error e;
	char	   *id = NULL;
	char		etag[128];
	btx_s3_object_list l;
	btx_s3_upload_list ul;
	time_t		t;
	const char *bomb =
		"<?xml version=\"1.0\"?><!DOCTYPE Error [<!ENTITY a \"aaaaaaaaaa\"><!ENTITY b \"&a;&a;&a;&a;\">]>"
		"<Error><Code>&b;</Code></Error>";

	T_BEGIN("xml: S3 error");
	T_CHECK(btx_s3xml_parse_error("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>AccessDenied</Code>"
								  "<Message>Access Denied</Message><RequestId>R1</RequestId><HostId>H</HostId></Error>",
								  155, &e) == 0, "parse");
	T_STREQ(e.code, "AccessDenied");
	T_STREQ(e.message, "Access Denied");
	T_STREQ(e.request_id, "R1");
	T_CHECK(btx_s3xml_parse_error("<Error><Code>AuthorizationHeaderMalformed</Code><Region>eu-west-1</Region></Error>",
								  83, &e) == 0, "parse region");
	T_STREQ(e.region, "eu-west-1");
	T_CHECK(btx_s3xml_parse_error("<ListBucketResult/>", 19, &e) != 0, "non-error accepted");
	T_CHECK(btx_s3xml_parse_error("<Error><Code>x", 14, &e) != 0, "truncated accepted");
	T_CHECK(btx_s3xml_parse_error(bomb, strlen(bomb), &e) != 0, "DTD accepted");
	T_CHECK(btx_s3xml_parse_error("", 0, &e) != 0, "empty accepted");
	T_END();

	T_BEGIN("xml: STS error shapes (AWS and moto)");
	{
		const char *aws = "<ErrorResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\"><Error><Type>Sender</Type>"
			"<Code>AccessDenied</Code><Message>not authorized</Message></Error><RequestId>RQ</RequestId></ErrorResponse>";
		const char *moto = "<ErrorResponse><Errors><Error><Code>AccessDenied</Code><Message>m2</Message>"
			"<Type>Sender</Type></Error></Errors></ErrorResponse>";

		T_CHECK(btx_s3xml_parse_error(aws, strlen(aws), &e) == 0, "aws");
		T_STREQ(e.code, "AccessDenied");
		T_STREQ(e.message, "not authorized");
		T_STREQ(e.request_id, "RQ");
		T_CHECK(btx_s3xml_parse_error(moto, strlen(moto), &e) == 0, "moto");
		T_STREQ(e.code, "AccessDenied");
		T_STREQ(e.message, "m2");
	}
	T_END();

	T_BEGIN("xml: initiate, complete, lists");
	{
		const char *init = "<InitiateMultipartUploadResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
			"<Bucket>b</Bucket><Key>k</Key><UploadId>VXBsb2FkIElE</UploadId></InitiateMultipartUploadResult>";
		const char *comp = "<CompleteMultipartUploadResult><Location>l</Location><ETag>\"abc-3\"</ETag>"
			"</CompleteMultipartUploadResult>";
		const char *list = "<ListBucketResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><Name>b</Name>"
			"<IsTruncated>true</IsTruncated><NextContinuationToken>tok+/=</NextContinuationToken>"
			"<Contents><Key>a b</Key><Size>12</Size><ETag>&quot;e1&quot;</ETag></Contents>"
			"<Contents><Key>c&amp;d</Key><Size>0</Size></Contents></ListBucketResult>";
		const char *ups = "<ListMultipartUploadsResult><Upload><Key>k1</Key><UploadId>u1</UploadId></Upload>"
			"<IsTruncated>false</IsTruncated></ListMultipartUploadsResult>";

		T_CHECK(btx_s3xml_parse_initiate(init, strlen(init), &id) == 0, "initiate");
		T_STREQ(id, "VXBsb2FkIElE");
		free(id);
		T_CHECK(btx_s3xml_parse_initiate(comp, strlen(comp), &id) != 0, "wrong root");
		T_CHECK(btx_s3xml_parse_complete(comp, strlen(comp), etag, sizeof(etag)) == 0, "complete");
		T_STREQ(etag, "\"abc-3\"");
		T_CHECK(btx_s3xml_parse_complete("<CompleteMultipartUploadResponse><ETag>\"m-2\"</ETag></CompleteMultipartUploadResponse>",
										 85, etag, sizeof(etag)) == 0, "moto shape");
		T_STREQ(etag, "\"m-2\"");
		T_CHECK(btx_s3xml_parse_complete("<Error><Code>InternalError</Code></Error>", 41, etag,
										 sizeof(etag)) != 0, "error as complete");
		memset(&l, 0, sizeof(l));
		T_CHECK(btx_s3xml_parse_list_objects(list, strlen(list), &l) == 0, "list");
		T_CHECK(l.n == 2 && l.truncated == 1, "n=%d truncated=%d", l.n, l.truncated);
		if (l.n == 2)
		{
			T_STREQ(l.items[0].key, "a b");
			T_STREQ(l.items[0].etag, "\"e1\"");
			T_CHECK(l.items[0].size == 12, "size");
			T_STREQ(l.items[1].key, "c&d");
		}
		T_STREQ(l.next_token, "tok+/=");
		btx_s3_object_list_free(&l);
		memset(&ul, 0, sizeof(ul));
		T_CHECK(btx_s3xml_parse_list_uploads(ups, strlen(ups), &ul) == 0 && ul.n == 1, "uploads");
		if (ul.n == 1)
			T_STREQ(ul.items[0].upload_id, "u1");
		btx_s3_upload_list_free(&ul);
	}
	T_END();

	T_BEGIN("xml: ISO 8601 and HTTP dates");
	T_CHECK(btx_s3xml_parse_iso8601("2026-11-24T23:39:48Z", &t) == 0 && t == 1795563588, "plain %ld", (long) t);
	T_CHECK(btx_s3xml_parse_iso8601("2026-11-24T23:39:48.473966Z", &t) == 0 && t == 1795563588, "micro");
	T_CHECK(btx_s3xml_parse_iso8601("2026-11-24T23:39:48.473+00:00", &t) == 0 && t == 1795563588, "offset");
	T_CHECK(btx_s3xml_parse_iso8601("2026-11-24 23:39:48", &t) != 0, "no T accepted");
	T_CHECK(btx_s3xml_parse_iso8601("2026-11-24T23:39:48+02:00", &t) != 0, "non-UTC accepted");
	T_CHECK(btx_http_parse_date("Tue, 24 Nov 2026 23:39:48 GMT", &t) == 0 && t == 1795563588, "http date");
	T_CHECK(btx_http_parse_date("yesterday", &t) != 0, "garbage date");
	T_END();
}

static const char *ACCESS_DENIED =
"<Error><Code>AccessDenied</Code><Message>Access Denied</Message><RequestId>REQ1</RequestId></Error>";

static void
test_requests(void)
{
	fake		f;
	cbstate		st;
	btx_s3_config cfg;
	btx_s3_client *c;
	btx_s3_response resp;
	btx_error	err;
	btx_s3_put_options po;
	const char *v;
	char		h[65];

	memset(&st, 0, sizeof(st));
	st.now = 1440938160;		/* 2015-08-30T12:36:00Z */
	fake_init(&f);
	memset(&cfg, 0, sizeof(cfg));
	cfg.endpoint = "http://127.0.0.1:9";
	cfg.allow_http = 1;
	cfg.sse = BTX_S3_SSE_KMS;
	cfg.sse_kms_key_id = "arn:aws:kms:us-east-1:123456789012:key/k1";
	cfg.acl_bucket_owner_full_control = 1;
	c = make_client(&f, &st, &cfg, "TOKEN1");
	btx_s3_response_init(&resp);

	T_BEGIN("s3 PutObject request shape");
	fake_push(&f, 200, "ETag: \"9a0364b9e99bb480dd25e1f0284c8555\"\r\nx-amz-request-id: RID\r\n"
			  "x-amz-server-side-encryption: aws:kms\r\n", "");
	po.content_type = "application/x-ndjson";
	po.if_none_match = 1;
	T_CHECK(btx_s3_put_object(c, "test-bucket", "a b/c=d+e.jsonl", "content", 7, &po, &resp, &err) == 0,
			"%s", err.message);
	T_CHECK(f.nseen == 1, "requests %d", f.nseen);
	T_STREQ(f.seen[0].method, "PUT");
	T_STREQ(f.seen[0].url, "http://127.0.0.1:9/test-bucket/a%20b/c%3Dd%2Be.jsonl");
	btx_sigv4_sha256_hex("content", 7, h);
	T_STREQ(fake_header(&f, 0, "x-amz-content-sha256"), h);
	T_STREQ(fake_header(&f, 0, "Content-MD5"), "mgNkuembtIDdJeHwKEyFVQ==");
	T_STREQ(fake_header(&f, 0, "If-None-Match"), "*");
	T_STREQ(fake_header(&f, 0, "Content-Type"), "application/x-ndjson");
	T_STREQ(fake_header(&f, 0, "x-amz-server-side-encryption"), "aws:kms");
	T_STREQ(fake_header(&f, 0, "x-amz-server-side-encryption-aws-kms-key-id"), cfg.sse_kms_key_id);
	T_STREQ(fake_header(&f, 0, "x-amz-acl"), "bucket-owner-full-control");
	T_STREQ(fake_header(&f, 0, "x-amz-security-token"), "TOKEN1");
	T_STREQ(fake_header(&f, 0, "x-amz-date"), "20150830T123600Z");
	T_STREQ(fake_header(&f, 0, "Host"), "127.0.0.1:9");
	T_STREQ(fake_header(&f, 0, "Expect"), "");
	v = fake_header(&f, 0, "Authorization");
	{
		const char *want = "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/s3/aws4_request, "
			"SignedHeaders=content-md5;content-type;host;if-none-match;x-amz-acl;"
			"x-amz-content-sha256;x-amz-date;x-amz-security-token;x-amz-server-side-encryption;"
			"x-amz-server-side-encryption-aws-kms-key-id, Signature=";

		T_CHECK(v && strncmp(v, want, strlen(want)) == 0 && strlen(v) == strlen(want) + 64, "auth: %s", v);
	}
	T_CHECK(strstr(f.seen[0].headers, SECRET) == NULL, "secret on the wire");
	T_STREQ(resp.etag, "\"9a0364b9e99bb480dd25e1f0284c8555\"");
	T_STREQ(resp.request_id, "RID");
	T_STREQ(resp.sse, "aws:kms");
	T_CHECK(resp.klass == BTX_S3_OK && resp.attempts == 1, "class %d", resp.klass);
	T_END();

	T_BEGIN("s3 AccessDenied: message, detail, hint, no secret");
	fake_push(&f, 403, "x-amz-request-id: REQ1\r\n", ACCESS_DENIED);
	T_CHECK(btx_s3_put_object(c, "test-bucket", "exports/dt=1/p.jsonl", "x", 1, NULL, &resp, &err) != 0, "ok?");
	T_CHECK(resp.klass == BTX_S3_PERMANENT && resp.attempts == 1, "class %d attempts %d", resp.klass, resp.attempts);
	T_STREQ(err.sqlstate, "38000");
	T_STREQ(err.message, "could not put object \"s3://test-bucket/exports/dt=1/p.jsonl\": AccessDenied (HTTP 403)");
	T_CHECK(strstr(err.detail, "REQ1") && strstr(err.detail, "Access Denied"), "detail: %s", err.detail);
	T_CHECK(strstr(err.hint, "s3:PutObject on arn:aws:s3:::test-bucket/exports/dt=1/*") != NULL, "hint: %s", err.hint);
	T_CHECK(no_secret(&err), "secret leaked");
	T_END();

	T_BEGIN("s3 transient errors retried with backoff, then success");
	st.sleeps = 0;
	fake_push(&f, 503, NULL, "<Error><Code>SlowDown</Code><Message>Reduce</Message></Error>");
	fake_push(&f, 500, NULL, "");
	fake_push_net(&f, BTX_HTTP_NET_RESET);
	fake_push(&f, 200, "ETag: \"x\"\r\n", "");
	T_CHECK(btx_s3_put_object(c, "test-bucket", "k", "x", 1, NULL, &resp, &err) == 0, "%s", err.message);
	T_CHECK(resp.attempts == 4 && st.sleeps == 3, "attempts %d sleeps %d", resp.attempts, st.sleeps);
	T_CHECK(st.slept[0] <= 200 && st.slept[1] <= 400 && st.slept[2] <= 800, "backoff %ld %ld %ld",
			st.slept[0], st.slept[1], st.slept[2]);
	T_END();

	T_BEGIN("s3 transient errors give up after max attempts");
	st.sleeps = 0;
	f.fallback.status = 503;
	f.fallback.body = "<Error><Code>SlowDown</Code></Error>";
	T_CHECK(btx_s3_delete_object(c, "test-bucket", "k", &resp, &err) != 0, "ok?");
	T_CHECK(resp.attempts == 5 && st.sleeps == 4, "attempts %d sleeps %d", resp.attempts, st.sleeps);
	T_CHECK(strstr(err.message, "could not delete object \"s3://test-bucket/k\": SlowDown (HTTP 503)") != NULL,
			"%s", err.message);
	T_CHECK(strstr(err.hint, "throttling") != NULL, "hint %s", err.hint);
	f.fallback.status = 200;
	f.fallback.body = NULL;
	T_END();

	T_BEGIN("s3 network failure: 08006 with hint");
	f.fallback.net = BTX_HTTP_NET_CONNECT;
	T_CHECK(btx_s3_head_object(c, "test-bucket", "k", &resp, &err) != 0, "ok?");
	T_STREQ(err.sqlstate, "08006");
	T_CHECK(resp.klass == BTX_S3_TRANSIENT && resp.attempts == 5, "class %d", resp.klass);
	T_CHECK(strstr(err.message, "could not head object \"s3://test-bucket/k\": connection failed") != NULL,
			"%s", err.message);
	T_CHECK(strstr(err.hint, "endpoint") != NULL, "hint %s", err.hint);
	f.fallback.net = BTX_HTTP_NET_NONE;
	T_END();

	T_BEGIN("s3 expired token: refresh callback then retry with new credentials");
	st.refreshes = 0;
	fake_push(&f, 400, NULL, "<Error><Code>ExpiredToken</Code><Message>expired</Message></Error>");
	fake_push(&f, 204, NULL, NULL);
	T_CHECK(btx_s3_delete_object(c, "test-bucket", "k", &resp, &err) == 0, "%s", err.message);
	T_CHECK(st.refreshes == 1, "refreshes %d", st.refreshes);
	T_STREQ(fake_header(&f, f.nseen - 1, "x-amz-security-token"), "fresh-token");
	v = fake_header(&f, f.nseen - 1, "Authorization");
	T_CHECK(v && strstr(v, "Credential=ASIAFRESH/") != NULL, "auth %s", v);
	T_END();

	T_BEGIN("s3 credentials expiring within 5 minutes are refreshed first");
	{
		btx_s3_credentials cr;

		memset(&cr, 0, sizeof(cr));
		btx_s3_credentials_set(&cr, "ASIAOLD", "old", "old-token", st.now + 200);
		btx_s3_client_set_credentials(c, &cr);
		btx_s3_credentials_clear(&cr);
		st.refreshes = 0;
		fake_push(&f, 204, NULL, NULL);
		T_CHECK(btx_s3_delete_object(c, "test-bucket", "k", &resp, &err) == 0, "%s", err.message);
		T_CHECK(st.refreshes == 1, "refreshes %d", st.refreshes);
		T_STREQ(fake_header(&f, f.nseen - 1, "x-amz-security-token"), "fresh-token");
	}
	T_END();

	T_BEGIN("s3 get object: the body whole; a missing key fails with status 404");
	fake_push(&f, 200, NULL, "{\"format-version\": 2}");
	T_CHECK(btx_s3_get_object(c, "test-bucket", "t/metadata/v1.metadata.json", &resp, &err) == 0, "%s", err.message);
	T_CHECK(resp.body.len == 21 && memcmp(resp.body.data, "{\"format-version\": 2}", 21) == 0, "body %zu", resp.body.len);
	T_STREQ(f.seen[f.nseen - 1].method, "GET");
	fake_push(&f, 404, NULL, "<Error><Code>NoSuchKey</Code><Message>gone</Message></Error>");
	T_CHECK(btx_s3_get_object(c, "test-bucket", "t/metadata/v9.metadata.json", &resp, &err) != 0, "ok?");
	T_CHECK(resp.status == 404, "status %ld", resp.status);
	T_END();

	T_BEGIN("s3 PermanentRedirect names the bucket's region");
	fake_push(&f, 301, "x-amz-bucket-region: eu-central-1\r\n",
			  "<Error><Code>PermanentRedirect</Code><Message>use the endpoint</Message>"
			  "<Endpoint>test-bucket.s3.eu-central-1.amazonaws.com</Endpoint></Error>");
	T_CHECK(btx_s3_put_object(c, "test-bucket", "k", "x", 1, NULL, &resp, &err) != 0, "ok?");
	T_STREQ(resp.bucket_region, "eu-central-1");
	T_CHECK(strstr(err.hint, "region \"eu-central-1\"") != NULL, "hint %s", err.hint);
	fake_push(&f, 400, NULL,
			  "<Error><Code>AuthorizationHeaderMalformed</Code><Message>the region 'us-east-1' is wrong; "
			  "expecting 'ap-south-1'</Message></Error>");
	T_CHECK(btx_s3_put_object(c, "test-bucket", "k", "x", 1, NULL, &resp, &err) != 0, "ok?");
	T_CHECK(strstr(err.hint, "region \"ap-south-1\"") != NULL, "hint %s", err.hint);
	fake_push(&f, 301, NULL, NULL);		/* HEAD: no body, no header */
	T_CHECK(btx_s3_head_object(c, "test-bucket", "k", &resp, &err) != 0, "ok?");
	T_CHECK(strstr(err.hint, "another region") != NULL, "hint %s", err.hint);
	T_END();

	T_BEGIN("s3 hints: NoSuchBucket, SignatureDoesNotMatch, InvalidAccessKeyId, skew, 412");
	fake_push(&f, 404, NULL, "<Error><Code>NoSuchBucket</Code><Message>nope</Message></Error>");
	T_CHECK(btx_s3_put_object(c, "missing-bucket", "k", "x", 1, NULL, &resp, &err) != 0, "ok?");
	T_CHECK(strstr(err.hint, "\"missing-bucket\" does not exist") != NULL, "hint %s", err.hint);
	fake_push(&f, 403, NULL, "<Error><Code>SignatureDoesNotMatch</Code><Message>calc</Message>"
			  "<StringToSign>AWS4...</StringToSign></Error>");
	T_CHECK(btx_s3_put_object(c, "b", "k", "x", 1, NULL, &resp, &err) != 0, "ok?");
	T_CHECK(strstr(err.hint, "secret access key") != NULL, "hint %s", err.hint);
	fake_push(&f, 403, NULL, "<Error><Code>InvalidAccessKeyId</Code></Error>");
	T_CHECK(btx_s3_put_object(c, "b", "k", "x", 1, NULL, &resp, &err) != 0, "ok?");
	T_CHECK(strstr(err.hint, "access key id") != NULL, "hint %s", err.hint);
	fake_push(&f, 412, NULL, "<Error><Code>PreconditionFailed</Code><Condition>If-None-Match</Condition></Error>");
	T_CHECK(btx_s3_put_object(c, "b", "k", "x", 1, NULL, &resp, &err) != 0, "ok?");
	T_CHECK(resp.klass == BTX_S3_PRECONDITION_FAILED && resp.attempts == 1, "class %d", resp.klass);
	T_CHECK(strstr(err.hint, "already exists") != NULL, "hint %s", err.hint);
	T_CHECK(no_secret(&err), "secret");
	T_END();

	T_BEGIN("s3 RequestTimeTooSkewed: clock offset from the server, one retry");
	fake_push(&f, 403, "Date: Sun, 30 Aug 2015 13:36:00 GMT\r\n",
			  "<Error><Code>RequestTimeTooSkewed</Code><Message>skew</Message></Error>");
	fake_push(&f, 200, "ETag: \"e\"\r\n", "");
	T_CHECK(btx_s3_put_object(c, "b", "k", "x", 1, NULL, &resp, &err) == 0, "%s", err.message);
	T_CHECK(btx_s3_client_clock_offset(c) == 3600, "offset %ld", btx_s3_client_clock_offset(c));
	T_STREQ(fake_header(&f, f.nseen - 1, "x-amz-date"), "20150830T133600Z");
	T_END();

	T_BEGIN("s3 interrupt: canceled, 57014, no retries");
	st.interrupt_after = st.polls;	/* next poll interrupts */
	T_CHECK(btx_s3_put_object(c, "b", "k", "x", 1, NULL, &resp, &err) != 0, "ok?");
	T_CHECK(resp.klass == BTX_S3_CANCELED, "class %d", resp.klass);
	T_STREQ(err.sqlstate, "57014");
	st.interrupt_after = 0;
	T_END();

	T_BEGIN("s3 CompleteMultipartUpload: 200 with <Error> is a failure");
	{
		btx_s3_part parts[2] = {{1, "\"a\""}, {2, "\"b\""}};

		fake_push(&f, 200, NULL, "<Error><Code>InternalError</Code><Message>try again</Message></Error>");
		fake_push(&f, 200, NULL, "<?xml version=\"1.0\"?>\n\n<Error><Code>InvalidPart</Code><Message>bad</Message></Error>");
		T_CHECK(btx_s3_complete_multipart_upload(c, "b", "k", "U1", parts, 2, 1, &resp, &err) != 0, "ok?");
		T_CHECK(resp.attempts == 2, "attempts %d", resp.attempts);
		T_STREQ(resp.error_code, "InvalidPart");
		T_CHECK(strstr(f.seen[f.nseen - 1].body,
					   "<Part><PartNumber>1</PartNumber><ETag>\"a\"</ETag></Part><Part><PartNumber>2</PartNumber>") != NULL,
				"body %s", f.seen[f.nseen - 1].body);
		T_STREQ(f.seen[f.nseen - 1].url, "http://127.0.0.1:9/b/k?uploadId=U1");
		T_STREQ(fake_header(&f, f.nseen - 1, "If-None-Match"), "*");
	}
	T_END();

	T_BEGIN("s3 ListObjectsV2 query and parse");
	{
		btx_s3_object_list l;

		memset(&l, 0, sizeof(l));
		fake_push(&f, 200, NULL, "<ListBucketResult><IsTruncated>false</IsTruncated><Contents><Key>c/x</Key>"
				  "<Size>3</Size></Contents></ListBucketResult>");
		T_CHECK(btx_s3_list_objects_v2(c, "b", "c/", "t+k=", 0, &l, &resp, &err) == 0, "%s", err.message);
		T_STREQ(f.seen[f.nseen - 1].url, "http://127.0.0.1:9/b?continuation-token=t%2Bk%3D&list-type=2&prefix=c%2F");
		T_CHECK(l.n == 1 && l.truncated == 0, "n %d", l.n);
		btx_s3_object_list_free(&l);
	}
	T_END();

	btx_s3_response_free(&resp);
	btx_s3_client_free(c);
	fake_free(&f);
}

/* ---------------------------------------------------------------- uploader */

static int
upload_hook(fake *f, const btx_http_request *req, fake_answer *a)
{
	/* a default happy S3 for the multipart flow */
	if (a->status != 200 || a->body != NULL || a->headers != NULL || a->net != BTX_HTTP_NET_NONE)
		return 0;
	if (strstr(req->url, "?uploads") && strcmp(req->method, "POST") == 0)
		a->body = "<InitiateMultipartUploadResult><UploadId>UP-1</UploadId></InitiateMultipartUploadResult>";
	else if (strstr(req->url, "partNumber="))
		a->headers = "ETag: \"part\"\r\n";
	else if (strstr(req->url, "uploadId=") && strcmp(req->method, "POST") == 0)
		a->body = "<CompleteMultipartUploadResult><ETag>\"full-3\"</ETag></CompleteMultipartUploadResult>";
	else if (strcmp(req->method, "DELETE") == 0)
		a->status = 204;
	else if (strcmp(req->method, "PUT") == 0)
		a->headers = "ETag: \"single\"\r\nx-amz-server-side-encryption: AES256\r\n";
	return 0;
}

static int
count_method(fake *f, const char *method, const char *url_part)
{
	int			i,
				n = 0;

	for (i = 0; i < f->nseen; i++)
		if (strcmp(f->seen[i].method, method) == 0 && strstr(f->seen[i].url, url_part))
			n++;
	return n;
}

static void
test_upload(void)
{
	fake		f;
	cbstate		st;
	btx_s3_config cfg;
	btx_s3_client *c;
	btx_s3_upload *u;
	btx_s3_upload_options opt;
	btx_s3_upload_result res;
	btx_error	err;
	unsigned char *data;
	size_t		total = 2500;
	size_t		i;
	char		want_sha[65];

	memset(&st, 0, sizeof(st));
	st.now = 1440938160;
	fake_init(&f);
	f.hook = upload_hook;
	memset(&cfg, 0, sizeof(cfg));
	cfg.endpoint = "https://s3.example.test";
	cfg.sse = BTX_S3_SSE_AES256;
	c = make_client(&f, &st, &cfg, NULL);
	data = malloc(total);
	for (i = 0; i < total; i++)
		data[i] = (unsigned char) (i * 7 + 3);
	btx_sigv4_sha256_hex(data, total, want_sha);
	memset(&opt, 0, sizeof(opt));
	opt.part_size = 1000;
	opt.min_part_size = 1000;
	opt.content_type = "application/x-ndjson";
	opt.if_none_match = 1;

	T_BEGIN("upload: part size below 5 MiB refused");
	{
		btx_s3_upload_options o2 = opt;

		o2.min_part_size = 0;
		T_CHECK(btx_s3_upload_open(c, "b", "k", &o2, &err) == NULL, "accepted");
		T_STREQ(err.sqlstate, "22023");
	}
	T_END();

	T_BEGIN("upload: small object is one PutObject with If-None-Match");
	u = btx_s3_upload_open(c, "b", "small.jsonl", &opt, &err);
	T_CHECK(u != NULL, "%s", err.message);
	T_CHECK(btx_s3_upload_write(u, data, 600, &err) == 0, "%s", err.message);
	T_CHECK(btx_s3_upload_write(u, data + 600, 400, &err) == 0, "%s", err.message);	/* exactly 1 part */
	T_CHECK(btx_s3_upload_finish(u, &res, &err) == 0, "%s", err.message);
	T_CHECK(f.nseen == 1 && strcmp(f.seen[0].method, "PUT") == 0, "requests %d", f.nseen);
	T_CHECK(f.seen[0].body_len == 1000, "len %zu", f.seen[0].body_len);
	T_STREQ(fake_header(&f, 0, "If-None-Match"), "*");
	T_STREQ(fake_header(&f, 0, "x-amz-server-side-encryption"), "AES256");
	T_STREQ(res.etag, "\"single\"");
	T_STREQ(res.sse, "AES256");
	T_CHECK(res.bytes == 1000 && res.parts == 0, "bytes %llu parts %d", res.bytes, res.parts);
	btx_sigv4_sha256_hex(data, 1000, want_sha);
	T_STREQ(res.sha256_hex, want_sha);
	btx_s3_upload_free(u);
	T_END();

	T_BEGIN("upload: empty object");
	u = btx_s3_upload_open(c, "b", "empty", &opt, &err);
	T_CHECK(u && btx_s3_upload_finish(u, &res, &err) == 0, "%s", err.message);
	T_STREQ(res.sha256_hex, BTX_SIGV4_EMPTY_SHA256);
	btx_s3_upload_free(u);
	T_END();

	T_BEGIN("upload: multipart, parts as the buffer fills, complete with If-None-Match");
	fake_free(&f);
	fake_init(&f);
	f.hook = upload_hook;
	u = btx_s3_upload_open(c, "b", "big.jsonl", &opt, &err);
	for (i = 0; i < total; i += 250)
		T_CHECK(btx_s3_upload_write(u, data + i, 250, &err) == 0, "%s", err.message);
	T_CHECK(btx_s3_upload_finish(u, &res, &err) == 0, "%s", err.message);
	T_CHECK(f.nseen == 5, "requests %d", f.nseen);
	T_CHECK(count_method(&f, "POST", "?uploads") == 1, "create");
	T_STREQ(fake_header(&f, 0, "x-amz-server-side-encryption"), "AES256");
	T_STREQ(fake_header(&f, 0, "Content-Type"), "application/x-ndjson");
	T_STREQ(f.seen[1].url, "https://s3.example.test/b/big.jsonl?partNumber=1&uploadId=UP-1");
	T_CHECK(f.seen[1].body_len == 1000 && f.seen[2].body_len == 1000 && f.seen[3].body_len == 500,
			"part sizes");
	T_CHECK(fake_header(&f, 1, "If-None-Match") == NULL, "If-None-Match on a part");
	T_CHECK(fake_header(&f, 1, "x-amz-server-side-encryption") == NULL, "SSE on a part");
	T_STREQ(fake_header(&f, 4, "If-None-Match"), "*");
	T_STREQ(res.etag, "\"full-3\"");
	T_CHECK(res.parts == 3 && res.bytes == total, "parts %d bytes %llu", res.parts, res.bytes);
	btx_sigv4_sha256_hex(data, total, want_sha);
	T_STREQ(res.sha256_hex, want_sha);
	T_CHECK(count_method(&f, "DELETE", "") == 0, "aborted a good upload");
	btx_s3_upload_free(u);
	T_END();

	T_BEGIN("upload: a failed part aborts the multipart upload");
	fake_free(&f);
	fake_init(&f);
	f.hook = upload_hook;
	fake_push(&f, 200, NULL, NULL);	/* create (hook fills) */
	fake_push(&f, 200, NULL, NULL);	/* part 1 */
	fake_push(&f, 403, NULL, ACCESS_DENIED);	/* part 2 */
	u = btx_s3_upload_open(c, "b", "big.jsonl", &opt, &err);
	/* part 2 goes out in the background: its failure shows at the next call */
	if (btx_s3_upload_write(u, data, 2500, &err) == 0)
		T_CHECK(btx_s3_upload_finish(u, &res, &err) != 0, "finish ok?");
	T_CHECK(strstr(err.message, "AccessDenied") != NULL, "%s", err.message);
	T_CHECK(count_method(&f, "DELETE", "uploadId=UP-1") == 1, "no abort");
	T_CHECK(btx_s3_upload_failure_class(u) == BTX_S3_PERMANENT, "class");
	T_CHECK(btx_s3_upload_id(u) == NULL, "upload id left");
	T_CHECK(btx_s3_upload_write(u, data, 1, &err) != 0, "write after failure");
	btx_s3_upload_free(u);
	T_CHECK(count_method(&f, "DELETE", "uploadId=UP-1") == 1, "double abort");
	T_END();

	T_BEGIN("upload: existing key at complete → precondition failed, aborted");
	fake_free(&f);
	fake_init(&f);
	f.hook = upload_hook;
	for (i = 0; i < 4; i++)
		fake_push(&f, 200, NULL, NULL);
	fake_push(&f, 412, NULL, "<Error><Code>PreconditionFailed</Code></Error>");
	u = btx_s3_upload_open(c, "b", "big.jsonl", &opt, &err);
	T_CHECK(btx_s3_upload_write(u, data, 2500, &err) == 0, "%s", err.message);
	T_CHECK(btx_s3_upload_finish(u, &res, &err) != 0, "finish ok?");
	T_CHECK(btx_s3_upload_failure_class(u) == BTX_S3_PRECONDITION_FAILED, "class %d",
			btx_s3_upload_failure_class(u));
	T_CHECK(count_method(&f, "DELETE", "uploadId=UP-1") == 1, "no abort");
	btx_s3_upload_free(u);
	T_END();

	T_BEGIN("upload: persistent 409 at complete → restart required, aborted");
	fake_free(&f);
	fake_init(&f);
	f.hook = upload_hook;
	for (i = 0; i < 4; i++)
		fake_push(&f, 200, NULL, NULL);
	for (i = 0; i < 5; i++)
		fake_push(&f, 409, NULL, "<Error><Code>ConditionalRequestConflict</Code></Error>");
	u = btx_s3_upload_open(c, "b", "big.jsonl", &opt, &err);
	T_CHECK(btx_s3_upload_write(u, data, 2500, &err) == 0, "%s", err.message);
	T_CHECK(btx_s3_upload_finish(u, &res, &err) != 0, "finish ok?");
	T_CHECK(btx_s3_upload_restart_required(u), "restart flag");
	T_CHECK(count_method(&f, "POST", "uploadId=UP-1") == 5, "complete retries %d",
			count_method(&f, "POST", "uploadId=UP-1"));
	T_CHECK(count_method(&f, "DELETE", "uploadId=UP-1") == 1, "no abort");
	btx_s3_upload_free(u);
	T_END();

	T_BEGIN("upload: free of an unfinished multipart upload aborts it");
	fake_free(&f);
	fake_init(&f);
	f.hook = upload_hook;
	u = btx_s3_upload_open(c, "b", "big.jsonl", &opt, &err);
	T_CHECK(btx_s3_upload_write(u, data, 1500, &err) == 0, "%s", err.message);
	T_CHECK(btx_s3_upload_id(u) != NULL, "no multipart yet");
	btx_s3_upload_free(u);
	T_CHECK(count_method(&f, "DELETE", "uploadId=UP-1") == 1, "no abort");
	T_END();

	T_BEGIN("upload: cancel mid-upload aborts with interrupts suppressed");
	fake_free(&f);
	fake_init(&f);
	f.hook = upload_hook;
	u = btx_s3_upload_open(c, "b", "big.jsonl", &opt, &err);
	T_CHECK(btx_s3_upload_write(u, data, 1500, &err) == 0, "%s", err.message);
	st.interrupt_after = st.polls;
	T_CHECK(btx_s3_upload_write(u, data, 1000, &err) != 0, "write ok?");
	T_STREQ(err.sqlstate, "57014");
	T_CHECK(btx_s3_upload_failure_class(u) == BTX_S3_CANCELED, "class");
	T_CHECK(count_method(&f, "DELETE", "uploadId=UP-1") == 1, "no abort");
	st.interrupt_after = 0;
	btx_s3_upload_free(u);
	T_END();

	T_BEGIN("upload: too many parts");
	fake_free(&f);
	fake_init(&f);
	f.hook = upload_hook;
	{
		btx_s3_upload_options o2 = opt;

		o2.max_parts = 2;
		u = btx_s3_upload_open(c, "b", "big.jsonl", &o2, &err);
		T_CHECK(btx_s3_upload_write(u, data, 2500, &err) != 0, "accepted");
		T_CHECK(strstr(err.message, "more than 2 parts") != NULL, "%s", err.message);
		T_CHECK(count_method(&f, "DELETE", "uploadId=UP-1") == 1, "no abort");
		btx_s3_upload_free(u);
	}
	T_END();

	free(data);
	btx_s3_client_free(c);
	fake_free(&f);
}

/* ---------------------------------------------------------------- overlap */

static int	ov_main_wrote;		/* atomic: the caller wrote into the second buffer */
static int	ov_seen;			/* atomic: part 1 saw that while in flight */
static long ov_wait_ms;
static int	ov_part2_fails;		/* part 2: 503 this many times */
static int	ov_part3_expired;	/* part 3: ExpiredToken this many times */
static int	ov_part1_503;		/* part 1: 503 forever */

static void
nap_ms(long ms)
{
	struct timespec ts;

	ts.tv_sec = ms / 1000;
	ts.tv_nsec = (ms % 1000) * 1000000L;
	nanosleep(&ts, NULL);
}

static int
has_old_token(const btx_http_request *req)
{
	int			i;

	for (i = 0; i < req->nheaders; i++)
		if (strcasecmp(req->headers[i], "x-amz-security-token: session-token") == 0)
			return 1;
	return 0;
}

static int
overlap_hook(fake *f, const btx_http_request *req, fake_answer *a)
{
	if (strstr(req->url, "partNumber=1&") && ov_part1_503)
	{
		a->status = 503;
		a->body = "<Error><Code>SlowDown</Code></Error>";
		return 0;
	}
	if (strstr(req->url, "partNumber=1&") && ov_wait_ms > 0)
	{
		long		waited;

		/* hold part 1 until the caller has moved on, or give up */
		for (waited = 0; waited < ov_wait_ms; waited += 5)
		{
			if (__atomic_load_n(&ov_main_wrote, __ATOMIC_SEQ_CST))
			{
				__atomic_store_n(&ov_seen, 1, __ATOMIC_SEQ_CST);
				break;
			}
			nap_ms(5);
		}
	}
	if (strstr(req->url, "partNumber=2&") && ov_part2_fails > 0)
	{
		ov_part2_fails--;
		a->status = 503;
		a->body = "<Error><Code>SlowDown</Code></Error>";
		return 0;
	}
	if (strstr(req->url, "partNumber=3&") && ov_part3_expired && has_old_token(req))
	{
		/* expired until the request carries refreshed credentials */
		a->status = 400;
		a->body = "<Error><Code>ExpiredToken</Code><Message>The provided token has expired.</Message></Error>";
		return 0;
	}
	return upload_hook(f, req, a);
}

static void
test_upload_overlap(void)
{
	fake		f;
	cbstate		st;
	btx_s3_config cfg;
	btx_s3_client *c;
	btx_s3_upload *u;
	btx_s3_upload_options opt;
	btx_s3_upload_result res;
	btx_error	err;
	unsigned char *data;
	size_t		total = 3500;
	size_t		i;
	char		want_sha[65];

	memset(&st, 0, sizeof(st));
	st.now = 1440938160;
	st.owner = pthread_self();
	fake_init(&f);
	f.hook = overlap_hook;
	memset(&cfg, 0, sizeof(cfg));
	cfg.endpoint = "https://s3.example.test";
	cfg.retry_base_ms = 5;
	cfg.retry_cap_ms = 10;
	c = make_client(&f, &st, &cfg, "session-token");
	data = malloc(total);
	for (i = 0; i < total; i++)
		data[i] = (unsigned char) (i * 13 + 1);
	btx_sigv4_sha256_hex(data, total, want_sha);
	memset(&opt, 0, sizeof(opt));
	opt.part_size = 1000;
	opt.min_part_size = 1000;

	T_BEGIN("upload: a part is in flight while the caller fills the next one");
	ov_main_wrote = ov_seen = 0;
	ov_wait_ms = 3000;
	u = btx_s3_upload_open(c, "b", "ov.jsonl", &opt, &err);
	T_CHECK(btx_s3_upload_write(u, data, 1000, &err) == 0, "%s", err.message);
	T_CHECK(btx_s3_upload_write(u, data + 1000, 500, &err) == 0, "%s", err.message);	/* part 1 leaves */
	__atomic_store_n(&ov_main_wrote, 1, __ATOMIC_SEQ_CST);
	T_CHECK(btx_s3_upload_write(u, data + 1500, total - 1500, &err) == 0, "%s", err.message);
	T_CHECK(btx_s3_upload_finish(u, &res, &err) == 0, "%s", err.message);
	T_CHECK(__atomic_load_n(&ov_seen, __ATOMIC_SEQ_CST) == 1, "part 1 did not overlap the caller");
	T_CHECK(res.parts == 4 && res.bytes == total, "parts %d bytes %llu", res.parts, res.bytes);
	T_STREQ(res.sha256_hex, want_sha);
	T_CHECK(f.nseen == 6, "requests %d", f.nseen);
	for (i = 1; i <= 4; i++)
	{
		char		want[128];

		snprintf(want, sizeof(want), "https://s3.example.test/b/ov.jsonl?partNumber=%zu&uploadId=UP-1", i);
		T_STREQ(f.seen[i].url, want);
		T_CHECK(f.seen[i].body_len == (i < 4 ? 1000 : 500), "part %zu: %zu bytes", i, f.seen[i].body_len);
	}
	btx_s3_upload_free(u);
	T_END();

	T_BEGIN("upload: sync_parts uploads on the caller's thread (control)");
	fake_free(&f);
	fake_init(&f);
	f.hook = overlap_hook;
	ov_main_wrote = ov_seen = 0;
	ov_wait_ms = 300;
	{
		btx_s3_upload_options o2 = opt;

		o2.sync_parts = 1;
		u = btx_s3_upload_open(c, "b", "ov.jsonl", &o2, &err);
		T_CHECK(btx_s3_upload_write(u, data, 1500, &err) == 0, "%s", err.message);
		__atomic_store_n(&ov_main_wrote, 1, __ATOMIC_SEQ_CST);
		T_CHECK(btx_s3_upload_write(u, data + 1500, total - 1500, &err) == 0, "%s", err.message);
		T_CHECK(btx_s3_upload_finish(u, &res, &err) == 0, "%s", err.message);
		T_CHECK(__atomic_load_n(&ov_seen, __ATOMIC_SEQ_CST) == 0, "sync part overlapped?");
		T_STREQ(res.sha256_hex, want_sha);
		btx_s3_upload_free(u);
	}
	ov_wait_ms = 0;
	T_END();

	T_BEGIN("upload: retries and expired credentials of background parts; callbacks stay on the caller's thread");
	fake_free(&f);
	fake_init(&f);
	f.hook = overlap_hook;
	ov_part2_fails = 2;
	ov_part3_expired = 1;
	btx_s3_client_set_credentials(c, &(btx_s3_credentials) {"AKIDEXAMPLE", SECRET, "session-token", 0});
	st.foreign = 0;
	st.refreshes = 0;
	st.sleeps = 0;
	u = btx_s3_upload_open(c, "b", "ov.jsonl", &opt, &err);
	for (i = 0; i < total; i += 100)
		T_CHECK(btx_s3_upload_write(u, data + i, 100, &err) == 0, "%s", err.message);
	T_CHECK(btx_s3_upload_finish(u, &res, &err) == 0, "%s", err.message);
	T_CHECK(st.foreign == 0, "%d callbacks ran on the upload thread", st.foreign);
	T_CHECK(st.refreshes == 1, "refreshes %d", st.refreshes);
	T_CHECK(st.sleeps == 0, "the caller's sleep callback ran %d times", st.sleeps);
	T_CHECK(count_method(&f, "PUT", "partNumber=2&") == 3, "part 2 attempts %d",
			count_method(&f, "PUT", "partNumber=2&"));
	/* detached: expired; attached: expired, refresh, success */
	T_CHECK(count_method(&f, "PUT", "partNumber=3&") == 3, "part 3 attempts %d",
			count_method(&f, "PUT", "partNumber=3&"));
	T_CHECK(res.parts == 4 && res.bytes == total, "parts %d bytes %llu", res.parts, res.bytes);
	T_STREQ(res.sha256_hex, want_sha);
	T_CHECK(count_method(&f, "DELETE", "") == 0, "aborted a good upload");
	btx_s3_upload_free(u);
	ov_part3_expired = 0;
	T_END();

	T_BEGIN("upload: a cancel while waiting for a background part stops it and aborts");
	fake_free(&f);
	fake_init(&f);
	f.hook = overlap_hook;
	ov_part1_503 = 1;
	st.foreign = 0;
	{
		btx_s3_client *slow;
		btx_s3_config cfg2;

		memset(&cfg2, 0, sizeof(cfg2));
		cfg2.endpoint = "https://s3.example.test";
		cfg2.retry_base_ms = 60000;		/* part 1 sleeps a minute between attempts ... */
		cfg2.retry_cap_ms = 60000;
		cfg2.retry_max_attempts = 3;
		slow = make_client(&f, &st, &cfg2, NULL);
		u = btx_s3_upload_open(slow, "b", "ov.jsonl", &opt, &err);
		T_CHECK(btx_s3_upload_write(u, data, 1500, &err) == 0, "%s", err.message);
		st.interrupt_after = st.polls + 2;	/* ... until the caller is cancelled */
		T_CHECK(btx_s3_upload_write(u, data + 1500, 1000, &err) != 0, "write ok?");
		T_STREQ(err.sqlstate, "57014");
		T_CHECK(btx_s3_upload_failure_class(u) == BTX_S3_CANCELED, "class %d",
				btx_s3_upload_failure_class(u));
		T_CHECK(count_method(&f, "PUT", "partNumber=1&") == 1, "part 1 attempts %d",
				count_method(&f, "PUT", "partNumber=1&"));
		T_CHECK(count_method(&f, "DELETE", "uploadId=UP-1") == 1, "no abort");
		T_CHECK(st.foreign == 0, "%d callbacks ran on the upload thread", st.foreign);
		st.interrupt_after = 0;
		btx_s3_upload_free(u);
		btx_s3_client_free(slow);
	}
	ov_part1_503 = 0;
	T_END();

	T_BEGIN("upload: free while a part is in flight cancels it and aborts");
	fake_free(&f);
	fake_init(&f);
	f.hook = overlap_hook;
	ov_main_wrote = 0;
	ov_wait_ms = 200;
	u = btx_s3_upload_open(c, "b", "ov.jsonl", &opt, &err);
	T_CHECK(btx_s3_upload_write(u, data, 1500, &err) == 0, "%s", err.message);
	btx_s3_upload_free(u);
	T_CHECK(count_method(&f, "DELETE", "uploadId=UP-1") == 1, "no abort");
	ov_wait_ms = 0;
	T_END();

	free(data);
	btx_s3_client_free(c);
	fake_free(&f);
}

void
test_client(void)
{
	test_urls();
	test_classify();
	test_xml();
	test_requests();
	test_upload();
	test_upload_overlap();
}
