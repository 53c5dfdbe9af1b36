/*
 * kvm.c - creates and tears down the KVM side of a domain: the VM, its
 * in-kernel irqchip, guest memory as a memfd (so other processes can map it,
 * as dom0 tools map a Xen domain's frames), one memory slot, and the vCPUs
 * with a CPUID that includes leaf 0x40000010 (TSC and bus frequency in kHz).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "hvd.h"
#include "log.h"

#define TSS_ADDR	0xfffbd000

static int kvm_cpuid(struct vm *vm, struct vcpu *v)
{
	int n = 256;
	struct kvm_cpuid2 *c = calloc(1, sizeof(*c) + (size_t)n * sizeof(c->entries[0]));
	int r = -1;

	if (!c)
		return -1;
	c->nent = (uint32_t)n;
	if (ioctl(vm->kvm, KVM_GET_SUPPORTED_CPUID, c) < 0)
		goto out;
	int have_timing = 0;
	for (uint32_t i = 0; i < c->nent; i++) {
		struct kvm_cpuid_entry2 *e = &c->entries[i];
		if (e->function == 1)
			e->ecx |= 1U << 31;	/* running on a hypervisor */
		if (e->function == 0x40000000 && e->eax < 0x40000010)
			e->eax = 0x40000010;
		if (e->function == 0x40000010) {
			e->eax = vm->tsc_khz;
			e->ebx = 1000000;	/* APIC bus: 1 GHz in KVM */
			have_timing = 1;
		}
	}
	if (!have_timing && c->nent < (uint32_t)n) {
		struct kvm_cpuid_entry2 *e = &c->entries[c->nent++];
		memset(e, 0, sizeof(*e));
		e->function = 0x40000010;
		e->eax = vm->tsc_khz;
		e->ebx = 1000000;
	}
	r = ioctl(v->fd, KVM_SET_CPUID2, c);
out:
	free(c);
	return r;
}

/* A memory file of size bytes (memfd_create flags), mapped at *p; its fd. */
static int memfd_map(const char *name, size_t size, unsigned flags, void **p)
{
	int fd = memfd_create(name, MFD_CLOEXEC | flags);

	if (fd < 0)
		return -1;
	if (ftruncate(fd, (off_t)size) < 0 ||
	    (*p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0)) == MAP_FAILED) {
		int e = errno;
		close(fd);
		errno = e;
		*p = NULL;
		return -1;
	}
	return fd;
}

/*
 * Shared memory of 4 KiB shmem pages.  Faulting in 1 GiB of them takes
 * 2.5 s on the lab machines; the THP hint only helps where the admin set
 * shmem_enabled to advise.
 */
int shm_create(const char *name, size_t size, void **p)
{
	int fd = memfd_map(name, size, 0, p);
	if (fd >= 0)
		madvise(*p, size, MADV_HUGEPAGE);
	return fd;
}

/*
 * Guest memory of the backing asked for; auto falls back to shmem.  Hugetlb
 * pages come from the kernel's pool (vm.nr_hugepages), and the shared
 * mapping reserves the whole size up front, so a pool too small fails here
 * (ENOMEM), never later in the guest.  Writing 768 MiB into fresh hugetlb
 * memory takes 50 ms on the lab machines, into fresh shmem 255 ms (pwrite)
 * to 510 ms (faults): it is what lets the destination of a migration keep
 * up.  KVM logs dirty pages at 4 KiB either way.
 */
static int mem_create(struct vm *vm, enum mem_backing backing, char *err, size_t errlen)
{
	char mname[96];
	snprintf(mname, sizeof(mname), "tandem-guest:%s", vm->name);
	if (backing != MB_SHMEM) {
		vm->memfd = memfd_map(mname, vm->gm.size, MFD_HUGETLB, (void **)&vm->gm.base);
		if (vm->memfd >= 0) {
			vm->hugetlb = 1;
			return 0;
		}
		if (backing == MB_HUGETLB) {
			snprintf(err, errlen, "guest memory: %llu MiB of hugetlb pages: %s (see "
			    "vm.nr_hugepages, or start hvd with -m auto or shmem)",
			    (unsigned long long)(vm->gm.size >> 20), strerror(errno));
			return -1;
		}
		log_info("hugetlb pool cannot hold %llu MiB (%s): guest memory is 4 KiB shmem",
		    (unsigned long long)(vm->gm.size >> 20), strerror(errno));
	}
	if ((vm->memfd = shm_create(mname, vm->gm.size, (void **)&vm->gm.base)) < 0) {
		snprintf(err, errlen, "guest memory: %s", strerror(errno));
		return -1;
	}
	return 0;
}

/* guest RAM is one KVM slot below the MMIO hole and, when larger, one above 4 GiB */
unsigned kvm_slots(const struct vm *vm)
{
	return vm->gm.size > vm->gm.low ? 2 : 1;
}

void kvm_slot(const struct vm *vm, unsigned i, uint32_t flags,
    struct kvm_userspace_memory_region *s)
{
	memset(s, 0, sizeof(*s));
	s->slot = i;
	s->flags = flags;
	s->guest_phys_addr = i ? GMEM_HIGH : 0;
	s->memory_size = i ? vm->gm.size - vm->gm.low : vm->gm.low;
	s->userspace_addr = (uintptr_t)vm->gm.base + (i ? vm->gm.low : 0);
}

int kvm_vm_create(struct vm *vm, enum mem_backing backing, char *err, size_t errlen)
{
	struct kvm_userspace_memory_region slot;
	const char *what;

	vm->fd = vm->memfd = -1;
	what = "open /dev/kvm";
	if ((vm->kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC)) < 0)
		goto fail;
	what = "KVM API version";
	if (ioctl(vm->kvm, KVM_GET_API_VERSION, 0) != KVM_API_VERSION) {
		errno = ENOTSUP;
		goto fail;
	}
	what = "KVM_CREATE_VM";
	if ((vm->fd = ioctl(vm->kvm, KVM_CREATE_VM, 0)) < 0)
		goto fail;
	what = "KVM_SET_TSS_ADDR";
	if (ioctl(vm->fd, KVM_SET_TSS_ADDR, TSS_ADDR) < 0)
		goto fail;
	what = "KVM_CREATE_IRQCHIP";
	if (ioctl(vm->fd, KVM_CREATE_IRQCHIP, 0) < 0)
		goto fail;

	if (mem_create(vm, backing, err, errlen) < 0)
		return -1;
	gmem_init(&vm->gm, vm->gm.base, vm->gm.size);
	what = "KVM_SET_USER_MEMORY_REGION";
	for (unsigned i = 0; i < kvm_slots(vm); i++) {
		kvm_slot(vm, i, 0, &slot);
		if (ioctl(vm->fd, KVM_SET_USER_MEMORY_REGION, &slot) < 0)
			goto fail;
	}

	what = "KVM_GET_VCPU_MMAP_SIZE";
	int sz = ioctl(vm->kvm, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (sz <= 0)
		goto fail;
	vm->run_size = (size_t)sz;
	for (int i = 0; i < vm->nvcpus; i++) {
		struct vcpu *v = &vm->vcpus[i];
		v->vm = vm;
		v->id = i;
		what = "KVM_CREATE_VCPU";
		if ((v->fd = ioctl(vm->fd, KVM_CREATE_VCPU, i)) < 0)
			goto fail;
		v->run = mmap(NULL, vm->run_size, PROT_READ | PROT_WRITE, MAP_SHARED, v->fd, 0);
		if (v->run == MAP_FAILED) {
			v->run = NULL;
			what = "mmap kvm_run";
			goto fail;
		}
		if (i == 0) {
			int khz = ioctl(v->fd, KVM_GET_TSC_KHZ, 0);
			vm->tsc_khz = khz > 0 ? (uint32_t)khz : 0;
		}
		what = "KVM_SET_CPUID2";
		if (kvm_cpuid(vm, v) < 0)
			goto fail;
	}
	return 0;
fail:
	snprintf(err, errlen, "%s: %s", what, strerror(errno));
	return -1;
}

void kvm_vm_destroy(struct vm *vm)
{
	for (int i = 0; i < vm->nvcpus; i++) {
		if (vm->vcpus[i].run)
			munmap(vm->vcpus[i].run, vm->run_size);
		if (vm->vcpus[i].fd > 0)
			close(vm->vcpus[i].fd);
	}
	if (vm->gm.base)
		munmap(vm->gm.base, vm->gm.size);
	if (vm->memfd >= 0)
		close(vm->memfd);
	if (vm->fd >= 0)
		close(vm->fd);
	if (vm->kvm >= 0)
		close(vm->kvm);
}

void vm_irq(struct vm *vm, unsigned irq)
{
	struct kvm_irq_level l = { .irq = irq, .level = 1 };
	ioctl(vm->fd, KVM_IRQ_LINE, &l);
	l.level = 0;
	ioctl(vm->fd, KVM_IRQ_LINE, &l);
}
