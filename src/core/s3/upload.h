/*
 * upload.h — streaming S3 uploader with bounded memory.
 *
 *   u = btx_s3_upload_open(client, bucket, key, &opt, &err);
 *   btx_s3_upload_write(u, bytes, n, &err);   ... any number of times
 *   btx_s3_upload_finish(u, &result, &err);   or btx_s3_upload_abort(u, &err)
 *   btx_s3_upload_free(u);
 *
 * Memory: two buffers of part_size bytes.  An object that fits in one part
 * (<= part_size) goes as a single PutObject; a larger one as a multipart
 * upload whose parts go out as a buffer fills (the last part may be
 * smaller).  A full part is uploaded on a helper thread while the caller
 * fills the other buffer, so producing the object and uploading it overlap;
 * at most one part is in flight, and the caller waits only when the next
 * part is full before the previous one is through.  The helper thread runs
 * with every signal blocked and calls none of the client's interrupt, sleep
 * or refresh callbacks (the client is detached, see s3client.h): while the
 * caller waits for a part, it polls the interrupt callback itself every
 * 20 ms and cancels the part when it fires; a part that needs fresh
 * credentials is uploaded again on the caller's thread.  The caller must not
 * use the client between a write that started a part and the next call on
 * the upload.  Every request gets the client's retries (transient errors,
 * expired credentials).  Any failure — including a cancel through the
 * client's interrupt callback — aborts the multipart upload
 * (AbortMultipartUpload, with the interrupt callback suppressed), so no
 * partial object becomes visible; btx_s3_upload_free on an unfinished
 * upload aborts it too.
 *
 * If-None-Match: * (opt.if_none_match) is sent on PutObject or on
 * CompleteMultipartUpload; an existing key fails with class
 * BTX_S3_PRECONDITION_FAILED.  A 409 ConditionalRequestConflict that
 * persists through the client's retries aborts the upload and sets
 * btx_s3_upload_restart_required(): the parts are gone from memory, so the
 * caller must produce the object again with a new upload.
 */
#ifndef BTX_S3_UPLOAD_H
#define BTX_S3_UPLOAD_H

#include <stddef.h>

#include "core/s3/s3client.h"

#define BTX_S3_MIN_PART_SIZE ((size_t) 5 * 1024 * 1024)
#define BTX_S3_DEFAULT_PART_SIZE ((size_t) 16 * 1024 * 1024)
#define BTX_S3_MAX_PART_SIZE ((size_t) 5 * 1024 * 1024 * 1024)
#define BTX_S3_MAX_PARTS 10000

typedef struct btx_s3_upload_options
{
	size_t		part_size;		/* 0 = 16 MiB; at least 5 MiB */
	const char *content_type;	/* default application/octet-stream */
	int			if_none_match;	/* write-once key */
	int			max_parts;		/* 0 = 10000 */
	size_t		min_part_size;	/* 0 = 5 MiB; lower only for tests */
	int			sync_parts;		/* upload parts on the caller's thread (no overlap) */
} btx_s3_upload_options;

typedef struct btx_s3_upload_result
{
	char		etag[128];		/* as returned, quotes included */
	unsigned long long bytes;
	int			parts;			/* 0 for a single PutObject */
	char		sha256_hex[65]; /* of the whole object */
	char		sse[32];		/* server-side encryption echoed by S3 */
	char		request_id[128];
} btx_s3_upload_result;

typedef struct btx_s3_upload btx_s3_upload;

extern btx_s3_upload *btx_s3_upload_open(btx_s3_client *c, const char *bucket, const char *key,
										 const btx_s3_upload_options *opt, btx_error *err);
extern int	btx_s3_upload_write(btx_s3_upload *u, const void *data, size_t len, btx_error *err);
extern int	btx_s3_upload_finish(btx_s3_upload *u, btx_s3_upload_result *res, btx_error *err);
/*
 * Stop the part in flight, if any, and wait for its thread; no request is
 * made (for process exit: the multipart upload is left to orphan clean-up).
 */
extern void btx_s3_upload_cancel(btx_s3_upload *u);
/* abort a started multipart upload; 0 when nothing is left behind */
extern int	btx_s3_upload_abort(btx_s3_upload *u, btx_error *err);
extern void btx_s3_upload_free(btx_s3_upload *u);

/* class of the failure that stopped the upload (BTX_S3_OK while healthy) */
extern btx_s3_class btx_s3_upload_failure_class(const btx_s3_upload *u);
extern int	btx_s3_upload_restart_required(const btx_s3_upload *u);
/* upload id of the multipart upload in progress, or NULL */
extern const char *btx_s3_upload_id(const btx_s3_upload *u);

#endif							/* BTX_S3_UPLOAD_H */
