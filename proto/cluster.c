/* cluster.c - the schema of fenced's CPG messages (cluster.h); the framing is fencing/wire.c. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cluster.h"

#define B(a) (1ULL << (a))

static const enum msg_kind kinds[MSG_ATTR_MAX] = {
	[CA_PROTO] = MK_U32, [CA_SYNCED] = MK_U32, [CA_VERSION] = MK_U64, [CA_NAME] = MK_STR,
	[CA_OWNER] = MK_U32, [CA_GEN] = MK_U64, [CA_STATE] = MK_U32, [CA_POLICY] = MK_U32,
	[CA_MEM] = MK_U64, [CA_VCPUS] = MK_U32, [CA_KERNEL] = MK_STR, [CA_CMDLINE] = MK_STR, [CA_NET] = MK_STR,
	[CA_TO] = MK_U32, [CA_NODE] = MK_U32, [CA_MODE] = MK_U32, [CA_METHOD] = MK_STR,
	[CA_OK] = MK_U32, [CA_DETAIL] = MK_STR, [CA_TIME] = MK_U64, [CA_BY] = MK_U32,
	[CA_VM] = MK_BLOB, [CA_HOST] = MK_BLOB, [CA_FENCE] = MK_BLOB, [CA_TARGET] = MK_U32,
	[CA_STATUS] = MK_U32, [CA_EPOCH] = MK_U64, [CA_BACKUP] = MK_U32,
};

static const char *const names[MSG_ATTR_MAX] = {
	[CA_PROTO] = "proto", [CA_SYNCED] = "synced", [CA_VERSION] = "version", [CA_NAME] = "name",
	[CA_OWNER] = "owner", [CA_GEN] = "generation", [CA_STATE] = "state", [CA_POLICY] = "policy",
	[CA_MEM] = "mem", [CA_VCPUS] = "vcpus", [CA_KERNEL] = "kernel", [CA_CMDLINE] = "cmdline", [CA_NET] = "net",
	[CA_TO] = "to", [CA_NODE] = "node", [CA_MODE] = "mode", [CA_METHOD] = "method",
	[CA_OK] = "ok", [CA_DETAIL] = "detail", [CA_TIME] = "time", [CA_BY] = "by", [CA_VM] = "vm",
	[CA_HOST] = "host", [CA_FENCE] = "fence", [CA_TARGET] = "target", [CA_STATUS] = "status",
	[CA_EPOCH] = "epoch", [CA_BACKUP] = "backup",
};

#define SPEC (B(CA_NAME) | B(CA_MEM) | B(CA_VCPUS) | B(CA_KERNEL) | B(CA_POLICY))
#define NG (B(CA_NAME) | B(CA_GEN))
static const struct msg_policy policies[CM_MSG_COUNT] = {
	[CM_HELLO] = { "HELLO", B(CA_PROTO) | B(CA_SYNCED) | B(CA_EPOCH) | B(CA_VERSION),
		B(CA_PROTO) | B(CA_SYNCED) | B(CA_EPOCH) | B(CA_VERSION), 0 },
	[CM_TABLE] = { "TABLE", B(CA_EPOCH) | B(CA_VERSION) | B(CA_VM) | B(CA_HOST) | B(CA_FENCE) |
		B(CA_TIME), B(CA_EPOCH) | B(CA_VERSION), B(CA_VM) | B(CA_HOST) | B(CA_FENCE) },
	[CM_CLAIM] = { "CLAIM", SPEC | B(CA_CMDLINE) | B(CA_NET), SPEC, 0 },
	[CM_MIGRATE] = { "MIGRATE", NG | B(CA_TO), NG | B(CA_TO), 0 },
	[CM_COMMIT] = { "COMMIT", NG | B(CA_TO), NG | B(CA_TO), 0 },
	[CM_MIG_ABORT] = { "MIG_ABORT", NG, NG, 0 },
	[CM_PLACE] = { "PLACE", NG | B(CA_TO), NG | B(CA_TO), 0 },
	[CM_VMSTATE] = { "VMSTATE", NG | B(CA_STATE) | B(CA_DETAIL), NG | B(CA_STATE), 0 },
	[CM_REMOVE] = { "REMOVE", NG, NG, 0 },
	[CM_MODE] = { "MODE", B(CA_NODE) | B(CA_MODE), B(CA_NODE) | B(CA_MODE), 0 },
	[CM_FENCED] = { "FENCED", B(CA_NODE) | B(CA_METHOD) | B(CA_OK) | B(CA_DETAIL) | B(CA_TIME),
		B(CA_NODE) | B(CA_METHOD) | B(CA_OK) | B(CA_TIME), 0 },
	[CM_FENCING] = { "FENCING", B(CA_NODE), B(CA_NODE), 0 },
	[CM_PROTECT] = { "PROTECT", NG | B(CA_TO), NG | B(CA_TO), 0 },
	[CM_TAKEOVER] = { "TAKEOVER", NG | B(CA_EPOCH), NG | B(CA_EPOCH), 0 },
};

const struct msg_policy cluster_vm_policy = { "table VM",
	SPEC | B(CA_CMDLINE) | B(CA_NET) | B(CA_OWNER) | B(CA_GEN) | B(CA_STATE) | B(CA_TARGET) |
	B(CA_BACKUP), SPEC | B(CA_OWNER) | B(CA_GEN) | B(CA_STATE), 0 };
const struct msg_policy cluster_host_policy = { "table host",
	B(CA_NODE) | B(CA_STATUS) | B(CA_MODE), B(CA_NODE) | B(CA_STATUS) | B(CA_MODE), 0 };
const struct msg_policy cluster_fence_policy = { "table fence record",
	B(CA_NODE) | B(CA_BY) | B(CA_METHOD) | B(CA_OK) | B(CA_DETAIL) | B(CA_TIME),
	B(CA_NODE) | B(CA_BY) | B(CA_METHOD) | B(CA_OK) | B(CA_TIME), 0 };

/* in fenced's status reply (fencectl.h FA_VM, FA_HOST) */
const struct msg_policy cluster_status_vm_policy = { "status VM",
	B(CA_NAME) | B(CA_OWNER) | B(CA_GEN) | B(CA_STATE) | B(CA_POLICY) | B(CA_MEM) | B(CA_TARGET) |
	B(CA_TO) | B(CA_BACKUP), B(CA_NAME) | B(CA_OWNER) | B(CA_GEN) | B(CA_STATE) | B(CA_POLICY) | B(CA_MEM), 0 };
const struct msg_policy cluster_status_host_policy = { "status host",
	B(CA_NODE) | B(CA_NAME) | B(CA_DETAIL) | B(CA_STATUS) | B(CA_MODE) | B(CA_MEM) | B(CA_VERSION),
	B(CA_NODE) | B(CA_NAME) | B(CA_STATUS) | B(CA_MODE) | B(CA_MEM), 0 };

const struct msg_schema cluster_schema = {
	.name = "cluster", .kinds = kinds, .attr_names = names, .policies = policies,
	.ntypes = CM_MSG_COUNT,
};

