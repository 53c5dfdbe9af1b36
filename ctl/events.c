/*
 * events.c - `tandem events [--follow]`: the cluster's events as this
 * host's fenced tells them (fencing/events.c), oldest first: VMs created,
 * migrated, restarted, taken over, protected; hosts lost, fenced, in
 * maintenance; membership and quorum; fencings.  --follow keeps asking for
 * what comes after the last one seen, 5 times a second, until interrupted;
 * with --json it prints one JSON object a line (JSON Lines), without it one
 * document with every event.
 */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "ctl.h"
#include "fencectl.h"

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

/* one request: prints the events after *seq, moves *seq on; how many */
static size_t batch(struct ctl *c, struct dclient *d, uint64_t *seq, int follow, size_t *printed)
{
	struct msg_out o;
	msg_begin(&o, FC_EVENTS, ++d->seq);
	msg_add_u64(&o, FA_SEQ, *seq);
	dc_call(c, d, &o);
	size_t pos = 0, n = 0;
	const uint8_t *v;
	uint32_t len;
	char err[256], kind[32], name[80], detail[300], when[64];
	while (msg_next(&d->in, FA_EVENT, &pos, &v, &len)) {
		struct msg_in a;
		if (msg_parse_attrs(&fencectl_schema, &fencectl_event_policy, v, len, &a, err,
		    sizeof(err)) < 0)
			ctl_fail(c, "bad reply from fenced: %s", err);
		uint64_t s = msg_u64(&a, FA_SEQ), t = msg_u64(&a, FA_TIME);
		msg_str(&a, FA_KIND, kind, sizeof(kind));
		msg_str(&a, FA_NAME, name, sizeof(name));
		msg_str(&a, FA_DETAIL, detail, sizeof(detail));
		if (*seq && s > *seq + 1 && !c->json)
			printf("(%llu events were dropped before this one: fenced keeps the last 512)\n",
			    (unsigned long long)(s - *seq - 1));
		*seq = s;
		fmt_time(t, when, sizeof(when));
		if (c->json) {
			printf("%s{", follow ? "" : *printed ? "," : "");
			json_kv_u64(stdout, "seq", s, 0);
			json_kv_u64(stdout, "time_ms", t, 1);
			json_kv_str(stdout, "time", when, 1);
			json_kv_str(stdout, "kind", kind, 1);
			json_kv_str(stdout, "name", name, 1);
			json_kv_str(stdout, "detail", detail, 1);
			printf(follow ? "}\n" : "}");
		} else
			printf("%s  %-10s %-12s %s\n", when, kind, name, detail);
		n++;
		(*printed)++;
	}
	if (msg_has(&d->in, FA_SEQ) && msg_u64(&d->in, FA_SEQ) > *seq)
		*seq = msg_u64(&d->in, FA_SEQ);
	fflush(stdout);
	return n;
}

int cmd_events(struct ctl *c, int argc, char **argv)
{
	int follow = 0;
	for (int i = 0; i < argc; i++) {
		if (!strcmp(argv[i], "--follow") || !strcmp(argv[i], "-f"))
			follow = 1;
		else
			ctl_fail(c, "usage: tandem events [--follow]");
	}
	static struct dclient d = { .daemon = "fenced", .schema = &fencectl_schema,
		.err_type = FC_ERR, .errmsg_attr = FA_ERRMSG };
	dc_open(c, &d, c->fenced, "TANDEM_FENCED", FENCED_DEFAULT_SOCK);
	uint64_t seq = 0;
	size_t printed = 0;
	if (c->json && !follow)
		printf("{\"events\":[");
	while (batch(c, &d, &seq, follow, &printed))
		;	/* everything kept, a reply at a time */
	if (c->json && !follow)
		printf("]}\n");
	else if (!printed && !follow && !c->json)
		printf("(no events yet)\n");
	if (!follow)
		return 0;
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	signal(SIGPIPE, on_signal);
	while (!stop) {
		struct timespec ts = { 0, 200000000 };
		nanosleep(&ts, NULL);
		if (!stop)
			batch(c, &d, &seq, follow, &printed);
	}
	return 0;
}
