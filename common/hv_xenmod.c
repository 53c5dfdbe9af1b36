/*
 * hv_xenmod.c - the Xen backend is a module: hv_xen.so (common/hv_xen.c,
 * linked with libxenctrl, libxenforeignmemory and libxenstore) is loaded
 * the first time a "xen:" hypervisor is asked for, so a KVM-only host
 * installs no Xen library (the tandem-xen package carries the module).
 * $TANDEM_XEN_MODULE names another file (the build tree's, in tests).
 * The module finds hv_saved_free and hv_state_name in the program that
 * loads it (the programs export them: common/hv_xen.dynlist).
 */
#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#include "hv.h"

#ifndef XEN_MODULE_PATH
#define XEN_MODULE_PATH "/usr/lib/tandem/hv_xen.so"
#endif

typedef struct hv *(*open_fn)(const char *tag, char *err, size_t errlen);

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static open_fn module_open;

static open_fn load(char *err, size_t errlen)
{
	const char *path = getenv("TANDEM_XEN_MODULE");
	if (!path || !*path)
		path = XEN_MODULE_PATH;
	pthread_mutex_lock(&lock);
	if (!module_open) {
		void *h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
		if (!h)
			snprintf(err, errlen, "xen: the Xen backend is not installed (%s; install "
			    "tandem-xen, or build with libxenctrl)", dlerror());
		else if (!(module_open = (open_fn)dlsym(h, "hv_xen_module_open"))) {
			snprintf(err, errlen, "xen: %s is not Tandem's Xen backend (%s)", path, dlerror());
			dlclose(h);
		}
	}
	open_fn f = module_open;
	pthread_mutex_unlock(&lock);
	if (!f)
		errno = EPROTONOSUPPORT;
	return f;
}

int hv_xen_available(char *err, size_t errlen)
{
	return load(err, errlen) ? 0 : -1;
}

struct hv *hv_xen_open(const char *tag, char *err, size_t errlen)
{
	open_fn f = load(err, errlen);
	return f ? f(tag, err, errlen) : NULL;
}
