/*
 * mig_recv.c - the destination side of a live migration, and the source's
 * answer to OUTCOME queries.
 *
 * The receiver creates the incoming domain (paused, empty) from
 * DOMAIN_HEADER, applies each PAGE_DATA batch straight into its memory
 * (each batch checked whole before it is applied), echoes SYNC once it has
 * caught up, loads the vCPU and device state at END and answers READY.  COMMIT makes it run the domain
 * and answer RUNNING; ABORT, or any error before READY, destroys it.  If the
 * connection breaks after READY the outcome is in doubt: the domain stays
 * paused and the receiver asks the source's migrated (OUTCOME) until it
 * gets an answer.  It never guesses.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include "hv.h"
#include "hvctl.h"
#include "log.h"
#include "migrated.h"
#include "msg.h"

#define DOUBT_RETRY_S	600

static void abort_to_peer(struct rio *r, const char *why)
{
	if (ckpt_send(r, CK_ABORT, why, strlen(why)) == 0)
		rio_drain(r, 1000);	/* until the source reads it and closes */
}

/*
 * Whether the source committed: in a cluster the table says (after closing
 * the migration there, so a late commit cannot win); else the source is
 * asked on a new connection.  1 committed, 0 not, -1 no answer yet.
 */
static int ask_outcome(const struct recv_args *a, const char *name)
{
	if (migd_conf.fenced) {
		char e[512];
		int mine = cluster_resolve_retry(name, 1, e, sizeof(e));
		if (mine < 0)
			log_warnx("migration %s in: %s", name, e);
		return mine;
	}
	char spec[128], err[256];
	struct ckpt_record rec = { 0 };
	int r = -1;

	snprintf(spec, sizeof(spec), "%s:%u", a->peer, a->peer_port);
	int fd = peer_connect(spec, err, sizeof(err));
	if (fd < 0)
		return -1;
	struct rio *q = mig_transport(a->m, fd, 0, err, sizeof(err));
	if (!q)
		return -1;
	if (ckpt_send(q, CK_OUTCOME, name, strlen(name)) == 0 && ckpt_read_record(q, &rec) == 0)
		r = rec.type == CK_COMMIT ? 1 : 0;
	ckpt_record_free(&rec);
	rio_close(q);
	return r;
}

/*
 * An operation on the incoming domain through *hp, tried once more through a
 * fresh connection when the first fails for another reason than "no such
 * domain": hvd may have restarted meanwhile, and a restarted hvd keeps its
 * domains, so the copy is still there to destroy or to run.
 */
static int hv_again(struct hv **hp, int (*op)(struct hv *, const char *), const char *name)
{
	char err[400];
	if (op(*hp, name) == 0)
		return 0;
	if (errno == ENOENT)
		return -1;
	struct hv *n = hv_open(migd_conf.hvd_path, err, sizeof(err));
	if (!n)
		return -1;
	log_info("migration %s in: hvd call failed (%s): once more on a new connection", name,
	    hv_error(*hp));
	(*hp)->ops->close(*hp);
	*hp = n;
	return op(n, name);
}

static void resolve(struct recv_args *a, struct hv **hp)
{
	struct mig *m = a->m;
	mig_urgent(0);	/* waiting may take long: no longer urgent */
	mig_set_phase(m, "in doubt");
	log_warnx("migration %s in: connection lost after READY: outcome in doubt, the domain "
	    "stays paused; asking %s:%u", m->name, a->peer, a->peer_port);
	for (int i = 0; i < DOUBT_RETRY_S * 2; i++) {
		int o = ask_outcome(a, m->name);
		if (o == 1) {
			if (hv_again(hp, (*hp)->ops->domain_unpause, m->name) < 0)
				mig_fail(m, MS_FAILED, "committed, but unpause failed: %s", hv_error(*hp));
			else {
				log_info("migration %s in: source says committed: running here", m->name);
				journal_remove(m->name);
				pthread_mutex_lock(&m->lock);
				m->state = MS_DONE;
				pthread_mutex_unlock(&m->lock);
				mig_set_phase(m, "running");
			}
			return;
		}
		if (o == 0) {
			struct hv_dominfo di;
			if ((*hp)->ops->domain_info(*hp, m->name, &di) == 0 && di.state != DS_PAUSED) {
				/* never destroy what runs: this is not our incoming copy */
				journal_remove(m->name);
				mig_fail(m, MS_FAILED, "source says not committed, but %s here is %s, "
				    "not a paused incoming copy: left alone", m->name, dom_state_name(di.state));
				return;
			}
			hv_again(hp, (*hp)->ops->domain_destroy, m->name);
			journal_remove(m->name);
			mig_fail(m, MS_FAILED, "source says not committed: incoming copy destroyed");
			return;
		}
		usleep(500000);
	}
	mig_fail(m, MS_FAILED, "outcome still in doubt after %d s: domain left paused; resolve "
	    "by hand", DOUBT_RETRY_S);
}

/* Receives the whole stream into a new incoming domain, writing pages
 * into its memory file; on success it is paused with its state loaded and
 * READY is sent. */
static int receive(struct recv_args *a, struct hv *h, int *created, char *err, size_t errlen)
{
	struct mig *m = a->m;
	struct ckpt_record rec = { 0 }, vcpu = { 0 }, dev = { 0 };
	struct ckpt_order ord = { 0 };
	struct ckpt_domain d;
	uint8_t *scratch = malloc((size_t)CKPT_BATCH_MAX * CKPT_PAGE_SIZE);
	uint64_t size = 0;
	uint8_t *mem = NULL;	/* hugetlb memory is written through a mapping */
	uint32_t f, n;
	int rc = -1, memfd = -1, kept = 0;
	uint64_t t_sync = 0, b_sync = 0, t_apply = 0;

	if (!scratch) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	if (ckpt_read_header(a->r, &f) < 0)
		goto rio;
	for (;;) {
		if (ckpt_read_record(a->r, &rec) < 0)
			goto rio;
		if (rec.type != CK_SYNC && ckpt_order_next(&ord, rec.type, err, errlen) < 0)
			goto out;
		switch (rec.type) {
		case CK_DOMAIN_HEADER:
			if (ckpt_domain_decode(rec.body, rec.len, &d, err, errlen) < 0)
				goto out;
			snprintf(m->name, sizeof(m->name), "%s", d.name);
			log_info("migration %s in: from %s, %llu MiB, %u vCPU(s)", d.name, a->peer,
			    (unsigned long long)(d.mem >> 20), d.vcpus);
			if (h->ops->domain_create_incoming_leased(h, d.name, d.mem, d.vcpus) < 0) {
				snprintf(err, errlen, "creating the incoming domain: %s", hv_error(h));
				goto out;
			}
			*created = 1;
			struct hv_dominfo di;
			if (h->ops->domain_info(h, d.name, &di) < 0 ||
			    h->ops->mem_map(h, d.name, strcmp(di.backing, "hugetlb") ? NULL : &mem,
			    &size, &memfd) < 0) {
				snprintf(err, errlen, "%s", hv_error(h));
				goto out;
			}
			mig_stall("recv-setup");
			if (ckpt_send(a->r, CK_PREPARED, NULL, 0) < 0)
				goto rio;
			mig_set_phase(m, "receiving");
			break;
		case CK_PAGE_DATA:
			if (t_sync)
				t_apply -= mig_now();
			if (ckpt_pages_check(rec.body, rec.len, size / 4096, scratch, &n, NULL, err, errlen) < 0)
				goto out;
			if (mem)
				ckpt_pages_copy(rec.body, mem, scratch);
			else if (ckpt_pages_pwrite(rec.body, memfd, scratch) < 0) {
				snprintf(err, errlen, "writing guest memory: %s", strerror(errno));
				goto out;
			}
			if (t_sync)
				t_apply += mig_now();
			if (m->pages_sent == 0)
				mig_stall("recv-round0");
			pthread_mutex_lock(&m->lock);
			m->pages_sent += n;
			m->bytes_sent = a->r->bytes_read;
			pthread_mutex_unlock(&m->lock);
			break;
		case CK_ROUND: {
			struct ckpt_round rd;
			if (ckpt_round_decode(rec.body, rec.len, &rd, err, errlen) < 0)
				goto out;
			pthread_mutex_lock(&m->lock);
			m->round = rd.round;
			pthread_mutex_unlock(&m->lock);
			if (!rd.left)	/* stop and copy: the VM is paused */
				mig_urgent(rd.pages <= URGENT_PAGES);
			break;
		}
		case CK_VCPU_STATE:
		case CK_DEVICE_STATE: {	/* keep the body: it is loaded at END */
			struct ckpt_record *keep = rec.type == CK_VCPU_STATE ? &vcpu : &dev;
			struct ckpt_record t = *keep;
			*keep = rec;
			rec = t;
			break;
		}
		case CK_END: {
			uint64_t t0 = mig_now();
			log_debug("migration %s in: final part: %.2f ms from SYNC to END, %llu bytes, "
			    "%.2f ms applying pages", m->name, (double)(t0 - t_sync) / 1e6,
			    (unsigned long long)(a->r->bytes_read - b_sync), (double)t_apply / 1e6);
			if (h->ops->vcpu_set(h, m->name, vcpu.body, vcpu.len) < 0 ||
			    h->ops->dev_set(h, m->name, dev.body, dev.len) < 0) {
				snprintf(err, errlen, "loading state: %s", hv_error(h));
				goto out;
			}
			mig_stall("recv-end");
			if (ckpt_send(a->r, CK_READY, NULL, 0) < 0)
				goto rio;
			log_debug("migration %s in: state loaded in %.2f ms", m->name,
			    (double)(mig_now() - t0) / 1e6);
		}
			rc = 0;
			goto out;
		case CK_CHECKPOINT:
			snprintf(err, errlen, "CHECKPOINT in a migration stream");
			goto out;
		case CK_SYNC:	/* everything before it is applied: say so */
			t_sync = mig_now();
			t_apply = 0;
			b_sync = a->r->bytes_read;
			/*
			 * The source ends each round with one.  From the first (after
			 * round 0) the domain must survive this process, and so must
			 * the note that its outcome is to be asked for, since the
			 * source may stop and commit at any later round.  Done now,
			 * it costs no downtime.
			 */
			if (!kept++ && (!*created || h->ops->domain_keep(h, m->name) < 0 ||
			    journal_add(m->name, a->peer, a->peer_port) < 0)) {
				snprintf(err, errlen, "keeping the incoming domain: %s",
				    *created ? hv_error(h) : "SYNC before DOMAIN_HEADER");
				goto out;
			}
			if (ckpt_send(a->r, CK_SYNC, NULL, 0) < 0)
				goto rio;
			break;
		default:
			break;	/* optional, unknown: skipped */
		}
	}
rio:
	snprintf(err, errlen, "%s", rio_error(a->r));
out:
	if (mem)
		munmap(mem, size);
	if (memfd >= 0)
		close(memfd);
	free(scratch);
	ckpt_record_free(&rec);
	ckpt_record_free(&vcpu);
	ckpt_record_free(&dev);
	return rc;
}

void *mig_recv_thread(void *arg)
{
	struct recv_args *a = arg;
	struct mig *m = a->m;
	struct ckpt_record rec = { 0 };
	char err[512] = "";
	int created = 0;
	struct hv *h = hv_open(migd_conf.hvd_path, err, sizeof(err));

	if (!h) {
		abort_to_peer(a->r, err);
		mig_fail(m, MS_FAILED, "%s", err);
		goto done;
	}
	if (receive(a, h, &created, err, sizeof(err)) < 0) {
		if (created)
			hv_again(&h, h->ops->domain_destroy, m->name);
		journal_remove(m->name);
		abort_to_peer(a->r, err);
		mig_fail(m, MS_FAILED, "%s%s", err, created ? "; incoming copy destroyed" : "");
		goto done;
	}
	mig_set_phase(m, "ready");
	mig_stall("recv-ready");
	if (ckpt_read_record(a->r, &rec) < 0) {
		resolve(a, &h);
		goto done;
	}
	if (rec.type != CK_COMMIT) {
		hv_again(&h, h->ops->domain_destroy, m->name);
		journal_remove(m->name);
		mig_fail(m, MS_FAILED, "source sent %s instead of COMMIT: incoming copy destroyed",
		    ckpt_type_name(rec.type));
		goto done;
	}
	mig_stall("recv-commit");
	if (migd_conf.fenced) {	/* run only what the table gives this host */
		int mine = cluster_owned(m->name) ? 1 : -1;	/* the usual case: no CPG round trip */
		for (int i = 0; i < 30 && mine < 0; i++)
			mine = ask_outcome(a, m->name);
		if (mine != 1) {
			if (mine == 0) {
				hv_again(&h, h->ops->domain_destroy, m->name);
				journal_remove(m->name);
			}
			mig_fail(m, MS_FAILED, "COMMIT came, but the cluster table %s", mine == 0 ?
			    "gives the VM to another host: incoming copy destroyed" :
			    "cannot be reached: the domain stays paused");
			goto done;
		}
	}
	if (hv_again(&h, h->ops->domain_unpause, m->name) < 0) {
		/* committed: the source never runs it again, so neither may we lose it */
		mig_fail(m, MS_FAILED, "committed but unpause failed: %s", hv_error(h));
		goto done;
	}
	ckpt_send(a->r, CK_RUNNING, NULL, 0);
	journal_remove(m->name);	/* after RUNNING: a stale entry only costs a query */
	pthread_mutex_lock(&m->lock);
	m->state = MS_DONE;
	m->total_ns = mig_now() - m->start_ns;
	pthread_mutex_unlock(&m->lock);
	mig_set_phase(m, "running");
done:
	mig_urgent(0);
	ckpt_record_free(&rec);
	if (h)
		h->ops->close(h);
	rio_close(a->r);
	mig_release(a->m);
	free(a);
	return NULL;
}

/* A journal entry found at start: resolve it, nothing else. */
void *mig_resolve_thread(void *arg)
{
	struct recv_args *a = arg;
	char err[512];
	struct hv *h = hv_open(migd_conf.hvd_path, err, sizeof(err));

	if (!h)
		mig_fail(a->m, MS_FAILED, "cannot resolve: %s", err);
	else {
		resolve(a, &h);
		h->ops->close(h);
	}
	rio_close(a->r);
	mig_release(a->m);
	free(a);
	return NULL;
}

/*
 * The source's side of OUTCOME: committed when this host handed the domain
 * over; otherwise not, and an outgoing migration still in progress is
 * cancelled under its lock, so it can never hand over after saying no.
 */
int mig_outcome_answer(struct rio *r, const char *name)
{
	char err[256];
	struct mig *m = mig_find(name, 0);
	int committed = 0;
	struct hv *h = hv_open(migd_conf.hvd_path, err, sizeof(err));

	if (!h) {	/* no answer beats a wrong one: the asker retries */
		log_warnx("OUTCOME query for %s: %s: not answering", name, err);
		return -1;
	}
	if (m)
		pthread_mutex_lock(&m->lock);
	{
		struct hv_dominfo di;
		committed = h->ops->domain_info(h, name, &di) == 0 && di.state == DS_MIGRATED;
		if (committed)
			h->ops->domain_destroy(h, name);	/* the destination runs it now */
	}
	if (m) {
		if (!committed)
			m->cancel = 1;
		pthread_mutex_unlock(&m->lock);
	}
	log_info("OUTCOME query for %s: %s", name, committed ? "committed" : "not committed");
	h->ops->close(h);
	return ckpt_send(r, committed ? CK_COMMIT : CK_ABORT, committed ? NULL : "not committed",
	    committed ? 0 : 13);
}
