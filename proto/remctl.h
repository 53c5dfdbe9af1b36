/*
 * remctl.h - the remusd control protocol (CLI <-> remusd), in the same
 * attribute-message format as hvctl (proto/msg.h).
 */
#ifndef TANDEM_REMCTL_H
#define TANDEM_REMCTL_H

#include "msg.h"

enum rem_msg {
	RC_OK = 1,
	RC_ERR,
	RC_PROTECT,	/* NAME BACKUP [EPOCH_MS] -> OK: protection starts (status follows it) */
	RC_UNPROTECT,	/* NAME -> OK once the VM runs unprotected (its output released) */
	RC_STATUS,	/* [NAME] -> OK with one PROT per protection this host takes part in */
	RC_HANDOFF,	/* NAME BACKUP(the host it moved to) EPOCH_MS: after a planned move, that
			 * host's remusd protects NAME again (its backup: auto, not this host) */
	RC_MSG_COUNT
};

enum rem_attr {
	RA_NAME = 1, RA_ERRNO, RA_ERRMSG, RA_BACKUP, RA_EPOCH_MS, RA_PROT,
	RA_ROLE, RA_STATE, RA_PEER, RA_EPOCH, RA_ACHIEVED_US, RA_PAUSE_US, RA_PAUSE_MAX_US,
	RA_HELD_BYTES, RA_LAG_MS, RA_PERMILLE, RA_BYTES, RA_THROTTLE, RA_DETAIL, RA_SINCE_MS,
	RA_ATTR_COUNT
};

/* RA_ROLE */
enum rem_role { RR_PRIMARY = 1, RR_BACKUP };
/*
 * RA_STATE: a protection's state machine (remusd/prot.c)
 *   primary: syncing -> protected -> (backup lost) unprotected | stopped
 *   backup:  syncing -> protected -> failing-over -> taken-over | stopped
 */
enum rem_state {
	RS_SYNCING = 1,		/* the initial copy into the shadow */
	RS_PROTECTED,		/* epochs are acknowledged */
	RS_UNPROTECTED,		/* primary: the backup was lost; the VM runs on unprotected */
	RS_FAILING_OVER,	/* backup: the primary went silent; waiting for it to be fenced */
	RS_TAKEN_OVER,		/* backup: the shadow runs, from the last epoch */
	RS_STOPPED,		/* ended on purpose (unprotect), or never started */
	RS_FAILED,		/* could not start or go on (detail says why) */
};

extern const struct msg_schema remctl_schema;
extern const struct msg_policy remctl_prot_policy;	/* RA_PROT's nested list */
const char *rem_state_name(unsigned s);
const char *rem_role_name(unsigned r);

#define REMUSD_DEFAULT_SOCK "/run/tandem/remusd.sock"
#define REMUSD_DEFAULT_PORT 7448

#endif
