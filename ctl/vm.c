/*
 * vm.c - `tandem vm ...`: create, list, info, pause, unpause, destroy and
 * console, over the hv interface.  Human output is a table or key lines;
 * --json prints one object (or an array for list).
 */
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "ctl.h"
#include "fencectl.h"

#ifndef GUEST_PATH
#define GUEST_PATH "/usr/local/libexec/tandem/guest.elf"
#endif

static const char *opt(int argc, char **argv, const char *name, const char *def)
{
	for (int i = 0; i + 1 < argc; i++)
		if (!strcmp(argv[i], name))
			return argv[i + 1];
	return def;
}

static int flag(int argc, char **argv, const char *name)
{
	for (int i = 0; i < argc; i++)
		if (!strcmp(argv[i], name))
			return 1;
	return 0;
}

static int cmp_name(const void *a, const void *b)
{
	return strcmp(a, b);
}

/* map: where its pages are (vm info only: on Xen it asks the hypervisor) */
static void info_json(const struct hv_dominfo *d, const struct memmap *map, int comma)
{
	printf("%s{", comma ? "," : "");
	json_kv_str(stdout, "name", d->name, 0);
	json_kv_str(stdout, "state", hv_state_name(d->state), 1);
	json_kv_u64(stdout, "mem_bytes", d->mem, 1);
	json_kv_str(stdout, "backing", d->backing, 1);
	if (d->uuid[0])
		json_kv_str(stdout, "uuid", d->uuid, 1);
	json_kv_u64(stdout, "vcpus", d->vcpus, 1);
	json_kv_f(stdout, "uptime_s", (double)d->uptime_ns / 1e9, 1);
	json_kv_u64(stdout, "pid", d->pid, 1);
	json_kv_u64(stdout, "tsc_khz", d->tsc_khz, 1);
	json_kv_u64(stdout, "throttle_pct", d->throttle, 1);
	json_kv_u64(stdout, "logdirty", (uint64_t)d->logdirty, 1);
	json_kv_str(stdout, "console_log", d->console_log, 1);
	if (d->reason[0])
		json_kv_str(stdout, "reason", d->reason, 1);
	if (d->state == HV_MIGRATED) {
		char tag[17];
		snprintf(tag, sizeof(tag), "%016llx", (unsigned long long)d->tag);
		json_kv_str(stdout, "handed_over_by", tag, 1);
	}
	if (d->net[0]) {
		printf(",\"nic\":{");
		json_kv_str(stdout, "spec", d->net, 0);
		json_kv_str(stdout, "mac", d->nic_mac, 1);
		json_kv_str(stdout, "tap", d->nic_tap, 1);
		json_kv_str(stdout, "bridge", d->nic_bridge, 1);
		json_kv_u64(stdout, "rx_packets", d->nic.rx_packets, 1);
		json_kv_u64(stdout, "rx_bytes", d->nic.rx_bytes, 1);
		json_kv_u64(stdout, "rx_drops", d->nic.rx_drops, 1);
		json_kv_u64(stdout, "tx_packets", d->nic.tx_packets, 1);
		json_kv_u64(stdout, "tx_bytes", d->nic.tx_bytes, 1);
		json_kv_u64(stdout, "tx_drops", d->nic.tx_drops, 1);
		json_kv_u64(stdout, "carried", d->nic.carried, 1);
		json_kv_u64(stdout, "announces", d->nic.announces, 1);
		if (d->hold.on) {
			printf(",\"output_commit\":{");
			json_kv_u64(stdout, "held_frames", d->hold.frames, 0);
			json_kv_u64(stdout, "held_bytes", d->hold.bytes, 1);
			json_kv_u64(stdout, "released", d->hold.released, 1);
			json_kv_u64(stdout, "stalls", d->hold.stalls, 1);
			json_kv_u64(stdout, "epoch_closed", d->hold.marked, 1);
			json_kv_u64(stdout, "epoch_released", d->hold.acked, 1);
			printf("}");
		}
		printf("}");
	}
	for (uint32_t i = 0; map && i < map->n; i++) {
		printf("%s{", i ? "," : ",\"memory_map\":[");
		json_kv_u64(stdout, "pfn", map->e[i].pfn, 0);
		json_kv_u64(stdout, "pages", map->e[i].pages, 1);
		printf("}%s", i + 1 == map->n ? "]" : "");
	}
	printf("}");
}

static int vm_list(struct ctl *c, struct hv *h)
{
	char (*names)[65];
	int n;

	if (h->ops->domain_list(h, &names, &n) < 0)
		ctl_fail(c, "%s", hv_error(h));
	qsort(names, (size_t)n, sizeof(names[0]), cmp_name);	/* stable across hvd restarts */
	if (c->json)
		printf("[");
	else
		printf("%-20s %-9s %8s %5s %10s %8s\n", "NAME", "STATE", "MEM", "VCPUS", "UPTIME",
		    "PID");
	int shown = 0;
	for (int i = 0; i < n; i++) {
		struct hv_dominfo d;
		if (h->ops->domain_info(h, names[i], &d) < 0)
			continue;	/* destroyed meanwhile */
		if (c->json)
			info_json(&d, NULL, shown);
		else
			printf("%-20s %-9s %7lluM %5u %9.1fs %8u\n", d.name,
			    hv_state_name(d.state), (unsigned long long)(d.mem >> 20), d.vcpus,
			    (double)d.uptime_ns / 1e9, d.pid);
		shown++;
	}
	if (c->json)
		printf("]\n");
	free(names);
	return 0;
}

static int vm_info(struct ctl *c, struct hv *h, const char *name)
{
	struct hv_dominfo d;
	struct memmap map;

	if (h->ops->domain_info(h, name, &d) < 0)
		ctl_fail(c, "%s", hv_error(h));
	if (hv_memmap(h, name, &map) < 0)	/* (a PV guest on Xen has none Tandem reads) */
		map.n = 0;
	if (c->json) {
		info_json(&d, &map, 0);
		printf("\n");
		return 0;
	}
	printf("name:        %s\nstate:       %s\nmemory:      %llu MiB of %s\nvcpus:       %u\n"
	    "uptime:      %.1f s\npid:         %u\ntsc:         %u kHz\nthrottle:    %u%%\n"
	    "log-dirty:   %s\nconsole log: %s\n", d.name, hv_state_name(d.state),
	    (unsigned long long)(d.mem >> 20), d.backing, d.vcpus, (double)d.uptime_ns / 1e9,
	    d.pid, d.tsc_khz, d.throttle, d.logdirty ? "on" : "off", d.console_log);
	if (d.reason[0])
		printf("reason:      %s\n", d.reason);
	if (d.uuid[0])
		printf("uuid:        %s\n", d.uuid);
	for (uint32_t i = 0; i < map.n; i++) {	/* where RAM and the rest are */
		uint64_t kib = map.e[i].pages * 4;
		printf("%s%llu %s at pfn 0x%llx (%.1f MiB)\n", i ? "             " : "memory map:  ",
		    (unsigned long long)(kib % 1024 ? kib : kib >> 10), kib % 1024 ? "KiB" : "MiB",
		    (unsigned long long)map.e[i].pfn, (double)map.e[i].pfn / 256);
	}
	if (d.state == HV_MIGRATED)
		printf("handed over: migration %016llx (never runs here again)\n",
		    (unsigned long long)d.tag);
	if (d.net[0]) {
		printf("nic:         mac %s, tap %s, bridge %s\n"
		    "  rx:        %llu packets, %llu bytes, %llu dropped\n"
		    "  tx:        %llu packets, %llu bytes, %llu dropped\n"
		    "  moved:     %llu frames carried with the state, %llu announcements\n",
		    d.nic_mac, d.nic_tap, d.nic_bridge,
		    (unsigned long long)d.nic.rx_packets, (unsigned long long)d.nic.rx_bytes,
		    (unsigned long long)d.nic.rx_drops, (unsigned long long)d.nic.tx_packets,
		    (unsigned long long)d.nic.tx_bytes, (unsigned long long)d.nic.tx_drops,
		    (unsigned long long)d.nic.carried, (unsigned long long)d.nic.announces);
		if (d.hold.on)
			printf("  held:      %llu frames, %llu bytes until the backup has their epoch "
			    "(closed %llu, released %llu); %llu released, %llu stalls\n",
			    (unsigned long long)d.hold.frames, (unsigned long long)d.hold.bytes,
			    (unsigned long long)d.hold.marked, (unsigned long long)d.hold.acked,
			    (unsigned long long)d.hold.released, (unsigned long long)d.hold.stalls);
	}
	return 0;
}

/* In a cluster: claimed in the ownership table, then started here by fenced. */
static int cluster_create(struct ctl *c, struct hv *h, const char *name, uint64_t mem,
    uint32_t vcpus, const char *kernel, const char *cmdline, const char *net, const char *policy)
{
	struct dclient d;
	struct msg_out o;
	uint32_t pol = !strcmp(policy, "restart") ? VP_RESTART : !strcmp(policy, "none") ? VP_NONE : 99;
	if (pol == 99)
		ctl_fail(c, "bad --policy '%s' (restart or none)", policy);
	cl_open(c, &d);
	msg_begin(&o, FC_VM_CREATE, ++d.seq);
	msg_add_str(&o, FA_NAME, name);
	msg_add_u64(&o, FA_MEM, mem);
	msg_add_u32(&o, FA_VCPUS, vcpus);
	msg_add_str(&o, FA_KERNEL, kernel);
	if (cmdline[0])
		msg_add_str(&o, FA_CMDLINE, cmdline);
	if (net)
		msg_add_str(&o, FA_NET, net);
	msg_add_u32(&o, FA_POLICY, pol);
	dc_call(c, &d, &o);
	if (c->json)
		return vm_info(c, h, name);
	printf("created %s (%llu MiB, %u vCPU%s) on node %u: generation %llu, policy %s\n", name,
	    (unsigned long long)(mem >> 20), vcpus, vcpus > 1 ? "s" : "", msg_u32(&d.in, FA_OWNER),
	    (unsigned long long)msg_u64(&d.in, FA_GEN), vm_policy_name(pol));
	return 0;
}

/* In a cluster a VM of the table is removed from it (by its owner). */
static int cluster_destroy(struct ctl *c, const char *name)
{
	struct dclient d;
	struct msg_out o;
	static struct cl_status s;
	cl_open(c, &d);
	cl_status(c, &d, &s);
	for (size_t i = 0; i < s.nvms; i++)
		if (!strcmp(s.vms[i].name, name)) {
			msg_begin(&o, FC_VM_REMOVE, ++d.seq);
			msg_add_str(&o, FA_NAME, name);
			dc_call(c, &d, &o);
			if (c->json)
				printf("{\"result\":\"ok\",\"action\":\"destroy\",\"name\":\"%s\","
				    "\"table\":\"removed\"}\n", name);
			else
				printf("%s: destroyed and removed from the cluster table\n", name);
			return 1;
		}
	return 0;	/* not in the table: a plain hvd domain */
}

static int vm_create(struct ctl *c, struct hv *h, const char *name, int argc, char **argv)
{
	uint64_t mem;
	const char *ms = opt(argc, argv, "--mem", "256M");
	const char *vs = opt(argc, argv, "--vcpus", "1");
	char *end;
	long vcpus = strtol(vs, &end, 10);
	int incoming = flag(argc, argv, "--incoming");
	const char *net = opt(argc, argv, "--net", NULL);

	if (parse_size(ms, &mem) < 0)
		ctl_fail(c, "bad --mem '%s': use e.g. 256M or 1G", ms);
	if (*end || vcpus < 1 || vcpus > 4096)
		ctl_fail(c, "bad --vcpus '%s'", vs);
	int r;
	if (incoming)
		r = h->ops->domain_create_incoming(h, name, mem, (uint32_t)vcpus, net, NULL);
	else {
		const char *k = opt(argc, argv, "--kernel", getenv("TANDEM_GUEST"));
		char kernel[PATH_MAX];
		if (!k)
			k = GUEST_PATH;
		if (!realpath(k, kernel))
			ctl_fail(c, "kernel %s: %s", k, strerror(errno));
		if (cl_fenced_configured(c))
			return cluster_create(c, h, name, mem, (uint32_t)vcpus, kernel,
			    opt(argc, argv, "--cmdline", ""), net, opt(argc, argv, "--policy", "restart"));
		r = h->ops->domain_create(h, name, mem, (uint32_t)vcpus, kernel,
		    opt(argc, argv, "--cmdline", ""), net);
	}
	if (r < 0)
		ctl_fail(c, "create %s: %s", name, hv_error(h));
	if (c->json)
		return vm_info(c, h, name);
	printf("created %s (%llu MiB, %ld vCPU%s%s)\n", name, (unsigned long long)(mem >> 20),
	    vcpus, vcpus > 1 ? "s" : "", incoming ? ", incoming, paused" : "");
	return 0;
}

/* Relays the console: stdin -> guest, guest -> stdout. */
static int vm_console(struct ctl *c, struct hv *h, const char *name, int argc, char **argv)
{
	const char *send = opt(argc, argv, "--send", NULL);
	const char *ws = opt(argc, argv, "--wait", NULL);
	long wait_ms = ws ? atol(ws) : -1;
	int fd = h->ops->console_attach(h, name);

	if (fd < 0)
		ctl_fail(c, "console %s: %s", name, hv_error(h));
	if (send && write(fd, send, strlen(send)) < 0)
		ctl_fail(c, "console %s: %s", name, strerror(errno));
	if (send && wait_ms < 0)
		wait_ms = 0;
	if (!send && wait_ms < 0 && isatty(1))
		fprintf(stderr, "[attached to %s; Ctrl-] detaches]\n", name);
	struct timespec t0;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	int in_open = !send;
	for (;;) {
		struct pollfd p[2] = { { fd, POLLIN, 0 }, { 0, POLLIN, 0 } };
		int timeout = -1;
		if (wait_ms >= 0) {
			struct timespec t;
			clock_gettime(CLOCK_MONOTONIC, &t);
			long el = (t.tv_sec - t0.tv_sec) * 1000 + (t.tv_nsec - t0.tv_nsec) / 1000000;
			if (el >= wait_ms)
				break;
			timeout = (int)(wait_ms - el);
		}
		if (poll(p, in_open ? 2 : 1, timeout) < 0)
			break;
		if (p[0].revents) {
			char buf[4096];
			ssize_t n = read(fd, buf, sizeof(buf));
			if (n <= 0)
				break;
			fwrite(buf, 1, (size_t)n, stdout);
			fflush(stdout);
		}
		if (in_open && p[1].revents) {
			char buf[256];
			ssize_t n = read(0, buf, sizeof(buf));
			if (n <= 0) {
				in_open = 0;
				if (wait_ms < 0)
					break;
				continue;
			}
			if (memchr(buf, 0x1d, (size_t)n))
				break;
			if (write(fd, buf, (size_t)n) < 0)
				break;
		}
	}
	close(fd);
	return 0;
}

int cmd_vm(struct ctl *c, int argc, char **argv)
{
	if (argc < 1)
		ctl_fail(c, "vm: missing subcommand (create, list, info, pause, unpause, destroy, console)");
	const char *sub = argv[0];
	struct hv *h = ctl_hv(c);
	int r = 0;

	if (!strcmp(sub, "list")) {
		r = vm_list(c, h);
		h->ops->close(h);
		return r;
	}
	if (argc < 2 || argv[1][0] == '-')
		ctl_fail(c, "vm %s: missing domain name", sub);
	const char *name = argv[1];
	if (!strcmp(sub, "create"))
		r = vm_create(c, h, name, argc - 2, argv + 2);
	else if (!strcmp(sub, "info"))
		r = vm_info(c, h, name);
	else if (!strcmp(sub, "console"))
		r = vm_console(c, h, name, argc - 2, argv + 2);
	else if (!strcmp(sub, "throttle")) {
		char *end;
		long pct = argc > 2 ? strtol(argv[2], &end, 10) : -1;
		if (argc < 3 || *end || pct < 0 || pct > 99)
			ctl_fail(c, "vm throttle NAME PERCENT: percent of time to stun the vCPUs, 0-99");
		if (h->ops->throttle(h, name, (unsigned)pct) < 0)
			ctl_fail(c, "throttle %s: %s", name, hv_error(h));
		if (c->json) {
			printf("{\"result\":\"ok\",");
			json_kv_str(stdout, "name", name, 0);
			json_kv_u64(stdout, "throttle_pct", (uint64_t)pct, 1);
			printf("}\n");
		} else
			printf("%s: throttled to %ld%%\n", name, pct);
	}
	else if (!strcmp(sub, "destroy") && cl_fenced_configured(c) && cluster_destroy(c, name))
		;
	else {
		int (*fn)(struct hv *, const char *) =
		    !strcmp(sub, "pause") ? h->ops->domain_pause :
		    !strcmp(sub, "unpause") ? h->ops->domain_unpause :
		    !strcmp(sub, "destroy") ? h->ops->domain_destroy : NULL;
		if (!fn)
			ctl_fail(c, "vm: unknown subcommand '%s'", sub);
		if (fn(h, name) < 0)
			ctl_fail(c, "%s %s: %s", sub, name, hv_error(h));
		if (c->json) {
			printf("{\"result\":\"ok\",");
			json_kv_str(stdout, "action", sub, 0);
			json_kv_str(stdout, "name", name, 1);
			json_kv_f(stdout, "hv_ms", (double)h->elapsed_ns / 1e6, 1);
			printf("}\n");
		} else
			printf("%s: %s\n", name, !strcmp(sub, "destroy") ? "destroyed" :
			    !strcmp(sub, "pause") ? "paused" : "running");
	}
	h->ops->close(h);
	return r;
}
