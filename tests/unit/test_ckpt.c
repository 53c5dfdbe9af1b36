/*
 * test_ckpt.c - the checkpoint stream: a written stream reads back page for
 * page; every single-bit flip is caught; truncation at any length is an
 * error; bad headers, oversize and unknown records are refused; the fault
 * backend fails where it is told to; batches keep their size limit, and
 * a batch applied through a mapping or a memory file writes the same pages.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "ckpt.h"
#include "msg.h"
#include "tap.h"

#define NPAGES 64

static uint8_t mem[NPAGES * 4096], back[NPAGES * 4096];

/* Writes a small complete stream; returns its bytes in *out (malloc'd). */
static size_t make_stream(uint8_t **out, int lz4)
{
	struct rio *w = rio_mem_writer();
	struct ckpt_batch b;
	size_t len;

	ckpt_write_header(w, lz4 ? CKPT_F_LZ4 : 0);
	ckpt_write_domain(w, "vm-1", 16 << 20, 1, NULL, "hvd", "x86_64-pvh", NULL);
	struct ckpt_round rd = { 0, NPAGES, 3 };
	uint8_t rb[24];
	ckpt_round_encode(&rd, rb);
	ckpt_write_simple(w, CK_ROUND, rb, sizeof(rb));
	ckpt_batch_init(&b, lz4);
	for (uint64_t p = 0; p < NPAGES; p++)
		ckpt_batch_add(&b, w, p, mem + p * 4096);
	ckpt_batch_flush(&b, w);
	ckpt_write_simple(w, CK_VCPU_STATE, "vcpu", 4);
	ckpt_write_simple(w, CK_DEVICE_STATE, "dev", 3);
	ckpt_write_simple(w, CK_END, NULL, 0);
	rio_flush(w);
	const uint8_t *p = rio_mem_data(w, &len);
	*out = malloc(len);
	memcpy(*out, p, len);
	ckpt_batch_free(&b);
	rio_close(w);
	return len;
}

/* Reads a stream fully; 0 when valid and complete, copying pages into back. */
static int read_stream(const uint8_t *s, size_t len)
{
	struct rio *r = rio_mem_reader(s, len);
	struct ckpt_record rec = { 0 };
	struct ckpt_order o = { 0 };
	struct ckpt_domain d;
	uint32_t f, n;
	char err[256];
	int rc = -1;

	if (ckpt_read_header(r, &f) < 0)
		goto out;
	for (;;) {
		if (ckpt_read_record(r, &rec) < 0 || ckpt_order_next(&o, rec.type, err, sizeof(err)) < 0)
			goto out;
		if (rec.type == CK_DOMAIN_HEADER && ckpt_domain_decode(rec.body, rec.len, &d, err, sizeof(err)) < 0)
			goto out;
		if (rec.type == CK_PAGE_DATA &&
		    ckpt_pages_apply(rec.body, rec.len, NPAGES, back, &n, NULL, err, sizeof(err)) < 0)
			goto out;
		if (rec.type == CK_END)
			break;
	}
	rc = 0;
out:
	ckpt_record_free(&rec);
	rio_close(r);
	return rc;
}

/* DOMAIN_HEADER with and without its NIC, and what it refuses; whether a
 * receiver can restore what it heads */
static void domain_header(void)
{
	struct ckpt_domain d = { 64 << 20, 2, 4096, "web-1", "vmbr0,mac=02:11:22:33:44:55", "hvd",
		"x86_64-pvh", { 0 } }, e;
	uint8_t b[200];
	size_t len, plain;
	char err[200];
	const size_t fixed = 16 + 4 + 5 + 4, nic = 27, tail = 4 + 3 + 4 + 10 + 4;

	CHECK(ckpt_domain_encode(&d, b, sizeof(b), &len) == 0 && len == fixed + nic + tail);
	CHECK(ckpt_domain_decode(b, len, &e, err, sizeof(err)) == 0 && !strcmp(e.net, d.net) &&
	    !strcmp(e.name, "web-1") && e.vcpus == 2 && !strcmp(e.origin, "hvd") &&
	    !strcmp(e.guest, "x86_64-pvh"));
	int cut_ok = 0;
	for (size_t k = 0; k < len; k++)	/* cut anywhere: refused */
		cut_ok += ckpt_domain_decode(b, k, &e, err, sizeof(err)) == 0;
	CHECK(cut_ok == 0);
	b[fixed + 3] = ' ';	/* a space in the NIC spec */
	CHECK(ckpt_domain_decode(b, len, &e, err, sizeof(err)) < 0);
	d.net[0] = 0;
	CHECK(ckpt_domain_encode(&d, b, sizeof(b), &plain) == 0 && plain == fixed + tail);
	CHECK(ckpt_domain_decode(b, plain, &e, err, sizeof(err)) == 0 && !e.net[0]);
	b[fixed + 4] = 0;	/* nothing printable as the origin */
	CHECK(ckpt_domain_decode(b, plain, &e, err, sizeof(err)) < 0);
	memset(d.net, 'a', sizeof(d.net) - 1);
	d.net[sizeof(d.net) - 1] = 0;	/* 63 bytes: the longest */
	CHECK(ckpt_domain_encode(&d, b, sizeof(b), &len) == 0);
	CHECK(ckpt_domain_decode(b, len, &e, err, sizeof(err)) == 0);
	d.origin[0] = 0;
	CHECK(ckpt_domain_encode(&d, b, sizeof(b), &len) < 0);	/* no origin: not a header */
	memcpy(d.origin, "xen", 4);
	d.net[0] = 0;

	/* a memory map: RAM below the MMIO hole, the toolstack's pages in it,
	 * RAM from 4 GiB; the stream's pfns index its pages */
	uint8_t m[400];
	d.map = (struct memmap){ 3, { { 0, 0xf0000 }, { 0xfeff0, 16 }, { 0x100000, 0x20000 } } };
	CHECK(ckpt_domain_encode(&d, m, sizeof(m), &len) == 0 && len == fixed + tail + 3 * 16);
	CHECK(ckpt_domain_decode(m, len, &e, err, sizeof(err)) == 0 && e.map.n == 3 &&
	    e.map.e[1].pfn == 0xfeff0 && e.map.e[2].pages == 0x20000 &&
	    ckpt_domain_pages(&e) == 0xf0000 + 16 + 0x20000);
	cut_ok = 0;
	for (size_t k = 0; k < len; k++)
		cut_ok += ckpt_domain_decode(m, k, &e, err, sizeof(err)) == 0;
	CHECK(cut_ok == 0);
	le64_put(m + len - 16, 0xfeff8);	/* the last extent overlaps the one before */
	CHECK(ckpt_domain_decode(m, len, &e, err, sizeof(err)) < 0 && strstr(err, "extent 2"));
	le64_put(m + len - 16, 0x100000);
	le64_put(m + len - 8, 0);	/* an empty extent */
	CHECK(ckpt_domain_decode(m, len, &e, err, sizeof(err)) < 0 && strstr(err, "empty"));
	le64_put(m + len - 8, 1ULL << 29);	/* 2 TiB of pages */
	CHECK(ckpt_domain_decode(m, len, &e, err, sizeof(err)) < 0 && strstr(err, "1 TiB"));
	le32_put(m + fixed + tail - 4, MEMMAP_MAX + 1);	/* more extents than there may be */
	CHECK(ckpt_domain_decode(m, len, &e, err, sizeof(err)) < 0);
	d.map.e[1].pfn = 0xeffff;	/* touching extents are one: refused when written */
	CHECK(ckpt_domain_encode(&d, m, sizeof(m), &len) < 0);
	d.map.n = 0;
	CHECK(ckpt_domain_encode(&d, b, sizeof(b), &plain) == 0 &&
	    ckpt_domain_decode(b, plain, &e, err, sizeof(err)) == 0 && e.map.n == 0 &&
	    ckpt_domain_pages(&e) == (64 << 20) / 4096);

	/* who may restore it: the same backend and guest kind (the twin), no other */
	snprintf(e.origin, sizeof(e.origin), "hvd");
	CHECK(ckpt_domain_fits(&e, "hvd", "x86_64-pvh", err, sizeof(err)) == 0);
	snprintf(e.origin, sizeof(e.origin), "xen");
	CHECK(ckpt_domain_fits(&e, "hvd", "x86_64-pvh", err, sizeof(err)) < 0 &&
	    strstr(err, "carries xen's state") && strstr(err, "backend is hvd"));
	snprintf(e.origin, sizeof(e.origin), "hvd");
	snprintf(e.guest, sizeof(e.guest), "x86_64-pv");
	CHECK(ckpt_domain_fits(&e, "hvd", "x86_64-pvh", err, sizeof(err)) < 0 &&
	    strstr(err, "a x86_64-pv guest"));
}

/*
 * A peer that takes nothing: a write whose socket times out is asked about
 * (the stall callback, by the clock) and fails when the callback gives up,
 * instead of blocking as long as the socket allows.  Its twin: a peer that
 * takes the bytes late gets all of them, intact.  And a read whose callback
 * is slow counts the time that took.
 */
static unsigned asked, give_up_ms;
static unsigned last_waited;
static int slow_ask;
static int ask(void *arg, unsigned waited)
{
	(void)arg;
	asked++;
	last_waited = waited;
	if (slow_ask)
		usleep(60000);	/* asking the cluster takes time of its own */
	return waited >= give_up_ms ? -1 : 0;
}

static double now_s(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

#define SENT (4u << 20)
static void *late_reader(void *arg)
{
	int fd = *(int *)arg;
	static uint8_t got[SENT];
	size_t have = 0;
	usleep(250000);	/* a quarter second of a peer that takes nothing */
	while (have < SENT) {
		ssize_t n = read(fd, got + have, SENT - have);
		if (n <= 0)
			break;
		have += (size_t)n;
	}
	return (void *)(uintptr_t)(have == SENT && !memcmp(got, mem, SENT < sizeof(mem) ? SENT :
	    sizeof(mem)));
}

static void stalls(void)
{
	int sv[2];
	struct timeval tv = { 0, 50000 };
	int small = 64 << 10;
	static uint8_t big[SENT];
	memcpy(big, mem, SENT < sizeof(mem) ? SENT : sizeof(mem));

	/* nobody reads: asked every 50 ms, given up at 300 ms, not later */
	CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
	setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &small, sizeof(small));
	setsockopt(sv[0], SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	struct rio *w = rio_fd_open(sv[0], 0);
	rio_set_stall(w, 50, ask, NULL);
	asked = 0, give_up_ms = 300, slow_ask = 0;
	double t0 = now_s();
	int r = rio_write(w, big, SENT);
	if (r == 0)
		r = rio_flush(w);
	double took = now_s() - t0;
	CHECK(r < 0 && errno == ETIMEDOUT && strstr(rio_error(w), "nothing could be sent"));
	CHECK(asked >= 4 && last_waited >= 300 && took < 1.0);
	rio_close(w);
	close(sv[0]);
	close(sv[1]);

	/* the twin: the peer takes it all, late */
	CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
	setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &small, sizeof(small));
	setsockopt(sv[0], SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	pthread_t th;
	void *ok = NULL;
	pthread_create(&th, NULL, late_reader, &sv[1]);
	w = rio_fd_open(sv[0], 0);
	rio_set_stall(w, 50, ask, NULL);
	asked = 0, give_up_ms = 5000;
	r = rio_write(w, big, SENT);
	CHECK(r == 0 && rio_flush(w) == 0 && asked >= 2);
	pthread_join(th, &ok);
	CHECK(ok == (void *)1);
	rio_close(w);
	close(sv[0]);
	close(sv[1]);

	/* a read: the time the question took counts, so a slow cluster cannot
	 * stretch the hard limit (four questions of 60 ms each: 440 ms by the
	 * clock, not 200) */
	CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
	struct rio *rd = rio_fd_open(sv[1], 0);
	rio_set_stall(rd, 50, ask, NULL);
	asked = 0, give_up_ms = 400, slow_ask = 1;
	uint8_t b;
	t0 = now_s();
	CHECK(rio_read(rd, &b, 1) < 0 && errno == ETIMEDOUT && strstr(rio_error(rd), "nothing came"));
	CHECK(asked <= 5 && last_waited >= 400 && now_s() - t0 < 1.0);
	rio_close(rd);
	close(sv[0]);
	close(sv[1]);
}

/*
 * A background copy that never gave its core away: with a turn set, a
 * stream's writes go to the transport in pieces and the thread yields
 * between them once its turn is up (the sink below takes 20 us a call, so
 * 8 MiB take several turns of 100 us).  Its twin: the urgent copy (no
 * turn) pays nothing: one write, no yield.
 */
static unsigned sink_calls;
static size_t sink_largest;
static ssize_t sink_write(struct rio *r, const void *p, size_t n)
{
	(void)r, (void)p;
	sink_calls++;
	if (n > sink_largest)
		sink_largest = n;
	for (double t = now_s(); now_s() - t < 20e-6;)
		;
	return (ssize_t)n;
}
static const struct rio_ops sink_ops = { "sink", NULL, sink_write, NULL, NULL, NULL };

static void turns(void)
{
	static uint8_t big[8u << 20];
	struct rio *w = rio_new(&sink_ops, NULL, 0);
	rio_set_turn(w, 100);
	sink_calls = 0, sink_largest = 0;
	CHECK(rio_write(w, big, sizeof(big)) == 0);
	CHECK(sink_calls == 128 && sink_largest == 64u << 10 && w->turns >= 5);

	/* urgent: the same write in one piece, no yield */
	rio_set_turn(w, 0);
	uint64_t before = w->turns;
	sink_calls = 0, sink_largest = 0;
	CHECK(rio_write(w, big, sizeof(big)) == 0);
	CHECK(sink_calls == 1 && sink_largest == sizeof(big) && w->turns == before);
	rio_close(w);

	/* the engine's page loop takes turns too, not only the transport:
	 * while a batch's pages are compressed, before anything is written */
	struct rio *m = rio_mem_writer();
	rio_set_turn(m, 1);
	struct ckpt_batch b;
	CHECK(ckpt_batch_init(&b, CKPT_LZ4_ON) == 0);
	for (uint64_t pfn = 0; pfn < NPAGES; pfn++)
		CHECK(ckpt_batch_add(&b, m, pfn, mem + pfn * 4096) == 0);
	CHECK(m->bytes_written == 0 && m->turns >= 2);
	CHECK(ckpt_batch_flush(&b, m) == 0);
	ckpt_batch_free(&b);
	rio_close(m);
}

int main(void)
{
	uint8_t *s;

	domain_header();

	for (size_t i = 0; i < sizeof(mem); i++)	/* mixed: zero, compressible, random */
		mem[i] = (i / 4096) % 3 == 0 ? 0 : (i / 4096) % 3 == 1 ? (uint8_t)(i / 64) : (uint8_t)rand();
	CHECK(crc32c(0, "123456789", 9) == 0xe3069283);	/* the standard check value */
	stalls();
	turns();

	for (int lz4 = CKPT_LZ4_OFF; lz4 <= CKPT_LZ4_AUTO; lz4++) {
		size_t len = make_stream(&s, lz4);
		memset(back, 0xaa, sizeof(back));
		CHECK(read_stream(s, len) == 0);
		CHECK(!memcmp(mem, back, sizeof(mem)));
		if (lz4 == CKPT_LZ4_AUTO) {	/* its records are those of the other two */
			free(s);
			continue;
		}
		/* truncation at every length is an error */
		int missed = 0;
		for (size_t k = 0; k < len; k++)
			missed += read_stream(s, k) == 0;
		CHECK(missed == 0);
		/* a single bit flip anywhere is caught */
		missed = 0;
		for (size_t k = 0; k < len; k++) {
			s[k] ^= 0x10;
			missed += read_stream(s, len) == 0;
			s[k] ^= 0x10;
		}
		CHECK(missed == 0);
		free(s);
	}

	/*
	 * batches of a set limit (the sender's while paused), and the three ways
	 * to apply a checked batch: into a mapping from the check's scratch,
	 * into a mapping decompressing again, and pwritev into a memory file
	 */
	{
		struct ckpt_batch lb;
		struct rio *lw = rio_mem_writer();
		uint8_t *scratch = malloc((size_t)CKPT_BATCH_MAX * 4096), *b2 = malloc(sizeof(mem));
		int fd = memfd_create("test", 0), small = 1, same = 1, nrec = 0;
		CHECK(ckpt_batch_init(&lb, CKPT_LZ4_ON) == 0 && fd >= 0 && ftruncate(fd, sizeof(mem)) == 0);
		lb.limit = 7;
		for (uint64_t p = 0; p < NPAGES; p++)
			ckpt_batch_add(&lb, lw, p, mem + p * 4096);
		ckpt_batch_flush(&lb, lw);
		size_t ll;
		const uint8_t *lp = rio_mem_data(lw, &ll);
		struct rio *lr = rio_mem_reader(lp, ll);
		struct ckpt_record lrec = { 0 };
		memset(back, 0xaa, sizeof(back));
		memset(b2, 0xaa, sizeof(mem));
		while (ckpt_read_record(lr, &lrec) == 0) {
			uint32_t cnt;
			char e[256];
			nrec++;
			same &= ckpt_pages_check(lrec.body, lrec.len, NPAGES, scratch, &cnt, NULL, e, sizeof(e)) == 0;
			small &= cnt <= 7;
			ckpt_pages_copy(lrec.body, back, scratch);
			ckpt_pages_copy(lrec.body, b2, NULL);
			same &= ckpt_pages_pwrite(lrec.body, fd, scratch) == 0;
		}
		CHECK(small && same && nrec == (NPAGES + 6) / 7);
		CHECK(!memcmp(mem, back, sizeof(mem)) && !memcmp(mem, b2, sizeof(mem)));
		CHECK(pread(fd, b2, sizeof(mem), 0) == (ssize_t)sizeof(mem) && !memcmp(mem, b2, sizeof(mem)));
		ckpt_record_free(&lrec);
		rio_close(lr);
		rio_close(lw);
		ckpt_batch_free(&lb);
		close(fd);
		free(scratch);
		free(b2);
	}

	/* auto: random pages make it back off, compressible ones bring it back */
	struct ckpt_batch b;
	struct rio *sink = rio_mem_writer();
	uint8_t *rnd = malloc(64 * 4096), *cmp = calloc(1, 4096);
	for (size_t i = 0; i < 64 * 4096; i++)
		rnd[i] = (uint8_t)rand();
	cmp[100] = 1;
	CHECK(ckpt_batch_init(&b, CKPT_LZ4_AUTO) == 0);
	for (uint64_t i = 0; i < 64; i++)
		ckpt_batch_add(&b, sink, i, rnd + i * 4096);
	/* tried pages 1, 18 and 51 (back-offs 16, 32, 64), sent all raw */
	CHECK(b.pages_raw == 64 && b.pages_lz4 == 0 && b.backoff == 64 && b.skip == 51);
	for (uint64_t i = 0; i < 64; i++)
		ckpt_batch_add(&b, sink, 100 + i, cmp);
	CHECK(b.pages_lz4 == 64 - 51 && b.skip == 0 && b.backoff == 0);
	ckpt_batch_free(&b);
	rio_close(sink);
	free(rnd);
	free(cmp);

	/* header checks */
	size_t len = make_stream(&s, 1);
	struct rio *r;
	uint32_t f;
	s[8] = 1;	/* version 1: DOMAIN_HEADER without origin and guest */
	r = rio_mem_reader(s, len);
	CHECK(ckpt_read_header(r, &f) < 0 && strstr(rio_error(r), "stream version 1, this build "
	    "reads version 3"));
	rio_close(r);
	s[8] = 2;	/* version 2: without the memory map */
	r = rio_mem_reader(s, len);
	CHECK(ckpt_read_header(r, &f) < 0 && strstr(rio_error(r), "stream version 2"));
	rio_close(r);
	s[8] = CKPT_VERSION;
	s[12] = 0x80;	/* unknown feature */
	r = rio_mem_reader(s, len);
	CHECK(ckpt_read_header(r, &f) < 0 && strstr(rio_error(r), "unknown features"));
	rio_close(r);
	free(s);

	/* oversize and unknown records; optional ones are returned for skipping */
	struct rio *w = rio_mem_writer();
	uint8_t hdr[8] = { 2, 0, 0, 0, 0, 0, 0, 0x10 };	/* PAGE_DATA claiming 256 MiB */
	rio_write(w, hdr, 8);
	const uint8_t *p = rio_mem_data(w, &len);
	struct ckpt_record rec = { 0 };
	r = rio_mem_reader(p, len);
	CHECK(ckpt_read_record(r, &rec) < 0 && r->err == EMSGSIZE && rec.cap == 0);
	rio_close(r);
	rio_close(w);
	w = rio_mem_writer();
	ckpt_write_simple(w, 99, "x", 1);
	ckpt_write_simple(w, CKPT_OPTIONAL | 99, "y", 1);
	p = rio_mem_data(w, &len);
	r = rio_mem_reader(p, len);
	CHECK(ckpt_read_record(r, &rec) < 0 && strstr(rio_error(r), "unknown mandatory"));
	rio_close(r);
	r = rio_mem_reader(p + 24, len - 24);
	CHECK(ckpt_read_record(r, &rec) == 0 && rec.type == (CKPT_OPTIONAL | 99));
	rio_close(r);
	rio_close(w);
	ckpt_record_free(&rec);

	/* every record type this build names is read back (FENCE and FENCED were
	 * once refused as "unknown mandatory", so fence_tandem never succeeded) */
	static const uint32_t types[] = { CK_DOMAIN_HEADER, CK_PAGE_DATA, CK_VCPU_STATE,
		CK_DEVICE_STATE, CK_CHECKPOINT, CK_END, CK_ROUND, CK_HELLO, CK_READY, CK_COMMIT,
		CK_RUNNING, CK_ABORT, CK_OUTCOME, CK_PREPARED, CK_SYNC, CK_FENCE, CK_FENCED, CK_CONFIRM };
	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		w = rio_mem_writer();
		ckpt_write_simple(w, types[i], "z", 1);
		p = rio_mem_data(w, &len);
		r = rio_mem_reader(p, len);
		int ok = ckpt_read_record(r, &rec) == 0 && rec.type == types[i];
		if (!ok)
			fprintf(stderr, "record %s: %s\n", ckpt_type_name(types[i]), rio_error(r));
		CHECK(ok);
		rio_close(r);
		rio_close(w);
	}
	ckpt_record_free(&rec);

	/* page batches: bad pfn, duplicates, bad lz4 are refused before writing */
	uint8_t body[8 + 32 + 8];
	memset(body, 0, sizeof(body));
	body[0] = 2;
	body[8] = 5; body[16] = CKE_ZERO;	/* pfn 5, zero */
	body[24] = 5; body[32] = CKE_ZERO;	/* pfn 5 again */
	uint32_t n;
	char err[256];
	memset(back, 0x55, sizeof(back));
	CHECK(ckpt_pages_apply(body, 40, NPAGES, back, &n, NULL, err, sizeof(err)) < 0 && strstr(err, "twice"));
	CHECK(back[5 * 4096] == 0x55);
	body[24] = 200;
	CHECK(ckpt_pages_apply(body, 40, NPAGES, back, &n, NULL, err, sizeof(err)) < 0 && strstr(err, "beyond"));
	body[24] = 6; body[32] = CKE_LZ4; body[36] = 8;	/* 8 bytes of garbage LZ4 */
	memset(body + 40, 0xff, 8);
	CHECK(ckpt_pages_apply(body, 48, NPAGES, back, &n, NULL, err, sizeof(err)) < 0 && strstr(err, "LZ4"));
	CHECK(back[5 * 4096] == 0x55);

	/* order: state records need their END, END closes the stream; the
	 * last pages may follow the state records (a migration sends the state
	 * first, so the receiver loads it while the pages come), a state twice
	 * may not */
	struct ckpt_order o = { 0 };
	CHECK(ckpt_order_next(&o, CK_PAGE_DATA, err, sizeof(err)) < 0);
	CHECK(ckpt_order_next(&o, CK_DOMAIN_HEADER, err, sizeof(err)) == 0);
	CHECK(ckpt_order_next(&o, CK_END, err, sizeof(err)) < 0);
	CHECK(ckpt_order_next(&o, CK_VCPU_STATE, err, sizeof(err)) == 0);
	CHECK(ckpt_order_next(&o, CK_PAGE_DATA, err, sizeof(err)) == 0);
	CHECK(ckpt_order_next(&o, CK_VCPU_STATE, err, sizeof(err)) < 0 && strstr(err, "twice"));
	CHECK(ckpt_order_next(&o, CK_END, err, sizeof(err)) < 0 && strstr(err, "DEVICE_STATE"));
	CHECK(ckpt_order_next(&o, CK_DEVICE_STATE, err, sizeof(err)) == 0);
	CHECK(ckpt_order_next(&o, CK_PAGE_DATA, err, sizeof(err)) == 0);
	CHECK(ckpt_order_next(&o, CK_END, err, sizeof(err)) == 0);
	CHECK(ckpt_order_next(&o, CK_PAGE_DATA, err, sizeof(err)) < 0 && strstr(err, "after END"));

	/* fault backend: write fails at byte 100, EIO, sticky */
	w = rio_fault_open(rio_mem_writer(), 100, 0, 0);
	uint8_t buf[64] = { 0 };
	CHECK(rio_write(w, buf, 64) == 0);
	CHECK(rio_write(w, buf, 64) < 0 && w->err == EIO);
	CHECK(rio_write(w, buf, 1) < 0 && w->err == EIO);
	CHECK(w->bytes_written == 128);
	rio_close(w);
	/* truncation mode: a reader sees the stream end early */
	len = make_stream(&s, 0);
	r = rio_fault_open(rio_mem_reader(s, len), 1000, 0, 1);
	CHECK(ckpt_read_header(r, &f) == 0);
	int got = 0;
	while (ckpt_read_record(r, &rec) == 0)
		got++;
	CHECK(r->err == ECONNRESET && got >= 1);
	rio_close(r);
	ckpt_record_free(&rec);
	free(s);
	/* PROTECT's body: round trip, and what a backup must refuse */
	{
		struct ckpt_protect pp = { 7, 25, "web-1.a" }, q;
		uint8_t pb[96];
		size_t pl;
		char pe[200];
		CHECK(ckpt_protect_encode(&pp, pb, sizeof(pb), &pl) == 0 && pl == 16 + 7);
		CHECK(ckpt_protect_decode(pb, pl, &q, pe, sizeof(pe)) == 0 && q.gen == 7 &&
		    q.epoch_ms == 25 && !strcmp(q.name, "web-1.a"));
		CHECK(ckpt_protect_decode(pb, pl - 1, &q, pe, sizeof(pe)) < 0);	/* truncated */
		pb[18] = '/';
		CHECK(ckpt_protect_decode(pb, pl, &q, pe, sizeof(pe)) < 0);	/* a path is no name */
		pb[18] = 'b';
		le32_put(pb + 8, 0);
		CHECK(ckpt_protect_decode(pb, pl, &q, pe, sizeof(pe)) < 0);	/* no epoch */
		le32_put(pb + 8, 25);
		le32_put(pb + 12, 0);
		CHECK(ckpt_protect_decode(pb, 16, &q, pe, sizeof(pe)) < 0);	/* no name */
	}
	return TAP_DONE();
}
