/*
 * hvtool.c - drives hvd through the hv interface for tests and bench/hv.
 *
 *   hvtool [-s SOCK] copy SRC DST        state copy on one host: pause SRC, load its
 *                                        memory, vCPU and device state into a new
 *                                        incoming DST, destroy SRC, unpause DST
 *   hvtool [-s SOCK] reload NAME ROUNDS  saving pause, the state loaded back, run
 *                                        again (half a vCPU state refused first)
 *   hvtool [-s SOCK] dirtycheck NAME ROUNDS MS
 *                                        compares peek-and-clean bitmaps with full
 *                                        memory snapshots: no false negatives allowed
 *   hvtool [-s SOCK] badinput KERNEL BADELF   malformed requests; hvd must answer
 *                                        each with an error and keep serving
 *   hvtool [-s SOCK] peekcost NAME MS N  peek-and-clean cost after MS of guest run
 *   hvtool [-s SOCK] pausecost NAME N    pause+unpause and vCPU get/set timings
 *   hvtool hostrate MIB                  the host's own page-write rate
 *   hvtool [-s SOCK] save NAME FILE [--hello] [--origin BACKEND]
 *                                        a saved stream of NAME (with a HELLO
 *                                        record first: ready to feed to a receiver;
 *                                        its header naming another backend)
 *   hvtool tcprate MIB                   loopback TCP bandwidth (one stream)
 *   hvtool [-s SOCK] hold NAME on|off|close EPOCH|release EPOCH
 *                                        output commit by hand: hold the NIC's output,
 *                                        close an epoch with a checkpoint's pause (and
 *                                        unpause), release an epoch's frames, or stop
 *
 * Results are printed as "key=value" lines for the scripts that call it.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sysinfo.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "ckpt.h"
#include "hv.h"
#include "hvctl.h"
#include "sock.h"

static const char *sock_path;

static double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static void die_hv(struct hv *h, const char *what)
{
	fprintf(stderr, "hvtool: %s: %s\n", what, hv_error(h));
	exit(1);
}

static struct hv *open_hv(void)
{
	char err[512];
	struct hv *h = hv_open(sock_path, err, sizeof(err));
	if (!h) {
		fprintf(stderr, "hvtool: %s\n", err);
		exit(1);
	}
	return h;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static double pct(double *v, int n, double p)
{
	qsort(v, (size_t)n, sizeof(*v), cmp_double);
	int i = (int)(p / 100.0 * (n - 1) + 0.5);
	return v[i];
}

static int do_copy(const char *src, const char *dst)
{
	struct hv *h = open_hv();
	struct hv_dominfo di;
	uint8_t *sm, *dm, *vs, *ds;
	uint64_t ssz, dsz;
	size_t vlen, dlen;

	if (h->ops->domain_info(h, src, &di) < 0)
		die_hv(h, "info");
	double t0 = now_ms();
	if (h->ops->domain_pause(h, src) < 0)
		die_hv(h, "pause");
	double t1 = now_ms();
	struct memmap map;
	if (hv_memmap(h, src, &map) < 0 ||
	    h->ops->domain_create_incoming(h, dst, di.mem, di.vcpus, NULL, &map) < 0)
		die_hv(h, "create incoming");
	if (h->ops->mem_map(h, src, &sm, &ssz, NULL) < 0 || h->ops->mem_map(h, dst, &dm, &dsz, NULL) < 0)
		die_hv(h, "mem_map");
	if (ssz != dsz) {
		fprintf(stderr, "hvtool: memory sizes differ\n");
		return 1;
	}
	memcpy(dm, sm, ssz);
	double t2 = now_ms();
	if (h->ops->vcpu_get(h, src, &vs, &vlen) < 0 || h->ops->dev_get(h, src, &ds, &dlen) < 0)
		die_hv(h, "state get");
	if (h->ops->vcpu_set(h, dst, vs, vlen) < 0 || h->ops->dev_set(h, dst, ds, dlen) < 0)
		die_hv(h, "state set");
	double t3 = now_ms();
	if (h->ops->domain_destroy(h, src) < 0)
		die_hv(h, "destroy source");
	if (h->ops->domain_unpause(h, dst) < 0)
		die_hv(h, "unpause");
	double t4 = now_ms();
	printf("copy=%s->%s mem_mib=%llu pause_ms=%.3f memcpy_ms=%.3f state_ms=%.3f "
	    "downtime_ms=%.3f vcpu_state_bytes=%zu\n", src, dst,
	    (unsigned long long)(ssz >> 20), t1 - t0, t2 - t1, t3 - t2, t4 - t0, vlen);
	munmap(sm, ssz);
	munmap(dm, dsz);
	free(vs);
	free(ds);
	h->ops->close(h);
	return 0;
}

/*
 * ROUNDS times: a saving pause (pause, peek, state), the same state loaded
 * back, the domain run again; each time, first, half of the vCPU state must
 * be refused (and change nothing).  Where the backend can post (hv_post),
 * the rounds take turns: the half state posted, its refusal read at
 * hv_collect; posted and then overtaken by the whole state's load (the
 * pending answer dropped, the next answer the load's own); the whole state
 * posted and collected.  Needs log-dirty, which it turns on.
 */
static int do_reload(const char *name, int rounds)
{
	struct hv *h = open_hv();
	struct hv_saved st;
	uint64_t *bm;
	size_t bmlen;
	int refused = 0, posted = 0;

	if (h->ops->logdirty(h, name, 1, HV_LOG_MANUAL, &bm, &bmlen) < 0)
		die_hv(h, "log-dirty");
	for (int r = 0; r < rounds; r++) {
		int turn = (h->caps & HV_CAP_POST) ? r % 3 : -1;
		if (h->ops->domain_suspend(h, name, &st) < 0)
			die_hv(h, "saving pause");
		if (turn == 0 || turn == 1)
			hv_post(h);
		int half = h->ops->state_set(h, name, st.vcpu, st.vcpu_len / 2, st.dev, st.dev_len);
		if (turn == 0)
			half = half < 0 ? half : hv_collect(h);
		if (half == 0 && turn != 1) {
			fprintf(stderr, "hvtool: round %d: half a vCPU state loaded%s\n", r, turn == 0 ? " (posted)" : "");
			return 1;
		}
		refused += turn != 1;	/* turn 1's answer is never read */
		if (turn == 2)
			hv_post(h);
		if (h->ops->state_set(h, name, st.vcpu, st.vcpu_len, st.dev, st.dev_len) < 0 ||
		    (turn == 2 && hv_collect(h) < 0))
			die_hv(h, turn == 2 ? "state set (posted)" : turn == 1 ?
			    "state set after a posted one" : "state set");
		if (hv_collect(h) != 0) {
			fprintf(stderr, "hvtool: an answer left to collect after the load\n");
			return 1;
		}
		posted += turn >= 0;
		hv_saved_free(&st);
		if (h->ops->domain_unpause(h, name) < 0)
			die_hv(h, "unpause");
		usleep(200000);
	}
	h->ops->logdirty(h, name, 0, 0, NULL, NULL);
	munmap(bm, bmlen);
	printf("reloaded=%d half_states_refused=%d posted=%d last_error=\"%s\"\n", rounds, refused,
	    posted, hv_error(h));
	h->ops->close(h);
	return 0;
}

static int do_dirtycheck(const char *name, int rounds, int ms)
{
	struct hv *h = open_hv();
	uint8_t *mem, *snap;
	uint64_t size, count, *bm;
	size_t bmlen;
	uint64_t fn_total = 0, fp_total = 0, changed_total = 0;

	if (h->ops->mem_map(h, name, &mem, &size, NULL) < 0)
		die_hv(h, "mem_map");
	if (h->ops->logdirty(h, name, 1, HV_LOG_MANUAL, &bm, &bmlen) < 0)
		die_hv(h, "logdirty on");
	if (!(snap = malloc(size)))
		return 1;
	if (h->ops->domain_pause(h, name) < 0 || h->ops->dirty_peek_clean(h, name, &count) < 0)
		die_hv(h, "pause/peek");
	for (int r = 0; r < rounds; r++) {
		memcpy(snap, mem, size);
		if (h->ops->domain_unpause(h, name) < 0)
			die_hv(h, "unpause");
		usleep((useconds_t)ms * 1000);
		if (h->ops->domain_pause(h, name) < 0 ||
		    h->ops->dirty_peek_clean(h, name, &count) < 0)
			die_hv(h, "pause/peek");
		uint64_t fn = 0, fp = 0, changed = 0;
		for (uint64_t pfn = 0; pfn < size / 4096; pfn++) {
			int bit = (int)((bm[pfn / 64] >> (pfn % 64)) & 1);
			int diff = memcmp(snap + pfn * 4096, mem + pfn * 4096, 4096) != 0;
			changed += (uint64_t)diff;
			if (diff && !bit) {
				if (fn < 5)
					fprintf(stderr, "hvtool: FALSE NEGATIVE pfn 0x%llx\n",
					    (unsigned long long)pfn);
				fn++;
			}
			fp += (uint64_t)(bit && !diff);
		}
		printf("round=%d dirty_bits=%llu changed_pages=%llu false_negatives=%llu "
		    "false_positives=%llu\n", r, (unsigned long long)count,
		    (unsigned long long)changed, (unsigned long long)fn, (unsigned long long)fp);
		fn_total += fn;
		fp_total += fp;
		changed_total += changed;
	}
	h->ops->domain_unpause(h, name);
	h->ops->logdirty(h, name, 0, 0, NULL, NULL);
	printf("summary: rounds=%d changed_pages=%llu false_negatives=%llu false_positives=%llu\n",
	    rounds, (unsigned long long)changed_total, (unsigned long long)fn_total,
	    (unsigned long long)fp_total);
	munmap(bm, bmlen);
	munmap(mem, size);
	free(snap);
	h->ops->close(h);
	return fn_total || !changed_total ? 1 : 0;
}

static int do_peekcost(const char *name, int ms, int n)
{
	struct hv *h = open_hv();
	uint64_t *bm, count = 0;
	size_t bmlen;
	double *t = calloc((size_t)n, sizeof(double));

	for (int mode = 0; mode < 2; mode++) {
		if (h->ops->logdirty(h, name, 1, mode, &bm, &bmlen) < 0)
			die_hv(h, "logdirty on");
		for (int i = 0; i < n; i++) {
			usleep((useconds_t)ms * 1000);
			if (h->ops->domain_pause(h, name) < 0 ||
			    h->ops->dirty_peek_clean(h, name, &count) < 0)
				die_hv(h, "pause/peek");
			t[i] = (double)h->elapsed_ns / 1e6;
			if (h->ops->domain_unpause(h, name) < 0)
				die_hv(h, "unpause");
		}
		printf("mode=%s dirty_pages=%llu peek_clean_p50_ms=%.3f peek_clean_p99_ms=%.3f\n",
		    mode == HV_LOG_MANUAL ? "manual" : "legacy", (unsigned long long)count,
		    pct(t, n, 50), pct(t, n, 99));
		munmap(bm, bmlen);
		h->ops->logdirty(h, name, 0, 0, NULL, NULL);
	}
	free(t);
	h->ops->close(h);
	return 0;
}

/*
 * Per call, the time inside hvd and as this caller sees it: pause, vCPU
 * state get and set, unpause one by one, then the suspend a migration's
 * stop-and-copy makes (pause, final peek and all state in one call, log-dirty
 * on) and the state set its destination makes, and the unpause after it.
 */
enum { PC_PAUSE, PC_VGET, PC_VSET, PC_UNPAUSE, PC_SUSPEND, PC_SSET, PC_UNPAUSE2, PC_STAGED, PC_N };
static int do_pausecost(const char *name, int n)
{
	static const char *const key[PC_N] = { "pause", "vcpu_get", "vcpu_set", "unpause",
		"suspend", "state_set", "unpause_after", "staged" };
	struct hv *h = open_hv();
	double *in[PC_N], *e2e[PC_N];
	uint8_t *blob;
	size_t len = 0, bmlen;
	uint64_t *bm;

	for (int k = 0; k < PC_N; k++) {
		in[k] = calloc((size_t)n, sizeof(double));
		e2e[k] = calloc((size_t)n, sizeof(double));
	}
	uint8_t *stage;
	uint64_t stage_size;
	if (h->ops->logdirty(h, name, 1, HV_LOG_MANUAL, &bm, &bmlen) < 0)
		die_hv(h, "log-dirty");
	if (h->ops->stage_map(h, name, &stage, &stage_size) < 0)
		die_hv(h, "stage");
	for (int i = 0; i < n; i++) {
		double t = now_ms(), u;
		struct hv_saved st;
#define TIMED(k, call, what) do {						\
		if ((call) < 0)							\
			die_hv(h, what);					\
		in[k][i] = (double)h->elapsed_ns / 1e3;				\
		e2e[k][i] = ((u = now_ms()) - t) * 1e3;				\
		t = u;								\
	} while (0)
		TIMED(PC_PAUSE, h->ops->domain_pause(h, name), "pause");
		TIMED(PC_VGET, h->ops->vcpu_get(h, name, &blob, &len), "vcpu get");
		TIMED(PC_VSET, h->ops->vcpu_set(h, name, blob, len), "vcpu set");
		free(blob);
		TIMED(PC_UNPAUSE, h->ops->domain_unpause(h, name), "unpause");
		usleep(10000);
		t = now_ms();
		TIMED(PC_SUSPEND, h->ops->domain_suspend(h, name, &st), "suspend");
		TIMED(PC_SSET, h->ops->state_set(h, name, st.vcpu, st.vcpu_len, st.dev, st.dev_len),
		    "state set");
		hv_saved_free(&st);
		TIMED(PC_UNPAUSE2, h->ops->domain_unpause(h, name), "unpause");
#undef TIMED
		usleep(10000);
		/* a staged checkpoint: the guest's pause as its domain measured it */
		t = now_ms();
		if (h->ops->domain_checkpoint_staged(h, name, 0, &st) < 0)
			die_hv(h, "staged checkpoint");
		in[PC_STAGED][i] = (double)st.paused_ns / 1e3;
		e2e[PC_STAGED][i] = (now_ms() - t) * 1e3;
		hv_saved_free(&st);
		usleep(10000);
	}
	h->ops->logdirty(h, name, 0, 0, NULL, NULL);
	munmap(bm, bmlen);
	munmap(stage, stage_size);
	for (int k = 0; k < PC_N; k++) {
		printf("%s%s_p50_us=%.1f %s_call_p50_us=%.1f", k ? " " : "", key[k], pct(in[k], n, 50),
		    key[k], pct(e2e[k], n, 50));
		free(in[k]);
		free(e2e[k]);
	}
	printf(" vcpu_state_bytes=%zu\n", len);
	h->ops->close(h);
	return 0;
}

static int do_hostrate(int mib)
{
	size_t size = (size_t)mib << 20;
	volatile uint64_t *p = mmap(NULL, size, PROT_READ | PROT_WRITE,
	    MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	uint64_t pages = size / 4096, n = 0;

	if (p == MAP_FAILED)
		return 1;
	double t0 = now_ms();
	while (now_ms() - t0 < 1000) {
		for (uint64_t i = 0; i < pages; i++)
			p[i * 512] = n + i;
		n += pages;
	}
	printf("host_write_pps=%.0f\n", (double)n / ((now_ms() - t0) / 1e3));
	return 0;
}

/*
 * A saved (non-live) stream of a domain: paused, every non-zero page, state,
 * END, then running again.  With hello, the file starts like a migration
 * (HELLO record), so it can be fed to a receiver as it is.
 */
static int do_save(const char *name, const char *file, int hello, const char *origin)
{
	struct hv *h = open_hv();
	struct hv_dominfo di;
	uint8_t *mem, *vs, *ds;
	uint64_t size;
	size_t vlen, dlen;
	struct ckpt_batch b;
	int fd = open(file, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	struct rio *r = fd >= 0 ? rio_fd_open(fd, 1) : NULL;

	if (!r || ckpt_batch_init(&b, 1) < 0)
		return 1;
	if (h->ops->domain_info(h, name, &di) < 0 || h->ops->domain_pause(h, name) < 0 ||
	    h->ops->mem_map(h, name, &mem, &size, NULL) < 0 || h->ops->vcpu_get(h, name, &vs, &vlen) < 0 ||
	    h->ops->dev_get(h, name, &ds, &dlen) < 0)
		die_hv(h, "save");
	if (hello) {
		uint8_t hb[12] = { 1 };
		ckpt_write_simple(r, CK_HELLO, hb, sizeof(hb));
	}
	ckpt_write_header(r, CKPT_F_LZ4);
	struct memmap map;
	if (hv_memmap(h, name, &map) < 0)
		die_hv(h, "memmap");
	ckpt_write_domain(r, name, di.mem, di.vcpus, NULL, origin ? origin : h->ops->name,
	    h->ops->guest, &map);
	for (uint64_t pfn = 0; pfn < size / 4096; pfn++) {
		const uint8_t *pg = mem + pfn * 4096;
		if (!ckpt_page_is_zero(pg))
			ckpt_batch_add(&b, r, pfn, pg);
	}
	ckpt_batch_flush(&b, r);
	ckpt_write_simple(r, CK_VCPU_STATE, vs, vlen);
	ckpt_write_simple(r, CK_DEVICE_STATE, ds, dlen);
	ckpt_write_simple(r, CK_END, NULL, 0);
	int rc = rio_flush(r) < 0;
	printf("saved=%s bytes=%llu pages_raw=%llu pages_lz4=%llu\n", file,
	    (unsigned long long)r->bytes_written, (unsigned long long)b.pages_raw,
	    (unsigned long long)b.pages_lz4);
	h->ops->domain_unpause(h, name);
	rio_close(r);
	ckpt_batch_free(&b);
	munmap(mem, size);
	free(vs);
	free(ds);
	h->ops->close(h);
	return rc;
}

/* Loopback TCP bandwidth: the link's limit for bench/migrate's bounds. */
static int do_tcprate(int mib)
{
	int l = socket(AF_INET, SOCK_STREAM, 0), one = 1;
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t al = sizeof(a);
	static char buf[1 << 20];

	if (l < 0 || bind(l, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(l, 1) < 0 ||
	    getsockname(l, (struct sockaddr *)&a, &al) < 0)
		return 1;
	pid_t pid = fork();
	if (pid == 0) {
		int c = socket(AF_INET, SOCK_STREAM, 0);
		if (connect(c, (struct sockaddr *)&a, sizeof(a)) < 0)
			_exit(1);
		for (int i = 0; i < mib; i++)
			for (size_t off = 0; off < sizeof(buf);) {
				ssize_t n = write(c, buf + off, sizeof(buf) - off);
				if (n <= 0)
					_exit(1);
				off += (size_t)n;
			}
		_exit(0);
	}
	int s = accept(l, NULL, NULL);
	setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	double t0 = now_ms();
	uint64_t got = 0;
	ssize_t n;
	while ((n = read(s, buf, sizeof(buf))) > 0)
		got += (uint64_t)n;
	double ms = now_ms() - t0;
	waitpid(pid, NULL, 0);
	printf("tcp_bytes_per_s=%.0f\n", (double)got / (ms / 1e3));
	return 0;
}

/* ---- bad input: each case must get HV_ERR, and hvd must keep serving ---- */

static int bad_fd;
static uint32_t bad_seq = 100;

/* a guest size just past this host's memory (2 MiB multiple) */
static uint64_t host_mem_beyond(void)
{
	struct sysinfo si;
	if (sysinfo(&si) < 0)
		return 2ULL << 40;
	return ((uint64_t)si.totalram * si.mem_unit + (4ULL << 20)) & ~((2ULL << 20) - 1);
}

static int expect_err(const char *what, const void *buf, size_t len)
{
	static uint8_t rbuf[MSG_MAX];
	struct msg_in m;
	char err[512], msg[1024];

	if (sock_send(bad_fd, buf, len, NULL, 0) < 0) {
		printf("FAIL %s: send: %s\n", what, strerror(errno));
		return 1;
	}
	ssize_t n = sock_recv(bad_fd, rbuf, sizeof(rbuf), NULL, NULL);
	if (n <= 0 || msg_parse(&hvctl_schema, rbuf, (size_t)n, &m, err, sizeof(err)) < 0 ||
	    m.type != HV_ERR) {
		printf("FAIL %s: no error reply\n", what);
		return 1;
	}
	printf("ok %s -> %s\n", what, msg_str(&m, HA_ERRMSG, msg, sizeof(msg)));
	return 0;
}

static int expect_msg_err(const char *what, struct msg_out *o)
{
	msg_end(o);
	int r = expect_err(what, o->buf, o->len);
	msg_free(o);
	return r;
}

/*
 * A staged pause (the guest paused, peeked, its state and dirty pages
 * copied into the stage, running again, in one call): refused before the
 * stage exists, the domain left running; then it runs the domain again
 * and its stage holds exactly the bitmap's pages as they were.  The domain
 * is paused with log-dirty on; bm is its bitmap.  The failures.
 */
static int staged_checks(struct hv *h, const uint64_t *bm)
{
	struct hv_saved st;
	struct hv_dominfo di;
	uint8_t *stage, *mem;
	uint64_t ssize, msize;
	int fails = 0, memfd = -1;

	if (h->ops->domain_unpause(h, "badin") < 0)
		die_hv(h, "unpause");
	if (h->ops->domain_checkpoint_staged(h, "badin", 0, &st) == 0 ||
	    !strstr(hv_error(h), "STAGE_MAP")) {
		printf("FAIL staged pause without a stage: %s\n", hv_error(h));
		fails++;
	} else
		printf("ok staged pause without a stage refused: %s\n", hv_error(h));
	if (h->ops->domain_info(h, "badin", &di) < 0 || di.state != HV_RUNNING) {
		printf("FAIL a refused staged pause left the domain %s\n", hv_state_name(di.state));
		fails++;
	}
	if (h->ops->stage_map(h, "badin", &stage, &ssize) < 0 ||
	    h->ops->mem_map(h, "badin", &mem, &msize, &memfd) < 0)
		die_hv(h, "stage");
	usleep(100000);
	if (h->ops->domain_checkpoint_staged(h, "badin", 0, &st) < 0 || !st.dirty ||
	    !st.paused_ns || h->ops->domain_info(h, "badin", &di) < 0 || di.state != HV_RUNNING) {
		printf("FAIL staged pause: %s (%llu dirty, domain %s)\n", hv_error(h),
		    (unsigned long long)st.dirty, hv_state_name(di.state));
		hv_saved_free(&st);
		return fails + 1;
	}
	/* the guest ran on and rewrote some of them: pause it, peek what it
	 * touched since, and every other staged page must be as it has it */
	size_t words = msize / 4096 / 64;
	uint64_t *then = malloc(words * 8), count, k = 0, wrong = 0, since = 0;
	memcpy(then, bm, words * 8);
	if (h->ops->domain_pause(h, "badin") < 0 || h->ops->dirty_peek_clean(h, "badin", &count) < 0)
		die_hv(h, "pause");
	for (uint64_t w = 0; w < words; w++)
		for (uint64_t b = then[w]; b; b &= b - 1, k++) {
			uint64_t pfn = w * 64 + (uint64_t)__builtin_ctzll(b);
			if (bm[w] & (1ULL << (pfn % 64)))
				since++;
			else
				wrong += memcmp(stage + k * 4096, mem + pfn * 4096, 4096) != 0;
		}
	free(then);
	if (k != st.dirty || wrong || since == k) {
		printf("FAIL staged pause: %llu pages staged for %llu dirty, %llu of those the guest "
		    "left alone differ\n", (unsigned long long)k, (unsigned long long)st.dirty,
		    (unsigned long long)wrong);
		fails++;
	} else
		printf("ok staged pause: guest ran again after %.3f ms, %llu pages staged in bitmap "
		    "order, each as the guest had it (%llu rewritten since)\n",
		    (double)st.paused_ns / 1e6, (unsigned long long)k, (unsigned long long)since);
	hv_saved_free(&st);
	munmap(stage, ssize);
	munmap(mem, msize);
	close(memfd);
	return fails;
}

static int do_badinput(const char *kernel, const char *badelf)
{
	struct msg_out o;
	int fails = 0;
	static uint8_t big[MSG_MAX + 4096];

	if ((bad_fd = sock_connect(sock_path ? sock_path : HVD_DEFAULT_SOCK)) < 0) {
		perror("connect");
		return 1;
	}
	fails += expect_err("runt message", "\x01\x00\x07", 3);
	msg_begin(&o, HV_DOM_LIST, ++bad_seq);
	msg_end(&o);
	le32_put(o.buf + 4, 9999);
	fails += expect_err("length mismatch", o.buf, o.len);
	o.buf[0] = 7;
	le32_put(o.buf + 4, (uint32_t)o.len);
	fails += expect_err("wrong version", o.buf, o.len);
	msg_free(&o);
	msg_begin(&o, 999, ++bad_seq);
	fails += expect_msg_err("unknown type", &o);
	msg_begin(&o, HV_DOM_INFO, ++bad_seq);
	msg_add_str(&o, HA_NAME, "x");
	msg_end(&o);
	le32_put(o.buf + 16 + 4, 0x7ffffff0);
	fails += expect_err("attribute overruns", o.buf, o.len);
	msg_free(&o);
	memset(big, 0, sizeof(big));
	big[0] = 1;
	big[2] = HV_DOM_LIST;
	le32_put(big + 4, sizeof(big));
	fails += expect_err("oversize message", big, sizeof(big));
	msg_begin(&o, HV_DOM_CREATE, ++bad_seq);
	msg_add_str(&o, HA_NAME, "bad");
	fails += expect_msg_err("missing attributes", &o);
	msg_begin(&o, HV_OK, ++bad_seq);
	fails += expect_msg_err("reply sent as request", &o);

	struct { const char *what, *name, *kernel; uint64_t mem; uint32_t vcpus; } c[] = {
		{ "garbage ELF", "bad1", badelf, 64ULL << 20, 1 },
		{ "missing kernel", "bad2", "/nonexistent/guest.elf", 64ULL << 20, 1 },
		{ "memory too large", "bad3", kernel, 2ULL << 40, 1 },
		{ "more memory than the host", "bad5", kernel, host_mem_beyond(), 1 },
		{ "zero vCPUs", "bad4", kernel, 64ULL << 20, 0 },
		{ "bad name", "../etc", kernel, 64ULL << 20, 1 },
	};
	for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		msg_begin(&o, HV_DOM_CREATE, ++bad_seq);
		msg_add_str(&o, HA_NAME, c[i].name);
		msg_add_str(&o, HA_KERNEL, c[i].kernel);
		msg_add_u64(&o, HA_MEM, c[i].mem);
		msg_add_u32(&o, HA_VCPUS, c[i].vcpus);
		fails += expect_msg_err(c[i].what, &o);
	}
	msg_begin(&o, HV_DOM_INFO, ++bad_seq);
	msg_add_str(&o, HA_NAME, "no-such-domain");
	fails += expect_msg_err("unknown domain", &o);

	/* a live domain refuses wrong-state requests and garbage state */
	struct hv *h = open_hv();
	if (h->ops->domain_create(h, "badin", 64ULL << 20, 1, kernel, "heartbeat=100 dirty=20000 wss=32", NULL) < 0)
		die_hv(h, "create");
	msg_begin(&o, HV_DOM_UNPAUSE, ++bad_seq);
	msg_add_str(&o, HA_NAME, "badin");
	fails += expect_msg_err("unpause a running domain", &o);
	msg_begin(&o, HV_VCPU_SET, ++bad_seq);
	msg_add_str(&o, HA_NAME, "badin");
	msg_add_blob(&o, HA_BLOB, "garbage!", 8);
	fails += expect_msg_err("vcpu state while running", &o);
	msg_begin(&o, HV_NIC_INJECT, ++bad_seq);	/* a whole frame list, but no NIC to take it */
	msg_add_str(&o, HA_NAME, "badin");
	msg_add_blob(&o, HA_BLOB, "\x00\x00", 2);
	fails += expect_msg_err("late frames for a domain without a NIC", &o);
	if (h->ops->domain_pause(h, "badin") < 0)
		die_hv(h, "pause");
	msg_begin(&o, HV_VCPU_SET, ++bad_seq);
	msg_add_str(&o, HA_NAME, "badin");
	msg_add_blob(&o, HA_BLOB, "garbage!", 8);
	fails += expect_msg_err("garbage vcpu state", &o);
	msg_begin(&o, HV_DEV_SET, ++bad_seq);
	msg_add_str(&o, HA_NAME, "badin");
	msg_add_blob(&o, HA_BLOB, "\x01\x00\x00\x00\x04\x00\x00\x00", 8);
	fails += expect_msg_err("garbage device state", &o);
	msg_begin(&o, HV_DOM_PAUSE, ++bad_seq);
	msg_add_str(&o, HA_NAME, "badin");
	fails += expect_msg_err("pause a paused domain", &o);
	msg_begin(&o, HV_DIRTY_PEEK_CLEAN, ++bad_seq);
	msg_add_str(&o, HA_NAME, "badin");
	fails += expect_msg_err("peek without log-dirty", &o);
	msg_begin(&o, HV_THROTTLE, ++bad_seq);
	msg_add_str(&o, HA_NAME, "badin");
	msg_add_u32(&o, HA_SHARE, 150);
	fails += expect_msg_err("throttle 150%", &o);

	/* a saving pause needs log-dirty: refused with the reason, the domain
	 * left paused under the lease; with log-dirty it returns all the state,
	 * which loads back whole, and garbage beside good vCPU state does not */
	struct hv_dominfo di;
	struct hv_saved st;
	if (h->ops->domain_unpause(h, "badin") < 0)
		die_hv(h, "unpause");
	if (h->ops->domain_suspend(h, "badin", &st) == 0 || !strstr(hv_error(h), "log-dirty")) {
		printf("FAIL saving pause without log-dirty: %s\n", hv_error(h));
		fails++;
	} else
		printf("ok saving pause without log-dirty refused: %s\n", hv_error(h));
	if (h->ops->domain_info(h, "badin", &di) < 0 || di.state != HV_PAUSED) {
		printf("FAIL a refused saving pause left the domain %s\n", hv_state_name(di.state));
		fails++;
	}
	uint64_t *bm;
	size_t bmlen;
	if (h->ops->domain_unpause(h, "badin") < 0 ||
	    h->ops->logdirty(h, "badin", 1, HV_LOG_MANUAL, &bm, &bmlen) < 0)
		die_hv(h, "log-dirty");
	usleep(100000);
	if (h->ops->domain_suspend(h, "badin", &st) < 0 || !st.vcpu_len || !st.dev_len ||
	    !st.dirty || !st.pause_ns) {
		printf("FAIL saving pause: %s (%zu vcpu bytes, %zu device bytes, %llu dirty)\n",
		    hv_error(h), st.vcpu_len, st.dev_len, (unsigned long long)st.dirty);
		fails++;
	} else
		printf("ok saving pause: %zu vcpu bytes, %zu device bytes, %llu dirty pages\n",
		    st.vcpu_len, st.dev_len, (unsigned long long)st.dirty);
	if (h->ops->state_set(h, "badin", st.vcpu, st.vcpu_len, (const uint8_t *)"garbage!", 8) == 0) {
		printf("FAIL garbage device state beside good vCPU state loaded\n");
		fails++;
	}
	if (h->ops->state_set(h, "badin", st.vcpu, st.vcpu_len, st.dev, st.dev_len) < 0) {
		printf("FAIL state set of what the saving pause took: %s\n", hv_error(h));
		fails++;
	}
	hv_saved_free(&st);
	fails += staged_checks(h, bm);
	h->ops->logdirty(h, "badin", 0, 0, NULL, NULL);
	munmap(bm, bmlen);
	uint8_t *stage;
	uint64_t ssize;
	if (h->ops->stage_map(h, "badin", &stage, &ssize) == 0 || !strstr(hv_error(h), "log-dirty")) {
		printf("FAIL a stage without log-dirty: %s\n", hv_error(h));
		fails++;
	} else
		printf("ok a stage without log-dirty refused: %s\n", hv_error(h));

	/* still serving, and the domain still works */
	if (h->ops->domain_unpause(h, "badin") < 0 || h->ops->domain_info(h, "badin", &di) < 0 ||
	    di.state != HV_RUNNING) {
		printf("FAIL domain unusable after bad input: %s\n", hv_error(h));
		fails++;
	} else
		printf("ok domain still running after bad input\n");
	h->ops->domain_destroy(h, "badin");
	h->ops->close(h);
	printf("badinput_failures=%d\n", fails);
	return fails ? 1 : 0;
}

/* output commit driven as a protector would, one step per call */
static int do_hold(const char *name, const char *what, const char *epoch_s)
{
	struct hv *h = open_hv();
	struct hv_saved st;
	uint64_t epoch = epoch_s ? strtoull(epoch_s, NULL, 10) : 0, *bm = NULL;
	size_t bmlen;
	int r;

	if (!strcmp(what, "on") || !strcmp(what, "off"))
		r = h->ops->nic_hold(h, name, !strcmp(what, "on"), 0);
	else if (!strcmp(what, "release") && epoch_s)
		r = h->ops->nic_release(h, name, epoch);
	else if (!strcmp(what, "close") && epoch_s) {
		r = h->ops->logdirty(h, name, 1, HV_LOG_MANUAL, &bm, &bmlen);
		if (r == 0 && (r = h->ops->domain_checkpoint(h, name, epoch, &st)) == 0)
			hv_saved_free(&st);
		if (h->ops->domain_unpause(h, name) < 0 && r == 0)
			r = -1;
		if (bm)
			munmap(bm, bmlen);
	} else {
		fprintf(stderr, "hold: on, off, close EPOCH or release EPOCH\n");
		return 2;
	}
	if (r < 0)
		fprintf(stderr, "hold %s: %s\n", what, hv_error(h));
	h->ops->close(h);
	return r < 0;
}

int main(int argc, char **argv)
{
	if (argc > 2 && !strcmp(argv[1], "-s")) {
		sock_path = argv[2];
		argc -= 2;
		argv += 2;
	}
	if (argc == 4 && !strcmp(argv[1], "copy"))
		return do_copy(argv[2], argv[3]);
	if (argc == 5 && !strcmp(argv[1], "dirtycheck"))
		return do_dirtycheck(argv[2], atoi(argv[3]), atoi(argv[4]));
	if (argc == 4 && !strcmp(argv[1], "badinput"))
		return do_badinput(argv[2], argv[3]);
	if (argc == 5 && !strcmp(argv[1], "peekcost"))
		return do_peekcost(argv[2], atoi(argv[3]), atoi(argv[4]));
	if (argc == 4 && !strcmp(argv[1], "pausecost"))
		return do_pausecost(argv[2], atoi(argv[3]));
	if (argc == 3 && !strcmp(argv[1], "hostrate"))
		return do_hostrate(atoi(argv[2]));
	if (argc >= 4 && !strcmp(argv[1], "save")) {
		int hello = 0;
		const char *origin = NULL;
		for (int i = 4; i < argc; i++) {
			if (!strcmp(argv[i], "--hello"))
				hello = 1;
			else if (!strcmp(argv[i], "--origin") && i + 1 < argc)
				origin = argv[++i];
			else
				goto usage;
		}
		return do_save(argv[2], argv[3], hello, origin);
	}
	if ((argc == 4 || argc == 5) && !strcmp(argv[1], "hold"))
		return do_hold(argv[2], argv[3], argc == 5 ? argv[4] : NULL);
	if (argc == 4 && !strcmp(argv[1], "reload"))
		return do_reload(argv[2], atoi(argv[3]));
	if (argc == 3 && !strcmp(argv[1], "tcprate"))
		return do_tcprate(atoi(argv[2]));
usage:
	fprintf(stderr, "usage: see the comment at the top of tests/hvtool.c\n");
	return 2;
}
