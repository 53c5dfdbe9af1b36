/*
 * main.c - ring-3 entry of the workload guest and its main loop.
 *
 * boot.S drops here with the PVH start_info.  The loop runs three clocks off
 * the TSC: the dirty workload (pages/s, caught up in 1 ms slices), the
 * heartbeat (a counter in guest memory, printed once per increment, so a
 * correct pause or state copy never repeats or skips a value), and the
 * integrity sweep (periodic, and on demand when 'i' arrives on the UART).
 * With net= it also serves the network (net.c): every pass of the loop
 * takes what the NIC received, and the guest's idle ends when a frame
 * arrives; every 10 ms it looks whether the NIC asks it to announce itself
 * (after a migration).  As a Xen domU it answers xl's requests there too
 * (xen.c).
 */
#include "guest.h"

struct hvm_start_info {
	uint32_t magic, version, flags, nr_modules;
	uint64_t modlist_paddr, cmdline_paddr, rsdp_paddr, memmap_paddr;
	uint32_t memmap_entries, reserved;
};
struct hvm_memmap_entry {
	uint64_t addr, size;
	uint32_t type, reserved;
};
#define START_INFO_MAGIC 0x336ec578

extern char _end[];
static struct config cfg = { .heartbeat_ms = 1000, .integrity_s = 10 };
static uint64_t heartbeat;

static uint64_t heartbeat_now(void)
{
	return heartbeat;
}

/* inside the long loops: what the NIC brought is answered at once, and so
 * are the answers the main loop's own poll left queued (they waited for the
 * next frame to come, up to half a millisecond under the lab's load, or
 * for the loop to go idle, which a guest catching up its dirty pages after
 * a pause does not do for milliseconds) */
static void serve_network(void)
{
	net_poll();
	if (vn_tx_pending())
		vn_flush();
}

#define MAPPED_TOP (64UL << 30)	/* boot.S maps RAM up to here */

/* End of the RAM block that holds the image, and the RAM block above it
 * (from 4 GiB, past the MMIO hole) if there is one. */
static uint64_t ram_end(const struct hvm_start_info *si, uint64_t *high, uint64_t *high_len)
{
	uint64_t img = (uint64_t)_end, end = 0;

	*high = *high_len = 0;
	if (si->version >= 1 && si->memmap_paddr) {
		const struct hvm_memmap_entry *e = (const void *)si->memmap_paddr;
		for (uint32_t i = 0; i < si->memmap_entries; i++) {
			if (e[i].type != 1)
				continue;
			if (e[i].addr <= img && img < e[i].addr + e[i].size)
				end = e[i].addr + e[i].size;
			else if (e[i].addr >= (4UL << 30) && e[i].addr < MAPPED_TOP && !*high) {
				*high = e[i].addr;
				*high_len = e[i].size;
				if (*high + *high_len > MAPPED_TOP)
					*high_len = MAPPED_TOP - *high;
			}
		}
	}
	if (!end)
		end = img + (64UL << 20);
	if (end > (4UL << 30))
		end = 4UL << 30;
	return end;
}

static void sweep(uint64_t writes)
{
	int bad = dirty_verify(writes);

	if (bad)
		con_printf("INTEGRITY FAIL %d of %lu pages\n", bad, dirty_npages());
	else
		con_printf("INTEGRITY OK %lu pages\n", dirty_npages());
}

void guest_main(const struct hvm_start_info *si) __attribute__((noreturn));
void guest_main(const struct hvm_start_info *si)
{
	if (si->magic != START_INFO_MAGIC) {
		con_printf("tandem-guest: bad start_info magic\n");
		outb(PORT_EXIT, 2);
		for (;;)
			;
	}
	if (si->cmdline_paddr)
		cmdline_parse((const char *)si->cmdline_paddr, &cfg);
	clock_init(cfg.tsc_khz);

	uint64_t first = ((uint64_t)_end + PAGE_SIZE - 1) / PAGE_SIZE, high, high_len;
	uint64_t low_end = ram_end(si, &high, &high_len);
	uint64_t avail = low_end / PAGE_SIZE - first + high_len / PAGE_SIZE;
	uint64_t want = cfg.wss_mib ? cfg.wss_mib * 256 : (cfg.dirty_pps || cfg.dirty_max ? avail : 0);
	if (want > avail)
		want = avail;
	/* low RAM first, unless wss_high= asks for RAM above 4 GiB */
	uint64_t want_high = cfg.wss_high_mib * 256 < high_len / PAGE_SIZE ? cfg.wss_high_mib * 256 :
	    high_len / PAGE_SIZE;
	if (want_high > want)
		want_high = want;
	uint64_t want_low = want - want_high < low_end / PAGE_SIZE - first ? want - want_high :
	    low_end / PAGE_SIZE - first;
	con_printf("tandem-guest: ram=%luMiB wss=%luMiB dirty=%s%lu pattern=%u heartbeat=%lums tsc=%lukHz\n",
	    (low_end + high_len) >> 20, want >> 8, cfg.dirty_max ? "max" : "", cfg.dirty_max ? 0 : cfg.dirty_pps,
	    cfg.pattern, cfg.heartbeat_ms, tsc_hz / 1000);
	if (high_len)
		con_printf("tandem-guest: ram above 4 GiB: %luMiB at 0x%lx\n", high_len >> 20, high);
	dirty_init(first, want_low, high / PAGE_SIZE, want - want_low);
	int net = 0;
	if (cfg.has_net && !cfg.vn_base)
		con_printf("tandem-guest: net= without a NIC (no virtio_mmio.device=)\n");
	else if (cfg.has_net)
		net = net_init(&cfg, heartbeat_now) == 0;
	if (net && cfg.badvq)
		vn_badvq((unsigned)cfg.badvq);
	if (net)
		dirty_yield = serve_network;
	con_printf("READY wss_pages=%lu\n", dirty_npages());

	uint64_t ms = tsc_hz / 1000, now = rdtsc();
	uint64_t hb_ticks = cfg.heartbeat_ms * ms;
	uint64_t next_hb = hb_ticks ? now + hb_ticks : ~0ULL;
	uint64_t next_sweep = cfg.integrity_s && want ? now + cfg.integrity_s * 1000 * ms : ~0ULL;
	uint64_t next_input = now, next_slice = now;
	uint64_t per_page = cfg.dirty_pps ? tsc_hz / cfg.dirty_pps : 0;
	uint64_t due_at = now;	/* the TSC time when the next page is due */
	uint64_t crash_at = cfg.crash_ms ? now + cfg.crash_ms * ms : ~0ULL;
	/* writes counted in this frame, not in memory: see dirty_verify() */
	volatile uint64_t writes = 0;

	stood_init(cfg.stood_us);
	for (;;) {
		if (net)
			net_poll();
		now = stood_now();
		if (cfg.dirty_max) {
			dirty_write(4096, cfg.pattern);
			writes += 4096;
		} else if (per_page && now >= next_slice) {
			/* catch up at most 100 ms of backlog (after a long pause) */
			if (now - due_at > 100 * ms)
				due_at = now - 100 * ms;
			uint64_t n = (now - due_at) / per_page;
			dirty_write(n, cfg.pattern);
			writes += dirty_npages() ? n : 0;
			due_at += n * per_page;
			next_slice = now + ms;
		}
		if (now >= crash_at) {
			con_printf("tandem-guest: crashing on request\n");
			__asm__ volatile("ud2");
		}
		if (now >= next_hb) {
			heartbeat++;
			if (cfg.stood_us) {
				struct stood_sums ss = stood_sums();
				con_printf("HB %lu pages=%lu stood=%lu/%lu/%lu/%lu suspends=%lu\n", heartbeat,
				    dirty_written(), ss.n, ss.us, ss.n5, ss.us5, boot_on_xen ? xen_suspends() : 0);
			} else
				con_printf("HB %lu pages=%lu\n", heartbeat, dirty_written());
			stood_pass();
			next_hb += hb_ticks;
			if (next_hb < now)
				next_hb = now + hb_ticks;
		}
		if (now >= next_input) {
			int c = con_getc();
			if (c == 'i') {
				sweep(writes);
				stood_pass();
			}
			else if (c == 'h')
				con_printf("HB-NOW %lu\n", heartbeat);
			else if (c == 'n' && net)
				net_report();
			if (boot_on_xen)
				xen_poll();
			if (net && vn_announce_wanted()) {
				net_announce();
				vn_flush();
				con_printf("ANNOUNCED %s\n", vn_announce_ack() == 0 ? "ack" : "no-ack");
			}
			next_input = now + 10 * ms;
		}
		if (now >= next_sweep) {
			sweep(writes);
			stood_pass();
			next_sweep = now + cfg.integrity_s * 1000 * ms;
		}
		if (!cfg.dirty_max) {
			uint64_t d = next_hb < next_input ? next_hb : next_input;
			if (per_page && next_slice < d)
				d = next_slice;
			if (next_sweep < d)
				d = next_sweep;
			if (crash_at < d)
				d = crash_at;
			uint32_t us = clock_idle_us(d);
			if (net && vn_tx_pending()) {
				if (us)
					vn_flushed_by_idle();	/* hvd sends them as we go idle */
				else
					vn_flush();
			}
			clock_idle(us);
		} else if (net)
			vn_flush();
	}
}
