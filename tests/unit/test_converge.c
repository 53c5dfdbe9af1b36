/*
 * test_converge.c - the convergence controller: it stops once the predicted
 * downtime fits the budget and not before; round 0's page cost counts as
 * that of scattered pages only after scaling; a guest that outruns the link
 * is throttled step by step; the user's hard limits abort, soft ones stop.
 */
#include <string.h>

#include "migrated.h"
#include "tap.h"

#define MS 1000000ULL

static struct conv fresh(uint64_t budget_ms, uint64_t max_down_ms, uint64_t max_total_ms)
{
	struct conv_opts o = { budget_ms * MS, max_total_ms * MS, max_down_ms * MS, 0, MS };
	struct conv c;
	conv_init(&c, &o);
	return c;
}

int main(void)
{
	struct conv c;

	/* round 0 of 200000 pages in 200 ms (1 us each): 500 dirty pages are
	 * 2 x 1 us x 500 + 1 ms fixed = 2 ms */
	c = fresh(3, 0, 0);
	CHECK(conv_decide(&c, 200 * MS, 200000, 500, 200 * MS) == CONV_STOP);
	CHECK(c.predicted_ns >= 1990000 && c.predicted_ns <= 2010000);
	CHECK(c.round == 1 && strstr(c.why, "fit"));
	/* 1500 dirty: 4 ms, another round */
	c = fresh(3, 0, 0);
	CHECK(conv_decide(&c, 200 * MS, 200000, 1500, 200 * MS) == CONV_ROUND);
	/* a later round's cost is taken as measured: 1500 pages at 1 us fit */
	CHECK(conv_decide(&c, 1500000, 1500, 1500, 202 * MS) == CONV_STOP);
	CHECK(c.predicted_ns >= 2490000 && c.predicted_ns <= 2510000);
	/* before any measurement: a cautious 100 MB/s */
	c = fresh(3, 0, 0);
	CHECK(conv_decide(&c, MS, 10, 100, MS) == CONV_ROUND && c.predicted_ns > 4 * MS);

	/* a guest dirtying faster than half the link: throttled in steps */
	c = fresh(1, 0, 0);
	CHECK(conv_decide(&c, 100 * MS, 100000, 90000, 100 * MS) == CONV_ROUND);	/* round 1: measure */
	enum conv_action a = conv_decide(&c, 100 * MS, 100000, 90000, 200 * MS);
	CHECK(a == CONV_THROTTLE && c.throttle == 20);
	a = conv_decide(&c, 100 * MS, 100000, 90000, 300 * MS);
	CHECK(a == CONV_THROTTLE && c.throttle == 40 && strstr(c.why, "throttle to 40%"));
	CHECK(conv_next_throttle(99) == 99 && conv_next_throttle(0) == 20 && conv_next_throttle(90) == 95);

	/* out of time: over the hard downtime limit aborts, else stops */
	c = fresh(1, 10, 500);
	CHECK(conv_decide(&c, 100 * MS, 100000, 20000, 600 * MS) == CONV_ABORT);
	CHECK(strstr(c.why, "out of time") && strstr(c.why, "exceeds the limit"));
	c = fresh(1, 0, 500);
	CHECK(conv_decide(&c, 100 * MS, 100000, 20000, 600 * MS) == CONV_STOP);
	CHECK(strstr(c.why, "out of time: stopping"));
	/* out of rounds likewise */
	c = fresh(1, 0, 0);
	c.o.max_rounds = 2;
	CHECK(conv_decide(&c, 100 * MS, 100000, 20000, 100 * MS) == CONV_ROUND);
	CHECK(conv_decide(&c, 100 * MS, 100000, 20000, 200 * MS) == CONV_STOP && strstr(c.why, "out of rounds"));
	return TAP_DONE();
}
