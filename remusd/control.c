/*
 * control.c - remusd's control socket (the CLI's side): protect starts a
 * primary thread, unprotect asks it to end, status lists every protection
 * this host takes part in, as primary or backup, with its figures.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "config.h"
#include "ctlsrv.h"
#include "log.h"
#include "remusd.h"

static void reply(struct ctlsrv_client *c, struct msg_out *o)
{
	if (msg_end(o) == 0)
		ctlsrv_reply(c, o->buf, o->len, NULL, 0);
	msg_free(o);
}

static void add_prot(struct msg_out *o, struct prot *p, uint64_t now)
{
	struct msg_out a;
	msg_begin_attrs(&a);
	pthread_mutex_lock(&p->lock);
	msg_add_str(&a, RA_NAME, p->name);
	msg_add_u32(&a, RA_ROLE, p->role);
	msg_add_u32(&a, RA_STATE, p->state);
	msg_add_str(&a, RA_PEER, prot_peer(p));
	msg_add_u64(&a, RA_EPOCH, p->epoch);
	msg_add_u32(&a, RA_EPOCH_MS, p->epoch_ms);
	msg_add_u64(&a, RA_ACHIEVED_US, (uint64_t)(p->achieved_ns / 1e3));
	msg_add_u64(&a, RA_PAUSE_US, p->pause_ns / 1000);
	msg_add_u64(&a, RA_PAUSE_MAX_US, p->pause_max_ns / 1000);
	msg_add_u64(&a, RA_HELD_BYTES, p->held);
	msg_add_u64(&a, RA_LAG_MS, p->last_ns ? (now - p->last_ns) / 1000000 : 0);
	msg_add_u64(&a, RA_BYTES, p->bytes);
	msg_add_u32(&a, RA_THROTTLE, p->throttle);
	msg_add_u32(&a, RA_PERMILLE, p->permille);
	msg_add_u64(&a, RA_SINCE_MS, (now - p->since_ns) / 1000000);
	if (p->detail[0])
		msg_add_str(&a, RA_DETAIL, p->detail);
	pthread_mutex_unlock(&p->lock);
	msg_add_blob(o, RA_PROT, a.buf, a.len);
	msg_free(&a);
}

static void status(struct remusd *d, struct ctlsrv_client *c, const struct msg_in *in,
    const char *name)
{
	struct msg_out o;
	uint64_t now = rd_now();
	int n = 0;
	msg_begin(&o, RC_OK, in->seq);
	pthread_mutex_lock(&d->lock);
	for (struct prot *p = d->list; p; p = p->next)
		if (!name[0] || !strcmp(p->name, name)) {
			add_prot(&o, p, now);
			n++;
		}
	pthread_mutex_unlock(&d->lock);
	if (name[0] && !n) {
		msg_free(&o);
		ctlsrv_error(c, in->seq, ENOENT, "%s is not protected, nor a shadow, on this host", name);
		return;
	}
	reply(c, &o);
}

static void protect(struct remusd *d, struct ctlsrv_client *c, const struct msg_in *in,
    const char *name)
{
	char backup[256];
	unsigned ms = msg_has(in, RA_EPOCH_MS) ? msg_u32(in, RA_EPOCH_MS) : d->c.epoch_ms;
	msg_str(in, RA_BACKUP, backup, sizeof(backup));
	if (ms < 5 || ms > 10000) {
		ctlsrv_error(c, in->seq, EINVAL, "an epoch of %u ms: 5 to 10000", ms);
		return;
	}
	if (d->c.hosts && strcmp(backup, "auto") && !conf_find(d->c.hosts, backup)) {
		ctlsrv_error(c, in->seq, ENOENT, "%s is no host of the cluster (%s)", backup,
		    d->c.hosts_path);
		return;
	}
	char err[300];
	if (rd_protect(d, name, backup, NULL, ms, err, sizeof(err)) < 0) {
		ctlsrv_error(c, in->seq, errno, "%s", err);
		return;
	}
	status(d, c, in, name);
}

static void unprotect(struct remusd *d, struct ctlsrv_client *c, const struct msg_in *in,
    const char *name)
{
	struct prot *p = prot_find(d, name);
	if (!p || !prot_active(p)) {
		ctlsrv_error(c, in->seq, ENOENT, "%s is not protected on this host", name);
		return;
	}
	p->stop = 1;
	log_info("%s: unprotect requested", name);
	status(d, c, in, name);
}

/* after a planned move: the host the VM went to protects it again */
static void handoff(struct remusd *d, struct ctlsrv_client *c, const struct msg_in *in,
    const char *name)
{
	struct ckpt_protect pr = { 0, msg_u32(in, RA_EPOCH_MS), "" };
	struct ckpt_record rec = { 0 };
	char to[256], who[65], err[512];
	int fd;
	msg_str(in, RA_BACKUP, to, sizeof(to));
	snprintf(pr.name, sizeof(pr.name), "%s", name);
	struct rio *r = rd_connect(d, to, CK_REPROTECT, &pr, &fd, who, sizeof(who), err, sizeof(err));
	if (!r) {
		ctlsrv_error(c, in->seq, EHOSTUNREACH, "handing %s's protection to %s: %s", name, to, err);
		return;
	}
	int got = ckpt_read_record(r, &rec);
	if (got < 0 || rec.type != CK_READY) {
		snprintf(err, sizeof(err), "%s", got < 0 ? rio_error(r) : rec.type == CK_ABORT ?
		    "refused" : ckpt_type_name(rec.type));
		if (got == 0 && rec.type == CK_ABORT)
			snprintf(err, sizeof(err), "%.*s", (int)(rec.len > 400 ? 400 : rec.len),
			    (const char *)rec.body);
		ckpt_record_free(&rec);
		rio_close(r);
		ctlsrv_error(c, in->seq, EPERM, "%s's remusd does not protect %s: %s", to, name, err);
		return;
	}
	ckpt_record_free(&rec);
	rio_close(r);
	log_info("%s: moved to %s, whose remusd protects it now", name, to);
	struct msg_out o;
	msg_begin(&o, RC_OK, in->seq);
	msg_add_str(&o, RA_NAME, name);
	reply(c, &o);
}

static void request(struct ctlsrv_client *c, const struct msg_in *m, const uint8_t *buf, size_t len)
{
	struct remusd *d = ctlsrv_ctx(c);
	char name[80];
	(void)buf;
	(void)len;
	msg_str(m, RA_NAME, name, sizeof(name));
	switch (m->type) {
	case RC_PROTECT:
		protect(d, c, m, name);
		break;
	case RC_UNPROTECT:
		unprotect(d, c, m, name);
		break;
	case RC_STATUS:
		status(d, c, m, name);
		break;
	case RC_HANDOFF:
		handoff(d, c, m, name);
		break;
	default:
		ctlsrv_error(c, m->seq, EOPNOTSUPP, "unsupported request");
	}
}

int rd_control_init(struct remusd *d)
{
	const struct ctlsrv_conf conf = { &remctl_schema, RC_OK, RC_ERR, RA_ERRNO, RA_ERRMSG,
		request, NULL, d };
	return ctlsrv_init(d->base, d->c.ctl_path, &conf);
}
