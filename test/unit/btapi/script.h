/*
 * script.h — a scripted HTTP transport and a fake clock for the HTTP core
 * and Braintrust client unit tests.  Answers are queued (status, headers,
 * body bytes, or a network failure); every request is recorded with the
 * fake clock's time, so tests assert on URLs, headers, bodies and pacing.
 */
#ifndef BTX_TEST_SCRIPT_H
#define BTX_TEST_SCRIPT_H

#include <stddef.h>

#include "core/http/http.h"

#define SCRIPT_MAX 128

typedef struct script_answer
{
	long		status;
	char	   *headers;		/* "Name: v\r\n..." (owned) */
	char	   *body;			/* owned bytes */
	size_t		body_len;
	btx_http_net net;
} script_answer;

typedef struct script_seen
{
	char	   *method;
	char	   *url;
	char	   *headers;		/* joined with '\n' */
	char	   *body;			/* NUL-terminated copy */
	size_t		max_body;
	long long	at_ms;			/* fake clock when sent */
} script_seen;

typedef struct fake_clock
{
	long long	now_ms;			/* monotonic */
	long long	wall_s;			/* wall clock (Retry-After dates) */
	long long	slept_ms;		/* total */
	long		sleeps[SCRIPT_MAX];
	int			nsleeps;
	int			interrupt_after;	/* interrupt once this many sleeps happened (0 = never) */
	unsigned int rnd;			/* value the random callback returns */
} fake_clock;

typedef struct script
{
	script_answer answers[SCRIPT_MAX];
	int			nanswers;
	int			pos;
	script_answer fallback;		/* once the queue is empty */
	script_seen seen[SCRIPT_MAX];
	int			nseen;
	fake_clock *clock;			/* optional: timestamps requests */
} script;

extern void script_init(script *s, fake_clock *clock);
extern void script_free(script *s);
extern void script_push(script *s, long status, const char *headers, const char *body);
extern void script_push_bytes(script *s, long status, const char *headers, const void *body,
							  size_t len);
/* body gzip-compressed (with Content-Encoding: gzip unless headers say otherwise) */
extern void script_push_gzip(script *s, long status, const char *headers, const char *body);
extern void script_push_net(script *s, btx_http_net net);
extern int	script_transport(void *arg, const btx_http_request *req, btx_http_response *resp);
/* value of header name in request i, or NULL (static buffer) */
extern const char *script_header(script *s, int i, const char *name);
/* gzip of len bytes into out */
extern void gzip_bytes(const void *in, size_t len, btx_buf *out);

/* fake clock callbacks (arg = fake_clock *) */
extern long long fake_now_ms(void *arg);
extern time_t fake_wall(void *arg);
extern int	fake_sleep(void *arg, long ms);
extern unsigned int fake_random(void *arg);
extern int	fake_interrupt(void *arg);

#endif
