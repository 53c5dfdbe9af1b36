/*
 * hv.h - the hypervisor interface the daemons and the CLI use.
 *
 * Shaped after the Xen domctl calls migration needs (docs/architecture.md); one
 * backend per file: hv_hvd.c talks to hvd's control socket, hv_xen.c (when
 * built) to libxenctrl.  Every call returns 0 or -1 with errno set and a
 * message in hv_error().
 */
#ifndef TANDEM_HV_H
#define TANDEM_HV_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "memmap.h"

/* a domain's life, whatever the backend */
enum hv_state {
	HV_PAUSED = 1,
	HV_RUNNING,
	HV_SHUTDOWN,
	HV_CRASHED,
	HV_MIGRATED,	/* handed over under a tag: it never runs again here unless reclaimed */
	HV_STATE_COUNT
};
const char *hv_state_name(unsigned state);

/* how log-dirty re-protects pages (bench/hv measures both) */
enum hv_log_mode {
	HV_LOG_MANUAL = 0,	/* a peek re-protects exactly the pages it reports */
	HV_LOG_LEGACY = 1,	/* a peek re-protects the whole memory */
};

/* what a backend can do beyond the calls every one has (struct hv's caps) */
enum hv_cap {
	HV_CAP_LEASE = 1 << 0,	/* a paused or incoming domain is undone if its client goes */
	HV_CAP_STAGE = 1 << 1,	/* domain_checkpoint_staged and stage_map */
	HV_CAP_NIC_HOLD = 1 << 2,	/* output commit: nic_hold, nic_release */
	HV_CAP_POST = 1 << 3,	/* hv_post and collect */
	/* an incoming domain has a name of its own until it first runs (Xen:
	 * NAME--incoming, as xl migrate to localhost): it can be built on a host
	 * where NAME runs, and is refused a run (EEXIST) while NAME does */
	HV_CAP_APART = 1 << 4,
};

/* hv_dominfo.mem_flags */
enum hv_mem_flag {
	/* the memory file has holes a reader may skip (SEEK_DATA) and a writer
	 * fills with pwritev without faulting (shmem); without it, memory is
	 * reached through the mapping only (hugetlb) */
	HV_MEM_SPARSE_FILE = 1 << 0,
};

struct hv_dominfo {
	char name[65];
	unsigned state;		/* enum hv_state */
	uint64_t mem;
	uint32_t vcpus;
	uint64_t uptime_ns;
	char console_log[512];
	uint32_t pid, tsc_khz, throttle;
	int logdirty;
	char reason[128];
	char backing[16];	/* guest memory, for people: "hugetlb" or "shmem" */
	char uuid[37];		/* the domain's UUID where the backend has one (Xen), else "" */
	unsigned mem_flags;	/* enum hv_mem_flag */
	uint64_t tag;		/* migrated: the hand-over it belongs to */
	char net[64];		/* the NIC, "BRIDGE,mac=..." ("" none), and its parts: */
	char nic_bridge[16], nic_mac[18];
	char nic_tap[16];
	struct hv_nic_stats {
		uint64_t rx_packets, rx_bytes, rx_drops, tx_packets, tx_bytes, tx_drops;
		uint64_t carried, announces, idle_flushes, reflected;
	} nic;
	struct hv_nic_hold {	/* output commit; all 0 while not holding */
		uint64_t on, frames, bytes, released, stalls, marked, acked;
	} hold;
};

struct hv;

struct hv_saved;
struct hv_ops {
	const char *name;	/* "hvd", "xen": the origin a stream's DOMAIN_HEADER names */
	const char *guest;	/* the kind of guest whose state it saves and restores */
	void (*close)(struct hv *);
	/* net: the NIC, "BRIDGE[,mac=XX:XX:XX:XX:XX:XX]", or NULL for none */
	int (*domain_create)(struct hv *, const char *name, uint64_t mem, uint32_t vcpus,
	    const char *kernel, const char *cmdline, const char *net);
	/* an empty, paused domain to restore into; map (NULL or empty: RAM in
	 * one block of mem bytes) places its pages where the source's were
	 * (hv_memmap), on a backend that has the call */
	int (*domain_create_incoming)(struct hv *, const char *name, uint64_t mem,
	    uint32_t vcpus, const char *net, const struct memmap *map);
	/* incoming, destroyed by the hypervisor if this connection closes before
	 * domain_keep or an unpause */
	int (*domain_create_incoming_leased)(struct hv *, const char *name, uint64_t mem,
	    uint32_t vcpus, const char *net, const struct memmap *map);
	int (*domain_keep)(struct hv *, const char *name);
	/* *names: malloc'd array of *n names; free() it */
	int (*domain_list)(struct hv *, char (**names)[65], int *n);
	int (*domain_info)(struct hv *, const char *name, struct hv_dominfo *);
	int (*domain_pause)(struct hv *, const char *name);
	/*
	 * paused -> migrated under a tag (the migration id): the source copy can
	 * never run again, lease or no lease, until reclaim with the same tag
	 * makes it paused again (the commit did not happen); release with the
	 * tag destroys it (the destination runs it).  Another tag changes
	 * nothing (ESTALE), so a stale record can never touch a later domain
	 * of the same name.
	 */
	int (*domain_handover)(struct hv *, const char *name, uint64_t tag);
	int (*domain_reclaim)(struct hv *, const char *name, uint64_t tag);
	/* late (may be NULL): the frames for the VM that reached its NIC after its
	 * state was saved, a malloc'd frame list (docs/devices.md) for the
	 * destination's nic_inject; *late_len 0 when there were none */
	int (*domain_release)(struct hv *, const char *name, uint64_t tag, uint8_t **late,
	    size_t *late_len);
	int (*domain_unpause)(struct hv *, const char *name);
	int (*domain_destroy)(struct hv *, const char *name);
	/* maps all guest memory shared, its present pages one after another in
	 * the order of memmap's extents; munmap(*p, *size) when done.  With fd
	 * set, *fd is the memory file too (the caller closes it); with p NULL
	 * it is only the file. */
	int (*mem_map)(struct hv *, const char *name, uint8_t **p, uint64_t *size, int *fd);
	/* where the guest's pages are (memmap.h), as mem_map lays them out; NULL
	 * on a backend whose guests' RAM is one block it places itself (hvd) */
	int (*memmap)(struct hv *, const char *name, struct memmap *map);
	/* enable maps the shared dirty bitmap (one bit per 4 KiB page); mode
	 * is an enum hv_log_mode */
	int (*logdirty)(struct hv *, const char *name, int enable, int mode,
	    uint64_t **bitmap, size_t *len);
	int (*dirty_peek_clean)(struct hv *, const char *name, uint64_t *count);
	/* *blob is malloc'd */
	int (*vcpu_get)(struct hv *, const char *name, uint8_t **blob, size_t *len);
	int (*vcpu_set)(struct hv *, const char *name, const uint8_t *blob, size_t len);
	int (*dev_get)(struct hv *, const char *name, uint8_t **blob, size_t *len);
	int (*dev_set)(struct hv *, const char *name, const uint8_t *blob, size_t len);
	/*
	 * A pause under a lease (hvd undoes it, with log-dirty and throttle, if
	 * this connection closes before an unpause or a hand-over) that in the same call
	 * peeks-and-cleans the dirty log and takes the vCPU and device state:
	 * what a stop-and-copy or a checkpoint needs, in one round trip.
	 * Failed, the domain may be paused (still under the lease).
	 */
	int (*domain_suspend)(struct hv *, const char *name, struct hv_saved *);
	/* the same for a checkpoint of a protected VM: the pause also closes
	 * epoch's held output (nic_hold) */
	int (*domain_checkpoint)(struct hv *, const char *name, uint64_t epoch, struct hv_saved *);
	/* The whole pause of an epoch in one call: as domain_checkpoint (epoch
	 * 0: no output to close), then the dirty pages are copied into the
	 * stage (stage_map: the k-th page of the bitmap at page k) and the
	 * domain runs again before this returns.  st->paused_ns is how long
	 * the guest stood. */
	int (*domain_checkpoint_staged)(struct hv *, const char *name, uint64_t epoch,
	    struct hv_saved *);
	/* the stage, mapped (*size bytes, guest memory's size); log-dirty on */
	int (*stage_map)(struct hv *, const char *name, uint8_t **p, uint64_t *size);
	/* vCPU and device state loaded in one call, as vcpu_set then dev_set */
	int (*state_set)(struct hv *, const char *name, const uint8_t *vcpu, size_t vcpu_len,
	    const uint8_t *dev, size_t dev_len);
	/* the answer to a call posted with hv_post (HV_CAP_POST) */
	int (*collect)(struct hv *);
	int (*throttle)(struct hv *, const char *name, unsigned pct);
	/* a frame list from domain_release, delivered to the running VM's NIC */
	int (*nic_inject)(struct hv *, const char *name, const uint8_t *frames, size_t len);
	/* output commit: on, every frame the VM sends waits (at most cap bytes,
	 * 0 the default) for nic_release of its epoch; off sends what waits */
	int (*nic_hold)(struct hv *, const char *name, int on, uint64_t cap);
	/* the frames of every epoch up to epoch go out */
	int (*nic_release)(struct hv *, const char *name, uint64_t epoch);
	/* returns a stream fd: guest console output in, keystrokes out */
	int (*console_attach)(struct hv *, const char *name);
};

/* what domain_suspend took; hv_saved_free frees the state */
struct hv_saved {
	uint64_t dirty;		/* pages the final peek-and-clean found (the bitmap has them) */
	uint8_t *vcpu, *dev;	/* malloc'd */
	size_t vcpu_len, dev_len;
	uint64_t pause_ns, peek_ns, state_ns;	/* where the call's time went inside the hypervisor */
	uint64_t copy_ns, paused_ns;	/* staged: copying into the stage; the guest's whole pause */
};
void hv_saved_free(struct hv_saved *);

struct hv {
	const struct hv_ops *ops;
	char err[400];
	uint64_t elapsed_ns;	/* time the last call took inside the hypervisor */
	/* a call not answered within this many ms fails with ETIMEDOUT and
	 * the connection is dropped (later calls fail at once: reopen); 0 waits
	 * forever.  hv_open sets HV_TIMEOUT_MS. */
	int timeout_ms;
	unsigned caps;		/* enum hv_cap, set by the backend */
	int post;		/* hv_post: the next call is posted */
	int posted;		/* a posted call's answer is still to be read */
};
#define HV_TIMEOUT_MS 30000
#define HV_DEFAULT_URI "hvd:/run/tandem/hvd.sock"

/*
 * Opens the backend a URI names: "hvd:PATH" (hvd's control socket),
 * "hvd:" or NULL (hvd at its default socket), "xen:" (this host's Xen), or
 * a bare PATH (an hvd socket).  "xen:TAG" is one daemon's share of a Xen
 * host that several use as if each were a host of its own (a test's two
 * migrated daemons on one Xen): the domains it builds are its own, found
 * and taken back after its death only by a handle of the same TAG.  An
 * unknown scheme, or a backend this build lacks, fails with the reason.
 */
struct hv *hv_open(const char *uri, char *err, size_t errlen);
/* a domain's memory map through the backend's memmap call; empty where it has none */
int hv_memmap(struct hv *h, const char *name, struct memmap *map);
/* whether hv_open could open uri's backend here (without reaching it) */
int hv_uri_check(const char *uri, char *err, size_t errlen);
/* the backends' own openers (hv.c calls them): path NULL is the default */
struct hv *hv_hvd_open(const char *path, char *err, size_t errlen);
/* hv_xenmod.c: the Xen backend, loaded from its module (hv_xen.so) */
#define XEN_TAG_MAX 16
/* whether TAG (NULL or "": none) may follow xen: (inline: the config
 * parser checks it too, linked without the backends) */
static inline int hv_xen_tag_valid(const char *tag)
{
	size_t n = tag ? strlen(tag) : 0;
	return n <= XEN_TAG_MAX && (!n || strspn(tag, "abcdefghijklmnopqrstuvwxyz"
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-") == n);
}
struct hv *hv_xen_open(const char *tag, char *err, size_t errlen);
int hv_xen_available(char *err, size_t errlen);	/* 0, or -1 with why */
/* hv_xen.c: the module's entry */
struct hv *hv_xen_module_open(const char *tag, char *err, size_t errlen);
static inline const char *hv_error(const struct hv *h) { return h->err; }
/*
 * Posting: hv_post(h) before a call whose answer says only whether it
 * worked makes that call return once its request is sent, where the backend
 * can (HV_CAP_POST), so the caller works while the hypervisor does (a
 * migration's destination writes the last pages while its state loads);
 * hv_collect(h) then waits for the answer.  A later call collects (and
 * drops) an answer still pending first.  Elsewhere the call runs whole and
 * hv_collect returns 0.
 */
static inline void hv_post(struct hv *h) { h->post = 1; }
int hv_collect(struct hv *h);

#endif
