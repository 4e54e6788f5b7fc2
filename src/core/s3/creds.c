/*
 * creds.c — AWS credentials chain and assumed-role cache (see creds.h).
 *
 * Design: the chain is a table of steps tried in order (explicit,
 * environment, shared files, web identity, container, instance metadata);
 * each step answers found / nothing here / failed, and the names of the
 * steps tried go into the error's detail when none yields a key pair.  The
 * environment and file reads go through the options' injectable functions,
 * and the network steps through a short-timeout client of their own, so the
 * whole chain is unit-tested without a network.  Assumed roles are cached
 * per (role ARN, external id) and refreshed before they expire, so a run's
 * requests do not each call STS.
 */
#include "core/s3/creds.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>

#include "core/s3/sigv4.h"

#define REFRESH_MARGIN_S 300

const char *
btx_creds_source_name(btx_creds_source s)
{
	switch (s)
	{
		case BTX_CREDS_EXPLICIT:
			return "explicit";
		case BTX_CREDS_ENV:
			return "environment";
		case BTX_CREDS_PROFILE:
			return "shared credentials file";
		case BTX_CREDS_WEB_IDENTITY:
			return "web identity";
		case BTX_CREDS_CONTAINER:
			return "container";
		case BTX_CREDS_IMDS:
			return "instance metadata";
		case BTX_CREDS_ASSUMED_ROLE:
			return "assumed role";
		default:
			return "none";
	}
}

/* ---------------------------------------------------------------- INI */

static const char *
trim(const char *s, const char *e, const char **end)
{
	while (s < e && (*s == ' ' || *s == '\t'))
		s++;
	while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r'))
		e--;
	*end = e;
	return s;
}

int
btx_creds_ini_get(const char *text, size_t len, const char *section, const char *key,
				  char **value)
{
	const char *p = text;
	const char *end = text + len;
	int			in_section = 0;
	size_t		slen = strlen(section);
	size_t		klen = strlen(key);

	*value = NULL;
	while (p < end)
	{
		const char *nl = memchr(p, '\n', (size_t) (end - p));
		const char *le = nl ? nl : end;
		const char *s;
		const char *e;

		s = trim(p, le, &e);
		if (s < e && *s == '[')
		{
			const char *close = memchr(s, ']', (size_t) (e - s));

			in_section = 0;
			if (close)
			{
				const char *ne;
				const char *n = trim(s + 1, close, &ne);

				in_section = ((size_t) (ne - n) == slen && memcmp(n, section, slen) == 0);
			}
		}
		else if (in_section && s < e && *s != '#' && *s != ';' && p < le &&
				 *p != ' ' && *p != '\t')
		{
			const char *eq = memchr(s, '=', (size_t) (e - s));

			if (eq)
			{
				const char *ke;
				const char *k = trim(s, eq, &ke);

				if ((size_t) (ke - k) == klen && memcmp(k, key, klen) == 0)
				{
					const char *ve;
					const char *v = trim(eq + 1, e, &ve);

					*value = strndup(v, (size_t) (ve - v));
					return *value ? 0 : -1;
				}
			}
		}
		p = nl ? nl + 1 : end;
	}
	return 1;
}

/* ---------------------------------------------------------------- JSON */

int
btx_creds_parse_json(const char *json, size_t len, btx_s3_credentials *out)
{
	json_t	   *root;
	json_error_t jerr;
	const char *ak,
			   *sk,
			   *tok,
			   *exp;
	time_t		t = 0;
	int			r = -1;

	if (json == NULL || len == 0)
		return -1;
	root = json_loadb(json, len, 0, &jerr);
	if (root == NULL)
		return -1;
	ak = json_string_value(json_object_get(root, "AccessKeyId"));
	sk = json_string_value(json_object_get(root, "SecretAccessKey"));
	tok = json_string_value(json_object_get(root, "Token"));
	exp = json_string_value(json_object_get(root, "Expiration"));
	if (ak && ak[0] && sk && sk[0] && (exp == NULL || btx_s3xml_parse_iso8601(exp, &t) == 0))
		r = btx_s3_credentials_set(out, ak, sk, tok, t);
	json_decref(root);
	return r;
}

/* ---------------------------------------------------------------- chain */

typedef struct chain
{
	const btx_creds_options *o;
	btx_buf		tried;			/* for the detail of "no credentials" */
} chain;

static const char *
env(const btx_creds_options *o, const char *name)
{
	const char *v = o->getenv ? o->getenv(o->env_arg, name) : getenv(name);

	return (v && v[0]) ? v : NULL;
}

static int
read_file(const btx_creds_options *o, const char *path, btx_buf *out)
{
	FILE	   *f;
	char		chunk[4096];
	size_t		n;

	if (o->readfile)
		return o->readfile(o->file_arg, path, out);
	f = fopen(path, "rb");
	if (f == NULL)
		return -1;
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
	{
		if (out->len + n > 1024 * 1024 || btx_buf_append(out, chunk, n) != 0)
		{
			fclose(f);
			return -1;
		}
	}
	fclose(f);
	return 0;
}

static void
tried(chain *ch, const char *what)
{
	if (ch->tried.len)
		btx_buf_puts(&ch->tried, ", ");
	btx_buf_puts(&ch->tried, what);
}

static int
from_profile(chain *ch, btx_s3_credentials *out)
{
	const btx_creds_options *o = ch->o;
	const char *profile = o->profile && o->profile[0] ? o->profile : env(o, "AWS_PROFILE");
	const char *home = env(o, "HOME");
	btx_buf		path;
	btx_buf		text;
	char	   *ak = NULL,
			   *sk = NULL,
			   *tok = NULL;
	char		section[300];
	int			pass;
	int			r = 1;

	if (profile == NULL)
		profile = "default";
	btx_buf_init(&path);
	btx_buf_init(&text);
	for (pass = 0; pass < 2 && r == 1; pass++)
	{
		const char *override = env(o, pass == 0 ? "AWS_SHARED_CREDENTIALS_FILE" : "AWS_CONFIG_FILE");

		btx_buf_reset(&path);
		btx_buf_reset(&text);
		if (override)
			btx_buf_puts(&path, override);
		else if (home)
			btx_buf_appendf(&path, "%s/.aws/%s", home, pass == 0 ? "credentials" : "config");
		else
			continue;
		if (read_file(o, path.data, &text) != 0)
			continue;
		if (pass == 0 || strcmp(profile, "default") == 0)
			snprintf(section, sizeof(section), "%s", profile);
		else
			snprintf(section, sizeof(section), "profile %s", profile);
		if (text.len == 0)
			continue;
		btx_creds_ini_get(text.data, text.len, section, "aws_access_key_id", &ak);
		btx_creds_ini_get(text.data, text.len, section, "aws_secret_access_key", &sk);
		btx_creds_ini_get(text.data, text.len, section, "aws_session_token", &tok);
		if (ak && ak[0] && sk && sk[0])
			r = btx_s3_credentials_set(out, ak, sk, tok, 0) == 0 ? 0 : -1;
		free(ak);
		if (sk)
			memset(sk, 0, strlen(sk));
		free(sk);
		if (tok)
			memset(tok, 0, strlen(tok));
		free(tok);
		ak = sk = tok = NULL;
	}
	if (text.data)
		memset(text.data, 0, text.len);
	btx_buf_free(&text);
	btx_buf_free(&path);
	return r;
}

static btx_s3_client *
http_client(const btx_creds_options *o, const char *endpoint, const char *region,
			long timeout_ms, int attempts, int allow_http, btx_error *err)
{
	btx_s3_config cfg;

	if (o->http)
		cfg = *o->http;
	else
		memset(&cfg, 0, sizeof(cfg));
	cfg.endpoint = endpoint;
	cfg.region = region;
	cfg.allow_http = allow_http;
	cfg.sse = BTX_S3_SSE_NONE;
	cfg.refresh_credentials = NULL;
	if (timeout_ms > 0)
	{
		cfg.connect_timeout_ms = timeout_ms;
		cfg.request_timeout_ms = timeout_ms * 2;
	}
	if (attempts > 0)
		cfg.retry_max_attempts = attempts;
	return btx_s3_client_new(&cfg, NULL, err);
}

static const char *
sts_region(const btx_creds_options *o)
{
	if (o->region && o->region[0])
		return o->region;
	if (env(o, "AWS_REGION"))
		return env(o, "AWS_REGION");
	if (env(o, "AWS_DEFAULT_REGION"))
		return env(o, "AWS_DEFAULT_REGION");
	return "us-east-1";
}

static int
from_web_identity(chain *ch, btx_s3_credentials *out, btx_error *err)
{
	const btx_creds_options *o = ch->o;
	const char *file = env(o, "AWS_WEB_IDENTITY_TOKEN_FILE");
	const char *role = env(o, "AWS_ROLE_ARN");
	btx_buf		tok;
	btx_s3_client *c;
	btx_sts_params p;
	int			r;

	if (file == NULL || role == NULL)
		return 1;
	btx_buf_init(&tok);
	if (read_file(o, file, &tok) != 0 || tok.len == 0)
	{
		btx_buf_free(&tok);
		btx_error_set(err, 1, "28000", "could not read the web identity token file \"%s\"", file);
		btx_error_hint(err, "AWS_WEB_IDENTITY_TOKEN_FILE must name a readable token file.");
		return -1;
	}
	while (tok.len > 0 && isspace((unsigned char) tok.data[tok.len - 1]))
		tok.data[--tok.len] = '\0';
	c = http_client(o, NULL, sts_region(o), 0, 0, o->allow_http, err);
	if (c == NULL)
	{
		btx_buf_free(&tok);
		return -1;
	}
	memset(&p, 0, sizeof(p));
	p.endpoint = o->sts_endpoint;
	p.role_arn = role;
	p.session_name = env(o, "AWS_ROLE_SESSION_NAME");
	p.web_identity_token = tok.data;
	r = btx_sts_assume_role_with_web_identity(c, &p, out, err);
	btx_s3_client_free(c);
	memset(tok.data, 0, tok.len);
	btx_buf_free(&tok);
	return r == 0 ? 0 : -1;
}

/* split "http://host[:port]/path?q" into endpoint and path (no leading '/') */
static int
split_uri(const char *uri, btx_buf *endpoint, btx_buf *path)
{
	const char *p = strstr(uri, "://");
	const char *slash;

	if (p == NULL)
		return -1;
	slash = strchr(p + 3, '/');
	if (slash == NULL)
	{
		btx_buf_puts(endpoint, uri);
		btx_buf_puts(path, "");
	}
	else
	{
		btx_buf_append(endpoint, uri, (size_t) (slash - uri));
		btx_buf_puts(path, slash + 1);
	}
	return endpoint->oom || path->oom ? -1 : 0;
}

static int
metadata_get(btx_s3_client *c, const char *method, const char *path, const char *header,
			 const char *what, btx_s3_response *resp, btx_error *err)
{
	btx_s3_call call;
	const char *h[1];
	const char *q = strchr(path, '?');
	char	   *pth = strndup(path, q ? (size_t) (q - path) : strlen(path));
	int			r;

	if (pth == NULL)
	{
		btx_error_set(err, 1, "53200", "out of memory");
		return -1;
	}
	memset(&call, 0, sizeof(call));
	call.operation = what;
	call.what = what;
	call.service = "metadata";
	call.method = method;
	call.key = pth[0] ? pth : NULL;
	call.query = q ? q + 1 : NULL;
	call.unsigned_request = 1;
	if (header)
	{
		h[0] = header;
		call.headers = h;
		call.nheaders = 1;
	}
	r = btx_s3_call_perform(c, &call, resp, err);
	free(pth);
	return r;
}

static int
from_container(chain *ch, btx_s3_credentials *out, btx_error *err)
{
	const btx_creds_options *o = ch->o;
	const char *rel = env(o, "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI");
	const char *full = env(o, "AWS_CONTAINER_CREDENTIALS_FULL_URI");
	const char *tokfile = env(o, "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE");
	const char *tokenv = env(o, "AWS_CONTAINER_AUTHORIZATION_TOKEN");
	btx_buf		ep,
				path,
				tok,
				hdr;
	btx_s3_client *c = NULL;
	btx_s3_response resp;
	int			r = -1;

	if (rel == NULL && full == NULL)
		return 1;
	btx_buf_init(&ep);
	btx_buf_init(&path);
	btx_buf_init(&tok);
	btx_buf_init(&hdr);
	btx_s3_response_init(&resp);
	if (rel)
	{
		btx_buf_puts(&ep, o->container_endpoint ? o->container_endpoint : "http://169.254.170.2");
		btx_buf_puts(&path, rel[0] == '/' ? rel + 1 : rel);
	}
	else if (split_uri(full, &ep, &path) != 0)
	{
		btx_error_set(err, 1, "22023", "invalid AWS_CONTAINER_CREDENTIALS_FULL_URI");
		goto done;
	}
	if (tokfile && read_file(o, tokfile, &tok) == 0)
		while (tok.len > 0 && isspace((unsigned char) tok.data[tok.len - 1]))
			tok.data[--tok.len] = '\0';
	else if (tokenv)
		btx_buf_puts(&tok, tokenv);
	if (tok.len)
		btx_buf_appendf(&hdr, "Authorization: %s", tok.data);
	c = http_client(o, ep.data, "us-east-1", 2000, 2, 1, err);
	if (c == NULL)
		goto done;
	if (metadata_get(c, "GET", path.data, hdr.len ? hdr.data : NULL, "fetch container credentials from",
					 &resp, err) != 0)
		goto done;
	if (btx_creds_parse_json(resp.body.data, resp.body.len, out) != 0)
	{
		btx_error_set(err, 1, "28000", "could not parse the container credentials answer");
		goto done;
	}
	r = 0;
done:
	if (resp.body.data)
		memset(resp.body.data, 0, resp.body.len);
	btx_s3_response_free(&resp);
	btx_s3_client_free(c);
	if (tok.data)
		memset(tok.data, 0, tok.len);
	if (hdr.data)
		memset(hdr.data, 0, hdr.len);
	btx_buf_free(&ep);
	btx_buf_free(&path);
	btx_buf_free(&tok);
	btx_buf_free(&hdr);
	return r;
}

/* 0 found, 1 not available (skip), -1 OOM */
static int
from_imds(chain *ch, btx_s3_credentials *out, btx_error *err)
{
	const btx_creds_options *o = ch->o;
	const char *disabled = env(o, "AWS_EC2_METADATA_DISABLED");
	btx_s3_client *c;
	btx_s3_response resp;
	btx_buf		hdr,
				path;
	char	   *role = NULL;
	int			r = 1;

	if (disabled && strcasecmp(disabled, "true") == 0)
		return 1;
	c = http_client(o, o->imds_endpoint ? o->imds_endpoint : "http://169.254.169.254",
					"us-east-1", 1000, 1, 1, err);
	if (c == NULL)
		return -1;
	btx_s3_response_init(&resp);
	btx_buf_init(&hdr);
	btx_buf_init(&path);
	if (metadata_get(c, "PUT", "latest/api/token", "X-aws-ec2-metadata-token-ttl-seconds: 21600",
					 "fetch an IMDSv2 token from", &resp, err) != 0 || resp.body.len == 0)
		goto done;
	btx_buf_appendf(&hdr, "X-aws-ec2-metadata-token: %s", resp.body.data);
	if (metadata_get(c, "GET", "latest/meta-data/iam/security-credentials/", hdr.data,
					 "list the instance role from", &resp, err) != 0 || resp.body.len == 0)
		goto done;
	role = strndup(resp.body.data, strcspn(resp.body.data, "\r\n"));
	if (role == NULL || role[0] == '\0' || strchr(role, '/') != NULL)
		goto done;
	btx_buf_appendf(&path, "latest/meta-data/iam/security-credentials/%s", role);
	if (metadata_get(c, "GET", path.data, hdr.data, "fetch instance credentials from", &resp, err) != 0)
		goto done;
	if (btx_creds_parse_json(resp.body.data, resp.body.len, out) == 0)
		r = 0;
done:
	if (r != 0)
		btx_error_clear(err);	/* not on EC2: just not available */
	if (resp.body.data)
		memset(resp.body.data, 0, resp.body.len);
	btx_s3_response_free(&resp);
	if (hdr.data)
		memset(hdr.data, 0, hdr.len);
	btx_buf_free(&hdr);
	btx_buf_free(&path);
	free(role);
	btx_s3_client_free(c);
	return r;
}

/* the chain's steps: 0 found (out set), 1 nothing there, -1 failed (err set) */
static int
oom(btx_error *err)
{
	btx_error_set(err, 1, "53200", "out of memory");
	return -1;
}

static int
from_explicit(chain *ch, btx_s3_credentials *out, btx_error *err)
{
	const btx_s3_credentials *c = ch->o->explicit_creds;

	if (c == NULL || c->access_key_id == NULL || c->access_key_id[0] == '\0')
		return 1;
	return btx_s3_credentials_copy(out, c) == 0 ? 0 : oom(err);
}

static int
from_env(chain *ch, btx_s3_credentials *out, btx_error *err)
{
	const btx_creds_options *o = ch->o;

	if (!env(o, "AWS_ACCESS_KEY_ID") || !env(o, "AWS_SECRET_ACCESS_KEY"))
		return 1;
	return btx_s3_credentials_set(out, env(o, "AWS_ACCESS_KEY_ID"), env(o, "AWS_SECRET_ACCESS_KEY"),
								  env(o, "AWS_SESSION_TOKEN"), 0) == 0 ? 0 : oom(err);
}

static int
from_files(chain *ch, btx_s3_credentials *out, btx_error *err)
{
	int			r = from_profile(ch, out);

	return r < 0 ? oom(err) : r > 0;
}

typedef struct chain_step
{
	const char *name;			/* for "Tried: ..." */
	int			(*fn) (chain *ch, btx_s3_credentials *out, btx_error *err);
	btx_creds_source source;
} chain_step;

static const chain_step steps[] = {
	{"explicit", from_explicit, BTX_CREDS_EXPLICIT},
	{"environment", from_env, BTX_CREDS_ENV},
	{"shared credentials/config files", from_files, BTX_CREDS_PROFILE},
	{"web identity", from_web_identity, BTX_CREDS_WEB_IDENTITY},
	{"container endpoint", from_container, BTX_CREDS_CONTAINER},
	{"instance metadata", from_imds, BTX_CREDS_IMDS},
};

int
btx_creds_resolve(const btx_creds_options *o, btx_s3_credentials *out, btx_creds_source *source,
				  btx_error *err)
{
	chain		ch;
	int			r = 1;
	size_t		i;

	btx_error_clear(err);
	*source = BTX_CREDS_NONE;
	ch.o = o;
	btx_buf_init(&ch.tried);
	for (i = 0; i < sizeof(steps) / sizeof(steps[0]) && r > 0; i++)
	{
		int			imds_off = steps[i].source == BTX_CREDS_IMDS && env(o, "AWS_EC2_METADATA_DISABLED") &&
			strcasecmp(env(o, "AWS_EC2_METADATA_DISABLED"), "true") == 0;

		tried(&ch, imds_off ? "instance metadata (disabled)" : steps[i].name);
		r = steps[i].fn(&ch, out, err);
		if (r == 0)
			*source = steps[i].source;
	}
	if (r > 0)
	{
		btx_error_set(err, 1, "28000", "no AWS credentials found");
		btx_error_detail(err, "Tried: %s.", ch.tried.data ? ch.tried.data : "");
		btx_error_hint(err, "Give the export a credential, or provide one to the database server (environment, ~/.aws files of its OS user, web identity, container or instance role).");
	}
	btx_buf_free(&ch.tried);
	return r == 0 ? 0 : -1;
}

/* ---------------------------------------------------------------- cache */

typedef struct cache_entry
{
	char	   *role_arn;
	char	   *external_id;	/* "" when none */
	btx_s3_credentials creds;
	struct cache_entry *next;
} cache_entry;

struct btx_creds_cache
{
	cache_entry *head;
};

btx_creds_cache *
btx_creds_cache_new(void)
{
	return calloc(1, sizeof(btx_creds_cache));
}

static void
entry_free(cache_entry *e)
{
	free(e->role_arn);
	free(e->external_id);
	btx_s3_credentials_clear(&e->creds);
	free(e);
}

void
btx_creds_cache_free(btx_creds_cache *cache)
{
	cache_entry *e,
			   *n;

	if (cache == NULL)
		return;
	for (e = cache->head; e; e = n)
	{
		n = e->next;
		entry_free(e);
	}
	free(cache);
}

static cache_entry **
find_entry(btx_creds_cache *cache, const char *role, const char *ext)
{
	cache_entry **pp;

	for (pp = &cache->head; *pp; pp = &(*pp)->next)
		if (strcmp((*pp)->role_arn, role) == 0 && strcmp((*pp)->external_id, ext ? ext : "") == 0)
			return pp;
	return NULL;
}

void
btx_creds_cache_forget(btx_creds_cache *cache, const char *role_arn, const char *external_id)
{
	cache_entry **pp = find_entry(cache, role_arn, external_id);

	if (pp)
	{
		cache_entry *e = *pp;

		*pp = e->next;
		entry_free(e);
	}
}

int
btx_creds_assume_role_cached(btx_creds_cache *cache, btx_s3_client *source_client,
							 const btx_sts_params *p, time_t now, int force,
							 btx_s3_credentials *out, int *from_cache, btx_error *err)
{
	cache_entry **pp;
	cache_entry *e;
	btx_s3_credentials fresh;

	btx_error_clear(err);
	if (from_cache)
		*from_cache = 0;
	if (p->role_arn == NULL)
	{
		btx_error_set(err, 1, "22023", "a role ARN is required");
		return -1;
	}
	pp = cache ? find_entry(cache, p->role_arn, p->external_id) : NULL;
	if (pp && !force && (*pp)->creds.expiration - REFRESH_MARGIN_S > now)
	{
		if (from_cache)
			*from_cache = 1;
		return btx_s3_credentials_copy(out, &(*pp)->creds) == 0 ? 0 :
			(btx_error_set(err, 1, "53200", "out of memory"), -1);
	}
	memset(&fresh, 0, sizeof(fresh));
	if (btx_sts_assume_role(source_client, p, &fresh, err) != 0)
	{
		if (pp)
			btx_creds_cache_forget(cache, p->role_arn, p->external_id);
		return -1;
	}
	if (cache)
	{
		if (pp)
			e = *pp;
		else
		{
			e = calloc(1, sizeof(*e));
			if (e)
			{
				e->role_arn = strdup(p->role_arn);
				e->external_id = strdup(p->external_id ? p->external_id : "");
				if (e->role_arn == NULL || e->external_id == NULL)
				{
					entry_free(e);
					e = NULL;
				}
				else
				{
					e->next = cache->head;
					cache->head = e;
				}
			}
		}
		if (e)
			btx_s3_credentials_copy(&e->creds, &fresh);
	}
	if (btx_s3_credentials_copy(out, &fresh) != 0)
	{
		btx_s3_credentials_clear(&fresh);
		btx_error_set(err, 1, "53200", "out of memory");
		return -1;
	}
	btx_s3_credentials_clear(&fresh);
	return 0;
}
