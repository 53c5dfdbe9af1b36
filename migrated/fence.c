/*
 * fence.c - a FENCE request from a cluster fencer (fenced's "hvd" level, by
 * way of the fence_tandem agent): destroy every domain this host's hvd runs
 * and answer FENCED only when none is left, so "fenced" is never claimed
 * for a host that still runs a VM.  The peer passed the same mutual TLS
 * check as any migration peer, and its certificate has the fencer role
 * (peer.c): a host's certificate cannot fence.  In a cluster (-F) the host
 * takes a FENCE only while the coordinator fences it, or when it cannot
 * tell (cut off, unsynced, its fenced down): a fencer's certificate alone
 * cannot empty a healthy member.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hv.h"
#include "log.h"
#include "migrated.h"

int fence_answer(struct rio *r, const char *peer, const char *fencer)
{
	char err[512], msg[1024];
	char (*names)[65] = NULL;
	int n = 0, destroyed = 0;
	struct hv *h = hv_open(migd_conf.hvd_path, err, sizeof(err));

	if (migd_conf.fenced) {
		char why[256] = "";
		int ok = 0;
		for (int i = 0; i < 20 && (ok = cluster_fence_allowed(why, sizeof(why))) == 0; i++)
			usleep(100000);	/* the coordinator's FENCING may still be on its way */
		if (ok == 0) {
			snprintf(msg, sizeof(msg), "refused: %s", why);
			log_warnx("FENCE from %s (fencer %s) %s", peer, fencer, msg);
			if (h)
				h->ops->close(h);
			return ckpt_send(r, CK_ABORT, msg, strlen(msg));
		}
		log_info("FENCE from %s: %s", peer, ok < 0 ? "fenced does not answer: cannot tell, "
		    "taking it" : why);
	}
	log_warnx("FENCE from %s (fencer %s): destroying every domain of this host", peer,
	    fencer[0] ? fencer : "unauthenticated");
	if (!h || h->ops->domain_list(h, &names, &n) < 0) {
		snprintf(msg, sizeof(msg), "cannot reach hvd: %s", h ? hv_error(h) : err);
		goto fail;
	}
	for (int i = 0; i < n; i++) {
		if (h->ops->domain_destroy(h, names[i]) == 0) {
			log_warnx("FENCE: destroyed %s", names[i]);
			destroyed++;
		} else if (errno != ENOENT) {
			snprintf(msg, sizeof(msg), "destroying %s: %s", names[i], hv_error(h));
			goto fail;
		}
	}
	free(names);
	names = NULL;
	if (h->ops->domain_list(h, &names, &n) < 0 || n) {
		snprintf(msg, sizeof(msg), "%d domains still there after destroy", n);
		goto fail;
	}
	h->ops->close(h);
	snprintf(msg, sizeof(msg), "destroyed %d domains", destroyed);
	log_info("FENCE from %s: %s", peer, msg);
	return ckpt_send(r, CK_FENCED, msg, strlen(msg));
fail:
	free(names);
	if (h)
		h->ops->close(h);
	log_warnx("FENCE from %s failed: %s", peer, msg);
	return ckpt_send(r, CK_ABORT, msg, strlen(msg));
}
