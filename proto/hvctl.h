/*
 * hvctl.h - the hvd control protocol: message and attribute types.
 *
 * A client sends one request and reads one reply (HV_OK or HV_ERR) carrying
 * the same seq.  hvd relays domain requests to the domain's own process
 * over the same protocol.  File descriptors ride on the record:
 * HV_MEM_MAP -> guest memory memfd, HV_LOGDIRTY(enable) -> bitmap memfd,
 * HV_CONSOLE_ATTACH -> a stream socket to the console, HV_STAGE_MAP -> the
 * stage memfd a staged checkpoint copies the dirty pages into.
 */
#ifndef TANDEM_HVCTL_H
#define TANDEM_HVCTL_H

#include "msg.h"

enum hv_msg {
	HV_HELLO = 1,
	HV_OK,
	HV_ERR,
	HV_DOM_CREATE,
	HV_DOM_CREATE_INCOMING,
	HV_DOM_LIST,
	HV_DOM_INFO,
	HV_DOM_PAUSE,
	HV_DOM_UNPAUSE,
	HV_DOM_DESTROY,
	HV_CONSOLE_ATTACH,
	HV_MEM_MAP,
	HV_LOGDIRTY,
	HV_DIRTY_PEEK_CLEAN,
	HV_VCPU_GET,
	HV_VCPU_SET,
	HV_DEV_GET,
	HV_DEV_SET,
	HV_THROTTLE,
	HV_DOM_HANDOVER,
	HV_DOM_KEEP,
	HV_DOM_RECLAIM,
	HV_DOM_RELEASE,
	HV_STATE_SET,
	HV_NIC_INJECT,
	HV_NIC_HOLD,
	HV_NIC_RELEASE,
	HV_STAGE_MAP,
	HV_MSG_COUNT
};

enum hv_attr {
	HA_NAME = 1,	/* str: domain name */
	HA_KERNEL,	/* str: guest ELF path */
	HA_CMDLINE,	/* str */
	HA_MEM,		/* u64: bytes */
	HA_VCPUS,	/* u32 */
	HA_STATE,	/* u32: enum dom_state */
	HA_UPTIME_NS,	/* u64 */
	HA_ERRNO,	/* u32 */
	HA_ERRMSG,	/* str */
	HA_BLOB,	/* blob: vCPU or device state; a frame list (DOMAIN_RELEASE, NIC_INJECT) */
	HA_COUNT,	/* u64: e.g. dirty pages */
	HA_ENABLE,	/* u32: 0/1 */
	HA_SHARE,	/* u32: percent */
	HA_CONSOLE_LOG,	/* str: path of the console log */
	HA_VERSION,	/* str */
	HA_DIRTY_MODE,	/* u32: enum hv_dirty_mode */
	HA_PID,		/* u32 */
	HA_REASON,	/* str: why a domain stopped */
	HA_ELAPSED_NS,	/* u64: time the operation took inside hvd */
	HA_TSC_KHZ,	/* u32 */
	HA_LEASE,	/* u32: 1 = undo if this client goes away: resume a paused domain,
			 * destroy an incoming one that was never kept or run */
	HA_BACKING,	/* str: guest memory, "hugetlb" or "shmem" */
	HA_TAG,		/* u64: the hand-over a migrated domain belongs to (its migration id) */
	HA_NET,		/* str: the NIC, "BRIDGE[,mac=XX:XX:XX:XX:XX:XX]" (docs/devices.md) */
	HA_NIC_TAP,	/* str: the NIC's tap on the host */
	HA_NIC_STATS,	/* blob: the NIC's counters, 10 x u64 (docs/hvd-protocol.md) */
	HA_SAVE,	/* u32: 1 = a pause also peeks-and-cleans and returns the state;
			 * HV_SAVE_STAGED = and copies the dirty pages into the stage
			 * (STAGE_MAP) and resumes the domain before it answers */
	HA_DEV_BLOB,	/* blob: device state, beside a vCPU state in HA_BLOB */
	HA_PHASES,	/* blob: 3 x u64, ns inside hvd: pause, peek, state; a staged
			 * checkpoint adds the copy and the guest's whole pause */
	HA_EPOCH,	/* u64: an epoch of a protected VM (output commit) */
	HA_NIC_HOLD,	/* blob: the NIC's output commit, 7 x u64 (docs/hvd-protocol.md) */
	HA_ATTR_COUNT
};

/* HA_LEASE in a DOMAIN_INFO reply: what the domain holds for a client */
enum hv_lease { HL_NONE = 0, HL_PAUSED, HL_INCOMING };
enum dom_state { DS_PAUSED = 1, DS_RUNNING, DS_SHUTDOWN, DS_CRASHED, DS_MIGRATED, DS_STATE_COUNT };
enum { HV_SAVE = 1, HV_SAVE_STAGED = 2 };
enum hv_dirty_mode { HV_DIRTY_MANUAL = 0, HV_DIRTY_LEGACY = 1 };

extern const struct msg_schema hvctl_schema;
extern const struct msg_policy hvctl_vcpu_blob_policy;
const char *dom_state_name(unsigned s);

#define HVD_DEFAULT_SOCK "/run/tandem/hvd.sock"
#define HV_NAME_MAX 64

#endif
