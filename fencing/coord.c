/*
 * coord.c - the coordinator's duties.  The lowest member of the quorate
 * view is the coordinator; when it goes, the next lowest picks up from the
 * table, which says everything that is left to do:
 *
 *   a host "lost"    fence it (fence.c), unless the storm guard refuses:
 *                    never more than storm-share of the hosts at once
 *   fenced           FENCED {ok} into the table; its VMs with a restart
 *                    policy become "failed", the others "stopped"
 *   a "failed" VM    of a fenced host: PLACE it on the host with the most
 *                    free memory, which starts it (local.c)
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

static struct { uint32_t node; uint64_t retry_at_ms; int refused, alive; } fstate[T_MAX_HOSTS];
static struct { char name[T_NAME_MAX + 1]; uint64_t gen; } placed[T_MAX_VMS];
static size_t nplaced;
static struct event *retry_ev;

static size_t host_index(uint32_t node)
{
	for (size_t i = 0; i < F.t.nhost; i++)
		if (F.t.host[i].node == node)
			return i;
	return 0;
}

static void on_retry(evutil_socket_t fd, short ev, void *arg)
{
	(void)fd;
	(void)ev;
	(void)arg;
	coord_act();
}

static void send_fenced(uint32_t node, int ok, const char *method, const char *detail)
{
	struct msg_out o;
	msg_begin(&o, CM_FENCED, 0);
	msg_add_u32(&o, CA_NODE, node);
	msg_add_str(&o, CA_METHOD, method);
	msg_add_u32(&o, CA_OK, (uint32_t)ok);
	if (detail && detail[0])
		msg_add_str(&o, CA_DETAIL, detail);
	msg_add_u64(&o, CA_TIME, wall_ms());
	if (sync_send(&o, NULL, NULL) < 0)
		log_warnx("fence node %u: %s, but the table cannot record it now (%s); the "
		    "coordinator will fence again", node, ok ? "done" : "failed", sync_state());
	msg_free(&o);
}

void coord_fence_done(uint32_t node, int ok, const char *method, const char *detail)
{
	size_t i = host_index(node);
	send_fenced(node, ok, method, detail);
	if (!ok) {
		fstate[i].retry_at_ms = mono_ms() + 3000;
		struct timeval tv = { 3, 0 };
		evtimer_add(retry_ev, &tv);
	}
	control_fence_done(node, ok, method, detail);
}

int coord_fence(uint32_t node, char *err, size_t errlen)
{
	if (!retry_ev)
		retry_ev = evtimer_new(F.base, on_retry, NULL);
	if (fence_busy(node)) {
		snprintf(err, errlen, "node %u is being fenced already", node);
		return -1;
	}
	/* say so first: the target, if it still hears the cluster, takes a
	 * FENCE only while the coordinator fences it (migrated asks) */
	struct msg_out o;
	msg_begin(&o, CM_FENCING, 0);
	msg_add_u32(&o, CA_NODE, node);
	if (sync_send(&o, NULL, NULL) < 0)
		log_info("fence node %u: cannot announce it now (%s)", node, sync_state());
	msg_free(&o);
	if (fence_start(node) < 0) {
		snprintf(err, errlen, errno == EBUSY ? "node %u is being fenced already" :
		    "node %u cannot be fenced: %s", node, strerror(errno));
		return -1;
	}
	return 0;
}

void coord_forget(const char *name)
{
	for (size_t i = 0; i < nplaced; i++)
		if (!strcmp(placed[i].name, name))
			placed[i].name[0] = 0;
}

static int was_placed(const struct tvm *v)
{
	for (size_t i = 0; i < nplaced; i++)
		if (placed[i].gen == v->gen && !strcmp(placed[i].name, v->name))
			return 1;
	return 0;
}

static void note_placed(const struct tvm *v)
{
	size_t i = nplaced < T_MAX_VMS ? nplaced++ : (size_t)(v->gen % T_MAX_VMS);
	snprintf(placed[i].name, sizeof(placed[i].name), "%s", v->name);
	placed[i].gen = v->gen;
}

static void fence_lost(void)
{
	size_t lost = 0;
	for (size_t i = 0; i < F.t.nhost; i++)
		lost += F.t.host[i].status == HS_LOST && !in_ring(F.t.host[i].node);
	for (size_t i = 0; i < F.t.nhost; i++) {
		struct thost *h = &F.t.host[i];
		if (h->status != HS_LOST) {
			fstate[i].refused = fstate[i].alive = 0;
			fstate[i].retry_at_ms = 0;
			continue;
		}
		if (fence_busy(h->node) || mono_ms() < fstate[i].retry_at_ms)
			continue;
		if (in_ring(h->node)) {	/* its fenced left, its corosync did not */
			if (!fstate[i].alive)
				log_info("coordinator: node %u left the group but its corosync is in the "
				    "ring: its fenced stopped, the host did not; not fencing it, its VMs "
				    "keep running", h->node);
			fstate[i].alive = 1;
			continue;
		}
		fstate[i].alive = 0;
		if (lost * 100 > (size_t)F.conf.storm_pct * F.t.nhost) {
			if (!fstate[i].refused) {
				char d[160];
				snprintf(d, sizeof(d), "storm guard: %zu of %zu hosts lost, more than "
				    "storm-share %u%%: not fencing, nothing restarted", lost, F.t.nhost,
				    F.conf.storm_pct);
				log_warnx("fence node %u: %s", h->node, d);
				send_fenced(h->node, 0, "storm-guard", d);
				fstate[i].refused = 1;
			}
			continue;
		}
		log_info("coordinator: node %u is lost: fencing it", h->node);
		char err[200];
		if (coord_fence(h->node, err, sizeof(err)) < 0)
			log_warnx("coordinator: %s", err);
	}
}

static void place_failed(void)
{
	uint64_t extra[T_MAX_HOSTS] = { 0 };
	for (size_t i = 0; i < F.t.nvm; i++) {
		struct tvm *v = &F.t.vm[i];
		struct thost *ow = table_host(&F.t, v->owner);
		if (v->state != VS_FAILED || !ow || ow->status != HS_FENCED || was_placed(v))
			continue;
		uint32_t to = place_pick(&F.t, &F.conf, v->mem, v->owner, extra);
		if (!to) {
			log_warnx("coordinator: VM %s (%llu MiB) of fenced node %u: no host has room", v->name,
			    (unsigned long long)(v->mem >> 20), v->owner);
			note_placed(v);	/* said once per generation */
			continue;
		}
		struct msg_out o;
		msg_begin(&o, CM_PLACE, 0);
		msg_add_str(&o, CA_NAME, v->name);
		msg_add_u64(&o, CA_GEN, v->gen);
		msg_add_u32(&o, CA_TO, to);
		if (sync_send(&o, NULL, NULL) == 0) {
			log_info("coordinator: restarting VM %s of fenced node %u on node %u", v->name,
			    v->owner, to);
			note_placed(v);
		}
		msg_free(&o);
	}
}

void coord_act(void)
{
	if (!retry_ev)
		retry_ev = evtimer_new(F.base, on_retry, NULL);
	if (!sync_ready() || !sync_coordinator())
		return;
	fence_lost();
	place_failed();
}
