/*
 * primary.c - one thread per VM this host protects.
 *
 * It connects to the backup's remusd (mutual TLS, the backup's certificate
 * must name the host asked for), sends PROTECT and then the stream of
 * epoch.c: the initial copy into the paused shadow, then an epoch every
 * epoch_ms (the next taken while the last waits for its acknowledgement,
 * the guest throttled when they run late).
 * Once epoch 1 is acknowledged the table records the backup (PROTECT), so
 * that only it may take the VM over, and only once this host is fenced.
 *
 * When the stream breaks (the backup's host or remusd died, a cable), the
 * VM's output stays held until the table says it has no backup any more:
 * from then on no takeover can happen, so what the VM tells its clients can
 * never be forgotten, and the held output goes out.  A host that cannot
 * reach the table (inquorate) keeps holding: its clients hear nothing
 * until it self-fences.  Unprotect ends it on purpose: the backup gets
 * ABORT and drops its shadow.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "config.h"
#include "fcall.h"
#include "log.h"
#include "remusd.h"
#include "tcp.h"

#define INIT_TIMEOUT_S	60	/* the initial copy's acknowledgement (epoch 1) */
#define TABLE_RETRY_MS	100
#define TABLE_WAIT_S	30	/* for the table to follow a takeover */

static void set_timeout(int fd, int which, uint64_t ms)
{
	struct timeval tv = { (time_t)(ms / 1000), (suseconds_t)(ms % 1000 * 1000) };
	setsockopt(fd, SOL_SOCKET, which, &tv, sizeof(tv));
}

static void set_timeouts(int fd, uint64_t ms)
{
	set_timeout(fd, SO_RCVTIMEO, ms);
	set_timeout(fd, SO_SNDTIMEO, ms);
}

/* how long the other side may be silent: four epochs, never less than 100 ms
 * (a primary that was only slow loses its backup, and re-protects) */
uint64_t rd_silence_ms(unsigned epoch_ms)
{
	uint64_t ms = (uint64_t)epoch_ms * 4;
	return ms < 100 ? 100 : ms;
}

int rd_table_protect(struct remusd *d, const char *name, const char *backup, char *err,
    size_t errlen)
{
	uint8_t buf[2048];
	struct msg_in in;
	struct msg_out o;
	if (!d->c.fenced)
		return 0;
	msg_begin(&o, FC_PROTECT, 1);
	msg_add_str(&o, FA_NAME, name);
	if (backup)
		msg_add_str(&o, FA_HOST, backup);
	return fcall(d->c.fenced, 10, &o, buf, sizeof(buf), &in, err, errlen);
}

/* the table's generation of name, which this host must own */
static int owned_gen(struct remusd *d, const char *name, uint64_t *gen, char *err, size_t errlen)
{
	uint8_t buf[2048];
	struct msg_in in;
	struct msg_out o;
	*gen = 0;
	if (!d->c.fenced)
		return 0;
	msg_begin(&o, FC_MIG_RESOLVE, 1);
	msg_add_str(&o, FA_NAME, name);
	msg_add_u32(&o, FA_MODE, 1);
	if (fcall(d->c.fenced, 10, &o, buf, sizeof(buf), &in, err, errlen) < 0)
		return -1;
	if (msg_u32(&in, FA_OWNER) != msg_u32(&in, FA_NODEID)) {
		snprintf(err, errlen, "the cluster's table gives %s to node %u, not this host", name,
		    msg_u32(&in, FA_OWNER));
		errno = EPERM;
		return -1;
	}
	*gen = msg_u64(&in, FA_GEN);
	return 0;
}

struct rio *rd_connect(struct remusd *d, const char *host, uint32_t type,
    const struct ckpt_protect *pr, int *fdp, char *who_name, size_t wlen, char *err, size_t errlen)
{
	const struct cf_host *h = d->c.hosts ? conf_find(d->c.hosts, host) : NULL;
	char spec[300], wbuf[300];
	/* HOST, ADDRESS, or either with :PORT (a port given is where it goes;
	 * the certificate must still be that host's) */
	const char *colon = host[0] == '[' ? strstr(host, "]:") : strrchr(host, ':');
	int port = colon && (host[0] == '[' || strchr(host, ':') == colon);
	if (port || !h)
		snprintf(spec, sizeof(spec), "%s%s", host, port ? "" : ":7448");
	else
		snprintf(spec, sizeof(spec), "%s:%d", h->addr, REMUSD_DEFAULT_PORT);
	int fd = peer_connect(spec, err, errlen);
	if (fd < 0)
		return NULL;
	struct tls_want want;
	struct tls_peer who = { "", TLS_ROLE_HOST };
	gate_want(d->c.hosts, host, &want, wbuf, sizeof(wbuf));
	struct rio *r = d->c.insecure ? rio_fd_open(fd, 1) : tls_open(fd, 0, &want, &who, err, errlen);
	if (!r)
		return NULL;
	uint8_t b[96];
	size_t len;
	ckpt_protect_encode(pr, b, sizeof(b), &len);
	if (ckpt_send(r, type, b, len) < 0) {
		snprintf(err, errlen, "%s", rio_error(r));
		rio_close(r);
		return NULL;
	}
	*fdp = fd;
	snprintf(who_name, wlen, "%s", who.name);
	return r;
}

/* the backup's stream: TCP to its remusd, TLS, PROTECT */
static struct rio *connect_backup(struct prot *p, char *err, size_t errlen)
{
	struct ckpt_protect pr = { p->gen, p->epoch_ms, "" };
	char who[65];
	int fd;
	snprintf(pr.name, sizeof(pr.name), "%s", p->name);
	struct rio *r = rd_connect(p->d, p->peer, CK_PROTECT, &pr, &fd, who, sizeof(who), err, errlen);
	if (!r)
		return NULL;
	pthread_mutex_lock(&p->lock);
	p->fd = fd;
	snprintf(p->peer_name, sizeof(p->peer_name), "%s", who);
	pthread_mutex_unlock(&p->lock);
	set_timeouts(fd, INIT_TIMEOUT_S * 1000);
	return r;
}

/* an epoch taken and sent */
static void publish(struct prot *p, const struct primary *pr, uint64_t start_ns, uint64_t prev_ns)
{
	pthread_mutex_lock(&p->lock);
	p->pause_ns = pr->pause_ns;
	if (pr->pause_ns > p->pause_max_ns)
		p->pause_max_ns = pr->pause_ns;
	p->bytes += pr->bytes;
	p->throttle = pr->throttle;
	if (pr->taken > 1)	/* epoch 1 closes the initial copy */
		rd_stats_epoch(p->d->stats, pr->pause_ns, pr->bytes);
	if (prev_ns) {
		double len = (double)(start_ns - prev_ns);
		p->achieved_ns = p->achieved_ns ? 0.9 * p->achieved_ns + 0.1 * len : len;
	}
	pthread_mutex_unlock(&p->lock);
}

/* an epoch acknowledged (epoch.c, as each comes) */
static void acked(void *arg, uint64_t epoch, uint64_t send_ns)
{
	struct prot *p = arg;
	pthread_mutex_lock(&p->lock);
	p->epoch = epoch;
	p->last_ns = rd_now();
	pthread_mutex_unlock(&p->lock);
	if (epoch > 1)
		rd_stats_ack(p->d->stats, send_ns);
}

static void progress(void *arg, unsigned permille)
{
	struct prot *p = arg;
	pthread_mutex_lock(&p->lock);
	if (permille > p->permille)	/* never backwards */
		p->permille = permille;
	pthread_mutex_unlock(&p->lock);
}

/* the stream broke: no output goes out until the table says no backup */
static void backup_lost(struct prot *p, struct primary *pr, int recorded)
{
	char err[512];
	int said = 0;
	prot_set(p, RS_UNPROTECTED, "the backup %s is lost (%s): holding the output until the "
	    "table says %s has no backup", p->peer, pr->err, p->name);
	while (recorded && rd_table_protect(p->d, p->name, NULL, err, sizeof(err)) < 0) {
		uint64_t gen;
		char why[300];
		if (errno != EIO && errno != EAGAIN && owned_gen(p->d, p->name, &gen, why, sizeof(why)) < 0 &&
		    errno != EIO && errno != EAGAIN) {
			log_warnx("%s: the table refuses (%s) and %s: nothing here to release", p->name,
			    err, why);
			break;	/* not ours any more (migrated, or this host was fenced) */
		}
		if (!said++)
			log_warnx("%s: cannot record that it has no backup (%s): the output stays held, "
			    "retrying", p->name, err);
		usleep(TABLE_RETRY_MS * 1000);
	}
	primary_stop(pr, 1);
	prot_set(p, RS_UNPROTECTED, "the backup %s was lost (%s); running unprotected, output "
	    "released", p->peer, pr->err);
}

/* unprotect: the backup drops its shadow, the table forgets it, the output goes */
static void unprotect(struct prot *p, struct primary *pr, struct rio *r, int recorded)
{
	char err[512];
	const char *why = "unprotected on request";
	/* the acknowledgements in flight first: closing with them unread would
	 * reset the connection, and the reset can destroy the ABORT */
	if (primary_acks(pr, pr->taken, 0) < 0)
		log_warnx("%s: before unprotecting: %s", p->name, pr->err);
	ckpt_send(r, CK_ABORT, why, strlen(why));
	if (recorded && rd_table_protect(p->d, p->name, NULL, err, sizeof(err)) < 0)
		log_warnx("%s: recording that it has no backup: %s", p->name, err);
	primary_stop(pr, 1);
	prot_set(p, RS_STOPPED, "%s", why);
}

/* what hvd holds for the backup's acknowledgement, for status */
static void held_bytes(struct prot *p, struct hv *h)
{
	struct hv_dominfo di;
	if (h->ops->domain_info(h, p->name, &di) == 0) {
		pthread_mutex_lock(&p->lock);
		p->held = di.hold.bytes;
		snprintf(p->detail, sizeof(p->detail), "shadow on %s; %llu frames released after "
		    "their epoch's acknowledgement, %llu stalls on a full hold", p->peer,
		    (unsigned long long)di.hold.released, (unsigned long long)di.hold.stalls);
		pthread_mutex_unlock(&p->lock);
	}
}

/*
 * The next host to try as backup, after the one that failed (or none yet):
 * the configured hosts in order, from the one after the last, never this
 * host, the old primary (avoid) only when nothing else is left.  0 when
 * no host but this one exists.
 */
static int next_backup(struct prot *p, const char *avoid)
{
	struct remusd *d = p->d;
	const struct fconf *c = d->c.hosts;
	const struct cf_host *me = c ? conf_find(c, d->c.listen) : NULL, *last;
	if (!c || !c->nhosts)
		return 0;
	last = conf_find(c, p->peer);
	size_t start = last ? (size_t)(last - c->hosts) + 1 : 0;
	for (int pass = 0; pass < 2; pass++)
		for (size_t i = 0; i < c->nhosts; i++) {
			const struct cf_host *h = &c->hosts[(start + i) % c->nhosts];
			if (h == me || (!pass && avoid && conf_find(c, avoid) == h))
				continue;
			snprintf(p->peer, sizeof(p->peer), "%s", h->name);
			return 1;
		}
	return 0;
}

/* One protection to p->peer: 0 ended on request, 1 the backup was lost
 * (or never reached or not the host it claims: *reached 0): try another */
static int protect_once(struct prot *p, struct hv *h, int *reached)
{
	struct remusd *d = p->d;
	struct primary pr = { 0 };
	char err[512];
	struct rio *r = NULL;
	int recorded = 0, rc = 1;

	prot_set(p, RS_SYNCING, "the initial copy to %s", p->peer);
	pthread_mutex_lock(&p->lock);
	p->permille = 0;
	p->epoch = 0;
	p->last_ns = 0;
	pthread_mutex_unlock(&p->lock);
	/* after a takeover on heartbeat evidence the table follows within a view change */
	for (int i = 0; owned_gen(d, p->name, &p->gen, err, sizeof(err)) < 0; i++) {
		if (!p->avoid[0] || i >= TABLE_WAIT_S * 10 || p->stop) {
			prot_set(p, RS_FAILED, "%s", err);
			return 0;	/* not ours to protect: no other backup helps */
		}
		if (i == 0)
			prot_set(p, RS_SYNCING, "waiting for the table to give %s to this host", p->name);
		usleep(100000);
	}
	if (!(r = connect_backup(p, err, sizeof(err)))) {
		prot_set(p, RS_UNPROTECTED, "cannot reach the backup %s: %s", p->peer, err);
		goto out;
	}
	*reached = 1;	/* it is the host it claims; losing it now is losing a backup */
	log_info("%s: protecting to %s (%s), %u ms epochs: the initial copy", p->name, p->peer,
	    p->peer_name[0] ? p->peer_name : "not authenticated", p->epoch_ms);
	pr.progress = progress;
	pr.acked = acked;
	pr.progress_arg = p;
	if (primary_start(&pr, h, p->name, r, 1) < 0) {
		primary_stop(&pr, 1);
		prot_set(p, RS_UNPROTECTED, "the initial copy to %s: %s", p->peer, pr.err);
		goto out;
	}
	if (rd_table_protect(d, p->name, p->peer, err, sizeof(err)) < 0) {
		unprotect(p, &pr, r, 0);
		prot_set(p, RS_FAILED, "recording the backup in the table: %s", err);
		rc = 0;
		goto out;
	}
	recorded = d->c.fenced != NULL;
	uint64_t silence = rd_silence_ms(p->epoch_ms), period = (uint64_t)p->epoch_ms * 1000000;
	/* a silent backup is asked about after each silence, reading or
	 * writing: with two epochs in flight a black-holed peer fills the
	 * socket, and a send blocked up to the hard limit held the protection
	 * that long without a question to the cluster */
	set_timeout(p->fd, SO_RCVTIMEO, PEER_STUCK_MS + 1000);	/* the hard limit */
	set_timeout(p->fd, SO_SNDTIMEO, silence);
	rio_set_stall(r, (unsigned)silence, rd_stalled, p);
	publish(p, &pr, 0, 0);
	p->pause_max_ns = 0;	/* epoch 1 ends the initial copy: its pause is apart */
	p->permille = 1000;
	prot_set(p, RS_PROTECTED, "epoch 1 acknowledged by %s", p->peer);
	/* epochs keep a cadence: each due a period after the last was due, so
	 * a late wake-up is made up by the next; one late past its due time
	 * starts the next at once, and the cadence from there */
	uint64_t prev = rd_now(), due = prev + period, n = 0;
	for (;;) {
		if (p->stop) {
			unprotect(p, &pr, r, recorded);
			rc = 0;
			break;
		}
		/* until the next is due, acknowledgements release output as they come */
		if (primary_acks(&pr, 0, due) < 0) {
			backup_lost(p, &pr, recorded);
			break;
		}
		uint64_t start = rd_now();
		if (primary_step(&pr) < 0 || primary_pace(&pr, period) < 0) {
			backup_lost(p, &pr, recorded);
			break;
		}
		publish(p, &pr, start, prev);
		log_debug("%s: epoch %llu: paused %.2f ms (call %.2f, stage %.2f, resume %.2f), %llu pages, "
		    "%llu bytes sent in %.2f ms; epoch %llu acknowledged %.2f ms after its sending; "
		    "the next could start after %.2f ms; %.2f ms after the last",
		    p->name, (unsigned long long)pr.taken, pr.pause_ns / 1e6, pr.call_ns / 1e6,
		    pr.stage_ns / 1e6, pr.resume_ns / 1e6, (unsigned long long)pr.pages,
		    (unsigned long long)pr.bytes, pr.post_ns / 1e6, (unsigned long long)pr.epoch,
		    pr.send_ns / 1e6, pr.busy_ns / 1e6, (start - prev) / 1e6);
		prev = start;
		uint64_t now = rd_now();
		due = due + period < now ? now : due + period;
		if (++n % 40 == 0)
			held_bytes(p, h);
	}
out:
	if (r)
		rio_close(r);
	pthread_mutex_lock(&p->lock);
	p->fd = -2;	/* still the thread's */
	pthread_mutex_unlock(&p->lock);
	return rc;
}

#define REPROTECT_PAUSE_S	2	/* after every host was tried once */

void *primary_thread(void *arg)
{
	struct prot *p = arg;
	struct remusd *d = p->d;
	char err[512], lost[256] = "";
	log_context("VM=%s ROLE=primary", p->name);
	struct hv *h = hv_open(d->c.hvd_path, err, sizeof(err));
	unsigned tries = 0;

	if (!h) {
		prot_set(p, RS_FAILED, "hvd: %s", err);
		goto out;
	}
	if (!strcmp(p->peer, "auto") && !next_backup(p, p->avoid)) {
		prot_set(p, RS_FAILED, "no other host to be the backup (cluster.conf)");
		goto out;
	}
	snprintf(lost, sizeof(lost), "%s", p->avoid);
	/* the backup the admin named, unreachable or not the host it claims:
	 * that is the answer, not another host (one lost later is replaced) */
	int named = strcmp(p->peer, "auto") != 0, reached = 0;
	while (protect_once(p, h, &reached)) {
		struct hv_dominfo di;
		if (named && !reached) {
			pthread_mutex_lock(&p->lock);
			char why[512];
			snprintf(why, sizeof(why), "%s", p->detail);
			pthread_mutex_unlock(&p->lock);
			prot_set(p, RS_FAILED, "%s", why);
			break;
		}
		if (p->stop || !d->c.hosts || h->ops->domain_info(h, p->name, &di) < 0 ||
		    di.state != HV_RUNNING)
			break;	/* gone, or nowhere else to go */
		snprintf(lost, sizeof(lost), "%s", p->peer);
		if (!next_backup(p, lost))
			break;
		if (++tries % d->c.hosts->nhosts == 0)
			sleep(REPROTECT_PAUSE_S);
		prot_set(p, RS_UNPROTECTED, "unprotected, re-protecting to %s", p->peer);
	}
out:
	pthread_mutex_lock(&p->lock);
	p->fd = -1;
	pthread_mutex_unlock(&p->lock);
	if (h)
		h->ops->close(h);
	return NULL;
}
