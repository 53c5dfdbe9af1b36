/* remctl.c - the schema of the remusd control protocol. */
#include "remctl.h"

#define B(a) (1ULL << (a))

static const enum msg_kind kinds[MSG_ATTR_MAX] = {
	[RA_NAME] = MK_STR, [RA_ERRNO] = MK_U32, [RA_ERRMSG] = MK_STR, [RA_BACKUP] = MK_STR,
	[RA_EPOCH_MS] = MK_U32, [RA_PROT] = MK_BLOB, [RA_ROLE] = MK_U32, [RA_STATE] = MK_U32,
	[RA_PEER] = MK_STR, [RA_EPOCH] = MK_U64, [RA_ACHIEVED_US] = MK_U64, [RA_PAUSE_US] = MK_U64,
	[RA_PAUSE_MAX_US] = MK_U64, [RA_HELD_BYTES] = MK_U64, [RA_LAG_MS] = MK_U64,
	[RA_PERMILLE] = MK_U32, [RA_BYTES] = MK_U64, [RA_THROTTLE] = MK_U32, [RA_DETAIL] = MK_STR,
	[RA_SINCE_MS] = MK_U64,
};

static const char *const names[MSG_ATTR_MAX] = {
	[RA_NAME] = "name", [RA_ERRNO] = "errno", [RA_ERRMSG] = "errmsg", [RA_BACKUP] = "backup",
	[RA_EPOCH_MS] = "epoch_ms", [RA_PROT] = "protection", [RA_ROLE] = "role",
	[RA_STATE] = "state", [RA_PEER] = "peer", [RA_EPOCH] = "epoch",
	[RA_ACHIEVED_US] = "achieved_epoch_us", [RA_PAUSE_US] = "pause_us",
	[RA_PAUSE_MAX_US] = "pause_max_us", [RA_HELD_BYTES] = "held_bytes", [RA_LAG_MS] = "lag_ms",
	[RA_PERMILLE] = "permille", [RA_BYTES] = "bytes", [RA_THROTTLE] = "throttle",
	[RA_DETAIL] = "detail", [RA_SINCE_MS] = "since_ms",
};

#define N B(RA_NAME)
static const struct msg_policy policies[RC_MSG_COUNT] = {
	[RC_OK] = { "OK", ~0ULL & ~1ULL, 0, B(RA_PROT) },
	[RC_ERR] = { "ERR", B(RA_ERRNO) | B(RA_ERRMSG), B(RA_ERRNO) | B(RA_ERRMSG), 0 },
	[RC_PROTECT] = { "PROTECT", N | B(RA_BACKUP) | B(RA_EPOCH_MS), N | B(RA_BACKUP), 0 },
	[RC_UNPROTECT] = { "UNPROTECT", N, N, 0 },
	[RC_STATUS] = { "STATUS", N, 0, 0 },
	[RC_HANDOFF] = { "HANDOFF", N | B(RA_BACKUP) | B(RA_EPOCH_MS), N | B(RA_BACKUP) | B(RA_EPOCH_MS), 0 },
};

#define PROT_ALL (N | B(RA_ROLE) | B(RA_STATE) | B(RA_PEER) | B(RA_EPOCH) | B(RA_EPOCH_MS) | \
	B(RA_ACHIEVED_US) | B(RA_PAUSE_US) | B(RA_PAUSE_MAX_US) | B(RA_HELD_BYTES) | B(RA_LAG_MS) | \
	B(RA_PERMILLE) | B(RA_BYTES) | B(RA_THROTTLE) | B(RA_DETAIL) | B(RA_SINCE_MS))
const struct msg_policy remctl_prot_policy = { "protection", PROT_ALL,
	N | B(RA_ROLE) | B(RA_STATE) | B(RA_PEER), 0 };

const struct msg_schema remctl_schema = {
	.name = "remusd control", .kinds = kinds, .attr_names = names, .policies = policies,
	.ntypes = RC_MSG_COUNT,
};

const char *rem_state_name(unsigned s)
{
	static const char *const n[] = { "unknown", "syncing", "protected", "unprotected",
		"failing-over", "taken-over", "stopped", "failed" };
	return s < sizeof(n) / sizeof(n[0]) ? n[s] : "unknown";
}

const char *rem_role_name(unsigned r)
{
	return r == RR_PRIMARY ? "primary" : r == RR_BACKUP ? "backup" : "unknown";
}
