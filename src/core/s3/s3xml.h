/*
 * s3xml.h — parsers for the XML bodies of S3 and STS responses (libxml2).
 *
 * All parsers take untrusted bytes: libxml2 runs with XML_PARSE_NONET, no
 * entity substitution, no DTD loading and no error output.  Elements are
 * matched by local name, ignoring namespaces and element order.  Every
 * parser returns 0 on success, -1 when the body is not the expected
 * document (or on out-of-memory); outputs are malloc'd and owned by the
 * caller (free with the matching *_free).
 */
#ifndef BTX_S3XML_H
#define BTX_S3XML_H

#include <stddef.h>
#include <time.h>

typedef struct btx_s3xml_error
{
	char		code[128];
	char		message[512];
	char		request_id[128];
	char		region[64];		/* <Region> (AuthorizationHeaderMalformed) */
	char		endpoint[256];	/* <Endpoint> (PermanentRedirect) */
	char		server_time[64];	/* <ServerTime> (RequestTimeTooSkewed) */
} btx_s3xml_error;

/*
 * <Error> (S3) or <ErrorResponse> (STS, either shape): Code/Message/...
 * found anywhere beneath.  Returns 0 when the root is an error document.
 */
extern int	btx_s3xml_parse_error(const char *xml, size_t len, btx_s3xml_error *out);

/* <InitiateMultipartUploadResult><UploadId> */
extern int	btx_s3xml_parse_initiate(const char *xml, size_t len, char **upload_id);

/* <CompleteMultipartUploadResult><ETag> (any root but <Error>; ETag optional) */
extern int	btx_s3xml_parse_complete(const char *xml, size_t len, char *etag, size_t etagsz);

typedef struct btx_s3_object
{
	char	   *key;
	long long	size;
	char	   *etag;
} btx_s3_object;

typedef struct btx_s3_object_list
{
	btx_s3_object *items;
	int			n;
	int			truncated;
	char	   *next_token;		/* NextContinuationToken or NULL */
} btx_s3_object_list;

extern void btx_s3_object_list_free(btx_s3_object_list *l);
/* <ListBucketResult> of ListObjectsV2; appends to out */
extern int	btx_s3xml_parse_list_objects(const char *xml, size_t len, btx_s3_object_list *out);

typedef struct btx_s3_upload_info
{
	char	   *key;
	char	   *upload_id;
} btx_s3_upload_info;

typedef struct btx_s3_upload_list
{
	btx_s3_upload_info *items;
	int			n;
	int			truncated;
} btx_s3_upload_list;

extern void btx_s3_upload_list_free(btx_s3_upload_list *l);
/* <ListMultipartUploadsResult>; appends to out */
extern int	btx_s3xml_parse_list_uploads(const char *xml, size_t len, btx_s3_upload_list *out);

typedef struct btx_s3xml_sts_credentials
{
	char	   *access_key_id;
	char	   *secret_access_key;
	char	   *session_token;
	time_t		expiration;		/* UTC seconds */
	char	   *assumed_role_arn;	/* may be NULL */
} btx_s3xml_sts_credentials;

extern void btx_s3xml_sts_credentials_free(btx_s3xml_sts_credentials *c);
/*
 * AssumeRoleResponse / AssumeRoleWithWebIdentityResponse: the Credentials
 * block, wherever it sits.  All four fields are required.
 */
extern int	btx_s3xml_parse_sts_credentials(const char *xml, size_t len,
											btx_s3xml_sts_credentials *out);

/* ISO 8601 UTC ("2026-11-24T23:39:48Z", any fraction, or +00:00) -> time_t */
extern int	btx_s3xml_parse_iso8601(const char *s, time_t *out);

#endif							/* BTX_S3XML_H */
