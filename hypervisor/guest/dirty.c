/*
 * dirty.c - the dirtying workload and its self-check.
 *
 * Every page of the working set carries a header (magic ^ pfn, version,
 * checksum) and one word in each 512-byte block derived from (pfn, version),
 * and a version table records what each page must hold.  A page that a
 * migration or failover lost, left stale or tore shows up in dirty_verify()
 * as a pfn whose contents disagree with the table.  The table and all of this
 * file's state live in guest memory, so they travel with the guest.  A set of
 * pages and table entries that are stale together looks consistent, so the
 * caller also passes its own count of writes, kept in the main loop's frame
 * (registers and stack, always the freshest state): the versions must add
 * up to it.
 */
#include "guest.h"

#define PAGE_MAGIC	0x54414e44454d5047ULL	/* "TANDEMPG" */
#define WORDS		8			/* one word per 512 bytes */

static uint64_t base_pfn, npages, seq_next, written;
static uint64_t low_pages, high_base;	/* the set: low_pages from base_pfn, the rest from high_base */
static uint32_t *vtable;
static uint64_t rng = 0x9e3779b97f4a7c15ULL;
void (*dirty_yield)(void);

/*
 * By time, not by pages: a page costs the guest 0.1 us, or 40 us when it
 * faults (its first write after a migration, or under dirty logging on
 * this host), so 64 pages were anything from 6 us to 2.5 ms without an
 * answer to the network.
 */
#define YIELD_US	100
static uint64_t next_yield;

static inline void yield_now(void)
{
	if (!dirty_yield)
		return;
	uint64_t t = rdtsc();
	if (t < next_yield)
		return;
	next_yield = t + tsc_hz / 1000000 * YIELD_US;
	dirty_yield();
}

static inline uint64_t mix(uint64_t pfn, uint64_t ver, uint64_t i)
{
	uint64_t x = (pfn << 24) ^ (ver * 0xff51afd7ed558ccdULL) ^ (i * 0xc4ceb9fe1a85ec53ULL);
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdULL;
	return x ^ (x >> 29);
}

static inline uint64_t xorshift(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

static inline uint64_t pfn_of(uint64_t idx)
{
	return idx < low_pages ? base_pfn + idx : high_base + (idx - low_pages);
}

static void page_write(uint64_t idx)
{
	uint64_t pfn = pfn_of(idx);
	uint64_t *w = (uint64_t *)(pfn * PAGE_SIZE);
	uint64_t ver = vtable[idx] + 1, sum = 0;

	for (uint64_t i = 1; i < WORDS; i++) {
		w[i * 64] = mix(pfn, ver, i);
		sum += w[i * 64];
	}
	w[0] = PAGE_MAGIC ^ pfn;
	w[1] = ver;
	w[2] = sum ^ mix(pfn, ver, 0);
	vtable[idx] = (uint32_t)ver;
}

/* The version table takes the first pages of the low area; the rest of it and
 * the high area are the set. */
void dirty_init(uint64_t first_pfn, uint64_t n_low, uint64_t high_pfn, uint64_t n_high)
{
	uint64_t n = n_low + n_high;
	uint64_t table_pages = (n * sizeof(uint32_t) + PAGE_SIZE - 1) / PAGE_SIZE;

	if (table_pages > n_low)	/* no room for the table below the hole */
		n_high = 0, n = n_low, table_pages = (n * sizeof(uint32_t) + PAGE_SIZE - 1) / PAGE_SIZE;
	vtable = (uint32_t *)(first_pfn * PAGE_SIZE);
	base_pfn = first_pfn + table_pages;
	low_pages = n_low > table_pages ? n_low - table_pages : 0;
	high_base = high_pfn;
	npages = low_pages + n_high;
	for (uint64_t i = 0; i < npages; i++) {
		vtable[i] = 0;
		page_write(i);
	}
}

uint64_t dirty_npages(void) { return npages; }
uint64_t dirty_written(void) { return written; }

void dirty_write(uint64_t n, int pattern)
{
	if (!npages)
		return;
	for (uint64_t k = 0; k < n; k++) {
		uint64_t idx;
		switch (pattern) {
		case PAT_SEQ:
			idx = seq_next++;
			if (seq_next >= npages)
				seq_next = 0;
			break;
		case PAT_HOTCOLD: {
			uint64_t r = xorshift();
			uint64_t hot = npages / 10 ? npages / 10 : 1;
			idx = (r % 10) ? (r >> 8) % hot : (r >> 8) % npages;
			break;
		}
		default:
			idx = xorshift() % npages;
		}
		page_write(idx);
		yield_now();
	}
	written += n;
}

/* Returns the number of bad pages (or 1 for a bad sum), printing the first few. */
int dirty_verify(uint64_t writes)
{
	int bad = 0;
	uint64_t sum = 0;

	for (uint64_t idx = 0; idx < npages; idx++) {
		uint64_t pfn = pfn_of(idx);
		const uint64_t *w = (const uint64_t *)(pfn * PAGE_SIZE);
		uint64_t ver = vtable[idx], csum = 0;
		int ok = w[0] == (PAGE_MAGIC ^ pfn) && w[1] == ver;
		for (uint64_t i = 1; ok && i < WORDS; i++) {
			ok = w[i * 64] == mix(pfn, ver, i);
			csum += w[i * 64];
		}
		if (ok && w[2] != (csum ^ mix(pfn, ver, 0)))
			ok = 0;
		sum += ver;
		yield_now();
		if (!ok && bad++ < 4)
			con_printf("INTEGRITY FAIL pfn=0x%lx want_version=%lu page_version=%lu\n",
			    pfn, ver, w[1]);
	}
	/* each page starts at version 1 */
	if (!bad && sum - npages != writes) {
		con_printf("INTEGRITY FAIL versions add up to %lu writes, the guest made %lu\n",
		    sum - npages, writes);
		bad = 1;
	}
	return bad;
}
