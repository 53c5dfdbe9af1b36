/*
 * cluster.h - the messages fenced multicasts to its peers over CPG.
 *
 * A CPG payload is {u32 crc32c of the rest, little-endian} followed by one
 * message in the attribute format of msg.h (its own version field, then
 * typed attributes checked against cluster_schema).  Table snapshots carry
 * nested attribute lists (one blob per VM, host or fence record).  The
 * sender's node id is never in the message: it is the one corosync reports.
 * Anything that fails the crc (fencing/wire.c), the schema or the table's
 * own checks is rejected, logged and changes nothing (fencing/table.c).
 */
#ifndef TANDEM_CLUSTER_H
#define TANDEM_CLUSTER_H

#include "fencectl.h"
#include "msg.h"

#define CLUSTER_PROTO	4	/* CA_PROTO in HELLO: peers must agree */

enum cluster_msg {
	CM_HELLO = 1,	/* after every view: PROTO, SYNCED, EPOCH, VERSION */
	CM_TABLE,	/* the whole table, from the sync donor */
	CM_CLAIM,	/* a new VM owned by the sender: NAME, MEM, VCPUS, KERNEL, CMDLINE, POLICY */
	CM_MIGRATE,	/* owner starts migrating NAME at GEN to TO */
	CM_COMMIT,	/* owner hands NAME at GEN to TO: the point of no return */
	CM_MIG_ABORT,	/* NAME at GEN stops migrating (either end may send it) */
	CM_PLACE,	/* restart NAME at GEN on TO (owner fenced, or owner itself) */
	CM_VMSTATE,	/* owner reports NAME at GEN is STATE */
	CM_REMOVE,	/* owner removes NAME at GEN */
	CM_MODE,	/* NODE becomes MODE (active, draining, maintenance) */
	CM_FENCED,	/* NODE was (OK) or could not be fenced by METHOD */
	CM_FENCING,	/* the coordinator starts fencing NODE (no table change) */
	CM_PROTECT,	/* owner: NAME at GEN is protected by a shadow on TO (0: no longer);
			 * or its backup, TO 0: it has no shadow any more */
	CM_TAKEOVER,	/* the backup of NAME at GEN, its owner fenced: it resumes the
			 * shadow from EPOCH and owns NAME at GEN + 1 */
	CM_MSG_COUNT
};

enum cluster_attr {
	CA_PROTO = 1, CA_SYNCED, CA_VERSION, CA_NAME, CA_OWNER, CA_GEN, CA_STATE, CA_POLICY,
	CA_MEM, CA_VCPUS, CA_KERNEL, CA_CMDLINE, CA_TO, CA_NODE, CA_MODE, CA_METHOD, CA_OK,
	CA_DETAIL, CA_TIME, CA_BY, CA_VM, CA_HOST, CA_FENCE, CA_TARGET, CA_STATUS, CA_EPOCH, CA_NET, CA_BACKUP,
	CA_ATTR_COUNT
};

/* nested lists inside CM_TABLE */
extern const struct msg_policy cluster_vm_policy, cluster_host_policy, cluster_fence_policy;
/* nested lists in fenced's status reply (fencectl.h) */
extern const struct msg_policy cluster_status_vm_policy, cluster_status_host_policy;
extern const struct msg_schema cluster_schema;

#endif
