/*
 * stats.c - what remusd serves on its OpenMetrics endpoint: every epoch's
 * pause and acknowledgement latency (histograms), epochs and bytes sent,
 * every entry into a protection state (so takeovers and lost backups are
 * counted), and per protection now: role and state, the epoch achieved, the
 * lag since the last acknowledged epoch, held output and throttle.
 * Protection threads add under the stats' lock; the scrape runs on the
 * event loop.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#include "metrics.h"
#include "remusd.h"

static const double pause_le[] = { 0.00025, 0.0005, 0.00075, 0.001, 0.0015, 0.002, 0.003, 0.005,
	0.01, 0.025, 0.1 };
static const double ack_le[] = { 0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1 };
#define NSTATES	(RS_FAILED + 1)

struct rd_stats {
	pthread_mutex_t lock;
	struct mhist pause, ack;
	uint64_t epochs, bytes;
	uint64_t entered[NSTATES];
};

struct rd_stats *rd_stats_new(void)
{
	struct rd_stats *st = calloc(1, sizeof(*st));
	if (!st)
		return NULL;
	pthread_mutex_init(&st->lock, NULL);
	MHIST_INIT(&st->pause, pause_le);
	MHIST_INIT(&st->ack, ack_le);
	return st;
}

void rd_stats_epoch(struct rd_stats *st, uint64_t pause_ns, uint64_t bytes)
{
	if (!st)
		return;
	pthread_mutex_lock(&st->lock);
	mhist_observe(&st->pause, (double)pause_ns / 1e9);
	st->bytes += bytes;
	pthread_mutex_unlock(&st->lock);
}

void rd_stats_ack(struct rd_stats *st, uint64_t ack_ns)
{
	if (!st)
		return;
	pthread_mutex_lock(&st->lock);
	mhist_observe(&st->ack, (double)ack_ns / 1e9);
	st->epochs++;
	pthread_mutex_unlock(&st->lock);
}

void rd_stats_state(struct rd_stats *st, unsigned state)
{
	if (!st || state >= NSTATES)
		return;
	pthread_mutex_lock(&st->lock);
	st->entered[state]++;
	pthread_mutex_unlock(&st->lock);
}

void rd_stats_render(struct mtext *t, void *arg)
{
	struct remusd *d = arg;
	struct rd_stats *st = d->stats;
	char l[256], vm[160];

	pthread_mutex_lock(&st->lock);
	mt_family(t, "tandem_remus_epoch_pause_seconds", "histogram", "seconds",
	    "The guest's pause for each epoch (primary).");
	mt_hist(t, "tandem_remus_epoch_pause_seconds", "", &st->pause);
	mt_family(t, "tandem_remus_epoch_ack_seconds", "histogram", "seconds",
	    "From sending an epoch to its acknowledgement by the backup (primary).");
	mt_hist(t, "tandem_remus_epoch_ack_seconds", "", &st->ack);
	mt_family(t, "tandem_remus_epochs", "counter", NULL, "Epochs acknowledged (primary).");
	mt_sample(t, "tandem_remus_epochs_total", "", (double)st->epochs);
	mt_family(t, "tandem_remus_sent_bytes", "counter", "bytes", "Epoch bytes sent (primary).");
	mt_sample(t, "tandem_remus_sent_bytes_total", "", (double)st->bytes);
	mt_family(t, "tandem_remus_state_entries", "counter", NULL,
	    "Protections entering each state (taken-over: failovers; unprotected: lost backups).");
	for (unsigned s = RS_SYNCING; s < NSTATES; s++) {
		mt_label(l, sizeof(l), "state", rem_state_name(s));
		mt_sample(t, "tandem_remus_state_entries_total", l, (double)st->entered[s]);
	}
	pthread_mutex_unlock(&st->lock);

	static const struct { const char *name, *type, *unit, *help; } g[] = {
		{ "tandem_remus_protection", "gauge", NULL, "Each protection, by role and state (1)." },
		{ "tandem_remus_epoch_achieved_seconds", "gauge", "seconds", "The epoch length achieved." },
		{ "tandem_remus_lag_seconds", "gauge", "seconds",
		  "Time since the last acknowledged (primary) or applied (backup) epoch." },
		{ "tandem_remus_held_bytes", "gauge", "bytes",
		  "Output held until the backup acknowledges its epoch." },
		{ "tandem_remus_throttle_ratio", "gauge", "ratio", "Share of the vCPUs' time held back." },
	};
	uint64_t now = rd_now();
	pthread_mutex_lock(&d->lock);
	for (size_t k = 0; k < sizeof(g) / sizeof(g[0]); k++) {
		mt_family(t, g[k].name, g[k].type, g[k].unit, g[k].help);
		for (struct prot *p = d->list; p; p = p->next) {
			pthread_mutex_lock(&p->lock);
			mt_label(vm, sizeof(vm), "vm", p->name);
			double v;
			if (k == 0) {
				snprintf(l, sizeof(l), "%s,role=\"%s\",state=\"%s\"", vm,
				    rem_role_name(p->role), rem_state_name(p->state));
				v = 1;
			} else {
				snprintf(l, sizeof(l), "%s", vm);
				v = k == 1 ? p->achieved_ns / 1e9 :
				    k == 2 ? (p->last_ns ? (double)(now - p->last_ns) / 1e9 : 0) :
				    k == 3 ? (double)p->held : p->throttle / 100.0;
			}
			pthread_mutex_unlock(&p->lock);
			mt_sample(t, g[k].name, l, v);
		}
	}
	pthread_mutex_unlock(&d->lock);
}
