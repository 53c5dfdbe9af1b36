/*
 * turnprobe.c - what a migration's background copy costs a vCPU on the
 * core they share (bench/hv).
 *
 * Three threads on one core, as a vCPU, its NIC thread and a migration's
 * copy share one on a busy host.  The "vCPU" (ordinary priority) works for
 * 50 us to 1.5 ms, then sleeps until the "NIC" thread (ordinary priority,
 * every 0.7 ms) wakes it.  The copy runs at idle priority, as migrated's
 * does (SCHED_IDLE), and writes a stream without end through a rio whose
 * transport burns the CPU as encrypting and sending would, 20 us a write.
 * For each turn given (rio_set_turn, as migrated sets it; 0: none), it
 * prints how long the woken vCPU waited for the core: p50, p99 and max,
 * and how many waits passed 1 ms.
 *
 *   turnprobe SECONDS TURN_US...
 */
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ckpt.h"

struct probe {
	int cpu;
	unsigned turn_us;
	volatile int stop;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	int woken;
	uint64_t woken_at;
};

static void spin_ns(uint64_t ns)
{
	for (uint64_t t = ckpt_now_ns(); ckpt_now_ns() - t < ns;)
		;
}

static void pin(int cpu)
{
	cpu_set_t s;
	CPU_ZERO(&s);
	CPU_SET(cpu, &s);
	pthread_setaffinity_np(pthread_self(), sizeof(s), &s);
}

static ssize_t burn_write(struct rio *r, const void *p, size_t n)
{
	(void)r, (void)p;
	spin_ns(20000);
	return (ssize_t)n;
}
static const struct rio_ops burn_ops = { "burn", NULL, burn_write, NULL, NULL, NULL };

static void *copy_thread(void *arg)
{
	struct probe *p = arg;
	struct sched_param sp = { 0 };
	static uint8_t chunk[1 << 20];
	pin(p->cpu);
	pthread_setschedparam(pthread_self(), SCHED_IDLE, &sp);
	struct rio *r = rio_new(&burn_ops, NULL, 0);
	if (!r)
		return NULL;
	rio_set_turn(r, p->turn_us);
	while (!p->stop)
		rio_write(r, chunk, sizeof(chunk));
	rio_close(r);
	return NULL;
}

static void *nic_thread(void *arg)
{
	struct probe *p = arg;
	pin(p->cpu);
	while (!p->stop) {
		struct timespec ts = { 0, 700000 };
		nanosleep(&ts, NULL);
		spin_ns(20000);
		pthread_mutex_lock(&p->lock);
		p->woken = 1;
		p->woken_at = ckpt_now_ns();
		pthread_cond_signal(&p->cond);
		pthread_mutex_unlock(&p->lock);
	}
	return NULL;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

static int run(int cpu, unsigned secs, unsigned turn_us)
{
	struct probe p = { .cpu = cpu, .turn_us = turn_us };
	enum { MAX = 100000 };
	uint64_t *lat = calloc(MAX, sizeof(*lat));
	size_t n = 0;
	unsigned rnd = 1;
	pthread_t copy, nic;

	if (!lat)
		return -1;
	pthread_mutex_init(&p.lock, NULL);
	pthread_cond_init(&p.cond, NULL);
	pin(cpu);
	pthread_create(&copy, NULL, copy_thread, &p);
	pthread_create(&nic, NULL, nic_thread, &p);
	for (uint64_t end = ckpt_now_ns() + (uint64_t)secs * 1000000000; ckpt_now_ns() < end && n < MAX;) {
		rnd = rnd * 1103515245 + 12345;
		spin_ns(50000 + (rnd >> 8) % 1450000);
		pthread_mutex_lock(&p.lock);
		p.woken = 0;
		while (!p.woken)
			pthread_cond_wait(&p.cond, &p.lock);
		uint64_t at = p.woken_at;
		pthread_mutex_unlock(&p.lock);
		lat[n++] = ckpt_now_ns() - at;
	}
	p.stop = 1;
	pthread_join(copy, NULL);
	pthread_join(nic, NULL);
	qsort(lat, n, sizeof(*lat), cmp_u64);
	size_t over = 0;
	for (size_t i = 0; i < n; i++)
		over += lat[i] > 1000000;
	printf("turn_us=%u wakes=%zu wait_p50_us=%.1f wait_p99_us=%.1f wait_max_us=%.1f waits_over_1ms=%zu\n",
	    turn_us, n, (double)lat[n / 2] / 1e3, (double)lat[n * 99 / 100] / 1e3,
	    (double)lat[n - 1] / 1e3, over);
	free(lat);
	return 0;
}

int main(int argc, char **argv)
{
	cpu_set_t all;
	int cpu = -1;

	if (argc < 3) {
		fprintf(stderr, "usage: turnprobe SECONDS TURN_US...\n");
		return 2;
	}
	if (sched_getaffinity(0, sizeof(all), &all) == 0)
		for (int c = 0; c < CPU_SETSIZE; c++)
			if (CPU_ISSET(c, &all))
				cpu = c;
	if (cpu < 0)
		return 1;
	for (int i = 2; i < argc; i++)
		if (run(cpu, (unsigned)atoi(argv[1]), (unsigned)atoi(argv[i])) < 0)
			return 1;
	return 0;
}
