/*
 * test_pace.c - the Remus throttle (remusd/pace.c) against a model of a
 * protected guest: an epoch takes a fixed cost F plus K times the time the
 * guest ran unthrottled since the last one (the pages it dirtied then), and
 * the next epoch starts when this one ends or at the target, whichever is
 * later.  The failures it prevents: a host stall that throttles the guest,
 * a target below the fixed cost that throttles it for nothing, and, as
 * their twins, a guest that outruns the backup and is never throttled, or
 * one that stays throttled once its epochs are short again.
 */
#include <string.h>

#include "remus.h"
#include "tap.h"

#define MS 1000000ULL

struct run {
	unsigned max_t;		/* the most it held back */
	double busy;		/* the last epoch's length, ms */
	double prev;		/* the interval before it, ms */
};

/* N epochs of the model; with stall_at > 0 that epoch takes stall ms more */
static struct run model(struct pace *s, double f, double k, double target, int n, int stall_at, double stall)
{
	struct run r = { s->throttle, 0, target };
	for (int i = 1; i <= n; i++) {
		double busy = f + k * (1 - s->throttle / 100.0) * r.prev;
		if (i == stall_at)
			busy += stall;
		unsigned t = pace_next(s, (uint64_t)(busy * MS), (uint64_t)(target * MS));
		if (t > r.max_t)
			r.max_t = t;
		r.busy = busy;
		r.prev = busy > target ? busy : target;
	}
	return r;
}

int main(void)
{
	struct pace s;
	struct run r;

	/* a host stall: timely epochs (60 of 100 ms), one of them 150 ms
	 * longer; the guest is not throttled for it */
	pace_init(&s);
	r = model(&s, 50, 0.1, 100, 40, 20, 150);
	CHECK(r.max_t == 0 && s.throttle == 0);
	/* twin: a guest that outruns the backup (each epoch longer than the
	 * last) is throttled until its epochs fit the target again */
	pace_init(&s);
	r = model(&s, 10, 1.2, 60, 60, 0, 0);
	CHECK(r.max_t >= 20);
	CHECK(r.busy <= 60);
	/* and so is one whose epochs settle above the target from its pages
	 * (30 ms fixed, 0.7 ms a ms of running: 100 ms unthrottled) */
	pace_init(&s);
	r = model(&s, 30, 0.7, 60, 60, 0, 0);
	CHECK(s.throttle >= 20 && r.busy <= 60);

	/* a target below the fixed cost (70 ms fixed, a 59 ms target, the pages
	 * next to nothing): one trial step at most, taken back, and the guest
	 * runs unthrottled; the epochs run at their fixed cost */
	pace_init(&s);
	r = model(&s, 70, 0.01, 59, 60, 0, 0);
	CHECK(r.max_t <= PACE_UP);
	CHECK(s.throttle == 0);
	CHECK(s.futile_ns >= 70 * MS);
	/* the same with jitter on every epoch (60-80 ms): no creeping up */
	pace_init(&s);
	unsigned most = 0;
	for (int i = 0; i < 200; i++) {
		double busy = 70 + ((i * 7919) % 21) - 10;
		unsigned t = pace_next(&s, (uint64_t)(busy * MS), 59 * MS);
		most = t > most ? t : most;
	}
	CHECK(most <= PACE_UP && s.throttle <= PACE_UP);
	/* nor when the target is so close to the fixed cost that one epoch in
	 * a few fits: one trial, not one per timely epoch */
	pace_init(&s);
	unsigned ups = 0, prev = 0;
	for (int i = 0; i < 200; i++) {
		double busy = i % 4 == 3 ? 52 : 57;
		unsigned t = pace_next(&s, (uint64_t)(busy * MS), 53 * MS);
		ups += t > prev;
		prev = t;
	}
	CHECK(ups <= 1 && s.throttle == 0);
	/* nor when stalls come on top of it (one epoch in ten 50 ms longer):
	 * the epoch after a stall is shorter, but that is not the throttle's
	 * doing, and the guest is not left throttled */
	pace_init(&s);
	ups = 0, prev = 0;
	for (int i = 0; i < 300; i++) {
		double busy = 57 + (i % 10 == 9 ? 50 : 0);
		unsigned t = pace_next(&s, (uint64_t)(busy * MS), 53 * MS);
		ups += t > prev;
		prev = t;
	}
	CHECK(ups <= 1 && s.throttle == 0);
	/* but a guest that gets busier after that (its epochs grow well past
	 * the futile length) is throttled again */
	r = model(&s, 10, 1.3, 59, 80, 0, 0);
	CHECK(r.max_t >= 20 && r.busy <= 59 * 1.05);

	/* once the guest quietens, its epochs are short and the throttle comes
	 * back down, a step per short epoch */
	pace_init(&s);
	r = model(&s, 10, 1.2, 60, 60, 0, 0);
	CHECK(s.throttle >= 20);
	r = model(&s, 10, 0.05, 60, 20, 0, 0);
	CHECK(s.throttle == 0);

	/* a throttle left by the initial copy comes down the same way */
	pace_init(&s);
	s.throttle = 40;
	r = model(&s, 10, 0.1, 100, 10, 0, 0);
	CHECK(s.throttle == 0);
	CHECK(!strcmp(pace_state_name(PACE_TRIAL), "TRIAL") && !strcmp(pace_state_name(PACE_FREE), "FREE"));
	return TAP_DONE();
}
