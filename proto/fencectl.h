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
	FC_STATUS,	/* -> OK with this host's view of the cluster */
	FC_MSG_COUNT
};

enum fence_attr {
	FA_ERRNO = 1, FA_ERRMSG,
	FA_NODEID, FA_STATE, FA_QUORATE, FA_MEMBERS, FA_VIEWS, FA_SINCE_MS,
	FA_ATTR_COUNT
};

/* FA_STATE: the membership state machine of fenced (fencing/membership.c) */
enum mb_state { MB_CONNECTING = 1, MB_JOINING, MB_QUORATE, MB_INQUORATE };

extern const struct msg_schema fencectl_schema;
const char *mb_state_name(unsigned s);

#define FENCED_DEFAULT_SOCK "/run/tandem/fenced.sock"

#endif
