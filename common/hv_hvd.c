/*
 * hv_hvd.c - the hv_ops backend for hvd: each call is one request and one
 * reply on hvd's control socket; guest memory and the dirty bitmap arrive as
 * memfds and are mapped here, so page copies never cross the socket.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include "hv.h"
#include "hvctl.h"
#include "sock.h"

struct hvd {
	struct hv hv;
	int fd;
	uint32_t seq;
	uint8_t *buf;
	struct msg_in in;
	int fds[SOCK_MAXFDS], nfds;
	uint32_t posted_seq;	/* hv.posted: the request whose answer is still to be read */
};

static int fail(struct hvd *h, int e, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(h->hv.err, sizeof(h->hv.err), fmt, ap);
	va_end(ap);
	errno = e;
	return -1;
}

static int answer(struct hvd *h);

/* Sends o (freed here); a posted request's answer is collected (and
 * dropped: its caller gave up on it) first, so replies stay in order. */
static int send_req(struct hvd *h, struct msg_out *o)
{
	if (h->hv.posted) {
		h->hv.posted = 0;
		char keep[sizeof(h->hv.err)];
		memcpy(keep, h->hv.err, sizeof(keep));
		uint32_t seq = h->seq;
		h->seq = h->posted_seq;
		(void)answer(h);
		h->seq = seq;
		memcpy(h->hv.err, keep, sizeof(keep));
	}
	for (int i = 0; i < h->nfds; i++)
		close(h->fds[i]);
	h->nfds = 0;
	if (msg_end(o) < 0 || sock_send(h->fd, o->buf, o->len, NULL, 0) < 0) {
		int e = errno;
		msg_free(o);
		return fail(h, e, "sending request to hvd: %s", strerror(e));
	}
	msg_free(o);
	return 0;
}

/* Reads the reply to request h->seq into h->in; HV_ERR becomes -1. */
static int answer(struct hvd *h)
{
	char err[512];

	if (h->hv.timeout_ms > 0) {	/* a stuck domain must not freeze the caller */
		struct pollfd p = { h->fd, POLLIN, 0 };
		int r;
		while ((r = poll(&p, 1, h->hv.timeout_ms)) < 0 && errno == EINTR)
			;
		if (r == 0) {
			shutdown(h->fd, SHUT_RDWR);	/* a late reply must never answer a later call */
			return fail(h, ETIMEDOUT, "hvd did not answer within %d ms (a stuck domain?)",
			    h->hv.timeout_ms);
		}
	}
	h->nfds = SOCK_MAXFDS;
	ssize_t n = sock_recv(h->fd, h->buf, MSG_MAX, h->fds, &h->nfds);
	if (n <= 0)
		return fail(h, n == 0 ? ECONNRESET : errno, "hvd closed the connection");
	if (msg_parse(&hvctl_schema, h->buf, (size_t)n, &h->in, err, sizeof(err)) < 0)
		return fail(h, EPROTO, "bad reply from hvd: %s", err);
	if (h->in.seq != h->seq)
		return fail(h, EPROTO, "reply seq %u, expected %u", h->in.seq, h->seq);
	if (h->in.type == HV_ERR) {
		char msg[1024];
		return fail(h, (int)msg_u32(&h->in, HA_ERRNO), "%s",
		    msg_str(&h->in, HA_ERRMSG, msg, sizeof(msg)));
	}
	if (h->in.type != HV_OK)
		return fail(h, EPROTO, "unexpected reply type %u", h->in.type);
	h->hv.elapsed_ns = msg_u64(&h->in, HA_ELAPSED_NS);
	return 0;
}

/* One request, one reply; posted (hv_post), only the request. */
static int call(struct hvd *h, struct msg_out *o)
{
	int post = h->hv.post;
	h->hv.post = 0;
	if (send_req(h, o) < 0)
		return -1;
	if (!post)
		return answer(h);
	h->hv.posted = 1;
	h->posted_seq = h->seq;
	return 0;
}

static int hvd_collect(struct hv *hv)
{
	return answer((struct hvd *)hv);
}

static void begin(struct hvd *h, struct msg_out *o, uint16_t type, const char *name)
{
	msg_begin(o, type, ++h->seq);
	if (name)
		msg_add_str(o, HA_NAME, name);
}

static int simple(struct hv *hv, uint16_t type, const char *name)
{
	struct hvd *h = (struct hvd *)hv;
	struct msg_out o;
	begin(h, &o, type, name);
	return call(h, &o);
}

static int hvd_pause(struct hv *hv, const char *n) { return simple(hv, HV_DOM_PAUSE, n); }
static int hvd_unpause(struct hv *hv, const char *n) { return simple(hv, HV_DOM_UNPAUSE, n); }

static int tagged(struct hv *hv, uint16_t type, const char *name, uint64_t tag)
{
	struct hvd *h = (struct hvd *)hv;
	struct msg_out o;
	begin(h, &o, type, name);
	msg_add_u64(&o, HA_TAG, tag);
	return call(h, &o);
}
static int hvd_handover(struct hv *hv, const char *n, uint64_t tag) { return tagged(hv, HV_DOM_HANDOVER, n, tag); }
static int hvd_reclaim(struct hv *hv, const char *n, uint64_t tag) { return tagged(hv, HV_DOM_RECLAIM, n, tag); }

static int hvd_destroy(struct hv *hv, const char *n) { return simple(hv, HV_DOM_DESTROY, n); }

static int create(struct hv *hv, const char *name, uint64_t mem, uint32_t vcpus,
    const char *kernel, const char *cmdline, const char *net, int lease)
{
	struct hvd *h = (struct hvd *)hv;
	struct msg_out o;
	begin(h, &o, kernel ? HV_DOM_CREATE : HV_DOM_CREATE_INCOMING, name);
	msg_add_u64(&o, HA_MEM, mem);
	msg_add_u32(&o, HA_VCPUS, vcpus);
	if (kernel) {
		msg_add_str(&o, HA_KERNEL, kernel);
		msg_add_str(&o, HA_CMDLINE, cmdline ? cmdline : "");
	}
	if (net && *net)
		msg_add_str(&o, HA_NET, net);
	if (lease)
		msg_add_u32(&o, HA_LEASE, 1);
	return call(h, &o);
}

static int hvd_create(struct hv *hv, const char *name, uint64_t mem, uint32_t vcpus,
    const char *kernel, const char *cmdline, const char *net)
{
	return create(hv, name, mem, vcpus, kernel, cmdline, net, 0);
}

/* hvd lays out a guest's RAM itself, from its size: a stream that says
 * where its pages go came from another layout */
static int one_block(struct hv *hv, const struct memmap *map)
{
	if (!map || !map->n)
		return 0;
	snprintf(hv->err, sizeof(hv->err), "hvd places a guest's RAM itself: a memory map of %u "
	    "extents cannot be kept", map->n);
	errno = EINVAL;
	return -1;
}

static int hvd_create_incoming(struct hv *hv, const char *name, uint64_t mem, uint32_t vcpus,
    const char *net, const struct memmap *map)
{
	return one_block(hv, map) < 0 ? -1 : create(hv, name, mem, vcpus, NULL, NULL, net, 0);
}

static int hvd_create_incoming_leased(struct hv *hv, const char *name, uint64_t mem,
    uint32_t vcpus, const char *net, const struct memmap *map)
{
	return one_block(hv, map) < 0 ? -1 : create(hv, name, mem, vcpus, NULL, NULL, net, 1);
}

static int hvd_keep(struct hv *hv, const char *n) { return simple(hv, HV_DOM_KEEP, n); }

static int hvd_list(struct hv *hv, char (**names)[65], int *n)
{
	struct hvd *h = (struct hvd *)hv;
	struct msg_out o;
	const uint8_t *v;
	uint32_t len;
	size_t pos = 0;

	begin(h, &o, HV_DOM_LIST, NULL);
	if (call(h, &o) < 0)
		return -1;
	*n = 0;
	*names = calloc(h->in.count[HA_NAME] + 1, sizeof(**names));
	if (!*names)
		return fail(h, ENOMEM, "out of memory");
	while (msg_next(&h->in, HA_NAME, &pos, &v, &len)) {
		size_t k = len < 64 ? len : 64;
		memcpy((*names)[*n], v, k);
		(*names)[(*n)++][k] = 0;
	}
	return 0;
}

static int hvd_info(struct hv *hv, const char *name, struct hv_dominfo *di)
{
	struct hvd *h = (struct hvd *)hv;
	struct msg_out o;

	begin(h, &o, HV_DOM_INFO, name);
	if (call(h, &o) < 0)
		return -1;
	memset(di, 0, sizeof(*di));
	msg_str(&h->in, HA_NAME, di->name, sizeof(di->name));
	di->state = msg_u32(&h->in, HA_STATE);
	di->mem = msg_u64(&h->in, HA_MEM);
	di->vcpus = msg_u32(&h->in, HA_VCPUS);
	di->uptime_ns = msg_u64(&h->in, HA_UPTIME_NS);
	msg_str(&h->in, HA_CONSOLE_LOG, di->console_log, sizeof(di->console_log));
	di->pid = msg_u32(&h->in, HA_PID);
	di->tsc_khz = msg_u32(&h->in, HA_TSC_KHZ);
	di->throttle = msg_u32(&h->in, HA_SHARE);
	di->logdirty = (int)msg_u32(&h->in, HA_ENABLE);
	msg_str(&h->in, HA_REASON, di->reason, sizeof(di->reason));
	msg_str(&h->in, HA_BACKING, di->backing, sizeof(di->backing));
	msg_str(&h->in, HA_NET, di->net, sizeof(di->net));
	const char *mac = strstr(di->net, ",mac=");
	snprintf(di->nic_bridge, sizeof(di->nic_bridge), "%.*s",
	    (int)(mac ? mac - di->net : (long)strlen(di->net)), di->net);
	snprintf(di->nic_mac, sizeof(di->nic_mac), "%s", mac ? mac + 5 : "");
	msg_str(&h->in, HA_NIC_TAP, di->nic_tap, sizeof(di->nic_tap));
	if (msg_has(&h->in, HA_NIC_STATS) && h->in.vlen[HA_NIC_STATS] == sizeof(di->nic))
		memcpy(&di->nic, h->in.val[HA_NIC_STATS], sizeof(di->nic));
	if (msg_has(&h->in, HA_NIC_HOLD) && h->in.vlen[HA_NIC_HOLD] == 56) {
		uint64_t *v[7] = { &di->hold.on, &di->hold.frames, &di->hold.bytes, &di->hold.released,
			&di->hold.stalls, &di->hold.marked, &di->hold.acked };
		for (int i = 0; i < 7; i++)
			*v[i] = le64_get(h->in.val[HA_NIC_HOLD] + 8 * i);
	}
	di->tag = msg_u64(&h->in, HA_TAG);
	di->mem_flags = strcmp(di->backing, "hugetlb") ? HV_MEM_SPARSE_FILE : 0;
	return 0;
}

/* Takes the one fd of the last reply; maps len bytes of it when p is set,
 * and keeps the fd open in *keep when that is set. */
static int take_fd(struct hvd *h, void **p, size_t len, int *keep)
{
	if (h->nfds != 1)
		return fail(h, EPROTO, "hvd sent %d fds, expected 1", h->nfds);
	int fd = h->fds[0];
	h->nfds = 0;
	if (!p)
		return fd;
	*p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	int e = errno;
	if (keep && *p != MAP_FAILED)
		*keep = fd;
	else
		close(fd);
	if (*p == MAP_FAILED)
		return fail(h, e, "mmap: %s", strerror(e));
	madvise(*p, len, MADV_HUGEPAGE);	/* pages we allocate (a restore) come huge */
	return 0;
}

static int hvd_mem_map(struct hv *hv, const char *name, uint8_t **p, uint64_t *size, int *fd)
{
	struct hvd *h = (struct hvd *)hv;
	struct msg_out o;

	begin(h, &o, HV_MEM_MAP, name);
	if (call(h, &o) < 0)
		return -1;
	*size = msg_u64(&h->in, HA_MEM);
	if (!p && fd)
		return (*fd = take_fd(h, NULL, 0, NULL)) < 0 ? -1 : 0;
	return take_fd(h, (void **)p, *size, fd);
}

static int hvd_logdirty(struct hv *hv, const char *name, int enable, int mode,
    uint64_t **bitmap, size_t *len)
{
	struct hvd *h = (struct hvd *)hv;
	struct msg_out o;

	begin(h, &o, HV_LOGDIRTY, name);
	msg_add_u32(&o, HA_ENABLE, enable ? 1 : 0);
	msg_add_u32(&o, HA_DIRTY_MODE, (uint32_t)mode);
	if (call(h, &o) < 0)
		return -1;
	if (!enable)
		return 0;
	*len = msg_u64(&h->in, HA_COUNT);
	return take_fd(h, (void **)bitmap, *len, NULL);
}

static int hvd_peek_clean(struct hv *hv, const char *name, uint64_t *count)
{
	struct hvd *h = (struct hvd *)hv;
	struct msg_out o;

	begin(h, &o, HV_DIRTY_PEEK_CLEAN, name);
	if (call(h, &o) < 0)
		return -1;
	*count = msg_u64(&h->in, HA_COUNT);
	return 0;
}

/* a copy of the answer's attribute attr */
static int dup_attr(struct hvd *h, uint16_t attr, uint8_t **p, size_t *len)
{
	*len = h->in.vlen[attr];
	if (!(*p = malloc(*len ? *len : 1)))
		return fail(h, ENOMEM, "out of memory");
	memcpy(*p, h->in.val[attr], *len);
	return 0;
}

static int blob_get(struct hv *hv, uint16_t type, const char *name, uint8_t **blob,
    size_t *len)
{
	struct hvd *h = (struct hvd *)hv;
	struct msg_out o;

	begin(h, &o, type, name);
	if (call(h, &o) < 0)
		return -1;
	return dup_attr(h, HA_BLOB, blob, len);
}

static int blob_set(struct hv *hv, uint16_t type, const char *name, const uint8_t *blob,
    size_t len)
{
	struct hvd *h = (struct hvd *)hv;
	struct msg_out o;

	begin(h, &o, type, name);
	msg_add_blob(&o, HA_BLOB, blob, len);
	return call(h, &o);
}

static int hvd_release(struct hv *hv, const char *n, uint64_t tag, uint8_t **late, size_t *late_len)
{
	if (late)
		*late = NULL, *late_len = 0;
	if (tagged(hv, HV_DOM_RELEASE, n, tag) < 0)
		return -1;
	struct hvd *h = (struct hvd *)hv;
	return late && h->in.val[HA_BLOB] ? dup_attr(h, HA_BLOB, late, late_len) : 0;
}

static int hvd_nic_inject(struct hv *hv, const char *n, const uint8_t *frames, size_t len)
{
	return blob_set(hv, HV_NIC_INJECT, n, frames, len);
}

void hv_saved_free(struct hv_saved *st)
{
	free(st->vcpu);
	free(st->dev);
	st->vcpu = st->dev = NULL;
}

/* a saving pause; epoch (when not 0) also closes that epoch's held output;
 * staged, the pages go into the stage and the domain runs again */
static int saving_pause(struct hv *hv, const char *name, uint64_t epoch, int staged,
    struct hv_saved *st)
{
	struct hvd *h = (struct hvd *)hv;
	struct msg_out o;

	memset(st, 0, sizeof(*st));
	begin(h, &o, HV_DOM_PAUSE, name);
	msg_add_u32(&o, HA_LEASE, staged ? 0 : 1);
	msg_add_u32(&o, HA_SAVE, staged ? HV_SAVE_STAGED : HV_SAVE);
	if (epoch)
		msg_add_u64(&o, HA_EPOCH, epoch);
	if (call(h, &o) < 0)
		return -1;
	if (!h->in.val[HA_BLOB] || !h->in.val[HA_DEV_BLOB] || !h->in.val[HA_COUNT])
		return fail(h, EPROTO, "hvd's answer to a saving pause lacks the state");
	st->dirty = msg_u64(&h->in, HA_COUNT);
	size_t phl = h->in.vlen[HA_PHASES];
	if (phl == 24 || phl == 40) {
		st->pause_ns = le64_get(h->in.val[HA_PHASES]);
		st->peek_ns = le64_get(h->in.val[HA_PHASES] + 8);
		st->state_ns = le64_get(h->in.val[HA_PHASES] + 16);
	}
	if (phl == 40) {
		st->copy_ns = le64_get(h->in.val[HA_PHASES] + 24);
		st->paused_ns = le64_get(h->in.val[HA_PHASES] + 32);
	} else if (staged)
		return fail(h, EPROTO, "hvd's answer to a staged pause lacks its phases");
	if (dup_attr(h, HA_BLOB, &st->vcpu, &st->vcpu_len) < 0 ||
	    dup_attr(h, HA_DEV_BLOB, &st->dev, &st->dev_len) < 0) {
		hv_saved_free(st);
		return -1;
	}
	return 0;
}

static int hvd_suspend(struct hv *hv, const char *name, struct hv_saved *st)
{
	return saving_pause(hv, name, 0, 0, st);
}

static int hvd_checkpoint(struct hv *hv, const char *name, uint64_t epoch, struct hv_saved *st)
{
	if (!epoch)
		return fail((struct hvd *)hv, EINVAL, "epochs start at 1");
	return saving_pause(hv, name, epoch, 0, st);
}

static int hvd_checkpoint_staged(struct hv *hv, const char *name, uint64_t epoch,
    struct hv_saved *st)
{
	return saving_pause(hv, name, epoch, 1, st);
}

static int hvd_stage_map(struct hv *hv, const char *name, uint8_t **p, uint64_t *size)
{
	struct hvd *h = (struct hvd *)hv;
	struct msg_out o;

	begin(h, &o, HV_STAGE_MAP, name);
	if (call(h, &o) < 0)
		return -1;
	*size = msg_u64(&h->in, HA_MEM);
	return take_fd(h, (void **)p, *size, NULL);
}

static int hvd_nic_hold(struct hv *hv, const char *name, int on, uint64_t cap)
{
	struct hvd *h = (struct hvd *)hv;
	struct msg_out o;

	begin(h, &o, HV_NIC_HOLD, name);
	msg_add_u32(&o, HA_ENABLE, on ? 1 : 0);
	if (cap)
		msg_add_u64(&o, HA_COUNT, cap);
	return call(h, &o);
}

static int hvd_nic_release(struct hv *hv, const char *name, uint64_t epoch)
{
	struct hvd *h = (struct hvd *)hv;
	struct msg_out o;

	begin(h, &o, HV_NIC_RELEASE, name);
	msg_add_u64(&o, HA_EPOCH, epoch);
	return call(h, &o);
}

static int hvd_state_set(struct hv *hv, const char *name, const uint8_t *vcpu, size_t vlen,
    const uint8_t *dev, size_t dlen)
{
	struct hvd *h = (struct hvd *)hv;
	struct msg_out o;

	begin(h, &o, HV_STATE_SET, name);
	msg_add_blob(&o, HA_BLOB, vcpu, vlen);
	msg_add_blob(&o, HA_DEV_BLOB, dev, dlen);
	return call(h, &o);
}

static int hvd_vcpu_get(struct hv *hv, const char *n, uint8_t **b, size_t *l)
{
	return blob_get(hv, HV_VCPU_GET, n, b, l);
}
static int hvd_vcpu_set(struct hv *hv, const char *n, const uint8_t *b, size_t l)
{
	return blob_set(hv, HV_VCPU_SET, n, b, l);
}
static int hvd_dev_get(struct hv *hv, const char *n, uint8_t **b, size_t *l)
{
	return blob_get(hv, HV_DEV_GET, n, b, l);
}
static int hvd_dev_set(struct hv *hv, const char *n, const uint8_t *b, size_t l)
{
	return blob_set(hv, HV_DEV_SET, n, b, l);
}

static int hvd_throttle(struct hv *hv, const char *name, unsigned pct)
{
	struct hvd *h = (struct hvd *)hv;
	struct msg_out o;

	begin(h, &o, HV_THROTTLE, name);
	msg_add_u32(&o, HA_SHARE, pct);
	return call(h, &o);
}

static int hvd_console(struct hv *hv, const char *name)
{
	struct hvd *h = (struct hvd *)hv;
	struct msg_out o;

	begin(h, &o, HV_CONSOLE_ATTACH, name);
	if (call(h, &o) < 0)
		return -1;
	return take_fd(h, NULL, 0, NULL);
}

static void hvd_close(struct hv *hv)
{
	struct hvd *h = (struct hvd *)hv;
	for (int i = 0; i < h->nfds; i++)
		close(h->fds[i]);
	close(h->fd);
	free(h->buf);
	free(h);
}

static const struct hv_ops hvd_ops = {
	.name = "hvd",
	.guest = "x86_64-pvh",	/* a PVH-booted ELF; the state is hvd's own (docs/hvd-protocol.md) */
	.close = hvd_close,
	.domain_create = hvd_create,
	.domain_create_incoming = hvd_create_incoming,
	.domain_create_incoming_leased = hvd_create_incoming_leased,
	.domain_keep = hvd_keep,
	.domain_list = hvd_list,
	.domain_info = hvd_info,
	.domain_pause = hvd_pause,
	.domain_handover = hvd_handover,
	.domain_reclaim = hvd_reclaim,
	.domain_release = hvd_release,
	.domain_unpause = hvd_unpause,
	.domain_destroy = hvd_destroy,
	.mem_map = hvd_mem_map,
	.logdirty = hvd_logdirty,
	.dirty_peek_clean = hvd_peek_clean,
	.vcpu_get = hvd_vcpu_get,
	.vcpu_set = hvd_vcpu_set,
	.dev_get = hvd_dev_get,
	.dev_set = hvd_dev_set,
	.domain_suspend = hvd_suspend,
	.state_set = hvd_state_set,
	.collect = hvd_collect,
	.nic_inject = hvd_nic_inject,
	.nic_hold = hvd_nic_hold,
	.nic_release = hvd_nic_release,
	.domain_checkpoint = hvd_checkpoint,
	.domain_checkpoint_staged = hvd_checkpoint_staged,
	.stage_map = hvd_stage_map,
	.throttle = hvd_throttle,
	.console_attach = hvd_console,
};

/* hvd's wire values are the interface's */
_Static_assert((int)DS_PAUSED == (int)HV_PAUSED && (int)DS_RUNNING == (int)HV_RUNNING &&
    (int)DS_SHUTDOWN == (int)HV_SHUTDOWN && (int)DS_CRASHED == (int)HV_CRASHED &&
    (int)DS_MIGRATED == (int)HV_MIGRATED, "domain states");
_Static_assert((int)HV_DIRTY_MANUAL == (int)HV_LOG_MANUAL &&
    (int)HV_DIRTY_LEGACY == (int)HV_LOG_LEGACY, "log modes");

struct hv *hv_hvd_open(const char *where, char *err, size_t errlen)
{
	const char *path = where && *where ? where : HVD_DEFAULT_SOCK;
	struct hvd *h = calloc(1, sizeof(*h));

	if (!h || !(h->buf = malloc(MSG_MAX))) {
		free(h);
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	if ((h->fd = sock_connect(path)) < 0) {
		snprintf(err, errlen, "cannot reach hvd at %s: %s (is it running? systemctl start "
		    "tandem-hvd, or name its socket: --host, TANDEM_HOST, tandem.conf)", path,
		    strerror(errno));
		free(h->buf);
		free(h);
		return NULL;
	}
	h->hv.ops = &hvd_ops;
	h->hv.timeout_ms = HV_TIMEOUT_MS;
	h->hv.caps = HV_CAP_LEASE | HV_CAP_STAGE | HV_CAP_NIC_HOLD | HV_CAP_POST;
	return &h->hv;
}
