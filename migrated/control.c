/*
 * control.c - migrated's control socket (the CLI's side): start, status and
 * cancel of outgoing migrations.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "ctlsrv.h"
#include "log.h"
#include "config.h"
#include "migrated.h"

extern struct event_base *migd_base;

static void status(struct ctlsrv_client *c, const struct msg_in *in, const char *name)
{
	struct mig *m = mig_find(name, 0);
	struct msg_out o;

	if (!m) {
		ctlsrv_error(c, in->seq, ENOENT, "no migration of %s on this host", name);
		return;
	}
	msg_begin(&o, MC_OK, in->seq);
	pthread_mutex_lock(&m->lock);
	msg_add_str(&o, MA_NAME, m->name);
	msg_add_str(&o, MA_DEST, m->dest);
	msg_add_u32(&o, MA_STATE, m->state);
	msg_add_str(&o, MA_PHASE, m->phase);
	msg_add_u32(&o, MA_ROUND, m->round);
	msg_add_u32(&o, MA_PERMILLE, m->permille);
	msg_add_u64(&o, MA_BYTES_SENT, m->bytes_sent);
	msg_add_u64(&o, MA_PAGES_SENT, m->pages_sent);
	msg_add_u64(&o, MA_DIRTY_LEFT, m->dirty_left);
	msg_add_u64(&o, MA_RATE_BPS, m->rate_bps);
	msg_add_u64(&o, MA_ETA_MS, m->eta_ms);
	msg_add_u64(&o, MA_PREDICTED_US, m->predicted_ns / 1000);
	msg_add_u32(&o, MA_THROTTLE, m->throttle);
	msg_add_u64(&o, MA_DOWNTIME_US, m->downtime_ns / 1000);
	msg_add_u64(&o, MA_TOTAL_MS, (m->total_ns ? m->total_ns : mig_now() - m->start_ns) / 1000000);
	msg_add_str(&o, MA_PAGES_PER_ROUND, m->pages_per_round);
	if (m->downtime_phases[0])
		msg_add_str(&o, MA_DOWNTIME_PHASES, m->downtime_phases);
	if (m->error[0])
		msg_add_str(&o, MA_ERRMSG, m->error);
	if (migd_conf.insecure)
		msg_add_str(&o, MA_INSECURE_NOTE, "plain TCP: migrated runs with --insecure");
	pthread_mutex_unlock(&m->lock);
	if (msg_end(&o) == 0)
		ctlsrv_reply(c, o.buf, o.len, NULL, 0);
	msg_free(&o);
}

_Static_assert((int)MIG_LZ4_OFF == (int)CKPT_LZ4_OFF && (int)MIG_LZ4_ON == (int)CKPT_LZ4_ON &&
    (int)MIG_LZ4_AUTO == (int)CKPT_LZ4_AUTO, "MA_LZ4 carries enum ckpt_lz4");

/* a configured host named in dest ("h2" or "h2:PORT") goes to its address,
 * the port kept: tandem migrate web host2 */
static void dest_address(char *dest, size_t len)
{
	const struct cf_host *h = migd_conf.hosts ? conf_find(migd_conf.hosts, dest) : NULL;
	size_t n = h ? strlen(h->name) : 0;
	if (!h || strncmp(dest, h->name, n) || (dest[n] && dest[n] != ':'))
		return;		/* not named by its name */
	char port[16];
	snprintf(port, sizeof(port), "%s", dest[n] ? dest + n + 1 : "7447");
	snprintf(dest, len, strchr(h->addr, ':') ? "[%s]:%s" : "%s:%s", h->addr, port);
}

static void start(struct ctlsrv_client *c, const struct msg_in *in, const char *name)
{
	char dest[256];
	struct msg_out o;

	if (mig_find(name, 1)) {
		ctlsrv_error(c, in->seq, EBUSY, "%s is already migrating", name);
		return;
	}
	if (msg_u32(in, MA_LZ4) > MIG_LZ4_AUTO) {
		ctlsrv_error(c, in->seq, EINVAL, "lz4 mode %u: 0 off, 1 on, 2 auto", msg_u32(in, MA_LZ4));
		return;
	}
	struct mig *m = mig_new(MIG_OUT, name);
	if (!m) {
		ctlsrv_error(c, in->seq, ENOMEM, "out of memory");
		return;
	}
	msg_str(in, MA_DEST, dest, sizeof(dest));
	dest_address(dest, sizeof(dest));
	snprintf(m->dest, sizeof(m->dest), "%s", dest);
	/* the id tags the hand-over: unique, never 0 */
	if (getrandom(&m->id, sizeof(m->id), 0) != (ssize_t)sizeof(m->id) || !m->id)
		m->id = ((uint64_t)rand() << 32) ^ (uint64_t)rand() ^ mig_now() ^ 1;
	m->opts.budget_ns = msg_has(in, MA_DOWNTIME_BUDGET_US) ? msg_u64(in, MA_DOWNTIME_BUDGET_US) * 1000 : 50000000;
	m->opts.max_total_ns = msg_u64(in, MA_MAX_TOTAL_MS) * 1000000;
	m->opts.max_downtime_ns = msg_u64(in, MA_MAX_DOWNTIME_US) * 1000;
	m->opts.fixed_ns = 1500000;
	m->bw_cap = msg_u64(in, MA_BW_MBPS) * 1000000 / 8;
	m->lz4 = (int)msg_u32(in, MA_LZ4);
	if (pthread_create(&m->thr, NULL, mig_send_thread, m) != 0) {
		mig_fail(m, MS_FAILED, "cannot start a thread");
		ctlsrv_error(c, in->seq, EAGAIN, "cannot start a migration thread");
		return;
	}
	log_info("migration %s: to %s, downtime budget %.1f ms%s", name, dest,
	    (double)m->opts.budget_ns / 1e6, m->lz4 == CKPT_LZ4_ON ? ", lz4" : m->lz4 ? ", lz4 while it pays" : "");
	msg_begin(&o, MC_OK, in->seq);
	msg_add_str(&o, MA_NAME, name);
	if (msg_end(&o) == 0)
		ctlsrv_reply(c, o.buf, o.len, NULL, 0);
	msg_free(&o);
}

static void request(struct ctlsrv_client *c, const struct msg_in *m, const uint8_t *buf, size_t len)
{
	char name[80];
	(void)buf;
	(void)len;
	msg_str(m, MA_NAME, name, sizeof(name));
	switch (m->type) {
	case MC_START:
		start(c, m, name);
		break;
	case MC_STATUS:
		status(c, m, name);
		break;
	case MC_CANCEL: {
		struct mig *g = mig_find(name, 1);
		if (!g) {
			ctlsrv_error(c, m->seq, ENOENT, "%s is not migrating", name);
			return;
		}
		g->cancel = 1;
		log_info("migration %s: cancel requested", name);
		status(c, m, name);
		break;
	}
	default:
		ctlsrv_error(c, m->seq, EOPNOTSUPP, "unsupported request");
	}
}

static const struct ctlsrv_conf conf = {
	&migctl_schema, MC_OK, MC_ERR, MA_ERRNO, MA_ERRMSG, request, NULL, NULL,
};

int control_init(const char *path)
{
	return ctlsrv_init(migd_base, path, &conf);
}
