/*
 * test_virtio_net.c - the virtio-net device driven as a driver would, on a
 * frame socket in place of the tap: the MAC derived from the name (stable,
 * unicast, locally administered) and the spec's refusals; identification
 * and config space; a frame from the network lands in a receive buffer
 * behind its header, with the pages marked dirty and the guest woken; a
 * transmitted frame reaches the network without its header; nothing is
 * delivered while the domain is paused; the save/check/load round trip
 * carries the frames that waited (a second NIC on a copy of the memory
 * delivers them, raises ANNOUNCE and sends the RARP); output commit holds
 * transmitted frames until their epoch is released, in order, and a full
 * hold stalls the transmit queue without dropping; malformed saved
 * states are refused whole; a chain outside guest memory sets NEEDS_RESET
 * and a reset clears it.
 *
 * The hypervisor calls the device makes (vm_wake, vm_irq, dirty_mark) are
 * recorded here.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "hvd.h"
#include "tap.h"

#define MEM (1U << 20)
static int wakes, irqs;
static uint8_t dirty[MEM / 4096];

void vm_wake(struct vm *vm) { (void)vm; __atomic_add_fetch(&wakes, 1, __ATOMIC_SEQ_CST); }
void vm_irq(struct vm *vm, unsigned irq) { (void)vm; (void)irq; irqs++; }
void dirty_mark(struct vm *vm, uint64_t gpa, uint64_t len)
{
	(void)vm;
	for (uint64_t p = gpa / 4096; p <= (gpa + len - 1) / 4096 && p < MEM / 4096; p++)
		__atomic_store_n(&dirty[p], 1, __ATOMIC_SEQ_CST);
}

static struct vm vm1, vm2, vm3;

static uint32_t rd(struct vm *vm, uint64_t off)
{
	uint32_t v = 0;
	dev_dispatch(&vm->devs, NULL, DEV_MMIO, NIC_MMIO_BASE + off, 0, (uint8_t *)&v, 4);
	return v;
}
static void wr(struct vm *vm, uint64_t off, uint32_t v)
{
	dev_dispatch(&vm->devs, NULL, DEV_MMIO, NIC_MMIO_BASE + off, 1, (uint8_t *)&v, 4);
}
static uint8_t cfg8(struct vm *vm, unsigned off)
{
	uint8_t v = 0;
	dev_dispatch(&vm->devs, NULL, DEV_MMIO, NIC_MMIO_BASE + 0x100 + off, 0, &v, 1);
	return v;
}

static uint16_t g16(const uint8_t *p) { uint16_t v; memcpy(&v, p, 2); return v; }
static void p16(uint8_t *p, uint16_t v) { memcpy(p, &v, 2); }
static void p32(uint8_t *p, uint32_t v) { memcpy(p, &v, 4); }
static void p64(uint8_t *p, uint64_t v) { memcpy(p, &v, 8); }

/* queue q's rings at 0x10000 * (q + 1): desc, avail +0x1000, used +0x2000 */
static uint64_t ring(unsigned q) { return 0x10000ULL * (q + 1); }

static void setup(struct vm *vm)
{
	wr(vm, 0x070, 0);
	wr(vm, 0x070, VIRTIO_S_ACK | VIRTIO_S_DRIVER);
	wr(vm, 0x024, 0);
	wr(vm, 0x020, (1U << 5) | (1U << 16) | (1U << 17) | (1U << 21));
	wr(vm, 0x024, 1);
	wr(vm, 0x020, 1);	/* VERSION_1 */
	wr(vm, 0x070, VIRTIO_S_ACK | VIRTIO_S_DRIVER | VIRTIO_S_FEATURES_OK);
	for (unsigned q = 0; q < 3; q++) {
		wr(vm, 0x030, q);
		wr(vm, 0x038, 16);
		wr(vm, 0x080, (uint32_t)ring(q));
		wr(vm, 0x090, (uint32_t)ring(q) + 0x1000);
		wr(vm, 0x0a0, (uint32_t)ring(q) + 0x2000);
		wr(vm, 0x044, 1);
	}
	/* sixteen receive buffers of 2 KiB at 0x40000, no interrupts wanted */
	uint8_t *m = vm->gm.base;
	for (unsigned i = 0; i < 16; i++) {
		uint8_t *d = m + ring(0) + 16 * i;
		p64(d, 0x40000 + 2048ULL * i);
		p32(d + 8, 2048);
		p16(d + 12, 2);	/* WRITE */
		p16(m + ring(0) + 0x1000 + 4 + 2 * i, (uint16_t)i);
	}
	p16(m + ring(0) + 0x1000, 1);	/* NO_INTERRUPT */
	p16(m + ring(0) + 0x1000 + 2, 16);
	wr(vm, 0x070, VIRTIO_S_ACK | VIRTIO_S_DRIVER | VIRTIO_S_FEATURES_OK | VIRTIO_S_DRIVER_OK);
	wr(vm, 0x050, 0);
}

static uint16_t used_idx(struct vm *vm, unsigned q)
{
	return __atomic_load_n((uint16_t *)(vm->gm.base + ring(q) + 0x2002), __ATOMIC_ACQUIRE);
}

static int wait_used(struct vm *vm, unsigned q, uint16_t want)
{
	for (int i = 0; i < 400; i++) {
		if (used_idx(vm, q) == want)
			return 1;
		struct timespec ts = { 0, 5000000 };
		nanosleep(&ts, NULL);
	}
	return 0;
}

static void frame(uint8_t *f, const uint8_t *dst, uint8_t tag)
{
	memset(f, tag, 60);
	memcpy(f, dst, 6);
	f[12] = 0x08, f[13] = 0x00;
}

/* the driver sends a 60-byte broadcast frame tagged tag on the next transmit descriptor */
static void transmit(struct vm *vm, uint8_t tag)
{
	uint8_t *m = vm->gm.base, f[60];
	uint16_t idx = g16(m + ring(1) + 0x1000 + 2), slot = idx % 16;
	frame(f, (const uint8_t *)"\xff\xff\xff\xff\xff\xff", tag);
	memset(m + 0x60000 + 0x100 * slot, 0, 12);
	memcpy(m + 0x60000 + 0x100 * slot + 12, f, 60);
	p64(m + ring(1) + 16 * slot, 0x60000 + 0x100 * slot);
	p32(m + ring(1) + 16 * slot + 8, 72);
	p16(m + ring(1) + 16 * slot + 12, 0);
	p16(m + ring(1) + 0x1000 + 4 + 2 * slot, slot);
	p16(m + ring(1) + 0x1000 + 2, (uint16_t)(idx + 1));
	wr(vm, 0x050, 1);
}

static struct nic *nic_on(struct vm *vm, const char *name, int *peer)
{
	int sv[2];
	char err[300] = "";
	memset(vm, 0, sizeof(*vm));
	snprintf(vm->name, sizeof(vm->name), "%s", name);
	gmem_init(&vm->gm, calloc(1, MEM), MEM);
	vm->fd = -1;
	if (socketpair(AF_UNIX, SOCK_DGRAM, 0, sv) < 0)
		return NULL;
	fcntl(sv[0], F_SETFL, O_NONBLOCK);
	fcntl(sv[1], F_SETFL, O_NONBLOCK);
	*peer = sv[1];
	struct nic *n = nic_create_fd(vm, "br0", sv[0], "tdmtest", err, sizeof(err));
	if (!n)
		fprintf(stderr, "nic_create_fd: %s\n", err);
	return n;
}

int main(void)
{
	char br[IFNAMSIZ], err[200];
	uint8_t mac[6], mac2[6], f[60], got[2048];
	int peer1, peer2;

	/* the MAC: stable per name, unicast, locally administered */
	CHECK(nic_parse("br0", "web1", br, mac, err, sizeof(err)) == 0 && !strcmp(br, "br0"));
	CHECK(nic_parse("br0", "web1", br, mac2, err, sizeof(err)) == 0 && !memcmp(mac, mac2, 6));
	CHECK(mac[0] == 0x02);
	CHECK(nic_parse("br0", "web2", br, mac2, err, sizeof(err)) == 0 && memcmp(mac, mac2, 6));
	CHECK(nic_parse("vmbr0,mac=52:54:00:aa:bb:cc", "x", br, mac, err, sizeof(err)) == 0 &&
	    mac[0] == 0x52 && mac[5] == 0xcc && !strcmp(br, "vmbr0"));
	CHECK(nic_parse("", "x", br, mac, err, sizeof(err)) < 0);
	CHECK(nic_parse("averyveryverylongbridge", "x", br, mac, err, sizeof(err)) < 0);
	CHECK(nic_parse("br 0", "x", br, mac, err, sizeof(err)) < 0);
	CHECK(nic_parse("br0,mac=01:00:5e:00:00:01", "x", br, mac, err, sizeof(err)) < 0 &&
	    strstr(err, "multicast"));
	CHECK(nic_parse("br0,mac=zz", "x", br, mac, err, sizeof(err)) < 0);
	CHECK(nic_parse("br0,mtu=9000", "x", br, mac, err, sizeof(err)) < 0);

	struct nic *n1 = nic_on(&vm1, "t1", &peer1);
	CHECK(n1 != NULL);
	if (!n1)
		return TAP_DONE();
	nic_parse("br0", "t1", br, mac, err, sizeof(err));
	CHECK(rd(&vm1, 0x000) == 0x74726976 && rd(&vm1, 0x004) == 2 && rd(&vm1, 0x008) == 1);
	for (int i = 0; i < 6; i++)
		CHECK(cfg8(&vm1, (unsigned)i) == mac[i]);
	CHECK((cfg8(&vm1, 6) & 1) == 1);	/* link up */
	setup(&vm1);
	CHECK((rd(&vm1, 0x070) & VIRTIO_S_FEATURES_OK) != 0);
	dev_state_all(&vm1.devs, DS_RUNNING);

	/* receive */
	memset(dirty, 0, sizeof(dirty));
	int w0 = wakes;
	frame(f, mac, 0x11);
	CHECK(send(peer1, f, sizeof(f), 0) == (ssize_t)sizeof(f));
	CHECK(wait_used(&vm1, 0, 1));
	uint8_t *ue = vm1.gm.base + ring(0) + 0x2000 + 4;
	uint32_t len;
	memcpy(&len, ue + 4, 4);
	CHECK(len == 12 + 60);
	CHECK(!memcmp(vm1.gm.base + 0x40000 + 12, f, 60));
	CHECK(g16(vm1.gm.base + 0x40000 + 10) == 1);	/* num_buffers */
	CHECK(dirty[0x40000 / 4096] && dirty[(ring(0) + 0x2000) / 4096]);
	CHECK(wakes > w0);
	CHECK(g16(vm1.gm.base + ring(0) + 0x2000) == 1);	/* NO_NOTIFY: it has buffers */

	/* transmit: header and frame in one buffer; the tx ring wants interrupts */
	int i0 = irqs;
	frame(f, (const uint8_t *)"\xff\xff\xff\xff\xff\xff", 0x22);
	memset(vm1.gm.base + 0x60000, 0, 12);
	memcpy(vm1.gm.base + 0x60000 + 12, f, 60);
	p64(vm1.gm.base + ring(1), 0x60000);
	p32(vm1.gm.base + ring(1) + 8, 72);
	p16(vm1.gm.base + ring(1) + 0x1000 + 4, 0);
	p16(vm1.gm.base + ring(1) + 0x1000 + 2, 1);
	wr(&vm1, 0x050, 1);
	CHECK(recv(peer1, got, sizeof(got), 0) == 60 && !memcmp(got, f, 60));
	CHECK(used_idx(&vm1, 1) == 1);
	CHECK(irqs == i0 + 1 && (rd(&vm1, 0x060) & VIRTIO_ISR_QUEUE));

	/* output commit: held until the epoch is released, in order, never a later epoch's */
	CHECK(nic_hold_start(n1, 0) == 0);
	for (uint8_t k = 0; k < 3; k++)
		transmit(&vm1, 0x50 + k);
	CHECK(used_idx(&vm1, 1) == 4);	/* taken off the ring */
	CHECK(recv(peer1, got, sizeof(got), 0) < 0 && errno == EAGAIN);	/* but not sent */
	CHECK(nic_hold_mark(n1, 1) == 0);
	transmit(&vm1, 0x53);	/* epoch 2's */
	CHECK(nic_hold_mark(n1, 1) < 0);	/* epochs only grow */
	CHECK(nic_hold_release(n1, 2) < 0);	/* not marked yet */
	CHECK(nic_hold_release(n1, 1) == 0);
	for (uint8_t k = 0; k < 3; k++)
		CHECK(recv(peer1, got, sizeof(got), 0) == 60 && got[20] == 0x50 + k);
	CHECK(recv(peer1, got, sizeof(got), 0) < 0);
	struct nic_info ni;
	nic_describe(n1, &ni);
	CHECK(ni.hold.on && ni.hold.frames == 1 && ni.hold.bytes == 60 && ni.hold.released == 3 &&
	    ni.hold.marked == 1 && ni.hold.acked == 1);
	CHECK(nic_hold_mark(n1, 2) == 0 && nic_hold_release(n1, 2) == 0);
	CHECK(recv(peer1, got, sizeof(got), 0) == 60 && got[20] == 0x53);
	nic_hold_stop(n1);
	/* a full hold stalls the queue (nothing dropped); a release lets it go on */
	CHECK(nic_hold_start(n1, 1) == 0);	/* room for one frame */
	transmit(&vm1, 0x60);
	transmit(&vm1, 0x61);
	CHECK(used_idx(&vm1, 1) == 6);	/* the second waits in the ring */
	nic_describe(n1, &ni);
	CHECK(ni.hold.frames == 1 && ni.hold.stalls == 1 && ni.st.tx_drops == 0);
	CHECK(nic_hold_mark(n1, 1) == 0 && nic_hold_release(n1, 1) == 0);
	CHECK(recv(peer1, got, sizeof(got), 0) == 60 && got[20] == 0x60);
	CHECK(used_idx(&vm1, 1) == 7);	/* taken now, and held */
	CHECK(recv(peer1, got, sizeof(got), 0) < 0);
	nic_hold_stop(n1);	/* the backup is gone: all goes out */
	CHECK(recv(peer1, got, sizeof(got), 0) == 60 && got[20] == 0x61);
	transmit(&vm1, 0x62);	/* not holding: at once */
	CHECK(recv(peer1, got, sizeof(got), 0) == 60 && got[20] == 0x62);
	nic_describe(n1, &ni);
	CHECK(!ni.hold.on);

	/* paused: frames wait, nothing reaches guest memory; saving carries them */
	dev_state_all(&vm1.devs, DS_PAUSED);
	frame(f, mac, 0x33);
	send(peer1, f, sizeof(f), 0);
	frame(f, mac, 0x44);
	send(peer1, f, sizeof(f), 0);
	struct timespec ts = { 0, 100000000 };
	nanosleep(&ts, NULL);
	CHECK(used_idx(&vm1, 0) == 1);
	struct device *d1 = dev_find(&vm1.devs, DEV_MMIO, NIC_MMIO_BASE, 4);
	static uint8_t blob[DEV_STATE_MAX], bad[DEV_STATE_MAX];
	size_t bl = d1->ops->save(d1, blob, sizeof(blob));
	CHECK(bl > 0);
	CHECK(d1->ops->check(d1, blob, bl) == 0);

	/* the saved form refused whole when anything is off */
	int refused = 0;
	for (size_t k = 0; k < bl; k++)
		refused += d1->ops->check(d1, blob, k) < 0;
	CHECK(refused == (int)bl);	/* every truncation */
	memcpy(bad, blob, bl);
	bad[0] = 9;	/* version */
	CHECK(d1->ops->check(d1, bad, bl) < 0);
	memcpy(bad, blob, bl);
	bad[1] |= 1;	/* a multicast MAC */
	CHECK(d1->ops->check(d1, bad, bl) < 0);
	memcpy(bad, blob, bl);
	p16(bad + bl - 62, 2000);	/* the last frame's length beyond the maximum */
	CHECK(d1->ops->check(d1, bad, bl) < 0);
	memcpy(bad, blob, bl);
	bad[bl] = 0;
	CHECK(d1->ops->check(d1, bad, bl + 1) < 0);	/* trailing byte */

	/* restored on a copy: the waiting frames arrive, ANNOUNCE, a RARP */
	struct nic *n2 = nic_on(&vm2, "t1", &peer2);
	CHECK(n2 != NULL);
	if (!n2)
		return TAP_DONE();
	memcpy(vm2.gm.base, vm1.gm.base, MEM);
	struct device *d2 = dev_find(&vm2.devs, DEV_MMIO, NIC_MMIO_BASE, 4);
	CHECK(d2->ops->check(d2, blob, bl) == 0);
	uint32_t gen = rd(&vm2, 0x0fc);
	d2->ops->load(d2, blob, bl);
	CHECK((cfg8(&vm2, 6) & 2) == 2);	/* ANNOUNCE */
	CHECK(rd(&vm2, 0x0fc) != gen && (rd(&vm2, 0x060) & VIRTIO_ISR_CONFIG));
	dev_state_all(&vm2.devs, DS_RUNNING);
	ssize_t r = recv(peer2, got, sizeof(got), 0);
	CHECK(r == 60 && got[12] == 0x80 && got[13] == 0x35 && !memcmp(got + 6, mac, 6));
	CHECK(wait_used(&vm2, 0, 3));
	CHECK(vm2.gm.base[0x40000 + 2048 * 1 + 12 + 20] == 0x33 && vm2.gm.base[0x40000 + 2048 * 2 + 12 + 20] == 0x44);
	CHECK(used_idx(&vm1, 0) == 1);	/* the source delivered nothing more */

	/* the guest's ANNOUNCE_ACK on the control queue clears the bit */
	vm2.gm.base[0x70000] = 3, vm2.gm.base[0x70001] = 0, vm2.gm.base[0x70010] = 0xff;
	p64(vm2.gm.base + ring(2), 0x70000);
	p32(vm2.gm.base + ring(2) + 8, 2);
	p16(vm2.gm.base + ring(2) + 12, 1);	/* NEXT */
	p16(vm2.gm.base + ring(2) + 14, 1);
	p64(vm2.gm.base + ring(2) + 16, 0x70010);
	p32(vm2.gm.base + ring(2) + 24, 1);
	p16(vm2.gm.base + ring(2) + 28, 2);	/* WRITE */
	p16(vm2.gm.base + ring(2) + 0x1000 + 4, 0);
	p16(vm2.gm.base + ring(2) + 0x1000 + 2, 1);
	wr(&vm2, 0x050, 2);
	CHECK(vm2.gm.base[0x70010] == 0 && (cfg8(&vm2, 6) & 2) == 0);

	/* a chain outside guest memory: NEEDS_RESET, hvd carries on, a reset clears it */
	p64(vm2.gm.base + ring(1) + 16, 0x7fff00000000ULL);
	p32(vm2.gm.base + ring(1) + 16 + 8, 1500);
	p16(vm2.gm.base + ring(1) + 16 + 12, 0);
	p16(vm2.gm.base + ring(1) + 0x1000 + 4 + 2, 1);
	p16(vm2.gm.base + ring(1) + 0x1000 + 2, 2);
	wr(&vm2, 0x050, 1);
	CHECK(rd(&vm2, 0x070) & VIRTIO_S_NEEDS_RESET);
	CHECK(recv(peer2, got, sizeof(got), 0) < 0 && errno == EAGAIN);
	wr(&vm2, 0x070, 0);
	CHECK(rd(&vm2, 0x070) == 0);
	setup(&vm2);
	CHECK((rd(&vm2, 0x070) & (VIRTIO_S_DRIVER_OK | VIRTIO_S_NEEDS_RESET)) == VIRTIO_S_DRIVER_OK);

	nic_describe(n2, &ni);
	/* the counters travel with the state: the source sent 8 frames */
	CHECK(ni.st.rx_packets == 3 && ni.st.tx_packets == 8 && ni.st.carried == 2 &&
	    ni.st.announces == 1);
	CHECK(!strncmp(ni.spec, "br0,mac=02:", 11));
	/*
	 * A released domain's late frames: only those for the VM alone, in
	 * order, at most NIC_PENDING (the rest counted), as a frame list that
	 * the destination's NIC takes; anything that is not exactly a frame
	 * list is refused.  The domain is not running: the receive thread
	 * leaves the tap alone.
	 */
	int peer3;
	uint8_t m3[6], other[6] = { 0x02, 0, 0, 0, 0, 0x09 }, bcast[6], list[NIC_FRAMES_MAX];
	memset(bcast, 0xff, 6);
	struct nic *n3 = nic_on(&vm3, "t3", &peer3);
	CHECK(n3 != NULL);
	nic_parse("br0", "t3", br, m3, err, sizeof(err));
	for (int i = 0; i < 3; i++) {
		frame(f, m3, (uint8_t)(0x30 + i));
		CHECK(send(peer3, f, sizeof(f), 0) == (ssize_t)sizeof(f));
		frame(f, i ? other : bcast, 0x40);	/* whoever else they were for has them */
		CHECK(send(peer3, f, sizeof(f), 0) == (ssize_t)sizeof(f));
	}
	size_t ll = nic_take(n3, list, sizeof(list));
	CHECK(ll == 2 + 3 * (2 + 60) && g16(list) == 3);
	for (int i = 0; i < 3; i++)
		CHECK(g16(list + 2 + i * 62) == 60 && !memcmp(list + 4 + i * 62, m3, 6) &&
		    list[4 + i * 62 + 20] == 0x30 + i);
	CHECK(nic_take(n3, list + ll, sizeof(list) - ll) == 2 && g16(list + ll) == 0);	/* none left */
	for (int i = 0; i < NIC_PENDING + 1; i++) {
		frame(f, m3, 0x50);
		CHECK(send(peer3, f, sizeof(f), 0) == (ssize_t)sizeof(f));
	}
	uint8_t list2[NIC_FRAMES_MAX];
	CHECK(nic_take(n3, list2, sizeof(list2)) == 2 + NIC_PENDING * 62 && g16(list2) == NIC_PENDING);
	CHECK(send(peer3, f, sizeof(f), 0) == (ssize_t)sizeof(f));
	CHECK(nic_take(n3, list2, 10) == 0);	/* no room: nothing, and counted */
	nic_describe(n3, &ni);
	CHECK(ni.st.reflected == 3 + NIC_PENDING && ni.st.rx_drops == 2);
	/* the destination side */
	uint64_t carried = ni.st.carried;
	CHECK(nic_inject(n3, list, ll) == 0);
	nic_describe(n3, &ni);
	CHECK(ni.st.carried == carried + 3);
	CHECK(nic_inject(n3, list, ll - 1) < 0);	/* cut short */
	CHECK(nic_inject(n3, list, 0) < 0);
	uint8_t one[2 + 62];
	memcpy(one, list, sizeof(one));
	p16(one, 1);
	CHECK(nic_inject(n3, one, sizeof(one)) == 0);	/* one whole frame: fine */
	p16(one + 2, 13);	/* shorter than a header */
	CHECK(nic_inject(n3, one, sizeof(one)) < 0);
	p16(one + 2, 60);
	p16(one, NIC_PENDING + 1);	/* more than a list holds */
	CHECK(nic_inject(n3, one, sizeof(one)) < 0);
	uint8_t trail[2 + 62 + 1] = { 0 };
	memcpy(trail, list, 2 + 62);
	p16(trail, 1);
	CHECK(nic_inject(n3, trail, sizeof(trail)) < 0);	/* bytes after the list */

	nic_destroy(n1);
	nic_destroy(n2);
	nic_destroy(n3);
	close(peer1);
	close(peer2);
	close(peer3);
	free(vm1.gm.base);
	free(vm2.gm.base);
	free(vm3.gm.base);
	return TAP_DONE();
}
