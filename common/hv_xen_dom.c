/*
 * hv_xen_dom.c - the domains the Xen backend builds and hands over itself.
 *
 * An incoming domain (a migration's destination) is built with libxenctrl
 * alone, as xl builds a type="pvh" guest without its devices: an HVM
 * container with hardware paging and only the local APIC emulated, its
 * vCPUs, its paging pool, its pages populated where the source's were
 * (the stream's memory map, hv_xen_mem.c; without one, RAM from pfn 0),
 * and in xenstore its name, NAME--incoming until it first runs (on one
 * host the source is still NAME, as with xl migrate to localhost), and
 * memory/static-max.  The pages of the source's xenstore and console
 * rings come with the rest, but nothing connects them: it gets no
 * xenstore introduction, console backend or device model.  The guests
 * Tandem carries on Xen write their console to port 0xe9 (Xen's debug
 * console, `xl dmesg`) and use no PV devices.  Until
 * it first runs it is found by NAME only through the handle that built it.
 *
 * Xen has no leases.  Each domain built here is recorded as
 * /tandem/built/DOMID "NAME PID START LEASED TAG": its builder (the process and
 * its start time, so a recycled pid is no builder) and whether it is
 * leased.  A leased one is destroyed when the handle that built it closes
 * without keeping it, and, when its process died instead, by the next
 * process that opens the backend (xen_built_settle): a lease, undone late.
 * Log-dirty is a lease too (/tandem/lease/DOMID "PID START", set when it goes
 * on, dropped when it goes off): a migration's source or a protected VM
 * whose daemon died gets log-dirty off, no throttle and, unless it is
 * handed over, runs again (a pause under the lease undone), as hvd does.
 * One kept (a migration's destination past its first SYNC, a shadow) whose
 * builder died stays paused, and every handle of its builder's tag (xen:TAG,
 * "-" for none) finds it by NAME first (xen_built_orphan): a restarted
 * daemon resumes or destroys it.  The record goes when the domain first runs.
 *
 * The hand-over, without hvd's tags: in one xenstore transaction the paused
 * source is renamed NAME--migrated and recorded as /tandem/handed/NAME
 * ("DOMID TAG") and /tandem/handed-dom/DOMID (NAME).  While recorded it is
 * in state migrated and this backend never unpauses it (xl can: an admin's
 * `xl unpause` of a NAME--migrated domain is the one way round it); reclaim
 * under the same tag renames it back, paused, and drops the record; release
 * under the same tag destroys it.  Another tag changes nothing (ESTALE).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hv_xen.h"

#define IN_SUFFIX	"--incoming"
#define AWAY_SUFFIX	"--migrated"
#define XS_RETRIES	8	/* a transaction another writer ended first is tried again */

struct xen_in *xen_incoming(struct xen *x, const char *name)
{
	for (int i = 0; i < XEN_INCOMING_MAX; i++)
		if (x->in[i].domid && !strcmp(x->in[i].name, name))
			return &x->in[i];
	return NULL;
}

int xen_incoming_id(struct xen *x, uint32_t domid)
{
	for (int i = 0; i < XEN_INCOMING_MAX; i++)
		if (x->in[i].domid == domid)
			return 1;
	return 0;
}

static int xs_put(struct xen *x, xs_transaction_t t, const char *path, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int xs_put(struct xen *x, xs_transaction_t t, const char *path, const char *fmt, ...)
{
	char v[160];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(v, sizeof(v), fmt, ap);
	va_end(ap);
	return xs_write(x->xs, t, path, v, (unsigned)strlen(v)) ? 0 : -1;
}


int xen_handed(struct xen *x, const char *name, uint32_t *domid, uint64_t *tag)
{
	char path[128], v[64];
	unsigned long long t;
	snprintf(path, sizeof(path), "/tandem/handed/%s", name);
	xen_xs_get(x, path, v, sizeof(v));
	if (sscanf(v, "%u %llx", domid, &t) != 2)
		return errno = ENOENT, -1;
	*tag = t;
	return 0;
}

int xen_handed_as(struct xen *x, uint32_t domid, uint64_t *tag, char *name, size_t len)
{
	char path[64];
	uint32_t id;
	snprintf(path, sizeof(path), "/tandem/handed-dom/%u", domid);
	xen_xs_get(x, path, name, len);
	if (!name[0] || xen_handed(x, name, &id, tag) < 0 || id != domid)
		return errno = ENOENT, -1;
	return 0;
}

int xen_handed_id(struct xen *x, uint32_t domid, uint64_t *tag)
{
	char name[65];
	return xen_handed_as(x, domid, tag, name, sizeof(name));
}

/* whether a domain other than but is called name in xenstore, on any host:
 * one Xen has one namespace of names */
static int name_taken(struct xen *x, const char *name, uint32_t but)
{
	return xen_dom_named(x, name, but, 0, NULL) == 0;
}

int xen_shape_check(struct hv *hv, const char *name, size_t name_max, uint64_t mem,
    uint32_t vcpus, const char *net)
{
	if (net && *net)
		return xen_fail(hv, EOPNOTSUPP, "xen: a NIC (%s) is not supported on the Xen backend yet",
		    net);
	if (!*name || strlen(name) > name_max)
		return xen_fail(hv, ENAMETOOLONG, "xen: a domain name of 1 to %zu characters", name_max);
	if (!mem || mem % (1 << 20) || !vcpus || vcpus > 128)
		return xen_fail(hv, EINVAL, "xen: %llu bytes and %u vCPUs: whole MiB and 1 to 128 vCPUs",
		    (unsigned long long)mem, vcpus);
	return 0;
}

int xen_host_put(struct xen *x, xs_transaction_t t, uint32_t domid)
{
	char path[64];
	if (!strcmp(x->tag, "-"))
		return 0;
	snprintf(path, sizeof(path), "/local/domain/%u/" XEN_HOST_KEY, domid);
	return xs_put(x, t, path, "%s", x->tag);
}

void xen_forget(struct xen *x, uint32_t domid)
{
	char path[128], v[65];
	char vm[128];
	snprintf(path, sizeof(path), "/tandem/built/%u", domid);
	xs_rm(x->xs, XBT_NULL, path);
	xen_memmap_forget(x, domid);
	/* its xenstore, as libxl's destroy leaves it (nobody else cleans it
	 * after a destroy by id): the domain's tree, its /vm entry, xl's record */
	snprintf(path, sizeof(path), "/local/domain/%u/vm", domid);
	xen_xs_get(x, path, vm, sizeof(vm));
	if (!strncmp(vm, "/vm/", 4))
		xs_rm(x->xs, XBT_NULL, vm);
	snprintf(path, sizeof(path), "/local/domain/%u", domid);
	xs_rm(x->xs, XBT_NULL, path);
	snprintf(path, sizeof(path), "/libxl/%u", domid);
	xs_rm(x->xs, XBT_NULL, path);
	snprintf(path, sizeof(path), "/tandem/handed-dom/%u", domid);
	xen_xs_get(x, path, v, sizeof(v));
	if (v[0]) {
		xs_rm(x->xs, XBT_NULL, path);
		snprintf(path, sizeof(path), "/tandem/handed/%s", v);
		xs_rm(x->xs, XBT_NULL, path);
	}
	xen_lease_drop(x, domid);
	for (int i = 0; i < XEN_INCOMING_MAX; i++)
		if (x->in[i].domid == domid)
			memset(&x->in[i], 0, sizeof(x->in[i]));
}

/* the paging pool xl gives such a guest: 1 MiB per vCPU and 8 KiB per MiB of RAM */
static uint64_t paging_pool(uint64_t mem, uint32_t vcpus)
{
	return (4ULL * (256 * vcpus + 2 * (mem >> 20))) << 10;
}

static int built_put(struct xen *x, xs_transaction_t t, uint32_t domid, const char *name, int leased);

static int create(struct hv *hv, const char *name, uint64_t mem, uint32_t vcpus, const char *net,
    const struct memmap *map, int leased)
{
	struct xen *x = (struct xen *)hv;
	struct xen_in *slot = NULL;
	char nm[65], path[128];
	uint32_t domid = 0;

	if (xen_shape_check(hv, name, sizeof(nm) - 1 - strlen(IN_SUFFIX), mem, vcpus, net) < 0)
		return -1;
	/* RAM in one block from pfn 0 unless the source's pages were elsewhere */
	struct memmap m = { 1, { { 0, mem / XC_PAGE_SIZE } } };
	char why[160];
	if (map && map->n) {
		if (memmap_check(map, why, sizeof(why)) < 0)
			return xen_fail(hv, EINVAL, "xen: the incoming %s: %s", name, why);
		m = *map;
	}
	/* its limit: its RAM, or the pages its map holds where they are more
	 * (the toolstack's own pages beside the RAM) */
	uint64_t limit_kb = (mem > memmap_pages(&m) * XC_PAGE_SIZE ? mem :
	    memmap_pages(&m) * XC_PAGE_SIZE) / 1024 + 1024;
	snprintf(nm, sizeof(nm), "%s" IN_SUFFIX, name);
	if (xen_incoming(x, name) || name_taken(x, nm, 0))
		return xen_fail(hv, EEXIST, "xen: an incoming %s exists already", name);
	for (int i = 0; i < XEN_INCOMING_MAX && !slot; i++)
		if (!x->in[i].domid)
			slot = &x->in[i];
	if (!slot)
		return xen_fail(hv, EMFILE, "xen: %d incoming domains at once already", XEN_INCOMING_MAX);

	struct xen_domctl_createdomain cfg = {
		.flags = XEN_DOMCTL_CDF_hvm | XEN_DOMCTL_CDF_hap,
		.max_vcpus = vcpus,
		.max_evtchn_port = 1023,
		.max_grant_frames = -1,
		.max_maptrack_frames = -1,
		.grant_opts = XEN_DOMCTL_GRANT_version(1),
		.arch = { .emulation_flags = XEN_X86_EMU_LAPIC },	/* PVH */
	};
	if (xc_domain_create(x->xc, &domid, &cfg) < 0)
		return xen_fail(hv, errno, "xen: creating the incoming %s: %s", name, strerror(errno));
	const char *what = "its vCPUs";	/* the createdomain limit allocates none */
	if (xc_domain_max_vcpus(x->xc, domid, vcpus) < 0)
		goto fail;
	what = "its paging pool";
	if (xc_set_paging_mempool_size(x->xc, domid, paging_pool(mem, vcpus)) < 0)
		goto fail;
	what = "its memory limit";
	if (xc_domain_setmaxmem(x->xc, domid, limit_kb) < 0)
		goto fail;
	what = "its memory";
	if (xen_populate(x, domid, cfg.handle, &m) < 0)
		goto fail;
	for (int tries = 0;; tries++) {
		xs_transaction_t t = xs_transaction_start(x->xs);
		char p2[128];
		snprintf(path, sizeof(path), "/local/domain/%u/name", domid);
		snprintf(p2, sizeof(p2), "/local/domain/%u/memory/static-max", domid);
		int ok = t != XBT_NULL && xs_put(x, t, path, "%s", nm) == 0 &&
		    xs_put(x, t, p2, "%llu", (unsigned long long)(mem / 1024)) == 0;
		snprintf(path, sizeof(path), "/local/domain/%u/domid", domid);
		ok = ok && xs_put(x, t, path, "%u", domid) == 0;
		ok = ok && built_put(x, t, domid, name, leased) == 0 && xen_host_put(x, t, domid) == 0;
		if (t != XBT_NULL && xs_transaction_end(x->xs, t, !ok) && ok)
			break;
		if (!ok || errno != EAGAIN || tries == XS_RETRIES) {
			what = "its xenstore entries";
			goto fail;
		}
	}
	snprintf(slot->name, sizeof(slot->name), "%s", name);
	slot->domid = domid;
	slot->leased = leased;
	return 0;
fail: {
		int e = errno;
		xc_domain_destroy(x->xc, domid);
		xen_forget(x, domid);
		return xen_fail(hv, e, "xen: the incoming %s (domain %u): %s: %s", name, domid, what,
		    strerror(e));
	}
}

int xen_create_incoming(struct hv *hv, const char *name, uint64_t mem, uint32_t vcpus,
    const char *net, const struct memmap *map)
{
	return create(hv, name, mem, vcpus, net, map, 0);
}

int xen_create_incoming_leased(struct hv *hv, const char *name, uint64_t mem, uint32_t vcpus,
    const char *net, const struct memmap *map)
{
	return create(hv, name, mem, vcpus, net, map, 1);
}

int xen_keep(struct hv *hv, const char *name)
{
	struct xen *x = (struct xen *)hv;
	struct xen_in *in = xen_incoming(x, name);
	if (!in)
		return xen_fail(hv, ENOENT, "xen: no incoming domain %s built here", name);
	if (built_put(x, XBT_NULL, in->domid, name, 0) < 0)
		return xen_fail(hv, errno, "xen: keeping %s: its record: %s", name, strerror(errno));
	in->leased = 0;
	return 0;
}

/* this process's start time (clock ticks after boot), 0 when pid is no process */
static unsigned long long proc_start(long pid)
{
	char path[64], buf[1024];
	snprintf(path, sizeof(path), "/proc/%ld/stat", pid);
	FILE *f = fopen(path, "r");
	if (!f)
		return 0;
	size_t n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = 0;
	char *p = strrchr(buf, ')');	/* the name may hold anything */
	unsigned long long start = 0;
	/* after the name: state and 18 more fields, then starttime (field 22) */
	if (p && sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %*u %*u %*d %*d %*d %*d "
	    "%*d %*d %llu", &start) != 1)
		start = 0;
	return start;
}

/* a record's holder: this process, as "PID START" */
static void holder_me(char *buf, size_t len)
{
	long pid = (long)getpid();
	snprintf(buf, len, "%ld %llu", pid, proc_start(pid));
}

/* whether the process a record names (pid, start) still lives */
static int holder_lives(long pid, unsigned long long start)
{
	return start && proc_start(pid) == start;
}

static int built_put(struct xen *x, xs_transaction_t t, uint32_t domid, const char *name, int leased)
{
	char path[64], me[48];
	holder_me(me, sizeof(me));
	snprintf(path, sizeof(path), "/tandem/built/%u", domid);
	return xs_put(x, t, path, "%s %s %d %s", name, me, leased, x->tag);
}

/* domid's built record: 1 with its builder gone (and *leased, and whether
 * it is this handle's tag's), 0 with it alive, -1 none */
static int built_get(struct xen *x, uint32_t domid, char *name, int *leased, int *ours)
{
	char path[64], v[200], tag[XEN_TAG_MAX + 1];
	long pid;
	unsigned long long start;
	snprintf(path, sizeof(path), "/tandem/built/%u", domid);
	xen_xs_get(x, path, v, sizeof(v));
	if (sscanf(v, "%64s %ld %llu %d %16s", name, &pid, &start, leased, tag) != 5)
		return -1;
	*ours = !strcmp(tag, x->tag);
	return !holder_lives(pid, start);
}

/* the record at path names a live process: 1, a dead one: 0, none: -1 */
static int holder_alive(struct xen *x, const char *path)
{
	char v[64];
	long pid;
	unsigned long long start;
	xen_xs_get(x, path, v, sizeof(v));
	if (sscanf(v, "%ld %llu", &pid, &start) != 2)
		return -1;
	return holder_lives(pid, start);
}

void xen_lease_set(struct xen *x, uint32_t domid)
{
	char path[64], me[48];
	holder_me(me, sizeof(me));
	snprintf(path, sizeof(path), "/tandem/lease/%u", domid);
	xs_put(x, XBT_NULL, path, "%s", me);
}

void xen_lease_drop(struct xen *x, uint32_t domid)
{
	char path[64];
	snprintf(path, sizeof(path), "/tandem/lease/%u", domid);
	xs_rm(x->xs, XBT_NULL, path);
}

/* a lease whose holder died: the domain runs again as it did before, unless
 * it is handed over (then it waits, paused, for whoever settles that) */
static void lease_undo(struct xen *x, uint32_t domid)
{
	xc_domaininfo_t d;
	uint64_t tag;
	if (xen_dom_byid(x, domid, &d) == 0) {
		xc_shadow_control(x->xc, domid, XEN_DOMCTL_SHADOW_OP_OFF, NULL, 0);
		char name[65];
		xen_dom_name(x, domid, name, sizeof(name));
		xen_throttle(&x->hv, name, 0);
		if (d.flags & XEN_DOMINF_paused && xen_handed_id(x, domid, &tag) < 0)
			xc_domain_unpause(x->xc, domid);
	}
	xen_lease_drop(x, domid);
}

void xen_built_settle(struct xen *x)
{
	char **leases;
	unsigned nl = 0;
	if ((leases = xs_directory(x->xs, XBT_NULL, "/tandem/lease", &nl))) {
		for (unsigned i = 0; i < nl; i++) {
			char path[64];
			snprintf(path, sizeof(path), "/tandem/lease/%s", leases[i]);
			if (holder_alive(x, path) != 1)
				lease_undo(x, (uint32_t)strtoul(leases[i], NULL, 10));
		}
		free(leases);
	}
	char **ids, name[65];
	unsigned n = 0;
	int leased;
	if (!(ids = xs_directory(x->xs, XBT_NULL, "/tandem/built", &n)))
		return;
	for (unsigned i = 0; i < n; i++) {
		uint32_t domid = (uint32_t)strtoul(ids[i], NULL, 10);
		xc_domaininfo_t d;
		int ours, r = built_get(x, domid, name, &leased, &ours);
		if (xen_dom_byid(x, domid, &d) < 0)
			xen_forget(x, domid);	/* gone: only its record was left */
		else if (r == 1 && leased && d.flags & XEN_DOMINF_paused) {
			xc_domain_destroy(x->xc, domid);
			xen_forget(x, domid);
		}
	}
	free(ids);
}

int xen_built_orphan(struct xen *x, const char *name, xc_domaininfo_t *info)
{
	char **ids, nm[65];
	unsigned n = 0;
	int leased, ours, found = 0;
	if (!(ids = xs_directory(x->xs, XBT_NULL, "/tandem/built", &n)))
		return -1;
	for (unsigned i = 0; i < n && !found; i++) {
		uint32_t domid = (uint32_t)strtoul(ids[i], NULL, 10);
		found = built_get(x, domid, nm, &leased, &ours) == 1 && ours && !leased && !strcmp(nm, name) &&
		    xen_dom_byid(x, domid, info) == 0;
	}
	free(ids);
	return found ? 0 : -1;
}

void xen_built_drop(struct xen *x, uint32_t domid)
{
	char path[64];
	snprintf(path, sizeof(path), "/tandem/built/%u", domid);
	xs_rm(x->xs, XBT_NULL, path);
}

int xen_built_id(struct xen *x, uint32_t domid)
{
	char nm[65];
	int leased, ours;
	return built_get(x, domid, nm, &leased, &ours) >= 0;
}

void xen_incoming_close(struct xen *x)
{
	for (int i = 0; i < XEN_INCOMING_MAX; i++)
		if (x->in[i].domid && x->in[i].leased) {
			uint32_t id = x->in[i].domid;
			xc_domain_destroy(x->xc, id);
			xen_forget(x, id);
		}
}

int xen_first_run(struct xen *x, uint32_t domid, const char *name)
{
	char path[64];
	if (name_taken(x, name, domid))
		return xen_fail(&x->hv, EEXIST, "xen: another domain is called %s: the incoming one "
		    "stays %s" IN_SUFFIX, name, name);
	snprintf(path, sizeof(path), "/local/domain/%u/name", domid);
	if (xs_put(x, XBT_NULL, path, "%s", name) < 0)
		return xen_fail(&x->hv, errno, "xen: naming %s: %s", name, strerror(errno));
	for (int i = 0; i < XEN_INCOMING_MAX; i++)
		if (x->in[i].domid == domid)
			memset(&x->in[i], 0, sizeof(x->in[i]));	/* found by its name from now on */
	return 0;
}

/* the hand-over's record and the name in one transaction: set (on) or dropped */
static int handed_set(struct xen *x, const char *name, uint32_t domid, uint64_t tag, int on)
{
	char p1[128], p2[64], p3[64];
	snprintf(p1, sizeof(p1), "/tandem/handed/%s", name);
	snprintf(p2, sizeof(p2), "/tandem/handed-dom/%u", domid);
	snprintf(p3, sizeof(p3), "/local/domain/%u/name", domid);
	for (int tries = 0;; tries++) {
		xs_transaction_t t = xs_transaction_start(x->xs);
		int ok = t != XBT_NULL;
		if (ok && on)
			ok = xs_put(x, t, p1, "%u %016llx", domid, (unsigned long long)tag) == 0 &&
			    xs_put(x, t, p2, "%s", name) == 0 &&
			    xs_put(x, t, p3, "%s" AWAY_SUFFIX, name) == 0;
		else if (ok)
			ok = xs_rm(x->xs, t, p1) && xs_rm(x->xs, t, p2) && xs_put(x, t, p3, "%s", name) == 0;
		if (t != XBT_NULL && xs_transaction_end(x->xs, t, !ok) && ok)
			return 0;
		if (!ok || errno != EAGAIN || tries == XS_RETRIES)
			return xen_fail(&x->hv, errno ? errno : EIO, "xen: the hand-over record of %s: %s",
			    name, strerror(errno ? errno : EIO));
	}
}

int xen_handover(struct hv *hv, const char *name, uint64_t tag)
{
	struct xen *x = (struct xen *)hv;
	xc_domaininfo_t d;
	uint32_t id;
	uint64_t t;
	if (xen_handed(x, name, &id, &t) == 0 && xen_dom_byid(x, id, &d) == 0)
		return t == tag ? 0 : xen_fail(hv, ESTALE, "xen: %s is handed over under another tag",
		    name);
	if (xen_dom_find(x, name, &d) < 0)
		return -1;
	if (xen_dom_state(x, &d) != HV_PAUSED)
		return xen_fail(hv, EBUSY, "domain is %s, not paused",
		    hv_state_name(xen_dom_state(x, &d)));
	if (strlen(name) + strlen(AWAY_SUFFIX) >= 65)
		return xen_fail(hv, ENAMETOOLONG, "xen: %s is too long a name to hand over", name);
	xen_log_handed(x, d.domain, 1);	/* first: never unpaused once it may be handed */
	if (handed_set(x, name, d.domain, tag, 1) == 0)
		return 0;
	xen_log_handed(x, d.domain, 0);
	return -1;
}

/* the domain handed over as name under tag */
static int handed_under(struct xen *x, const char *name, uint64_t tag, xc_domaininfo_t *d)
{
	uint32_t id;
	uint64_t t;
	if (xen_handed(x, name, &id, &t) < 0 || xen_dom_byid(x, id, d) < 0)
		return xen_fail(&x->hv, ENOENT, "xen: %s is not handed over here", name);
	if (t != tag)
		return xen_fail(&x->hv, ESTALE, "xen: %s is handed over under another tag", name);
	return 0;
}

int xen_reclaim(struct hv *hv, const char *name, uint64_t tag)
{
	struct xen *x = (struct xen *)hv;
	xc_domaininfo_t d;
	if (handed_under(x, name, tag, &d) < 0)
		return -1;
	if (name_taken(x, name, d.domain))
		return xen_fail(hv, EEXIST, "xen: another domain is called %s now: %s" AWAY_SUFFIX
		    " stays handed over", name, name);
	if (handed_set(x, name, d.domain, tag, 0) < 0)
		return -1;
	xen_log_handed(x, d.domain, 0);
	return 0;
}

int xen_release(struct hv *hv, const char *name, uint64_t tag, uint8_t **late, size_t *late_len)
{
	struct xen *x = (struct xen *)hv;
	xc_domaininfo_t d;
	if (late)
		*late = NULL;
	if (late_len)
		*late_len = 0;	/* no NIC: nothing reaches it late */
	if (handed_under(x, name, tag, &d) < 0)
		return -1;
	if (xc_domain_destroy(x->xc, d.domain) < 0)
		return xen_fail(hv, errno, "xen: destroying the handed-over %s (domain %u): %s", name,
		    d.domain, strerror(errno));
	xen_forget(x, d.domain);
	return 0;
}

/*
 * The throttle as the scheduler's cap: pct of the domain's time taken
 * away, so a cap of (100 - pct) % of a CPU per vCPU (0: no cap).
 */
int xen_throttle(struct hv *hv, const char *name, unsigned pct)
{
	struct xen *x = (struct xen *)hv;
	xc_domaininfo_t d;
	int sched;
	if (pct > 99)
		return xen_fail(hv, EINVAL, "throttle share must be 0..99 percent");
	if (xen_dom_find(x, name, &d) < 0)
		return -1;
	unsigned vcpus = d.max_vcpu_id + 1;
	uint16_t cap = pct ? (uint16_t)((100 - pct) * vcpus) : 0;
	int r;
	if (xc_sched_id(x->xc, &sched) < 0)
		return xen_fail(hv, errno, "xen: the scheduler: %s", strerror(errno));
	if (sched == XEN_SCHEDULER_CREDIT2) {
		struct xen_domctl_sched_credit2 s;
		r = xc_sched_credit2_domain_get(x->xc, d.domain, &s);
		s.cap = cap;
		r = r < 0 ? r : xc_sched_credit2_domain_set(x->xc, d.domain, &s);
	} else if (sched == XEN_SCHEDULER_CREDIT) {
		struct xen_domctl_sched_credit s;
		r = xc_sched_credit_domain_get(x->xc, d.domain, &s);
		s.cap = cap;
		r = r < 0 ? r : xc_sched_credit_domain_set(x->xc, d.domain, &s);
	} else
		return xen_fail(hv, EOPNOTSUPP, "xen: throttling needs the credit or credit2 "
		    "scheduler (this host runs scheduler %d)", sched);
	if (r < 0)
		return xen_fail(hv, errno, "xen: capping %s at %u%%: %s", name, cap, strerror(errno));
	return 0;
}
