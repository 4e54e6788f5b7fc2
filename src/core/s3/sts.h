/*
 * sts.h — STS AssumeRole (signed POST form) and AssumeRoleWithWebIdentity
 * (unsigned), returning temporary credentials.
 *
 * The client supplies transport, region (the signing region), timeouts,
 * retries and — for AssumeRole — the source credentials.  The STS address is
 * params.endpoint (scheme://host[:port], e.g. a test double), or
 * https://sts.<region>.amazonaws.com.  Errors follow s3client.h (SQLSTATE
 * 38000 for an STS error answer, 08006 for the network); AccessDenied gets a
 * hint naming the role's trust policy and the ExternalId.
 */
#ifndef BTX_STS_H
#define BTX_STS_H

#include "core/s3/s3client.h"

typedef struct btx_sts_params
{
	const char *endpoint;		/* NULL = https://sts.<region>.amazonaws.com */
	const char *role_arn;		/* required, 20 .. 2048 chars */
	const char *session_name;	/* NULL = "btexport"; 2 .. 64 of [\w+=,.@-] */
	const char *external_id;	/* optional; 2 .. 1224 of [\w+=,.@:/-] */
	int			duration_seconds;	/* 0 = STS default; else 900 .. 43200 */
	const char *web_identity_token; /* AssumeRoleWithWebIdentity only */
} btx_sts_params;

extern int	btx_sts_assume_role(btx_s3_client *c, const btx_sts_params *p,
								btx_s3_credentials *out, btx_error *err);
extern int	btx_sts_assume_role_with_web_identity(btx_s3_client *c, const btx_sts_params *p,
												  btx_s3_credentials *out, btx_error *err);

/* 0 when external_id follows STS's rule (2 .. 1224 ASCII [\w+=,.@:/-]), else -1 with err */
extern int	btx_sts_check_external_id(const char *external_id, btx_error *err);

/* the form body either call sends (exposed for tests); 0 or -1 with err */
extern int	btx_sts_build_body(const btx_sts_params *p, int web_identity, btx_buf *body,
							   btx_error *err);

#endif							/* BTX_STS_H */
