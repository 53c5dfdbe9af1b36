/*
 * hv_noxen.c - the Xen backend of a build without libxenctrl: "xen:" is
 * refused with the reason (configure --with-xen builds common/hv_xen.c).
 */
#include <errno.h>
#include <stdio.h>

#include "hv.h"

const int hv_xen_built = 0;

struct hv *hv_xen_open(char *err, size_t errlen)
{
	snprintf(err, errlen, "xen: this build has no Xen backend (libxenctrl)");
	errno = EPROTONOSUPPORT;
	return NULL;
}
