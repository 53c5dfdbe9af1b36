/*
 * table.h - the cluster's ownership table, the same on every synced host:
 * per VM its owner, generation, state and restart policy; per host its
 * status (up, lost, fenced) and mode (active, draining, maintenance); and
 * the fence history.  It changes only by table_apply() of CPG messages in
 * delivery order and by table_view() of CPG views, so hosts that apply the
 * same sequence hold the same table.  Pure: no I/O, no clocks.
 */
#ifndef FENCED_TABLE_H
#define FENCED_TABLE_H

#include <stddef.h>
#include <stdint.h>

#include "cluster.h"

#define T_MAX_VMS	256
#define T_MAX_HOSTS	64
#define T_HIST		64
#define T_NAME_MAX	64

struct tvm {
	char name[T_NAME_MAX + 1];
	uint32_t owner, target;		/* target: migrating to */
	uint32_t backup;		/* protected by a shadow on this host (0: not) */
	uint64_t gen;
	uint32_t state, policy, vcpus;
	uint64_t mem;
	char kernel[256], cmdline[512];
	char net[64];		/* the NIC, "BRIDGE[,mac=...]" ("" none) */
};

struct thost {
	uint32_t node, status, mode;
};

struct tfence {
	uint64_t time_ms;		/* wall clock of the host that fenced */
	uint32_t node, by, ok;
	char method[32], detail[160];
};

/* the last T_HIST fence records, oldest first: the table's and a host's own */
struct fring {
	struct tfence r[T_HIST];
	uint64_t n;			/* records ever */
};
void fring_push(struct fring *g, const struct tfence *f);
size_t fring_count(const struct fring *g);
const struct tfence *fring_get(const struct fring *g, size_t i);	/* 0 = oldest kept */

struct table {
	uint64_t epoch;			/* cold starts: a table elected with nobody synced */
	uint64_t version;		/* changes applied */
	struct tvm vm[T_MAX_VMS];
	size_t nvm;
	struct thost host[T_MAX_HOSTS];	/* the configured hosts */
	size_t nhost;
	struct fring hist;
};

/* An empty table over the configured hosts (all down). */
void table_init(struct table *t, const uint32_t *nodes, size_t n);
struct tvm *table_vm(struct table *t, const char *name);
struct thost *table_host(struct table *t, uint32_t node);
/* A CPG view: members up, up hosts that left are lost.  Returns how many
 * hosts became lost. */
int table_view(struct table *t, const uint32_t *members, size_t n);
/* One decoded message from sender; 0 applied, -1 rejected (err says why,
 * the table is unchanged).  HELLO and TABLE are not for this. */
int table_apply(struct table *t, uint32_t sender, const struct msg_in *m, char *err, size_t errlen);
/* (epoch, version) of a is newer than that of b: the cold start's order */
int table_newer(uint64_t epoch_a, uint64_t version_a, uint64_t epoch_b, uint64_t version_b);
/* CM_TABLE: the snapshot, and loading one (all or nothing) */
void table_encode(const struct table *t, struct msg_out *o);
int table_load(struct table *t, const struct msg_in *m, char *err, size_t errlen);
/* one fence record as a nested list in attribute attr (cluster_fence_policy) */
void table_fence_encode(struct msg_out *o, uint16_t attr, const struct tfence *f);
/* A VM's state in nested attributes (name, owner, generation, state,
 * policy, memory, target): the snapshot adds its spec, status the host it
 * would fail over to. */
void table_vm_attrs(struct msg_out *a, const struct tvm *v);
int table_name_ok(const char *s);
/* memory of the VMs a host runs or receives */
uint64_t table_host_load(const struct table *t, uint32_t node);

#endif
