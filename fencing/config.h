/*
 * config.h - fenced's configuration: the cluster's hosts and how to fence
 * them.  One statement per line, '#' starts a comment:
 *
 *   host NODEID NAME ADDRESS [mem=SIZE]     every host of the cluster
 *   fence-level N AGENT [key=value ...] [hosts=NAME,...]
 *                  levels tried in order of N until one confirms; AGENT is
 *                  a program speaking the fence-agents stdin protocol; in
 *                  values %n is the host's name and %a its address
 *   fence-timeout MS                        per agent run (default 10000)
 *   storm-share PERCENT                     never fence more than this share
 *                                           of the hosts at once (default 50)
 *   self-fence MS                           inquorate this long: destroy
 *                                           local VMs (default 2000)
 *   watchdog PATH                           fed while quorate (default
 *                                           /dev/watchdog, if it exists)
 */
#ifndef FENCED_CONFIG_H
#define FENCED_CONFIG_H

#include <stddef.h>
#include <stdint.h>

#define CF_MAX_HOSTS	64
#define CF_MAX_LEVELS	8
#define CF_MAX_ARGS	16

struct cf_host {
	uint32_t node;
	char name[65], addr[64];
	uint64_t mem;			/* capacity for VMs */
};

struct cf_level {
	int n;
	char agent[256];
	char args[CF_MAX_ARGS][256];	/* key=value */
	int nargs;
	uint64_t hosts;			/* bit i: hosts[i]; 0: all */
};

struct fconf {
	struct cf_host hosts[CF_MAX_HOSTS];
	size_t nhosts;
	struct cf_level levels[CF_MAX_LEVELS];
	size_t nlevels;
	uint32_t fence_timeout_ms, storm_pct, self_fence_ms;
	char watchdog[256];
	/* direct heartbeats between the hosts' fenced (fencing/beat.c): the
	 * evidence of a fast failover; off without a key file */
	char hb_key[256];
	uint32_t hb_port, hb_interval_ms, hb_lost_ms;
};

/* 0, or -1 with "FILE:LINE: why" in err */
int conf_load(struct fconf *c, const char *path, char *err, size_t errlen);
const struct cf_host *conf_host(const struct fconf *c, uint32_t node);
/* by name, address or "address:port" */
const struct cf_host *conf_find(const struct fconf *c, const char *s);

#endif
