/*
 * clock.c - guest time from the TSC.
 *
 * The frequency comes from the hypervisor leaf 0x40000010 (EAX = TSC kHz),
 * which hvd fills in and boot.S reads in ring 0; a tsc_khz= command line
 * value overrides it, and 2 GHz is the guess when neither exists.  Waiting
 * uses hvd's idle port so an idle guest does not burn a host core.  On Xen
 * it spins on PAUSE, counted, without reading the TSC: Xen traps RDTSC (and
 * the idle port's write) there, and a vCPU that exits for them tens of
 * thousands of times a second was seen, under nested (TCG) SVM, to die now
 * and then of a triple fault, Xen's fetch of the trapped instruction
 * answered with a page fault its delivery could not survive.  The count per
 * microsecond is measured on the first wait; a wait spins at most 2 ms
 * before the loop looks at the clock again.
 */
#include "guest.h"

uint64_t tsc_hz = 2000000000ULL;

extern uint32_t boot_tsc_khz;

void clock_init(uint64_t override_khz)
{
	if (override_khz)
		tsc_hz = override_khz * 1000;
	else if (boot_tsc_khz)
		tsc_hz = (uint64_t)boot_tsc_khz * 1000;
}

uint64_t clock_us(void)
{
	return rdtsc() / (tsc_hz / 1000000);
}

#define IDLE_MIN_US 200		/* shorter waits spin: an exit costs ~125 us */

/*
 * stood=US: every stretch longer than US in which the guest did not run
 * (the hypervisor paused it: a migration's stop, a checkpoint; or the host
 * did not run its vCPU) is printed "STOOD us", seen as a jump of the TSC
 * between two looks of the main loop, which reads the TSC it reads anyway
 * (stood_now), the time a wait asked for allowed.  The guest's own slow
 * work (printing, a sweep) is passed over (stood_pass).  No more reads of the TSC than without it: on Xen each may
 * trap.  One oracle for every tool's pauses, whatever the hypervisor.  The
 * stretches are also summed (stood_sums: all of them, and those of 5 ms or
 * more), which the heartbeat line carries, so that a window in which the
 * console is silenced (Xen drops guest lines below its guest log level) is
 * still accounted for by the lines on either side of it.
 */
static uint64_t stood_ticks, stood_last, stood_allow;
static struct stood_sums sums;

void stood_init(uint64_t us)
{
	stood_ticks = us * (tsc_hz / 1000000);
	stood_last = stood_allow = 0;
	sums = (struct stood_sums){ 0 };
}

struct stood_sums stood_sums(void)
{
	return sums;
}

uint64_t stood_now(void)
{
	uint64_t t = rdtsc();
	if (!stood_ticks)
		return t;
	if (stood_last && t - stood_last > stood_allow + stood_ticks) {
		uint64_t us = (t - stood_last - stood_allow) / (tsc_hz / 1000000);
		sums.n++;
		sums.us += us;
		if (us >= 5000)
			sums.n5++, sums.us5 += us;
		con_printf("STOOD %lu us\n", us);
		t = rdtsc();
	}
	stood_last = t;
	stood_allow = 0;
	return t;
}

void stood_pass(void)
{
	if (stood_ticks)
		stood_last = rdtsc(), stood_allow = 0;
}

uint32_t clock_idle_us(uint64_t deadline)
{
	uint64_t now = rdtsc();
	uint64_t us = now < deadline ? (deadline - now) / (tsc_hz / 1000000) : 0;
	return us <= IDLE_MIN_US ? 0 : us > 1000000 ? 1000000 : (uint32_t)us;
}

#define SPIN_MAX_US 2000

static void spin(uint64_t n)
{
	while (n--)
		__asm__ volatile("pause");
}

void clock_idle(uint32_t us)
{
	static uint64_t spins_per_us;

	if (!us)
		return;
	if (!boot_on_xen) {
		stood_allow += us * (tsc_hz / 1000000);
		outl(PORT_IDLE, us);
		return;
	}
	if (!spins_per_us) {
		uint64_t t0 = rdtsc();
		spin(10000);
		uint64_t dt = (rdtsc() - t0) / (tsc_hz / 1000000);
		spins_per_us = dt ? 10000 / dt + 1 : 1000;
	}
	if (us > SPIN_MAX_US)
		us = SPIN_MAX_US;
	stood_allow += us * (tsc_hz / 1000000);
	spin((uint64_t)us * spins_per_us);
}
