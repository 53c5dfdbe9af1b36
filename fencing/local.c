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
#include "hvctl.h"
#include "log.h"

static struct event *selffence_ev, *tick_ev;
static int wdog_fd = -1;
static char wdog_state[512];
static struct tfence hist[T_HIST];
static uint64_t nhist;
static struct { char name[T_NAME_MAX + 1]; uint64_t gen; int what; } sent[T_MAX_VMS];
static size_t nsent;

size_t local_hist_count(void)
{
	return nhist < T_HIST ? (size_t)nhist : T_HIST;
}

const struct tfence *local_hist(size_t i)
{
	return &hist[(nhist - local_hist_count() + i) % T_HIST];
}

const char *local_watchdog(void)
{
	return wdog_state;
}

/* fenced's event loop also runs CPG and the self-fence deadline: a domain
 * that does not answer (stopped, stuck) may cost it this much, never more */
#define LOCAL_HV_TIMEOUT_MS 500

struct hv *local_hv(void)
{
	char err[256];
	struct hv *h = hv_open(F.hvd_path, err, sizeof(err));
	if (!h)
		log_warnx("local: cannot reach hvd: %s", err);
	else
		h->timeout_ms = LOCAL_HV_TIMEOUT_MS;
	return h;
}

void local_forget(const char *name)
{
	for (size_t i = 0; i < nsent; i++)
		if (!strcmp(sent[i].name, name))
			sent[i].name[0] = 0;
}

/* one report per VM and generation: a second act() before delivery sends nothing */
static int once(const struct tvm *v, int what)
{
	for (size_t i = 0; i < nsent; i++)
		if (sent[i].gen == v->gen && sent[i].what == what && !strcmp(sent[i].name, v->name))
			return 0;
	size_t i = nsent < T_MAX_VMS ? nsent++ : (size_t)(v->gen % T_MAX_VMS);
	snprintf(sent[i].name, sizeof(sent[i].name), "%s", v->name);
	sent[i].gen = v->gen;
	sent[i].what = what;
	return 1;
}

static void send_vm(int type, const struct tvm *v, uint32_t state, const char *detail)
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
		msg_add_u32(&o, CA_TO, F.mb.nodeid);
	if (sync_send(&o, NULL, NULL) < 0)
		log_warnx("local: VM %s: cannot send %s now (%s)", v->name,
		    cluster_schema.policies[type].name, sync_state());
	msg_free(&o);
}

int local_start(const char *name, char *err, size_t errlen)
{
	struct tvm *v = table_vm(&F.t, name);
	if (!v || v->owner != F.mb.nodeid || v->state != VS_STARTING) {
		snprintf(err, errlen, "VM %s is not starting on this host", name);
		return -1;
	}
	if (!once(v, VS_STARTING))
		return 0;
	struct hv *h = local_hv();
	int r = -1;
	if (!h)
		snprintf(err, errlen, "hvd is not reachable");
	else {
		struct hv_dominfo d;
		if (h->ops->domain_info(h, name, &d) == 0) {
			log_warnx("local: VM %s: a stale %s domain is in the way: destroying it", name,
			    dom_state_name(d.state));
			h->ops->domain_destroy(h, name);
		}
		r = h->ops->domain_create(h, name, v->mem, v->vcpus, v->kernel, v->cmdline);
		if (r < 0)
			snprintf(err, errlen, "%s", hv_error(h));
		h->ops->close(h);
	}
	if (r == 0)
		log_info("local: VM %s generation %llu started here", name, (unsigned long long)v->gen);
	else
		log_warnx("local: VM %s generation %llu did not start: %s", name,
		    (unsigned long long)v->gen, err);
	send_vm(CM_VMSTATE, v, r == 0 ? VS_RUNNING : VS_FAILED, r == 0 ? NULL : err);
	return r;
}

static int owned_here(const char *name)
{
	struct tvm *v = table_vm(&F.t, name);
	return v && (v->owner == F.mb.nodeid || (v->state == VS_MIGRATING && v->target == F.mb.nodeid));
}

void local_act(void)
{
	if (!sync_ready())
		return;
	struct hv *h = local_hv();
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
		if (owned_here(names[i]) || h->ops->domain_info(h, names[i], &d) < 0 ||
		    d.state != DS_RUNNING)
			continue;
		struct tvm *v = table_vm(&F.t, names[i]);
		if (!v) {
			struct tvm unknown = { .gen = 0 };
			snprintf(unknown.name, sizeof(unknown.name), "%s", names[i]);
			if (once(&unknown, -1))
				log_warnx("local: VM %s runs here but the table has no VM of that name: "
				    "left running (tandem vm destroy %s if it should not run)", names[i],
				    names[i]);
			continue;
		}
		log_warnx("local: VM %s runs here but belongs to node %u (generation %llu): "
		    "destroying it", names[i], v->owner, (unsigned long long)v->gen);
		h->ops->domain_destroy(h, names[i]);
	}
	/* run what is ours */
	for (size_t i = 0; i < F.t.nvm; i++) {
		struct tvm *v = &F.t.vm[i];
		if (v->owner != F.mb.nodeid)
			continue;
		if (v->state == VS_STARTING) {
			h->ops->close(h);
			h = NULL;
			local_start(v->name, err, sizeof(err));
			if (!(h = local_hv()))
				break;
			continue;
		}
		if (v->state != VS_RUNNING)
			continue;
		struct hv_dominfo d;
		int there = h->ops->domain_info(h, v->name, &d) == 0 ?
		    d.state == DS_RUNNING || d.state == DS_PAUSED ||
		    d.state == DS_MIGRATED :	/* handed over: migrated settles it */
		    errno != ENOENT;	/* no answer is no evidence that it is gone */
		if (there || !once(v, VS_RUNNING))
			continue;
		if (v->policy == VP_RESTART) {
			log_warnx("local: VM %s (generation %llu) is gone from hvd: restarting it here",
			    v->name, (unsigned long long)v->gen);
			send_vm(CM_PLACE, v, 0, NULL);
		} else {
			log_warnx("local: VM %s (generation %llu) is gone from hvd: stopped", v->name,
			    (unsigned long long)v->gen);
			send_vm(CM_VMSTATE, v, VS_STOPPED, "gone from hvd");
		}
	}
	free(names);
	if (h)
		h->ops->close(h);
}

static void self_fence(evutil_socket_t fd, short ev, void *arg)
{
	(void)fd;
	(void)ev;
	(void)arg;
	if (F.mb.state == MB_QUORATE && quorate_now())
		return;
	struct hv *h = local_hv();
	char (*names)[65] = NULL;
	int n = 0, killed = 0, failed = 0;
	if (h && h->ops->domain_list(h, &names, &n) == 0)
		for (int i = 0; i < n; i++) {
			if (h->ops->domain_destroy(h, names[i]) == 0)
				killed++;
			else if (errno != ENOENT)
				failed++;
		}
	struct tfence *f = &hist[nhist++ % T_HIST];
	memset(f, 0, sizeof(*f));
	f->time_ms = wall_ms();
	f->node = f->by = F.mb.nodeid;
	f->ok = h && !failed;
	snprintf(f->method, sizeof(f->method), "self");
	snprintf(f->detail, sizeof(f->detail), "%s for %u ms: destroyed %d domains%s",
	    mb_state_name(F.mb.state), F.conf.self_fence_ms, killed, f->ok ? "" : " (some failed)");
	log_warnx("self-fence: %s", f->detail);
	free(names);
	if (h)
		h->ops->close(h);
}

static void pet(void)
{
	if (wdog_fd >= 0 && write(wdog_fd, "1", 1) < 0)
		log_warnx("watchdog: %s", strerror(errno));
}

static void on_tick(evutil_socket_t fd, short ev, void *arg)
{
	(void)fd;
	(void)ev;
	(void)arg;
	if (F.mb.state == MB_QUORATE)
		pet();
	local_act();	/* notices VMs that died on their own */
}

void local_membership(void)
{
	static int was_quorate;	/* armed only once this host has been quorate */
	if (F.mb.state == MB_QUORATE) {
		was_quorate = 1;
		if (evtimer_pending(selffence_ev, NULL))
			log_info("self-fence: quorate again: cancelled");
		evtimer_del(selffence_ev);
		pet();
		return;
	}
	if (!was_quorate || evtimer_pending(selffence_ev, NULL))
		return;
	struct timeval tv = { F.conf.self_fence_ms / 1000, (F.conf.self_fence_ms % 1000) * 1000 };
	evtimer_add(selffence_ev, &tv);
	log_warnx("self-fence: %s: every domain here is destroyed in %u ms unless quorum comes back",
	    mb_state_name(F.mb.state), F.conf.self_fence_ms);
}

void local_init(void)
{
	selffence_ev = evtimer_new(F.base, self_fence, NULL);
	tick_ev = event_new(F.base, -1, EV_PERSIST, on_tick, NULL);
	struct timeval tv = { 1, 0 };
	evtimer_add(tick_ev, &tv);
	if (access(F.conf.watchdog, F_OK) < 0) {
		snprintf(wdog_state, sizeof(wdog_state), "none (%s absent): self-fencing is fenced's "
		    "own %u ms deadline", F.conf.watchdog, F.conf.self_fence_ms);
		log_warnx("watchdog: %s does not exist: self-fencing relies on fenced alone (deadline "
		    "%u ms), with no hardware reset if fenced itself hangs", F.conf.watchdog,
		    F.conf.self_fence_ms);
	} else if ((wdog_fd = open(F.conf.watchdog, O_WRONLY | O_CLOEXEC)) < 0) {
		snprintf(wdog_state, sizeof(wdog_state), "%s: %s", F.conf.watchdog, strerror(errno));
		log_warnx("watchdog: cannot open %s: %s", F.conf.watchdog, strerror(errno));
	} else {
		snprintf(wdog_state, sizeof(wdog_state), "%s, fed while quorate", F.conf.watchdog);
		log_info("watchdog: %s armed: fed every second while quorate", F.conf.watchdog);
	}
	local_membership();
}

void local_shutdown(void)
{
	if (wdog_fd >= 0) {
		if (write(wdog_fd, "V", 1) < 0)	/* magic close: a clean stop disarms it */
			log_warnx("watchdog: %s", strerror(errno));
		close(wdog_fd);
	}
	event_free(selffence_ev);
	event_free(tick_ev);
}
