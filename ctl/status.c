/*
 * status.c - `tandem status`: this host's fenced view of the cluster (node,
 * membership state, quorum, members), and the VMs its hvd runs.  --json
 * prints one object.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"
#include "fencectl.h"
#include "hvctl.h"

int cmd_status(struct ctl *c, int argc, char **argv)
{
	(void)argv;
	if (argc != 0)
		ctl_fail(c, "usage: tandem status");
	struct dclient d = { .daemon = "fenced", .schema = &fencectl_schema, .err_type = FC_ERR,
		.errmsg_attr = FA_ERRMSG, .fd = -1 };
	struct msg_out o;
	char members[512];
	dc_open(c, &d, c->fenced, "TANDEM_FENCED", FENCED_DEFAULT_SOCK);
	msg_begin(&o, FC_STATUS, ++d.seq);
	dc_call(c, &d, &o);
	uint32_t node = msg_u32(&d.in, FA_NODEID), state = msg_u32(&d.in, FA_STATE);
	int quorate = msg_u32(&d.in, FA_QUORATE) != 0;
	msg_str(&d.in, FA_MEMBERS, members, sizeof(members));

	struct hv *h = ctl_hv(c);
	char (*names)[65] = NULL;
	int n = 0;
	if (h->ops->domain_list(h, &names, &n) < 0)
		ctl_fail(c, "%s", hv_error(h));
	struct hv_dominfo *di = calloc((size_t)(n > 0 ? n : 1), sizeof(*di));
	if (!di)
		ctl_fail(c, "out of memory");
	for (int i = 0; i < n; i++)
		if (h->ops->domain_info(h, names[i], &di[i]) < 0)
			di[i].state = 0;	/* destroyed meanwhile */
	if (c->json) {
		printf("{");
		json_kv_u64(stdout, "node", node, 0);
		json_kv_str(stdout, "state", mb_state_name(state), 1);
		printf(",\"quorate\":%s,\"members\":[", quorate ? "true" : "false");
		for (char *p = members, *e; *p; p = e) {
			unsigned long v = strtoul(p, &e, 10);
			printf("%s%lu", p == members ? "" : ",", v);
			while (*e == ' ')
				e++;
		}
		printf("],\"vms\":[");
		for (int i = 0; i < n; i++) {
			printf("%s{", i ? "," : "");
			json_kv_str(stdout, "name", names[i], 0);
			json_kv_str(stdout, "state", dom_state_name(di[i].state), 1);
			printf("}");
		}
		printf("]}\n");
	} else {
		printf("node %u: %s, members [%s]\n", node, mb_state_name(state), members);
		for (int i = 0; i < n; i++)
			printf("  vm %-20s %s\n", names[i], dom_state_name(di[i].state));
	}
	free(names);
	free(di);
	h->ops->close(h);
	return 0;
}
