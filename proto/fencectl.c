/* fencectl.c - the schema of the fenced control protocol. */
#include "fencectl.h"

#define B(a) (1ULL << (a))

static const enum msg_kind kinds[MSG_ATTR_MAX] = {
	[FA_ERRNO] = MK_U32, [FA_ERRMSG] = MK_STR, [FA_NODEID] = MK_U32, [FA_STATE] = MK_U32,
	[FA_QUORATE] = MK_U32, [FA_MEMBERS] = MK_STR, [FA_VIEWS] = MK_U64, [FA_SINCE_MS] = MK_U64,
	[FA_NAME] = MK_STR, [FA_MEM] = MK_U64, [FA_VCPUS] = MK_U32, [FA_KERNEL] = MK_STR,
	[FA_CMDLINE] = MK_STR, [FA_NET] = MK_STR, [FA_POLICY] = MK_U32, [FA_HOST] = MK_STR, [FA_GEN] = MK_U64,
	[FA_OWNER] = MK_U32, [FA_SYNC] = MK_STR, [FA_VERSION] = MK_U64, [FA_VM] = MK_BLOB,
	[FA_HOSTINFO] = MK_BLOB, [FA_FENCE] = MK_BLOB, [FA_WATCHDOG] = MK_STR, [FA_MODE] = MK_U32,
	[FA_METHOD] = MK_STR, [FA_DETAIL] = MK_STR, [FA_TO] = MK_U32, [FA_ALLOW] = MK_U32, [FA_BACKUP] = MK_U32, [FA_EPOCH] = MK_U64,
	[FA_EVENT] = MK_BLOB, [FA_SEQ] = MK_U64, [FA_TIME] = MK_U64, [FA_KIND] = MK_STR,
};

static const char *const names[MSG_ATTR_MAX] = {
	[FA_ERRNO] = "errno", [FA_ERRMSG] = "errmsg", [FA_NODEID] = "node", [FA_STATE] = "state",
	[FA_QUORATE] = "quorate", [FA_MEMBERS] = "members", [FA_VIEWS] = "views",
	[FA_SINCE_MS] = "since_ms", [FA_NAME] = "name", [FA_MEM] = "mem", [FA_VCPUS] = "vcpus",
	[FA_KERNEL] = "kernel", [FA_CMDLINE] = "cmdline", [FA_NET] = "net", [FA_POLICY] = "policy", [FA_HOST] = "host",
	[FA_GEN] = "generation", [FA_OWNER] = "owner", [FA_SYNC] = "sync", [FA_VERSION] = "version",
	[FA_VM] = "vm", [FA_HOSTINFO] = "hostinfo", [FA_FENCE] = "fence", [FA_WATCHDOG] = "watchdog",
	[FA_MODE] = "mode", [FA_METHOD] = "method", [FA_DETAIL] = "detail", [FA_TO] = "to", [FA_ALLOW] = "allow", [FA_BACKUP] = "backup", [FA_EPOCH] = "epoch",
	[FA_EVENT] = "event", [FA_SEQ] = "seq", [FA_TIME] = "time", [FA_KIND] = "kind",
};

static const struct msg_policy policies[FC_MSG_COUNT] = {
	[FC_OK] = { "OK", ~0ULL & ~1ULL, 0, B(FA_VM) | B(FA_HOSTINFO) | B(FA_FENCE) | B(FA_EVENT) },
	[FC_ERR] = { "ERR", B(FA_ERRNO) | B(FA_ERRMSG), B(FA_ERRNO) | B(FA_ERRMSG), 0 },
	[FC_STATUS] = { "FENCE_STATUS", 0, 0, 0 },
	[FC_HISTORY] = { "FENCE_HISTORY", 0, 0, 0 },
	[FC_VM_CREATE] = { "VM_CREATE", B(FA_NAME) | B(FA_MEM) | B(FA_VCPUS) | B(FA_KERNEL) |
		B(FA_CMDLINE) | B(FA_POLICY) | B(FA_NET), B(FA_NAME) | B(FA_MEM) | B(FA_VCPUS) | B(FA_KERNEL) |
		B(FA_POLICY), 0 },
	[FC_VM_REMOVE] = { "VM_REMOVE", B(FA_NAME), B(FA_NAME), 0 },
	[FC_MIG_BEGIN] = { "MIG_BEGIN", B(FA_NAME) | B(FA_HOST), B(FA_NAME) | B(FA_HOST), 0 },
	[FC_MIG_COMMIT] = { "MIG_COMMIT", B(FA_NAME) | B(FA_HOST) | B(FA_GEN),
		B(FA_NAME) | B(FA_HOST) | B(FA_GEN), 0 },
	[FC_MIG_RESOLVE] = { "MIG_RESOLVE", B(FA_NAME) | B(FA_MODE), B(FA_NAME), 0 },
	[FC_FENCE] = { "FENCE", B(FA_HOST), B(FA_HOST), 0 },
	[FC_MODE] = { "MODE", B(FA_HOST) | B(FA_MODE), B(FA_HOST) | B(FA_MODE), 0 },
	[FC_PLAN] = { "PLAN", B(FA_HOST), B(FA_HOST), 0 },
	[FC_FENCE_ASK] = { "FENCE_ASK", 0, 0, 0 },
	[FC_PROTECT] = { "PROTECT", B(FA_NAME) | B(FA_HOST), B(FA_NAME), 0 },
	[FC_LOST] = { "LOST", B(FA_HOST), B(FA_HOST), 0 },
	[FC_EVENTS] = { "EVENTS", B(FA_SEQ), 0, 0 },
	[FC_TAKEOVER] = { "TAKEOVER", B(FA_NAME) | B(FA_EPOCH) | B(FA_GEN), B(FA_NAME) | B(FA_EPOCH), 0 },
};

const struct msg_policy fencectl_event_policy = { "event",
	B(FA_SEQ) | B(FA_TIME) | B(FA_KIND) | B(FA_NAME) | B(FA_DETAIL),
	B(FA_SEQ) | B(FA_TIME) | B(FA_KIND) | B(FA_NAME) | B(FA_DETAIL), 0 };

const struct msg_schema fencectl_schema = {
	.name = "fenced control", .kinds = kinds, .attr_names = names, .policies = policies,
	.ntypes = FC_MSG_COUNT,
};


#define NAMED(fn, ...) \
	const char *fn(unsigned v) \
	{ \
		static const char *const n[] = { __VA_ARGS__ }; \
		return v < sizeof(n) / sizeof(n[0]) ? n[v] : "unknown"; \
	}
NAMED(mb_state_name, "unknown", "connecting", "joining", "quorate", "inquorate")
NAMED(vm_state_name, "unknown", "starting", "running", "migrating", "stopped", "failed")
NAMED(host_status_name, "down", "up", "lost", "fenced")
NAMED(host_mode_name, "active", "draining", "maintenance")
NAMED(vm_policy_name, "none", "restart")
