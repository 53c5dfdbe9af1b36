/*
 * mig.c - the registry of migrations (outgoing and incoming) that control.c
 * reports on, the helpers that update a migration's progress, and the
 * transport a migration talks over (TLS with mutual certificate checks, or
 * plain TCP only when migrated runs with --insecure).
 */
#include <sched.h>
#include <sys/resource.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "migrated.h"
#include "gate.h"
#include "config.h"
#include <arpa/inet.h>

static pthread_mutex_t reg_lock = PTHREAD_MUTEX_INITIALIZER;
static struct mig *migs;

uint64_t mig_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

/*
 * While the VM is paused every step of the hand-over is on the critical
 * path, and the destination's vCPU starts to compete for a core the moment
 * it is unpaused: on the 2-core lab machines the receiver then waited up to
 * 0.7 ms to be scheduled.  Lowest real-time priority (corosync runs at the
 * highest) for a few milliseconds: callers ask only for a stop-and-copy of
 * at most URGENT_PAGES pages, so one forced long by a limit cannot starve
 * the host.  Where it is not allowed, nothing changes.
 */
/*
 * Outside the pause, the copying yields to the guest: on a host whose cores
 * are all busy, a migration at the guest's own priority took a third of
 * its vCPU's time, and a service in the guest went unanswered for up to
 * 13 ms at a time during pre-copy.  At nice 5 the lab's clients saw a
 * median gap of 6.4 ms around a migration; at nice 19, 5.4 ms.  A niced
 * thread still keeps the core it holds for the rest of its slice when the
 * vCPU, or the softirq thread carrying the guest's frames, wakes; a
 * SCHED_IDLE one gives it up at once (the scheduler's rule for idle
 * tasks): the median gap fell to 4.9 ms, and the runs of 20 migrations
 * whose worst gap passed 10 ms from one in three to one in five.  Its
 * share of a busy core is a fifth of nice 19's (itself ~1.5%): on a host
 * whose guests leave no idle time a migration crawls either way, and once
 * its rounds stop converging the controller throttles the guest
 * (converge.c).  Where SCHED_IDLE is refused, nice 19.
 *
 * Idle priority alone still kept the guest waiting: the scheduler (EEVDF)
 * runs a woken vCPU that owes CPU time only once it has paid, and picks an
 * idle thread before it meanwhile.  In the lab's scheduler trace the
 * migration threads held a core for 2-4 ms while the vCPU or its NIC
 * thread waited, ~100 times in 8 migrations.  So the stream yields the core
 * every MIG_TURN_US of work as well (rio_set_turn); with nothing else
 * waiting for the core a yield is one system call.
 */
#define MIG_NICE	19
#define MIG_TURN_US	100
void mig_background(struct rio *r)	/* this thread only */
{
	struct sched_param sp = { .sched_priority = 0 };
	if (pthread_setschedparam(pthread_self(), SCHED_IDLE, &sp))
		setpriority(PRIO_PROCESS, 0, MIG_NICE);
	if (r)
		rio_set_turn(r, MIG_TURN_US);
}

void mig_urgent(struct rio *r, int on)
{
	if (on) {
		cpuplan_control(&migd_conf.cpus);
		if (r)
			rio_set_turn(r, 0);	/* nothing to yield to on its own core */
	} else {
		cpuplan_ordinary(&migd_conf.cpus);	/* every core again */
		mig_background(r);
	}
}

struct mig *mig_new(enum mig_dir dir, const char *name)
{
	struct mig *m = calloc(1, sizeof(*m));

	if (!m)
		return NULL;
	pthread_mutex_init(&m->lock, NULL);
	pthread_mutex_init(&m->commit_lock, NULL);
	m->dir = dir;
	m->fd = -1;
	snprintf(m->name, sizeof(m->name), "%s", name);
	m->state = MS_RUNNING;
	m->start_ns = mig_now();
	snprintf(m->phase, sizeof(m->phase), "setup");
	pthread_mutex_lock(&reg_lock);
	/* keep the newest finished outgoing record per name (incoming threads
	 * are detached and release their record at their end) */
	for (struct mig **pp = &migs; dir == MIG_OUT && *pp; pp = &(*pp)->next)
		if ((*pp)->dir == MIG_OUT && !strcmp((*pp)->name, name) && (*pp)->state != MS_RUNNING) {
			struct mig *old = *pp;
			*pp = old->next;
			pthread_join(old->thr, NULL);
			free(old);
			break;
		}
	m->next = migs;
	migs = m;
	pthread_mutex_unlock(&reg_lock);
	return m;
}

/* An incoming migration's thread, at its end: nothing refers to the record
 * any more (mig_find looks only at outgoing ones), so it goes. */
void mig_release(struct mig *m)
{
	if (!m)
		return;
	pthread_mutex_lock(&reg_lock);
	for (struct mig **pp = &migs; *pp; pp = &(*pp)->next)
		if (*pp == m) {
			*pp = m->next;
			break;
		}
	pthread_mutex_unlock(&reg_lock);
	pthread_mutex_destroy(&m->lock);
	pthread_mutex_destroy(&m->commit_lock);
	free(m);
}

struct mig *mig_find(const char *name, int active_only)
{
	struct mig *m;
	pthread_mutex_lock(&reg_lock);
	for (m = migs; m; m = m->next)
		if (m->dir == MIG_OUT && !strcmp(m->name, name) &&
		    (!active_only || m->state == MS_RUNNING))
			break;
	pthread_mutex_unlock(&reg_lock);
	return m;
}

void mig_set_phase(struct mig *m, const char *phase)
{
	pthread_mutex_lock(&m->lock);
	if (strcmp(m->phase, phase))
		log_state(0, phase, NULL, "migration %s %s: %s -> %s", m->name, m->dir == MIG_OUT ? "out" :
		    "in", m->phase, phase);
	snprintf(m->phase, sizeof(m->phase), "%s", phase);
	pthread_mutex_unlock(&m->lock);
}

void mig_fail(struct mig *m, unsigned state, const char *fmt, ...)
{
	va_list ap;
	pthread_mutex_lock(&m->lock);
	if (m->state == MS_RUNNING) {
		va_start(ap, fmt);
		vsnprintf(m->error, sizeof(m->error), fmt, ap);
		va_end(ap);
		m->state = state;
		m->total_ns = mig_now() - m->start_ns;
		pthread_mutex_unlock(&m->lock);
		stats_end(migd_conf.stats, m);
	} else
		pthread_mutex_unlock(&m->lock);
	log_state(1, mig_state_name(state), NULL, "migration %s %s %s: %s", m->name,
	    m->dir == MIG_OUT ? "out" : "in", mig_state_name(state), m->error);
}

void mig_done(struct mig *m)
{
	pthread_mutex_lock(&m->lock);
	int first = m->state == MS_RUNNING;
	m->state = MS_DONE;
	if (!m->total_ns)
		m->total_ns = mig_now() - m->start_ns;
	pthread_mutex_unlock(&m->lock);
	if (first)
		stats_end(migd_conf.stats, m);
}

void mig_running(unsigned *out, unsigned *in)
{
	*out = *in = 0;
	pthread_mutex_lock(&reg_lock);
	for (struct mig *m = migs; m; m = m->next)
		if (m->state == MS_RUNNING)
			(*(m->dir == MIG_OUT ? out : in))++;
	pthread_mutex_unlock(&reg_lock);
}

/*
 * The stream to a peer.  For tests, TANDEM_FAULT_AFTER=<bytes> makes a
 * sender's stream fail with EIO after that many bytes (the fault backend),
 * as a cable pulled mid-stream would.
 */
void mig_want(const char *spec, struct tls_want *want, char *buf, size_t buflen)
{
	gate_want(migd_conf.hosts, spec, want, buf, buflen);
}

struct rio *mig_transport(struct mig *m, int fd, int server, const struct tls_want *want,
    struct tls_peer *peer, char *err, size_t errlen)
{
	if (peer)
		memset(peer, 0, sizeof(*peer));
	struct rio *r = migd_conf.insecure ? rio_fd_open(fd, 1) :
	    tls_open(fd, server, want, peer, err, errlen);
	if (peer && migd_conf.insecure)
		peer->role = TLS_ROLE_HOST;	/* nobody is authenticated */
	const char *f = getenv("TANDEM_FAULT_AFTER");
	if (r && f && m && m->dir == MIG_OUT) {
		log_warnx("test hook: the stream to %s fails after %s bytes", m->dest, f);
		r = rio_fault_open(r, strtoull(f, NULL, 10), 0, 0);
	}
	return r;
}
