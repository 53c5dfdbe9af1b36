/*
 * prot.c - the protections this host takes part in, as primary or backup,
 * and their state machine (proto/remctl.h):
 *
 *   primary  syncing --epoch 1 acknowledged--> protected
 *            protected --the stream broke--> unprotected (the table says
 *                no backup, then the held output goes out)
 *            any --unprotect--> stopped;  syncing --error--> failed
 *   backup   syncing --epoch 1 applied--> protected
 *            protected --the primary went silent--> failing-over
 *            failing-over --the table: owner fenced, TAKEOVER delivered-->
 *                taken-over (the shadow runs)
 *            failing-over --the table: no longer the backup--> stopped
 *            syncing --the stream broke--> failed (no whole epoch: nothing
 *                to resume; the shadow goes)
 *
 * Ended protections stay listed (status shows how they ended) until a new
 * one of the same name replaces them.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fcall.h"
#include "log.h"
#include "remusd.h"

uint64_t rd_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

int prot_active(const struct prot *p)
{
	return p->state == RS_SYNCING || p->state == RS_PROTECTED || p->state == RS_FAILING_OVER;
}

struct prot *prot_find(struct remusd *d, const char *name)
{
	struct prot *p;
	pthread_mutex_lock(&d->lock);
	for (p = d->list; p && strcmp(p->name, name); p = p->next)
		;
	pthread_mutex_unlock(&d->lock);
	return p;
}

struct prot *prot_new(struct remusd *d, enum rem_role role, const char *name)
{
	struct prot *p = calloc(1, sizeof(*p)), **q;
	if (!p)
		return NULL;
	pthread_mutex_lock(&d->lock);
	for (q = &d->list; *q && strcmp((*q)->name, name); q = &(*q)->next)
		;
	if (*q) {
		struct prot *old = *q;
		pthread_mutex_lock(&old->lock);
		int busy = prot_active(old) || old->fd != -1;	/* -1: its thread is gone */
		pthread_mutex_unlock(&old->lock);
		if (busy) {
			pthread_mutex_unlock(&d->lock);
			free(p);
			errno = EBUSY;
			return NULL;
		}
		*q = old->next;	/* ended: replaced */
		pthread_mutex_destroy(&old->lock);
		free(old);
	}
	p->d = d;
	pthread_mutex_init(&p->lock, NULL);
	p->role = role;
	p->fd = -1;
	p->mark_fd = -1;
	snprintf(p->name, sizeof(p->name), "%s", name);
	p->state = RS_SYNCING;
	p->since_ns = rd_now();
	p->next = d->list;
	d->list = p;
	pthread_mutex_unlock(&d->lock);
	return p;
}

int rd_protect(struct remusd *d, const char *name, const char *backup, const char *avoid,
    unsigned epoch_ms, char *err, size_t errlen)
{
	struct prot *p = prot_new(d, RR_PRIMARY, name);
	if (!p)
		return snprintf(err, errlen, errno == EBUSY ? "%s is protected already (or a shadow "
		    "here): unprotect it first" : "%s: out of memory", name), -1;
	snprintf(p->peer, sizeof(p->peer), "%s", backup);
	snprintf(p->avoid, sizeof(p->avoid), "%s", avoid ? avoid : "");
	p->epoch_ms = epoch_ms;
	p->fd = -2;	/* the thread's until it ends: the record stays */
	if (pthread_create(&p->thr, NULL, primary_thread, p) != 0) {
		p->fd = -1;
		prot_set(p, RS_FAILED, "cannot start a thread");
		errno = EAGAIN;
		return snprintf(err, errlen, "cannot start a protection thread"), -1;
	}
	pthread_detach(p->thr);
	return 0;
}

/*
 * The other side has been silent for waited ms: is it gone?  In a cluster,
 * the host is gone when the cluster says so (its view, or a majority of
 * heartbeats); until then a silent peer is only slow (a loaded host, a
 * large epoch), and the stream waits, up to PEER_STUCK_MS: a peer that is
 * alive but says nothing that long is stuck, and the stream ends.
 * Outside a cluster nothing can prove the peer gone, and ending the stream
 * early gains nothing (a shadow resumes only in a cluster): it waits up to
 * PEER_STUCK_MS as well.
 */
int rd_stalled(void *arg, unsigned waited)
{
	struct prot *p = arg;
	struct remusd *d = p->d;
	uint8_t buf[1024];
	struct msg_in in;
	struct msg_out o;
	char err[400], why[400], host[256];
	if (p->stop || waited >= PEER_STUCK_MS)
		return -1;
	if (!d->c.fenced) {	/* nothing to ask, and nothing a break would gain: the shadow
				 * cannot resume without a cluster; only the hard limit ends it */
		if (waited < 2 * rd_silence_ms(p->epoch_ms))
			log_info("%s (%s): the peer is silent for %u ms; no cluster to ask: waiting up "
			    "to %u ms", p->name, rem_role_name(p->role), waited, PEER_STUCK_MS);
		return 0;
	}
	pthread_mutex_lock(&p->lock);
	snprintf(host, sizeof(host), "%s", prot_peer(p));
	pthread_mutex_unlock(&p->lock);
	msg_begin(&o, FC_LOST, 1);
	msg_add_str(&o, FA_HOST, host);
	if (fcall(d->c.fenced, 2, &o, buf, sizeof(buf), &in, err, sizeof(err)) < 0)
		return 0;	/* no answer is no evidence */
	msg_str(&in, FA_DETAIL, why, sizeof(why));
	if (msg_u32(&in, FA_ALLOW)) {
		log_warnx("%s (%s): %s silent for %u ms, and gone: %s", p->name, rem_role_name(p->role),
		    host, waited, why);
		return -1;
	}
	if (waited < 2 * rd_silence_ms(p->epoch_ms) || waited % 1000 < rd_silence_ms(p->epoch_ms))
		log_info("%s (%s): %s silent for %u ms, but %s: waiting", p->name,
		    rem_role_name(p->role), host, waited, why);
	return 0;
}

const char *prot_peer(const struct prot *p)
{
	return p->peer_name[0] ? p->peer_name : p->peer;
}

void prot_set(struct prot *p, unsigned state, const char *fmt, ...)
{
	va_list ap;
	char why[512];
	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	pthread_mutex_lock(&p->lock);
	unsigned from = p->state;
	p->state = state;
	p->since_ns = rd_now();
	snprintf(p->detail, sizeof(p->detail), "%s", why);
	pthread_mutex_unlock(&p->lock);
	if (from != state)
		rd_stats_state(p->d->stats, state);
	char extra[96];
	snprintf(extra, sizeof(extra), "VM=%s ROLE=%s EPOCH=%llu", p->name, rem_role_name(p->role),
	    (unsigned long long)p->epoch);
	log_state(state == RS_FAILED || state == RS_UNPROTECTED || state == RS_FAILING_OVER,
	    rem_state_name(state), extra, "%s (%s): %s -> %s: %s", p->name, rem_role_name(p->role),
	    rem_state_name(from), rem_state_name(state), why);
}
