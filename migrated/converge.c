/*
 * converge.c - the convergence controller of pre-copy migration.
 *
 * After each round it knows how long the round took (up to the destination
 * having applied it), how many pages it moved, and how many pages are dirty
 * now.  From those it keeps the rate at which pages move (smoothed; in
 * page bytes, so compression counts as the speed it gives), what one dirty
 * page costs to move (from the last round alone: dirty pages are scattered,
 * and round 0 reads memory in order, which is faster: its cost counts
 * SCATTER times), and the guest's dirty rate.  It predicts the downtime of
 * stopping now (dirty pages x page cost + a fixed overhead) and decides:
 * stop and copy when the prediction fits the budget and the last round did
 * not halve the dirty set (while it does, another round makes the pause
 * shorter still, at no cost to the guest); throttle the vCPUs a
 * step when the guest dirties faster than half the link (it would never
 * converge), when the prediction stops shrinking for STALL_ROUNDS rounds,
 * and when the rounds run out with the budget out of reach (each step buys
 * more rounds); abort when the user's hard limits cannot be met; else run
 * another round.  Unlike "5 rounds or < 50 pages", the stop rule bounds the
 * downtime itself, and a budget it cannot keep is never overshot silently:
 * it stops over budget only at the last throttle step or when the user's
 * time limit runs out, and then says so (over_budget).
 */
#include <stdio.h>
#include <string.h>

#include "migrated.h"

static const unsigned steps[] = { 0, 20, 40, 60, 80, 90, 95, 99 };

/*
 * Round 0 against scattered pages on the lab machines: 1.0 us against
 * 1.8 us a page (a 1 GiB guest, 6000 pages in round 1), and 2.4 us in the
 * stop-and-copy burst.
 */
#define SCATTER	2.0
#define STALL_ROUNDS	3	/* rounds without progress before a throttle step */
#define STEP_ROUNDS	5	/* more rounds each throttle step buys */
#define FLOOR_PAGES	32	/* fewer dirty pages: another round cannot pay */

unsigned conv_next_throttle(unsigned cur)
{
	for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++)
		if (steps[i] > cur)
			return steps[i];
	return cur;
}

void conv_init(struct conv *c, const struct conv_opts *o)
{
	memset(c, 0, sizeof(*c));
	c->o = *o;
	if (!c->o.max_rounds)
		c->o.max_rounds = 30;
}

enum conv_action conv_decide(struct conv *c, uint64_t round_ns, uint64_t round_pages,
    uint64_t dirty_pages, uint64_t elapsed_ns)
{
	c->round++;
	if (round_ns && round_pages >= 256) {
		double bw = (double)round_pages * 4096 * 1e9 / (double)round_ns;
		c->bw = c->bw > 0 ? 0.5 * c->bw + 0.5 * bw : bw;
		c->page_ns = (c->round == 1 ? SCATTER : 1.0) * (double)round_ns / (double)round_pages;
	}
	if (round_ns)
		c->dirty_pps = (double)dirty_pages * 1e9 / (double)round_ns;
	double bw = c->bw > 0 ? c->bw : 100e6;	/* until measured: a cautious guess */
	double page_ns = c->page_ns > 0 ? c->page_ns : 4096 * 1e9 / bw;
	c->last_predicted_ns = c->predicted_ns;
	c->predicted_ns = (uint64_t)((double)dirty_pages * page_ns) + c->o.fixed_ns;

	/* what the last round started from: round 0 from every page it sent */
	uint64_t before = c->round == 1 ? round_pages : c->last_dirty;
	c->last_dirty = dirty_pages;
	int over_time = c->o.max_total_ns && elapsed_ns >= c->o.max_total_ns;

	if (c->predicted_ns <= c->o.budget_ns) {
		/* the budget is a ceiling, not the aim: while a round still
		 * halves the dirty set the next stop is shorter, and the round
		 * costs the guest nothing */
		if (dirty_pages > FLOOR_PAGES && dirty_pages * 2 <= before &&
		    c->round < c->o.max_rounds && !over_time) {
			snprintf(c->why, sizeof(c->why), "%llu dirty pages fit the %.1f ms budget, "
			    "down from %llu: one more round", (unsigned long long)dirty_pages,
			    (double)c->o.budget_ns / 1e6, (unsigned long long)before);
			return CONV_ROUND;
		}
		snprintf(c->why, sizeof(c->why), "%llu dirty pages fit the %.1f ms budget",
		    (unsigned long long)dirty_pages, (double)c->o.budget_ns / 1e6);
		return CONV_STOP;
	}
	int can_throttle = conv_next_throttle(c->throttle) != c->throttle;
	c->stalled = c->round >= 2 && c->predicted_ns * 10 >= c->last_predicted_ns * 9 ?
	    c->stalled + 1 : 0;
	if (!over_time && c->round >= c->o.max_rounds && can_throttle) {
		c->throttle = conv_next_throttle(c->throttle);
		c->o.max_rounds += STEP_ROUNDS;
		snprintf(c->why, sizeof(c->why), "out of rounds with %.1f ms predicted against a "
		    "%.1f ms budget: throttle to %u%%", (double)c->predicted_ns / 1e6,
		    (double)c->o.budget_ns / 1e6, c->throttle);
		return CONV_THROTTLE;
	}
	if (over_time || c->round >= c->o.max_rounds) {
		if (c->o.max_downtime_ns && c->predicted_ns > c->o.max_downtime_ns) {
			snprintf(c->why, sizeof(c->why), "%s and the predicted downtime %.1f ms "
			    "exceeds the limit %.1f ms", over_time ? "out of time" : "out of rounds",
			    (double)c->predicted_ns / 1e6, (double)c->o.max_downtime_ns / 1e6);
			return CONV_ABORT;
		}
		c->over_budget = 1;
		snprintf(c->why, sizeof(c->why), "%s%s: stopping with %.1f ms predicted, over the "
		    "%.1f ms budget", over_time ? "out of time" : "out of rounds",
		    over_time ? "" : " at the last throttle step", (double)c->predicted_ns / 1e6,
		    (double)c->o.budget_ns / 1e6);
		return CONV_STOP;
	}
	if (c->stalled >= STALL_ROUNDS && can_throttle) {
		c->throttle = conv_next_throttle(c->throttle);
		c->stalled = 0;
		snprintf(c->why, sizeof(c->why), "%.1f ms predicted for %u rounds, over the %.1f ms "
		    "budget: throttle to %u%%", (double)c->predicted_ns / 1e6, STALL_ROUNDS,
		    (double)c->o.budget_ns / 1e6, c->throttle);
		return CONV_THROTTLE;
	}
	/* the guest outruns half the link: it will not converge, slow it down */
	if (c->round >= 2 && c->dirty_pps * 4096 > 0.5 * bw && conv_next_throttle(c->throttle) != c->throttle) {
		c->throttle = conv_next_throttle(c->throttle);
		snprintf(c->why, sizeof(c->why), "dirtying %.0f MB/s against a %.0f MB/s link: "
		    "throttle to %u%%", c->dirty_pps * 4096 / 1e6, bw / 1e6, c->throttle);
		return CONV_THROTTLE;
	}
	snprintf(c->why, sizeof(c->why), "%llu dirty pages, %.1f ms predicted",
	    (unsigned long long)dirty_pages, (double)c->predicted_ns / 1e6);
	return CONV_ROUND;
}
