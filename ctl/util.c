/* util.c - CLI helpers: sizes with suffixes, errors (plain or --json), connecting. */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ctl.h"
#include "sock.h"

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

void dc_open(const struct ctl *c, struct dclient *d, const char *path, const char *env, const char *def)
{
	const char *p = getenv(env);
	p = path ? path : p ? p : def;
	if ((d->fd = sock_connect(p)) < 0)
		ctl_fail(c, "cannot reach %s at %s: %s (is it running? systemctl start tandem-%s, or "
		    "name its socket with --%s or tandem.conf)", d->daemon, p, strerror(errno), d->daemon,
		    d->daemon);
}

void dc_call(const struct ctl *c, struct dclient *d, struct msg_out *o)
{
	char err[512];
	if (msg_end(o) < 0 || sock_send(d->fd, o->buf, o->len, NULL, 0) < 0)
		ctl_fail(c, "%s: %s", d->daemon, strerror(errno));
	msg_free(o);
	ssize_t n = sock_recv(d->fd, d->buf, sizeof(d->buf), NULL, NULL);
	if (n <= 0)
		ctl_fail(c, "%s closed the connection", d->daemon);
	if (msg_parse(d->schema, d->buf, (size_t)n, &d->in, err, sizeof(err)) < 0)
		ctl_fail(c, "bad reply from %s: %s", d->daemon, err);
	if (d->in.type == d->err_type)
		ctl_fail(c, "%s", msg_str(&d->in, d->errmsg_attr, err, sizeof(err)));
}

void fmt_time(uint64_t ms, char *out, size_t cap)
{
	time_t t = (time_t)(ms / 1000);
	struct tm tm;
	localtime_r(&t, &tm);
	size_t n = strftime(out, cap, "%Y-%m-%d %H:%M:%S", &tm);
	snprintf(out + n, cap - n, ".%03u", (unsigned)(ms % 1000));
}
