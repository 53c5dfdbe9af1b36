/*
 * sync.c - keeps the ownership table the same on every quorate host.
 *
 * CPG delivers messages and views in one agreed order, and a message sent
 * in a view is delivered in that view (virtual synchrony).  So:
 *
 *  - After every view each member multicasts HELLO {synced, version}.  A
 *    member is "synced" when its table is the cluster's: it got it, or kept
 *    it, while quorate.  Losing quorum unsyncs a host (the majority may
 *    change the table without it).
 *  - Once a HELLO from every member is in and some member is not synced,
 *    the donor sends its TABLE: the lowest synced member, or, when nobody
 *    is synced (a cold start), the member with the highest version.  Every
 *    unsynced member that is quorate loads it, and every synced member then
 *    applies the current view to it, at the same point of the order.
 *  - Nobody sends a change until the round is over (sync_ready), so no
 *    change can fall between a snapshot and its delivery.  Changes sent in
 *    an earlier view were delivered in that view.
 *
 * Our own messages come back to us in the order we sent them: each waits
 * in a FIFO for its delivery, when the table's verdict is known.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fence.h"
#include "fenced.h"
#include "writer.h"
#include "log.h"
#include "wire.h"

struct sync_waiter {
	sent_fn cb;
	void *arg;
	struct sync_waiter *next;
};

static void send_hello(struct fenced *f)
{
	struct msg_out o;
	msg_begin(&o, CM_HELLO, 0);
	msg_add_u32(&o, CA_PROTO, CLUSTER_PROTO);
	msg_add_u32(&o, CA_SYNCED, (uint32_t)f->synced);
	msg_add_u64(&o, CA_EPOCH, f->t.epoch);
	msg_add_u64(&o, CA_VERSION, f->t.version);
	if (msg_end(&o) < 0 || cpg_send(f, &o) < 0)
		log_warnx("sync: cannot send HELLO");
	msg_free(&o);
}

static void unsync(struct fenced *f, const char *why)
{
	if (!f->synced)
		return;
	f->synced = 0;
	log_warnx("sync: %s: this host's table (version %llu) is no longer the cluster's", why,
	    (unsigned long long)f->t.version);
}

static int all_synced(const struct fenced *f)
{
	for (size_t i = 0; i < f->sync.nhello; i++)
		if (!f->sync.hello[i].have || !f->sync.hello[i].synced)
			return 0;
	return f->sync.nhello > 0;
}

int sync_ready(const struct fenced *f)
{
	return f->synced && f->mb.state == MB_QUORATE && all_synced(f);
}

const char *sync_state(const struct fenced *f)
{
	return sync_ready(f) ? "synced" : f->synced ? "syncing" : "unsynced";
}

int sync_coordinator(const struct fenced *f)
{
	return f->mb.n && f->mb.members[0] == f->mb.nodeid;
}

static void log_ready(struct fenced *f)
{
	int r = sync_ready(f);
	if (r && !f->sync.was_ready)
		log_info("sync: every member holds the table (version %llu, %zu VMs): ready",
		    (unsigned long long)f->t.version, f->t.nvm);
	f->sync.was_ready = r;
}

/*
 * The member that must send the table this round, from the HELLOs every
 * member holds at the same point of the order: 0 while some HELLO is
 * missing or when everyone is synced (no table is due).  *cold: nobody is
 * synced.
 */
static uint32_t donor_of(struct fenced *f, int *cold)
{
	uint32_t donor = 0;
	*cold = 0;
	for (size_t i = 0; i < f->sync.nhello; i++)
		if (!f->sync.hello[i].have)
			return 0;
	if (all_synced(f))
		return 0;
	for (size_t i = 0; i < f->sync.nhello && !donor; i++)	/* sorted: the lowest synced */
		if (f->sync.hello[i].synced)
			donor = f->sync.hello[i].node;
	if (!donor && f->sync.nhello) {	/* nobody synced: highest (epoch, version), then lowest node */
		size_t b = 0;
		for (size_t i = 1; i < f->sync.nhello; i++)
			if (table_newer(f->sync.hello[i].epoch, f->sync.hello[i].version, f->sync.hello[b].epoch,
			    f->sync.hello[b].version))
				b = i;
		donor = f->sync.hello[b].node;
		*cold = 1;
	}
	return donor;
}

/* all HELLOs in and someone unsynced: the donor sends the table */
static void evaluate(struct fenced *f)
{
	int cold;
	uint32_t donor = donor_of(f, &cold);
	if (!donor)
		return;
	if (donor != f->mb.nodeid || f->sync.sent_round == f->sync.round_no)
		return;
	if (!f->synced && !quorate_now(f)) {
		log_info("sync: the table would come from here, but this host is not quorate yet");
		return;
	}
	if (cold) {	/* a new epoch: a host absent now holds an older one, whatever its version */
		f->t.epoch++;
		log_info("sync: cold start: nobody holds the cluster's table; this host's (version "
		    "%llu, %zu VMs) is the newest: it becomes epoch %llu", (unsigned long long)f->t.version,
		    f->t.nvm, (unsigned long long)f->t.epoch);
	}
	struct msg_out o;
	msg_begin(&o, CM_TABLE, 0);
	table_encode(&f->t, &o);
	if (msg_end(&o) < 0 || cpg_send(f, &o) < 0)
		log_warnx("sync: cannot send the table (%zu VMs)", f->t.nvm);
	else {
		f->sync.sent_round = f->sync.round_no;
		log_info("sync: sending the table (version %llu, %zu VMs, %zu bytes) to the members",
		    (unsigned long long)f->t.version, f->t.nvm, o.len);
	}
	msg_free(&o);
}

/*
 * A synced host writes every new (epoch, version) of its table to disk
 * before it acts on it, so what it did is never newer than what it would
 * bring to a cold start.  An unsynced table is never written: it is not the
 * cluster's.  The writing is done by a thread (writer.c), so the loop
 * answers queries meanwhile; persist starts a write (1) or finds the disk
 * up to date (0).  A change while one is in flight is written right after
 * it, and what waits to act waits for that too.
 */
/* DIR/table holds the table in memory */
static int saved_is_current(const struct fenced *f)
{
	return f->sync.saved_any && f->sync.saved_epoch == f->t.epoch &&
	    f->sync.saved_version == f->t.version;
}

static void on_written(void *arg, int ok, const char *err);
static int persist(struct fenced *f)
{
	if (!f->synced || !f->state_dir || saved_is_current(f))
		return 0;
	if (f->sync.writing) {
		f->sync.again = 1;
		return 1;
	}
	/* started here, in the loop: after daemon(), which keeps no thread */
	if (!f->sync.writer && !(f->sync.writer = writer_new(f->base, on_written, f)))
		fatalx("cannot start the table's writer");
	size_t len;
	uint8_t *p = store_encode(&f->t, &len);
	if (!p) {
		log_warnx("sync: cannot save the table: out of memory");
		return 0;
	}
	f->sync.writing = 1;
	f->sync.writing_epoch = f->t.epoch;
	f->sync.writing_version = f->t.version;
	writer_submit(f->sync.writer, f->state_dir, p, len);
	return 1;
}

/* what a settle waits for is done: act on the table */
static void settled(struct fenced *f)
{
	f->sync.settle_wanted = 0;
	fenced_event(f, SE_SETTLED, NULL);
}

static void on_written(void *arg, int ok, const char *err)
{
	struct fenced *f = arg;
	f->sync.writing = 0;
	if (ok) {
		f->sync.saved_any = 1;
		f->sync.saved_epoch = f->sync.writing_epoch;
		f->sync.saved_version = f->sync.writing_version;
		log_debug("sync: table saved: epoch %llu version %llu",
		    (unsigned long long)f->sync.saved_epoch, (unsigned long long)f->sync.saved_version);
	} else
		log_warnx("sync: cannot save the table: %s", err);
	if (f->sync.again) {
		f->sync.again = 0;
		if (persist(f))
			return;
	}
	if (f->sync.settle_wanted)
		settled(f);
}

/*
 * After deliveries: save the table, then act on it (coordinator and local
 * duties).  Deferred to the loop's next turn, so a burst of deliveries is
 * saved and acted on once; a control query (a migration's destination
 * asking whether a VM is its own now) is answered from memory meanwhile,
 * without waiting for the disk or for the local duties' calls to hvd.
 * Still nothing is acted on before it is on disk.
 */
static void on_settle(evutil_socket_t fd, short ev, void *arg)
{
	struct fenced *f = arg;
	(void)fd;
	(void)ev;
	f->sync.settle_wanted = 1;
	if (!persist(f))
		settled(f);
}

static void settle_soon(struct fenced *f)
{
	struct timeval now = { 0, 0 };
	if (!evtimer_pending(f->sync.settle_ev, NULL))
		evtimer_add(f->sync.settle_ev, &now);
}

void sync_init(struct fenced *f)
{
	f->sync.wq_tail = &f->sync.wq;
	f->sync.settle_ev = evtimer_new(f->base, on_settle, f);
}

void sync_shutdown(struct fenced *f)
{
	char err[512];
	writer_free(f->sync.writer);	/* a table handed over reaches the disk first */
	f->sync.writer = NULL;
	f->sync.writing = 0;
	/* and one that waited for it, here and now */
	if (f->synced && f->state_dir && !saved_is_current(f) &&
	    store_save(f->state_dir, &f->t, err, sizeof(err)) < 0)
		log_warnx("sync: cannot save the table: %s", err);
	event_free(f->sync.settle_ev);
}

void sync_view(struct fenced *f, const uint32_t *members, size_t n)
{
	if (f->synced && !quorate_now(f))
		unsync(f, "the view is not quorate");
	if (f->synced) {
		int lost = table_view(&f->t, members, n);
		if (lost)
			log_warnx("sync: %d host%s left the membership: to be fenced", lost,
			    lost > 1 ? "s" : "");
	}
	f->sync.nhello = 0;
	for (size_t i = 0; i < f->mb.n; i++)
		f->sync.hello[f->sync.nhello++] = (struct sync_hello){ f->mb.members[i], 0, 0, 0, 0 };
	f->sync.round_no++;
	persist(f);
	log_ready(f);
	send_hello(f);
}

void sync_quorum(struct fenced *f, int quorate)
{
	if (!quorate)
		unsync(f, "lost quorum");
	else if (!f->synced)
		send_hello(f);	/* ask for the table again */
	log_ready(f);
}

static void fail_waiters(struct fenced *f, const char *why)
{
	while (f->sync.wq) {
		struct sync_waiter *w = f->sync.wq;
		f->sync.wq = w->next;
		if (w->cb)
			w->cb(w->arg, 0, why);
		free(w);
	}
	f->sync.wq_tail = &f->sync.wq;
}

void sync_disconnected(struct fenced *f)
{
	unsync(f, "lost corosync");
	f->sync.nhello = 0;
	fail_waiters(f, "lost the connection to corosync before the message was delivered");
	log_ready(f);
}

int sync_send(struct fenced *f, struct msg_out *m, sent_fn cb, void *arg)
{
	struct sync_waiter *w;
	if (!sync_ready(f)) {
		errno = EAGAIN;
		return -1;
	}
	if (msg_end(m) < 0 || !(w = calloc(1, sizeof(*w))))
		return -1;
	if (cpg_send(f, m) < 0) {
		free(w);
		return -1;
	}
	w->cb = cb;
	w->arg = arg;
	*f->sync.wq_tail = w;
	f->sync.wq_tail = &w->next;
	return 0;
}

static void on_hello(struct fenced *f, uint32_t sender, const struct msg_in *m)
{
	for (size_t i = 0; i < f->sync.nhello; i++) {
		if (f->sync.hello[i].node != sender)
			continue;
		f->sync.hello[i].have = 1;
		f->sync.hello[i].synced = msg_u32(m, CA_SYNCED) != 0;
		f->sync.hello[i].epoch = msg_u64(m, CA_EPOCH);
		f->sync.hello[i].version = msg_u64(m, CA_VERSION);
		if (msg_u32(m, CA_PROTO) != CLUSTER_PROTO) {
			log_warnx("sync: node %u speaks cluster protocol %u, this host %u: it takes no "
			    "part in the table", sender, msg_u32(m, CA_PROTO), CLUSTER_PROTO);
			f->sync.hello[i].synced = 1;	/* does not block the others */
		}
		if (!f->sync.hello[i].synced)
			f->sync.round_no++;	/* a new request for the table */
	}
	evaluate(f);
}

static void on_table(struct fenced *f, uint32_t sender, const struct msg_in *m)
{
	char err[256];
	int cold;
	uint32_t donor = donor_of(f, &cold);
	if (sender != donor) {	/* whatever it holds: only the round's donor hands out the table */
		if (donor)
			log_warnx("sync: TABLE from node %u refused: the donor of this round is node %u",
			    sender, donor);
		else
			log_warnx("sync: TABLE from node %u refused: no table is due (every member is "
			    "synced, or a HELLO is missing)", sender);
		return;
	}
	if (!f->synced) {
		if (!quorate_now(f)) {
			log_info("sync: table from node %u ignored: not quorate", sender);
			return;
		}
		if (table_load(&f->t, m, err, sizeof(err)) < 0) {
			log_warnx("sync: table from node %u rejected: %s", sender, err);
			return;
		}
		f->synced = 1;
		log_info("sync: table from node %u loaded: epoch %llu version %llu, %zu VMs", sender,
		    (unsigned long long)f->t.epoch, (unsigned long long)f->t.version, f->t.nvm);
		send_hello(f);
	}
	table_view(&f->t, f->mb.members, f->mb.n);
}

static void log_change(struct fenced *f, uint32_t sender, const struct msg_in *m, int ok, const char *err)
{
	char name[80] = "";
	msg_str(m, CA_NAME, name, sizeof(name));
	const char *type = cluster_schema.policies[m->type].name;
	if (!ok && m->type == CM_MIG_ABORT)	/* a resolve after the migration was over */
		log_info("table: %s %s from node %u: nothing to abort (%s)", type, name, sender, err);
	else if (!ok)
		log_warnx("table: %s %s from node %u rejected: %s", type, name, sender, err);
	else if (m->type == CM_FENCED)
		log_info("table: node %u %s by %s (reported by node %u)", msg_u32(m, CA_NODE),
		    msg_u32(m, CA_OK) ? "fenced" : "NOT fenced",
		    msg_str(m, CA_METHOD, name, sizeof(name)), sender);
	else {
		struct tvm *v = name[0] ? table_vm(&f->t, name) : NULL;
		if (v)
			log_info("table: %s %s from node %u -> owner %u, generation %llu, %s "
			    "(version %llu)", type, name, sender, v->owner, (unsigned long long)v->gen,
			    vm_state_name(v->state), (unsigned long long)f->t.version);
		else
			log_info("table: %s %s from node %u (version %llu)", type, name, sender,
			    (unsigned long long)f->t.version);
	}
}

/* the coordinator starts fencing a host; this one, if it is the target,
 * notes it for migrated's FENCE_ASK (control.c) */
static void on_fencing(struct fenced *f, uint32_t sender, const struct msg_in *m)
{
	uint32_t node = msg_u32(m, CA_NODE);
	if (!f->mb.n || sender != f->mb.members[0]) {
		log_warnx("sync: FENCING of node %u from node %u refused: not the coordinator", node,
		    sender);
		return;
	}
	log_info("sync: the coordinator (node %u) fences node %u%s", sender, node,
	    node == f->mb.nodeid ? ": this host" : "");
	if (node == f->mb.nodeid) {
		f->fencing_me_ms = mono_ms();
		f->fencing_me_by = sender;
	}
}

int sync_member(const struct fenced *f, uint32_t node)
{
	for (size_t i = 0; i < f->mb.n; i++)
		if (f->mb.members[i] == node)
			return 1;
	return 0;
}

/*
 * Changes no sender may make, checked where the view is known: a host
 * cannot report itself fenced, and a host that is still a member is fenced
 * only by the coordinator (an admin's `tandem fence`, carried out there).
 */
static int invariant(struct fenced *f, uint32_t sender, const struct msg_in *m, char *err, size_t el)
{
	if (m->type != CM_FENCED || !msg_u32(m, CA_OK))
		return 0;
	uint32_t node = msg_u32(m, CA_NODE);
	if (node == sender)
		return refuse(err, el, "node %u cannot report itself fenced", node);
	if (sync_member(f, node) && f->mb.n && sender != f->mb.members[0])
		return refuse(err, el, "node %u is a member: only the coordinator (node %u) fences "
		    "a member", node, f->mb.members[0]);
	return 0;
}

void sync_deliver(struct fenced *f, uint32_t sender, uint32_t pid, const void *buf, size_t len)
{
	struct msg_in m;
	char err[256] = "";
	int ours = sender == f->mb.nodeid && pid == f->pid, ok = 0, parsed = 0;

	if (cluster_parse(buf, len, &m, err, sizeof(err)) < 0)
		log_warnx("sync: rejected a message of %zu bytes from node %u pid %u: %s", len, sender,
		    pid, err);
	else if ((parsed = 1) && m.type == CM_HELLO)
		on_hello(f, sender, &m);
	else if (m.type == CM_TABLE)
		on_table(f, sender, &m);
	else if (m.type == CM_FENCING)
		on_fencing(f, sender, &m);
	else if (!f->synced)
		snprintf(err, sizeof(err), "this host is not synced");
	else {
		ok = invariant(f, sender, &m, err, sizeof(err)) == 0 &&
		    table_apply(&f->t, sender, &m, err, sizeof(err)) == 0;
		log_change(f, sender, &m, ok, err);
		if (ok && m.type == CM_FENCED && msg_u32(&m, CA_OK) && sender != f->mb.nodeid)
			fence_settled(f->fencer, msg_u32(&m, CA_NODE));
		if (ok && (m.type == CM_CLAIM || m.type == CM_REMOVE)) {
			char name[T_NAME_MAX + 2];
			msg_str(&m, CA_NAME, name, sizeof(name));
			fenced_event(f, SE_FORGET, name);
		}
	}
	if (ours && !(parsed && (m.type == CM_HELLO || m.type == CM_TABLE)) && f->sync.wq) {
		struct sync_waiter *w = f->sync.wq;
		if (!(f->sync.wq = w->next))
			f->sync.wq_tail = &f->sync.wq;
		if (w->cb)
			w->cb(w->arg, ok, err);
		free(w);
	}
	log_ready(f);
	settle_soon(f);
}
