/*
 * hvctl.c - the schema of the hvd control protocol: attribute kinds and, per
 * message type, which attributes it may and must carry.
 */
#include "hvctl.h"

#define B(a) (1ULL << (a))

static const enum msg_kind kinds[MSG_ATTR_MAX] = {
	[HA_NAME] = MK_STR, [HA_KERNEL] = MK_STR, [HA_CMDLINE] = MK_STR, [HA_MEM] = MK_U64,
	[HA_VCPUS] = MK_U32, [HA_STATE] = MK_U32, [HA_UPTIME_NS] = MK_U64, [HA_ERRNO] = MK_U32,
	[HA_ERRMSG] = MK_STR, [HA_BLOB] = MK_BLOB, [HA_COUNT] = MK_U64, [HA_ENABLE] = MK_U32,
	[HA_SHARE] = MK_U32, [HA_CONSOLE_LOG] = MK_STR, [HA_VERSION] = MK_STR,
	[HA_DIRTY_MODE] = MK_U32, [HA_PID] = MK_U32, [HA_REASON] = MK_STR,
	[HA_ELAPSED_NS] = MK_U64, [HA_TSC_KHZ] = MK_U32, [HA_LEASE] = MK_U32,
	[HA_BACKING] = MK_STR, [HA_TAG] = MK_U64, [HA_NET] = MK_STR, [HA_NIC_TAP] = MK_STR,
	[HA_NIC_STATS] = MK_BLOB, [HA_SAVE] = MK_U32, [HA_DEV_BLOB] = MK_BLOB, [HA_PHASES] = MK_BLOB,
	[HA_EPOCH] = MK_U64, [HA_NIC_HOLD] = MK_BLOB,
};

static const char *const names[MSG_ATTR_MAX] = {
	[HA_NAME] = "name", [HA_KERNEL] = "kernel", [HA_CMDLINE] = "cmdline", [HA_MEM] = "mem",
	[HA_VCPUS] = "vcpus", [HA_STATE] = "state", [HA_UPTIME_NS] = "uptime_ns",
	[HA_ERRNO] = "errno", [HA_ERRMSG] = "errmsg", [HA_BLOB] = "blob", [HA_COUNT] = "count",
	[HA_ENABLE] = "enable", [HA_SHARE] = "share", [HA_CONSOLE_LOG] = "console_log",
	[HA_VERSION] = "version", [HA_DIRTY_MODE] = "dirty_mode", [HA_PID] = "pid",
	[HA_REASON] = "reason", [HA_ELAPSED_NS] = "elapsed_ns", [HA_TSC_KHZ] = "tsc_khz",
	[HA_LEASE] = "lease", [HA_BACKING] = "backing", [HA_TAG] = "tag", [HA_NET] = "net",
	[HA_NIC_TAP] = "nic_tap", [HA_NIC_STATS] = "nic_stats", [HA_SAVE] = "save",
	[HA_DEV_BLOB] = "dev_blob", [HA_PHASES] = "phases", [HA_EPOCH] = "epoch",
	[HA_NIC_HOLD] = "nic_hold",
};

#define N B(HA_NAME)
static const struct msg_policy policies[HV_MSG_COUNT] = {
	[HV_HELLO] = { "HELLO", B(HA_VERSION), 0, 0 },
	[HV_OK] = { "OK", ~0ULL & ~1ULL, 0, N },
	[HV_ERR] = { "ERR", B(HA_ERRNO) | B(HA_ERRMSG), B(HA_ERRNO) | B(HA_ERRMSG), 0 },
	[HV_DOM_CREATE] = { "DOMAIN_CREATE", N | B(HA_KERNEL) | B(HA_CMDLINE) | B(HA_MEM) |
		B(HA_VCPUS) | B(HA_NET), N | B(HA_KERNEL) | B(HA_MEM) | B(HA_VCPUS), 0 },
	[HV_DOM_CREATE_INCOMING] = { "DOMAIN_CREATE_INCOMING", N | B(HA_MEM) | B(HA_VCPUS) | B(HA_LEASE) |
		B(HA_NET),
		N | B(HA_MEM) | B(HA_VCPUS), 0 },
	[HV_DOM_LIST] = { "DOMAIN_LIST", 0, 0, 0 },
	[HV_DOM_INFO] = { "DOMAIN_INFO", N, N, 0 },
	[HV_DOM_PAUSE] = { "DOMAIN_PAUSE", N | B(HA_LEASE) | B(HA_SAVE) | B(HA_EPOCH), N, 0 },
	[HV_DOM_UNPAUSE] = { "DOMAIN_UNPAUSE", N, N, 0 },
	[HV_DOM_DESTROY] = { "DOMAIN_DESTROY", N, N, 0 },
	[HV_CONSOLE_ATTACH] = { "CONSOLE_ATTACH", N, N, 0 },
	[HV_MEM_MAP] = { "MEM_MAP", N, N, 0 },
	[HV_LOGDIRTY] = { "LOGDIRTY", N | B(HA_ENABLE) | B(HA_DIRTY_MODE), N | B(HA_ENABLE), 0 },
	[HV_DIRTY_PEEK_CLEAN] = { "DIRTY_PEEK_CLEAN", N, N, 0 },
	[HV_VCPU_GET] = { "VCPU_GET", N, N, 0 },
	[HV_VCPU_SET] = { "VCPU_SET", N | B(HA_BLOB), N | B(HA_BLOB), 0 },
	[HV_DEV_GET] = { "DEV_GET", N, N, 0 },
	[HV_DEV_SET] = { "DEV_SET", N | B(HA_BLOB), N | B(HA_BLOB), 0 },
	[HV_THROTTLE] = { "THROTTLE", N | B(HA_SHARE), N | B(HA_SHARE), 0 },
	[HV_DOM_HANDOVER] = { "DOMAIN_HANDOVER", N | B(HA_TAG), N | B(HA_TAG), 0 },
	[HV_DOM_KEEP] = { "DOMAIN_KEEP", N, N, 0 },
	[HV_DOM_RECLAIM] = { "DOMAIN_RECLAIM", N | B(HA_TAG), N | B(HA_TAG), 0 },
	[HV_DOM_RELEASE] = { "DOMAIN_RELEASE", N | B(HA_TAG), N | B(HA_TAG), 0 },
	[HV_STATE_SET] = { "STATE_SET", N | B(HA_BLOB) | B(HA_DEV_BLOB), N | B(HA_BLOB) | B(HA_DEV_BLOB),
		0 },
	[HV_NIC_INJECT] = { "NIC_INJECT", N | B(HA_BLOB), N | B(HA_BLOB), 0 },
	[HV_NIC_HOLD] = { "NIC_HOLD", N | B(HA_ENABLE) | B(HA_COUNT), N | B(HA_ENABLE), 0 },
	[HV_NIC_RELEASE] = { "NIC_RELEASE", N | B(HA_EPOCH), N | B(HA_EPOCH), 0 },
	[HV_STAGE_MAP] = { "STAGE_MAP", N, N, 0 },
};

const struct msg_schema hvctl_schema = {
	.name = "hvd control", .kinds = kinds, .attr_names = names, .policies = policies,
	.ntypes = HV_MSG_COUNT,
};

const char *dom_state_name(unsigned s)
{
	static const char *const n[DS_STATE_COUNT] = {
		[DS_PAUSED] = "paused", [DS_RUNNING] = "running",
		[DS_SHUTDOWN] = "shutdown", [DS_CRASHED] = "crashed",
		[DS_MIGRATED] = "migrated",
	};
	return s < DS_STATE_COUNT && n[s] ? n[s] : "unknown";
}
