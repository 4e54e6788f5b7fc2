/*
 * driver.c — writes an Iceberg table with src/core/iceberg into a local
 * folder that stands for s3://btx-ice-test/ (the S3 I/O of the backend is a
 * test double here: files, with link(2) as the conditional create), so that
 * independent readers can check it after every commit (test/iceberg/run.sh).
 *
 *   driver <root> <table> step <n>   perform step n of the story below (steps
 *                                    1..n-1 must have run), then write
 *                                    <root>/<table>.expected.json: the latest
 *                                    version of every span, as a reader must see it
 *   driver <root> <table> race       two writers commit the same version
 *   driver <root> <table> neg-seq    negative control: an update whose equality
 *                                    delete is committed after its new rows
 *   driver <root> <table> neg-ids    negative control: a data file whose
 *                                    Parquet field ids are not the table's
 *
 * The story (span-like rows, deterministic): 1 create day(created) and
 * append 40 spans over 3 days; 2 append 30 and update 10 (equality deletes +
 * new rows in one snapshot); 3 update 6 (some updated before) and append 10;
 * 4 compaction of every live file (a replace snapshot at the base's sequence
 * number); 5 update 4 after the compaction; 6 expire all but the last 2
 * snapshots and delete what they alone referenced; 7 another append with
 * updates.  The model replays steps 1..n-1 without I/O, so each invocation
 * knows the expected state.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/iceberg/iceberg.h"

#define BUCKET		"s3://btx-ice-test/"
#define MAXSPANS	200
#define DAY_US		INT64_C(86400000000)
#define BASE_DAY	19700		/* 2023-12-09 */

static const char *root;

static const btx_ice_field fields[] = {
	{1, "id", BTX_ICE_STRING, 0, 0},
	{2, "span_id", BTX_ICE_STRING, 0, 0},
	{3, "root_span_id", BTX_ICE_STRING, 0, 0},
	{4, "created", BTX_ICE_TIMESTAMPTZ, 0, 0},
	{5, "name", BTX_ICE_STRING, 0, 0},
	{6, "input", BTX_ICE_STRING, 0, 1},
	{7, "output", BTX_ICE_STRING, 0, 1},
	{8, "tags", BTX_ICE_LIST_STRING, 13, 0},
	{9, "score", BTX_ICE_DOUBLE, 0, 0},
	{10, "tokens", BTX_ICE_LONG, 0, 0},
	{11, "is_root", BTX_ICE_BOOLEAN, 0, 0},
	{12, "_xact_id", BTX_ICE_STRING, 0, 0},
};
#define NFIELDS 12

/* model: version of span k (0 = not in the table) and the step that wrote it */
static int	version[MAXSPANS];
static int	xact[MAXSPANS];

static void
die(const char *what, const btx_error *err)
{
	fprintf(stderr, "driver: %s: %s%s%s\n", what, err ? err->message : strerror(errno),
			err && err->detail[0] ? " -- " : "", err ? err->detail : "");
	exit(2);
}

/* ---------- local "S3" ---------- */

static void
local_path(const char *uri, char *out, size_t n)
{
	if (strncmp(uri, BUCKET, strlen(BUCKET)) != 0)
	{
		fprintf(stderr, "driver: uri outside the bucket: %s\n", uri);
		exit(2);
	}
	snprintf(out, n, "%s/%s", root, uri + strlen(BUCKET));
}

static void
mkdirs(const char *path)
{
	char		tmp[4096];
	char	   *p;

	snprintf(tmp, sizeof(tmp), "%s", path);
	for (p = tmp + 1; *p; p++)
		if (*p == '/')
		{
			*p = '\0';
			mkdir(tmp, 0755);
			*p = '/';
		}
}

static int
fs_read(void *ctx, const char *uri, btx_buf *out, btx_error *err)
{
	char		path[4096];
	char		b[65536];
	FILE	   *f;
	size_t		n;

	local_path(uri, path, sizeof(path));
	f = fopen(path, "rb");
	if (f == NULL)
	{
		if (errno == ENOENT)
			return BTX_ICE_IO_NOT_FOUND;
		btx_error_set(err, BTX_ICE_E_IO, "58030", "could not open %s: %s", path, strerror(errno));
		return -1;
	}
	while ((n = fread(b, 1, sizeof(b), f)) > 0)
		btx_buf_append(out, b, n);
	fclose(f);
	return 0;
}

/* conditional create = write a temporary file, then link(2): fails if the name exists */
static int
fs_write(void *ctx, const char *uri, const void *data, size_t len, int if_none_match, btx_error *err)
{
	char		path[4096];
	char		tmp[4200];
	FILE	   *f;

	local_path(uri, path, sizeof(path));
	mkdirs(path);
	snprintf(tmp, sizeof(tmp), "%s.tmp-%d", path, (int) getpid());
	f = fopen(tmp, "wb");
	if (f == NULL || fwrite(data, 1, len, f) != len || fclose(f) != 0)
	{
		btx_error_set(err, BTX_ICE_E_IO, "58030", "could not write %s", tmp);
		return -1;
	}
	if (if_none_match)
	{
		int			rc = link(tmp, path);
		int			e = errno;

		unlink(tmp);
		if (rc == 0)
			return 0;
		if (e == EEXIST)
			return BTX_ICE_IO_EXISTS;
		btx_error_set(err, BTX_ICE_E_IO, "58030", "could not link %s: %s", path, strerror(e));
		return -1;
	}
	if (rename(tmp, path) != 0)
	{
		btx_error_set(err, BTX_ICE_E_IO, "58030", "could not rename %s", tmp);
		return -1;
	}
	return 0;
}

static btx_ice_io io = {fs_read, fs_write, NULL};

/* ---------- rows ---------- */

static int64_t
created_of(int k)
{
	/* 3 days; microseconds with sub-millisecond digits */
	return (int64_t) (BASE_DAY + k % 3) * DAY_US + (int64_t) k * 7919 * 1000003 % DAY_US;
}

static int
file_sink(void *ctx, const void *data, size_t len)
{
	return fwrite(data, 1, len, (FILE *) ctx) == len ? 0 : -1;
}

static void
write_row(btx_pq_writer *pq, int k, int v, int step)
{
	char		s[256];
	btx_error	err;

	snprintf(s, sizeof(s), "span-%03d", k);
	btx_pq_bytes(pq, 0, s, strlen(s));
	snprintf(s, sizeof(s), "s%03d", k);
	btx_pq_bytes(pq, 1, s, strlen(s));
	snprintf(s, sizeof(s), "r%03d", k / 4);
	btx_pq_bytes(pq, 2, s, strlen(s));
	btx_pq_int64(pq, 3, created_of(k));
	snprintf(s, sizeof(s), "call \xc3\xa9t\xc3\xa9 %d", k);
	btx_pq_bytes(pq, 4, s, strlen(s));
	snprintf(s, sizeof(s), "{\"q\":\"question %d\"}", k);
	btx_pq_bytes(pq, 5, s, strlen(s));
	snprintf(s, sizeof(s), "{\"v\":%d}", v);
	btx_pq_bytes(pq, 6, s, strlen(s));
	if (k % 7 == 0)
		btx_pq_null(pq, 7);
	else
	{
		btx_pq_list_begin(pq, 7);
		if (v % 3 != 0)
		{
			snprintf(s, sizeof(s), "v%d", v);
			btx_pq_list_item(pq, 7, s, strlen(s));
			snprintf(s, sizeof(s), "k%d", k % 3);
			btx_pq_list_item(pq, 7, s, strlen(s));
		}
		btx_pq_list_end(pq, 7);
	}
	if ((k + v) % 5 == 0)
		btx_pq_null(pq, 8);
	else
		btx_pq_double(pq, 8, ((k * 7 + v) % 11) * 0.25 - 1.0);
	btx_pq_int64(pq, 9, (int64_t) k * 100 + v);
	btx_pq_bool(pq, 10, k % 4 == 0);
	snprintf(s, sizeof(s), "1000%02d", step);
	btx_pq_bytes(pq, 11, s, strlen(s));
	if (btx_pq_end_row(pq, &err) != 0)
		die("row", &err);
}

/*
 * Write one data file per day for the spans in list (their model versions)
 * and, for ids in upd, one equality delete file per day; add all to c.
 */
static void
write_files(const btx_ice_table *t, const btx_ice_table *writer_table, btx_ice_commit *c,
			const int *list, int n, const int *upd, int nupd, int step, const char *tag,
			int64_t data_seq)
{
	int			d;

	for (d = 0; d < 3; d++)
	{
		int			content;

		for (content = 0; content < 2; content++)
		{
			const int  *ks = content ? upd : list;
			int			nk = content ? nupd : n;
			btx_ice_partition p = {0, BASE_DAY + d};
			char		name[128];
			char		path[4096];
			btx_buf		uri;
			btx_ice_writer *w;
			btx_ice_data_file f;
			btx_error	err;
			FILE	   *fp;
			int			i;
			int			rows = 0;

			for (i = 0; i < nk; i++)
				rows += ks[i] % 3 == d;
			if (rows == 0)
				continue;
			snprintf(name, sizeof(name), "%s-%d-%s.parquet", tag, d, content ? "eqdel" : "data");
			btx_buf_init(&uri);
			if (btx_ice_file_uri(t, content ? BTX_ICE_EQUALITY_DELETES : BTX_ICE_DATA, &p, name, &uri, &err) != 0)
				die("uri", &err);
			local_path(uri.data, path, sizeof(path));
			mkdirs(path);
			fp = fopen(path, "wb");
			if (fp == NULL)
				die(path, NULL);
			w = btx_ice_writer_open(writer_table, content ? BTX_ICE_EQUALITY_DELETES : BTX_ICE_DATA,
									&p, NULL, file_sink, fp, &err);
			if (w == NULL)
				die("writer", &err);
			for (i = 0; i < nk; i++)
			{
				if (ks[i] % 3 != d)
					continue;
				if (content)
				{
					char		id[32];

					snprintf(id, sizeof(id), "span-%03d", ks[i]);
					if (btx_ice_writer_delete_id(w, id, strlen(id), &err) != 0)
						die("delete id", &err);
				}
				else
					write_row(btx_ice_writer_pq(w), ks[i], version[ks[i]], xact[ks[i]]);
			}
			if (btx_ice_writer_close(w, uri.data, &f, &err) != 0)
				die("close", &err);
			fclose(fp);
			btx_ice_writer_free(w);
			if (c && btx_ice_commit_add(c, &f, content ? -1 : data_seq, &err) != 0)
				die("add", &err);
			btx_ice_data_file_free(&f);
			btx_buf_free(&uri);
		}
	}
}

static btx_ice_commit *
new_commit(btx_ice_op op, int step, int64_t snap)
{
	char		run[16];
	char		cur[32];
	btx_ice_kv	kv[3];
	btx_ice_commit_opts o;
	btx_ice_commit *c;
	btx_error	err;

	snprintf(run, sizeof(run), "%d", step);
	snprintf(cur, sizeof(cur), "%d", step * 100);
	kv[0] = (btx_ice_kv) {"btexport.run-id", run};
	kv[1] = (btx_ice_kv) {"btexport.cursor-start", cur};
	kv[2] = (btx_ice_kv) {"btexport.cursor-end", cur};
	memset(&o, 0, sizeof(o));
	o.op = op;
	o.snapshot_id = snap;
	o.now_ms = INT64_C(1702100000000) + step * 60000;
	o.summary = kv;
	o.nsummary = 3;
	c = btx_ice_commit_new(&o, &err);
	if (c == NULL)
		die("commit", &err);
	return c;
}

static void
commit(btx_ice_commit *c, const char *loc)
{
	btx_error	err;
	btx_ice_table *t;

	if (btx_ice_commit_run(c, loc, &io, 5, &t, &err) != 0)
		die("commit run", &err);
	printf("committed v%d snapshot %lld sequence %lld (%s)\n", btx_ice_table_version(t),
		   (long long) btx_ice_table_current_snapshot(t), (long long) btx_ice_table_last_sequence(t),
		   btx_ice_table_summary(t, -1, "operation"));
	btx_ice_table_free(t);
	btx_ice_commit_free(c);
}

/* inserts [a, b) and updates of the spans in upd, in one snapshot */
static void
run_step(const char *loc, int step, int a, int b, const int *upd, int nupd, int io_on)
{
	int			list[MAXSPANS];
	int			n = 0;
	int			i;
	btx_ice_table *t;
	btx_ice_commit *c;
	btx_error	err;

	for (i = a; i < b; i++)
	{
		version[i] = 1;
		xact[i] = step;
		list[n++] = i;
	}
	for (i = 0; i < nupd; i++)
	{
		version[upd[i]]++;
		xact[upd[i]] = step;
		list[n++] = upd[i];
	}
	if (!io_on)
		return;
	t = btx_ice_table_load(loc, &io, &err);
	if (t == NULL)
		die("load", &err);
	c = new_commit(BTX_ICE_OP_APPEND, step, 0);
	{
		char		tag[32];

		snprintf(tag, sizeof(tag), "run%d", step);
		write_files(t, t, c, list, n, upd, nupd, step, tag, -1);
	}
	commit(c, loc);
	btx_ice_table_free(t);
}

static btx_ice_table *
create(const char *loc)
{
	btx_ice_table_def d;
	btx_ice_table *t;
	btx_error	err;

	memset(&d, 0, sizeof(d));
	d.location = loc;
	d.fields = fields;
	d.nfields = NFIELDS;
	d.identifier_id = 1;
	d.day_source_id = 4;
	d.sort_source_id = 4;
	d.now_ms = INT64_C(1702100000000);
	t = btx_ice_table_create_or_load(&d, &io, &err);
	if (t == NULL)
		die("create", &err);
	return t;
}

/* step 4: rewrite every live file from the model at the base's sequence number */
static void
compact(const char *loc)
{
	btx_ice_table *t;
	btx_ice_entry *live;
	int			nlive;
	int			list[MAXSPANS];
	int			n = 0;
	int			i;
	btx_ice_commit *c;
	btx_error	err;

	t = btx_ice_table_load(loc, &io, &err);
	if (t == NULL || btx_ice_live_files(t, &io, &live, &nlive, &err) != 0)
		die("compaction load", &err);
	for (i = 0; i < MAXSPANS; i++)
		if (version[i])
			list[n++] = i;
	c = new_commit(BTX_ICE_OP_REPLACE, 4, 0);
	write_files(t, t, c, list, n, NULL, 0, 4, "compact4", btx_ice_table_last_sequence(t));
	for (i = 0; i < nlive; i++)
		if (btx_ice_commit_remove(c, live[i].file.path, &err) != 0)
			die("remove", &err);
	printf("compaction replaces %d files\n", nlive);
	btx_ice_entries_free(live, nlive);
	commit(c, loc);
	btx_ice_table_free(t);
}

static void
expire(const char *loc)
{
	btx_ice_table *t;
	btx_ice_plan p;
	btx_error	err;
	int			i;

	t = btx_ice_table_load(loc, &io, &err);
	if (t == NULL || btx_ice_expire_plan(t, 2, INT64_MAX, INT64_C(1702100000000) + 6 * 60000, &io, &p, &err) != 0)
		die("expire plan", &err);
	if (btx_ice_plan_execute(&p, &io, &err) != 0)
		die("expire commit", &err);
	for (i = 0; i < p.ndeletable; i++)
	{
		char		path[4096];

		local_path(p.deletable[i], path, sizeof(path));
		if (unlink(path) != 0)
			die(path, NULL);
	}
	printf("expired to v%d: %d snapshots left, %d files deleted\n", btx_ice_table_version(p.next),
		   btx_ice_table_snapshot_count(p.next), p.ndeletable);
	btx_ice_plan_free(&p);
	btx_ice_table_free(t);
}

static const int upd2[] = {5, 6, 7, 8, 9, 10, 11, 12, 13, 14};
static const int upd3[] = {10, 11, 12, 60, 61, 62};
static const int upd5[] = {0, 1, 2, 3};
static const int upd7[] = {20, 21, 75};

static void
story(const char *loc, int step, int io_on)
{
	btx_ice_table *t;

	switch (step)
	{
		case 1:
			if (io_on)
			{
				t = create(loc);
				btx_ice_table_free(t);
			}
			run_step(loc, 1, 0, 40, NULL, 0, io_on);
			break;
		case 2:
			run_step(loc, 2, 40, 70, upd2, 10, io_on);
			break;
		case 3:
			run_step(loc, 3, 70, 80, upd3, 6, io_on);
			break;
		case 4:
			if (io_on)
				compact(loc);
			break;
		case 5:
			run_step(loc, 5, 0, 0, upd5, 4, io_on);
			break;
		case 6:
			if (io_on)
				expire(loc);
			break;
		case 7:
			run_step(loc, 7, 80, 90, upd7, 3, io_on);
			break;
		default:
			fprintf(stderr, "driver: no step %d\n", step);
			exit(2);
	}
}

/* the spans a reader must see: one row per id, its latest version */
static void
write_expected(const char *table)
{
	char		path[4096];
	FILE	   *f;
	int			k;
	int			first = 1;

	snprintf(path, sizeof(path), "%s/%s.expected.json", root, table);
	f = fopen(path, "w");
	if (f == NULL)
		die(path, NULL);
	fprintf(f, "[");
	for (k = 0; k < MAXSPANS; k++)
	{
		int			v = version[k];

		if (!v)
			continue;
		fprintf(f, "%s\n{\"id\":\"span-%03d\",\"span_id\":\"s%03d\",\"root_span_id\":\"r%03d\","
				"\"created\":%lld,\"name\":\"call \xc3\xa9t\xc3\xa9 %d\",\"input\":\"{\\\"q\\\":\\\"question %d\\\"}\","
				"\"output\":\"{\\\"v\\\":%d}\",", first ? "" : ",", k, k, k / 4,
				(long long) created_of(k), k, k, v);
		if (k % 7 == 0)
			fprintf(f, "\"tags\":null,");
		else if (v % 3 == 0)
			fprintf(f, "\"tags\":[],");
		else
			fprintf(f, "\"tags\":[\"v%d\",\"k%d\"],", v, k % 3);
		if ((k + v) % 5 == 0)
			fprintf(f, "\"score\":null,");
		else
			fprintf(f, "\"score\":%.17g,", ((k * 7 + v) % 11) * 0.25 - 1.0);
		fprintf(f, "\"tokens\":%d,\"is_root\":%s,\"_xact_id\":\"1000%02d\"}", k * 100 + v,
				k % 4 == 0 ? "true" : "false", xact[k]);
		first = 0;
	}
	fprintf(f, "\n]\n");
	fclose(f);
}

/* two writers plan the same version; exactly one wins it, the other retries */
static void
race(const char *loc)
{
	btx_ice_table *t;
	btx_ice_commit *a;
	btx_ice_commit *b;
	btx_ice_plan pa;
	btx_ice_plan pb;
	btx_error	err;
	int			la[5] = {100, 101, 102, 103, 104};
	int			lb[5] = {110, 111, 112, 113, 114};
	int			ra;
	int			rb;
	int			i;

	t = btx_ice_table_load(loc, &io, &err);
	if (t == NULL)
		die("load", &err);
	for (i = 0; i < 5; i++)
	{
		version[la[i]] = version[lb[i]] = 1;
		xact[la[i]] = xact[lb[i]] = 8;
	}
	a = new_commit(BTX_ICE_OP_APPEND, 8, 0);
	b = new_commit(BTX_ICE_OP_APPEND, 8, 0);
	write_files(t, t, a, la, 5, NULL, 0, 8, "racea", -1);
	write_files(t, t, b, lb, 5, NULL, 0, 8, "raceb", -1);
	if (btx_ice_commit_plan(a, t, &io, &pa, &err) != 0 || btx_ice_commit_plan(b, t, &io, &pb, &err) != 0)
		die("race plan", &err);
	ra = btx_ice_plan_execute(&pb, &io, &err);
	printf("race: writer B commits v%d: %s\n", btx_ice_table_version(pb.next), ra == 0 ? "won" : err.message);
	rb = btx_ice_plan_execute(&pa, &io, &err);
	printf("race: writer A commits v%d: %s\n", btx_ice_table_version(pa.next),
		   rb == 0 ? "won" : err.code == BTX_ICE_E_CONFLICT ? "conflict" : err.message);
	if (ra != 0 || rb == 0 || err.code != BTX_ICE_E_CONFLICT)
	{
		fprintf(stderr, "driver: race: expected exactly one winner\n");
		exit(1);
	}
	btx_ice_plan_free(&pa);
	btx_ice_plan_free(&pb);
	printf("race: exactly one writer won; A retries\n");
	commit(a, loc);				/* retries on the next version */
	btx_ice_commit_free(b);
	btx_ice_table_free(t);
}

int
main(int argc, char **argv)
{
	char		loc[1024];
	const char *table;
	const char *cmd;
	int			step;
	int			i;

	if (argc < 4)
	{
		fprintf(stderr, "usage: driver <root> <table> step <n> | race | neg-seq | neg-ids\n");
		return 2;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	root = argv[1];
	table = argv[2];
	cmd = argv[3];
	snprintf(loc, sizeof(loc), BUCKET "%s", table);
	if (strcmp(cmd, "step") == 0 && argc == 5)
	{
		step = atoi(argv[4]);
		for (i = 1; i < step; i++)
			story(loc, i, 0);
		story(loc, step, 1);
	}
	else if (strcmp(cmd, "race") == 0)
	{
		for (i = 1; i <= 7; i++)
			story(loc, i, 0);
		race(loc);
	}
	else if (strcmp(cmd, "neg-seq") == 0)
	{
		/* the update's new rows in one snapshot, its delete in a later one: the delete's
		 * sequence number is greater than the new rows', so it deletes them too */
		btx_ice_table *t;
		btx_ice_commit *c;
		btx_error	err;
		int			list[40];

		story(loc, 1, 1);
		for (i = 0; i < 4; i++)
		{
			version[upd5[i]]++;
			xact[upd5[i]] = 2;
			list[i] = upd5[i];
		}
		t = btx_ice_table_load(loc, &io, &err);
		c = new_commit(BTX_ICE_OP_APPEND, 2, 0);
		write_files(t, t, c, list, 4, NULL, 0, 2, "negseq-data", -1);
		commit(c, loc);
		c = new_commit(BTX_ICE_OP_APPEND, 3, 0);
		write_files(t, t, c, NULL, 0, list, 4, 3, "negseq-del", -1);
		commit(c, loc);
		btx_ice_table_free(t);
	}
	else if (strcmp(cmd, "neg-ids") == 0)
	{
		/* data files written for a schema whose ids of score and tokens are swapped */
		btx_ice_field swapped[NFIELDS];
		btx_ice_table_def d;
		btx_ice_table *t;
		btx_ice_table *w;
		btx_ice_commit *c;
		btx_error	err;
		int			list[10];

		story(loc, 1, 1);
		memcpy(swapped, fields, sizeof(fields));
		swapped[8].id = 10;
		swapped[9].id = 9;
		memset(&d, 0, sizeof(d));
		d.location = loc;
		d.fields = swapped;
		d.nfields = NFIELDS;
		d.identifier_id = 1;
		d.day_source_id = 4;
		w = btx_ice_table_create(&d, &err);
		t = btx_ice_table_load(loc, &io, &err);
		if (w == NULL || t == NULL)
			die("neg-ids", &err);
		for (i = 0; i < 10; i++)
		{
			version[40 + i] = 1;
			xact[40 + i] = 2;
			list[i] = 40 + i;
		}
		c = new_commit(BTX_ICE_OP_APPEND, 2, 0);
		write_files(t, w, c, list, 10, NULL, 0, 2, "negids", -1);
		commit(c, loc);
		btx_ice_table_free(w);
		btx_ice_table_free(t);
	}
	else
	{
		fprintf(stderr, "driver: unknown command %s\n", cmd);
		return 2;
	}
	write_expected(table);
	return 0;
}
