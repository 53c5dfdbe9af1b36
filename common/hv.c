/*
 * hv.c - what every backend shares: the URI that picks one, and the names
 * of the domain states.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "hv.h"

const char *hv_state_name(unsigned s)
{
	static const char *const n[HV_STATE_COUNT] = {
		[HV_PAUSED] = "paused", [HV_RUNNING] = "running", [HV_SHUTDOWN] = "shutdown",
		[HV_CRASHED] = "crashed", [HV_MIGRATED] = "migrated",
	};
	return s < HV_STATE_COUNT && n[s] ? n[s] : "unknown";
}

enum backend { B_HVD, B_XEN };

/* the backend a URI names, and its path (NULL: its default); -1 with why */
static int parse(const char *uri, enum backend *b, const char **path, char *err, size_t errlen)
{
	size_t k = 0;
	*b = B_HVD;
	*path = uri && *uri ? uri : NULL;
	if (!*path)
		return 0;
	while (islower((unsigned char)uri[k]))
		k++;
	if (!k || uri[k] != ':')	/* a bare path */
		return 0;
	*path = uri[k + 1] ? uri + k + 1 : NULL;
	if (k == 3 && !strncmp(uri, "hvd", 3))
		return 0;
	if (k == 3 && !strncmp(uri, "xen", 3)) {
		*b = B_XEN;
		if (!hv_xen_tag_valid(*path)) {
			snprintf(err, errlen, "'%s': xen:TAG takes a tag of up to %d letters, digits, "
			    "'_' or '-'", uri, XEN_TAG_MAX);
			errno = EINVAL;
			return -1;
		}
		return hv_xen_available(err, errlen);
	} else
		snprintf(err, errlen, "'%s': no backend of that name (hvd:SOCKET or xen:)", uri);
	errno = EPROTONOSUPPORT;
	return -1;
}

int hv_uri_check(const char *uri, char *err, size_t errlen)
{
	enum backend b;
	const char *path;
	return parse(uri, &b, &path, err, errlen);
}

struct hv *hv_open(const char *uri, char *err, size_t errlen)
{
	enum backend b;
	const char *path;
	if (parse(uri, &b, &path, err, errlen) < 0)
		return NULL;
	return b == B_XEN ? hv_xen_open(path, err, errlen) : hv_hvd_open(path, err, errlen);
}

int hv_collect(struct hv *h)
{
	h->post = 0;
	if (!h->posted)
		return 0;
	h->posted = 0;
	return h->ops->collect(h);
}

int hv_memmap(struct hv *h, const char *name, struct memmap *map)
{
	map->n = 0;
	return h->ops->memmap ? h->ops->memmap(h, name, map) : 0;
}
