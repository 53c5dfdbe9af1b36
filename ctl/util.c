/* util.c - CLI helpers: sizes with suffixes, errors (plain or --json), connecting. */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"

int parse_size(const char *s, uint64_t *out)
{
	char *end;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno || end == s)
		return -1;
	int shift = 20;	/* plain numbers are MiB */
	switch (*end) {
	case 'k': case 'K': shift = 10; end++; break;
	case 'm': case 'M': shift = 20; end++; break;
	case 'g': case 'G': shift = 30; end++; break;
	case 0: break;
	default: return -1;
	}
	if (*end == 'i')
		end++;
	if (*end == 'B')
		end++;
	if (*end || v > (~0ULL >> shift))
		return -1;
	*out = (uint64_t)v << shift;
	return 0;
}

void ctl_fail(const struct ctl *c, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (c->json) {
		printf("{\"result\":\"error\",");
		json_kv_str(stdout, "error", msg, 0);
		printf("}\n");
	} else
		fprintf(stderr, "tandem: %s\n", msg);
	exit(1);
}

struct hv *ctl_hv(const struct ctl *c)
{
	char err[512];
	struct hv *h = hv_open(c->host, err, sizeof(err));
	if (!h)
		ctl_fail(c, "%s", err);
	return h;
}
