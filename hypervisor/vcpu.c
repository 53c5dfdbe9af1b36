/*
 * vcpu.c - the vCPU threads: one KVM_RUN loop each, switching on the exit
 * reason (after kvmtool's kvm-cpu.c), and the pause barrier that stop-and-copy
 * relies on.
 *
 * A vCPU parks whenever a pause is requested or the domain is not running.
 * vcpu_kick() sends SIGUSR1, whose handler sets kvm_run.immediate_exit, so
 * the kick is never lost whether the thread is in the guest, in hvd handling
 * an exit, or about to enter.  Before parking, a vCPU re-enters KVM once with
 * immediate_exit set: KVM completes a pending port access only on entry, and
 * state read before that would miss it.  The throttle thread kicks vCPUs
 * every period and they sleep for the throttled share of it.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>

#include "hvd.h"
#include "log.h"

#define THROTTLE_PERIOD_NS 20000000L

static __thread struct kvm_run *cur_run;

static void kick_handler(int sig)
{
	(void)sig;
	if (cur_run)
		cur_run->immediate_exit = 1;
}

void vcpu_kick(struct vcpu *v)
{
	if (v->started)
		pthread_kill(v->thr, SIGUSR1);
}

static void sleep_ns(long ns)
{
	struct timespec ts = { ns / 1000000000L, ns % 1000000000L };
	nanosleep(&ts, NULL);
}

/*
 * The guest sleeps until ns have passed or a device has something for it
 * (vm_wake, like an interrupt ending HLT; a wake that came while the guest
 * was busy ends the next idle at once), or the domain is to pause or stop.
 */
void vcpu_idle(struct vcpu *v, long ns)
{
	struct vm *vm = v->vm;
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += (ts.tv_nsec + ns) / 1000000000L;
	ts.tv_nsec = (ts.tv_nsec + ns) % 1000000000L;
	pthread_mutex_lock(&vm->lock);
	while (!vm->wake_pending && !vm->pause_req && vm->state == DS_RUNNING && !vm->quit &&
	    pthread_cond_timedwait(&vm->cond, &vm->lock, &ts) != ETIMEDOUT)
		;
	vm->wake_pending = 0;
	pthread_mutex_unlock(&vm->lock);
}

/*
 * A throttled vCPU sits out its share of the period, unless the domain is
 * to pause or stop: waiting on the domain's condition, not sleeping, so a
 * pause is never held up by a kick that came just before the sleep (it was
 * held up 10 ms then, the pause loop's re-kick period).
 */
static void throttle_wait(struct vm *vm, long ns)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += (ts.tv_nsec + ns) / 1000000000L;
	ts.tv_nsec = (ts.tv_nsec + ns) % 1000000000L;
	pthread_mutex_lock(&vm->lock);
	while (!vm->pause_req && vm->state == DS_RUNNING && !vm->quit &&
	    pthread_cond_timedwait(&vm->cond, &vm->lock, &ts) != ETIMEDOUT)
		;
	pthread_mutex_unlock(&vm->lock);
}

/*
 * The guest's exception stub reports the vector on the exit port with its
 * frame on the ring-0 stack (identity-mapped): log it for whoever debugs.
 */
void vcpu_log_frame(struct vcpu *v, unsigned vec)
{
	struct kvm_regs r;
	uint64_t f[6] = { 0 };
	int has_err = vec == 8 || (vec >= 10 && vec <= 14) || vec == 17;

	const uint8_t *frame = NULL;
	if (ioctl(v->fd, KVM_GET_REGS, &r) < 0 || !(frame = gmem_ptr(&v->vm->gm, r.rsp, sizeof(f)))) {
		log_warnx("vcpu %d: exception %u, its frame at rsp 0x%llx lies outside guest memory",
		    v->id, vec, (unsigned long long)r.rsp);
		return;
	}
	memcpy(f, frame, sizeof(f));
	log_warnx("vcpu %d: exception %u error 0x%llx at rip 0x%llx cs 0x%llx rflags 0x%llx "
	    "rsp 0x%llx", v->id, vec, has_err ? (unsigned long long)f[0] : 0ULL,
	    (unsigned long long)f[has_err], (unsigned long long)f[has_err + 1],
	    (unsigned long long)f[has_err + 2], (unsigned long long)f[has_err + 3]);
}

/* a port access (possibly a string one, count times): to the device there */
static void vcpu_io(struct vcpu *v)
{
	struct kvm_run *run = v->run;
	uint8_t *data = (uint8_t *)run + run->io.data_offset;
	int wr = run->io.direction == KVM_EXIT_IO_OUT;

	for (uint32_t i = 0; i < run->io.count; i++, data += run->io.size)
		dev_dispatch(&v->vm->devs, v, DEV_PIO, run->io.port, wr, data, run->io.size);
}

static void vcpu_crash(struct vcpu *v, const char *what)
{
	struct kvm_regs r;
	char why[128];

	memset(&r, 0, sizeof(r));
	ioctl(v->fd, KVM_GET_REGS, &r);
	snprintf(why, sizeof(why), "vcpu %d: %s at rip 0x%llx", v->id, what,
	    (unsigned long long)r.rip);
	vm_set_state(v->vm, DS_CRASHED, why);
}

/* Parks until the domain runs again; returns 1 when the thread must quit. */
static int vcpu_park(struct vcpu *v)
{
	struct vm *vm = v->vm;

	pthread_mutex_unlock(&vm->lock);
	v->run->immediate_exit = 1;
	ioctl(v->fd, KVM_RUN, 0);	/* completes a pending I/O, returns EINTR */
	pthread_mutex_lock(&vm->lock);
	vm->nparked++;
	pthread_cond_broadcast(&vm->cond);
	while ((vm->pause_req || vm->state != DS_RUNNING) && !vm->quit)
		pthread_cond_wait(&vm->cond, &vm->lock);
	vm->nparked--;
	return vm->quit;
}

static void *vcpu_thread(void *arg)
{
	struct vcpu *v = arg;
	struct vm *vm = v->vm;
	sigset_t set;

	cur_run = v->run;
	cpuplan_ordinary(&vm->cpus);	/* a guest's: see cpuplan.c */
	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	pthread_sigmask(SIG_UNBLOCK, &set, NULL);
	for (;;) {
		pthread_mutex_lock(&vm->lock);
		if ((vm->pause_req || vm->state != DS_RUNNING || vm->quit) && vcpu_park(v)) {
			pthread_mutex_unlock(&vm->lock);
			break;
		}
		v->run->immediate_exit = 0;
		int moved = v->off_control;
		v->off_control = 0;
		pthread_mutex_unlock(&vm->lock);
		if (moved)
			cpuplan_every_core(&vm->cpus);

		if (ioctl(v->fd, KVM_RUN, 0) < 0) {
			if (errno == EINTR || errno == EAGAIN) {
				if (v->throttle_due) {
					v->throttle_due = 0;
					throttle_wait(vm, THROTTLE_PERIOD_NS / 100 * (long)vm->throttle_pct);
				}
				continue;
			}
			vcpu_crash(v, strerror(errno));
			continue;
		}
		switch (v->run->exit_reason) {
		case KVM_EXIT_IO:
			vcpu_io(v);
			break;
		case KVM_EXIT_MMIO: {
			unsigned len = v->run->mmio.len <= 8 ? v->run->mmio.len : 8;
			dev_dispatch(&v->vm->devs, v, DEV_MMIO, v->run->mmio.phys_addr,
			    v->run->mmio.is_write, v->run->mmio.data, len);
			break;
		}
		case KVM_EXIT_HLT:
			vcpu_crash(v, "halted with interrupts off");
			break;
		case KVM_EXIT_SHUTDOWN:
			vcpu_crash(v, "triple fault");
			break;
		case KVM_EXIT_INTR:
			break;
		case KVM_EXIT_FAIL_ENTRY:
			vcpu_crash(v, "entry failed");
			break;
		case KVM_EXIT_INTERNAL_ERROR:
			vcpu_crash(v, "KVM internal error");
			break;
		default: {
			char what[48];
			snprintf(what, sizeof(what), "unhandled exit %u", v->run->exit_reason);
			vcpu_crash(v, what);
		}
		}
	}
	return NULL;
}

static void *throttle_thread(void *arg)
{
	struct vm *vm = arg;

	cpuplan_ordinary(&vm->cpus);	/* a guest's: see cpuplan.c */
	for (;;) {
		sleep_ns(THROTTLE_PERIOD_NS);
		pthread_mutex_lock(&vm->lock);
		int quit = vm->quit;
		unsigned pct = vm->throttle_pct;
		pthread_mutex_unlock(&vm->lock);
		if (quit)
			break;
		if (!pct)
			continue;
		for (int i = 0; i < vm->nvcpus; i++) {
			vm->vcpus[i].throttle_due = 1;
			vcpu_kick(&vm->vcpus[i]);
		}
	}
	return NULL;
}

int vcpu_start_all(struct vm *vm)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = kick_handler;	/* no SA_RESTART: a kick must interrupt */
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGUSR1, &sa, NULL) < 0)
		return -1;
	for (int i = 0; i < vm->nvcpus; i++) {
		if ((errno = pthread_create(&vm->vcpus[i].thr, NULL, vcpu_thread, &vm->vcpus[i])))
			return -1;
		vm->vcpus[i].started = 1;
	}
	if ((errno = pthread_create(&vm->throttle_thr, NULL, throttle_thread, vm)))
		return -1;
	vm->throttle_started = 1;
	return 0;
}

/*
 * Waits until every vCPU is parked; the caller holds vm->lock, changes the
 * state so they stay parked, then clears pause_req.
 */
int vcpu_pause_all(struct vm *vm)
{
	vm->pause_req = 1;
	pthread_cond_broadcast(&vm->cond);	/* throttled vCPUs wait on it */
	while (vm->nparked < vm->nvcpus) {
		struct timespec ts;
		for (int i = 0; i < vm->nvcpus; i++)
			vcpu_kick(&vm->vcpus[i]);
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_nsec += 10000000;
		if (ts.tv_nsec >= 1000000000L) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000L;
		}
		pthread_cond_timedwait(&vm->cond, &vm->lock, &ts);
	}
	return 0;
}

void vcpu_wake_off_control(struct vm *vm)
{
	for (int i = 0; i < vm->nvcpus; i++)
		if (vm->vcpus[i].started && vm->nparked == vm->nvcpus)
			vm->vcpus[i].off_control = cpuplan_off_control(&vm->cpus, vm->vcpus[i].thr);
}

void vcpu_stop_all(struct vm *vm)
{
	pthread_mutex_lock(&vm->lock);
	vm->quit = 1;
	pthread_cond_broadcast(&vm->cond);
	pthread_mutex_unlock(&vm->lock);
	for (int i = 0; i < vm->nvcpus; i++)
		vcpu_kick(&vm->vcpus[i]);
	for (int i = 0; i < vm->nvcpus; i++)
		if (vm->vcpus[i].started)
			pthread_join(vm->vcpus[i].thr, NULL);
	if (vm->throttle_started)
		pthread_join(vm->throttle_thr, NULL);
}

int vcpu_throttle(struct vm *vm, unsigned pct)
{
	if (pct > 99) {
		errno = EINVAL;
		return -1;
	}
	pthread_mutex_lock(&vm->lock);
	vm->throttle_pct = pct;
	pthread_mutex_unlock(&vm->lock);
	return 0;
}
