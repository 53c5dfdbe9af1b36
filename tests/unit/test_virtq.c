/*
 * test_virtq.c - the split virtqueue's parser: well-formed chains (direct,
 * indirect, readable then writable) come out whole and go back on the used
 * ring; every malformed one a guest can build (a loop, a NEXT outside the
 * table, a buffer outside memory, a length that overflows, nested or mixed
 * indirect tables, readable after writable, more chains than the queue
 * holds, rings outside memory or misaligned) is refused with a reason and
 * nothing is consumed.
 */
#include <string.h>

#include "hvd.h"
#include "tap.h"

#define MEM (64 * 1024)
static uint8_t mem[MEM];
static struct gmem gm = { mem, MEM, MEM };
static char err[256];

static void put16(uint64_t a, uint16_t v) { mem[a] = (uint8_t)v; mem[a + 1] = (uint8_t)(v >> 8); }
static void put32(uint64_t a, uint32_t v) { put16(a, (uint16_t)v); put16(a + 2, (uint16_t)(v >> 16)); }
static void put64(uint64_t a, uint64_t v) { put32(a, (uint32_t)v); put32(a + 4, (uint32_t)(v >> 32)); }
static uint16_t get16(uint64_t a) { return (uint16_t)(mem[a] | mem[a + 1] << 8); }
static uint32_t get32(uint64_t a) { return (uint32_t)get16(a) | (uint32_t)get16(a + 2) << 16; }

static void desc(uint64_t tbl, unsigned i, uint64_t addr, uint32_t len, uint16_t flags, uint16_t next)
{
	put64(tbl + 16 * i, addr);
	put32(tbl + 16 * i + 8, len);
	put16(tbl + 16 * i + 12, flags);
	put16(tbl + 16 * i + 14, next);
}

/* a fresh 8-entry queue offering head */
static struct virtq fresh(uint16_t head)
{
	struct virtq q = { 8, 0x1000, 0x2000, 0x3000, 0, 0 };
	memset(mem, 0, sizeof(mem));
	put16(q.avail + 4, head);
	put16(q.avail + 2, 1);
	return q;
}

static int pop(struct virtq *q, struct virtq_chain *c)
{
	return virtq_pop(q, &gm, c, err, sizeof(err));
}

int main(void)
{
	static struct virtq_chain c;
	struct virtq q;

	/* a readable header and a writable buffer */
	q = fresh(3);
	desc(q.desc, 3, 0x8000, 12, 1, 5);
	desc(q.desc, 5, 0x9000, 1500, 2, 0);
	CHECK(pop(&q, &c) == 1 && c.head == 3 && c.n == 2 && c.out_bytes == 12 &&
	    c.in_bytes == 1500 && c.buf[1].writable && c.buf[1].gpa == 0x9000);
	CHECK(pop(&q, &c) == 0);	/* nothing more offered */
	virtq_push(&q, &gm, c.head, 1500);
	CHECK(get16(q.used + 2) == 1 && get32(q.used + 4) == 3 && get32(q.used + 8) == 1500);

	/* an indirect table of two */
	q = fresh(0);
	desc(q.desc, 0, 0x4000, 32, 4, 0);
	desc(0x4000, 0, 0x8000, 10, 1, 1);
	desc(0x4000, 1, 0x9000, 20, 2, 0);
	CHECK(pop(&q, &c) == 1 && c.n == 2 && c.out_bytes == 10 && c.in_bytes == 20);

	/* the malformed ones: each refused, nothing consumed */
	struct { const char *what, *why; } cases[] = {
		{ "loop", "a loop" }, { "next", "outside a table" }, { "oob", "outside guest memory" },
		{ "wrap", "outside guest memory" }, { "nested", "inside an indirect" },
		{ "mixed", "must be the whole chain" }, { "indlen", "malformed" },
		{ "order", "readable after writable" }, { "flood", "offers 9 chains" },
		{ "head", "outside a table" },
	};
	for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
		const char *w = cases[k].what;
		q = fresh(0);
		if (!strcmp(w, "loop")) {
			desc(q.desc, 0, 0x8000, 1, 1, 1);
			desc(q.desc, 1, 0x8000, 1, 1, 0);
		} else if (!strcmp(w, "next"))
			desc(q.desc, 0, 0x8000, 1, 1, 8);
		else if (!strcmp(w, "oob"))
			desc(q.desc, 0, MEM - 4, 8, 0, 0);
		else if (!strcmp(w, "wrap"))
			desc(q.desc, 0, ~0ULL - 2, 16, 0, 0);
		else if (!strcmp(w, "nested")) {
			desc(q.desc, 0, 0x4000, 16, 4, 0);
			desc(0x4000, 0, 0x5000, 16, 4, 0);
		} else if (!strcmp(w, "mixed")) {
			desc(q.desc, 0, 0x8000, 1, 1, 1);
			desc(q.desc, 1, 0x4000, 16, 4, 0);
		} else if (!strcmp(w, "indlen"))
			desc(q.desc, 0, 0x4000, 17, 4, 0);
		else if (!strcmp(w, "order")) {
			desc(q.desc, 0, 0x8000, 1, 2 | 1, 1);
			desc(q.desc, 1, 0x8000, 1, 0, 0);
		} else if (!strcmp(w, "flood"))
			put16(q.avail + 2, 9);
		else if (!strcmp(w, "head"))
			put16(q.avail + 4, 8);
		int r = pop(&q, &c);
		CHECK(r == -1 && strstr(err, cases[k].why) && q.last_avail == 0);
		if (r != -1 || !strstr(err, cases[k].why))
			fprintf(stderr, "  case %s: %d %s\n", w, r, err);
	}
	/* the rings themselves */
	q = fresh(0);
	q.size = 6;
	CHECK(pop(&q, &c) == -1 && strstr(err, "power of two"));
	q = fresh(0);
	q.used = MEM - 8;
	CHECK(pop(&q, &c) == -1 && strstr(err, "outside guest memory"));
	q = fresh(0);
	q.desc = 0x1008;
	CHECK(pop(&q, &c) == -1 && strstr(err, "misaligned"));
	/* a chain as long as the queue is fine; a loop through all of it is not */
	q = fresh(0);
	for (unsigned i = 0; i < 8; i++)
		desc(q.desc, i, 0x8000, 1, i < 7 ? 1 : 0, (uint16_t)(i + 1));
	CHECK(pop(&q, &c) == 1 && c.n == 8);
	return TAP_DONE();
}
