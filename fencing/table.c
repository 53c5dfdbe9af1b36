/*
 * table.c - the ownership table (table.h) and the rules that change it.
 *
 * Every rule checks the generation the sender saw, so of two messages that
 * race (a COMMIT from the source and a MIG_ABORT from the destination, a
 * PLACE from two coordinators) the one delivered first wins and the other
 * is rejected on every host alike.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "table.h"

#define B(a) (1ULL << (a))
#define LIMIT_MEM (1ULL << 40)

void table_init(struct table *t, const uint32_t *nodes, size_t n)
{
	memset(t, 0, sizeof(*t));
	for (size_t i = 0; i < n && i < T_MAX_HOSTS; i++)
		t->host[t->nhost++].node = nodes[i];
}

struct tvm *table_vm(struct table *t, const char *name)
{
	for (size_t i = 0; i < t->nvm; i++)
		if (!strcmp(t->vm[i].name, name))
			return &t->vm[i];
	return NULL;
}

struct thost *table_host(struct table *t, uint32_t node)
{
	for (size_t i = 0; i < t->nhost; i++)
		if (t->host[i].node == node)
			return &t->host[i];
	return NULL;
}

int table_name_ok(const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || n > T_NAME_MAX)
		return 0;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		    (*s >= '0' && *s <= '9') || *s == '-' || *s == '_' || *s == '.'))
			return 0;
	return 1;
}

uint64_t table_host_load(const struct table *t, uint32_t node)
{
	uint64_t sum = 0;
	for (size_t i = 0; i < t->nvm; i++) {
		const struct tvm *v = &t->vm[i];
		int live = v->state == VS_STARTING || v->state == VS_RUNNING || v->state == VS_MIGRATING;
		if ((live && v->owner == node) || (v->state == VS_MIGRATING && v->target == node))
			sum += v->mem;
	}
	return sum;
}

int table_view(struct table *t, const uint32_t *members, size_t n)
{
	int lost = 0;
	for (size_t i = 0; i < t->nhost; i++) {
		struct thost *h = &t->host[i];
		int in = 0;
		for (size_t k = 0; k < n; k++)
			in |= members[k] == h->node;
		if (in && h->status != HS_UP) {
			h->status = HS_UP;	/* back (rebooted) or first seen */
			t->version++;
		} else if (!in && h->status == HS_UP) {
			h->status = HS_LOST;	/* to be fenced */
			lost++;
			t->version++;
		}
	}
	return lost;
}


/* the VM named in m at the generation in m, else an error */
static struct tvm *vm_at(struct table *t, const struct msg_in *m, char *err, size_t errlen)
{
	char name[T_NAME_MAX + 2];
	msg_str(m, CA_NAME, name, sizeof(name));
	struct tvm *v = table_vm(t, name);
	uint64_t gen = msg_u64(m, CA_GEN);
	if (!v)
		refuse(err, errlen, "no VM %s in the table", name);
	else if (v->gen != gen) {
		snprintf(err, errlen, "VM %s is at generation %llu, not %llu", name,
		    (unsigned long long)v->gen, (unsigned long long)gen);
		errno = ESTALE;
		return NULL;
	}
	return v && v->gen == gen ? v : NULL;
}

static int host_usable(struct table *t, uint32_t node)
{
	struct thost *h = table_host(t, node);
	return h && h->status == HS_UP;
}

void fring_push(struct fring *g, const struct tfence *f)
{
	g->r[g->n++ % T_HIST] = *f;
}

size_t fring_count(const struct fring *g)
{
	return g->n < T_HIST ? (size_t)g->n : T_HIST;
}

const struct tfence *fring_get(const struct fring *g, size_t i)
{
	return &g->r[(g->n - fring_count(g) + i) % T_HIST];
}

static int apply_claim(struct table *t, uint32_t sender, const struct msg_in *m, char *err, size_t el)
{
	char name[T_NAME_MAX + 2];
	msg_str(m, CA_NAME, name, sizeof(name));
	uint64_t mem = msg_u64(m, CA_MEM);
	uint32_t vcpus = msg_u32(m, CA_VCPUS), policy = msg_u32(m, CA_POLICY);
	struct thost *h = table_host(t, sender);
	if (!table_name_ok(name))
		return refuse(err, el, "bad VM name '%s'", name);
	if (table_vm(t, name))
		return refuse(err, el, "VM %s is already in the table", name);
	if (t->nvm == T_MAX_VMS)
		return refuse(err, el, "table full (%d VMs)", T_MAX_VMS);
	if (mem < (1 << 20) || mem > LIMIT_MEM || (mem & 4095) || vcpus < 1 || vcpus > 64 ||
	    policy > VP_RESTART)
		return refuse(err, el, "VM %s: bad memory, vCPUs or policy", name);
	if (!h || h->status != HS_UP || h->mode != HM_ACTIVE)
		return refuse(err, el, "host %u cannot take VMs (not up or not active)", sender);
	struct tvm *v = &t->vm[t->nvm++];
	memset(v, 0, sizeof(*v));
	snprintf(v->name, sizeof(v->name), "%.64s", name);
	v->owner = sender;
	v->gen = 1;
	v->state = VS_STARTING;
	v->policy = policy;
	v->vcpus = vcpus;
	v->mem = mem;
	msg_str(m, CA_KERNEL, v->kernel, sizeof(v->kernel));
	msg_str(m, CA_CMDLINE, v->cmdline, sizeof(v->cmdline));
	msg_str(m, CA_NET, v->net, sizeof(v->net));
	return 0;
}

static int apply_vm(struct table *t, uint32_t sender, const struct msg_in *m, char *err, size_t el)
{
	struct tvm *v = vm_at(t, m, err, el);
	uint32_t to = msg_u32(m, CA_TO);
	if (!v)
		return -1;
	switch (m->type) {
	case CM_MIGRATE:
		if (v->owner != sender || v->state != VS_RUNNING)
			return refuse(err, el, "VM %s: only its owner may migrate it, and only while "
			    "running", v->name);
		if (to == sender || !host_usable(t, to))
			return refuse(err, el, "VM %s: host %u cannot receive it", v->name, to);
		v->state = VS_MIGRATING;
		v->target = to;
		return 0;
	case CM_COMMIT:
		if (v->owner != sender || v->state != VS_MIGRATING || v->target != to)
			return refuse(err, el, "VM %s: no migration to host %u in progress", v->name, to);
		if (!host_usable(t, to))	/* lost, not yet fenced: it may never run it */
			return refuse(err, el, "VM %s: host %u is not up", v->name, to);
		v->owner = to;
		v->gen++;
		v->state = VS_RUNNING;
		v->target = 0;
		v->backup = 0;	/* the shadow is of the old copy: the new owner protects anew */
		return 0;
	case CM_MIG_ABORT:
		if (v->state != VS_MIGRATING || (sender != v->owner && sender != v->target))
			return refuse(err, el, "VM %s: no migration of it to abort", v->name);
		v->state = VS_RUNNING;
		v->target = 0;
		return 0;
	case CM_PLACE: {
		struct thost *o = table_host(t, v->owner);
		if (v->owner != sender && (!o || o->status != HS_FENCED))
			return refuse(err, el, "VM %s: its owner %u is neither the sender nor fenced",
			    v->name, v->owner);
		if (!host_usable(t, to))
			return refuse(err, el, "VM %s: host %u is not up", v->name, to);
		v->owner = to;
		v->gen++;
		v->state = VS_STARTING;
		v->target = 0;
		v->backup = 0;	/* a fresh start: no shadow holds it */
		return 0;
	}
	case CM_PROTECT:
		if (!to && v->backup && v->backup == sender) {	/* the backup drops its shadow */
			v->backup = 0;
			return 0;
		}
		if (v->owner != sender || (v->state != VS_RUNNING && v->state != VS_MIGRATING))
			return refuse(err, el, "VM %s: only its owner protects it, and only while "
			    "running", v->name);
		if (to && (to == sender || !host_usable(t, to)))
			return refuse(err, el, "VM %s: host %u cannot be its backup", v->name, to);
		v->backup = to;
		return 0;
	case CM_TAKEOVER: {
		struct thost *o = table_host(t, v->owner);
		if (!v->backup || v->backup != sender)
			return refuse(err, el, "VM %s: host %u is not its backup", v->name, sender);
		if (!o || o->status != HS_FENCED)
			return refuse(err, el, "VM %s: its owner %u is not fenced: no takeover", v->name,
			    v->owner);
		v->owner = sender;
		v->gen++;
		v->state = VS_RUNNING;
		v->target = 0;
		v->backup = 0;
		return 0;
	}
	case CM_VMSTATE: {
		uint32_t s = msg_u32(m, CA_STATE);
		if (v->owner != sender)
			return refuse(err, el, "VM %s: only its owner reports its state", v->name);
		if (s != VS_RUNNING && s != VS_STOPPED && s != VS_FAILED)
			return refuse(err, el, "VM %s: state %u cannot be reported", v->name, s);
		v->state = s;
		return 0;
	}
	case CM_REMOVE: {
		struct thost *o = table_host(t, v->owner);
		if (v->owner != sender && (!o || o->status != HS_FENCED))
			return refuse(err, el, "VM %s: only its owner removes it", v->name);
		*v = t->vm[--t->nvm];
		return 0;
	}
	}
	return -1;
}

int table_apply(struct table *t, uint32_t sender, const struct msg_in *m, char *err, size_t el)
{
	int r;
	switch (m->type) {
	case CM_CLAIM:
		r = apply_claim(t, sender, m, err, el);
		break;
	case CM_MIGRATE: case CM_COMMIT: case CM_MIG_ABORT: case CM_PLACE: case CM_VMSTATE:
	case CM_REMOVE: case CM_PROTECT: case CM_TAKEOVER:
		r = apply_vm(t, sender, m, err, el);
		break;
	case CM_MODE: {
		struct thost *h = table_host(t, msg_u32(m, CA_NODE));
		uint32_t mode = msg_u32(m, CA_MODE);
		if (!h)
			r = refuse(err, el, "no host %u in the table", msg_u32(m, CA_NODE));
		else if (mode > HM_MAINTENANCE)
			r = refuse(err, el, "bad host mode %u", mode);
		else {
			h->mode = mode;
			r = 0;
		}
		break;
	}
	case CM_FENCED: {
		struct tfence f = { msg_u64(m, CA_TIME), msg_u32(m, CA_NODE), sender,
			msg_u32(m, CA_OK) != 0, "", "" };
		struct thost *h = table_host(t, f.node);
		msg_str(m, CA_METHOD, f.method, sizeof(f.method));
		msg_str(m, CA_DETAIL, f.detail, sizeof(f.detail));
		if (!h) {
			r = refuse(err, el, "no host %u in the table", f.node);
			break;
		}
		fring_push(&t->hist, &f);
		if (f.ok) {
			h->status = HS_FENCED;
			for (size_t i = 0; i < t->nvm; i++) {
				struct tvm *v = &t->vm[i];
				if (v->backup == f.node)
					v->backup = 0;	/* its shadow is gone */
				if (v->owner == f.node)
					v->state = v->policy == VP_RESTART || v->backup ? VS_FAILED :
					    VS_STOPPED;
				else if (v->state == VS_MIGRATING && v->target == f.node) {
					v->state = VS_RUNNING;	/* its destination is gone */
					v->target = 0;
				}
			}
		}
		r = 0;
		break;
	}
	default:
		snprintf(err, el, "message type %u does not change the table", m->type);
		errno = EINVAL;
		r = -1;
	}
	if (r == 0)
		t->version++;
	return r;
}

void table_fence_encode(struct msg_out *o, uint16_t attr, const struct tfence *f)
{
	struct msg_out a;
	msg_begin_attrs(&a);
	msg_add_u32(&a, CA_NODE, f->node);
	msg_add_u32(&a, CA_BY, f->by);
	msg_add_str(&a, CA_METHOD, f->method);
	msg_add_u32(&a, CA_OK, f->ok);
	if (f->detail[0])
		msg_add_str(&a, CA_DETAIL, f->detail);
	msg_add_u64(&a, CA_TIME, f->time_ms);
	msg_add_blob(o, attr, a.buf, a.len);
	msg_free(&a);
}

void table_vm_attrs(struct msg_out *a, const struct tvm *v)
{
	msg_add_str(a, CA_NAME, v->name);
	msg_add_u32(a, CA_OWNER, v->owner);
	msg_add_u64(a, CA_GEN, v->gen);
	msg_add_u32(a, CA_STATE, v->state);
	msg_add_u32(a, CA_POLICY, v->policy);
	msg_add_u64(a, CA_MEM, v->mem);
	if (v->target)
		msg_add_u32(a, CA_TARGET, v->target);
	if (v->backup)
		msg_add_u32(a, CA_BACKUP, v->backup);
}

int table_newer(uint64_t epoch_a, uint64_t version_a, uint64_t epoch_b, uint64_t version_b)
{
	return epoch_a > epoch_b || (epoch_a == epoch_b && version_a > version_b);
}

void table_encode(const struct table *t, struct msg_out *o)
{
	struct msg_out a;
	msg_add_u64(o, CA_EPOCH, t->epoch);
	msg_add_u64(o, CA_VERSION, t->version);
	for (size_t i = 0; i < t->nvm; i++) {
		const struct tvm *v = &t->vm[i];
		msg_begin_attrs(&a);
		table_vm_attrs(&a, v);
		msg_add_u32(&a, CA_VCPUS, v->vcpus);
		msg_add_str(&a, CA_KERNEL, v->kernel);
		if (v->cmdline[0])
			msg_add_str(&a, CA_CMDLINE, v->cmdline);
		if (v->net[0])
			msg_add_str(&a, CA_NET, v->net);
		msg_add_blob(o, CA_VM, a.buf, a.len);
		msg_free(&a);
	}
	for (size_t i = 0; i < t->nhost; i++) {
		msg_begin_attrs(&a);
		msg_add_u32(&a, CA_NODE, t->host[i].node);
		msg_add_u32(&a, CA_STATUS, t->host[i].status);
		msg_add_u32(&a, CA_MODE, t->host[i].mode);
		msg_add_blob(o, CA_HOST, a.buf, a.len);
		msg_free(&a);
	}
	for (size_t i = 0; i < fring_count(&t->hist); i++)
		table_fence_encode(o, CA_FENCE, fring_get(&t->hist, i));
}

int table_load(struct table *t, const struct msg_in *m, char *err, size_t el)
{
	static struct table n;	/* large: built aside, swapped in whole */
	struct msg_in a;
	const uint8_t *val;
	uint32_t len;
	size_t pos = 0;

	n = *t;			/* keeps the configured host list */
	n.nvm = 0;
	n.hist.n = 0;
	n.epoch = msg_u64(m, CA_EPOCH);
	n.version = msg_u64(m, CA_VERSION);
	while (msg_next(m, CA_VM, &pos, &val, &len)) {
		if (msg_parse_attrs(&cluster_schema, &cluster_vm_policy, val, len, &a, err, el) < 0)
			return -1;
		if (n.nvm == T_MAX_VMS)
			return refuse(err, el, "table of more than %d VMs", T_MAX_VMS);
		struct tvm *v = &n.vm[n.nvm];
		memset(v, 0, sizeof(*v));
		char name[T_NAME_MAX + 2];
		msg_str(&a, CA_NAME, name, sizeof(name));
		if (!table_name_ok(name) || table_vm(&n, name))
			return refuse(err, el, "bad or repeated VM name '%s' in a table", name);
		snprintf(v->name, sizeof(v->name), "%.64s", name);
		v->owner = msg_u32(&a, CA_OWNER);
		v->gen = msg_u64(&a, CA_GEN);
		v->state = msg_u32(&a, CA_STATE);
		v->policy = msg_u32(&a, CA_POLICY);
		v->mem = msg_u64(&a, CA_MEM);
		v->vcpus = msg_u32(&a, CA_VCPUS);
		v->target = msg_u32(&a, CA_TARGET);
		v->backup = msg_u32(&a, CA_BACKUP);
		msg_str(&a, CA_KERNEL, v->kernel, sizeof(v->kernel));
		msg_str(&a, CA_CMDLINE, v->cmdline, sizeof(v->cmdline));
		msg_str(&a, CA_NET, v->net, sizeof(v->net));
		if (v->state < VS_STARTING || v->state > VS_FAILED || v->policy > VP_RESTART ||
		    !v->gen || v->mem > LIMIT_MEM || !v->vcpus || v->vcpus > 64)
			return refuse(err, el, "VM %s in a table: bad state, policy or size", name);
		n.nvm++;
	}
	pos = 0;
	while (msg_next(m, CA_HOST, &pos, &val, &len)) {
		if (msg_parse_attrs(&cluster_schema, &cluster_host_policy, val, len, &a, err, el) < 0)
			return -1;
		struct thost *h = table_host(&n, msg_u32(&a, CA_NODE));
		uint32_t st = msg_u32(&a, CA_STATUS), mode = msg_u32(&a, CA_MODE);
		if (st > HS_FENCED || mode > HM_MAINTENANCE)
			return refuse(err, el, "host %u in a table: bad status or mode",
			    msg_u32(&a, CA_NODE));
		if (h) {	/* hosts this host's config does not know are left out */
			h->status = st;
			h->mode = mode;
		}
	}
	pos = 0;
	while (msg_next(m, CA_FENCE, &pos, &val, &len)) {
		if (msg_parse_attrs(&cluster_schema, &cluster_fence_policy, val, len, &a, err, el) < 0)
			return -1;
		struct tfence f = { msg_u64(&a, CA_TIME), msg_u32(&a, CA_NODE), msg_u32(&a, CA_BY),
			msg_u32(&a, CA_OK) != 0, "", "" };
		msg_str(&a, CA_METHOD, f.method, sizeof(f.method));
		msg_str(&a, CA_DETAIL, f.detail, sizeof(f.detail));
		fring_push(&n.hist, &f);
	}
	*t = n;
	return 0;
}

