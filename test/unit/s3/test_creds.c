/*
 * test_creds.c — STS calls, the credentials chain, INI parsing and the
 * assumed-role cache (scripted transport, fake environment and files).
 */
#include <stdlib.h>
#include <string.h>

#include "fake.h"
#include "core/s3/creds.h"
#include "core/s3/sts.h"
#include "t.h"
#include "tests.h"

typedef struct kv
{
	const char *k;
	const char *v;
} kv;

typedef struct fakeenv
{
	kv			env[16];
	kv			files[8];
} fakeenv;

static const char *
fe_getenv(void *arg, const char *name)
{
	fakeenv    *fe = arg;
	int			i;

	for (i = 0; i < 16 && fe->env[i].k; i++)
		if (strcmp(fe->env[i].k, name) == 0)
			return fe->env[i].v;
	return NULL;
}

static int
fe_readfile(void *arg, const char *path, btx_buf *out)
{
	fakeenv    *fe = arg;
	int			i;

	for (i = 0; i < 8 && fe->files[i].k; i++)
		if (strcmp(fe->files[i].k, path) == 0)
			return btx_buf_puts(out, fe->files[i].v);
	return -1;
}

static const char *STS_OK =
"<AssumeRoleResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\"><AssumeRoleResult>"
"<Credentials><AccessKeyId>ASIAMOTO</AccessKeyId><SecretAccessKey>s3cr3t</SecretAccessKey>"
"<SessionToken>TOK</SessionToken><Expiration>2015-08-30T13:36:00.473966Z</Expiration></Credentials>"
"<AssumedRoleUser><AssumedRoleId>AROA:x</AssumedRoleId><Arn>arn:aws:sts::123456789012:assumed-role/r/x</Arn>"
"</AssumedRoleUser></AssumeRoleResult></AssumeRoleResponse>";

static const char *WEB_OK =
"<AssumeRoleWithWebIdentityResponse><AssumeRoleWithWebIdentityResult>"
"<AssumedRoleUser><Arn>arn</Arn></AssumedRoleUser>"
"<Credentials><SessionToken>WTOK</SessionToken><SecretAccessKey>wsec</SecretAccessKey>"
"<Expiration>2015-08-30T13:36:00Z</Expiration><AccessKeyId>ASIAWEB</AccessKeyId></Credentials>"
"</AssumeRoleWithWebIdentityResult></AssumeRoleWithWebIdentityResponse>";

#define ROLE "arn:aws:iam::123456789012:role/btexport-writer"

static time_t
fixed_now(void *arg)
{
	return 1440938160;
}

static int
no_sleep(void *arg, long ms)
{
	return 0;
}

static void
base_cfg(btx_s3_config *cfg, fake *f)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->region = "us-east-1";
	cfg->transport = fake_transport;
	cfg->transport_arg = f;
	cfg->now = fixed_now;
	cfg->sleep_ms = no_sleep;
}

static void
test_sts(void)
{
	fake		f;
	btx_s3_config cfg;
	btx_s3_credentials src;
	btx_s3_credentials out;
	btx_s3_client *c;
	btx_sts_params p;
	btx_error	err;
	btx_buf		b;

	fake_init(&f);
	base_cfg(&cfg, &f);
	memset(&src, 0, sizeof(src));
	memset(&out, 0, sizeof(out));
	btx_s3_credentials_set(&src, "AKIDSRC", "srcsecret", NULL, 0);
	c = btx_s3_client_new(&cfg, &src, &err);
	memset(&p, 0, sizeof(p));
	p.role_arn = ROLE;
	p.external_id = "btx-ext-123";
	p.session_name = "btexport-42";
	p.duration_seconds = 900;

	T_BEGIN("sts AssumeRole: signed POST form, credentials parsed");
	fake_push(&f, 200, NULL, STS_OK);
	T_CHECK(btx_sts_assume_role(c, &p, &out, &err) == 0, "%s", err.message);
	T_STREQ(f.seen[0].method, "POST");
	T_STREQ(f.seen[0].url, "https://sts.us-east-1.amazonaws.com/");
	T_STREQ(f.seen[0].body, "Action=AssumeRole&Version=2011-06-15&RoleArn=arn%3Aaws%3Aiam%3A%3A123456789012"
			"%3Arole%2Fbtexport-writer&RoleSessionName=btexport-42&ExternalId=btx-ext-123&DurationSeconds=900");
	T_STREQ(fake_header(&f, 0, "Content-Type"), "application/x-www-form-urlencoded; charset=utf-8");
	T_CHECK(fake_header(&f, 0, "Authorization") &&
			strstr(fake_header(&f, 0, "Authorization"), "/us-east-1/sts/aws4_request") != NULL, "auth");
	T_STREQ(out.access_key_id, "ASIAMOTO");
	T_STREQ(out.secret_access_key, "s3cr3t");
	T_STREQ(out.session_token, "TOK");
	T_CHECK(out.expiration == 1440941760, "expiration %ld", (long) out.expiration);
	T_END();

	T_BEGIN("sts AssumeRole AccessDenied (moto shape): hint names trust policy and ExternalId");
	fake_push(&f, 403, NULL, "<ErrorResponse><Errors><Error><Code>AccessDenied</Code><Message>User: x is not "
			  "authorized to perform: sts:AssumeRole</Message><Type>Sender</Type></Error></Errors></ErrorResponse>");
	T_CHECK(btx_sts_assume_role(c, &p, &out, &err) != 0, "ok?");
	T_STREQ(err.message, "could not assume role \"" ROLE "\": AccessDenied (HTTP 403)");
	T_CHECK(strstr(err.hint, "trust policy of role " ROLE) && strstr(err.hint, "ExternalId"), "hint %s", err.hint);
	T_CHECK(strstr(err.detail, "not authorized") != NULL, "detail %s", err.detail);
	T_CHECK(strstr(err.message, "srcsecret") == NULL && strstr(err.detail, "srcsecret") == NULL, "secret");
	T_END();

	T_BEGIN("sts answer without a complete Credentials block is refused");
	fake_push(&f, 200, NULL, "<AssumeRoleResponse><Credentials><AccessKeyId>A</AccessKeyId></Credentials></AssumeRoleResponse>");
	T_CHECK(btx_sts_assume_role(c, &p, &out, &err) != 0, "ok?");
	T_CHECK(strstr(err.message, "could not parse") != NULL, "%s", err.message);
	T_END();

	T_BEGIN("sts parameter validation");
	btx_buf_init(&b);
	{
		btx_sts_params q = p;

		q.session_name = "bad name!";
		T_CHECK(btx_sts_build_body(&q, 0, &b, &err) != 0, "session name");
		q = p;
		q.duration_seconds = 100;
		T_CHECK(btx_sts_build_body(&q, 0, &b, &err) != 0, "duration");
		q = p;
		q.external_id = "x";
		T_CHECK(btx_sts_build_body(&q, 0, &b, &err) != 0, "external id");
		q = p;
		q.external_id = "bt:\xc3\xb6rg:1";		/* non-ASCII: the one rule refuses it */
		T_CHECK(btx_sts_build_body(&q, 0, &b, &err) != 0 && strcmp(err.sqlstate, "22023") == 0, "external id");
		q = p;
		q.role_arn = "arn:short";
		T_CHECK(btx_sts_build_body(&q, 0, &b, &err) != 0, "arn");
		q = p;
		q.web_identity_token = NULL;
		T_CHECK(btx_sts_build_body(&q, 1, &b, &err) != 0, "token");
	}
	btx_buf_free(&b);
	T_END();

	T_BEGIN("external id rule: 2 to 1224 ASCII characters of [\\w+=,.@:/-]");
	{
		static const char *good[] = {"ab", "btx-ext-123", "bt:org:proj:1", "a+b=c,d.e@f:g/h-i_j"};
		static const char *bad[] = {"a", "a b", "bt:\xc3\xb6rg", "\xef\xbd\x81\xef\xbd\x82", "ok\r\nX-Evil: 1", "a;b", "a\tb"};
		char		longid[1226];
		int			i;

		for (i = 0; i < 4; i++)
			T_CHECK(btx_sts_check_external_id(good[i], &err) == 0, "%s", good[i]);
		for (i = 0; i < 7; i++)
			T_CHECK(btx_sts_check_external_id(bad[i], &err) != 0 && strcmp(err.sqlstate, "22023") == 0, "%s", bad[i]);
		memset(longid, 'e', 1224);
		longid[1224] = '\0';
		T_CHECK(btx_sts_check_external_id(longid, &err) == 0, "1224 characters");
		longid[1224] = 'e';
		longid[1225] = '\0';
		T_CHECK(btx_sts_check_external_id(longid, &err) != 0, "1225 characters");
	}
	T_END();

	T_BEGIN("key prefix rule: no dot segments, no characters S3 advises against, under 900 bytes");
	{
		static const char *good[] = {"", "exports/", "a/b/c/", "a..b/.c/d./", "x", "caf\xc3\xa9/"};
		static const char *bad[] = {"/a/", "a//b/", "./a/", "a/./b/", "a/../b/", "a/..", "..", ".", "a\\b/",
			"a{b}/", "a#b/", "a%2e/", "a\x01/", "a\x7f/", "a\r\nX: 1/"};
		char		longp[902];
		int			i;

		for (i = 0; i < 6; i++)
			T_CHECK(btx_s3_check_key_prefix(good[i], &err) == 0, "[%s] %s", good[i], err.message);
		for (i = 0; i < 15; i++)
			T_CHECK(btx_s3_check_key_prefix(bad[i], &err) != 0 && strcmp(err.sqlstate, "22023") == 0, "[%s]", bad[i]);
		memset(longp, 'p', 901);
		longp[901] = '\0';
		T_CHECK(btx_s3_check_key_prefix(longp, &err) != 0, "901 bytes");
		longp[900] = '\0';
		T_CHECK(btx_s3_check_key_prefix(longp, &err) == 0, "900 bytes");
	}
	T_END();

	T_BEGIN("assume-role cache: reuse, refresh 5 minutes early, per external id");
	{
		btx_creds_cache *cache = btx_creds_cache_new();
		int			hit = -1;
		int			before = f.nseen;
		time_t		now = 1440938160;	/* expiration is now + 3600 */

		fake_free(&f);
		fake_init(&f);
		f.fallback.body = STS_OK;
		T_CHECK(btx_creds_assume_role_cached(cache, c, &p, now, 0, &out, &hit, &err) == 0, "%s", err.message);
		T_CHECK(hit == 0 && f.nseen == 1, "hit %d seen %d", hit, f.nseen);
		T_CHECK(btx_creds_assume_role_cached(cache, c, &p, now + 3000, 0, &out, &hit, &err) == 0, "%s", err.message);
		T_CHECK(hit == 1 && f.nseen == 1, "hit %d seen %d", hit, f.nseen);
		T_CHECK(btx_creds_assume_role_cached(cache, c, &p, now + 3301, 0, &out, &hit, &err) == 0, "%s", err.message);
		T_CHECK(hit == 0 && f.nseen == 2, "refresh: hit %d seen %d", hit, f.nseen);
		T_CHECK(btx_creds_assume_role_cached(cache, c, &p, now, 1, &out, &hit, &err) == 0, "%s", err.message);
		T_CHECK(hit == 0 && f.nseen == 3, "forced: hit %d seen %d", hit, f.nseen);
		{
			btx_sts_params q = p;

			q.external_id = "other-ext";
			T_CHECK(btx_creds_assume_role_cached(cache, c, &q, now, 0, &out, &hit, &err) == 0, "%s", err.message);
			T_CHECK(hit == 0 && f.nseen == 4, "other ext: hit %d seen %d", hit, f.nseen);
		}
		(void) before;
		btx_creds_cache_free(cache);
	}
	T_END();

	btx_s3_credentials_clear(&out);
	btx_s3_credentials_clear(&src);
	btx_s3_client_free(c);
	fake_free(&f);
}

static void
test_ini(void)
{
	const char *ini =
		"# comment\n[default]\naws_access_key_id = AKIDDEF\naws_secret_access_key=secdef\n\n"
		"[ dev ]\r\n  ; indented comment\naws_access_key_id\t=  AKIDDEV  \r\n"
		"s3 =\n  aws_access_key_id = NESTED\naws_secret_access_key = a=b=c\n"
		"[profile dev]\naws_access_key_id = FROMCONFIG\n[broken\naws_access_key_id = X\n";
	char	   *v;

	T_BEGIN("ini: sections, spaces, comments, CRLF, nested lines");
	T_CHECK(btx_creds_ini_get(ini, strlen(ini), "default", "aws_access_key_id", &v) == 0, "default");
	T_STREQ(v, "AKIDDEF");
	free(v);
	T_CHECK(btx_creds_ini_get(ini, strlen(ini), "dev", "aws_access_key_id", &v) == 0, "dev");
	T_STREQ(v, "AKIDDEV");
	free(v);
	T_CHECK(btx_creds_ini_get(ini, strlen(ini), "dev", "aws_secret_access_key", &v) == 0, "dev secret");
	T_STREQ(v, "a=b=c");
	free(v);
	T_CHECK(btx_creds_ini_get(ini, strlen(ini), "profile dev", "aws_access_key_id", &v) == 0, "profile dev");
	T_STREQ(v, "FROMCONFIG");
	free(v);
	T_CHECK(btx_creds_ini_get(ini, strlen(ini), "dev", "aws_session_token", &v) == 1 && v == NULL, "absent");
	T_CHECK(btx_creds_ini_get(ini, strlen(ini), "nope", "aws_access_key_id", &v) == 1, "no section");
	T_CHECK(btx_creds_ini_get("", 0, "default", "k", &v) == 1, "empty");
	T_END();
}

static int
imds_hook(fake *f, const btx_http_request *req, fake_answer *a)
{
	if (a->net != BTX_HTTP_NET_NONE || a->status != 200 || a->body)
		return 0;
	if (strstr(req->url, "/latest/api/token"))
		a->body = "IMDSTOKEN";
	else if (strstr(req->url, "/security-credentials/btx-role"))
		a->body = "{\"Code\":\"Success\",\"Type\":\"AWS-HMAC\",\"AccessKeyId\":\"ASIAIMDS\","
			"\"SecretAccessKey\":\"imdssecret\",\"Token\":\"ITOK\",\"Expiration\":\"2015-08-30T18:00:00Z\"}";
	else if (strstr(req->url, "/security-credentials/"))
		a->body = "btx-role\n";
	return 0;
}

static void
test_chain(void)
{
	fake		f;
	btx_s3_config http;
	fakeenv		fe;
	btx_creds_options o;
	btx_s3_credentials out;
	btx_s3_credentials expl;
	btx_creds_source src;
	btx_error	err;

	fake_init(&f);
	base_cfg(&http, &f);
	memset(&fe, 0, sizeof(fe));
	memset(&o, 0, sizeof(o));
	memset(&out, 0, sizeof(out));
	memset(&expl, 0, sizeof(expl));
	o.getenv = fe_getenv;
	o.env_arg = &fe;
	o.readfile = fe_readfile;
	o.file_arg = &fe;
	o.http = &http;

	T_BEGIN("chain: nothing available → 28000 listing the sources tried");
	fe.env[0].k = "AWS_EC2_METADATA_DISABLED";
	fe.env[0].v = "true";
	fe.env[1].k = "HOME";
	fe.env[1].v = "/home/pg";
	T_CHECK(btx_creds_resolve(&o, &out, &src, &err) != 0, "found?");
	T_STREQ(err.sqlstate, "28000");
	T_STREQ(err.detail, "Tried: explicit, environment, shared credentials/config files, web identity, container endpoint, instance metadata (disabled).");
	T_CHECK(f.nseen == 0, "network used");
	T_END();

	T_BEGIN("chain: shared credentials file with AWS_PROFILE, config file fallback");
	fe.files[0].k = "/home/pg/.aws/credentials";
	fe.files[0].v = "[default]\naws_access_key_id=AKIDDEF\naws_secret_access_key=def\n"
		"[dev]\naws_access_key_id=AKIDDEV\naws_secret_access_key=dev\naws_session_token=DEVTOK\n";
	fe.files[1].k = "/etc/aws-config";
	fe.files[1].v = "[profile cfgonly]\naws_access_key_id=AKIDCFG\naws_secret_access_key=cfg\n";
	T_CHECK(btx_creds_resolve(&o, &out, &src, &err) == 0 && src == BTX_CREDS_PROFILE, "%s", err.message);
	T_STREQ(out.access_key_id, "AKIDDEF");
	fe.env[2].k = "AWS_PROFILE";
	fe.env[2].v = "dev";
	T_CHECK(btx_creds_resolve(&o, &out, &src, &err) == 0 && src == BTX_CREDS_PROFILE, "%s", err.message);
	T_STREQ(out.access_key_id, "AKIDDEV");
	T_STREQ(out.session_token, "DEVTOK");
	fe.env[3].k = "AWS_CONFIG_FILE";
	fe.env[3].v = "/etc/aws-config";
	o.profile = "cfgonly";
	T_CHECK(btx_creds_resolve(&o, &out, &src, &err) == 0 && src == BTX_CREDS_PROFILE, "%s", err.message);
	T_STREQ(out.access_key_id, "AKIDCFG");
	o.profile = NULL;
	T_END();

	T_BEGIN("chain: environment beats files, explicit beats environment");
	fe.env[4].k = "AWS_ACCESS_KEY_ID";
	fe.env[4].v = "AKIDENV";
	fe.env[5].k = "AWS_SECRET_ACCESS_KEY";
	fe.env[5].v = "envsecret";
	T_CHECK(btx_creds_resolve(&o, &out, &src, &err) == 0 && src == BTX_CREDS_ENV, "src %d", src);
	T_STREQ(out.access_key_id, "AKIDENV");
	T_CHECK(out.session_token == NULL, "token");
	btx_s3_credentials_set(&expl, "AKIDEXPL", "explsecret", NULL, 0);
	o.explicit_creds = &expl;
	T_CHECK(btx_creds_resolve(&o, &out, &src, &err) == 0 && src == BTX_CREDS_EXPLICIT, "src %d", src);
	T_STREQ(out.access_key_id, "AKIDEXPL");
	o.explicit_creds = NULL;
	T_END();

	/* from here: no env keys, no files */
	memset(&fe, 0, sizeof(fe));
	fe.env[0].k = "AWS_EC2_METADATA_DISABLED";
	fe.env[0].v = "true";

	T_BEGIN("chain: web identity → unsigned AssumeRoleWithWebIdentity, token file re-read");
	fe.env[1].k = "AWS_WEB_IDENTITY_TOKEN_FILE";
	fe.env[1].v = "/var/run/token";
	fe.env[2].k = "AWS_ROLE_ARN";
	fe.env[2].v = ROLE;
	fe.env[3].k = "AWS_REGION";
	fe.env[3].v = "eu-west-1";
	fe.files[0].k = "/var/run/token";
	fe.files[0].v = "eyJhbGciOi.jwt\n";
	fake_push(&f, 200, NULL, WEB_OK);
	T_CHECK(btx_creds_resolve(&o, &out, &src, &err) == 0 && src == BTX_CREDS_WEB_IDENTITY, "%s", err.message);
	T_STREQ(out.access_key_id, "ASIAWEB");
	T_STREQ(out.session_token, "WTOK");
	T_STREQ(f.seen[f.nseen - 1].url, "https://sts.eu-west-1.amazonaws.com/");
	T_CHECK(strstr(f.seen[f.nseen - 1].body, "Action=AssumeRoleWithWebIdentity") &&
			strstr(f.seen[f.nseen - 1].body, "&WebIdentityToken=eyJhbGciOi.jwt") &&
			strstr(f.seen[f.nseen - 1].body, "RoleSessionName=btexport"), "body %s", f.seen[f.nseen - 1].body);
	T_CHECK(fake_header(&f, f.nseen - 1, "Authorization") == NULL, "signed");
	fe.files[0].k = NULL;
	T_CHECK(btx_creds_resolve(&o, &out, &src, &err) != 0, "missing token file accepted");
	T_CHECK(strstr(err.message, "web identity token file") != NULL, "%s", err.message);
	fe.env[1].k = "X1";
	fe.env[2].k = "X2";
	T_END();

	T_BEGIN("chain: container endpoint (relative URI, authorization token)");
	fe.env[4].k = "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI";
	fe.env[4].v = "/v2/credentials/abc-123";
	fe.env[5].k = "AWS_CONTAINER_AUTHORIZATION_TOKEN";
	fe.env[5].v = "Basic xyz";
	fake_push(&f, 200, NULL, "{\"AccessKeyId\":\"ASIAECS\",\"SecretAccessKey\":\"ecs\",\"Token\":\"ETOK\","
			  "\"Expiration\":\"2015-08-30T18:00:00Z\",\"RoleArn\":\"r\"}");
	T_CHECK(btx_creds_resolve(&o, &out, &src, &err) == 0 && src == BTX_CREDS_CONTAINER, "%s", err.message);
	T_STREQ(f.seen[f.nseen - 1].url, "http://169.254.170.2/v2/credentials/abc-123");
	T_STREQ(fake_header(&f, f.nseen - 1, "Authorization"), "Basic xyz");
	T_STREQ(out.access_key_id, "ASIAECS");
	T_CHECK(out.expiration == 1440957600, "exp %ld", (long) out.expiration);
	fe.env[4].k = "X4";
	fe.env[5].k = "X5";
	T_END();

	T_BEGIN("chain: IMDSv2 token, role, credentials");
	fe.env[0].v = "false";
	fake_free(&f);
	fake_init(&f);
	f.hook = imds_hook;
	T_CHECK(btx_creds_resolve(&o, &out, &src, &err) == 0 && src == BTX_CREDS_IMDS, "%s", err.message);
	T_CHECK(f.nseen == 3, "requests %d", f.nseen);
	if (f.nseen == 3)
	{
		T_STREQ(f.seen[0].method, "PUT");
		T_STREQ(f.seen[0].url, "http://169.254.169.254/latest/api/token");
		T_STREQ(fake_header(&f, 0, "X-aws-ec2-metadata-token-ttl-seconds"), "21600");
		T_STREQ(fake_header(&f, 1, "X-aws-ec2-metadata-token"), "IMDSTOKEN");
		T_STREQ(f.seen[2].url, "http://169.254.169.254/latest/meta-data/iam/security-credentials/btx-role");
	}
	T_STREQ(out.access_key_id, "ASIAIMDS");
	T_STREQ(out.session_token, "ITOK");
	T_END();

	T_BEGIN("chain: IMDS unreachable is skipped quickly (one attempt)");
	fake_free(&f);
	fake_init(&f);
	f.fallback.net = BTX_HTTP_NET_TIMEOUT;
	T_CHECK(btx_creds_resolve(&o, &out, &src, &err) != 0, "found?");
	T_STREQ(err.sqlstate, "28000");
	T_CHECK(f.nseen == 1, "requests %d", f.nseen);
	T_CHECK(strstr(err.detail, "instance metadata") != NULL, "%s", err.detail);
	T_END();

	T_BEGIN("json credentials parser");
	T_CHECK(btx_creds_parse_json("{\"AccessKeyId\":\"A\"}", 18, &out) != 0, "partial accepted");
	T_CHECK(btx_creds_parse_json("nope", 4, &out) != 0, "garbage accepted");
	T_CHECK(btx_creds_parse_json("{\"AccessKeyId\":\"A\",\"SecretAccessKey\":\"B\"}", 41, &out) == 0, "no token");
	T_END();

	btx_s3_credentials_clear(&out);
	btx_s3_credentials_clear(&expl);
	fake_free(&f);
}

void
test_creds(void)
{
	test_sts();
	test_ini();
	test_chain();
}
