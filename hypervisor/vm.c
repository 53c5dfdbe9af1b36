/*
 * vm.c - the domain process: one per VM, forked and exec'd by hvd.
 *
 * It owns the KVM VM (KVM accepts a VM's ioctls only from its creator), runs
 * the vCPU threads, and serves the requests hvd relays to it over a
 * SOCK_SEQPACKET socketpair, one at a time, from its main thread, so a
 * crashing VM takes no other VM down.  It outlives hvd: when hvd goes away
 * the guest runs on and the process waits on its own socket (attach.c) for
 * the next hvd, so restarting or upgrading hvd is never a VM outage.  The
 * domain's life is a small state machine (paused, running, shutdown,
 * crashed) whose transitions are checked here.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysinfo.h>
#include <time.h>
#include <unistd.h>

#include "ctlsrv.h"
#include "hvd.h"
#include "log.h"
#include "sock.h"

/* allowed[from][to] */
static const unsigned char allowed[DS_STATE_COUNT][DS_STATE_COUNT] = {
	[DS_PAUSED] = { [DS_RUNNING] = 1, [DS_CRASHED] = 1, [DS_MIGRATED] = 1 },
	[DS_RUNNING] = { [DS_PAUSED] = 1, [DS_SHUTDOWN] = 1, [DS_CRASHED] = 1 },
	/* only through DOMAIN_RECLAIM with the hand-over's tag */
	[DS_MIGRATED] = { [DS_PAUSED] = 1 },
};

static int vm_transition_locked(struct vm *vm, enum dom_state to, const char *reason)
{
	if (!allowed[vm->state][to]) {
		log_warnx("refusing state change %s -> %s", dom_state_name(vm->state),
		    dom_state_name(to));
		errno = EBUSY;
		return -1;
	}
	log_state(0, dom_state_name(to), NULL, "state %s -> %s%s%s", dom_state_name(vm->state),
	    dom_state_name(to), reason ? ": " : "", reason ? reason : "");
	if (to == DS_RUNNING || vm->state == DS_RUNNING)
		ledger_note(vm->ledgerfd, to == DS_RUNNING ? "run" : "stop", vm->name, getpid(),
		    dom_state_name(to));
	dev_state_all(&vm->devs, to);	/* not running: they leave guest memory alone */
	vm->state = to;
	if (reason)
		snprintf(vm->reason, sizeof(vm->reason), "%s", reason);
	pthread_cond_broadcast(&vm->cond);
	return 0;
}

int vm_set_state(struct vm *vm, enum dom_state to, const char *reason)
{
	pthread_mutex_lock(&vm->lock);
	int r = vm_transition_locked(vm, to, reason);
	pthread_mutex_unlock(&vm->lock);
	if (to == DS_CRASHED || to == DS_SHUTDOWN)
		for (int i = 0; i < vm->nvcpus; i++)
			vcpu_kick(&vm->vcpus[i]);
	return r;
}

void vm_wake(struct vm *vm)
{
	pthread_mutex_lock(&vm->lock);
	vm->wake_pending = 1;
	pthread_cond_broadcast(&vm->cond);
	pthread_mutex_unlock(&vm->lock);
}

void vm_console_out(struct vm *vm, uint8_t c)
{
	pthread_mutex_lock(&vm->dev_lock);
	if (vm->logfd >= 0) {
		ssize_t w = write(vm->logfd, &c, 1);
		(void)w;	/* a full disk must not stop the guest */
	}
	for (int i = 0; i < CONS_MAX; i++)
		if (vm->cons[i] >= 0)
			send(vm->cons[i], &c, 1, MSG_DONTWAIT | MSG_NOSIGNAL);
	pthread_mutex_unlock(&vm->dev_lock);
}

static int vm_pause(struct vm *vm, char *err, size_t errlen)
{
	pthread_mutex_lock(&vm->lock);
	if (vm->state != DS_RUNNING) {
		snprintf(err, errlen, "domain is %s, not running", dom_state_name(vm->state));
		pthread_mutex_unlock(&vm->lock);
		errno = EBUSY;
		return -1;
	}
	vcpu_pause_all(vm);
	int r = 0;
	if (vm->state == DS_RUNNING)
		vm_transition_locked(vm, DS_PAUSED, NULL);
	else {
		snprintf(err, errlen, "domain %s while pausing: %s", dom_state_name(vm->state),
		    vm->reason);
		errno = EIO;
		r = -1;
	}
	vm->pause_req = 0;
	pthread_mutex_unlock(&vm->lock);
	return r;
}

static int vm_unpause(struct vm *vm, char *err, size_t errlen)
{
	pthread_mutex_lock(&vm->lock);
	int r = -1;
	if (vm->state == DS_PAUSED) {
		vcpu_wake_off_control(vm);	/* cpuplan.c */
		r = vm_transition_locked(vm, DS_RUNNING, NULL);
	}
	if (r < 0) {
		snprintf(err, errlen, "domain is %s, not paused", dom_state_name(vm->state));
		errno = EBUSY;
	}
	pthread_mutex_unlock(&vm->lock);
	return r;
}

/* the vCPU (dev 0) or device state as one blob attribute attr of o */
static int add_state(struct vm *vm, int dev, struct msg_out *o, uint16_t attr)
{
	struct msg_out b;
	msg_begin_attrs(&b);
	int r = dev ? devstate_save(vm, &b) : vmstate_save(vm, &b);
	if (r == 0)
		msg_add_blob(o, attr, b.buf, b.len);
	msg_free(&b);
	return r;
}

/*
 * The rest of a pause with HA_SAVE, the domain now paused: the final
 * peek-and-clean and the vCPU and device state, in the same answer, with
 * where the time went since t0 (when the request came).  One round trip
 * instead of four on the downtime path of a migration or a checkpoint.
 * With stage, the dirty pages are copied into the stage (stage.c) and the
 * domain runs again before the answer: the guest's pause is this call's.
 * Failed, the domain stays paused (under its lease).
 */
static int vm_save_paused(struct vm *vm, struct msg_out *o, uint64_t t0, int stage, char *err,
    size_t errlen)
{
	uint64_t count, t[6] = { t0, now_ns() };

	if (dirty_peek_clean(vm, &count) < 0) {
		snprintf(err, errlen, "%s", errno == ENOTCONN ? "log-dirty is not enabled" :
		    strerror(errno));
		return -1;
	}
	t[2] = now_ns();
	msg_add_u64(o, HA_COUNT, count);
	if (add_state(vm, 0, o, HA_BLOB) < 0 || add_state(vm, 1, o, HA_DEV_BLOB) < 0) {
		snprintf(err, errlen, "taking the state: %s", strerror(errno));
		return -1;
	}
	t[3] = now_ns();
	if (stage) {
		if (stage_copy(vm, count) != count) {
			snprintf(err, errlen, "the stage took fewer pages than the bitmap has");
			errno = EIO;
			return -1;
		}
		t[4] = now_ns();
		if (vm_unpause(vm, err, errlen) < 0)
			return -1;
		t[5] = now_ns();
		stage_warm(vm, count);
	}
	uint8_t ph[40];
	for (int i = 0; i < 3; i++)
		le64_put(ph + 8 * i, t[i + 1] - t[i]);
	if (stage) {
		le64_put(ph + 24, t[4] - t[3]);
		le64_put(ph + 32, t[5] - t[0]);
	}
	msg_add_blob(o, HA_PHASES, ph, stage ? 40 : 24);
	return 0;
}

/* A staged pause: only a saving one, no lease (it ends before it answers), and the stage mapped. */
static int vm_stage_ok(struct vm *vm, const struct msg_in *m, char *err, size_t errlen)
{
	if (msg_u32(m, HA_SAVE) != HV_SAVE_STAGED)
		return 0;
	if (!msg_u32(m, HA_LEASE) && vm->stage.fd >= 0)
		return 0;
	snprintf(err, errlen, "%s", vm->stage.fd < 0 ? "no stage: STAGE_MAP first (log-dirty on)" :
	    "a staged pause is a saving pause without a lease");
	errno = EINVAL;
	return -1;
}

/* A checkpoint's pause closes an epoch of held output (nic_hold.c). */
static int vm_nic_mark(struct vm *vm, uint64_t epoch, char *err, size_t errlen)
{
	if (vm->nic && nic_hold_mark(vm->nic, epoch) == 0)
		return 0;
	snprintf(err, errlen, "%s", !vm->nic ? "the domain has no NIC" :
	    "cannot close the epoch: output not held, or the epoch does not follow the last");
	errno = vm->nic ? EINVAL : ENODEV;
	return -1;
}

static int vm_require(struct vm *vm, int running_ok, char *err, size_t errlen)
{
	pthread_mutex_lock(&vm->lock);
	enum dom_state s = vm->state;
	pthread_mutex_unlock(&vm->lock);
	if (s == DS_RUNNING && !running_ok) {
		snprintf(err, errlen, "domain is running: pause it first");
		errno = EBUSY;
		return -1;
	}
	return 0;
}

static int vm_open_log(struct vm *vm, const struct hvd_conf *conf)
{
	char dir[400];

	snprintf(dir, sizeof(dir), "%.380s/console", conf->state_dir);
	mkdir(conf->state_dir, 0755);
	mkdir(dir, 0755);
	snprintf(vm->log_path, sizeof(vm->log_path), "%s/%s.log", dir, vm->name);
	vm->logfd = open(vm->log_path, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0640);
	return vm->logfd < 0 ? -1 : 0;
}

static int vm_create(struct vm *vm, const struct msg_in *m, const struct hvd_conf *conf,
    char *err, size_t errlen)
{
	char kernel[MSG_STR_MAX + 1], cmdline[MSG_STR_MAX + 64], net[MSG_STR_MAX + 1];
	uint64_t entry;

	msg_str(m, HA_NAME, vm->name, sizeof(vm->name));
	vm->gm.size = msg_u64(m, HA_MEM);
	vm->nvcpus = (int)msg_u32(m, HA_VCPUS);
	log_setprefix(vm->name);
	log_context("VM=%s", vm->name);
	if (vm->gm.size < VM_MEM_MIN || vm->gm.size > VM_MEM_MAX || vm->gm.size % (2 << 20)) {
		snprintf(err, errlen, "memory %llu MiB: must be a multiple of 2 MiB from %llu to "
		    "%llu MiB", (unsigned long long)(vm->gm.size >> 20), VM_MEM_MIN >> 20,
		    VM_MEM_MAX >> 20);
		errno = EINVAL;
		return -1;
	}
	struct sysinfo si;
	if (sysinfo(&si) == 0 && vm->gm.size > (uint64_t)si.totalram * si.mem_unit) {
		snprintf(err, errlen, "memory %llu MiB: more than this host has (%llu MiB)",
		    (unsigned long long)(vm->gm.size >> 20),
		    (unsigned long long)((uint64_t)si.totalram * si.mem_unit >> 20));
		errno = ENOMEM;
		return -1;
	}
	if (vm->nvcpus < 1 || vm->nvcpus > VM_MAX_VCPUS) {
		snprintf(err, errlen, "%d vCPUs: must be 1 to %d", vm->nvcpus, VM_MAX_VCPUS);
		errno = EINVAL;
		return -1;
	}
	if (kvm_vm_create(vm, conf->backing, err, errlen) < 0)
		return -1;
	if (dirty_init(vm) < 0) {
		snprintf(err, errlen, "dirty bitmap: %s", strerror(errno));
		return -1;
	}
	if (msg_str(m, HA_NET, net, sizeof(net))[0] && !(vm->nic = nic_create(vm, net, err, errlen))) {
		errno = EINVAL;
		return -1;
	}
	if (vm_open_log(vm, conf) < 0) {
		snprintf(err, errlen, "console log %.400s: %s", vm->log_path, strerror(errno));
		return -1;
	}
	if (m->type == HV_DOM_CREATE) {
		msg_str(m, HA_KERNEL, kernel, sizeof(kernel));
		msg_str(m, HA_CMDLINE, cmdline, MSG_STR_MAX + 1);
		if (vm->nic)	/* how a Linux guest finds the device, as Firecracker does */
			snprintf(cmdline + strlen(cmdline), sizeof(cmdline) - strlen(cmdline),
			    "%svirtio_mmio.device=0x%x@0x%llx:%d", cmdline[0] ? " " : "",
			    VIRTIO_MMIO_SIZE, NIC_MMIO_BASE, NIC_IRQ);
		if (loader_load(vm, kernel, cmdline, &entry, err, errlen) < 0) {
			errno = EINVAL;
			return -1;
		}
		loader_boot_regs(vm, entry);
	}
	vm->created_ns = now_ns();
	if (vcpu_start_all(vm) < 0) {
		snprintf(err, errlen, "starting vCPU threads: %s", strerror(errno));
		return -1;
	}
	log_info("created: %llu MiB of %s, %d vCPU(s), TSC %u kHz%s",
	    (unsigned long long)(vm->gm.size >> 20), vm->hugetlb ? "hugetlb" : "shmem",
	    vm->nvcpus, vm->tsc_khz,
	    m->type == HV_DOM_CREATE_INCOMING ? ", incoming (paused)" : "");
	if (m->type == HV_DOM_CREATE)
		vm_set_state(vm, DS_RUNNING, "booted");
	return 0;
}

static void vm_info(struct vm *vm, struct msg_out *o)
{
	pthread_mutex_lock(&vm->lock);
	enum dom_state s = vm->state;
	char reason[sizeof(vm->reason)];
	memcpy(reason, vm->reason, sizeof(reason));
	unsigned thr = vm->throttle_pct;
	pthread_mutex_unlock(&vm->lock);
	msg_add_str(o, HA_NAME, vm->name);
	msg_add_u32(o, HA_STATE, s);
	msg_add_u64(o, HA_MEM, vm->gm.size);
	msg_add_u32(o, HA_VCPUS, (uint32_t)vm->nvcpus);
	msg_add_u64(o, HA_UPTIME_NS, now_ns() - vm->created_ns);
	msg_add_str(o, HA_CONSOLE_LOG, vm->log_path);
	msg_add_u32(o, HA_PID, (uint32_t)getpid());
	msg_add_u32(o, HA_TSC_KHZ, vm->tsc_khz);
	msg_add_u32(o, HA_SHARE, thr);
	msg_add_u32(o, HA_ENABLE, (uint32_t)vm->logdirty);
	msg_add_str(o, HA_BACKING, vm->hugetlb ? "hugetlb" : "shmem");
	if (reason[0])
		msg_add_str(o, HA_REASON, reason);
	if (vm->lease)
		msg_add_u32(o, HA_LEASE, (uint32_t)vm->lease);
	if (s == DS_MIGRATED)
		msg_add_u64(o, HA_TAG, vm->tag);
	if (vm->nic) {
		struct nic_info ni;
		nic_describe(vm->nic, &ni);
		msg_add_str(o, HA_NET, ni.spec);
		msg_add_str(o, HA_NIC_TAP, ni.tap);
		msg_add_blob(o, HA_NIC_STATS, &ni.st, sizeof(ni.st));
		if (ni.hold.on) {
			uint8_t hb[56];
			const uint64_t v[7] = { ni.hold.on, ni.hold.frames, ni.hold.bytes,
				ni.hold.released, ni.hold.stalls, ni.hold.marked, ni.hold.acked };
			for (int i = 0; i < 7; i++)
				le64_put(hb + 8 * i, v[i]);
			msg_add_blob(o, HA_NIC_HOLD, hb, sizeof(hb));
		}
	}
}

/*
 * A handed-over domain answers only to its hand-over's tag: RECLAIM (the
 * commit did not happen: paused again, the caller resumes it) or RELEASE
 * (the destination runs it: hvd then ends this process).  A stale caller
 * with another migration's tag changes nothing.
 */
static int vm_handed(struct vm *vm, const struct msg_in *m, int reclaim, char *err, size_t errlen)
{
	uint64_t tag = msg_u64(m, HA_TAG);
	int r = -1;
	pthread_mutex_lock(&vm->lock);
	if (vm->state != DS_MIGRATED) {
		snprintf(err, errlen, "domain is %s, not handed over", dom_state_name(vm->state));
		errno = EBUSY;
	} else if (vm->tag != tag) {
		snprintf(err, errlen, "domain was handed over by migration %016llx, not %016llx",
		    (unsigned long long)vm->tag, (unsigned long long)tag);
		errno = ESTALE;
	} else if (!reclaim || (r = vm_transition_locked(vm, DS_PAUSED,
	    "reclaimed: the migration did not commit")) == 0) {
		r = 0;
		if (reclaim)
			vm->tag = 0;
	}
	pthread_mutex_unlock(&vm->lock);
	return r;
}

static int vm_console_attach(struct vm *vm, int *peer)
{
	int sv[2], slot = -1;

	pthread_mutex_lock(&vm->dev_lock);
	for (int i = 0; i < CONS_MAX; i++)
		if (vm->cons[i] < 0) {
			slot = i;
			break;
		}
	if (slot < 0 || socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0) {
		pthread_mutex_unlock(&vm->dev_lock);
		if (slot < 0)
			errno = EMFILE;
		return -1;
	}
	fcntl(sv[0], F_SETFL, O_NONBLOCK);
	vm->cons[slot] = sv[0];
	*peer = sv[1];
	pthread_mutex_unlock(&vm->dev_lock);
	return 0;
}

/* Handles one request; returns 0 after replying. */
static void vm_request(struct vm *vm, int fd, const struct msg_in *m, int *created,
    const struct hvd_conf *conf)
{
	struct msg_out o;
	char err[512] = "";
	int fds[1], nfds = 0, r = 0;
	uint64_t t0 = now_ns(), count = 0;

	msg_begin(&o, HV_OK, m->seq);
	if (!*created && m->type != HV_DOM_CREATE && m->type != HV_DOM_CREATE_INCOMING) {
		ctlsrv_error_fd(fd, m->seq, EPROTO, "domain process: first request must create");
		return;
	}
	switch (m->type) {
	case HV_DOM_CREATE:
	case HV_DOM_CREATE_INCOMING:
		if (*created) {
			snprintf(err, sizeof(err), "domain already created");
			errno = EEXIST;
			r = -1;
			break;
		}
		/* building a domain takes milliseconds of CPU (12 ms for 1 GiB
		 * of hugetlb): not at real-time priority, where it held off the
		 * softirqs that carry other guests' frames on that core (a VM
		 * being migrated went unanswered for 14.5 ms) */
		cpuplan_ordinary(&conf->cpus);
		r = vm_create(vm, m, conf, err, sizeof(err));
		cpuplan_control(&conf->cpus);
		if (r == 0 && (vm->lfd = attach_listen(vm, conf->state_dir)) < 0) {
			snprintf(err, sizeof(err), "domain socket in %s/%s: %s", conf->state_dir,
			    DOM_DIR, strerror(errno));
			r = -1;
		}
		if (r == 0) {
			*created = 1;
			vm->lease = m->type == HV_DOM_CREATE_INCOMING && msg_u32(m, HA_LEASE) ?
			    HL_INCOMING : HL_NONE;
			vm_info(vm, &o);
		}
		break;
	case HV_DOM_INFO:
		vm_info(vm, &o);
		break;
	case HV_DOM_PAUSE:
		if ((r = vm_stage_ok(vm, m, err, sizeof(err))) < 0)
			break;
		if ((r = vm_pause(vm, err, sizeof(err))) == 0 && msg_u32(m, HA_LEASE))
			vm->lease = HL_PAUSED;
		if (r == 0 && msg_has(m, HA_EPOCH))	/* the frames so far are that epoch's */
			r = vm_nic_mark(vm, msg_u64(m, HA_EPOCH), err, sizeof(err));
		if (r == 0 && msg_u32(m, HA_SAVE))
			r = vm_save_paused(vm, &o, t0, msg_u32(m, HA_SAVE) == HV_SAVE_STAGED, err, sizeof(err));
		break;
	case HV_DOM_UNPAUSE:
		if ((r = vm_unpause(vm, err, sizeof(err))) == 0)
			vm->lease = HL_NONE;
		break;
	case HV_DOM_KEEP:
		if (vm->lease == HL_INCOMING)
			vm->lease = HL_NONE;
		break;
	case HV_DOM_HANDOVER:
		pthread_mutex_lock(&vm->lock);
		r = vm->state == DS_PAUSED ? vm_transition_locked(vm, DS_MIGRATED,
		    "handed over to the migration destination") : -1;
		if (r == 0)
			vm->tag = msg_u64(m, HA_TAG);
		if (r < 0) {
			snprintf(err, sizeof(err), "domain is %s: only a paused domain can be "
			    "handed over", dom_state_name(vm->state));
			errno = EBUSY;
		}
		pthread_mutex_unlock(&vm->lock);
		if (r == 0)
			vm->lease = HL_NONE;
		break;
	case HV_DOM_RECLAIM:
	case HV_DOM_RELEASE:
		r = vm_handed(vm, m, m->type == HV_DOM_RECLAIM, err, sizeof(err));
		if (r == 0 && m->type == HV_DOM_RELEASE && vm->nic) {
			uint8_t late[NIC_FRAMES_MAX];	/* for the destination: see nic_take */
			size_t n = nic_take(vm->nic, late, sizeof(late));
			if (n > 2)	/* more than an empty list's count */
				msg_add_blob(&o, HA_BLOB, late, n);
		}
		break;
	case HV_NIC_INJECT:
		if (!vm->nic) {
			snprintf(err, sizeof(err), "the domain has no NIC");
			errno = ENODEV;
			r = -1;
		} else if ((r = nic_inject(vm->nic, m->val[HA_BLOB], m->vlen[HA_BLOB])) < 0) {
			snprintf(err, sizeof(err), "not a frame list (docs/devices.md)");
			errno = EINVAL;
		}
		break;
	case HV_NIC_HOLD:
		if (!vm->nic) {
			snprintf(err, sizeof(err), "the domain has no NIC");
			errno = ENODEV;
			r = -1;
		} else if (!msg_u32(m, HA_ENABLE))
			nic_hold_stop(vm->nic);
		else if ((r = nic_hold_start(vm->nic, (size_t)msg_u64(m, HA_COUNT))) < 0)
			snprintf(err, sizeof(err), "no memory to hold output in");
		break;
	case HV_NIC_RELEASE:
		if (!vm->nic || nic_hold_release(vm->nic, msg_u64(m, HA_EPOCH)) < 0) {
			snprintf(err, sizeof(err), "%s", !vm->nic ? "the domain has no NIC" :
			    "no held output of that epoch (not holding, or the epoch was never marked)");
			errno = vm->nic ? EINVAL : ENODEV;
			r = -1;
		}
		break;
	case HV_CONSOLE_ATTACH:
		if ((r = vm_console_attach(vm, &fds[0])) == 0)
			nfds = 1;
		break;
	case HV_MEM_MAP:
		fds[0] = vm->memfd;
		nfds = 1;
		msg_add_u64(&o, HA_MEM, vm->gm.size);
		break;
	case HV_LOGDIRTY:
		if (msg_u32(m, HA_ENABLE)) {
			if ((r = dirty_enable(vm, (int)msg_u32(m, HA_DIRTY_MODE))) == 0) {
				fds[0] = vm->bmfd;
				nfds = 1;
				msg_add_u64(&o, HA_COUNT, vm->bitmap_len);
			}
		} else
			r = dirty_disable(vm);
		break;
	case HV_STAGE_MAP:
		if ((fds[0] = stage_map(vm)) >= 0) {
			nfds = 1;
			msg_add_u64(&o, HA_MEM, vm->gm.size);
		} else {
			snprintf(err, sizeof(err), "%s", errno == ENOTCONN ? "log-dirty is not enabled" :
			    strerror(errno));
			r = -1;
		}
		break;
	case HV_DIRTY_PEEK_CLEAN:
		if ((r = dirty_peek_clean(vm, &count)) == 0)
			msg_add_u64(&o, HA_COUNT, count);
		else if (errno == ENOTCONN)
			snprintf(err, sizeof(err), "log-dirty is not enabled");
		break;
	case HV_VCPU_GET:
	case HV_DEV_GET:
		if ((r = vm_require(vm, 0, err, sizeof(err))) == 0)
			r = add_state(vm, m->type == HV_DEV_GET, &o, HA_BLOB);
		break;
	case HV_VCPU_SET:
	case HV_DEV_SET:
	case HV_STATE_SET:
		pthread_mutex_lock(&vm->lock);
		r = vm->state == DS_PAUSED ? 0 : -1;
		pthread_mutex_unlock(&vm->lock);
		if (r < 0) {
			snprintf(err, sizeof(err), "domain must be paused to load state");
			errno = EBUSY;
		} else if (m->type == HV_VCPU_SET)
			r = vmstate_load(vm, m->val[HA_BLOB], m->vlen[HA_BLOB], err, sizeof(err));
		else if (m->type == HV_DEV_SET)
			r = devstate_load(vm, m->val[HA_BLOB], m->vlen[HA_BLOB], err, sizeof(err));
		else if ((r = vmstate_load(vm, m->val[HA_BLOB], m->vlen[HA_BLOB], err,
		    sizeof(err))) == 0)
			r = devstate_load(vm, m->val[HA_DEV_BLOB], m->vlen[HA_DEV_BLOB], err, sizeof(err));
		if (r < 0 && errno != EBUSY)
			errno = EINVAL;
		break;
	case HV_THROTTLE:
		r = vcpu_throttle(vm, msg_u32(m, HA_SHARE));
		if (r < 0)
			snprintf(err, sizeof(err), "throttle share must be 0..99 percent");
		break;
	default:
		errno = EOPNOTSUPP;
		r = -1;
	}
	if (r < 0) {
		int e = errno ? errno : EIO;
		msg_free(&o);
		ctlsrv_error_fd(fd, m->seq, e, "%s", err[0] ? err : strerror(e));
		if (nfds)
			close(fds[0]);
		return;
	}
	msg_add_u64(&o, HA_ELAPSED_NS, now_ns() - t0);
	if (msg_end(&o) < 0 || sock_send(fd, o.buf, o.len, fds, nfds) < 0)
		log_warn("reply");
	if (m->type == HV_CONSOLE_ATTACH && nfds)
		close(fds[0]);
	msg_free(&o);
}

static void vm_console_input(struct vm *vm, int slot)
{
	uint8_t buf[256];
	ssize_t n = read(vm->cons[slot], buf, sizeof(buf));

	pthread_mutex_lock(&vm->dev_lock);
	if (n > 0)
		uart_rx_push(&vm->uart, buf, (size_t)n);
	else if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
		close(vm->cons[slot]);
		vm->cons[slot] = -1;
	}
	pthread_mutex_unlock(&vm->dev_lock);
}

int vm_main(int fd, const struct hvd_conf *conf)
{
	static struct vm vmstore;
	struct vm *vm = &vmstore;
	static uint8_t buf[MSG_MAX];
	int created = 0;
	sigset_t set;

	control_setup();
	if (getppid() == 1)
		return 1;
	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	pthread_sigmask(SIG_BLOCK, &set, NULL);	/* kicks go to vCPU threads */
	memset(vm, 0, sizeof(*vm));
	vm->kvm = vm->fd = vm->memfd = vm->logfd = vm->bmfd = vm->lfd = vm->stage.fd = -1;
	vm->cpus = conf->cpus;
	vm->ledgerfd = ledger_open(conf->state_dir);
	for (int i = 0; i < CONS_MAX; i++)
		vm->cons[i] = -1;
	vm->state = DS_PAUSED;
	pthread_mutex_init(&vm->lock, NULL);
	pthread_mutex_init(&vm->dev_lock, NULL);
	pthread_cond_init(&vm->cond, NULL);
	if (platform_init(vm) < 0)
		fatal("registering the board devices");

	for (;;) {
		struct pollfd pfd[1 + CONS_MAX];
		int slot[1 + CONS_MAX], n = 1;
		pfd[0].fd = fd >= 0 ? fd : vm->lfd;	/* hvd, or the wait for the next one */
		pfd[0].events = POLLIN;
		pthread_mutex_lock(&vm->dev_lock);
		for (int i = 0; i < CONS_MAX; i++)
			if (vm->cons[i] >= 0) {
				pfd[n].fd = vm->cons[i];
				pfd[n].events = POLLIN;
				slot[n++] = i;
			}
		pthread_mutex_unlock(&vm->dev_lock);
		if (poll(pfd, (nfds_t)n, -1) < 0) {
			if (errno == EINTR)
				continue;
			fatal("poll");
		}
		for (int i = 1; i < n; i++)
			if (pfd[i].revents)
				vm_console_input(vm, slot[i]);
		if (!pfd[0].revents)
			continue;
		if (fd < 0) {
			if ((fd = sock_accept(vm->lfd)) >= 0)
				log_info("a new hvd attached: serving it");
			continue;
		}
		ssize_t len = sock_recv(fd, buf, sizeof(buf), NULL, NULL);
		if (len < 0 && errno == EMSGSIZE) {
			ctlsrv_error_fd(fd, 0, EMSGSIZE, "message larger than %u bytes", MSG_MAX);
			continue;
		}
		if (len <= 0 && !created)
			break;
		if (len <= 0) {	/* hvd went away: the guest runs on until the next one */
			log_warnx("hvd went away: the domain runs on (%s), waiting for the next hvd",
			    dom_state_name(vm->state));
			close(fd);
			fd = -1;
			continue;
		}
		struct msg_in m;
		char err[256];
		if (msg_parse(&hvctl_schema, buf, (size_t)len, &m, err, sizeof(err)) < 0) {
			ctlsrv_error_fd(fd, msg_peek_seq(buf, (size_t)len), EBADMSG, "%s", err);
			continue;
		}
		vm_request(vm, fd, &m, &created, conf);
		if (!created)
			break;		/* create failed: nothing to keep */
	}
	vcpu_stop_all(vm);
	nic_destroy(vm->nic);
	dirty_disable(vm);
	kvm_vm_destroy(vm);
	return 0;
}
