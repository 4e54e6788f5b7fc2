/*
 * sigv4.h — AWS Signature Version 4 (HMAC-SHA256) signer, plus the small
 * hashing helpers the S3 client needs.  Plain C + OpenSSL, no PostgreSQL.
 *
 * Paths: the signer takes the path exactly as it goes on the wire.
 *   - S3 (path_mode BTX_SIGV4_PATH_AS_IS): the caller encodes each key segment
 *     once (btx_sigv4_uri_encode with keep_slash) and that string is both sent
 *     and signed; no normalisation of ".", ".." or "//".
 *   - other services (BTX_SIGV4_PATH_ENCODE[_NORMALIZE]): the wire path is
 *     (optionally) normalised (RFC 3986 dot segments, empty segments dropped)
 *     and then URI-encoded once more ("double encoding").
 * Query: the raw query string (no '?'); each name and value is percent-decoded
 * and re-encoded per SigV4 ('+' stays a literal plus), then sorted.
 * Headers: every header given is signed except user-agent, expect and
 * authorization.  The caller supplies host and (header form) x-amz-date,
 * x-amz-content-sha256 and x-amz-security-token itself, as it sends them.
 */
#ifndef BTX_SIGV4_H
#define BTX_SIGV4_H

#include <stddef.h>
#include <time.h>

#include "core/common/btx_buf.h"

#define BTX_SIGV4_EMPTY_SHA256 "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
#define BTX_SIGV4_UNSIGNED_PAYLOAD "UNSIGNED-PAYLOAD"

typedef enum btx_sigv4_path_mode
{
	BTX_SIGV4_PATH_AS_IS = 0,	/* S3: wire path is the canonical path */
	BTX_SIGV4_PATH_ENCODE,		/* encode the wire path again, no normalisation */
	BTX_SIGV4_PATH_ENCODE_NORMALIZE /* normalise, then encode again */
} btx_sigv4_path_mode;

typedef struct btx_sigv4_header
{
	const char *name;			/* any case */
	const char *value;			/* raw; trimmed and space-collapsed when signed */
} btx_sigv4_header;

typedef struct btx_sigv4_request
{
	const char *method;			/* "GET", "PUT" ... */
	const char *path;			/* wire path, starts with '/' */
	const char *query;			/* raw query without '?', or NULL */
	const btx_sigv4_header *headers;
	int			nheaders;
	const char *payload_hash;	/* hex SHA-256 of the body or UNSIGNED-PAYLOAD */
} btx_sigv4_request;

typedef struct btx_sigv4_params
{
	const char *access_key_id;
	const char *secret_access_key;
	const char *session_token;	/* NULL or "" when none */
	const char *region;
	const char *service;		/* "s3", "sts" ... */
	const char *amz_date;		/* "YYYYMMDDTHHMMSSZ" (btx_sigv4_format_date) */
	btx_sigv4_path_mode path_mode;
	int			omit_session_token; /* query form: add the token after signing */
	long		expires;		/* query form: X-Amz-Expires, 1 .. 604800 */
} btx_sigv4_params;

typedef struct btx_sigv4_result
{
	btx_buf		canonical_request;
	btx_buf		string_to_sign;
	btx_buf		signed_headers; /* "host;x-amz-date" */
	char		signature[65];	/* lower-case hex */
	btx_buf		authorization;	/* header form: full Authorization value */
	btx_buf		query;			/* query form: the complete query to send,
								 * ending with &X-Amz-Signature=... */
} btx_sigv4_result;

extern void btx_sigv4_result_init(btx_sigv4_result *r);
extern void btx_sigv4_result_free(btx_sigv4_result *r);

/* Authorization-header form.  Returns 0, or -1 with err set. */
extern int	btx_sigv4_sign_header(const btx_sigv4_params *p, const btx_sigv4_request *req,
								  btx_sigv4_result *out, btx_error *err);

/* Presigned (query) form: X-Amz-* parameters are merged into req->query. */
extern int	btx_sigv4_presign(const btx_sigv4_params *p, const btx_sigv4_request *req,
							  btx_sigv4_result *out, btx_error *err);

/* The pieces, exposed for tests and the S3 client. */
extern int	btx_sigv4_uri_encode(btx_buf *out, const char *s, size_t len, int keep_slash);
extern int	btx_sigv4_canonical_uri(btx_buf *out, const char *path, btx_sigv4_path_mode mode);
extern int	btx_sigv4_canonical_query(btx_buf *out, const char *query);
/* canonical header block (each "name:value\n") and the signed-header list */
extern int	btx_sigv4_canonical_headers(btx_buf *canon, btx_buf *signed_list,
										const btx_sigv4_header *headers, int n);
extern void btx_sigv4_signing_key(const char *secret, const char *date8, const char *region,
								  const char *service, unsigned char key[32]);
/* t (UTC) -> "YYYYMMDDTHHMMSSZ" */
extern void btx_sigv4_format_date(time_t t, char out[17]);

/* hashing helpers */
extern void btx_sigv4_sha256_hex(const void *data, size_t len, char out[65]);
extern void btx_sigv4_hex(const unsigned char *bin, size_t len, char *out);
extern void btx_sigv4_hmac_sha256(const void *key, size_t keylen, const void *data,
								  size_t len, unsigned char out[32]);
extern void btx_sigv4_md5(const void *data, size_t len, unsigned char out[16]);
/* base64 of bin, out must hold 4*ceil(len/3)+1 bytes */
extern void btx_sigv4_base64(const unsigned char *bin, size_t len, char *out);

#endif							/* BTX_SIGV4_H */
