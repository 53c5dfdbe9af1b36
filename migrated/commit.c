/*
 * commit.c - the point of no return of an outgoing migration: the one place
 * where the new owner of a VM is recorded before the source lets it go.
 *
 * In a cluster (-F) the point of no return is the ownership table's
 * generation bump (fenced, through CPG): once it is delivered, the VM
 * belongs to the destination on every host.  A refused commit changed
 * nothing; a commit whose answer was lost is resolved with the table (a
 * MIG_ABORT ordered after it tells which won).  Then hvd's hand-over
 * (paused -> migrated: the source copy can never run again here).  Without
 * a cluster the hand-over alone is the record.  It runs under m->lock, so
 * an OUTCOME query from the destination (mig_outcome_answer) sees either
 * "committed" or a cancelled migration that can no longer commit.
 */
#include <errno.h>
#include <stdio.h>

#include "hv.h"
#include "log.h"
#include "migrated.h"

/* 0: the table gives the VM to the destination now */
static int table_commit(struct mig *m, char *err, size_t errlen)
{
	if (cluster_commit(m->name, m->dest, m->gen, err, errlen) == 0)
		return 0;
	if (errno != EIO)
		return -1;	/* refused: nothing changed */
	log_warnx("migration %s: the commit's answer was lost (%s): asking the table", m->name, err);
	int mine = cluster_resolve_retry(m->name, 60, err, errlen);
	if (mine == 0)
		return 0;	/* the commit won */
	if (mine < 0) {
		/* nobody can say: never resume, never hand over; fencing decides */
		m->cancel = 2;
		snprintf(err, errlen, "commit in doubt and the table cannot be reached: the VM stays "
		    "paused here until this host is fenced");
	} else
		snprintf(err, errlen, "commit not recorded: the VM stays here");
	return -1;
}

int mig_commit(struct mig *m, struct hv *h, char *err, size_t errlen)
{
	int r = -1;

	pthread_mutex_lock(&m->lock);
	if (m->cancel) {
		snprintf(err, errlen, "cancelled");
		errno = ECANCELED;
	} else if (migd_conf.fenced && table_commit(m, err, errlen) < 0)
		;
	else if (h->ops->domain_handover(h, m->name) < 0)
		snprintf(err, errlen, "hand-over: %s", hv_error(h));
	else
		r = 0;
	pthread_mutex_unlock(&m->lock);
	if (r == 0)
		log_info("migration %s: handed over to %s (point of no return)", m->name, m->dest);
	return r;
}
