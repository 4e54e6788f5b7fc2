/*
 * bench — write N synthetic span-like rows as Parquet (each codec) and as
 * JSON Lines (plain, gzip, zstd) and report CPU time and MB/s.  Row
 * generation is timed on its own and subtracted.
 * usage: bench [rows] [outdir]   (default 1000000; with outdir the files
 * are written there for size comparisons, e.g. with sizecmp.mjs)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/format/compress.h"
#include "core/format/parquet.h"

#define NCOLS 13

typedef struct span
{
	char		id[40];
	char		root[40];
	char		name[32];
	char		type[16];
	char		input[512];
	char		output[512];
	char		meta[128];
	int64_t		created;
	int64_t		tokens;
	double		duration;
	int			is_root;
	int			ntags;
	const char *tags[3];
	int			has_output;
} span;

static const btx_pq_column cols[NCOLS] = {
	{"id", BTX_PQ_STRING, 0}, {"root_span_id", BTX_PQ_STRING, 0}, {"name", BTX_PQ_STRING, 0},
	{"span_type", BTX_PQ_STRING, 0}, {"input", BTX_PQ_JSON, 0}, {"output", BTX_PQ_JSON, 0},
	{"metadata", BTX_PQ_JSON, 0}, {"created", BTX_PQ_TIMESTAMP, 0}, {"prompt_tokens", BTX_PQ_INT64, 0},
	{"duration", BTX_PQ_DOUBLE, 0}, {"is_root", BTX_PQ_BOOLEAN, 0}, {"tags", BTX_PQ_LIST_STRING, 0},
	{"xact_id", BTX_PQ_INT64, 0},
};

static uint64_t rng = 88172645463325252ull;
static uint64_t
next(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

static void
gen(span *s, long i)
{
	static const char *names[] = {"chat", "retrieve", "rerank", "tool:search", "tool:calc", "score"};
	static const char *types[] = {"llm", "task", "tool", "score"};
	static const char *tagv[] = {"prod", "eval", "beta", "customer-a", "customer-b"};
	static const char *words[] = {"the", "user", "asked", "about", "pricing", "for", "plan", "a", "model", "answer"};
	uint64_t	r = next();
	int			k;
	int			n;
	size_t		o;

	snprintf(s->id, sizeof(s->id), "%08lx-%04x-%04x-%012llx", (long) i, (unsigned) (r & 0xFFFF),
			 (unsigned) ((r >> 16) & 0xFFFF), (unsigned long long) (r >> 20));
	snprintf(s->root, sizeof(s->root), "root-%08lx", (long) (i / 6));
	snprintf(s->name, sizeof(s->name), "%s", names[r % 6]);
	snprintf(s->type, sizeof(s->type), "%s", types[(r >> 8) % 4]);
	o = (size_t) snprintf(s->input, sizeof(s->input), "{\"messages\":[{\"role\":\"user\",\"content\":\"");
	n = 10 + (int) ((r >> 12) % 50);
	for (k = 0; k < n && o < sizeof(s->input) - 40; k++)
		o += (size_t) snprintf(s->input + o, sizeof(s->input) - o, "%s ", words[next() % 10]);
	snprintf(s->input + o, sizeof(s->input) - o, "\"}]}");
	s->has_output = (r >> 20) % 10 != 0;
	o = (size_t) snprintf(s->output, sizeof(s->output), "{\"content\":\"");
	n = 5 + (int) ((r >> 24) % 40);
	for (k = 0; k < n && o < sizeof(s->output) - 40; k++)
		o += (size_t) snprintf(s->output + o, sizeof(s->output) - o, "%s ", words[next() % 10]);
	snprintf(s->output + o, sizeof(s->output) - o, "\",\"n\":%d}", (int) (r % 1000));
	snprintf(s->meta, sizeof(s->meta), "{\"model\":\"%s\",\"temperature\":%d}",
			 (r >> 30) % 3 ? "gpt-4o" : "claude-3-5-sonnet", (int) ((r >> 33) % 3));
	s->created = 1700000000000000LL + i * 1000 + (int64_t) ((r >> 36) % 1000);
	s->tokens = (int64_t) ((r >> 40) % 4000);
	s->duration = (double) ((r >> 44) % 100000) / 1000.0;
	s->is_root = i % 6 == 0;
	s->ntags = (int) ((r >> 50) % 3);
	for (k = 0; k < s->ntags; k++)
		s->tags[k] = tagv[(r >> (52 + 3 * k)) % 5];
}

typedef struct counter
{
	uint64_t	n;
	FILE	   *f;
} counter;

static int
count_sink(void *ctx, const void *data, size_t len)
{
	counter    *c = ctx;

	c->n += len;
	if (c->f && fwrite(data, 1, len, c->f) != len)
		return -1;
	return 0;
}

static double
cpu_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void
json_str(btx_buf *b, const char *s)
{
	btx_buf_putc(b, '"');
	for (; *s; s++)
	{
		if (*s == '"' || *s == '\\')
			btx_buf_putc(b, '\\');
		btx_buf_putc(b, *s);
	}
	btx_buf_putc(b, '"');
}

/* JSON Lines: roughly what row_to_json produces */
static void
jsonl_row(btx_buf *b, const span *s)
{
	int			k;

	btx_buf_puts(b, "{\"id\":");
	json_str(b, s->id);
	btx_buf_puts(b, ",\"root_span_id\":");
	json_str(b, s->root);
	btx_buf_puts(b, ",\"name\":");
	json_str(b, s->name);
	btx_buf_puts(b, ",\"span_type\":");
	json_str(b, s->type);
	btx_buf_appendf(b, ",\"input\":%s,\"output\":%s,\"metadata\":%s", s->input,
					s->has_output ? s->output : "null", s->meta);
	btx_buf_appendf(b, ",\"created\":%lld,\"prompt_tokens\":%lld,\"duration\":%.17g,\"is_root\":%s,\"tags\":[",
					(long long) s->created, (long long) s->tokens, s->duration, s->is_root ? "true" : "false");
	for (k = 0; k < s->ntags; k++)
	{
		if (k)
			btx_buf_putc(b, ',');
		json_str(b, s->tags[k]);
	}
	btx_buf_appendf(b, "],\"xact_id\":%lld}\n", (long long) (s->created / 1000));
}

int
main(int argc, char **argv)
{
	long		rows = argc > 1 ? atol(argv[1]) : 1000000;
	const char *dir = argc > 2 ? argv[2] : NULL;
	static const struct
	{
		const char *name;
		btx_pq_codec c;
	}			pq[] = {{"none", BTX_PQ_CODEC_NONE}, {"snappy", BTX_PQ_CODEC_SNAPPY},
	{"zstd", BTX_PQ_CODEC_ZSTD}, {"gzip", BTX_PQ_CODEC_GZIP}};
	static const struct
	{
		const char *name;
		btx_zcodec	c;
	}			jz[] = {{"none", BTX_ZSINK_NONE}, {"gzip", BTX_ZSINK_GZIP}, {"zstd", BTX_ZSINK_ZSTD}};
	span		s;
	double		t0;
	double		tgen;
	double		tjsonl = 0;
	uint64_t	rawbytes = 0;
	long		i;
	size_t		q;
	btx_error	err;
	char		path[1024];

	/* generation alone */
	t0 = cpu_now();
	rng = 88172645463325252ull;
	for (i = 0; i < rows; i++)
		gen(&s, i);
	tgen = cpu_now() - t0;
	printf("rows=%ld generation %.2fs (subtracted below)\n", rows, tgen);

	for (q = 0; q < sizeof(jz) / sizeof(jz[0]); q++)
	{
		counter		c = {0, NULL};
		btx_zsink  *z;
		btx_buf		line;
		double		t;

		if (dir)
		{
			snprintf(path, sizeof(path), "%s/spans.jsonl%s", dir, btx_zsink_suffix(jz[q].c));
			c.f = fopen(path, "wb");
		}
		btx_buf_init(&line);
		z = btx_zsink_open(jz[q].c, 0, count_sink, &c, &err);
		rng = 88172645463325252ull;
		t0 = cpu_now();
		for (i = 0; i < rows; i++)
		{
			gen(&s, i);
			btx_buf_reset(&line);
			jsonl_row(&line, &s);
			btx_zsink_write(z, line.data, line.len);
		}
		btx_zsink_finish(z, &err);
		t = cpu_now() - t0 - tgen;
		if (q == 0)
		{
			tjsonl = t;
			rawbytes = btx_zsink_raw_bytes(z);
		}
		printf("jsonl   %-6s  cpu %6.2fs  %7.1f MB/s (raw)  out %8.1f MB\n", jz[q].name, t,
			   btx_zsink_raw_bytes(z) / 1e6 / t, c.n / 1e6);
		btx_zsink_free(z);
		btx_buf_free(&line);
		if (c.f)
			fclose(c.f);
	}

	for (q = 0; q < sizeof(pq) / sizeof(pq[0]); q++)
	{
		btx_pq_options opt;
		btx_pq_writer *w;
		counter		c = {0, NULL};
		double		t;

		if (dir)
		{
			snprintf(path, sizeof(path), "%s/spans.%s.parquet", dir, pq[q].name);
			c.f = fopen(path, "wb");
		}
		btx_pq_options_init(&opt);
		opt.codec = pq[q].c;
		w = btx_pq_open(cols, NCOLS, &opt, count_sink, &c, &err);
		rng = 88172645463325252ull;
		t0 = cpu_now();
		for (i = 0; i < rows; i++)
		{
			int			k;

			gen(&s, i);
			btx_pq_bytes(w, 0, s.id, strlen(s.id));
			btx_pq_bytes(w, 1, s.root, strlen(s.root));
			btx_pq_bytes(w, 2, s.name, strlen(s.name));
			btx_pq_bytes(w, 3, s.type, strlen(s.type));
			btx_pq_bytes(w, 4, s.input, strlen(s.input));
			if (s.has_output)
				btx_pq_bytes(w, 5, s.output, strlen(s.output));
			else
				btx_pq_null(w, 5);
			btx_pq_bytes(w, 6, s.meta, strlen(s.meta));
			btx_pq_int64(w, 7, s.created);
			btx_pq_int64(w, 8, s.tokens);
			btx_pq_double(w, 9, s.duration);
			btx_pq_bool(w, 10, s.is_root);
			btx_pq_list_begin(w, 11);
			for (k = 0; k < s.ntags; k++)
				btx_pq_list_item(w, 11, s.tags[k], strlen(s.tags[k]));
			btx_pq_list_end(w, 11);
			btx_pq_int64(w, 12, s.created / 1000);
			if (btx_pq_end_row(w, &err) != 0)
			{
				fprintf(stderr, "%s\n", err.message);
				return 1;
			}
		}
		if (btx_pq_close(w, &err) != 0)
		{
			fprintf(stderr, "%s\n", err.message);
			return 1;
		}
		t = cpu_now() - t0 - tgen;
		printf("parquet %-6s  cpu %6.2fs  %7.1f MB/s (JSONL-equivalent)  out %8.1f MB  row groups %lld  cpu vs jsonl %.2fx\n",
			   pq[q].name, t, rawbytes / 1e6 / t, c.n / 1e6, (long long) btx_pq_row_groups(w), t / tjsonl);
		btx_pq_free(w);
		if (c.f)
			fclose(c.f);
	}
	return 0;
}
