/*
 * test_memmap: a guest's memory map and its page index (common/memmap.c).
 * The failures it prevents: a dirty page of a guest whose RAM has holes
 * reported at the wrong index (sent to the wrong place, the right one never
 * sent), extents that overlap or touch accepted, a map that overflows.
 */
#include <stdlib.h>
#include <string.h>

#include "memmap.h"
#include "tap.h"

static int bit(const uint64_t *b, uint64_t i) { return (int)(b[i / 64] >> (i % 64)) & 1; }

/* the gather against a bit-by-bit walk of the map, for a map with extents
 * at every alignment */
static void gather(void)
{
	struct memmap m = { 0 };
	const uint64_t starts[] = { 0, 3, 64, 130, 1000, 4096 + 17 }, lens[] = { 2, 60, 1, 200, 70, 300 };
	for (int i = 0; i < 6; i++)
		for (uint64_t p = starts[i]; p < starts[i] + lens[i]; p++)
			if (memmap_add(&m, p) < 0)
				CHECK(!"memmap_add");
	char err[200];
	CHECK(m.n == 6 && memmap_check(&m, err, sizeof(err)) == 0);
	uint64_t total = memmap_pages(&m), end = memmap_end(&m);
	CHECK(total == 633 && end == 4096 + 17 + 300);
	uint64_t *by_pfn = calloc((end + 63) / 64 + 1, 8), *by_index = malloc((total + 63) / 64 * 8);
	int wrong = 0;
	for (int round = 0; round < 200; round++) {
		memset(by_pfn, 0, (end + 63) / 64 * 8);
		uint64_t want = 0;
		for (uint64_t p = 0; p < end; p++)
			if ((rand() % 7) == 0)
				by_pfn[p / 64] |= 1ULL << (p % 64);
		memset(by_index, 0xa5, (total + 63) / 64 * 8);	/* stale bits must go */
		uint64_t set = memmap_gather(&m, by_pfn, by_index);
		for (uint64_t k = 0; k < total; k++) {
			int b = bit(by_pfn, memmap_pfn(&m, k));
			want += (uint64_t)b;
			wrong += b != bit(by_index, k);
		}
		for (uint64_t k = total; k < (total + 63) / 64 * 64; k++)
			wrong += bit(by_index, k);	/* nothing past the pages */
		wrong += set != want;
	}
	CHECK(wrong == 0);
	/* the twin of the stale bits: every page dirty, every index set */
	memset(by_pfn, 0xff, (end + 63) / 64 * 8);
	CHECK(memmap_gather(&m, by_pfn, by_index) == total);
	free(by_pfn);
	free(by_index);
}

/* what a PVH guest of 4.5 GiB looks like, and maps that are refused */
static void shapes(void)
{
	char err[200];
	struct memmap m = { 3, { { 0, 0xf0000 }, { 0xfeff0, 16 }, { 0x100000, 0x30000 } } };
	CHECK(memmap_check(&m, err, sizeof(err)) == 0 && memmap_pages(&m) == 0x120010 &&
	    memmap_pfn(&m, 0xeffff) == 0xeffff && memmap_pfn(&m, 0xf0000) == 0xfeff0 &&
	    memmap_pfn(&m, 0xf0010) == 0x100000 && memmap_pfn(&m, 0x120010) == ~0ULL);
	m.e[1].pfn = 0xefff0;	/* overlaps the first */
	CHECK(memmap_check(&m, err, sizeof(err)) < 0 && strstr(err, "extent 1"));
	m.e[1].pfn = 0xf0000;	/* touches it: it would be the same extent */
	CHECK(memmap_check(&m, err, sizeof(err)) < 0);
	m.e[1] = (struct mem_extent){ 0xfeff0, 0 };
	CHECK(memmap_check(&m, err, sizeof(err)) < 0 && strstr(err, "empty"));
	m.e[1] = (struct mem_extent){ MEMMAP_PFN_LIMIT - 1, 2 };
	CHECK(memmap_check(&m, err, sizeof(err)) < 0);
	struct memmap e = { 0 };
	CHECK(memmap_check(&e, err, sizeof(err)) == 0 && memmap_pages(&e) == 0 && memmap_end(&e) == 0);
	/* one extent too many: refused, and the map as it was */
	struct memmap f = { 0 };
	int ok = 1;
	for (uint64_t i = 0; i < MEMMAP_MAX; i++)
		ok &= memmap_add(&f, 2 * i) == 0;
	CHECK(ok && f.n == MEMMAP_MAX && memmap_add(&f, 2 * MEMMAP_MAX) < 0 && f.n == MEMMAP_MAX);
	CHECK(memmap_add(&f, 2 * MEMMAP_MAX - 1) == 0 && f.e[MEMMAP_MAX - 1].pages == 2);
}

int main(void)
{
	gather();
	shapes();
	return TAP_DONE();
}
