/*
 * btapi_client.c — the Braintrust API client (design in btapi.h): requests
 * through core/http with the request budget and the retry policy, login,
 * project lookup, the windowed keyset scan, raw queries, and errors that
 * name the fix.  Every wait (budget, Retry-After, backoff) goes through the
 * sleep callback, every clock reading through the clock callbacks, so the
 * unit tests drive it on a fake clock.
 */
#include "core/btapi/btapi.h"

#include <jansson.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DEFAULT_MAX_RESPONSE ((size_t) 8 * 1024 * 1024)

struct btx_btapi_client
{
	btx_btapi_config cfg;		/* strings below are private copies */
	char	   *api_key;
	char	   *app_url;		/* normalised: no trailing '/' */
	char	   *api_url_cfg;
	char	   *org_name_cfg;
	char	   *user_agent;
	btx_http_client *http;
	btx_btapi_budget budget;
	unsigned int rng;
	int			logged_in;
	long long	first_at_ms;	/* no request before this time (first_wait_ms) */
	btx_btapi_org org;			/* org.api_url: normalised data plane URL */
	btx_btapi_result last;
	btx_btapi_stats stats;
	btx_http_response resp;		/* reused by every request */
};

enum op
{
	OP_LOGIN, OP_PROJECT, OP_BTQL
};

/* one logical request (its retries included) */
typedef struct call
{
	enum op		op;
	const char *what;			/* "log in to Braintrust at ..." (messages) */
	const char *subject;		/* project name or id, for hints */
	const char *method;
	const char *url;
	const char *body;
	size_t		body_len;
	int			can_halve;		/* PAGE_TOO_BIG returns 1 to the caller */
	int			page_rows;		/* for messages */
} call;

/* ---------------------------------------------------------------- callbacks */

static long long
now_ms(btx_btapi_client *c)
{
	struct timespec ts;

	if (c->cfg.now_ms)
		return c->cfg.now_ms(c->cfg.callback_arg);
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static time_t
wall_now(btx_btapi_client *c)
{
	return c->cfg.wall_now ? c->cfg.wall_now(c->cfg.callback_arg) : time(NULL);
}

static unsigned int
rnd(btx_btapi_client *c)
{
	return c->cfg.random ? c->cfg.random(c->cfg.callback_arg) : btx_http_rng_next(&c->rng);
}

static int
interrupted(btx_btapi_client *c)
{
	return c->cfg.interrupt && c->cfg.interrupt(c->cfg.callback_arg);
}

static int
http_interrupt(void *arg)
{
	return interrupted(arg);
}

/* wait ms; non-zero when interrupted (the default sleeps in slices and polls) */
static int
nap(btx_btapi_client *c, long ms)
{
	if (ms <= 0)
		return interrupted(c);
	if (c->cfg.sleep_ms)
		return c->cfg.sleep_ms(c->cfg.callback_arg, ms);
	while (ms > 0)
	{
		long		step = ms > 100 ? 100 : ms;

		if (interrupted(c))
			return 1;
		btx_http_sleep_ms(NULL, step);
		ms -= step;
	}
	return interrupted(c);
}

/* ---------------------------------------------------------------- budget */

void
btx_btapi_budget_init(btx_btapi_budget *b, int per_minute, int burst)
{
	memset(b, 0, sizeof(*b));
	if (per_minute <= 0)
		return;
	b->interval_us = 60LL * 1000 * 1000 / per_minute;
	if (b->interval_us < 1)
		b->interval_us = 1;
	b->tolerance_us = (long long) (burst > 1 ? burst - 1 : 0) * b->interval_us;
	b->tat_us = -1;				/* nothing sent yet */
}

long
btx_btapi_budget_delay(const btx_btapi_budget *b, long long now)
{
	long long	t = now * 1000;
	long long	allowed;

	if (b->interval_us == 0 || b->tat_us < 0)
		return 0;
	allowed = b->tat_us - b->tolerance_us;
	if (t >= allowed)
		return 0;
	return (long) ((allowed - t + 999) / 1000);
}

void
btx_btapi_budget_take(btx_btapi_budget *b, long long now)
{
	long long	t = now * 1000;

	if (b->interval_us == 0)
		return;
	if (b->tat_us < t)
		b->tat_us = t;
	b->tat_us += b->interval_us;
}

/* ---------------------------------------------------------------- client */

static char *
dup_trimmed(const char *s)
{
	char	   *d;
	size_t		n;

	if (s == NULL || s[0] == '\0')
		return NULL;
	d = strdup(s);
	if (d)
	{
		n = strlen(d);
		while (n > 0 && d[n - 1] == '/')
			d[--n] = '\0';
	}
	return d;
}

/* "scheme://authority[/path]" without a trailing '/', checked; 0 or -1 */
static int
normalise_url(const char *url, const char *what, int allow_http, char *dst, size_t sz,
			  btx_error *err)
{
	btx_http_url u;
	int			r;

	btx_http_url_init(&u);
	r = btx_http_parse_url(url, what, allow_http, 1, &u, err);
	if (r == 0 && (size_t) snprintf(dst, sz, "%s://%s%s", u.scheme.data, u.authority.data,
									u.path.data ? u.path.data : "") >= sz)
	{
		btx_error_set(err, 1, "22023", "%s is too long", what);
		r = -1;
	}
	btx_http_url_free(&u);
	return r;
}

btx_btapi_client *
btx_btapi_client_new(const btx_btapi_config *cfg, btx_error *err)
{
	btx_btapi_client *c;
	btx_http_config hc;
	char		tmp[1024];

	if (cfg->api_key == NULL || cfg->api_key[0] == '\0')
	{
		btx_error_set(err, 1, "22023", "a Braintrust API key is required");
		return NULL;
	}
	if (normalise_url(cfg->app_url ? cfg->app_url : BTX_BTAPI_DEFAULT_APP_URL, "Braintrust app URL",
					  cfg->http.allow_http, tmp, sizeof(tmp), err) != 0 ||
		(cfg->api_url && cfg->api_url[0] &&
		 normalise_url(cfg->api_url, "Braintrust API URL", cfg->http.allow_http, tmp, sizeof(tmp), err) != 0))
		return NULL;
	c = calloc(1, sizeof(*c));
	if (c == NULL)
		goto oom;
	c->cfg = *cfg;
	c->api_key = strdup(cfg->api_key);
	c->app_url = dup_trimmed(cfg->app_url && cfg->app_url[0] ? cfg->app_url : BTX_BTAPI_DEFAULT_APP_URL);
	c->api_url_cfg = dup_trimmed(cfg->api_url);
	c->org_name_cfg = cfg->org_name && cfg->org_name[0] ? strdup(cfg->org_name) : NULL;
	c->user_agent = strdup(cfg->user_agent ? cfg->user_agent : "btexport");
	c->cfg.api_key = c->api_key;
	c->cfg.app_url = c->app_url;
	c->cfg.api_url = c->api_url_cfg;
	c->cfg.org_name = c->org_name_cfg;
	c->cfg.user_agent = c->user_agent;
	if (c->cfg.http.request_timeout_ms <= 0)
		c->cfg.http.request_timeout_ms = 120000;
	if (c->cfg.http.max_body == 0)
		c->cfg.http.max_body = DEFAULT_MAX_RESPONSE;
	if (c->cfg.max_redirects <= 0)
		c->cfg.max_redirects = 2;
	if (c->cfg.max_attempts <= 0)
		c->cfg.max_attempts = 6;
	if (c->cfg.max_rate_limited <= 0)
		c->cfg.max_rate_limited = 10;
	if (c->cfg.retry_base_ms <= 0)
		c->cfg.retry_base_ms = 1000;
	if (c->cfg.retry_cap_ms <= 0)
		c->cfg.retry_cap_ms = 30000;
	if (c->cfg.max_retry_after_ms <= 0)
		c->cfg.max_retry_after_ms = 300000;
	c->rng = btx_http_rng_seed(c);
	btx_btapi_budget_init(&c->budget, c->cfg.requests_per_minute, c->cfg.burst);
	c->first_at_ms = c->cfg.first_wait_ms > 0 ? now_ms(c) + c->cfg.first_wait_ms : 0;
	btx_http_response_init(&c->resp);
	hc = c->cfg.http;
	hc.interrupt = http_interrupt;
	hc.interrupt_arg = c;
	c->http = btx_http_client_new(&hc);
	if (c->http == NULL || c->api_key == NULL || c->app_url == NULL || c->user_agent == NULL ||
		(cfg->api_url && cfg->api_url[0] && c->api_url_cfg == NULL) ||
		(cfg->org_name && cfg->org_name[0] && c->org_name_cfg == NULL))
	{
		btx_btapi_client_free(c);
		goto oom;
	}
	return c;
oom:
	btx_error_set(err, 1, "53200", "out of memory");
	return NULL;
}

void
btx_btapi_client_free(btx_btapi_client *c)
{
	if (c == NULL)
		return;
	if (c->api_key)
		memset(c->api_key, 0, strlen(c->api_key));
	free(c->api_key);
	free(c->app_url);
	free(c->api_url_cfg);
	free(c->org_name_cfg);
	free(c->user_agent);
	btx_http_client_free(c->http);
	btx_http_response_free(&c->resp);
	free(c);
}

const btx_btapi_result *
btx_btapi_last(const btx_btapi_client *c)
{
	return &c->last;
}

const btx_btapi_stats *
btx_btapi_stats_get(const btx_btapi_client *c)
{
	return &c->stats;
}

const char *
btx_btapi_api_url(const btx_btapi_client *c)
{
	return c->logged_in ? c->org.api_url : NULL;
}

const char *
btx_btapi_org_id(const btx_btapi_client *c)
{
	return c->org.id;
}

const char *
btx_btapi_org_name(const btx_btapi_client *c)
{
	return c->org.name;
}

/* ---------------------------------------------------------------- requests */

btx_btapi_class
btx_btapi_classify(long status, btx_http_net net, int offsite_redirect)
{
	if (net == BTX_HTTP_NET_ABORTED)
		return BTX_BTAPI_CANCELED;
	if (net == BTX_HTTP_NET_TOO_LARGE)
		return BTX_BTAPI_PAGE_TOO_BIG;
	if (net != BTX_HTTP_NET_NONE)
		return btx_http_net_transient(net) ? BTX_BTAPI_TRANSIENT : BTX_BTAPI_PERMANENT;
	if (offsite_redirect)
		return BTX_BTAPI_PAGE_TOO_BIG;
	if (status >= 200 && status < 300)
		return BTX_BTAPI_OK;
	if (status == 429)
		return BTX_BTAPI_RATE_LIMITED;
	if (status == 500 || status == 504)
		return BTX_BTAPI_PAGE_TOO_BIG;
	if (status >= 500 || status == 408 || status == 409 || status == 425)
		return BTX_BTAPI_TRANSIENT;
	return BTX_BTAPI_PERMANENT;
}

/* replace every occurrence of the API key in s by "[redacted]" */
static void
redact(const btx_btapi_client *c, char *s, size_t sz)
{
	size_t		kl = strlen(c->api_key);
	char	   *p;

	if (kl < 4)
		return;
	while ((p = strstr(s, c->api_key)) != NULL)
	{
		static const char mark[] = "[redacted]";
		size_t		tail = strlen(p + kl);

		if ((size_t) (p - s) + sizeof(mark) - 1 + tail >= sz)
			tail = sz - 1 - (size_t) (p - s) - (sizeof(mark) - 1);
		memmove(p + sizeof(mark) - 1, p + kl, tail);
		memcpy(p, mark, sizeof(mark) - 1);
		p[sizeof(mark) - 1 + tail] = '\0';
	}
}

static const char *
origin_hint_subject(const call *k)
{
	return k->op == OP_LOGIN ? "app URL" : "API URL";
}

/* the network failure of the last attempt as an error */
static void
describe_network(btx_btapi_client *c, const call *k, btx_error *err)
{
	const btx_btapi_result *l = &c->last;
	int			n = l->attempts;

	btx_error_set(err, 1, l->net_error == BTX_HTTP_NET_PROTOCOL ? "22023" : "08006",
				  "could not %s: %s", k->what, btx_http_net_reason(l->net_error));
	btx_error_detail(err, "%s (%d attempt%s).", l->message, n, n == 1 ? "" : "s");
	if (l->net_error == BTX_HTTP_NET_TLS)
		btx_error_hint(err, "Check the TLS certificate of %s and the database server's CA bundle.",
					   k->op == OP_LOGIN ? c->app_url : c->org.api_url);
	else if (l->net_error == BTX_HTTP_NET_PROTOCOL)
		btx_error_hint(err, "Use an https:// %s; plain http is only allowed when the configuration permits it.",
					   origin_hint_subject(k));
	else if (l->net_error == BTX_HTTP_NET_BAD_ENCODING)
		btx_error_hint(err, "The answer was not valid gzip; if this repeats, check any proxy between the server and Braintrust.");
	else
		btx_error_hint(err, "Braintrust at %s is unreachable: check the connection's %s (self-hosted data planes and the EU region https://api-eu.braintrust.dev need their own) and that the database server can reach it (DNS, firewall, proxy).",
					   k->op == OP_LOGIN ? c->app_url : c->org.api_url, origin_hint_subject(k));
}

/* the hint for a permanent HTTP answer: names the fix */
static void
status_hint(btx_btapi_client *c, const call *k, long status, btx_error *err)
{
	const char *subj = k->subject ? k->subject : "";

	if (status == 401)
		btx_error_hint(err, "The API key is invalid, expired or revoked: create a key in Braintrust (Settings, API keys) and update the connection.");
	else if (status == 403 && k->op == OP_LOGIN)
		btx_error_hint(err, "The API key may not log in: use an active key of a user or service account of the organization.");
	else if (status == 403)
		btx_error_hint(err, "The API key's user or service account may not read project %s: grant it read access, or use a key of the project's organization%s%s%s.",
					   subj, c->org.name[0] ? " (now \"" : "", c->org.name, c->org.name[0] ? "\")" : "");
	else if (status == 404 && k->op == OP_LOGIN)
		btx_error_hint(err, "There is no Braintrust login at %s: check the connection's app URL (default %s), or set the API URL of the data plane to skip the login.",
					   c->app_url, BTX_BTAPI_DEFAULT_APP_URL);
	else if (status == 404 && k->op == OP_PROJECT)
		btx_error_hint(err, "There is no Braintrust project API at %s: check the connection's API URL.", c->org.api_url);
	else if (status == 404)
		btx_error_hint(err, "Project %s was not found or is not visible to this API key: check the project id and the organization%s%s%s, or the API URL (%s) is not a Braintrust data plane.",
					   subj, c->org.name[0] ? " (now \"" : "", c->org.name, c->org.name[0] ? "\")" : "",
					   c->org.api_url);
	else if (status == 400 && k->op == OP_BTQL && k->subject == NULL)
		btx_error_hint(err, "Braintrust rejected the query: check its syntax and field names (project_logs() takes the project's id).");
	else if (status == 400 && k->op == OP_BTQL)
		btx_error_hint(err, "Braintrust rejected the query: check the automation's filter (BTQL syntax and field names).");
	else if (status == 429)
		btx_error_hint(err, "The organization's BTQL rate limit answered 429 %d times: lower the connection's requests per minute, or run less often.",
					   c->last.attempts);
	else if (status >= 500)
		btx_error_hint(err, "Braintrust kept failing (%d attempts): retry later; a smaller page size helps when large pages time out.",
					   c->last.attempts);
	else if (status >= 300 && status < 400)
		btx_error_hint(err, "Braintrust answered with a redirect: check the connection's %s (https://, host).",
					   origin_hint_subject(k));
	else if (status >= 400)
		btx_error_hint(err, "Braintrust rejected the request: check the connection's settings.");
}

static void
describe(btx_btapi_client *c, const call *k, btx_error *err)
{
	const btx_btapi_result *l = &c->last;
	int			n = l->attempts;

	if (l->klass == BTX_BTAPI_CANCELED)
	{
		btx_error_set(err, 1, "57014", "canceled: %s", k->what);
		btx_error_detail(err, "The request was interrupted on request.");
		return;
	}
	if (l->net_error == BTX_HTTP_NET_TOO_LARGE)
	{
		btx_error_set(err, 1, "54000", "could not %s: the answer is larger than %zu bytes",
					  k->what, c->cfg.http.max_body);
		btx_error_detail(err, "Refused %s (%d attempt%s).", k->can_halve || k->page_rows ?
						 "even with the smallest page size" : "without reading it all",
						 n, n == 1 ? "" : "s");
		btx_error_hint(err, "Rows of this project are very large: raise the connection's maximum response size.");
		return;
	}
	if (l->net_error != BTX_HTTP_NET_NONE)
	{
		describe_network(c, k, err);
		return;
	}
	if (c->resp.offsite_redirect)
	{
		btx_error_set(err, 1, "38000", "could not %s: Braintrust redirected to another host", k->what);
		btx_error_detail(err, "HTTP %ld to a different origin, e.g. a large answer offloaded to object storage. btexport never sends the API key to another host and does not follow such redirects.",
						 l->status);
		btx_error_hint(err, "Rows of this project are too large even for the smallest page size: lower the page size floor, or ask Braintrust about response offloading.");
		return;
	}
	btx_error_set(err, 1, "38000", "could not %s: HTTP %ld", k->what, l->status);
	btx_error_detail(err, "Braintrust answered HTTP %ld%s%s%s (%d attempt%s).", l->status,
					 l->message[0] ? ": \"" : "", l->message, l->message[0] ? "\"" : "",
					 n, n == 1 ? "" : "s");
	status_hint(c, k, l->status, err);
}

/* the request's header lines into lines/owned; returns the count */
static int
build_headers(btx_btapi_client *c, const call *k, const char **lines, btx_buf *auth,
			  btx_buf *ua, btx_buf *org)
{
	int			n = 0;

	btx_buf_reset(auth);
	btx_buf_appendf(auth, "Authorization: Bearer %s", c->api_key);
	lines[n++] = auth->data;
	btx_buf_reset(ua);
	btx_buf_appendf(ua, "User-Agent: %s", c->user_agent);
	lines[n++] = ua->data;
	lines[n++] = "Accept: application/json";
	lines[n++] = "Expect:";
	if (k->body)
		lines[n++] = "Content-Type: application/json";
	if (k->op != OP_LOGIN && c->org.name[0])
	{
		btx_buf_reset(org);
		btx_buf_appendf(org, "x-bt-org-name: %s", c->org.name);
		lines[n++] = org->data;
	}
	return n;
}

/* how long to wait after a retryable answer; -1 = give up (limits) */
static long
retry_delay(btx_btapi_client *c, btx_btapi_class klass, int failures, int limited)
{
	char		ra[128];
	long		ms;

	if (klass == BTX_BTAPI_RATE_LIMITED)
	{
		if (limited > c->cfg.max_rate_limited)
			return -1;
		if (btx_http_header_get(&c->resp.headers, "retry-after", ra, sizeof(ra)) &&
			btx_http_parse_retry_after(ra, wall_now(c), &ms) == 0)
		{
			long		jitter = ms / 10;

			if (ms > c->cfg.max_retry_after_ms)
				return -2;
			if (jitter < 250)
				jitter = 250;
			if (jitter > 5000)
				jitter = 5000;
			return ms + (long) (rnd(c) % (unsigned long) (jitter + 1));
		}
		return btx_http_backoff_ms(limited, c->cfg.retry_base_ms, c->cfg.retry_cap_ms, rnd(c));
	}
	if (failures >= c->cfg.max_attempts)
		return -1;
	return btx_http_backoff_ms(failures, c->cfg.retry_base_ms, c->cfg.retry_cap_ms, rnd(c));
}

/* what the last answer was, for btx_btapi_last() and messages */
static void
record(btx_btapi_client *c, btx_btapi_class klass, int attempts)
{
	c->last.status = c->resp.status;
	c->last.klass = klass;
	c->last.net_error = c->resp.net_error;
	c->last.attempts = attempts;
	c->last.message[0] = '\0';
	if (c->resp.net_error != BTX_HTTP_NET_NONE)
		snprintf(c->last.message, sizeof(c->last.message), "%s", c->resp.net_message);
	else if (klass != BTX_BTAPI_OK)
		btx_btapi_error_text(c->resp.body.data, c->resp.body.len, c->last.message,
							 sizeof(c->last.message));
	redact(c, c->last.message, sizeof(c->last.message));
}

/* budget, then one exchange; 0 or -1 (canceled while waiting) */
static int
send_once(btx_btapi_client *c, const call *k)
{
	btx_http_request req;
	btx_http_options opt;
	const char *lines[8];
	btx_buf		auth,
				ua,
				org;
	long		wait = btx_btapi_budget_delay(&c->budget, now_ms(c));

	if (c->first_at_ms > 0 && c->first_at_ms - now_ms(c) > wait)
		wait = (long) (c->first_at_ms - now_ms(c));
	if (wait > 0)
	{
		c->stats.budget_wait_ms += wait;
		if (nap(c, wait) != 0)
			return -1;
	}
	btx_btapi_budget_take(&c->budget, now_ms(c));
	btx_buf_init(&auth);
	btx_buf_init(&ua);
	btx_buf_init(&org);
	memset(&req, 0, sizeof(req));
	req.method = k->method;
	req.url = k->url;
	req.headers = lines;
	req.nheaders = build_headers(c, k, lines, &auth, &ua, &org);
	req.body = k->body;
	req.body_len = k->body_len;
	req.max_body = c->cfg.http.max_body;
	opt.accept_gzip = 1;
	opt.max_redirects = c->cfg.max_redirects;
	c->stats.requests++;
	if (auth.oom || ua.oom || org.oom)
	{
		btx_http_response_reset(&c->resp);
		c->resp.net_error = BTX_HTTP_NET_OTHER;
		snprintf(c->resp.net_message, sizeof(c->resp.net_message), "out of memory");
	}
	else
		(void) btx_http_exchange(c->http, &req, &opt, &c->resp);
	if (auth.data)
		memset(auth.data, 0, auth.len);
	btx_buf_free(&auth);
	btx_buf_free(&ua);
	btx_buf_free(&org);
	return 0;
}

/*
 * One logical request with the retry policy of btapi.h.  0: a 2xx answer
 * is in c->resp; 1: PAGE_TOO_BIG and the caller may halve; -1: err set.
 */
static int
perform(btx_btapi_client *c, const call *k, btx_error *err)
{
	int			attempts = 0;
	int			failures = 0;
	int			limited = 0;
	btx_btapi_class klass;
	long		delay;

	if (c->cfg.allow_url && c->cfg.allow_url(c->cfg.callback_arg, k->url, err) != 0)
	{
		if (err->code == 0)
			btx_error_set(err, 1, "42501", "the URL %s is not allowed", k->url);
		return -1;
	}
	for (;;)
	{
		if (interrupted(c) || send_once(c, k) != 0)
		{
			btx_http_response_reset(&c->resp);
			c->resp.net_error = BTX_HTTP_NET_ABORTED;
			record(c, BTX_BTAPI_CANCELED, attempts);
			describe(c, k, err);
			return -1;
		}
		attempts++;
		klass = btx_btapi_classify(c->resp.status, c->resp.net_error, c->resp.offsite_redirect);
		record(c, klass, attempts);
		if (klass == BTX_BTAPI_OK)
			return 0;
		if (klass == BTX_BTAPI_PAGE_TOO_BIG && k->can_halve)
			return 1;
		if (klass == BTX_BTAPI_PAGE_TOO_BIG && (c->resp.status == 500 || c->resp.status == 504))
			klass = BTX_BTAPI_TRANSIENT;	/* at the floor: an ordinary failure */
		if (klass != BTX_BTAPI_TRANSIENT && klass != BTX_BTAPI_RATE_LIMITED)
		{
			describe(c, k, err);
			return -1;
		}
		if (klass == BTX_BTAPI_RATE_LIMITED)
		{
			limited++;
			c->stats.rate_limited++;
		}
		else
			failures++;
		delay = retry_delay(c, klass, failures, limited);
		if (delay == -2)
		{
			describe(c, k, err);
			btx_error_detail(err, "Braintrust answered HTTP 429 and asked to wait longer than %ld s (Retry-After).",
							 c->cfg.max_retry_after_ms / 1000);
			btx_error_hint(err, "The organization's BTQL quota is used up: run less often or lower the connection's requests per minute.");
			return -1;
		}
		if (delay < 0)
		{
			describe(c, k, err);
			return -1;
		}
		c->stats.retries++;
		c->stats.retry_wait_ms += delay;
		if (nap(c, delay) != 0)
		{
			c->last.klass = BTX_BTAPI_CANCELED;
			describe(c, k, err);
			return -1;
		}
	}
}

/* ---------------------------------------------------------------- login, project */

int
btx_btapi_login(btx_btapi_client *c, btx_error *err)
{
	call		k;
	btx_buf		url;
	btx_buf		what;
	btx_btapi_org org;
	int			r;

	if (c->logged_in)
		return 0;
	if (c->api_url_cfg)
	{
		memset(&c->org, 0, sizeof(c->org));
		if (normalise_url(c->api_url_cfg, "Braintrust API URL", c->cfg.http.allow_http, c->org.api_url,
						  sizeof(c->org.api_url), err) != 0)
			return -1;
		if (c->org_name_cfg)
			snprintf(c->org.name, sizeof(c->org.name), "%s", c->org_name_cfg);
		c->logged_in = 1;
		return 0;
	}
	btx_buf_init(&url);
	btx_buf_init(&what);
	btx_buf_appendf(&url, "%s/api/apikey/login", c->app_url);
	btx_buf_appendf(&what, "log in to Braintrust at %s", c->app_url);
	memset(&k, 0, sizeof(k));
	k.op = OP_LOGIN;
	k.what = what.data;
	k.method = "POST";
	k.url = url.data;
	k.body = "";				/* no body, Content-Type: application/json (as the SDKs) */
	r = (url.oom || what.oom) ? -1 : perform(c, &k, err);
	if (url.oom || what.oom)
		btx_error_set(err, 1, "53200", "out of memory");
	btx_buf_free(&url);
	btx_buf_free(&what);
	if (r != 0)
		return -1;
	if (btx_btapi_parse_login(c->resp.body.data, c->resp.body.len, c->org_name_cfg, &org, err) != 0)
		return -1;
	memcpy(&c->org, &org, sizeof(org));
	if (normalise_url(org.api_url, "Braintrust API URL", c->cfg.http.allow_http, c->org.api_url,
					  sizeof(c->org.api_url), err) != 0)
	{
		btx_error_hint(err, "The login of organization \"%s\" returned this API URL; set the connection's API URL explicitly.",
					   org.name);
		memset(&c->org, 0, sizeof(c->org));
		return -1;
	}
	c->logged_in = 1;
	return 0;
}

int
btx_btapi_find_project(btx_btapi_client *c, const char *name, char out[64], btx_error *err)
{
	call		k;
	btx_buf		url;
	btx_buf		what;
	int			r;

	out[0] = '\0';
	if (name == NULL || name[0] == '\0')
	{
		btx_error_set(err, 1, "22023", "a Braintrust project name is required");
		return -1;
	}
	if (btx_btapi_login(c, err) != 0)
		return -1;
	btx_buf_init(&url);
	btx_buf_init(&what);
	btx_buf_appendf(&url, "%s/v1/project?project_name=", c->org.api_url);
	btx_http_percent_encode(&url, name, strlen(name), 0);
	if (c->org.name[0])
	{
		btx_buf_puts(&url, "&org_name=");
		btx_http_percent_encode(&url, c->org.name, strlen(c->org.name), 0);
	}
	btx_buf_appendf(&what, "look up Braintrust project \"%.200s\"", name);
	memset(&k, 0, sizeof(k));
	k.op = OP_PROJECT;
	k.what = what.data;
	k.subject = name;
	k.method = "GET";
	k.url = url.data;
	if (url.oom || what.oom)
	{
		btx_error_set(err, 1, "53200", "out of memory");
		r = -1;
	}
	else
		r = perform(c, &k, err);
	btx_buf_free(&url);
	btx_buf_free(&what);
	if (r != 0)
		return -1;
	r = btx_btapi_parse_project(c->resp.body.data, c->resp.body.len, name, out, err);
	if (r == 1)
	{
		btx_error_set(err, 1, "42704", "Braintrust project \"%.200s\" not found", name);
		btx_error_detail(err, "No project of that name is visible to this API key%s%s%s.",
						 c->org.name[0] ? " in organization \"" : "", c->org.name,
						 c->org.name[0] ? "\"" : "");
		btx_error_hint(err, "Check the project name (case matters) and the organization, and that the key's user or service account can read the project.");
		return -1;
	}
	return r;
}

/* ---------------------------------------------------------------- queries */

/* POST {api_url}/btql with body; 0 / 1 (halve) / -1 */
static int
btql_request(btx_btapi_client *c, const char *project, const char *query, int tz_offset, int can_halve,
			 int rows, btx_error *err)
{
	call		k;
	btx_buf		url;
	btx_buf		what;
	btx_buf		body;
	int			r;

	btx_buf_init(&url);
	btx_buf_init(&what);
	btx_buf_init(&body);
	btx_buf_appendf(&url, "%s/btql", c->org.api_url);
	if (project)
		btx_buf_appendf(&what, "query the logs of Braintrust project %s", project);
	else
		btx_buf_puts(&what, "run a Braintrust query");
	memset(&k, 0, sizeof(k));
	k.op = OP_BTQL;
	k.what = what.data;
	k.subject = project;
	k.method = "POST";
	k.url = url.data;
	k.can_halve = can_halve;
	k.page_rows = rows;
	if (btx_btapi_request_body_tz(query, tz_offset, &body) != 0 || url.oom || what.oom)
	{
		btx_error_set(err, 1, "53200", "out of memory");
		r = -1;
	}
	else
	{
		k.body = body.data;
		k.body_len = body.len;
		r = perform(c, &k, err);
	}
	btx_buf_free(&url);
	btx_buf_free(&what);
	btx_buf_free(&body);
	return r;
}

static int
protocol_error(btx_error *err, const char *project, const char *detail, const char *id)
{
	btx_error_set(err, 1, "38000", "Braintrust's answer for project %s breaks the paging contract", project);
	btx_error_detail(err, "%s (row id \"%.128s\").", detail, id ? id : "");
	btx_error_hint(err, "Nothing was skipped: the run stops here. Report this to Braintrust with the row id if it repeats.");
	return -1;
}

/* the window's horizon from the first page of the window (btapi.h) */
static int
fix_horizon(const btx_btapi_page *page, btx_btapi_position *w, btx_btapi_scan_result *res,
			btx_error *err)
{
	size_t		i;
	btx_btapi_row_facts f;
	const char *hi;

	if (page->has_freshness)
	{
		hi = btx_btapi_xact_gt(page->last_processed, page->last_considered) ?
			page->last_considered : page->last_processed;
		snprintf(w->xact_hi, sizeof(w->xact_hi), "%s", hi);
		res->horizon_from_freshness = 1;
	}
	else
	{
		w->xact_hi[0] = '\0';
		for (i = 0; i < json_array_size(page->data); i++)
		{
			if (btx_btapi_row_facts_get(json_array_get(page->data, i), &f, err) != 0)
				return -1;
			if (w->xact_hi[0] == '\0' || btx_btapi_xact_gt(f.xact_id, w->xact_hi))
				snprintf(w->xact_hi, sizeof(w->xact_hi), "%s", f.xact_id);
		}
	}
	if (w->xact_lo[0] && (w->xact_hi[0] == '\0' || btx_btapi_xact_gt(w->xact_lo, w->xact_hi)))
		snprintf(w->xact_hi, sizeof(w->xact_hi), "%s", w->xact_lo);
	return 0;
}

/* deliver the rows of one page; 0 go on, 1 stopped by the callback, -1 error */
static int
deliver_page(const btx_btapi_scan_options *opt, const btx_btapi_page *page, int first,
			 btx_btapi_position *w, btx_btapi_position *pos, btx_btapi_scan_result *res,
			 btx_error *err)
{
	size_t		i;
	btx_btapi_position at;
	const char *prev = w->pagination_key[0] ? w->pagination_key : NULL;
	char		last[BTX_BTAPI_KEY_MAX + 1] = "";

	for (i = 0; i < json_array_size(page->data); i++)
	{
		json_t	   *obj = json_array_get(page->data, i);
		btx_btapi_row_facts f;
		btx_btapi_row row;
		int			rc;

		if (btx_btapi_row_facts_get(obj, &f, err) != 0)
			return -1;
		if (f.pagination_key == NULL)
			return protocol_error(err, opt->project_id, "A row has no _pagination_key, so it cannot be paged by key", f.id);
		if (prev && strcmp(f.pagination_key, prev) <= 0)
			return protocol_error(err, opt->project_id, "Rows did not come in strictly increasing _pagination_key order after the requested key", f.id);
		if (w->xact_lo[0] && !btx_btapi_xact_gt(f.xact_id, w->xact_lo))
			return protocol_error(err, opt->project_id, "A row's _xact_id is not above the requested lower bound", f.id);
		snprintf(last, sizeof(last), "%s", f.pagination_key);
		prev = last;
		if (btx_btapi_xact_gt(f.xact_id, w->xact_hi))
		{
			if (!first)
				return protocol_error(err, opt->project_id, "A row's _xact_id is above the requested horizon", f.id);
			res->beyond_horizon++;	/* a later window reads it */
			continue;
		}
		at = *w;
		snprintf(at.pagination_key, sizeof(at.pagination_key), "%s", f.pagination_key);
		row.object = obj;
		row.id = f.id;
		row.xact_id = f.xact_id;
		row.pagination_key = f.pagination_key;
		row.deleted = f.deleted;
		row.page = res->pages;
		row.index = (int) i;
		row.position = &at;
		rc = opt->on_row(opt->arg, &row, err);
		if (rc < 0)
		{
			if (err->code == 0)
				btx_error_set(err, 1, "XX000", "the row callback failed");
			return -1;
		}
		*pos = at;				/* delivered: the resume point moves past it */
		res->rows++;
		res->deleted += f.deleted;
		if (rc > 0)
			return 1;
	}
	/* past the rows left for a later window too */
	if (last[0])
		snprintf(w->pagination_key, sizeof(w->pagination_key), "%s", last);
	*pos = *w;
	return 0;
}

int
btx_btapi_scan(btx_btapi_client *c, const btx_btapi_scan_options *opt, btx_btapi_position *pos,
			   btx_btapi_scan_result *res, btx_error *err)
{
	btx_btapi_position w = *pos;
	btx_buf		q;
	int			limit = opt->page_size > 0 ? opt->page_size : BTX_BTAPI_MAX_PAGE;
	int			floor = opt->page_size_floor > 0 ? opt->page_size_floor : BTX_BTAPI_DEFAULT_FLOOR;
	int			r = 0;

	memset(res, 0, sizeof(*res));
	if (limit > BTX_BTAPI_MAX_PAGE)
		limit = BTX_BTAPI_MAX_PAGE;
	if (floor > limit)
		floor = limit;
	res->page_size = limit;
	btx_buf_init(&q);
	/* checks the project id, the filter and the position before any request */
	if (opt->on_row == NULL || btx_btapi_page_query_select(opt->project_id, opt->select, opt->filter, &w, limit, &q, err) != 0 ||
		btx_btapi_login(c, err) != 0)
	{
		if (opt->on_row == NULL && err->code == 0)
			btx_error_set(err, 1, "22023", "a row callback is required");
		btx_buf_free(&q);
		return -1;
	}
	while (opt->max_pages <= 0 || res->pages < opt->max_pages)
	{
		btx_btapi_page page;
		int			first = w.xact_hi[0] == '\0';

		if (btx_btapi_page_query_select(opt->project_id, opt->select, opt->filter, &w, limit, &q, err) != 0)
		{
			r = -1;
			break;
		}
		r = btql_request(c, opt->project_id, q.data, 0, limit > floor, limit, err);
		if (r == 1)
		{
			limit = limit / 2 < floor ? floor : limit / 2;
			res->page_size = limit;
			c->stats.halvings++;
			r = 0;
			continue;
		}
		if (r != 0 || btx_btapi_parse_page(c->resp.body.data, c->resp.body.len, &page, err) != 0)
		{
			r = -1;
			break;
		}
		res->pages++;
		if (page.has_freshness)
		{
			memcpy(res->last_processed, page.last_processed, sizeof(res->last_processed));
			memcpy(res->last_considered, page.last_considered, sizeof(res->last_considered));
		}
		if (first && fix_horizon(&page, &w, res, err) != 0)
			r = -1;
		else if (json_array_size(page.data) == 0)
		{
			/* the window is complete: the next one starts above its horizon */
			snprintf(w.xact_lo, sizeof(w.xact_lo), "%s", w.xact_hi[0] ? w.xact_hi : w.xact_lo);
			w.xact_hi[0] = '\0';
			w.pagination_key[0] = '\0';
			*pos = w;
			res->complete = 1;
		}
		else
			r = deliver_page(opt, &page, first, &w, pos, res, err);
		btx_btapi_page_free(&page);
		if (r != 0 || res->complete)
			break;
	}
	btx_buf_free(&q);
	if (r == 1)
		r = 0;					/* stopped by the callback */
	return r;
}

int
btx_btapi_query(btx_btapi_client *c, const char *query, btx_btapi_row_fn on_row, void *arg,
				btx_error *err)
{
	return btx_btapi_query_tz(c, query, 0, on_row, arg, err);
}

int
btx_btapi_query_tz(btx_btapi_client *c, const char *query, int tz_offset, btx_btapi_row_fn on_row,
				   void *arg, btx_error *err)
{
	btx_btapi_page page;
	size_t		i;
	int			r = 0;

	if (query == NULL || query[0] == '\0')
	{
		btx_error_set(err, 1, "22023", "a query is required");
		return -1;
	}
	if (btx_btapi_login(c, err) != 0 || btql_request(c, NULL, query, tz_offset, 0, 0, err) != 0 ||
		btx_btapi_parse_page(c->resp.body.data, c->resp.body.len, &page, err) != 0)
		return -1;
	for (i = 0; i < json_array_size(page.data) && r == 0; i++)
	{
		json_t	   *obj = json_array_get(page.data, i);
		btx_btapi_row row;
		json_t	   *v;

		memset(&row, 0, sizeof(row));
		row.object = obj;
		v = json_object_get(obj, "id");
		row.id = json_is_string(v) ? json_string_value(v) : "";
		v = json_object_get(obj, "_xact_id");
		row.xact_id = json_is_string(v) ? json_string_value(v) : "";
		v = json_object_get(obj, "_pagination_key");
		row.pagination_key = json_is_string(v) ? json_string_value(v) : "";
		row.deleted = json_is_true(json_object_get(obj, "_object_delete"));
		row.page = 1;
		row.index = (int) i;
		r = on_row(arg, &row, err);
	}
	btx_btapi_page_free(&page);
	return r < 0 ? -1 : 0;
}
