/*
 * creds.h — the AWS credentials chain, as a function of an environment
 * lookup and a file reader (both injectable), plus cached AssumeRole.
 *
 * Order (first source that yields a key pair wins):
 *   1. explicit   options.explicit_creds (a named credential from the caller)
 *   2. env        AWS_ACCESS_KEY_ID + AWS_SECRET_ACCESS_KEY [+ AWS_SESSION_TOKEN]
 *   3. profile    AWS_SHARED_CREDENTIALS_FILE (default $HOME/.aws/credentials)
 *                 section [<profile>], then AWS_CONFIG_FILE (default
 *                 $HOME/.aws/config) section [profile <profile>] / [default];
 *                 profile = options.profile, else AWS_PROFILE, else "default"
 *   4. web identity  AWS_WEB_IDENTITY_TOKEN_FILE + AWS_ROLE_ARN
 *                 [+ AWS_ROLE_SESSION_NAME]: the token file is re-read on every
 *                 resolve; STS AssumeRoleWithWebIdentity (unsigned)
 *   5. container  AWS_CONTAINER_CREDENTIALS_RELATIVE_URI (http://169.254.170.2)
 *                 or AWS_CONTAINER_CREDENTIALS_FULL_URI (+ AWS_CONTAINER_
 *                 AUTHORIZATION_TOKEN[_FILE]); JSON answer
 *   6. IMDSv2     token PUT, role name, role credentials (1 s timeouts, one
 *                 attempt each); AWS_EC2_METADATA_DISABLED=true turns it off
 * Profiles with role_arn/source_profile chains are not followed (gap).
 *
 * Then, with a role ARN: STS AssumeRole signed with the chain's credentials,
 * cached per (role ARN, external id) in a btx_creds_cache and refreshed when
 * less than 5 minutes remain.
 */
#ifndef BTX_CREDS_H
#define BTX_CREDS_H

#include "core/s3/s3client.h"
#include "core/s3/sts.h"

typedef enum btx_creds_source
{
	BTX_CREDS_NONE = 0,
	BTX_CREDS_EXPLICIT,
	BTX_CREDS_ENV,
	BTX_CREDS_PROFILE,
	BTX_CREDS_WEB_IDENTITY,
	BTX_CREDS_CONTAINER,
	BTX_CREDS_IMDS,
	BTX_CREDS_ASSUMED_ROLE
} btx_creds_source;

extern const char *btx_creds_source_name(btx_creds_source s);

/* NULL when unset */
typedef const char *(*btx_creds_getenv_fn) (void *arg, const char *name);
/* whole file into out; -1 when it cannot be read */
typedef int (*btx_creds_readfile_fn) (void *arg, const char *path, btx_buf *out);

typedef struct btx_creds_options
{
	const btx_s3_credentials *explicit_creds;	/* NULL = none */
	const char *profile;		/* NULL = $AWS_PROFILE or "default" */
	btx_creds_getenv_fn getenv; /* NULL = getenv(3) */
	void	   *env_arg;
	btx_creds_readfile_fn readfile; /* NULL = read from disk */
	void	   *file_arg;
	const char *region;			/* STS signing region; NULL = $AWS_REGION,
								 * $AWS_DEFAULT_REGION, "us-east-1" */
	const char *sts_endpoint;	/* NULL = https://sts.<region>.amazonaws.com */
	int			allow_http;		/* for sts_endpoint in tests */
	/* base configuration for the HTTP calls (transport, interrupt, ...);
	 * region/endpoint/timeouts are overridden per call.  May be NULL. */
	const btx_s3_config *http;
	const char *imds_endpoint;	/* NULL = http://169.254.169.254 */
	const char *container_endpoint;	/* NULL = http://169.254.170.2 */
} btx_creds_options;

/*
 * Resolve the chain.  Returns 0 with out filled and *source set, or -1 with
 * err (SQLSTATE 28000 when no source had credentials; the detail lists what
 * was tried, never a secret).
 */
extern int	btx_creds_resolve(const btx_creds_options *o, btx_s3_credentials *out,
							  btx_creds_source *source, btx_error *err);

/* Cache of assumed-role credentials keyed by (role ARN, external id). */
typedef struct btx_creds_cache btx_creds_cache;

extern btx_creds_cache *btx_creds_cache_new(void);
extern void btx_creds_cache_free(btx_creds_cache *cache);
extern void btx_creds_cache_forget(btx_creds_cache *cache, const char *role_arn,
								   const char *external_id);

/*
 * Assumed-role credentials for p (role, external id, duration...): cached
 * ones when more than 5 minutes remain at `now`, else a fresh AssumeRole
 * through `source_client` (whose credentials sign it).  force != 0 skips
 * the cache (after ExpiredToken).  *from_cache tells which (may be NULL).
 */
extern int	btx_creds_assume_role_cached(btx_creds_cache *cache, btx_s3_client *source_client,
										 const btx_sts_params *p, time_t now, int force,
										 btx_s3_credentials *out, int *from_cache,
										 btx_error *err);

/*
 * INI lookup for the shared files: value of `key` in section `section`
 * (exact name between brackets, surrounding spaces ignored).  Returns 0
 * with a malloc'd *value, 1 when absent, -1 on out-of-memory.
 */
extern int	btx_creds_ini_get(const char *text, size_t len, const char *section,
							  const char *key, char **value);

/* parse an ECS/IMDS JSON credentials document */
extern int	btx_creds_parse_json(const char *json, size_t len, btx_s3_credentials *out);

#endif							/* BTX_CREDS_H */
