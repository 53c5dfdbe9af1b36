/*
 * status.c - `tandem status`: this host's fenced view of the cluster (node,
 * membership, quorum, whether its table is the cluster's), every host with
 * its status, mode and free memory, every VM of the ownership table with
 * owner, generation, state, policy and where it would fail over, and the
 * domains this host's hvd runs, and the protections its remusd takes part
 * in.  --json prints one object.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cluster.h"
#include "ctl.h"
#include "fencectl.h"

static void json_members(const char *members)
{
	printf("[");
	for (const char *p = members; *p;) {
		char *e;
		unsigned long v = strtoul(p, &e, 10);
		printf("%s%lu", p == members ? "" : ",", v);
		for (p = e; *p == ' '; p++)
			;
	}
	printf("]");
}

static void print_json(const struct cl_status *s, char (*names)[65], const struct hv_dominfo *di,
    int n)
{
	printf("{");
	json_kv_u64(stdout, "node", s->node, 0);
	json_kv_str(stdout, "state", mb_state_name(s->state), 1);
	printf(",\"quorate\":%s,\"members\":", s->quorate ? "true" : "false");
	json_members(s->members);
	json_kv_str(stdout, "table", s->sync, 1);
	json_kv_u64(stdout, "table_version", s->version, 1);
	json_kv_str(stdout, "watchdog", s->watchdog, 1);
	printf(",\"hosts\":[");
	for (size_t i = 0; i < s->nhosts; i++) {
		const struct cl_host *h = &s->hosts[i];
		printf("%s{", i ? "," : "");
		json_kv_u64(stdout, "node", h->node, 0);
		json_kv_str(stdout, "name", h->name, 1);
		json_kv_str(stdout, "address", h->addr, 1);
		json_kv_str(stdout, "status", host_status_name(h->status), 1);
		json_kv_str(stdout, "mode", host_mode_name(h->mode), 1);
		json_kv_u64(stdout, "mem_bytes", h->mem, 1);
		json_kv_u64(stdout, "free_bytes", h->free, 1);
		printf("}");
	}
	printf("],\"vms\":[");
	for (size_t i = 0; i < s->nvms; i++) {
		const struct cl_vm *v = &s->vms[i];
		printf("%s{", i ? "," : "");
		json_kv_str(stdout, "name", v->name, 0);
		json_kv_u64(stdout, "owner", v->owner, 1);
		json_kv_str(stdout, "owner_name", cl_host_name(s, v->owner), 1);
		json_kv_u64(stdout, "generation", v->gen, 1);
		json_kv_str(stdout, "state", vm_state_name(v->state), 1);
		json_kv_str(stdout, "policy", vm_policy_name(v->policy), 1);
		json_kv_u64(stdout, "mem_bytes", v->mem, 1);
		if (v->target)
			json_kv_str(stdout, "migrating_to", cl_host_name(s, v->target), 1);
		json_kv_str(stdout, "fails_over_to", v->backup ? cl_host_name(s, v->backup) :
		    v->to ? cl_host_name(s, v->to) : "", 1);
		json_kv_str(stdout, "backup", v->backup ? cl_host_name(s, v->backup) : "", 1);
		printf("}");
	}
	printf("],\"local\":[");
	for (int i = 0; i < n; i++) {
		printf("%s{", i ? "," : "");
		json_kv_str(stdout, "name", names[i], 0);
		json_kv_str(stdout, "state", hv_state_name(di[i].state), 1);
		printf("}");
	}
	printf("]");
}

/* a stuck domain shows as "unknown" after this, instead of holding status up */
#define STATUS_HV_TIMEOUT_MS 500

static void print_text(const struct cl_status *s, char (*names)[65], const struct hv_dominfo *di,
    int n)
{
	const struct cl_host *me = cl_host(s, s->node);
	printf("node %u (%s): %s, members [%s], table %s (version %llu)\n", s->node,
	    me ? me->name : "not in the config", mb_state_name(s->state), s->members, s->sync,
	    (unsigned long long)s->version);
	printf("watchdog: %s\n\n", s->watchdog);
	printf("%-8s %4s  %-15s %-7s %-12s %9s %9s\n", "HOST", "NODE", "ADDRESS", "STATUS", "MODE",
	    "MEM", "FREE");
	for (size_t i = 0; i < s->nhosts; i++) {
		const struct cl_host *h = &s->hosts[i];
		printf("%-8s %4u  %-15s %-7s %-12s %8lluM %8lluM\n", h->name, h->node, h->addr,
		    host_status_name(h->status), host_mode_name(h->mode),
		    (unsigned long long)(h->mem >> 20), (unsigned long long)(h->free >> 20));
	}
	printf("\n%-20s %-8s %5s  %-10s %-8s %7s  %s\n", "VM", "OWNER", "GEN", "STATE", "POLICY",
	    "MEM", "FAILS OVER TO");
	for (size_t i = 0; i < s->nvms; i++) {
		const struct cl_vm *v = &s->vms[i];
		char st[64];
		snprintf(st, sizeof(st), "%s%s%s", vm_state_name(v->state), v->target ? "->" : "",
		    v->target ? cl_host_name(s, v->target) : "");
		char to[96];
		if (v->backup)
			snprintf(to, sizeof(to), "%s (protected: its shadow)", cl_host_name(s, v->backup));
		else
			snprintf(to, sizeof(to), "%s", v->to ? cl_host_name(s, v->to) : "(no room)");
		printf("%-20s %-8s %5llu  %-10s %-8s %6lluM  %s\n", v->name, cl_host_name(s, v->owner),
		    (unsigned long long)v->gen, st, vm_policy_name(v->policy),
		    (unsigned long long)(v->mem >> 20), to);
	}
	if (!s->nvms)
		printf("(no VMs in the table)\n");
	printf("\nthis host's hvd:");
	for (int i = 0; i < n; i++)
		printf(" %s (%s)", names[i], hv_state_name(di[i].state));
	printf("%s\n", n ? "" : " no domains");
}

int cmd_status(struct ctl *c, int argc, char **argv)
{
	(void)argv;
	if (argc != 0)
		ctl_fail(c, "usage: tandem status");
	struct dclient d;
	static struct cl_status s;
	cl_open(c, &d);
	cl_status(c, &d, &s);

	struct hv *h = ctl_hv(c);
	char (*names)[65] = NULL;
	int n = 0;
	if (h->ops->domain_list(h, &names, &n) < 0)
		ctl_fail(c, "%s", hv_error(h));
	struct hv_dominfo *di = calloc((size_t)(n > 0 ? n : 1), sizeof(*di));
	if (!di)
		ctl_fail(c, "out of memory");
	h->timeout_ms = STATUS_HV_TIMEOUT_MS;
	for (int i = 0; i < n; i++)
		if (h->ops->domain_info(h, names[i], &di[i]) < 0) {
			di[i].state = 0;	/* destroyed meanwhile, or stuck: "unknown" */
			if (errno == ETIMEDOUT) {	/* that connection is spent */
				h->ops->close(h);
				h = ctl_hv(c);
				h->timeout_ms = STATUS_HV_TIMEOUT_MS;
			}
		}
	if (c->json)
		print_json(&s, names, di, n);
	else
		print_text(&s, names, di, n);
	if (prot_configured(c))	/* this host's protections, as primary or backup */
		prot_list(c, NULL, c->json ? "," : "\n");
	if (c->json)
		printf("}\n");
	free(names);
	free(di);
	h->ops->close(h);
	return 0;
}
