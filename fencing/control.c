/*
 * control.c - fenced's control socket: `tandem status`, `tandem fence`,
 * `tandem evacuate`, `tandem vm create` in a cluster, and migrated's three
 * calls around a migration (begin, commit, resolve).  A request that
 * changes the table is answered once its CPG message is delivered and the
 * table has accepted or rejected it; a client that hangs up meanwhile is
 * simply not answered.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctlsrv.h"
#include "fence.h"
#include "beat.h"
#include "fenced.h"
#include "hv.h"
#include "log.h"

struct control_pending {
	struct fenced *f;
	struct ctlsrv_client *c;	/* NULL once the client is gone */
	uint32_t seq;
	uint16_t type;
	uint32_t node;
	char name[T_NAME_MAX + 1];
	struct control_pending *next;
};

static struct control_pending *pending_new(struct fenced *f, struct ctlsrv_client *c, const struct msg_in *in)
{
	struct control_pending *p = calloc(1, sizeof(*p));
	if (!p)
		return NULL;
	p->f = f;
	p->c = c;
	p->seq = in->seq;
	p->type = in->type;
	msg_str(in, FA_NAME, p->name, sizeof(p->name));
	p->next = f->pend;
	f->pend = p;
	return p;
}

static void pending_free(struct fenced *f, struct control_pending *p)
{
	for (struct control_pending **q = &f->pend; *q; q = &(*q)->next)
		if (*q == p) {
			*q = p->next;
			break;
		}
	free(p);
}

static void gone(struct ctlsrv_client *c)
{
	struct fenced *f = ctlsrv_ctx(c);
	for (struct control_pending *p = f->pend; p; p = p->next)
		if (p->c == c)
			p->c = NULL;
}

static void reply(struct ctlsrv_client *c, struct msg_out *o)
{
	if (c && msg_end(o) == 0)
		ctlsrv_reply(c, o->buf, o->len, NULL, 0);
	msg_free(o);
}

static void reply_vm(struct fenced *f, struct control_pending *p)
{
	struct msg_out o;
	struct tvm *v = table_vm(&f->t, p->name);
	msg_begin(&o, FC_OK, p->seq);
	msg_add_u32(&o, FA_NODEID, f->mb.nodeid);
	if (v) {
		msg_add_u32(&o, FA_OWNER, v->owner);
		msg_add_u64(&o, FA_GEN, v->gen);
		msg_add_u32(&o, FA_STATE, v->state);
		msg_add_u32(&o, FA_BACKUP, v->backup);
		if (v->target)
			msg_add_u32(&o, FA_TO, v->target);
	}
	reply(p->c, &o);
}

static void fail(struct fenced *f, struct control_pending *p, int e, const char *why)
{
	if (p->c)
		ctlsrv_error(p->c, p->seq, e, "%s", why);
	pending_free(f, p);
}

/* a table change of ours was delivered */
static void on_sent(void *arg, int ok, const char *err)
{
	struct control_pending *p = arg;
	struct fenced *f = p->f;
	char e[300];
	if (p->type == FC_MIG_RESOLVE) {	/* rejected or not: now the owner is final */
		reply_vm(f, p);
		pending_free(f, p);
		return;
	}
	if (!ok) {
		fail(f, p, p->type == FC_MIG_COMMIT ? ESTALE : p->type == FC_TAKEOVER ? ESRCH : EPERM, err);
		return;
	}
	if (p->type == FC_VM_CREATE && local_start(f, p->name, e, sizeof(e)) < 0) {
		fail(f, p, EIO, e);
		return;
	}
	if (p->type == FC_VM_REMOVE) {
		struct hv *h = local_hv(f);
		if (h) {
			if (h->ops->domain_destroy(h, p->name) < 0 && errno != ENOENT)
				log_warnx("remove %s: %s", p->name, hv_error(h));
			h->ops->close(h);
		}
	}
	reply_vm(f, p);
	pending_free(f, p);
}

static int send_change(struct fenced *f, struct ctlsrv_client *c, const struct msg_in *in, struct msg_out *m)
{
	struct control_pending *p = pending_new(f, c, in);
	if (!p || sync_send(f, m, on_sent, p) < 0) {
		int e = errno;
		if (p)
			pending_free(f, p);
		ctlsrv_error(c, in->seq, e, e == EAGAIN ? "the cluster cannot change the table now "
		    "(this host is %s, %s): retry" : "cannot send: %s", mb_state_name(f->mb.state),
		    e == EAGAIN ? sync_state(f) : strerror(e));
		msg_free(m);
		return -1;
	}
	msg_free(m);
	return 0;
}

static const struct cf_host *host_arg(struct fenced *f, struct ctlsrv_client *c, const struct msg_in *in)
{
	char s[256];
	const struct cf_host *h = conf_find(&f->conf, msg_str(in, FA_HOST, s, sizeof(s)));
	if (!h)
		ctlsrv_error(c, in->seq, ENOENT, "unknown host '%s' (not in the cluster config)", s);
	return h;
}

static struct tvm *vm_arg(struct fenced *f, struct ctlsrv_client *c, const struct msg_in *in, int mine)
{
	char s[T_NAME_MAX + 2];
	struct tvm *v = table_vm(&f->t, msg_str(in, FA_NAME, s, sizeof(s)));
	if (!v)
		ctlsrv_error(c, in->seq, ENOENT, "no VM '%s' in the cluster table", s);
	else if (mine && v->owner != f->mb.nodeid) {
		const struct cf_host *o = conf_host(&f->conf, v->owner);
		ctlsrv_error(c, in->seq, EPERM, "VM %s is owned by %s (node %u), not this host", s,
		    o ? o->name : "?", v->owner);
		return NULL;
	}
	return v;
}

static void add_vm(struct msg_out *o, const struct tvm *v, uint32_t to)
{
	struct msg_out a;
	msg_begin_attrs(&a);
	table_vm_attrs(&a, v);
	if (to)
		msg_add_u32(&a, CA_TO, to);
	msg_add_blob(o, FA_VM, a.buf, a.len);
	msg_free(&a);
}

static void status(struct fenced *f, struct ctlsrv_client *c, const struct msg_in *in)
{
	struct msg_out o;
	char m[512];
	msg_begin(&o, FC_OK, in->seq);
	msg_add_u32(&o, FA_NODEID, f->mb.nodeid);
	msg_add_u32(&o, FA_STATE, f->mb.state);
	msg_add_u32(&o, FA_QUORATE, (uint32_t)quorate_now(f));	/* read fresh */
	mb_members_str(&f->mb, m, sizeof(m));
	msg_add_str(&o, FA_MEMBERS, m);
	msg_add_u64(&o, FA_VIEWS, f->mb.views);
	msg_add_u64(&o, FA_SINCE_MS, mb_since_ms(&f->mb));
	msg_add_str(&o, FA_SYNC, sync_state(f));
	msg_add_u64(&o, FA_VERSION, f->t.version);
	msg_add_str(&o, FA_WATCHDOG, local_watchdog(f));
	for (size_t i = 0; i < f->t.nvm; i++)
		add_vm(&o, &f->t.vm[i], place_pick(&f->t, &f->conf, f->t.vm[i].mem, f->t.vm[i].owner, NULL));
	for (size_t i = 0; i < f->t.nhost; i++) {
		const struct thost *t = &f->t.host[i];
		const struct cf_host *h = conf_host(&f->conf, t->node);
		struct msg_out a;
		msg_begin_attrs(&a);
		msg_add_u32(&a, CA_NODE, t->node);
		msg_add_str(&a, CA_NAME, h ? h->name : "?");
		msg_add_str(&a, CA_DETAIL, h ? h->addr : "?");
		msg_add_u32(&a, CA_STATUS, t->status);
		msg_add_u32(&a, CA_MODE, t->mode);
		msg_add_u64(&a, CA_MEM, h ? h->mem : 0);
		msg_add_u64(&a, CA_VERSION, place_free(&f->t, &f->conf, t->node));	/* free */
		msg_add_blob(&o, FA_HOSTINFO, a.buf, a.len);
		msg_free(&a);
	}
	reply(c, &o);
}

static void history(struct fenced *f, struct ctlsrv_client *c, const struct msg_in *in)
{
	struct msg_out o;
	size_t a = 0, b = 0, na = fring_count(&f->t.hist), nb = fring_count(&f->local.hist);
	msg_begin(&o, FC_OK, in->seq);
	while (a < na || b < nb) {	/* merged by time */
		const struct tfence *x = a < na ? fring_get(&f->t.hist, a) : NULL;
		const struct tfence *y = b < nb ? fring_get(&f->local.hist, b) : NULL;
		if (x && (!y || x->time_ms <= y->time_ms)) {
			table_fence_encode(&o, FA_FENCE, x);
			a++;
		} else {
			table_fence_encode(&o, FA_FENCE, y);
			b++;
		}
	}
	reply(c, &o);
}

/* the events after SEQ, at most EV_BATCH a reply (the CLI asks again) */
#define EV_BATCH	128
static void events(struct fenced *f, struct ctlsrv_client *c, const struct msg_in *in)
{
	uint64_t since = msg_has(in, FA_SEQ) ? msg_u64(in, FA_SEQ) : 0, s = since, last = since;
	struct msg_out o;
	msg_begin(&o, FC_OK, in->seq);
	if (f->events.next > EV_MAX && s < f->events.next - EV_MAX)
		s = f->events.next - EV_MAX;	/* older ones are gone */
	for (size_t n = 0; ++s <= f->events.next && n < EV_BATCH; n++) {
		const struct ev_rec *r = events_get(f, s);
		struct msg_out a;
		msg_begin_attrs(&a);
		msg_add_u64(&a, FA_SEQ, r->seq);
		msg_add_u64(&a, FA_TIME, r->time_ms);
		msg_add_str(&a, FA_KIND, r->kind);
		msg_add_str(&a, FA_NAME, r->name);
		msg_add_str(&a, FA_DETAIL, r->detail);
		msg_add_blob(&o, FA_EVENT, a.buf, a.len);
		msg_free(&a);
		last = r->seq;
	}
	msg_add_u64(&o, FA_SEQ, last);
	reply(c, &o);
}

static void plan(struct fenced *f, struct ctlsrv_client *c, const struct msg_in *in)
{
	const struct cf_host *h = host_arg(f, c, in);
	uint64_t extra[T_MAX_HOSTS] = { 0 };
	struct msg_out o;
	if (!h)
		return;
	msg_begin(&o, FC_OK, in->seq);
	msg_add_u32(&o, FA_NODEID, h->node);
	for (size_t i = 0; i < f->t.nvm; i++) {
		const struct tvm *v = &f->t.vm[i];
		if (v->owner == h->node && (v->state == VS_RUNNING || v->state == VS_MIGRATING))
			add_vm(&o, v, place_pick(&f->t, &f->conf, v->mem, h->node, extra));
	}
	reply(c, &o);
}

void control_fence_done(struct fenced *f, uint32_t node, int ok, const char *method, const char *detail)
{
	for (struct control_pending *p = f->pend, *n; p; p = n) {
		n = p->next;
		if (p->type != FC_FENCE || p->node != node)
			continue;
		if (!ok) {
			fail(f, p, EIO, detail);
			continue;
		}
		struct msg_out o;
		msg_begin(&o, FC_OK, p->seq);
		msg_add_u32(&o, FA_NODEID, node);
		msg_add_str(&o, FA_METHOD, method);
		msg_add_str(&o, FA_DETAIL, detail);
		reply(p->c, &o);
		pending_free(f, p);
	}
}

static void fence(struct fenced *f, struct ctlsrv_client *c, const struct msg_in *in)
{
	const struct cf_host *h = host_arg(f, c, in);
	char err[256];
	if (!h)
		return;
	if (h->node == f->mb.nodeid) {
		ctlsrv_error(c, in->seq, EINVAL, "%s is this host: fence it from another one", h->name);
		return;
	}
	if (!sync_ready(f)) {
		ctlsrv_error(c, in->seq, EAGAIN, "this host is %s and %s: it fences nothing",
		    mb_state_name(f->mb.state), sync_state(f));
		return;
	}
	if (sync_member(f, h->node) && !sync_coordinator(f)) {
		ctlsrv_error(c, in->seq, EPERM, "%s is a member of the cluster: only the coordinator "
		    "(node %u) fences a member; run this there", h->name, f->mb.members[0]);
		return;
	}
	struct control_pending *p = pending_new(f, c, in);
	if (!p)
		return;
	p->node = h->node;
	if (!fence_busy(f->fencer, h->node) && coord_fence(f, h->node, err, sizeof(err)) < 0)
		fail(f, p, EIO, err);
	else
		log_info("fence %s (node %u): requested on the control socket", h->name, h->node);
}

/*
 * migrated asks before it obeys a FENCE: a host that is a synced member of
 * a quorate cluster takes one only while the coordinator fences it; a host
 * cut off from the cluster cannot know, and takes it (the majority fences
 * it, and it self-fences anyway).
 */
static void fence_ask(struct fenced *f, struct ctlsrv_client *c, const struct msg_in *in)
{
	struct msg_out o;
	char why[200];
	uint64_t window = (uint64_t)f->conf.fence_timeout_ms * (f->conf.nlevels + 1) + 5000;
	int allow = 1;
	if (!sync_ready(f))
		snprintf(why, sizeof(why), "this host is %s and %s: it cannot tell", mb_state_name(f->mb.state),
		    sync_state(f));
	else if (f->fencing_me_ms && mono_ms() - f->fencing_me_ms < window)
		snprintf(why, sizeof(why), "the coordinator (node %u) fences this host", f->fencing_me_by);
	else {
		allow = 0;
		snprintf(why, sizeof(why), "this host is a member of a quorate cluster that is not "
		    "fencing it");
	}
	msg_begin(&o, FC_OK, in->seq);
	msg_add_u32(&o, FA_ALLOW, (uint32_t)allow);
	msg_add_str(&o, FA_DETAIL, why);
	reply(c, &o);
}

/* a protection's peer is silent: is its host gone, or only slow? */
static void lost(struct fenced *f, struct ctlsrv_client *c, const struct msg_in *in)
{
	const struct cf_host *h = host_arg(f, c, in);
	struct msg_out o;
	char why[400];
	int gone = 0;
	if (!h)
		return;
	const struct thost *t = table_host(&f->t, h->node);
	if (t && f->synced && t->status != HS_UP) {
		gone = 1;
		snprintf(why, sizeof(why), "%s is %s in the table", h->name, host_status_name(t->status));
	} else if (f->fast.beat)
		gone = beat_lost(f->fast.beat, h->node, why, sizeof(why));
	else
		snprintf(why, sizeof(why), "%s is a member and no heartbeats are configured", h->name);
	msg_begin(&o, FC_OK, in->seq);
	msg_add_u32(&o, FA_ALLOW, (uint32_t)gone);
	msg_add_str(&o, FA_DETAIL, why);
	reply(c, &o);
}

/*
 * The backup of a protected VM resumes its shadow only once the table says
 * the owner is fenced and this host is still its backup; the check here
 * saves a multicast per retry, and the table checks it again on delivery,
 * in order with everything else (table.c, CM_TAKEOVER).
 */
static void takeover(struct fenced *f, struct ctlsrv_client *c, const struct msg_in *in)
{
	struct tvm *v = vm_arg(f, c, in, 0);
	struct msg_out m;
	if (!v)
		return;
	const struct thost *o = table_host(&f->t, v->owner);
	if (msg_has(in, FA_GEN) && msg_u64(in, FA_GEN) != v->gen) {
		ctlsrv_error(c, in->seq, ESRCH, "VM %s moved on: generation %llu, the shadow is of %llu",
		    v->name, (unsigned long long)v->gen, (unsigned long long)msg_u64(in, FA_GEN));
		return;
	}
	if (v->backup != f->mb.nodeid) {
		ctlsrv_error(c, in->seq, ESRCH, "VM %s: this host is not its backup (the table says %u)",
		    v->name, v->backup);
		return;
	}
	if (!sync_ready(f) || !o || o->status != HS_FENCED) {
		char why[500];
		if (fast_takeover(f, v, msg_u64(in, FA_EPOCH), why, sizeof(why)) == 1) {
			msg_begin(&m, FC_OK, in->seq);
			msg_add_u32(&m, FA_NODEID, f->mb.nodeid);
			msg_add_u32(&m, FA_OWNER, f->mb.nodeid);
			msg_add_u64(&m, FA_GEN, v->gen + 1);
			msg_add_str(&m, FA_DETAIL, "the owner is fenced on heartbeat evidence; the table "
			    "follows once corosync's view forms");
			reply(c, &m);
			return;
		}
		ctlsrv_error(c, in->seq, EAGAIN, "VM %s: its owner (node %u) is %s in the table "
		    "(this host is %s, %s): %s", v->name, v->owner,
		    o ? host_status_name(o->status) : "unknown", mb_state_name(f->mb.state), sync_state(f),
		    why);
		return;
	}
	msg_begin(&m, CM_TAKEOVER, 0);
	msg_add_str(&m, CA_NAME, v->name);
	msg_add_u64(&m, CA_GEN, v->gen);
	msg_add_u64(&m, CA_EPOCH, msg_u64(in, FA_EPOCH));
	send_change(f, c, in, &m);
}

static void request(struct ctlsrv_client *c, const struct msg_in *in, const uint8_t *buf, size_t len)
{
	struct fenced *f = ctlsrv_ctx(c);
	(void)buf;
	(void)len;
	struct msg_out m;
	char s[600];
	const struct cf_host *h;
	struct tvm *v;

	switch (in->type) {
	case FC_STATUS:
		status(f, c, in);
		return;
	case FC_HISTORY:
		history(f, c, in);
		return;
	case FC_PLAN:
		plan(f, c, in);
		return;
	case FC_EVENTS:
		events(f, c, in);
		return;
	case FC_FENCE:
		fence(f, c, in);
		return;
	case FC_FENCE_ASK:
		fence_ask(f, c, in);
		return;
	case FC_VM_CREATE:
		msg_begin(&m, CM_CLAIM, 0);
		msg_add_str(&m, CA_NAME, msg_str(in, FA_NAME, s, sizeof(s)));
		msg_add_u64(&m, CA_MEM, msg_u64(in, FA_MEM));
		msg_add_u32(&m, CA_VCPUS, msg_u32(in, FA_VCPUS));
		msg_add_str(&m, CA_KERNEL, msg_str(in, FA_KERNEL, s, sizeof(s)));
		if (msg_has(in, FA_CMDLINE))
			msg_add_str(&m, CA_CMDLINE, msg_str(in, FA_CMDLINE, s, sizeof(s)));
		if (msg_has(in, FA_NET))
			msg_add_str(&m, CA_NET, msg_str(in, FA_NET, s, sizeof(s)));
		msg_add_u32(&m, CA_POLICY, msg_u32(in, FA_POLICY));
		send_change(f, c, in, &m);
		return;
	case FC_VM_REMOVE:
	case FC_MIG_BEGIN:
	case FC_MIG_COMMIT:
		if (!(v = vm_arg(f, c, in, 1)))
			return;
		h = NULL;
		if (in->type != FC_VM_REMOVE && !(h = host_arg(f, c, in)))
			return;
		msg_begin(&m, in->type == FC_VM_REMOVE ? CM_REMOVE : in->type == FC_MIG_BEGIN ?
		    CM_MIGRATE : CM_COMMIT, 0);
		msg_add_str(&m, CA_NAME, v->name);
		msg_add_u64(&m, CA_GEN, in->type == FC_MIG_COMMIT ? msg_u64(in, FA_GEN) : v->gen);
		if (h)
			msg_add_u32(&m, CA_TO, h->node);
		send_change(f, c, in, &m);
		return;
	case FC_MIG_RESOLVE:
		if (!(v = vm_arg(f, c, in, 0)))
			return;
		if (msg_u32(in, FA_MODE) == 1) {	/* a query: no message */
			struct control_pending q = { f, c, in->seq, in->type, 0, "", NULL };
			snprintf(q.name, sizeof(q.name), "%s", v->name);
			reply_vm(f, &q);
			return;
		}
		/* always sent: its delivery orders it after any COMMIT in flight */
		msg_begin(&m, CM_MIG_ABORT, 0);
		msg_add_str(&m, CA_NAME, v->name);
		msg_add_u64(&m, CA_GEN, v->gen);
		send_change(f, c, in, &m);
		return;
	case FC_PROTECT:	/* the owner, or the backup dropping its shadow: the table checks */
		if (!(v = vm_arg(f, c, in, 0)))
			return;
		h = NULL;
		if (msg_has(in, FA_HOST) && !(h = host_arg(f, c, in)))
			return;
		msg_begin(&m, CM_PROTECT, 0);
		msg_add_str(&m, CA_NAME, v->name);
		msg_add_u64(&m, CA_GEN, v->gen);
		msg_add_u32(&m, CA_TO, h ? h->node : 0);
		send_change(f, c, in, &m);
		return;
	case FC_TAKEOVER:
		takeover(f, c, in);
		return;
	case FC_LOST:
		lost(f, c, in);
		return;
	case FC_MODE:
		if (!(h = host_arg(f, c, in)))
			return;
		msg_begin(&m, CM_MODE, 0);
		msg_add_u32(&m, CA_NODE, h->node);
		msg_add_u32(&m, CA_MODE, msg_u32(in, FA_MODE));
		send_change(f, c, in, &m);
		return;
	}
	ctlsrv_error(c, in->seq, EINVAL, "request type %u is not for fenced", in->type);
}

void control_init(struct fenced *f, const char *path)
{
	const struct ctlsrv_conf conf = { &fencectl_schema, FC_OK, FC_ERR, FA_ERRNO, FA_ERRMSG,
		request, gone, f };
	if (ctlsrv_init(f->base, path, &conf) < 0)
		fatal("control socket %s", path);
}
