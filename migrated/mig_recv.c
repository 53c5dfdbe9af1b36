/*
 * mig_recv.c - the destination side of a live migration, and the source's
 * answer to OUTCOME queries.
 *
 * The receiver runs the restore engine (libckpt/restore.c) with hooks that
 * create the incoming domain (paused, empty) from DOMAIN_HEADER, let the
 * engine apply each PAGE_DATA batch straight into its memory (each batch
 * checked whole before it is applied), echo SYNC once it has caught up,
 * load the vCPU and device state as soon as the source is paused (or at
 * END) and answer READY at END.  COMMIT makes it run the domain
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
#include "log.h"
#include "migrated.h"
#include "tls.h"
#include "msg.h"

#define DOUBT_RETRY_S	600

static void abort_to_peer(struct rio *r, const char *why)
{
	if (ckpt_send(r, CK_ABORT, why, strlen(why)) == 0)
		rio_drain(r, 1000);	/* until the source reads it and closes */
}

/* an OUTCOME or CONFIRM body: u64 migration id, then the name */
static size_t id_name(uint8_t *body, uint64_t id, const char *name)
{
	size_t n = strlen(name);
	le64_put(body, id);
	memcpy(body + 8, name, n);
	return 8 + n;
}

static int id_name_parse(const uint8_t *body, size_t len, uint64_t *id, char name[65])
{
	if (len < 9 || len > 8 + 64)
		return -1;
	*id = le64_get(body);
	memcpy(name, body + 8, len - 8);
	name[len - 8] = 0;
	return strlen(name) == len - 8 ? 0 : -1;
}

/*
 * Whether the source committed: in a cluster the table says (after closing
 * the migration there, so a late commit cannot win); else the source is
 * asked on a new connection.  1 committed, 0 not, -1 no answer yet.  When
 * the source says committed, *confirm is that connection: the caller says
 * RUNNING on it once the domain runs, so the source can let its copy go.
 */
static int ask_outcome(const struct recv_args *a, const char *name, struct rio **confirm)
{
	if (migd_conf.fenced) {
		char e[512];
		int mine = cluster_resolve_retry(name, 1, e, sizeof(e));
		if (mine < 0)
			log_warnx("migration %s in: %s", name, e);
		return mine;
	}
	char spec[128], err[256];
	uint8_t body[8 + 64];
	struct ckpt_record rec = { 0 };
	int r = -1;

	snprintf(spec, sizeof(spec), "%s:%u", a->peer, a->peer_port);
	int fd = peer_connect(spec, err, sizeof(err));
	if (fd < 0)
		return -1;
	struct tls_want want = { a->peer_name[0] ? a->peer_name : NULL, NULL };
	struct rio *q = mig_transport(a->m, fd, 0, &want, NULL, err, sizeof(err));
	if (!q)
		return -1;
	if (ckpt_send(q, CK_OUTCOME, body, id_name(body, a->m->id, name)) == 0 &&
	    ckpt_read_record(q, &rec) == 0)
		r = rec.type == CK_COMMIT ? 1 : 0;
	ckpt_record_free(&rec);
	if (r == 1)
		*confirm = q;
	else
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
	mig_urgent(a->r, 0);	/* waiting may take long: no longer urgent */
	mig_set_phase(m, "in doubt");
	log_warnx("migration %s in: connection lost after READY: outcome in doubt, the domain "
	    "stays paused; asking %s:%u", m->name, a->peer, a->peer_port);
	for (int i = 0; i < DOUBT_RETRY_S * 2; i++) {
		struct rio *confirm = NULL;
		int o = ask_outcome(a, m->name, &confirm);
		if (o == 1) {
			struct hv_dominfo di;
			mig_stall("recv-outcome");
			int ran = (*hp)->ops->domain_info(*hp, m->name, &di) == 0 && di.state != HV_PAUSED;
			if (!ran && hv_again(hp, (*hp)->ops->domain_unpause, m->name) < 0)
				mig_fail(m, MS_FAILED, "committed, but unpause failed: %s", hv_error(*hp));
			else {
				log_info("migration %s in: source says committed: running here", m->name);
				if (confirm)
					ckpt_send(confirm, CK_RUNNING, NULL, 0);
				journal_del(J_INDOUBT, m->name);
				mig_done(m);
				mig_set_phase(m, "running");
			}
			rio_close(confirm);
			return;
		}
		if (o == 0) {
			struct hv_dominfo di;
			if ((*hp)->ops->domain_info(*hp, m->name, &di) == 0 && di.state != HV_PAUSED) {
				/* never destroy what runs: this is not our incoming copy */
				journal_del(J_INDOUBT, m->name);
				mig_fail(m, MS_FAILED, "source says not committed, but %s here is %s, "
				    "not a paused incoming copy: left alone", m->name, hv_state_name(di.state));
				return;
			}
			hv_again(hp, (*hp)->ops->domain_destroy, m->name);
			journal_del(J_INDOUBT, m->name);
			mig_fail(m, MS_FAILED, "source says not committed: incoming copy destroyed");
			return;
		}
		usleep(500000);
	}
	mig_fail(m, MS_FAILED, "outcome still in doubt after %d s: domain left paused; resolve "
	    "by hand", DOUBT_RETRY_S);
}

/*
 * After COMMIT in a cluster: 1 the table gives name to this host, 0 to
 * another, -1 fenced cannot say.  The source sent COMMIT only once its
 * table commit was delivered there, and this host's copy of the table
 * follows within about a millisecond: ask this host's table (no message)
 * until it does, and only then order a resolution through CPG (after the
 * commit in the total order, so it cannot undo it) before asking the
 * source over a new TLS connection.
 */
#define TABLE_WAIT_US	5000
static int table_mine(const char *name)
{
	char err[256];
	int mine;
	for (int t = 0; t < TABLE_WAIT_US; t += 200) {
		if (cluster_owned(name))
			return 1;
		usleep(200);
	}
	if (cluster_resolve(name, &mine, err, sizeof(err)) < 0) {
		log_warnx("migration %s in: the table cannot say who owns it: %s", name, err);
		return -1;
	}
	return mine;
}

static int load_state(struct hv *h, const char *name, const struct ckpt_record *vcpu,
    const struct ckpt_record *dev, char *err, size_t errlen)
{
	if (h->ops->state_set(h, name, vcpu->body, vcpu->len, dev->body, dev->len) == 0)
		return 0;
	snprintf(err, errlen, "loading state: %s", hv_error(h));
	return -1;
}

/*
 * Where the pages go.  Released only once the migration has ended: taking
 * down a mapping of the guest's memory costs ~0.4 ms for 1 GiB, and between
 * READY and RUNNING that was downtime.
 */
struct recv_mem {
	uint8_t *mem;	/* hugetlb memory is written through a mapping */
	uint64_t size;
	int fd;
};

static void recv_mem_release(struct recv_mem *rm)
{
	if (rm->mem)
		munmap(rm->mem, rm->size);
	if (rm->fd >= 0)
		close(rm->fd);
}

/* ---- the restore engine's hooks (libckpt/restore.c) ---- */
struct recv_ctx {
	struct recv_args *a;
	struct hv *h;
	struct recv_mem *rm;
	int created, kept;
	uint64_t t_sync, b_sync, apply_sync;	/* at the last SYNC */
	uint64_t t_final, t_posted, t_end, apply_final;	/* the paused part's milestones */
};

static int hook_domain(struct ckpt_restore *rs, const struct ckpt_domain *d)
{
	struct recv_ctx *x = rs->arg;
	struct mig *m = x->a->m;
	struct hv *h = x->h;
	struct hv_dominfo di;

	snprintf(m->name, sizeof(m->name), "%s", d->name);
	log_context("VM=%s MIGRATION=in", m->name);
	log_info("migration %s in: from %s, %llu MiB, %u vCPU(s)%s%s, %s state of a %s guest", d->name,
	    x->a->peer, (unsigned long long)(d->mem >> 20), d->vcpus, d->net[0] ? ", NIC " : "", d->net,
	    d->origin, d->guest);
	if (ckpt_domain_fits(d, h->ops->name, h->ops->guest, rs->err, sizeof(rs->err)) < 0)
		return -1;
	if (h->ops->domain_create_incoming_leased(h, d->name, d->mem, d->vcpus, d->net, &d->map) < 0)
		return snprintf(rs->err, sizeof(rs->err), "creating the incoming domain: %s",
		    hv_error(h)), -1;
	x->created = 1;
	if (h->ops->domain_info(h, d->name, &di) < 0 ||
	    h->ops->mem_map(h, d->name, (di.mem_flags & HV_MEM_SPARSE_FILE) ? NULL : &x->rm->mem,
	    &x->rm->size, &x->rm->fd) < 0)
		return snprintf(rs->err, sizeof(rs->err), "%s", hv_error(h)), -1;
	rs->mem = x->rm->mem;	/* hugetlb memory is written through a mapping */
	rs->fd = x->rm->fd;
	if (x->rm->size / CKPT_PAGE_SIZE < rs->npages)
		rs->npages = x->rm->size / CKPT_PAGE_SIZE;
	mig_stall("recv-setup");
	if (ckpt_send(x->a->r, CK_PREPARED, NULL, 0) < 0)
		return snprintf(rs->err, sizeof(rs->err), "%s", rio_error(x->a->r)), -1;
	mig_set_phase(m, "receiving");
	return 0;
}

static void hook_applied(struct ckpt_restore *rs, uint32_t n)
{
	struct recv_ctx *x = rs->arg;
	struct mig *m = x->a->m;
	if (m->pages_sent == 0)
		mig_stall("recv-round0");
	pthread_mutex_lock(&m->lock);
	m->pages_sent += n;
	m->bytes_sent = x->a->r->bytes_read;
	pthread_mutex_unlock(&m->lock);
}

static int hook_round(struct ckpt_restore *rs, const struct ckpt_round *rd)
{
	struct recv_ctx *x = rs->arg;
	struct mig *m = x->a->m;
	pthread_mutex_lock(&m->lock);
	m->round = rd->round;
	pthread_mutex_unlock(&m->lock);
	if (!rd->left) {	/* stop and copy: the VM is paused */
		mig_urgent(x->a->r, rd->pages <= URGENT_PAGES);
		x->t_final = mig_now();
		x->apply_final = rs->apply_ns;
	}
	return 0;
}

/* the domain is paused and its last pages still come: while they are on
 * the wire, loading the state is off the downtime's critical path */
static int hook_state(struct ckpt_restore *rs, const struct ckpt_record *vcpu,
    const struct ckpt_record *dev)
{
	struct recv_ctx *x = rs->arg;
	/* the last state: the hypervisor loads it while the pages are written */
	if (rs->final)
		hv_post(x->h);
	x->t_posted = mig_now();
	return load_state(x->h, x->a->m->name, vcpu, dev, rs->err, sizeof(rs->err));
}

static int hook_state_wait(struct ckpt_restore *rs)
{
	struct recv_ctx *x = rs->arg;
	x->t_end = mig_now();
	if (hv_collect(x->h) == 0)
		return 0;
	return snprintf(rs->err, sizeof(rs->err), "loading state: %s", hv_error(x->h)), -1;
}

static int hook_end(struct ckpt_restore *rs)
{
	struct recv_ctx *x = rs->arg;
	struct mig *m = x->a->m;
	mig_stall("recv-end");
	uint64_t t_loaded = mig_now();
	if (ckpt_send(x->a->r, CK_READY, NULL, 0) < 0)
		return snprintf(rs->err, sizeof(rs->err), "%s", rio_error(x->a->r)), -1;
	uint64_t t_ready = mig_now();
	/* said once READY is on its way: the source waits for it paused */
	log_debug("migration %s in: final part: %.2f ms from SYNC to END, %llu bytes, "
	    "%.2f ms applying pages", m->name, (double)(x->t_end - x->t_sync) / 1e6,
	    (unsigned long long)(x->a->r->bytes_read - x->b_sync),
	    (double)(rs->apply_ns - x->apply_sync) / 1e6);
	log_debug("migration %s in: paused part: state posted +%.3f ms, END +%.3f, loaded +%.3f, "
	    "READY sent +%.3f; pages applied in %.3f ms, state inside hvd %.3f", m->name,
	    (double)(x->t_posted - x->t_final) / 1e6, (double)(x->t_end - x->t_final) / 1e6,
	    (double)(t_loaded - x->t_final) / 1e6, (double)(t_ready - x->t_final) / 1e6,
	    (double)(rs->apply_ns - x->apply_final) / 1e6, (double)x->h->elapsed_ns / 1e6);
	return 0;
}

/* SYNC: everything before it is applied, say so.  Any other transport
 * record mid-stream ends the migration. */
static int hook_other(struct ckpt_restore *rs, const struct ckpt_record *rec)
{
	struct recv_ctx *x = rs->arg;
	struct mig *m = x->a->m;
	if (rec->type == CK_ABORT)
		return snprintf(rs->err, sizeof(rs->err), "source aborted: %.*s",
		    (int)(rec->len > 400 ? 400 : rec->len), (const char *)rec->body), -1;
	if (rec->type != CK_SYNC)
		return snprintf(rs->err, sizeof(rs->err), "source sent %s mid-stream",
		    ckpt_type_name(rec->type)), -1;
	x->t_sync = mig_now();
	x->b_sync = x->a->r->bytes_read;
	x->apply_sync = rs->apply_ns;
	/*
	 * The source ends each round with one.  From the first (after round 0)
	 * the domain must survive this process, and so must the note that its
	 * outcome is to be asked for, since the source may stop and commit at
	 * any later round.  Done now, it costs no downtime.
	 */
	if (!x->kept++ && (!x->created || x->h->ops->domain_keep(x->h, m->name) < 0 ||
	    journal_put(J_INDOUBT, m->name, "%s %u %016llx %s", x->a->peer, x->a->peer_port,
	    (unsigned long long)m->id, x->a->peer_name[0] ? x->a->peer_name : "-") < 0))
		return snprintf(rs->err, sizeof(rs->err), "keeping the incoming domain: %s",
		    x->created ? hv_error(x->h) : "SYNC before DOMAIN_HEADER"), -1;
	if (ckpt_send(x->a->r, CK_SYNC, NULL, 0) < 0)
		return snprintf(rs->err, sizeof(rs->err), "%s", rio_error(x->a->r)), -1;
	return 0;
}

static const struct ckpt_restore_ops live_ops = {
	.domain = hook_domain,
	.state = hook_state,
	.state_wait = hook_state_wait,
	.end = hook_end,
	.round = hook_round,
	.applied = hook_applied,
	.other = hook_other,
};

/* Receives the whole stream into a new incoming domain, writing pages
 * into its memory (rm: the caller releases it); on success it is paused
 * with its state loaded and READY is sent.  A migration stream takes no
 * CHECKPOINT. */
static int receive(struct recv_args *a, struct hv *h, struct recv_mem *rm, int *created,
    char *err, size_t errlen)
{
	struct recv_ctx x = { .a = a, .h = h, .rm = rm };
	struct ckpt_restore rs = { .ops = &live_ops, .arg = &x, .r = a->r };
	int rc = ckpt_restore_init(&rs) < 0 ? -1 : ckpt_restore_run(&rs);
	if (rc < 0)
		snprintf(err, errlen, "%s", rs.err);
	*created = x.created;
	ckpt_restore_free(&rs);
	return rc;
}

/*
 * What reached the source's NIC after its state was saved comes after
 * RUNNING, once the source has released its copy (FRAMES; nothing when
 * nothing came late).  Bounded: a source that is gone costs a second.
 */
#define LATE_FRAMES_MS	1000
static void late_frames(struct recv_args *a, struct hv *h)
{
	struct ckpt_record rec = { 0 };
	if (rio_readable(a->r, LATE_FRAMES_MS) > 0 && ckpt_read_record(a->r, &rec) == 0 &&
	    rec.type == CK_FRAMES && h->ops->nic_inject(h, a->m->name, rec.body, rec.len) < 0)
		log_warnx("migration %s in: the late frames: %s", a->m->name, hv_error(h));
	ckpt_record_free(&rec);
}

void *mig_recv_thread(void *arg)
{
	struct recv_args *a = arg;
	struct mig *m = a->m;
	struct ckpt_record rec = { 0 };
	char err[512] = "";
	int created = 0;
	struct recv_mem rm = { .fd = -1 };
	mig_background(a->r);
	struct hv *h = hv_open(migd_conf.hvd_path, err, sizeof(err));

	if (!h) {
		abort_to_peer(a->r, err);
		mig_fail(m, MS_FAILED, "%s", err);
		goto done;
	}
	if (receive(a, h, &rm, &created, err, sizeof(err)) < 0) {
		recv_mem_release(&rm);
		rm = (struct recv_mem){ .fd = -1 };
		if (created)
			hv_again(&h, h->ops->domain_destroy, m->name);
		journal_del(J_INDOUBT, m->name);
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
		journal_del(J_INDOUBT, m->name);
		mig_fail(m, MS_FAILED, "source sent %s instead of COMMIT: incoming copy destroyed",
		    ckpt_type_name(rec.type));
		goto done;
	}
	mig_stall("recv-commit");
	if (migd_conf.fenced) {	/* run only what the table gives this host */
		int mine = table_mine(m->name);
		for (int i = 0; i < 30 && mine < 0; i++)
			mine = ask_outcome(a, m->name, NULL);
		if (mine != 1) {
			if (mine == 0) {
				hv_again(&h, h->ops->domain_destroy, m->name);
				journal_del(J_INDOUBT, m->name);
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
	mig_stall("recv-running");
	ckpt_send(a->r, CK_RUNNING, NULL, 0);
	journal_del(J_INDOUBT, m->name);	/* after RUNNING: a stale entry only costs a query */
	mig_done(m);
	mig_set_phase(m, "running");
	late_frames(a, h);
done:
	mig_urgent(a->r, 0);
	recv_mem_release(&rm);
	ckpt_record_free(&rec);
	if (h)
		h->ops->close(h);
	rio_close(a->r);
	mig_release(a->m);
	free(a);
	return NULL;
}

/* A journal entry found at start: resolve it, nothing else. */
static void *resolve_thread(void *arg)
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

static void resume_one(const char *name, const char *line, void *arg)
{
	char peer[64], pname[65] = "-";
	unsigned port;
	unsigned long long id;
	(void)arg;
	int ok = sscanf(line, "%63s %u %llx %64s", peer, &port, &id, pname) >= 3 && port < 65536;
	struct recv_args *a = ok ? calloc(1, sizeof(*a)) : NULL;
	if (a && !(a->m = mig_new(MIG_IN, name))) {
		free(a);
		a = NULL;
	}
	if (!a) {
		log_warnx("journal indoubt/%s is unreadable (%s): left for an admin", name, line);
		return;
	}
	snprintf(a->peer, sizeof(a->peer), "%s", peer);
	a->peer_port = (uint16_t)port;
	snprintf(a->peer_name, sizeof(a->peer_name), "%s", strcmp(pname, "-") ? pname : "");
	a->m->id = id;
	log_warnx("migration %s in: outcome was in doubt when migrated stopped: asking %s:%u",
	    name, peer, port);
	pthread_t t;
	if (pthread_create(&t, NULL, resolve_thread, a) == 0)
		pthread_detach(t);
}

void mig_recv_resume(void)
{
	journal_each(J_INDOUBT, resume_one, NULL);
}

/*
 * The source's side of OUTCOME: committed when this host's hand-over
 * record names that migration; otherwise not, and that migration, if still
 * in progress, is cancelled under its commit lock, so it can never commit
 * after saying no.  After "committed" the destination says RUNNING once the
 * VM runs there, and only then does the handed-over copy go: an answer lost
 * on the way is asked again and answered the same.
 */
int mig_outcome_answer(struct rio *r, const char *asker, const uint8_t *body, size_t len)
{
	char err[400], name[65];
	uint64_t id;
	struct ckpt_record rec = { 0 };

	if (id_name_parse(body, len, &id, name) < 0) {
		log_warnx("OUTCOME query with a bad body (%zu bytes): not answering", len);
		return -1;
	}
	struct mig *m = mig_find(name, 0);
	if (m)
		pthread_mutex_lock(&m->commit_lock);
	int committed = handed_for(name, id, asker);
	if (m && !committed && m->id == id)
		m->cancel = 1;
	if (m)
		pthread_mutex_unlock(&m->commit_lock);
	if (committed < 0)
		return -1;	/* another host asks for a migration it did not receive */
	log_info("OUTCOME query for %s (migration %016llx): %s", name, (unsigned long long)id,
	    committed ? "committed" : "not committed");
	if (ckpt_send(r, committed ? CK_COMMIT : CK_ABORT, committed ? NULL : "not committed",
	    committed ? 0 : 13) < 0 || !committed)
		return 0;
	if (ckpt_read_record(r, &rec) == 0 && rec.type == CK_RUNNING) {
		struct hv *h = hv_open(migd_conf.hvd_path, err, sizeof(err));
		if (h) {
			handed_confirmed(h, name, id, NULL, NULL);
			h->ops->close(h);
		}
	} else
		log_warnx("migration %s: the destination did not confirm after OUTCOME: the "
		    "handed-over copy and its record stay", name);
	ckpt_record_free(&rec);
	return 0;
}

/*
 * The destination's side of CONFIRM: RUNNING when the VM runs (or ran)
 * here, ABORT when there is no such domain; no answer while its outcome is
 * in doubt here (this side asks the source itself) or it is still paused.
 */
int mig_confirm_answer(struct rio *r, const uint8_t *body, size_t len)
{
	char err[400], name[65], line[512];
	uint64_t id;
	struct hv_dominfo di;

	if (id_name_parse(body, len, &id, name) < 0 || journal_get(J_INDOUBT, name, line, sizeof(line)) == 0)
		return -1;
	struct hv *h = hv_open(migd_conf.hvd_path, err, sizeof(err));
	if (!h)
		return -1;
	int found = h->ops->domain_info(h, name, &di) == 0, gone = !found && errno == ENOENT;
	h->ops->close(h);
	if (found && di.state != HV_PAUSED && di.state != HV_MIGRATED) {
		log_info("CONFIRM query for %s: it is %s here", name, hv_state_name(di.state));
		return ckpt_send(r, CK_RUNNING, NULL, 0);
	}
	if (gone || (found && di.state == HV_MIGRATED)) {
		log_warnx("CONFIRM query for %s: not here", name);
		return ckpt_send(r, CK_ABORT, "not here", 8);
	}
	return -1;
}
