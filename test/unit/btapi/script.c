/*
 * script.c — scripted transport and fake clock (see script.h).
 */
#include "script.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <zlib.h>

void
script_init(script *s, fake_clock *clock)
{
	memset(s, 0, sizeof(*s));
	s->fallback.status = 200;
	s->clock = clock;
}

static void
answer_free(script_answer *a)
{
	free(a->headers);
	free(a->body);
	memset(a, 0, sizeof(*a));
}

void
script_free(script *s)
{
	int			i;

	for (i = 0; i < s->nanswers; i++)
		answer_free(&s->answers[i]);
	answer_free(&s->fallback);
	for (i = 0; i < s->nseen; i++)
	{
		free(s->seen[i].method);
		free(s->seen[i].url);
		free(s->seen[i].headers);
		free(s->seen[i].body);
	}
	memset(s, 0, sizeof(*s));
}

void
script_push_bytes(script *s, long status, const char *headers, const void *body, size_t len)
{
	script_answer *a = &s->answers[s->nanswers++];

	memset(a, 0, sizeof(*a));
	a->status = status;
	a->headers = headers ? strdup(headers) : NULL;
	if (body)
	{
		a->body = malloc(len + 1);
		memcpy(a->body, body, len);
		a->body[len] = '\0';
		a->body_len = len;
	}
}

void
script_push(script *s, long status, const char *headers, const char *body)
{
	script_push_bytes(s, status, headers, body, body ? strlen(body) : 0);
}

void
gzip_bytes(const void *in, size_t len, btx_buf *out)
{
	z_stream	zs;
	unsigned char chunk[4096];
	int			zr;

	memset(&zs, 0, sizeof(zs));
	deflateInit2(&zs, 6, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY);
	zs.next_in = (Bytef *) in;
	zs.avail_in = (uInt) len;
	do
	{
		zs.next_out = chunk;
		zs.avail_out = sizeof(chunk);
		zr = deflate(&zs, Z_FINISH);
		btx_buf_append(out, chunk, sizeof(chunk) - zs.avail_out);
	} while (zr == Z_OK);
	deflateEnd(&zs);
}

void
script_push_gzip(script *s, long status, const char *headers, const char *body)
{
	btx_buf		gz;

	btx_buf_init(&gz);
	gzip_bytes(body, strlen(body), &gz);
	script_push_bytes(s, status, headers ? headers : "Content-Encoding: gzip\r\n", gz.data, gz.len);
	btx_buf_free(&gz);
}

void
script_push_net(script *s, btx_http_net net)
{
	script_answer *a = &s->answers[s->nanswers++];

	memset(a, 0, sizeof(*a));
	a->net = net;
}

int
script_transport(void *arg, const btx_http_request *req, btx_http_response *resp)
{
	script	   *s = arg;
	script_answer *a;
	int			i;

	if (s->nseen < SCRIPT_MAX)
	{
		script_seen *w = &s->seen[s->nseen++];
		btx_buf		h;

		w->method = strdup(req->method);
		w->url = strdup(req->url);
		btx_buf_init(&h);
		for (i = 0; i < req->nheaders; i++)
		{
			btx_buf_puts(&h, req->headers[i]);
			btx_buf_putc(&h, '\n');
		}
		w->headers = h.data ? btx_buf_steal(&h) : strdup("");
		w->body = malloc(req->body_len + 1);
		if (req->body_len)
			memcpy(w->body, req->body, req->body_len);
		w->body[req->body_len] = '\0';
		w->max_body = req->max_body;
		w->at_ms = s->clock ? s->clock->now_ms : 0;
	}
	a = s->pos < s->nanswers ? &s->answers[s->pos++] : &s->fallback;
	if (a->net != BTX_HTTP_NET_NONE)
	{
		resp->net_error = a->net;
		snprintf(resp->net_message, sizeof(resp->net_message), "scripted failure %d", (int) a->net);
		return -1;
	}
	resp->status = a->status;
	btx_buf_appendf(&resp->headers, "HTTP/1.1 %ld X\r\n", a->status);
	if (a->headers)
		btx_buf_puts(&resp->headers, a->headers);
	if (a->body)
		btx_buf_append(&resp->body, a->body, a->body_len);
	return 0;
}

const char *
script_header(script *s, int i, const char *name)
{
	static char val[4096];
	const char *cur;
	const char *n,
			   *v;
	size_t		nl,
				vl;

	if (i < 0 || i >= s->nseen)
		return NULL;
	cur = s->seen[i].headers;
	while (btx_http_header_next(&cur, &n, &nl, &v, &vl))
		if (nl == strlen(name) && strncasecmp(n, name, nl) == 0)
		{
			btx_http_copy_value(v, vl, val, sizeof(val));
			return val;
		}
	return NULL;
}

long long
fake_now_ms(void *arg)
{
	return ((fake_clock *) arg)->now_ms;
}

time_t
fake_wall(void *arg)
{
	return (time_t) ((fake_clock *) arg)->wall_s;
}

int
fake_sleep(void *arg, long ms)
{
	fake_clock *c = arg;

	if (c->nsleeps < SCRIPT_MAX)
		c->sleeps[c->nsleeps] = ms;
	c->nsleeps++;
	c->now_ms += ms;
	c->wall_s = c->wall_s + ms / 1000;
	c->slept_ms += ms;
	return c->interrupt_after && c->nsleeps >= c->interrupt_after;
}

unsigned int
fake_random(void *arg)
{
	return ((fake_clock *) arg)->rnd;
}

int
fake_interrupt(void *arg)
{
	fake_clock *c = arg;

	return c->interrupt_after < 0;
}
