/*
 * config.c - reads tandem.conf (config.h): one statement per line, each
 * keyword parsed by its own function from one table, errors as
 * "FILE:LINE: what is wrong".  A file is parsed whole into a fresh struct
 * and copied out only when all of it is good, so a reload never
 * half-applies.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sysinfo.h>
#include <unistd.h>

#include "config.h"
#include "hv.h"

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

/* one file being parsed */
struct cf_parse {
	struct fconf *c;
	const char *path;
	int line;
	char *err;
	size_t el;
	struct { int level, line; char list[512]; } pend[CF_MAX_LEVELS];
	size_t npend;
};

#define BAD(p, ...) bad((p)->err, (p)->el, (p)->path, (p)->line, __VA_ARGS__)

static int copy(struct cf_parse *p, char *dst, size_t len, const char *what, const char *v)
{
	if (!*v || strlen(v) >= len)
		return BAD(p, "%s '%s' is empty or too long (at most %zu characters)", what, v, len - 1);
	snprintf(dst, len, "%s", v);
	return 0;
}

static int st_host(struct cf_parse *p, char **w, int n)
{
	struct fconf *c = p->c;
	struct cf_host *h = &c->hosts[c->nhosts];
	h->mem = 0;
	if (n < 4 || n > 5 || c->nhosts == CF_MAX_HOSTS)
		return BAD(p, "usage: host NODEID NAME ADDRESS [mem=SIZE]");
	if (parse_u32(w[1], 0x7fffffff, &h->node) < 0 || !h->node ||
	    strlen(w[2]) >= sizeof(h->name) || strlen(w[3]) >= sizeof(h->addr))
		return BAD(p, "bad node id, name or address");
	if (n == 5 && (strncmp(w[4], "mem=", 4) || parse_mem(w[4] + 4, &h->mem) < 0))
		return BAD(p, "bad '%s' (mem=SIZE, e.g. mem=8G)", w[4]);
	if (conf_host(c, h->node) || host_index(c, w[2]) >= 0)
		return BAD(p, "host %s (node %s) given twice", w[2], w[1]);
	snprintf(h->name, sizeof(h->name), "%s", w[2]);
	snprintf(h->addr, sizeof(h->addr), "%s", w[3]);
	if (!h->mem) {
		struct sysinfo si;
		sysinfo(&si);
		h->mem = (uint64_t)si.totalram * si.mem_unit;
	}
	c->nhosts++;
	return 0;
}

static int st_level(struct cf_parse *p, char **w, int n)
{
	struct fconf *c = p->c;
	struct cf_level *l = &c->levels[c->nlevels];
	uint32_t lv;
	if (n < 3 || c->nlevels == CF_MAX_LEVELS || parse_u32(w[1], 99, &lv) < 0)
		return BAD(p, "usage: fence-level N AGENT [key=value ...] (N 0-99, at most %d levels)",
		    CF_MAX_LEVELS);
	if (strlen(w[2]) >= sizeof(l->agent))
		return BAD(p, "agent path too long");
	memset(l, 0, sizeof(*l));
	l->n = (int)lv;
	snprintf(l->agent, sizeof(l->agent), "%s", w[2]);
	for (int i = 3; i < n; i++) {
		if (!strchr(w[i], '=') || strlen(w[i]) >= sizeof(l->args[0]))
			return BAD(p, "'%s' is not key=value", w[i]);
		if (!strncmp(w[i], "hosts=", 6) && p->npend &&
		    p->pend[p->npend - 1].level == (int)c->nlevels)
			return BAD(p, "fence-level %u: hosts= given twice (list them in one: hosts=a,b)",
			    lv);
		if (!strncmp(w[i], "hosts=", 6)) {
			p->pend[p->npend].level = (int)c->nlevels;
			p->pend[p->npend].line = p->line;
			snprintf(p->pend[p->npend++].list, sizeof(p->pend[0].list), "%s", w[i] + 6);
		} else if (l->nargs == CF_MAX_ARGS)
			return BAD(p, "more than %d key=value words", CF_MAX_ARGS);
		else
			snprintf(l->args[l->nargs++], sizeof(l->args[0]), "%s", w[i]);
	}
	c->nlevels++;
	return 0;
}

/* "fence-timeout MS" and its kind: one number in [lo, hi] */
static int st_number(struct cf_parse *p, char **w, int n, uint32_t *v, uint32_t lo, uint32_t hi,
    const char *unit)
{
	if (n != 2 || parse_u32(w[1], hi, v) < 0 || *v < lo)
		return BAD(p, "usage: %s %s (%u to %u)", w[0], unit, lo, hi);
	return 0;
}

static int st_timeout(struct cf_parse *p, char **w, int n)
{
	return st_number(p, w, n, &p->c->fence_timeout_ms, 1, 3600000, "MILLISECONDS");
}

static int st_storm(struct cf_parse *p, char **w, int n)
{
	return st_number(p, w, n, &p->c->storm_pct, 0, 100, "PERCENT");
}

static int st_selffence(struct cf_parse *p, char **w, int n)
{
	return st_number(p, w, n, &p->c->self_fence_ms, 0, 3600000, "MILLISECONDS");
}

static int st_watchdog(struct cf_parse *p, char **w, int n)
{
	if (n != 2)
		return BAD(p, "usage: watchdog PATH");
	return copy(p, p->c->watchdog, sizeof(p->c->watchdog), "watchdog", w[1]);
}

static int st_heartbeat(struct cf_parse *p, char **w, int n)
{
	struct fconf *c = p->c;
	if (n < 2 || strchr(w[1], '='))
		return BAD(p, "usage: heartbeat KEYFILE [port=N] [interval=MS] [lost=MS]");
	if (copy(p, c->hb_key, sizeof(c->hb_key), "heartbeat key", w[1]) < 0)
		return -1;
	for (int i = 2; i < n; i++) {
		uint32_t *v = !strncmp(w[i], "port=", 5) ? &c->hb_port :
		    !strncmp(w[i], "interval=", 9) ? &c->hb_interval_ms :
		    !strncmp(w[i], "lost=", 5) ? &c->hb_lost_ms : NULL;
		const char *eq = strchr(w[i], '=');
		if (!v || parse_u32(eq + 1, 65535, v) < 0 || !*v)
			return BAD(p, "usage: heartbeat KEYFILE [port=N] [interval=MS] [lost=MS]");
	}
	if (c->hb_lost_ms < 3 * c->hb_interval_ms)
		return BAD(p, "heartbeat lost=%u ms is under three intervals (%u ms)", c->hb_lost_ms,
		    c->hb_interval_ms);
	return 0;
}

static int st_hypervisor(struct cf_parse *p, char **w, int n)
{
	if (n != 2)
		return BAD(p, "usage: hypervisor hvd:SOCKET|xen:[TAG]");
	if (strncmp(w[1], "hvd:", 4) && strncmp(w[1], "xen:", 4) && w[1][0] != '/')
		return BAD(p, "unknown hypervisor '%s' (hvd:SOCKET, a bare hvd socket path, or xen:)",
		    w[1]);
	if (!strncmp(w[1], "xen:", 4) && !hv_xen_tag_valid(w[1] + 4))
		return BAD(p, "hypervisor '%s': xen:TAG takes a tag of up to %d letters, digits, '_' "
		    "or '-'", w[1], XEN_TAG_MAX);
	return copy(p, p->c->hypervisor, sizeof(p->c->hypervisor), "hypervisor", w[1]);
}

static int st_cpu(struct cf_parse *p, char **w, int n)
{
	char *e;
	if (n != 2 || (strcmp(w[1], "none") && strcmp(w[1], "auto") &&
	    (strtoul(w[1], &e, 10) > 4095 || e == w[1] || *e)))
		return BAD(p, "usage: control-cpu CPU|none|auto");
	return copy(p, p->c->control_cpu, sizeof(p->c->control_cpu), "control-cpu", w[1]);
}

/* KEY=VALUE words into the named fields; each key once */
struct kv { const char *key; char *dst; size_t len; };

static int st_kv(struct cf_parse *p, char **w, int n, struct kv *kv, size_t nkv, const char *usage)
{
	for (int i = 1; i < n; i++) {
		const char *eq = strchr(w[i], '=');
		size_t k;
		for (k = 0; k < nkv; k++)
			if (eq && (size_t)(eq - w[i]) == strlen(kv[k].key) &&
			    !strncmp(w[i], kv[k].key, (size_t)(eq - w[i])))
				break;
		if (k == nkv)
			return BAD(p, "unknown '%s' (usage: %s %s)", w[i], w[0], usage);
		if (kv[k].dst[0])
			return BAD(p, "%s %s= given twice", w[0], kv[k].key);
		if (copy(p, kv[k].dst, kv[k].len, kv[k].key, eq + 1) < 0)
			return -1;
	}
	return 0;
}

#define KV(k, field) { k, field, sizeof(field) }

/* "[ADDR]:PORT", a port 1-65535 after the last colon */
static int addr_port_ok(const char *s)
{
	const char *c = strrchr(s, ':');
	char *e;
	unsigned long port = c ? strtoul(c + 1, &e, 10) : 0;
	return c && c[1] && !*e && port && port < 65536;
}

/* a daemon's listen= and metrics= */
static int st_addrs(struct cf_parse *p, const char *stmt, const struct cf_daemon *d)
{
	if (d->listen[0] && !addr_port_ok(d->listen))
		return BAD(p, "%s listen=%s: [ADDRESS]:PORT, e.g. :7447", stmt, d->listen);
	if (d->metrics[0] && (!addr_port_ok(d->metrics) || d->metrics[0] == ':'))
		return BAD(p, "%s metrics=%s: ADDRESS:PORT, e.g. 127.0.0.1:9470", stmt, d->metrics);
	return 0;
}

static int st_tls(struct cf_parse *p, char **w, int n)
{
	struct fconf *c = p->c;
	if (n == 2 && !strcmp(w[1], "insecure")) {
		c->tls.insecure = 1;
		return 0;
	}
	struct kv kv[] = { KV("cert", c->tls.cert), KV("key", c->tls.key), KV("ca", c->tls.ca),
		KV("crl", c->tls.crl) };
	if (st_kv(p, w, n, kv, 4, "cert=FILE key=FILE ca=FILE [crl=FILE], or tls insecure") < 0)
		return -1;
	if (!c->tls.cert[0] || !c->tls.key[0] || !c->tls.ca[0])
		return BAD(p, "tls needs cert=, key= and ca= (make them with tandem-ca)");
	return 0;
}

static int st_hvd(struct cf_parse *p, char **w, int n)
{
	struct fconf *c = p->c;
	struct kv kv[] = { KV("socket", c->hvd.socket), KV("state", c->hvd.state),
		KV("backing", c->backing), KV("metrics", c->hvd.metrics) };
	if (st_kv(p, w, n, kv, 4, "[socket=PATH] [state=DIR] [backing=auto|hugetlb|shmem] "
	    "[metrics=ADDR:PORT]") < 0)
		return -1;
	if (c->backing[0] && strcmp(c->backing, "auto") && strcmp(c->backing, "hugetlb") &&
	    strcmp(c->backing, "shmem"))
		return BAD(p, "hvd backing=%s: auto, hugetlb or shmem", c->backing);
	return st_addrs(p, "hvd", &c->hvd);
}

static int st_migrated(struct cf_parse *p, char **w, int n)
{
	struct cf_daemon *d = &p->c->migrated;
	struct kv kv[] = { KV("socket", d->socket), KV("listen", d->listen), KV("state", d->state),
		KV("metrics", d->metrics) };
	if (st_kv(p, w, n, kv, 4, "[socket=PATH] [listen=[ADDR]:PORT] [state=DIR] "
	    "[metrics=ADDR:PORT]") < 0)
		return -1;
	return st_addrs(p, "migrated", d);
}

static int st_remusd(struct cf_parse *p, char **w, int n)
{
	struct cf_daemon *d = &p->c->remusd;
	char epoch[16] = "";
	struct kv kv[] = { KV("socket", d->socket), KV("listen", d->listen), KV("state", d->state),
		KV("epoch", epoch), KV("metrics", d->metrics) };
	if (st_kv(p, w, n, kv, 5, "[socket=PATH] [listen=[ADDR]:PORT] [state=DIR] [epoch=MS] "
	    "[metrics=ADDR:PORT]") < 0)
		return -1;
	if (epoch[0] && (parse_u32(epoch, 10000, &p->c->epoch_ms) < 0 || p->c->epoch_ms < 5))
		return BAD(p, "remusd epoch=%s: an epoch is 5 to 10000 ms", epoch);
	return st_addrs(p, "remusd", d);
}

static int st_fenced(struct cf_parse *p, char **w, int n)
{
	struct cf_daemon *d = &p->c->fenced;
	struct kv kv[] = { KV("socket", d->socket), KV("state", d->state), KV("metrics", d->metrics) };
	if (st_kv(p, w, n, kv, 3, "[socket=PATH] [state=DIR] [metrics=ADDR:PORT]") < 0)
		return -1;
	return st_addrs(p, "fenced", d);
}

static const struct {
	const char *kw;
	int (*fn)(struct cf_parse *p, char **w, int n);
	int once;		/* a second one is an error */
} statements[] = {
	{ "host", st_host, 0 },
	{ "fence-level", st_level, 0 },
	{ "fence-timeout", st_timeout, 1 },
	{ "storm-share", st_storm, 1 },
	{ "self-fence", st_selffence, 1 },
	{ "watchdog", st_watchdog, 1 },
	{ "heartbeat", st_heartbeat, 1 },
	{ "hypervisor", st_hypervisor, 1 },
	{ "tls", st_tls, 1 },
	{ "control-cpu", st_cpu, 1 },
	{ "hvd", st_hvd, 1 },
	{ "migrated", st_migrated, 1 },
	{ "remusd", st_remusd, 1 },
	{ "fenced", st_fenced, 1 },
};
#define NSTATEMENTS (sizeof(statements) / sizeof(statements[0]))

const char *conf_keyword(size_t i)
{
	return i < NSTATEMENTS ? statements[i].kw : NULL;
}

void conf_defaults(struct fconf *c)
{
	memset(c, 0, sizeof(*c));
	c->fence_timeout_ms = 10000;
	c->storm_pct = 50;
	c->self_fence_ms = 2000;
	snprintf(c->watchdog, sizeof(c->watchdog), "/dev/watchdog");
	c->hb_port = 7449;
	c->hb_interval_ms = 5;
	c->hb_lost_ms = 60;
}

static int parse_file(struct cf_parse *p, FILE *f)
{
	char line[4096];
	int seen[NSTATEMENTS] = { 0 };

	while (fgets(line, sizeof(line), f)) {
		char *w[CF_MAX_ARGS + 4], *save = NULL;
		int n = 0;
		p->line++;
		if (!strchr(line, '\n') && !feof(f))
			return BAD(p, "line longer than %zu characters", sizeof(line) - 2);
		char *hash = strchr(line, '#');
		if (hash)
			*hash = 0;
		for (char *t = strtok_r(line, " \t\r\n", &save); t; t = strtok_r(NULL, " \t\r\n", &save)) {
			if (n == CF_MAX_ARGS + 3)
				return BAD(p, "too many words");
			w[n++] = t;
		}
		if (!n)
			continue;
		size_t k;
		for (k = 0; k < NSTATEMENTS; k++)
			if (!strcmp(w[0], statements[k].kw))
				break;
		if (k == NSTATEMENTS)
			return BAD(p, "unknown statement '%s' (tandem.conf(5) lists them)", w[0]);
		if (statements[k].once && seen[k])
			return BAD(p, "'%s' given twice (first on line %d)", w[0], seen[k]);
		seen[k] = p->line;
		if (statements[k].fn(p, w, n) < 0)
			return -1;
	}
	if (ferror(f))
		return BAD(p, "read error");
	for (size_t i = 0; i < p->npend; i++) {
		p->line = p->pend[i].line;
		if (level_hosts(p->c, &p->c->levels[p->pend[i].level], p->pend[i].list, p->path,
		    p->line, p->err, p->el) < 0)
			return -1;
	}
	qsort(p->c->levels, p->c->nlevels, sizeof(p->c->levels[0]), cmp_level);
	return 0;
}

int conf_load(struct fconf *out, const char *path, char *err, size_t el)
{
	struct cf_parse *p = calloc(1, sizeof(*p));
	struct fconf *c = malloc(sizeof(*c));
	FILE *f = NULL;
	int r = -1;

	if (!p || !c) {
		snprintf(err, el, "%s: out of memory", path);
		goto fail;
	}
	conf_defaults(c);
	snprintf(c->path, sizeof(c->path), "%s", path);
	*p = (struct cf_parse){ .c = c, .path = path, .err = err, .el = el };
	if (!(f = fopen(path, "r"))) {
		snprintf(err, el, "%s: %s (tandem.conf(5) says what it holds; an example is in "
		    "/usr/share/doc/tandem/tandem.conf)", path, strerror(errno));
		goto fail;
	}
	if (parse_file(p, f) < 0)
		goto fail;
	*out = *c;
	r = 0;
fail:
	if (f)
		fclose(f);
	free(p);
	free(c);
	return r;
}

int conf_load_default(struct fconf *c, const char *path, char *err, size_t el)
{
	if (!path)
		path = getenv("TANDEM_CONF");
	if ((path && !strcmp(path, "none")) || (!path && access(CONF_DEFAULT_PATH, F_OK) < 0)) {
		conf_defaults(c);
		return 0;
	}
	return conf_load(c, path ? path : CONF_DEFAULT_PATH, err, el) < 0 ? -1 : 1;
}

unsigned conf_changed(const struct fconf *a, const struct fconf *b)
{
	unsigned g = 0;
#define DIFF(field) memcmp(&a->field, &b->field, sizeof(a->field))
	if (a->nhosts != b->nhosts || memcmp(a->hosts, b->hosts, a->nhosts * sizeof(a->hosts[0])))
		g |= CFG_HOSTS;
	if (a->nlevels != b->nlevels || memcmp(a->levels, b->levels, a->nlevels * sizeof(a->levels[0])))
		g |= CFG_LEVELS;
	if (DIFF(fence_timeout_ms) || DIFF(storm_pct) || DIFF(self_fence_ms))
		g |= CFG_TIMERS;
	if (DIFF(watchdog))
		g |= CFG_WATCHDOG;
	if (DIFF(hb_key) || DIFF(hb_port) || DIFF(hb_interval_ms) || DIFF(hb_lost_ms))
		g |= CFG_HEARTBEAT;
	if (DIFF(hypervisor))
		g |= CFG_HYPERVISOR;
	if (DIFF(tls))
		g |= CFG_TLS;
	if (DIFF(control_cpu))
		g |= CFG_CPU;
	if (DIFF(hvd) || DIFF(backing))
		g |= CFG_HVD;
	if (DIFF(migrated))
		g |= CFG_MIGRATED;
	if (DIFF(remusd) || DIFF(epoch_ms))
		g |= CFG_REMUSD;
	if (DIFF(fenced))
		g |= CFG_FENCED;
#undef DIFF
	return g;
}

void conf_group_names(unsigned g, char *buf, size_t len)
{
	static const char *names[] = { "host", "fence-level", "fence-timeout/storm-share/self-fence",
		"watchdog", "heartbeat", "hypervisor", "tls", "control-cpu", "hvd", "migrated",
		"remusd", "fenced" };
	size_t o = 0;
	buf[0] = 0;
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (g & (1u << i) && o < len)
			o += (size_t)snprintf(buf + o, len - o, "%s%s", o ? ", " : "", names[i]);
	if (!o)
		snprintf(buf, len, "nothing");
}

const char *conf_hv_uri(const struct fconf *c, char *buf, size_t len)
{
	if (c->hypervisor[0])
		return c->hypervisor;
	if (!c->hvd.socket[0])
		return NULL;
	snprintf(buf, len, "hvd:%s", c->hvd.socket);
	return buf;
}

const char *conf_hvd_socket(const struct fconf *c)
{
	if (c->hvd.socket[0])
		return c->hvd.socket;
	if (!strncmp(c->hypervisor, "hvd:", 4) && c->hypervisor[4])
		return c->hypervisor + 4;
	return c->hypervisor[0] == '/' ? c->hypervisor : NULL;
}

const char *conf_fenced_socket(const struct fconf *c, const char *dflt)
{
	if (c->fenced.socket[0])
		return c->fenced.socket;
	return c->nlevels || c->fenced.state[0] || c->fenced.metrics[0] ? dflt : NULL;
}

void conf_tls(const struct fconf *c, struct cf_tls_use *t)
{
	if (t->cert || t->key || t->ca || t->insecure)
		return;
	t->insecure = c->tls.insecure;
	t->cert = conf_or(NULL, c->tls.cert, NULL);
	t->key = conf_or(NULL, c->tls.key, NULL);
	t->ca = conf_or(NULL, c->tls.ca, NULL);
	t->crl = conf_or(t->crl, c->tls.crl, NULL);
}

const char *conf_or(const char *flag, const char *file, const char *dflt)
{
	return flag ? flag : file && *file ? file : dflt;
}
