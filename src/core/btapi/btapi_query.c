/*
 * btapi_query.c — what btexport sends to Braintrust's /btql, built safely
 * (see btapi.h, "Requests"): BTQL string literals, the checks on the values
 * that go into them (project UUID, _xact_id digits, pagination keys), the
 * check of the user's filter, the page query text, the JSON request body,
 * and the text form of the source position.  No I/O.
 */
#include "core/btapi/btapi.h"

#include <jansson.h>

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

/* what a checked piece of query text is, for messages */
typedef struct expr_kind
{
	const char *message;		/* "invalid filter for a Braintrust query" */
	const char *noun;			/* "a filter" */
	const char *hint;
} expr_kind;

static const expr_kind filter_kind = {
	"invalid filter for a Braintrust query", "a filter",
	"The filter must be one BTQL boolean expression, such as metadata.env = 'prod' and is_root."
};
static const expr_kind select_kind = {
	"invalid select list for a Braintrust query", "a select list",
	"The select list must be BTQL expressions separated by commas, such as id, metadata.model AS model, scores."
};

static int
expr_error(const expr_kind *k, btx_error *err, const char *detail, size_t at)
{
	btx_error_set(err, 1, "22023", "%s", k->message);
	btx_error_detail(err, "%s (at character %zu).", detail, at + 1);
	btx_error_hint(err, "%s", k->hint);
	return -1;
}

/*
 * A piece of the user's text that is pasted into one clause of the query
 * ("filter: (<filter>) and ...", "select: <list>, ..."): it must stay
 * inside that clause and its parentheses.  A small scan that knows '...',
 * "..." and `...` quoting (a doubled quote stays inside): parentheses
 * balance, quotes close, and outside quotes there is no '|' (clause
 * separator), no '--' (a comment would swallow the conjuncts after it) and
 * no control character except white space.  Backslashes are refused
 * everywhere: without them the quoted regions are the same whether a reader
 * escapes with '' or with \.
 */
static int
check_expr(const char *text, const expr_kind *k, btx_error *err)
{
	size_t		i;
	int			depth = 0;
	int			nonblank = 0;
	char		bs[120];

	snprintf(bs, sizeof(bs), "A backslash is not accepted in %s (BTQL readers disagree on it; write '' for a quote)",
			 k->noun);
	for (i = 0; text[i]; i++)
	{
		unsigned char ch = (unsigned char) text[i];

		if (ch == '\'' || ch == '"' || ch == '`')
		{
			size_t		start = i;

			for (i++; text[i] && text[i] != '\\'; i++)
			{
				if ((unsigned char) text[i] == ch)
				{
					if (text[i + 1] == (char) ch)
						i++;	/* doubled quote */
					else
						break;
				}
			}
			if (text[i] == '\\')
				return expr_error(k, err, bs, i);
			if (text[i] == '\0')
				return expr_error(k, err, "A quoted string or name is not closed", start);
			nonblank = 1;
			continue;
		}
		if (ch == '(')
			depth++;
		else if (ch == ')' && --depth < 0)
			return expr_error(k, err, "A closing parenthesis has no opening one", i);
		else if (ch == '\\')
			return expr_error(k, err, bs, i);
		else if (ch == '|')
			return expr_error(k, err, "'|' separates query clauses and cannot appear here", i);
		else if (ch == '-' && text[i + 1] == '-')
			return expr_error(k, err, "Comments (--) are not accepted here", i);
		else if ((ch < 0x20 && ch != ' ' && ch != '\t' && ch != '\n' && ch != '\r') || ch == 0x7f)
			return expr_error(k, err, "A control character is not accepted here", i);
		if (!isspace(ch))
			nonblank = 1;
	}
	if (depth != 0)
		return expr_error(k, err, "An opening parenthesis is not closed", i);
	if (!nonblank)
		return expr_error(k, err, "It is empty", 0);
	return 0;
}

int
btx_btapi_check_filter(const char *filter, btx_error *err)
{
	return filter == NULL ? 0 : check_expr(filter, &filter_kind, err);
}

int
btx_btapi_check_select(const char *select, btx_error *err)
{
	return select == NULL ? 0 : check_expr(select, &select_kind, err);
}

/* the user's text with its white-space controls as spaces (one line) */
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
	return btx_btapi_page_query_select(project_id, NULL, filter, pos, limit, out, err);
}

int
btx_btapi_page_query_select(const char *project_id, const char *select, const char *filter,
							const btx_btapi_position *pos, int limit, btx_buf *out, btx_error *err)
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
	if ((filter && btx_btapi_check_filter(filter, err) != 0) ||
		(select && btx_btapi_check_select(select, err) != 0))
		return -1;
	btx_buf_reset(out);
	btx_buf_puts(out, "select: ");
	if (select)
		put_filter(out, select);
	else
		btx_buf_putc(out, '*');
	btx_buf_appendf(out, "\nfrom: project_logs('%s') spans\n", project_id);
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
	return btx_btapi_request_body_tz(query, 0, out);
}

int
btx_btapi_request_body_tz(const char *query, int tz_offset, btx_buf *out)
{
	json_t	   *body = json_pack("{s:s, s:s, s:i, s:b, s:s}", "query", query, "fmt", "json",
								 "api_version", 1, "use_brainstore", 1, "query_source", "btexport");

	/* tz_offset only when it matters (0 is Braintrust's default): the pages' body stays as documented */
	if (body && tz_offset != 0 && json_object_set_new(body, "tz_offset", json_integer(tz_offset)) != 0)
	{
		json_decref(body);
		body = NULL;
	}
	return dump_json(body, out);
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

/* ---------------------------------------------------------------- a btql export's query */

void
btx_btapi_clauses_free(btx_btapi_clauses *c)
{
	free(c->select);
	free(c->filter);
	free(c->project);
	memset(c, 0, sizeof(*c));
}

static int
split_error(btx_error *err, const char *sqlstate, const char *message, const char *detail)
{
	btx_error_set(err, 1, sqlstate, "%s", message);
	if (detail)
		btx_error_detail(err, "%s", detail);
	btx_error_hint(err, "Write the query in BTQL clause syntax with select:, from: project_logs('<project>') and filter: only; btexport adds the paging (sort, limit and the _xact_id window).");
	return -1;
}

/* "project_logs('<x>')[ spans]": the argument, unquoted ('' for a quote), malloc'd; NULL when not */
static char *
from_project(const char *s)
{
	const char *p = s ? s : "";
	btx_buf		b;

	while (isspace((unsigned char) *p))
		p++;
	if (strncmp(p, "project_logs", 12) != 0)
		return NULL;
	p += 12;
	while (isspace((unsigned char) *p))
		p++;
	if (*p++ != '(')
		return NULL;
	while (isspace((unsigned char) *p))
		p++;
	if (*p++ != '\'')
		return NULL;
	btx_buf_init(&b);
	for (;; p++)
	{
		if (*p == '\0' || *p == '\\')
		{
			btx_buf_free(&b);
			return NULL;
		}
		if (*p == '\'')
		{
			if (p[1] != '\'')
				break;
			p++;
		}
		btx_buf_putc(&b, *p);
	}
	p++;
	while (isspace((unsigned char) *p))
		p++;
	if (*p++ != ')')
	{
		btx_buf_free(&b);
		return NULL;
	}
	while (isspace((unsigned char) *p))
		p++;
	if (strncmp(p, "spans", 5) == 0)
		for (p += 5; isspace((unsigned char) *p); p++)
			;
	if (*p != '\0' || b.oom || b.len == 0)
	{
		btx_buf_free(&b);
		return NULL;
	}
	return btx_buf_steal(&b);
}

/* the clause a piece of text names ("select" for "select: *"), its body in *body; NULL when none */
static const char *
clause_name(const char *piece, const char **body)
{
	static const char *const names[] = {"select", "from", "filter", "dimensions", "measures", "sort",
		"limit", "cursor", "pivot", "unpivot", "final_filter", "comparison_key", "weighted_scores",
	"custom_columns", "preview_length", "inference_budget", "span_limit", NULL};
	const char *p = piece;
	int			i;

	while (isspace((unsigned char) *p))
		p++;
	for (i = 0; names[i]; i++)
	{
		size_t		n = strlen(names[i]);
		const char *q = p + n;

		if (strncmp(p, names[i], n) != 0)
			continue;
		while (*q == ' ' || *q == '\t')
			q++;
		if (*q == ':')
		{
			*body = q + 1;
			return names[i];
		}
	}
	return NULL;
}

/*
 * Split the query of a btql export into the clauses btexport sends (see
 * btapi.h).  Clauses are separated by '|' or line breaks outside quotes; a
 * line that names no clause continues the one before it.
 */
int
btx_btapi_split_query(const char *text, btx_btapi_clauses *out, btx_error *err)
{
	btx_buf		piece[3];		/* select, from, filter */
	int			seen[3] = {0, 0, 0};
	int			cur = -1;
	const char *p = text;
	int			r = 0;
	int			i;

	memset(out, 0, sizeof(*out));
	if (text == NULL || text[0] == '\0')
		return split_error(err, "22023", "a Braintrust export query is empty", NULL);
	for (i = 0; i < 3; i++)
		btx_buf_init(&piece[i]);
	while (*p && r == 0)
	{
		const char *start = p;
		const char *body = NULL;
		const char *name;
		char		quote = 0;
		btx_buf		seg;

		/* one segment: up to an unquoted '|' or line break */
		for (; *p; p++)
		{
			if (quote)
			{
				if (*p == quote)
					quote = 0;
			}
			else if (*p == '\'' || *p == '"' || *p == '`')
				quote = *p;
			else if (*p == '|' || *p == '\n')
				break;
		}
		btx_buf_init(&seg);
		btx_buf_append(&seg, start, (size_t) (p - start));
		if (*p)
			p++;
		if (seg.data == NULL || seg.oom)
		{
			btx_buf_free(&seg);
			if (seg.oom)
				r = split_error(err, "53200", "out of memory", NULL);
			continue;
		}
		name = clause_name(seg.data, &body);
		if (name == NULL)
		{
			const char *q = seg.data;

			while (isspace((unsigned char) *q))
				q++;
			if (*q && cur < 0)
				r = split_error(err, "42601", "a Braintrust export query must start with a clause such as select:",
								NULL);
			else if (*q)
			{
				btx_buf_putc(&piece[cur], ' ');
				btx_buf_puts(&piece[cur], seg.data);
			}
		}
		else if (strcmp(name, "select") != 0 && strcmp(name, "from") != 0 && strcmp(name, "filter") != 0)
		{
			btx_error_set(err, 1, "0A000", "clause %s: is not supported in the query of a Braintrust export", name);
			btx_error_detail(err, "btexport pages the project's rows itself (sort: _pagination_key, limit, the _xact_id window), so the query can only choose columns and filter rows.");
			btx_error_hint(err, "Keep select:, from: and filter:; aggregate or sort the exported files downstream, or export logs_traces for one row per trace.");
			r = -1;
		}
		else
		{
			cur = strcmp(name, "select") == 0 ? 0 : strcmp(name, "from") == 0 ? 1 : 2;
			if (seen[cur]++)
			{
				btx_error_set(err, 1, "42601", "clause %s: is given twice", name);
				btx_error_hint(err, "Give each clause once.");
				r = -1;
			}
			else
				btx_buf_puts(&piece[cur], body);
		}
		btx_buf_free(&seg);
	}
	for (i = 0; i < 3 && r == 0; i++)
		if (piece[i].oom)
			r = split_error(err, "53200", "out of memory", NULL);
	if (r == 0 && !seen[1])
		r = split_error(err, "42601", "a Braintrust export query needs from: project_logs('<project>')", NULL);
	if (r == 0 && (out->project = from_project(piece[1].data)) == NULL)
		r = split_error(err, "0A000", "a Braintrust export reads from: project_logs('<project>') spans",
						"The from: clause must name one project, as a quoted name or id, with no shape other than spans.");
	if (r == 0 && seen[0])
	{
		out->select = strdup(piece[0].data ? piece[0].data : "");
		if (out->select == NULL || btx_btapi_check_select(out->select, err) != 0)
			r = out->select ? -1 : split_error(err, "53200", "out of memory", NULL);
	}
	if (r == 0 && seen[2])
	{
		out->filter = strdup(piece[2].data ? piece[2].data : "");
		if (out->filter == NULL || btx_btapi_check_filter(out->filter, err) != 0)
			r = out->filter ? -1 : split_error(err, "53200", "out of memory", NULL);
	}
	for (i = 0; i < 3; i++)
		btx_buf_free(&piece[i]);
	if (r != 0)
		btx_btapi_clauses_free(out);
	return r;
}
