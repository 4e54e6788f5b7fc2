/*
 * btapi_parse.c — reading Braintrust's answers (see btapi.h): the /btql page
 * (data array, freshness_state), the facts of one row the pager relies on
 * (_xact_id, _pagination_key, _object_delete), the login answer (org
 * choice, with the key's orgs named when the choice fails), the project list,
 * and the message inside an error body.  Untrusted input: every shape is
 * checked, every failure is an error value; fuzzed (test/fuzz/btapi).
 */
#include "core/btapi/btapi.h"

#include <jansson.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/*
 * Parse a JSON body.  NUL escapes are kept (rows may hold "\u0000"; the
 * consumer decides).  Braintrust's JavaScript side writes numbers below
 * 1e21 as plain digits, which can overflow jansson's 64-bit integers: such
 * a body is parsed again with integers as reals (*as_reals = 1) rather than
 * failing the page forever.
 */
static json_t *
load2(const char *body, size_t len, int *as_reals)
{
	json_error_t je;
	json_t	   *v;

	if (as_reals)
		*as_reals = 0;
	if (body == NULL)
		return NULL;
	v = json_loadb(body, len, JSON_ALLOW_NUL, &je);
	if (v == NULL && json_error_code(&je) == json_error_numeric_overflow)
	{
		v = json_loadb(body, len, JSON_ALLOW_NUL | JSON_DECODE_INT_AS_REAL, &je);
		if (v && as_reals)
			*as_reals = 1;
	}
	return v;
}

static json_t *
load(const char *body, size_t len)
{
	return load2(body, len, NULL);
}

static int
bad_answer(btx_error *err, const char *what, const char *detail)
{
	btx_error_set(err, 1, "38000", "could not read Braintrust's answer to %s", what);
	btx_error_detail(err, "%s", detail);
	return -1;
}

/* a string member that is a valid _xact_id, copied to dst; 0 ok, -1 not */
static int
xact_member(json_t *obj, const char *name, char *dst)
{
	json_t	   *v = json_object_get(obj, name);

	if (!json_is_string(v) || !btx_btapi_check_xact(json_string_value(v)))
		return -1;
	snprintf(dst, BTX_BTAPI_XACT_LEN, "%s", json_string_value(v));
	return 0;
}

int
btx_btapi_parse_page(const char *body, size_t len, btx_btapi_page *page, btx_error *err)
{
	json_t	   *fs;

	memset(page, 0, sizeof(*page));
	page->root = load2(body, len, &page->ints_as_reals);
	if (!json_is_object(page->root))
	{
		btx_btapi_page_free(page);
		return bad_answer(err, "a query", "The body is not a JSON object.");
	}
	page->data = json_object_get(page->root, "data");
	if (!json_is_array(page->data))
	{
		btx_btapi_page_free(page);
		return bad_answer(err, "a query", "The answer has no \"data\" array.");
	}
	fs = json_object_get(page->root, "freshness_state");
	if (json_is_object(fs) &&
		xact_member(fs, "last_processed_xact_id", page->last_processed) == 0)
	{
		page->has_freshness = 1;
		if (xact_member(fs, "last_considered_xact_id", page->last_considered) != 0)
			snprintf(page->last_considered, sizeof(page->last_considered), "%s",
					 page->last_processed);
	}
	return 0;
}

void
btx_btapi_page_free(btx_btapi_page *page)
{
	json_decref(page->root);
	memset(page, 0, sizeof(*page));
}

int
btx_btapi_row_facts_get(json_t *row, btx_btapi_row_facts *f, btx_error *err)
{
	json_t	   *v;

	memset(f, 0, sizeof(*f));
	if (!json_is_object(row))
		return bad_answer(err, "a query", "A row of \"data\" is not a JSON object.");
	v = json_object_get(row, "id");
	f->id = json_is_string(v) ? json_string_value(v) : "";
	v = json_object_get(row, "_xact_id");
	if (json_is_integer(v) && json_integer_value(v) >= 0)
	{
		snprintf(f->xact_buf, sizeof(f->xact_buf), "%lld", (long long) json_integer_value(v));
		f->xact_id = f->xact_buf;
	}
	else if (json_is_string(v) && btx_btapi_check_xact(json_string_value(v)))
		f->xact_id = json_string_value(v);
	else
	{
		btx_error_set(err, 1, "38000", "a row from Braintrust has no valid _xact_id");
		btx_error_detail(err, "Row id \"%.128s\": _xact_id must be a decimal transaction id.", f->id);
		return -1;
	}
	v = json_object_get(row, "_pagination_key");
	if (json_is_string(v) && json_string_value(v)[0] != '\0')
	{
		const char *k = json_string_value(v);
		size_t		i;

		if (json_string_length(v) > BTX_BTAPI_KEY_MAX || strlen(k) != json_string_length(v))
		{
			btx_error_set(err, 1, "38000", "a row from Braintrust has an unusable _pagination_key");
			btx_error_detail(err, "Row id \"%.128s\": the key is longer than %d bytes or holds a NUL.",
							 f->id, BTX_BTAPI_KEY_MAX);
			return -1;
		}
		for (i = 0; k[i]; i++)
			if ((unsigned char) k[i] < 0x20 || k[i] == '\\' || k[i] == 0x7f)
			{
				btx_error_set(err, 1, "38000", "a row from Braintrust has an unusable _pagination_key");
				btx_error_detail(err, "Row id \"%.128s\": the key holds a backslash or a control character.",
								 f->id);
				return -1;
			}
		f->pagination_key = k;
	}
	v = json_object_get(row, "_object_delete");
	f->deleted = json_is_true(v);
	return 0;
}

/* "a", "b", "c" of the org names, for messages */
static void
org_names(json_t *orgs, char *dst, size_t sz)
{
	size_t		i;
	size_t		used = 0;

	dst[0] = '\0';
	for (i = 0; i < json_array_size(orgs) && used + 8 < sz; i++)
	{
		json_t	   *n = json_object_get(json_array_get(orgs, i), "name");
		int			w = snprintf(dst + used, sz - used, "%s\"%.100s\"", i ? ", " : "",
								 json_is_string(n) ? json_string_value(n) : "?");

		if (w < 0 || (size_t) w >= sz - used)
		{
			dst[used] = '\0';
			break;
		}
		used += (size_t) w;
	}
}

static int
copy_member(json_t *obj, const char *name, char *dst, size_t sz)
{
	json_t	   *v = json_object_get(obj, name);

	dst[0] = '\0';
	if (!json_is_string(v) || json_string_length(v) >= sz)
		return -1;
	snprintf(dst, sz, "%s", json_string_value(v));
	return 0;
}

int
btx_btapi_parse_login(const char *body, size_t len, const char *org_name, btx_btapi_org *out,
					  btx_error *err)
{
	json_t	   *root = load(body, len);
	json_t	   *orgs = json_object_get(root, "org_info");
	json_t	   *chosen = NULL;
	char		names[400];
	size_t		i;
	int			r = -1;

	memset(out, 0, sizeof(*out));
	if (!json_is_object(root) || !json_is_array(orgs))
	{
		json_decref(root);
		return bad_answer(err, "the login", "The answer has no \"org_info\" array.");
	}
	org_names(orgs, names, sizeof(names));
	for (i = 0; i < json_array_size(orgs); i++)
	{
		json_t	   *o = json_array_get(orgs, i);
		json_t	   *n = json_object_get(o, "name");

		if (!json_is_object(o))
			continue;
		if (org_name && org_name[0])
		{
			if (json_is_string(n) && strcmp(json_string_value(n), org_name) == 0)
				chosen = o;
		}
		else if (json_array_size(orgs) == 1)
			chosen = o;
	}
	if (json_array_size(orgs) == 0)
	{
		btx_error_set(err, 1, "22023", "the Braintrust API key belongs to no organization");
		btx_error_hint(err, "Use a key of a user or service account that is a member of the organization.");
	}
	else if (chosen == NULL && org_name && org_name[0])
	{
		btx_error_set(err, 1, "22023", "the Braintrust API key has no access to organization \"%.200s\"", org_name);
		btx_error_detail(err, "The key's organizations: %s.", names);
		btx_error_hint(err, "Set the connection's organization to one of these names, or use a key of organization \"%.200s\".", org_name);
	}
	else if (chosen == NULL)
	{
		btx_error_set(err, 1, "22023", "the Braintrust API key belongs to %zu organizations", json_array_size(orgs));
		btx_error_detail(err, "The key's organizations: %s.", names);
		btx_error_hint(err, "Name the organization in the connection (org_name).");
	}
	else if (copy_member(chosen, "name", out->name, sizeof(out->name)) != 0 ||
			 copy_member(chosen, "id", out->id, sizeof(out->id)) != 0)
		bad_answer(err, "the login", "An organization has no usable \"id\" or \"name\".");
	else if (copy_member(chosen, "api_url", out->api_url, sizeof(out->api_url)) != 0 ||
			 out->api_url[0] == '\0')
	{
		btx_error_set(err, 1, "22023", "Braintrust organization \"%.200s\" has no API URL", out->name);
		btx_error_hint(err, "Set the connection's API URL to the organization's data plane explicitly.");
	}
	else
		r = 0;
	json_decref(root);
	if (r != 0)
		memset(out, 0, sizeof(*out));
	return r;
}

int
btx_btapi_parse_project(const char *body, size_t len, const char *name, char out[64],
						btx_error *err)
{
	json_t	   *root = load(body, len);
	json_t	   *objs = json_object_get(root, "objects");
	size_t		i;
	int			found = 0;

	out[0] = '\0';
	if (!json_is_object(root) || !json_is_array(objs))
	{
		json_decref(root);
		return bad_answer(err, "the project lookup", "The answer has no \"objects\" array.");
	}
	for (i = 0; i < json_array_size(objs); i++)
	{
		json_t	   *o = json_array_get(objs, i);
		json_t	   *n = json_object_get(o, "name");
		json_t	   *id = json_object_get(o, "id");

		if (!json_is_string(n) || strcmp(json_string_value(n), name) != 0)
			continue;
		if (!json_is_string(id) || !btx_btapi_check_uuid(json_string_value(id)))
		{
			json_decref(root);
			return bad_answer(err, "the project lookup", "The project has no UUID \"id\".");
		}
		if (found && strcmp(out, json_string_value(id)) != 0)
		{
			json_decref(root);
			btx_error_set(err, 1, "22023", "several Braintrust projects are named \"%.200s\"", name);
			btx_error_hint(err, "Name the organization in the connection, or give the project id.");
			return -1;
		}
		snprintf(out, 64, "%s", json_string_value(id));
		found = 1;
	}
	json_decref(root);
	return found ? 0 : 1;
}

/* printable copy: controls become spaces, runs of space fold, NUL ends */
static void
printable(const char *s, size_t len, char *out, size_t sz)
{
	size_t		o = 0;
	size_t		i;

	for (i = 0; i < len && o + 1 < sz; i++)
	{
		unsigned char ch = (unsigned char) s[i];

		if (ch == '\0')
			break;
		if (ch < 0x20 || ch == 0x7f)
			ch = ' ';
		if (ch == ' ' && (o == 0 || out[o - 1] == ' '))
			continue;
		out[o++] = (char) ch;
	}
	while (o > 0 && out[o - 1] == ' ')
		o--;
	out[o] = '\0';
}

void
btx_btapi_error_text(const char *body, size_t len, char *out, size_t sz)
{
	json_t	   *root = load(body, len);
	static const char *const keys[] = {"Message", "message", "error", "detail", NULL};
	int			i;

	out[0] = '\0';
	if (json_is_object(root))
	{
		for (i = 0; keys[i]; i++)
		{
			json_t	   *v = json_object_get(root, keys[i]);

			if (json_is_object(v))	/* {"error": {"message": ...}} */
				v = json_object_get(v, "message");
			if (json_is_string(v))
			{
				printable(json_string_value(v), json_string_length(v), out, sz);
				break;
			}
		}
	}
	else if (json_is_string(root))
		printable(json_string_value(root), json_string_length(root), out, sz);
	else if (root == NULL && body)
		printable(body, len, out, sz);
	json_decref(root);
}

/*
 * Rows as JSON text for PostgreSQL's jsonb (btx_btapi_row_json).  Written
 * here rather than with json_dumps for two reasons: a real is written in the
 * shortest form that reads back as the same double (json_dumps writes 17
 * digits, so 1795564335.565 became 1795564335.5650001, and jsonb, which keeps
 * decimal digits, would hold another number than the span store holds for
 * the same event: Braintrust's JavaScript writes the shortest form too); and
 * U+0000, which jsonb cannot hold, is written as U+FFFD.
 */
static void
put_string(btx_buf *out, const char *s, size_t len, int *nuls)
{
	size_t		i;

	btx_buf_putc(out, '"');
	for (i = 0; i < len; i++)
	{
		unsigned char ch = (unsigned char) s[i];

		if (ch == '"' || ch == '\\')
		{
			btx_buf_putc(out, '\\');
			btx_buf_putc(out, (char) ch);
		}
		else if (ch == 0)
		{
			btx_buf_puts(out, "\\ufffd");
			(*nuls)++;
		}
		else if (ch < 0x20 || ch == 0x7f)
			btx_buf_appendf(out, "\\u%04x", ch);
		else
			btx_buf_putc(out, (char) ch);
	}
	btx_buf_putc(out, '"');
}

static void
put_real(btx_buf *out, double d)
{
	char		buf[40];
	int			p;

	for (p = 1; p <= 17; p++)
	{
		snprintf(buf, sizeof(buf), "%.*g", p, d);
		if (strtod(buf, NULL) == d)
			break;
	}
	/* a JSON number needs a digit before the exponent: %g gives "1e+21", which is one */
	btx_buf_puts(out, buf);
}

static void
put_json(btx_buf *out, json_t *v, int *nuls, int depth)
{
	size_t		i;
	const char *key;
	json_t	   *val;
	int			first = 1;

	if (depth > 10000)
	{
		out->oom = 1;			/* jansson's own depth limit is far below this */
		return;
	}
	switch (json_typeof(v))
	{
		case JSON_OBJECT:
			btx_buf_putc(out, '{');
			json_object_foreach(v, key, val)
			{
				if (!first)
					btx_buf_putc(out, ',');
				first = 0;
				put_string(out, key, strlen(key), nuls);
				btx_buf_putc(out, ':');
				put_json(out, val, nuls, depth + 1);
			}
			btx_buf_putc(out, '}');
			break;
		case JSON_ARRAY:
			btx_buf_putc(out, '[');
			for (i = 0; i < json_array_size(v); i++)
			{
				if (i > 0)
					btx_buf_putc(out, ',');
				put_json(out, json_array_get(v, i), nuls, depth + 1);
			}
			btx_buf_putc(out, ']');
			break;
		case JSON_STRING:
			put_string(out, json_string_value(v), json_string_length(v), nuls);
			break;
		case JSON_INTEGER:
			btx_buf_appendf(out, "%lld", (long long) json_integer_value(v));
			break;
		case JSON_REAL:
			put_real(out, json_real_value(v));
			break;
		case JSON_TRUE:
			btx_buf_puts(out, "true");
			break;
		case JSON_FALSE:
			btx_buf_puts(out, "false");
			break;
		case JSON_NULL:
			btx_buf_puts(out, "null");
			break;
	}
}

int
btx_btapi_row_json(json_t *row, btx_buf *out)
{
	int			nuls = 0;

	if (row == NULL)
		return -1;
	put_json(out, row, &nuls, 0);
	return out->oom ? -1 : nuls;
}

int
btx_btapi_row_string_json(json_t *row, const char *name, btx_buf *out)
{
	json_t	   *v = json_object_get(row, name);

	if (!json_is_string(v))
		return 0;
	return btx_btapi_row_json(v, out) < 0 ? -1 : 1;
}
