/*
 * bench_paths — compile time and memory of the BTQL compiler on long field
 * paths (the input of the memory blow-up of issue 12): 1k, 10k and 50k
 * segments of .a, [0], ."q", distinct keys, and a path in filter:.
 *
 *   bash test/btql/bench.sh          (builds with -O2, no sanitizers, and runs)
 *
 * For each size it compiles twice:
 *   default  the limits btexport runs with: paths over 256 segments and
 *            queries over 100k tokens are refused, early and cheaply;
 *   raised   limits lifted (paths up to 100k segments, 64 MB of SQL,
 *            1 GB of memory), to show that the stages themselves are linear.
 * Memory is the compile's own count (btx_btql_stats.memory: every byte comes
 * from its arena, freed at the end), so it is the peak of the compile; the
 * process's peak RSS is printed at the end.  Times are wall clock, best of 3.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "core/btql/btql.h"

static const char *const kinds[] = {".a", "[0]", ".\"q\"", ".k<i>", "filter .a"};

static char *
path_query(int kind, int n)
{
	btx_buf		b;
	int			i;

	btx_buf_init(&b);
	btx_buf_puts(&b, kind == 4 ? "select: id | from: project_logs('p') | filter: metadata" : "select: metadata");
	for (i = 0; i < n; i++)
	{
		if (kind == 1)
			btx_buf_puts(&b, "[0]");
		else if (kind == 2)
			btx_buf_puts(&b, ".\"q\"");
		else if (kind == 3)
			btx_buf_appendf(&b, ".k%d", i);
		else
			btx_buf_puts(&b, ".a");
	}
	btx_buf_puts(&b, kind == 4 ? " = 1" : " as v | from: project_logs('p')");
	return btx_buf_steal(&b);
}

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void
run(const char *text, const btx_btql_limits *lim, char *out, size_t outlen)
{
	btx_btql_options opt;
	btx_btql_stats st;
	btx_btql_query q;
	btx_error	e;
	double		best = 1e9;
	int			rep,
				rc = 0;

	memset(&opt, 0, sizeof(opt));
	opt.limits = lim;
	opt.stats = &st;
	for (rep = 0; rep < 3; rep++)
	{
		double		t0 = now(),
					t;

		rc = btx_btql_compile(text, &opt, &q, &e);
		t = now() - t0;
		if (t < best)
			best = t;
		if (rc == 0)
			btx_btql_query_free(&q);
	}
	if (rc == 0)
		snprintf(out, outlen, "ok     %8.1f ms %8.1f MB  sql %7.1f KB", best * 1e3, st.memory / 1048576.0,
				 st.sql_bytes / 1024.0);
	else
		snprintf(out, outlen, "%s  %8.1f ms %8.1f MB  (%.40s)", e.sqlstate, best * 1e3, st.memory / 1048576.0,
				 e.message);
}

int
main(void)
{
	static const int sizes[] = {1000, 10000, 50000};
	btx_btql_limits raised;
	struct rusage ru;
	int			k,
				i;

	memset(&raised, 0, sizeof(raised));
	raised.max_path_segments = 100000;
	raised.max_tokens = 1000000;
	raised.max_sql_bytes = (size_t) 64 << 20;
	raised.max_memory = (size_t) 1 << 30;
	printf("%-10s %7s  %-58s  %s\n", "path", "segs", "default limits", "raised limits");
	for (k = 0; k < 5; k++)
		for (i = 0; i < 3; i++)
		{
			char	   *q = path_query(k, sizes[i]);
			char		d[128],
						r[128];

			run(q, NULL, d, sizeof(d));
			run(q, &raised, r, sizeof(r));
			printf("%-10s %7d  %-58s  %s\n", kinds[k], sizes[i], d, r);
			free(q);
		}
	getrusage(RUSAGE_SELF, &ru);
	printf("peak RSS of the process: %.1f MB\n", ru.ru_maxrss / 1024.0);
	return 0;
}
