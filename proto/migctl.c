/* migctl.c - the schema of the migrated control protocol. */
#include "migctl.h"

#define B(a) (1ULL << (a))

static const enum msg_kind kinds[MSG_ATTR_MAX] = {
	[MA_NAME] = MK_STR, [MA_DEST] = MK_STR, [MA_ERRNO] = MK_U32, [MA_ERRMSG] = MK_STR,
	[MA_DOWNTIME_BUDGET_US] = MK_U64, [MA_MAX_TOTAL_MS] = MK_U64,
	[MA_MAX_DOWNTIME_US] = MK_U64, [MA_BW_MBPS] = MK_U64, [MA_LZ4] = MK_U32,
	[MA_STATE] = MK_U32, [MA_PHASE] = MK_STR, [MA_ROUND] = MK_U32, [MA_PERMILLE] = MK_U32,
	[MA_BYTES_SENT] = MK_U64, [MA_PAGES_SENT] = MK_U64, [MA_RATE_BPS] = MK_U64,
	[MA_ETA_MS] = MK_U64, [MA_PREDICTED_US] = MK_U64, [MA_THROTTLE] = MK_U32,
	[MA_DOWNTIME_US] = MK_U64, [MA_TOTAL_MS] = MK_U64, [MA_PAGES_PER_ROUND] = MK_STR,
	[MA_DIRTY_LEFT] = MK_U64, [MA_INSECURE_NOTE] = MK_STR, [MA_DOWNTIME_PHASES] = MK_STR,
};

static const char *const names[MSG_ATTR_MAX] = {
	[MA_NAME] = "name", [MA_DEST] = "dest", [MA_ERRNO] = "errno", [MA_ERRMSG] = "errmsg",
	[MA_DOWNTIME_BUDGET_US] = "downtime_budget_us", [MA_MAX_TOTAL_MS] = "max_total_ms",
	[MA_MAX_DOWNTIME_US] = "max_downtime_us", [MA_BW_MBPS] = "bw_mbps", [MA_LZ4] = "lz4",
	[MA_STATE] = "state", [MA_PHASE] = "phase", [MA_ROUND] = "round",
	[MA_PERMILLE] = "permille", [MA_BYTES_SENT] = "bytes_sent",
	[MA_PAGES_SENT] = "pages_sent", [MA_RATE_BPS] = "rate_bps", [MA_ETA_MS] = "eta_ms",
	[MA_PREDICTED_US] = "predicted_downtime_us", [MA_THROTTLE] = "throttle",
	[MA_DOWNTIME_US] = "downtime_us", [MA_TOTAL_MS] = "total_ms",
	[MA_PAGES_PER_ROUND] = "pages_per_round", [MA_DIRTY_LEFT] = "dirty_left",
	[MA_INSECURE_NOTE] = "note", [MA_DOWNTIME_PHASES] = "downtime_phases",
};

#define N B(MA_NAME)
static const struct msg_policy policies[MC_MSG_COUNT] = {
	[MC_OK] = { "OK", ~0ULL & ~1ULL, 0, 0 },
	[MC_ERR] = { "ERR", B(MA_ERRNO) | B(MA_ERRMSG), B(MA_ERRNO) | B(MA_ERRMSG), 0 },
	[MC_START] = { "MIGRATE_START", N | B(MA_DEST) | B(MA_DOWNTIME_BUDGET_US) |
		B(MA_MAX_TOTAL_MS) | B(MA_MAX_DOWNTIME_US) | B(MA_BW_MBPS) | B(MA_LZ4),
		N | B(MA_DEST), 0 },
	[MC_STATUS] = { "MIGRATE_STATUS", N, N, 0 },
	[MC_CANCEL] = { "MIGRATE_CANCEL", N, N, 0 },
};

const struct msg_schema migctl_schema = {
	.name = "migrated control", .kinds = kinds, .attr_names = names, .policies = policies,
	.ntypes = MC_MSG_COUNT,
};

const char *mig_state_name(unsigned s)
{
	static const char *const n[] = { "unknown", "running", "done", "failed", "cancelled" };
	return s < sizeof(n) / sizeof(n[0]) ? n[s] : "unknown";
}
