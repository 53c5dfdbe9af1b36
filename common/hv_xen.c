/*
 * hv_xen.c - the hv interface on a Xen host: libxenctrl for the domains,
 * xenstore for their names.  Run in dom0 (or a toolstack domain), as root.
 *
 * What it does: list, info, pause, unpause, destroy of the domUs (Domain-0
 * is never one of them); their memory (hv_xen_mem.c); log-dirty through
 * the shadow ops (CLEAN is Xen's peek-and-clean) into a bitmap in a memfd,
 * by page index as hvd's is (the map's order); the HVM context as
 * the vCPU state, got and loaded; the saving pause made of those.  The
 * incoming domain, the hand-over and the throttle are hv_xen_dom.c's.
 * A new guest is hv_xen_new.c's.  Every other call (checkpoints, output
 * commit, the console) fails with EOPNOTSUPP and says so (docs/xen-tier.md
 * says what is left).  Built as the module hv_xen.so
 * (hv_xenmod.c loads it); only hv_xen_module_open is visible.
 */
#include <errno.h>
#include <stdarg.h>
#include <sys/mman.h>
#include <unistd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>


#include "hv_xen.h"


uint64_t xen_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

int xen_fail(struct hv *hv, int e, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(hv->err, sizeof(hv->err), fmt, ap);
	va_end(ap);
	errno = e;
	return -1;
}

void xen_xs_get(struct xen *x, const char *path, char *out, size_t len)
{
	unsigned n = 0;
	char *v = xs_read(x->xs, XBT_NULL, path, &n);
	snprintf(out, len, "%.*s", v ? (int)n : 0, v ? v : "");
	free(v);
}

void xen_dom_name(struct xen *x, uint32_t domid, char *name, size_t len)
{
	char path[64];
	snprintf(path, sizeof(path), "/local/domain/%u/name", domid);
	xen_xs_get(x, path, name, len);
}

uint64_t xen_ram_pages(struct xen *x, uint32_t domid)
{
	char path[64], v[32];
	snprintf(path, sizeof(path), "/local/domain/%u/memory/static-max", domid);
	xen_xs_get(x, path, v, sizeof(v));
	return strtoull(v, NULL, 10) / 4;
}

int xen_dom_byid(struct xen *x, uint32_t domid, xc_domaininfo_t *info)
{
	if (xc_domain_getinfolist(x->xc, domid, 1, info) != 1 || info->domain != domid)
		return xen_fail(&x->hv, ENOENT, "domain %u is gone", domid);
	return 0;
}

/* the domains but Domain-0: *n of them in a malloc'd array */
static int dom_all(struct xen *x, xc_domaininfo_t **out, int *n)
{
	xc_domaininfo_t *d = calloc(XEN_MAX_DOMAINS, sizeof(*d));
	if (!d)
		return xen_fail(&x->hv, ENOMEM, "out of memory");
	int k = xc_domain_getinfolist(x->xc, 1, XEN_MAX_DOMAINS, d);
	if (k < 0) {
		int e = errno;
		free(d);
		return xen_fail(&x->hv, e, "xen: listing the domains: %s", strerror(e));
	}
	*out = d;
	*n = k;
	return 0;
}

int xen_dom_here(struct xen *x, uint32_t domid)
{
	char path[64], host[XEN_TAG_MAX + 2];
	if (!strcmp(x->tag, "-"))
		return 1;
	snprintf(path, sizeof(path), "/local/domain/%u/" XEN_HOST_KEY, domid);
	xen_xs_get(x, path, host, sizeof(host));
	return !host[0] || !strcmp(host, x->tag);
}

int xen_dom_named(struct xen *x, const char *name, uint32_t but, int here, xc_domaininfo_t *info)
{
	xc_domaininfo_t *d;
	int n;
	char nm[65];
	if (dom_all(x, &d, &n) < 0)
		return -1;
	for (int i = 0; i < n; i++) {
		if (d[i].domain == but)
			continue;
		xen_dom_name(x, d[i].domain, nm, sizeof(nm));
		if (!strcmp(nm, name) && (!here || xen_dom_here(x, d[i].domain))) {
			if (info)
				*info = d[i];
			free(d);
			return 0;
		}
	}
	free(d);
	return xen_fail(&x->hv, ENOENT, "no domain named %s", name);
}

int xen_dom_find(struct xen *x, const char *name, xc_domaininfo_t *info)
{
	uint32_t id;
	uint64_t tag;
	struct xen_in *in = xen_incoming(x, name);
	if (in)
		return xen_dom_byid(x, in->domid, info);
	/* a copy built for this handle's tag by a process that died (in doubt,
	 * a shadow): what a restarted daemon means by NAME, even where another
	 * domain is called so (a test's two daemons on one Xen) */
	if (xen_built_orphan(x, name, info) == 0)
		return 0;
	if (xen_dom_named(x, name, 0, 1, info) == 0)
		return 0;
	if (xen_handed(x, name, &id, &tag) == 0 && xen_dom_byid(x, id, info) == 0 &&
	    xen_dom_here(x, id))
		return 0;
	return xen_fail(&x->hv, ENOENT, "no domain named %s", name);
}

unsigned xen_dom_state(struct xen *x, const xc_domaininfo_t *d)
{
	unsigned why = (d->flags >> XEN_DOMINF_shutdownshift) & XEN_DOMINF_shutdownmask;
	uint64_t tag;
	if (d->flags & XEN_DOMINF_dying)
		return HV_SHUTDOWN;
	if (d->flags & XEN_DOMINF_shutdown)
		return why == SHUTDOWN_crash ? HV_CRASHED : HV_SHUTDOWN;
	/* only a paused domain can be handed over; one built here and not yet
	 * run was never handed (a look-up in xenstore saved on hot paths) */
	if (d->flags & XEN_DOMINF_paused && !xen_incoming_id(x, d->domain) &&
	    xen_handed_id(x, d->domain, &tag) == 0)
		return HV_MIGRATED;
	return d->flags & XEN_DOMINF_paused ? HV_PAUSED : HV_RUNNING;
}

static int xen_list(struct hv *hv, char (**names)[65], int *n)
{
	struct xen *x = (struct xen *)hv;
	xc_domaininfo_t *d;
	int k;
	if (dom_all(x, &d, &k) < 0)
		return -1;
	*names = calloc((size_t)k + 1, sizeof(**names));
	if (!*names) {
		free(d);
		return xen_fail(hv, ENOMEM, "out of memory");
	}
	*n = 0;
	for (int i = 0; i < k; i++) {
		uint64_t tag;
		if (!xen_dom_here(x, d[i].domain))
			continue;	/* another xen:TAG host's */
		/* a handed-over copy by the name it is handed over as, which
		 * every call knows it by (xenstore says NAME--migrated) */
		if (xen_handed_as(x, d[i].domain, &tag, (*names)[*n], sizeof((*names)[*n])) < 0)
			xen_dom_name(x, d[i].domain, (*names)[*n], sizeof((*names)[*n]));
		if ((*names)[*n][0])	/* one being built has no name yet */
			(*n)++;
	}
	free(d);
	return 0;
}

static int xen_info(struct hv *hv, const char *name, struct hv_dominfo *di)
{
	struct xen *x = (struct xen *)hv;
	xc_domaininfo_t d;
	if (xen_dom_find(x, name, &d) < 0)
		return -1;
	memset(di, 0, sizeof(*di));
	snprintf(di->name, sizeof(di->name), "%s", name);
	di->state = xen_dom_state(x, &d);
	/* its RAM (what a stream carries and an incoming copy is built with);
	 * the pages it holds beyond it are Xen's */
	uint64_t ram = xen_ram_pages(x, d.domain);
	di->mem = (ram ? ram : d.tot_pages) * XC_PAGE_SIZE;
	di->vcpus = d.max_vcpu_id + 1;
	di->pid = d.domain;	/* what identifies it on this host: its domid */
	xen_handed_id(x, d.domain, &di->tag);
	snprintf(di->backing, sizeof(di->backing), "xen");
	const uint8_t *u = d.handle;
	snprintf(di->uuid, sizeof(di->uuid), "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-"
	    "%02x%02x%02x%02x%02x%02x", u[0], u[1], u[2], u[3], u[4], u[5], u[6], u[7], u[8], u[9],
	    u[10], u[11], u[12], u[13], u[14], u[15]);
	if (di->state == HV_CRASHED)
		snprintf(di->reason, sizeof(di->reason), "the guest crashed");
	return 0;
}

/* op on the domain called name, which must be in state need (0: any); *id its domid */
static int by_name(struct hv *hv, const char *name, unsigned need,
    int (*op)(xc_interface *, uint32_t), const char *what, uint32_t *id)
{
	struct xen *x = (struct xen *)hv;
	xc_domaininfo_t d;
	if (xen_dom_find(x, name, &d) < 0)
		return -1;
	if (need && xen_dom_state(x, &d) != need)
		return xen_fail(hv, EBUSY, "domain is %s, not %s", hv_state_name(xen_dom_state(x, &d)),
		    hv_state_name(need));
	if (id)
		*id = d.domain;
	if (op(x->xc, d.domain) < 0) {
		int e = errno;
		return xen_fail(hv, e, "xen: %s %s (domain %u): %s", what, name, d.domain, strerror(e));
	}
	return 0;
}

static int xen_pause(struct hv *hv, const char *n)
{
	return by_name(hv, n, HV_RUNNING, xc_domain_pause, "pausing", NULL);
}

static int no_op(xc_interface *xc, uint32_t domid)
{
	(void)xc;
	(void)domid;
	return 0;
}

static struct xen_log *log_named(struct xen *x, const char *name);
static int gone(struct xen *x, const char *name, uint32_t domid);

/*
 * An incoming domain (this handle's, or one whose builder died) takes its
 * own name before it first runs.  One under this handle's log-dirty and
 * not handed over by it (a checkpoint's or a rolled-back migration's
 * resume, on the pause's path) is unpaused by its domid: no search by
 * name, no xenstore (each a round trip to xenstored).
 */
static int xen_unpause(struct hv *hv, const char *n)
{
	struct xen *x = (struct xen *)hv;
	struct xen_log *l = log_named(x, n);
	uint32_t id;
	if (l && !l->handed) {
		xc_domaininfo_t d;
		if (xen_dom_byid(x, l->domid, &d) < 0 || d.flags & XEN_DOMINF_dying)
			return gone(x, n, l->domid);
		if (!(d.flags & XEN_DOMINF_paused) || d.flags & XEN_DOMINF_shutdown)
			return xen_fail(hv, EBUSY, "domain is %s, not paused",
			    hv_state_name(xen_dom_state(x, &d)));
		if (xc_domain_unpause(x->xc, l->domid) < 0)
			return xen_fail(hv, errno, "xen: unpausing %s (domain %u): %s", n, l->domid,
			    strerror(errno));
		return 0;
	}
	if (by_name(hv, n, HV_PAUSED, no_op, "", &id) < 0)
		return -1;
	int first = xen_incoming_id(x, id) || xen_built_id(x, id);
	if (first && xen_first_run(x, id, n) < 0)
		return -1;
	if (xc_domain_unpause(x->xc, id) < 0)	/* by its id: it was just found */
		return xen_fail(hv, errno, "xen: unpausing %s (domain %u): %s", n, id, strerror(errno));
	if (first)
		xen_built_drop(x, id);	/* after: not on the migration's downtime */
	return 0;
}

static int xen_destroy(struct hv *hv, const char *n)
{
	uint32_t id;
	if (by_name(hv, n, 0, xc_domain_destroy, "destroying", &id) < 0)
		return -1;
	xen_forget((struct xen *)hv, id);
	return 0;
}

/* a PV guest's memory is not reached by pfn, its vCPU state is no HVM
 * context, and this hypervisor has no shadow paging for its log-dirty: the
 * backend moves HVM containers (PVH) only, and says so first */
int xen_hvm_only(struct hv *hv, const xc_domaininfo_t *d, const char *name)
{
	if (d->flags & XEN_DOMINF_hvm_guest)
		return 0;
	return xen_fail(hv, EOPNOTSUPP, "xen: %s (domain %u) is a PV guest: this guest cannot be "
	    "live-migrated on this hypervisor (the Xen backend moves PVH guests)", name, d->domain);
}

static struct xen_log *log_of(struct xen *x, uint32_t domid)
{
	for (int i = 0; i < XEN_LOGDIRTY_MAX; i++)
		if (x->log[i].bm && x->log[i].domid == domid)
			return &x->log[i];
	return NULL;
}

static void log_drop(struct xen *x, struct xen_log *l)
{
	xen_lease_drop(x, l->domid);
	if (l->hpages)
		xc__hypercall_buffer_free_pages(x->xc, &l->hb, l->hpages);
	munmap(l->bm, l->len);
	close(l->fd);
	memset(l, 0, sizeof(*l));
}

static int xen_logdirty(struct hv *hv, const char *name, int enable, int mode, uint64_t **bitmap,
    size_t *len)
{
	struct xen *x = (struct xen *)hv;
	xc_domaininfo_t d;
	(void)mode;	/* Xen re-protects the pages a CLEAN reports: MANUAL's meaning */
	if (xen_dom_find(x, name, &d) < 0 || (enable && xen_hvm_only(hv, &d, name) < 0))
		return -1;
	struct xen_log *l = log_of(x, d.domain);
	if (!enable) {
		if (l)
			log_drop(x, l);
		else
			xen_lease_drop(x, d.domain);
		if (xc_shadow_control(x->xc, d.domain, XEN_DOMCTL_SHADOW_OP_OFF, NULL, 0) < 0 &&
		    errno != EINVAL)
			return xen_fail(hv, errno, "xen: log-dirty off for %s: %s", name, strerror(errno));
		return 0;
	}
	if (l)
		log_drop(x, l);
	for (int i = 0; i < XEN_LOGDIRTY_MAX && !l; i++)
		if (!x->log[i].bm)
			l = &x->log[i];
	if (!l)
		return xen_fail(hv, EMFILE, "xen: log-dirty is on for %d domains already", XEN_LOGDIRTY_MAX);
	if (xc_shadow_control(x->xc, d.domain, XEN_DOMCTL_SHADOW_OP_ENABLE_LOGDIRTY, NULL, 0) < 0) {
		int e = errno;
		return xen_fail(hv, e, "xen: log-dirty for %s: %s%s", name, strerror(e), e == EOPNOTSUPP ?
		    " (a PV guest on a hypervisor without shadow paging: it cannot be live-migrated "
		    "on this hypervisor)" : "");
	}
	l->domid = d.domain;
	snprintf(l->name, sizeof(l->name), "%s", name);
	if (xen_memmap_of(x, &d, name, &l->map) < 0) {
		int e = errno;
		memset(l, 0, sizeof(*l));
		xc_shadow_control(x->xc, d.domain, XEN_DOMCTL_SHADOW_OP_OFF, NULL, 0);
		errno = e;
		return -1;
	}
	l->npages = memmap_pages(&l->map);
	l->len = (l->npages + 63) / 64 * 8;
	if ((l->fd = memfd_create("tandem-xen-dirty", MFD_CLOEXEC)) < 0 ||
	    ftruncate(l->fd, (off_t)l->len) < 0 ||
	    (l->bm = mmap(NULL, l->len, PROT_READ | PROT_WRITE, MAP_SHARED, l->fd, 0)) == MAP_FAILED) {
		int e = errno;
		if (l->fd >= 0)
			close(l->fd);
		memset(l, 0, sizeof(*l));
		xc_shadow_control(x->xc, d.domain, XEN_DOMCTL_SHADOW_OP_OFF, NULL, 0);
		return xen_fail(hv, e, "xen: the dirty bitmap: %s", strerror(e));
	}
	l->hb = (xc_hypercall_buffer_t){ .ubuf = (void *)-1 };	/* no bounce: used in place */
	l->hpages = (int)((memmap_end(&l->map) + 8 * XC_PAGE_SIZE - 1) / (8 * XC_PAGE_SIZE));
	if (!xc__hypercall_buffer_alloc_pages(x->xc, &l->hb, l->hpages)) {
		l->hpages = 0;
		log_drop(x, l);
		xc_shadow_control(x->xc, d.domain, XEN_DOMCTL_SHADOW_OP_OFF, NULL, 0);
		return xen_fail(hv, ENOMEM, "xen: no hypercall buffer for the dirty bitmap");
	}
	void *theirs = mmap(NULL, l->len, PROT_READ | PROT_WRITE, MAP_SHARED, l->fd, 0);
	if (theirs == MAP_FAILED)
		return xen_fail(hv, errno, "xen: the dirty bitmap: %s", strerror(errno));
	*bitmap = theirs;
	*len = l->len;
	xen_lease_set(x, d.domain);
	return 0;
}

/* the log-dirty entry of a name, without a search of every domain: peeks
 * and the saving pause are on a migration's and an epoch's path; a domain
 * gone since fails the hypercall that follows */
static struct xen_log *log_named(struct xen *x, const char *name)
{
	for (int i = 0; i < XEN_LOGDIRTY_MAX; i++)
		if (x->log[i].bm && !strcmp(x->log[i].name, name))
			return &x->log[i];
	return NULL;
}

void xen_log_handed(struct xen *x, uint32_t domid, int handed)
{
	struct xen_log *l = log_of(x, domid);
	if (l)
		l->handed = handed;
}

/* a domain destroyed under us: Xen keeps it dying while we map it */
static int gone(struct xen *x, const char *name, uint32_t domid)
{
	return xen_fail(&x->hv, ESRCH, "xen: %s is gone: domain %u was destroyed", name, domid);
}

/* CLEAN: the pages dirtied since the last one, now clean and protected again */
static int log_clean(struct xen *x, struct xen_log *l, uint64_t *count)
{
	long long r = xc_logdirty_control(x->xc, l->domid, XEN_DOMCTL_SHADOW_OP_CLEAN, &l->hb,
	    memmap_end(&l->map), 0, NULL);
	if (r < 0 && errno == ESRCH)
		return gone(x, l->name, l->domid);
	if (r < 0)
		return xen_fail(&x->hv, errno, "xen: peek-and-clean of %s: %s", l->name, strerror(errno));
	*count = memmap_gather(&l->map, l->hb.hbuf, l->bm);	/* by pfn into the pages' order */
	return 0;
}

static int xen_peek(struct hv *hv, const char *name, uint64_t *count)
{
	struct xen *x = (struct xen *)hv;
	struct xen_log *l = log_named(x, name);
	if (!l)
		return xen_fail(hv, ENOTCONN, "log-dirty is not enabled");
	return log_clean(x, l, count);
}

/*
 * The vCPU state on Xen: the TSC's information (as xl's X86_TSC_INFO
 * record carries it: mode, elapsed time, guest kHz, incarnation), so the
 * guest's clock keeps its rate and mode on another host, and the domain's
 * handle (its UUID, which xl and libvirt know it by: a moved domain keeps
 * it, as with xl migrate), then the HVM context record as Xen saves it.
 * Little-endian, as Xen's own records.
 */
#define TSC_MAGIC "XENTSC2"	/* 1 had no handle */
struct xen_vcpu_head {
	char magic[8];
	uint32_t tsc_mode, gtsc_khz, incarnation, zero;
	uint64_t elapsed_nsec;
	xen_domain_handle_t handle;
};
#define TSC_MODE_MAX 2		/* default, always emulate, never emulate */

/* (one getcontext call when the context is the size the last one was) */
static int vcpu_get(struct xen *x, const xc_domaininfo_t *d, const char *name, uint8_t **blob,
    size_t *len)
{
	struct xen_vcpu_head h = { TSC_MAGIC, 0, 0, 0, 0, 0, { 0 } };
	uint32_t domid = d->domain;
	memcpy(h.handle, d->handle, sizeof(h.handle));
	const size_t hl = sizeof(h);
	uint32_t want = x->ctx_len;
	int n = -1;
	*blob = NULL;
	if (xc_domain_get_tsc_info(x->xc, domid, &h.tsc_mode, &h.elapsed_nsec, &h.gtsc_khz,
	    &h.incarnation) < 0)
		return xen_fail(&x->hv, errno, "xen: the TSC of %s: %s", name, strerror(errno));
	for (int tries = 0; n < 0 && tries < 2; tries++) {
		if (!want && (n = xc_domain_hvm_getcontext(x->xc, domid, NULL, 0)) <= 0)
			break;
		want = want ? want : (uint32_t)n;
		free(*blob);
		if (!(*blob = malloc(hl + want)))
			return xen_fail(&x->hv, ENOMEM, "out of memory");
		if ((n = xc_domain_hvm_getcontext(x->xc, domid, *blob + hl, want)) <= 0)
			n = -1, want = 0;	/* it grew: ask its size */
	}
	if (n <= 0) {
		int e = errno ? errno : EIO;
		free(*blob);
		*blob = NULL;
		return xen_fail(&x->hv, e, "xen: the HVM context of %s: %s", name, strerror(e));
	}
	memcpy(*blob, &h, hl);
	x->ctx_len = want;
	*len = hl + (size_t)n;
	return 0;
}

static int xen_vcpu_get(struct hv *hv, const char *name, uint8_t **blob, size_t *len)
{
	struct xen *x = (struct xen *)hv;
	xc_domaininfo_t d;
	if (xen_dom_find(x, name, &d) < 0 || xen_hvm_only(hv, &d, name) < 0)
		return -1;
	return vcpu_get(x, &d, name, blob, len);
}

/* a PVH domain has no emulated devices: its device state is empty */
static int xen_dev_get(struct hv *hv, const char *name, uint8_t **blob, size_t *len)
{
	struct xen *x = (struct xen *)hv;
	xc_domaininfo_t d;
	if (xen_dom_find(x, name, &d) < 0)
		return -1;
	if (!(*blob = malloc(1)))
		return xen_fail(hv, ENOMEM, "out of memory");
	*len = 0;
	return 0;
}

/* loads the TSC's information and the HVM context record into the paused
 * domain, in the order Xen's own restore does; a blob that is not one is
 * refused before Xen sees it, a context Xen refuses leaves the TSC set (on
 * a domain that then never runs: an incoming one is destroyed) */
static int xen_vcpu_set(struct hv *hv, const char *name, const uint8_t *blob, size_t len)
{
	struct xen *x = (struct xen *)hv;
	struct xen_vcpu_head h;
	xc_domaininfo_t d;
	if (xen_dom_find(x, name, &d) < 0)
		return -1;
	if (xen_dom_state(x, &d) != HV_PAUSED)
		return xen_fail(hv, EBUSY, "domain must be paused to load state");
	if (len <= sizeof(h) || len - sizeof(h) > UINT32_MAX)
		return xen_fail(hv, EINVAL, "xen: a vCPU state of %zu bytes", len);
	memcpy(&h, blob, sizeof(h));
	/* (a kHz of 0 is Xen's own answer for a native TSC: the host's rate) */
	if (memcmp(h.magic, TSC_MAGIC, sizeof(h.magic)) || h.zero || h.tsc_mode > TSC_MODE_MAX)
		return xen_fail(hv, EINVAL, "xen: not a Xen vCPU state (bad TSC header: mode %u)",
		    h.tsc_mode);
	if (xc_domain_set_tsc_info(x->xc, d.domain, h.tsc_mode, h.elapsed_nsec, h.gtsc_khz,
	    h.incarnation) < 0)
		return xen_fail(hv, errno, "xen: the TSC of %s (mode %u, %u kHz): %s", name, h.tsc_mode,
		    h.gtsc_khz, strerror(errno));
	len -= sizeof(h);
	uint8_t *copy = malloc(len);	/* the call takes it writable */
	if (!copy)
		return xen_fail(hv, ENOMEM, "out of memory");
	memcpy(copy, blob + sizeof(h), len);
	int r = xc_domain_hvm_setcontext(x->xc, d.domain, copy, (uint32_t)len);
	int e = errno;
	free(copy);
	if (r < 0)
		return xen_fail(hv, e, "xen: loading the HVM context of %s: %s", name, strerror(e));
	/* its UUID (once: a shadow loads state every epoch) */
	if (memcmp(d.handle, h.handle, sizeof(h.handle)) &&
	    xc_domain_sethandle(x->xc, d.domain, h.handle) < 0)
		return xen_fail(hv, errno, "xen: the handle of %s: %s", name, strerror(errno));
	return 0;
}

/* the device state of a PVH domain is empty: only an empty one loads */
static int xen_dev_set(struct hv *hv, const char *name, const uint8_t *blob, size_t len)
{
	(void)blob;
	struct xen *x = (struct xen *)hv;
	xc_domaininfo_t d;
	if (xen_dom_find(x, name, &d) < 0)
		return -1;
	return len ? xen_fail(hv, EINVAL, "xen: %zu bytes of device state for a domain that has no "
	    "emulated devices", len) : 0;
}

static int xen_state_set(struct hv *hv, const char *name, const uint8_t *vcpu, size_t vlen,
    const uint8_t *dev, size_t dlen)
{
	return xen_dev_set(hv, name, dev, dlen) < 0 ? -1 : xen_vcpu_set(hv, name, vcpu, vlen);
}

/*
 * A saving pause, as the calls it stands for: pause, the final
 * peek-and-clean, the HVM context (no lease: a Xen domain paused for a
 * client that went away stays paused; see docs/xen-tier.md).  On a
 * migration's path log-dirty is on, and its entry names the domain: no
 * search by name, no xenstore; a PVH domain's device state is empty.
 */
static int xen_suspend(struct hv *hv, const char *name, struct hv_saved *st)
{
	struct xen *x = (struct xen *)hv;
	struct xen_log *l = log_named(x, name);
	xc_domaininfo_t d;
	memset(st, 0, sizeof(*st));
	if (!l) {	/* not on a migration's path: the calls themselves */
		if (xen_dom_find(x, name, &d) < 0 || xen_hvm_only(hv, &d, name) < 0 || xen_pause(hv, name) < 0 || xen_peek(hv, name, &st->dirty) < 0 ||
		    xen_vcpu_get(hv, name, &st->vcpu, &st->vcpu_len) < 0)
			return -1;
	} else {
		if (xen_dom_byid(x, l->domid, &d) < 0)
			return -1;
		if (d.flags & XEN_DOMINF_dying)	/* held only by our mappings */
			return gone(x, name, l->domid);
		if (xen_dom_state(x, &d) != HV_RUNNING)
			return xen_fail(hv, EBUSY, "domain is %s, not running",
			    hv_state_name(xen_dom_state(x, &d)));
		uint64_t t0 = xen_now_ns();
		if (xc_domain_pause(x->xc, l->domid) < 0)
			return xen_fail(hv, errno, "xen: pausing %s (domain %u): %s", name, l->domid,
			    strerror(errno));
		uint64_t t1 = xen_now_ns();
		if (log_clean(x, l, &st->dirty) < 0)
			return -1;
		uint64_t t2 = xen_now_ns();
		if (vcpu_get(x, &d, name, &st->vcpu, &st->vcpu_len) < 0)
			return -1;
		/* where the pause went, as hvd reports it */
		st->pause_ns = t1 - t0, st->peek_ns = t2 - t1, st->state_ns = xen_now_ns() - t2;
	}
	if (!(st->dev = malloc(1))) {
		hv_saved_free(st);
		return xen_fail(hv, ENOMEM, "out of memory");
	}
	st->dev_len = 0;
	return 0;
}

static void xen_close(struct hv *hv)
{
	struct xen *x = (struct xen *)hv;
	xen_incoming_close(x);
	for (int i = 0; i < XEN_LOGDIRTY_MAX; i++)
		if (x->log[i].bm)
			log_drop(x, &x->log[i]);
	xenforeignmemory_close(x->fm);
	xs_close(x->xs);
	xc_interface_close(x->xc);
	xtl_logger_destroy(x->quiet);
	free(x);
}

/* what this backend cannot do yet: one answer, by the name of the call
 * (the arguments go unread) */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-parameter"
#define NOT_YET(fn, what, ...) \
	static int fn(struct hv *hv, __VA_ARGS__) \
	{ return xen_fail(hv, EOPNOTSUPP, "xen: %s is not supported on the Xen backend yet", what); }
NOT_YET(xen_checkpoint, "a checkpoint", const char *a, uint64_t b, struct hv_saved *c)
NOT_YET(xen_frames, "the NIC's frames", const char *a, const uint8_t *b, size_t c)
NOT_YET(xen_hold, "output commit", const char *a, int b, uint64_t c)
NOT_YET(xen_release_epoch, "output commit", const char *a, uint64_t b)
NOT_YET(xen_stage, "the stage", const char *a, uint8_t **b, uint64_t *c)
NOT_YET(xen_console, "the console (use xl console)", const char *a)
#pragma GCC diagnostic pop

static const struct hv_ops xen_ops = {
	.name = "xen",
	.guest = "x86_64-pvh",
	.close = xen_close,
	.domain_create = xen_create,
	.domain_create_incoming = xen_create_incoming,
	.domain_create_incoming_leased = xen_create_incoming_leased,
	.domain_keep = xen_keep,
	.domain_list = xen_list,
	.domain_info = xen_info,
	.domain_pause = xen_pause,
	.domain_handover = xen_handover,
	.domain_reclaim = xen_reclaim,
	.domain_release = xen_release,
	.domain_unpause = xen_unpause,
	.domain_destroy = xen_destroy,
	.mem_map = xen_mem_map,
	.memmap = xen_memmap,
	.logdirty = xen_logdirty,
	.dirty_peek_clean = xen_peek,
	.vcpu_get = xen_vcpu_get,
	.vcpu_set = xen_vcpu_set,
	.dev_get = xen_dev_get,
	.dev_set = xen_dev_set,
	.domain_suspend = xen_suspend,
	.domain_checkpoint = xen_checkpoint,
	.domain_checkpoint_staged = xen_checkpoint,
	.stage_map = xen_stage,
	.state_set = xen_state_set,
	.throttle = xen_throttle,
	.nic_inject = xen_frames,
	.nic_hold = xen_hold,
	.nic_release = xen_release_epoch,
	.console_attach = xen_console,
};

__attribute__((visibility("default")))
struct hv *hv_xen_module_open(const char *tag, char *err, size_t errlen)
{
	struct xen *x = calloc(1, sizeof(*x));
	if (!x) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	x->quiet = (xentoollog_logger *)xtl_createlogger_stdiostream(stderr, XTL_CRITICAL, 0);
	if (!(x->xc = xc_interface_open(x->quiet, x->quiet, 0))) {
		snprintf(err, errlen, "xen: cannot open the hypervisor interface (%s): is this "
		    "dom0 of a Xen host, and are you root?", strerror(errno));
		xtl_logger_destroy(x->quiet);
		free(x);
		return NULL;
	}
	if (!(x->xs = xs_open(0))) {
		snprintf(err, errlen, "xen: cannot reach xenstore (%s): is xenstored running?",
		    strerror(errno));
		xc_interface_close(x->xc);
		xtl_logger_destroy(x->quiet);
		free(x);
		return NULL;
	}
	if (!(x->fm = xenforeignmemory_open(x->quiet, 0))) {
		snprintf(err, errlen, "xen: cannot open foreign memory mapping (%s)", strerror(errno));
		xs_close(x->xs);
		xc_interface_close(x->xc);
		xtl_logger_destroy(x->quiet);
		free(x);
		return NULL;
	}
	x->hv.ops = &xen_ops;
	x->hv.timeout_ms = HV_TIMEOUT_MS;
	x->hv.caps = HV_CAP_APART;
	snprintf(x->tag, sizeof(x->tag), "%s", tag && *tag ? tag : "-");
	xen_built_settle(x);
	return &x->hv;
}
