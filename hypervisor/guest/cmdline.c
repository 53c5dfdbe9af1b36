/* cmdline.c - parses the guest command line: key=value words. */
#include "guest.h"

void cmdline_parse(const char *s, struct config *c)
{
	int n;

	while (s && *s) {
		while (*s == ' ')
			s++;
		if ((n = strncmp_prefix(s, "dirty=max"))) {
			s += n;
			c->dirty_max = 1;
		} else if ((n = strncmp_prefix(s, "dirty="))) {
			s += n;
			c->dirty_pps = parse_u64(&s);
		} else if ((n = strncmp_prefix(s, "wss="))) {
			s += n;
			c->wss_mib = parse_u64(&s);
		} else if ((n = strncmp_prefix(s, "heartbeat="))) {
			s += n;
			c->heartbeat_ms = parse_u64(&s);
		} else if ((n = strncmp_prefix(s, "integrity="))) {
			s += n;
			c->integrity_s = parse_u64(&s);
		} else if ((n = strncmp_prefix(s, "crash="))) {
			s += n;
			c->crash_ms = parse_u64(&s);
		} else if ((n = strncmp_prefix(s, "tsc_khz="))) {
			s += n;
			c->tsc_khz = parse_u64(&s);
		} else if ((n = strncmp_prefix(s, "pattern=uniform"))) {
			s += n;
			c->pattern = PAT_UNIFORM;
		} else if ((n = strncmp_prefix(s, "pattern=seq"))) {
			s += n;
			c->pattern = PAT_SEQ;
		} else if ((n = strncmp_prefix(s, "pattern=hotcold"))) {
			s += n;
			c->pattern = PAT_HOTCOLD;
		} else if (*s) {
			const char *w = s;
			while (*s && *s != ' ')
				s++;
			con_printf("tandem-guest: ignoring unknown option '");
			while (w < s)
				con_putc(*w++);
			con_printf("'\n");
		}
		while (*s && *s != ' ')
			s++;
	}
}
