/*
 * fuzz_query.c — libFuzzer target for the query text btexport sends: the
 * input is "<filter>\0<pagination key>".  Whatever is accepted must keep
 * the key inside its literal under both quote conventions seen in BTQL
 * clients: '' doubling, and \ escapes.  The key is the last conjunct, so
 * under both readings its literal must end exactly before "\nsort:".
 * The same input is also split as a btql export's query: what is accepted
 * must give a page query of exactly five clause lines.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/btapi/btapi.h"

int			LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* offset just after the literal that starts at text[at] ('), or 0 */
static size_t
literal_end(const char *text, size_t at, int backslash)
{
	size_t		i = at + 1;

	while (text[i])
	{
		if (backslash && text[i] == '\\' && text[i + 1])
			i += 2;
		else if (!backslash && text[i] == '\'' && text[i + 1] == '\'')
			i += 2;				/* a doubled quote stays inside */
		else if (text[i] == '\'')
			return i + 1;
		else
			i++;
	}
	return 0;
}

/* under a backslash reading, adjacent '..''..' literals: skip them all */
static size_t
literals_end(const char *text, size_t at, int backslash)
{
	size_t		e = literal_end(text, at, backslash);

	while (backslash && e && text[e] == '\'')
		e = literal_end(text, e, backslash);
	return e;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char	   *in;
	const char *filter;
	const char *key;
	btx_btapi_position pos;
	btx_buf		q;
	btx_error	e;

	in = malloc(size + 2);
	memcpy(in, data, size);
	in[size] = '\0';
	in[size + 1] = '\0';
	filter = in;
	key = in + strlen(in) + (strlen(in) < size ? 1 : 0);
	memset(&pos, 0, sizeof(pos));
	strcpy(pos.xact_lo, "100");
	strcpy(pos.xact_hi, "200");
	if (strlen(key) <= BTX_BTAPI_KEY_MAX)
		strcpy(pos.pagination_key, key);
	btx_buf_init(&q);
	btx_error_clear(&e);
	if (btx_btapi_page_query("0c9f4d2e-6a51-4b8e-93d7-5e2f1a7b8c04", filter[0] ? filter : NULL, &pos,
							 1000, &q, &e) == 0 && pos.pagination_key[0])
	{
		static const char head[] = "select: *\nfrom: project_logs('0c9f4d2e-6a51-4b8e-93d7-5e2f1a7b8c04') spans\nfilter: ";
		static const char conj[] = "_xact_id > '100' and _xact_id <= '200' and _pagination_key > ";
		const char *sort = strstr(q.data, "\nsort: _pagination_key asc\nlimit: 1000");
		size_t		at = strlen(head) + (filter[0] ? strlen(filter) + strlen("() and ") : 0);

		/* the filter is copied in its parentheses; the key conjunct follows it */
		if (sort == NULL || strncmp(q.data, head, strlen(head)) != 0 ||
			strncmp(q.data + at, conj, strlen(conj)) != 0)
			abort();
		at += strlen(conj);
		if (literals_end(q.data, at, 0) != (size_t) (sort - q.data) ||
			literals_end(q.data, at, 1) != (size_t) (sort - q.data))
			abort();
	}
	{
		btx_btapi_clauses cl;

		if (btx_btapi_split_query(in, &cl, &e) == 0)
		{
			int			lines = 0;
			const char *p;

			if (cl.project == NULL)
				abort();
			if (btx_btapi_page_query_select("0c9f4d2e-6a51-4b8e-93d7-5e2f1a7b8c04", cl.select, cl.filter,
											&pos, 1000, &q, &e) == 0)
			{
				for (p = q.data; *p; p++)
					lines += *p == '\n';
				if (lines != 4 || strncmp(q.data, "select: ", 8) != 0 || strstr(q.data, "\nfrom: ") == NULL ||
					strstr(q.data, "\nfilter: ") == NULL)
					abort();
			}
			btx_btapi_clauses_free(&cl);
		}
	}
	btx_buf_free(&q);
	free(in);
	return 0;
}
