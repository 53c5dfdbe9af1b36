/*
 * commit.c - the point of no return of an outgoing migration: the one place
 * where the new owner of a VM is recorded before the source lets it go.
 *
 * Today the record is hvd's hand-over (the source copy goes paused ->
 * migrated and can never run again here).  The cluster's ownership table
 * (fenced: owner host and generation, changed through CPG) plugs in here:
 * its generation bump becomes the point of no return, taken before the
 * hand-over.  It runs under m->lock, so an OUTCOME query from the
 * destination (mig_outcome_answer) sees either "committed" or a cancelled
 * migration that can no longer commit, never something in between.
 */
#include <errno.h>
#include <stdio.h>

#include "hv.h"
#include "log.h"
#include "migrated.h"

int mig_commit(struct mig *m, struct hv *h, char *err, size_t errlen)
{
	int r = -1;

	pthread_mutex_lock(&m->lock);
	if (m->cancel) {
		snprintf(err, errlen, "cancelled");
		errno = ECANCELED;
	} else if (h->ops->domain_handover(h, m->name) < 0)
		snprintf(err, errlen, "hand-over: %s", hv_error(h));
	else
		r = 0;
	pthread_mutex_unlock(&m->lock);
	if (r == 0)
		log_info("migration %s: handed over to %s (point of no return)", m->name, m->dest);
	return r;
}
