/*
 * config.h - tandem.conf, the one configuration every Tandem daemon and the
 * CLI read (default /etc/tandem/tandem.conf; tandem.conf(5) documents it).
 * One statement per line, '#' starts a comment.  The cluster part is the
 * same on every host:
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
 *   heartbeat KEYFILE [port=N] [interval=MS] [lost=MS]
 *
 * and this host's part:
 *
 *   hypervisor URI                          hvd:SOCKET or xen:
 *   tls cert=FILE key=FILE ca=FILE [crl=FILE] | tls insecure
 *   control-cpu CPU|none|auto
 *   hvd [socket=PATH] [state=DIR] [backing=auto|hugetlb|shmem] [metrics=ADDR:PORT]
 *   migrated [socket=PATH] [listen=[ADDR]:PORT] [state=DIR] [metrics=ADDR:PORT]
 *   remusd [socket=PATH] [listen=[ADDR]:PORT] [state=DIR] [epoch=MS] [metrics=ADDR:PORT]
 *   fenced [socket=PATH] [state=DIR] [metrics=ADDR:PORT]
 *
 * An empty string in the struct means "not set": the daemon's default, or
 * its command line, decides.  A daemon's command line wins over the file.
 */
#ifndef TANDEM_CONFIG_H
#define TANDEM_CONFIG_H

#include <stddef.h>
#include <stdint.h>

#define CONF_DEFAULT_PATH	"/etc/tandem/tandem.conf"
#define CF_MAX_HOSTS	64
#define CF_MAX_LEVELS	8
#define CF_MAX_ARGS	16
#define CF_PATH_MAX	256

struct cf_host {
	uint32_t node;
	char name[65], addr[64];
	uint64_t mem;			/* capacity for VMs */
};

struct cf_level {
	int n;
	char agent[CF_PATH_MAX];
	char args[CF_MAX_ARGS][CF_PATH_MAX];	/* key=value */
	int nargs;
	uint64_t hosts;			/* bit i: hosts[i]; 0: all */
};

/* one daemon's own statement */
struct cf_daemon {
	char socket[CF_PATH_MAX], state[CF_PATH_MAX], listen[128];
	char metrics[128];		/* ADDR:PORT of its OpenMetrics endpoint */
};

struct fconf {
	char path[CF_PATH_MAX];		/* the file it came from ("" when none) */
	struct cf_host hosts[CF_MAX_HOSTS];
	size_t nhosts;
	struct cf_level levels[CF_MAX_LEVELS];
	size_t nlevels;
	uint32_t fence_timeout_ms, storm_pct, self_fence_ms;
	char watchdog[CF_PATH_MAX];
	/* direct heartbeats between the hosts' fenced (fencing/beat.c): the
	 * evidence of a fast failover; off without a key file */
	char hb_key[CF_PATH_MAX];
	uint32_t hb_port, hb_interval_ms, hb_lost_ms;
	/* this host */
	char hypervisor[CF_PATH_MAX];
	char control_cpu[32];
	struct { char cert[CF_PATH_MAX], key[CF_PATH_MAX], ca[CF_PATH_MAX], crl[CF_PATH_MAX];
		int insecure; } tls;
	char backing[16];		/* hvd's guest memory */
	uint32_t epoch_ms;		/* remusd's default epoch (0: not set) */
	struct cf_daemon hvd, migrated, remusd, fenced;
};

/* The groups of statements a reload compares (conf_changed). */
enum {
	CFG_HOSTS = 1 << 0, CFG_LEVELS = 1 << 1, CFG_TIMERS = 1 << 2, CFG_WATCHDOG = 1 << 3,
	CFG_HEARTBEAT = 1 << 4, CFG_HYPERVISOR = 1 << 5, CFG_TLS = 1 << 6, CFG_CPU = 1 << 7,
	CFG_HVD = 1 << 8, CFG_MIGRATED = 1 << 9, CFG_REMUSD = 1 << 10, CFG_FENCED = 1 << 11,
};

/* The i-th statement the grammar knows, or NULL past the last (the man
 * page's test checks each is documented). */
const char *conf_keyword(size_t i);

/* Defaults for everything, no file.  */
void conf_defaults(struct fconf *c);
/* 0, or -1 with "FILE:LINE: why" in err; c is written only on success */
int conf_load(struct fconf *c, const char *path, char *err, size_t errlen);
/* The daemons' and the CLI's way in: path given (it must load), else
 * $TANDEM_CONF, else the default file if it exists, else defaults alone;
 * "none" is defaults alone.  1 loaded, 0 defaults only, -1 err. */
int conf_load_default(struct fconf *c, const char *path, char *err, size_t errlen);
/* which CFG_ groups differ; conf_group_names writes "hosts, tls" */
unsigned conf_changed(const struct fconf *a, const struct fconf *b);
void conf_group_names(unsigned groups, char *buf, size_t len);

/* The hypervisor's URI the file gives (hypervisor, or hvd socket=), else
 * NULL; hvd's own socket likewise. */
const char *conf_hv_uri(const struct fconf *c, char *buf, size_t len);
const char *conf_hvd_socket(const struct fconf *c);
/* fenced's socket, when the file makes this a Tandem cluster (fence levels
 * or a fenced statement): dflt unless fenced socket= names one; else NULL
 * (hosts alone only name the peers, as in a Pacemaker cluster) */
const char *conf_fenced_socket(const struct fconf *c, const char *dflt);
/* The peers' TLS: the command line's when it named any, else the file's
 * tls statement (crl from the file when the command line gave none). */
struct cf_tls_use {
	const char *cert, *key, *ca, *crl;
	int insecure;
};
void conf_tls(const struct fconf *c, struct cf_tls_use *t);
/* A daemon's setting: its command line, else the file's (when not ""), else
 * its default. */
const char *conf_or(const char *flag, const char *file, const char *dflt);

const struct cf_host *conf_host(const struct fconf *c, uint32_t node);
/* by name, address or "address:port" */
const struct cf_host *conf_find(const struct fconf *c, const char *s);

#endif
