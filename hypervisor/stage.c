/*
 * stage.c - the stage of a staged checkpoint: the dirty pages copied while
 * the domain is paused, so it can run again before anyone reads them.
 *
 * A Remus epoch's pause is what the guest feels.  Copying the dirty pages
 * here, in the same request that paused the domain, leaves out of it the
 * two trips between the caller and the domain process (the answer, then an
 * unpause) that copying from the caller's side would put in.  The stage is
 * a memfd shared with the caller (STAGE_MAP), as large as guest memory and
 * sparse: the k-th page set in the dirty bitmap is copied to page k, so the
 * bitmap the caller already maps says which page is which.  It lives while
 * log-dirty is on.
 *
 * A page of it written for the first time faults (and here, memory is cold
 * until first touched: 6 us a page, against 0.3-0.5 us for a warm one): the
 * stage is warmed when it is made, and after each copy, with the guest
 * running again, to twice what it took, so the next pause finds its pages
 * ready.  A copy of many pages is split with a helper thread: while the
 * vCPUs are parked their cores are free.
 */
#include <errno.h>
#include <pthread.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "hvd.h"

/* pages warmed when the stage is made (32 MiB, before the first epoch):
 * what a busy guest dirties in an epoch, and the first epochs after an
 * initial copy are the largest */
#define STAGE_WARM_FIRST	8192
/* fewer pages than this are copied by one thread: waking the helper costs
 * more than it saves */
#define STAGE_SPLIT_MIN		256

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23
#endif

/* words [w0, w1) of bm: their pages from src into stage pages k0 on; the count */
static uint64_t copy_range(uint8_t *stage, const uint8_t *src, const uint64_t *bm, uint64_t w0,
    uint64_t w1, uint64_t k0, uint64_t npages)
{
	uint64_t k = k0;
	for (uint64_t w = w0; w < w1; w++)
		for (uint64_t bits = bm[w]; bits; bits &= bits - 1) {
			uint64_t pfn = w * 64 + (uint64_t)__builtin_ctzll(bits);
			if (pfn >= npages)
				break;
			const uint8_t *from = src + pfn * 4096;
			for (int off = 0; off < 4096; off += 256)	/* the next lines, while this one goes */
				__builtin_prefetch(from + off);
			memcpy(stage + k++ * 4096, from, 4096);
		}
	return k - k0;
}

static void *helper(void *arg)
{
	struct stage *st = arg;
	/* real-time as the thread that made it, but on any core: the vCPUs' are free */
	pthread_setaffinity_np(pthread_self(), sizeof(st->cpus), &st->cpus);
	pthread_mutex_lock(&st->lock);
	for (;;) {
		while (!st->job && !st->quit)
			pthread_cond_wait(&st->cond, &st->lock);
		if (st->quit)
			break;
		pthread_mutex_unlock(&st->lock);
		uint64_t n = copy_range(st->mem, st->src, st->bm, st->w0, st->w1, st->k0, st->npages);
		pthread_mutex_lock(&st->lock);
		st->copied = n;
		st->job = 0;
		pthread_cond_broadcast(&st->cond);
	}
	pthread_mutex_unlock(&st->lock);
	return NULL;
}

int stage_map(struct vm *vm)
{
	struct stage *st = &vm->stage;
	if (!vm->logdirty) {
		errno = ENOTCONN;
		return -1;
	}
	if (st->fd >= 0)
		return st->fd;
	if ((st->fd = shm_create("tandem-stage", vm->gm.size, (void **)&st->mem)) < 0)
		return -1;
	stage_warm(vm, STAGE_WARM_FIRST);
	pthread_mutex_init(&st->lock, NULL);
	pthread_cond_init(&st->cond, NULL);
	st->job = st->quit = 0;
	st->cpus = vm->cpus.all;
	/* it inherits this thread's scheduling: it copies while this one does */
	st->helper_up = pthread_create(&st->helper, NULL, helper, st) == 0;
	return st->fd;
}

void stage_drop(struct vm *vm)
{
	struct stage *st = &vm->stage;
	if (st->fd < 0)
		return;
	if (st->helper_up) {
		pthread_mutex_lock(&st->lock);
		st->quit = 1;
		pthread_cond_broadcast(&st->cond);
		pthread_mutex_unlock(&st->lock);
		pthread_join(st->helper, NULL);
		st->helper_up = 0;
	}
	pthread_cond_destroy(&st->cond);
	pthread_mutex_destroy(&st->lock);
	munmap(st->mem, vm->gm.size);
	close(st->fd);
	st->mem = NULL;
	st->fd = -1;
	st->warm = 0;
}

void stage_warm(struct vm *vm, uint64_t pages)
{
	struct stage *st = &vm->stage;
	uint64_t want = pages * 2 + 256, max = vm->gm.size / 4096;
	if (want > max)
		want = max;
	if (want <= st->warm)
		return;
	uint8_t *from = st->mem + st->warm * 4096;
	size_t len = (want - st->warm) * 4096;
	if (madvise(from, len, MADV_POPULATE_WRITE) < 0)	/* before Linux 5.14 */
		for (size_t off = 0; off < len; off += 4096)
			from[off] = 0;
	st->warm = want;
}

/*
 * The pages of the bitmap (just peeked and cleaned, count of them) into
 * the stage, in order; the domain is paused.  The count of pages copied.
 */
uint64_t stage_copy(struct vm *vm, uint64_t count)
{
	struct stage *st = &vm->stage;
	uint64_t words = vm->bitmap_len / 8, npages = vm->gm.size / 4096;
	if (!st->helper_up || count < STAGE_SPLIT_MIN)
		return copy_range(st->mem, vm->gm.base, vm->bitmap, 0, words, 0, npages);
	/* the split: the word where half the pages are behind */
	uint64_t w = 0, k = 0;
	while (w < words && k + (uint64_t)__builtin_popcountll(vm->bitmap[w]) <= count / 2)
		k += (uint64_t)__builtin_popcountll(vm->bitmap[w++]);
	pthread_mutex_lock(&st->lock);
	st->bm = vm->bitmap;
	st->src = vm->gm.base;
	st->w0 = w;
	st->w1 = words;
	st->k0 = k;
	st->npages = npages;
	st->job = 1;
	pthread_cond_signal(&st->cond);
	pthread_mutex_unlock(&st->lock);
	uint64_t n = copy_range(st->mem, vm->gm.base, vm->bitmap, 0, w, 0, npages);
	pthread_mutex_lock(&st->lock);
	while (st->job)
		pthread_cond_wait(&st->cond, &st->lock);
	n += st->copied;
	pthread_mutex_unlock(&st->lock);
	return n;
}
