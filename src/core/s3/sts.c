/*
 * sts.c — STS AssumeRole / AssumeRoleWithWebIdentity (see sts.h).
 *
 * Design: STS is called through the S3 client (its transport, retries and
 * signing with service "sts"): the request is a form-encoded POST whose
 * parameters are checked against the characters STS accepts before anything
 * is sent, and the answer is parsed by s3xml.c.  AssumeRoleWithWebIdentity
 * is sent unsigned (the token is the credential).
 */
#include "core/s3/sts.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/s3/sigv4.h"

/* ASCII letters, digits, '_' and the extra characters only (whatever the locale) */
static int
chars_ok(const char *s, const char *extra)
{
	for (; *s; s++)
	{
		unsigned char c = (unsigned char) *s;

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
			  strchr(extra, c) != NULL))
			return 0;
	}
	return 1;
}

/*
 * The one rule for an ExternalId (STS: 2 to 1224 of [\w+=,.@:/-], ASCII):
 * btexport._check_role applies it when an automation is saved, and the
 * AssumeRole request below before it is sent.
 */
int
btx_sts_check_external_id(const char *external_id, btx_error *err)
{
	size_t		l = strlen(external_id);

	if (l < 2 || l > 1224 || !chars_ok(external_id, "+=,.@:/-"))
	{
		btx_error_set(err, 1, "22023", "invalid external id");
		btx_error_detail(err, "An external id is 2 to 1224 characters of ASCII letters, digits and + = , . @ : / - _.");
		btx_error_hint(err, "Use the value of sts:ExternalId in the role's trust policy.");
		return -1;
	}
	return 0;
}

static void
form_param(btx_buf *b, const char *name, const char *value)
{
	if (b->len)
		btx_buf_putc(b, '&');
	btx_buf_puts(b, name);
	btx_buf_putc(b, '=');
	btx_sigv4_uri_encode(b, value, strlen(value), 0);
}

int
btx_sts_build_body(const btx_sts_params *p, int web_identity, btx_buf *body, btx_error *err)
{
	const char *session = p->session_name && p->session_name[0] ? p->session_name : "btexport";
	size_t		l;
	char		dur[16];

	if (p->role_arn == NULL || (l = strlen(p->role_arn)) < 20 || l > 2048)
	{
		btx_error_set(err, 1, "22023", "invalid role ARN \"%s\"", p->role_arn ? p->role_arn : "");
		btx_error_detail(err, "A role ARN has 20 to 2048 characters, like arn:aws:iam::123456789012:role/name.");
		return -1;
	}
	l = strlen(session);
	if (l < 2 || l > 64 || !chars_ok(session, "+=,.@-"))
	{
		btx_error_set(err, 1, "22023", "invalid role session name \"%s\"", session);
		btx_error_detail(err, "A session name has 2 to 64 characters among letters, digits and _+=,.@-.");
		return -1;
	}
	if (!web_identity && p->external_id && p->external_id[0] && btx_sts_check_external_id(p->external_id, err) != 0)
		return -1;
	if (p->duration_seconds != 0 && (p->duration_seconds < 900 || p->duration_seconds > 43200))
	{
		btx_error_set(err, 1, "22023", "invalid role session duration %d", p->duration_seconds);
		btx_error_detail(err, "The duration must be between 900 and 43200 seconds.");
		return -1;
	}
	if (web_identity && (p->web_identity_token == NULL || p->web_identity_token[0] == '\0'))
	{
		btx_error_set(err, 1, "22023", "a web identity token is required");
		return -1;
	}
	form_param(body, "Action", web_identity ? "AssumeRoleWithWebIdentity" : "AssumeRole");
	form_param(body, "Version", "2011-06-15");
	form_param(body, "RoleArn", p->role_arn);
	form_param(body, "RoleSessionName", session);
	if (!web_identity && p->external_id && p->external_id[0])
		form_param(body, "ExternalId", p->external_id);
	if (web_identity)
		form_param(body, "WebIdentityToken", p->web_identity_token);
	if (p->duration_seconds)
	{
		snprintf(dur, sizeof(dur), "%d", p->duration_seconds);
		form_param(body, "DurationSeconds", dur);
	}
	if (body->oom)
	{
		btx_error_set(err, 1, "53200", "out of memory");
		return -1;
	}
	return 0;
}

static int
sts_call(btx_s3_client *c, const btx_sts_params *p, int web_identity, btx_s3_credentials *out,
		 btx_error *err)
{
	btx_buf		body;
	btx_buf		url;
	btx_s3_call call;
	btx_s3_response resp;
	btx_s3xml_sts_credentials sc;
	const char *hdrs[1] = {"Content-Type: application/x-www-form-urlencoded; charset=utf-8"};
	int			r = -1;

	btx_error_clear(err);
	btx_buf_init(&body);
	btx_buf_init(&url);
	btx_s3_response_init(&resp);
	if (btx_sts_build_body(p, web_identity, &body, err) != 0)
		goto done;
	if (p->endpoint && p->endpoint[0])
		btx_buf_puts(&url, p->endpoint);
	else
		btx_buf_appendf(&url, "https://sts.%s.amazonaws.com", btx_s3_client_config(c)->region);
	memset(&call, 0, sizeof(call));
	call.operation = web_identity ? "AssumeRoleWithWebIdentity" : "AssumeRole";
	call.what = web_identity ? "assume role with web identity" : "assume role";
	call.service = "sts";
	call.base_url = url.data;
	call.method = "POST";
	call.headers = hdrs;
	call.nheaders = 1;
	call.body = body.data;
	call.body_len = body.len;
	call.unsigned_request = web_identity;
	call.hint_context = p->role_arn;
	if (btx_s3_call_perform(c, &call, &resp, err) != 0)
		goto done;
	if (btx_s3xml_parse_sts_credentials(resp.body.data, resp.body.len, &sc) != 0)
	{
		btx_error_set(err, 1, "38000", "could not parse the STS %s answer for \"%s\"",
					  call.operation, p->role_arn);
		btx_error_detail(err, "The answer (HTTP %ld) holds no complete Credentials block.", resp.status);
		goto done;
	}
	if (btx_s3_credentials_set(out, sc.access_key_id, sc.secret_access_key, sc.session_token,
							   sc.expiration) != 0)
		btx_error_set(err, 1, "53200", "out of memory");
	else
		r = 0;
	btx_s3xml_sts_credentials_free(&sc);
done:
	if (resp.body.data)
		memset(resp.body.data, 0, resp.body.len);	/* held the secret */
	btx_s3_response_free(&resp);
	btx_buf_free(&url);
	if (body.data)
		memset(body.data, 0, body.len);	/* may hold a web identity token */
	btx_buf_free(&body);
	return r;
}

int
btx_sts_assume_role(btx_s3_client *c, const btx_sts_params *p, btx_s3_credentials *out,
					btx_error *err)
{
	return sts_call(c, p, 0, out, err);
}

int
btx_sts_assume_role_with_web_identity(btx_s3_client *c, const btx_sts_params *p,
									  btx_s3_credentials *out, btx_error *err)
{
	return sts_call(c, p, 1, out, err);
}
