/*
 * netcheck - the lab's network client: load on a VM's service at a fixed
 * rate, and a check of every answer.
 *
 *   netcheck kv ADDR PORT [--clients N] [--interval-us U] [--duration S]
 *                         [--keys K] [--timeout-ms T] [--gap-ms G] [--json]
 *   netcheck ping ADDR [--interval-us U] [--duration S] [--timeout-ms T] [--json]
 *   netcheck serve ADDR PORT [--duration S]
 *
 * kv: N clients, each on its own UDP socket, each sending one request
 * every U microseconds to the guest's key-value service: puts and gets in
 * turn over K keys of its own (so it knows every value and version it
 * wrote).  Every reply is checked; a contradiction is
 *   - a get that returns a version older than one already acknowledged to
 *     this client before it sent the get (a lost write), or the acknowledged
 *     version with another value;
 *   - a heartbeat (hb=) or served count (n=) smaller than in an earlier
 *     reply to the same client (the guest went back in time).
 * A request without a reply within T ms is lost.  The gap is the time
 * between two consecutive replies to one client (and from the last reply to
 * the end); every gap over G ms is listed with when it began, and (in
 * JSON) every lost request with when it was sent.
 * ping: ICMP echo (a raw socket) at the same fixed rate, gaps and losses.
 *
 * serve: the same KV service as the guest's, on the host, so the client's
 * figures against a VM can stand beside the host's own.
 * Runs for S seconds (0: until SIGINT or SIGTERM), then waits T ms for the
 * last replies and prints a table, or one JSON object with --json.  Exits 0
 * when nothing contradicted, 1 when something did, 2 on a usage or socket
 * error.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/ip.h>
#include <netinet/ip_icmp.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_CLIENTS	64
#define RING		8192	/* outstanding requests per client */
#define MAX_KEYS	256
#define HIST_US		2000000	/* RTT histogram: 1 us buckets up to 2 s */
#define MAX_GAPS	20000
#define MAX_LOST	2000	/* lost requests listed (when each was sent) */

struct req {
	uint64_t id, sent_us;
	int key, is_put, live;
	uint64_t floor;		/* the key's acknowledged version when the get was sent */
	char val[48];
};

struct keyst {
	uint64_t acked;		/* highest version acknowledged to us */
	char acked_val[48];
	int val_known;
};

struct gap { uint64_t start_us, len_us; int client; };

struct client {
	int fd;
	uint64_t next_id, next_send_us, last_reply_us;
	uint64_t sent, replies, lost, unexpected, contradictions, max_gap_us, max_gap_at;
	uint64_t last_hb, last_n;
	int have_last;
	struct req ring[RING];
	struct keyst keys[MAX_KEYS];
};

struct run {
	int kv, json, nclients, nkeys;
	uint64_t interval_us, duration_us, timeout_us, gap_us, t0_us, t0_real_ms;
	struct sockaddr_in to;
	struct client *c;
	uint32_t *hist;
	uint64_t nrtt;
	struct gap gaps[MAX_GAPS];
	int ngaps, gaps_dropped;
	struct gap lost[MAX_LOST];	/* start_us: when it was sent; client */
	int nlost;
	char first_contradiction[256];
};

static volatile sig_atomic_t stop;
static void on_signal(int s) { (void)s; stop = 1; }

static uint64_t now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

static void usage(void)
{
	fprintf(stderr, "usage: netcheck kv ADDR PORT [--clients N] [--interval-us U] [--duration S]\n"
	    "                   [--keys K] [--timeout-ms T] [--gap-ms G] [--json]\n"
	    "       netcheck ping ADDR [--interval-us U] [--duration S] [--timeout-ms T] [--json]\n"
	    "       netcheck serve ADDR PORT [--duration S]\n");
	exit(2);
}

static void contradiction(struct run *r, struct client *c, const char *fmt, ...)
{
	va_list ap;
	c->contradictions++;
	if (r->first_contradiction[0])
		return;
	va_start(ap, fmt);
	vsnprintf(r->first_contradiction, sizeof(r->first_contradiction), fmt, ap);
	va_end(ap);
}

static void note_gap(struct run *r, struct client *c, int ci, uint64_t from, uint64_t to)
{
	uint64_t g = to - from;
	if (g > c->max_gap_us) {
		c->max_gap_us = g;
		c->max_gap_at = from - r->t0_us;
	}
	if (g > r->gap_us) {
		if (r->ngaps < MAX_GAPS)
			r->gaps[r->ngaps++] = (struct gap){ from - r->t0_us, g, ci };
		else
			r->gaps_dropped++;
	}
}

static void send_kv(struct run *r, struct client *c, int ci, uint64_t t)
{
	uint64_t id = c->next_id++;
	struct req *q = &c->ring[id % RING];
	char msg[128];
	int n;

	if (q->live) {	/* still unanswered after RING requests: lost */
		c->lost++;
		q->live = 0;
	}
	*q = (struct req){ .id = id, .sent_us = t, .live = 1 };
	q->key = (int)((id / 2) % (uint64_t)r->nkeys);
	q->is_put = !(id & 1);
	if (q->is_put) {
		snprintf(q->val, sizeof(q->val), "c%d.%llu", ci, (unsigned long long)id);
		n = snprintf(msg, sizeof(msg), "%llu put c%dk%d %s", (unsigned long long)id, ci, q->key,
		    q->val);
	} else {
		q->floor = c->keys[q->key].acked;
		n = snprintf(msg, sizeof(msg), "%llu get c%dk%d", (unsigned long long)id, ci, q->key);
	}
	if (send(c->fd, msg, (size_t)n, 0) == n)
		c->sent++;
	else
		q->live = 0;	/* not sent (e.g. no route yet): neither sent nor lost */
}

static void send_ping(struct run *r, struct client *c, uint64_t t)
{
	uint64_t id = c->next_id++;
	struct req *q = &c->ring[id % RING];
	struct icmphdr h;
	uint8_t pkt[64];
	(void)r;
	if (q->live) {
		c->lost++;
		q->live = 0;
	}
	*q = (struct req){ .id = id, .sent_us = t, .live = 1 };
	memset(&h, 0, sizeof(h));
	h.type = ICMP_ECHO;
	h.un.echo.id = htons((uint16_t)getpid());
	h.un.echo.sequence = htons((uint16_t)id);
	memset(pkt, 0xa5, sizeof(pkt));
	memcpy(pkt, &h, sizeof(h));
	uint32_t sum = 0;
	for (size_t i = 0; i < sizeof(pkt); i += 2)
		sum += (uint32_t)(pkt[i] << 8 | pkt[i + 1]);
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	uint16_t ck = htons((uint16_t)~sum);
	memcpy(pkt + 2, &ck, 2);
	if (sendto(c->fd, pkt, sizeof(pkt), 0, (struct sockaddr *)&r->to, sizeof(r->to)) ==
	    (ssize_t)sizeof(pkt))
		c->sent++;
	else
		q->live = 0;
}

/* "ID ok V hb=H n=N" | "ID val V VALUE hb=H n=N" | "ID none hb=H n=N" */
static void kv_reply(struct run *r, struct client *c, int ci, char *m, uint64_t t)
{
	char op[8] = "", a2[64] = "", a3[64] = "";
	unsigned long long id, hb = 0, n = 0;
	char *p;

	if (sscanf(m, "%llu %7s", &id, op) != 2) {
		c->unexpected++;
		return;
	}
	struct req *q = &c->ring[id % RING];
	if (!q->live || q->id != id) {
		c->unexpected++;	/* late (already counted lost) or never sent */
		return;
	}
	q->live = 0;
	if ((p = strstr(m, " hb=")))
		hb = strtoull(p + 4, NULL, 10);
	if ((p = strstr(m, " n=")))
		n = strtoull(p + 3, NULL, 10);
	if (c->have_last && (hb < c->last_hb || n <= c->last_n))
		contradiction(r, c, "client %d: reply %llu has hb=%llu n=%llu after hb=%llu n=%llu",
		    ci, id, hb, n, (unsigned long long)c->last_hb, (unsigned long long)c->last_n);
	c->last_hb = hb;
	c->last_n = n;
	c->have_last = 1;
	struct keyst *k = &c->keys[q->key];
	if (!strcmp(op, "ok") && q->is_put && sscanf(m, "%*u %*s %63s", a2) == 1) {
		uint64_t v = strtoull(a2, NULL, 10);
		if (v <= k->acked)
			contradiction(r, c, "client %d: put %llu of c%dk%d acknowledged version %llu, "
			    "not above %llu", ci, id, ci, q->key, (unsigned long long)v,
			    (unsigned long long)k->acked);
		else {
			k->acked = v;
			memcpy(k->acked_val, q->val, sizeof(k->acked_val));
			k->val_known = 1;
		}
	} else if (!strcmp(op, "val") && !q->is_put && sscanf(m, "%*u %*s %63s %63s", a2, a3) == 2) {
		uint64_t v = strtoull(a2, NULL, 10);
		if (v < q->floor)
			contradiction(r, c, "client %d: get %llu of c%dk%d returned version %llu, older "
			    "than the acknowledged %llu", ci, id, ci, q->key, (unsigned long long)v,
			    (unsigned long long)q->floor);
		else if (v == k->acked && k->val_known && strcmp(a3, k->acked_val))
			contradiction(r, c, "client %d: get %llu of c%dk%d returned '%s' at version %llu, "
			    "acknowledged as '%s'", ci, id, ci, q->key, a3, (unsigned long long)v,
			    k->acked_val);
		if (v > k->acked) {	/* a put whose reply we lost */
			k->acked = v;
			k->val_known = 0;
		}
	} else if (!strcmp(op, "none") && !q->is_put) {
		if (q->floor)
			contradiction(r, c, "client %d: get %llu of c%dk%d found nothing after version "
			    "%llu was acknowledged", ci, id, ci, q->key, (unsigned long long)q->floor);
	} else {
		c->unexpected++;
		return;
	}
	c->replies++;
	uint64_t rtt = t - q->sent_us;
	r->hist[rtt < HIST_US ? rtt : HIST_US - 1]++;
	r->nrtt++;
	if (c->last_reply_us)
		note_gap(r, c, ci, c->last_reply_us, t);
	c->last_reply_us = t;
}

static void ping_reply(struct run *r, struct client *c, uint8_t *b, ssize_t len, uint64_t t)
{
	struct iphdr *ip = (struct iphdr *)b;
	if (len < (ssize_t)sizeof(*ip) || len < ip->ihl * 4 + (ssize_t)sizeof(struct icmphdr))
		return;
	struct icmphdr *h = (struct icmphdr *)(b + ip->ihl * 4);
	if (h->type != ICMP_ECHOREPLY || ntohs(h->un.echo.id) != (uint16_t)getpid() ||
	    ip->saddr != r->to.sin_addr.s_addr)
		return;
	uint16_t seq = ntohs(h->un.echo.sequence);
	/* the newest request with this 16-bit sequence */
	uint64_t id = c->next_id ? c->next_id - 1 : 0;
	while (id && (uint16_t)id != seq)
		id--;
	struct req *q = &c->ring[id % RING];
	if (!q->live || q->id != id) {
		c->unexpected++;
		return;
	}
	q->live = 0;
	c->replies++;
	uint64_t rtt = t - q->sent_us;
	r->hist[rtt < HIST_US ? rtt : HIST_US - 1]++;
	r->nrtt++;
	if (c->last_reply_us)
		note_gap(r, c, 0, c->last_reply_us, t);
	c->last_reply_us = t;
}

static void expire(struct run *r, struct client *c, uint64_t t)
{
	for (int i = 0; i < RING; i++)
		if (c->ring[i].live && t - c->ring[i].sent_us > r->timeout_us) {
			c->ring[i].live = 0;
			c->lost++;
			if (r->nlost < MAX_LOST)
				r->lost[r->nlost++] = (struct gap){ c->ring[i].sent_us - r->t0_us, 0,
				    (int)(c - r->c) };
		}
}

static double pct(const struct run *r, double p)
{
	uint64_t want = (uint64_t)(p * (double)r->nrtt), seen = 0;
	for (uint64_t i = 0; i < HIST_US; i++)
		if ((seen += r->hist[i]) > want)
			return (double)i / 1000.0;
	return 0;
}

static void report(struct run *r, uint64_t end)
{
	uint64_t sent = 0, rep = 0, lost = 0, unexp = 0, contra = 0, gap = 0, gap_at = 0;
	for (int i = 0; i < r->nclients; i++) {
		struct client *c = &r->c[i];
		if (c->last_reply_us && end > c->last_reply_us)	/* the silence at the end too */
			note_gap(r, c, i, c->last_reply_us, end);
		sent += c->sent, rep += c->replies, lost += c->lost, unexp += c->unexpected;
		contra += c->contradictions;
		if (c->max_gap_us > gap)
			gap = c->max_gap_us, gap_at = c->max_gap_at;
	}
	if (r->json) {
		printf("{\"mode\":\"%s\",\"clients\":%d,\"interval_us\":%llu,\"sent\":%llu,"
		    "\"replies\":%llu,\"lost\":%llu,\"unexpected\":%llu,\"contradictions\":%llu,"
		    "\"max_gap_ms\":%.3f,\"max_gap_at_ms\":%.1f,\"rtt_p50_ms\":%.3f,\"rtt_p99_ms\":%.3f,"
		    "\"start_unix_ms\":%llu,", r->kv ? "kv" : "ping", r->nclients,
		    (unsigned long long)r->interval_us, (unsigned long long)sent, (unsigned long long)rep,
		    (unsigned long long)lost, (unsigned long long)unexp, (unsigned long long)contra,
		    (double)gap / 1000, (double)gap_at / 1000, pct(r, 0.5), pct(r, 0.99),
		    (unsigned long long)r->t0_real_ms);
		printf("\"first_contradiction\":\"%s\",\"gaps\":[", r->first_contradiction);
		for (int i = 0; i < r->ngaps; i++)
			printf("%s{\"at_ms\":%.1f,\"ms\":%.3f,\"client\":%d}", i ? "," : "",
			    (double)r->gaps[i].start_us / 1000, (double)r->gaps[i].len_us / 1000,
			    r->gaps[i].client);
		printf("],\"lost_at\":[");	/* when each lost request was sent (the first MAX_LOST) */
		for (int i = 0; i < r->nlost; i++)
			printf("%s{\"at_ms\":%.1f,\"client\":%d}", i ? "," : "",
			    (double)r->lost[i].start_us / 1000, r->lost[i].client);
		printf("],\"per_client\":[");
		for (int i = 0; i < r->nclients; i++) {
			struct client *c = &r->c[i];
			printf("%s{\"sent\":%llu,\"replies\":%llu,\"lost\":%llu,\"contradictions\":%llu,"
			    "\"max_gap_ms\":%.3f}", i ? "," : "", (unsigned long long)c->sent,
			    (unsigned long long)c->replies, (unsigned long long)c->lost,
			    (unsigned long long)c->contradictions, (double)c->max_gap_us / 1000);
		}
		printf("]}\n");
	} else {
		printf("%-8s %9s %9s %7s %7s %9s %10s\n", "client", "sent", "replies", "lost",
		    "late", "contra", "max gap ms");
		for (int i = 0; i < r->nclients; i++) {
			struct client *c = &r->c[i];
			printf("%-8d %9llu %9llu %7llu %7llu %9llu %10.3f\n", i,
			    (unsigned long long)c->sent, (unsigned long long)c->replies,
			    (unsigned long long)c->lost, (unsigned long long)c->unexpected,
			    (unsigned long long)c->contradictions, (double)c->max_gap_us / 1000);
		}
		printf("%-8s %9llu %9llu %7llu %7llu %9llu %10.3f\n", "all", (unsigned long long)sent,
		    (unsigned long long)rep, (unsigned long long)lost, (unsigned long long)unexp,
		    (unsigned long long)contra, (double)gap / 1000);
		printf("rtt p50 %.3f ms, p99 %.3f ms; longest gap %.3f ms at +%.1f ms; %d gaps over "
		    "%.1f ms\n", pct(r, 0.5), pct(r, 0.99), (double)gap / 1000, (double)gap_at / 1000,
		    r->ngaps + r->gaps_dropped, (double)r->gap_us / 1000);
		if (r->first_contradiction[0])
			printf("first contradiction: %s\n", r->first_contradiction);
	}
}

static uint64_t num(const char *s, const char *what)
{
	char *end;
	unsigned long long v = strtoull(s, &end, 10);
	if (!*s || *end) {
		fprintf(stderr, "netcheck: bad %s '%s'\n", what, s);
		exit(2);
	}
	return v;
}

/* the guest's KV protocol on the host: a table of versions and values */
static int serve(const struct sockaddr_in *at, uint64_t duration_us)
{
	static struct { char key[32], val[64]; uint64_t version; } tab[4096];
	uint64_t served = 0, end = duration_us ? now_us() + duration_us : UINT64_MAX;
	int fd = socket(AF_INET, SOCK_DGRAM, 0);
	if (fd < 0 || bind(fd, (const struct sockaddr *)at, sizeof(*at)) < 0) {
		perror("netcheck: serve");
		return 2;
	}
	while (!stop && now_us() < end) {
		char m[512], key[32], val[64], rep[256];
		unsigned long long id;
		struct sockaddr_in from;
		socklen_t fl = sizeof(from);
		struct pollfd p = { fd, POLLIN, 0 };
		if (poll(&p, 1, 100) <= 0)
			continue;
		ssize_t n = recvfrom(fd, m, sizeof(m) - 1, 0, (struct sockaddr *)&from, &fl);
		if (n <= 0)
			continue;
		m[n] = 0;
		served++;
		int k = -1, put = sscanf(m, "%llu put %31s %63s", &id, key, val) == 3;
		if (!put && sscanf(m, "%llu get %31s", &id, key) != 2)
			continue;
		uint32_t h = 2166136261U;
		for (char *c = key; *c; c++)
			h = (h ^ (uint8_t)*c) * 16777619U;
		for (unsigned i = 0; i < 4096 && k < 0; i++) {
			unsigned s = (h + i) % 4096;
			if (!tab[s].key[0] || !strcmp(tab[s].key, key))
				k = (int)s;
		}
		int rl;
		if (k < 0)
			rl = snprintf(rep, sizeof(rep), "%llu err full", id);
		else if (put) {
			snprintf(tab[k].key, sizeof(tab[k].key), "%s", key);
			snprintf(tab[k].val, sizeof(tab[k].val), "%s", val);
			rl = snprintf(rep, sizeof(rep), "%llu ok %llu hb=0 n=%llu", id,
			    (unsigned long long)++tab[k].version, (unsigned long long)served);
		} else if (tab[k].key[0])
			rl = snprintf(rep, sizeof(rep), "%llu val %llu %s hb=0 n=%llu", id,
			    (unsigned long long)tab[k].version, tab[k].val, (unsigned long long)served);
		else
			rl = snprintf(rep, sizeof(rep), "%llu none hb=0 n=%llu", id,
			    (unsigned long long)served);
		sendto(fd, rep, (size_t)rl, 0, (struct sockaddr *)&from, fl);
	}
	close(fd);
	return 0;
}

int main(int argc, char **argv)
{
	static struct run r;
	int ai;

	if (argc < 3)
		usage();
	if (!strcmp(argv[1], "serve")) {
		struct sockaddr_in at = { .sin_family = AF_INET };
		if (argc < 4 || inet_pton(AF_INET, argv[2], &at.sin_addr) != 1)
			usage();
		at.sin_port = htons((uint16_t)num(argv[3], "port"));
		signal(SIGINT, on_signal);
		signal(SIGTERM, on_signal);
		return serve(&at, argc >= 6 && !strcmp(argv[4], "--duration") ?
		    num(argv[5], "duration") * 1000000 : 0);
	}
	r.kv = !strcmp(argv[1], "kv");
	if (!r.kv && strcmp(argv[1], "ping"))
		usage();
	r.to.sin_family = AF_INET;
	if (inet_pton(AF_INET, argv[2], &r.to.sin_addr) != 1) {
		fprintf(stderr, "netcheck: bad address '%s'\n", argv[2]);
		return 2;
	}
	ai = 3;
	if (r.kv) {
		if (argc < 4)
			usage();
		r.to.sin_port = htons((uint16_t)num(argv[3], "port"));
		ai = 4;
	}
	r.nclients = r.kv ? 3 : 1;
	r.nkeys = 16;
	r.interval_us = 1000;
	r.timeout_us = 1000000;
	r.gap_us = 5000;
	for (; ai < argc; ai++) {
		const char *a = argv[ai], *v = ai + 1 < argc ? argv[ai + 1] : NULL;
		if (!strcmp(a, "--json")) {
			r.json = 1;
			continue;
		}
		if (!v)
			usage();
		ai++;
		if (!strcmp(a, "--clients") && r.kv)
			r.nclients = (int)num(v, a);
		else if (!strcmp(a, "--interval-us"))
			r.interval_us = num(v, a);
		else if (!strcmp(a, "--duration"))
			r.duration_us = num(v, a) * 1000000;
		else if (!strcmp(a, "--keys") && r.kv)
			r.nkeys = (int)num(v, a);
		else if (!strcmp(a, "--timeout-ms"))
			r.timeout_us = num(v, a) * 1000;
		else if (!strcmp(a, "--gap-ms"))
			r.gap_us = num(v, a) * 1000;
		else
			usage();
	}
	if (r.nclients < 1 || r.nclients > MAX_CLIENTS || r.nkeys < 1 || r.nkeys > MAX_KEYS ||
	    r.interval_us < 100) {
		fprintf(stderr, "netcheck: 1-%d clients, 1-%d keys, an interval of 100 us or more\n",
		    MAX_CLIENTS, MAX_KEYS);
		return 2;
	}
	r.c = calloc((size_t)r.nclients, sizeof(*r.c));
	r.hist = calloc(HIST_US, sizeof(*r.hist));
	if (!r.c || !r.hist) {
		perror("netcheck");
		return 2;
	}
	for (int i = 0; i < r.nclients; i++) {
		struct client *c = &r.c[i];
		c->fd = r.kv ? socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0) :
		    socket(AF_INET, SOCK_RAW | SOCK_NONBLOCK, IPPROTO_ICMP);
		if (c->fd < 0 || (r.kv && connect(c->fd, (struct sockaddr *)&r.to, sizeof(r.to)) < 0)) {
			perror("netcheck: socket");
			return 2;
		}
	}
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	struct timespec rt;
	clock_gettime(CLOCK_REALTIME, &rt);
	r.t0_real_ms = (uint64_t)rt.tv_sec * 1000 + (uint64_t)rt.tv_nsec / 1000000;
	r.t0_us = now_us();
	for (int i = 0; i < r.nclients; i++)	/* spread the clients over the interval */
		r.c[i].next_send_us = r.t0_us + r.interval_us * (uint64_t)i / (uint64_t)r.nclients;

	uint64_t end_send = r.duration_us ? r.t0_us + r.duration_us : UINT64_MAX, drain_end = 0;
	uint64_t last_expire = r.t0_us;
	struct pollfd *pf = calloc((size_t)r.nclients, sizeof(*pf));
	for (;;) {
		uint64_t t = now_us();
		if ((stop || t >= end_send) && !drain_end)
			drain_end = t + r.timeout_us;
		if (drain_end && t >= drain_end)
			break;
		uint64_t next = drain_end ? drain_end : UINT64_MAX;
		for (int i = 0; i < r.nclients; i++) {
			struct client *c = &r.c[i];
			if (!drain_end && t >= c->next_send_us) {
				if (r.kv)
					send_kv(&r, c, i, t);
				else
					send_ping(&r, c, t);
				c->next_send_us += r.interval_us;
				if (c->next_send_us < t)	/* we fell behind: no burst */
					c->next_send_us = t + r.interval_us;
			}
			if (!drain_end && c->next_send_us < next)
				next = c->next_send_us;
			pf[i] = (struct pollfd){ c->fd, POLLIN, 0 };
		}
		uint64_t wait_us = next > t ? next - t : 0;
		if (wait_us > 100000)
			wait_us = 100000;
		struct timespec wt = { 0, (long)wait_us * 1000 };
		if (ppoll(pf, (nfds_t)r.nclients, &wt, NULL) < 0 && errno != EINTR)
			break;
		for (int i = 0; i < r.nclients; i++) {
			uint8_t buf[2048];
			ssize_t n;
			while ((n = recv(r.c[i].fd, buf, sizeof(buf) - 1, 0)) > 0) {
				uint64_t tr = now_us();
				if (r.kv) {
					buf[n] = 0;
					kv_reply(&r, &r.c[i], i, (char *)buf, tr);
				} else
					ping_reply(&r, &r.c[i], buf, n, tr);
			}
		}
		t = now_us();
		if (t - last_expire > 100000) {
			for (int i = 0; i < r.nclients; i++)
				expire(&r, &r.c[i], t);
			last_expire = t;
		}
	}
	uint64_t end = now_us();
	for (int i = 0; i < r.nclients; i++) {
		struct client *c = &r.c[i];
		for (int k = 0; k < RING; k++)
			if (c->ring[k].live) {
				c->ring[k].live = 0;
				c->lost++;
			}
	}
	/* the silence after the last reply counts up to when sending stopped */
	report(&r, drain_end ? drain_end - r.timeout_us : end);
	uint64_t contra = 0;
	for (int i = 0; i < r.nclients; i++) {
		contra += r.c[i].contradictions;
		close(r.c[i].fd);
	}
	free(pf);
	free(r.c);
	free(r.hist);
	return contra ? 1 : 0;
}
