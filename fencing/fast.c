/*
 * fast.c - a protected VM's takeover before corosync's new view.
 *
 * Corosync reports a lost host only after token + consensus, and CPG
 * delivers nothing meanwhile, so a takeover through the table alone waits
 * that long.  A backup's remusd that finds its primary silent asks
 * (FC_TAKEOVER, control.c); when the table cannot answer yet, this host
 * answers from evidence of its own:
 *
 *   1. the heartbeats (beat.c) say a majority of the configured hosts, this
 *      one included, have lost the owner and still hear one another; and
 *      this host is quorate (votequorum, as of now);
 *   2. then it fences the owner at once, through the normal levels
 *      (coord_fence), and says so;
 *   3. only once a level confirms is the takeover granted: the shadow may
 *      resume.  The grant is remembered (pending) until the table follows:
 *      once the view forms and the owner is fenced in the table too, the
 *      TAKEOVER goes out and bumps the generation.  Meanwhile local.c
 *      leaves the resumed VM alone although the table still names the old
 *      owner, and the coordinator places nothing: the VM has a backup.
 *
 * A host cut off alone never has the majority; a primary that is alive
 * answers heartbeats; either way nothing is fenced and the backup waits
 * for the table, which then says what happened.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "beat.h"
#include "fence.h"
#include "fenced.h"
#include "log.h"

static long host_at(const struct fenced *f, uint32_t node)
{
	for (size_t i = 0; i < f->conf.nhosts; i++)
		if (f->conf.hosts[i].node == node)
			return (long)i;
	return -1;
}

int fast_takeover(struct fenced *f, const struct tvm *v, uint64_t epoch, char *why, size_t whylen)
{
	struct fast_state *s = &f->fast;
	long i = host_at(f, v->owner);
	char ev[400], err[200];
	if (!s->beat)
		return snprintf(why, whylen, "no heartbeats configured: waiting for corosync's view"), 0;
	if (i < 0)
		return snprintf(why, whylen, "its owner %u is not in the config", v->owner), 0;
	if (!quorate_now(f))
		return snprintf(why, whylen, "this host is not quorate"), 0;
	if (s->fenced[i]) {
		if (fast_pending(f, v->name))
			return 1;	/* granted before: the same answer */
		struct fast_tk *t = s->ntk < FAST_MAX ? calloc(1, sizeof(*t)) : NULL;
		if (!t)
			return snprintf(why, whylen, "too many takeovers waiting for the table"), 0;
		s->tk[s->ntk++] = t;
		snprintf(t->name, sizeof(t->name), "%s", v->name);
		t->gen = v->gen;
		t->epoch = epoch;
		log_info("fast: VM %s: node %u is fenced; its backup (this host) resumes it from epoch "
		    "%llu; the table follows once the view forms", v->name, v->owner,
		    (unsigned long long)epoch);
		return 1;
	}
	if (fence_busy(f->fencer, v->owner))
		return snprintf(why, whylen, "fencing node %u now (%s)", v->owner,
		    s->fencing[i] ? "on heartbeat evidence" : "for the cluster"), 0;
	if (!beat_lost(s->beat, v->owner, ev, sizeof(ev)))
		return snprintf(why, whylen, "its owner (node %u) is not fenced and %s", v->owner, ev), 0;
	log_warnx("fast: VM %s: %s: fencing node %u now", v->name, ev, v->owner);
	if (coord_fence(f, v->owner, err, sizeof(err)) < 0)
		return snprintf(why, whylen, "fencing node %u: %s", v->owner, err), 0;
	s->fencing[i] = 1;
	return snprintf(why, whylen, "fencing node %u now: %s", v->owner, ev), 0;
}

void fast_fence_done(struct fenced *f, uint32_t node, int ok)
{
	long i = host_at(f, node);
	if (i < 0 || !f->fast.fencing[i])
		return;
	f->fast.fencing[i] = 0;
	f->fast.fenced[i] = ok;
	if (ok)
		log_info("fast: node %u is fenced (confirmed): its VMs' backups may take over", node);
}

int fast_pending(const struct fenced *f, const char *name)
{
	for (size_t k = 0; k < f->fast.ntk; k++)
		if (!strcmp(f->fast.tk[k]->name, name))
			return 1;
	return 0;
}

static void on_sent(void *arg, int ok, const char *err)
{
	struct fast_tk *t = arg;
	t->inflight = 0;
	if (!ok)
		log_warnx("fast: TAKEOVER of %s rejected (%s): sent again after the next change", t->name,
		    err);
}

/* after every change of the table or the view: let the table follow the grants */
void fast_flush(struct fenced *f)
{
	struct fast_state *s = &f->fast;
	if (s->beat && f->mb.nodeid)
		beat_self(s->beat, f->mb.nodeid);
	for (size_t i = 0; i < f->conf.nhosts; i++)
		if (s->fenced[i] && sync_member(f, f->conf.hosts[i].node))
			s->fenced[i] = 0;	/* it is back: evidence about it starts over */
	for (size_t k = 0; k < s->ntk;) {
		struct fast_tk *t = s->tk[k];
		struct tvm *v = table_vm(&f->t, t->name);
		const struct thost *o = v ? table_host(&f->t, v->owner) : NULL;
		if (t->inflight) {
			k++;
			continue;
		}
		if (!v || v->gen != t->gen) {
			if (v && v->owner == f->mb.nodeid)
				log_info("fast: VM %s: the table follows: this host owns it at generation "
				    "%llu", t->name, (unsigned long long)v->gen);
			else
				log_warnx("fast: VM %s: the table moved on without this host's takeover "
				    "(%s)", t->name, v ? "another generation" : "gone");
			free(t);
			s->tk[k] = s->tk[--s->ntk];	/* an entry in flight is never freed */
			continue;
		}
		if (sync_ready(f) && o && o->status == HS_FENCED) {
			struct msg_out m;
			msg_begin(&m, CM_TAKEOVER, 0);
			msg_add_str(&m, CA_NAME, v->name);
			msg_add_u64(&m, CA_GEN, v->gen);
			msg_add_u64(&m, CA_EPOCH, t->epoch);
			t->inflight = sync_send(f, &m, on_sent, t) == 0;
			msg_free(&m);
		}
		k++;
	}
}

void fast_init(struct fenced *f)
{
	char err[300];
	memset(&f->fast, 0, sizeof(f->fast));
	if (!f->conf.hb_key[0])
		return;
	if (!(f->fast.beat = beat_start(&f->conf, err, sizeof(err))))
		fatalx("%s", err);
	log_info("heartbeats on port %u every %u ms, a host lost after %u ms without one",
	    f->conf.hb_port, f->conf.hb_interval_ms, f->conf.hb_lost_ms);
}

void fast_shutdown(struct fenced *f)
{
	beat_stop(f->fast.beat);
	f->fast.beat = NULL;
	for (size_t k = 0; k < f->fast.ntk; k++)
		free(f->fast.tk[k]);
	f->fast.ntk = 0;
}
