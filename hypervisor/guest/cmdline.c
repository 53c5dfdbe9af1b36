/* cmdline.c - parses the guest command line: key=value words. */
#include "guest.h"

static const struct {
	const char *key;
	size_t off;
} numeric[] = {
	{ "dirty=", offsetof(struct config, dirty_pps) },
	{ "wss=", offsetof(struct config, wss_mib) },
	{ "heartbeat=", offsetof(struct config, heartbeat_ms) },
	{ "integrity=", offsetof(struct config, integrity_s) },
	{ "crash=", offsetof(struct config, crash_ms) },
	{ "tsc_khz=", offsetof(struct config, tsc_khz) },
};
static const char *const patterns[] = {
	[PAT_UNIFORM] = "pattern=uniform", [PAT_SEQ] = "pattern=seq", [PAT_HOTCOLD] = "pattern=hotcold",
};

/* Parses the word at s; returns 0 when it is not an option we know. */
static int option(const char *s, struct config *c)
{
	int n;

	if (strncmp_prefix(s, "dirty=max")) {
		c->dirty_max = 1;
		return 1;
	}
	for (unsigned i = 0; i < sizeof(numeric) / sizeof(numeric[0]); i++)
		if ((n = strncmp_prefix(s, numeric[i].key))) {
			s += n;
			*(uint64_t *)((char *)c + numeric[i].off) = parse_u64(&s);
			return 1;
		}
	for (unsigned i = 0; i < sizeof(patterns) / sizeof(patterns[0]); i++)
		if (strncmp_prefix(s, patterns[i])) {
			c->pattern = i;
			return 1;
		}
	return 0;
}

void cmdline_parse(const char *s, struct config *c)
{
	while (s && *s) {
		while (*s == ' ')
			s++;
		const char *w = s;
		while (*s && *s != ' ')
			s++;
		if (w < s && !option(w, c)) {
			con_printf("tandem-guest: ignoring unknown option '");
			while (w < s)
				con_putc(*w++);
			con_printf("'\n");
		}
	}
}
