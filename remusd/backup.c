/*
 * backup.c - one thread per shadow this host keeps for a primary.
 *
 * The shadow (shadow.c) is a paused domain of the VM's name that holds
 * exactly the last epoch applied whole.  Once epoch 1 is in, the primary
 * may be silent for rd_silence_ms() at most: epochs come every epoch_ms
 * even from an idle guest, so silence means the primary, its host or the
 * way to it is gone.  The stream is dropped then, and the shadow resumes
 * only when the table lets this host take the VM over: its owner fenced,
 * and this host still its backup (TAKEOVER, fencing/table.c).  Until then
 * it waits, and says so; a primary that is alive records that it has no
 * backup (PROTECT none), and the shadow goes.  Outside a cluster nothing
 * can prove the primary dead: the shadow stays paused.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "fcall.h"
#include "log.h"
#include "remusd.h"

#define TAKEOVER_RETRY_MS	20

static void finish(struct prot *p, struct hv *h, int took);

/*
 * The shadow's record (DIR/NAME.shadow): what it holds, so a remusd that
 * restarts knows whether a shadow its predecessor left is whole
 * ("whole EPOCH GEN EPOCH_MS") or was being written ("syncing",
 * "applying").  One
 * pwrite of a fixed-width line, no fsync: it guards against remusd's
 * death; the host's takes the shadow with it.
 */
static void mark(struct prot *p, const char *what, uint64_t epoch)
{
	char line[64];
	int n = snprintf(line, sizeof(line), "%-8s %20llu %20llu %5u\n", what, (unsigned long long)epoch,
	    (unsigned long long)p->gen, p->epoch_ms);
	if (p->mark_fd >= 0 && pwrite(p->mark_fd, line, (size_t)n, 0) != n)
		log_warnx("%s: writing its shadow record: %s", p->name, strerror(errno));
}

static void mark_open(struct prot *p)
{
	char path[600];
	snprintf(path, sizeof(path), "%s/%s.shadow", p->d->c.state_dir, p->name);
	p->mark_fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (p->mark_fd < 0)
		log_warnx("%s: %s: %s (a restarted remusd will not trust this shadow)", p->name, path,
		    strerror(errno));
	mark(p, "syncing", 0);
}

static void mark_drop(struct prot *p)
{
	char path[600];
	snprintf(path, sizeof(path), "%s/%s.shadow", p->d->c.state_dir, p->name);
	unlink(path);
	if (p->mark_fd >= 0)
		close(p->mark_fd);
	p->mark_fd = -1;
}

int rd_shadow_record(struct remusd *d, const char *name, uint64_t *epoch, uint64_t *gen,
    unsigned *epoch_ms)
{
	char path[600], line[80] = "", what[16];
	unsigned long long e, g;
	unsigned ms = 0;
	snprintf(path, sizeof(path), "%s/%s.shadow", d->c.state_dir, name);
	FILE *f = fopen(path, "r");
	if (!f)
		return -1;
	int ok = fgets(line, sizeof(line), f) && sscanf(line, "%15s %llu %llu %u", what, &e, &g, &ms) == 4 &&
	    !strcmp(what, "whole") && ms >= 1 && ms <= 10000;
	fclose(f);
	unlink(path);
	*epoch = ok ? e : 0;
	*gen = ok ? g : 0;
	*epoch_ms = ok ? ms : 0;
	return ok;
}

static void applying(struct shadow *s, uint64_t epoch)
{
	struct prot *p = s->arg;
	p->applying_ns = rd_now();	/* only this thread's */
	mark(p, "applying", epoch);
}

static void applied(struct shadow *s, uint64_t epoch)
{
	struct prot *p = s->arg;
	mark(p, "whole", epoch);
	uint64_t now = rd_now();
	log_debug("%s: epoch %llu applied and acknowledged in %.2f ms, %.2f ms after the last",
	    p->name, (unsigned long long)epoch, (now - p->applying_ns) / 1e6,
	    p->last_ns ? (now - p->last_ns) / 1e6 : 0.0);
	pthread_mutex_lock(&p->lock);
	int first = p->state == RS_SYNCING;
	if (p->last_ns && !first) {
		double len = (double)(now - p->last_ns);
		p->achieved_ns = p->achieved_ns ? 0.9 * p->achieved_ns + 0.1 * len : len;
	}
	p->epoch = epoch;
	p->last_ns = now;
	p->permille = 1000;
	pthread_mutex_unlock(&p->lock);
	if (first) {
		uint64_t ms = rd_silence_ms(p->epoch_ms);
		struct timeval tv = { PEER_STUCK_MS / 1000 + 1, 0 };	/* the hard limit */
		setsockopt(p->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
		rio_set_stall(s->r, (unsigned)ms, rd_stalled, p);
		prot_set(p, RS_PROTECTED, "epoch %llu applied; after %llu ms of silence the cluster "
		    "is asked whether the primary is gone", (unsigned long long)epoch,
		    (unsigned long long)ms);
	}
}

static void drop_shadow(struct hv *h, struct prot *p)
{
	if (h->ops->domain_destroy(h, p->name) < 0 && errno != ENOENT)
		log_warnx("%s: destroying the shadow: %s", p->name, hv_error(h));
}

/* 1 taken over, 0 the shadow is to go (detail says why) */
static int take_over(struct remusd *d, struct prot *p, struct hv *h, uint64_t epoch)
{
	uint8_t buf[2048];
	char err[512];
	uint64_t said = 0;
	for (;;) {
		struct msg_in in;
		struct msg_out o;
		if (p->stop)
			return prot_set(p, RS_STOPPED, "unprotected on request while failing over"), 0;
		msg_begin(&o, FC_TAKEOVER, 1);
		msg_add_str(&o, FA_NAME, p->name);
		msg_add_u64(&o, FA_EPOCH, epoch);
		if (p->gen)
			msg_add_u64(&o, FA_GEN, p->gen);
		if (fcall(d->c.fenced, 10, &o, buf, sizeof(buf), &in, err, sizeof(err)) == 0) {
			if (h->ops->domain_unpause(h, p->name) < 0)
				return prot_set(p, RS_FAILED, "the table gives %s to this host, but resuming "
				    "the shadow failed: %s", p->name, hv_error(h)), 1;
			char how[300];
			msg_str(&in, FA_DETAIL, how, sizeof(how));
			prot_set(p, RS_TAKEN_OVER, "resumed from epoch %llu at generation %llu%s%s",
			    (unsigned long long)epoch, (unsigned long long)msg_u64(&in, FA_GEN),
			    how[0] ? ": " : "", how);
			return 1;
		}
		if (errno == ESRCH || errno == ENOENT)
			return prot_set(p, RS_STOPPED, "no takeover: %s", err), 0;
		if (rd_now() - said > 1000000000ULL) {	/* a line a second */
			said = rd_now();
			prot_set(p, RS_FAILING_OVER, "the shadow holds epoch %llu; %s",
			    (unsigned long long)epoch, err);
		}
		usleep(TAKEOVER_RETRY_MS * 1000);
	}
}

void *backup_thread(void *arg)
{
	struct backup_args *a = arg;
	struct prot *p = a->p;
	struct remusd *d = p->d;
	struct shadow s = { 0 };
	char err[512];
	log_context("VM=%s ROLE=backup", p->name);
	struct hv *h = hv_open(d->c.hvd_path, err, sizeof(err));
	struct hv_dominfo di;
	int took = 0;

	if (!h) {
		prot_set(p, RS_FAILED, "hvd: %s", err);
		ckpt_send(a->r, CK_ABORT, "the backup cannot reach its hvd", 31);
		goto out;
	}
	/* where the shadow is built apart (HV_CAP_APART), a domain of the name
	 * here is no shadow and stays: a shadow never resumes while it runs */
	if (!(h->caps & HV_CAP_APART) && h->ops->domain_info(h, p->name, &di) == 0) {
		/* a shadow an earlier protection left (paused) goes; a VM that runs stays */
		if (di.state != HV_PAUSED) {
			snprintf(err, sizeof(err), "a domain %s is %s on this host", p->name,
			    hv_state_name(di.state));
			prot_set(p, RS_FAILED, "%s", err);
			ckpt_send(a->r, CK_ABORT, err, strlen(err));
			goto out;
		}
		drop_shadow(h, p);
	}
	snprintf(s.name, sizeof(s.name), "%s", p->name);
	s.h = h;
	s.r = a->r;
	s.applying = applying;
	s.applied = applied;
	s.arg = p;
	mark_open(p);
	int whole = shadow_run(&s) == 0;
	if (s.aborted) {
		if (s.created)
			drop_shadow(h, p);
		prot_set(p, RS_STOPPED, "%s", s.err);
	} else if (!whole) {
		if (s.created)
			drop_shadow(h, p);
		prot_set(p, RS_FAILED, "no whole epoch to resume: %s", s.err);
	} else {
		rio_close(a->r);	/* whatever comes late is of no use any more */
		a->r = NULL;
		prot_set(p, RS_FAILING_OVER, "the primary went silent after epoch %llu (%s)",
		    (unsigned long long)s.epoch, s.err);
		if (!d->c.fenced) {
			prot_set(p, RS_FAILING_OVER, "no cluster (-F) can fence the primary: the shadow "
			    "stays paused at epoch %llu", (unsigned long long)s.epoch);
			while (!p->stop)
				usleep(100000);
			drop_shadow(h, p);
			prot_set(p, RS_STOPPED, "unprotected on request");
		} else if (!(took = take_over(d, p, h, s.epoch)))
			drop_shadow(h, p);
	}
out:
	if (a->r)
		rio_close(a->r);
	finish(p, h, took);
	return NULL;
}

/* a shadow a stopped remusd left whole, its primary silent: fail over (recover.c) */
void *rd_failover_thread(void *arg)
{
	struct prot *p = arg;
	char err[300];
	log_context("VM=%s ROLE=backup", p->name);
	struct hv *h = hv_open(p->d->c.hvd_path, err, sizeof(err));
	int took = 0;
	if (!h)
		prot_set(p, RS_FAILED, "hvd: %s", err);
	else if (!(took = take_over(p->d, p, h, p->epoch)))
		drop_shadow(h, p);
	finish(p, h, took);
	return NULL;
}

/* the end of a backup's thread: its record goes, and a VM it took over is
 * protected again, by the next host that will do */
static void finish(struct prot *p, struct hv *h, int took)
{
	struct remusd *d = p->d;
	char name[65], old[256], err[300];
	unsigned ms = p->epoch_ms;
	mark_drop(p);
	pthread_mutex_lock(&p->lock);
	snprintf(name, sizeof(name), "%s", p->name);
	snprintf(old, sizeof(old), "%s", prot_peer(p));
	p->fd = -1;	/* done with p: a new protection of name may replace it */
	pthread_mutex_unlock(&p->lock);
	if (h)
		h->ops->close(h);
	if (took && d->c.hosts && rd_protect(d, name, "auto", old, ms, err, sizeof(err)) < 0)
		log_warnx("%s: re-protecting after the takeover: %s", name, err);
}
