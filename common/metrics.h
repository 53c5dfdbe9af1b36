/*
 * metrics.h - an OpenMetrics endpoint for a daemon: GET /metrics on a local
 * address answers the text the daemon renders at that moment (pull: the
 * daemon keeps its own figures, under its own lock), plus the histogram
 * type the daemons share.
 */
#ifndef TANDEM_METRICS_H
#define TANDEM_METRICS_H

#include <stddef.h>
#include <stdint.h>

#define MH_MAX	16

/* Counts of observations at or below each bound, as OpenMetrics wants. */
struct mhist {
	const double *le;	/* bounds, ascending (+Inf is implicit) */
	size_t n;
	uint64_t bucket[MH_MAX + 1];	/* not cumulative; [n] is above the last */
	uint64_t count;
	double sum;
};
void mhist_init(struct mhist *h, const double *le, size_t n);
/* with the bounds of an array */
#define MHIST_INIT(h, le)	mhist_init((h), (le), sizeof(le) / sizeof((le)[0]))
void mhist_observe(struct mhist *h, double v);

/* The exposition being written. */
struct mtext {
	char *buf;
	size_t len, cap;
	int oom;
};
/* "# TYPE name type", "# UNIT", "# HELP"; type: counter, gauge, histogram */
void mt_family(struct mtext *t, const char *name, const char *type, const char *unit,
    const char *help);
/* one sample: name (with _total for counters), labels as 'k="v",k2="v"' or "" */
void mt_sample(struct mtext *t, const char *name, const char *labels, double v);
/* a label value, escaped, into buf: for mt_sample's labels */
const char *mt_label(char *buf, size_t len, const char *key, const char *value);
void mt_hist(struct mtext *t, const char *name, const char *labels, const struct mhist *h);

/* Serves GET /metrics on "ADDR:PORT" (a loopback or management address).
 * render fills the text (without "# EOF"); NULL with err on failure. */
struct event_base;
struct metrics_srv;
typedef void (*metrics_render_fn)(struct mtext *t, void *arg);
struct metrics_srv *metrics_listen(struct event_base *b, const char *addr, metrics_render_fn fn,
    void *arg, char *err, size_t errlen);
void metrics_close(struct metrics_srv *s);

#endif
