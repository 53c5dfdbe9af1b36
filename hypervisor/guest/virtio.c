/*
 * virtio.c - the guest's virtio-net driver on virtio-mmio (virtio 1.x), in
 * ring 3, polling the used rings: no interrupts (the available rings carry
 * NO_INTERRUPT).
 *
 * Every register access is a VM exit (~125 us here), so the driver makes
 * few: receive buffers are refilled without a kick while the device's used
 * ring says NO_NOTIFY, transmitted frames are kicked once per batch
 * (vn_flush), and the device's status (the ANNOUNCE bit after a migration)
 * is read only when the caller asks.  The counters say how many exits the
 * driver cost.
 *
 * badvq=MODE (a test mode) makes the driver offer the device malformed
 * transmit chains (a loop, a buffer outside memory, a length that wraps, a
 * chain longer than the queue) and report what the device did.
 */
#include "guest.h"

#define R_MAGIC		0x000
#define R_VERSION	0x004
#define R_DEVICE	0x008
#define R_DEVFEAT	0x010
#define R_DEVFEATSEL	0x014
#define R_DRVFEAT	0x020
#define R_DRVFEATSEL	0x024
#define R_QSEL		0x030
#define R_QMAX		0x034
#define R_QNUM		0x038
#define R_QREADY	0x044
#define R_NOTIFY	0x050
#define R_STATUS	0x070
#define R_QDESC		0x080
#define R_QAVAIL	0x090
#define R_QUSED		0x0a0
#define R_CONFIG	0x100

#define S_ACK 1
#define S_DRIVER 2
#define S_DRIVER_OK 4
#define S_FEATURES_OK 8
#define S_NEEDS_RESET 64

#define F_MAC		(1ULL << 5)
#define F_STATUS	(1ULL << 16)
#define F_CTRL_VQ	(1ULL << 17)
#define F_GUEST_ANNOUNCE (1ULL << 21)
#define F_VERSION_1	(1ULL << 32)

#define QSZ		256
#define TXN		64
#define BUFSZ		1536
#define HDR		12
#define D_NEXT		1
#define D_WRITE		2

struct desc { uint64_t addr; uint32_t len; uint16_t flags, next; };
struct avail { uint16_t flags, idx, ring[QSZ]; };
struct used_elem { uint32_t id, len; };
struct used { uint16_t flags, idx; struct used_elem ring[QSZ]; };
struct queue {
	struct desc desc[QSZ] __attribute__((aligned(16)));
	struct avail avail __attribute__((aligned(2)));
	struct used used __attribute__((aligned(4)));
	uint16_t size, avail_idx, last_used;
};

static struct queue q[3] __attribute__((aligned(4096)));
static uint8_t rxbuf[QSZ][BUFSZ] __attribute__((aligned(64)));
static uint8_t txbuf[TXN][BUFSZ] __attribute__((aligned(64)));
static uint8_t ctrlbuf[16] __attribute__((aligned(16)));
static volatile uint8_t *mmio;
static unsigned tx_free, tx_unkicked;
static struct vn_stats st;
uint8_t vn_mac[6];

#define barrier() __asm__ volatile("" ::: "memory")
#define mfence() __asm__ volatile("mfence" ::: "memory")

static uint32_t rd(unsigned off) { st.exits++; return *(volatile uint32_t *)(mmio + off); }
static void wr(unsigned off, uint32_t v) { st.exits++; *(volatile uint32_t *)(mmio + off) = v; }

static int setup_queue(unsigned i, uint16_t want)
{
	wr(R_QSEL, i);
	uint32_t max = rd(R_QMAX);
	if (!max)
		return -1;
	q[i].size = max < want ? (uint16_t)max : want;
	wr(R_QNUM, q[i].size);
	uint64_t d = (uint64_t)q[i].desc, a = (uint64_t)&q[i].avail, u = (uint64_t)&q[i].used;
	wr(R_QDESC, (uint32_t)d), wr(R_QDESC + 4, (uint32_t)(d >> 32));
	wr(R_QAVAIL, (uint32_t)a), wr(R_QAVAIL + 4, (uint32_t)(a >> 32));
	wr(R_QUSED, (uint32_t)u), wr(R_QUSED + 4, (uint32_t)(u >> 32));
	q[i].avail.flags = 1;	/* NO_INTERRUPT: we poll */
	wr(R_QREADY, 1);
	return rd(R_QREADY) == 1 ? 0 : -1;
}

int vn_init(uint64_t base)
{
	mmio = (volatile uint8_t *)base;
	if (rd(R_MAGIC) != 0x74726976 || rd(R_VERSION) != 2 || rd(R_DEVICE) != 1) {
		con_printf("virtio-net: no virtio-mmio v2 network device at 0x%lx\n", base);
		return -1;
	}
	wr(R_STATUS, 0);
	memset(q, 0, sizeof(q));	/* the device let go of the rings at the reset */
	tx_unkicked = 0;
	wr(R_STATUS, S_ACK);
	wr(R_STATUS, S_ACK | S_DRIVER);
	wr(R_DEVFEATSEL, 0);
	uint64_t f = rd(R_DEVFEAT);
	wr(R_DEVFEATSEL, 1);
	f |= (uint64_t)rd(R_DEVFEAT) << 32;
	uint64_t want = F_VERSION_1 | F_MAC | F_STATUS | F_CTRL_VQ | F_GUEST_ANNOUNCE;
	if ((f & (F_VERSION_1 | F_MAC)) != (F_VERSION_1 | F_MAC)) {
		con_printf("virtio-net: the device lacks VERSION_1 or MAC\n");
		return -1;
	}
	f &= want;
	wr(R_DRVFEATSEL, 0), wr(R_DRVFEAT, (uint32_t)f);
	wr(R_DRVFEATSEL, 1), wr(R_DRVFEAT, (uint32_t)(f >> 32));
	wr(R_STATUS, S_ACK | S_DRIVER | S_FEATURES_OK);
	if (!(rd(R_STATUS) & S_FEATURES_OK)) {
		con_printf("virtio-net: the device refused our features\n");
		return -1;
	}
	int nq = (f & F_CTRL_VQ) ? 3 : 2;
	for (int i = 0; i < nq; i++)
		if (setup_queue((unsigned)i, i == 1 ? TXN : QSZ) < 0) {
			con_printf("virtio-net: queue %d refused\n", i);
			return -1;
		}
	for (int i = 0; i < 6; i++) {
		st.exits++;
		vn_mac[i] = mmio[R_CONFIG + i];
	}
	/* every receive buffer to the device */
	struct queue *rx = &q[0];
	for (uint16_t i = 0; i < rx->size; i++) {
		rx->desc[i] = (struct desc){ (uint64_t)rxbuf[i], BUFSZ, D_WRITE, 0 };
		rx->avail.ring[i] = i;
	}
	barrier();
	rx->avail_idx = rx->size;
	rx->avail.idx = rx->avail_idx;
	tx_free = q[1].size;
	wr(R_STATUS, S_ACK | S_DRIVER | S_FEATURES_OK | S_DRIVER_OK);
	mfence();
	if (!(rx->used.flags & 1))
		wr(R_NOTIFY, 0), st.rx_kicks++;
	con_printf("virtio-net: mac %02x:%02x:%02x:%02x:%02x:%02x, %u rx / %u tx buffers, "
	    "features 0x%lx\n", vn_mac[0], vn_mac[1], vn_mac[2], vn_mac[3], vn_mac[4], vn_mac[5],
	    rx->size, q[1].size, f);
	return 0;
}

int vn_recv(void (*cb)(uint8_t *frame, unsigned len))
{
	struct queue *rx = &q[0];
	int n = 0;

	while (rx->last_used != rx->used.idx) {
		barrier();
		struct used_elem e = rx->used.ring[rx->last_used % rx->size];
		rx->last_used++;
		if (e.id < rx->size && e.len > HDR && e.len <= BUFSZ) {
			st.rx++;
			cb(rxbuf[e.id] + HDR, e.len - HDR);
		} else
			st.rx_bad++;
		rx->avail.ring[rx->avail_idx % rx->size] = (uint16_t)(e.id < rx->size ? e.id : 0);
		rx->avail_idx++;
		n++;
	}
	if (n) {
		barrier();
		rx->avail.idx = rx->avail_idx;
		mfence();	/* the index before the look at the device's hint */
		if (!(rx->used.flags & 1))
			wr(R_NOTIFY, 0), st.rx_kicks++;
	}
	return n;
}

static void tx_reclaim(void)
{
	struct queue *tx = &q[1];
	while (tx->last_used != tx->used.idx) {
		tx->last_used++;
		tx_free++;
	}
}

int vn_send(const uint8_t *frame, unsigned len)
{
	struct queue *tx = &q[1];
	if (len > BUFSZ - HDR)
		return -1;
	if (!tx_free)
		tx_reclaim();
	if (!tx_free) {
		vn_flush();
		tx_reclaim();
	}
	if (!tx_free) {
		st.tx_full++;
		return -1;
	}
	uint16_t slot = tx->avail_idx % tx->size;
	memset(txbuf[slot], 0, HDR);
	memcpy(txbuf[slot] + HDR, frame, len);
	tx->desc[slot] = (struct desc){ (uint64_t)txbuf[slot], HDR + len, 0, 0 };
	tx->avail.ring[slot] = slot;
	tx->avail_idx++;
	tx_free--;
	barrier();
	tx->avail.idx = tx->avail_idx;
	tx_unkicked++;
	st.tx++;
	return 0;
}

int vn_tx_pending(void) { return tx_unkicked != 0; }

void vn_flush(void)
{
	if (!tx_unkicked)
		return;
	mfence();
	if (!(q[1].used.flags & 1))
		wr(R_NOTIFY, 1), st.tx_kicks++;
	tx_unkicked = 0;
}

/* hvd's idle port processes pending transmits before the vCPU sleeps */
void vn_flushed_by_idle(void)
{
	if (tx_unkicked)
		st.tx_idle_flushes++;
	tx_unkicked = 0;
}

int vn_announce_wanted(void)
{
	st.exits++;
	uint16_t s = (uint16_t)(mmio[R_CONFIG + 6] | mmio[R_CONFIG + 7] << 8);
	return (s & 2) != 0;
}

/* ANNOUNCE_ACK on the control queue, waiting for the device's answer */
int vn_announce_ack(void)
{
	struct queue *c = &q[2];
	if (!c->size)
		return -1;
	ctrlbuf[0] = 3, ctrlbuf[1] = 0, ctrlbuf[8] = 0xff;
	c->desc[0] = (struct desc){ (uint64_t)ctrlbuf, 2, D_NEXT, 1 };
	c->desc[1] = (struct desc){ (uint64_t)&ctrlbuf[8], 1, D_WRITE, 0 };
	c->avail.ring[c->avail_idx % c->size] = 0;
	c->avail_idx++;
	barrier();
	c->avail.idx = c->avail_idx;
	mfence();
	wr(R_NOTIFY, 2);
	for (int spin = 0; c->last_used == c->used.idx && spin < 1000000; spin++)
		barrier();
	if (c->last_used == c->used.idx)
		return -1;
	c->last_used++;
	return ctrlbuf[8] == 0 ? 0 : -1;
}

/*
 * The bad-virtqueue test: one malformed chain on the transmit queue; the
 * device must refuse it (NEEDS_RESET) and carry on.  Then the driver resets
 * the device and brings it up again, to show the recovery works.
 */
void vn_badvq(unsigned mode)
{
	struct queue *tx = &q[1];
	uint16_t s = tx->avail_idx % tx->size;
	static const char *const what[] = { "", "a descriptor loop", "a buffer outside guest memory",
		"a length that wraps", "more chains than the queue holds" };
	if (mode < 1 || mode > 4)
		return;
	con_printf("BADVQ %u: offering %s\n", mode, what[mode]);
	switch (mode) {
	case 1:
		tx->desc[s] = (struct desc){ (uint64_t)txbuf[0], 64, D_NEXT, (uint16_t)((s + 1) % tx->size) };
		tx->desc[(s + 1) % tx->size] = (struct desc){ (uint64_t)txbuf[1], 64, D_NEXT, s };
		break;
	case 2:
		tx->desc[s] = (struct desc){ 0x7fff00000000ULL, 1500, 0, 0 };
		break;
	case 3:
		tx->desc[s] = (struct desc){ (uint64_t)txbuf[0], 0xffffffffU, 0, 0 };
		break;
	case 4:
		tx->avail_idx = (uint16_t)(tx->avail_idx + tx->size + 5);
		break;
	}
	tx->avail.ring[s] = s;
	tx->avail_idx++;
	barrier();
	tx->avail.idx = tx->avail_idx;
	mfence();
	wr(R_NOTIFY, 1);
	uint32_t status = rd(R_STATUS);
	con_printf("BADVQ %u: device status 0x%x%s\n", mode, status,
	    status & S_NEEDS_RESET ? " NEEDS_RESET" : "");
	/* recover: reset, and set the device up from scratch */
	if (vn_init((uint64_t)mmio) == 0)
		con_printf("BADVQ %u: device reset and working\n", mode);
}

const struct vn_stats *vn_stats(void) { return &st; }
