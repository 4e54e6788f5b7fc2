/*
 * objstore.h — backend glue over the plain-C S3 core: resolves an automation's
 * destination and credentials, and writes objects with ereport-style errors.
 */
#ifndef BTX_OBJSTORE_H
#define BTX_OBJSTORE_H

#include "adapters/btexport.h"

#include "nodes/pg_list.h"

#include "core/common/btx_buf.h"

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

/* Fill credentials (and assume the role) for t; ereports on failure (SQLSTATE 28000, with a hint). */
extern void BtxTargetConnect(BtxTarget *t);
extern void BtxTargetClose(BtxTarget *t);

/* streaming an object: one PUT when small, multipart otherwise; write-once with if_none_match */
extern BtxObject *BtxObjectOpen(BtxTarget *t, const char *key, const char *content_type,
								bool if_none_match);
extern void BtxObjectWrite(BtxObject *o, const char *data, size_t len);
extern void BtxObjectFinish(BtxObject *o, BtxObjectResult *res);
/* btx_sink_fn for the plain-C writers: never throws; BtxObjectCheck raises what went wrong */
extern int	BtxObjectSink(void *ctx, const void *data, size_t len);
extern void BtxObjectCheck(BtxObject *o);
/* raise the error of a writer that wrote through BtxObjectSink (never returns) */
extern void BtxObjectRaise(BtxObject *o, const btx_error *writer_error) pg_attribute_noreturn();
extern void BtxObjectAbort(BtxObject *o);	/* never throws */
extern const char *BtxObjectKey(BtxObject *o);

/* whole objects (btexport.test's probe); ereport on failure */
extern char *BtxStorePut(BtxTarget *t, const char *key, const char *body, size_t len);	/* the ETag */
/* HEAD an object: true when read, false when reading is denied (HTTP 403); raises other errors */
extern bool BtxStoreHead(BtxTarget *t, const char *key);
extern void BtxStoreDelete(BtxTarget *t, const char *key);

/*
 * Removal of what a failed run left (they never throw for the store's
 * errors: false means "not done, try again later").  With ignore_interrupts
 * the delete runs even with a cancel pending (cleanup after an error).
 */
/* whole small objects for a core's I/O callbacks: never throw (see objstore.c) */
extern int	BtxStoreRead(BtxTarget *t, const char *key, btx_buf *out, btx_error *err);
extern int	BtxStoreWrite(BtxTarget *t, const char *key, const void *data, size_t len,
						  bool if_none_match, btx_error *err);
extern bool BtxStoreTryDelete(BtxTarget *t, const char *key, bool ignore_interrupts);
extern bool BtxStoreAbortUploads(BtxTarget *t, const char *prefix);
extern bool BtxStoreListKeys(BtxTarget *t, const char *prefix, List **keys);

#endif
