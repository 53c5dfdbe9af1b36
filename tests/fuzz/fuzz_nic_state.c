/*
 * fuzz_nic_state.c - libFuzzer target for the virtio-net device's saved
 * state (hypervisor/virtio_net.c), the DEVICE_STATE blob a migration stream
 * brings: check must refuse what load cannot take whole; what it accepts
 * loads, saves again, and the saved form passes check.  The same input is
 * also a hand-over's late frames (nic_inject): taken whole or refused.
 */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "hvd.h"

#define MEM (1U << 20)

void vm_wake(struct vm *vm) { (void)vm; }
void vm_irq(struct vm *vm, unsigned irq) { (void)vm; (void)irq; }
void dirty_mark(struct vm *vm, uint64_t gpa, uint64_t len) { (void)vm; (void)gpa; (void)len; }

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct vm vm;
	static struct device *d;
	static struct nic *nic;
	static uint8_t again[DEV_STATE_MAX];
	char err[200];

	if (!d) {
		int sv[2];
		snprintf(vm.name, sizeof(vm.name), "fuzz");
		gmem_init(&vm.gm, calloc(1, MEM), MEM);
		vm.fd = -1;
		if (socketpair(AF_UNIX, SOCK_DGRAM, 0, sv) < 0)
			abort();
		fcntl(sv[0], F_SETFL, O_NONBLOCK);
		if (!(nic = nic_create_fd(&vm, "br0", sv[0], "fuzz", err, sizeof(err))))
			abort();
		d = dev_find(&vm.devs, DEV_MMIO, NIC_MMIO_BASE, 4);
	}
	/* the same input as a hand-over's late frames: taken whole or refused */
	nic_inject(nic, data, size);
	if (d->ops->check(d, data, size) < 0)
		return 0;
	d->ops->load(d, data, size);
	size_t n = d->ops->save(d, again, sizeof(again));
	if (!n || d->ops->check(d, again, n) < 0)
		abort();	/* what loaded must save into a form that loads */
	return 0;
}
