/*
 * stats.c - what migrated serves on its OpenMetrics endpoint: every ended
 * migration counted by direction and result, the outgoing ones' downtime,
 * total time, bytes and rounds, and the migrations running now.  Migration
 * threads add under the stats' own lock; the scrape reads under it on the
 * event loop.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#include "metrics.h"
#include "migrated.h"

static const double downtime_le[] = { 0.0005, 0.001, 0.0015, 0.002, 0.0025, 0.003, 0.005, 0.01,
	0.025, 0.05, 0.1, 0.25, 1 };
static const double total_le[] = { 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300 };

struct mig_stats {
	pthread_mutex_t lock;
	uint64_t ended[2][3];		/* [out, in][done, failed, cancelled] */
	struct mhist downtime, total;	/* outgoing, done */
	uint64_t bytes, pages, rounds;	/* outgoing, done */
};

struct mig_stats *stats_new(void)
{
	struct mig_stats *st = calloc(1, sizeof(*st));
	if (!st)
		return NULL;
	pthread_mutex_init(&st->lock, NULL);
	MHIST_INIT(&st->downtime, downtime_le);
	MHIST_INIT(&st->total, total_le);
	return st;
}

void stats_end(struct mig_stats *st, const struct mig *m)
{
	if (!st)
		return;
	int r = m->state == MS_DONE ? 0 : m->state == MS_CANCELLED ? 2 : 1;
	int out = m->dir == MIG_OUT;
	pthread_mutex_lock(&st->lock);
	st->ended[out ? 0 : 1][r]++;
	if (out && r == 0) {
		mhist_observe(&st->downtime, (double)m->downtime_ns / 1e9);
		mhist_observe(&st->total, (double)m->total_ns / 1e9);
		st->bytes += m->bytes_sent;
		st->pages += m->pages_sent;
		st->rounds += m->round;
	}
	pthread_mutex_unlock(&st->lock);
}

void stats_render(struct mtext *t, void *arg)
{
	struct mig_stats *st = arg;
	static const char *const dir[] = { "out", "in" }, *const res[] = { "done", "failed",
		"cancelled" };
	char l[96];
	unsigned nout, nin;

	mig_running(&nout, &nin);
	mt_family(t, "tandem_migrations_running", "gauge", NULL, "Migrations in progress.");
	mt_sample(t, "tandem_migrations_running", "direction=\"out\"", nout);
	mt_sample(t, "tandem_migrations_running", "direction=\"in\"", nin);
	pthread_mutex_lock(&st->lock);
	mt_family(t, "tandem_migrations", "counter", NULL,
	    "Migrations ended, by direction and result.");
	for (int d = 0; d < 2; d++)
		for (int r = 0; r < 3; r++) {
			snprintf(l, sizeof(l), "direction=\"%s\",result=\"%s\"", dir[d], res[r]);
			mt_sample(t, "tandem_migrations_total", l, (double)st->ended[d][r]);
		}
	mt_family(t, "tandem_migration_downtime_seconds", "histogram", "seconds",
	    "The pause of each successful outgoing migration.");
	mt_hist(t, "tandem_migration_downtime_seconds", "", &st->downtime);
	mt_family(t, "tandem_migration_duration_seconds", "histogram", "seconds",
	    "The total time of each successful outgoing migration.");
	mt_hist(t, "tandem_migration_duration_seconds", "", &st->total);
	mt_family(t, "tandem_migration_sent_bytes", "counter", "bytes",
	    "Stream bytes of successful outgoing migrations.");
	mt_sample(t, "tandem_migration_sent_bytes_total", "", (double)st->bytes);
	mt_family(t, "tandem_migration_pages", "counter", NULL,
	    "Guest pages sent by successful outgoing migrations.");
	mt_sample(t, "tandem_migration_pages_total", "", (double)st->pages);
	mt_family(t, "tandem_migration_rounds", "counter", NULL,
	    "Copy rounds of successful outgoing migrations.");
	mt_sample(t, "tandem_migration_rounds_total", "", (double)st->rounds);
	pthread_mutex_unlock(&st->lock);
}
