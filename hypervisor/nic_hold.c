/*
 * nic_hold.c - output commit for a protected VM: the frames its NIC
 * transmits, held until the backup has the epoch they belong to.
 *
 * Remus' rule: a client may see only what the backup would remember.  While
 * holding, every frame the guest transmits (any ethertype, ARP too) goes
 * into a bounded FIFO instead of the tap.  At each epoch's pause the
 * protector marks the boundary: the frames held so far belong to that
 * epoch.  When the backup acknowledges epoch N, the frames up to N's mark
 * go out, in order; never one of a later epoch.
 *
 * When the FIFO is full the NIC stops taking frames off the transmit
 * queue (virtio_net.c): the guest's driver sees a full ring, as on a
 * saturated link, and its frames wait in guest memory, where the next
 * checkpoint carries them.  Nothing is dropped; each stall is counted.
 * A ring of bytes: each frame is a u16 length and its bytes, possibly
 * wrapping around the end.
 */
#include <stdlib.h>
#include <string.h>

#include "hvd.h"

int hold_init(struct nic_hold *h, size_t cap)
{
	memset(h, 0, sizeof(*h));
	if (cap < 2 + NIC_FRAME_MAX)
		cap = 2 + NIC_FRAME_MAX;
	if (!(h->buf = malloc(cap)))
		return -1;
	h->cap = cap;
	return 0;
}

void hold_free(struct nic_hold *h)
{
	free(h->buf);
	memset(h, 0, sizeof(*h));
}

int hold_room(const struct nic_hold *h, size_t len)
{
	return h->cap - h->len >= 2 + len;
}

static void ring_put(struct nic_hold *h, const uint8_t *p, size_t n)
{
	size_t at = (h->head + h->len) % h->cap, first = h->cap - at < n ? h->cap - at : n;
	memcpy(h->buf + at, p, first);
	memcpy(h->buf, p + first, n - first);
	h->len += n;
}

static void ring_get(struct nic_hold *h, uint8_t *p, size_t n)
{
	size_t first = h->cap - h->head < n ? h->cap - h->head : n;
	memcpy(p, h->buf + h->head, first);
	memcpy(p + first, h->buf, n - first);
	h->head = (h->head + n) % h->cap;
	h->len -= n;
}

int hold_put(struct nic_hold *h, const uint8_t *frame, size_t len)
{
	uint8_t l[2] = { (uint8_t)len, (uint8_t)(len >> 8) };
	if (len > NIC_FRAME_MAX || !hold_room(h, len))
		return -1;
	ring_put(h, l, 2);
	ring_put(h, frame, len);
	h->frames++;
	h->added++;
	return 0;
}

int hold_mark(struct nic_hold *h, uint64_t epoch)
{
	if (epoch <= h->last_mark || h->nmarks == NIC_HOLD_MARKS)
		return -1;	/* epochs only grow; too many wait */
	h->marks[(h->mhead + h->nmarks) % NIC_HOLD_MARKS] = (struct hold_mark){ epoch, h->added };
	h->nmarks++;
	h->last_mark = epoch;
	return 0;
}

/* out() each held frame before frame number upto */
static size_t release_upto(struct nic_hold *h, uint64_t upto, void (*out)(void *, const uint8_t *, size_t),
    void *arg)
{
	uint8_t f[NIC_FRAME_MAX], l[2];
	size_t n = 0;
	while (h->released < upto && h->frames) {
		ring_get(h, l, 2);
		size_t len = (size_t)l[0] | (size_t)l[1] << 8;
		ring_get(h, f, len);
		h->frames--;
		h->released++;
		out(arg, f, len);
		n++;
	}
	return n;
}

size_t hold_release(struct nic_hold *h, uint64_t epoch, void (*out)(void *, const uint8_t *, size_t),
    void *arg)
{
	uint64_t upto = h->released;
	while (h->nmarks && h->marks[h->mhead].epoch <= epoch) {
		upto = h->marks[h->mhead].seq;
		h->mhead = (h->mhead + 1) % NIC_HOLD_MARKS;
		h->nmarks--;
	}
	return release_upto(h, upto, out, arg);
}

size_t hold_release_all(struct nic_hold *h, void (*out)(void *, const uint8_t *, size_t), void *arg)
{
	h->mhead = h->nmarks = 0;
	return release_upto(h, h->added, out, arg);
}
