#ifndef TANDEM_CPUPLAN_H
#define TANDEM_CPUPLAN_H

#include <pthread.h>
#include <sched.h>
#include <stddef.h>
#include <sys/types.h>

/* the control core and every core the process was given (cpuplan.c) */
struct cpuplan {
	int cpu;		/* CPUPLAN_NONE: control threads stay where they are */
	cpu_set_t all;
};
#define CPUPLAN_NONE	(-1)

/* arg: "auto" (or NULL: the last of this process's CPUs, when it has two),
 * "none" or a CPU number; fails with the reason */
int cpuplan_parse(struct cpuplan *p, const char *arg, char *err, size_t errlen);
/* the plan's CPU as an argument for cpuplan_parse: a number or "none" */
void cpuplan_arg(const struct cpuplan *p, char *buf, size_t len);
/* the calling thread: real-time, on the control core */
void cpuplan_control(const struct cpuplan *p);
/* the calling thread: ordinary, on every core */
void cpuplan_ordinary(const struct cpuplan *p);
/* thread t (asleep): on every core but the control core, until it calls
 * cpuplan_every_core; 0 when nothing changed (no control core, or no other) */
int cpuplan_off_control(const struct cpuplan *p, pthread_t t);
void cpuplan_every_core(const struct cpuplan *p);
/* every thread of process pid: idle priority, every core (its teardown) */
void cpuplan_idle_process(const struct cpuplan *p, pid_t pid);

#endif
