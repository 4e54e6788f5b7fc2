/*
 * Unit tests of the JSON Lines writer (src/core/format/jsonl.c): escaping of
 * every control character, quotes and backslashes, UTF-8 passed through or
 * rejected (22021, nothing written for the row) when validation is on,
 * timestamps across the calendar (before 1970, leap days, the year 10000,
 * BC), integers at their limits, lists, pivot members, misuse, sink failures,
 * a value larger than the flush size, and the byte count.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/common/btx_buf.h"
#include "core/format/jsonl.h"
#include "unit.h"

typedef struct Out
{
	btx_buf		b;
	int			calls;
	int			fail_after;		/* fail the call after this many (-1: never) */
	size_t		max_call;		/* the largest piece handed over */
} Out;

static int
out_sink(void *ctx, const void *data, size_t len)
{
	Out		   *o = ctx;

	if (o->fail_after >= 0 && o->calls >= o->fail_after)
		return 1;
	o->calls++;
	if (len > o->max_call)
		o->max_call = len;
	return btx_buf_append(&o->b, data, len);
}

static btx_jsonl *
open_w(const char *const *names, int n, Out *o, int validate)
{
	btx_jsonl_options opt;
	btx_error	err;
	btx_jsonl  *w;

	memset(&opt, 0, sizeof(opt));
	opt.validate_utf8 = validate;
	btx_buf_init(&o->b);
	o->calls = 0;
	o->fail_after = -1;
	o->max_call = 0;
	w = btx_jsonl_open(names, n, &opt, out_sink, o, &err);
	if (w == NULL)
		printf("     open failed: %s\n", err.message);
	return w;
}

static void
check_text(const char *name, const btx_buf *b, const char *want)
{
	int			ok = b->len == strlen(want) && (b->len == 0 || memcmp(b->data, want, b->len) == 0);

	check(name, ok);
	if (!ok)
		printf("     want %s\n     got  %.*s\n", want, (int) b->len, b->data ? b->data : "");
}

static void
test_escape(void)
{
	btx_buf		b;
	char		all[32];
	int			i;

	for (i = 0; i < 32; i++)
		all[i] = (char) i;
	btx_buf_init(&b);
	btx_json_escape(&b, all, 32);
	check_text("escape: U+0000..U+001F as short escapes or \\u00XX",
			   &b, "\"\\u0000\\u0001\\u0002\\u0003\\u0004\\u0005\\u0006\\u0007\\b\\t\\n\\u000b\\f\\r\\u000e\\u000f"
			   "\\u0010\\u0011\\u0012\\u0013\\u0014\\u0015\\u0016\\u0017\\u0018\\u0019\\u001a\\u001b\\u001c\\u001d"
			   "\\u001e\\u001f\"");
	btx_buf_reset(&b);
	btx_json_escape(&b, "a\"b\\c/d\x7f", 8);
	check_text("escape: quote and backslash escaped; '/' and DEL as they are", &b, "\"a\\\"b\\\\c/d\x7f\"");
	btx_buf_reset(&b);
	btx_json_escape(&b, "h\xc3\xa9llo \xf0\x9f\x8e\x89 \xe2\x80\xa8", 15);
	check_text("escape: UTF-8 (2, 4 and 3 bytes, U+2028 included) passes through", &b,
			   "\"h\xc3\xa9llo \xf0\x9f\x8e\x89 \xe2\x80\xa8\"");
	btx_buf_reset(&b);
	btx_json_escape(&b, "", 0);
	check_text("escape: the empty string", &b, "\"\"");
	btx_buf_free(&b);
}

static void
ts(const char *name, int64_t us, const char *want)
{
	btx_buf		b;

	btx_buf_init(&b);
	btx_json_timestamp(&b, us);
	check_text(name, &b, want);
	btx_buf_free(&b);
}

static void
test_timestamps(void)
{
	ts("timestamp: the epoch", 0, "\"1970-01-01T00:00:00.000000Z\"");
	ts("timestamp: microseconds, six digits", INT64_C(1705314600123000), "\"2024-01-15T10:30:00.123000Z\"");
	ts("timestamp: one microsecond before the epoch", -1, "\"1969-12-31T23:59:59.999999Z\"");
	ts("timestamp: 1969-07-20T20:17:40.000001Z", INT64_C(-14182939999999), "\"1969-07-20T20:17:40.000001Z\"");
	ts("timestamp: a leap day", INT64_C(951782400000000), "\"2000-02-29T00:00:00.000000Z\"");
	ts("timestamp: 2100-03-01 (2100 is no leap year)", INT64_C(4107542400000000), "\"2100-03-01T00:00:00.000000Z\"");
	ts("timestamp: the last microsecond of 9999", INT64_C(253402300799999999), "\"9999-12-31T23:59:59.999999Z\"");
	ts("timestamp: year 10000 in the expanded form", INT64_C(253402300800000000), "\"+010000-01-01T00:00:00.000000Z\"");
	ts("timestamp: year 0000 (1 BC)", INT64_C(-62167219200000000), "\"0000-01-01T00:00:00.000000Z\"");
	ts("timestamp: year -0001 (2 BC) in the expanded form", INT64_C(-62198755200000000),
	   "\"-000001-01-01T00:00:00.000000Z\"");
	ts("timestamp: the largest int64", INT64_MAX, "\"+294247-01-10T04:00:54.775807Z\"");
	ts("timestamp: the smallest int64", INT64_MIN, "\"-290308-12-21T19:59:05.224192Z\"");
}

static void
test_rows(void)
{
	const char *names[] = {"id", "n", "ok", "created", "tags", "doc", "we\"ird\n"};
	Out			o;
	btx_jsonl  *w = open_w(names, 7, &o, 1);
	btx_error	err;
	int			rc;

	btx_jsonl_string(w, 0, "a1", 2);
	btx_jsonl_int64(w, 1, INT64_MIN);
	btx_jsonl_bool(w, 2, 1);
	btx_jsonl_timestamp(w, 3, 0);
	btx_jsonl_list_begin(w, 4);
	btx_jsonl_list_item(w, "x", 1);
	btx_jsonl_list_item(w, NULL, 0);
	btx_jsonl_list_item(w, "", 0);
	btx_jsonl_list_end(w);
	btx_jsonl_raw(w, 5, "{\"a\": [1, 2.5]}", 15);
	btx_jsonl_null(w, 6);
	rc = btx_jsonl_end_row(w, &err);
	btx_jsonl_int64(w, 1, INT64_MAX);
	btx_jsonl_bool(w, 2, 0);
	btx_jsonl_list_begin(w, 4);
	btx_jsonl_list_end(w);
	rc |= btx_jsonl_end_row(w, &err);
	rc |= btx_jsonl_end_row(w, &err);	/* no column at all */
	rc |= btx_jsonl_finish(w, &err);
	check("rows: every call succeeds", rc == 0);
	check_text("rows: keys in order (escaped), compact, int64 limits, lists with null and \"\", skipped columns left out",
			   &o.b,
			   "{\"id\":\"a1\",\"n\":-9223372036854775808,\"ok\":true,\"created\":\"1970-01-01T00:00:00.000000Z\","
			   "\"tags\":[\"x\",null,\"\"],\"doc\":{\"a\": [1, 2.5]},\"we\\\"ird\\n\":null}\n"
			   "{\"n\":9223372036854775807,\"ok\":false,\"tags\":[]}\n{}\n");
	check("rows: row count and byte count", btx_jsonl_rows(w) == 3 && btx_jsonl_bytes(w) == o.b.len);
	btx_jsonl_free(w);
	btx_buf_free(&o.b);
}

static void
test_members(void)
{
	const char *names[] = {"id", "pivot", "after"};
	Out			o;
	btx_jsonl  *w = open_w(names, 3, &o, 0);
	btx_error	err;
	int			rc = 0;

	btx_jsonl_string(w, 0, "a", 1);
	btx_jsonl_members(w, 1, " {\"x\": 1, \"y\": \"z\"} ", 20);
	btx_jsonl_int64(w, 2, 5);
	rc |= btx_jsonl_end_row(w, &err);
	btx_jsonl_members(w, 1, "{}", 2);
	rc |= btx_jsonl_end_row(w, &err);
	btx_jsonl_members(w, 1, "{\"only\": true}", 14);
	rc |= btx_jsonl_end_row(w, &err);
	rc |= btx_jsonl_finish(w, &err);
	check_text("members: a pivot object's members join the row; an empty one adds nothing", &o.b,
			   "{\"id\":\"a\",\"x\": 1, \"y\": \"z\",\"after\":5}\n{}\n{\"only\": true}\n");
	check("members: no error", rc == 0);
	btx_jsonl_free(w);
	btx_buf_free(&o.b);

	w = open_w(names, 3, &o, 0);
	btx_jsonl_members(w, 1, "[1]", 3);
	rc = btx_jsonl_end_row(w, &err);
	check("members: a value that is not an object fails (XX000)", rc != 0 && strcmp(err.sqlstate, "XX000") == 0);
	btx_jsonl_free(w);
	btx_buf_free(&o.b);
}

static void
test_utf8(void)
{
	const char *names[] = {"id", "text"};
	Out			o;
	btx_jsonl  *w = open_w(names, 2, &o, 1);
	btx_error	err;
	int			rc;

	btx_jsonl_string(w, 0, "ok", 2);
	rc = btx_jsonl_end_row(w, &err);
	btx_jsonl_string(w, 0, "id2", 3);
	btx_jsonl_string(w, 1, "bad \xc3\x28 byte", 12);
	rc = btx_jsonl_end_row(w, &err);
	check("utf8: an invalid sequence fails the row with 22021 naming the column and row",
		  rc != 0 && strcmp(err.sqlstate, "22021") == 0 && strstr(err.message, "text") != NULL
		  && strstr(err.detail, "Row 2") != NULL);
	check("utf8: later calls fail too (the writer is failed)", btx_jsonl_string(w, 0, "x", 1) != 0
		  && btx_jsonl_finish(w, &err) != 0);
	check_text("utf8: nothing of the bad row reached the sink (the good row had not been flushed either)", &o.b, "");
	btx_jsonl_free(w);
	btx_buf_free(&o.b);

	w = open_w(names, 2, &o, 1);
	btx_jsonl_string(w, 1, "\xed\xa0\x80", 3);	/* a surrogate */
	check("utf8: a UTF-16 surrogate is invalid UTF-8", btx_jsonl_end_row(w, &err) != 0);
	btx_jsonl_free(w);
	btx_buf_free(&o.b);
	w = open_w(names, 2, &o, 1);
	btx_jsonl_raw(w, 1, "\"\xc0\xaf\"", 4);	/* an overlong '/' in raw JSON text */
	check("utf8: raw JSON text is checked too (overlong form)", btx_jsonl_end_row(w, &err) != 0);
	btx_jsonl_free(w);
	btx_buf_free(&o.b);

	w = open_w(names, 2, &o, 0);
	btx_jsonl_string(w, 1, "\xc3\x28", 2);
	rc = btx_jsonl_end_row(w, &err) | btx_jsonl_finish(w, &err);
	check("utf8: without validation (a UTF8 database guarantees it) the bytes pass as they are",
		  rc == 0 && o.b.len == 14 && memcmp(o.b.data, "{\"text\":\"\xc3\x28\"}\n", 14) == 0);
	btx_jsonl_free(w);
	btx_buf_free(&o.b);
}

static void
test_misuse_and_sink(void)
{
	const char *names[] = {"a", "b"};
	Out			o;
	btx_jsonl  *w;
	btx_error	err;
	char	   *big;
	size_t		i,
				n = 3 * 1024 * 1024;

	w = open_w(names, 2, &o, 0);
	btx_jsonl_int64(w, 1, 1);
	check("misuse: a column before the last one fails", btx_jsonl_int64(w, 0, 1) != 0
		  && btx_jsonl_end_row(w, &err) != 0 && strcmp(err.sqlstate, "XX000") == 0);
	btx_jsonl_free(w);
	btx_buf_free(&o.b);
	w = open_w(names, 2, &o, 0);
	btx_jsonl_list_begin(w, 0);
	check("misuse: a row ended inside a list fails", btx_jsonl_end_row(w, &err) != 0);
	btx_jsonl_free(w);
	btx_buf_free(&o.b);
	w = open_w(names, 2, &o, 0);
	check("misuse: a column index out of range fails", btx_jsonl_null(w, 2) != 0 && btx_jsonl_null(w, -1) != 0);
	btx_jsonl_free(w);
	btx_buf_free(&o.b);

	/* a 3 MB value with escapes (more than the 1 MB flush size): one line, flushed whole */
	big = malloc(n);
	for (i = 0; i < n; i++)
		big[i] = i % 1000 == 999 ? '\n' : 'x';
	w = open_w(names, 2, &o, 1);
	btx_jsonl_string(w, 0, big, n);
	check("big: a 3 MB value with escapes is one row", btx_jsonl_end_row(w, &err) == 0
		  && btx_jsonl_finish(w, &err) == 0 && o.b.len == n + n / 1000 + strlen("{\"a\":\"\"}\n")
		  && o.b.data[o.b.len - 1] == '\n' && btx_jsonl_bytes(w) == o.b.len);
	btx_jsonl_free(w);
	btx_buf_free(&o.b);

	/* many small rows: handed over in pieces of about the flush size, each ending a line */
	w = open_w(names, 2, &o, 0);
	for (i = 0; i < 200000; i++)
	{
		btx_jsonl_int64(w, 0, (int64_t) i);
		btx_jsonl_string(w, 1, "some text of a row", 18);
		btx_jsonl_end_row(w, &err);
	}
	check("flush: complete lines in pieces of about 1 MB", btx_jsonl_finish(w, &err) == 0 && o.calls > 1
		  && o.max_call >= BTX_JSONL_DEFAULT_FLUSH_BYTES && o.max_call < BTX_JSONL_DEFAULT_FLUSH_BYTES + 100
		  && btx_jsonl_rows(w) == 200000 && o.b.data[o.b.len - 1] == '\n');
	btx_jsonl_free(w);
	btx_buf_free(&o.b);

	/* a sink that refuses: the writer reports it and stays failed */
	w = open_w(names, 2, &o, 0);
	o.fail_after = 0;
	btx_jsonl_string(w, 0, big, n);
	check("sink: a refusing sink fails the row that flushes (58030)", btx_jsonl_end_row(w, &err) != 0
		  && strcmp(err.sqlstate, "58030") == 0 && btx_jsonl_finish(w, &err) != 0);
	btx_jsonl_free(w);
	btx_buf_free(&o.b);
	free(big);

	{
		const char *bad[] = {"ok", "\xff"};

		check("open: a column name that is not UTF-8 is refused (22021)",
			  btx_jsonl_open(bad, 2, NULL, out_sink, &o, &err) == NULL && strcmp(err.sqlstate, "22021") == 0);
	}
}

void
test_jsonl(void)
{
	test_escape();
	test_timestamps();
	test_rows();
	test_members();
	test_utf8();
	test_misuse_and_sink();
}
