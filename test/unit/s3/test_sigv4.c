/*
 * test_sigv4.c — SigV4: every case of test/data/sigv4 in header and
 * query form, plus the S3 reference signatures from the S3 API docs.
 */
#include <dirent.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "core/s3/sigv4.h"
#include "t.h"
#include "tests.h"

static char *
read_whole(const char *dir, const char *c, const char *f, size_t *len)
{
	char		path[4096];
	FILE	   *fp;
	btx_buf		b;
	char		chunk[4096];
	size_t		n;

	snprintf(path, sizeof(path), "%s/%s/%s", dir, c, f);
	fp = fopen(path, "rb");
	if (fp == NULL)
		return NULL;
	btx_buf_init(&b);
	while ((n = fread(chunk, 1, sizeof(chunk), fp)) > 0)
		btx_buf_append(&b, chunk, n);
	fclose(fp);
	if (len)
		*len = b.len;
	return btx_buf_steal(&b);
}

static void
rstrip(char *s)
{
	size_t		l = strlen(s);

	while (l > 0 && (s[l - 1] == '\n' || s[l - 1] == '\r' || s[l - 1] == ' '))
		s[--l] = '\0';
}

typedef struct parsed_req
{
	char	   *method;
	char	   *path;
	char	   *query;
	char	   *names[32];
	btx_buf		values[32];
	int			n;
	const char *body;
	size_t		body_len;
} parsed_req;

/* parse request.txt: request line, headers (with folded lines), body */
static int
parse_request(char *txt, size_t len, parsed_req *r)
{
	char	   *line_end = strchr(txt, '\n');
	char	   *p;
	char	   *sp;
	char	   *http;
	char	   *target;
	char	   *q;

	memset(r, 0, sizeof(*r));
	if (line_end == NULL)
		return -1;
	*line_end = '\0';
	sp = strchr(txt, ' ');
	http = strstr(txt, " HTTP/");
	if (sp == NULL || http == NULL)
		return -1;
	*sp = '\0';
	*http = '\0';
	r->method = txt;
	target = sp + 1;
	q = strchr(target, '?');
	if (q)
	{
		*q = '\0';
		r->query = q + 1;
	}
	r->path = target;
	p = line_end + 1;
	while (*p && *p != '\n')
	{
		char	   *e = strchr(p, '\n');

		if (e)
			*e = '\0';
		if ((*p == ' ' || *p == '\t') && r->n > 0)
		{
			btx_buf_putc(&r->values[r->n - 1], '\n');
			btx_buf_puts(&r->values[r->n - 1], p);
		}
		else
		{
			char	   *colon = strchr(p, ':');

			if (colon == NULL || r->n >= 32)
				return -1;
			*colon = '\0';
			r->names[r->n] = p;
			btx_buf_init(&r->values[r->n]);
			btx_buf_puts(&r->values[r->n], colon + 1);
			r->n++;
		}
		if (e == NULL)
		{
			p += strlen(p);
			break;
		}
		p = e + 1;
	}
	if (*p == '\n')
		p++;
	r->body = p;
	r->body_len = len - (size_t) (p - txt);
	return 0;
}

static void
free_request(parsed_req *r)
{
	int			i;

	for (i = 0; i < r->n; i++)
		btx_buf_free(&r->values[i]);
}

static void
run_case(const char *dir, const char *c, int query_form)
{
	char		name[512];
	size_t		rlen;
	char	   *ctxs = read_whole(dir, c, "context.json", NULL);
	char	   *reqs = read_whole(dir, c, "request.txt", &rlen);
	const char *pfx = query_form ? "query" : "header";
	char		f[64];
	char	   *want_creq;
	char	   *want_sts;
	char	   *want_sig;
	char	   *want_signed;
	json_t	   *ctx = NULL;
	json_error_t jerr;
	parsed_req	r;
	btx_sigv4_header hdrs[40];
	int			nh = 0;
	int			i;
	btx_sigv4_params p;
	btx_sigv4_request req;
	btx_sigv4_result res;
	btx_error	err;
	char		body_hash[65];
	const char *token = NULL;
	int			sign_body;
	int			omit_token;

	snprintf(name, sizeof(name), "sigv4 %s %s", c, pfx);
	snprintf(f, sizeof(f), "%s-canonical-request.txt", pfx);
	want_creq = read_whole(dir, c, f, NULL);
	snprintf(f, sizeof(f), "%s-string-to-sign.txt", pfx);
	want_sts = read_whole(dir, c, f, NULL);
	snprintf(f, sizeof(f), "%s-signature.txt", pfx);
	want_sig = read_whole(dir, c, f, NULL);
	snprintf(f, sizeof(f), "%s-signed-request.txt", pfx);
	want_signed = read_whole(dir, c, f, NULL);
	btx_sigv4_result_init(&res);
	memset(&r, 0, sizeof(r));

	T_BEGIN(name);
	T_CHECK(ctxs && reqs && want_creq && want_sts && want_sig && want_signed,
			"missing files in %s/%s", dir, c);
	if (ctxs && reqs && want_creq && want_sts && want_sig && want_signed)
	{
		ctx = json_loads(ctxs, 0, &jerr);
		T_CHECK(ctx != NULL, "bad context.json");
		T_CHECK(parse_request(reqs, rlen, &r) == 0, "bad request.txt");
		rstrip(want_sig);
		if (ctx)
		{
			json_t	   *cr = json_object_get(ctx, "credentials");
			char		amz[17];
			const char *ts = json_string_value(json_object_get(ctx, "timestamp"));

			/* "2015-08-30T12:36:00Z" -> "20150830T123600Z" */
			snprintf(amz, sizeof(amz), "%.4s%.2s%.2sT%.2s%.2s%.2sZ",
					 ts, ts + 5, ts + 8, ts + 11, ts + 14, ts + 17);
			sign_body = json_is_true(json_object_get(ctx, "sign_body"));
			omit_token = json_is_true(json_object_get(ctx, "omit_session_token"));
			token = json_string_value(json_object_get(cr, "token"));
			if (sign_body)
				btx_sigv4_sha256_hex(r.body, r.body_len, body_hash);
			else
				strcpy(body_hash, BTX_SIGV4_EMPTY_SHA256);

			for (i = 0; i < r.n; i++)
			{
				hdrs[nh].name = r.names[i];
				hdrs[nh].value = r.values[i].data;
				nh++;
			}
			if (!query_form)
			{
				hdrs[nh].name = "X-Amz-Date";
				hdrs[nh].value = amz;
				nh++;
				if (token && !omit_token)
				{
					hdrs[nh].name = "X-Amz-Security-Token";
					hdrs[nh].value = token;
					nh++;
				}
				if (sign_body)
				{
					hdrs[nh].name = "x-amz-content-sha256";
					hdrs[nh].value = body_hash;
					nh++;
				}
			}
			memset(&p, 0, sizeof(p));
			p.access_key_id = json_string_value(json_object_get(cr, "access_key_id"));
			p.secret_access_key = json_string_value(json_object_get(cr, "secret_access_key"));
			p.session_token = token;
			p.omit_session_token = omit_token;
			p.region = json_string_value(json_object_get(ctx, "region"));
			p.service = json_string_value(json_object_get(ctx, "service"));
			p.amz_date = amz;
			p.expires = (long) json_integer_value(json_object_get(ctx, "expiration_in_seconds"));
			p.path_mode = json_is_true(json_object_get(ctx, "normalize")) ?
				BTX_SIGV4_PATH_ENCODE_NORMALIZE : BTX_SIGV4_PATH_ENCODE;
			req.method = r.method;
			req.path = r.path;
			req.query = r.query;
			req.headers = hdrs;
			req.nheaders = nh;
			req.payload_hash = body_hash;
			if (query_form)
				T_CHECK(btx_sigv4_presign(&p, &req, &res, &err) == 0, "%s", err.message);
			else
				T_CHECK(btx_sigv4_sign_header(&p, &req, &res, &err) == 0, "%s", err.message);
			T_STREQ(res.canonical_request.data, want_creq);
			T_STREQ(res.string_to_sign.data, want_sts);
			T_STREQ(res.signature, want_sig);
			if (!query_form)
			{
				/* the Authorization line of the signed request */
				char	   *a = strstr(want_signed, "\nAuthorization:");

				T_CHECK(a != NULL, "no Authorization in signed request");
				if (a)
				{
					char	   *e = strchr(a + 1, '\n');

					if (e)
						*e = '\0';
					T_STREQ(res.authorization.data, a + strlen("\nAuthorization:"));
				}
			}
			else
			{
				char		needle[100];

				snprintf(needle, sizeof(needle), "&X-Amz-Signature=%s", want_sig);
				T_CHECK(res.query.data && strstr(res.query.data, needle) != NULL,
						"query lacks signature: %s", res.query.data);
			}
		}
	}
	T_END();
	json_decref(ctx);
	free_request(&r);
	btx_sigv4_result_free(&res);
	free(ctxs);
	free(reqs);
	free(want_creq);
	free(want_sts);
	free(want_sig);
	free(want_signed);
}

static int
cmpstr(const void *a, const void *b)
{
	return strcmp(*(char *const *) a, *(char *const *) b);
}

/* S3 reference signatures (S3 API docs, sig-v4-header-based-auth) */
static void
s3_reference(void)
{
	btx_sigv4_params p;
	btx_sigv4_request req;
	btx_sigv4_result res;
	btx_error	err;
	btx_buf		path;
	char		h[65];

	memset(&p, 0, sizeof(p));
	p.access_key_id = "AKIAIOSFODNN7EXAMPLE";
	p.secret_access_key = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
	p.region = "us-east-1";
	p.service = "s3";
	p.amz_date = "20130524T000000Z";
	p.path_mode = BTX_SIGV4_PATH_AS_IS;
	btx_sigv4_result_init(&res);

	T_BEGIN("sigv4 s3 GET object with Range");
	{
		btx_sigv4_header hd[] = {
			{"Host", "examplebucket.s3.amazonaws.com"},
			{"Range", "bytes=0-9"},
			{"x-amz-content-sha256", BTX_SIGV4_EMPTY_SHA256},
			{"x-amz-date", "20130524T000000Z"},
			{"User-Agent", "btexport-test"},	/* never signed */
		};

		req.method = "GET";
		req.path = "/test.txt";
		req.query = NULL;
		req.headers = hd;
		req.nheaders = 5;
		req.payload_hash = BTX_SIGV4_EMPTY_SHA256;
		T_CHECK(btx_sigv4_sign_header(&p, &req, &res, &err) == 0, "%s", err.message);
		T_STREQ(res.signature, "f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41");
		T_STREQ(res.signed_headers.data, "host;range;x-amz-content-sha256;x-amz-date");
		T_STREQ(res.authorization.data,
				"AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, "
				"SignedHeaders=host;range;x-amz-content-sha256;x-amz-date, "
				"Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41");
	}
	T_END();

	T_BEGIN("sigv4 s3 PUT object with $ in key");
	{
		btx_sigv4_header hd[] = {
			{"Host", "examplebucket.s3.amazonaws.com"},
			{"Date", "Fri, 24 May 2013 00:00:00 GMT"},
			{"x-amz-date", "20130524T000000Z"},
			{"x-amz-storage-class", "REDUCED_REDUNDANCY"},
			{"x-amz-content-sha256", NULL},
			{"Expect", "100-continue"},
		};
		const char *body = "Welcome to Amazon S3.";

		btx_sigv4_sha256_hex(body, strlen(body), h);
		T_STREQ(h, "44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072");
		hd[4].value = h;
		btx_buf_init(&path);
		btx_sigv4_uri_encode(&path, "/test$file.text", 15, 1);
		T_STREQ(path.data, "/test%24file.text");
		req.method = "PUT";
		req.path = path.data;
		req.query = NULL;
		req.headers = hd;
		req.nheaders = 6;
		req.payload_hash = h;
		T_CHECK(btx_sigv4_sign_header(&p, &req, &res, &err) == 0, "%s", err.message);
		T_STREQ(res.signature, "98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd");
		btx_buf_free(&path);
	}
	T_END();

	T_BEGIN("sigv4 s3 GET ?lifecycle");
	{
		btx_sigv4_header hd[] = {
			{"Host", "examplebucket.s3.amazonaws.com"},
			{"x-amz-date", "20130524T000000Z"},
			{"x-amz-content-sha256", BTX_SIGV4_EMPTY_SHA256},
		};

		req.method = "GET";
		req.path = "/";
		req.query = "lifecycle";
		req.headers = hd;
		req.nheaders = 3;
		req.payload_hash = BTX_SIGV4_EMPTY_SHA256;
		T_CHECK(btx_sigv4_sign_header(&p, &req, &res, &err) == 0, "%s", err.message);
		T_CHECK(strstr(res.canonical_request.data, "\nlifecycle=\n") != NULL, "%s",
				res.canonical_request.data);
		T_STREQ(res.signature, "fea454ca298b7da1c68078a5d1bdbfbbe0d65c699e0f91ac7a200a0136783543");
	}
	T_END();

	T_BEGIN("sigv4 s3 GET ?max-keys=2&prefix=J");
	{
		btx_sigv4_header hd[] = {
			{"Host", "examplebucket.s3.amazonaws.com"},
			{"x-amz-date", "20130524T000000Z"},
			{"x-amz-content-sha256", BTX_SIGV4_EMPTY_SHA256},
		};

		req.method = "GET";
		req.path = "/";
		req.query = "prefix=J&max-keys=2";	/* order must not matter */
		req.headers = hd;
		req.nheaders = 3;
		req.payload_hash = BTX_SIGV4_EMPTY_SHA256;
		T_CHECK(btx_sigv4_sign_header(&p, &req, &res, &err) == 0, "%s", err.message);
		T_STREQ(res.signature, "34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7");
	}
	T_END();

	T_BEGIN("sigv4 s3 presigned GET (S3 docs example)");
	{
		btx_sigv4_header hd[] = {
			{"Host", "examplebucket.s3.amazonaws.com"},
		};

		p.expires = 86400;
		req.method = "GET";
		req.path = "/test.txt";
		req.query = NULL;
		req.headers = hd;
		req.nheaders = 1;
		req.payload_hash = BTX_SIGV4_UNSIGNED_PAYLOAD;
		T_CHECK(btx_sigv4_presign(&p, &req, &res, &err) == 0, "%s", err.message);
		T_STREQ(res.signature, "aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404");
		T_STREQ(res.query.data,
				"X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2Fus-east-1%2Fs3%2Faws4_request"
				"&X-Amz-Date=20130524T000000Z&X-Amz-Expires=86400&X-Amz-SignedHeaders=host"
				"&X-Amz-Signature=aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404");
		p.expires = 0;
		T_CHECK(btx_sigv4_presign(&p, &req, &res, &err) != 0, "expiry 0 accepted");
	}
	T_END();
	btx_sigv4_result_free(&res);
}

static void
encoding_pieces(void)
{
	btx_buf		b;

	btx_buf_init(&b);
	T_BEGIN("sigv4 uri encoding of S3 keys and queries");
	btx_sigv4_uri_encode(&b, "c/dt=2024-01-01/with space \xc3\xa9+.txt", 34, 1);
	T_STREQ(b.data, "c/dt%3D2024-01-01/with%20space%20%C3%A9%2B.txt");
	btx_buf_reset(&b);
	btx_sigv4_uri_encode(&b, "a/b~-_.", 7, 0);
	T_STREQ(b.data, "a%2Fb~-_.");
	btx_buf_reset(&b);
	btx_sigv4_canonical_query(&b, "prefix=c/&list-type=2&continuation-token=a+b%3D");
	T_STREQ(b.data, "continuation-token=a%2Bb%3D&list-type=2&prefix=c%2F");
	btx_buf_reset(&b);
	btx_sigv4_canonical_query(&b, "uploads");
	T_STREQ(b.data, "uploads=");
	btx_buf_reset(&b);
	btx_sigv4_canonical_query(&b, "b=2&a=&&a=1");
	T_STREQ(b.data, "a=&a=1&b=2");
	btx_buf_reset(&b);
	/* S3 keeps the path untouched */
	btx_sigv4_canonical_uri(&b, "/bucket//a/./b/../c%20d", BTX_SIGV4_PATH_AS_IS);
	T_STREQ(b.data, "/bucket//a/./b/../c%20d");
	btx_buf_reset(&b);
	/* generic services encode the wire path once more */
	btx_sigv4_canonical_uri(&b, "/a%20b", BTX_SIGV4_PATH_ENCODE);
	T_STREQ(b.data, "/a%2520b");
	btx_buf_reset(&b);
	btx_sigv4_canonical_uri(&b, "/a/./b/../../c/", BTX_SIGV4_PATH_ENCODE_NORMALIZE);
	T_STREQ(b.data, "/c/");
	btx_buf_reset(&b);
	btx_sigv4_canonical_uri(&b, "", BTX_SIGV4_PATH_ENCODE_NORMALIZE);
	T_STREQ(b.data, "/");
	T_END();
	btx_buf_free(&b);
}

void
test_sigv4(const char *testdata)
{
	char		v4[4096];
	DIR		   *d;
	struct dirent *de;
	char	   *names[256];
	int			n = 0;
	int			i;

	snprintf(v4, sizeof(v4), "%s/v4", testdata);
	d = opendir(v4);
	T_BEGIN("sigv4 testdata directory present");
	T_CHECK(d != NULL, "cannot open %s: the SigV4 test vectors are required", v4);
	T_END();
	if (d)
	{
		while ((de = readdir(d)) != NULL && n < 256)
			if (de->d_name[0] != '.')
				names[n++] = strdup(de->d_name);
		closedir(d);
		qsort(names, n, sizeof(char *), cmpstr);
		T_BEGIN("sigv4 testdata has 38 cases");
		T_CHECK(n == 38, "found %d cases", n);
		T_END();
		for (i = 0; i < n; i++)
		{
			run_case(v4, names[i], 0);
			run_case(v4, names[i], 1);
			free(names[i]);
		}
	}
	s3_reference();
	encoding_pieces();
}
