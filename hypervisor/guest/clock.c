/*
 * clock.c - guest time from the TSC.
 *
 * The frequency comes from the hypervisor leaf 0x40000010 (EAX = TSC kHz),
 * which hvd fills in and boot.S reads in ring 0; a tsc_khz= command line
 * value overrides it, and 2 GHz is the guess when neither exists.  Waiting
 * uses hvd's idle port so an idle guest does not burn a host core; on other
 * hypervisors the port write is ignored and the loop spins.
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

uint32_t clock_idle_us(uint64_t deadline)
{
	uint64_t now = rdtsc();
	uint64_t us = now < deadline ? (deadline - now) / (tsc_hz / 1000000) : 0;
	return us <= IDLE_MIN_US ? 0 : us > 1000000 ? 1000000 : (uint32_t)us;
}

void clock_idle(uint32_t us)
{
	if (us)
		outl(PORT_IDLE, us);
}
