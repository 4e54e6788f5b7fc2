/*
 * Unit tests for src/core/iceberg: bound serialization and truncation, the
 * day transform, table metadata (create, parse, refusals), Avro manifests
 * and manifest lists (round trips, both codecs, the reference tables written
 * by Java Iceberg and Spark, corrupt input), the data/delete file writer and
 * its metrics, commits against an in-memory object store (append, conflict,
 * replace, expiry).  Independent readers check the same files in
 * test/iceberg/run.sh; here the writer's own decoder is used.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/iceberg/iceberg.h"

static int	n_pass;
static int	n_fail;

static void
check(const char *name, int cond)
{
	if (cond)
	{
		n_pass++;
		printf("ok   %s\n", name);
	}
	else
	{
		n_fail++;
		printf("FAIL %s\n", name);
	}
}

static int
buf_is(const btx_buf *b, const void *p, size_t n)
{
	return b->len == n && (n == 0 || memcmp(b->data, p, n) == 0);
}

/* ---------- an in-memory object store ---------- */

typedef struct store
{
	char	   *uri[256];
	btx_buf		data[256];
	int			n;
	int			fail_writes;	/* fail every write with an I/O error */
} store;

static int
store_find(store *s, const char *uri)
{
	int			i;

	for (i = 0; i < s->n; i++)
		if (strcmp(s->uri[i], uri) == 0)
			return i;
	return -1;
}

static int
st_read(void *ctx, const char *uri, btx_buf *out, btx_error *err)
{
	store	   *s = ctx;
	int			i = store_find(s, uri);

	if (i < 0)
		return BTX_ICE_IO_NOT_FOUND;
	btx_buf_append(out, s->data[i].data ? s->data[i].data : "", s->data[i].len);
	return 0;
}

static int
st_write(void *ctx, const char *uri, const void *data, size_t len, int if_none_match,
		 btx_error *err)
{
	store	   *s = ctx;
	int			i = store_find(s, uri);

	if (s->fail_writes)
	{
		btx_error_set(err, BTX_ICE_E_IO, "58030", "injected write failure");
		return -1;
	}
	if (i >= 0 && if_none_match)
		return BTX_ICE_IO_EXISTS;
	if (i < 0)
	{
		if (s->n == 256)
			return -1;
		i = s->n++;
		s->uri[i] = strdup(uri);
		btx_buf_init(&s->data[i]);
	}
	btx_buf_reset(&s->data[i]);
	btx_buf_append(&s->data[i], data, len);
	return 0;
}

static void
store_free(store *s)
{
	int			i;

	for (i = 0; i < s->n; i++)
	{
		free(s->uri[i]);
		btx_buf_free(&s->data[i]);
	}
	s->n = 0;
}

static int
mem_sink(void *ctx, const void *data, size_t len)
{
	return btx_buf_append(ctx, data, len);
}

static char *
slurp(const char *rel, size_t *len)
{
	const char *root = getenv("BTX_TESTDATA");
	char		path[1024];
	FILE	   *f;
	char	   *d;
	long		n;

	snprintf(path, sizeof(path), "%s/iceberg/%s", root ? root : "test/data", rel);
	f = fopen(path, "rb");
	if (f == NULL)
		return NULL;
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	d = malloc(n + 1);
	if (d && fread(d, 1, n, f) != (size_t) n)
	{
		free(d);
		d = NULL;
	}
	fclose(f);
	if (d)
		d[n] = '\0';
	*len = (size_t) n;
	return d;
}

/* ---------- bounds, day ---------- */

static void
test_bounds(void)
{
	btx_buf		b;
	const char *s16 = "abcdefghijklmnop";

	btx_buf_init(&b);
	btx_ice_bound_long(&b, 1);
	check("long bound: 8-byte little-endian", buf_is(&b, "\x01\0\0\0\0\0\0\0", 8));
	btx_ice_bound_long(&b, -2);
	check("negative long bound", buf_is(&b, "\xfe\xff\xff\xff\xff\xff\xff\xff", 8));
	btx_ice_bound_int(&b, 18993);
	check("int (date) bound: 4-byte little-endian", buf_is(&b, "\x31\x4a\0\0", 4));
	btx_ice_bound_double(&b, 1.5);
	check("double bound", buf_is(&b, "\0\0\0\0\0\0\xf8\x3f", 8));
	btx_ice_bound_string_lower(&b, (const unsigned char *) "short", 5, 16);
	check("short string: lower is the value", buf_is(&b, "short", 5));
	check("short string: upper is the value",
		  btx_ice_bound_string_upper(&b, (const unsigned char *) "short", 5, 16) && buf_is(&b, "short", 5));
	btx_ice_bound_string_lower(&b, (const unsigned char *) "abcdefghijklmnopqrst", 20, 16);
	check("long string: lower is the 16-character prefix", buf_is(&b, s16, 16));
	check("long string: upper is the prefix with its last character incremented",
		  btx_ice_bound_string_upper(&b, (const unsigned char *) "abcdefghijklmnopqrst", 20, 16) &&
		  buf_is(&b, "abcdefghijklmnoq", 16));
	/* 17 two-byte characters (é): truncation counts characters, not bytes */
	{
		char		e17[40];
		int			i;

		for (i = 0; i < 17; i++)
			memcpy(e17 + 2 * i, "\xc3\xa9", 2);
		btx_ice_bound_string_lower(&b, (unsigned char *) e17, 34, 16);
		check("multibyte string: lower keeps 16 characters (32 bytes)", b.len == 32);
		check("multibyte string: upper increments é to ê",
			  btx_ice_bound_string_upper(&b, (unsigned char *) e17, 34, 16) && b.len == 32 &&
			  memcmp(b.data + 30, "\xc3\xaa", 2) == 0);
	}
	/* U+10FFFF cannot be incremented: carry into the previous character */
	{
		char		m[80];
		int			i;

		memcpy(m, "a", 1);
		for (i = 0; i < 16; i++)
			memcpy(m + 1 + 4 * i, "\xf4\x8f\xbf\xbf", 4);
		check("upper bound carries past U+10FFFF",
			  btx_ice_bound_string_upper(&b, (unsigned char *) m, 65, 16) && buf_is(&b, "b", 1));
		check("no upper bound when every character is U+10FFFF",
			  !btx_ice_bound_string_upper(&b, (unsigned char *) m + 1, 64, 15));
	}
	/* U+D7FF + 1 skips the surrogates */
	check("upper bound skips surrogates",
		  btx_ice_bound_string_upper(&b, (const unsigned char *) "\xed\x9f\xbfxx", 5, 1) &&
		  buf_is(&b, "\xee\x80\x80", 3));
	btx_buf_free(&b);

	check("day of 0", btx_ice_day_of_micros(0) == 0);
	check("day of 2022-01-01T12:00Z", btx_ice_day_of_micros(INT64_C(1641038400000000)) == 18993);
	check("day of -1 us is -1 (floor)", btx_ice_day_of_micros(-1) == -1);
	check("day of -1 day exactly", btx_ice_day_of_micros(-INT64_C(86400000000)) == -1);
}

/* ---------- table metadata ---------- */

static const btx_ice_field span_fields[] = {
	{1, "id", BTX_ICE_STRING, 0, 0},
	{2, "created", BTX_ICE_TIMESTAMPTZ, 0, 0},
	{3, "score", BTX_ICE_DOUBLE, 0, 0},
	{4, "tokens", BTX_ICE_LONG, 0, 0},
	{5, "is_root", BTX_ICE_BOOLEAN, 0, 0},
	{6, "tags", BTX_ICE_LIST_STRING, 8, 0},
	{7, "input", BTX_ICE_STRING, 0, 1},
};

static void
def_init(btx_ice_table_def *d, int partitioned)
{
	static const btx_ice_kv props[] = {{"btexport.automation", "a1"}};

	memset(d, 0, sizeof(*d));
	d->location = "s3://bucket/t";
	d->table_uuid = "4f0a5c3e-1111-4222-8333-444455556666";
	d->fields = span_fields;
	d->nfields = 7;
	d->identifier_id = 1;
	d->day_source_id = partitioned ? 2 : 0;
	d->sort_source_id = 2;
	d->properties = props;
	d->nproperties = 1;
	d->now_ms = 1700000000000;
}

static void
test_metadata(void)
{
	btx_ice_table_def d;
	btx_ice_table *t;
	btx_ice_table *u;
	btx_error	err;
	btx_buf		js;
	btx_ice_field bad[2] = {{1, "id", BTX_ICE_STRING, 0, 0}, {1, "x", BTX_ICE_LONG, 0, 0}};
	char	   *ref;
	size_t		len;

	btx_buf_init(&js);
	def_init(&d, 1);
	t = btx_ice_table_create(&d, &err);
	check("create a partitioned table", t != NULL && btx_ice_table_version(t) == 1 &&
		  btx_ice_table_current_snapshot(t) == -1 && btx_ice_table_last_sequence(t) == 0 &&
		  btx_ice_table_day_source_id(t) == 2 && btx_ice_table_identifier_id(t) == 1);
	check("metadata serialises", t && btx_ice_table_json(t, &js, &err) == 0 &&
		  strstr(js.data, "\"format-version\": 2") && strstr(js.data, "\"transform\": \"day\"") &&
		  strstr(js.data, "\"created_day\"") && strstr(js.data, "\"last-column-id\": 8") &&
		  strstr(js.data, "\"element-id\": 8"));
	u = t ? btx_ice_table_parse(js.data, js.len, 1, &err) : NULL;
	check("serialised metadata parses back", u != NULL && btx_ice_table_nfields(u) == 7 &&
		  btx_ice_table_field(u, 7)->json && !btx_ice_table_field(u, 1)->json &&
		  btx_ice_table_field(u, 6)->type == BTX_ICE_LIST_STRING &&
		  btx_ice_table_field(u, 6)->element_id == 8);
	check("a day-partitioned table has spec 1, unpartitioned, for its global equality deletes",
		  strstr(js.data, "\"spec-id\": 1,") != NULL && strstr(js.data, "\"default-spec-id\": 0") != NULL);
	{
		btx_ice_partition p = {0, 19700};
		btx_buf		uri;

		btx_buf_init(&uri);
		check("data files go under their day's folder, equality deletes under data/ itself",
			  u && btx_ice_file_uri(u, BTX_ICE_DATA, &p, "a.parquet", &uri, &err) == 0 &&
			  strstr(uri.data, "/data/created_day=2023-12-09/a.parquet") != NULL &&
			  btx_ice_file_uri(u, BTX_ICE_EQUALITY_DELETES, &p, "a-eqdel.parquet", &uri, &err) == 0 &&
			  strcmp(uri.data + strlen(uri.data) - strlen("/data/a-eqdel.parquet"), "/data/a-eqdel.parquet") == 0);
		btx_buf_free(&uri);
	}
	btx_ice_table_free(u);
	u = NULL;
	{
		/* a table written before deletes were global: its metadata gains the spec at the next commit */
		char	   *old = strdup(js.data);
		char	   *second = old ? strstr(old, "\"spec-id\": 1,") : NULL;
		char	   *from = second;
		char	   *to = second ? strchr(second, '}') : NULL;

		/* cut ", { "spec-id": 1, "fields": [] }" out of the partition-specs array */
		while (from && from > old && *from != '{')
			from--;
		while (from && from > old && *from != ',')
			from--;
		if (from && to && *from == ',')
			memmove(from, to + 1, strlen(to + 1) + 1);
		else
			second = NULL;
		u = second && strstr(old, "\"spec-id\": 1") == NULL ? btx_ice_table_parse(old, strlen(old), 1, &err) : NULL;
		btx_buf_reset(&js);
		check("a partitioned table without an unpartitioned spec of its own gets one (the next id)",
			  u && btx_ice_table_json(u, &js, &err) == 0 && strstr(js.data, "\"spec-id\": 1,") != NULL);
		btx_ice_table_free(u);
		free(old);
	}
	btx_ice_table_free(t);
	def_init(&d, 0);
	t = btx_ice_table_create(&d, &err);
	btx_buf_reset(&js);
	check("an unpartitioned table has one spec (its deletes are global already)",
		  t && btx_ice_table_json(t, &js, &err) == 0 && strstr(js.data, "\"spec-id\": 1") == NULL);
	btx_ice_table_free(t);

	def_init(&d, 0);
	d.fields = bad;
	d.nfields = 2;
	check("duplicate field ids rejected", btx_ice_table_create(&d, &err) == NULL &&
		  err.code == BTX_ICE_E_INVALID);
	def_init(&d, 0);
	d.day_source_id = 3;
	check("day() of a double rejected", btx_ice_table_create(&d, &err) == NULL &&
		  strstr(err.message, "partition column"));
	def_init(&d, 0);
	d.location = "s3://bucket/t/";
	check("location with a trailing slash rejected", btx_ice_table_create(&d, &err) == NULL);
	def_init(&d, 0);
	d.identifier_id = 6;
	check("list column as equality key rejected", btx_ice_table_create(&d, &err) == NULL);

	check("invalid JSON -> corrupt", btx_ice_table_parse("{", 1, 3, &err) == NULL &&
		  err.code == BTX_ICE_E_CORRUPT && strstr(err.detail, "v3.metadata.json"));
	check("format version 1 refused",
		  btx_ice_table_parse("{\"format-version\":1}", 20, 1, &err) == NULL &&
		  strstr(err.message, "format version 1"));

	ref = slurp("java/bunnies/metadata/v5.metadata.json", &len);
	t = ref ? btx_ice_table_parse(ref, len, 5, &err) : NULL;
	check("Java Iceberg's metadata parses", t != NULL && btx_ice_table_last_sequence(t) == 3 &&
		  btx_ice_table_current_snapshot(t) == INT64_C(9158179788527662767) &&
		  btx_ice_table_snapshot_count(t) == 3 &&
		  strcmp(btx_ice_table_summary(t, -1, "operation"), "overwrite") == 0);
	btx_ice_table_free(t);
	free(ref);
	ref = slurp("spark/rename_column/metadata/v3.metadata.json", &len);
	t = ref ? btx_ice_table_parse(ref, len, 3, &err) : NULL;
	check("a table with int/date/decimal columns is refused with the column named",
		  ref != NULL && t == NULL && strstr(err.message, "\"id\"") != NULL);
	free(ref);
	btx_buf_free(&js);
}

/* ---------- manifests ---------- */

static void
make_file(btx_ice_data_file *f, const char *path, int content, int32_t day)
{
	memset(f, 0, sizeof(*f));
	f->content = content;
	f->path = strdup(path);
	f->partition.day = day;
	f->record_count = 3;
	f->file_size = 1234;
	f->sort_order_id = 0;
	f->nmetrics = 2;
	f->metrics = calloc(2, sizeof(btx_ice_metric));
	f->metrics[0].field_id = 1;
	f->metrics[0].column_size = 40;
	f->metrics[0].value_count = 3;
	f->metrics[0].null_count = 0;
	f->metrics[0].nan_count = -1;
	f->metrics[0].has_lower = f->metrics[0].has_upper = 1;
	btx_buf_puts(&f->metrics[0].lower, "a");
	btx_buf_puts(&f->metrics[0].upper, "c");
	f->metrics[1].field_id = 3;
	f->metrics[1].column_size = -1;
	f->metrics[1].value_count = 3;
	f->metrics[1].null_count = 1;
	f->metrics[1].nan_count = 0;
	if (content == BTX_ICE_EQUALITY_DELETES)
	{
		f->equality_ids = malloc(sizeof(int32_t));
		f->equality_ids[0] = 1;
		f->nequality_ids = 1;
	}
}

static void
test_manifests(void)
{
	btx_ice_table_def d;
	btx_ice_table *t;
	btx_error	err;
	btx_ice_entry e[2];
	btx_ice_entry *got = NULL;
	int			n = 0;
	btx_buf		out;
	btx_ice_manifest m;
	btx_ice_manifest *ml = NULL;
	int			codec;
	char	   *ref;
	size_t		len;

	def_init(&d, 1);
	t = btx_ice_table_create(&d, &err);
	btx_buf_init(&out);
	memset(e, 0, sizeof(e));
	make_file(&e[0].file, "s3://bucket/t/data/a.parquet", BTX_ICE_DATA, 19000);
	e[0].status = BTX_ICE_ADDED;
	e[0].snapshot_id = 42;
	e[0].sequence_number = e[0].file_sequence_number = -1;
	make_file(&e[1].file, "s3://bucket/t/data/b.parquet", BTX_ICE_DATA, 19002);
	e[1].file.partition.is_null = 0;
	e[1].status = BTX_ICE_EXISTING;
	e[1].snapshot_id = 41;
	e[1].sequence_number = 1;
	e[1].file_sequence_number = 2;
	for (codec = 0; codec < 2; codec++)
	{
		const char *cn = codec ? "deflate" : "null";
		char		name[128];
		int			rc;

		btx_buf_reset(&out);
		rc = btx_ice_manifest_encode(t, 0, e, 2, cn, &out, &err);
		snprintf(name, sizeof(name), "manifest encodes (%s codec)", cn);
		check(name, rc == 0 && out.len > 100 && memcmp(out.data, "Obj\x01", 4) == 0);
		rc = btx_ice_manifest_decode(t, out.data, out.len, &got, &n, &err);
		snprintf(name, sizeof(name), "manifest round trip (%s codec)", cn);
		check(name, rc == 0 && n == 2 && got[0].status == 1 && got[0].snapshot_id == 42 &&
			  got[0].sequence_number == -1 && got[0].file_sequence_number == -1 &&
			  strcmp(got[0].file.path, "s3://bucket/t/data/a.parquet") == 0 &&
			  got[0].file.partition.day == 19000 && !got[0].file.partition.is_null &&
			  got[1].sequence_number == 1 && got[1].file_sequence_number == 2 &&
			  got[0].file.record_count == 3 && got[0].file.file_size == 1234 &&
			  got[0].file.nmetrics == 2 && got[0].file.metrics[0].column_size == 40 &&
			  buf_is(&got[0].file.metrics[0].lower, "a", 1) &&
			  got[0].file.metrics[1].column_size == -1 && got[0].file.metrics[1].null_count == 1 &&
			  got[0].file.sort_order_id == 0 && got[0].file.nequality_ids == 0);
		btx_ice_entries_free(got, n);
	}
	check("a data manifest refuses a delete file",
		  (e[1].file.content = BTX_ICE_EQUALITY_DELETES, btx_ice_manifest_encode(t, 0, e, 2, NULL, &out, &err)) != 0);
	e[1].file.content = BTX_ICE_DATA;
	check("manifest summary: counts, min sequence, partition bounds",
		  btx_ice_manifest_summarize(t, 0, e, 2, 5, 42, &m, &err) == 0 && m.added_files == 1 &&
		  m.existing_files == 1 && m.added_rows == 3 && m.min_sequence_number == 1 &&
		  m.nparts == 1 && m.parts[0].has_bounds && !m.parts[0].contains_null &&
		  buf_is(&m.parts[0].lower, "\x38\x4a\0\0", 4) && buf_is(&m.parts[0].upper, "\x3a\x4a\0\0", 4));
	m.path = strdup("s3://bucket/t/metadata/x-m0.avro");
	m.length = (int64_t) out.len;
	btx_buf_reset(&out);
	check("manifest list encodes", btx_ice_manifest_list_encode(42, -1, 5, &m, 1, NULL, &out, &err) == 0);
	check("manifest list round trip",
		  btx_ice_manifest_list_decode(out.data, out.len, &ml, &n, &err) == 0 && n == 1 &&
		  strcmp(ml[0].path, m.path) == 0 && ml[0].sequence_number == 5 &&
		  ml[0].min_sequence_number == 1 && ml[0].added_files == 1 && ml[0].existing_files == 1 &&
		  ml[0].nparts == 1 && buf_is(&ml[0].parts[0].upper, "\x3a\x4a\0\0", 4) &&
		  ml[0].parts[0].contains_nan == -1);
	if (ml)
		btx_ice_manifest_free(&ml[0]);
	free(ml);
	btx_ice_manifest_free(&m);

	/* corrupt input: every truncation and some byte flips fail cleanly */
	{
		size_t		cut;
		int			bad = 0;

		for (cut = 0; cut < out.len; cut += 7)
			if (btx_ice_manifest_list_decode(out.data, cut, &ml, &n, &err) == 0)
			{
				/* a cut at a block boundary is a valid shorter file */
				int			i;

				for (i = 0; i < n; i++)
					btx_ice_manifest_free(&ml[i]);
				free(ml);
			}
			else if (err.code != BTX_ICE_E_CORRUPT)
				bad++;
		check("truncated manifest lists fail as corrupt", bad == 0);
		out.data[out.len - 3] ^= 0x55;
		check("damaged sync marker detected",
			  btx_ice_manifest_list_decode(out.data, out.len, &ml, &n, &err) != 0 &&
			  err.code == BTX_ICE_E_CORRUPT);
	}
	btx_ice_data_file_free(&e[0].file);
	btx_ice_data_file_free(&e[1].file);

	/* the reference tables */
	ref = slurp("java/bunnies/metadata/a01399a1-e864-4562-b921-c8cb56e6e4a9-m1.avro", &len);
	check("Java's equality delete manifest decodes",
		  ref && btx_ice_manifest_decode(NULL, ref, len, &got, &n, &err) == 0 && n == 1 &&
		  got[0].file.content == 2 && got[0].file.nequality_ids == 1 &&
		  got[0].file.equality_ids[0] == 1 && got[0].sequence_number == -1 &&
		  strstr(got[0].file.path, "bunnies-eq-delete-new-zealand.parquet") != NULL);
	if (ref && n == 1)
	{
		int			i;
		int			ok = 0;

		for (i = 0; i < got[0].file.nmetrics; i++)
			if (got[0].file.metrics[i].field_id == 1 &&
				buf_is(&got[0].file.metrics[i].lower, "New Zealand", 11))
				ok = 1;
		check("... with its lower bound", ok);
		btx_ice_entries_free(got, n);
	}
	free(ref);
	ref = slurp("spark/bunnies/metadata/snap-2701171901096418979-1-91d5eea0-314d-4056-8818-59b825cbd38a.avro", &len);
	check("Spark's manifest list (older field names) decodes by field id",
		  ref && btx_ice_manifest_list_decode(ref, len, &ml, &n, &err) == 0 && n == 3 &&
		  ml[1].deleted_files == 1 && ml[1].deleted_rows == 21 && ml[2].content == 1 &&
		  ml[2].sequence_number == 2);
	if (ref && ml)
	{
		int			i;

		for (i = 0; i < n; i++)
			btx_ice_manifest_free(&ml[i]);
		free(ml);
	}
	free(ref);
	ref = slurp("spark/rename_column/metadata/abf62b15-903b-40b6-9e6b-26bcdceac9b3-m0.avro", &len);
	check("Spark's partitioned manifest decodes without a table",
		  ref && btx_ice_manifest_decode(NULL, ref, len, &got, &n, &err) == 0 && n == 3);
	if (ref && got)
		btx_ice_entries_free(got, n);
	check("... and is refused for a table of another partition spec",
		  ref && btx_ice_manifest_decode(t, ref, len, &got, &n, &err) != 0);
	free(ref);
	btx_ice_table_free(t);
	btx_buf_free(&out);
}

/* ---------- writer ---------- */

/* rows i = 0..n-1 of day 19000 + i % days (created), id "id<k>" */
static int
write_rows(btx_ice_writer *w, int from, int n, int day, btx_error *err)
{
	btx_pq_writer *pq = btx_ice_writer_pq(w);
	int			i;

	for (i = from; i < from + n; i++)
	{
		char		id[32];

		snprintf(id, sizeof(id), "id%04d", i);
		btx_pq_bytes(pq, 0, id, strlen(id));
		btx_pq_int64(pq, 1, (int64_t) day * INT64_C(86400000000) + i * 1000);
		if (i % 3 == 0)
			btx_pq_null(pq, 2);
		else
			btx_pq_double(pq, 2, i % 3 == 1 ? NAN : i * 0.5);
		btx_pq_int64(pq, 3, i);
		btx_pq_bool(pq, 4, i % 2);
		btx_pq_list_begin(pq, 5);
		btx_pq_list_item(pq, 5, "t", 1);
		btx_pq_list_end(pq, 5);
		btx_pq_bytes(pq, 6, "{\"a\":1}", 7);
		if (btx_pq_end_row(pq, err) != 0)
			return -1;
	}
	return 0;
}

static const btx_ice_metric *
metric(const btx_ice_data_file *f, int32_t id)
{
	int			i;

	for (i = 0; i < f->nmetrics; i++)
		if (f->metrics[i].field_id == id)
			return &f->metrics[i];
	return NULL;
}

static void
test_writer(void)
{
	btx_ice_table_def d;
	btx_ice_table *t;
	btx_ice_writer *w;
	btx_error	err;
	btx_buf		file;
	btx_buf		uri;
	btx_ice_data_file f;
	btx_ice_partition p = {0, 19000};
	const btx_ice_metric *m;

	def_init(&d, 1);
	t = btx_ice_table_create(&d, &err);
	btx_buf_init(&file);
	btx_buf_init(&uri);
	check("data file uri has the partition folder",
		  btx_ice_data_file_uri(t, &p, "r1-0.parquet", &uri, &err) == 0 &&
		  strcmp(uri.data, "s3://bucket/t/data/created_day=2022-01-08/r1-0.parquet") == 0);
	check("data file name with a slash refused", btx_ice_data_file_uri(t, &p, "a/b", &uri, &err) != 0);
	w = btx_ice_writer_open(t, BTX_ICE_DATA, &p, NULL, mem_sink, &file, &err);
	check("writer opens", w != NULL && write_rows(w, 0, 10, 19000, &err) == 0);
	check("writer closes", btx_ice_writer_close(w, uri.data, &f, &err) == 0 &&
		  f.record_count == 10 && f.file_size == (int64_t) file.len && f.content == 0 &&
		  f.partition.day == 19000 && f.nmetrics == 7 && memcmp(file.data, "PAR1", 4) == 0);
	m = metric(&f, 1);
	check("id metrics: counts and string bounds", m && m->value_count == 10 && m->null_count == 0 &&
		  buf_is(&m->lower, "id0000", 6) && buf_is(&m->upper, "id0009", 6) && m->column_size > 0);
	m = metric(&f, 3);
	check("double metrics: NaN and null counts, NaN outside the bounds",
		  m && m->nan_count == 3 && m->null_count == 4 && m->has_lower &&
		  (btx_ice_bound_double(&uri, 1.0), buf_is(&m->lower, uri.data, 8)));
	m = metric(&f, 8);
	check("list metrics under the element id, without bounds",
		  m && m->value_count == 10 && !m->has_lower && metric(&f, 6) == NULL);
	m = metric(&f, 7);
	check("JSON column: counts, no bounds", m && m->value_count == 10 && !m->has_lower);
	m = metric(&f, 5);
	check("boolean bounds", m && buf_is(&m->lower, "\0", 1) && buf_is(&m->upper, "\x01", 1));
	m = metric(&f, 2);
	check("timestamp bounds are the exact micros",
		  m && (btx_ice_bound_long(&uri, INT64_C(19000) * INT64_C(86400000000) + 9000),
				buf_is(&m->upper, uri.data, 8)));
	btx_ice_data_file_free(&f);
	btx_ice_writer_free(w);

	/* a row of another day in the file: refused at close */
	btx_buf_reset(&file);
	w = btx_ice_writer_open(t, BTX_ICE_DATA, &p, NULL, mem_sink, &file, &err);
	write_rows(w, 0, 2, 19000, &err);
	write_rows(w, 2, 1, 19001, &err);
	check("rows outside the partition refused",
		  btx_ice_writer_close(w, "s3://bucket/t/data/x.parquet", &f, &err) != 0 &&
		  strstr(err.message, "outside the partition") && strstr(err.detail, "19000 to 19001"));
	btx_ice_writer_free(w);

	btx_buf_reset(&file);
	w = btx_ice_writer_open(t, BTX_ICE_EQUALITY_DELETES, &p, NULL, mem_sink, &file, &err);
	check("delete writer takes ids", w != NULL && btx_ice_writer_delete_id(w, "id0003", 6, &err) == 0 &&
		  btx_ice_writer_delete_id(w, "id0001", 6, &err) == 0);
	check("delete file: content 2, equality_ids [1], id bounds",
		  btx_ice_writer_close(w, "s3://bucket/t/data/d.parquet", &f, &err) == 0 && f.content == 2 &&
		  f.nequality_ids == 1 && f.equality_ids[0] == 1 && f.nmetrics == 1 && f.record_count == 2 &&
		  buf_is(&metric(&f, 1)->lower, "id0001", 6));
	btx_ice_data_file_free(&f);
	btx_ice_writer_free(w);
	btx_buf_free(&file);
	btx_buf_free(&uri);
	btx_ice_table_free(t);
}

/* ---------- commits ---------- */

static int
commit_file(store *s, const char *loc, int content, const char *path, int day, int64_t snap,
			btx_ice_table **out, btx_error *err)
{
	btx_ice_io	io = {st_read, st_write, s};
	btx_ice_kv	kv[] = {{"btexport.run-id", "7"}};
	btx_ice_commit_opts o = {BTX_ICE_OP_APPEND, snap, NULL, 1700000000000 + snap, kv, 1, NULL};
	btx_ice_commit *c = btx_ice_commit_new(&o, err);
	btx_ice_data_file f;
	int			rc;

	make_file(&f, path, content, day);
	rc = btx_ice_commit_add(c, &f, -1, err);
	btx_ice_data_file_free(&f);
	if (rc == 0)
		rc = btx_ice_commit_run(c, loc, &io, 3, out, err);
	btx_ice_commit_free(c);
	return rc;
}

static void
test_commits(void)
{
	store		s = {0};
	btx_ice_io	io = {st_read, st_write, &s};
	btx_ice_table_def d;
	btx_ice_table *t;
	btx_ice_table *t2;
	btx_ice_entry *live;
	int			nlive;
	btx_error	err;
	btx_ice_plan p1;
	btx_ice_plan p2;
	btx_ice_commit *c;
	btx_ice_data_file f;
	int			rc;

	def_init(&d, 1);
	t = btx_ice_table_create_or_load(&d, &io, &err);
	check("table created: v1 and the hint", t && s.n == 2 && store_find(&s, "s3://bucket/t/metadata/v1.metadata.json") >= 0);
	btx_ice_table_free(t);
	t = btx_ice_table_create_or_load(&d, &io, &err);
	check("create again loads the existing table", t && btx_ice_table_version(t) == 1 && s.n == 2);
	btx_ice_table_free(t);

	rc = commit_file(&s, "s3://bucket/t", 0, "s3://bucket/t/data/created_day=2022-01-08/a.parquet", 19000, 11, &t, &err);
	check("first append commits v2, sequence 1", rc == 0 && t && btx_ice_table_version(t) == 2 &&
		  btx_ice_table_last_sequence(t) == 1 && btx_ice_table_current_snapshot(t) == 11 &&
		  strcmp(btx_ice_table_summary(t, -1, "operation"), "append") == 0 &&
		  strcmp(btx_ice_table_summary(t, -1, "total-records"), "3") == 0 &&
		  strcmp(btx_ice_table_summary(t, -1, "btexport.run-id"), "7") == 0);
	check("a snapshot is found by a summary value, and only by its own",
		  btx_ice_table_find_snapshot(t, "btexport.run-id", "7") == 11 &&
		  btx_ice_table_find_snapshot(t, "btexport.run-id", "8") == -1 &&
		  btx_ice_table_find_snapshot(t, "no-such-key", "7") == -1);
	btx_ice_table_free(t);
	rc = commit_file(&s, "s3://bucket/t", 2, "s3://bucket/t/data/created_day=2022-01-08/d.parquet", 19000, 12, &t, &err);
	check("a delete-only commit is a 'delete' snapshot, sequence 2",
		  rc == 0 && t && btx_ice_table_last_sequence(t) == 2 &&
		  strcmp(btx_ice_table_summary(t, -1, "operation"), "delete") == 0 &&
		  strcmp(btx_ice_table_summary(t, -1, "total-equality-deletes"), "3") == 0 &&
		  strcmp(btx_ice_table_summary(t, -1, "total-delete-files"), "1") == 0);
	check("live files resolve inherited sequence numbers",
		  t && btx_ice_live_files(t, &io, &live, &nlive, &err) == 0 && nlive == 2 &&
		  ((live[0].file.content == 0 && live[0].sequence_number == 1 && live[1].sequence_number == 2) ||
		   (live[1].file.content == 0 && live[1].sequence_number == 1 && live[0].sequence_number == 2)));
	if (t)
		btx_ice_entries_free(live, nlive);
	btx_ice_table_free(t);

	/* two writers plan version 4 on the same base: the second loses */
	t = btx_ice_table_load("s3://bucket/t", &io, &err);
	{
		btx_ice_commit_opts o = {BTX_ICE_OP_APPEND, 21, "c21", 1700000100000, NULL, 0, "null"};
		btx_ice_commit *a = btx_ice_commit_new(&o, &err);
		btx_ice_commit *b;

		o.snapshot_id = 22;
		o.commit_uuid = "c22";
		b = btx_ice_commit_new(&o, &err);
		make_file(&f, "s3://bucket/t/data/created_day=2022-01-08/x.parquet", 0, 19000);
		btx_ice_commit_add(a, &f, -1, &err);
		btx_ice_data_file_free(&f);
		make_file(&f, "s3://bucket/t/data/created_day=2022-01-08/y.parquet", 0, 19000);
		btx_ice_commit_add(b, &f, -1, &err);
		btx_ice_data_file_free(&f);
		check("both plan v4", btx_ice_commit_plan(a, t, &io, &p1, &err) == 0 &&
			  btx_ice_commit_plan(b, t, &io, &p2, &err) == 0 &&
			  btx_ice_table_version(p1.next) == 4 && btx_ice_table_version(p2.next) == 4);
		check("the first commit wins", btx_ice_plan_execute(&p1, &io, &err) == 0);
		check("the second gets a conflict", btx_ice_plan_execute(&p2, &io, &err) != 0 &&
			  err.code == BTX_ICE_E_CONFLICT && strcmp(err.sqlstate, "40001") == 0);
		btx_ice_plan_free(&p1);
		btx_ice_plan_free(&p2);
		check("the loser's run retries on v5", btx_ice_commit_run(b, "s3://bucket/t", &io, 3, &t2, &err) == 0 &&
			  btx_ice_table_version(t2) == 5 && btx_ice_table_last_sequence(t2) == 4);
		btx_ice_table_free(t2);
		check("running a committed commit again is a no-op",
			  btx_ice_commit_run(b, "s3://bucket/t", &io, 3, &t2, &err) == 0 && btx_ice_table_version(t2) == 5);
		btx_ice_table_free(t2);
		btx_ice_commit_free(a);
		btx_ice_commit_free(b);
	}
	btx_ice_table_free(t);

	/* a stale hint: load probes past it */
	st_write(&s, "s3://bucket/t/metadata/version-hint.text", "2", 1, 0, &err);
	t = btx_ice_table_load("s3://bucket/t", &io, &err);
	check("load probes past a stale hint", t && btx_ice_table_version(t) == 5);

	/* replace: compact the two data files into one; a missing file is a conflict */
	{
		btx_ice_commit_opts o = {BTX_ICE_OP_REPLACE, 31, NULL, 1700000200000, NULL, 0, NULL};

		c = btx_ice_commit_new(&o, &err);
		make_file(&f, "s3://bucket/t/data/created_day=2022-01-08/compact.parquet", 0, 19000);
		btx_ice_commit_add(c, &f, 4, &err);
		btx_ice_data_file_free(&f);
		btx_ice_commit_remove(c, "s3://bucket/t/data/created_day=2022-01-08/a.parquet", &err);
		btx_ice_commit_remove(c, "s3://bucket/t/data/created_day=2022-01-08/nope.parquet", &err);
		check("replace of a file not in the table: conflict",
			  btx_ice_commit_run(c, "s3://bucket/t", &io, 3, NULL, &err) != 0 &&
			  err.code == BTX_ICE_E_CONFLICT && strstr(err.detail, "nope.parquet"));
		btx_ice_commit_free(c);
		c = btx_ice_commit_new(&o, &err);
		make_file(&f, "s3://bucket/t/data/created_day=2022-01-08/compact.parquet", 0, 19000);
		btx_ice_commit_add(c, &f, 4, &err);
		btx_ice_data_file_free(&f);
		btx_ice_commit_remove(c, "s3://bucket/t/data/created_day=2022-01-08/a.parquet", &err);
		btx_ice_commit_remove(c, "s3://bucket/t/data/created_day=2022-01-08/x.parquet", &err);
		btx_ice_commit_remove(c, "s3://bucket/t/data/created_day=2022-01-08/y.parquet", &err);
		btx_ice_commit_remove(c, "s3://bucket/t/data/created_day=2022-01-08/d.parquet", &err);
		rc = btx_ice_commit_run(c, "s3://bucket/t", &io, 3, &t2, &err);
		if (rc != 0)
			printf("     %s: %s\n", err.message, err.detail);
		check("replace commits", rc == 0 && t2 &&
			  strcmp(btx_ice_table_summary(t2, -1, "operation"), "replace") == 0 &&
			  strcmp(btx_ice_table_summary(t2, -1, "deleted-data-files"), "3") == 0 &&
			  strcmp(btx_ice_table_summary(t2, -1, "removed-delete-files"), "1") == 0 &&
			  strcmp(btx_ice_table_summary(t2, -1, "total-data-files"), "1") == 0 &&
			  strcmp(btx_ice_table_summary(t2, -1, "total-delete-files"), "0") == 0);
		check("after the replace one live file with data sequence 4",
			  t2 && btx_ice_live_files(t2, &io, &live, &nlive, &err) == 0 && nlive == 1 &&
			  live[0].sequence_number == 4 && live[0].file_sequence_number == 5 &&
			  strstr(live[0].file.path, "compact.parquet"));
		if (t2)
			btx_ice_entries_free(live, nlive);
		btx_ice_commit_free(c);
	}

	/* referenced: every snapshot's list, manifests and files, replaced ones too; nothing else */
	if (t2)
	{
		char	  **refs = NULL;
		int			nrefs = 0;
		int			i;
		int			lists = 0;
		int			sorted = 1;

		rc = btx_ice_referenced(t2, &io, &refs, &nrefs, &err);
		for (i = 0; rc == 0 && i < nrefs; i++)
		{
			lists += strstr(refs[i], "/snap-") != NULL;
			if (i > 0 && strcmp(refs[i - 1], refs[i]) >= 0)
				sorted = 0;
		}
		check("referenced: 5 manifest lists, sorted, without duplicates",
			  rc == 0 && lists == 5 && sorted);
		check("referenced: the live compacted file and the replaced a.parquet",
			  rc == 0 &&
			  btx_ice_is_referenced(refs, nrefs, "s3://bucket/t/data/created_day=2022-01-08/compact.parquet") &&
			  btx_ice_is_referenced(refs, nrefs, "s3://bucket/t/data/created_day=2022-01-08/a.parquet"));
		check("referenced: not a file no commit added, nor a metadata file",
			  rc == 0 &&
			  !btx_ice_is_referenced(refs, nrefs, "s3://bucket/t/data/created_day=2022-01-08/nope.parquet") &&
			  !btx_ice_is_referenced(refs, nrefs, "s3://bucket/t/metadata/v1.metadata.json"));
		btx_ice_referenced_free(refs, nrefs);
	}

	/* expiry: keep the last snapshot only; files only older snapshots referenced go */
	if (t2)
	{
		btx_ice_table *t3;

		rc = btx_ice_expire_plan(t2, 1, INT64_MAX, 1700000300000, &io, &p1, &err);
		check("expiry plan drops 4 of 5 snapshots", rc == 0 && p1.next &&
			  btx_ice_table_snapshot_count(p1.next) == 1 && p1.nobjects == 2 &&
			  p1.objects[0].if_none_match);
		{
			int			i;
			int			data_a = 0;
			int			compact = 0;
			int			lists = 0;

			for (i = 0; i < p1.ndeletable; i++)
			{
				data_a += strstr(p1.deletable[i], "/a.parquet") != NULL;
				compact += strstr(p1.deletable[i], "compact.parquet") != NULL;
				lists += strstr(p1.deletable[i], "/snap-") != NULL;
			}
			check("deletable: replaced files and expired manifest lists, not live files",
				  data_a == 1 && compact == 0 && lists == 4);
		}
		check("expiry commits", btx_ice_plan_execute(&p1, &io, &err) == 0);
		t3 = btx_ice_table_load("s3://bucket/t", &io, &err);
		check("the expired table keeps its current snapshot",
			  t3 && btx_ice_table_current_snapshot(t3) == 31 && btx_ice_table_snapshot_count(t3) == 1);
		btx_ice_plan_free(&p1);
		check("nothing more to expire: an empty plan",
			  t3 && btx_ice_expire_plan(t3, 1, INT64_MAX, 1700000300000, &io, &p1, &err) == 0 &&
			  p1.nobjects == 0 && p1.next == NULL);
		btx_ice_plan_free(&p1);
		btx_ice_table_free(t3);
	}
	btx_ice_table_free(t2);
	btx_ice_table_free(t);

	/* write failures surface as I/O errors; nothing is committed */
	s.fail_writes = 1;
	check("a failing store: the commit fails with an I/O error",
		  commit_file(&s, "s3://bucket/t", 0, "s3://bucket/t/data/created_day=2022-01-08/z.parquet", 19000, 41, NULL, &err) != 0 &&
		  err.code == BTX_ICE_E_IO);
	s.fail_writes = 0;
	store_free(&s);
}

int
main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	test_bounds();
	test_metadata();
	test_manifests();
	test_writer();
	test_commits();
	printf("%d passed, %d failed\n", n_pass, n_fail);
	return n_fail ? 1 : 0;
}
