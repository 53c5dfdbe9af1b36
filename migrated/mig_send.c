/*
 * mig_send.c - the source side of a live migration, in its own thread.
 *
 *   connect, HELLO, header, DOMAIN_HEADER
 *   log-dirty on; round 0 sends every non-zero page while the VM runs
 *   rounds: peek-and-clean, ask the convergence controller, send the dirty
 *     pages (throttling the vCPUs when it says so); each round, round 0
 *     too, ends with a SYNC round trip
 *   stop and copy: leased pause, last dirty pages, vCPU and device state, END
 *   commit: wait READY; mig_commit (commit.c: the point of no return);
 *     COMMIT; wait RUNNING; destroy the source copy
 *
 * Before the hand-over every failure resumes the VM here (and hvd does it
 * too if this process dies: the pause is leased).  After it, the VM belongs
 * to the destination; if RUNNING never comes, the source copy stays in
 * state "migrated" (never runs) and the destination resolves with OUTCOME.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "hv.h"
#include "hvctl.h"
#include "log.h"
#include "migrated.h"
#include "tls.h"
#include "msg.h"

#define BURST_BATCH	64	/* pages per batch while the VM is paused */

struct sender {
	struct mig *m;
	struct hv *h;
	struct rio *r;
	struct ckpt_batch b;
	uint8_t *mem;
	int memfd;		/* the same memory: where its holes are */
	int hugetlb;		/* memory of hugetlb pages: no holes to find */
	uint64_t mem_size, npages, *bitmap;	/* bitmap: hvd's, overwritten by each peek */
	uint64_t *pending;	/* dirty and not yet sent: every peek is OR'ed in */
	size_t bmlen;
	uint64_t scanned, pages_sent;
	int paused, handed, prepared;
};

static void progress(struct sender *s, uint64_t left, const struct conv *c)
{
	struct mig *m = s->m;
	uint64_t el = mig_now() - m->start_ns;
	pthread_mutex_lock(&m->lock);
	m->bytes_sent = s->r->bytes_written;
	m->pages_sent = s->pages_sent;
	m->dirty_left = left;
	m->rate_bps = el ? (uint64_t)((double)m->bytes_sent * 1e9 / (double)el) : 0;
	if (c) {
		m->round = c->round;
		m->predicted_ns = c->predicted_ns;
		m->throttle = c->throttle;
		if (c->bw > 0)
			m->eta_ms = (uint64_t)((double)left * 4096 * 1e3 / c->bw);
	}
	/* a monotone work model: scanned pages against scanned + still to scan */
	uint64_t pm = s->scanned + left ? 990 * s->scanned / (s->scanned + left) : 0;
	if (pm > m->permille)
		m->permille = (uint32_t)pm;
	pthread_mutex_unlock(&m->lock);
}

/* Keeps the average rate under the cap by sleeping. */
static void bw_limit(struct sender *s)
{
	if (!s->m->bw_cap)
		return;
	double el = (double)(mig_now() - s->m->start_ns) / 1e9;
	double want = (double)s->r->bytes_written / (double)s->m->bw_cap;
	if (want > el) {
		double d = want - el;
		struct timespec ts = { (time_t)d, (long)((d - (double)(time_t)d) * 1e9) };
		nanosleep(&ts, NULL);
	}
}

/* the last peek's bits into pending: how many pages are to send */
static uint64_t merge_dirty(struct sender *s)
{
	uint64_t n = 0;
	for (uint64_t w = 0; w < s->bmlen / 8; w++)
		n += (uint64_t)__builtin_popcountll(s->pending[w] |= s->bitmap[w]);
	return n;
}

/*
 * Peek-and-clean, merged into the pending set.  A page whose bit the peek
 * cleared must be sent later, whatever the controller decides now.
 */
static int peek(struct sender *s, uint64_t *count)
{
	if (s->h->ops->dirty_peek_clean(s->h, s->m->name, count) < 0)
		return -1;
	*count = merge_dirty(s);
	return 0;
}

/*
 * Mid-round the destination speaks only to say PREPARED (its domain
 * exists) or ABORT and why: read when it comes, not at the round's end.
 */
static int peer_spoke(struct sender *s)
{
	struct ckpt_record rec = { 0 };
	int r = -1;
	if (ckpt_read_record(s->r, &rec) < 0)
		;	/* the rio holds the error */
	else if (rec.type == CK_PREPARED && !s->prepared)
		s->prepared = 1, r = 0;
	else if (rec.type == CK_ABORT)
		rio_fail(s->r, ECONNABORTED, "destination aborted: %.*s",
		    (int)(rec.len > 400 ? 400 : rec.len), (const char *)rec.body);
	else
		rio_fail(s->r, EPROTO, "destination sent %s mid-round", ckpt_type_name(rec.type));
	ckpt_record_free(&rec);
	return r;
}

/*
 * Adds one page to the batch; every 512 pages: cancel, cap, progress, and
 * whether the destination said something.
 * While the VM is paused each (small) batch goes out at once, so the
 * destination applies it while the next one is compressed.
 */
static int send_page(struct sender *s, uint64_t pfn, uint64_t left, const struct conv *c)
{
	if (ckpt_batch_add(&s->b, s->r, pfn, s->mem + pfn * 4096) < 0 ||
	    (s->paused && !s->b.count && rio_flush(s->r) < 0))
		return -1;
	s->pages_sent++;
	if (s->pages_sent == 1024)
		mig_stall("send-round0");
	if ((s->pages_sent & 511) == 0) {
		if (s->m->cancel)
			return errno = ECANCELED, -1;
		if (rio_readable(s->r, 0) && peer_spoke(s) < 0)
			return -1;
		bw_limit(s);
		progress(s, left, c);
	}
	return 0;
}

/*
 * The next run of pages [*d, *h) at or after pos that may hold data: 0, or
 * 1 when there is none.  Shmem answers with SEEK_DATA (swapped pages count
 * as data).  Hugetlbfs has no holes to seek, and mincore only sees this
 * process's page tables, not the file: every page may hold data.
 */
static int next_data(struct sender *s, off_t pos, off_t *d, off_t *h)
{
	if (s->hugetlb) {
		*d = pos;
		*h = (off_t)s->mem_size;
		return 0;
	}
	*d = lseek(s->memfd, pos, SEEK_DATA);
	if (*d < 0 && errno == ENXIO)
		return 1;
	if (*d < 0 || (*h = lseek(s->memfd, *d, SEEK_HOLE)) < 0)
		return rio_fail(s->r, errno, "finding guest memory: %s", strerror(errno));
	return 0;
}

/*
 * Round 0: every page that is not zero (the destination starts zeroed).
 * Shmem pages never touched are skipped without reading them, which would
 * allocate them.
 */
static int send_all(struct sender *s, const struct conv *c)
{
	off_t end = (off_t)s->mem_size, pos = 0, d = 0, h = 0;
	while (pos < end) {
		int r = next_data(s, pos, &d, &h);
		if (r < 0)
			return -1;
		if (r)
			break;
		for (uint64_t pfn = (uint64_t)d / 4096; pfn < (uint64_t)h / 4096; pfn++) {
			s->scanned++;
			if (!ckpt_page_is_zero(s->mem + pfn * 4096) &&
			    send_page(s, pfn, s->npages - pfn, c) < 0)
				return -1;
		}
		pos = h;
	}
	s->scanned = s->npages;
	return ckpt_batch_flush(&s->b, s->r);
}

/* Asks the CPU to start loading a page: scattered dirty pages are memory-bound. */
static void prefetch_page(const uint8_t *p)
{
	for (size_t k = 0; k < 4096; k += 64)
		__builtin_prefetch(p + k);
}

/*
 * Later rounds: the pending pages, which are cleared from pending.  Each
 * page is sent while the next one is prefetched.
 */
static int send_pending(struct sender *s, const struct conv *c)
{
	uint64_t prev = UINT64_MAX;
	for (uint64_t w = 0; w < (s->npages + 63) / 64; w++) {
		uint64_t bits = s->pending[w];
		s->pending[w] = 0;
		while (bits) {
			uint64_t pfn = w * 64 + (uint64_t)__builtin_ctzll(bits);
			bits &= bits - 1;
			if (pfn >= s->npages)
				break;
			prefetch_page(s->mem + pfn * 4096);
			s->scanned++;
			if (prev != UINT64_MAX && send_page(s, prev, 0, c) < 0)
				return -1;
			prev = pfn;
		}
	}
	if (prev != UINT64_MAX && send_page(s, prev, 0, c) < 0)
		return -1;
	return ckpt_batch_flush(&s->b, s->r);
}

/* Appends ",pages" to the pages-per-round list while it fits. */
static int ppr_add(char *ppr, size_t cap, int pl, uint64_t pages)
{
	if (pl < (int)cap - 24)
		pl += snprintf(ppr + pl, cap - (size_t)pl, ",%llu", (unsigned long long)pages);
	return pl;
}

static int write_round(struct sender *s, uint32_t round, uint64_t pages, uint64_t left)
{
	struct ckpt_round rd = { round, pages, left };
	uint8_t b[24];
	ckpt_round_encode(&rd, b);
	return ckpt_write_simple(s->r, CK_ROUND, b, sizeof(b));
}

/* Flushes, then reads the peer's next record: 0 when it is want, else -1. */
static int expect(struct sender *s, uint32_t want, char *err, size_t errlen)
{
	struct ckpt_record rec = { 0 };
	int r = -1;
	if (rio_flush(s->r) < 0 || ckpt_read_record(s->r, &rec) < 0)
		snprintf(err, errlen, "waiting for %s: %s", ckpt_type_name(want), rio_error(s->r));
	else if (rec.type == CK_ABORT)
		snprintf(err, errlen, "destination aborted: %.*s", (int)(rec.len > 400 ? 400 : rec.len),
		    (const char *)rec.body);
	else if (rec.type != want)
		snprintf(err, errlen, "destination sent %s, expected %s", ckpt_type_name(rec.type),
		    ckpt_type_name(want));
	else
		r = 0;
	ckpt_record_free(&rec);
	return r;
}

/*
 * Every round ends with a SYNC that the destination echoes once it has
 * applied the round: the round's time then covers the whole path, so the
 * controller measures the end-to-end rate, and the destination is never
 * behind when the VM stops.  The first SYNC also makes it keep the domain
 * (its PREPARED comes first).
 */
static int round_end(struct sender *s, char *err, size_t errlen)
{
	ckpt_write_simple(s->r, CK_SYNC, NULL, 0);
	if ((!s->prepared && expect(s, CK_PREPARED, err, errlen) < 0) ||
	    expect(s, CK_SYNC, err, errlen) < 0)
		return -1;
	s->prepared = 1;
	return 0;
}

/* Undoes everything on the source before the point of no return. */
static void rollback(struct sender *s, const char *why)
{
	struct mig *m = s->m;
	if (s->r) {
		ckpt_send(s->r, CK_ABORT, why, strlen(why));
	}
	if (!s->h)
		return;
	if (migd_conf.fenced && m->gen) {	/* close the migration in the table first */
		char e[512];
		int mine = cluster_resolve_retry(m->name, 10, e, sizeof(e));
		if (mine == 0) {
			log_warnx("migration %s: not resuming here: the table gives the VM to another "
			    "host", m->name);
			s->h->ops->domain_destroy(s->h, m->name);
			return;
		}
		if (mine < 0 && (s->handed || (s->paused &&
		    s->h->ops->domain_handover(s->h, m->name, m->id) == 0))) {
			log_warnx("migration %s: not resuming here: the table cannot say who owns it; "
			    "handed over (never running) until it can", m->name);
			handed_settle_later(m->name, m->id, m->dest, 0);
			return;
		}
	}
	if (s->handed) {	/* handed over, not committed: take it back */
		if (handed_reclaim(s->h, m->name, m->id) < 0)
			log_warnx("migration %s: reclaiming the source failed: %s", m->name, hv_error(s->h));
		return;
	}
	s->h->ops->throttle(s->h, m->name, 0);
	s->h->ops->logdirty(s->h, m->name, 0, 0, NULL, NULL);
	if (s->paused && s->h->ops->domain_unpause(s->h, m->name) < 0)
		log_warnx("migration %s: resuming the source failed: %s", m->name, hv_error(s->h));
	else if (s->paused)
		log_info("migration %s: source resumed", m->name);
}

static int run(struct sender *s, char *err, size_t errlen)
{
	struct mig *m = s->m;
	struct hv_dominfo di;
	uint64_t count;
	struct conv c;

	if (s->h->ops->domain_info(s->h, m->name, &di) < 0)
		return snprintf(err, errlen, "%s", hv_error(s->h)), -1;
	if (di.state != DS_RUNNING)
		return snprintf(err, errlen, "domain is %s, not running", dom_state_name(di.state)), -1;
	if (migd_conf.fenced && cluster_begin(m->name, m->dest, &m->gen, err, errlen) < 0)
		return -1;
	mig_set_phase(m, "connect");
	int fd = peer_connect(m->dest, err, errlen);
	if (fd < 0)
		return -1;
	struct tls_want want;
	struct tls_peer who;
	char wbuf[300];
	mig_want(m->dest, &want, wbuf, sizeof(wbuf));
	if (!(s->r = mig_transport(m, fd, 0, &want, &who, err, errlen)))
		return -1;
	snprintf(m->peer_name, sizeof(m->peer_name), "%s", who.name);
	if (!migd_conf.fenced && handed_prepare(m) < 0)	/* synced now, so the commit need not */
		return snprintf(err, errlen, "writing the hand-over record: %s", strerror(errno)), -1;
	mig_stall("send-setup");
	uint8_t hello[12];
	le64_put(hello, m->id);
	le32_put(hello + 8, peer_listen_port());	/* where to ask OUTCOME */
	struct ckpt_domain d = { di.mem, di.vcpus, 4096, "", "" };
	snprintf(d.name, sizeof(d.name), "%s", m->name);
	snprintf(d.net, sizeof(d.net), "%s", di.net);
	uint8_t dh[200];
	size_t dhlen;
	ckpt_domain_encode(&d, dh, sizeof(dh), &dhlen);
	ckpt_write_simple(s->r, CK_HELLO, hello, sizeof(hello));
	ckpt_write_header(s->r, m->lz4 ? CKPT_F_LZ4 : 0);
	ckpt_write_simple(s->r, CK_DOMAIN_HEADER, dh, dhlen);

	if (s->h->ops->mem_map(s->h, m->name, &s->mem, &s->mem_size, &s->memfd) < 0 ||
	    s->h->ops->logdirty(s->h, m->name, 1, HV_DIRTY_MANUAL, &s->bitmap, &s->bmlen) < 0 ||
	    s->h->ops->dirty_peek_clean(s->h, m->name, &count) < 0)
		return snprintf(err, errlen, "%s", hv_error(s->h)), -1;
	if (!(s->pending = calloc(1, s->bmlen)))
		return snprintf(err, errlen, "out of memory"), -1;
	s->npages = s->mem_size / 4096;
	s->hugetlb = !strcmp(di.backing, "hugetlb");
	conv_init(&c, &m->opts);

	/* round 0: everything, while the VM runs */
	mig_set_phase(m, "round 0");
	uint64_t t0 = mig_now(), p0 = s->pages_sent;
	write_round(s, 0, s->npages, s->npages);
	if (send_all(s, &c) < 0)
		goto io;
	if (round_end(s, err, errlen) < 0)
		return -1;
	char ppr[512];
	int pl = snprintf(ppr, sizeof(ppr), "%llu", (unsigned long long)s->pages_sent);
	for (;;) {
		uint64_t sent_before = s->pages_sent;
		if (peek(s, &count) < 0)
			return snprintf(err, errlen, "%s", hv_error(s->h)), -1;
		uint64_t now = mig_now();
		enum conv_action a = conv_decide(&c, now - t0, s->pages_sent - p0, count,
		    now - m->start_ns);
		log_debug("migration %s: round %u: %s", m->name, c.round, c.why);
		progress(s, count, &c);
		if (a == CONV_ABORT)
			return snprintf(err, errlen, "cannot converge: %s", c.why), -1;
		if (a == CONV_STOP)
			break;
		if (a == CONV_THROTTLE) {
			log_info("migration %s: %s", m->name, c.why);
			if (s->h->ops->throttle(s->h, m->name, c.throttle) < 0)
				return snprintf(err, errlen, "%s", hv_error(s->h)), -1;
		}
		char ph[32];
		snprintf(ph, sizeof(ph), "round %u", c.round);
		mig_set_phase(m, ph);
		t0 = mig_now();
		p0 = s->pages_sent;
		write_round(s, c.round, count, count);
		if (send_pending(s, &c) < 0)
			goto io;
		if (round_end(s, err, errlen) < 0)
			return -1;
		pl = ppr_add(ppr, sizeof(ppr), pl, s->pages_sent - sent_before);
	}

	/* stop and copy */
	mig_set_phase(m, "stop-and-copy");
	uint64_t tp = mig_now();
	mig_urgent(count <= URGENT_PAGES);
	/* pause, final peek and state: one call */
	struct hv_saved st;
	if (s->h->ops->domain_suspend(s->h, m->name, &st) < 0) {
		struct hv_dominfo now;
		snprintf(err, errlen, "pause: %s", hv_error(s->h));
		s->paused = s->h->ops->domain_info(s->h, m->name, &now) == 0 && now.state == DS_PAUSED;
		return -1;
	}
	s->paused = 1;
	uint64_t t_called = mig_now();
	mig_stall("send-paused");
	uint64_t before = s->pages_sent, t_merge = mig_now();
	count = merge_dirty(s);
	/* the phases: the call's time outside hvd counts as the pause's */
	uint64_t call_ns = t_called - tp, in_ns = st.peek_ns + st.state_ns;
	uint64_t ph_pause = call_ns > in_ns ? call_ns - in_ns : 0;
	uint64_t ph_peek = st.peek_ns + (mig_now() - t_merge), ph_state = st.state_ns;
	uint64_t t_state = mig_now();
	s->b.limit = BURST_BATCH;
	/* the state first: the destination loads it while the pages come */
	write_round(s, c.round + 1, count, 0);
	ckpt_write_simple(s->r, CK_VCPU_STATE, st.vcpu, st.vcpu_len);
	ckpt_write_simple(s->r, CK_DEVICE_STATE, st.dev, st.dev_len);
	hv_saved_free(&st);
	int r = rio_flush(s->r) < 0 ? -1 : send_pending(s, &c);
	ckpt_write_simple(s->r, CK_END, NULL, 0);
	if (r < 0 || rio_flush(s->r) < 0)
		goto io;
	ppr_add(ppr, sizeof(ppr), pl, s->pages_sent - before);
	uint64_t t_sent = mig_now();
	mig_set_phase(m, "commit");
	if (expect(s, CK_READY, err, errlen) < 0)
		return -1;
	uint64_t t_ready = mig_now();
	mig_stall("send-ready");

	if (mig_commit(m, s->h, &s->handed, err, errlen) < 0)	/* the point of no return */
		return -1;
	uint64_t t_handed = mig_now();
	mig_stall("send-handed");
	ckpt_write_simple(s->r, CK_COMMIT, NULL, 0);
	int confirmed = expect(s, CK_RUNNING, err, errlen) == 0;	/* expect flushes COMMIT */
	uint64_t t_run = mig_now();
	uint64_t downtime = t_run - tp;	/* paused here until it runs there */
	log_info("migration %s: downtime %.2f ms = pause %.2f, peek %.2f, state %.2f, last %llu pages "
	    "%.2f, destination load %.2f, hand-over %.2f, resume there %.2f", m->name,
	    (double)downtime / 1e6, (double)ph_pause / 1e6, (double)ph_peek / 1e6,
	    (double)ph_state / 1e6, (unsigned long long)count,
	    (double)(t_sent - t_state) / 1e6, (double)(t_ready - t_sent) / 1e6,
	    (double)(t_handed - t_ready) / 1e6, (double)(t_run - t_handed) / 1e6);
	pthread_mutex_lock(&m->lock);
	/* a budget not kept is said, never passed over */
	if (!m->error[0] && c.over_budget)
		snprintf(m->error, sizeof(m->error), "downtime %.2f ms over the %.1f ms budget: %s",
		    (double)downtime / 1e6, (double)m->opts.budget_ns / 1e6, c.why);
	else if (!m->error[0] && downtime > m->opts.budget_ns + 1000000)
		snprintf(m->error, sizeof(m->error), "downtime %.2f ms over the %.1f ms budget "
		    "(%.2f ms predicted)", (double)downtime / 1e6, (double)m->opts.budget_ns / 1e6,
		    (double)c.predicted_ns / 1e6);
	snprintf(m->downtime_phases, sizeof(m->downtime_phases),
	    "pause=%llu,peek=%llu,state=%llu,pages=%llu,last=%llu,apply=%llu,handover=%llu,resume=%llu",
	    (unsigned long long)ph_pause / 1000, (unsigned long long)ph_peek / 1000,
	    (unsigned long long)ph_state / 1000, (unsigned long long)(t_sent - t_state) / 1000,
	    (unsigned long long)count, (unsigned long long)(t_ready - t_sent) / 1000,
	    (unsigned long long)(t_handed - t_ready) / 1000, (unsigned long long)(t_run - t_handed) / 1000);
	pthread_mutex_unlock(&m->lock);
	if (!confirmed) {
		log_warnx("migration %s: committed, but the destination did not confirm (%s); "
		    "the source copy stays handed over until it does", m->name, err);
		pthread_mutex_lock(&m->lock);
		snprintf(m->error, sizeof(m->error), "committed; the destination did not confirm: %s", err);
		pthread_mutex_unlock(&m->lock);
		handed_settle_later(m->name, m->id, m->dest, 1);
	} else {
		mig_stall("send-running");
		/* the frames that reached this host late go to the destination
		 * with the stream, not back into the bridge (see nic_take) */
		uint8_t *late = NULL;
		size_t late_len = 0;
		handed_confirmed(s->h, m->name, m->id, &late, &late_len);
		if (late_len && (ckpt_write_simple(s->r, CK_FRAMES, late, late_len) < 0 ||
		    rio_flush(s->r) < 0))
			log_warnx("migration %s: the late frames did not reach the destination: %s",
			    m->name, rio_error(s->r));
		free(late);
	}
	pthread_mutex_lock(&m->lock);
	m->downtime_ns = downtime;
	m->total_ns = mig_now() - m->start_ns;
	m->permille = 1000;
	m->bytes_sent = s->r->bytes_written;
	m->pages_sent = s->pages_sent;
	m->dirty_left = 0;
	m->round = c.round + 1;
	snprintf(m->pages_per_round, sizeof(m->pages_per_round), "%s", ppr);
	m->state = MS_DONE;
	pthread_mutex_unlock(&m->lock);
	mig_set_phase(m, "done");
	log_info("migration %s: done: downtime %.2f ms, total %.0f ms, %u rounds, %llu pages, "
	    "%llu bytes", m->name, (double)m->downtime_ns / 1e6, (double)m->total_ns / 1e6,
	    m->round, (unsigned long long)m->pages_sent, (unsigned long long)m->bytes_sent);
	return 0;
io:
	snprintf(err, errlen, "%s", errno == ECANCELED ? "cancelled" : rio_error(s->r));
	return -1;
}

void *mig_send_thread(void *arg)
{
	struct sender s;
	char err[512] = "";

	memset(&s, 0, sizeof(s));
	s.m = arg;
	mig_background();
	s.memfd = -1;
	if (ckpt_batch_init(&s.b, s.m->lz4) < 0 || !(s.h = hv_open(migd_conf.hvd_path, err, sizeof(err)))) {
		mig_fail(s.m, MS_FAILED, "%s", err[0] ? err : "out of memory");
		ckpt_batch_free(&s.b);
		return NULL;
	}
	int failed = run(&s, err, sizeof(err)) < 0;
	mig_urgent(0);
	if (failed && s.handed == HANDED_DOUBT) {
		handed_settle_later(s.m->name, s.m->id, s.m->dest, 1);
		mig_fail(s.m, MS_FAILED, "%s", err);
	}
	if (failed && s.handed < HANDED_DOUBT) {
		rollback(&s, err);
		handed_unprepare(s.m->name, s.m->id);
		mig_fail(s.m, s.m->cancel ? MS_CANCELLED : MS_FAILED, "%s; the VM keeps running on this host", err);
	}
	if (s.mem)
		munmap(s.mem, s.mem_size);
	if (s.memfd >= 0)
		close(s.memfd);
	if (s.bitmap)
		munmap(s.bitmap, s.bmlen);
	free(s.pending);
	ckpt_batch_free(&s.b);
	rio_close(s.r);
	s.h->ops->close(s.h);
	return NULL;
}
