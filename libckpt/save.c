/*
 * save.c - the save engine: the page pump that live migration and Remus
 * share, in the manner of Xen's xg_sr_save.c.
 *
 * The caller gives the stream, the guest's memory (a mapping, and the file
 * behind it to find holes in), the bitmap its dirty log is peeked into,
 * and a table of hooks (ckpt.h: peek, policy, round_end, tick).  The engine
 * keeps the set of pages still to send, sends them in PAGE_DATA batches
 * with the ROUND records that frame a pre-copy, and writes a state's
 * records and its end:
 *
 *   ckpt_save_live      round 0 (every page that may hold data) and the
 *                       rounds the policy asks for, while the guest runs
 *   ckpt_save_merge     the suspended guest's last peek into the set
 *   ckpt_save_state     vCPU and device state, the set, then END (a
 *                       migration) or CHECKPOINT (an epoch of Remus)
 *
 * Live migration plugs in the convergence controller as its policy and
 * sends straight to the peer; Remus stages an epoch in a memory stream
 * while the guest is paused and sends the bytes once it runs again.
 * A page sent is always its content at the time it is read: whatever the
 * guest writes after the peek that reported it is reported again.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ckpt.h"
#include "msg.h"

/* -1, with the stream's error as the save's unless a hook said why */
static int save_fail(struct ckpt_save *s)
{
	if (!s->err[0])
		snprintf(s->err, sizeof(s->err), "%s", s->r->err == ECANCELED ? "cancelled" :
		    s->r->err ? rio_error(s->r) : errno == ECANCELED ? "cancelled" : strerror(errno));
	return -1;
}

int ckpt_save_init(struct ckpt_save *s, int lz4)
{
	s->npages = s->mem_size / CKPT_PAGE_SIZE;
	s->err[0] = 0;
	if ((s->npages + 63) / 64 * 8 > s->bmlen) {
		snprintf(s->err, sizeof(s->err), "dirty bitmap of %zu bytes for %llu pages", s->bmlen,
		    (unsigned long long)s->npages);
		return -1;
	}
	if (!(s->pending = calloc(1, s->bmlen)) || ckpt_batch_init(&s->b, lz4) < 0) {
		free(s->pending);
		s->pending = NULL;
		snprintf(s->err, sizeof(s->err), "out of memory");
		return -1;
	}
	return 0;
}

void ckpt_save_free(struct ckpt_save *s)
{
	free(s->pending);
	s->pending = NULL;
	ckpt_batch_free(&s->b);
}

uint64_t ckpt_save_merge(struct ckpt_save *s)
{
	uint64_t n = 0;
	for (size_t w = 0; w < s->bmlen / 8; w++)
		n += (uint64_t)__builtin_popcountll(s->pending[w] |= s->bitmap[w]);
	return s->dirty = n;
}

/*
 * One page into the batch.  In burst mode (the guest is paused) every
 * small batch goes out at once, so the receiver applies it while the next
 * one is read.  Every CKPT_SAVE_TICK pages the caller's tick runs.
 */
static int send_page(struct ckpt_save *s, uint64_t pfn, const uint8_t *page, uint64_t left)
{
	if (ckpt_batch_add(&s->b, s->r, pfn, page) < 0 ||
	    (s->burst && !s->b.count && rio_flush(s->r) < 0))
		return -1;
	s->pages_sent++;
	if (s->pages_sent % CKPT_SAVE_TICK == 0 && s->ops->tick && s->ops->tick(s, left) < 0)
		return -1;
	return 0;
}

/*
 * The next run of pages [*d, *h) at or after pos that may hold data: 0, or
 * 1 when there is none.  A file with holes (shmem) answers SEEK_DATA;
 * without one (memfd -1: hugetlbfs, whose pages mincore cannot see from
 * here) every page may hold data.
 */
static int next_data(struct ckpt_save *s, off_t pos, off_t *d, off_t *h)
{
	if (s->memfd < 0) {
		*d = pos;
		*h = (off_t)s->mem_size;
		return 0;
	}
	*d = lseek(s->memfd, pos, SEEK_DATA);
	if (*d < 0 && errno == ENXIO)
		return 1;
	if (*d < 0 || (*h = lseek(s->memfd, *d, SEEK_HOLE)) < 0)
		return snprintf(s->err, sizeof(s->err), "finding guest memory: %s", strerror(errno)), -1;
	return 0;
}

/*
 * Round 0: every page that is not zero (the receiver starts zeroed).
 * Pages of a file hole are skipped unread: reading would allocate them.
 */
static int send_all(struct ckpt_save *s)
{
	off_t end = (off_t)s->mem_size, pos = 0, d = 0, h = 0;
	while (pos < end) {
		int r = next_data(s, pos, &d, &h);
		if (r < 0)
			return -1;
		if (r)
			break;
		for (uint64_t pfn = (uint64_t)d / CKPT_PAGE_SIZE; pfn < (uint64_t)h / CKPT_PAGE_SIZE; pfn++) {
			s->scanned++;
			const uint8_t *page = s->mem + pfn * CKPT_PAGE_SIZE;
			if (!ckpt_page_is_zero(page) && send_page(s, pfn, page, s->npages - pfn) < 0)
				return -1;
		}
		pos = h;
	}
	s->scanned = s->npages;
	return ckpt_batch_flush(&s->b, s->r);
}

/* Asks the CPU to start loading a page: scattered dirty pages are memory-bound. */
static void prefetch_page(const uint8_t *p)
{
	for (size_t k = 0; k < CKPT_PAGE_SIZE; k += 64)
		__builtin_prefetch(p + k);
}

/*
 * The pending set, emptied as it goes; each page is sent while the next is
 * prefetched.  Pages come from guest memory, or in order from the stage.
 */
static int send_pending(struct ckpt_save *s)
{
	uint64_t prev = UINT64_MAX, k = 0;
	const uint8_t *prev_page = NULL;
	for (uint64_t w = 0; w < (s->npages + 63) / 64; w++) {
		uint64_t bits = s->pending[w];
		s->pending[w] = 0;
		while (bits) {
			uint64_t pfn = w * 64 + (uint64_t)__builtin_ctzll(bits);
			bits &= bits - 1;
			if (pfn >= s->npages)
				break;
			const uint8_t *page = s->stage ? s->stage + k++ * CKPT_PAGE_SIZE :
			    s->mem + pfn * CKPT_PAGE_SIZE;
			prefetch_page(page);
			s->scanned++;
			if (prev != UINT64_MAX && send_page(s, prev, prev_page, 0) < 0)
				return -1;
			prev = pfn;
			prev_page = page;
		}
	}
	if (prev != UINT64_MAX && send_page(s, prev, prev_page, 0) < 0)
		return -1;
	s->dirty = 0;
	return ckpt_batch_flush(&s->b, s->r);
}

static int write_round(struct ckpt_save *s, uint32_t round, uint64_t pages, uint64_t left)
{
	struct ckpt_round rd = { round, pages, left };
	uint8_t b[24];
	ckpt_round_encode(&rd, b);
	return ckpt_write_simple(s->r, CK_ROUND, b, sizeof(b));
}

static int peek(struct ckpt_save *s)
{
	if (s->ops->peek(s) < 0) {
		if (!s->err[0])
			snprintf(s->err, sizeof(s->err), "peeking the dirty log failed");
		return -1;
	}
	ckpt_save_merge(s);
	return 0;
}

int ckpt_save_live(struct ckpt_save *s)
{
	struct ckpt_save_round rd = { 0 };
	uint64_t t0 = ckpt_now_ns(), p0 = s->pages_sent;

	s->round = 0;
	s->burst = 0;
	if (write_round(s, 0, s->npages, s->npages) < 0 || send_all(s) < 0 ||
	    (s->ops->round_end && s->ops->round_end(s) < 0))
		return save_fail(s);
	for (;;) {
		if (peek(s) < 0)
			return save_fail(s);
		rd.round = s->round;
		rd.ns = ckpt_now_ns() - t0;
		rd.pages = s->pages_sent - p0;
		rd.dirty = s->dirty;
		enum ckpt_save_next next = s->ops->policy(s, &rd);
		if (next == CKS_ABORT)
			return save_fail(s);
		if (next == CKS_STOP)
			return 0;
		s->round++;
		t0 = ckpt_now_ns();
		p0 = s->pages_sent;
		if (write_round(s, s->round, s->dirty, s->dirty) < 0 || send_pending(s) < 0 ||
		    (s->ops->round_end && s->ops->round_end(s) < 0))
			return save_fail(s);
	}
}

int ckpt_save_state(struct ckpt_save *s, const void *vcpu, size_t vcpu_len, const void *dev,
    size_t dev_len, uint32_t end, uint64_t epoch)
{
	uint8_t eb[8];
	if (end != CK_END && end != CK_CHECKPOINT) {
		snprintf(s->err, sizeof(s->err), "a state ends with END or CHECKPOINT, not %s",
		    ckpt_type_name(end));
		return -1;
	}
	s->round++;
	s->burst = 1;
	s->b.limit = CKPT_BURST_BATCH;
	/* the state first: a receiver loads it while the pages come */
	if (write_round(s, s->round, s->dirty, 0) < 0 ||
	    ckpt_write_simple(s->r, CK_VCPU_STATE, vcpu, vcpu_len) < 0 ||
	    ckpt_write_simple(s->r, CK_DEVICE_STATE, dev, dev_len) < 0 ||
	    rio_flush(s->r) < 0 || send_pending(s) < 0)
		return save_fail(s);
	le64_put(eb, epoch);
	if (ckpt_write_simple(s->r, end, eb, end == CK_END ? 0 : sizeof(eb)) < 0 || rio_flush(s->r) < 0)
		return save_fail(s);
	s->burst = 0;
	s->b.limit = 0;
	return 0;
}
