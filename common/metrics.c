/*
 * metrics.c - OpenMetrics text exposition and its HTTP endpoint (libevent's
 * evhttp), for every daemon (metrics.h).  The format is OpenMetrics 1.0:
 * families with TYPE, UNIT and HELP, counters as NAME_total, histograms as
 * cumulative _bucket{le=...} with +Inf, _count and _sum, and "# EOF" at the
 * end.  Only GET (and HEAD) of /metrics are served; anything else is 404 or
 * 405.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "metrics.h"

void mhist_init(struct mhist *h, const double *le, size_t n)
{
	memset(h, 0, sizeof(*h));
	h->le = le;
	h->n = n > MH_MAX ? MH_MAX : n;
}

void mhist_observe(struct mhist *h, double v)
{
	size_t i = 0;
	while (i < h->n && v > h->le[i])
		i++;
	h->bucket[i]++;
	h->count++;
	h->sum += v;
}

static void mt_printf(struct mtext *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void mt_printf(struct mtext *t, const char *fmt, ...)
{
	va_list ap;
	for (;;) {
		size_t room = t->cap - t->len;
		va_start(ap, fmt);
		int n = t->buf ? vsnprintf(t->buf + t->len, room, fmt, ap) : -1;
		va_end(ap);
		if (n >= 0 && (size_t)n < room) {
			t->len += (size_t)n;
			return;
		}
		size_t cap = t->cap ? t->cap * 2 : 4096;
		while (n >= 0 && cap - t->len <= (size_t)n)
			cap *= 2;
		char *b = realloc(t->buf, cap);
		if (!b) {
			t->oom = 1;
			return;
		}
		t->buf = b;
		t->cap = cap;
	}
}

void mt_family(struct mtext *t, const char *name, const char *type, const char *unit,
    const char *help)
{
	mt_printf(t, "# TYPE %s %s\n", name, type);
	if (unit)
		mt_printf(t, "# UNIT %s %s\n", name, unit);
	mt_printf(t, "# HELP %s %s\n", name, help);
}

static void number(struct mtext *t, double v)
{
	if (v == (double)(int64_t)v && v < 9e15 && v > -9e15)
		mt_printf(t, "%lld\n", (long long)v);
	else
		mt_printf(t, "%.9g\n", v);
}

void mt_sample(struct mtext *t, const char *name, const char *labels, double v)
{
	mt_printf(t, labels && *labels ? "%s{%s} " : "%s ", name, labels);
	number(t, v);
}

const char *mt_label(char *buf, size_t len, const char *key, const char *value)
{
	size_t o = (size_t)snprintf(buf, len, "%s=\"", key);
	for (const char *s = value; *s && o + 3 < len; s++) {
		if (*s == '"' || *s == '\\')
			buf[o++] = '\\';
		if (*s == '\n') {
			buf[o++] = '\\';
			buf[o++] = 'n';
			continue;
		}
		buf[o++] = *s;
	}
	if (o + 2 <= len) {
		buf[o++] = '"';
		buf[o] = 0;
	} else
		buf[len - 1] = 0;
	return buf;
}

void mt_hist(struct mtext *t, const char *name, const char *labels, const struct mhist *h)
{
	const char *sep = labels && *labels ? "," : "";
	uint64_t cum = 0;
	if (!labels)
		labels = "";
	for (size_t i = 0; i <= h->n; i++) {
		cum += h->bucket[i];
		if (i < h->n)
			mt_printf(t, "%s_bucket{%s%sle=\"%g\"} %llu\n", name, labels, sep, h->le[i],
			    (unsigned long long)cum);
		else
			mt_printf(t, "%s_bucket{%s%sle=\"+Inf\"} %llu\n", name, labels, sep,
			    (unsigned long long)cum);
	}
	mt_printf(t, *labels ? "%s_count{%s} %llu\n" : "%s_count%s %llu\n", name, labels,
	    (unsigned long long)h->count);
	mt_printf(t, *labels ? "%s_sum{%s} " : "%s_sum%s ", name, labels);
	number(t, h->sum);
}

struct metrics_srv {
	struct evhttp *http;
	metrics_render_fn fn;
	void *arg;
};

static void on_request(struct evhttp_request *req, void *arg)
{
	struct metrics_srv *s = arg;
	const char *uri = evhttp_request_get_uri(req);
	enum evhttp_cmd_type cmd = evhttp_request_get_command(req);
	if (!uri || (strcmp(uri, "/metrics") && strncmp(uri, "/metrics?", 9))) {
		evhttp_send_error(req, HTTP_NOTFOUND, "only /metrics is served here");
		return;
	}
	if (cmd != EVHTTP_REQ_GET && cmd != EVHTTP_REQ_HEAD) {
		evhttp_send_error(req, 405, "GET only");
		return;
	}
	struct mtext t = { 0 };
	s->fn(&t, s->arg);
	mt_printf(&t, "# EOF\n");
	if (t.oom) {
		free(t.buf);
		evhttp_send_error(req, HTTP_INTERNAL, "out of memory");
		return;
	}
	struct evbuffer *b = evbuffer_new();
	evbuffer_add(b, t.buf, t.len);
	free(t.buf);
	evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type",
	    "application/openmetrics-text; version=1.0.0; charset=utf-8");
	evhttp_send_reply(req, HTTP_OK, "OK", b);
	evbuffer_free(b);
}

struct metrics_srv *metrics_listen(struct event_base *b, const char *addr, metrics_render_fn fn,
    void *arg, char *err, size_t el)
{
	char host[256];
	const char *colon = strrchr(addr, ':');
	char *end;
	unsigned long port = colon ? strtoul(colon + 1, &end, 10) : 0;
	if (!colon || colon == addr || !port || port > 65535 || *end ||
	    (size_t)(colon - addr) >= sizeof(host)) {
		snprintf(err, el, "metrics address '%s': ADDRESS:PORT, e.g. 127.0.0.1:9470", addr);
		return NULL;
	}
	memcpy(host, addr, (size_t)(colon - addr));
	host[colon - addr] = 0;
	if (host[0] == '[' && host[strlen(host) - 1] == ']') {
		memmove(host, host + 1, strlen(host));
		host[strlen(host) - 1] = 0;
	}
	struct metrics_srv *s = calloc(1, sizeof(*s));
	if (!s || !(s->http = evhttp_new(b))) {
		free(s);
		snprintf(err, el, "metrics: out of memory");
		return NULL;
	}
	s->fn = fn;
	s->arg = arg;
	evhttp_set_allowed_methods(s->http, EVHTTP_REQ_GET | EVHTTP_REQ_HEAD | EVHTTP_REQ_POST);
	evhttp_set_gencb(s->http, on_request, s);
	if (evhttp_bind_socket(s->http, host, (uint16_t)port) < 0) {
		snprintf(err, el, "metrics %s: cannot listen: %s (another daemon on that port? "
		    "metrics= in tandem.conf or --metrics names another)", addr, strerror(errno));
		evhttp_free(s->http);
		free(s);
		return NULL;
	}
	return s;
}

void metrics_close(struct metrics_srv *s)
{
	if (!s)
		return;
	evhttp_free(s->http);
	free(s);
}
