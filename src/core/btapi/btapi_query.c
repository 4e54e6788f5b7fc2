/*
 * btapi_query.c — what btexport sends to Braintrust's /btql, built safely
 * (see btapi.h, "Requests"): BTQL string literals, the checks on the values
 * that go into them (project UUID, _xact_id digits, pagination keys), the
 * check of the user's filter, the page query text, the JSON request body,
 * and the text form of the source position.  No I/O.
 */
#include "core/btapi/btapi.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

int
btx_btapi_check_uuid(const char *s)
{
	int			i;

	if (s == NULL || strlen(s) != 36)
		return 0;
	for (i = 0; i < 36; i++)
	{
		if (i == 8 || i == 13 || i == 18 || i == 23)
		{
			if (s[i] != '-')
				return 0;
		}
		else if (!isxdigit((unsigned char) s[i]))
			return 0;
	}
	return 1;
}

int
btx_btapi_check_xact(const char *s)
{
	size_t		n;
	size_t		i;

	if (s == NULL)
		return 0;
	n = strlen(s);
	if (n == 0 || n > 20 || (n > 1 && s[0] == '0'))
		return 0;
	for (i = 0; i < n; i++)
		if (!isdigit((unsigned char) s[i]))
			return 0;
	return 1;
}

int
btx_btapi_xact_gt(const char *a, const char *b)
{
	size_t		la = strlen(a);
	size_t		lb = strlen(b);

	/* canonical decimal (no leading zeros): longer is larger, else by digits */
	if (la != lb)
		return la > lb;
	return strcmp(a, b) > 0;
}

int
btx_btapi_quote(btx_buf *out, const char *value, const char *what, btx_error *err)
{
	const char *p;

	for (p = value; *p; p++)
	{
		unsigned char ch = (unsigned char) *p;

		/*
		 * A backslash is an escape for some BTQL readers (braintrust-migrate
		 * writes \') and a plain character for others (''): refused, so that
		 * no reading can end the literal early.  Controls are refused too.
		 */
		if (ch == '\\' || ch < 0x20 || ch == 0x7f)
		{
			btx_error_set(err, 1, "22023", "%s contains a character that cannot be quoted in BTQL", what);
			btx_error_detail(err, "Backslashes and control characters are not accepted in %s.", what);
			return -1;
		}
	}
	btx_buf_putc(out, '\'');
	for (p = value; *p; p++)
	{
		if (*p == '\'')
			btx_buf_putc(out, '\'');
		btx_buf_putc(out, *p);
	}
	btx_buf_putc(out, '\'');
	if (out->oom)
	{
		btx_error_set(err, 1, "53200", "out of memory");
		return -1;
	}
	return 0;
}

static int
filter_error(btx_error *err, const char *detail, size_t at)
{
	btx_error_set(err, 1, "22023", "invalid filter for a Braintrust query");
	btx_error_detail(err, "%s (at character %zu).", detail, at + 1);
	btx_error_hint(err, "The filter must be one BTQL boolean expression, such as metadata.env = 'prod' and is_root.");
	return -1;
}

/*
 * The filter is pasted into "filter: (<filter>) and ...": it must stay one
 * parenthesised expression.  A small scan that knows '...', "..." and `...`
 * quoting (a doubled quote stays inside): parentheses balance, quotes close,
 * and outside quotes there is no '|' (clause separator), no '--' (a comment
 * would swallow the conjuncts after it) and no control character except
 * white space.  Backslashes are refused everywhere: without them the quoted
 * regions are the same whether a reader escapes with '' or with \.
 */
int
btx_btapi_check_filter(const char *filter, btx_error *err)
{
	size_t		i;
	int			depth = 0;
	int			nonblank = 0;

	if (filter == NULL)
		return 0;
	for (i = 0; filter[i]; i++)
	{
		unsigned char ch = (unsigned char) filter[i];

		if (ch == '\'' || ch == '"' || ch == '`')
		{
			size_t		start = i;

			for (i++; filter[i] && filter[i] != '\\'; i++)
			{
				if ((unsigned char) filter[i] == ch)
				{
					if (filter[i + 1] == (char) ch)
						i++;	/* doubled quote */
					else
						break;
				}
			}
			if (filter[i] == '\\')
				return filter_error(err, "A backslash is not accepted in a filter (BTQL readers disagree on it; write '' for a quote)", i);
			if (filter[i] == '\0')
				return filter_error(err, "A quoted string or name is not closed", start);
			nonblank = 1;
			continue;
		}
		if (ch == '(')
			depth++;
		else if (ch == ')' && --depth < 0)
			return filter_error(err, "A closing parenthesis has no opening one", i);
		else if (ch == '\\')
			return filter_error(err, "A backslash is not accepted in a filter (BTQL readers disagree on it; write '' for a quote)", i);
		else if (ch == '|')
			return filter_error(err, "'|' separates query clauses and cannot appear in a filter", i);
		else if (ch == '-' && filter[i + 1] == '-')
			return filter_error(err, "Comments (--) are not accepted in a filter", i);
		else if ((ch < 0x20 && ch != ' ' && ch != '\t' && ch != '\n' && ch != '\r') || ch == 0x7f)
			return filter_error(err, "A control character is not accepted in a filter", i);
		if (!isspace(ch))
			nonblank = 1;
	}
	if (depth != 0)
		return filter_error(err, "An opening parenthesis is not closed", i);
	if (!nonblank)
		return filter_error(err, "The filter is empty", 0);
	return 0;
}

/* the user's filter with its white-space controls as spaces (one line) */
static void
put_filter(btx_buf *out, const char *filter)
{
	const char *p;

	for (p = filter; *p; p++)
		btx_buf_putc(out, (*p == '\n' || *p == '\r' || *p == '\t') ? ' ' : *p);
}

int
btx_btapi_page_query(const char *project_id, const char *filter, const btx_btapi_position *pos,
					 int limit, btx_buf *out, btx_error *err)
{
	int			nconj = 0;

	if (!btx_btapi_check_uuid(project_id))
	{
		btx_error_set(err, 1, "22023", "invalid Braintrust project id \"%.64s\"", project_id ? project_id : "");
		btx_error_detail(err, "A project id is a UUID such as 0c9f4d2e-6a51-4b8e-93d7-5e2f1a7b8c04.");
		return -1;
	}
	if ((pos->xact_lo[0] && !btx_btapi_check_xact(pos->xact_lo)) ||
		(pos->xact_hi[0] && !btx_btapi_check_xact(pos->xact_hi)))
	{
		btx_error_set(err, 1, "22023", "invalid Braintrust source position");
		btx_error_detail(err, "Transaction ids (_xact_id) are decimal numbers.");
		return -1;
	}
	if (limit < 1 || limit > BTX_BTAPI_MAX_PAGE)
	{
		btx_error_set(err, 1, "22023", "page size %d is out of range", limit);
		btx_error_detail(err, "BTQL accepts a limit from 1 to %d.", BTX_BTAPI_MAX_PAGE);
		return -1;
	}
	if (filter && btx_btapi_check_filter(filter, err) != 0)
		return -1;
	btx_buf_reset(out);
	btx_buf_appendf(out, "select: *\nfrom: project_logs('%s') spans\n", project_id);
	if (filter || pos->xact_lo[0] || pos->xact_hi[0] || pos->pagination_key[0])
	{
		btx_buf_puts(out, "filter: ");
		if (filter)
		{
			btx_buf_putc(out, '(');
			put_filter(out, filter);
			btx_buf_putc(out, ')');
			nconj++;
		}
		if (pos->xact_lo[0])
			btx_buf_appendf(out, "%s_xact_id > '%s'", nconj++ ? " and " : "", pos->xact_lo);
		if (pos->xact_hi[0])
			btx_buf_appendf(out, "%s_xact_id <= '%s'", nconj++ ? " and " : "", pos->xact_hi);
		if (pos->pagination_key[0])
		{
			btx_buf_appendf(out, "%s_pagination_key > ", nconj++ ? " and " : "");
			if (btx_btapi_quote(out, pos->pagination_key, "a pagination key", err) != 0)
				return -1;
		}
		btx_buf_putc(out, '\n');
	}
	btx_buf_appendf(out, "sort: _pagination_key asc\nlimit: %d", limit);
	if (out->oom)
	{
		btx_error_set(err, 1, "53200", "out of memory");
		return -1;
	}
	return 0;
}

/* serialise a jansson value into out (compact, keys in insertion order) */
static int
dump_json(json_t *v, btx_buf *out)
{
	char	   *s;
	int			r;

	if (v == NULL)
		return -1;
	s = json_dumps(v, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(v);
	if (s == NULL)
		return -1;
	btx_buf_reset(out);
	r = btx_buf_puts(out, s);
	free(s);
	return r;
}

int
btx_btapi_request_body(const char *query, btx_buf *out)
{
	return dump_json(json_pack("{s:s, s:s, s:i, s:b, s:s}", "query", query, "fmt", "json",
							   "api_version", 1, "use_brainstore", 1,
							   "query_source", "btexport"), out);
}

/* ---------------------------------------------------------------- position */

static json_t *
str_or_null(const char *s)
{
	return s[0] ? json_string(s) : json_null();
}

int
btx_btapi_position_format(const btx_btapi_position *pos, btx_buf *out)
{
	return dump_json(json_pack("{s:o, s:o, s:o}", "xact_id", str_or_null(pos->xact_lo),
							   "horizon", str_or_null(pos->xact_hi),
							   "pagination_key", str_or_null(pos->pagination_key)), out);
}

/* one member: a string that passes check (or null/absent = "") */
static int
position_member(json_t *root, const char *name, char *dst, size_t sz, int is_key)
{
	json_t	   *v = json_object_get(root, name);
	const char *s;
	size_t		i;

	dst[0] = '\0';
	if (v == NULL || json_is_null(v))
		return 0;
	if (!json_is_string(v))
		return -1;
	s = json_string_value(v);
	if (strlen(s) >= sz || strlen(s) != json_string_length(v))
		return -1;
	if (!is_key && s[0] && !btx_btapi_check_xact(s))
		return -1;
	for (i = 0; is_key && s[i]; i++)
		if ((unsigned char) s[i] < 0x20 || s[i] == '\\' || s[i] == 0x7f)
			return -1;
	memcpy(dst, s, strlen(s) + 1);
	return 0;
}

int
btx_btapi_position_parse(const char *text, btx_btapi_position *pos, btx_error *err)
{
	json_t	   *root;
	json_error_t je;
	int			bad;

	memset(pos, 0, sizeof(*pos));
	if (text == NULL || text[0] == '\0')
		return 0;
	root = json_loads(text, JSON_REJECT_DUPLICATES, &je);
	bad = root == NULL || !json_is_object(root) ||
		position_member(root, "xact_id", pos->xact_lo, sizeof(pos->xact_lo), 0) != 0 ||
		position_member(root, "horizon", pos->xact_hi, sizeof(pos->xact_hi), 0) != 0 ||
		position_member(root, "pagination_key", pos->pagination_key,
						sizeof(pos->pagination_key), 1) != 0 ||
		(pos->xact_hi[0] && pos->xact_lo[0] && btx_btapi_xact_gt(pos->xact_lo, pos->xact_hi)) ||
		(pos->pagination_key[0] && !pos->xact_hi[0]);
	json_decref(root);
	if (bad)
	{
		memset(pos, 0, sizeof(*pos));
		btx_error_set(err, 1, "22023", "invalid Braintrust source position");
		btx_error_detail(err, "Expected {\"xact_id\": digits or null, \"horizon\": digits or null, \"pagination_key\": text or null}, with xact_id <= horizon and a pagination key only inside a window.");
		return -1;
	}
	return 0;
}
