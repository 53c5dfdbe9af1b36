/*
 * recover.c - what a remusd that stopped (killed, crashed, upgraded) left
 * behind, settled before it serves anyone:
 *
 *  - a VM whose output hvd still holds was protected from here: its backup
 *    lost the stream when this remusd died, so the table is told first
 *    that it has no backup (then no takeover can happen), and only then
 *    does its held output go out.  It runs on unprotected: status says so.
 *  - a paused domain the table says this host is the backup of is a
 *    shadow whose epoch may have been half applied when remusd died: it
 *    is never resumed; it goes, and the table is told this host has no
 *    shadow of it (the primary re-protects it).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fcall.h"
#include "log.h"
#include "remusd.h"

#define RECOVER_TRIES	100	/* of the table, 100 ms apart */

static int table_resolve(struct remusd *d, const char *name, uint32_t *me, uint32_t *backup)
{
	uint8_t buf[2048];
	struct msg_in in;
	struct msg_out o;
	char err[300];
	msg_begin(&o, FC_MIG_RESOLVE, 1);
	msg_add_str(&o, FA_NAME, name);
	msg_add_u32(&o, FA_MODE, 1);
	if (fcall(d->c.fenced, 10, &o, buf, sizeof(buf), &in, err, sizeof(err)) < 0)
		return -1;
	*me = msg_u32(&in, FA_NODEID);
	*backup = msg_u32(&in, FA_BACKUP);
	return 0;
}

static void was_primary(struct remusd *d, struct hv *h, const char *name)
{
	char err[512] = "";
	int ok = 0;
	for (int i = 0; i < RECOVER_TRIES && !ok; i++)
		if (!(ok = rd_table_protect(d, name, NULL, err, sizeof(err)) == 0 || errno == ENOENT))
			usleep(100000);
	struct prot *p = prot_new(d, RR_PRIMARY, name);
	if (!ok) {
		log_warnx("%s: its output stays held: the table cannot be told it has no backup (%s)",
		    name, err);
		if (p)
			prot_set(p, RS_FAILED, "remusd restarted; the output stays held: %s", err);
		return;
	}
	if (h->ops->nic_hold(h, name, 0, 0) < 0)
		log_warnx("%s: ending the hold: %s", name, hv_error(h));
	h->ops->logdirty(h, name, 0, 0, NULL, NULL);
	h->ops->throttle(h, name, 0);
	if (p)
		prot_set(p, RS_UNPROTECTED, "remusd restarted: the protection ended; output released, "
		    "protect it again");
}

static void was_backup(struct remusd *d, struct hv *h, const char *name)
{
	uint32_t me, backup;
	char err[512];
	if (table_resolve(d, name, &me, &backup) < 0 || backup != me)
		return;
	log_warnx("%s: a shadow left by a stopped remusd: it may hold half an epoch, destroying it",
	    name);
	if (h->ops->domain_destroy(h, name) < 0 && errno != ENOENT)
		log_warnx("%s: %s", name, hv_error(h));
	if (rd_table_protect(d, name, NULL, err, sizeof(err)) < 0)
		log_warnx("%s: telling the table this host has no shadow: %s", name, err);
}

void rd_recover(struct remusd *d)
{
	char err[300], (*names)[65] = NULL;
	int n = 0;
	struct hv *h = hv_open(d->c.hvd_path, err, sizeof(err));
	if (!h) {
		log_warnx("recovery: hvd: %s", err);
		return;
	}
	if (h->ops->domain_list(h, &names, &n) < 0)
		log_warnx("recovery: listing domains: %s", hv_error(h));
	for (int i = 0; i < n; i++) {
		struct hv_dominfo di;
		if (h->ops->domain_info(h, names[i], &di) < 0)
			continue;
		if (di.hold.on)
			was_primary(d, h, names[i]);
		else if (di.state == DS_PAUSED && d->c.fenced)
			was_backup(d, h, names[i]);
	}
	free(names);
	h->ops->close(h);
}
