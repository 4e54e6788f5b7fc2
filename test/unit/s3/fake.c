/*
 * fake.c — scripted transport for the S3 client unit tests.
 */
#include "fake.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/s3/sigv4.h"

void
fake_init(fake *f)
{
	memset(f, 0, sizeof(*f));
	f->fallback.status = 200;
}

void
fake_free(fake *f)
{
	int			i;

	for (i = 0; i < f->nseen; i++)
	{
		free(f->seen[i].method);
		free(f->seen[i].url);
		free(f->seen[i].headers);
		free(f->seen[i].body);
	}
	memset(f, 0, sizeof(*f));
}

void
fake_push(fake *f, long status, const char *headers, const char *body)
{
	fake_answer *a = &f->script[f->nscript++];

	a->status = status;
	a->headers = headers;
	a->body = body;
	a->net = BTX_HTTP_NET_NONE;
}

void
fake_push_net(fake *f, btx_http_net net)
{
	fake_answer *a = &f->script[f->nscript++];

	memset(a, 0, sizeof(*a));
	a->net = net;
}

int
fake_transport(void *arg, const btx_http_request *req, btx_http_response *resp)
{
	fake	   *f = arg;
	fake_answer a;
	fake_seen  *s;
	btx_buf		h;
	int			i;
	size_t		bl;

	if (f->nseen < FAKE_MAX)
	{
		s = &f->seen[f->nseen++];
		s->method = strdup(req->method);
		s->url = strdup(req->url);
		btx_buf_init(&h);
		for (i = 0; i < req->nheaders; i++)
		{
			btx_buf_puts(&h, req->headers[i]);
			btx_buf_putc(&h, '\n');
		}
		s->headers = btx_buf_steal(&h);
		s->body_len = req->body_len;
		btx_sigv4_sha256_hex(req->body ? req->body : "", req->body_len, s->body_sha256);
		bl = req->body_len < 4096 ? req->body_len : 4096;
		s->body = malloc(bl + 1);
		if (bl)
			memcpy(s->body, req->body, bl);
		s->body[bl] = '\0';
	}
	a = f->pos < f->nscript ? f->script[f->pos++] : f->fallback;
	f->next++;
	if (f->hook)
		f->hook(f, req, &a);
	if (a.net != BTX_HTTP_NET_NONE)
	{
		resp->net_error = a.net;
		snprintf(resp->net_message, sizeof(resp->net_message), "fake network failure %d", (int) a.net);
		return -1;
	}
	resp->status = a.status;
	btx_buf_appendf(&resp->headers, "HTTP/1.1 %ld X\r\n", a.status);
	if (a.headers)
		btx_buf_puts(&resp->headers, a.headers);
	if (a.body)
		btx_buf_puts(&resp->body, a.body);
	return 0;
}

const char *
fake_header(fake *f, int i, const char *name)
{
	static char val[4096];
	const char *p;
	size_t		nl = strlen(name);

	if (i < 0 || i >= f->nseen)
		return NULL;
	p = f->seen[i].headers;
	while (p && *p)
	{
		const char *e = strchr(p, '\n');
		size_t		l = e ? (size_t) (e - p) : strlen(p);

		if (l > nl && strncasecmp(p, name, nl) == 0 && p[nl] == ':')
		{
			const char *v = p + nl + 1;

			while (*v == ' ')
				v++;
			snprintf(val, sizeof(val), "%.*s", (int) (p + l - v), v);
			return val;
		}
		p += l;
		if (*p == '\n')
			p++;
	}
	return NULL;
}
