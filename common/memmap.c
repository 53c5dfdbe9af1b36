/* memmap.c - extents of present pages and their page index (memmap.h). */
#include <stdio.h>
#include <string.h>

#include "memmap.h"

uint64_t memmap_pages(const struct memmap *m)
{
	uint64_t n = 0;
	for (uint32_t i = 0; i < m->n; i++)
		n += m->e[i].pages;
	return n;
}

uint64_t memmap_end(const struct memmap *m)
{
	return m->n ? m->e[m->n - 1].pfn + m->e[m->n - 1].pages : 0;
}

int memmap_check(const struct memmap *m, char *err, size_t errlen)
{
	if (m->n > MEMMAP_MAX)
		return snprintf(err, errlen, "memory map: %u extents, at most %d", m->n, MEMMAP_MAX), -1;
	uint64_t next = 0;
	for (uint32_t i = 0; i < m->n; i++) {
		const struct mem_extent *e = &m->e[i];
		if (!e->pages || e->pfn >= MEMMAP_PFN_LIMIT || e->pages > MEMMAP_PFN_LIMIT - e->pfn)
			return snprintf(err, errlen, "memory map: extent %u (pfn 0x%llx, %llu pages) is "
			    "empty or past pfn 0x%llx", i, (unsigned long long)e->pfn,
			    (unsigned long long)e->pages, MEMMAP_PFN_LIMIT), -1;
		if (i && e->pfn <= next)
			return snprintf(err, errlen, "memory map: extent %u (pfn 0x%llx) does not start "
			    "past the one before (it ends at 0x%llx)", i, (unsigned long long)e->pfn,
			    (unsigned long long)next), -1;
		next = e->pfn + e->pages;
	}
	return 0;
}

int memmap_add(struct memmap *m, uint64_t pfn)
{
	struct mem_extent *last = m->n ? &m->e[m->n - 1] : NULL;
	if (last && last->pfn + last->pages == pfn) {
		last->pages++;
		return 0;
	}
	if (m->n == MEMMAP_MAX)
		return -1;
	m->e[m->n++] = (struct mem_extent){ pfn, 1 };
	return 0;
}

uint64_t memmap_pfn(const struct memmap *m, uint64_t k)
{
	for (uint32_t i = 0; i < m->n; i++) {
		if (k < m->e[i].pages)
			return m->e[i].pfn + k;
		k -= m->e[i].pages;
	}
	return ~0ULL;
}

/* n (1..64) bits of s from bit b, in the low bits */
static uint64_t bits_at(const uint64_t *s, uint64_t b, unsigned n)
{
	unsigned sh = (unsigned)(b % 64);
	uint64_t v = s[b / 64] >> sh;
	if (sh && sh + n > 64)
		v |= s[b / 64 + 1] << (64 - sh);
	return n == 64 ? v : v & ((1ULL << n) - 1);
}

uint64_t memmap_gather(const struct memmap *m, const uint64_t *by_pfn, uint64_t *by_index)
{
	uint64_t total = memmap_pages(m), d = 0, set = 0;
	memset(by_index, 0, (total + 63) / 64 * 8);
	for (uint32_t i = 0; i < m->n; i++) {
		uint64_t s = m->e[i].pfn, left = m->e[i].pages;
		while (left) {
			unsigned dsh = (unsigned)(d % 64);
			unsigned n = 64 - dsh < left ? 64 - dsh : (unsigned)left;
			uint64_t v = bits_at(by_pfn, s, n);
			by_index[d / 64] |= v << dsh;
			set += (uint64_t)__builtin_popcountll(v);
			d += n, s += n, left -= n;
		}
	}
	return set;
}
