/*
 * stall.c - fault injection for tests: with TANDEM_STALL=<point> in its
 * environment, migrated stops for TANDEM_STALL_MS (default 3000) at that
 * named point of a migration, so a test can kill a daemon exactly there.
 * Points: send-setup send-round0 send-paused send-ready send-handed
 * recv-setup recv-round0 recv-end recv-ready recv-commit.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "migrated.h"

void mig_stall(const char *point)
{
	const char *want = getenv("TANDEM_STALL");
	if (!want || strcmp(want, point))
		return;
	const char *ms = getenv("TANDEM_STALL_MS");
	long n = ms ? atol(ms) : 3000;
	log_warnx("test hook: stalling at %s for %ld ms", point, n);
	usleep((useconds_t)n * 1000);
}
