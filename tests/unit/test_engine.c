/*
 * test_engine.c - the save and restore engines (libckpt/save.c,
 * restore.c) on a guest of 64 pages in memory, whose "dirty log" records
 * the pages the test writes between peeks.
 *
 *   live_save_loses_no_page_written_between_rounds: round 0, two more
 *     rounds and a stop-and-copy, with pages written before each peek,
 *     restore to the same bytes and the same state;
 *   an epoch is applied whole or not at all: epochs 1-4 restore to epoch
 *     4; the same stream cut anywhere inside epoch 4, or with a flipped
 *     byte there, or with epoch 4 numbered 2, or with an epoch larger than
 *     the receiver takes, leaves exactly epoch 3;
 *   a migration receiver refuses CHECKPOINT; a policy's abort stops the
 *     save with its reason.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "ckpt.h"
#include "tap.h"

#define NPAGES 64
#define PS 4096

static uint8_t mem[NPAGES * PS];
static uint64_t klog[1], bitmap[1];	/* the "hypervisor's" log and the peek's copy */
static unsigned seed = 1;

static void guest_write(unsigned n)	/* n pages written, and logged */
{
	for (unsigned i = 0; i < n; i++) {
		seed = seed * 1103515245 + 12345;
		unsigned p = (seed >> 8) % NPAGES;
		memset(mem + (size_t)p * PS + (seed % 3) * 100, (int)(seed >> 16) | 1, 300);
		klog[0] |= 1ULL << p;
	}
}

static int peek(struct ckpt_save *s)
{
	(void)s;
	bitmap[0] = klog[0];
	klog[0] = 0;
	return 0;
}

static int rounds_wanted, aborting;
static enum ckpt_save_next policy(struct ckpt_save *s, const struct ckpt_save_round *rd)
{
	if (aborting)
		return snprintf(s->err, sizeof(s->err), "limits cannot be met"), CKS_ABORT;
	return rd->round + 1 < (uint32_t)rounds_wanted ? CKS_AGAIN : CKS_STOP;
}

static int round_end(struct ckpt_save *s)	/* the guest runs on between rounds */
{
	(void)s;
	guest_write(5);
	return 0;
}

static const struct ckpt_save_ops ops = { .peek = peek, .policy = policy, .round_end = round_end };

static void save_init(struct ckpt_save *s, struct rio *w, int lz4)
{
	*s = (struct ckpt_save){ .ops = &ops, .r = w, .mem = mem, .mem_size = sizeof(mem),
		.memfd = -1, .bitmap = bitmap, .bmlen = sizeof(bitmap) };
	CHECK(ckpt_save_init(s, lz4) == 0);
}

static void header(struct rio *w)
{
	ckpt_write_header(w, CKPT_F_LZ4);	/* the smallest guest a stream names */
	ckpt_write_domain(w, "vm-1", 16 << 20, 1, NULL, "hvd", "x86_64-pvh", NULL);
}

/* a "suspend": the guest's last writes, the last peek, the state */
static int suspend_and_save(struct ckpt_save *s, uint32_t end, uint64_t epoch)
{
	char vcpu[32];
	guest_write(7);
	peek(s);
	ckpt_save_merge(s);
	snprintf(vcpu, sizeof(vcpu), "vcpu-%llu", (unsigned long long)epoch);
	return ckpt_save_state(s, vcpu, strlen(vcpu), "dev", 3, end, epoch);
}

/* ---- the receiving side ---- */
static uint8_t back[NPAGES * PS];
static char loaded[32];
static uint64_t acked[8];
static int nacked, ended;

static int r_domain(struct ckpt_restore *rs, const struct ckpt_domain *d)
{
	if (d->mem != 16 << 20 || rs->npages != d->mem / PS)
		return snprintf(rs->err, sizeof(rs->err), "wrong size"), -1;
	rs->mem = back;
	rs->npages = NPAGES;	/* all the test's guest writes */
	return 0;
}

static int r_state(struct ckpt_restore *rs, const struct ckpt_record *v, const struct ckpt_record *dv)
{
	(void)rs;
	(void)dv;
	snprintf(loaded, sizeof(loaded), "%.*s", (int)v->len, (const char *)v->body);
	return 0;
}

static int r_checkpoint(struct ckpt_restore *rs, uint64_t epoch)
{
	(void)rs;
	if (nacked < 8)
		acked[nacked++] = epoch;
	return 0;
}

static int r_end(struct ckpt_restore *rs)
{
	(void)rs;
	ended = 1;
	return 0;
}

static const struct ckpt_restore_ops rops = { .domain = r_domain, .state = r_state,
	.checkpoint = r_checkpoint, .end = r_end };

/* Restores len bytes of a stream; returns run's result, rs->epoch in *epoch. */
static int restore(const uint8_t *p, size_t len, int checkpointed, uint64_t epoch_max,
    uint64_t *epoch, char *err, size_t errlen)
{
	struct rio *r = rio_mem_reader(p, len);
	struct ckpt_restore rs = { .ops = &rops, .r = r, .checkpointed = checkpointed,
		.epoch_max = epoch_max };
	memset(back, 0, sizeof(back));
	loaded[0] = 0;
	nacked = ended = 0;
	CHECK(ckpt_restore_init(&rs) == 0);
	int rc = ckpt_restore_run(&rs);
	if (epoch)
		*epoch = rs.epoch;
	if (err)
		snprintf(err, errlen, "%s", rs.err);
	ckpt_restore_free(&rs);
	rio_close(r);
	return rc;
}

static void live_save_loses_no_page_written_between_rounds(int lz4)
{
	struct rio *w = rio_mem_writer();
	struct ckpt_save s;
	size_t len;

	memset(mem, 0, sizeof(mem));
	klog[0] = 0;
	guest_write(40);
	klog[0] = 0;	/* round 0 sends everything anyway */
	header(w);
	save_init(&s, w, lz4);
	rounds_wanted = 3;
	CHECK(ckpt_save_live(&s) == 0);
	CHECK(s.round == 2);
	CHECK(suspend_and_save(&s, CK_END, 0) == 0);
	ckpt_save_free(&s);
	const uint8_t *p = rio_mem_data(w, &len);
	char err[512];
	int rc = restore(p, len, 0, 0, NULL, err, sizeof(err));
	if (rc) fprintf(stderr, "restore: %s\n", err);
	CHECK(rc == 0);
	CHECK(!memcmp(mem, back, sizeof(mem)));
	CHECK(!strcmp(loaded, "vcpu-0"));
	CHECK(ended);
	rio_close(w);
}

/* epochs 1..4; *at3 the stream's length after epoch 3, m3 the memory then */
static uint8_t m3[NPAGES * PS], m4[NPAGES * PS];
static uint8_t *remus_stream(size_t *len, size_t *at3, uint64_t fourth)
{
	struct rio *w = rio_mem_writer();
	struct ckpt_save s;
	memset(mem, 0, sizeof(mem));
	klog[0] = 0;
	guest_write(30);
	header(w);
	save_init(&s, w, 0);
	rounds_wanted = 2;
	CHECK(ckpt_save_live(&s) == 0);	/* the initial copy */
	CHECK(suspend_and_save(&s, CK_CHECKPOINT, 1) == 0);
	for (uint64_t e = 2; e <= 4; e++) {
		if (e == 4) {	/* what epoch 3 holds */
			rio_flush(w);
			rio_mem_data(w, at3);
			memcpy(m3, mem, sizeof(mem));
		}
		guest_write(9);	/* the guest runs for an epoch */
		CHECK(suspend_and_save(&s, CK_CHECKPOINT, e == 4 ? fourth : e) == 0);
	}
	memcpy(m4, mem, sizeof(mem));
	ckpt_save_free(&s);
	const uint8_t *p = rio_mem_data(w, len);
	uint8_t *copy = malloc(*len);
	memcpy(copy, p, *len);
	rio_close(w);
	return copy;
}

static void epoch_is_applied_whole_or_not_at_all(void)
{
	size_t len, at3;
	uint64_t ep;
	char err[512];
	uint8_t *p = remus_stream(&len, &at3, 4);

	/* the success twin: the stream (it never ends: it breaks) gives epoch 4 */
	CHECK(restore(p, len, 1, 0, &ep, err, sizeof(err)) < 0);
	CHECK(ep == 4);
	CHECK(!memcmp(back, m4, sizeof(back)));
	CHECK(!strcmp(loaded, "vcpu-4"));
	CHECK(nacked == 4 && acked[0] == 1 && acked[1] == 2 && acked[2] == 3 && acked[3] == 4);

	/* cut anywhere inside epoch 4: epoch 3, whole */
	int bad = 0;
	for (size_t cut = at3; cut < len; cut += 37) {
		if (restore(p, cut, 1, 0, &ep, NULL, 0) == 0 || ep != 3 || memcmp(back, m3, sizeof(back)) ||
		    strcmp(loaded, "vcpu-3"))
			bad++;
	}
	CHECK(bad == 0);
	/* a flipped byte inside epoch 4 */
	bad = 0;
	for (size_t off = at3; off < len; off += 101) {
		p[off] ^= 0x20;
		if (restore(p, len, 1, 0, &ep, NULL, 0) == 0 || ep != 3 || memcmp(back, m3, sizeof(back)))
			bad++;
		p[off] ^= 0x20;
	}
	CHECK(bad == 0);
	/* an epoch larger than the receiver takes */
	CHECK(restore(p, len, 1, 4096, &ep, err, sizeof(err)) < 0);
	CHECK(ep == 1 && strstr(err, "over 4096 bytes"));
	free(p);

	/* epoch 4 numbered 2: out of order, refused before it is applied */
	p = remus_stream(&len, &at3, 2);
	CHECK(restore(p, len, 1, 0, &ep, err, sizeof(err)) < 0);
	CHECK(ep == 3 && !memcmp(back, m3, sizeof(back)) && strstr(err, "epoch 2 after epoch 3"));
	free(p);
	/* epoch 4 numbered 5: epoch 4 lost on the way, refused the same way */
	p = remus_stream(&len, &at3, 5);
	CHECK(restore(p, len, 1, 0, &ep, err, sizeof(err)) < 0);
	CHECK(ep == 3 && !memcmp(back, m3, sizeof(back)) && strstr(err, "epoch 5 after epoch 3"));
	/* a migration receiver takes no CHECKPOINT */
	CHECK(restore(p, len, 0, 0, &ep, err, sizeof(err)) < 0);
	CHECK(strstr(err, "CHECKPOINT in a stream that takes none") != NULL);
	free(p);
}

static void policy_abort_stops_the_save_with_its_reason(void)
{
	struct rio *w = rio_mem_writer();
	struct ckpt_save s;
	header(w);
	save_init(&s, w, 0);
	aborting = 1;
	CHECK(ckpt_save_live(&s) < 0);
	CHECK(!strcmp(s.err, "limits cannot be met"));
	aborting = 0;
	ckpt_save_free(&s);
	rio_close(w);
}

int main(void)
{
	live_save_loses_no_page_written_between_rounds(0);
	live_save_loses_no_page_written_between_rounds(1);
	epoch_is_applied_whole_or_not_at_all();
	policy_abort_stops_the_save_with_its_reason();
	return TAP_DONE();
}
