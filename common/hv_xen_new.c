/*
 * hv_xen_new.c - a new guest on Xen: domain_create, what `tandem vm create`
 * and a cluster's restart of a VM ask for.  libxl builds it, as `xl create`
 * of a type="pvh" guest with a kernel and no devices would (its ELF's PVH
 * entry, its command line, its RAM and vCPUs, its xenstore and console
 * rings), then it runs.  On a xen:TAG handle it is recorded as that tag's
 * (hv_xen.h: one Xen shared by several hosts of a lab).
 *
 * The guest's TSC mode is Xen's default unless TANDEM_XEN_TSC_MODE says
 * native (or always_emulate): where trapping RDTSC costs too much or goes
 * wrong (nested Xen under QEMU's TCG, docs/xen-tier.md), as xl's tsc_mode=.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libxl.h>
#include <libxl_utils.h>

#include "hv_xen.h"

/* libxl's messages: errors to stderr (the daemon's log), the first one kept
 * for the caller's error, which says why the guest could not be made */
struct said {
	xentoollog_logger l;
	char first[200];
};

static void said_msg(xentoollog_logger *lg, xentoollog_level level, int errnoval,
    const char *context, const char *format, va_list al) __attribute__((format(printf, 5, 0)));
static void said_msg(xentoollog_logger *lg, xentoollog_level level, int errnoval,
    const char *context, const char *format, va_list al)
{
	struct said *s = (struct said *)lg;
	char m[sizeof(s->first)];
	(void)errnoval;
	if (level < XTL_ERROR)
		return;
	vsnprintf(m, sizeof(m), format, al);
	fprintf(stderr, "%s: %s\n", context ? context : "libxl", m);
	if (!s->first[0])
		snprintf(s->first, sizeof(s->first), "%s", m);
}

static void said_destroy(xentoollog_logger *lg)
{
	(void)lg;
}

static int tsc_mode(struct hv *hv, libxl_tsc_mode *m)
{
	const char *v = getenv("TANDEM_XEN_TSC_MODE");
	if (!v || !*v || !strcmp(v, "default"))
		*m = LIBXL_TSC_MODE_DEFAULT;
	else if (!strcmp(v, "native"))
		*m = LIBXL_TSC_MODE_NATIVE;
	else if (!strcmp(v, "always_emulate"))
		*m = LIBXL_TSC_MODE_ALWAYS_EMULATE;
	else
		return xen_fail(hv, EINVAL, "xen: TANDEM_XEN_TSC_MODE=%s: default, native or "
		    "always_emulate", v);
	return 0;
}

int xen_create(struct hv *hv, const char *name, uint64_t mem, uint32_t vcpus, const char *kernel,
    const char *cmdline, const char *net)
{
	struct xen *x = (struct xen *)hv;
	libxl_tsc_mode tm = LIBXL_TSC_MODE_DEFAULT;
	if (xen_shape_check(hv, name, 64, mem, vcpus, net) < 0)
		return -1;
	if (!kernel || !*kernel)
		return xen_fail(hv, EINVAL, "xen: a guest needs a kernel (a PVH ELF)");
	if (tsc_mode(hv, &tm) < 0)
		return -1;
	/* one Xen, one namespace of names, whichever host a tag stands for */
	if (xen_dom_named(x, name, 0, 0, NULL) == 0)
		return xen_fail(hv, EEXIST, "xen: a domain called %s exists already", name);

	struct said said = { { said_msg, NULL, said_destroy }, "" };
	libxl_ctx *ctx = NULL;
	if (libxl_ctx_alloc(&ctx, LIBXL_VERSION, 0, &said.l))
		return xen_fail(hv, EIO, "xen: cannot open libxl%s%s", said.first[0] ? ": " : "",
		    said.first);
	libxl_domain_config dc;
	libxl_domain_config_init(&dc);
	libxl_domain_create_info_init(&dc.c_info);
	libxl_domain_build_info_init_type(&dc.b_info, LIBXL_DOMAIN_TYPE_PVH);
	dc.c_info.type = LIBXL_DOMAIN_TYPE_PVH;
	dc.c_info.name = strdup(name);
	dc.b_info.kernel = strdup(kernel);
	dc.b_info.cmdline = strdup(cmdline ? cmdline : "");
	dc.b_info.max_memkb = dc.b_info.target_memkb = mem / 1024;
	dc.b_info.max_vcpus = (int)vcpus;
	dc.b_info.tsc_mode = tm;
	dc.on_crash = LIBXL_ACTION_ON_SHUTDOWN_PRESERVE;	/* a crash stays to be looked at */
	int r = -1, e = ENOMEM;
	uint32_t domid = 0;
	int made = 0;
	const char *what = "";
	if (dc.c_info.name && dc.b_info.kernel && dc.b_info.cmdline &&
	    !libxl_cpu_bitmap_alloc(ctx, &dc.b_info.avail_vcpus, (int)vcpus)) {
		for (uint32_t i = 0; i < vcpus; i++)
			libxl_bitmap_set(&dc.b_info.avail_vcpus, (int)i);
		e = EIO;
		what = "building it";
		if (!libxl_domain_create_new(ctx, &dc, &domid, NULL, NULL)) {
			made = 1;
			what = "recording its host";
			if (xen_host_put(x, XBT_NULL, domid) == 0) {
				what = "starting it";
				r = libxl_domain_unpause(ctx, domid, NULL) ? -1 : 0;
			}
		}
	}
	if (r < 0 && made)
		libxl_domain_destroy(ctx, domid, NULL);
	libxl_domain_config_dispose(&dc);
	libxl_ctx_free(ctx);
	if (r < 0)
		return xen_fail(hv, e, "xen: creating %s from %s: %s%s%s", name, kernel, what,
		    said.first[0] ? ": libxl: " : "", said.first);
	return 0;
}
