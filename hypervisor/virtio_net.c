/*
 * virtio_net.c - the virtio-net device (virtio 1.x, section 5.1) on the
 * virtio-mmio transport, with a tap backend.
 *
 * Queues: 0 receive, 1 transmit, 2 control.  Features: VERSION_1, MAC,
 * STATUS, CTRL_VQ and GUEST_ANNOUNCE; no offloads, so a frame is the 12-byte
 * virtio_net_hdr and an Ethernet frame of at most 1518 bytes.
 *
 * Two threads touch the device, one at a time under its lock: the vCPU
 * thread, for register accesses and for the transmit and control queues
 * (it processes them inline when the driver kicks), and the device's own
 * receive thread, which moves frames from the tap into the guest's receive
 * buffers.  The receive thread runs only while the domain runs: when the
 * domain pauses (dev_ops.run), it stops writing guest memory before the
 * pause completes, so the pages a migration copies after its last dirty
 * peek never change under it; frames that arrive meanwhile wait in the tap.
 * Every write hvd makes to guest memory is marked in the dirty log
 * (dirty_mark), since KVM logs only the guest's own writes.
 *
 * Notifications are suppressed where the device can do without them: the
 * receive queue's used ring carries NO_NOTIFY while the device has
 * buffers, and the driver need kick only when the device ran out.  The
 * guest's idle is ended (vm_wake) whenever a frame reaches it, and the
 * interrupt (IRQ 5) is raised unless the driver suppressed it.
 *
 * Saving the device (the domain paused) moves up to NIC_PENDING frames that
 * wait in the tap into the device's saved form, so the frames that reach
 * the source during a migration's stop-and-copy are delivered by the
 * destination rather than lost; those that arrive after the save wait in
 * the tap's queue until the release, when nic_take hands them to the
 * migration, which carries them to the destination (nic_inject).
 * A protected VM's output is held (output commit, nic_hold.c): while
 * holding, transmitted frames wait for the backup's acknowledgement of
 * their epoch instead of going to the tap; held frames are not part of the
 * saved state (a backup that takes over resumes from before they were
 * sent).
 * Loading it sets the ANNOUNCE status (the
 * guest sends its gratuitous ARP and acknowledges on the control queue),
 * and the next run sends a RARP from the VM's MAC at once, as QEMU does,
 * so the switches learn the VM's new port before the guest gets to it.
 */
#include <errno.h>
#include <net/if.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "hvd.h"
#include "log.h"

#define F_MAC		(1ULL << 5)
#define F_STATUS	(1ULL << 16)
#define F_CTRL_VQ	(1ULL << 17)
#define F_GUEST_ANNOUNCE (1ULL << 21)
#define F_VERSION_1	(1ULL << 32)
#define S_LINK_UP	1
#define S_ANNOUNCE	2
#define HDR_LEN		12		/* virtio_net_hdr with num_buffers (VERSION_1) */
#define FRAME_MIN	14
#define FRAME_MAX	NIC_FRAME_MAX
#define TX_MAX		65550
#define QUEUE_SIZE	256
#define CTRL_ANNOUNCE	3
#define CTRL_ANNOUNCE_ACK 0
#define SAVE_VERSION	1

enum { RXQ, TXQ, CTRLQ, NQ };

struct frame {
	uint16_t len;
	uint8_t b[FRAME_MAX];
};

struct nic {
	struct vm *vm;
	struct virtio_dev dev;	/* the template, with this NIC's config space */
	struct virtio_mmio t;
	pthread_mutex_t lock;
	uint8_t config[10];	/* mac, status, max_virtqueue_pairs */
	uint8_t mac[6];
	uint16_t status;
	char bridge[IFNAMSIZ], ifname[IFNAMSIZ];
	int tapfd, kickfd;
	pthread_t thr;
	int thr_started, quit, running, rx_no_notify, host_announce;
	int holding, tx_stalled;	/* output commit: see nic_hold.c */
	struct nic_hold hold;
	uint64_t hold_stalls, hold_marked, hold_acked;
	struct frame pending[NIC_PENDING];	/* FIFO: frames taken from the tap */
	unsigned phead, npending;
	struct nic_stats st;
	struct virtq_chain chain;	/* scratch, under the lock */
	uint8_t txbuf[TX_MAX];
};


static void mark(struct nic *n, uint64_t gpa, uint64_t len)
{
	dirty_mark(n->vm, gpa, len);
}

static void mark_used(struct nic *n, const struct virtq *q)
{
	mark(n, q->used, 6 + 8ULL * q->size);
}

static void sync_config(struct nic *n)
{
	memcpy(n->config, n->mac, 6);
	n->config[6] = (uint8_t)n->status;
	n->config[7] = (uint8_t)(n->status >> 8);
	n->config[8] = 1;	/* one queue pair */
	n->config[9] = 0;
}

static void interrupt(struct nic *n, unsigned isr)
{
	n->t.isr |= isr;
	vm_irq(n->vm, NIC_IRQ);
}

static int usable(const struct nic *n, unsigned q)
{
	return (n->t.status & VIRTIO_S_DRIVER_OK) && !(n->t.status & VIRTIO_S_NEEDS_RESET) &&
	    n->t.ready[q];
}

/* the driver's frame in chain c, without its header, into txbuf: its length or -1 */
static long gather(struct nic *n, const struct virtq_chain *c)
{
	uint64_t skip = HDR_LEN, len = 0;
	for (uint32_t i = 0; i < c->n && !c->buf[i].writable; i++) {
		uint64_t gpa = c->buf[i].gpa, l = c->buf[i].len;
		uint64_t s = skip < l ? skip : l;
		skip -= s;
		gpa += s;
		l -= s;
		if (len + l > TX_MAX)
			return -1;
		memcpy(n->txbuf + len, gmem_ptr(n->t.gm, gpa, l), l);	/* in RAM: virtq_pop */
		len += l;
	}
	return skip ? -1 : (long)len;
}

/* after a pass over queue q: a malformed chain (r < 0) needs a reset; what
 * was used is marked dirty and, unless suppressed, interrupts */
static void queue_end(struct nic *n, struct virtq *q, int r, int any, const char *err)
{
	if (r < 0)
		virtio_needs_reset(&n->t, err);
	if (any) {
		mark_used(n, q);
		if (virtq_interrupt_wanted(q, n->t.gm))
			interrupt(n, VIRTIO_ISR_QUEUE);
	}
}

static void tap_out(void *arg, const uint8_t *f, size_t len)
{
	struct nic *n = arg;
	if (write(n->tapfd, f, len) != (ssize_t)len)
		n->st.tx_drops++;
	else {
		n->st.tx_packets++;
		n->st.tx_bytes += (uint64_t)len;
	}
}

/*
 * The driver's frames, to the tap or, while holding, into the hold; a
 * full hold leaves the rest in the ring until a release makes room.
 */
static void tx_process(struct nic *n)
{
	struct virtq *q = &n->t.q[TXQ];
	char err[200];
	int r = 0, any = 0;

	for (;;) {
		if (n->holding && !hold_room(&n->hold, FRAME_MAX)) {
			if (!n->tx_stalled)
				n->hold_stalls++;
			n->tx_stalled = 1;
			break;
		}
		if ((r = virtq_pop(q, n->t.gm, &n->chain, err, sizeof(err))) != 1)
			break;
		long len = gather(n, &n->chain);
		if (len < FRAME_MIN || (n->holding && len > FRAME_MAX))
			n->st.tx_drops++;
		else if (n->holding)
			hold_put(&n->hold, n->txbuf, (size_t)len);	/* room: checked above */
		else
			tap_out(n, n->txbuf, (size_t)len);
		virtq_push(q, n->t.gm, n->chain.head, 0);
		any = 1;
	}
	queue_end(n, q, r, any, err);
}

/* after a release: a queue that waited for room goes on, while the domain runs */
static void tx_resume(struct nic *n)
{
	if (n->tx_stalled && n->running && usable(n, TXQ)) {
		n->tx_stalled = 0;
		tx_process(n);
	}
}

int nic_hold_start(struct nic *n, size_t cap)
{
	int r = 0;
	pthread_mutex_lock(&n->lock);
	if (!n->holding && (r = hold_init(&n->hold, cap ? cap : NIC_HOLD_DEFAULT)) == 0) {
		n->holding = 1;
		n->hold_stalls = n->hold_marked = n->hold_acked = 0;
		log_info("virtio net: holding output for the backup (%zu bytes at most)", n->hold.cap);
	}
	pthread_mutex_unlock(&n->lock);
	return r;
}

int nic_hold_mark(struct nic *n, uint64_t epoch)
{
	pthread_mutex_lock(&n->lock);
	int r = n->holding ? hold_mark(&n->hold, epoch) : -1;
	if (r == 0)
		n->hold_marked = epoch;
	pthread_mutex_unlock(&n->lock);
	return r;
}

int nic_hold_release(struct nic *n, uint64_t epoch)
{
	pthread_mutex_lock(&n->lock);
	int r = n->holding && epoch <= n->hold_marked ? 0 : -1;
	if (r == 0) {
		hold_release(&n->hold, epoch, tap_out, n);
		if (epoch > n->hold_acked)
			n->hold_acked = epoch;
		tx_resume(n);
	}
	pthread_mutex_unlock(&n->lock);
	return r;
}

void nic_hold_stop(struct nic *n)
{
	pthread_mutex_lock(&n->lock);
	if (n->holding) {
		size_t k = hold_release_all(&n->hold, tap_out, n);
		hold_free(&n->hold);
		n->holding = 0;
		tx_resume(n);
		log_info("virtio net: output no longer held (%zu frames released at once)", k);
	}
	pthread_mutex_unlock(&n->lock);
}

/* one control command: class, command, then the writable ack byte */
static void ctrl_process(struct nic *n)
{
	struct virtq *q = &n->t.q[CTRLQ];
	char err[200];
	int r, any = 0;

	while ((r = virtq_pop(q, n->t.gm, &n->chain, err, sizeof(err))) == 1) {
		const struct virtq_chain *c = &n->chain;
		const struct virtq_buf *ack = c->n ? &c->buf[c->n - 1] : NULL;
		if (!ack || !ack->writable || ack->len < 1 || c->buf[0].writable ||
		    c->buf[0].len < 2) {
			virtio_needs_reset(&n->t, "a control command without its header or ack");
			break;
		}
		const uint8_t *h = gmem_ptr(n->t.gm, c->buf[0].gpa, 2);
		uint8_t ok = 1;	/* VIRTIO_NET_ERR */
		if (h[0] == CTRL_ANNOUNCE && h[1] == CTRL_ANNOUNCE_ACK) {
			n->status &= (uint16_t)~S_ANNOUNCE;
			sync_config(n);
			ok = 0;
			log_info("virtio net: the guest announced itself");
		}
		*gmem_ptr(n->t.gm, ack->gpa, 1) = ok;
		mark(n, ack->gpa, 1);
		virtq_push(q, n->t.gm, c->head, 1);
		any = 1;
	}
	queue_end(n, q, r, any, err);
}

static void notify(struct virtio_mmio *t, unsigned queue)
{
	struct nic *n = t->priv;
	if (queue == TXQ)
		tx_process(n);
	else if (queue == CTRLQ)
		ctrl_process(n);
	else if (queue == RXQ) {
		uint64_t one = 1;
		ssize_t w = write(n->kickfd, &one, sizeof(one));
		(void)w;	/* a full counter already wakes the thread */
	}
}

static void reset(struct virtio_mmio *t)
{
	struct nic *n = t->priv;
	n->rx_no_notify = 0;
	n->status &= (uint16_t)~S_ANNOUNCE;
	sync_config(n);
}

/* one frame from the tap onto the pending FIFO: 1, or 0 when none waits or no room */
static int tap_take(struct nic *n)
{
	while (n->npending < NIC_PENDING) {
		ssize_t r = read(n->tapfd, n->txbuf, sizeof(n->txbuf));
		if (r < 0)
			return 0;	/* EAGAIN: nothing waits */
		if (r < FRAME_MIN || r > FRAME_MAX) {
			n->st.rx_drops++;
			continue;
		}
		struct frame *f = &n->pending[(n->phead + n->npending) % NIC_PENDING];
		f->len = (uint16_t)r;
		memcpy(f->b, n->txbuf, (size_t)r);
		n->npending++;
		return 1;
	}
	return 0;
}

/* the next frame for the guest: the oldest pending one, else one from the tap */
static struct frame *next_frame(struct nic *n)
{
	return n->npending || tap_take(n) ? &n->pending[n->phead] : NULL;
}

static void drop_head(struct nic *n)
{
	n->phead = (n->phead + 1) % NIC_PENDING;
	n->npending--;
}

/* the frame into the chain's writable buffers behind a zeroed header */
static int fill(struct nic *n, const struct virtq_chain *c, const struct frame *f)
{
	uint8_t hdr[HDR_LEN] = { 0 };
	const uint8_t *src[2] = { hdr, f->b };
	uint64_t left[2] = { HDR_LEN, f->len }, written = 0;
	int part = 0;

	if (c->in_bytes < HDR_LEN + (uint64_t)f->len)
		return -1;
	hdr[10] = 1;	/* num_buffers */
	for (uint32_t i = 0; i < c->n && part < 2; i++) {
		if (!c->buf[i].writable)
			continue;
		uint64_t room = c->buf[i].len, at = c->buf[i].gpa;
		while (room && part < 2) {
			uint64_t k = left[part] < room ? left[part] : room;
			memcpy(gmem_ptr(n->t.gm, at, k), src[part], k);	/* within the buffer */
			mark(n, at, k);
			src[part] += k;
			left[part] -= k;
			at += k;
			room -= k;
			written += k;
			if (!left[part])
				part++;
		}
	}
	return (int)written;
}

/*
 * Moves what frames it can into the guest; returns 1 when the tap should
 * be watched (the guest has buffers), 0 when only a kick can help.
 */
static int rx_deliver(struct nic *n, int *woke)
{
	struct virtq *q = &n->t.q[RXQ];
	char err[200];
	int any = 0;

	if (!n->running || !usable(n, RXQ))
		return 0;
	for (;;) {
		if (!virtq_avail(q, n->t.gm)) {
			if (!n->npending && !next_frame(n))
				break;	/* nothing to deliver, and no buffer */
			if (n->rx_no_notify) {	/* ask for a kick, then look again */
				virtq_set_no_notify(q, n->t.gm, 0);
				n->rx_no_notify = 0;
				mark_used(n, q);
			}
			if (!virtq_avail(q, n->t.gm))
				break;
		}
		struct frame *f = next_frame(n);
		if (!f)
			break;
		int r = virtq_pop(q, n->t.gm, &n->chain, err, sizeof(err));
		if (r < 0) {
			virtio_needs_reset(&n->t, err);
			break;
		}
		if (r == 0)
			break;
		int w = fill(n, &n->chain, f);
		if (w < 0)
			n->st.rx_drops++;	/* the driver's buffers are too small for it */
		else {
			n->st.rx_packets++;
			n->st.rx_bytes += f->len;
		}
		drop_head(n);
		virtq_push(q, n->t.gm, n->chain.head, w < 0 ? 0 : (uint32_t)w);
		any = 1;
	}
	int have = usable(n, RXQ) && virtq_avail(q, n->t.gm) > 0;
	if (have && !n->rx_no_notify) {
		virtq_set_no_notify(q, n->t.gm, 1);
		n->rx_no_notify = 1;
		any = 1;
	}
	queue_end(n, q, 0, any, NULL);
	*woke |= any;
	return have && n->npending < NIC_PENDING;
}

static void *rx_thread(void *arg)
{
	struct nic *n = arg;
	int watch_tap = 0;

	cpuplan_ordinary(&n->vm->cpus);	/* a guest's: see cpuplan.c */
	for (;;) {
		struct pollfd p[2] = { { n->kickfd, POLLIN, 0 }, { n->tapfd, POLLIN, 0 } };
		/* without buffers, look again now and then: a driver may refill
		 * without the kick we asked for */
		if (poll(p, watch_tap ? 2 : 1, watch_tap ? -1 : 10) < 0 && errno != EINTR)
			break;
		if (p[0].revents & POLLIN) {
			uint64_t v;
			ssize_t r = read(n->kickfd, &v, sizeof(v));
			(void)r;
		}
		int woke = 0;
		pthread_mutex_lock(&n->lock);
		if (n->quit) {
			pthread_mutex_unlock(&n->lock);
			break;
		}
		watch_tap = rx_deliver(n, &woke);
		pthread_mutex_unlock(&n->lock);
		if (woke)
			vm_wake(n->vm);
	}
	return NULL;
}

/* RARP from the VM's MAC to everyone: the switches learn its port */
static void host_announce(struct nic *n)
{
	uint8_t f[60] = { 0 };
	memset(f, 0xff, 6);
	memcpy(f + 6, n->mac, 6);
	f[12] = 0x80, f[13] = 0x35;		/* RARP */
	f[14] = 0, f[15] = 1;			/* Ethernet */
	f[16] = 0x08, f[17] = 0;		/* IPv4 */
	f[18] = 6, f[19] = 4;
	f[20] = 0, f[21] = 3;			/* reverse request */
	memcpy(f + 22, n->mac, 6);
	memcpy(f + 32, n->mac, 6);
	if (write(n->tapfd, f, sizeof(f)) == (ssize_t)sizeof(f))
		n->st.announces++;
}

static void nic_io(struct device *d, struct vcpu *v, uint64_t off, int wr, uint8_t *data,
    unsigned size)
{
	struct nic *n = d->priv;
	(void)v;
	pthread_mutex_lock(&n->lock);
	virtio_mmio_io(&n->t, off, wr, data, size);
	pthread_mutex_unlock(&n->lock);
}

static void nic_state(struct device *d, enum dom_state to)
{
	struct nic *n = d->priv;
	uint64_t one = 1;
	pthread_mutex_lock(&n->lock);
	n->running = to == DS_RUNNING;
	if (n->running && n->host_announce) {
		host_announce(n);
		n->host_announce = 0;
	}
	tx_resume(n);	/* a release while paused made room */
	pthread_mutex_unlock(&n->lock);
	if (n->running && write(n->kickfd, &one, sizeof(one)) < 0)
		log_warn("virtio net: waking the receive thread");
}

/*
 * Saved form (little-endian): u8 version, mac[6], u16 status, the counters
 * (10 x u64), u32 transport length and the transport's blob, u16 frames, then
 * per frame u16 length and its bytes.
 */
#define FIXED (1 + 6 + 2 + sizeof(struct nic_stats) + 4)
static void put16(uint8_t *p, uint16_t v) { memcpy(p, &v, 2); }
static uint16_t get16(const uint8_t *p) { uint16_t v; memcpy(&v, p, 2); return v; }

/*
 * A frame list, in the saved form and in a hand-over's late frames: u16
 * count (at most NIC_PENDING), then per frame u16 length (FRAME_MIN..
 * FRAME_MAX) and its bytes.
 */
static size_t frames_size(const struct nic *n)
{
	size_t need = 2;
	for (unsigned i = 0; i < n->npending; i++)
		need += 2 + n->pending[(n->phead + i) % NIC_PENDING].len;
	return need;
}

/* the pending frames into buf (frames_size bytes) */
static size_t frames_put(const struct nic *n, uint8_t *buf)
{
	size_t at = 2;
	put16(buf, (uint16_t)n->npending);
	for (unsigned i = 0; i < n->npending; i++) {
		const struct frame *f = &n->pending[(n->phead + i) % NIC_PENDING];
		put16(buf + at, f->len);
		memcpy(buf + at + 2, f->b, f->len);
		at += 2 + (size_t)f->len;
	}
	return at;
}

/* a whole frame list in buf[0, len): its length, or 0 when it is not one */
static size_t frames_check(const uint8_t *buf, size_t len)
{
	if (len < 2)
		return 0;
	unsigned nf = get16(buf);
	size_t at = 2;
	if (nf > NIC_PENDING)
		return 0;
	for (unsigned i = 0; i < nf; i++) {
		if (len - at < 2)
			return 0;
		unsigned fl = get16(buf + at);
		if (fl < FRAME_MIN || fl > FRAME_MAX || len - at - 2 < fl)
			return 0;
		at += 2 + fl;
	}
	return at;
}

/* a checked list's frames after the pending ones, while there is room;
 * returns how many did not fit */
static unsigned frames_add(struct nic *n, const uint8_t *buf)
{
	unsigned nf = get16(buf), lost = 0;
	size_t at = 2;
	for (unsigned i = 0; i < nf; i++) {
		unsigned fl = get16(buf + at);
		if (n->npending < NIC_PENDING) {
			struct frame *f = &n->pending[(n->phead + n->npending++) % NIC_PENDING];
			f->len = (uint16_t)fl;
			memcpy(f->b, buf + at + 2, fl);
		} else
			lost++;
		at += 2 + fl;
	}
	return lost;
}

static size_t nic_save(struct device *d, uint8_t *buf, size_t cap)
{
	struct nic *n = d->priv;
	uint32_t tl;
	size_t at;

	pthread_mutex_lock(&n->lock);
	while (tap_take(n))	/* what waits in the tap travels with the state */
		;
	n->st.carried += n->npending;
	size_t need = FIXED + frames_size(n);
	if (cap < need) {
		pthread_mutex_unlock(&n->lock);
		return 0;
	}
	buf[0] = SAVE_VERSION;
	memcpy(buf + 1, n->mac, 6);
	put16(buf + 7, n->status);
	memcpy(buf + 9, &n->st, sizeof(n->st));
	tl = (uint32_t)virtio_save(&n->t, buf + FIXED, cap - need);
	if (!tl) {
		pthread_mutex_unlock(&n->lock);
		return 0;
	}
	memcpy(buf + FIXED - 4, &tl, 4);
	at = FIXED + tl;
	at += frames_put(n, buf + at);
	pthread_mutex_unlock(&n->lock);
	return at;
}

static int nic_check(struct device *d, const uint8_t *buf, size_t len)
{
	struct nic *n = d->priv;
	uint32_t tl;

	if (len < FIXED || buf[0] != SAVE_VERSION || (buf[1] & 1))	/* a multicast MAC */
		return -1;
	memcpy(&tl, buf + FIXED - 4, 4);
	if (tl > len - FIXED || len - FIXED - tl < 2 ||
	    virtio_check(&n->t, buf + FIXED, tl) < 0)
		return -1;
	size_t fl = frames_check(buf + FIXED + tl, len - FIXED - tl);
	return fl && FIXED + tl + fl == len ? 0 : -1;
}

static void nic_load(struct device *d, const uint8_t *buf, size_t len)
{
	struct nic *n = d->priv;
	uint32_t tl;
	(void)len;	/* checked */

	pthread_mutex_lock(&n->lock);
	memcpy(n->mac, buf + 1, 6);
	n->status = get16(buf + 7);
	memcpy(&n->st, buf + 9, sizeof(n->st));
	memcpy(&tl, buf + FIXED - 4, 4);
	virtio_load(&n->t, buf + FIXED, tl);
	n->phead = n->npending = 0;
	frames_add(n, buf + FIXED + tl);
	n->rx_no_notify = -1;	/* unknown: written at the next delivery */
	/* the VM now lives here: the guest announces itself, and so do we */
	n->host_announce = 1;
	if (n->t.driver_features & F_GUEST_ANNOUNCE) {
		n->status |= S_ANNOUNCE;
		n->t.config_gen++;
		interrupt(n, VIRTIO_ISR_CONFIG);
	}
	sync_config(n);
	pthread_mutex_unlock(&n->lock);
}

/* the guest goes idle: what it queued for transmission without a kick goes now */
static void nic_idle(struct device *d)
{
	struct nic *n = d->priv;
	pthread_mutex_lock(&n->lock);
	if (usable(n, TXQ) && virtq_avail(&n->t.q[TXQ], n->t.gm)) {
		n->st.idle_flushes++;
		tx_process(n);
	}
	pthread_mutex_unlock(&n->lock);
}

static const struct dev_ops nic_ops = {
	"net", nic_io, nic_save, nic_check, nic_load, VS_NET, nic_state, nic_idle,
};

static const struct virtio_dev net_tmpl = {
	.name = "net", .device_id = 1,
	.features = F_VERSION_1 | F_MAC | F_STATUS | F_CTRL_VQ | F_GUEST_ANNOUNCE,
	.nqueues = NQ, .queue_max = QUEUE_SIZE,
	.config_len = 10,
	.notify = notify, .reset = reset,
};

/* "BRIDGE[,mac=XX:XX:XX:XX:XX:XX]" */
int nic_parse(const char *spec, const char *vm_name, char bridge[IFNAMSIZ], uint8_t mac[6],
    char *err, size_t errlen)
{
	const char *comma = strchr(spec, ',');
	size_t bl = comma ? (size_t)(comma - spec) : strlen(spec);

	if (!bl || bl >= IFNAMSIZ)
		return refuse(err, errlen, "network %s: the bridge name must be 1 to %d characters",
		    spec, IFNAMSIZ - 1);
	for (size_t i = 0; i < bl; i++)
		if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-",
		    spec[i]))
			return refuse(err, errlen, "network %s: bad character in the bridge name", spec);
	memcpy(bridge, spec, bl);
	bridge[bl] = 0;
	if (comma) {
		unsigned m[6];
		char tail;
		if (strncmp(comma + 1, "mac=", 4) || sscanf(comma + 5, "%2x:%2x:%2x:%2x:%2x:%2x%c",
		    &m[0], &m[1], &m[2], &m[3], &m[4], &m[5], &tail) != 6)
			return refuse(err, errlen, "network %s: expected BRIDGE[,mac=XX:XX:XX:XX:XX:XX]",
			    spec);
		if (m[0] & 1)
			return refuse(err, errlen, "network %s: a multicast MAC cannot name a NIC", spec);
		for (int i = 0; i < 6; i++)
			mac[i] = (uint8_t)m[i];
		return 0;
	}
	/* stable: FNV-1a of the name, locally administered, unicast */
	uint64_t h = 0xcbf29ce484222325ULL;
	for (const char *p = vm_name; *p; p++)
		h = (h ^ (uint8_t)*p) * 0x100000001b3ULL;
	mac[0] = 0x02;
	for (int i = 1; i < 6; i++)
		mac[i] = (uint8_t)(h >> (8 * i));
	return 0;
}

/* the NIC on frame socket fd (taken over, closed on failure), spec parsed */
static struct nic *nic_start(struct vm *vm, const char *bridge, const uint8_t mac[6], int fd,
    const char *ifname, char *err, size_t errlen)
{
	struct nic *n = calloc(1, sizeof(*n));

	if (!n) {
		close(fd);
		snprintf(err, errlen, "network: out of memory");
		return NULL;
	}
	n->vm = vm;
	n->tapfd = fd;
	n->kickfd = -1;
	snprintf(n->ifname, sizeof(n->ifname), "%s", ifname);
	snprintf(n->bridge, sizeof(n->bridge), "%s", bridge);
	memcpy(n->mac, mac, 6);
	pthread_mutex_init(&n->lock, NULL);
	n->status = S_LINK_UP;
	sync_config(n);
	n->dev = net_tmpl;
	n->dev.config = n->config;
	virtio_init(&n->t, &n->dev, n, &vm->gm);
	if ((n->kickfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) < 0) {
		snprintf(err, errlen, "network: eventfd: %s", strerror(errno));
		goto fail;
	}
	if ((errno = pthread_create(&n->thr, NULL, rx_thread, n))) {
		snprintf(err, errlen, "network: receive thread: %s", strerror(errno));
		goto fail;
	}
	n->thr_started = 1;
	if (dev_register(&vm->devs, &nic_ops, DEV_MMIO, NIC_MMIO_BASE, VIRTIO_MMIO_SIZE, n) < 0) {
		snprintf(err, errlen, "network: registering the device: %s", strerror(errno));
		nic_destroy(n);
		return NULL;
	}
	log_info("virtio net: mac %02x:%02x:%02x:%02x:%02x:%02x on %s, bridge %s, at 0x%llx irq %d",
	    n->mac[0], n->mac[1], n->mac[2], n->mac[3], n->mac[4], n->mac[5], n->ifname,
	    n->bridge, (unsigned long long)NIC_MMIO_BASE, NIC_IRQ);
	return n;
fail:
	close(n->tapfd);
	if (n->kickfd >= 0)
		close(n->kickfd);
	free(n);
	return NULL;
}

struct nic *nic_create(struct vm *vm, const char *spec, char *err, size_t errlen)
{
	char bridge[IFNAMSIZ], ifname[IFNAMSIZ], e[300];
	uint8_t mac[6];
	int fd;

	if (nic_parse(spec, vm->name, bridge, mac, err, errlen) < 0)
		return NULL;
	if ((fd = tap_open(bridge, ifname, e, sizeof(e))) < 0) {
		snprintf(err, errlen, "network: %s", e);
		return NULL;
	}
	return nic_start(vm, bridge, mac, fd, ifname, err, errlen);
}

struct nic *nic_create_fd(struct vm *vm, const char *spec, int fd, const char *ifname,
    char *err, size_t errlen)
{
	char bridge[IFNAMSIZ];
	uint8_t mac[6];

	if (nic_parse(spec, vm->name, bridge, mac, err, errlen) < 0) {
		close(fd);
		return NULL;
	}
	return nic_start(vm, bridge, mac, fd, ifname, err, errlen);
}

void nic_destroy(struct nic *n)
{
	uint64_t one = 1;
	if (!n)
		return;
	pthread_mutex_lock(&n->lock);
	n->quit = 1;
	pthread_mutex_unlock(&n->lock);
	if (write(n->kickfd, &one, sizeof(one)) < 0)
		log_warn("virtio net: stopping the receive thread");
	if (n->thr_started)
		pthread_join(n->thr, NULL);
	close(n->tapfd);
	close(n->kickfd);
	hold_free(&n->hold);
	free(n);
}

/*
 * A released domain's late frames: those for the VM alone (whoever else a
 * frame was for has it) that reached its tap after its state was saved,
 * as a frame list for the migration to carry to the destination.  Sent
 * back out into the bridge instead, they reached the destination but
 * taught every bridge on the way that their senders sat behind this tap,
 * and the replies to them were lost.  At most NIC_PENDING; the rest are
 * dropped and counted.
 */
size_t nic_take(struct nic *n, uint8_t *buf, size_t cap)
{
	ssize_t r;
	size_t len = 0;

	pthread_mutex_lock(&n->lock);
	n->phead = n->npending = 0;	/* the saved ones went with the state */
	while ((r = read(n->tapfd, n->txbuf, sizeof(n->txbuf))) >= 0 || errno == EINTR) {
		if (r < FRAME_MIN || r > FRAME_MAX || memcmp(n->txbuf, n->mac, 6))
			continue;
		if (n->npending == NIC_PENDING) {
			n->st.rx_drops++;
			continue;
		}
		struct frame *f = &n->pending[n->npending++];
		f->len = (uint16_t)r;
		memcpy(f->b, n->txbuf, (size_t)r);
	}
	if (frames_size(n) <= cap) {
		len = frames_put(n, buf);
		n->st.reflected += n->npending;
	} else
		n->st.rx_drops += n->npending;
	n->npending = 0;
	pthread_mutex_unlock(&n->lock);
	return len;
}

int nic_inject(struct nic *n, const uint8_t *buf, size_t len)
{
	uint64_t one = 1;
	if (frames_check(buf, len) != len || !len)
		return -1;
	pthread_mutex_lock(&n->lock);
	unsigned nf = get16(buf), lost = frames_add(n, buf);
	n->st.rx_drops += lost;
	n->st.carried += nf - lost;
	pthread_mutex_unlock(&n->lock);
	if (write(n->kickfd, &one, sizeof(one)) < 0)
		log_warn("virtio net: waking the receive thread");
	if (nf)
		log_info("virtio net: %u frames that reached the VM's old host late, delivered%s",
		    nf - lost, lost ? " (the rest found no room: dropped)" : "");
	return 0;
}

void nic_describe(struct nic *n, struct nic_info *ni)
{
	pthread_mutex_lock(&n->lock);
	snprintf(ni->spec, sizeof(ni->spec), "%s,mac=%02x:%02x:%02x:%02x:%02x:%02x", n->bridge,
	    n->mac[0], n->mac[1], n->mac[2], n->mac[3], n->mac[4], n->mac[5]);
	snprintf(ni->tap, sizeof(ni->tap), "%s", n->ifname);
	ni->st = n->st;
	ni->status = n->t.status;
	ni->hold = (struct nic_hold_info){ n->holding, n->hold.frames,
		n->hold.len - 2 * n->hold.frames, n->hold.released, n->hold_stalls,
		n->hold_marked, n->hold_acked };
	pthread_mutex_unlock(&n->lock);
}
