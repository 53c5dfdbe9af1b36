/*
 * test_cpuplan.c - a paused vCPU is woken off the control core, and takes
 * every core back once it runs.
 *
 * The failure it prevents: a resumed vCPU queued behind the control core's
 * real-time threads while another core sat idle.  Its twins: with no
 * control core, or none besides it, nothing changes.
 */
#include <pthread.h>
#include <sched.h>
#include <string.h>

#include "cpuplan.h"
#include "tap.h"

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cond = PTHREAD_COND_INITIALIZER;
static int go, done;
static cpu_set_t after;
static struct cpuplan plan;

static void *vcpu(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&lock);
	while (!go)
		pthread_cond_wait(&cond, &lock);	/* parked */
	pthread_mutex_unlock(&lock);
	cpuplan_every_core(&plan);	/* running again */
	pthread_getaffinity_np(pthread_self(), sizeof(after), &after);
	pthread_mutex_lock(&lock);
	done = 1;
	pthread_cond_broadcast(&cond);
	pthread_mutex_unlock(&lock);
	return NULL;
}

static void wake(pthread_t t)
{
	pthread_mutex_lock(&lock);
	go = 1;
	pthread_cond_broadcast(&cond);
	while (!done)
		pthread_cond_wait(&cond, &lock);
	pthread_mutex_unlock(&lock);
	pthread_join(t, NULL);
	go = done = 0;
}

int main(void)
{
	char err[128];
	cpu_set_t mask;
	pthread_t t;

	CHECK(cpuplan_parse(&plan, "auto", err, sizeof(err)) == 0);
	if (CPU_COUNT(&plan.all) < 2) {
		printf("test_cpuplan: one CPU here, nothing to steer (skipped)\n");
		return TAP_DONE();
	}
	/* woken off the control core, every core again once it runs */
	CHECK(plan.cpu >= 0 && CPU_ISSET(plan.cpu, &plan.all));
	pthread_create(&t, NULL, vcpu, NULL);
	CHECK(cpuplan_off_control(&plan, t) == 1);
	CHECK(pthread_getaffinity_np(t, sizeof(mask), &mask) == 0);
	CHECK(!CPU_ISSET(plan.cpu, &mask) && CPU_COUNT(&mask) == CPU_COUNT(&plan.all) - 1);
	wake(t);
	CHECK(CPU_EQUAL(&after, &plan.all));

	/* no control core: nothing changes */
	struct cpuplan none;
	CHECK(cpuplan_parse(&none, "none", err, sizeof(err)) == 0 && none.cpu == CPUPLAN_NONE);
	pthread_create(&t, NULL, vcpu, NULL);
	CHECK(cpuplan_off_control(&none, t) == 0);
	CHECK(pthread_getaffinity_np(t, sizeof(mask), &mask) == 0 && CPU_EQUAL(&mask, &plan.all));
	wake(t);

	/* the control core is the only one: nothing changes */
	struct cpuplan only = plan;
	CPU_ZERO(&only.all);
	CPU_SET(plan.cpu, &only.all);
	pthread_create(&t, NULL, vcpu, NULL);
	CHECK(cpuplan_off_control(&only, t) == 0);
	CHECK(pthread_getaffinity_np(t, sizeof(mask), &mask) == 0 && CPU_EQUAL(&mask, &plan.all));
	wake(t);
	return TAP_DONE();
}
