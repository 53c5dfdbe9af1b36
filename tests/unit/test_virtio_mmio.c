/*
 * test_virtio_mmio.c - the virtio-mmio transport driven as a Linux
 * virtio_mmio driver would: identification, the status handshake, feature
 * negotiation (a driver without VERSION_1, or asking for features the
 * device lacks, does not get FEATURES_OK), queue setup and notification,
 * a queue whose rings lie outside guest memory (NEEDS_RESET, no kick
 * reaches the device, a reset clears it), narrow register accesses, config
 * space bounds, and the transport's save/check/load round trip.
 */
#include <string.h>

#include "hvd.h"
#include "tap.h"

static uint8_t mem[64 * 1024];
static struct gmem gm;
static int kicks, resets;
static unsigned last_q;
static const uint8_t cfg[8] = { 0x52, 0x54, 0x00, 0x12, 0x34, 0x56, 1, 0 };

static void notify(struct virtio_mmio *t, unsigned q) { (void)t; kicks++; last_q = q; }
static void dreset(struct virtio_mmio *t) { (void)t; resets++; }

static const struct virtio_dev dev = {
	"test", 1, (1ULL << 32) | (1ULL << 5), 2, 256, cfg, sizeof(cfg), NULL, notify, dreset,
};

static uint32_t rd(struct virtio_mmio *t, uint64_t off)
{
	uint32_t v;
	virtio_mmio_io(t, off, 0, (uint8_t *)&v, 4);
	return v;
}

static void wr(struct virtio_mmio *t, uint64_t off, uint32_t v)
{
	virtio_mmio_io(t, off, 1, (uint8_t *)&v, 4);
}

static void queue(struct virtio_mmio *t, unsigned q, uint64_t desc)
{
	wr(t, 0x030, q);
	wr(t, 0x038, 16);
	wr(t, 0x080, (uint32_t)desc);
	wr(t, 0x084, (uint32_t)(desc >> 32));
	wr(t, 0x090, 0x2000);
	wr(t, 0x0a0, 0x3000);
	wr(t, 0x044, 1);
}

static int handshake(struct virtio_mmio *t, uint32_t lo, uint32_t hi)
{
	wr(t, 0x070, 0);
	wr(t, 0x070, VIRTIO_S_ACK);
	wr(t, 0x070, VIRTIO_S_ACK | VIRTIO_S_DRIVER);
	wr(t, 0x024, 0);
	wr(t, 0x020, lo);
	wr(t, 0x024, 1);
	wr(t, 0x020, hi);
	wr(t, 0x070, VIRTIO_S_ACK | VIRTIO_S_DRIVER | VIRTIO_S_FEATURES_OK);
	return (rd(t, 0x070) & VIRTIO_S_FEATURES_OK) != 0;
}

int main(void)
{
	struct virtio_mmio t, u;
	uint8_t b[8], buf[1024];

	gmem_init(&gm, mem, sizeof(mem));
	virtio_init(&t, &dev, NULL, &gm);
	CHECK(rd(&t, 0x000) == 0x74726976 && rd(&t, 0x004) == 2 && rd(&t, 0x008) == 1);
	wr(&t, 0x014, 1);
	CHECK(rd(&t, 0x010) == 1);	/* VERSION_1 in the high word */
	wr(&t, 0x014, 0);
	CHECK(rd(&t, 0x010) == (1u << 5));

	CHECK(!handshake(&t, 1u << 5, 0));	/* no VERSION_1 */
	CHECK(!handshake(&t, (1u << 5) | (1u << 7), 1));	/* a feature the device lacks */
	CHECK(handshake(&t, 1u << 5, 1));
	CHECK(t.driver_features == ((1ULL << 32) | (1ULL << 5)));

	queue(&t, 0, 0x1000);
	queue(&t, 1, 0x4000);
	wr(&t, 0x030, 0);
	CHECK(rd(&t, 0x034) == 256 && rd(&t, 0x044) == 1 && t.q[0].size == 16);
	wr(&t, 0x050, 1);
	CHECK(kicks == 0);	/* not DRIVER_OK yet */
	wr(&t, 0x070, rd(&t, 0x070) | VIRTIO_S_DRIVER_OK);
	wr(&t, 0x050, 1);
	CHECK(kicks == 1 && last_q == 1);
	wr(&t, 0x050, 5);	/* no such queue */
	CHECK(kicks == 1);
	wr(&t, 0x080, 0x9000);	/* ready: setup is frozen */
	CHECK(t.q[0].desc == 0x1000);

	/* narrow register accesses change nothing and read 0 */
	b[0] = 0;
	virtio_mmio_io(&t, 0x070, 1, b, 1);
	CHECK(rd(&t, 0x070) & VIRTIO_S_DRIVER_OK);
	memset(b, 0xee, 2);
	virtio_mmio_io(&t, 0x000, 0, b, 2);
	CHECK(b[0] == 0 && b[1] == 0);
	/* config space, and reads past it */
	virtio_mmio_io(&t, 0x100, 0, b, 6);
	CHECK(!memcmp(b, cfg, 6));
	memset(b, 0xee, 4);
	virtio_mmio_io(&t, 0x106, 0, b, 4);
	CHECK(b[0] == 0 && b[3] == 0);

	/* the transport's state round-trips; a bad blob is refused whole */
	size_t n = virtio_save(&t, buf, sizeof(buf));
	virtio_init(&u, &dev, NULL, &gm);
	CHECK(n && virtio_check(&u, buf, n) == 0);
	virtio_load(&u, buf, n);
	CHECK(u.status == t.status && u.driver_features == t.driver_features &&
	    u.q[1].desc == 0x4000 && u.ready[1] == 1 && u.q[0].size == 16);
	CHECK(virtio_check(&u, buf, n - 1) < 0);
	buf[0] ^= 0xff;
	CHECK(virtio_check(&u, buf, n) < 0);
	buf[0] ^= 0xff;
	buf[18 + 4 + 34] = 0x07;	/* queue 1's descriptors misaligned */
	CHECK(virtio_check(&u, buf, n) < 0);

	/* a queue outside guest memory: NEEDS_RESET, kicks stop, reset clears it */
	wr(&t, 0x030, 1);
	wr(&t, 0x044, 0);
	wr(&t, 0x0a0, (uint32_t)sizeof(mem) - 8);
	wr(&t, 0x044, 1);
	CHECK((rd(&t, 0x070) & VIRTIO_S_NEEDS_RESET) && (rd(&t, 0x060) & VIRTIO_ISR_CONFIG) &&
	    rd(&t, 0x044) == 0);
	int k = kicks;
	wr(&t, 0x050, 0);
	CHECK(kicks == k);
	wr(&t, 0x070, VIRTIO_S_ACK | VIRTIO_S_DRIVER);	/* the driver cannot clear it */
	CHECK(rd(&t, 0x070) & VIRTIO_S_NEEDS_RESET);
	int r = resets;
	wr(&t, 0x070, 0);
	CHECK(rd(&t, 0x070) == 0 && resets == r + 1 && t.ready[0] == 0 && t.driver_features == 0);
	return TAP_DONE();
}
