/* cmdline.c - parses the guest command line: key=value words. */
#include "guest.h"

static const struct {
	const char *key;
	size_t off;
} numeric[] = {
	{ "dirty=", offsetof(struct config, dirty_pps) },
	{ "wss=", offsetof(struct config, wss_mib) },
	{ "wss_high=", offsetof(struct config, wss_high_mib) },
	{ "heartbeat=", offsetof(struct config, heartbeat_ms) },
	{ "integrity=", offsetof(struct config, integrity_s) },
	{ "crash=", offsetof(struct config, crash_ms) },
	{ "stood=", offsetof(struct config, stood_us) },
	{ "tsc_khz=", offsetof(struct config, tsc_khz) },
	{ "kv=", offsetof(struct config, kv_port) },
	{ "badvq=", offsetof(struct config, badvq) },
};
static const char *const patterns[] = {
	[PAT_UNIFORM] = "pattern=uniform", [PAT_SEQ] = "pattern=seq", [PAT_HOTCOLD] = "pattern=hotcold",
};

/* A.B.C.D at *s; 0 when malformed */
static int parse_ip(const char **s, uint32_t *ip)
{
	uint32_t v = 0;
	for (int i = 0; i < 4; i++) {
		const char *b = *s;
		uint64_t o = parse_u64(s);
		if (*s == b || o > 255 || (i < 3 && *(*s)++ != '.'))
			return 0;
		v = v << 8 | (uint32_t)o;
	}
	*ip = v;
	return 1;
}

static uint64_t parse_hex(const char **s)
{
	uint64_t v = 0;
	int n;
	if ((n = strncmp_prefix(*s, "0x")))
		*s += n;
	for (;; (*s)++) {
		char ch = **s;
		unsigned d = ch >= '0' && ch <= '9' ? (unsigned)(ch - '0') : ch >= 'a' && ch <= 'f' ?
		    (unsigned)(ch - 'a' + 10) : 16;
		if (d == 16)
			return v;
		v = v * 16 + d;
	}
}

/* net=ADDR/PREFIX[,gw=ADDR] */
static int parse_net(const char *s, struct config *c)
{
	uint64_t p;
	if (!parse_ip(&s, &c->ip) || *s++ != '/' || (p = parse_u64(&s)) < 1 || p > 30)
		return 0;
	c->prefix = (unsigned)p;
	c->gw = 0;
	int n;
	if (*s == ',' && (n = strncmp_prefix(s + 1, "gw="))) {
		s += 1 + n;
		if (!parse_ip(&s, &c->gw))
			return 0;
	}
	if (*s && *s != ' ')
		return 0;
	c->has_net = 1;
	return 1;
}

/* Parses the word at s; returns 0 when it is not an option we know. */
static int option(const char *s, struct config *c)
{
	int n;

	if ((n = strncmp_prefix(s, "net=")))
		return parse_net(s + n, c);
	if ((n = strncmp_prefix(s, "virtio_mmio.device="))) {
		s += n;
		parse_hex(&s);
		if (*s++ != '@')
			return 0;
		c->vn_base = parse_hex(&s);
		return 1;
	}
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
