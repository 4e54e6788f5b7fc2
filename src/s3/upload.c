/*
 * upload.c — streaming uploader: single PUT or multipart (see upload.h).
 */
#include "upload.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "sigv4.h"

typedef enum upload_state
{
	UP_OPEN,
	UP_DONE,
	UP_FAILED,
	UP_ABORTED
} upload_state;

struct btx_s3_upload
{
	btx_s3_client *client;
	char	   *bucket;
	char	   *key;
	char	   *content_type;
	int			if_none_match;
	size_t		part_size;
	int			max_parts;

	unsigned char *buf;			/* part_size bytes, allocated on first write */
	size_t		fill;
	unsigned long long total;

	char	   *upload_id;		/* multipart upload in progress */
	btx_s3_part *parts;
	int			nparts;

	EVP_MD_CTX *sha256;
	EVP_MD_CTX *md5;

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
	u->sha256 = EVP_MD_CTX_new();
	u->md5 = EVP_MD_CTX_new();
	if (u->bucket == NULL || u->key == NULL || u->content_type == NULL ||
		u->sha256 == NULL || u->md5 == NULL ||
		EVP_DigestInit_ex(u->sha256, EVP_sha256(), NULL) != 1 ||
		EVP_DigestInit_ex(u->md5, EVP_md5(), NULL) != 1)
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

static int
flush_part(btx_s3_upload *u, btx_error *err)
{
	btx_s3_response resp;
	btx_s3_part *np;
	int			r;

	btx_s3_response_init(&resp);
	if (u->upload_id == NULL)
	{
		btx_s3_put_options po;

		po.content_type = u->content_type;
		po.if_none_match = 0;	/* checked at complete */
		if (btx_s3_create_multipart_upload(u->client, u->bucket, u->key, &po, &u->upload_id,
										   &resp, err) != 0)
		{
			r = fail(u, resp.klass);
			btx_s3_response_free(&resp);
			return r;
		}
		btx_s3_response_free(&resp);
		btx_s3_response_init(&resp);
	}
	if (u->nparts >= u->max_parts)
	{
		btx_error_set(err, 1, "54000", "object \"s3://%s/%s\" needs more than %d parts of %zu bytes",
					  u->bucket, u->key, u->max_parts, u->part_size);
		btx_error_hint(err, "Raise the part size (a multipart upload holds at most 10000 parts).");
		fail(u, BTX_S3_PERMANENT);
		abort_remote(u, err);
		return -1;
	}
	np = realloc(u->parts, (u->nparts + 1) * sizeof(btx_s3_part));
	if (np == NULL)
	{
		btx_error_set(err, 1, "53200", "out of memory");
		fail(u, BTX_S3_PERMANENT);
		abort_remote(u, err);
		return -1;
	}
	u->parts = np;
	if (btx_s3_upload_part(u->client, u->bucket, u->key, u->upload_id, u->nparts + 1,
						   u->buf, u->fill, &resp, err) != 0)
	{
		fail(u, resp.klass);
		abort_remote(u, err);
		btx_s3_response_free(&resp);
		return -1;
	}
	u->parts[u->nparts].number = u->nparts + 1;
	snprintf(u->parts[u->nparts].etag, sizeof(u->parts[u->nparts].etag), "%s", resp.etag);
	u->nparts++;
	u->fill = 0;
	btx_s3_response_free(&resp);
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
		u->buf = malloc(u->part_size);
		if (u->buf == NULL)
		{
			btx_error_set(err, 1, "53200", "out of memory allocating an S3 part buffer of %zu bytes",
						  u->part_size);
			return fail(u, BTX_S3_PERMANENT);
		}
	}
	EVP_DigestUpdate(u->sha256, data, len);
	EVP_DigestUpdate(u->md5, data, len);
	u->total += len;
	while (len > 0)
	{
		size_t		n;

		/* a full buffer goes out only once more bytes follow it */
		if (u->fill == u->part_size)
		{
			if (u->nparts + 1 >= u->max_parts)
			{
				btx_error_set(err, 1, "54000", "object \"s3://%s/%s\" needs more than %d parts of %zu bytes",
							  u->bucket, u->key, u->max_parts, u->part_size);
				btx_error_hint(err, "Raise the part size (a multipart upload holds at most 10000 parts).");
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
		if (u->fill > 0 && flush_part(u, err) != 0)
		{
			btx_s3_response_free(&resp);
			return -1;
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
	mdlen = 16;
	EVP_DigestFinal_ex(u->md5, md, &mdlen);
	btx_sigv4_hex(md, 16, res->md5_hex);
	btx_s3_response_free(&resp);
	free(u->buf);
	u->buf = NULL;
	return 0;
}

int
btx_s3_upload_abort(btx_s3_upload *u, btx_error *err)
{
	btx_error_clear(err);
	if (u->state == UP_DONE)
		return 0;
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
	if (u->upload_id != NULL && u->client)
	{
		btx_error_clear(&err);
		abort_remote(u, &err);
	}
	free(u->upload_id);
	free(u->bucket);
	free(u->key);
	free(u->content_type);
	free(u->buf);
	free(u->parts);
	EVP_MD_CTX_free(u->sha256);
	EVP_MD_CTX_free(u->md5);
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
