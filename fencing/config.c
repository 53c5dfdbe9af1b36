/* config.c - reads fenced's configuration (config.h). */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sysinfo.h>

#include "config.h"

static int bad(char *err, size_t el, const char *path, int line, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
static int bad(char *err, size_t el, const char *path, int line, const char *fmt, ...)
{
	va_list ap;
	int n = snprintf(err, el, "%s:%d: ", path, line);
	va_start(ap, fmt);
	if (n >= 0 && (size_t)n < el)
		vsnprintf(err + n, el - (size_t)n, fmt, ap);
	va_end(ap);
	errno = EINVAL;
	return -1;
}

static int parse_u32(const char *s, uint32_t max, uint32_t *out)
{
	char *e;
	errno = 0;
	unsigned long v = strtoul(s, &e, 10);
	if (errno || e == s || (*e && strcmp(e, "ms")) || v > max)
		return -1;
	*out = (uint32_t)v;
	return 0;
}

static int parse_mem(const char *s, uint64_t *out)
{
	char *e;
	errno = 0;
	unsigned long long v = strtoull(s, &e, 10);
	int sh = *e == 'K' ? 10 : *e == 'M' ? 20 : *e == 'G' ? 30 : *e == 'T' ? 40 : *e ? -1 : 0;
	if (errno || e == s || sh < 0 || (*e && e[1]) || v >> (63 - sh))
		return -1;
	*out = v << sh;
	return 0;
}

const struct cf_host *conf_host(const struct fconf *c, uint32_t node)
{
	for (size_t i = 0; i < c->nhosts; i++)
		if (c->hosts[i].node == node)
			return &c->hosts[i];
	return NULL;
}

const struct cf_host *conf_find(const struct fconf *c, const char *s)
{
	char a[256];
	snprintf(a, sizeof(a), "%s", s);
	char *colon = strrchr(a, ':');
	if (colon && !strchr(a, ']') && strchr(a, ':') == colon)
		*colon = 0;	/* v4 address or name with a port */
	for (size_t i = 0; i < c->nhosts; i++)
		if (!strcmp(c->hosts[i].name, a) || !strcmp(c->hosts[i].addr, a))
			return &c->hosts[i];
	char *end;
	unsigned long id = strtoul(a, &end, 10);
	return *a && !*end ? conf_host(c, (uint32_t)id) : NULL;
}

static int host_index(const struct fconf *c, const char *name)
{
	for (size_t i = 0; i < c->nhosts; i++)
		if (!strcmp(c->hosts[i].name, name))
			return (int)i;
	return -1;
}

/* hosts=a,b after all host lines are known */
static int level_hosts(struct fconf *c, struct cf_level *l, const char *list, const char *path,
    int line, char *err, size_t el)
{
	char buf[512], *save = NULL;
	snprintf(buf, sizeof(buf), "%s", list);
	for (char *h = strtok_r(buf, ",", &save); h; h = strtok_r(NULL, ",", &save)) {
		int i = host_index(c, h);
		if (i < 0)
			return bad(err, el, path, line, "fence-level %d names unknown host '%s'", l->n, h);
		l->hosts |= 1ULL << i;
	}
	return 0;
}

static int cmp_level(const void *a, const void *b)
{
	return ((const struct cf_level *)a)->n - ((const struct cf_level *)b)->n;
}

int conf_load(struct fconf *c, const char *path, char *err, size_t el)
{
	FILE *f = fopen(path, "r");
	char line[2048];
	int ln = 0;
	struct { int level, line; char list[512]; } pend[CF_MAX_LEVELS];
	size_t npend = 0;

	memset(c, 0, sizeof(*c));
	c->fence_timeout_ms = 10000;
	c->storm_pct = 50;
	c->self_fence_ms = 2000;
	snprintf(c->watchdog, sizeof(c->watchdog), "/dev/watchdog");
	c->hb_port = 7449;
	c->hb_interval_ms = 5;
	c->hb_lost_ms = 60;
	if (!f) {
		snprintf(err, el, "%s: %s", path, strerror(errno));
		return -1;
	}
	while (fgets(line, sizeof(line), f)) {
		char *w[CF_MAX_ARGS + 4], *save = NULL;
		int n = 0;
		ln++;
		char *hash = strchr(line, '#');
		if (hash)
			*hash = 0;
		for (char *t = strtok_r(line, " \t\r\n", &save); t; t = strtok_r(NULL, " \t\r\n", &save)) {
			if (n == CF_MAX_ARGS + 3) {
				fclose(f);
				return bad(err, el, path, ln, "too many words");
			}
			w[n++] = t;
		}
		if (!n)
			continue;
		int r = 0;
		if (!strcmp(w[0], "host")) {
			struct cf_host *h = &c->hosts[c->nhosts];
			h->mem = 0;
			if (n < 4 || n > 5 || c->nhosts == CF_MAX_HOSTS)
				r = bad(err, el, path, ln, "usage: host NODEID NAME ADDRESS [mem=SIZE]");
			else if (parse_u32(w[1], 0x7fffffff, &h->node) < 0 || !h->node ||
			    strlen(w[2]) >= sizeof(h->name) || strlen(w[3]) >= sizeof(h->addr))
				r = bad(err, el, path, ln, "bad node id, name or address");
			else if (n == 5 && (strncmp(w[4], "mem=", 4) || parse_mem(w[4] + 4, &h->mem) < 0))
				r = bad(err, el, path, ln, "bad '%s' (mem=SIZE, e.g. mem=8G)", w[4]);
			else if (conf_host(c, h->node) || host_index(c, w[2]) >= 0)
				r = bad(err, el, path, ln, "host %s (node %s) given twice", w[2], w[1]);
			else {
				snprintf(h->name, sizeof(h->name), "%s", w[2]);
				snprintf(h->addr, sizeof(h->addr), "%s", w[3]);
				if (!h->mem) {
					struct sysinfo si;
					sysinfo(&si);
					h->mem = (uint64_t)si.totalram * si.mem_unit;
				}
				c->nhosts++;
			}
		} else if (!strcmp(w[0], "fence-level")) {
			struct cf_level *l = &c->levels[c->nlevels];
			uint32_t lv;
			if (n < 3 || c->nlevels == CF_MAX_LEVELS || parse_u32(w[1], 99, &lv) < 0)
				r = bad(err, el, path, ln, "usage: fence-level N AGENT [key=value ...]");
			else if (strlen(w[2]) >= sizeof(l->agent))
				r = bad(err, el, path, ln, "agent path too long");
			else {
				memset(l, 0, sizeof(*l));
				l->n = (int)lv;
				snprintf(l->agent, sizeof(l->agent), "%s", w[2]);
				for (int i = 3; i < n && !r; i++) {
					if (!strchr(w[i], '=') || strlen(w[i]) >= sizeof(l->args[0]))
						r = bad(err, el, path, ln, "'%s' is not key=value", w[i]);
					else if (!strncmp(w[i], "hosts=", 6) && npend &&
					    pend[npend - 1].level == (int)c->nlevels)
						r = bad(err, el, path, ln, "fence-level %u: hosts= given twice "
						    "(list them in one: hosts=a,b)", lv);
					else if (!strncmp(w[i], "hosts=", 6)) {
						pend[npend].level = (int)c->nlevels;
						pend[npend].line = ln;
						snprintf(pend[npend++].list, sizeof(pend[0].list), "%s", w[i] + 6);
					} else
						snprintf(l->args[l->nargs++], sizeof(l->args[0]), "%s", w[i]);
				}
				c->nlevels++;
			}
		} else if (!strcmp(w[0], "fence-timeout") && n == 2) {
			if (parse_u32(w[1], 3600000, &c->fence_timeout_ms) < 0 || !c->fence_timeout_ms)
				r = bad(err, el, path, ln, "bad fence-timeout '%s' (milliseconds)", w[1]);
		} else if (!strcmp(w[0], "storm-share") && n == 2) {
			if (parse_u32(w[1], 100, &c->storm_pct) < 0)
				r = bad(err, el, path, ln, "bad storm-share '%s' (percent)", w[1]);
		} else if (!strcmp(w[0], "self-fence") && n == 2) {
			if (parse_u32(w[1], 3600000, &c->self_fence_ms) < 0)
				r = bad(err, el, path, ln, "bad self-fence '%s' (milliseconds)", w[1]);
		} else if (!strcmp(w[0], "watchdog") && n == 2)
			snprintf(c->watchdog, sizeof(c->watchdog), "%s", w[1]);
		else if (!strcmp(w[0], "heartbeat") && n >= 2) {
			if (strlen(w[1]) >= sizeof(c->hb_key))
				r = bad(err, el, path, ln, "heartbeat key path too long");
			snprintf(c->hb_key, sizeof(c->hb_key), "%s", w[1]);
			for (int i = 2; i < n && !r; i++) {
				uint32_t *v = !strncmp(w[i], "port=", 5) ? &c->hb_port :
				    !strncmp(w[i], "interval=", 9) ? &c->hb_interval_ms :
				    !strncmp(w[i], "lost=", 5) ? &c->hb_lost_ms : NULL;
				const char *eq = strchr(w[i], '=');
				if (!v || parse_u32(eq + 1, 65535, v) < 0 || !*v)
					r = bad(err, el, path, ln, "usage: heartbeat KEYFILE [port=N] "
					    "[interval=MS] [lost=MS]");
			}
			if (!r && c->hb_lost_ms < 3 * c->hb_interval_ms)
				r = bad(err, el, path, ln, "heartbeat lost=%u ms is under three intervals "
				    "(%u ms)", c->hb_lost_ms, c->hb_interval_ms);
		} else
			r = bad(err, el, path, ln, "unknown statement '%s' or wrong number of words", w[0]);
		if (r < 0) {
			fclose(f);
			return -1;
		}
	}
	fclose(f);
	for (size_t i = 0; i < npend; i++)
		if (level_hosts(c, &c->levels[pend[i].level], pend[i].list, path, pend[i].line, err, el) < 0)
			return -1;
	if (!c->nhosts)
		return bad(err, el, path, ln, "no host lines");
	qsort(c->levels, c->nlevels, sizeof(c->levels[0]), cmp_level);
	return 0;
}
