/*
 * stats.c - what fenced serves on its OpenMetrics endpoint: this host's
 * membership state and quorum, the members, the cluster's hosts by status
 * and its VMs by state (from the replicated table), the table's version,
 * and the fencings this host ran (fence.c).  Everything is read on the
 * event loop, where it changes.
 */
#include <stdio.h>

#include "fence.h"
#include "fenced.h"
#include "metrics.h"

void stats_render(struct mtext *t, void *arg)
{
	struct fenced *f = arg;
	char l[96];

	mt_family(t, "tandem_membership_state", "gauge", NULL,
	    "This host's membership state (1 for the current one).");
	snprintf(l, sizeof(l), "state=\"%s\"", mb_state_name(f->mb.state));
	mt_sample(t, "tandem_membership_state", l, 1);
	mt_family(t, "tandem_cluster_quorate", "gauge", NULL, "1 while this host is quorate.");
	mt_sample(t, "tandem_cluster_quorate", "", f->mb.quorate ? 1 : 0);
	mt_family(t, "tandem_cluster_members", "gauge", NULL, "Hosts in this host's CPG view.");
	mt_sample(t, "tandem_cluster_members", "", (double)f->mb.n);
	mt_family(t, "tandem_cluster_views", "counter", NULL, "Membership views applied.");
	mt_sample(t, "tandem_cluster_views_total", "", (double)f->mb.views);
	mt_family(t, "tandem_cluster_table_version", "gauge", NULL,
	    "Changes applied to the ownership table.");
	mt_sample(t, "tandem_cluster_table_version", "", (double)f->t.version);

	mt_family(t, "tandem_cluster_hosts", "gauge", NULL, "The cluster's hosts, by status.");
	for (unsigned s = HS_DOWN; s <= HS_FENCED; s++) {
		unsigned n = 0;
		for (size_t i = 0; i < f->t.nhost; i++)
			n += f->t.host[i].status == s;
		snprintf(l, sizeof(l), "status=\"%s\"", host_status_name(s));
		mt_sample(t, "tandem_cluster_hosts", l, n);
	}
	mt_family(t, "tandem_cluster_vms", "gauge", NULL,
	    "The cluster's VMs, by state (protected ones counted again as protected=\"yes\").");
	for (unsigned s = VS_STARTING; s <= VS_FAILED; s++) {
		unsigned n = 0, prot = 0;
		for (size_t i = 0; i < f->t.nvm; i++)
			if (f->t.vm[i].state == s) {
				n++;
				prot += f->t.vm[i].backup != 0;
			}
		snprintf(l, sizeof(l), "state=\"%s\",protected=\"no\"", vm_state_name(s));
		mt_sample(t, "tandem_cluster_vms", l, n - prot);
		snprintf(l, sizeof(l), "state=\"%s\",protected=\"yes\"", vm_state_name(s));
		mt_sample(t, "tandem_cluster_vms", l, prot);
	}
	fence_render(f->fencer, t);
}
