/*
 * fence.c - `tandem fence HOST`: fence a host now (fenced runs its levels
 * and records the result in the cluster's history), and `tandem fence
 * history`: every fencing action, oldest first, with method and outcome.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "cluster.h"
#include "ctl.h"
#include "fencectl.h"

static int history(struct ctl *c, struct dclient *d)
{
	static struct cl_status s;
	struct msg_out o;
	cl_status(c, d, &s);	/* for host names */
	msg_begin(&o, FC_HISTORY, ++d->seq);
	dc_call(c, d, &o);
	size_t pos = 0, n = 0;
	const uint8_t *v;
	uint32_t len;
	char err[256], method[64], detail[256], when[64];
	if (c->json)
		printf("[");
	else
		printf("%-23s %-8s %-8s %-12s %-6s %s\n", "TIME", "HOST", "BY", "METHOD", "RESULT",
		    "DETAIL");
	while (msg_next(&d->in, FA_FENCE, &pos, &v, &len)) {
		struct msg_in a;
		if (msg_parse_attrs(&cluster_schema, &cluster_fence_policy, v, len, &a, err,
		    sizeof(err)) < 0)
			ctl_fail(c, "bad reply from fenced: %s", err);
		uint64_t t = msg_u64(&a, CA_TIME);
		uint32_t node = msg_u32(&a, CA_NODE), by = msg_u32(&a, CA_BY);
		int ok = msg_u32(&a, CA_OK) != 0;
		msg_str(&a, CA_METHOD, method, sizeof(method));
		msg_str(&a, CA_DETAIL, detail, sizeof(detail));
		fmt_time(t, when, sizeof(when));
		if (c->json) {
			printf("%s{", n ? "," : "");
			json_kv_u64(stdout, "time_ms", t, 0);
			json_kv_str(stdout, "host", cl_host_name(&s, node), 1);
			json_kv_u64(stdout, "node", node, 1);
			json_kv_str(stdout, "by", cl_host_name(&s, by), 1);
			json_kv_str(stdout, "method", method, 1);
			printf(",\"ok\":%s", ok ? "true" : "false");
			json_kv_str(stdout, "detail", detail, 1);
			printf("}");
		} else
			printf("%-23s %-8s %-8s %-12s %-6s %s\n", when, cl_host_name(&s, node),
			    cl_host_name(&s, by), method, ok ? "ok" : "FAILED", detail);
		n++;
	}
	if (c->json)
		printf("]\n");
	else if (!n)
		printf("(no fencing yet)\n");
	return 0;
}

int cmd_fence(struct ctl *c, int argc, char **argv)
{
	struct dclient d;
	if (argc != 1)
		ctl_fail(c, "usage: tandem fence HOST | tandem fence history");
	cl_open(c, &d);
	if (!strcmp(argv[0], "history"))
		return history(c, &d);
	struct msg_out o;
	char method[64], detail[256];
	struct timespec t0, t1;
	if (!c->json)
		fprintf(stderr, "fencing %s ...\n", argv[0]);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	msg_begin(&o, FC_FENCE, ++d.seq);
	msg_add_str(&o, FA_HOST, argv[0]);
	dc_call(c, &d, &o);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	double ms = (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6;
	msg_str(&d.in, FA_METHOD, method, sizeof(method));
	msg_str(&d.in, FA_DETAIL, detail, sizeof(detail));
	if (c->json) {
		printf("{");
		json_kv_str(stdout, "result", "ok", 0);
		json_kv_str(stdout, "host", argv[0], 1);
		json_kv_str(stdout, "method", method, 1);
		json_kv_str(stdout, "detail", detail, 1);
		json_kv_f(stdout, "ms", ms, 1);
		printf("}\n");
	} else
		printf("%s fenced by %s in %.0f ms: %s\n", argv[0], method, ms, detail);
	return 0;
}
