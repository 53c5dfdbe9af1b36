/*
 * evacuate.c - `tandem evacuate HOST [--dry-run] [--parallel N]`: live-
 * migrates every VM away from HOST, up to N at a time (default: half the
 * CPUs, at most 4, at least 1), each to
 * the host fenced's placement picks (most free memory), with a progress
 * line per VM; HOST is "draining" meanwhile and becomes "maintenance" only
 * once the table gives it no VM and its hvd runs none.  --dry-run prints
 * the plan.  Runs where HOST's migrated is reachable (--migrated).
 * `tandem mode HOST active|draining|maintenance` sets a host's mode.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cluster.h"
#include "ctl.h"
#include "fencectl.h"
#include "migctl.h"

static uint64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void set_mode(struct ctl *c, struct dclient *d, const char *host, unsigned mode)
{
	struct msg_out o;
	msg_begin(&o, FC_MODE, ++d->seq);
	msg_add_str(&o, FA_HOST, host);
	msg_add_u32(&o, FA_MODE, mode);
	dc_call(c, d, &o);
}

int cmd_mode(struct ctl *c, int argc, char **argv)
{
	struct dclient d;
	unsigned m;
	if (argc != 2)
		ctl_fail(c, "usage: tandem mode HOST active|draining|maintenance");
	for (m = HM_ACTIVE; m <= HM_MAINTENANCE && strcmp(host_mode_name(m), argv[1]); m++)
		;
	if (m > HM_MAINTENANCE)
		ctl_fail(c, "unknown mode '%s' (active, draining, maintenance)", argv[1]);
	cl_open(c, &d);
	set_mode(c, &d, argv[0], m);
	if (c->json)
		printf("{\"result\":\"ok\",\"host\":\"%s\",\"mode\":\"%s\"}\n", argv[0], argv[1]);
	else
		printf("%s: %s\n", argv[0], argv[1]);
	return 0;
}

struct job {
	const struct cl_vm *v;
	const struct cl_host *to;
	char dest[128];
	int started, done, ok;
	unsigned last_pm;
	uint64_t t0, ms;
	double downtime_ms;
	char err[256];
	struct prot_move mv;	/* its protection, ended for the move */
};

static void progress_line(const struct job *j, const struct msg_in *in)
{
	char phase[64];
	fprintf(stderr, "  %-16s -> %-6s %5.1f%%  %-12s round %u  %7.1f MB/s\n", j->v->name,
	    j->to->name, msg_u32(in, MA_PERMILLE) / 10.0, msg_str(in, MA_PHASE, phase, sizeof(phase)),
	    msg_u32(in, MA_ROUND), (double)msg_u64(in, MA_RATE_BPS) / 1e6);
}

/* polls one migration; 1 when it has ended */
static int poll_job(const struct ctl *c, struct dclient *m, struct job *j)
{
	struct msg_out o;
	msg_begin(&o, MC_STATUS, ++m->seq);
	msg_add_str(&o, MA_NAME, j->v->name);
	dc_call(c, m, &o);
	unsigned st = msg_u32(&m->in, MA_STATE), pm = msg_u32(&m->in, MA_PERMILLE);
	if (st == MS_RUNNING) {
		if (!c->json && (pm >= j->last_pm + 250 || !j->last_pm)) {
			progress_line(j, &m->in);
			j->last_pm = pm ? pm : 1;
		}
		return 0;
	}
	j->done = 1;
	j->ok = st == MS_DONE;
	prot_move_end(c, j->v->name, j->to->name, j->ok, &j->mv);
	j->ms = now_ms() - j->t0;
	j->downtime_ms = (double)msg_u64(&m->in, MA_DOWNTIME_US) / 1e3;
	msg_str(&m->in, MA_ERRMSG, j->err, sizeof(j->err));
	if (!c->json) {
		if (j->ok)
			fprintf(stderr, "  %-16s -> %-6s done in %llu ms, downtime %.2f ms\n", j->v->name,
			    j->to->name, (unsigned long long)j->ms, j->downtime_ms);
		else
			fprintf(stderr, "  %-16s -> %-6s %s: %s\n", j->v->name, j->to->name,
			    mig_state_name(st), j->err);
	}
	return 1;
}

int cmd_evacuate(struct ctl *c, int argc, char **argv)
{
	/* each migration keeps a sender and a receiver thread busy: on this
	 * 2-core machine 3 at once took 7x as long as 1 at a time (bench/failover) */
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	int dry = 0, par = ncpu >= 4 ? (int)(ncpu / 2 > 4 ? 4 : ncpu / 2) : 1;
	const char *host = NULL;
	for (int i = 0; i < argc; i++)
		if (!strcmp(argv[i], "--dry-run"))
			dry = 1;
		else if (!strcmp(argv[i], "--parallel") && i + 1 < argc)
			par = atoi(argv[++i]);
		else if (argv[i][0] != '-' && !host)
			host = argv[i];
		else
			ctl_fail(c, "usage: tandem evacuate HOST [--dry-run] [--parallel N]");
	if (!host || par < 1 || par > 16)
		ctl_fail(c, "usage: tandem evacuate HOST [--dry-run] [--parallel N (1-16)]");

	struct dclient d;
	static struct cl_status s, plan;
	cl_open(c, &d);
	cl_status(c, &d, &s);
	struct msg_out o;
	msg_begin(&o, FC_PLAN, ++d.seq);
	msg_add_str(&o, FA_HOST, host);
	dc_call(c, &d, &o);
	uint32_t node = msg_u32(&d.in, FA_NODEID);
	cl_vms(c, &d.in, &plan);
	const struct cl_host *hh = cl_host(&s, node);
	int unplaced = 0;
	if (!c->json || dry) {
		if (!c->json)
			printf("evacuate %s: %zu VM%s\n", hh ? hh->name : host, plan.nvms,
			    plan.nvms == 1 ? "" : "s");
		if (c->json)
			printf("{\"host\":\"%s\",\"dry_run\":true,\"plan\":[", hh ? hh->name : host);
		for (size_t i = 0; i < plan.nvms; i++) {
			const struct cl_vm *v = &plan.vms[i];
			unplaced += !v->to;
			if (c->json)
				printf("%s{\"name\":\"%s\",\"mem_bytes\":%llu,\"to\":\"%s\"}", i ? "," : "",
				    v->name, (unsigned long long)v->mem, v->to ? cl_host_name(&s, v->to) : "");
			else
				printf("  %-20s %6lluM  -> %s\n", v->name, (unsigned long long)(v->mem >> 20),
				    v->to ? cl_host_name(&s, v->to) : "(no host has room)");
		}
		if (c->json)
			printf("],\"placeable\":%s}\n", unplaced ? "false" : "true");
	} else
		for (size_t i = 0; i < plan.nvms; i++)
			unplaced += !plan.vms[i].to;
	if (dry)
		return unplaced ? 1 : 0;
	if (unplaced)
		ctl_fail(c, "%d VM%s cannot be placed: nothing migrated", unplaced, unplaced > 1 ? "s" : "");
	if (s.node != node)
		ctl_fail(c, "%s is node %u, this fenced is node %u: run evacuate on %s (or point "
		    "--fenced and --migrated at its sockets)", host, node, s.node, host);

	uint64_t t0 = now_ms();
	set_mode(c, &d, host, HM_DRAINING);
	if (!c->json)
		printf("%s is draining: no VM is placed on it\n", host);
	struct dclient m = { .daemon = "migrated", .schema = &migctl_schema, .err_type = MC_ERR,
		.errmsg_attr = MA_ERRMSG, .fd = -1 };
	dc_open(c, &m, c->migrated, "TANDEM_MIGRATED", MIGRATED_DEFAULT_SOCK);
	struct job *jobs = calloc(plan.nvms ? plan.nvms : 1, sizeof(*jobs));
	if (!jobs)
		ctl_fail(c, "out of memory");
	size_t next = 0, ended = 0, running = 0, failed = 0;
	char *none[] = { NULL };
	while (ended < plan.nvms) {
		while (running < (size_t)par && next < plan.nvms) {
			struct job *j = &jobs[next++];
			j->v = &plan.vms[next - 1];
			j->to = cl_host(&s, j->v->to);
			snprintf(j->dest, sizeof(j->dest), "%s:7447", j->to->addr);
			j->t0 = now_ms();
			prot_move_begin(c, j->v->name, &j->mv);
			mig_start(c, &m, j->v->name, j->dest, 0, none);
			j->started = 1;
			running++;
		}
		struct timespec ts = { 0, 100000000 };
		nanosleep(&ts, NULL);
		for (size_t i = 0; i < next; i++)
			if (jobs[i].started && !jobs[i].done && poll_job(c, &m, &jobs[i])) {
				running--;
				ended++;
				failed += !jobs[i].ok;
			}
	}
	/* empty for real: the table gives it nothing and its hvd runs nothing */
	cl_status(c, &d, &s);
	size_t left = 0;
	for (size_t i = 0; i < s.nvms; i++)
		left += s.vms[i].owner == node;
	struct hv *h = ctl_hv(c);
	char (*names)[65] = NULL;
	int nd = 0;
	if (h->ops->domain_list(h, &names, &nd) < 0)
		ctl_fail(c, "%s", hv_error(h));
	free(names);
	h->ops->close(h);
	int empty = !failed && !left && !nd;
	if (empty)
		set_mode(c, &d, host, HM_MAINTENANCE);
	uint64_t total = now_ms() - t0;
	if (c->json) {
		printf("{\"result\":\"%s\",\"host\":\"%s\",\"mode\":\"%s\",\"total_ms\":%llu,\"vms\":[",
		    empty ? "ok" : "incomplete", host, empty ? "maintenance" : "draining",
		    (unsigned long long)total);
		for (size_t i = 0; i < plan.nvms; i++) {
			printf("%s{", i ? "," : "");
			json_kv_str(stdout, "name", jobs[i].v->name, 0);
			json_kv_str(stdout, "to", jobs[i].to->name, 1);
			json_kv_str(stdout, "result", jobs[i].ok ? "ok" : "failed", 1);
			json_kv_u64(stdout, "total_ms", jobs[i].ms, 1);
			json_kv_f(stdout, "downtime_ms", jobs[i].downtime_ms, 1);
			if (!jobs[i].ok)
				json_kv_str(stdout, "error", jobs[i].err, 1);
			printf("}");
		}
		printf("]}\n");
	} else if (empty)
		printf("%s is empty after %llu ms: mode maintenance\n", host, (unsigned long long)total);
	else
		printf("%s is not empty (%zu failed, %zu VMs in the table, %d domains): it stays "
		    "draining\n", host, failed, left, nd);
	free(jobs);
	return empty ? 0 : 1;
}
