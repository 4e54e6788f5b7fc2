/*
 * libFuzzer target over btx_btql_compile: every input is compiled with
 * automatic syntax detection, with each syntax forced, and in export mode.
 * A successful compile must produce a SELECT with consistent metadata, pass
 * the search_path lint (test/btql/sql_lint.c: nothing in it resolved through
 * search_path) and stay within the memory and SQL limits.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/btql/btql.h"
#include "sql_lint.h"

int			LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* strict UTF-8 (what PostgreSQL accepts for a text parameter) */
static int
valid_utf8(const unsigned char *s)
{
	while (*s)
	{
		unsigned char c = *s;
		int			n = c < 0x80 ? 1 : (c >= 0xC2 && c <= 0xDF) ? 2 : (c >= 0xE0 && c <= 0xEF) ? 3 :
			(c >= 0xF0 && c <= 0xF4) ? 4 : 0;
		int			i;

		if (n == 0)
			return 0;
		for (i = 1; i < n; i++)
			if ((s[i] & 0xC0) != 0x80)
				return 0;
		if ((c == 0xE0 && s[1] < 0xA0) || (c == 0xED && s[1] > 0x9F) || (c == 0xF0 && s[1] < 0x90) ||
			(c == 0xF4 && s[1] > 0x8F))
			return 0;
		s += n;
	}
	return 1;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char	   *text = malloc(size + 1);
	int			mode;

	if (text == NULL)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	for (mode = 0; mode < 4; mode++)
	{
		btx_btql_options opt;
		btx_btql_query q;
		btx_error	e;
		btx_btql_stats st;
		char		why[300];

		memset(&opt, 0, sizeof(opt));
		opt.stats = &st;
		opt.export_cursor = mode == 3;
		opt.syntax = mode == 1 ? BTX_BTQL_SYNTAX_CLAUSE : mode == 2 ? BTX_BTQL_SYNTAX_SQL : BTX_BTQL_SYNTAX_AUTO;
		if (btx_btql_compile(text, &opt, &q, &e) == 0)
		{
			if (q.sql == NULL || strncmp(q.sql, "SELECT ", 7) != 0 || q.ncolumns < 1 ||
				q.first_param != (opt.export_cursor ? 3 : 1))
				abort();
			if (btql_sql_lint(q.sql, why, sizeof(why)) != 0)
			{
				fprintf(stderr, "search_path lint: %s\n%s\n", why, q.sql);
				abort();
			}
			if (strlen(q.sql) > BTX_BTQL_MAX_SQL_BYTES)
				abort();
			if (opt.export_cursor && q.xact_column < 0 && q.pivot_column < 0)
				abort();
			{
				int			i;
				char		ph[32];

				for (i = 0; i < q.nparams; i++)
				{
					snprintf(ph, sizeof(ph), "$%d::pg_catalog.%s", q.first_param + i, q.params[i].type);
					if (!valid_utf8((const unsigned char *) q.params[i].value) || strstr(q.sql, ph) == NULL)
						abort();
				}
			}
			btx_btql_query_free(&q);
		}
		else if (e.sqlstate[0] == '\0' || e.message[0] == '\0' || q.sql != NULL)
			abort();
		if (st.memory > BTX_BTQL_MAX_MEMORY)
			abort();
	}
	free(text);
	return 0;
}
