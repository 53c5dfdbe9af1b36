/*
 * memmap.h - a guest's physical memory as extents of present pages, and the
 * page index that numbers them.
 *
 * A guest's RAM need not be one block from pfn 0: a Xen PVH guest larger
 * than about 3.75 GiB has RAM below the MMIO hole and the rest from 4 GiB,
 * and Xen's toolstack puts pages of its own in the hole (the xenstore and
 * console rings, ACPI tables).  The engine and the stream number the
 * present pages instead: index k is the k-th present pfn in ascending
 * order, so the guest's memory is one dense array of pages whatever its
 * layout, and the extents say where each index lives.  An empty map (n 0)
 * means RAM is one block from index 0, its place the backend's own (hvd's
 * memory file, whose layout hvd derives from the size).
 */
#ifndef TANDEM_MEMMAP_H
#define TANDEM_MEMMAP_H

#include <stddef.h>
#include <stdint.h>

#define MEMMAP_MAX 64		/* extents: a PVH guest has four or five */
#define MEMMAP_PFN_LIMIT (1ULL << 40)	/* 4 PiB of guest-physical space */

struct mem_extent {
	uint64_t pfn, pages;
};
struct memmap {
	uint32_t n;
	struct mem_extent e[MEMMAP_MAX];
};

/* the pages the extents hold (0 for an empty map) */
uint64_t memmap_pages(const struct memmap *m);
/* the first pfn past the last extent (0 for an empty map) */
uint64_t memmap_end(const struct memmap *m);
/* extents non-empty, ascending, apart (touching ones would be one) and below
 * MEMMAP_PFN_LIMIT: 0, or -1 and why */
int memmap_check(const struct memmap *m, char *err, size_t errlen);
/* pfn, above every pfn added before, joins the map: 0, or -1 when it would
 * need a MEMMAP_MAX+1st extent */
int memmap_add(struct memmap *m, uint64_t pfn);
/* the pfn of page index k (k < memmap_pages) */
uint64_t memmap_pfn(const struct memmap *m, uint64_t k);
/*
 * A bitmap by pfn (bit p: pfn p, as Xen's log-dirty gives it, covering
 * memmap_end pfns) into a bitmap by page index (memmap_pages bits, whole
 * words zeroed past them); returns the bits set in it.
 */
uint64_t memmap_gather(const struct memmap *m, const uint64_t *by_pfn, uint64_t *by_index);

#endif
