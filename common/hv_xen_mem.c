/*
 * hv_xen_mem.c - a Xen guest's memory: where its pages are, their mapping,
 * and the same pages in a domain built to receive them.
 *
 * A PVH guest's RAM is not one block from pfn 0.  libxl puts RAM below the
 * MMIO hole (up to 0xfc000000) and the rest from 4 GiB, and pages of its
 * own in the hole: its ACPI tables at 0xfc000000 and eight special pages
 * (the xenstore and console rings among them) at pfn 0xfeff8.
 * The pages present are found as Xen's own save finds them: every pfn up
 * to the domain's highest asked for its type, 1024 at a time
 * (getpageframeinfo3), and those Xen calls invalid, broken or not yet
 * allocated skipped.  That makes the guest's memory map (memmap.h), kept
 * per domain by the handle: the layout of a running domain does not change
 * under a migration (a guest that balloons during one fails its mapping).
 * mem_map maps the present pages in the map's order, one foreign mapping
 * of all of them, so the daemons see one dense array of pages, as on hvd;
 * the log-dirty bitmap (hv_xen.c) is gathered into the same order.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "hv_xen.h"

/* libxenctrl exports it (VERS_4.17.0) and Xen's own save uses it; its
 * declaration is in the library's private header */
int xc_get_pfn_type_batch(xc_interface *xch, uint32_t dom, unsigned int num, xen_pfn_t *arr);

#define TYPE_BATCH 1024		/* getpageframeinfo3's limit */

static int absent(xen_pfn_t type)
{
	type &= XEN_DOMCTL_PFINFO_LTAB_MASK;
	return type == XEN_DOMCTL_PFINFO_XTAB || type == XEN_DOMCTL_PFINFO_BROKEN ||
	    type == XEN_DOMCTL_PFINFO_XALLOC;
}

static int probe(struct xen *x, uint32_t domid, const char *name, struct memmap *m)
{
	xen_pfn_t max = 0, t[TYPE_BATCH];
	if (xc_domain_maximum_gpfn(x->xc, domid, &max) < 0)
		return xen_fail(&x->hv, errno, "xen: the highest pfn of %s: %s", name, strerror(errno));
	m->n = 0;
	for (uint64_t base = 0; base <= max; base += TYPE_BATCH) {
		unsigned n = max + 1 - base < TYPE_BATCH ? (unsigned)(max + 1 - base) : TYPE_BATCH;
		for (unsigned i = 0; i < n; i++)
			t[i] = base + i;
		if (xc_get_pfn_type_batch(x->xc, domid, n, t) < 0)
			return xen_fail(&x->hv, errno, "xen: the pages of %s (pfn 0x%llx on): %s", name,
			    (unsigned long long)base, strerror(errno));
		for (unsigned i = 0; i < n; i++)
			if (!absent(t[i]) && memmap_add(m, base + i) < 0)
				return xen_fail(&x->hv, E2BIG, "xen: %s's memory is in more than %d "
				    "pieces (at pfn 0x%llx)", name, MEMMAP_MAX,
				    (unsigned long long)(base + i));
	}
	if (!m->n)
		return xen_fail(&x->hv, EIO, "xen: %s has no memory", name);
	return 0;
}

static void remember(struct xen *x, uint32_t domid, const xen_domain_handle_t handle,
    const struct memmap *m)
{
	struct xen_mapc *c = &x->maps[x->map_next++ % XEN_MAPS_MAX];
	c->domid = domid;
	memcpy(c->handle, handle, sizeof(c->handle));
	c->map = *m;
}

int xen_memmap_of(struct xen *x, const xc_domaininfo_t *d, const char *name, struct memmap *m)
{
	for (int i = 0; i < XEN_MAPS_MAX; i++)
		if (x->maps[i].domid == d->domain && x->maps[i].map.n &&
		    !memcmp(x->maps[i].handle, d->handle, sizeof(d->handle))) {
			*m = x->maps[i].map;
			return 0;
		}
	if (probe(x, d->domain, name, m) < 0)
		return -1;
	remember(x, d->domain, d->handle, m);
	return 0;
}

void xen_memmap_forget(struct xen *x, uint32_t domid)
{
	for (int i = 0; i < XEN_MAPS_MAX; i++)
		if (x->maps[i].domid == domid)
			memset(&x->maps[i], 0, sizeof(x->maps[i]));
}

int xen_memmap(struct hv *hv, const char *name, struct memmap *m)
{
	struct xen *x = (struct xen *)hv;
	xc_domaininfo_t d;
	if (xen_dom_find(x, name, &d) < 0 || xen_hvm_only(hv, &d, name) < 0)
		return -1;
	return xen_memmap_of(x, &d, name, m);
}

int xen_mem_map(struct hv *hv, const char *name, uint8_t **p, uint64_t *size, int *fd)
{
	struct xen *x = (struct xen *)hv;
	xc_domaininfo_t d;
	struct memmap m;
	if (xen_dom_find(x, name, &d) < 0 || xen_hvm_only(hv, &d, name) < 0)
		return -1;
	if (!p)
		return xen_fail(hv, EOPNOTSUPP, "xen: guest memory is no file here, only a mapping");
	if (xen_memmap_of(x, &d, name, &m) < 0)
		return -1;
	uint64_t n = memmap_pages(&m), k = 0;
	xen_pfn_t *pfns = malloc(n * sizeof(*pfns));
	int *errs = calloc(n, sizeof(*errs));
	if (!pfns || !errs) {
		free(pfns);
		free(errs);
		return xen_fail(hv, ENOMEM, "out of memory");
	}
	for (uint32_t i = 0; i < m.n; i++)
		for (uint64_t j = 0; j < m.e[i].pages; j++)
			pfns[k++] = m.e[i].pfn + j;
	void *v = xenforeignmemory_map(x->fm, d.domain, PROT_READ | PROT_WRITE, n, pfns, errs);
	int e = errno;
	uint64_t bad = n;
	for (uint64_t i = 0; v && i < n && bad == n; i++)
		if (errs[i])
			bad = i;
	xen_pfn_t bad_pfn = bad < n ? pfns[bad] : 0;
	free(pfns);
	free(errs);
	if (!v)
		return xen_fail(hv, e, "xen: mapping %s's memory: %s", name, strerror(e));
	if (bad < n) {
		munmap(v, n * XC_PAGE_SIZE);
		xen_memmap_forget(x, d.domain);	/* it changed: the next call looks again */
		return xen_fail(hv, EFAULT, "xen: %s's page at pfn 0x%llx went away under the "
		    "mapping (did the guest balloon?)", name, (unsigned long long)bad_pfn);
	}
	*p = v;
	*size = n * XC_PAGE_SIZE;
	if (fd)
		*fd = -1;
	return 0;
}

/* one extent: 2 MiB pages where it is aligned to them, 4 KiB pages around */
static int populate_extent(struct xen *x, uint32_t domid, uint64_t pfn, uint64_t pages,
    xen_pfn_t *pfns)
{
	uint64_t end = pfn + pages, head = (pfn + 511) / 512 * 512, tail = end / 512 * 512;
	uint64_t n = 0;
	if (head >= tail)
		head = tail = end;
	for (uint64_t p = pfn; p < head; p++)
		pfns[n++] = p;
	for (uint64_t p = tail; p < end; p++)
		pfns[n++] = p;
	if (n && xc_domain_populate_physmap_exact(x->xc, domid, n, 0, 0, pfns) < 0)
		return -1;
	n = 0;
	for (uint64_t p = head; p < tail; p += 512)
		pfns[n++] = p;
	return n ? xc_domain_populate_physmap_exact(x->xc, domid, n, 9, 0, pfns) : 0;
}

int xen_populate(struct xen *x, uint32_t domid, const xen_domain_handle_t handle,
    const struct memmap *m)
{
	uint64_t most = 0;
	for (uint32_t i = 0; i < m->n; i++)
		if (m->e[i].pages > most)
			most = m->e[i].pages;
	/* the 4 KiB pages of an extent are fewer than 1024, its 2 MiB ones a 512th */
	xen_pfn_t *pfns = malloc((most / 512 + 1024) * sizeof(*pfns));
	if (!pfns)
		return errno = ENOMEM, -1;
	int r = 0;
	for (uint32_t i = 0; i < m->n && r == 0; i++)
		r = populate_extent(x, domid, m->e[i].pfn, m->e[i].pages, pfns);
	int e = errno;
	free(pfns);
	errno = e;
	if (r == 0)	/* what it was built with is its map */
		remember(x, domid, handle, m);
	return r;
}
