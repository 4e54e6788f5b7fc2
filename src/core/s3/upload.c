/*
 * upload.c — streaming uploader: single PUT or multipart (see upload.h).
 *
 * Design: bytes fill one of two part buffers; when it is full the part goes
 * to a helper thread (part_thread) while the caller fills the other one, so
 * producing an object and uploading it overlap with at most one part in
 * flight.  An object that never fills a part is one PutObject at finish.  The
 * helper thread calls nothing of the caller's (the client is detached): the
 * caller polls its interrupt callback while it waits (wait_part) and cancels
 * the part, and a part that needs fresh credentials is sent again on the
 * caller's thread (upload_part_here).  The object's SHA-256 is hashed part by
 * part in order.  Every failure path ends in abort_remote, so no partial
 * object becomes visible.
 */
#include "core/s3/upload.h"

#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>

#include "core/s3/sigv4.h"

typedef enum upload_state
{
	UP_OPEN,
	UP_DONE,
	UP_FAILED,
	UP_ABORTED
} upload_state;

/*
 * One part uploaded on a helper thread while the caller fills the other
 * buffer.  The thread only hashes its buffer into the object's SHA-256 and
 * runs btx_s3_upload_part with the client detached: it calls no callback of
 * the caller's, and it is started with every signal blocked.
 */
typedef struct part_job
{
	struct btx_s3_upload *u;
	int			number;
	const unsigned char *data;
	size_t		len;
	pthread_t	thread;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	int			done;			/* under lock */
	int			rc;
	btx_s3_class klass;
	char		etag[128];
	btx_error	err;
} part_job;

struct btx_s3_upload
{
	btx_s3_client *client;
	char	   *bucket;
	char	   *key;
	char	   *content_type;
	int			if_none_match;
	size_t		part_size;
	int			max_parts;

	unsigned char *bufs[2];		/* part_size bytes each, allocated when needed */
	unsigned char *buf;			/* the one being filled */
	size_t		fill;
	unsigned long long total;

	part_job	job;			/* the part in flight, when busy */
	int			busy;
	int			sync_parts;		/* tests: upload every part on the caller's thread */

	char	   *upload_id;		/* multipart upload in progress */
	btx_s3_part *parts;
	int			nparts;

	EVP_MD_CTX *sha256;			/* of the bytes handed to S3 so far, in order */

	upload_state state;
	btx_s3_class failure;
	int			restart_required;
};

static int
fail(btx_s3_upload *u, btx_s3_class klass)
{
	u->state = UP_FAILED;
	u->failure = klass == BTX_S3_OK ? BTX_S3_PERMANENT : klass;
	return -1;
}

btx_s3_upload *
btx_s3_upload_open(btx_s3_client *c, const char *bucket, const char *key,
				   const btx_s3_upload_options *opt, btx_error *err)
{
	btx_s3_upload *u;
	size_t		part = opt && opt->part_size ? opt->part_size : BTX_S3_DEFAULT_PART_SIZE;
	size_t		minpart = opt && opt->min_part_size ? opt->min_part_size : BTX_S3_MIN_PART_SIZE;
	int			maxparts = opt && opt->max_parts > 0 ? opt->max_parts : BTX_S3_MAX_PARTS;

	btx_error_clear(err);
	if (part < minpart || part > BTX_S3_MAX_PART_SIZE)
	{
		btx_error_set(err, 1, "22023", "invalid S3 part size %zu", part);
		btx_error_detail(err, "The part size must be between %zu bytes and 5 GiB.", minpart);
		return NULL;
	}
	if (maxparts > BTX_S3_MAX_PARTS)
	{
		btx_error_set(err, 1, "22023", "invalid maximum part count %d", maxparts);
		btx_error_detail(err, "S3 allows at most %d parts.", BTX_S3_MAX_PARTS);
		return NULL;
	}
	if (bucket == NULL || bucket[0] == '\0' || key == NULL || key[0] == '\0')
	{
		btx_error_set(err, 1, "22023", "an S3 bucket and key are required");
		return NULL;
	}
	u = calloc(1, sizeof(*u));
	if (u == NULL)
		goto oom;
	u->client = c;
	u->bucket = strdup(bucket);
	u->key = strdup(key);
	u->content_type = strdup(opt && opt->content_type ? opt->content_type : "application/octet-stream");
	u->if_none_match = opt ? opt->if_none_match : 0;
	u->part_size = part;
	u->max_parts = maxparts;
	u->sync_parts = opt ? opt->sync_parts : 0;
	u->sha256 = EVP_MD_CTX_new();
	if (u->bucket == NULL || u->key == NULL || u->content_type == NULL ||
		u->sha256 == NULL || EVP_DigestInit_ex(u->sha256, EVP_sha256(), NULL) != 1)
	{
		u->state = UP_FAILED;
		btx_s3_upload_free(u);
		goto oom;
	}
	u->state = UP_OPEN;
	return u;

oom:
	btx_error_set(err, 1, "53200", "out of memory");
	return NULL;
}

/* abort the remote multipart upload (if any), keeping the first error */
static void
abort_remote(btx_s3_upload *u, btx_error *err)
{
	btx_s3_response resp;
	btx_error	aerr;

	if (u->upload_id == NULL)
		return;
	btx_s3_response_init(&resp);
	btx_s3_client_suppress_interrupt(u->client, 1);
	if (btx_s3_abort_multipart_upload(u->client, u->bucket, u->key, u->upload_id, &resp, &aerr) != 0)
	{
		/* report it, but keep the original error as the message */
		if (err && err->code && strlen(err->detail) + 200 < sizeof(err->detail))
		{
			size_t		l = strlen(err->detail);

			snprintf(err->detail + l, sizeof(err->detail) - l,
					 "%sAborting multipart upload %s also failed: %s.",
					 l ? " " : "", u->upload_id, aerr.message);
		}
		else if (err && !err->code)
			*err = aerr;
	}
	else
	{
		free(u->upload_id);
		u->upload_id = NULL;
	}
	btx_s3_client_suppress_interrupt(u->client, 0);
	btx_s3_response_free(&resp);
}

static void
cond_init_monotonic(pthread_cond_t *c)
{
	pthread_condattr_t a;

	pthread_condattr_init(&a);
	pthread_condattr_setclock(&a, CLOCK_MONOTONIC);
	pthread_cond_init(c, &a);
	pthread_condattr_destroy(&a);
}

static void
too_many_parts(btx_s3_upload *u, btx_error *err)
{
	btx_error_set(err, 1, "54000", "object \"s3://%s/%s\" needs more than %d parts of %zu bytes",
				  u->bucket, u->key, u->max_parts, u->part_size);
	btx_error_hint(err, "Raise the part size (a multipart upload holds at most 10000 parts).");
}

/* start the multipart upload and make room for part number n */
static int
prepare_part(btx_s3_upload *u, int n, btx_error *err)
{
	btx_s3_part *np;

	if (u->upload_id == NULL)
	{
		btx_s3_response resp;
		btx_s3_put_options po;

		btx_s3_response_init(&resp);
		po.content_type = u->content_type;
		po.if_none_match = 0;	/* checked at complete */
		if (btx_s3_create_multipart_upload(u->client, u->bucket, u->key, &po, &u->upload_id,
										   &resp, err) != 0)
		{
			fail(u, resp.klass);
			btx_s3_response_free(&resp);
			return -1;
		}
		btx_s3_response_free(&resp);
	}
	if (n > u->max_parts)
	{
		too_many_parts(u, err);
		fail(u, BTX_S3_PERMANENT);
		abort_remote(u, err);
		return -1;
	}
	np = realloc(u->parts, n * sizeof(btx_s3_part));
	if (np == NULL)
	{
		btx_error_set(err, 1, "53200", "out of memory");
		fail(u, BTX_S3_PERMANENT);
		abort_remote(u, err);
		return -1;
	}
	u->parts = np;
	return 0;
}

/* record part n's ETag */
static void
part_done(btx_s3_upload *u, int n, const char *etag)
{
	u->parts[n - 1].number = n;
	snprintf(u->parts[n - 1].etag, sizeof(u->parts[n - 1].etag), "%s", etag);
	u->nparts = n;
}

/* upload part n on this thread (hashing it first unless already hashed) */
static int
upload_part_here(btx_s3_upload *u, int n, const unsigned char *data, size_t len, int hashed,
				 btx_error *err)
{
	btx_s3_response resp;

	if (!hashed)
		EVP_DigestUpdate(u->sha256, data, len);
	btx_s3_response_init(&resp);
	if (btx_s3_upload_part(u->client, u->bucket, u->key, u->upload_id, n, data, len,
						   &resp, err) != 0)
	{
		fail(u, resp.klass);
		abort_remote(u, err);
		btx_s3_response_free(&resp);
		return -1;
	}
	part_done(u, n, resp.etag);
	btx_s3_response_free(&resp);
	return 0;
}

static void *
part_thread(void *arg)
{
	part_job   *j = arg;
	btx_s3_upload *u = j->u;
	btx_s3_response resp;

	EVP_DigestUpdate(u->sha256, j->data, j->len);
	btx_s3_response_init(&resp);
	j->rc = btx_s3_upload_part(u->client, u->bucket, u->key, u->upload_id, j->number,
							   j->data, j->len, &resp, &j->err);
	j->klass = resp.klass;
	snprintf(j->etag, sizeof(j->etag), "%s", resp.etag);
	btx_s3_response_free(&resp);
	pthread_mutex_lock(&j->lock);
	j->done = 1;
	pthread_cond_signal(&j->cond);
	pthread_mutex_unlock(&j->lock);
	return NULL;
}

/*
 * Wait for the part in flight.  The caller's interrupt callback is polled
 * here, on the caller's thread, every 20 ms; when it fires, the part is
 * cancelled.  A part that failed because the credentials need a refresh is
 * uploaded again here, attached, where the refresh callback may run.  Any
 * other failure aborts the multipart upload.
 */
static int
wait_part(btx_s3_upload *u, int cancel, btx_error *err)
{
	part_job   *j = &u->job;
	int			canceled = 0;

	if (!u->busy)
		return 0;
	if (cancel)
	{
		btx_s3_client_cancel_detached(u->client);
		canceled = 1;
	}
	pthread_mutex_lock(&j->lock);
	while (!j->done)
	{
		struct timespec ts;

		clock_gettime(CLOCK_MONOTONIC, &ts);
		ts.tv_nsec += 20 * 1000000L;
		if (ts.tv_nsec >= 1000000000L)
		{
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000L;
		}
		(void) pthread_cond_timedwait(&j->cond, &j->lock, &ts);
		if (!j->done && !canceled)
		{
			int			stop;

			/* the callback is the caller's (this thread's): never call it holding the lock */
			pthread_mutex_unlock(&j->lock);
			stop = btx_s3_client_interrupted(u->client);
			if (stop)
			{
				btx_s3_client_cancel_detached(u->client);
				canceled = 1;
			}
			pthread_mutex_lock(&j->lock);
		}
	}
	pthread_mutex_unlock(&j->lock);
	pthread_join(j->thread, NULL);
	pthread_cond_destroy(&j->cond);
	pthread_mutex_destroy(&j->lock);
	btx_s3_client_set_detached(u->client, 0);
	u->busy = 0;
	if (j->rc == 0)
	{
		part_done(u, j->number, j->etag);
		return 0;
	}
	if (j->klass == BTX_S3_EXPIRED_CREDENTIALS && !cancel)
		return upload_part_here(u, j->number, j->data, j->len, 1, err);
	*err = j->err;
	fail(u, j->klass);
	if (!cancel)
		abort_remote(u, err);
	return -1;
}

/*
 * Hand the full buffer to S3 as the next part and continue with the other
 * buffer: the part goes out on a helper thread while the caller produces the
 * next one (one part in flight at most; memory: two part buffers).
 */
static int
flush_part(btx_s3_upload *u, btx_error *err)
{
	part_job   *j = &u->job;
	int			n;
	sigset_t	all,
				old;
	int			rc;

	if (wait_part(u, 0, err) != 0)
		return -1;
	n = u->nparts + 1;
	if (prepare_part(u, n, err) != 0)
		return -1;
	if (btx_s3_client_interrupted(u->client))
	{
		btx_error_set(err, 1, "57014", "upload of \"s3://%s/%s\" canceled", u->bucket, u->key);
		fail(u, BTX_S3_CANCELED);
		abort_remote(u, err);
		return -1;
	}
	if (!u->sync_parts && u->bufs[1] == NULL)
		u->bufs[1] = malloc(u->part_size);
	if (!u->sync_parts && u->bufs[1] != NULL)
	{
		memset(j, 0, sizeof(*j));
		j->u = u;
		j->number = n;
		j->data = u->buf;
		j->len = u->fill;
		pthread_mutex_init(&j->lock, NULL);
		cond_init_monotonic(&j->cond);
		btx_s3_client_set_detached(u->client, 1);
		sigfillset(&all);
		pthread_sigmask(SIG_SETMASK, &all, &old);
		rc = pthread_create(&j->thread, NULL, part_thread, j);
		pthread_sigmask(SIG_SETMASK, &old, NULL);
		if (rc == 0)
		{
			u->busy = 1;
			u->buf = u->buf == u->bufs[0] ? u->bufs[1] : u->bufs[0];
			u->fill = 0;
			return 0;
		}
		btx_s3_client_set_detached(u->client, 0);
		pthread_cond_destroy(&j->cond);
		pthread_mutex_destroy(&j->lock);
	}
	/* sync_parts, no second buffer, or no thread: upload on this thread */
	if (upload_part_here(u, n, u->buf, u->fill, 0, err) != 0)
		return -1;
	u->fill = 0;
	return 0;
}

static int
check_open(btx_s3_upload *u, btx_error *err)
{
	if (u->state == UP_OPEN)
		return 0;
	btx_error_set(err, 1, "55000", "S3 upload of \"s3://%s/%s\" is no longer open", u->bucket, u->key);
	return -1;
}

int
btx_s3_upload_write(btx_s3_upload *u, const void *data, size_t len, btx_error *err)
{
	const unsigned char *p = data;

	btx_error_clear(err);
	if (check_open(u, err) != 0)
		return -1;
	if (len == 0)
		return 0;
	if (u->buf == NULL)
	{
		u->bufs[0] = u->buf = malloc(u->part_size);
		if (u->buf == NULL)
		{
			btx_error_set(err, 1, "53200", "out of memory allocating an S3 part buffer of %zu bytes",
						  u->part_size);
			return fail(u, BTX_S3_PERMANENT);
		}
	}
	u->total += len;
	while (len > 0)
	{
		size_t		n;

		/* a full buffer goes out only once more bytes follow it */
		if (u->fill == u->part_size)
		{
			/* parts issued so far, this one, and at least one more */
			if (u->nparts + u->busy + 1 >= u->max_parts)
			{
				(void) wait_part(u, 1, err);
				btx_error_clear(err);
				too_many_parts(u, err);
				fail(u, BTX_S3_PERMANENT);
				abort_remote(u, err);
				return -1;
			}
			if (flush_part(u, err) != 0)
				return -1;
		}
		n = u->part_size - u->fill;
		if (n > len)
			n = len;
		memcpy(u->buf + u->fill, p, n);
		u->fill += n;
		p += n;
		len -= n;
	}
	return 0;
}

int
btx_s3_upload_finish(btx_s3_upload *u, btx_s3_upload_result *res, btx_error *err)
{
	btx_s3_response resp;
	unsigned char md[32];
	unsigned int mdlen;

	btx_error_clear(err);
	memset(res, 0, sizeof(*res));
	if (check_open(u, err) != 0)
		return -1;
	btx_s3_response_init(&resp);
	if (u->upload_id == NULL)
	{
		btx_s3_put_options po;

		po.content_type = u->content_type;
		po.if_none_match = u->if_none_match;
		EVP_DigestUpdate(u->sha256, u->buf ? (const void *) u->buf : "", u->fill);
		if (btx_s3_put_object(u->client, u->bucket, u->key, u->buf ? (const void *) u->buf : "",
							  u->fill, &po, &resp, err) != 0)
		{
			fail(u, resp.klass);
			btx_s3_response_free(&resp);
			return -1;
		}
	}
	else
	{
		if (wait_part(u, 0, err) != 0)
		{
			btx_s3_response_free(&resp);
			return -1;
		}
		if (u->fill > 0)
		{
			if (prepare_part(u, u->nparts + 1, err) != 0 ||
				upload_part_here(u, u->nparts + 1, u->buf, u->fill, 0, err) != 0)
			{
				btx_s3_response_free(&resp);
				return -1;
			}
			u->fill = 0;
		}
		if (btx_s3_complete_multipart_upload(u->client, u->bucket, u->key, u->upload_id,
											 u->parts, u->nparts, u->if_none_match,
											 &resp, err) != 0)
		{
			if (strcmp(resp.error_code, "ConditionalRequestConflict") == 0)
			{
				u->restart_required = 1;
				btx_error_hint(err, "A concurrent write to the same key conflicted; the object must be uploaded again from the start.");
			}
			fail(u, resp.klass);
			abort_remote(u, err);
			btx_s3_response_free(&resp);
			return -1;
		}
		free(u->upload_id);
		u->upload_id = NULL;
	}
	u->state = UP_DONE;
	snprintf(res->etag, sizeof(res->etag), "%s", resp.etag);
	snprintf(res->sse, sizeof(res->sse), "%s", resp.sse);
	snprintf(res->request_id, sizeof(res->request_id), "%s", resp.request_id);
	res->bytes = u->total;
	res->parts = u->nparts;
	mdlen = 32;
	EVP_DigestFinal_ex(u->sha256, md, &mdlen);
	btx_sigv4_hex(md, 32, res->sha256_hex);
	btx_s3_response_free(&resp);
	free(u->bufs[0]);
	free(u->bufs[1]);
	u->bufs[0] = u->bufs[1] = u->buf = NULL;
	return 0;
}

void
btx_s3_upload_cancel(btx_s3_upload *u)
{
	btx_error	err;

	if (u == NULL || !u->busy)
		return;
	btx_error_clear(&err);
	(void) wait_part(u, 1, &err);
	if (u->state == UP_OPEN)
		u->state = UP_ABORTED;
}

int
btx_s3_upload_abort(btx_s3_upload *u, btx_error *err)
{
	btx_error_clear(err);
	if (u->state == UP_DONE)
		return 0;
	btx_s3_upload_cancel(u);
	btx_error_clear(err);
	abort_remote(u, err);
	if (u->state == UP_OPEN)
		u->state = UP_ABORTED;
	return u->upload_id == NULL ? 0 : -1;
}

void
btx_s3_upload_free(btx_s3_upload *u)
{
	btx_error	err;

	if (u == NULL)
		return;
	btx_s3_upload_cancel(u);
	if (u->upload_id != NULL && u->client)
	{
		btx_error_clear(&err);
		abort_remote(u, &err);
	}
	free(u->upload_id);
	free(u->bucket);
	free(u->key);
	free(u->content_type);
	free(u->bufs[0]);
	free(u->bufs[1]);
	free(u->parts);
	EVP_MD_CTX_free(u->sha256);
	free(u);
}

btx_s3_class
btx_s3_upload_failure_class(const btx_s3_upload *u)
{
	return u->state == UP_FAILED ? u->failure : BTX_S3_OK;
}

int
btx_s3_upload_restart_required(const btx_s3_upload *u)
{
	return u->restart_required;
}

const char *
btx_s3_upload_id(const btx_s3_upload *u)
{
	return u->upload_id;
}
