/*
 * virtio_mmio.c - the virtio-mmio transport, virtio 1.x modern layout
 * (Version 2; section 4.2 of the spec, as Firecracker and kvmtool do it),
 * for one device behind it: identification, the 64-bit feature words in
 * two halves, the device status with its handshake, per-queue setup
 * (size, the three ring addresses, ready), notification, the interrupt
 * status, and the device's config space from 0x100.
 *
 * The driver is the guest, so its writes are checked: features must be a
 * subset of the device's and include VERSION_1 before FEATURES_OK sticks;
 * a queue is checked against guest memory when it is made ready; a device
 * that finds a malformed chain calls virtio_needs_reset, which sets
 * DEVICE_NEEDS_RESET (and raises a config interrupt) until the driver
 * resets it by writing 0 to Status.  Only 32-bit accesses reach the
 * registers; config space takes any width inside its length.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "hvd.h"
#include "log.h"

#define MAGIC		0x74726976	/* "virt" */
#define MMIO_VERSION	2
#define VENDOR		0x554d4551	/* "QEMU", as kvmtool and Firecracker report */
#define F_VERSION_1	(1ULL << 32)
#define SAVE_VERSION	1

void virtio_init(struct virtio_mmio *t, const struct virtio_dev *dev, void *priv,
    const struct gmem *gm)
{
	memset(t, 0, sizeof(*t));
	t->dev = dev;
	t->priv = priv;
	t->gm = gm;
}

static void reset(struct virtio_mmio *t)
{
	t->status = 0;
	t->driver_features = 0;
	t->isr = 0;
	t->dfsel = t->gfsel = t->qsel = 0;
	memset(t->q, 0, sizeof(t->q));
	memset(t->ready, 0, sizeof(t->ready));
	if (t->dev->reset)
		t->dev->reset(t);
}

void virtio_needs_reset(struct virtio_mmio *t, const char *why)
{
	if (!(t->status & VIRTIO_S_NEEDS_RESET))
		log_warnx("virtio %s: %s: the device needs a reset", t->dev->name, why);
	t->status |= VIRTIO_S_NEEDS_RESET;
	t->isr |= VIRTIO_ISR_CONFIG;
}

static struct virtq *selq(struct virtio_mmio *t)
{
	return t->qsel < t->dev->nqueues ? &t->q[t->qsel] : NULL;
}

static void set_status(struct virtio_mmio *t, uint32_t v)
{
	if (v == 0) {
		reset(t);
		return;
	}
	if ((v & VIRTIO_S_FEATURES_OK) && !(t->status & VIRTIO_S_FEATURES_OK)) {
		uint64_t f = t->driver_features;
		if ((f & ~t->dev->features) || !(f & F_VERSION_1)) {
			log_warnx("virtio %s: the driver's features 0x%llx are not the device's 0x%llx "
			    "with VERSION_1: FEATURES_OK refused", t->dev->name, (unsigned long long)f,
			    (unsigned long long)t->dev->features);
			v &= ~(uint32_t)VIRTIO_S_FEATURES_OK;
		}
	}
	/* the device's own bit stays as it is */
	t->status = (v & ~(uint32_t)VIRTIO_S_NEEDS_RESET) | (t->status & VIRTIO_S_NEEDS_RESET);
}

static void queue_ready(struct virtio_mmio *t, uint32_t v)
{
	struct virtq *q = selq(t);
	char err[200];
	if (!q)
		return;
	if (!v) {
		t->ready[t->qsel] = 0;
		return;
	}
	if (virtq_check(q, t->gm, err, sizeof(err)) < 0) {
		virtio_needs_reset(t, err);
		return;
	}
	q->last_avail = q->used_idx = 0;
	t->ready[t->qsel] = 1;
}

static uint32_t reg_read(struct virtio_mmio *t, uint64_t off)
{
	struct virtq *q = selq(t);
	switch (off) {
	case 0x000: return MAGIC;
	case 0x004: return MMIO_VERSION;
	case 0x008: return t->dev->device_id;
	case 0x00c: return VENDOR;
	case 0x010: return t->dfsel == 0 ? (uint32_t)t->dev->features :
	    t->dfsel == 1 ? (uint32_t)(t->dev->features >> 32) : 0;
	case 0x034: return q ? t->dev->queue_max : 0;
	case 0x044: return q ? (uint32_t)t->ready[t->qsel] : 0;
	case 0x060: return t->isr;
	case 0x070: return t->status;
	case 0x0fc: return t->config_gen;
	default: return 0;
	}
}

static void set_half(uint64_t *v, int high, uint32_t x)
{
	*v = high ? (*v & 0xffffffffULL) | (uint64_t)x << 32 : (*v & ~0xffffffffULL) | x;
}

static void reg_write(struct virtio_mmio *t, uint64_t off, uint32_t v)
{
	struct virtq *q = selq(t);
	/* a queue's setup may change only while it is not ready (4.2.2.2) */
	int setup = q && !t->ready[t->qsel];
	switch (off) {
	case 0x014: t->dfsel = v; break;
	case 0x020:
		if (t->gfsel < 2 && !(t->status & VIRTIO_S_FEATURES_OK))
			set_half(&t->driver_features, t->gfsel == 1, v);
		break;
	case 0x024: t->gfsel = v; break;
	case 0x030: t->qsel = v; break;
	case 0x038: if (setup) q->size = v <= t->dev->queue_max ? (uint16_t)v : 0; break;
	case 0x044: queue_ready(t, v); break;
	case 0x050:
		if (v < t->dev->nqueues && t->ready[v] && (t->status & VIRTIO_S_DRIVER_OK) &&
		    !(t->status & VIRTIO_S_NEEDS_RESET) && t->dev->notify)
			t->dev->notify(t, v);
		break;
	case 0x064: t->isr &= ~v; break;
	case 0x070: set_status(t, v); break;
	case 0x080: if (setup) set_half(&q->desc, 0, v); break;
	case 0x084: if (setup) set_half(&q->desc, 1, v); break;
	case 0x090: if (setup) set_half(&q->avail, 0, v); break;
	case 0x094: if (setup) set_half(&q->avail, 1, v); break;
	case 0x0a0: if (setup) set_half(&q->used, 0, v); break;
	case 0x0a4: if (setup) set_half(&q->used, 1, v); break;
	default: break;
	}
}

void virtio_mmio_io(struct virtio_mmio *t, uint64_t off, int is_write, uint8_t *data,
    unsigned size)
{
	if (off >= VIRTIO_CONFIG) {	/* the device's config space */
		uint64_t c = off - VIRTIO_CONFIG;
		if (c >= t->dev->config_len || size > t->dev->config_len - c) {
			if (!is_write)
				memset(data, 0, size);
			return;
		}
		if (is_write) {
			if (t->dev->config_write)
				t->dev->config_write(t, (uint32_t)c, data, size);
		} else
			memcpy(data, t->dev->config + c, size);
		return;
	}
	if (size != 4 || (off & 3)) {	/* registers are 32-bit */
		if (!is_write)
			memset(data, 0, size);
		return;
	}
	uint32_t v;
	if (is_write) {
		memcpy(&v, data, 4);
		reg_write(t, off, v);
	} else {
		v = reg_read(t, off);
		memcpy(data, &v, 4);
	}
}

/* Saved form: version, status, isr, the feature word, queue count, then
 * per queue: size, ready, desc, avail, used, last_avail, used_idx. */
#define QREC 34
size_t virtio_save(const struct virtio_mmio *t, uint8_t *buf, size_t cap)
{
	size_t n = 18 + (size_t)QREC * t->dev->nqueues;
	if (cap < n)
		return 0;
	buf[0] = SAVE_VERSION;
	memcpy(buf + 1, &t->status, 4);
	memcpy(buf + 5, &t->isr, 4);
	memcpy(buf + 9, &t->driver_features, 8);
	buf[17] = (uint8_t)t->dev->nqueues;
	for (unsigned i = 0; i < t->dev->nqueues; i++) {
		uint8_t *p = buf + 18 + QREC * i;
		const struct virtq *q = &t->q[i];
		memcpy(p, &q->size, 2);
		p[2] = (uint8_t)t->ready[i];
		p[3] = 0;
		memcpy(p + 4, &q->desc, 8);
		memcpy(p + 12, &q->avail, 8);
		memcpy(p + 20, &q->used, 8);
		memcpy(p + 28, &q->last_avail, 2);
		memcpy(p + 30, &q->used_idx, 2);
		p[32] = p[33] = 0;
	}
	return n;
}

int virtio_check(const struct virtio_mmio *t, const uint8_t *buf, size_t len)
{
	if (len < 18 || buf[0] != SAVE_VERSION || buf[17] != t->dev->nqueues ||
	    len != 18 + (size_t)QREC * buf[17]) {
		errno = EINVAL;
		return -1;
	}
	uint64_t f;
	memcpy(&f, buf + 9, 8);
	if (f & ~t->dev->features) {
		errno = EINVAL;
		return -1;
	}
	for (unsigned i = 0; i < buf[17]; i++) {
		const uint8_t *p = buf + 18 + QREC * i;
		struct virtq q = { 0, 0, 0, 0, 0, 0 };
		char err[200];
		memcpy(&q.size, p, 2);
		memcpy(&q.desc, p + 4, 8);
		memcpy(&q.avail, p + 12, 8);
		memcpy(&q.used, p + 20, 8);
		if (p[2] > 1 || q.size > t->dev->queue_max ||
		    (p[2] && virtq_check(&q, t->gm, err, sizeof(err)) < 0)) {
			errno = EINVAL;
			return -1;
		}
	}
	return 0;
}

void virtio_load(struct virtio_mmio *t, const uint8_t *buf, size_t len)
{
	(void)len;	/* checked */
	memcpy(&t->status, buf + 1, 4);
	memcpy(&t->isr, buf + 5, 4);
	memcpy(&t->driver_features, buf + 9, 8);
	for (unsigned i = 0; i < t->dev->nqueues; i++) {
		const uint8_t *p = buf + 18 + QREC * i;
		struct virtq *q = &t->q[i];
		memcpy(&q->size, p, 2);
		t->ready[i] = p[2];
		memcpy(&q->desc, p + 4, 8);
		memcpy(&q->avail, p + 12, 8);
		memcpy(&q->used, p + 20, 8);
		memcpy(&q->last_avail, p + 28, 2);
		memcpy(&q->used_idx, p + 30, 2);
	}
}
