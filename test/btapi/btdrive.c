/*
 * btdrive.c — command-line driver of the Braintrust API client core
 * (src/core/btapi) for test/btapi/run.sh: logs in, looks projects up and
 * pages a project's logs from the test double over real HTTP (libcurl,
 * gzip), keeping the source position in a file between runs like the
 * remote source keeps it in its ledger.
 *
 * usage: btdrive [options] login
 *        btdrive [options] project NAME
 *        btdrive [options] scan (--project-id ID | --project NAME) [--state FILE]
 *                [--out FILE] [--filter F] [--page N] [--floor N] [--max-pages N]
 *        btdrive [options] query TEXT
 *        btdrive [options] naive-scan --project-id ID --state FILE --out FILE [--page N]
 *   options: --app URL --api URL --key KEY --org NAME --rpm N --max-bytes N
 *            --attempts N --retry-base-ms N --timeout-ms N
 * Prints "ok k=v ..." (exit 0) or "error SQLSTATE status=N | message | detail | hint"
 * (exit 1).  scan appends one JSON line per delivered row to --out:
 *   {"id", "_xact_id", "_pagination_key", "deleted", "row": {...}}.
 * naive-scan is the strawman of the negative control: it pages by
 * _pagination_key alone and keeps only the last key between runs.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/btapi/btapi.h"

#include <jansson.h>

typedef struct opts
{
	btx_btapi_config cfg;
	const char *cmd;
	const char *arg;
	const char *project_id;
	const char *project;
	const char *state;
	const char *out;
	const char *filter;
	int			page;
	int			floor;
	int			max_pages;
} opts;

static void
fail(const btx_btapi_client *c, const btx_error *e)
{
	printf("error %s status=%ld | %s | %s | %s\n", e->sqlstate[0] ? e->sqlstate : "XX000",
		   c ? btx_btapi_last(c)->status : 0L, e->message, e->detail, e->hint);
}

static char *
slurp(const char *path)
{
	FILE	   *f = fopen(path, "rb");
	char	   *buf;
	long		n;

	if (f == NULL)
		return NULL;
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	buf = calloc(1, (size_t) n + 1);
	if (buf && fread(buf, 1, (size_t) n, f) != (size_t) n)
	{
		free(buf);
		buf = NULL;
	}
	fclose(f);
	return buf;
}

static int
write_text(const char *path, const char *text)
{
	char		tmp[4096];
	FILE	   *f;

	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	f = fopen(tmp, "wb");
	if (f == NULL || fputs(text, f) < 0 || fclose(f) != 0)
		return -1;
	return rename(tmp, path);
}

typedef struct out_state
{
	FILE	   *f;
	long		rows;
} out_state;

static int
emit(void *arg, const btx_btapi_row *row, btx_error *err)
{
	out_state  *o = arg;
	json_t	   *line = json_pack("{s:s, s:s, s:s, s:b, s:O}", "id", row->id, "_xact_id", row->xact_id,
								 "_pagination_key", row->pagination_key, "deleted", row->deleted,
								 "row", row->object);
	char	   *s = line ? json_dumps(line, JSON_COMPACT | JSON_ENSURE_ASCII) : NULL;

	json_decref(line);
	if (s == NULL)
	{
		btx_error_set(err, 1, "53200", "out of memory");
		return -1;
	}
	fprintf(o->f, "%s\n", s);
	free(s);
	o->rows++;
	return 0;
}

static int
cmd_scan(btx_btapi_client *c, opts *o)
{
	btx_btapi_position pos;
	btx_btapi_scan_options so;
	btx_btapi_scan_result r;
	btx_error	e;
	char		pid[64];
	char	   *text = o->state ? slurp(o->state) : NULL;
	out_state	os;
	btx_buf		b;
	const btx_btapi_stats *st;
	int			rc;

	btx_error_clear(&e);
	if (btx_btapi_position_parse(text, &pos, &e) != 0)
	{
		free(text);
		fail(c, &e);
		return 1;
	}
	free(text);
	if (o->project_id)
		snprintf(pid, sizeof(pid), "%s", o->project_id);
	else if (btx_btapi_find_project(c, o->project ? o->project : "", pid, &e) != 0)
	{
		fail(c, &e);
		return 1;
	}
	os.f = o->out ? fopen(o->out, "ab") : stdout;
	os.rows = 0;
	if (os.f == NULL)
	{
		perror(o->out);
		return 1;
	}
	memset(&so, 0, sizeof(so));
	so.project_id = pid;
	so.filter = o->filter;
	so.page_size = o->page;
	so.page_size_floor = o->floor;
	so.max_pages = o->max_pages;
	so.on_row = emit;
	so.arg = &os;
	rc = btx_btapi_scan(c, &so, &pos, &r, &e);
	if (o->out)
		fclose(os.f);
	/* the position moves even after a failure: it is the resume point */
	btx_buf_init(&b);
	if (o->state && (btx_btapi_position_format(&pos, &b) != 0 || write_text(o->state, b.data) != 0))
	{
		printf("error 58030 could not write the state file\n");
		btx_buf_free(&b);
		return 1;
	}
	btx_buf_free(&b);
	if (rc != 0)
	{
		fail(c, &e);
		return 1;
	}
	st = btx_btapi_stats_get(c);
	printf("ok rows=%ld deleted=%ld pages=%d complete=%d beyond=%ld page_size=%d fresh=%d lo=%s hi=%s requests=%ld retries=%ld rate_limited=%ld halvings=%ld\n",
		   r.rows, r.deleted, r.pages, r.complete, r.beyond_horizon, r.page_size,
		   r.horizon_from_freshness, pos.xact_lo, pos.xact_hi, st->requests, st->retries,
		   st->rate_limited, st->halvings);
	return 0;
}

/* the strawman: _pagination_key alone, the last key kept between runs */
static int
cmd_naive(btx_btapi_client *c, opts *o)
{
	char	   *text = slurp(o->state);
	char		last[BTX_BTAPI_KEY_MAX + 1] = "";
	out_state	os;
	btx_buf		q;
	btx_error	e;
	long		before;

	if (text)
		snprintf(last, sizeof(last), "%s", text);
	free(text);
	os.f = fopen(o->out, "ab");
	os.rows = 0;
	btx_buf_init(&q);
	btx_error_clear(&e);
	for (;;)
	{
		btx_buf_reset(&q);
		btx_buf_appendf(&q, "select: *\nfrom: project_logs('%s') spans\n", o->project_id);
		if (last[0])
			btx_buf_appendf(&q, "filter: _pagination_key > '%s'\n", last);
		btx_buf_appendf(&q, "sort: _pagination_key asc\nlimit: %d", o->page > 0 ? o->page : 100);
		before = os.rows;
		if (btx_btapi_query(c, q.data, emit, &os, &e) != 0)
		{
			fail(c, &e);
			fclose(os.f);
			btx_buf_free(&q);
			return 1;
		}
		if (os.rows == before)
			break;
		fflush(os.f);
		/* the last key delivered: read back from the file's last line */
		{
			char	   *all = slurp(o->out);
			char	   *p = all ? strrchr(all, '\n') : NULL;
			json_t	   *j;

			if (p)
			{
				*p = '\0';
				p = strrchr(all, '\n');
				j = json_loads(p ? p + 1 : all, 0, NULL);
				snprintf(last, sizeof(last), "%s", json_string_value(json_object_get(j, "_pagination_key")));
				json_decref(j);
			}
			free(all);
		}
	}
	fclose(os.f);
	btx_buf_free(&q);
	write_text(o->state, last);
	printf("ok rows=%ld\n", os.rows);
	return 0;
}

static int
cmd_query(btx_btapi_client *c, opts *o)
{
	out_state	os = {stdout, 0};
	btx_error	e;

	btx_error_clear(&e);
	if (btx_btapi_query(c, o->arg, emit, &os, &e) != 0)
	{
		fail(c, &e);
		return 1;
	}
	printf("ok rows=%ld\n", os.rows);
	return 0;
}

static int
parse_args(int argc, char **argv, opts *o)
{
	int			i;

	memset(o, 0, sizeof(*o));
	o->cfg.http.allow_http = 1;		/* the double is plain http on loopback */
	o->cfg.retry_base_ms = 200;
	o->cfg.http.connect_timeout_ms = 2000;
	o->cfg.http.low_speed_time_s = 5;
	for (i = 1; i < argc; i++)
	{
		const char *a = argv[i];
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;

#define OPT(name) (strcmp(a, name) == 0 && v && ++i)
		if (OPT("--app"))
			o->cfg.app_url = v;
		else if (OPT("--api"))
			o->cfg.api_url = v;
		else if (OPT("--key"))
			o->cfg.api_key = v;
		else if (OPT("--org"))
			o->cfg.org_name = v;
		else if (OPT("--rpm"))
			o->cfg.requests_per_minute = atoi(v);
		else if (OPT("--max-bytes"))
			o->cfg.http.max_body = (size_t) atol(v);
		else if (OPT("--attempts"))
			o->cfg.max_attempts = atoi(v);
		else if (OPT("--retry-base-ms"))
			o->cfg.retry_base_ms = atol(v);
		else if (OPT("--timeout-ms"))
			o->cfg.http.request_timeout_ms = atol(v);
		else if (OPT("--project-id"))
			o->project_id = v;
		else if (OPT("--project"))
			o->project = v;
		else if (OPT("--state"))
			o->state = v;
		else if (OPT("--out"))
			o->out = v;
		else if (OPT("--filter"))
			o->filter = v;
		else if (OPT("--page"))
			o->page = atoi(v);
		else if (OPT("--floor"))
			o->floor = atoi(v);
		else if (OPT("--max-pages"))
			o->max_pages = atoi(v);
		else if (a[0] == '-')
			return -1;
		else if (o->cmd == NULL)
			o->cmd = a;
		else if (o->arg == NULL)
			o->arg = a;
		else
			return -1;
#undef OPT
	}
	return o->cmd ? 0 : -1;
}

int
main(int argc, char **argv)
{
	opts		o;
	btx_btapi_client *c;
	btx_error	e;
	char		pid[64];
	int			rc = 1;

	if (parse_args(argc, argv, &o) != 0)
	{
		fprintf(stderr, "usage: see the header of btdrive.c\n");
		return 2;
	}
	btx_http_global_init();
	btx_error_clear(&e);
	c = btx_btapi_client_new(&o.cfg, &e);
	if (c == NULL)
		fail(NULL, &e);
	else if (strcmp(o.cmd, "login") == 0)
	{
		if (btx_btapi_login(c, &e) != 0)
			fail(c, &e);
		else
		{
			printf("ok api_url=%s org=%s org_id=%s requests=%ld\n", btx_btapi_api_url(c),
				   btx_btapi_org_name(c), btx_btapi_org_id(c), btx_btapi_stats_get(c)->requests);
			rc = 0;
		}
	}
	else if (strcmp(o.cmd, "project") == 0)
	{
		if (btx_btapi_find_project(c, o.arg ? o.arg : "", pid, &e) != 0)
			fail(c, &e);
		else
		{
			printf("ok id=%s\n", pid);
			rc = 0;
		}
	}
	else if (strcmp(o.cmd, "scan") == 0)
		rc = cmd_scan(c, &o);
	else if (strcmp(o.cmd, "naive-scan") == 0 && o.project_id && o.state && o.out)
		rc = cmd_naive(c, &o);
	else if (strcmp(o.cmd, "query") == 0 && o.arg)
		rc = cmd_query(c, &o);
	else
		fprintf(stderr, "unknown command %s\n", o.cmd);
	btx_btapi_client_free(c);
	btx_http_global_cleanup();
	return rc;
}
