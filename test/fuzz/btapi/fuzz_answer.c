/*
 * fuzz_answer.c — libFuzzer target over everything the Braintrust client
 * reads from the network: the first byte picks the org name and limits,
 * the rest is the answer body (and, split at the first NUL, a header value).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/btapi/btapi.h"

#include <jansson.h>

int			LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const orgs[] = {NULL, "acme", "", "globex"};
	const char *body;
	size_t		len;
	char	   *s;
	btx_error	e;
	btx_btapi_page p;
	btx_btapi_org org;
	btx_btapi_position pos;
	btx_buf		b;
	char		id[64];
	char		msg[256];
	size_t		i;
	long		ms;
	time_t		t;

	if (size < 1)
		return 0;
	body = (const char *) data + 1;
	len = size - 1;
	btx_error_clear(&e);
	if (btx_btapi_parse_page(body, len, &p, &e) == 0)
	{
		for (i = 0; i < json_array_size(p.data); i++)
		{
			btx_btapi_row_facts f;

			if (btx_btapi_row_facts_get(json_array_get(p.data, i), &f, &e) == 0)
			{
				if (!btx_btapi_check_xact(f.xact_id))
					abort();	/* facts promise a valid _xact_id */
				if (f.pagination_key && strlen(f.pagination_key) > BTX_BTAPI_KEY_MAX)
					abort();
			}
		}
		btx_btapi_page_free(&p);
	}
	btx_btapi_parse_login(body, len, orgs[data[0] & 3], &org, &e);
	btx_btapi_parse_project(body, len, "Support Bot", id, &e);
	btx_btapi_error_text(body, len, msg, (data[0] >> 2) % 2 ? sizeof(msg) : 8);

	s = malloc(len + 1);
	memcpy(s, body, len);
	s[len] = '\0';
	if (btx_btapi_position_parse(s, &pos, &e) == 0)
	{
		btx_buf_init(&b);
		/* an accepted position always yields a query */
		if (btx_btapi_position_format(&pos, &b) != 0)
			abort();
		btx_buf_reset(&b);
		if (btx_btapi_page_query("0c9f4d2e-6a51-4b8e-93d7-5e2f1a7b8c04", NULL, &pos, 10, &b, &e) != 0 &&
			strcmp(e.sqlstate, "53200") != 0)
			abort();
		btx_buf_free(&b);
	}
	btx_http_parse_retry_after(s, 1795563588, &ms);
	btx_http_parse_date(s, &t);
	btx_buf_init(&b);
	btx_http_resolve("https://api.example.com/v1/btql?x=1", s, &b);
	btx_http_same_origin("https://api.example.com/btql", s);
	btx_buf_reset(&b);
	btx_http_gunzip(body, len, 1 << 16, &b);
	btx_buf_free(&b);
	free(s);
	return 0;
}
