/*
 * sigv4.c — AWS Signature Version 4 signer (see sigv4.h).
 *
 * Design: signing is a pure function of the request parts and the key —
 * canonical request (method, path as sent, canonical query, sorted headers
 * with trimmed values, payload hash), string to sign, signing key derived by
 * HMAC chain from the secret, date, region and service — so it is checked
 * against the AWS SigV4 test suite (test/data/sigv4) byte for byte.  Query
 * parameters and headers are both sorted as name/value pairs (pairs_free
 * frees either); the helpers for hex, SHA-256 and URI encoding are shared
 * with the client.
 */
#include "core/s3/sigv4.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "core/http/http.h"

static const char hexdig_lower[] = "0123456789abcdef";

void
btx_sigv4_hex(const unsigned char *bin, size_t len, char *out)
{
	size_t		i;

	for (i = 0; i < len; i++)
	{
		out[2 * i] = hexdig_lower[bin[i] >> 4];
		out[2 * i + 1] = hexdig_lower[bin[i] & 15];
	}
	out[2 * len] = '\0';
}

void
btx_sigv4_sha256_hex(const void *data, size_t len, char out[65])
{
	unsigned char md[32];
	unsigned int mdlen = 32;

	EVP_Digest(data, len, md, &mdlen, EVP_sha256(), NULL);
	btx_sigv4_hex(md, 32, out);
}

void
btx_sigv4_md5(const void *data, size_t len, unsigned char out[16])
{
	unsigned int mdlen = 16;

	EVP_Digest(data, len, out, &mdlen, EVP_md5(), NULL);
}

void
btx_sigv4_hmac_sha256(const void *key, size_t keylen, const void *data, size_t len,
					  unsigned char out[32])
{
	unsigned int outlen = 32;

	HMAC(EVP_sha256(), key, (int) keylen, data, len, out, &outlen);
}

void
btx_sigv4_base64(const unsigned char *bin, size_t len, char *out)
{
	EVP_EncodeBlock((unsigned char *) out, bin, (int) len);
}

void
btx_sigv4_format_date(time_t t, char out[17])
{
	struct tm	tm;

	gmtime_r(&t, &tm);
	strftime(out, 17, "%Y%m%dT%H%M%SZ", &tm);
}

/* SigV4's UriEncode is RFC 3986 percent-encoding (core/http) */
int
btx_sigv4_uri_encode(btx_buf *out, const char *s, size_t len, int keep_slash)
{
	return btx_http_percent_encode(out, s, len, keep_slash);
}

static int
hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* percent-decode s[0..len) into out ('+' is kept as a plus) */
static void
uri_decode(btx_buf *out, const char *s, size_t len)
{
	size_t		i;

	for (i = 0; i < len; i++)
	{
		if (s[i] == '%' && i + 2 < len &&
			hexval(s[i + 1]) >= 0 && hexval(s[i + 2]) >= 0)
		{
			btx_buf_putc(out, (char) (hexval(s[i + 1]) * 16 + hexval(s[i + 2])));
			i += 2;
		}
		else
			btx_buf_putc(out, s[i]);
	}
}

/*
 * Normalise a path: drop empty and "." segments, ".." removes the previous
 * segment; keep a trailing slash.
 */
static int
normalize_path(btx_buf *out, const char *path)
{
	const char **segs;
	size_t	   *lens;
	size_t		nseg = 0;
	size_t		cap;
	const char *p = path;
	size_t		plen = strlen(path);
	int			trailing;
	size_t		i;

	cap = plen / 2 + 2;
	segs = malloc(cap * sizeof(*segs));
	lens = malloc(cap * sizeof(*lens));
	if (segs == NULL || lens == NULL)
	{
		free(segs);
		free(lens);
		return -1;
	}
	trailing = plen > 0 && path[plen - 1] == '/';
	while (*p)
	{
		const char *e;
		size_t		l;

		while (*p == '/')
			p++;
		if (*p == '\0')
			break;
		e = strchr(p, '/');
		l = e ? (size_t) (e - p) : strlen(p);
		if (l == 1 && p[0] == '.')
		{
			/* skip */
		}
		else if (l == 2 && p[0] == '.' && p[1] == '.')
		{
			if (nseg > 0)
				nseg--;
		}
		else
		{
			segs[nseg] = p;
			lens[nseg] = l;
			nseg++;
		}
		p += l;
	}
	btx_buf_putc(out, '/');
	for (i = 0; i < nseg; i++)
	{
		btx_buf_append(out, segs[i], lens[i]);
		if (i + 1 < nseg || trailing)
			btx_buf_putc(out, '/');
	}
	free(segs);
	free(lens);
	return out->oom ? -1 : 0;
}

int
btx_sigv4_canonical_uri(btx_buf *out, const char *path, btx_sigv4_path_mode mode)
{
	btx_buf		tmp;
	int			r;

	if (path == NULL || path[0] == '\0')
		path = "/";
	if (mode == BTX_SIGV4_PATH_AS_IS)
		return btx_buf_puts(out, path);
	btx_buf_init(&tmp);
	if (mode == BTX_SIGV4_PATH_ENCODE_NORMALIZE)
	{
		if (normalize_path(&tmp, path) != 0)
		{
			btx_buf_free(&tmp);
			return -1;
		}
	}
	else
		btx_buf_puts(&tmp, path);
	r = tmp.oom ? -1 : btx_sigv4_uri_encode(out, tmp.data, tmp.len, 1);
	btx_buf_free(&tmp);
	return r;
}

/* a query parameter (both parts encoded) or a header (lower-case name, trimmed value, position) */
typedef struct pair
{
	char	   *name;
	char	   *value;
	int			order;
} pair;

typedef pair qpair;
typedef pair hentry;

static void
pairs_free(pair *p, int n)
{
	int			i;

	for (i = 0; i < n; i++)
	{
		free(p[i].name);
		free(p[i].value);
	}
	free(p);
}

static int
qpair_cmp(const void *a, const void *b)
{
	const qpair *x = a;
	const qpair *y = b;
	int			c = strcmp(x->name, y->name);

	return c ? c : strcmp(x->value, y->value);
}

static char *
encode_component(const char *s, size_t len)
{
	btx_buf		dec;
	btx_buf		enc;

	btx_buf_init(&dec);
	btx_buf_init(&enc);
	uri_decode(&dec, s, len);
	if (dec.oom)
		return NULL;
	btx_sigv4_uri_encode(&enc, dec.data ? dec.data : "", dec.len, 0);
	btx_buf_free(&dec);
	if (enc.oom)
	{
		btx_buf_free(&enc);
		return NULL;
	}
	return btx_buf_steal(&enc);
}

int
btx_sigv4_canonical_query(btx_buf *out, const char *query)
{
	qpair	   *pairs;
	size_t		n = 0;
	size_t		cap = 1;
	const char *p;
	size_t		i;
	int			r = 0;

	if (query == NULL || query[0] == '\0')
		return 0;
	for (p = query; *p; p++)
		if (*p == '&')
			cap++;
	pairs = calloc(cap, sizeof(qpair));
	if (pairs == NULL)
		return -1;
	p = query;
	while (*p)
	{
		const char *amp = strchr(p, '&');
		size_t		l = amp ? (size_t) (amp - p) : strlen(p);

		if (l > 0)
		{
			const char *eq = memchr(p, '=', l);
			size_t		nl = eq ? (size_t) (eq - p) : l;

			pairs[n].name = encode_component(p, nl);
			pairs[n].value = eq ? encode_component(eq + 1, l - nl - 1) : strdup("");
			if (pairs[n].name == NULL || pairs[n].value == NULL)
			{
				n++;
				r = -1;
				break;
			}
			n++;
		}
		p += l;
		if (*p == '&')
			p++;
	}
	if (r == 0)
	{
		qsort(pairs, n, sizeof(qpair), qpair_cmp);
		for (i = 0; i < n; i++)
		{
			if (i > 0)
				btx_buf_putc(out, '&');
			btx_buf_puts(out, pairs[i].name);
			btx_buf_putc(out, '=');
			btx_buf_puts(out, pairs[i].value);
		}
		if (out->oom)
			r = -1;
	}
	pairs_free(pairs, n);
	return r;
}


static int
hentry_cmp(const void *a, const void *b)
{
	const hentry *x = a;
	const hentry *y = b;
	int			c = strcmp(x->name, y->name);

	return c ? c : (x->order - y->order);
}

static int
unsigned_header(const char *lname)
{
	return strcmp(lname, "user-agent") == 0 || strcmp(lname, "expect") == 0 ||
		strcmp(lname, "authorization") == 0 || strcmp(lname, "x-amzn-trace-id") == 0;
}

/* trim and collapse runs of whitespace (incl. folded lines) into one space */
static char *
canon_value(const char *v)
{
	size_t		len = strlen(v);
	char	   *o = malloc(len + 1);
	size_t		j = 0;
	int			pending = 0;

	if (o == NULL)
		return NULL;
	for (; *v; v++)
	{
		if (*v == ' ' || *v == '\t' || *v == '\n' || *v == '\r')
			pending = 1;
		else
		{
			if (pending && j > 0)
				o[j++] = ' ';
			pending = 0;
			o[j++] = *v;
		}
	}
	o[j] = '\0';
	return o;
}

int
btx_sigv4_canonical_headers(btx_buf *canon, btx_buf *signed_list,
							const btx_sigv4_header *headers, int n)
{
	hentry	   *h;
	int			m = 0;
	int			i;
	int			r = 0;

	h = calloc(n > 0 ? n : 1, sizeof(hentry));
	if (h == NULL)
		return -1;
	for (i = 0; i < n; i++)
	{
		char	   *ln = strdup(headers[i].name);
		char	   *q;

		if (ln == NULL)
		{
			r = -1;
			break;
		}
		for (q = ln; *q; q++)
			*q = (char) tolower((unsigned char) *q);
		if (unsigned_header(ln))
		{
			free(ln);
			continue;
		}
		h[m].name = ln;
		h[m].value = canon_value(headers[i].value ? headers[i].value : "");
		h[m].order = i;
		m++;
		if (h[m - 1].value == NULL)
		{
			r = -1;
			break;
		}
	}
	if (r == 0)
	{
		qsort(h, m, sizeof(hentry), hentry_cmp);
		for (i = 0; i < m; i++)
		{
			if (i > 0 && strcmp(h[i].name, h[i - 1].name) == 0)
			{
				/* repeated header: join values with ',' on the previous line */
				canon->len--;	/* drop '\n' */
				btx_buf_putc(canon, ',');
				btx_buf_puts(canon, h[i].value);
				btx_buf_putc(canon, '\n');
				continue;
			}
			if (signed_list->len > 0)
				btx_buf_putc(signed_list, ';');
			btx_buf_puts(signed_list, h[i].name);
			btx_buf_puts(canon, h[i].name);
			btx_buf_putc(canon, ':');
			btx_buf_puts(canon, h[i].value);
			btx_buf_putc(canon, '\n');
		}
		if (canon->oom || signed_list->oom)
			r = -1;
	}
	pairs_free(h, m);
	return r;
}

void
btx_sigv4_signing_key(const char *secret, const char *date8, const char *region,
					  const char *service, unsigned char key[32])
{
	btx_buf		k;
	unsigned char t[32];

	btx_buf_init(&k);
	btx_buf_puts(&k, "AWS4");
	btx_buf_puts(&k, secret);
	btx_sigv4_hmac_sha256(k.data ? k.data : "", k.len, date8, strlen(date8), t);
	/* wipe the secret copy */
	if (k.data)
		memset(k.data, 0, k.len);
	btx_buf_free(&k);
	btx_sigv4_hmac_sha256(t, 32, region, strlen(region), key);
	btx_sigv4_hmac_sha256(key, 32, service, strlen(service), t);
	btx_sigv4_hmac_sha256(t, 32, "aws4_request", 12, key);
	memset(t, 0, sizeof(t));
}

void
btx_sigv4_result_init(btx_sigv4_result *r)
{
	btx_buf_init(&r->canonical_request);
	btx_buf_init(&r->string_to_sign);
	btx_buf_init(&r->signed_headers);
	btx_buf_init(&r->authorization);
	btx_buf_init(&r->query);
	r->signature[0] = '\0';
}

void
btx_sigv4_result_free(btx_sigv4_result *r)
{
	btx_buf_free(&r->canonical_request);
	btx_buf_free(&r->string_to_sign);
	btx_buf_free(&r->signed_headers);
	btx_buf_free(&r->authorization);
	btx_buf_free(&r->query);
	r->signature[0] = '\0';
}

static int
check_params(const btx_sigv4_params *p, const btx_sigv4_request *req, btx_error *err)
{
	if (p->access_key_id == NULL || p->access_key_id[0] == '\0' ||
		p->secret_access_key == NULL || p->region == NULL || p->service == NULL)
	{
		btx_error_set(err, 1, "22023", "sigv4: credentials, region and service are required");
		return -1;
	}
	if (p->amz_date == NULL || strlen(p->amz_date) != 16 || p->amz_date[8] != 'T' ||
		p->amz_date[15] != 'Z')
	{
		btx_error_set(err, 1, "22023", "sigv4: amz_date must look like YYYYMMDDTHHMMSSZ");
		return -1;
	}
	if (req->method == NULL || req->path == NULL || req->payload_hash == NULL)
	{
		btx_error_set(err, 1, "22023", "sigv4: method, path and payload hash are required");
		return -1;
	}
	return 0;
}

/*
 * Build canonical request (with the given canonical query), string to sign
 * and signature into out.
 */
static int
sign_common(const btx_sigv4_params *p, const btx_sigv4_request *req,
			const char *canon_query, btx_sigv4_result *out, btx_error *err)
{
	btx_buf		canon_hdrs;
	char		date8[9];
	char		creq_hash[65];
	unsigned char key[32];
	unsigned char sig[32];

	btx_buf_init(&canon_hdrs);
	memcpy(date8, p->amz_date, 8);
	date8[8] = '\0';

	btx_buf_reset(&out->canonical_request);
	btx_buf_reset(&out->signed_headers);
	btx_buf_reset(&out->string_to_sign);
	if (btx_sigv4_canonical_headers(&canon_hdrs, &out->signed_headers,
									req->headers, req->nheaders) != 0)
		goto oom;

	btx_buf_puts(&out->canonical_request, req->method);
	btx_buf_putc(&out->canonical_request, '\n');
	if (btx_sigv4_canonical_uri(&out->canonical_request, req->path, p->path_mode) != 0)
		goto oom;
	btx_buf_putc(&out->canonical_request, '\n');
	btx_buf_puts(&out->canonical_request, canon_query ? canon_query : "");
	btx_buf_putc(&out->canonical_request, '\n');
	btx_buf_append(&out->canonical_request, canon_hdrs.data ? canon_hdrs.data : "", canon_hdrs.len);
	btx_buf_putc(&out->canonical_request, '\n');
	btx_buf_append(&out->canonical_request, out->signed_headers.data ? out->signed_headers.data : "",
				   out->signed_headers.len);
	btx_buf_putc(&out->canonical_request, '\n');
	btx_buf_puts(&out->canonical_request, req->payload_hash);
	if (out->canonical_request.oom)
		goto oom;

	btx_sigv4_sha256_hex(out->canonical_request.data, out->canonical_request.len, creq_hash);
	btx_buf_appendf(&out->string_to_sign, "AWS4-HMAC-SHA256\n%s\n%s/%s/%s/aws4_request\n%s",
					p->amz_date, date8, p->region, p->service, creq_hash);
	if (out->string_to_sign.oom)
		goto oom;

	btx_sigv4_signing_key(p->secret_access_key, date8, p->region, p->service, key);
	btx_sigv4_hmac_sha256(key, 32, out->string_to_sign.data, out->string_to_sign.len, sig);
	memset(key, 0, sizeof(key));
	btx_sigv4_hex(sig, 32, out->signature);
	btx_buf_free(&canon_hdrs);
	return 0;

oom:
	btx_buf_free(&canon_hdrs);
	btx_error_set(err, 1, "53200", "out of memory while signing a request");
	return -1;
}

int
btx_sigv4_sign_header(const btx_sigv4_params *p, const btx_sigv4_request *req,
					  btx_sigv4_result *out, btx_error *err)
{
	btx_buf		cq;
	int			r;

	if (check_params(p, req, err) != 0)
		return -1;
	btx_buf_init(&cq);
	if (btx_sigv4_canonical_query(&cq, req->query) != 0)
	{
		btx_buf_free(&cq);
		btx_error_set(err, 1, "53200", "out of memory while signing a request");
		return -1;
	}
	r = sign_common(p, req, cq.data, out, err);
	btx_buf_free(&cq);
	if (r != 0)
		return r;
	btx_buf_reset(&out->authorization);
	btx_buf_appendf(&out->authorization,
					"AWS4-HMAC-SHA256 Credential=%s/%.8s/%s/%s/aws4_request, SignedHeaders=%s, Signature=%s",
					p->access_key_id, p->amz_date, p->region, p->service,
					out->signed_headers.data ? out->signed_headers.data : "", out->signature);
	if (out->authorization.oom)
	{
		btx_error_set(err, 1, "53200", "out of memory while signing a request");
		return -1;
	}
	return 0;
}

int
btx_sigv4_presign(const btx_sigv4_params *p, const btx_sigv4_request *req,
				  btx_sigv4_result *out, btx_error *err)
{
	btx_buf		raw;
	btx_buf		cq;
	btx_buf		tmp;
	btx_buf		hdrs;
	int			r = -1;
	int			has_token = p->session_token && p->session_token[0];

	if (check_params(p, req, err) != 0)
		return -1;
	if (p->expires < 1 || p->expires > 604800)
	{
		btx_error_set(err, 1, "22023", "sigv4: presigned expiry must be between 1 and 604800 seconds");
		return -1;
	}
	btx_buf_init(&raw);
	btx_buf_init(&cq);
	btx_buf_init(&tmp);
	btx_buf_init(&hdrs);

	/* the signed-header list is needed inside the query */
	if (btx_sigv4_canonical_headers(&tmp, &hdrs, req->headers, req->nheaders) != 0)
		goto oom;

	if (req->query && req->query[0])
	{
		btx_buf_puts(&raw, req->query);
		btx_buf_putc(&raw, '&');
	}
	btx_buf_puts(&raw, "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=");
	btx_buf_reset(&tmp);
	btx_buf_appendf(&tmp, "%s/%.8s/%s/%s/aws4_request", p->access_key_id, p->amz_date,
					p->region, p->service);
	btx_sigv4_uri_encode(&raw, tmp.data, tmp.len, 0);
	btx_buf_appendf(&raw, "&X-Amz-Date=%s&X-Amz-Expires=%ld", p->amz_date, p->expires);
	if (has_token && !p->omit_session_token)
	{
		btx_buf_puts(&raw, "&X-Amz-Security-Token=");
		btx_sigv4_uri_encode(&raw, p->session_token, strlen(p->session_token), 0);
	}
	btx_buf_puts(&raw, "&X-Amz-SignedHeaders=");
	btx_sigv4_uri_encode(&raw, hdrs.data ? hdrs.data : "", hdrs.len, 0);
	if (raw.oom || btx_sigv4_canonical_query(&cq, raw.data) != 0)
		goto oom;

	if (sign_common(p, req, cq.data, out, err) != 0)
		goto done;

	btx_buf_reset(&out->query);
	btx_buf_append(&out->query, cq.data, cq.len);
	if (has_token && p->omit_session_token)
	{
		btx_buf_puts(&out->query, "&X-Amz-Security-Token=");
		btx_sigv4_uri_encode(&out->query, p->session_token, strlen(p->session_token), 0);
	}
	btx_buf_puts(&out->query, "&X-Amz-Signature=");
	btx_buf_puts(&out->query, out->signature);
	if (out->query.oom)
		goto oom;
	r = 0;
	goto done;

oom:
	btx_error_set(err, 1, "53200", "out of memory while signing a request");
done:
	btx_buf_free(&raw);
	btx_buf_free(&cq);
	btx_buf_free(&tmp);
	btx_buf_free(&hdrs);
	return r;
}
