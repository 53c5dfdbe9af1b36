/*
 * mig_send.c - the source side of a live migration, in its own thread.
 *
 *   connect, HELLO, header, DOMAIN_HEADER
 *   log-dirty on; the save engine (libckpt/save.c) sends round 0, every
 *     non-zero page, while the VM runs, then the rounds its policy, the
 *     convergence controller, asks for (throttling the vCPUs when it says
 *     so); each round, round 0 too, ends with a SYNC round trip
 *   stop and copy: leased pause, last peek, vCPU and device state, the last
 *     dirty pages, END
 *   commit: the hand-over to hvd asked for (posted) while READY is waited
 *     for; mig_commit (commit.c: the point of no return); COMMIT; wait
 *     RUNNING; destroy the source copy
 *
 * Before the hand-over every failure resumes the VM here (and hvd does it
 * too if this process dies: the pause is leased); after it and before the
 * point of no return, the copy is reclaimed and resumed (here, or by a
 * restarted migrated from its record or the table).  After the point of no
 * return the VM belongs to the destination; if RUNNING never comes, the
 * source copy stays in state "migrated" (never runs) and the destination
 * resolves with OUTCOME.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "hv.h"
#include "log.h"
#include "migrated.h"
#include "tls.h"
#include "msg.h"

struct sender {
	struct mig *m;
	struct hv *h;
	struct rio *r;
	struct ckpt_save sv;	/* the page pump (libckpt/save.c) */
	struct conv c;		/* its policy: the convergence controller */
	uint8_t *mem;
	int memfd;
	uint64_t mem_size, *bitmap;	/* bitmap: hvd's, overwritten by each peek */
	size_t bmlen;
	char ppr[512];		/* pages per round, for the report */
	int pl;
	int paused, handed, prepared;
};

static void progress(struct sender *s, uint64_t left)
{
	struct mig *m = s->m;
	const struct conv *c = &s->c;
	uint64_t el = mig_now() - m->start_ns;
	pthread_mutex_lock(&m->lock);
	m->bytes_sent = s->r->bytes_written;
	m->pages_sent = s->sv.pages_sent;
	m->dirty_left = left;
	m->rate_bps = el ? (uint64_t)((double)m->bytes_sent * 1e9 / (double)el) : 0;
	m->round = c->round;
	m->predicted_ns = c->predicted_ns;
	m->throttle = c->throttle;
	if (c->bw > 0)
		m->eta_ms = (uint64_t)((double)left * 4096 * 1e3 / c->bw);
	/* a monotone work model: scanned pages against scanned + still to scan */
	uint64_t sc = s->sv.scanned;
	uint64_t pm = sc + left ? 990 * sc / (sc + left) : 0;
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

/* ---- the save engine's hooks ---- */

static int hook_peek(struct ckpt_save *sv)
{
	struct sender *s = sv->arg;
	uint64_t count;
	if (s->h->ops->dirty_peek_clean(s->h, s->m->name, &count) == 0)
		return 0;
	snprintf(sv->err, sizeof(sv->err), "%s", hv_error(s->h));
	return -1;
}

/* Every CKPT_SAVE_TICK pages: cancel, what the destination said, the cap, progress. */
static int hook_tick(struct ckpt_save *sv, uint64_t left)
{
	struct sender *s = sv->arg;
	if (sv->pages_sent == 1024)
		mig_stall("send-round0");
	if (s->m->cancel) {	/* the stream stays usable: ABORT goes out on it */
		snprintf(sv->err, sizeof(sv->err), "cancelled");
		return errno = ECANCELED, -1;
	}
	if (rio_readable(s->r, 0) && peer_spoke(s) < 0)
		return -1;
	bw_limit(s);
	progress(s, left);
	return 0;
}

/* Appends ",pages" to the pages-per-round list while it fits. */
static void ppr_add(struct sender *s, uint64_t pages)
{
	if (s->pl < (int)sizeof(s->ppr) - 24)
		s->pl += snprintf(s->ppr + s->pl, sizeof(s->ppr) - (size_t)s->pl, "%s%llu",
		    s->pl ? "," : "", (unsigned long long)pages);
}

/* The live-migration policy: the convergence controller's decision. */
static enum ckpt_save_next hook_policy(struct ckpt_save *sv, const struct ckpt_save_round *rd)
{
	struct sender *s = sv->arg;
	struct mig *m = s->m;
	ppr_add(s, rd->pages);
	enum conv_action a = conv_decide(&s->c, rd->ns, rd->pages, rd->dirty, mig_now() - m->start_ns);
	log_debug("migration %s: round %u: %s", m->name, s->c.round, s->c.why);
	progress(s, rd->dirty);
	if (a == CONV_ABORT)
		return snprintf(sv->err, sizeof(sv->err), "cannot converge: %s", s->c.why), CKS_ABORT;
	if (a == CONV_STOP)
		return CKS_STOP;
	if (a == CONV_THROTTLE) {
		log_info("migration %s: %s", m->name, s->c.why);
		if (s->h->ops->throttle(s->h, m->name, s->c.throttle) < 0)
			return snprintf(sv->err, sizeof(sv->err), "%s", hv_error(s->h)), CKS_ABORT;
	}
	char ph[32];
	snprintf(ph, sizeof(ph), "round %u", s->c.round);
	mig_set_phase(m, ph);
	return CKS_AGAIN;
}

static int expect(struct sender *s, uint32_t want, char *err, size_t errlen);

/*
 * Every round ends with a SYNC that the destination echoes once it has
 * applied the round: the round's time then covers the whole path, so the
 * controller measures the end-to-end rate, and the destination is never
 * behind when the VM stops.  The first SYNC also makes it keep the domain
 * (its PREPARED comes first).
 */
static int hook_round_end(struct ckpt_save *sv)
{
	struct sender *s = sv->arg;
	ckpt_write_simple(s->r, CK_SYNC, NULL, 0);
	if ((!s->prepared && expect(s, CK_PREPARED, sv->err, sizeof(sv->err)) < 0) ||
	    expect(s, CK_SYNC, sv->err, sizeof(sv->err)) < 0)
		return -1;
	s->prepared = 1;
	return 0;
}

static const struct ckpt_save_ops live_ops = {
	.peek = hook_peek,
	.policy = hook_policy,
	.round_end = hook_round_end,
	.tick = hook_tick,
};

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

/* after a rollback, what is true of the source copy (not what should be) */
static const char *where_left(struct sender *s, char *buf, size_t len)
{
	struct hv_dominfo di;
	if (s->h->ops->domain_info(s->h, s->m->name, &di) < 0)
		snprintf(buf, len, errno == ENOENT ? "the VM is gone from this host (%.200s)" :
		    "the VM's state on this host cannot be read (%.200s)", hv_error(s->h));
	else if (di.state == HV_RUNNING)
		snprintf(buf, len, "the VM keeps running on this host");
	else
		snprintf(buf, len, "the VM is %s on this host", hv_state_name(di.state));
	return buf;
}

static int run(struct sender *s, char *err, size_t errlen)
{
	struct mig *m = s->m;
	struct hv_dominfo di;

	if (s->h->ops->domain_info(s->h, m->name, &di) < 0)
		return snprintf(err, errlen, "%s", hv_error(s->h)), -1;
	if (di.state != HV_RUNNING)
		return snprintf(err, errlen, "domain is %s, not running", hv_state_name(di.state)), -1;
	if (di.hold.on)	/* remusd's epochs pause and resume it: never both at once */
		return snprintf(err, errlen, "%s is protected (its output is held for a backup): "
		    "unprotect it first (tandem migrate and evacuate do)", m->name), -1;
	/* its memory first: a guest this backend cannot move (a PV guest on
	 * Xen) is refused before the destination builds anything */
	struct memmap map;
	uint64_t t_map = mig_now();
	if (s->h->ops->mem_map(s->h, m->name, &s->mem, &s->mem_size, &s->memfd) < 0 ||
	    hv_memmap(s->h, m->name, &map) < 0)
		return snprintf(err, errlen, "%s", hv_error(s->h)), -1;
	log_debug("migration %s: memory mapped: %llu pages in %u extent(s) (0: one block) in %.1f ms",
	    m->name, (unsigned long long)(s->mem_size / CKPT_PAGE_SIZE), map.n,
	    (double)(mig_now() - t_map) / 1e6);
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
	mig_background(s->r);
	snprintf(m->peer_name, sizeof(m->peer_name), "%s", who.name);
	if (!migd_conf.fenced && handed_prepare(m) < 0)	/* synced now, so the commit need not */
		return snprintf(err, errlen, "writing the hand-over record: %s", strerror(errno)), -1;
	mig_stall("send-setup");
	uint8_t hello[12];
	le64_put(hello, m->id);
	le32_put(hello + 8, peer_listen_port());	/* where to ask OUTCOME */
	ckpt_write_simple(s->r, CK_HELLO, hello, sizeof(hello));
	ckpt_write_header(s->r, m->lz4 ? CKPT_F_LZ4 : 0);
	ckpt_write_domain(s->r, m->name, di.mem, di.vcpus, di.net, s->h->ops->name, s->h->ops->guest,
	    &map);

	uint64_t count;
	if (s->h->ops->logdirty(s->h, m->name, 1, HV_LOG_MANUAL, &s->bitmap, &s->bmlen) < 0 ||
	    s->h->ops->dirty_peek_clean(s->h, m->name, &count) < 0)
		return snprintf(err, errlen, "%s", hv_error(s->h)), -1;
	s->sv = (struct ckpt_save){
		.ops = &live_ops, .arg = s, .r = s->r, .mem = s->mem, .mem_size = s->mem_size,
		/* hugetlbfs has no holes to seek */
		.memfd = (di.mem_flags & HV_MEM_SPARSE_FILE) ? s->memfd : -1,
		.bitmap = s->bitmap, .bmlen = s->bmlen,
	};
	if (ckpt_save_init(&s->sv, m->lz4) < 0)
		return snprintf(err, errlen, "%s", s->sv.err), -1;
	conv_init(&s->c, &m->opts);

	/* round 0, everything, and the rounds the controller asks for, while the VM runs */
	mig_set_phase(m, "round 0");
	if (ckpt_save_live(&s->sv) < 0)
		return snprintf(err, errlen, "%s", s->sv.err), -1;

	/* stop and copy */
	mig_set_phase(m, "stop-and-copy");
	uint64_t tp = mig_now();
	mig_urgent(s->r, s->sv.dirty <= URGENT_PAGES);
	/* pause, final peek and state: one call */
	struct hv_saved st;
	if (s->h->ops->domain_suspend(s->h, m->name, &st) < 0) {
		struct hv_dominfo now;
		snprintf(err, errlen, "pause: %s", hv_error(s->h));
		s->paused = s->h->ops->domain_info(s->h, m->name, &now) == 0 && now.state == HV_PAUSED;
		return -1;
	}
	s->paused = 1;
	uint64_t t_called = mig_now();
	mig_stall("send-paused");
	uint64_t before = s->sv.pages_sent, t_merge = mig_now();
	count = ckpt_save_merge(&s->sv);
	/* the phases: the call's time outside hvd counts as the pause's */
	uint64_t call_ns = t_called - tp, in_ns = st.peek_ns + st.state_ns;
	uint64_t ph_pause = call_ns > in_ns ? call_ns - in_ns : 0;
	uint64_t ph_peek = st.peek_ns + (mig_now() - t_merge), ph_state = st.state_ns;
	uint64_t t_state = mig_now();
	int r = ckpt_save_state(&s->sv, st.vcpu, st.vcpu_len, st.dev, st.dev_len, CK_END, 0);
	hv_saved_free(&st);
	if (r < 0)
		return snprintf(err, errlen, "%s", s->sv.err), -1;
	ppr_add(s, s->sv.pages_sent - before);
	/* on the wire before the hand-over: a backend that cannot post it
	 * (Xen: a xenstore transaction) does it while the destination loads */
	if (rio_flush(s->r) < 0)
		return snprintf(err, errlen, "sending the last state: %s", rio_error(s->r)), -1;
	uint64_t t_sent = mig_now();
	mig_set_phase(m, "commit");
	/*
	 * The hand-over (step 1 of the commit, commit.c) is asked for now and
	 * done while the destination loads: it is not the point of no return,
	 * and until that point a handed-over copy is taken back (reclaimed) as a
	 * paused one is resumed, by rollback here or by a restarted migrated.
	 */
	hv_post(s->h);
	int posted = s->h->ops->domain_handover(s->h, m->name, m->id) == 0;
	int ready = expect(s, CK_READY, err, errlen);
	uint64_t t_ready = mig_now();
	if (posted && hv_collect(s->h) == 0)
		s->handed = HANDED_LOCAL;
	else if (ready == 0)	/* not handed over: still paused under the lease */
		return snprintf(err, errlen, "hand-over: %s", hv_error(s->h)), -1;
	if (ready < 0)
		return -1;
	mig_stall("send-ready");

	if (mig_commit(m, s->h, &s->handed, err, errlen) < 0)	/* the point of no return */
		return -1;
	uint64_t t_handed = mig_now();
	mig_stall("send-handed");
	ckpt_write_simple(s->r, CK_COMMIT, NULL, 0);
	rio_flush(s->r);	/* a failure is expect's to report */
	log_info("migration %s: handed over to %s (point of no return)", m->name, m->dest);
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
	if (!m->error[0] && s->c.over_budget)
		snprintf(m->error, sizeof(m->error), "downtime %.2f ms over the %.1f ms budget: %s",
		    (double)downtime / 1e6, (double)m->opts.budget_ns / 1e6, s->c.why);
	else if (!m->error[0] && downtime > m->opts.budget_ns + 1000000)
		snprintf(m->error, sizeof(m->error), "downtime %.2f ms over the %.1f ms budget "
		    "(%.2f ms predicted)", (double)downtime / 1e6, (double)m->opts.budget_ns / 1e6,
		    (double)s->c.predicted_ns / 1e6);
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
	m->pages_sent = s->sv.pages_sent;
	m->dirty_left = 0;
	m->round = s->sv.round + 1;	/* rounds sent, the last one too */
	snprintf(m->pages_per_round, sizeof(m->pages_per_round), "%s", s->ppr);
	pthread_mutex_unlock(&m->lock);
	mig_done(m);
	mig_set_phase(m, "done");
	log_info("migration %s: done: downtime %.2f ms, total %.0f ms, %u rounds, %llu pages, "
	    "%llu bytes", m->name, (double)m->downtime_ns / 1e6, (double)m->total_ns / 1e6,
	    m->round, (unsigned long long)m->pages_sent, (unsigned long long)m->bytes_sent);
	return 0;
}

void *mig_send_thread(void *arg)
{
	struct sender s;
	char err[512] = "";

	memset(&s, 0, sizeof(s));
	s.m = arg;
	log_context("VM=%s MIGRATION=%llu", s.m->name, (unsigned long long)s.m->id);
	mig_background(NULL);
	s.memfd = -1;
	if (!(s.h = hv_open(migd_conf.hvd_path, err, sizeof(err)))) {
		mig_fail(s.m, MS_FAILED, "%s", err);
		return NULL;
	}
	int failed = run(&s, err, sizeof(err)) < 0;
	mig_urgent(s.r, 0);
	if (failed && s.handed == HANDED_DOUBT) {
		handed_settle_later(s.m->name, s.m->id, s.m->dest, 1);
		mig_fail(s.m, MS_FAILED, "%s", err);
	}
	if (failed && s.handed < HANDED_DOUBT) {
		rollback(&s, err);
		handed_unprepare(s.m->name, s.m->id);
		char left[300];
		mig_fail(s.m, s.m->cancel ? MS_CANCELLED : MS_FAILED, "%s; %s", err, where_left(&s, left,
		    sizeof(left)));
	}
	if (s.mem)
		munmap(s.mem, s.mem_size);
	if (s.memfd >= 0)
		close(s.memfd);
	if (s.bitmap)
		munmap(s.bitmap, s.bmlen);
	ckpt_save_free(&s.sv);
	rio_close(s.r);
	s.h->ops->close(s.h);
	return NULL;
}
