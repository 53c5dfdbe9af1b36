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
 * log-dirty is on.  A page of it written for the first time faults (and
 * here, memory is cold until first touched: 6 us a page, against 0.3-0.5
 * us for a warm one): the stage is warmed when it is made, and after each
 * copy, with the guest running again, to twice what it took, so the next
 * pause finds its pages ready.
 */
#include <errno.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "hvd.h"

/* pages warmed when the stage is made (32 MiB, before the first epoch):
 * what a busy guest dirties in an epoch, and the first epochs after an
 * initial copy are the largest */
#define STAGE_WARM_FIRST	8192

int stage_map(struct vm *vm)
{
	if (!vm->logdirty) {
		errno = ENOTCONN;
		return -1;
	}
	if (vm->stagefd < 0) {
		if ((vm->stagefd = shm_create("tandem-stage", vm->gm.size, (void **)&vm->stage)) < 0)
			return -1;
		stage_warm(vm, STAGE_WARM_FIRST);
	}
	return vm->stagefd;
}

void stage_drop(struct vm *vm)
{
	if (vm->stagefd < 0)
		return;
	munmap(vm->stage, vm->gm.size);
	close(vm->stagefd);
	vm->stage = NULL;
	vm->stagefd = -1;
	vm->stage_warm = 0;
}

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23
#endif

void stage_warm(struct vm *vm, uint64_t pages)
{
	uint64_t want = pages * 2 + 256, max = vm->gm.size / 4096;
	if (want > max)
		want = max;
	if (want <= vm->stage_warm)
		return;
	uint8_t *from = vm->stage + vm->stage_warm * 4096;
	size_t len = (want - vm->stage_warm) * 4096;
	if (madvise(from, len, MADV_POPULATE_WRITE) < 0)	/* before Linux 5.14 */
		for (size_t off = 0; off < len; off += 4096)
			from[off] = 0;
	vm->stage_warm = want;
}

/* The pages of the bitmap (just peeked and cleaned) into the stage, in
 * order; the domain is paused.  The count of pages copied. */
uint64_t stage_copy(struct vm *vm)
{
	uint64_t k = 0, words = vm->bitmap_len / 8, npages = vm->gm.size / 4096;
	for (uint64_t w = 0; w < words; w++)
		for (uint64_t bits = vm->bitmap[w]; bits; bits &= bits - 1) {
			uint64_t pfn = w * 64 + (uint64_t)__builtin_ctzll(bits);
			if (pfn >= npages)
				break;
			const uint8_t *src = vm->gm.base + pfn * 4096;
			for (int off = 0; off < 4096; off += 256)	/* the next lines, while this one goes */
				__builtin_prefetch(src + off);
			memcpy(vm->stage + k++ * 4096, src, 4096);
		}
	return k;
}
