/*
 * fake.h — scripted transport for the S3 client unit tests.
 */
#ifndef BTX_S3_FAKE_H
#define BTX_S3_FAKE_H

#include "core/s3/s3client.h"

#define FAKE_MAX 64

typedef struct fake_answer
{
	long		status;			/* 0 → network error net */
	const char *headers;		/* "Name: v\r\n..." */
	const char *body;
	btx_http_net	net;
} fake_answer;

typedef struct fake_seen
{
	char	   *method;
	char	   *url;
	char	   *headers;		/* joined with '\n' */
	size_t		body_len;
	char		body_sha256[65];
	char	   *body;			/* first 4 KiB, NUL-terminated */
} fake_seen;

typedef struct fake
{
	fake_answer script[FAKE_MAX];
	int			nscript;
	int			next;			/* answers given */
	int			pos;			/* scripted answers used */
	fake_seen	seen[FAKE_MAX];
	int			nseen;
	/* default answer once the script runs out */
	fake_answer fallback;
	int			(*hook) (struct fake *f, const btx_http_request *req, fake_answer *a);
} fake;

extern void fake_init(fake *f);
extern void fake_free(fake *f);
extern void fake_push(fake *f, long status, const char *headers, const char *body);
extern void fake_push_net(fake *f, btx_http_net net);
extern int	fake_transport(void *arg, const btx_http_request *req, btx_http_response *resp);
/* value of header name in request i, or NULL (static buffer) */
extern const char *fake_header(fake *f, int i, const char *name);

#endif
