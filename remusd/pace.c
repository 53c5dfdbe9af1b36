/*
 * pace.c - how much of the guest's time a protection holds back.
 *
 * An epoch is late when the next cannot start on time: its pause and send,
 * and the wait for the epoch before it to be acknowledged (epoch.c keeps
 * at most PRIMARY_DEPTH in flight), outlast the target.  A late epoch
 * makes the one after it larger.  A guest that
 * dirties faster than the backup takes its pages makes every epoch larger
 * than the one before; throttling it shrinks its epochs and is worth its
 * cost.  Two other causes of a late epoch are not the guest's doing, and
 * throttling the guest for them takes its time and gives nothing back:
 *
 *   - one late epoch among timely ones: the host stalled (a busy core, a
 *     scheduler's slice);
 *   - a target below the fixed cost of an epoch (the pause, the send, and
 *     an acknowledgement slower than the epoch after it), which no throttle
 *     shortens.
 *
 * So the throttle goes up (PACE_UP per target's length of overrun) only
 * after PACE_LATE_RUN late epochs in a row, and every step up is a trial:
 * if the next late epoch is not at least PACE_GAIN_PCT shorter than the
 * shorter of the two that called for the step (a stall in one of them is
 * no gain to find), the step is taken back and throttling is futile at
 * that length: no more steps up until epochs grow PACE_REGROW_PCT past it
 * (the guest got busier).  The futile length is forgotten after
 * PACE_FIT_RUN timely epochs in a row.  The throttle comes down PACE_DOWN
 * per epoch that takes less than half the target.  States: FREE (no
 * trial) and TRIAL (a step up awaits its effect); futile_ns marks the
 * futile length (0: none).
 */
#include "remus.h"

#define PACE_DOWN	10
#define PACE_LATE_RUN	2
#define PACE_GAIN_PCT	5
#define PACE_REGROW_PCT	25
#define PACE_FIT_RUN	8

void pace_init(struct pace *s)
{
	*s = (struct pace){ .state = PACE_FREE };
}

const char *pace_state_name(enum pace_state st)
{
	return st == PACE_TRIAL ? "TRIAL" : "FREE";
}

unsigned pace_next(struct pace *s, uint64_t busy_ns, uint64_t target_ns)
{
	uint64_t prev = s->prev_ns;
	s->prev_ns = busy_ns;
	s->why = NULL;
	if (!target_ns)
		return s->throttle;
	if (busy_ns <= target_ns) {
		s->late_run = 0;
		s->state = PACE_FREE;
		/* epochs fit again for a while: what was futile may not be now (a
		 * target just below the fixed cost fits now and then by chance) */
		if (++s->fit_run >= PACE_FIT_RUN)
			s->futile_ns = 0;
		if (busy_ns < target_ns / 2 && s->throttle) {
			s->throttle = s->throttle > PACE_DOWN ? s->throttle - PACE_DOWN : 0;
			s->why = "epochs take less than half the target";
		}
		return s->throttle;
	}
	s->late_run++;
	s->fit_run = 0;
	if (s->state == PACE_TRIAL) {
		s->state = PACE_FREE;
		if (busy_ns > s->trial_ns - s->trial_ns * PACE_GAIN_PCT / 100) {
			/* the step did not shorten the epochs: take it back */
			s->throttle = s->throttle > s->step ? s->throttle - s->step : 0;
			s->futile_ns = s->trial_ns;
			s->why = "throttling did not shorten the epochs: the target is below their fixed cost";
			return s->throttle;
		}
	}
	if (s->late_run < PACE_LATE_RUN)
		return s->throttle;	/* one late epoch is a stall, not a trend */
	/* the length the step is judged against: the shorter of the two late
	 * epochs, so that a stall in one of them does not pass for a gain */
	uint64_t ref = prev < busy_ns ? prev : busy_ns;
	if (s->futile_ns && ref < s->futile_ns + s->futile_ns * PACE_REGROW_PCT / 100)
		return s->throttle;
	unsigned up = (unsigned)(PACE_UP * (busy_ns / target_ns));
	if (s->throttle >= PACE_MAX)
		return s->throttle;
	s->step = s->throttle + up > PACE_MAX ? PACE_MAX - s->throttle : up;
	s->throttle += s->step;
	s->state = PACE_TRIAL;
	s->trial_ns = ref;
	s->futile_ns = 0;
	s->why = "epochs outlast the target";
	return s->throttle;
}
