/*
 * remustool.c - Remus' two sides (remusd/epoch.c, remusd/shadow.c) on one
 * hvd, for tests and bench/remus.
 *
 *   remustool [-s SOCK] protect NAME SHADOW EPOCHS EPOCH_MS [--no-hold] [--ack-delay MS]
 *             [--cut|--spoil HOW]
 *   remustool memcpy MIB        this host's memcpy rate (the staging copy's floor)
 *
 * REMUSTOOL_TRACE=1 prints each epoch's figures to stderr as it goes.
 *
 * Protects running NAME into a paused shadow domain SHADOW (a thread runs
 * the backup's side over a socket pair), epoch after epoch, EPOCH_MS apart
 * (as remusd takes them: the next while the last waits for its
 * acknowledgement), EPOCHS times, and waits for the last acknowledgement;
 * then fails over as if NAME's host had
 * died: NAME is destroyed, the stream ends (with --cut, in the middle of one
 * more epoch, which the shadow must then not have), and SHADOW resumes from
 * the last epoch it acknowledged.  --no-hold lets NAME's output out at once
 * (no output commit: what a client was told may be lost).  --ack-delay
 * puts the backup MS away: its answers come MS later (a round trip of MS).
 * --spoil sends
 * one more epoch whole but bad: "flip" (a byte of it flipped), "skip"
 * (numbered as if one had been lost on the way), "replay" (numbered as the
 * last one again); the shadow must refuse it and keep the last good one.
 * Prints
 * key=value lines: epoch 1's pause (the end of the initial copy), then
 * over the epochs after it the pause (p50, p99, max), dirty pages and bytes
 * (p50), the epoch length achieved, the most the guest was throttled, and
 * the shadow's epoch.
 */
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "ckpt.h"
#include "hv.h"
#include "remus.h"

static const char *sock_path;

static double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static struct hv *open_hv(void)
{
	char err[400];
	struct hv *h = hv_open(sock_path, err, sizeof(err));
	if (!h) {
		fprintf(stderr, "remustool: %s\n", err);
		exit(1);
	}
	return h;
}

struct backup_arg {
	struct shadow s;
	int fd;		/* its end of the stream */
};

/*
 * --ack-delay: a far backup.  A relay between the two ends passes the
 * stream on at once and the backup's answers delay_ms after they came, as
 * a round trip of delay_ms would, without slowing the backup itself.
 * Either end closing closes the other.
 */
struct relay {
	int primary, backup;	/* the relay's ends */
	int delay_ms;
};

#define RELAY_HELD	64
static void *relay(void *arg)
{
	struct relay *rl = arg;
	struct { double due; size_t len; uint8_t b[512]; } q[RELAY_HELD];
	size_t head = 0, n = 0;
	uint8_t buf[65536];
	for (;;) {
		int wait = -1;
		if (n) {
			double left = q[head].due - now_ms();
			if (left <= 0) {
				if (write(rl->primary, q[head].b, q[head].len) != (ssize_t)q[head].len)
					break;
				head = (head + 1) % RELAY_HELD, n--;
				continue;
			}
			wait = (int)left + 1;
		}
		struct pollfd pf[2] = { { rl->primary, POLLIN, 0 }, { rl->backup, n < RELAY_HELD ? POLLIN : 0, 0 } };
		if (poll(pf, 2, wait) < 0)
			break;
		if (pf[0].revents) {	/* the stream, on at once */
			ssize_t k = read(rl->primary, buf, sizeof(buf));
			if (k <= 0 || write(rl->backup, buf, (size_t)k) != k)
				break;
		}
		if (pf[1].revents) {	/* an answer, on after delay_ms */
			size_t at = (head + n) % RELAY_HELD;
			ssize_t k = read(rl->backup, q[at].b, sizeof(q[at].b));
			if (k <= 0)
				break;
			q[at].len = (size_t)k;
			q[at].due = now_ms() + rl->delay_ms;
			n++;
		}
	}
	shutdown(rl->primary, SHUT_RDWR);
	shutdown(rl->backup, SHUT_RDWR);
	return NULL;
}

/* The backup's side; when it stops (the stream broke, or it refused what
 * came), its end closes, so the primary's next write fails. */
static void *backup(void *arg)
{
	struct backup_arg *b = arg;
	b->s.h = open_hv();
	if (shadow_run(&b->s) < 0 || b->s.err[0])
		fprintf(stderr, "remustool: the backup stopped: %s\n", b->s.err);
	shutdown(b->fd, SHUT_RDWR);
	return NULL;
}

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static double pct(double *v, int n, double p)
{
	qsort(v, (size_t)n, sizeof(*v), cmp);
	int i = (int)(p / 100 * (n - 1) + 0.5);
	return n ? v[i] : 0;
}

/* one more epoch, sent whole but spoiled as how says: 0, or -1 */
static int send_spoiled(struct primary *p, struct rio *peer, const char *how)
{
	const uint8_t *b;
	size_t len;
	uint64_t taken = p->taken;
	if (!strcmp(how, "skip"))
		p->taken++;
	else if (!strcmp(how, "replay"))
		p->taken--;
	else if (strcmp(how, "flip"))
		return fprintf(stderr, "remustool: --spoil flip, skip or replay\n"), -1;
	if (primary_checkpoint(p) < 0 || primary_encode(p, &b, &len) < 0)
		return fprintf(stderr, "remustool: %s\n", p->err), -1;
	p->taken = taken;
	uint8_t *copy = malloc(len);
	memcpy(copy, b, len);
	if (!strcmp(how, "flip"))
		copy[len / 2] ^= 0x10;
	rio_write(peer, copy, len);
	rio_flush(peer);
	free(copy);
	usleep(100000);	/* let the shadow take it in, and refuse it */
	return 0;
}

static int do_protect(const char *name, const char *shadow_name, int epochs, int epoch_ms,
    int hold, int delay_ms, int cut, const char *spoil)
{
	int sv[2];
	struct backup_arg ba = { 0 };
	struct shadow *sp = &ba.s;
	struct primary p = { 0 };	/* primary_start keeps its progress hook: none */
	pthread_t t;

	if (epochs < 2 || epochs > 100000 || epoch_ms < 1 || socketpair(AF_UNIX, SOCK_STREAM, 0, sv) < 0) {
		fprintf(stderr, "remustool: bad arguments\n");
		return 2;
	}
	int far[2] = { -1, -1 };
	struct relay rl = { sv[1], -1, delay_ms };
	pthread_t rt;
	if (delay_ms > 0) {	/* the backup at the far end of a relay */
		if (socketpair(AF_UNIX, SOCK_STREAM, 0, far) < 0)
			return fprintf(stderr, "remustool: socketpair\n"), 2;
		rl.backup = far[0];
		pthread_create(&rt, NULL, relay, &rl);
		sv[1] = far[1];
	}
	snprintf(sp->name, sizeof(sp->name), "%s", shadow_name);
	sp->r = rio_fd_open(sv[1], 1);
	ba.fd = sv[1];
	pthread_create(&t, NULL, backup, &ba);
	struct hv *h = open_hv();
	struct rio *peer = rio_fd_open(sv[0], 0);
	double *pause = calloc((size_t)epochs, sizeof(double)), *pages = calloc((size_t)epochs, sizeof(double));
	double *bytes = calloc((size_t)epochs, sizeof(double));
	double *ph[6];	/* call, stage, resume; inside the hypervisor: park, peek, state */
	for (int i = 0; i < 6; i++)
		ph[i] = calloc((size_t)epochs, sizeof(double));
	double t0 = now_ms();
	if (primary_start(&p, h, name, peer, hold) < 0) {
		fprintf(stderr, "remustool: protecting %s: %s\n", name, p.err);
		return 1;
	}
	double t1 = now_ms();
	/* epoch 1 ends the initial copy, as a migration's stop-and-copy: apart */
	printf("initial_ms=%.1f epoch1_pause_ms=%.3f epoch1_pages=%llu\n", t1 - t0,
	    (double)p.pause_ns / 1e6, (unsigned long long)p.pages);
	int n = 0;
	for (int e = 1; e < epochs; e++) {
		double due = t1 + (double)e * epoch_ms;
		if (primary_acks(&p, 0, (uint64_t)(due * 1e6)) < 0 || primary_step(&p) < 0 ||
		    primary_pace(&p, (uint64_t)epoch_ms * 1000000) < 0) {
			fprintf(stderr, "remustool: epoch %d: %s\n", e + 1, p.err);
			return 1;
		}
		ph[0][n] = (double)p.call_ns / 1e6, ph[1][n] = (double)p.stage_ns / 1e6;
		ph[2][n] = (double)p.resume_ns / 1e6, ph[3][n] = (double)p.park_ns / 1e6;
		ph[4][n] = (double)p.peek_ns / 1e6, ph[5][n] = (double)p.state_ns / 1e6;
		pause[n] = (double)p.pause_ns / 1e6, pages[n] = (double)p.pages, bytes[n++] = (double)p.bytes;
		if (getenv("REMUSTOOL_TRACE"))
			fprintf(stderr, "epoch %llu pause %.3f pages %llu copy %.3f park %.3f peek %.3f state %.3f call %.3f send %.3f throttle %u\n", (unsigned long long)p.epoch, (double)p.pause_ns / 1e6, (unsigned long long)p.pages, (double)p.stage_ns / 1e6, (double)p.park_ns / 1e6, (double)p.peek_ns / 1e6, (double)p.state_ns / 1e6, (double)p.call_ns / 1e6, (double)p.send_ns / 1e6, p.throttle);
	}
	double achieved = n ? (now_ms() - t1) / n : 0;
	if (primary_acks(&p, p.taken, 0) < 0) {	/* the last ones in flight */
		fprintf(stderr, "remustool: %s\n", p.err);
		return 1;
	}
	uint64_t sent = p.epoch;
	if (cut && primary_checkpoint(&p) == 0) {	/* one more, half sent */
		size_t len;
		const uint8_t *b;
		if (primary_encode(&p, &b, &len) < 0) {
			fprintf(stderr, "remustool: %s\n", p.err);
			return 1;
		}
		rio_write(peer, b, len / 2);
		rio_flush(peer);
		usleep(50000);	/* let the shadow take in the half it gets */
	}
	if (spoil && send_spoiled(&p, peer, spoil) < 0)
		return 1;
	/* the primary's host dies: its VM, then its stream */
	h->ops->domain_destroy(h, name);
	primary_stop(&p, 0);
	shutdown(sv[0], SHUT_RDWR);
	pthread_join(t, NULL);
	if (delay_ms > 0) {
		pthread_join(rt, NULL);
		close(rl.primary);
		close(rl.backup);
	}
	printf("epochs=%d epoch_target_ms=%d epoch_ms=%.2f\n", n, epoch_ms, achieved);
	printf("pause_p50_ms=%.3f pause_p99_ms=%.3f pause_max_ms=%.3f\n", pct(pause, n, 50),
	    pct(pause, n, 99), pct(pause, n, 100));
	printf("call_p50_ms=%.3f stage_p50_ms=%.3f resume_p50_ms=%.3f park_p50_ms=%.3f "
	    "peek_p50_ms=%.3f state_p50_ms=%.3f\n", pct(ph[0], n, 50), pct(ph[1], n, 50),
	    pct(ph[2], n, 50), pct(ph[3], n, 50), pct(ph[4], n, 50), pct(ph[5], n, 50));
	printf("pages_p50=%.0f bytes_p50=%.0f throttle_max_pct=%u\n", pct(pages, n, 50), pct(bytes, n, 50),
	    p.throttle_max);
	printf("acknowledged=%llu shadow_epoch=%llu\n", (unsigned long long)sent,
	    (unsigned long long)sp->epoch);
	int rc = 0;
	if (!sp->epoch) {
		fprintf(stderr, "remustool: the shadow holds no epoch: %s\n", sp->err);
		rc = 1;
	} else if (sp->h->ops->domain_unpause(sp->h, sp->name) < 0) {
		fprintf(stderr, "remustool: resuming the shadow: %s\n", hv_error(sp->h));
		rc = 1;
	} else
		printf("failover=%s resumed from epoch %llu\n", sp->name, (unsigned long long)sp->epoch);
	rio_close(peer);
	rio_close(sp->r);
	sp->h->ops->close(sp->h);
	h->ops->close(h);
	free(pause);
	free(pages);
	free(bytes);
	for (int i = 0; i < 6; i++)
		free(ph[i]);
	return rc;
}

static int do_memcpy(int mib)
{
	size_t n = (size_t)mib << 20;
	uint8_t *a = malloc(n), *b = malloc(n);
	if (!a || !b || mib < 1)
		return 2;
	memset(a, 1, n);
	memset(b, 2, n);	/* both touched: no first-touch faults in the timing */
	double best = 0;
	for (int i = 0; i < 5; i++) {
		double t = now_ms();
		memcpy(b, a, n);
		double gbps = (double)n / ((now_ms() - t) / 1e3) / 1e9;
		if (gbps > best)
			best = gbps;
	}
	printf("memcpy_gbps=%.2f check=%d\n", best, b[n - 1]);
	free(a);
	free(b);
	return 0;
}

int main(int argc, char **argv)
{
	/* a shadow that refuses an epoch closes its end mid-epoch: the primary's
	 * write then fails with EPIPE (as in remusd), it must not kill the run */
	signal(SIGPIPE, SIG_IGN);
	if (argc > 2 && !strcmp(argv[1], "-s")) {
		sock_path = argv[2];
		argc -= 2;
		argv += 2;
	}
	if (argc >= 6 && !strcmp(argv[1], "protect")) {
		int hold = 1, cut = 0, delay_ms = 0;
		const char *spoil = NULL;
		for (int i = 6; i < argc; i++) {
			if (!strcmp(argv[i], "--no-hold"))
				hold = 0;
			else if (!strcmp(argv[i], "--ack-delay") && i + 1 < argc)
				delay_ms = atoi(argv[++i]);
			else if (!strcmp(argv[i], "--cut"))
				cut = 1;
			else if (!strcmp(argv[i], "--spoil") && i + 1 < argc)
				spoil = argv[++i];
			else
				goto usage;
		}
		return do_protect(argv[2], argv[3], atoi(argv[4]), atoi(argv[5]), hold, delay_ms, cut, spoil);
	}
	if (argc == 3 && !strcmp(argv[1], "memcpy"))
		return do_memcpy(atoi(argv[2]));
usage:
	fprintf(stderr, "usage: see the comment at the top of tests/remustool.c\n");
	return 2;
}
