/*
 * test_btapi.c — unit tests of the Braintrust API client (src/core/btapi):
 * literals and query text, the position, answer parsing, the budget, and
 * the client over a scripted transport on a fake clock: login and org
 * choice, project lookup, the windowed keyset scan (horizon, resume,
 * stop), every error class with its hint, Retry-After forms, halving,
 * gzip, the size cap, redirects, the budget, interruption.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../s3/t.h"
#include "core/btapi/btapi.h"

#include <jansson.h>
#include "script.h"
#include "tests.h"

#define PID "0c9f4d2e-6a51-4b8e-93d7-5e2f1a7b8c04"
#define KEY "sk-unit-test-key-0123456789"
#define API "https://api.example.com"

/* ---------------------------------------------------------------- pure parts */

static void
test_literals(void)
{
	T_BEGIN("btapi: BTQL literals double quotes and refuse backslashes and controls");
	{
		btx_buf		b;
		btx_error	e;

		btx_buf_init(&b);
		btx_error_clear(&e);
		T_CHECK(btx_btapi_quote(&b, "p0007421893", "a key", &e) == 0, "plain");
		T_STREQ(b.data, "'p0007421893'");
		btx_buf_reset(&b);
		T_CHECK(btx_btapi_quote(&b, "x' or 1=1 --", "a key", &e) == 0, "quote");
		T_STREQ(b.data, "'x'' or 1=1 --'");
		btx_buf_reset(&b);
		T_CHECK(btx_btapi_quote(&b, "a\\", "a key", &e) != 0 && strcmp(e.sqlstate, "22023") == 0, "backslash");
		T_CHECK(btx_btapi_quote(&b, "a\nb", "a key", &e) != 0, "newline");
		btx_buf_free(&b);
	}
	T_END();
	T_BEGIN("btapi: UUID and _xact_id checks, _xact_id order");
	{
		T_CHECK(btx_btapi_check_uuid(PID), "uuid");
		T_CHECK(!btx_btapi_check_uuid("0c9f4d2e-6a51-4b8e-93d7-5e2f1a7b8c0'"), "quote in uuid");
		T_CHECK(!btx_btapi_check_uuid("0c9f4d2e6a514b8e93d75e2f1a7b8c04"), "no dashes");
		T_CHECK(btx_btapi_check_xact("1000192837465013") && btx_btapi_check_xact("0"), "digits");
		T_CHECK(!btx_btapi_check_xact("0123") && !btx_btapi_check_xact("12a") && !btx_btapi_check_xact(""), "bad");
		T_CHECK(!btx_btapi_check_xact("123456789012345678901"), "21 digits");
		T_CHECK(btx_btapi_xact_gt("1000", "999") && !btx_btapi_xact_gt("999", "1000"), "length first");
		T_CHECK(btx_btapi_xact_gt("1001", "1000") && !btx_btapi_xact_gt("1000", "1000"), "digits");
	}
	T_END();
	T_BEGIN("btapi: the user's filter stays one expression");
	{
		btx_error	e;

		btx_error_clear(&e);
		T_CHECK(btx_btapi_check_filter("metadata.env = 'prod' and (is_root or tags includes 'x')", &e) == 0, "ok");
		T_CHECK(btx_btapi_check_filter("input = 'a | b' and name = 'it''s (fine'", &e) == 0, "quoted | ( ''");
		T_CHECK(btx_btapi_check_filter("a = 1\n and b = 2", &e) == 0, "multi-line");
		T_CHECK(btx_btapi_check_filter("a = 1) or (b = 2", &e) != 0 && strstr(e.detail, "closing") != NULL, "breakout ) ( : %s", e.detail);
		T_CHECK(btx_btapi_check_filter("(a = 1", &e) != 0, "unclosed (");
		T_CHECK(btx_btapi_check_filter("a = 1 | from: project_logs('x')", &e) != 0, "|");
		T_CHECK(btx_btapi_check_filter("a = 1 -- comment", &e) != 0, "--");
		T_CHECK(btx_btapi_check_filter("a = 'x\\' or 1", &e) != 0 && strstr(e.detail, "backslash") != NULL, "backslash");
		T_CHECK(btx_btapi_check_filter("a = 'open", &e) != 0, "unterminated");
		T_CHECK(btx_btapi_check_filter("   ", &e) != 0, "empty");
		T_CHECK(btx_btapi_check_filter("a = 1\x01", &e) != 0, "control");
		T_CHECK(strcmp(e.sqlstate, "22023") == 0 && e.hint[0], "state and hint");
	}
	T_END();
}

static void
test_query_text(void)
{
	btx_btapi_position pos;
	btx_buf		q;
	btx_error	e;

	btx_buf_init(&q);
	btx_error_clear(&e);
	T_BEGIN("btapi: the page query text, first page of the first window");
	{
		memset(&pos, 0, sizeof(pos));
		T_CHECK(btx_btapi_page_query(PID, NULL, &pos, 1000, &q, &e) == 0, "built");
		T_STREQ(q.data, "select: *\nfrom: project_logs('" PID "') spans\nsort: _pagination_key asc\nlimit: 1000");
	}
	T_END();
	T_BEGIN("btapi: the page query text with filter, window and key");
	{
		strcpy(pos.xact_lo, "1000192837465013");
		strcpy(pos.xact_hi, "1000192837991207");
		strcpy(pos.pagination_key, "p0007421893");
		T_CHECK(btx_btapi_page_query(PID, "metadata.env = 'prod'\nand is_root", &pos, 250, &q, &e) == 0, "built");
		T_STREQ(q.data, "select: *\nfrom: project_logs('" PID "') spans\n"
				"filter: (metadata.env = 'prod' and is_root) and _xact_id > '1000192837465013' and _xact_id <= '1000192837991207' and _pagination_key > 'p0007421893'\n"
				"sort: _pagination_key asc\nlimit: 250");
		strcpy(pos.pagination_key, "k' or true or '");
		T_CHECK(btx_btapi_page_query(PID, NULL, &pos, 10, &q, &e) == 0, "quoted key");
		T_CHECK(strstr(q.data, "_pagination_key > 'k'' or true or '''\n") != NULL, "doubled: %s", q.data);
		strcpy(pos.pagination_key, "k\\");
		T_CHECK(btx_btapi_page_query(PID, NULL, &pos, 10, &q, &e) != 0, "backslash key refused");
		pos.pagination_key[0] = '\0';
		T_CHECK(btx_btapi_page_query("x') or ('1", NULL, &pos, 10, &q, &e) != 0 && strstr(e.message, "project id") != NULL, "bad project id");
		T_CHECK(btx_btapi_page_query(PID, NULL, &pos, 1001, &q, &e) != 0, "limit 1001");
		T_CHECK(btx_btapi_page_query(PID, NULL, &pos, 0, &q, &e) != 0, "limit 0");
		strcpy(pos.xact_lo, "12x");
		T_CHECK(btx_btapi_page_query(PID, NULL, &pos, 10, &q, &e) != 0, "bad xact");
	}
	T_END();
	T_BEGIN("btapi: the JSON request body");
	{
		T_CHECK(btx_btapi_request_body("select: *\nfrom: x", &q) == 0, "built");
		T_STREQ(q.data, "{\"query\":\"select: *\\nfrom: x\",\"fmt\":\"json\",\"api_version\":1,\"use_brainstore\":true,\"query_source\":\"btexport\"}");
	}
	T_END();
	T_BEGIN("btapi: the position's text form round-trips and is checked");
	{
		btx_btapi_position p2;

		memset(&pos, 0, sizeof(pos));
		T_CHECK(btx_btapi_position_format(&pos, &q) == 0, "empty");
		T_STREQ(q.data, "{\"xact_id\":null,\"horizon\":null,\"pagination_key\":null}");
		strcpy(pos.xact_lo, "100");
		strcpy(pos.xact_hi, "200");
		strcpy(pos.pagination_key, "p'7");
		T_CHECK(btx_btapi_position_format(&pos, &q) == 0, "full");
		T_STREQ(q.data, "{\"xact_id\":\"100\",\"horizon\":\"200\",\"pagination_key\":\"p'7\"}");
		T_CHECK(btx_btapi_position_parse(q.data, &p2, &e) == 0 && memcmp(&pos, &p2, sizeof(pos)) == 0, "round trip");
		T_CHECK(btx_btapi_position_parse("", &p2, &e) == 0 && p2.xact_lo[0] == '\0', "empty text");
		T_CHECK(btx_btapi_position_parse("{\"xact_id\":\"300\",\"horizon\":\"200\"}", &p2, &e) != 0, "lo > hi");
		T_CHECK(btx_btapi_position_parse("{\"xact_id\":\"3\",\"pagination_key\":\"k\"}", &p2, &e) != 0, "key without window");
		T_CHECK(btx_btapi_position_parse("{\"xact_id\":7}", &p2, &e) != 0, "number");
		T_CHECK(btx_btapi_position_parse("{\"xact_id\":\"07\"}", &p2, &e) != 0, "leading zero");
		T_CHECK(btx_btapi_position_parse("[1]", &p2, &e) != 0 && strcmp(e.sqlstate, "22023") == 0, "array");
	}
	T_END();
	btx_buf_free(&q);
}

static void
test_parsers(void)
{
	btx_error	e;
	btx_btapi_org org;
	char		id[64];
	char		msg[128];

	btx_error_clear(&e);
	T_BEGIN("btapi: login answers: the only org, the named org, ambiguous and unknown names listed");
	{
		const char *one = "{\"org_info\":[{\"id\":\"o1\",\"name\":\"acme\",\"api_url\":\"https://api.example.com\"}]}";
		const char *two = "{\"org_info\":[{\"id\":\"o1\",\"name\":\"acme\",\"api_url\":\"https://a.example\"},"
			"{\"id\":\"o2\",\"name\":\"globex\",\"api_url\":\"https://g.example\"}]}";

		T_CHECK(btx_btapi_parse_login(one, strlen(one), NULL, &org, &e) == 0, "one");
		T_STREQ(org.name, "acme");
		T_STREQ(org.api_url, "https://api.example.com");
		T_CHECK(btx_btapi_parse_login(two, strlen(two), "globex", &org, &e) == 0, "named");
		T_STREQ(org.api_url, "https://g.example");
		T_CHECK(btx_btapi_parse_login(two, strlen(two), NULL, &org, &e) != 0, "ambiguous");
		T_CHECK(strstr(e.message, "2 organizations") && strstr(e.detail, "\"acme\", \"globex\"") && e.hint[0], "names: %s / %s", e.message, e.detail);
		T_CHECK(btx_btapi_parse_login(two, strlen(two), "initech", &org, &e) != 0, "unknown");
		T_CHECK(strstr(e.message, "\"initech\"") && strstr(e.detail, "\"acme\", \"globex\"") && strcmp(e.sqlstate, "22023") == 0, "unknown names: %s", e.detail);
		T_CHECK(btx_btapi_parse_login("{\"org_info\":[]}", 15, NULL, &org, &e) != 0 && strstr(e.message, "no organization"), "none");
		T_CHECK(btx_btapi_parse_login("{\"org_info\":[{\"id\":\"o\",\"name\":\"n\",\"api_url\":null}]}", 51, NULL, &org, &e) != 0 &&
				strstr(e.message, "no API URL"), "no api url: %s", e.message);
		T_CHECK(btx_btapi_parse_login("<html>", 6, NULL, &org, &e) != 0 && strcmp(e.sqlstate, "38000") == 0, "html");
	}
	T_END();
	T_BEGIN("btapi: project list answers");
	{
		const char *a = "{\"objects\":[{\"id\":\"" PID "\",\"name\":\"Support Bot\"},{\"id\":\"11111111-2222-3333-4444-555555555555\",\"name\":\"support bot\"}]}";
		const char *dup = "{\"objects\":[{\"id\":\"" PID "\",\"name\":\"x\"},{\"id\":\"11111111-2222-3333-4444-555555555555\",\"name\":\"x\"}]}";

		T_CHECK(btx_btapi_parse_project(a, strlen(a), "Support Bot", id, &e) == 0, "found");
		T_STREQ(id, PID);
		T_CHECK(btx_btapi_parse_project(a, strlen(a), "Other", id, &e) == 1, "not found");
		T_CHECK(btx_btapi_parse_project(dup, strlen(dup), "x", id, &e) == -1 && strstr(e.message, "several"), "duplicate");
		T_CHECK(btx_btapi_parse_project("{\"objects\":[{\"id\":\"x'\",\"name\":\"n\"}]}", 37, "n", id, &e) == -1, "bad id");
		T_CHECK(btx_btapi_parse_project("{}", 2, "n", id, &e) == -1, "no objects");
	}
	T_END();
	T_BEGIN("btapi: Braintrust's message out of JSON and text error bodies");
	{
		btx_btapi_error_text("{\"Message\":\"Invalid API key\"}", 29, msg, sizeof(msg));
		T_STREQ(msg, "Invalid API key");
		btx_btapi_error_text("{\"error\":\"Query blocked\\nby lint\"}", 34, msg, sizeof(msg));
		T_STREQ(msg, "Query blocked by lint");
		btx_btapi_error_text("{\"error\":{\"message\":\"nested\"}}", 30, msg, sizeof(msg));
		T_STREQ(msg, "nested");
		btx_btapi_error_text("Internal Server Error\r\n", 23, msg, sizeof(msg));
		T_STREQ(msg, "Internal Server Error");
		btx_btapi_error_text(NULL, 0, msg, sizeof(msg));
		T_STREQ(msg, "");
	}
	T_END();
	T_BEGIN("btapi: pages: rows, freshness, row facts, huge integers");
	{
		btx_btapi_page p;
		btx_btapi_row_facts f;
		const char *body = "{\"data\":[{\"id\":\"a\",\"_xact_id\":\"1001\",\"_pagination_key\":\"p1\"},"
			"{\"id\":\"b\",\"_xact_id\":1002,\"_pagination_key\":\"p2\",\"_object_delete\":true},"
			"{\"id\":\"c\",\"_xact_id\":\"x\"},{\"id\":\"d\",\"_xact_id\":\"5\",\"_pagination_key\":\"a\\\\b\"}],"
			"\"freshness_state\":{\"last_considered_xact_id\":\"1010\",\"last_processed_xact_id\":\"1005\"}}";
		const char *big = "{\"data\":[{\"id\":\"a\",\"n\":123456789012345680000,\"_xact_id\":\"1\",\"_pagination_key\":\"k\"}]}";

		T_CHECK(btx_btapi_parse_page(body, strlen(body), &p, &e) == 0, "parsed");
		T_CHECK(p.has_freshness && strcmp(p.last_processed, "1005") == 0 && strcmp(p.last_considered, "1010") == 0, "freshness");
		T_CHECK(btx_btapi_row_facts_get(json_array_get(p.data, 0), &f, &e) == 0 && !f.deleted &&
				strcmp(f.xact_id, "1001") == 0 && strcmp(f.pagination_key, "p1") == 0, "row 0");
		T_CHECK(btx_btapi_row_facts_get(json_array_get(p.data, 1), &f, &e) == 0 && f.deleted &&
				strcmp(f.xact_id, "1002") == 0, "row 1: integer xact, deleted");
		T_CHECK(btx_btapi_row_facts_get(json_array_get(p.data, 2), &f, &e) != 0 && strstr(e.message, "_xact_id"), "row 2");
		T_CHECK(btx_btapi_row_facts_get(json_array_get(p.data, 3), &f, &e) != 0 && strstr(e.detail, "backslash"), "row 3");
		btx_btapi_page_free(&p);
		T_CHECK(btx_btapi_parse_page(big, strlen(big), &p, &e) == 0 && p.ints_as_reals, "overflowing integer read as real");
		btx_btapi_page_free(&p);
		T_CHECK(btx_btapi_parse_page("{\"rows\":[]}", 11, &p, &e) != 0 && strstr(e.detail, "data"), "no data");
		T_CHECK(btx_btapi_parse_page("{\"data\":[]", 10, &p, &e) != 0, "truncated");
	}
	T_END();
}

static void
test_budget(void)
{
	T_BEGIN("btapi: the budget spaces requests evenly (burst 1) and allows a burst when asked");
	{
		btx_btapi_budget b;
		long long	t = 5000;
		int			i;

		btx_btapi_budget_init(&b, 60, 1);
		T_CHECK(btx_btapi_budget_delay(&b, t) == 0, "first free");
		btx_btapi_budget_take(&b, t);
		T_CHECK(btx_btapi_budget_delay(&b, t) == 1000, "then 1 s");
		T_CHECK(btx_btapi_budget_delay(&b, t + 400) == 600, "600 ms left");
		btx_btapi_budget_take(&b, t + 1000);
		T_CHECK(btx_btapi_budget_delay(&b, t + 1000) == 1000, "again 1 s");
		T_CHECK(btx_btapi_budget_delay(&b, t + 60000) == 0, "idle");

		btx_btapi_budget_init(&b, 20, 3);
		for (i = 0; i < 3; i++)
		{
			T_CHECK(btx_btapi_budget_delay(&b, t) == 0, "burst %d", i);
			btx_btapi_budget_take(&b, t);
		}
		T_CHECK(btx_btapi_budget_delay(&b, t) == 3000, "after the burst: 3 s (%ld)", btx_btapi_budget_delay(&b, t));
		btx_btapi_budget_init(&b, 0, 0);
		btx_btapi_budget_take(&b, t);
		T_CHECK(btx_btapi_budget_delay(&b, t) == 0, "no budget");
	}
	T_END();
	T_BEGIN("btapi: answer classes");
	{
		T_CHECK(btx_btapi_classify(200, BTX_HTTP_NET_NONE, 0) == BTX_BTAPI_OK, "200");
		T_CHECK(btx_btapi_classify(429, BTX_HTTP_NET_NONE, 0) == BTX_BTAPI_RATE_LIMITED, "429");
		T_CHECK(btx_btapi_classify(500, BTX_HTTP_NET_NONE, 0) == BTX_BTAPI_PAGE_TOO_BIG, "500");
		T_CHECK(btx_btapi_classify(504, BTX_HTTP_NET_NONE, 0) == BTX_BTAPI_PAGE_TOO_BIG, "504");
		T_CHECK(btx_btapi_classify(502, BTX_HTTP_NET_NONE, 0) == BTX_BTAPI_TRANSIENT, "502");
		T_CHECK(btx_btapi_classify(503, BTX_HTTP_NET_NONE, 0) == BTX_BTAPI_TRANSIENT, "503");
		T_CHECK(btx_btapi_classify(408, BTX_HTTP_NET_NONE, 0) == BTX_BTAPI_TRANSIENT, "408");
		T_CHECK(btx_btapi_classify(400, BTX_HTTP_NET_NONE, 0) == BTX_BTAPI_PERMANENT, "400");
		T_CHECK(btx_btapi_classify(401, BTX_HTTP_NET_NONE, 0) == BTX_BTAPI_PERMANENT, "401");
		T_CHECK(btx_btapi_classify(403, BTX_HTTP_NET_NONE, 0) == BTX_BTAPI_PERMANENT, "403");
		T_CHECK(btx_btapi_classify(404, BTX_HTTP_NET_NONE, 0) == BTX_BTAPI_PERMANENT, "404");
		T_CHECK(btx_btapi_classify(307, BTX_HTTP_NET_NONE, 1) == BTX_BTAPI_PAGE_TOO_BIG, "offsite");
		T_CHECK(btx_btapi_classify(0, BTX_HTTP_NET_TOO_LARGE, 0) == BTX_BTAPI_PAGE_TOO_BIG, "too large");
		T_CHECK(btx_btapi_classify(0, BTX_HTTP_NET_RESET, 0) == BTX_BTAPI_TRANSIENT, "reset");
		T_CHECK(btx_btapi_classify(0, BTX_HTTP_NET_DNS, 0) == BTX_BTAPI_TRANSIENT, "dns");
		T_CHECK(btx_btapi_classify(0, BTX_HTTP_NET_TLS, 0) == BTX_BTAPI_PERMANENT, "tls");
		T_CHECK(btx_btapi_classify(0, BTX_HTTP_NET_ABORTED, 0) == BTX_BTAPI_CANCELED, "aborted");
	}
	T_END();
}

/* ---------------------------------------------------------------- the client */

typedef struct fixture
{
	script		s;
	fake_clock	clk;
	btx_btapi_config cfg;
	btx_btapi_client *c;
	btx_error	err;
} fixture;

static void
fx_init(fixture *f, const char *api_url, const char *org)
{
	memset(f, 0, sizeof(*f));
	f->clk.now_ms = 1000000;
	f->clk.wall_s = 1795563588;
	f->clk.rnd = 0;
	script_init(&f->s, &f->clk);
	f->cfg.api_key = KEY;
	f->cfg.api_url = api_url;
	f->cfg.org_name = org;
	f->cfg.app_url = "https://app.example.com";
	f->cfg.sleep_ms = fake_sleep;
	f->cfg.now_ms = fake_now_ms;
	f->cfg.wall_now = fake_wall;
	f->cfg.random = fake_random;
	f->cfg.interrupt = fake_interrupt;
	f->cfg.callback_arg = &f->clk;
	f->cfg.http.transport = script_transport;
	f->cfg.http.transport_arg = &f->s;
}

static void
fx_start(fixture *f)
{
	f->c = btx_btapi_client_new(&f->cfg, &f->err);
}

static void
fx_free(fixture *f)
{
	btx_btapi_client_free(f->c);
	script_free(&f->s);
}

/* rows collected by the scan callback */
typedef struct sink
{
	char		ids[64][32];
	int			deleted[64];
	char		pos_key[64][32];
	int			n;
	int			stop_at;		/* return 1 at this row (1-based), 0 = never */
	int			fail_at;		/* return -1 at this row */
} sink;

static int
collect(void *arg, const btx_btapi_row *row, btx_error *err)
{
	sink	   *k = arg;

	if (k->fail_at && k->n + 1 == k->fail_at)
	{
		btx_error_set(err, 1, "XX000", "sink failed");
		return -1;
	}
	snprintf(k->ids[k->n], sizeof(k->ids[0]), "%s", row->id);
	snprintf(k->pos_key[k->n], sizeof(k->pos_key[0]), "%.31s",
			 row->position ? row->position->pagination_key : "");
	k->deleted[k->n] = row->deleted;
	k->n++;
	return k->stop_at && k->n == k->stop_at;
}

static const char *
seen_query(fixture *f, int i)
{
	return i < f->s.nseen ? f->s.seen[i].body : "";
}

#define FRESH(lp) "\"freshness_state\":{\"last_considered_xact_id\":\"" lp "\",\"last_processed_xact_id\":\"" lp "\"}"
#define ROW(id, x, k) "{\"id\":\"" id "\",\"_xact_id\":\"" x "\",\"_pagination_key\":\"" k "\"}"

static void
test_login_project(void)
{
	fixture		f;
	char		id[64];

	T_BEGIN("btapi: login request, org choice by name, project lookup URL with org");
	{
		fx_init(&f, NULL, "globex");
		fx_start(&f);
		script_push(&f.s, 200, "Content-Type: application/json\r\n",
					"{\"org_info\":[{\"id\":\"o1\",\"name\":\"acme\",\"api_url\":\"https://a.example\"},"
					"{\"id\":\"o2\",\"name\":\"globex\",\"api_url\":\"https://api.globex.example/\"}]}");
		script_push(&f.s, 200, NULL, "{\"objects\":[{\"id\":\"" PID "\",\"name\":\"Support Bot\"}]}");
		T_CHECK(btx_btapi_find_project(f.c, "Support Bot", id, &f.err) == 0, "found: %s", f.err.message);
		T_STREQ(id, PID);
		T_STREQ(f.s.seen[0].method, "POST");
		T_STREQ(f.s.seen[0].url, "https://app.example.com/api/apikey/login");
		T_STREQ(script_header(&f.s, 0, "Authorization"), "Bearer " KEY);
		T_STREQ(f.s.seen[1].method, "GET");
		T_STREQ(f.s.seen[1].url, "https://api.globex.example/v1/project?project_name=Support%20Bot&org_name=globex");
		T_STREQ(script_header(&f.s, 1, "x-bt-org-name"), "globex");
		T_STREQ(btx_btapi_api_url(f.c), "https://api.globex.example");
		T_STREQ(btx_btapi_org_id(f.c), "o2");
		fx_free(&f);
	}
	T_END();
	T_BEGIN("btapi: a multi-org key without an org name fails naming the orgs");
	{
		fx_init(&f, NULL, NULL);
		fx_start(&f);
		script_push(&f.s, 200, NULL, "{\"org_info\":[{\"id\":\"o1\",\"name\":\"acme\",\"api_url\":\"https://a.example\"},"
					"{\"id\":\"o2\",\"name\":\"globex\",\"api_url\":\"https://g.example\"}]}");
		T_CHECK(btx_btapi_login(f.c, &f.err) != 0, "fails");
		T_CHECK(strstr(f.err.detail, "\"acme\", \"globex\"") && strstr(f.err.hint, "org"), "%s / %s", f.err.detail, f.err.hint);
		T_CHECK(btx_btapi_api_url(f.c) == NULL, "not logged in");
		fx_free(&f);
	}
	T_END();
	T_BEGIN("btapi: an explicit API URL skips the login; a missing project names the fix");
	{
		fx_init(&f, API "/", NULL);
		fx_start(&f);
		script_push(&f.s, 200, NULL, "{\"objects\":[]}");
		T_CHECK(btx_btapi_find_project(f.c, "nope", id, &f.err) != 0, "not found");
		T_CHECK(f.s.nseen == 1 && strcmp(f.s.seen[0].url, API "/v1/project?project_name=nope") == 0, "one lookup, no login: %s", f.s.seen[0].url);
		T_CHECK(strcmp(f.err.sqlstate, "42704") == 0 && strstr(f.err.message, "\"nope\" not found") &&
				strstr(f.err.hint, "can read the project"), "%s / %s", f.err.message, f.err.hint);
		fx_free(&f);
	}
	T_END();
	T_BEGIN("btapi: 401 at login: invalid key hint, Braintrust's message, key redacted");
	{
		fx_init(&f, NULL, NULL);
		fx_start(&f);
		script_push(&f.s, 401, "Content-Type: application/json\r\n", "{\"Message\":\"Invalid API key " KEY "\"}");
		T_CHECK(btx_btapi_login(f.c, &f.err) != 0, "fails");
		T_CHECK(strstr(f.err.message, "log in to Braintrust at https://app.example.com: HTTP 401") != NULL, "%s", f.err.message);
		T_CHECK(strstr(f.err.detail, "Invalid API key [redacted]") != NULL, "%s", f.err.detail);
		T_CHECK(strstr(f.err.detail, KEY) == NULL && strstr(f.err.message, KEY) == NULL &&
				strstr(f.err.hint, KEY) == NULL, "no key anywhere");
		T_CHECK(strstr(f.err.hint, "invalid, expired or revoked") != NULL, "%s", f.err.hint);
		T_CHECK(btx_btapi_last(f.c)->status == 401 && btx_btapi_last(f.c)->attempts == 1, "last");
		T_CHECK(strcmp(btx_btapi_last(f.c)->message, "Invalid API key [redacted]") == 0, "last message");
		T_CHECK(f.s.nseen == 1, "not retried");
		fx_free(&f);
	}
	T_END();
	T_BEGIN("btapi: 404 at login names the app URL; the data plane unreachable names the API URL");
	{
		fx_init(&f, NULL, NULL);
		fx_start(&f);
		script_push(&f.s, 404, NULL, "Not Found");
		T_CHECK(btx_btapi_login(f.c, &f.err) != 0 && strstr(f.err.hint, "app URL"), "%s", f.err.hint);
		fx_free(&f);
		fx_init(&f, API, NULL);
		f.cfg.max_attempts = 3;
		f.clk.rnd = 12345;
		fx_start(&f);
		script_push_net(&f.s, BTX_HTTP_NET_CONNECT);
		script_push_net(&f.s, BTX_HTTP_NET_DNS);
		script_push_net(&f.s, BTX_HTTP_NET_TIMEOUT);
		T_CHECK(btx_btapi_find_project(f.c, "p", id, &f.err) != 0, "fails");
		T_CHECK(strcmp(f.err.sqlstate, "08006") == 0 && strstr(f.err.hint, "unreachable") && strstr(f.err.hint, "API URL"),
				"%s / %s", f.err.sqlstate, f.err.hint);
		T_CHECK(f.s.nseen == 3 && strstr(f.err.detail, "3 attempts"), "three attempts: %s", f.err.detail);
		T_CHECK(f.clk.nsleeps == 2, "two backoffs");
		fx_free(&f);
	}
	T_END();
}

static int
refuse_evil(void *arg, const char *url, btx_error *err)
{
	if (strstr(url, "evil") == NULL)
		return 0;
	btx_error_set(err, 1, "42501", "host not allowed");
	return -1;
}

static void
test_policy_and_config(void)
{
	fixture		f;
	char		id[64];

	T_BEGIN("btapi: allow_url refuses before any request; bad URLs refused at creation");
	{
		fx_init(&f, "https://evil.example", NULL);
		f.cfg.allow_url = refuse_evil;
		fx_start(&f);
		T_CHECK(btx_btapi_find_project(f.c, "p", id, &f.err) != 0 && strcmp(f.err.sqlstate, "42501") == 0, "refused");
		T_CHECK(f.s.nseen == 0, "no request");
		fx_free(&f);
		fx_init(&f, "http://api.example.com", NULL);
		fx_start(&f);
		T_CHECK(f.c == NULL && strstr(f.err.message, "plain http") != NULL, "http refused: %s", f.err.message);
		fx_free(&f);
		fx_init(&f, API, NULL);
		f.cfg.api_key = "";
		fx_start(&f);
		T_CHECK(f.c == NULL && strstr(f.err.message, "API key is required") != NULL, "key required");
		fx_free(&f);
	}
	T_END();
}

static void
test_scan_basic(void)
{
	fixture		f;
	btx_btapi_scan_options o;
	btx_btapi_scan_result r;
	btx_btapi_position pos;
	sink		k;

	memset(&o, 0, sizeof(o));
	o.project_id = PID;
	o.on_row = collect;
	o.arg = &k;

	T_BEGIN("btapi: scan: one window in two pages, gzip, deletes reported, position moves to the horizon");
	{
		fx_init(&f, API, NULL);
		fx_start(&f);
		memset(&pos, 0, sizeof(pos));
		memset(&k, 0, sizeof(k));
		o.page_size = 2;
		script_push_gzip(&f.s, 200, NULL, "{\"data\":[" ROW("a", "101", "p01") "," ROW("b", "102", "p02") "]," FRESH("110") "}");
		script_push_gzip(&f.s, 200, NULL, "{\"data\":[{\"id\":\"c\",\"_xact_id\":\"105\",\"_pagination_key\":\"p03\",\"_object_delete\":true}]," FRESH("120") "}");
		script_push(&f.s, 200, NULL, "{\"data\":[]," FRESH("120") "}");
		T_CHECK(btx_btapi_scan(f.c, &o, &pos, &r, &f.err) == 0, "ok: %s", f.err.message);
		T_CHECK(r.complete && r.pages == 3 && r.rows == 3 && r.deleted == 1 && r.horizon_from_freshness, "result");
		T_CHECK(k.n == 3 && strcmp(k.ids[2], "c") == 0 && k.deleted[2] && !k.deleted[0], "rows");
		T_CHECK(strcmp(pos.xact_lo, "110") == 0 && pos.xact_hi[0] == '\0' && pos.pagination_key[0] == '\0', "position lo=%s", pos.xact_lo);
		T_CHECK(strstr(seen_query(&f, 0), "limit: 2") && !strstr(seen_query(&f, 0), "filter:"), "first: %s", seen_query(&f, 0));
		T_CHECK(strstr(seen_query(&f, 1), "filter: _xact_id <= '110' and _pagination_key > 'p02'") != NULL, "second: %s", seen_query(&f, 1));
		T_CHECK(strstr(seen_query(&f, 2), "_pagination_key > 'p03'") != NULL, "third");
		T_STREQ(f.s.seen[0].url, API "/btql");
		T_STREQ(script_header(&f.s, 0, "Accept-Encoding"), "gzip");
		T_STREQ(script_header(&f.s, 0, "Content-Type"), "application/json");
		/* the next window starts above the horizon, with no key */
		memset(&k, 0, sizeof(k));
		script_push(&f.s, 200, NULL, "{\"data\":[" ROW("b", "115", "p02") "]," FRESH("130") "}");
		script_push(&f.s, 200, NULL, "{\"data\":[]," FRESH("130") "}");
		T_CHECK(btx_btapi_scan(f.c, &o, &pos, &r, &f.err) == 0 && k.n == 1 && strcmp(k.ids[0], "b") == 0, "update re-delivered with its old key");
		T_CHECK(strstr(seen_query(&f, 3), "filter: _xact_id > '110'\\nsort") != NULL, "window 2: %s", seen_query(&f, 3));
		T_CHECK(strcmp(pos.xact_lo, "130") == 0, "lo 130");
		fx_free(&f);
	}
	T_END();

	T_BEGIN("btapi: scan: rows above the freshness horizon wait for a later window");
	{
		fx_init(&f, API, NULL);
		fx_start(&f);
		memset(&pos, 0, sizeof(pos));
		memset(&k, 0, sizeof(k));
		o.page_size = 3;
		script_push(&f.s, 200, NULL, "{\"data\":[" ROW("a", "101", "p1") "," ROW("late", "150", "p2") "," ROW("c", "103", "p3") "]," FRESH("110") "}");
		script_push(&f.s, 200, NULL, "{\"data\":[]," FRESH("160") "}");
		T_CHECK(btx_btapi_scan(f.c, &o, &pos, &r, &f.err) == 0, "ok");
		T_CHECK(k.n == 2 && strcmp(k.ids[1], "c") == 0 && r.beyond_horizon == 1, "late row held back");
		T_CHECK(strcmp(pos.xact_lo, "110") == 0, "lo stays at the horizon");
		memset(&k, 0, sizeof(k));
		script_push(&f.s, 200, NULL, "{\"data\":[" ROW("late", "150", "p2") "]," FRESH("160") "}");
		script_push(&f.s, 200, NULL, "{\"data\":[]," FRESH("160") "}");
		T_CHECK(btx_btapi_scan(f.c, &o, &pos, &r, &f.err) == 0 && k.n == 1 && strcmp(k.ids[0], "late") == 0, "delivered later");
		fx_free(&f);
	}
	T_END();

	T_BEGIN("btapi: scan: without freshness_state the horizon is the first page's highest _xact_id");
	{
		fx_init(&f, API, NULL);
		fx_start(&f);
		memset(&pos, 0, sizeof(pos));
		strcpy(pos.xact_lo, "100");
		memset(&k, 0, sizeof(k));
		script_push(&f.s, 200, NULL, "{\"data\":[" ROW("a", "107", "p1") "," ROW("b", "104", "p2") "]}");
		script_push(&f.s, 200, NULL, "{\"data\":[]}");
		T_CHECK(btx_btapi_scan(f.c, &o, &pos, &r, &f.err) == 0 && k.n == 2 && !r.horizon_from_freshness, "ok");
		T_CHECK(strstr(seen_query(&f, 1), "_xact_id > '100' and _xact_id <= '107'") != NULL, "%s", seen_query(&f, 1));
		T_CHECK(strcmp(pos.xact_lo, "107") == 0, "lo");
		fx_free(&f);
	}
	T_END();

	T_BEGIN("btapi: scan: stop and fail in the callback leave a resume point; the resume keeps the horizon");
	{
		fx_init(&f, API, NULL);
		fx_start(&f);
		memset(&pos, 0, sizeof(pos));
		memset(&k, 0, sizeof(k));
		o.page_size = 3;
		k.stop_at = 2;
		script_push(&f.s, 200, NULL, "{\"data\":[" ROW("a", "101", "p1") "," ROW("b", "102", "p2") "," ROW("c", "103", "p3") "]," FRESH("200") "}");
		T_CHECK(btx_btapi_scan(f.c, &o, &pos, &r, &f.err) == 0 && !r.complete && k.n == 2, "stopped");
		T_CHECK(strcmp(pos.xact_hi, "200") == 0 && strcmp(pos.pagination_key, "p2") == 0 && pos.xact_lo[0] == '\0', "pos after b");
		T_CHECK(strcmp(k.pos_key[1], "p2") == 0, "row position");
		k.stop_at = 0;
		k.fail_at = 4;			/* fails on d, the 2nd row of the next call */
		script_push(&f.s, 200, NULL, "{\"data\":[" ROW("c", "103", "p3") "," ROW("d", "104", "p4") "]," FRESH("300") "}");
		T_CHECK(btx_btapi_scan(f.c, &o, &pos, &r, &f.err) != 0 && strcmp(f.err.message, "sink failed") == 0, "failed");
		T_CHECK(strstr(seen_query(&f, 1), "_xact_id <= '200' and _pagination_key > 'p2'") != NULL, "resumed: %s", seen_query(&f, 1));
		T_CHECK(strcmp(pos.pagination_key, "p3") == 0 && strcmp(pos.xact_hi, "200") == 0, "pos after c, horizon kept");
		k.fail_at = 0;
		script_push(&f.s, 200, NULL, "{\"data\":[" ROW("d", "104", "p4") "]," FRESH("300") "}");
		script_push(&f.s, 200, NULL, "{\"data\":[]," FRESH("300") "}");
		T_CHECK(btx_btapi_scan(f.c, &o, &pos, &r, &f.err) == 0 && r.complete && strcmp(pos.xact_lo, "200") == 0, "window done at its horizon");
		T_CHECK(k.n == 4 && strcmp(k.ids[3], "d") == 0, "each row once");
		fx_free(&f);
	}
	T_END();

	T_BEGIN("btapi: scan: max_pages bounds a call");
	{
		fx_init(&f, API, NULL);
		fx_start(&f);
		memset(&pos, 0, sizeof(pos));
		memset(&k, 0, sizeof(k));
		o.page_size = 1;
		o.max_pages = 2;
		script_push(&f.s, 200, NULL, "{\"data\":[" ROW("a", "101", "p1") "]," FRESH("200") "}");
		script_push(&f.s, 200, NULL, "{\"data\":[" ROW("b", "102", "p2") "]," FRESH("200") "}");
		T_CHECK(btx_btapi_scan(f.c, &o, &pos, &r, &f.err) == 0 && !r.complete && r.pages == 2 && f.s.nseen == 2, "two pages");
		T_CHECK(strcmp(pos.pagination_key, "p2") == 0, "pos");
		o.max_pages = 0;
		fx_free(&f);
	}
	T_END();

	T_BEGIN("btapi: scan: broken paging contracts stop the scan instead of skipping rows");
	{
		const char *bad[] = {
			"{\"data\":[" ROW("a", "101", "p2") "," ROW("b", "102", "p1") "]," FRESH("200") "}",	/* order */
			"{\"data\":[{\"id\":\"a\",\"_xact_id\":\"101\"}]," FRESH("200") "}",	/* no key */
			"{\"data\":[" ROW("a", "50", "p1") "]," FRESH("200") "}",	/* below lo */
			"{\"data\":[" ROW("a", "101", "p0") "]," FRESH("200") "}",	/* not after the key */
			"{\"data\":[" ROW("a", "250", "p9") "]," FRESH("300") "}",	/* above hi, later page */
			"{\"data\":[\"text\"]}",
			"[]",
		};
		int			i;

		for (i = 0; i < 7; i++)
		{
			fx_init(&f, API, NULL);
			fx_start(&f);
			memset(&pos, 0, sizeof(pos));
			strcpy(pos.xact_lo, "100");
			if (i >= 3 && i <= 4)
			{
				strcpy(pos.xact_hi, "200");
				strcpy(pos.pagination_key, "p5");
			}
			memset(&k, 0, sizeof(k));
			o.page_size = 10;
			script_push(&f.s, 200, NULL, bad[i]);
			T_CHECK(btx_btapi_scan(f.c, &o, &pos, &r, &f.err) != 0 && strcmp(f.err.sqlstate, "38000") == 0, "case %d: %s", i, f.err.message);
			T_CHECK(k.n == 0 || i == 0, "case %d: nothing after the break", i);
			fx_free(&f);
		}
	}
	T_END();
}

static void
test_scan_faults(void)
{
	fixture		f;
	btx_btapi_scan_options o;
	btx_btapi_scan_result r;
	btx_btapi_position pos;
	sink		k;
	int			i;

	memset(&o, 0, sizeof(o));
	o.project_id = PID;
	o.on_row = collect;
	o.arg = &k;

	T_BEGIN("btapi: 429 waits Retry-After seconds plus bounded jitter");
	{
		fx_init(&f, API, NULL);
		f.clk.rnd = 999999;
		fx_start(&f);
		memset(&pos, 0, sizeof(pos));
		memset(&k, 0, sizeof(k));
		script_push(&f.s, 429, "Retry-After: 7\r\n", "{\"error\":\"rate limited\"}");
		script_push(&f.s, 200, NULL, "{\"data\":[]," FRESH("5") "}");
		T_CHECK(btx_btapi_scan(f.c, &o, &pos, &r, &f.err) == 0, "ok");
		T_CHECK(f.clk.nsleeps == 1 && f.clk.sleeps[0] >= 7000 && f.clk.sleeps[0] <= 7000 + 1000, "slept %ld", f.clk.sleeps[0]);
		T_CHECK(btx_btapi_stats_get(f.c)->rate_limited == 1 && btx_btapi_stats_get(f.c)->requests == 2, "stats");
		fx_free(&f);
	}
	T_END();
	T_BEGIN("btapi: 429 with an HTTP-date Retry-After waits until then");
	{
		fx_init(&f, API, NULL);
		fx_start(&f);
		memset(&pos, 0, sizeof(pos));
		memset(&k, 0, sizeof(k));
		/* wall clock 1795563588 = Tue, 24 Nov 2026 23:39:48 GMT */
		script_push(&f.s, 429, "Retry-After: Tue, 24 Nov 2026 23:40:48 GMT\r\n", NULL);
		script_push(&f.s, 200, NULL, "{\"data\":[]}");
		T_CHECK(btx_btapi_scan(f.c, &o, &pos, &r, &f.err) == 0, "ok");
		T_CHECK(f.clk.nsleeps == 1 && f.clk.sleeps[0] == 60000, "slept %ld", f.clk.sleeps[0]);
		fx_free(&f);
	}
	T_END();
	T_BEGIN("btapi: 429 without Retry-After backs off; too many 429s or too long a wait fail with a hint");
	{
		fx_init(&f, API, NULL);
		f.cfg.max_rate_limited = 2;
		f.clk.rnd = 0xffffffffu;
		fx_start(&f);
		memset(&pos, 0, sizeof(pos));
		memset(&k, 0, sizeof(k));
		script_push(&f.s, 429, NULL, NULL);
		script_push(&f.s, 429, NULL, NULL);
		script_push(&f.s, 429, NULL, "slow down");
		T_CHECK(btx_btapi_scan(f.c, &o, &pos, &r, &f.err) != 0, "fails");
		T_CHECK(f.s.nseen == 3 && f.clk.nsleeps == 2, "2 waits: %d %d", f.s.nseen, f.clk.nsleeps);
		T_CHECK(strstr(f.err.message, "HTTP 429") && strstr(f.err.hint, "requests per minute") && strstr(f.err.detail, "slow down"),
				"%s / %s / %s", f.err.message, f.err.detail, f.err.hint);
		fx_free(&f);
		fx_init(&f, API, NULL);
		fx_start(&f);
		script_push(&f.s, 429, "Retry-After: 3600\r\n", NULL);
		T_CHECK(btx_btapi_scan(f.c, &o, &pos, &r, &f.err) != 0 && strstr(f.err.detail, "longer than 300 s") &&
				f.clk.nsleeps == 0, "too long: %s", f.err.detail);
		fx_free(&f);
	}
	T_END();
	T_BEGIN("btapi: 500 and 504 halve the page size down to the floor, then back off and fail");
	{
		fx_init(&f, API, NULL);
		f.cfg.max_attempts = 2;
		fx_start(&f);
		memset(&pos, 0, sizeof(pos));
		memset(&k, 0, sizeof(k));
		o.page_size = 1000;
		o.page_size_floor = 100;
		script_push(&f.s, 500, NULL, "RangeError: Invalid string length");
		script_push(&f.s, 504, NULL, NULL);
		script_push(&f.s, 500, NULL, NULL);
		script_push(&f.s, 200, NULL, "{\"data\":[" ROW("a", "1", "p1") "]," FRESH("9") "}");
		script_push(&f.s, 200, NULL, "{\"data\":[]," FRESH("9") "}");
		T_CHECK(btx_btapi_scan(f.c, &o, &pos, &r, &f.err) == 0 && k.n == 1, "ok: %s", f.err.message);
		T_CHECK(strstr(seen_query(&f, 0), "limit: 1000") && strstr(seen_query(&f, 1), "limit: 500") &&
				strstr(seen_query(&f, 2), "limit: 250") && strstr(seen_query(&f, 3), "limit: 125") &&
				strstr(seen_query(&f, 4), "limit: 125"), "limits");
		T_CHECK(r.page_size == 125 && btx_btapi_stats_get(f.c)->halvings == 3, "page size %d", r.page_size);
		script_push(&f.s, 504, NULL, NULL);
		script_push(&f.s, 504, NULL, NULL);
		script_push(&f.s, 504, NULL, "{\"Message\":\"Endpoint request timed out\"}");
		script_push(&f.s, 504, NULL, "{\"Message\":\"Endpoint request timed out\"}");
		o.page_size = 400;
		T_CHECK(btx_btapi_scan(f.c, &o, &pos, &r, &f.err) != 0, "fails at the floor");
		T_CHECK(strstr(seen_query(&f, 8), "limit: 100") != NULL && f.s.nseen == 9, "floor 100 tried twice (%d)", f.s.nseen);
		T_CHECK(strstr(f.err.message, "HTTP 504") && strstr(f.err.detail, "Endpoint request timed out") &&
				strstr(f.err.hint, "kept failing"), "%s / %s", f.err.detail, f.err.hint);
		o.page_size_floor = 0;
		fx_free(&f);
	}
	T_END();
	T_BEGIN("btapi: other 5xx and resets back off exponentially with jitter; TLS is permanent");
	{
		fx_init(&f, API, NULL);
		f.clk.rnd = 0xffffffffu;
		fx_start(&f);
		memset(&pos, 0, sizeof(pos));
		memset(&k, 0, sizeof(k));
		script_push(&f.s, 502, NULL, NULL);
		script_push(&f.s, 503, NULL, NULL);
		script_push_net(&f.s, BTX_HTTP_NET_RESET);
		script_push(&f.s, 200, NULL, "{\"data\":[]}");
		T_CHECK(btx_btapi_scan(f.c, &o, &pos, &r, &f.err) == 0, "ok");
		T_CHECK(f.clk.nsleeps == 3, "3 waits");
		for (i = 0; i < 3 && i < f.clk.nsleeps; i++)
			T_CHECK(f.clk.sleeps[i] <= (1000L << i), "wait %d = %ld within the ceiling", i, f.clk.sleeps[i]);
		T_CHECK(btx_btapi_stats_get(f.c)->retries == 3, "retries");
		script_push_net(&f.s, BTX_HTTP_NET_TLS);
		T_CHECK(btx_btapi_scan(f.c, &o, &pos, &r, &f.err) != 0 && strstr(f.err.hint, "TLS") && f.s.nseen == 5, "tls: %s", f.err.hint);
		fx_free(&f);
	}
	T_END();
	T_BEGIN("btapi: 400, 403, 404 on /btql are permanent with hints and Braintrust's message");
	{
		long		st[3] = {400, 403, 404};
		const char *hint[3] = {"filter", "read access", "not visible to this API key"};

		for (i = 0; i < 3; i++)
		{
			fx_init(&f, API, NULL);
			fx_start(&f);
			memset(&pos, 0, sizeof(pos));
			memset(&k, 0, sizeof(k));
			script_push(&f.s, st[i], "Content-Type: application/json\r\n", "{\"error\":\"explained by braintrust\"}");
			T_CHECK(btx_btapi_scan(f.c, &o, &pos, &r, &f.err) != 0 && f.s.nseen == 1, "%ld permanent", st[i]);
			T_CHECK(strcmp(f.err.sqlstate, "38000") == 0 && strstr(f.err.detail, "explained by braintrust") &&
					strstr(f.err.hint, hint[i]), "%ld: %s / %s", st[i], f.err.detail, f.err.hint);
			T_CHECK(btx_btapi_last(f.c)->status == st[i], "status");
			fx_free(&f);
		}
	}
	T_END();
	T_BEGIN("btapi: an answer over the size cap halves the page; at the floor it is refused cleanly");
	{
		char	   *big = malloc(3000);

		memset(big, ' ', 2999);
		big[2999] = '\0';
		memcpy(big, "{\"data\":[", 9);
		memcpy(big + 2990, "]}", 2);
		fx_init(&f, API, NULL);
		f.cfg.http.max_body = 2000;
		fx_start(&f);
		memset(&pos, 0, sizeof(pos));
		memset(&k, 0, sizeof(k));
		o.page_size = 100;
		o.page_size_floor = 50;
		script_push_gzip(&f.s, 200, NULL, big);
		script_push(&f.s, 200, NULL, big);
		T_CHECK(btx_btapi_scan(f.c, &o, &pos, &r, &f.err) != 0, "refused");
		T_CHECK(f.s.nseen == 2 && strstr(seen_query(&f, 1), "limit: 50"), "halved once");
		T_CHECK(strcmp(f.err.sqlstate, "54000") == 0 && strstr(f.err.message, "larger than 2000 bytes") &&
				strstr(f.err.hint, "maximum response size"), "%s / %s", f.err.message, f.err.hint);
		o.page_size_floor = 0;
		free(big);
		fx_free(&f);
	}
	T_END();
	T_BEGIN("btapi: a redirect to another host is never followed: halve, then refuse; same host is followed");
	{
		fx_init(&f, API, NULL);
		fx_start(&f);
		memset(&pos, 0, sizeof(pos));
		memset(&k, 0, sizeof(k));
		o.page_size = 50;
		o.page_size_floor = 25;
		script_push(&f.s, 303, "Location: https://bucket.s3.amazonaws.com/responses/a.json.gz?X-Amz-Signature=s\r\n", NULL);
		script_push(&f.s, 303, "Location: https://bucket.s3.amazonaws.com/responses/b.json.gz?X-Amz-Signature=s\r\n", NULL);
		T_CHECK(btx_btapi_scan(f.c, &o, &pos, &r, &f.err) != 0, "refused");
		T_CHECK(f.s.nseen == 2 && strstr(f.s.seen[0].url, "amazonaws") == NULL && strstr(f.s.seen[1].url, "amazonaws") == NULL, "never sent there");
		T_CHECK(strstr(f.err.message, "redirected to another host") && strstr(f.err.detail, "never sends the API key") &&
				strstr(f.err.detail, "X-Amz") == NULL, "%s / %s", f.err.message, f.err.detail);
		script_push(&f.s, 307, "Location: /btql/retry\r\n", NULL);
		script_push(&f.s, 200, NULL, "{\"data\":[]}");
		T_CHECK(btx_btapi_scan(f.c, &o, &pos, &r, &f.err) == 0, "same-origin followed");
		T_CHECK(strcmp(f.s.seen[3].url, API "/btql/retry") == 0 && strcmp(script_header(&f.s, 3, "Authorization"), "Bearer " KEY) == 0 &&
				strcmp(f.s.seen[3].method, "POST") == 0, "307 keeps method and key");
		o.page_size_floor = 0;
		fx_free(&f);
	}
	T_END();
	T_BEGIN("btapi: the budget paces every request, retries included, on the client's clock");
	{
		fx_init(&f, API, NULL);
		f.cfg.requests_per_minute = 30;
		fx_start(&f);
		memset(&pos, 0, sizeof(pos));
		memset(&k, 0, sizeof(k));
		o.page_size = 1;
		script_push(&f.s, 200, NULL, "{\"data\":[" ROW("a", "1", "p1") "]," FRESH("9") "}");
		script_push(&f.s, 503, NULL, NULL);
		script_push(&f.s, 200, NULL, "{\"data\":[" ROW("b", "2", "p2") "]," FRESH("9") "}");
		script_push(&f.s, 200, NULL, "{\"data\":[]," FRESH("9") "}");
		T_CHECK(btx_btapi_scan(f.c, &o, &pos, &r, &f.err) == 0 && k.n == 2 && f.s.nseen == 4, "ok");
		for (i = 1; i < f.s.nseen; i++)
			T_CHECK(f.s.seen[i].at_ms - f.s.seen[i - 1].at_ms >= 2000, "request %d after %lld ms", i,
					f.s.seen[i].at_ms - f.s.seen[i - 1].at_ms);
		T_CHECK(btx_btapi_stats_get(f.c)->budget_wait_ms >= 4000, "budget waits %lld", btx_btapi_stats_get(f.c)->budget_wait_ms);
		fx_free(&f);
	}
	T_END();
	T_BEGIN("btapi: interruption cancels before a request and during a wait (57014)");
	{
		fx_init(&f, API, NULL);
		f.clk.interrupt_after = -1;
		fx_start(&f);
		memset(&pos, 0, sizeof(pos));
		T_CHECK(btx_btapi_scan(f.c, &o, &pos, &r, &f.err) != 0 && strcmp(f.err.sqlstate, "57014") == 0 && f.s.nseen == 0, "before: %s", f.err.message);
		fx_free(&f);
		fx_init(&f, API, NULL);
		f.clk.interrupt_after = 1;
		f.clk.rnd = 12345;
		fx_start(&f);
		script_push(&f.s, 503, NULL, NULL);
		T_CHECK(btx_btapi_scan(f.c, &o, &pos, &r, &f.err) != 0 && strcmp(f.err.sqlstate, "57014") == 0 && f.s.nseen == 1, "during the wait");
		fx_free(&f);
	}
	T_END();
	T_BEGIN("btapi: a raw query hands its rows over; a filter that breaks out is refused before any request");
	{
		fx_init(&f, API, NULL);
		fx_start(&f);
		memset(&k, 0, sizeof(k));
		script_push(&f.s, 200, NULL, "{\"data\":[{\"id\":\"x\",\"n\":1},{\"id\":\"y\"}]}");
		T_CHECK(btx_btapi_query(f.c, "select: id | from: project_logs('" PID "') | limit: 2", collect, &k, &f.err) == 0 && k.n == 2, "rows");
		T_CHECK(strstr(seen_query(&f, 0), "\"query\":\"select: id | from: project_logs('" PID "') | limit: 2\"") != NULL, "%s", seen_query(&f, 0));
		script_push(&f.s, 500, NULL, NULL);
		f.cfg.max_attempts = 1;
		o.filter = "a = 1) or (true";
		memset(&pos, 0, sizeof(pos));
		T_CHECK(btx_btapi_scan(f.c, &o, &pos, &r, &f.err) != 0 && f.s.nseen == 1 && strcmp(f.err.sqlstate, "22023") == 0, "filter refused");
		o.filter = NULL;
		fx_free(&f);
	}
	T_END();
}

/* the btql export's query split into the clauses btexport sends, its select list, the tz_offset body, NULs */
static void
test_export_query(void)
{
	btx_btapi_clauses cl;
	btx_btapi_position pos;
	btx_buf		q;
	btx_error	e;

	btx_buf_init(&q);
	btx_error_clear(&e);
	memset(&pos, 0, sizeof(pos));
	T_BEGIN("btapi: a btql export's query: select, from and filter; clauses by | or line, continuations");
	{
		T_CHECK(btx_btapi_split_query("select: id, metadata.model AS model | from: project_logs('Support Bot') spans | filter: scores.q > 0.5", &cl, &e) == 0, "split: %s", e.message);
		T_STREQ(cl.select, " id, metadata.model AS model ");
		T_STREQ(cl.filter, " scores.q > 0.5");
		T_STREQ(cl.project, "Support Bot");
		btx_btapi_clauses_free(&cl);
		T_CHECK(btx_btapi_split_query("from: project_logs('it''s')\nfilter: a = 'x | y'\n  and b = 2", &cl, &e) == 0, "lines");
		T_CHECK(cl.select == NULL && strcmp(cl.project, "it's") == 0, "no select, quoted project");
		T_STREQ(cl.filter, " a = 'x | y'   and b = 2");
		T_CHECK(btx_btapi_page_query_select(PID, "id, _xact_id", cl.filter, &pos, 10, &q, &e) == 0, "page");
		T_STREQ(q.data, "select: id, _xact_id\nfrom: project_logs('" PID "') spans\nfilter: ( a = 'x | y'   and b = 2)\nsort: _pagination_key asc\nlimit: 10");
		btx_btapi_clauses_free(&cl);
	}
	T_END();
	T_BEGIN("btapi: a btql export's query refuses what it cannot page");
	{
		T_CHECK(btx_btapi_split_query("select: id | from: project_logs('x') | sort: created desc", &cl, &e) != 0 && strcmp(e.sqlstate, "0A000") == 0 && strstr(e.message, "sort") != NULL, "sort: %s", e.message);
		T_CHECK(btx_btapi_split_query("dimensions: metadata.model | measures: count(1) | from: project_logs('x')", &cl, &e) != 0 && strcmp(e.sqlstate, "0A000") == 0, "aggregates");
		T_CHECK(btx_btapi_split_query("select: id | from: project_logs('x') traces", &cl, &e) != 0 && strcmp(e.sqlstate, "0A000") == 0, "traces shape");
		T_CHECK(btx_btapi_split_query("select: id", &cl, &e) != 0 && strstr(e.message, "from") != NULL, "no from");
		T_CHECK(btx_btapi_split_query("select: id | select: span_id | from: project_logs('x')", &cl, &e) != 0 && strstr(e.message, "twice") != NULL, "twice");
		T_CHECK(btx_btapi_split_query("select: id) | from: project_logs('x')", &cl, &e) != 0 && strstr(e.message, "select list") != NULL, "select breaks out");
		T_CHECK(btx_btapi_split_query("select: id | from: project_logs('x') | filter: a = 1) or (1 = 1", &cl, &e) != 0 && strstr(e.message, "filter") != NULL, "filter breaks out");
		T_CHECK(btx_btapi_split_query("SELECT id FROM project_logs('x')", &cl, &e) != 0 && strcmp(e.sqlstate, "42601") == 0, "SQL syntax");
		T_CHECK(btx_btapi_split_query("from: project_logs('x\\')", &cl, &e) != 0, "backslash in the project");
		T_CHECK(btx_btapi_split_query("", &cl, &e) != 0 && e.hint[0], "empty, with a hint");
	}
	T_END();
	T_BEGIN("btapi: a raw query's body carries tz_offset only when not 0");
	{
		T_CHECK(btx_btapi_request_body_tz("select: *", 480, &q) == 0, "built");
		T_STREQ(q.data, "{\"query\":\"select: *\",\"fmt\":\"json\",\"api_version\":1,\"use_brainstore\":true,\"query_source\":\"btexport\",\"tz_offset\":480}");
		T_CHECK(btx_btapi_request_body_tz("select: *", 0, &q) == 0 && strstr(q.data, "tz_offset") == NULL, "0 left out");
	}
	T_END();
	T_BEGIN("btapi: a row as JSON text for jsonb: NULs become U+FFFD, reals in their shortest form");
	{
		json_t	   *row = json_pack("{s:s#, s:s, s:f, s:f, s:f, s:I, s:[b,n,s]}", "a", "x\0y", 3, "b", "\\u0000\"\n",
									"r", 1795564335.565, "s", 0.1, "big", 1e21, "i", (json_int_t) 9007199254740993LL,
									"l", 1, "\xc3\xa9");

		btx_buf_reset(&q);
		T_CHECK(btx_btapi_row_json(row, &q) == 1, "one NUL replaced");
		T_STREQ(q.data, "{\"a\":\"x\\ufffdy\",\"b\":\"\\\\u0000\\\"\\u000a\",\"r\":1795564335.565,\"s\":0.1,\"big\":1e+21,"
				"\"i\":9007199254740993,\"l\":[true,null,\"\xc3\xa9\"]}");
		json_decref(row);
	}
	T_END();
	btx_buf_free(&q);
}

void
test_btapi(void)
{
	test_export_query();
	test_literals();
	test_query_text();
	test_parsers();
	test_budget();
	test_login_project();
	test_policy_and_config();
	test_scan_basic();
	test_scan_faults();
}
