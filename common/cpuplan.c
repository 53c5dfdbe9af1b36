/*
 * cpuplan.c - the control core: where a daemon's threads on the critical
 * path of a pause run, and how.
 *
 * hvd's control threads (the daemon's, and each domain process's main
 * thread, which answers requests) and migrated's threads while a VM is
 * paused run at the lowest real-time priority, all on one core, the host's
 * control core; every other thread (the guests' vCPUs among them) is an
 * ordinary thread on every core the daemon was given.
 *
 * Real-time, because a vCPU that an unpause has just woken must never hold
 * the core the unpause's answer waits for: at equal priority the woken
 * vCPU, credited for its sleep, preempted the control thread and kept it
 * off the core for its slice (1-5 ms here, in one migration of five, at
 * the very end of the downtime).  A real-time thread is never kept waiting
 * by an ordinary one.
 *
 * One core, because a real-time thread woken by another of equal priority
 * is moved to a second core at once, and waking an idle core costs ~45 us
 * on a virtual host.  A call to hvd crosses four wake-ups (client, daemon,
 * domain and back) and cost 0.15 ms beyond its work; on one core the thread
 * that asks sleeps at once and the one that answers takes the core (a round
 * trip of 4 us).  These threads only ever answer, or move a paused VM's
 * last state, and wait again: they cannot starve that core.
 *
 * Where real-time or affinity is not allowed nothing changes.
 */
#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cpuplan.h"
#include "log.h"

int cpuplan_parse(struct cpuplan *p, const char *arg, char *err, size_t errlen)
{
	p->cpu = CPUPLAN_NONE;
	if (sched_getaffinity(0, sizeof(p->all), &p->all) < 0) {
		CPU_ZERO(&p->all);
		return 0;
	}
	if (!arg || !strcmp(arg, "auto")) {	/* the last of ours, when we have two */
		if (CPU_COUNT(&p->all) >= 2)
			for (int c = 0; c < CPU_SETSIZE; c++)
				if (CPU_ISSET(c, &p->all))
					p->cpu = c;
		return 0;
	}
	if (!strcmp(arg, "none"))
		return 0;
	char *end;
	long c = strtol(arg, &end, 10);
	if (*arg < '0' || *arg > '9' || *end || c >= CPU_SETSIZE || !CPU_ISSET(c, &p->all))
		return snprintf(err, errlen, "control CPU %s: not a CPU this process may run on "
		    "(give one it may, auto or none)", arg), -1;
	p->cpu = (int)c;
	return 0;
}

void cpuplan_arg(const struct cpuplan *p, char *buf, size_t len)
{
	if (p->cpu >= 0)
		snprintf(buf, len, "%d", p->cpu);
	else
		snprintf(buf, len, "none");
}

void cpuplan_control(const struct cpuplan *p)
{
	struct sched_param sp = { .sched_priority = 1 };
	/* real-time first: moved while still ordinary, the thread would queue
	 * behind whatever holds that core */
	int e = pthread_setschedparam(pthread_self(), SCHED_FIFO, &sp);
	if (e)
		log_debug("real-time priority: %s", strerror(e));
	if (p->cpu >= 0) {
		cpu_set_t one;
		CPU_ZERO(&one);
		CPU_SET(p->cpu, &one);
		if ((e = pthread_setaffinity_np(pthread_self(), sizeof(one), &one)))
			log_debug("on the control CPU %d: %s", p->cpu, strerror(e));
	}
}

void cpuplan_ordinary(const struct cpuplan *p)
{
	struct sched_param sp = { .sched_priority = 0 };
	cpuplan_every_core(p);	/* first, while still ahead of ordinary threads on this core */
	pthread_setschedparam(pthread_self(), SCHED_OTHER, &sp);
}

/*
 * A vCPU resumed after a pause is woken off the control core.  Its unpause
 * comes from a control thread on the control core, and the scheduler wakes
 * a thread next to its waker when no core is idle at that instant: the
 * resumed vCPU then queued behind that core's real-time threads and a
 * handed-over source's exit (kernel work, which does not give the core
 * up), 0.8-4.2 ms in the lab's scheduler trace, while the other core went
 * idle (an idle core does not take a lone waiting thread from a busy one).
 * Set while the vCPU sleeps, the mask moves nothing and costs one call;
 * the vCPU takes every core back once it runs.
 */
int cpuplan_off_control(const struct cpuplan *p, pthread_t t)
{
	if (p->cpu < 0 || CPU_COUNT(&p->all) < 2 || !CPU_ISSET(p->cpu, &p->all))
		return 0;
	cpu_set_t s = p->all;
	CPU_CLR(p->cpu, &s);
	return pthread_setaffinity_np(t, sizeof(s), &s) == 0;
}

void cpuplan_every_core(const struct cpuplan *p)
{
	if (CPU_COUNT(&p->all))
		pthread_setaffinity_np(pthread_self(), sizeof(p->all), &p->all);
}

/*
 * A process being torn down: its exit (unmapping guest memory, KVM freeing
 * the VM's mappings, ~3 ms of CPU for a 1 GiB guest, much of it in KVM's
 * per-VM worker) ran at ordinary priority right when the migrated VM
 * resumed, and on a host whose cores are shared it took them from the
 * guest.  SCHED_IDLE for every thread it has: it runs on what is left.
 * A killed process never runs its own code again, only the kernel's
 * teardown; on a host with no idle time that teardown may be slow, and
 * may hold a kernel lock meanwhile (closing a tap takes rtnl), so hvd
 * waits for it before it builds another domain (domain.c).
 */
void cpuplan_idle_process(const struct cpuplan *p, pid_t pid)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/task", (int)pid);
	DIR *d = opendir(path);
	if (!d)
		return;
	struct sched_param sp = { .sched_priority = 0 };
	struct dirent *e;
	while ((e = readdir(d))) {
		pid_t tid = (pid_t)atoi(e->d_name);
		if (tid <= 0)
			continue;
		if (sched_setscheduler(tid, SCHED_IDLE, &sp) < 0)
			log_debug("task %d: idle priority: %s", (int)tid, strerror(errno));
		if (CPU_COUNT(&p->all))
			sched_setaffinity(tid, sizeof(p->all), &p->all);
	}
	closedir(d);
}
