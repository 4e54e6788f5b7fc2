/*
 * objstore.h — backend glue over the plain-C S3 core: resolves an automation's
 * destination and credentials, and writes objects with ereport-style errors.
 */
#ifndef BTX_OBJSTORE_H
#define BTX_OBJSTORE_H

#include "adapters/btexport.h"

/* An automation's destination, with credentials resolved for one run. */
typedef struct BtxTarget
{
	char	   *bucket;
	char	   *prefix;
	char	   *region;
	char	   *endpoint;		/* NULL = AWS */
	char	   *role_arn;
	char	   *external_id;
	char	   *credential;		/* named credential, or NULL */
	Oid			credential_owner;	/* its owner: names are per owner */
	Oid			owner;
	char	   *automation_name;
	void	   *client;			/* core client state (malloc'd) */
	char	   *cred_source;	/* where the credentials came from, for messages */
	int			part_size_kb;	/* 0 = btexport.part_size */
	char	   *session_name;	/* RoleSessionName for AssumeRole */
	char	   *sse;			/* NULL | AES256 | aws:kms */
	char	   *kms_key_id;
	bool		bucket_owner_full_control;
} BtxTarget;

typedef struct BtxObjectResult
{
	char		etag[130];
	char		sha256[65];
	uint64		bytes;
	int			parts;
} BtxObjectResult;

typedef struct BtxObject BtxObject;

/* Fill credentials (and assume the role) for t; ereports on failure. */
extern void BtxTargetConnect(BtxTarget *t);
extern void BtxTargetClose(BtxTarget *t);

extern BtxObject *BtxObjectOpen(BtxTarget *t, const char *key, const char *content_type,
								bool if_none_match);
extern void BtxObjectWrite(BtxObject *o, const char *data, size_t len);
extern void BtxObjectFinish(BtxObject *o, BtxObjectResult *res);
extern int	BtxObjectSink(void *ctx, const void *data, size_t len);
extern void BtxObjectCheck(BtxObject *o);
extern void BtxObjectAbort(BtxObject *o);	/* never throws */
extern const char *BtxObjectKey(BtxObject *o);

/* the connected core client of t (for listing and deleting; cleanup of failed runs) */
extern struct btx_s3_client *BtxTargetClient(BtxTarget *t);

/* Small-object operations for btexport.test(); they return false and fill
 * detail and hint instead of throwing. */
extern bool BtxPutSmall(BtxTarget *t, const char *key, const char *body, size_t len,
						char **detail, char **hint, char **etag);
extern bool BtxHead(BtxTarget *t, const char *key, char **detail, char **hint);
extern bool BtxDelete(BtxTarget *t, const char *key, char **detail, char **hint);
extern bool BtxTargetTryConnect(BtxTarget *t, char **detail, char **hint);

#endif
