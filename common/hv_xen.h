/*
 * hv_xen.h - what the Xen backend's files share (hv_xen.c: domains, memory,
 * log-dirty and state; hv_xen_dom.c: the domains Tandem makes and hands
 * over itself).  Not an interface: the daemons see only hv.h.
 */
#ifndef TANDEM_HV_XEN_H
#define TANDEM_HV_XEN_H

#include <stdint.h>
#include <xenctrl.h>
#include <xenforeignmemory.h>
#include <xenstore.h>
#include <xentoollog.h>

#include "hv.h"

#define XEN_MAX_DOMAINS		1024
#define XEN_LOGDIRTY_MAX	16	/* domains with log-dirty on through one handle */
#define XEN_INCOMING_MAX	16	/* incoming domains one handle builds at once */
#define XEN_MAPS_MAX		16	/* memory maps one handle keeps */

/* a domain's log-dirty bitmap: ours mapped here, the caller's its own mapping */
struct xen_log {
	char name[65];		/* the domain's, when log-dirty went on */
	uint32_t domid;
	int fd;
	uint64_t *bm, npages;	/* ours: by page index (the map's order) */
	size_t len;
	struct memmap map;	/* where those pages are */
	xc_hypercall_buffer_t hb;	/* Xen's copy of the bitmap, by pfn, kept: a peek allocates nothing */
	int hpages;
	int handed;		/* handed over through this handle: never unpaused by the fast path */
};

/*
 * An incoming domain this handle built.  Until it first runs it is named
 * NAME--incoming in xenstore (on one host the source may still be NAME, as
 * with xl migrate to localhost) and found by NAME through this handle only.
 */
struct xen_in {
	char name[65];
	uint32_t domid;
	int leased;		/* destroyed when the handle closes, unless kept */
};

/* a domain's memory map, as found or built, by its id and handle (a domid
 * comes round again once Xen's have wrapped; with the same handle, as the
 * domains Tandem builds all have (zero), only then) */
struct xen_mapc {
	uint32_t domid;
	xen_domain_handle_t handle;
	struct memmap map;
};

struct xen {
	struct hv hv;
	xentoollog_logger *quiet;	/* libxenctrl's own messages: our errors say it */
	xc_interface *xc;
	struct xs_handle *xs;
	xenforeignmemory_handle *fm;
	struct xen_log log[XEN_LOGDIRTY_MAX];
	struct xen_in in[XEN_INCOMING_MAX];
	struct xen_mapc maps[XEN_MAPS_MAX];
	unsigned map_next;
	uint32_t ctx_len;	/* the last HVM context's size: one call gets the next */
	char tag[XEN_TAG_MAX + 1];	/* xen:TAG ("-": none): whose built domains are ours */
};

int xen_fail(struct hv *hv, int e, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
uint64_t xen_now_ns(void);	/* CLOCK_MONOTONIC */
/* the hand-over of domid through this handle, on or off, for its log-dirty entry */
void xen_log_handed(struct xen *x, uint32_t domid, int handed);
/* the xenstore value at path, "" when there is none */
void xen_xs_get(struct xen *x, const char *path, char *out, size_t len);
/* a domain's name from xenstore, "" when it has none */
void xen_dom_name(struct xen *x, uint32_t domid, char *name, size_t len);
/* the guest's RAM in pages: xenstore's memory/static-max (KiB) */
uint64_t xen_ram_pages(struct xen *x, uint32_t domid);
/* one domain's info by its id: 0, or -1 (ENOENT) when it is gone */
int xen_dom_byid(struct xen *x, uint32_t domid, xc_domaininfo_t *info);
/*
 * The domain a name means through this handle: an incoming one it built,
 * else the domain xenstore calls so, else one handed over under that name
 * (renamed NAME--migrated, see hv_xen_dom.c).
 */
int xen_dom_find(struct xen *x, const char *name, xc_domaininfo_t *info);
/*
 * The host a domain is on, where several xen:TAG handles share one Xen as
 * hosts of their own (a lab, a test): /local/domain/DOMID/tandem-host says
 * the TAG of the handle that made it (created or built it), and goes with
 * the domain.  A xen:TAG handle lists and finds by name only its tag's
 * domains and those no tag claims (made by xl); plain xen: sees them all.
 */
#define XEN_HOST_KEY "tandem-host"
int xen_dom_here(struct xen *x, uint32_t domid);
/* the domain xenstore calls name, other than domid but (0: any), on this
 * handle's host (here) or on any; info may be NULL */
int xen_dom_named(struct xen *x, const char *name, uint32_t but, int here, xc_domaininfo_t *info);
/* what a new domain may be on this backend: a name of 1 to name_max
 * characters, whole MiB, 1 to 128 vCPUs, no NIC; 0 or -1 with why */
int xen_shape_check(struct hv *hv, const char *name, size_t name_max, uint64_t mem,
    uint32_t vcpus, const char *net);
/* the host record of a domain this handle made, in transaction t (none for plain xen:) */
int xen_host_put(struct xen *x, xs_transaction_t t, uint32_t domid);
unsigned xen_dom_state(struct xen *x, const xc_domaininfo_t *d);

/* refuses a PV guest (whose memory is not reached by pfn) and says why */
int xen_hvm_only(struct hv *hv, const xc_domaininfo_t *d, const char *name);

/* hv_xen_mem.c: where a domain's pages are (memmap.h), found once per
 * domain and kept by the handle; forgotten when the domain goes */
int xen_memmap_of(struct xen *x, const xc_domaininfo_t *d, const char *name, struct memmap *m);
void xen_memmap_forget(struct xen *x, uint32_t domid);
int xen_memmap(struct hv *hv, const char *name, struct memmap *m);
int xen_mem_map(struct hv *hv, const char *name, uint8_t **p, uint64_t *size, int *fd);
/* a new domain's pages (its id and the handle it was created with), as m
 * places them (its map from then on); -1 with errno */
int xen_populate(struct xen *x, uint32_t domid, const xen_domain_handle_t handle,
    const struct memmap *m);

/* hv_xen_dom.c */
struct xen_in *xen_incoming(struct xen *x, const char *name);
/* whether domid is an incoming domain this handle built and has not run */
int xen_incoming_id(struct xen *x, uint32_t domid);
/* the domain handed over as name: its id and tag, or -1 (ENOENT) */
int xen_handed(struct xen *x, const char *name, uint32_t *domid, uint64_t *tag);
/* whether domid is handed over (and its tag) */
int xen_handed_id(struct xen *x, uint32_t domid, uint64_t *tag);
/* the same, and the name it was handed over as (its xenstore name is NAME--migrated) */
int xen_handed_as(struct xen *x, uint32_t domid, uint64_t *tag, char *name, size_t len);
/* once it first ran, it is no incoming copy: no lease, no builder */
void xen_built_drop(struct xen *x, uint32_t domid);
/* before an incoming domain first runs: its own name back (EEXIST while
 * another domain has it), this handle's slot dropped */
int xen_first_run(struct xen *x, uint32_t domid, const char *name);
/* the handle closes: incoming domains still leased go */
void xen_incoming_close(struct xen *x);
/* at open: what processes that died left: log-dirty leases undone, domains
 * they built go if leased, with every record of a domain that is gone */
void xen_built_settle(struct xen *x);
/* log-dirty's lease on domid, held by this process, and its end */
void xen_lease_set(struct xen *x, uint32_t domid);
void xen_lease_drop(struct xen *x, uint32_t domid);
/* a kept domain built for name by a process that died: 0 and its info, or -1 */
int xen_built_orphan(struct xen *x, const char *name, xc_domaininfo_t *info);
/* whether domid was built here (by any process) and has not run yet */
int xen_built_id(struct xen *x, uint32_t domid);
/* a domain destroyed by id: its xenstore and this handle's records of it go */
void xen_forget(struct xen *x, uint32_t domid);
int xen_create_incoming(struct hv *hv, const char *name, uint64_t mem, uint32_t vcpus,
    const char *net, const struct memmap *map);
int xen_create_incoming_leased(struct hv *hv, const char *name, uint64_t mem, uint32_t vcpus,
    const char *net, const struct memmap *map);
int xen_keep(struct hv *hv, const char *name);
int xen_handover(struct hv *hv, const char *name, uint64_t tag);
int xen_reclaim(struct hv *hv, const char *name, uint64_t tag);
int xen_release(struct hv *hv, const char *name, uint64_t tag, uint8_t **late, size_t *late_len);
int xen_throttle(struct hv *hv, const char *name, unsigned pct);
/* hv_xen_new.c */
int xen_create(struct hv *hv, const char *name, uint64_t mem, uint32_t vcpus, const char *kernel,
    const char *cmdline, const char *net);

#endif
