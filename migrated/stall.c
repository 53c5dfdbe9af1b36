/*
 * stall.c - fault injection for tests: with TANDEM_STALL=<point>[,<point>...]
 * in its environment, migrated stops for TANDEM_STALL_MS (default 3000) at
 * those named points of a migration, so a test can kill a daemon exactly
 * there.
 * Points: send-setup send-round0 send-paused send-ready send-handover
 * send-recorded send-handed send-running
 * recv-setup recv-round0 recv-end recv-ready recv-commit recv-running
 * recv-outcome (in doubt, the source said committed, before running it).
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "migrated.h"

void mig_stall(const char *point)
{
	const char *want = getenv("TANDEM_STALL"), *p;
	size_t n = strlen(point);
	for (p = want; p && (p = strstr(p, point)); p += n)
		if ((p == want || p[-1] == ',') && (p[n] == 0 || p[n] == ','))
			break;
	if (!p)
		return;
	const char *ms = getenv("TANDEM_STALL_MS");
	long t = ms ? atol(ms) : 3000;
	log_warnx("test hook: stalling at %s for %ld ms", point, t);
	usleep((useconds_t)t * 1000);
}
