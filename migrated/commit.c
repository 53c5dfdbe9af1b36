/*
 * commit.c - the point of no return of an outgoing migration.
 *
 * Order, so that no instant exists at which both copies may run or
 * neither is recorded:
 *   1. hvd hands the paused source over under the migration's id: it can
 *      never run again here (no lease resumes it) unless reclaimed with
 *      that id (the sender asks for it while the destination loads, and
 *      passes *handed HANDED_LOCAL once it is done);
 *   2. without a cluster, the hand-over record prepared before round 0
 *      says committed (handed.c: one byte in place, no sync, journal.c says
 *      why): the point of no return.  In a cluster the tag in hvd and the
 *      table say all a restarted migrated needs, so no record is written;
 *   3. in a cluster (-F), the ownership table's generation bump (fenced,
 *      through CPG) is the point of no return: once it is delivered the
 *      VM belongs to the destination on every host.  A refused commit
 *      changed nothing: the copy is reclaimed and the record dropped.  One
 *      whose answer was lost is resolved with the table (a MIG_ABORT
 *      ordered after it tells which won); if the table cannot be reached
 *      the copy stays handed over, never running, and is settled with the
 *      table later.
 * It runs under m->commit_lock, which an OUTCOME query takes too, so the
 * query sees either the record or a cancelled migration that can no longer
 * commit.  Progress (m->lock) is never held across any of this, so the
 * CLI's status poll never waits on the network.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "hv.h"
#include "log.h"
#include "migrated.h"

/* 0: the table gives the VM to the destination now; 1 in doubt */
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
		snprintf(err, errlen, "commit in doubt and the table cannot be reached: the VM stays "
		    "handed over (never running) here until the table can say who owns it");
		return 1;
	}
	snprintf(err, errlen, "commit not recorded: the VM stays here");
	return -1;
}

int mig_commit(struct mig *m, struct hv *h, int *handed, char *err, size_t errlen)
{
	int r = -1;

	pthread_mutex_lock(&m->commit_lock);
	if (m->cancel) {
		snprintf(err, errlen, "cancelled");
		errno = ECANCELED;
		goto out;
	}
	/* the caller may have handed it over already, while the destination loaded */
	if (*handed != HANDED_LOCAL && h->ops->domain_handover(h, m->name, m->id) < 0) {
		snprintf(err, errlen, "hand-over: %s", hv_error(h));
		goto out;
	}
	*handed = HANDED_LOCAL;
	mig_stall("send-handover");
	int c = migd_conf.fenced ? 0 : handed_commit(m);
	if (c) {
		snprintf(err, errlen, "writing the hand-over record: %s%s", strerror(errno), c > 0 ?
		    ", and undoing it too: the copy stays handed over (never running) for an admin" :
		    "");
		if (c > 0)
			*handed = HANDED_DOUBT;
		goto out;
	}
	mig_stall("send-recorded");
	if (migd_conf.fenced) {
		int t = table_commit(m, err, errlen);
		if (t == 1) {
			*handed = HANDED_DOUBT;
			goto out;
		}
		if (t < 0)
			goto out;	/* refused: the sender reclaims its copy */
	}
	*handed = HANDED_COMMITTED;
	r = 0;
out:
	pthread_mutex_unlock(&m->commit_lock);
	return r;	/* the caller says it, once COMMIT is on its way */
}
