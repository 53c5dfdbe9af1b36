/* guest.h - shared declarations of the workload guest (ring 3, freestanding). */
#ifndef GUEST_H
#define GUEST_H

#include <stdint.h>
#include <stddef.h>

#define PAGE_SIZE	4096UL
#define PORT_UART	0x3f8
#define PORT_XEN_DEBUG	0xe9	/* Xen's debug console, for HVM and PVH guests */
#define PORT_EXIT	0x501	/* isa-debug-exit on QEMU, guest exit on hvd */
#define PORT_IDLE	0x510	/* hvd: sleep for N microseconds (ignored elsewhere) */

static inline void outb(uint16_t port, uint8_t v) { __asm__ volatile("outb %0, %1" :: "a"(v), "Nd"(port)); }
static inline void outl(uint16_t port, uint32_t v) { __asm__ volatile("outl %0, %1" :: "a"(v), "Nd"(port)); }
static inline uint8_t inb(uint16_t port) { uint8_t v; __asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(port)); return v; }
static inline uint64_t rdtsc(void)
{
	uint32_t lo, hi;
	__asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
	return ((uint64_t)hi << 32) | lo;
}

/* console.c */
void con_putc(char c);
void con_printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
int con_getc(void);	/* -1 when no byte waits */

/* clock.c */
extern uint64_t tsc_hz;
void clock_init(uint64_t override_khz);
uint64_t clock_us(void);
/* microseconds to sleep in hvd until the deadline; 0 when it is too close */
uint32_t clock_idle_us(uint64_t tsc_deadline);
void clock_idle(uint32_t us);
/* stood=US: stretches the guest did not run, printed (clock.c) */
void stood_init(uint64_t us);
uint64_t stood_now(void);	/* the TSC, and a look */
void stood_pass(void);
struct stood_sums { uint64_t n, us, n5, us5; };	/* all stretches, and those of 5 ms or more */
struct stood_sums stood_sums(void);

/* cmdline.c */
enum { PAT_UNIFORM, PAT_SEQ, PAT_HOTCOLD };

struct config {
	uint64_t dirty_pps;	/* 0: no dirtying */
	int dirty_max;		/* dirty as fast as possible */
	uint64_t wss_mib;
	uint64_t wss_high_mib;	/* of it, this much from RAM above 4 GiB (where there is) */
	unsigned pattern;	/* PAT_* */
	uint64_t heartbeat_ms;
	uint64_t integrity_s;	/* periodic sweep, 0: only on demand */
	uint64_t tsc_khz;
	uint64_t crash_ms;	/* test hook: fault after this long, 0: never */
	uint64_t stood_us;	/* print each stretch the guest did not run longer than this */
	/* the network: net=ADDR/PREFIX[,gw=ADDR], kv=PORT, and where the NIC is
	 * (virtio_mmio.device=SIZE@BASE:IRQ, which hvd adds) */
	int has_net;
	uint32_t ip, gw;
	unsigned prefix;
	uint64_t kv_port;
	uint64_t vn_base;
	uint64_t badvq;		/* test mode: offer the NIC this malformed queue (1-4) */
};
void cmdline_parse(const char *s, struct config *c);

/* dirty.c; the long loops (dirtying, the sweep) call dirty_yield at least
 * every YIELD_US of guest time when it is set: the network service runs on
 * meanwhile, as a guest's interrupt handlers would */
extern void (*dirty_yield)(void);
/* the working set: n_low pages from first_pfn, then n_high from high_pfn */
void dirty_init(uint64_t first_pfn, uint64_t n_low, uint64_t high_pfn, uint64_t n_high);
void dirty_write(uint64_t n, int pattern);
uint64_t dirty_npages(void);
uint64_t dirty_written(void);
int dirty_verify(uint64_t writes);

/* virtio.c: the virtio-net driver */
struct vn_stats {
	uint64_t exits, rx, rx_bad, rx_kicks, tx, tx_kicks, tx_full, tx_idle_flushes;
};
extern uint8_t vn_mac[6];
int vn_init(uint64_t base);
int vn_recv(void (*cb)(uint8_t *frame, unsigned len));
int vn_send(const uint8_t *frame, unsigned len);
int vn_tx_pending(void);
void vn_flush(void);
void vn_flushed_by_idle(void);
int vn_announce_wanted(void);
int vn_announce_ack(void);
void vn_badvq(unsigned mode);
const struct vn_stats *vn_stats(void);

/* net.c: ARP, IPv4, ICMP and UDP echo, the KV service */
struct net_stats {
	uint64_t frames, arp, ping, udp_echo, puts, gets, sent, announced, ip_dropped;
};
int net_init(const struct config *c, uint64_t (*heartbeat)(void));
int net_poll(void);
void net_announce(void);
void net_report(void);

/* xen.c: as a Xen PVH domU, the toolstack's control/shutdown requests
 * (suspend, poweroff, reboot) answered; call every few milliseconds */
extern uint32_t boot_on_xen;
void xen_poll(void);
uint64_t xen_suspends(void);	/* suspends the guest came back from */

/* lib.c */
void *memset(void *d, int c, size_t n);
void *memcpy(void *d, const void *s, size_t n);
int strncmp_prefix(const char *s, const char *prefix);
uint64_t parse_u64(const char **s);

#endif
