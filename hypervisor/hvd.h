/*
 * hvd.h - private header of hvd, the embedded KVM hypervisor.
 *
 * hvd is two kinds of process: the parent (hvd.c, control.c, domain.c)
 * answers the control socket and keeps the registry of domains; each domain
 * runs in its own child process (vm.c and the files below it), which owns
 * the KVM VM, because KVM accepts a VM's ioctls only from its creator.
 */
#ifndef HVD_H
#define HVD_H

#include <net/if.h>
#include <pthread.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>
#include <linux/kvm.h>

#include "cpuplan.h"
#include "hvctl.h"

#define HVD_VERSION	"tandem-hvd 0.1"
#define VM_MAX_VCPUS	64
#define VM_MEM_MIN	(16ULL << 20)
#define VM_MEM_MAX	(1ULL << 40)	/* as the stream allows */
#define GUEST_START_INFO 0x6000
#define GUEST_MEMMAP	0x6100
#define GUEST_CMDLINE	0x6400
#define GUEST_CMDLINE_MAX 0x0c00
#define CONS_MAX	8

/* what guest memory is made of */
enum mem_backing { MB_AUTO, MB_HUGETLB, MB_SHMEM };

struct hvd_conf {
	const char *sock_path;
	const char *state_dir;
	int verbose, foreground;
	enum mem_backing backing;
	struct cpuplan cpus;	/* control threads on one core, guests on all (cpuplan.c) */
};

/* [gpa, gpa + len) lies inside a region of size bytes; safe for any
 * guest-chosen gpa (no wrap-around). */
static inline int gpa_range_ok(uint64_t size, uint64_t gpa, uint64_t len)
{
	return gpa <= size && len <= size - gpa;
}

/*
 * Guest memory is one file, laid out as a PC lays out RAM: from 0 up to the
 * MMIO hole (at most GMEM_HOLE bytes), the hole up to 4 GiB (devices live
 * there), and the rest from GMEM_HIGH.  The file holds the RAM without the
 * hole: byte gpa of low RAM is file offset gpa, byte GMEM_HIGH + x of high
 * RAM is file offset low + x.  The dirty bitmap and the migration stream
 * number pages by file offset.
 */
#define GMEM_HOLE	(3ULL << 30)
#define GMEM_HIGH	(4ULL << 30)
struct gmem {
	uint8_t *base;		/* the file, mapped whole */
	uint64_t size;		/* bytes of RAM */
	uint64_t low;		/* bytes of it below the hole */
};
static inline void gmem_init(struct gmem *g, uint8_t *base, uint64_t size)
{
	g->base = base;
	g->size = size;
	g->low = size < GMEM_HOLE ? size : GMEM_HOLE;
}
/* the file offset of [gpa, gpa + len) when all of it is RAM (in one
 * region), else -1: safe for any guest-chosen gpa and len */
static inline int64_t gmem_off(const struct gmem *g, uint64_t gpa, uint64_t len)
{
	if (gpa_range_ok(g->low, gpa, len))
		return (int64_t)gpa;
	if (gpa >= GMEM_HIGH && gpa_range_ok(g->size - g->low, gpa - GMEM_HIGH, len))
		return (int64_t)(g->low + gpa - GMEM_HIGH);
	return -1;
}
/* the host address of [gpa, gpa + len), or NULL when it is not all RAM.
 * Every access to guest memory at an address the guest chose goes
 * through it. */
static inline uint8_t *gmem_ptr(const struct gmem *g, uint64_t gpa, uint64_t len)
{
	int64_t off = gmem_off(g, gpa, len);
	return off < 0 ? NULL : g->base + off;
}

/* uart.c */
struct uart {
	uint8_t dll, dlm, ier, fcr, lcr, mcr, scr, msr;
	uint8_t rx[256];
	unsigned rx_head, rx_len;
};
void uart_init(struct uart *u);
/* Returns 1 when the access produced an output byte in *out. */
int uart_io(struct uart *u, uint16_t off, int is_write, uint8_t *val, uint8_t *out);
void uart_rx_push(struct uart *u, const uint8_t *p, size_t n);
size_t uart_save(const struct uart *u, uint8_t *buf, size_t cap);
int uart_load(struct uart *u, const uint8_t *buf, size_t len);

struct vm;
struct vcpu;
struct msg_out;
struct msg_in;

/* devices.c: the registry a VM's devices claim their port or MMIO range in */
#define DEV_MAX		16
#define DEV_STATE_MAX	32768	/* the largest saved form of one device */
enum dev_space { DEV_PIO, DEV_MMIO };
struct device;
struct dev_ops {
	const char *name;
	/* a guest access of size bytes at off into the device's range (v may be
	 * NULL outside a vCPU); reads fill data */
	void (*io)(struct device *d, struct vcpu *v, uint64_t off, int is_write, uint8_t *data,
	    unsigned size);
	/* state, or all NULL: save returns the blob's length (0: no room);
	 * check validates a blob whole and changes nothing; load replaces the
	 * live state from a checked blob */
	size_t (*save)(struct device *d, uint8_t *buf, size_t cap);
	int (*check)(struct device *d, const uint8_t *buf, size_t len);
	void (*load)(struct device *d, const uint8_t *buf, size_t len);
	uint16_t state_attr;	/* its attribute in DEVICE_STATE (enum vs_attr) */
	/* the domain's state changes to to (NULL: nothing to do); once it
	 * returns for any state but running, the device touches guest memory
	 * no more */
	void (*state)(struct device *d, enum dom_state to);
	/* the guest goes idle on the idle port (NULL: nothing to do): work the
	 * driver queued without a kick is done now (docs/devices.md) */
	void (*idle)(struct device *d);
};
struct device {
	const struct dev_ops *ops;
	enum dev_space space;
	uint64_t base, len;
	void *priv;
};
struct devices {
	struct device d[DEV_MAX];
	int n;
};
/* -1 with EEXIST when the range overlaps another device's */
int dev_register(struct devices *ds, const struct dev_ops *ops, enum dev_space space,
    uint64_t base, uint64_t len, void *priv);
struct device *dev_find(struct devices *ds, enum dev_space space, uint64_t addr, unsigned size);
/* 0 handled; -1 no device there (a read returns all ones) */
int dev_dispatch(struct devices *ds, struct vcpu *v, enum dev_space space, uint64_t addr,
    int is_write, uint8_t *data, unsigned size);
int dev_save_all(struct devices *ds, struct msg_out *out);
/* every device's blob checked before any is loaded */
int dev_load_all(struct devices *ds, const struct msg_in *m, char *err, size_t errlen);
/* some device's state travels under attr */
int dev_claims_attr(const struct devices *ds, uint16_t attr);
/* tells every device the domain's new state */
void dev_state_all(struct devices *ds, enum dom_state to);
void dev_idle_all(struct devices *ds);

/* virtq.c: the split virtqueue, the device's side, checked against guest memory */
#define VIRTQ_MAX		1024	/* largest queue, and longest chain */
#define VIRTQ_CHAIN_BYTES_MAX	(64U << 20)
struct virtq {
	uint16_t size;			/* entries, a power of two */
	uint64_t desc, avail, used;	/* guest-physical ring addresses */
	uint16_t last_avail, used_idx;	/* the device's own counters */
};
struct virtq_buf {
	uint64_t gpa;
	uint32_t len;
	int writable;			/* device writes (driver reads) it */
};
struct virtq_chain {
	uint16_t head;
	uint32_t n;
	struct virtq_buf buf[VIRTQ_MAX];
	uint64_t out_bytes, in_bytes;	/* readable, writable */
};
/* the rings of q lie in guest RAM: 0, or -1 with the reason */
int virtq_check(const struct virtq *q, const struct gmem *g, char *err, size_t errlen);
/* the next chain the driver offers: 1 in *c (every buffer in RAM), 0 none,
 * -1 malformed (the device must go to NEEDS_RESET; err says why) */
int virtq_pop(struct virtq *q, const struct gmem *g, struct virtq_chain *c, char *err,
    size_t errlen);
/* returns chain head, written bytes, on the used ring (q passed virtq_check) */
void virtq_push(struct virtq *q, const struct gmem *g, uint16_t head, uint32_t written);
/* on a checked queue: chains offered and not yet popped (may exceed the
 * size when the driver misbehaves: virtq_pop says so) */
uint16_t virtq_avail(const struct virtq *q, const struct gmem *g);
#define VIRTQ_AVAIL_F_NO_INTERRUPT	1
#define VIRTQ_USED_F_NO_NOTIFY		1
int virtq_interrupt_wanted(const struct virtq *q, const struct gmem *g);
/* the device's hint: the driver need not kick while it is set */
void virtq_set_no_notify(struct virtq *q, const struct gmem *g, int no_notify);

/* virtio_mmio.c: the virtio-mmio transport (virtio 1.x, Version 2) of one device */
#define VIRTIO_MAX_QUEUES	8
#define VIRTIO_CONFIG		0x100	/* the device's config space starts here */
#define VIRTIO_MMIO_SIZE	0x200
#define VIRTIO_S_ACK		1
#define VIRTIO_S_DRIVER		2
#define VIRTIO_S_DRIVER_OK	4
#define VIRTIO_S_FEATURES_OK	8
#define VIRTIO_S_NEEDS_RESET	64
#define VIRTIO_S_FAILED		128
#define VIRTIO_ISR_QUEUE	1
#define VIRTIO_ISR_CONFIG	2
struct virtio_mmio;
struct virtio_dev {
	const char *name;
	uint32_t device_id;		/* 1 network, ... */
	uint64_t features;		/* offered; VERSION_1 (bit 32) among them */
	unsigned nqueues;
	uint16_t queue_max;
	const uint8_t *config;		/* config space, read by the driver */
	uint32_t config_len;
	void (*config_write)(struct virtio_mmio *t, uint32_t off, const uint8_t *data, unsigned size);
	void (*notify)(struct virtio_mmio *t, unsigned queue);	/* the driver kicked it */
	void (*reset)(struct virtio_mmio *t);
};
struct virtio_mmio {
	const struct virtio_dev *dev;
	void *priv;
	const struct gmem *gm;		/* guest memory, for the queues */
	uint32_t status, isr, config_gen, dfsel, gfsel, qsel;
	uint64_t driver_features;
	struct virtq q[VIRTIO_MAX_QUEUES];
	int ready[VIRTIO_MAX_QUEUES];
};
void virtio_init(struct virtio_mmio *t, const struct virtio_dev *dev, void *priv,
    const struct gmem *gm);
/* an access at off into the transport's VIRTIO_MMIO_SIZE bytes */
void virtio_mmio_io(struct virtio_mmio *t, uint64_t off, int is_write, uint8_t *data,
    unsigned size);
/* the device found the driver's input malformed: NEEDS_RESET until reset */
void virtio_needs_reset(struct virtio_mmio *t, const char *why);
/* the transport's saved form (a device saves its own state beside it) */
size_t virtio_save(const struct virtio_mmio *t, uint8_t *buf, size_t cap);
int virtio_check(const struct virtio_mmio *t, const uint8_t *buf, size_t len);
void virtio_load(struct virtio_mmio *t, const uint8_t *buf, size_t len);

/* tap.c: a tap joined to bridge and up; its fd (non-blocking) and name */
int tap_open(const char *bridge, char ifname[IFNAMSIZ], char *err, size_t errlen);

/* virtio_net.c: the virtio-net device with a tap backend */
#define NIC_MMIO_BASE	0xd0000000ULL	/* in the MMIO hole below 4 GiB */
#define NIC_IRQ		5
#define NIC_PENDING	16		/* frames carried in the saved state */
#define NIC_FRAME_MAX	1518		/* Ethernet with a VLAN tag, no offloads */
#define NIC_FRAMES_MAX	(2 + NIC_PENDING * (2 + NIC_FRAME_MAX))	/* a frame list's largest */
struct nic_stats {
	uint64_t rx_packets, rx_bytes, rx_drops, tx_packets, tx_bytes, tx_drops;
	uint64_t carried;		/* frames saved with the state (stop-and-copy) */
	uint64_t announces;		/* RARPs sent for the VM after a restore */
	uint64_t idle_flushes;		/* transmits done when the guest went idle */
	uint64_t reflected;		/* late frames handed to the migration at release */
};
/* nic_hold.c: output commit (the frames of epochs the backup has not acknowledged) */
#define NIC_HOLD_MARKS	64		/* epochs whose frames may wait at once */
#define NIC_HOLD_DEFAULT (4u << 20)	/* bytes held at most, unless asked otherwise */
struct hold_mark {
	uint64_t epoch, seq;		/* the frames before seq belong to epoch or earlier */
};
struct nic_hold {
	uint8_t *buf;			/* a ring of u16 length + frame */
	size_t cap, head, len;
	uint64_t frames;		/* held now */
	uint64_t added, released;	/* frames ever held, and let go */
	struct hold_mark marks[NIC_HOLD_MARKS];
	unsigned mhead, nmarks;
	uint64_t last_mark;		/* the last epoch closed */
};
int hold_init(struct nic_hold *h, size_t cap);
void hold_free(struct nic_hold *h);
int hold_room(const struct nic_hold *h, size_t len);
/* -1 when it does not fit */
int hold_put(struct nic_hold *h, const uint8_t *frame, size_t len);
/* the frames held so far belong to epoch (which must grow): -1 if not, or too many marks */
int hold_mark(struct nic_hold *h, uint64_t epoch);
/* out() each frame of the epochs up to epoch, in order: how many */
size_t hold_release(struct nic_hold *h, uint64_t epoch, void (*out)(void *, const uint8_t *, size_t),
    void *arg);
size_t hold_release_all(struct nic_hold *h, void (*out)(void *, const uint8_t *, size_t), void *arg);

struct nic_hold_info {
	uint32_t on;
	uint64_t frames, bytes;		/* held now */
	uint64_t released;		/* frames let go since holding began */
	uint64_t stalls;		/* times the transmit queue waited for room */
	uint64_t marked, acked;		/* the last epoch marked, and released */
};
struct nic_info {
	char spec[64];			/* BRIDGE,mac=... */
	char tap[IFNAMSIZ];
	uint32_t status;		/* the transport's device status */
	struct nic_stats st;
	struct nic_hold_info hold;
};
struct nic;
/* spec "BRIDGE[,mac=XX:..]"; without a MAC, one derived from vm_name */
int nic_parse(const char *spec, const char *vm_name, char bridge[IFNAMSIZ], uint8_t mac[6],
    char *err, size_t errlen);
struct nic *nic_create(struct vm *vm, const char *spec, char *err, size_t errlen);
/* the same on a frame socket of the caller's (taken over, closed on failure) */
struct nic *nic_create_fd(struct vm *vm, const char *spec, int fd, const char *ifname,
    char *err, size_t errlen);
void nic_destroy(struct nic *n);
void nic_describe(struct nic *n, struct nic_info *ni);
/* a released domain's late frames for the VM as a frame list in buf (0: none
 * fit); the destination's NIC takes them (checked; -1: not a frame list) */
size_t nic_take(struct nic *n, uint8_t *buf, size_t cap);
/*
 * Output commit (nic_hold.c): from nic_hold_start every transmitted frame
 * is held (at most cap bytes: 0, NIC_HOLD_DEFAULT); nic_hold_mark, while
 * the domain is paused, closes an epoch; nic_hold_release sends the frames
 * of the epochs up to one; nic_hold_stop sends all and holds no more.
 */
int nic_hold_start(struct nic *n, size_t cap);
int nic_hold_mark(struct nic *n, uint64_t epoch);
int nic_hold_release(struct nic *n, uint64_t epoch);
void nic_hold_stop(struct nic *n);
int nic_inject(struct nic *n, const uint8_t *buf, size_t len);

/* platform.c: the board devices (console UART, idle and exit ports) */
int platform_init(struct vm *vm);

/* vcpu.c */
struct vcpu {
	struct vm *vm;
	int id, fd;
	struct kvm_run *run;
	pthread_t thr;
	int started;
	volatile int throttle_due;
	int off_control;	/* woken off the control core: every core again once it runs */
};
int vcpu_start_all(struct vm *vm);
void vcpu_stop_all(struct vm *vm);
int vcpu_pause_all(struct vm *vm);
/* before a paused domain's vCPUs are woken (vm->lock held) */
void vcpu_wake_off_control(struct vm *vm);
void vcpu_kick(struct vcpu *v);
int vcpu_throttle(struct vm *vm, unsigned pct);
void vcpu_idle(struct vcpu *v, long ns);	/* the guest asked to sleep */
void vcpu_log_frame(struct vcpu *v, unsigned vec);	/* a guest exception's frame, logged */

/* vm.c */
/* stage.c: where a staged checkpoint copies the dirty pages */
struct stage {
	int fd;			/* the memfd, -1 until STAGE_MAP */
	uint8_t *mem;
	uint64_t warm;		/* its first pages, touched already */
	/* a helper copies the second half of a large copy, on the core the
	 * parked vCPU left */
	int helper_up, job, quit;	/* job: 1 given, 0 done (under lock) */
	pthread_t helper;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	const uint64_t *bm;	/* its part: bitmap words [w0, w1) into stage pages from k0 */
	const uint8_t *src;
	uint64_t w0, w1, k0, npages, copied;
	cpu_set_t cpus;		/* the helper's: every core the domain has */
};

struct vm {
	char name[HV_NAME_MAX + 1];
	int kvm, fd;
	int memfd;
	struct gmem gm;		/* the memory file, its mapping and layout */
	int hugetlb;		/* memory is 2 MiB hugetlb pages, else 4 KiB shmem */
	int nvcpus;
	struct vcpu vcpus[VM_MAX_VCPUS];
	size_t run_size;
	uint32_t tsc_khz;
	uint64_t created_ns;

	pthread_mutex_t lock;	/* guards state, pause and park counters */
	pthread_cond_t cond;
	enum dom_state state;
	char reason[128];
	int pause_req, nparked, quit;

	unsigned throttle_pct;
	pthread_t throttle_thr;
	int throttle_started;

	pthread_mutex_t dev_lock;	/* guards uart and console clients */
	struct devices devs;
	struct uart uart;
	int logfd;
	char log_path[512];
	int cons[CONS_MAX];

	int ledgerfd;		/* the run ledger (ledger.c) */
	int lfd;		/* where a restarted hvd finds this domain (attach.c) */
	enum hv_lease lease;	/* paused under a lease, or incoming and not yet kept */
	uint64_t tag;		/* migrated: the hand-over (migration id) it belongs to */

	int logdirty, dirty_mode, bmfd;
	uint64_t *bitmap;
	size_t bitmap_len;
	uint64_t *devdirty;	/* pages hvd's devices wrote (dirty_mark), one bit each */
	struct stage stage;	/* stage.c */

	int wake_pending;	/* under lock: something for the guest, end its idle */
	struct cpuplan cpus;	/* its threads are ordinary ones on all of them */
	struct nic *nic;	/* NULL: no network */
};
int vm_main(int fd, const struct hvd_conf *conf);
int vm_set_state(struct vm *vm, enum dom_state to, const char *reason);
/* a device has something for the guest: end (or skip) its next idle */
void vm_wake(struct vm *vm);
/* an edge on the in-kernel irqchip's line irq */
void vm_irq(struct vm *vm, unsigned irq);
void vm_console_out(struct vm *vm, uint8_t c);
static inline uint64_t now_ns(void)	/* CLOCK_MONOTONIC */
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}


/* attach.c: domain processes outlive hvd; a restarted hvd adopts them */
#define DOM_DIR	"dom"		/* under the state dir: NAME.sock, NAME.pid */
int attach_listen(const struct vm *vm, const char *state_dir);	/* the domain, once created */
void attach_paths(const char *state_dir, const char *name, char *sock, char *pid, size_t cap);
void attach_forget(const char *state_dir, const char *name);	/* its files, once it is gone */

/* ledger.c */
int ledger_open(const char *state_dir);
void ledger_note(int fd, const char *event, const char *name, pid_t pid, const char *why);

/* kvm.c */
int shm_create(const char *name, size_t size, void **p);
int kvm_vm_create(struct vm *vm, enum mem_backing backing, char *err, size_t errlen);
unsigned kvm_slots(const struct vm *vm);
/* memory slot i (0 low RAM, 1 high RAM) with flags */
void kvm_slot(const struct vm *vm, unsigned i, uint32_t flags,
    struct kvm_userspace_memory_region *s);
void kvm_vm_destroy(struct vm *vm);

/* loader.c */
int loader_load(struct vm *vm, const char *path, const char *cmdline, uint64_t *entry,
    char *err, size_t errlen);
void loader_boot_regs(struct vm *vm, uint64_t entry);

/* vmstate.c: the attributes of the VCPU_STATE and DEVICE_STATE lists */
enum vs_attr { VS_VERSION = 1, VS_NVCPUS, VS_CLOCK, VS_PIC0, VS_PIC1, VS_IOAPIC, VS_VCPU, VS_UART,
	VS_NET };
int vmstate_save(struct vm *vm, struct msg_out *out);
int vmstate_load(struct vm *vm, const uint8_t *buf, size_t len, char *err, size_t errlen);
int devstate_save(struct vm *vm, struct msg_out *out);
int devstate_load(struct vm *vm, const uint8_t *buf, size_t len, char *err, size_t errlen);

/* dirty.c; dirty_init: the devices' bitmap, once guest memory exists */
int dirty_init(struct vm *vm);
int dirty_enable(struct vm *vm, int mode);
int dirty_disable(struct vm *vm);
int dirty_peek_clean(struct vm *vm, uint64_t *count);
/* hvd wrote guest memory at [gpa, gpa + len): logged as if the guest had */
void dirty_mark(struct vm *vm, uint64_t gpa, uint64_t len);

/* stage.c: stage_map -> its fd (log-dirty on; ENOTCONN otherwise); stage_copy
 * copies the bitmap's pages in, paused, and says how many; stage_warm,
 * running again after a copy of pages: the next copy's pages faulted in */
int stage_map(struct vm *vm);
void stage_drop(struct vm *vm);
uint64_t stage_copy(struct vm *vm, uint64_t count);
void stage_warm(struct vm *vm, uint64_t pages);

/* domain.c (parent) */
struct ctlsrv_client;
void domain_init(const struct hvd_conf *conf);
void domain_request(struct ctlsrv_client *c, const struct msg_in *m, const uint8_t *buf, size_t len);
void domain_reap(void);
void domain_client_gone(struct ctlsrv_client *c);
struct mtext;
void domain_render(struct mtext *t, void *arg);	/* the OpenMetrics endpoint */

/* control.c */
int control_init(const char *path);
void control_setup(void);	/* the domain process: error replies */

#endif
