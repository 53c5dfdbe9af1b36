/*
 * events.c - the cluster's events as this host sees them, for `tandem
 * events`: VMs created, removed, migrated, restarted elsewhere, taken over
 * by their backup, protected and unprotected, changing state; hosts changing
 * status (up, lost, fenced) or mode; this host's membership and quorum; the
 * fencings this host ran.  Table events come from comparing the table with
 * the one last seen each time deliveries settle, so every change the
 * replicated table takes is told once, whoever made it.  A ring of the last
 * EV_MAX, numbered, so a follower asks for what came after the last it saw.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fenced.h"
#include "log.h"

static const char *host_name(const struct fenced *f, uint32_t node, char *buf, size_t len)
{
	const struct cf_host *h = conf_host(&f->conf, node);
	if (h)
		return h->name;
	snprintf(buf, len, "node %u", node);
	return buf;
}

void events_add(struct fenced *f, const char *kind, const char *name, const char *fmt, ...)
{
	struct events *e = &f->events;
	struct ev_rec *r = &e->ring[e->next % EV_MAX];
	va_list ap;
	r->seq = ++e->next;
	r->time_ms = wall_ms();
	snprintf(r->kind, sizeof(r->kind), "%s", kind);
	snprintf(r->name, sizeof(r->name), "%s", name);
	va_start(ap, fmt);
	vsnprintf(r->detail, sizeof(r->detail), fmt, ap);
	va_end(ap);
	log_context("%s=%s EVENT=%llu", strcmp(kind, "vm") ? "HOST" : "VM", name,
	    (unsigned long long)r->seq);
	log_info("event: %s %s: %s", kind, name, r->detail);
	log_context(NULL);
}

const struct ev_rec *events_get(const struct fenced *f, uint64_t seq)
{
	const struct events *e = &f->events;
	if (!seq || seq > e->next || e->next - seq >= EV_MAX)
		return NULL;
	return &e->ring[(seq - 1) % EV_MAX];
}

static const struct tvm *find(const struct table *t, const char *name)
{
	for (size_t i = 0; i < t->nvm; i++)
		if (!strcmp(t->vm[i].name, name))
			return &t->vm[i];
	return NULL;
}

static void vm_changes(struct fenced *f, const struct tvm *a, const struct tvm *b)
{
	char x[32], y[32], z[32];
	if (!a) {
		events_add(f, "vm", b->name, "created on %s (%s policy, generation %llu)",
		    host_name(f, b->owner, x, sizeof(x)), vm_policy_name(b->policy),
		    (unsigned long long)b->gen);
		return;
	}
	if (!b) {
		events_add(f, "vm", a->name, "removed (was on %s)", host_name(f, a->owner, x, sizeof(x)));
		return;
	}
	if (a->owner != b->owner) {
		const char *from = host_name(f, a->owner, x, sizeof(x)), *to = host_name(f, b->owner, y,
		    sizeof(y));
		if (a->state == VS_MIGRATING && a->target == b->owner)
			events_add(f, "vm", b->name, "migrated %s -> %s (generation %llu)", from, to,
			    (unsigned long long)b->gen);
		else if (a->backup && a->backup == b->owner)
			events_add(f, "vm", b->name, "taken over by its backup on %s after %s was lost "
			    "(generation %llu)", to, from, (unsigned long long)b->gen);
		else
			events_add(f, "vm", b->name, "restarted on %s (was on %s; generation %llu)", to,
			    from, (unsigned long long)b->gen);
	} else if (a->state != b->state) {
		if (b->state == VS_MIGRATING)
			events_add(f, "vm", b->name, "migrating %s -> %s", host_name(f, b->owner, x,
			    sizeof(x)), host_name(f, b->target, y, sizeof(y)));
		else
			events_add(f, "vm", b->name, "%s -> %s on %s", vm_state_name(a->state),
			    vm_state_name(b->state), host_name(f, b->owner, x, sizeof(x)));
	}
	if (a->backup != b->backup) {
		if (!a->backup)
			events_add(f, "vm", b->name, "protected: its shadow on %s", host_name(f, b->backup,
			    x, sizeof(x)));
		else if (!b->backup)
			events_add(f, "vm", b->name, "unprotected: no shadow on %s any more",
			    host_name(f, a->backup, x, sizeof(x)));
		else
			events_add(f, "vm", b->name, "backup %s -> %s", host_name(f, a->backup, y,
			    sizeof(y)), host_name(f, b->backup, z, sizeof(z)));
	}
}

static void table_changes(struct fenced *f, const struct table *a, const struct table *b)
{
	char x[32];
	for (size_t i = 0; i < b->nhost; i++) {
		const struct thost *h = &b->host[i], *o = NULL;
		for (size_t j = 0; j < a->nhost; j++)
			if (a->host[j].node == h->node)
				o = &a->host[j];
		if (!o)
			continue;
		const char *n = host_name(f, h->node, x, sizeof(x));
		if (o->status != h->status)
			events_add(f, "host", n, "%s -> %s", host_status_name(o->status),
			    host_status_name(h->status));
		if (o->mode != h->mode)
			events_add(f, "host", n, "mode %s -> %s", host_mode_name(o->mode),
			    host_mode_name(h->mode));
	}
	for (size_t i = 0; i < a->nvm; i++)
		if (!find(b, a->vm[i].name))
			vm_changes(f, &a->vm[i], NULL);
	for (size_t i = 0; i < b->nvm; i++) {
		const struct tvm *o = find(a, b->vm[i].name);
		if (!o || memcmp(o, &b->vm[i], sizeof(*o)))
			vm_changes(f, o, &b->vm[i]);
	}
}

static void membership_changes(struct fenced *f)
{
	struct events *e = &f->events;
	const struct membership *mb = &f->mb;
	if (e->have_mb && e->mbstate == mb->state && e->nmembers == mb->n &&
	    !memcmp(e->members, mb->members, mb->n * sizeof(mb->members[0])))
		return;
	char list[MB_MAX_NODES * 12] = "", x[32];
	size_t o = 0;
	for (size_t i = 0; i < mb->n && o < sizeof(list); i++)
		o += (size_t)snprintf(list + o, sizeof(list) - o, "%s%s", i ? "," : "",
		    host_name(f, mb->members[i], x, sizeof(x)));
	char self[32];
	events_add(f, "membership", host_name(f, mb->nodeid, self, sizeof(self)), "%s, members %s",
	    mb_state_name(mb->state), o ? list : "none");
	e->have_mb = 1;
	e->mbstate = mb->state;
	e->nmembers = mb->n;
	memcpy(e->members, mb->members, mb->n * sizeof(mb->members[0]));
}

void events_check(struct fenced *f)
{
	struct events *e = &f->events;
	membership_changes(f);
	if (!e->last && !(e->last = malloc(sizeof(*e->last))))
		return;
	if (!f->synced)		/* not the cluster's table yet: nothing to tell */
		return;
	if (e->have && e->last->version == f->t.version && e->last->epoch == f->t.epoch)
		return;
	if (e->have)
		table_changes(f, e->last, &f->t);
	else
		events_add(f, "table", "cluster", "synced: %zu VMs, version %llu", f->t.nvm,
		    (unsigned long long)f->t.version);
	*e->last = f->t;
	e->have = 1;
}

void events_fence(struct fenced *f, uint32_t node, int ok, const char *method, const char *detail)
{
	char x[32];
	events_add(f, "fence", host_name(f, node, x, sizeof(x)), "%s by %s: %s", ok ? "fenced" :
	    "NOT fenced", method, detail);
}

void events_free(struct fenced *f)
{
	free(f->events.last);
	f->events.last = NULL;
}
