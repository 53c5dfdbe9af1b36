/*
 * coord.c - the coordinator's duties.  The lowest member of the quorate
 * view is the coordinator; when it goes, the next lowest picks up from the
 * table, which says everything that is left to do:
 *
 *   a host "lost"    fence it (fence.c), unless the storm guard refuses:
 *                    never more than storm-share of the hosts at once
 *   fenced           FENCED {ok} into the table; its VMs with a restart
 *                    policy or a backup become "failed", the others "stopped"
 *   a "failed" VM    of a fenced host: PLACE it on the host with the most
 *                    free memory, which starts it (local.c); not one with
 *                    a backup: that host's remusd resumes its shadow
 *                    (TAKEOVER), and if the backup is fenced too, the VM
 *                    has none any more and is placed
 *
 * Nothing is restarted before its old host is confirmed fenced.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "fence.h"
#include "fenced.h"
#include "log.h"

static size_t host_index(struct fenced *f, uint32_t node)
{
	for (size_t i = 0; i < f->t.nhost; i++)
		if (f->t.host[i].node == node)
			return i;
	return 0;
}

#define COORD_RETRY_MS	3000	/* a fence that failed is tried again this much later */

static void on_retry(evutil_socket_t fd, short ev, void *arg)
{
	(void)fd;
	(void)ev;
	coord_act(arg);
}

void coord_init(struct fenced *f)
{
	f->coord.retry_ev = evtimer_new(f->base, on_retry, f);
}

/*
 * The next retry, ms from now: libevent times the retry from the loop's
 * cached clock, which can run behind mono_ms(), so a retry may come a
 * little before its time; then it is armed again for what is left, or a
 * host whose fencing failed twice would never be fenced again unless some
 * other event came.
 */
static void retry_in(struct fenced *f, uint64_t ms)
{
	struct timeval tv = { (time_t)(ms / 1000), (suseconds_t)(ms % 1000) * 1000 };
	evtimer_add(f->coord.retry_ev, &tv);
}

static void send_fenced(struct fenced *f, uint32_t node, int ok, const char *method, const char *detail)
{
	struct msg_out o;
	msg_begin(&o, CM_FENCED, 0);
	msg_add_u32(&o, CA_NODE, node);
	msg_add_str(&o, CA_METHOD, method);
	msg_add_u32(&o, CA_OK, (uint32_t)ok);
	if (detail && detail[0])
		msg_add_str(&o, CA_DETAIL, detail);
	msg_add_u64(&o, CA_TIME, wall_ms());
	if (sync_send(f, &o, NULL, NULL) < 0)
		log_warnx("fence node %u: %s, but the table cannot record it now (%s); the "
		    "coordinator will fence again", node, ok ? "done" : "failed", sync_state(f));
	msg_free(&o);
}

void coord_fence_done(struct fenced *f, uint32_t node, int ok, const char *method, const char *detail)
{
	size_t i = host_index(f, node);
	send_fenced(f, node, ok, method, detail);
	if (!ok) {
		f->coord.fstate[i].retry_at_ms = mono_ms() + COORD_RETRY_MS;
		retry_in(f, COORD_RETRY_MS);
	}
}

int coord_fence(struct fenced *f, uint32_t node, char *err, size_t errlen)
{
	if (fence_busy(f->fencer, node)) {
		snprintf(err, errlen, "node %u is being fenced already", node);
		return -1;
	}
	/* say so first: the target, if it still hears the cluster, takes a
	 * FENCE only while the coordinator fences it (migrated asks) */
	struct msg_out o;
	msg_begin(&o, CM_FENCING, 0);
	msg_add_u32(&o, CA_NODE, node);
	if (sync_send(f, &o, NULL, NULL) < 0)
		log_info("fence node %u: cannot announce it now (%s)", node, sync_state(f));
	msg_free(&o);
	if (fence_start(f->fencer, node) < 0) {
		snprintf(err, errlen, errno == EBUSY ? "node %u is being fenced already" :
		    "node %u cannot be fenced: %s", node, strerror(errno));
		return -1;
	}
	return 0;
}

void coord_forget(struct fenced *f, const char *name)
{
	once_forget(&f->coord.placed, name);
}

static void fence_lost(struct fenced *f)
{
	size_t lost = 0;
	uint64_t next = 0;	/* the earliest retry still to come, ms from now */
	for (size_t i = 0; i < f->t.nhost; i++)
		lost += f->t.host[i].status == HS_LOST && !in_ring(f, f->t.host[i].node);
	for (size_t i = 0; i < f->t.nhost; i++) {
		struct thost *h = &f->t.host[i];
		if (h->status != HS_LOST) {
			f->coord.fstate[i].refused = f->coord.fstate[i].alive = 0;
			f->coord.fstate[i].retry_at_ms = 0;
			continue;
		}
		if (fence_busy(f->fencer, h->node))
			continue;
		uint64_t now = mono_ms();
		if (now < f->coord.fstate[i].retry_at_ms) {
			uint64_t left = f->coord.fstate[i].retry_at_ms - now;
			next = next && next < left ? next : left;
			continue;
		}
		if (in_ring(f, h->node)) {	/* its fenced left, its corosync did not */
			if (!f->coord.fstate[i].alive)
				log_info("coordinator: node %u left the group but its corosync is in the "
				    "ring: its fenced stopped, the host did not; not fencing it, its VMs "
				    "keep running", h->node);
			f->coord.fstate[i].alive = 1;
			continue;
		}
		f->coord.fstate[i].alive = 0;
		if (lost * 100 > (size_t)f->conf.storm_pct * f->t.nhost) {
			if (!f->coord.fstate[i].refused) {
				char d[160];
				snprintf(d, sizeof(d), "storm guard: %zu of %zu hosts lost, more than "
				    "storm-share %u%%: not fencing, nothing restarted", lost, f->t.nhost,
				    f->conf.storm_pct);
				log_warnx("fence node %u: %s", h->node, d);
				send_fenced(f, h->node, 0, "storm-guard", d);
				f->coord.fstate[i].refused = 1;
			}
			continue;
		}
		log_info("coordinator: node %u is lost: fencing it", h->node);
		char err[200];
		if (coord_fence(f, h->node, err, sizeof(err)) < 0)
			log_warnx("coordinator: %s", err);
	}
	if (next)
		retry_in(f, next);
}

static void place_failed(struct fenced *f)
{
	uint64_t extra[T_MAX_HOSTS] = { 0 };
	for (size_t i = 0; i < f->t.nvm; i++) {
		struct tvm *v = &f->t.vm[i];
		struct thost *ow = table_host(&f->t, v->owner);
		if (v->state != VS_FAILED || !ow || ow->status != HS_FENCED)
			continue;
		if (v->backup)
			continue;	/* its backup resumes its shadow (CM_TAKEOVER), unless fenced too */
		if (!once_first(&f->coord.placed, v->name, v->gen, 0))
			continue;	/* placed (or said it cannot be) once per generation */
		uint32_t to = place_pick(&f->t, &f->conf, v->mem, v->owner, extra);
		if (!to) {
			log_warnx("coordinator: VM %s (%llu MiB) of fenced node %u: no host has room", v->name,
			    (unsigned long long)(v->mem >> 20), v->owner);
			continue;
		}
		struct msg_out o;
		msg_begin(&o, CM_PLACE, 0);
		msg_add_str(&o, CA_NAME, v->name);
		msg_add_u64(&o, CA_GEN, v->gen);
		msg_add_u32(&o, CA_TO, to);
		if (sync_send(f, &o, NULL, NULL) == 0)
			log_info("coordinator: restarting VM %s of fenced node %u on node %u", v->name,
			    v->owner, to);
		else
			once_forget(&f->coord.placed, v->name);	/* again on the next pass */
		msg_free(&o);
	}
}

void coord_act(struct fenced *f)
{
	if (!sync_ready(f) || !sync_coordinator(f))
		return;
	fence_lost(f);
	place_failed(f);
}
