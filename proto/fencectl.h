/*
 * fencectl.h - the fenced control protocol (CLI <-> fenced), in the same
 * attribute-message format as hvctl (proto/msg.h).
 */
#ifndef TANDEM_FENCECTL_H
#define TANDEM_FENCECTL_H

#include "msg.h"

enum fence_msg {
	FC_OK = 1,
	FC_ERR,
	FC_STATUS,	/* -> OK with this host's view of the cluster, the table */
	FC_HISTORY,	/* -> OK with FENCE records, oldest first */
	FC_VM_CREATE,	/* NAME MEM VCPUS KERNEL [CMDLINE] POLICY: claim and start here */
	FC_VM_REMOVE,	/* NAME: destroy and drop from the table (owner only) */
	FC_MIG_BEGIN,	/* migrated, source: NAME HOST -> GEN */
	FC_MIG_COMMIT,	/* migrated, source: NAME HOST GEN -> GEN (the new one) */
	FC_MIG_RESOLVE,	/* migrated, either end: NAME -> OWNER GEN, after any migration
			 * of it is over (committed, or aborted by this very request);
			 * with MODE 1 only the owner as this host's table has it now */
	FC_FENCE,	/* HOST: fence it now -> OK METHOD DETAIL */
	FC_MODE,	/* HOST MODE */
	FC_PLAN,	/* HOST -> VM records with TO: where its VMs would go */
	FC_FENCE_ASK,	/* migrated, on a FENCE: may this host be fenced now? -> ALLOW, DETAIL */
	FC_PROTECT,	/* remusd, primary: NAME [HOST]: its backup is HOST (none: unprotected);
			 * backup: NAME: it has no shadow -> OWNER GEN BACKUP once delivered */
	FC_TAKEOVER,	/* remusd, backup: NAME EPOCH [GEN]: the owner is fenced, this host
			 * resumes the shadow -> OWNER GEN; EAGAIN while the owner is not
			 * fenced yet, ESRCH when this host is not (or no longer) NAME's
			 * backup, or NAME moved on from generation GEN */
	FC_LOST,	/* remusd: HOST -> ALLOW 1 when the cluster has lost it (its view, or
			 * a majority of heartbeats), DETAIL why */
	FC_EVENTS,	/* [SEQ]: the events after SEQ -> OK with EVENT records, oldest
			 * first, and SEQ the last one given (the ring keeps 512) */
	FC_MSG_COUNT
};

enum fence_attr {
	FA_ERRNO = 1, FA_ERRMSG,
	FA_NODEID, FA_STATE, FA_QUORATE, FA_MEMBERS, FA_VIEWS, FA_SINCE_MS,
	FA_NAME, FA_MEM, FA_VCPUS, FA_KERNEL, FA_CMDLINE, FA_POLICY, FA_HOST, FA_GEN, FA_OWNER,
	FA_SYNC, FA_VERSION, FA_VM, FA_HOSTINFO, FA_FENCE, FA_WATCHDOG, FA_MODE, FA_METHOD,
	FA_DETAIL, FA_TO, FA_ALLOW, FA_NET, FA_BACKUP, FA_EPOCH, FA_EVENT, FA_SEQ, FA_TIME, FA_KIND,
	FA_ATTR_COUNT	/* VM, HOSTINFO, FENCE: nested lists (cluster.h policies); EVENT:
			 * fencectl_event_policy (SEQ TIME KIND NAME DETAIL) */
};

/* FA_STATE: the membership state machine of fenced (fencing/membership.c) */
enum mb_state { MB_CONNECTING = 1, MB_JOINING, MB_QUORATE, MB_INQUORATE };

/* the ownership table (fencing/table.c): VM states, host status and
 * modes, restart policies */
enum vm_state { VS_STARTING = 1, VS_RUNNING, VS_MIGRATING, VS_STOPPED, VS_FAILED };
enum host_status { HS_DOWN = 0, HS_UP, HS_LOST, HS_FENCED };
enum host_mode { HM_ACTIVE = 0, HM_DRAINING, HM_MAINTENANCE };
enum vm_policy { VP_NONE = 0, VP_RESTART };

const char *vm_state_name(unsigned s);
const char *host_status_name(unsigned s);
const char *host_mode_name(unsigned m);
const char *vm_policy_name(unsigned p);

extern const struct msg_schema fencectl_schema;
extern const struct msg_policy fencectl_event_policy;
const char *mb_state_name(unsigned s);

#define FENCED_DEFAULT_SOCK "/run/tandem/fenced.sock"

#endif
