/*
 * sched.c - who gets a core first inside hvd.
 *
 * hvd's control threads (the daemon's, and each domain process's main
 * thread, which answers requests) run at the lowest real-time priority;
 * the threads that carry a guest (vCPUs, the NIC's receive thread, the
 * throttle) are ordinary, like every other program.  A vCPU that an
 * unpause has just woken must never hold the core the unpause's answer
 * waits for: at equal priority the woken vCPU, credited for its sleep,
 * preempted the control thread and kept it off the core for its slice
 * (1-5 ms here, in one migration of five, at the very end of the
 * downtime).  A real-time thread is never preempted by an ordinary one and
 * is moved to a free core at once.  Control threads only ever answer a
 * request and wait again, so they cannot starve the host; migrated raises
 * itself the same way only while a VM is paused.
 *
 * Threads inherit their creator's policy, so every guest thread calls
 * sched_guest() first.  Where real-time is not allowed nothing changes.
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <string.h>
#include <sys/resource.h>

#include "hvd.h"
#include "log.h"

void sched_control(void)
{
	struct sched_param sp = { .sched_priority = 1 };
	int e = pthread_setschedparam(pthread_self(), SCHED_FIFO, &sp);
	if (e)
		log_debug("real-time priority for hvd's control: %s", strerror(e));
}

void sched_guest(void)
{
	struct sched_param sp = { .sched_priority = 0 };
	pthread_setschedparam(pthread_self(), SCHED_OTHER, &sp);
}
