/*
 * cluster.c - the CLI's view of fenced: its status reply decoded into
 * plain structs (hosts, the ownership table), for status, fence, evacuate
 * and vm create in a cluster.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cluster.h"
#include "ctl.h"
#include "fencectl.h"

int cl_fenced_configured(const struct ctl *c)
{
	return c->fenced || getenv("TANDEM_FENCED") || access(FENCED_DEFAULT_SOCK, F_OK) == 0;
}

void cl_open(const struct ctl *c, struct dclient *d)
{
	memset(d, 0, sizeof(*d));
	d->daemon = "fenced";
	d->schema = &fencectl_schema;
	d->err_type = FC_ERR;
	d->errmsg_attr = FA_ERRMSG;
	d->fd = -1;
	dc_open(c, d, c->fenced, "TANDEM_FENCED", FENCED_DEFAULT_SOCK);
}

static void nested(const struct ctl *c, const struct msg_in *in, uint16_t attr,
    const struct msg_policy *p, void (*each)(const struct msg_in *, void *), void *arg)
{
	size_t pos = 0;
	const uint8_t *v;
	uint32_t len;
	char err[256];
	while (msg_next(in, attr, &pos, &v, &len)) {
		struct msg_in a;
		if (msg_parse_attrs(&cluster_schema, p, v, len, &a, err, sizeof(err)) < 0)
			ctl_fail(c, "bad reply from fenced: %s", err);
		each(&a, arg);
	}
}

static void one_vm(const struct msg_in *a, void *arg)
{
	struct cl_status *s = arg;
	if (s->nvms == CL_MAX)
		return;
	struct cl_vm *v = &s->vms[s->nvms++];
	msg_str(a, CA_NAME, v->name, sizeof(v->name));
	v->owner = msg_u32(a, CA_OWNER);
	v->gen = msg_u64(a, CA_GEN);
	v->state = msg_u32(a, CA_STATE);
	v->policy = msg_u32(a, CA_POLICY);
	v->mem = msg_u64(a, CA_MEM);
	v->target = msg_u32(a, CA_TARGET);
	v->to = msg_u32(a, CA_TO);
	v->backup = msg_u32(a, CA_BACKUP);
}

static void one_host(const struct msg_in *a, void *arg)
{
	struct cl_status *s = arg;
	if (s->nhosts == CL_MAX)
		return;
	struct cl_host *h = &s->hosts[s->nhosts++];
	h->node = msg_u32(a, CA_NODE);
	msg_str(a, CA_NAME, h->name, sizeof(h->name));
	msg_str(a, CA_DETAIL, h->addr, sizeof(h->addr));
	h->status = msg_u32(a, CA_STATUS);
	h->mode = msg_u32(a, CA_MODE);
	h->mem = msg_u64(a, CA_MEM);
	h->free = msg_u64(a, CA_VERSION);
}

void cl_vms(const struct ctl *c, const struct msg_in *in, struct cl_status *s)
{
	s->nvms = 0;
	nested(c, in, FA_VM, &cluster_status_vm_policy, one_vm, s);
}

void cl_status(const struct ctl *c, struct dclient *d, struct cl_status *s)
{
	struct msg_out o;
	memset(s, 0, sizeof(*s));
	msg_begin(&o, FC_STATUS, ++d->seq);
	dc_call(c, d, &o);
	s->node = msg_u32(&d->in, FA_NODEID);
	s->state = msg_u32(&d->in, FA_STATE);
	s->quorate = msg_u32(&d->in, FA_QUORATE) != 0;
	msg_str(&d->in, FA_MEMBERS, s->members, sizeof(s->members));
	msg_str(&d->in, FA_SYNC, s->sync, sizeof(s->sync));
	msg_str(&d->in, FA_WATCHDOG, s->watchdog, sizeof(s->watchdog));
	s->version = msg_u64(&d->in, FA_VERSION);
	cl_vms(c, &d->in, s);
	nested(c, &d->in, FA_HOSTINFO, &cluster_status_host_policy, one_host, s);
}

const struct cl_host *cl_host(const struct cl_status *s, uint32_t node)
{
	for (size_t i = 0; i < s->nhosts; i++)
		if (s->hosts[i].node == node)
			return &s->hosts[i];
	return NULL;
}

const char *cl_host_name(const struct cl_status *s, uint32_t node)
{
	const struct cl_host *h = cl_host(s, node);
	return h ? h->name : node ? "?" : "-";
}
