/*
 * virtq.c - the split virtqueue of virtio 1.x (section 2.7 of the spec),
 * the device's side, over guest memory the guest fills: the descriptor
 * table, the available ring the driver offers chains on, the used ring the
 * device returns them on.
 *
 * Everything in these rings is the guest's to choose, so nothing is taken
 * on trust: every address and length must lie inside guest RAM, in one
 * of its regions (gmem_ptr, gmem_off), a chain may not be longer than the queue (a loop), its
 * byte count may not overflow, a NEXT index must be inside the table, an
 * indirect table must be a whole number of descriptors inside memory and
 * may not itself hold an indirect descriptor, a readable descriptor may
 * not follow a writable one, and the driver may not offer more chains
 * than the queue holds.  Any of these makes virtq_pop fail with the reason;
 * the device then goes to NEEDS_RESET (virtio 2.1.2) and the host carries
 * on.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "hvd.h"

#define DESC_F_NEXT	1
#define DESC_F_WRITE	2
#define DESC_F_INDIRECT	4

struct desc {
	uint64_t addr;
	uint32_t len;
	uint16_t flags, next;
};

static uint16_t rd16(const uint8_t *p) { return (uint16_t)(p[0] | p[1] << 8); }
static uint32_t rd32(const uint8_t *p) { return (uint32_t)rd16(p) | (uint32_t)rd16(p + 2) << 16; }
static uint64_t rd64(const uint8_t *p) { return (uint64_t)rd32(p) | (uint64_t)rd32(p + 4) << 32; }
static void wr16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)v; p[1] = (uint8_t)(v >> 8); }
static void wr32(uint8_t *p, uint32_t v) { wr16(p, (uint16_t)v); wr16(p + 2, (uint16_t)(v >> 16)); }


int virtq_check(const struct virtq *q, const struct gmem *g, char *err, size_t errlen)
{
	uint64_t n = q->size;
	if (!n || n > VIRTQ_MAX || (n & (n - 1)))
		return refuse(err, errlen, "queue size %u: a power of two, 1..%d", q->size, VIRTQ_MAX);
	if ((q->desc & 15) || (q->avail & 1) || (q->used & 3))
		return refuse(err, errlen, "rings misaligned (descriptors 16, available 2, used 4)");
	if (!gmem_ptr(g, q->desc, 16 * n) || !gmem_ptr(g, q->avail, 6 + 2 * n) ||
	    !gmem_ptr(g, q->used, 6 + 8 * n))
		return refuse(err, errlen, "a ring of the %u-entry queue lies outside guest memory",
		    q->size);
	return 0;
}

static void desc_at(const uint8_t *p, struct desc *d)
{
	d->addr = rd64(p);
	d->len = rd32(p + 8);
	d->flags = rd16(p + 12);
	d->next = rd16(p + 14);
}

/* one chain's descriptors from table (n entries at gpa tbl, in RAM) starting at i */
static int walk(const struct gmem *g, uint64_t tbl, uint32_t n, uint32_t i, int indirect_ok,
    struct virtq_chain *c, char *err, size_t errlen)
{
	const uint8_t *t = gmem_ptr(g, tbl, 16ULL * n);
	for (uint32_t steps = 0;; steps++) {
		struct desc d;
		if (i >= n)
			return refuse(err, errlen, "descriptor index %u outside a table of %u", i, n);
		if (steps >= n)
			return refuse(err, errlen, "a chain longer than its table of %u: a loop", n);
		desc_at(t + 16ULL * i, &d);
		if (d.flags & DESC_F_INDIRECT) {
			if (!indirect_ok)
				return refuse(err, errlen, "an indirect descriptor (%u) inside an indirect "
				    "table", i);
			if (c->n)
				return refuse(err, errlen, "an indirect descriptor (%u) after %u others: it "
				    "must be the whole chain", i, c->n);
			if ((d.flags & DESC_F_NEXT) || d.len == 0 || d.len % 16 ||
			    d.len / 16 > VIRTQ_MAX || !gmem_ptr(g, d.addr, d.len))
				return refuse(err, errlen, "indirect table of %u bytes at descriptor %u is "
				    "malformed", d.len, i);
			return walk(g, d.addr, d.len / 16, 0, 0, c, err, errlen);
		}
		if (gmem_off(g, d.addr, d.len) < 0)
			return refuse(err, errlen, "descriptor %u: %u bytes outside guest memory", i, d.len);
		if (c->n >= VIRTQ_MAX)
			return refuse(err, errlen, "a chain of more than %u buffers", VIRTQ_MAX);
		int w = (d.flags & DESC_F_WRITE) != 0;
		if (!w && c->n && c->buf[c->n - 1].writable)
			return refuse(err, errlen, "descriptor %u: readable after writable", i);
		uint64_t *sum = w ? &c->in_bytes : &c->out_bytes;
		if (*sum + d.len > VIRTQ_CHAIN_BYTES_MAX)
			return refuse(err, errlen, "a chain of more than %u bytes", VIRTQ_CHAIN_BYTES_MAX);
		*sum += d.len;
		c->buf[c->n++] = (struct virtq_buf){ d.addr, d.len, w };
		if (!(d.flags & DESC_F_NEXT))
			return 0;
		i = d.next;
	}
}

int virtq_pop(struct virtq *q, const struct gmem *g, struct virtq_chain *c, char *err,
    size_t errlen)
{
	if (virtq_check(q, g, err, errlen) < 0)
		return -1;
	const uint8_t *avail = gmem_ptr(g, q->avail, 6 + 2ULL * q->size);
	uint16_t avail_idx = rd16(avail + 2);
	uint16_t pending = (uint16_t)(avail_idx - q->last_avail);
	if (pending > q->size)
		return refuse(err, errlen, "the driver offers %u chains on a queue of %u", pending, q->size);
	if (!pending)
		return 0;
	__atomic_thread_fence(__ATOMIC_ACQUIRE);	/* the ring entry after its index */
	uint16_t head = rd16(avail + 4 + 2ULL * (q->last_avail % q->size));
	c->head = head;
	c->n = 0;
	c->out_bytes = c->in_bytes = 0;
	if (walk(g, q->desc, q->size, head, 1, c, err, errlen) < 0)
		return -1;
	q->last_avail++;
	return 1;
}

void virtq_push(struct virtq *q, const struct gmem *g, uint16_t head, uint32_t written)
{
	uint8_t *used = gmem_ptr(g, q->used, 6 + 8ULL * q->size);
	uint8_t *e = used + 4 + 8ULL * (q->used_idx % q->size);
	wr32(e, head);
	wr32(e + 4, written);
	q->used_idx++;
	__atomic_thread_fence(__ATOMIC_RELEASE);	/* the entry before its index */
	wr16(used + 2, q->used_idx);
}

uint16_t virtq_avail(const struct virtq *q, const struct gmem *g)
{
	uint16_t n = (uint16_t)(rd16(gmem_ptr(g, q->avail, 4) + 2) - q->last_avail);
	__atomic_thread_fence(__ATOMIC_ACQUIRE);
	return n;
}

int virtq_interrupt_wanted(const struct virtq *q, const struct gmem *g)
{
	return !(rd16(gmem_ptr(g, q->avail, 2)) & VIRTQ_AVAIL_F_NO_INTERRUPT);
}

void virtq_set_no_notify(struct virtq *q, const struct gmem *g, int no_notify)
{
	wr16(gmem_ptr(g, q->used, 2), no_notify ? VIRTQ_USED_F_NO_NOTIFY : 0);
	__atomic_thread_fence(__ATOMIC_SEQ_CST);	/* the flag before the next look at avail */
}
