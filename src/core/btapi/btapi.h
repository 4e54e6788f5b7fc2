/*
 * btapi.h — client of Braintrust's REST API for the remote source: API URL
 * discovery, project lookup, and paging a project's logs through POST /btql.
 * Plain C (no PostgreSQL headers), errors as btx_error values, HTTP through
 * core/http (injectable transport), JSON with jansson.  docs/braintrust-source.md
 * shows the exact requests.
 *
 * Requests
 *   login    POST {app_url}/api/apikey/login   Authorization: Bearer <key>
 *            -> {org_info: [{id, name, api_url}]}: the org named by org_name,
 *            else the only one; several (or an unknown name) is an error
 *            that lists the key's orgs.  An explicit api_url skips login.
 *   project  GET {api_url}/v1/project?project_name=<name>[&org_name=<org>]
 *            -> {objects: [...]}: the object with exactly that name.  Never
 *            the register endpoint (it creates projects).
 *   page     POST {api_url}/btql  {"query": <text>, "fmt": "json",
 *            "api_version": 1, "use_brainstore": true, "query_source": "btexport"}
 *            with Accept-Encoding: gzip.  The text is BTQL clause syntax:
 *                select: *
 *                from: project_logs('<project uuid>') spans
 *                filter: (<user filter>) and _xact_id > '<lo>' and _xact_id <= '<hi>' and _pagination_key > '<last>'
 *                sort: _pagination_key asc
 *                limit: <n>
 *            (conjuncts that do not apply are left out; no filter line when
 *            none applies).  Literals: the project id must be a UUID, keys and
 *            transaction ids are checked (digits; printable ASCII without a
 *            backslash) and quoted with '' for a quote (btql.md §6) — a value
 *            that both quote conventions seen in Braintrust's clients (''
 *            and \') read the same way, so no value can end its literal.  The
 *            user's filter must be a single expression (balanced parentheses,
 *            closed literals, no clause separator '|', no '--' comment, no
 *            backslash) and is wrapped in parentheses; its line breaks
 *            become spaces.
 *
 * Paging and the watermark (what the source relies on)
 *   The source position is three strings (btx_btapi_position): xact_lo, the
 *   exclusive lower bound on _xact_id that everything below has been
 *   delivered for; xact_hi, the inclusive horizon of the window being read;
 *   pagination_key, the last key delivered inside that window.
 *   - Cross-run watermark = _xact_id.  Every write of a span (insert, merge,
 *     score, feedback, comment, delete) gets a new, higher _xact_id, and the
 *     API returns each row's current version, so an update is re-delivered
 *     by the next window whether or not its _pagination_key changed — the
 *     design never depends on that undocumented detail.
 *   - Within a window, pages are the keyset form of Braintrust's migration
 *     tool: _pagination_key > '<last>' ... sort: _pagination_key asc, limit
 *     n.  Keys must come strictly increasing (checked: a violation is an
 *     error, never a silent skip); a row without a key cannot be paged and
 *     is an error.
 *   - The horizon is fixed once per window, before the window is paged past
 *     its first page: min(freshness_state.last_processed_xact_id,
 *     last_considered_xact_id) of the first answer (not below xact_lo).  Rows
 *     above it on that first page are not delivered (counted as
 *     beyond_horizon); every later page carries _xact_id <= '<hi>'.  So a
 *     write that lands while a window is read can never fall behind the
 *     watermark unseen, and a row whose index is not fresh yet (above
 *     last_processed) is left for a later window instead of being skipped
 *     forever.  Without freshness_state the horizon is the highest _xact_id
 *     of the first page (horizon_from_freshness = 0 in the result: the
 *     source should warn — late-indexed rows below it could be missed).
 *   - A window ends with an empty page; the position then becomes
 *     {xact_lo = xact_hi, "", ""}.  A scan stopped earlier (callback,
 *     max_pages, error) leaves the position after the last delivered row,
 *     and the next scan resumes the same window with the same horizon.
 *   - Exactly once per version: a version is delivered by the window that
 *     contains its _xact_id, once (keys strictly increase within a window,
 *     windows do not overlap).  A version superseded before any window read
 *     it is not returned by the API and so not delivered; its successor is.
 *   - Deletes: rows with _object_delete: true are delivered with deleted = 1
 *     (they carry a new _xact_id); rows the API no longer returns are not.
 *
 * Failures (per request; the budget paces retries too)
 *   429           wait Retry-After (delay-seconds or HTTP date) plus jitter,
 *                 else backoff; a Retry-After above max_retry_after_ms fails
 *   500, 504      the page size is halved (1000 -> 500 -> ... -> floor) and the
 *                 page asked again; at the floor they are transient
 *   body > cap,   same halving (Braintrust offloads big pages to object storage
 *   offsite 3xx   behind a redirect to another host, which is never followed:
 *                 the key stays with the API's origin); at the floor an error
 *   other 5xx, 408, 409, 425, DNS/connect/timeout/reset
 *                 exponential backoff with full jitter, max_attempts in all
 *   400, 401, 403, 404, other 4xx
 *                 permanent, with Braintrust's message (JSON Message / error /
 *                 message, or the text) and a hint naming the fix
 *   SQLSTATEs: 38000 Braintrust answered an error or nonsense; 08006 network;
 *   57014 interrupted; 22023 bad configuration or wrong org; 42704 project
 *   not found; 54000 a response above the size cap at the smallest page;
 *   53200 out of memory.  The API key never appears in an error (redacted
 *   from Braintrust's messages too).
 *
 * Budget: a token bucket (GCRA) of requests_per_minute with burst requests
 * (default 1: evenly spaced), on the injectable monotonic clock; every
 * request — login, lookup, page, retry — takes a token first.
 */
#ifndef BTX_BTAPI_H
#define BTX_BTAPI_H

#include <stddef.h>
#include <time.h>

/*
 * jansson's json_t, declared, not included: backend files that include this
 * header also include PostgreSQL's fmgrprotos.h, whose json_object() clashes
 * with jansson's.  The core's own files include <jansson.h>.
 */
struct json_t;

#include "core/common/btx_buf.h"
#include "core/http/http.h"

#define BTX_BTAPI_MAX_PAGE 1000		/* BTQL enforces limit <= 1000 */
#define BTX_BTAPI_DEFAULT_FLOOR 25
#define BTX_BTAPI_XACT_LEN 24		/* buffer for an _xact_id (<= 20 digits) */
#define BTX_BTAPI_KEY_MAX 256		/* longest _pagination_key accepted */
#define BTX_BTAPI_DEFAULT_APP_URL "https://www.braintrust.dev"

typedef enum btx_btapi_class
{
	BTX_BTAPI_OK = 0,
	BTX_BTAPI_RATE_LIMITED,		/* 429 */
	BTX_BTAPI_PAGE_TOO_BIG,		/* 500/504, body over the cap, offsite redirect */
	BTX_BTAPI_TRANSIENT,		/* other 5xx, 408/409/425, network */
	BTX_BTAPI_PERMANENT,		/* 4xx, bad answers, TLS, protocol */
	BTX_BTAPI_CANCELED
} btx_btapi_class;

/* the class of an answer (status, network failure, redirect to another origin) */
extern btx_btapi_class btx_btapi_classify(long status, btx_http_net net, int offsite_redirect);

typedef struct btx_btapi_config
{
	const char *api_key;		/* required; never logged */
	const char *app_url;		/* default https://www.braintrust.dev */
	const char *api_url;		/* explicit data plane URL: skips login */
	const char *org_name;		/* optional; required when the key has several */
	const char *user_agent;		/* default "btexport" */
	/* called with every URL before it is requested: non-zero refuses it */
	int			(*allow_url) (void *arg, const char *url, btx_error *err);

	/*
	 * The wire (core/http): allow_http (tests), connect_timeout_ms,
	 * low_speed_*, request_timeout_ms (default here 120000), max_body (the
	 * response cap, raw and inflated; default here 8 MiB), transport (NULL =
	 * libcurl).  Its interrupt is the client's own (below).
	 */
	btx_http_config http;
	int			max_redirects;	/* same-origin only; default 2 */

	int			requests_per_minute;	/* budget; 0 = none */
	int			burst;			/* default 1 */
	long		first_wait_ms;	/* the first request waits this long (the budget across clients) */
	int			max_attempts;	/* per request, retries included; default 6 */
	int			max_rate_limited;	/* 429 answers tolerated per request; default 10 */
	long		retry_base_ms;	/* default 1000 */
	long		retry_cap_ms;	/* default 30000 */
	long		max_retry_after_ms; /* default 300000 */

	/* callbacks (all optional); arg = callback_arg */
	int			(*interrupt) (void *arg);	/* non-zero: stop now */
	int			(*sleep_ms) (void *arg, long ms);	/* non-zero: interrupted */
	long long	(*now_ms) (void *arg);	/* monotonic; default CLOCK_MONOTONIC */
	time_t		(*wall_now) (void *arg);	/* for Retry-After dates; default time() */
	unsigned int (*random) (void *arg); /* jitter; default xorshift */
	void	   *callback_arg;
} btx_btapi_config;

/* the outcome of the last request (for test steps: status, message, attempts) */
typedef struct btx_btapi_result
{
	long		status;			/* last HTTP status, 0 = none */
	btx_btapi_class klass;
	btx_http_net net_error;
	int			attempts;
	char		message[512];	/* Braintrust's message, key redacted */
} btx_btapi_result;

/* counters over the client's life */
typedef struct btx_btapi_stats
{
	long		requests;		/* sent (retries included) */
	long		retries;
	long		rate_limited;	/* 429 answers */
	long		halvings;		/* page size halved */
	long long	budget_wait_ms;
	long long	retry_wait_ms;
} btx_btapi_stats;

typedef struct btx_btapi_client btx_btapi_client;

/* copies the config's strings; NULL with err on bad config (22023) or OOM */
extern btx_btapi_client *btx_btapi_client_new(const btx_btapi_config *cfg, btx_error *err);
extern void btx_btapi_client_free(btx_btapi_client *c);
extern const btx_btapi_result *btx_btapi_last(const btx_btapi_client *c);
extern const btx_btapi_stats *btx_btapi_stats_get(const btx_btapi_client *c);

/* discovery: no request when api_url was configured or login already ran */
extern int	btx_btapi_login(btx_btapi_client *c, btx_error *err);
extern const char *btx_btapi_api_url(const btx_btapi_client *c);	/* NULL before login */
extern const char *btx_btapi_org_id(const btx_btapi_client *c); /* "" when not known */
extern const char *btx_btapi_org_name(const btx_btapi_client *c);

/* project id by exact name (logs in first when needed); out: a UUID */
extern int	btx_btapi_find_project(btx_btapi_client *c, const char *name, char out[64],
								   btx_error *err);

/* ------------------------------------------------------------ paging */

typedef struct btx_btapi_position
{
	char		xact_lo[BTX_BTAPI_XACT_LEN];	/* exclusive; "" = from the start */
	char		xact_hi[BTX_BTAPI_XACT_LEN];	/* inclusive horizon; "" = not fixed */
	char		pagination_key[BTX_BTAPI_KEY_MAX + 1];	/* last delivered; "" = none */
} btx_btapi_position;

typedef struct btx_btapi_row
{
	struct json_t *object;		/* borrowed for the call; json_incref to keep */
	const char *id;				/* "" when the row has none */
	const char *xact_id;
	const char *pagination_key;
	int			deleted;		/* _object_delete: true */
	int			page;			/* 1-based page of this scan */
	int			index;			/* 0-based row of that page */
	const btx_btapi_position *position; /* resume point after this row */
} btx_btapi_row;

/* 0: go on; 1: stop after this row (position stays valid); -1: fail with err */
typedef int (*btx_btapi_row_fn) (void *arg, const btx_btapi_row *row, btx_error *err);

typedef struct btx_btapi_scan_options
{
	const char *project_id;		/* UUID */
	const char *filter;			/* the user's BTQL filter, or NULL */
	/*
	 * The select list, or NULL for "*" (btql exports).  It must produce
	 * _xact_id and _pagination_key (and id, _object_delete) under those
	 * names: the pager reads them.  Checked like the filter.
	 */
	const char *select;
	int			page_size;		/* 1..1000, default 1000 */
	int			page_size_floor;	/* default 25 */
	int			max_pages;		/* stop after this many pages; 0 = to the end */
	btx_btapi_row_fn on_row;
	void	   *arg;
} btx_btapi_scan_options;

typedef struct btx_btapi_scan_result
{
	int			complete;		/* the window was read to its end */
	int			pages;
	long		rows;			/* delivered, deleted ones included */
	long		deleted;
	long		beyond_horizon; /* first-page rows left for a later window */
	int			page_size;		/* at the end (after halvings) */
	int			horizon_from_freshness; /* 0: freshness_state was missing */
	char		last_processed[BTX_BTAPI_XACT_LEN];	/* freshness of the last page */
	char		last_considered[BTX_BTAPI_XACT_LEN];
} btx_btapi_scan_result;

/*
 * Read the window at *pos (see the design above), handing rows to on_row
 * one at a time; *pos always holds the resume point.  Memory: one page.
 */
extern int	btx_btapi_scan(btx_btapi_client *c, const btx_btapi_scan_options *opt,
						   btx_btapi_position *pos, btx_btapi_scan_result *res, btx_error *err);

/* one request with a query of the caller's (btexport.query, test steps) */
extern int	btx_btapi_query(btx_btapi_client *c, const char *query, btx_btapi_row_fn on_row,
							void *arg, btx_error *err);
/* ... with the request's tz_offset (minutes, JavaScript's sign; 0 = not sent, Braintrust's default) */
extern int	btx_btapi_query_tz(btx_btapi_client *c, const char *query, int tz_offset,
							   btx_btapi_row_fn on_row, void *arg, btx_error *err);

/*
 * The query of a btql export (clause syntax) split into what btexport sends:
 * the select list (NULL: select: *), the filter (NULL: none) and the
 * project_logs() argument.  Only select:, from: project_logs('<p>')
 * [spans] and filter: are accepted (btexport adds sort, limit and the
 * window); clauses are separated by '|' or line breaks outside quotes, and
 * a line naming no clause continues the previous one.  The select list and
 * the filter pass btx_btapi_check_select / _filter.  Strings are malloc'd.
 */
typedef struct btx_btapi_clauses
{
	char	   *select;
	char	   *filter;
	char	   *project;
} btx_btapi_clauses;

extern int	btx_btapi_split_query(const char *text, btx_btapi_clauses *out, btx_error *err);
extern void btx_btapi_clauses_free(btx_btapi_clauses *c);

/* position <-> {"xact_id": .., "horizon": .., "pagination_key": ..} (nulls for "") */
extern int	btx_btapi_position_format(const btx_btapi_position *pos, btx_buf *out);
extern int	btx_btapi_position_parse(const char *text, btx_btapi_position *pos, btx_error *err);

/* ------------------------------------------------------------ building blocks (tests, fuzzing) */

/* BTQL string literal 'value' with '' for a quote; refuses \ and controls */
extern int	btx_btapi_quote(btx_buf *out, const char *value, const char *what, btx_error *err);
extern int	btx_btapi_check_uuid(const char *s);
extern int	btx_btapi_check_xact(const char *s);
/* 1 when a > b as _xact_ids (both valid) */
extern int	btx_btapi_xact_gt(const char *a, const char *b);
extern int	btx_btapi_check_filter(const char *filter, btx_error *err);
/* a select list pasted into "select: <list>": the same lexical rules as a filter */
extern int	btx_btapi_check_select(const char *select, btx_error *err);
/* the page query text; no horizon when pos->xact_hi is "" */
extern int	btx_btapi_page_query(const char *project_id, const char *filter,
								 const btx_btapi_position *pos, int limit, btx_buf *out,
								 btx_error *err);
/* ... with a select list (NULL = "*") */
extern int	btx_btapi_page_query_select(const char *project_id, const char *select, const char *filter,
										const btx_btapi_position *pos, int limit, btx_buf *out,
										btx_error *err);
/* the JSON request body around a query text (and a tz_offset, 0 = left out) */
extern int	btx_btapi_request_body(const char *query, btx_buf *out);
extern int	btx_btapi_request_body_tz(const char *query, int tz_offset, btx_buf *out);

/* a parsed /btql answer */
typedef struct btx_btapi_page
{
	struct json_t *root;		/* owned */
	struct json_t *data;		/* borrowed: the rows array */
	int			has_freshness;
	char		last_processed[BTX_BTAPI_XACT_LEN];
	char		last_considered[BTX_BTAPI_XACT_LEN];
	int			ints_as_reals;	/* an integer overflowed 64 bits: all read as reals */
} btx_btapi_page;

/* the facts of one row the pager needs */
typedef struct btx_btapi_row_facts
{
	const char *id;
	const char *xact_id;
	const char *pagination_key; /* NULL when absent or null */
	int			deleted;
	char		xact_buf[BTX_BTAPI_XACT_LEN];	/* when _xact_id was a JSON integer */
} btx_btapi_row_facts;

extern int	btx_btapi_parse_page(const char *body, size_t len, btx_btapi_page *page,
								 btx_error *err);
extern void btx_btapi_page_free(btx_btapi_page *page);
extern int	btx_btapi_row_facts_get(struct json_t *row, btx_btapi_row_facts *f, btx_error *err);

typedef struct btx_btapi_org
{
	char		id[128];
	char		name[256];
	char		api_url[1024];
} btx_btapi_org;

/* choose the org from a login answer (name NULL/"": the only one) */
extern int	btx_btapi_parse_login(const char *body, size_t len, const char *org_name,
								  btx_btapi_org *out, btx_error *err);
/* the id of the project named name in a /v1/project answer; 1 = not found */
extern int	btx_btapi_parse_project(const char *body, size_t len, const char *name,
									char out[64], btx_error *err);
/*
 * A row as compact JSON text appended to out, for PostgreSQL's jsonb: reals
 * in the shortest form that reads back as the same double (as JavaScript
 * writes them), NUL characters in strings written as U+FFFD (jsonb cannot
 * hold U+0000).  Returns the number of NULs replaced, -1 when out of memory.
 */
extern int	btx_btapi_row_json(struct json_t *row, btx_buf *out);
/* the string member name of a row as a JSON string appended to out: 1, 0 (absent or not a string), -1 (OOM) */
extern int	btx_btapi_row_string_json(struct json_t *row, const char *name, btx_buf *out);

/* Braintrust's message in an error body (JSON or text), printable, truncated */
extern void btx_btapi_error_text(const char *body, size_t len, char *out, size_t sz);

/* the request budget (GCRA token bucket), in microseconds of the monotonic clock */
typedef struct btx_btapi_budget
{
	long long	interval_us;	/* 60 s / requests per minute; 0 = no budget */
	long long	tolerance_us;	/* (burst - 1) * interval */
	long long	tat_us;			/* theoretical arrival time */
} btx_btapi_budget;

extern void btx_btapi_budget_init(btx_btapi_budget *b, int per_minute, int burst);
/* ms to wait before a request may go at now_ms (0 = now) */
extern long btx_btapi_budget_delay(const btx_btapi_budget *b, long long now_ms);
/* record a request sent at now_ms */
extern void btx_btapi_budget_take(btx_btapi_budget *b, long long now_ms);

#endif							/* BTX_BTAPI_H */
