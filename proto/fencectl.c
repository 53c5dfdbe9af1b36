/* fencectl.c - the schema of the fenced control protocol. */
#include "fencectl.h"

#define B(a) (1U << (a))

static const enum msg_kind kinds[MSG_ATTR_MAX] = {
	[FA_ERRNO] = MK_U32, [FA_ERRMSG] = MK_STR, [FA_NODEID] = MK_U32, [FA_STATE] = MK_U32,
	[FA_QUORATE] = MK_U32, [FA_MEMBERS] = MK_STR, [FA_VIEWS] = MK_U64, [FA_SINCE_MS] = MK_U64,
};

static const char *const names[MSG_ATTR_MAX] = {
	[FA_ERRNO] = "errno", [FA_ERRMSG] = "errmsg", [FA_NODEID] = "node", [FA_STATE] = "state",
	[FA_QUORATE] = "quorate", [FA_MEMBERS] = "members", [FA_VIEWS] = "views",
	[FA_SINCE_MS] = "since_ms",
};

static const struct msg_policy policies[FC_MSG_COUNT] = {
	[FC_OK] = { "OK", ~0U & ~1U, 0, 0 },
	[FC_ERR] = { "ERR", B(FA_ERRNO) | B(FA_ERRMSG), B(FA_ERRNO) | B(FA_ERRMSG), 0 },
	[FC_STATUS] = { "FENCE_STATUS", 0, 0, 0 },
};

const struct msg_schema fencectl_schema = {
	.name = "fenced control", .kinds = kinds, .attr_names = names, .policies = policies,
	.ntypes = FC_MSG_COUNT,
};

const char *mb_state_name(unsigned s)
{
	static const char *const n[] = { "unknown", "connecting", "joining", "quorate", "inquorate" };
	return s < sizeof(n) / sizeof(n[0]) ? n[s] : "unknown";
}
