/*
 * http_util.c — the pure building blocks of the HTTP core (see http.h):
 * network-failure reasons, backoff with full jitter, HTTP dates and
 * Retry-After, header walking, base-URL parsing, origin comparison and
 * Location resolution, percent-encoding, a seeded xorshift and a sleep.
 * Nothing here touches the network or keeps state between calls.
 */
#include "core/http/http.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

/* ---------------------------------------------------------------- failures */

int
btx_http_net_transient(btx_http_net n)
{
	return n == BTX_HTTP_NET_DNS || n == BTX_HTTP_NET_CONNECT || n == BTX_HTTP_NET_TIMEOUT ||
		n == BTX_HTTP_NET_RESET;
}

const char *
btx_http_net_reason(btx_http_net n)
{
	switch (n)
	{
		case BTX_HTTP_NET_DNS:
			return "could not resolve host";
		case BTX_HTTP_NET_CONNECT:
			return "connection failed";
		case BTX_HTTP_NET_TIMEOUT:
			return "timed out";
		case BTX_HTTP_NET_RESET:
			return "connection reset";
		case BTX_HTTP_NET_TLS:
			return "TLS certificate verification failed";
		case BTX_HTTP_NET_ABORTED:
			return "canceled";
		case BTX_HTTP_NET_PROTOCOL:
			return "protocol not allowed";
		case BTX_HTTP_NET_TOO_LARGE:
			return "response too large";
		case BTX_HTTP_NET_BAD_ENCODING:
			return "response body could not be decoded";
		default:
			return "network error";
	}
}

long
btx_http_backoff_ms(int attempt, long base_ms, long cap_ms, unsigned int rnd)
{
	long		ceiling = base_ms;
	int			i;

	if (attempt < 1)
		attempt = 1;
	for (i = 1; i < attempt && ceiling < cap_ms; i++)
		ceiling *= 2;
	if (ceiling > cap_ms)
		ceiling = cap_ms;
	if (ceiling <= 0)
		return 0;
	/* full jitter: uniform in [0, ceiling] */
	return (long) (rnd % (unsigned long) (ceiling + 1));
}

/* ---------------------------------------------------------------- dates */

static const char *const month_names[] = {
	"Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"
};

static int
month_index(const char *mon)
{
	int			m;

	for (m = 0; m < 12; m++)
		if (strcmp(mon, month_names[m]) == 0)
			return m;
	return -1;
}

int
btx_http_utc_time(int year, int mon0, int mday, int hour, int min, int sec, time_t *out)
{
	struct tm	tm;

	if (mon0 < 0 || mon0 > 11 || mday < 1 || mday > 31 || year < 1970 || year > 9999 ||
		hour < 0 || hour > 23 || min < 0 || min > 59 || sec < 0 || sec > 60)
		return -1;
	memset(&tm, 0, sizeof(tm));
	tm.tm_year = year - 1900;
	tm.tm_mon = mon0;
	tm.tm_mday = mday;
	tm.tm_hour = hour;
	tm.tm_min = min;
	tm.tm_sec = sec;
	*out = timegm(&tm);
	return 0;
}

/*
 * The three forms RFC 7231 §7.1.1.1 makes recipients accept:
 *   IMF-fixdate  Sun, 06 Nov 1994 08:49:37 GMT
 *   RFC 850      Sunday, 06-Nov-94 08:49:37 GMT   (two-digit year: 1970-2069)
 *   asctime      Sun Nov  6 08:49:37 1994
 */
int
btx_http_parse_date(const char *s, time_t *out)
{
	char		wd[16];
	char		mon[8];
	char		tail[4];
	int			d,
				y,
				h,
				mi,
				se;
	int			m;
	int			n = 0;

	if (s == NULL)
		return -1;
	while (*s == ' ' || *s == '\t')
		s++;
	if (sscanf(s, "%3s, %2d %3s %4d %2d:%2d:%2d GMT%n", wd, &d, mon, &y, &h, &mi, &se, &n) == 7 && n > 0)
		;
	else if (sscanf(s, "%15[A-Za-z], %2d-%3s-%2d %2d:%2d:%2d GMT%n", wd, &d, mon, &y, &h, &mi, &se, &n) == 7 &&
			 n > 0)
		y += y < 70 ? 2000 : 1900;
	else if (sscanf(s, "%3s %3s %2d %2d:%2d:%2d %4d%n", wd, mon, &d, &h, &mi, &se, &y, &n) == 7 && n > 0)
		;
	else
		return -1;
	if (sscanf(s + n, " %1s", tail) == 1)
		return -1;				/* trailing garbage */
	m = month_index(mon);
	if (m < 0)
		return -1;
	return btx_http_utc_time(y, m, d, h, mi, se, out);
}

int
btx_http_parse_retry_after(const char *value, time_t now, long *delay_ms)
{
	const char *p = value;
	long long	secs = 0;
	time_t		when;

	if (value == NULL)
		return -1;
	while (*p == ' ' || *p == '\t')
		p++;
	if (isdigit((unsigned char) *p))
	{
		const char *q = p;

		while (isdigit((unsigned char) *q))
		{
			if (secs < 86400)
				secs = secs * 10 + (*q - '0');
			q++;
		}
		while (*q == ' ' || *q == '\t' || *q == '\r' || *q == '\n')
			q++;
		if (*q == '\0')
		{
			if (secs > 86400)
				secs = 86400;
			*delay_ms = (long) (secs * 1000);
			return 0;
		}
	}
	if (btx_http_parse_date(p, &when) != 0)
		return -1;
	if (when <= now)
		*delay_ms = 0;
	else if (when - now > 86400)
		*delay_ms = 86400L * 1000;
	else
		*delay_ms = (long) (when - now) * 1000;
	return 0;
}

/* ---------------------------------------------------------------- headers */

int
btx_http_header_next(const char **cursor, const char **name, size_t *nlen,
					 const char **value, size_t *vlen)
{
	const char *p = *cursor;

	while (p && *p)
	{
		const char *e = strchr(p, '\n');
		size_t		l = e ? (size_t) (e - p) : strlen(p);
		const char *colon = memchr(p, ':', l);
		const char *line = p;

		p += l;
		if (*p == '\n')
			p++;
		if (colon && colon > line)
		{
			const char *v = colon + 1;
			const char *end = line + l;

			while (v < end && (*v == ' ' || *v == '\t'))
				v++;
			while (end > v && (end[-1] == '\r' || end[-1] == ' ' || end[-1] == '\t'))
				end--;
			*name = line;
			*nlen = (size_t) (colon - line);
			*value = v;
			*vlen = (size_t) (end - v);
			*cursor = p;
			return 1;
		}
	}
	*cursor = p;
	return 0;
}

void
btx_http_copy_value(const char *v, size_t vl, char *dst, size_t sz)
{
	if (sz == 0)
		return;
	if (vl >= sz)
		vl = sz - 1;
	memcpy(dst, v, vl);
	dst[vl] = '\0';
}

int
btx_http_header_get(const btx_buf *raw, const char *name, char *dst, size_t sz)
{
	const char *cur = raw->data;
	const char *n,
			   *v;
	size_t		nl,
				vl;
	int			found = 0;

	while (btx_http_header_next(&cur, &n, &nl, &v, &vl))
		if (nl == strlen(name) && strncasecmp(n, name, nl) == 0)
		{
			btx_http_copy_value(v, vl, dst, sz);
			found = 1;
		}
	return found;
}

/* ---------------------------------------------------------------- URLs */

void
btx_http_url_init(btx_http_url *u)
{
	btx_buf_init(&u->scheme);
	btx_buf_init(&u->authority);
	btx_buf_init(&u->path);
}

void
btx_http_url_free(btx_http_url *u)
{
	btx_buf_free(&u->scheme);
	btx_buf_free(&u->authority);
	btx_buf_free(&u->path);
}

int
btx_http_parse_url(const char *url, const char *what, int allow_http, int allow_path,
				   btx_http_url *out, btx_error *err)
{
	const char *p = url ? strstr(url, "://") : NULL;
	const char *a;
	size_t		alen;
	size_t		plen;
	size_t		i;

	if (p == NULL)
	{
		btx_error_set(err, 1, "22023", "invalid %s \"%s\"", what, url ? url : "");
		btx_error_detail(err, "The %s must look like scheme://host[:port]%s.", what,
						 allow_path ? "[/path]" : "");
		return -1;
	}
	btx_buf_reset(&out->scheme);
	btx_buf_reset(&out->authority);
	btx_buf_reset(&out->path);
	btx_buf_append(&out->scheme, url, (size_t) (p - url));
	if (strcmp(out->scheme.data, "https") != 0 && strcmp(out->scheme.data, "http") != 0)
	{
		btx_error_set(err, 1, "22023", "invalid %s \"%s\"", what, url);
		btx_error_detail(err, "Only https:// URLs are supported.");
		return -1;
	}
	if (strcmp(out->scheme.data, "http") == 0 && !allow_http)
	{
		btx_error_set(err, 1, "22023", "plain http %s \"%s\" is not allowed", what, url);
		btx_error_hint(err, "Use an https:// URL; http is only allowed when the configuration permits it (tests).");
		return -1;
	}
	a = p + 3;
	alen = strcspn(a, "/?#");
	plen = strcspn(a + alen, "?#");
	for (i = 0; url[i]; i++)
		if ((unsigned char) url[i] <= ' ' || url[i] == 0x7f)
			break;
	if (alen == 0 || memchr(a, '@', alen) != NULL || url[i] != '\0' || a[alen + plen] != '\0' ||
		(!allow_path && !(plen == 0 || (plen == 1 && a[alen] == '/'))))
	{
		btx_error_set(err, 1, "22023", "invalid %s \"%s\"", what, url);
		btx_error_detail(err, "The %s must look like scheme://host[:port]%s, without %s user name, query or white space.",
						 what, allow_path ? "[/path]" : "", allow_path ? "a" : "a path,");
		return -1;
	}
	btx_buf_append(&out->authority, a, alen);
	while (plen > 0 && a[alen + plen - 1] == '/')
		plen--;
	btx_buf_append(&out->path, a + alen, plen);
	if (out->scheme.oom || out->authority.oom || out->path.oom)
	{
		btx_error_set(err, 1, "53200", "out of memory");
		return -1;
	}
	return 0;
}

/* scheme, lower-cased host and port (default by scheme) of an absolute URL */
static int
origin_of(const char *url, char *scheme, size_t ssz, char *host, size_t hsz, long *port)
{
	const char *p = strstr(url, "://");
	const char *a;
	size_t		alen;
	const char *colon;
	size_t		hl;
	size_t		i;

	if (p == NULL || (size_t) (p - url) >= ssz)
		return -1;
	memcpy(scheme, url, p - url);
	scheme[p - url] = '\0';
	for (i = 0; scheme[i]; i++)
		scheme[i] = (char) tolower((unsigned char) scheme[i]);
	a = p + 3;
	alen = strcspn(a, "/?#");
	if (memchr(a, '@', alen) != NULL)
		return -1;
	colon = NULL;
	if (alen > 0 && a[0] == '[')
	{
		const char *rb = memchr(a, ']', alen);

		if (rb == NULL)
			return -1;
		if (rb + 1 < a + alen && rb[1] == ':')
			colon = rb + 1;
	}
	else
		colon = memchr(a, ':', alen);
	hl = colon ? (size_t) (colon - a) : alen;
	if (hl == 0 || hl >= hsz)
		return -1;
	for (i = 0; i < hl; i++)
		host[i] = (char) tolower((unsigned char) a[i]);
	host[hl] = '\0';
	if (colon)
	{
		char	   *end;

		*port = strtol(colon + 1, &end, 10);
		if (end != a + alen || end == colon + 1)
			return -1;
	}
	else
		*port = strcmp(scheme, "https") == 0 ? 443 : strcmp(scheme, "http") == 0 ? 80 : -1;
	return 0;
}

int
btx_http_same_origin(const char *a, const char *b)
{
	char		s1[16],
				s2[16],
				h1[256],
				h2[256];
	long		p1,
				p2;

	if (a == NULL || b == NULL || origin_of(a, s1, sizeof(s1), h1, sizeof(h1), &p1) != 0 ||
		origin_of(b, s2, sizeof(s2), h2, sizeof(h2), &p2) != 0)
		return 0;
	return strcmp(s1, s2) == 0 && strcmp(h1, h2) == 0 && p1 == p2;
}

int
btx_http_resolve(const char *base, const char *location, btx_buf *out)
{
	const char *sep = strstr(base, "://");
	const char *auth_end;
	size_t		i;

	btx_buf_reset(out);
	if (sep == NULL || location == NULL || location[0] == '\0')
		return -1;
	for (i = 0; location[i]; i++)
		if ((unsigned char) location[i] <= ' ' || location[i] == 0x7f)
			return -1;
	auth_end = sep + 3 + strcspn(sep + 3, "/?#");
	if (strstr(location, "://") != NULL && strcspn(location, "/?#") > (size_t) (strstr(location, "://") - location))
		btx_buf_puts(out, location);	/* absolute */
	else if (location[0] == '/' && location[1] == '/')
	{
		btx_buf_append(out, base, (size_t) (sep - base) + 1);	/* "scheme:" */
		btx_buf_puts(out, location);
	}
	else if (location[0] == '/')
	{
		btx_buf_append(out, base, (size_t) (auth_end - base));
		btx_buf_puts(out, location);
	}
	else
	{
		/* relative path: replace the last segment of the base path */
		const char *path_end = auth_end + strcspn(auth_end, "?#");
		const char *slash = path_end;

		while (slash > auth_end && slash[-1] != '/')
			slash--;
		if (slash == auth_end)
		{
			btx_buf_append(out, base, (size_t) (auth_end - base));
			btx_buf_putc(out, '/');
		}
		else
			btx_buf_append(out, base, (size_t) (slash - base));
		btx_buf_puts(out, location);
	}
	return out->oom ? -1 : 0;
}

/* ---------------------------------------------------------------- encoding */

static int
is_unreserved(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
		(c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.' || c == '~';
}

int
btx_http_percent_encode(btx_buf *out, const char *s, size_t len, int keep_slash)
{
	static const char hexdig[] = "0123456789ABCDEF";
	size_t		i;
	char		esc[3];

	if (btx_buf_reserve(out, len) != 0 || btx_buf_append(out, "", 0) != 0)
		return -1;
	for (i = 0; i < len; i++)
	{
		unsigned char c = (unsigned char) s[i];

		if (is_unreserved(c) || (keep_slash && c == '/'))
			btx_buf_putc(out, (char) c);
		else
		{
			esc[0] = '%';
			esc[1] = hexdig[c >> 4];
			esc[2] = hexdig[c & 15];
			btx_buf_append(out, esc, 3);
		}
	}
	return out->oom ? -1 : 0;
}

/* ---------------------------------------------------------------- random, sleep */

unsigned int
btx_http_rng_seed(const void *salt)
{
	struct timespec ts;
	unsigned int s;

	clock_gettime(CLOCK_REALTIME, &ts);
	s = (unsigned int) ts.tv_sec ^ (unsigned int) ts.tv_nsec ^ ((unsigned int) getpid() << 16) ^
		(unsigned int) (size_t) salt;
	return s ? s : 0x9e3779b9u;
}

unsigned int
btx_http_rng_next(unsigned int *state)
{
	unsigned int x = *state ? *state : 0x9e3779b9u;

	x ^= x << 13;
	x ^= x >> 17;
	x ^= x << 5;
	*state = x;
	return x;
}

int
btx_http_sleep_ms(void *arg, long ms)
{
	struct timespec ts;

	if (ms <= 0)
		return 0;
	ts.tv_sec = ms / 1000;
	ts.tv_nsec = (ms % 1000) * 1000000L;
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
	return 0;
}
