/*
 * recover.c - what a remusd that stopped (killed, crashed, upgraded) left
 * behind, settled before it serves anyone:
 *
 *  - a VM whose output hvd still holds was protected from here: its backup
 *    lost the stream when this remusd died, so the table is told first
 *    that it has no backup (then no takeover can happen), and only then
 *    does its held output go out.  It runs on unprotected: status says so.
 *  - a paused domain the table says this host is the backup of is a
 *    shadow.  Its record (backup.c) says whether it was whole when remusd
 *    died: then its primary is either alive (it records that it has no
 *    backup: the shadow goes) or gone, and the failover carries on from
 *    the takeover.  A shadow whose epoch may have been half applied is
 *    never resumed; it goes, and the table is told this host has no
 *    shadow of it (the primary re-protects it).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "fcall.h"
#include "log.h"
#include "remusd.h"

#define RECOVER_TRIES	100	/* of the table, 100 ms apart */

static int table_resolve(struct remusd *d, const char *name, uint32_t *me, uint32_t *backup,
    uint32_t *owner, uint64_t *gen, uint32_t *target)
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
	*owner = msg_u32(&in, FA_OWNER);
	*gen = msg_u64(&in, FA_GEN);
	*target = msg_u32(&in, FA_TO);
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
	uint32_t me, backup, owner, target;
	uint64_t gen, epoch, rgen;
	unsigned ms;
	char err[512];
	int rec = rd_shadow_record(d, name, &epoch, &rgen, &ms), whole = rec == 1;
	if (table_resolve(d, name, &me, &backup, &owner, &gen, &target) < 0 || owner == me ||
	    target == me)
		return;	/* no answer, a VM of this host, or a migration coming in */
	if (backup != me) {	/* its primary protects it elsewhere by now */
		if (rec < 0)
			return;	/* no record at all: not a shadow of remusd's */
		log_warnx("%s: a shadow left by a stopped remusd, of no use any more: destroying it",
		    name);
		if (h->ops->domain_destroy(h, name) < 0 && errno != ENOENT)
			log_warnx("%s: %s", name, hv_error(h));
		return;
	}
	if (whole && rgen == gen) {
		/* its stream is gone with the old remusd: the primary, if it lives,
		 * records that it has no backup; if not, this shadow takes over */
		struct prot *p = prot_new(d, RR_BACKUP, name);
		const struct cf_host *o = d->c.hosts ? conf_host(d->c.hosts, owner) : NULL;
		pthread_t t;
		if (p) {
			snprintf(p->peer, sizeof(p->peer), "%s", o ? o->name : "?");
			p->epoch = epoch;
			p->gen = gen;
			p->epoch_ms = ms;
			p->fd = -2;
			prot_set(p, RS_FAILING_OVER, "a shadow left whole at epoch %llu by a stopped "
			    "remusd: taking over if its primary is gone, else it goes",
			    (unsigned long long)epoch);
			if (pthread_create(&t, NULL, rd_failover_thread, p) == 0) {
				pthread_detach(t);
				return;
			}
			p->fd = -1;
		}
	}
	log_warnx("%s: a shadow left by a stopped remusd%s: destroying it", name, whole ?
	    " for an older generation" : " that may hold half an epoch");
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
		else if (di.state == HV_PAUSED && d->c.fenced)
			was_backup(d, h, names[i]);
	}
	free(names);
	h->ops->close(h);
}
