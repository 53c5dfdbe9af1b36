/*
 * xen.c - what a Xen PVH domU owes its toolstack: answering the requests
 * xl writes into the domain's "control/shutdown" node in xenstore
 * (suspend, poweroff, reboot, halt).  xl migrate and xl save suspend a PVH
 * guest only this way: they write "suspend", wait for the guest to clear
 * the node, then for the domain to shut down with reason "suspend".
 *
 * The guest speaks xenstore's ring protocol on the page HVM_PARAM_STORE_PFN
 * names, kicking xenstored through the event channel HVM_PARAM_STORE_EVTCHN
 * names.  It watches the node, reads it when the watch fires, acknowledges
 * by writing it empty, and once the write is answered shuts down with the
 * reason asked for.  Nothing here waits: xen_poll() runs from the main loop
 * (every 10 ms), sends what it can and reads what has come.  After a
 * suspend returns (resumed in a new domain, or the suspend was cancelled)
 * the ring and the event channel are found again from the parameters and
 * the watch is set anew, as xenstored forgets the old domain's watches.
 * A ring that reads as garbage (the guest moved, live, into a domain that
 * has none: Tandem's own incoming domains get no xenstore) is looked for
 * again the same way, and without one the guest stops asking.
 *
 * Hypercalls go through boot.S's gate (int 0x82) to the hypercall page:
 * Xen takes none from ring 3.
 */
#include "guest.h"

#define HC_SCHED_OP	29
#define HC_EVENT_CHANNEL_OP 32
#define HC_HVM_OP	34
#define SCHEDOP_SHUTDOWN 2
#define EVTCHNOP_SEND	4
#define HVMOP_GET_PARAM	1
#define DOMID_SELF	0x7ff0
#define PARAM_STORE_PFN	1
#define PARAM_STORE_EVTCHN 2

enum { XS_READ = 2, XS_WATCH = 4, XS_WRITE = 11, XS_WATCH_EVENT = 15, XS_ERROR = 16 };
enum { SHUT_POWEROFF = 0, SHUT_REBOOT = 1, SHUT_SUSPEND = 2, SHUT_NONE = -1 };

#define RING_SIZE 1024
struct xs_ring {
	char req[RING_SIZE];
	char rsp[RING_SIZE];
	uint32_t req_cons, req_prod, rsp_cons, rsp_prod;
};
struct xs_hdr {
	uint32_t type, req_id, tx_id, len;
};

static const char node[] = "control/shutdown";

/* the conversation with xenstored: where, and what is outstanding */
static struct {
	enum { XS_OFF, XS_FIND, XS_ON } state;
	volatile struct xs_ring *ring;
	uint32_t port;
	uint32_t next_id;
	uint32_t read_id;	/* the outstanding read of the node, 0: none */
	uint32_t write_id;	/* the outstanding acknowledgement, 0: none */
	int read_wanted;	/* the watch fired meanwhile */
	int asked;		/* SHUT_*: what the acknowledged request was */
	uint64_t suspends;	/* suspends come back from */
} xs = { .state = XS_FIND };

uint64_t xen_suspends(void)
{
	return xs.suspends;
}

static long hypercall(unsigned long op, uint64_t a1, uint64_t a2)
{
	long rax = (long)op;

	__asm__ volatile("int $0x82"
	    : "+a"(rax), "+D"(a1), "+S"(a2)
	    :
	    : "rcx", "rdx", "r8", "r10", "r11", "memory");
	return rax;
}

static uint64_t hvm_param(uint32_t index)
{
	struct {
		uint16_t domid, pad;
		uint32_t index;
		uint64_t value;
	} p = { .domid = DOMID_SELF, .index = index };

	return hypercall(HC_HVM_OP, HVMOP_GET_PARAM, (uint64_t)&p) == 0 ? p.value : 0;
}

static void kick(void)
{
	struct {
		uint32_t port;
	} s = { xs.port };

	hypercall(HC_EVENT_CHANNEL_OP, EVTCHNOP_SEND, (uint64_t)&s);
}

static long shutdown(unsigned reason)
{
	struct {
		uint32_t reason;
	} s = { reason };

	return hypercall(HC_SCHED_OP, SCHEDOP_SHUTDOWN, (uint64_t)&s);
}

#define barrier() __asm__ volatile("" ::: "memory")

/* one request of up to two parts; its id, 0 when the ring has no room */
static uint32_t xs_send(uint32_t type, const char *a, uint32_t alen, const char *b, uint32_t blen)
{
	volatile struct xs_ring *r = xs.ring;
	if (!++xs.next_id)
		xs.next_id = 1;
	struct xs_hdr h = { type, xs.next_id, 0, alen + blen };
	uint32_t prod = r->req_prod, total = (uint32_t)sizeof(h) + h.len;

	barrier();
	if (prod - r->req_cons + total > RING_SIZE)
		return 0;
	const char *parts[3] = { (const char *)&h, a, b };
	uint32_t lens[3] = { sizeof(h), alen, blen };
	for (int p = 0; p < 3; p++)
		for (uint32_t i = 0; i < lens[p]; i++)
			r->req[prod++ % RING_SIZE] = parts[p][i];
	barrier();
	r->req_prod = prod;
	kick();
	return h.req_id;
}

/* the next whole reply or event: 1 and its header and (truncated) body */
static int xs_take(struct xs_hdr *h, char *body, uint32_t max)
{
	volatile struct xs_ring *r = xs.ring;
	uint32_t cons = r->rsp_cons, avail = r->rsp_prod - cons;

	barrier();
	if (avail < sizeof(*h))
		return 0;
	char *hp = (char *)h;
	for (uint32_t i = 0; i < sizeof(*h); i++)
		hp[i] = r->rsp[(cons + i) % RING_SIZE];
	if (h->len > RING_SIZE - sizeof(*h)) {	/* a broken ring: look for it again */
		r->rsp_cons = r->rsp_prod;
		xs.state = XS_FIND;
		return 0;
	}
	if (avail < sizeof(*h) + h->len)
		return 0;
	for (uint32_t i = 0; i < h->len && i < max; i++)
		body[i] = r->rsp[(cons + sizeof(*h) + i) % RING_SIZE];
	barrier();
	r->rsp_cons = cons + (uint32_t)sizeof(*h) + h->len;
	kick();
	return 1;
}

static int is(const char *body, uint32_t len, const char *word)
{
	uint32_t n = 0;

	while (word[n])
		n++;
	while (len && body[len - 1] == 0)
		len--;
	return len == n && strncmp_prefix(body, word) == (int)n;
}

static int asked_for(const char *body, uint32_t len)
{
	return is(body, len, "suspend") ? SHUT_SUSPEND : is(body, len, "poweroff") || is(body, len, "halt") ?
	    SHUT_POWEROFF : is(body, len, "reboot") ? SHUT_REBOOT : SHUT_NONE;
}

/* find the ring and set the watch (at start, and after every suspend) */
static void xs_find(void)
{
	uint64_t pfn = hvm_param(PARAM_STORE_PFN);

	xs.port = (uint32_t)hvm_param(PARAM_STORE_EVTCHN);
	if (!pfn || pfn >= (4UL << 30) / PAGE_SIZE) {	/* none, or not mapped */
		xs.state = XS_OFF;
		con_printf("tandem-guest: no xenstore (store pfn 0x%lx)\n", pfn);
		return;
	}
	xs.ring = (volatile struct xs_ring *)(pfn * PAGE_SIZE);
	xs.ring->rsp_cons = xs.ring->rsp_prod;	/* what came for the old domain */
	xs.read_id = xs.write_id = 0;
	xs.read_wanted = 0;
	xs.state = XS_ON;
	static const char watch[] = "control/shutdown\0tandem";
	xs_send(XS_WATCH, watch, sizeof(watch), "", 0);
}

static void act(int what)
{
	if (what != SHUT_SUSPEND) {
		con_printf("tandem-guest: %s as xenstore asks\n", what == SHUT_REBOOT ? "rebooting" : "powering off");
		shutdown((unsigned)what);
		return;
	}
	long r = shutdown(SHUT_SUSPEND);
	xs.suspends++;
	con_printf("RESUMED after a suspend (%s)\n", r ? "cancelled" : "new domain");
	xs_find();
}

void xen_poll(void)
{
	struct xs_hdr h;
	char body[64];

	if (xs.state == XS_FIND)
		xs_find();
	if (xs.state != XS_ON)
		return;
	while (xs_take(&h, body, sizeof(body))) {
		uint32_t len = h.len < sizeof(body) ? h.len : sizeof(body);
		if (h.type == XS_WATCH_EVENT)
			xs.read_wanted = 1;
		else if (h.req_id == xs.read_id) {
			xs.read_id = 0;
			int what = h.type == XS_READ ? asked_for(body, len) : SHUT_NONE;
			if (what != SHUT_NONE && !xs.write_id) {
				xs.asked = what;
				xs.write_id = xs_send(XS_WRITE, node, sizeof(node), "", 0);
				xs.read_wanted = !xs.write_id;	/* no room: ask again */
			}
		} else if (h.req_id == xs.write_id) {
			xs.write_id = 0;
			if (h.type == XS_WRITE) {
				act(xs.asked);
				return;
			}
		}
	}
	if (xs.read_wanted && !xs.read_id && (xs.read_id = xs_send(XS_READ, node, sizeof(node), "", 0)))
		xs.read_wanted = 0;
}
