/*
 * local.c - this host's duties toward the table:
 *
 *  - run what it owns: a VM the table gives it as "starting" is created
 *    from its spec and reported running (or failed); a VM it owns as
 *    "running" that is gone from hvd is restarted here when its policy says
 *    so, else reported stopped;
 *  - run nothing else: a running domain the table gives another host is
 *    destroyed (paused incoming domains belong to migrated).  One the table
 *    does not know at all is left running and reported: a table that lost
 *    track of a VM (a fresh or refused table file) is no verdict on it, and
 *    no other host can run a VM the table does not hold;
 *  - self-fence: inquorate (or cut off from corosync) for self-fence ms,
 *    it destroys every domain it runs, since the majority will fence it
 *    and restart them elsewhere;
 *  - feed the watchdog while quorate, where a watchdog exists.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "fenced.h"
#include "hv.h"
#include "log.h"

const char *local_watchdog(const struct fenced *f)
{
	return f->local.wdog_state;
}

/* fenced's event loop also runs CPG and the self-fence deadline: a domain
 * that does not answer (stopped, stuck) may cost it this much, never more */
#define LOCAL_HV_TIMEOUT_MS 500

struct hv *local_hv(const struct fenced *f)
{
	char err[256];
	struct hv *h = hv_open(f->hvd_path, err, sizeof(err));
	if (!h)
		log_warnx("local: cannot reach hvd: %s", err);
	else
		h->timeout_ms = LOCAL_HV_TIMEOUT_MS;
	return h;
}

void local_forget(struct fenced *f, const char *name)
{
	once_forget(&f->local.sent, name);
}

/* one report per VM and generation: a second act() before delivery sends nothing */
static int once(struct fenced *f, const struct tvm *v, int what)
{
	return once_first(&f->local.sent, v->name, v->gen, what);
}

static void send_vm(struct fenced *f, int type, const struct tvm *v, uint32_t state, const char *detail)
{
	struct msg_out o;
	msg_begin(&o, (uint16_t)type, 0);
	msg_add_str(&o, CA_NAME, v->name);
	msg_add_u64(&o, CA_GEN, v->gen);
	if (type == CM_VMSTATE) {
		msg_add_u32(&o, CA_STATE, state);
		if (detail && detail[0])
			msg_add_str(&o, CA_DETAIL, detail);
	} else
		msg_add_u32(&o, CA_TO, f->mb.nodeid);
	if (sync_send(f, &o, NULL, NULL) < 0)
		log_warnx("local: VM %s: cannot send %s now (%s)", v->name,
		    cluster_schema.policies[type].name, sync_state(f));
	msg_free(&o);
}

int local_start(struct fenced *f, const char *name, char *err, size_t errlen)
{
	struct tvm *v = table_vm(&f->t, name);
	if (!v || v->owner != f->mb.nodeid || v->state != VS_STARTING) {
		snprintf(err, errlen, "VM %s is not starting on this host", name);
		return -1;
	}
	if (!once(f, v, VS_STARTING))
		return 0;
	struct hv *h = local_hv(f);
	int r = -1;
	if (!h)
		snprintf(err, errlen, "hvd is not reachable");
	else {
		struct hv_dominfo d;
		if (h->ops->domain_info(h, name, &d) == 0) {
			log_warnx("local: VM %s: a stale %s domain is in the way: destroying it", name,
			    hv_state_name(d.state));
			h->ops->domain_destroy(h, name);
		}
		r = h->ops->domain_create(h, name, v->mem, v->vcpus, v->kernel, v->cmdline, v->net);
		if (r < 0)
			snprintf(err, errlen, "%s", hv_error(h));
		h->ops->close(h);
	}
	if (r == 0)
		log_info("local: VM %s generation %llu started here", name, (unsigned long long)v->gen);
	else
		log_warnx("local: VM %s generation %llu did not start: %s", name,
		    (unsigned long long)v->gen, err);
	send_vm(f, CM_VMSTATE, v, r == 0 ? VS_RUNNING : VS_FAILED, r == 0 ? NULL : err);
	return r;
}

static int owned_here(struct fenced *f, const char *name)
{
	struct tvm *v = table_vm(&f->t, name);
	return v && (v->owner == f->mb.nodeid || (v->state == VS_MIGRATING && v->target == f->mb.nodeid));
}

void local_act(struct fenced *f)
{
	if (!sync_ready(f))
		return;
	struct hv *h = local_hv(f);
	char (*names)[65] = NULL, err[256];
	int n = 0;
	if (!h)
		return;
	if (h->ops->domain_list(h, &names, &n) < 0) {
		log_warnx("local: listing domains: %s", hv_error(h));
		h->ops->close(h);
		return;
	}
	/* run nothing that is not ours */
	for (int i = 0; i < n; i++) {
		struct hv_dominfo d;
		if (owned_here(f, names[i]) || h->ops->domain_info(h, names[i], &d) < 0 ||
		    d.state != HV_RUNNING)
			continue;
		struct tvm *v = table_vm(&f->t, names[i]);
		if (!v) {
			struct tvm unknown = { .gen = 0 };
			snprintf(unknown.name, sizeof(unknown.name), "%s", names[i]);
			if (once(f, &unknown, -1))
				log_warnx("local: VM %s runs here but the table has no VM of that name: "
				    "left running (tandem vm destroy %s if it should not run)", names[i],
				    names[i]);
			continue;
		}
		if (fast_pending(f, names[i]))
			continue;	/* taken over on heartbeat evidence: the table follows */
		log_warnx("local: VM %s runs here but belongs to node %u (generation %llu): "
		    "destroying it", names[i], v->owner, (unsigned long long)v->gen);
		h->ops->domain_destroy(h, names[i]);
	}
	/* run what is ours */
	for (size_t i = 0; i < f->t.nvm; i++) {
		struct tvm *v = &f->t.vm[i];
		if (v->owner != f->mb.nodeid)
			continue;
		if (v->state == VS_STARTING) {
			h->ops->close(h);
			h = NULL;
			local_start(f, v->name, err, sizeof(err));
			if (!(h = local_hv(f)))
				break;
			continue;
		}
		if (v->state != VS_RUNNING)
			continue;
		struct hv_dominfo d;
		int there = h->ops->domain_info(h, v->name, &d) == 0 ?
		    d.state == HV_RUNNING || d.state == HV_PAUSED ||
		    d.state == HV_MIGRATED :	/* handed over: migrated settles it */
		    errno != ENOENT;	/* no answer is no evidence that it is gone */
		if (there || !once(f, v, VS_RUNNING))
			continue;
		if (v->policy == VP_RESTART) {
			log_warnx("local: VM %s (generation %llu) is gone from hvd: restarting it here",
			    v->name, (unsigned long long)v->gen);
			send_vm(f, CM_PLACE, v, 0, NULL);
		} else {
			log_warnx("local: VM %s (generation %llu) is gone from hvd: stopped", v->name,
			    (unsigned long long)v->gen);
			send_vm(f, CM_VMSTATE, v, VS_STOPPED, "gone from hvd");
		}
	}
	free(names);
	if (h)
		h->ops->close(h);
}

static void self_fence(evutil_socket_t fd, short ev, void *arg)
{
	struct fenced *f = arg;
	(void)fd;
	(void)ev;
	if (f->mb.state == MB_QUORATE && quorate_now(f))
		return;
	struct hv *h = local_hv(f);
	char (*names)[65] = NULL;
	int n = 0, killed = 0, failed = 0;
	if (h && h->ops->domain_list(h, &names, &n) == 0)
		for (int i = 0; i < n; i++) {
			if (h->ops->domain_destroy(h, names[i]) == 0)
				killed++;
			else if (errno != ENOENT)
				failed++;
		}
	struct tfence r;
	memset(&r, 0, sizeof(r));
	r.time_ms = wall_ms();
	r.node = r.by = f->mb.nodeid;
	r.ok = h && !failed;
	snprintf(r.method, sizeof(r.method), "self");
	snprintf(r.detail, sizeof(r.detail), "%s for %u ms: destroyed %d domains%s",
	    mb_state_name(f->mb.state), f->conf.self_fence_ms, killed, r.ok ? "" : " (some failed)");
	fring_push(&f->local.hist, &r);
	log_warnx("self-fence: %s", r.detail);
	free(names);
	if (h)
		h->ops->close(h);
}

static void pet(struct fenced *f)
{
	if (f->local.wdog_fd >= 0 && write(f->local.wdog_fd, "1", 1) < 0)
		log_warnx("watchdog: %s", strerror(errno));
}

static void on_tick(evutil_socket_t fd, short ev, void *arg)
{
	struct fenced *f = arg;
	(void)fd;
	(void)ev;
	if (f->mb.state == MB_QUORATE)
		pet(f);
	local_act(f);	/* notices VMs that died on their own */
}

void local_membership(struct fenced *f)
{
	if (f->mb.state == MB_QUORATE) {
		f->local.was_quorate = 1;	/* armed only once this host has been quorate */
		if (evtimer_pending(f->local.selffence_ev, NULL))
			log_info("self-fence: quorate again: cancelled");
		evtimer_del(f->local.selffence_ev);
		pet(f);
		return;
	}
	if (!f->local.was_quorate || evtimer_pending(f->local.selffence_ev, NULL))
		return;
	struct timeval tv = { f->conf.self_fence_ms / 1000, (f->conf.self_fence_ms % 1000) * 1000 };
	evtimer_add(f->local.selffence_ev, &tv);
	log_warnx("self-fence: %s: every domain here is destroyed in %u ms unless quorum comes back",
	    mb_state_name(f->mb.state), f->conf.self_fence_ms);
}

void local_init(struct fenced *f)
{
	f->local.wdog_fd = -1;
	f->local.selffence_ev = evtimer_new(f->base, self_fence, f);
	f->local.tick_ev = event_new(f->base, -1, EV_PERSIST, on_tick, f);
	struct timeval tv = { 1, 0 };
	evtimer_add(f->local.tick_ev, &tv);
	if (access(f->conf.watchdog, F_OK) < 0) {
		snprintf(f->local.wdog_state, sizeof(f->local.wdog_state), "none (%s absent): self-fencing is fenced's "
		    "own %u ms deadline", f->conf.watchdog, f->conf.self_fence_ms);
		log_warnx("watchdog: %s does not exist: self-fencing relies on fenced alone (deadline "
		    "%u ms), with no hardware reset if fenced itself hangs", f->conf.watchdog,
		    f->conf.self_fence_ms);
	} else if ((f->local.wdog_fd = open(f->conf.watchdog, O_WRONLY | O_CLOEXEC)) < 0) {
		snprintf(f->local.wdog_state, sizeof(f->local.wdog_state), "%s: %s", f->conf.watchdog, strerror(errno));
		log_warnx("watchdog: cannot open %s: %s", f->conf.watchdog, strerror(errno));
	} else {
		snprintf(f->local.wdog_state, sizeof(f->local.wdog_state), "%s, fed while quorate", f->conf.watchdog);
		log_info("watchdog: %s armed: fed every second while quorate", f->conf.watchdog);
	}
	local_membership(f);
}

void local_shutdown(struct fenced *f)
{
	if (f->local.wdog_fd >= 0) {
		if (write(f->local.wdog_fd, "V", 1) < 0)	/* magic close: a clean stop disarms it */
			log_warnx("watchdog: %s", strerror(errno));
		close(f->local.wdog_fd);
	}
	event_free(f->local.selffence_ev);
	event_free(f->local.tick_ev);
}
