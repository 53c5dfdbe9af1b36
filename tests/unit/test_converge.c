/*
 * test_converge.c - the convergence controller: it stops once the predicted
 * downtime fits the budget and not before, and not while a round still
 * halves the dirty set; round 0's page cost counts as
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
	 * 2 x 1 us x 500 + 1 ms fixed = 2 ms: they fit, but round 0 cut the
	 * dirty set by far more than half, so one more round pays */
	c = fresh(3, 0, 0);
	CHECK(conv_decide(&c, 200 * MS, 200000, 500, 200 * MS) == CONV_ROUND);
	CHECK(c.predicted_ns >= 1990000 && c.predicted_ns <= 2010000);
	CHECK(c.round == 1 && strstr(c.why, "one more round"));
	/* 0.5 ms moved 500 pages and left 200: halved again, one more */
	CHECK(conv_decide(&c, 500000, 500, 200, 201 * MS) == CONV_ROUND);
	/* and 150 after that is no longer half: stop */
	CHECK(conv_decide(&c, 200000, 200, 150, 202 * MS) == CONV_STOP);
	CHECK(c.round == 3 && strstr(c.why, "fit") && !strstr(c.why, "more"));
	/* a few pages are not worth a round however fast they fell */
	c = fresh(3, 0, 0);
	CHECK(conv_decide(&c, 200 * MS, 200000, 30, 200 * MS) == CONV_STOP);
	/* nor is a round the user's time limit has no room for */
	c = fresh(3, 0, 150);
	CHECK(conv_decide(&c, 200 * MS, 200000, 500, 200 * MS) == CONV_STOP);
	/* nor one past the last round */
	struct conv_opts o1 = { 3 * MS, 0, 0, 1, MS };
	conv_init(&c, &o1);
	CHECK(conv_decide(&c, 200 * MS, 200000, 500, 200 * MS) == CONV_STOP);
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
	CHECK(strstr(c.why, "out of time: stopping") && strstr(c.why, "over the") && c.over_budget);

	/* out of rounds with the budget out of reach: throttle steps, each buying
	 * more rounds; over budget only at the last step, and it says so */
	c = fresh(1, 0, 0);
	c.o.max_rounds = 2;
	CHECK(conv_decide(&c, 100 * MS, 100000, 20000, 100 * MS) == CONV_ROUND);
	int steps = 0;
	uint64_t t = 200 * MS;
	while ((a = conv_decide(&c, 100 * MS, 100000, 20000, t)) == CONV_THROTTLE ||
	    a == CONV_ROUND) {
		steps += a == CONV_THROTTLE;
		t += 100 * MS;
		if (steps > 20)
			break;
	}
	CHECK(a == CONV_STOP && c.throttle == 99 && steps == 7 && c.over_budget);
	CHECK(strstr(c.why, "at the last throttle step") && strstr(c.why, "over the 1.0 ms budget"));
	/* with a hard limit it aborts instead */
	c = fresh(1, 5, 0);
	c.o.max_rounds = 1;
	c.throttle = 99;
	CHECK(conv_decide(&c, 100 * MS, 100000, 20000, 100 * MS) == CONV_ABORT);

	/* a prediction that stops shrinking, over budget, from a guest that does
	 * not outrun the link (it dirties half what a round moves): a throttle
	 * step after 3 rounds without progress */
	c = fresh(1, 0, 0);
	CHECK(conv_decide(&c, 100 * MS, 100000, 1400, 100 * MS) == CONV_ROUND);
	CHECK(conv_decide(&c, 6 * MS, 3000, 1390, 106 * MS) == CONV_ROUND);
	CHECK(conv_decide(&c, 6 * MS, 3000, 1380, 112 * MS) == CONV_ROUND);
	a = conv_decide(&c, 6 * MS, 3000, 1370, 118 * MS);
	CHECK(a == CONV_THROTTLE && c.throttle == 20 && strstr(c.why, "for 3 rounds"));
	/* and none while it shrinks */
	c = fresh(1, 0, 0);
	CHECK(conv_decide(&c, 100 * MS, 100000, 8000, 100 * MS) == CONV_ROUND);
	for (uint64_t d = 1400, i = 0; i < 5; d /= 2, i++)
		CHECK(conv_decide(&c, 6 * MS, 3000, d, (106 + 6 * i) * MS) != CONV_THROTTLE);
	return TAP_DONE();
}
