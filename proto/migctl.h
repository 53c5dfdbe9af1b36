/*
 * migctl.h - the migrated control protocol (CLI <-> migrated), in the same
 * attribute-message format as hvctl (proto/msg.h).
 */
#ifndef TANDEM_MIGCTL_H
#define TANDEM_MIGCTL_H

#include "msg.h"

enum mig_msg {
	MC_OK = 1,
	MC_ERR,
	MC_START,	/* name, dest, options -> OK */
	MC_STATUS,	/* name -> OK with progress or the final report */
	MC_CANCEL,	/* name -> OK */
	MC_MSG_COUNT
};

enum mig_attr {
	MA_NAME = 1, MA_DEST, MA_ERRNO, MA_ERRMSG,
	MA_DOWNTIME_BUDGET_US, MA_MAX_TOTAL_MS, MA_MAX_DOWNTIME_US, MA_BW_MBPS, MA_LZ4,
	MA_STATE, MA_PHASE, MA_ROUND, MA_PERMILLE, MA_BYTES_SENT, MA_PAGES_SENT,
	MA_RATE_BPS, MA_ETA_MS, MA_PREDICTED_US, MA_THROTTLE, MA_DOWNTIME_US,
	MA_TOTAL_MS, MA_PAGES_PER_ROUND, MA_DIRTY_LEFT, MA_INSECURE_NOTE,
	MA_DOWNTIME_PHASES,	/* str: "pause=US,peek=US,state=US,pages=US,last=N,apply=US,
				 * handover=US,resume=US" */
	MA_ATTR_COUNT
};
/* MA_LZ4: when the sender compresses pages (the values of enum ckpt_lz4) */
enum { MIG_LZ4_OFF = 0, MIG_LZ4_ON = 1, MIG_LZ4_AUTO = 2 };

/* MA_STATE */
enum mig_state { MS_RUNNING = 1, MS_DONE, MS_FAILED, MS_CANCELLED };

extern const struct msg_schema migctl_schema;
const char *mig_state_name(unsigned s);

#define MIGRATED_DEFAULT_SOCK "/run/tandem/migrated.sock"
#define MIGRATED_DEFAULT_PORT 7447

#endif
