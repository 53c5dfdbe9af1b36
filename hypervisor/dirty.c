/*
 * dirty.c - log-dirty for migration: on/off and peek-and-clean of the bitmap.
 *
 * The bitmap lives in a memfd shared with the caller, so peek-and-clean moves
 * no bitmap bytes over the socket.  Two modes: MANUAL (KVM_CAP_MANUAL_DIRTY_
 * LOG_PROTECT2: GET the log, then CLEAR exactly the bits we got, which
 * re-protects only those pages) and LEGACY (GET clears and re-protects the
 * whole slot).  bench/hv measures both.  Pages hvd's own devices write are
 * marked beside KVM's log (dirty_mark) and merged into it at each peek.  The caller must copy pages only
 * after peek-and-clean returns: a write after the clear sets the bit again.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "hvd.h"

static int dirty_slot_flags(struct vm *vm, uint32_t flags)
{
	struct kvm_userspace_memory_region slot;
	for (unsigned i = 0; i < kvm_slots(vm); i++) {
		kvm_slot(vm, i, flags, &slot);
		if (ioctl(vm->fd, KVM_SET_USER_MEMORY_REGION, &slot) < 0)
			return -1;
	}
	return 0;
}

int dirty_init(struct vm *vm)
{
	vm->devdirty = calloc((vm->gm.size / 4096 + 63) / 64, 8);
	return vm->devdirty ? 0 : -1;
}

int dirty_enable(struct vm *vm, int mode)
{
	struct kvm_enable_cap cap = { .cap = KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2 };

	if (vm->logdirty && dirty_disable(vm) < 0)
		return -1;
	if (mode != HV_DIRTY_MANUAL && mode != HV_DIRTY_LEGACY) {
		errno = EINVAL;
		return -1;
	}
	cap.args[0] = mode == HV_DIRTY_MANUAL ? KVM_DIRTY_LOG_MANUAL_PROTECT_ENABLE : 0;
	if (ioctl(vm->fd, KVM_ENABLE_CAP, &cap) < 0)
		return -1;
	size_t pages = vm->gm.size / 4096;
	vm->bitmap_len = (pages + 63) / 64 * 8;
	if ((vm->bmfd = shm_create("tandem-dirty", vm->bitmap_len, (void **)&vm->bitmap)) < 0)
		return -1;
	if (dirty_slot_flags(vm, KVM_MEM_LOG_DIRTY_PAGES) < 0)
		goto fail;
	vm->dirty_mode = mode;
	memset(vm->devdirty, 0, vm->bitmap_len);	/* the first round copies every page */
	vm->logdirty = 1;
	return 0;
fail:
	if (vm->bitmap)
		munmap(vm->bitmap, vm->bitmap_len);
	vm->bitmap = NULL;
	close(vm->bmfd);
	vm->bmfd = -1;
	return -1;
}

int dirty_disable(struct vm *vm)
{
	if (!vm->logdirty)
		return 0;
	if (dirty_slot_flags(vm, 0) < 0)
		return -1;
	stage_drop(vm);
	munmap(vm->bitmap, vm->bitmap_len);
	close(vm->bmfd);
	vm->bitmap = NULL;
	vm->bmfd = -1;
	vm->logdirty = 0;
	return 0;
}

int dirty_peek_clean(struct vm *vm, uint64_t *count)
{
	uint64_t n = 0;

	if (!vm->logdirty) {
		errno = ENOTCONN;
		return -1;
	}
	/* one bitmap over the file: slot 1's bits follow slot 0's (the low
	 * RAM's page count, 3 GiB / 4 KiB, is a multiple of 64) */
	for (unsigned i = 0; i < kvm_slots(vm); i++) {
		uint64_t *bm = vm->bitmap + (i ? vm->gm.low / 4096 / 64 : 0);
		uint64_t pages = (i ? vm->gm.size - vm->gm.low : vm->gm.low) / 4096;
		struct kvm_dirty_log log = { .slot = i, .dirty_bitmap = bm };
		if (ioctl(vm->fd, KVM_GET_DIRTY_LOG, &log) < 0)
			return -1;
		if (vm->dirty_mode == HV_DIRTY_MANUAL) {
			struct kvm_clear_dirty_log clr = {
				.slot = i, .first_page = 0, .num_pages = (uint32_t)pages,
				.dirty_bitmap = bm,
			};
			if (ioctl(vm->fd, KVM_CLEAR_DIRTY_LOG, &clr) < 0)
				return -1;
		}
	}
	for (size_t i = 0; i < vm->bitmap_len / 8; i++) {
		vm->bitmap[i] |= __atomic_exchange_n(&vm->devdirty[i], 0, __ATOMIC_ACQ_REL);
		n += (uint64_t)__builtin_popcountll(vm->bitmap[i]);
	}
	*count = n;
	return 0;
}

/*
 * Devices write guest memory from hvd's threads, which KVM does not log:
 * they mark what they wrote, after writing it, and the next peek-and-clean
 * reports it.  A mark that lands after the peek is reported by the one
 * after, whose copy includes the write.
 */
void dirty_mark(struct vm *vm, uint64_t gpa, uint64_t len)
{
	int64_t off = gmem_off(&vm->gm, gpa, len);
	if (!len || off < 0)
		return;
	for (uint64_t p = (uint64_t)off / 4096; p <= ((uint64_t)off + len - 1) / 4096; p++)
		__atomic_fetch_or(&vm->devdirty[p / 64], 1ULL << (p % 64), __ATOMIC_RELEASE);
}
