/*
 * net.c - the guest's network service on its virtio-net driver: ARP,
 * IPv4 (no fragments, no options sent), ICMP echo, UDP echo on port 7, and
 * the UDP key-value service on the kv= port, whose answers a client can
 * check.
 *
 * KV requests are one datagram of text each:
 *   "ID put KEY VALUE"  ->  "ID ok VERSION hb=H n=N"
 *   "ID get KEY"        ->  "ID val VERSION VALUE hb=H n=N" | "ID none hb=H n=N"
 * VERSION counts the puts of that key (1 after the first); H is the guest's
 * heartbeat counter and N the count of KV requests served, both in guest
 * memory like the table, so a guest that resumes from a correct copy never
 * answers with a smaller H, N or VERSION than it already gave.
 *
 * Replies go to the MAC the request came from, so the guest needs no ARP
 * cache; gw= is kept for the guest's own traffic (it starts none).
 * announce() is the gratuitous ARP the guest sends when it resumes
 * elsewhere.
 */
#include "guest.h"

#define ETH_ARP		0x0806
#define ETH_IP		0x0800
#define KV_SLOTS	1024
#define KV_KEY		32
#define KV_VAL		64

struct kv { char key[KV_KEY]; char val[KV_VAL]; uint64_t version; };

static struct kv table[KV_SLOTS];
static uint64_t served;
static const struct config *cfg;
static uint8_t out[1514];
static uint16_t ip_id;
static struct net_stats nst;
static const uint8_t bcast[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };

static uint16_t get16(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }
static uint32_t get32(const uint8_t *p) { return (uint32_t)get16(p) << 16 | get16(p + 2); }
static void put16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)(v >> 8), p[1] = (uint8_t)v; }
static void put32(uint8_t *p, uint32_t v) { put16(p, (uint16_t)(v >> 16)), put16(p + 2, (uint16_t)v); }
static int eq(const uint8_t *a, const uint8_t *b, unsigned n)
{
	while (n--)
		if (*a++ != *b++)
			return 0;
	return 1;
}

static uint32_t csum_add(uint32_t sum, const uint8_t *p, unsigned len)
{
	for (; len > 1; p += 2, len -= 2)
		sum += get16(p);
	if (len)
		sum += (uint32_t)p[0] << 8;
	return sum;
}
static uint16_t csum_fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

static void eth_head(uint8_t *f, const uint8_t *dst, uint16_t type)
{
	memcpy(f, dst, 6);
	memcpy(f + 6, vn_mac, 6);
	put16(f + 12, type);
}

static void send(unsigned len)
{
	if (len < 60) {		/* the Ethernet minimum */
		memset(out + len, 0, 60 - len);
		len = 60;
	}
	if (vn_send(out, len) == 0)
		nst.sent++;
}

static void arp_out(const uint8_t *dst_mac, uint16_t op, const uint8_t *tha, uint32_t tpa)
{
	eth_head(out, dst_mac, ETH_ARP);
	uint8_t *a = out + 14;
	put16(a, 1), put16(a + 2, ETH_IP);
	a[4] = 6, a[5] = 4;
	put16(a + 6, op);
	memcpy(a + 8, vn_mac, 6);
	put32(a + 14, cfg->ip);
	memcpy(a + 18, tha, 6);
	put32(a + 24, tpa);
	send(42);
}

void net_announce(void)
{
	static const uint8_t zero[6];
	arp_out(bcast, 1, zero, cfg->ip);	/* request for our own address */
	nst.announced++;
}

static void arp_in(const uint8_t *f, unsigned len)
{
	const uint8_t *a = f + 14;
	if (len < 42 || get16(a) != 1 || get16(a + 2) != ETH_IP || a[4] != 6 || a[5] != 4)
		return;
	if (get16(a + 6) == 1 && get32(a + 24) == cfg->ip) {
		arp_out(a + 8, 2, a + 8, get32(a + 14));
		nst.arp++;
	}
}

/* an IPv4 reply to the request in f: header at out+14, payload len n */
static void ip_reply(const uint8_t *f, uint8_t proto, unsigned n)
{
	const uint8_t *ih = f + 14;
	uint8_t *o = out + 14;
	eth_head(out, f + 6, ETH_IP);
	o[0] = 0x45, o[1] = 0;
	put16(o + 2, (uint16_t)(20 + n));
	put16(o + 4, ip_id++);
	put16(o + 6, 0x4000);	/* don't fragment */
	o[8] = 64, o[9] = proto;
	put16(o + 10, 0);
	put32(o + 12, cfg->ip);
	memcpy(o + 16, ih + 12, 4);	/* to whoever asked */
	put16(o + 10, csum_fold(csum_add(0, o, 20)));
	send(14 + 20 + n);
}

static unsigned fmt_u64(char *p, uint64_t v)
{
	char b[24];
	unsigned n = 0, k = 0;
	do
		b[n++] = (char)('0' + v % 10);
	while ((v /= 10));
	while (n)
		p[k++] = b[--n];
	return k;
}
static unsigned fmt_s(char *p, const char *s, unsigned max)
{
	unsigned k = 0;
	while (s[k] && k < max)
		p[k] = s[k], k++;
	return k;
}

static struct kv *kv_find(const char *key, unsigned kl, int create)
{
	uint32_t h = 2166136261U;
	for (unsigned i = 0; i < kl; i++)
		h = (h ^ (uint8_t)key[i]) * 16777619U;
	for (unsigned i = 0; i < KV_SLOTS; i++) {
		struct kv *e = &table[(h + i) % KV_SLOTS];
		if (!e->key[0]) {
			if (!create)
				return 0;
			memcpy(e->key, key, kl);
			e->key[kl] = 0;
			return e;
		}
		if (eq((const uint8_t *)e->key, (const uint8_t *)key, kl) && !e->key[kl])
			return e;
	}
	return 0;
}

/* next word of [*p, end): its start, length in *n */
static const char *word(const char **p, const char *end, unsigned *n)
{
	while (*p < end && **p == ' ')
		(*p)++;
	const char *w = *p;
	while (*p < end && **p != ' ' && **p != '\n')
		(*p)++;
	*n = (unsigned)(*p - w);
	return w;
}

/* the KV request in [req, req+len) answered into r; returns the reply length */
static unsigned kv_serve(const char *req, unsigned len, char *r, uint64_t hb)
{
	const char *p = req, *end = req + len;
	unsigned idl, opl, kl, vl, k = 0;
	const char *id = word(&p, end, &idl), *op = word(&p, end, &opl);
	const char *key = word(&p, end, &kl), *val = word(&p, end, &vl);

	if (idl > 20)
		idl = 20;
	memcpy(r, id, idl);
	k = idl;
	served++;
	if (!idl || !kl || kl >= KV_KEY || (opl == 3 && eq((const uint8_t *)op, (const uint8_t *)"put", 3) &&
	    (!vl || vl >= KV_VAL))) {
		k += fmt_s(r + k, " err malformed", 20);
	} else if (opl == 3 && eq((const uint8_t *)op, (const uint8_t *)"put", 3)) {
		struct kv *e = kv_find(key, kl, 1);
		if (!e)
			k += fmt_s(r + k, " err full", 20);
		else {
			memcpy(e->val, val, vl);
			e->val[vl] = 0;
			e->version++;
			k += fmt_s(r + k, " ok ", 4);
			k += fmt_u64(r + k, e->version);
			nst.puts++;
		}
	} else if (opl == 3 && eq((const uint8_t *)op, (const uint8_t *)"get", 3)) {
		struct kv *e = kv_find(key, kl, 0);
		if (!e)
			k += fmt_s(r + k, " none", 8);
		else {
			k += fmt_s(r + k, " val ", 5);
			k += fmt_u64(r + k, e->version);
			r[k++] = ' ';
			k += fmt_s(r + k, e->val, KV_VAL);
		}
		nst.gets++;
	} else
		k += fmt_s(r + k, " err unknown-op", 20);
	k += fmt_s(r + k, " hb=", 4);
	k += fmt_u64(r + k, hb);
	k += fmt_s(r + k, " n=", 3);
	k += fmt_u64(r + k, served);
	return k;
}

static uint64_t (*heartbeat_now)(void);

static void udp_in(const uint8_t *f, const uint8_t *u, unsigned ulen)
{
	if (ulen < 8 || get16(u + 4) < 8 || get16(u + 4) > ulen)
		return;
	unsigned n = get16(u + 4) - 8;
	uint16_t sport = get16(u), dport = get16(u + 2);
	uint8_t *o = out + 14 + 20;
	unsigned rn;

	if (dport == 7) {
		if (n > sizeof(out) - 14 - 20 - 8)
			return;
		memcpy(o + 8, u + 8, n);
		rn = n;
		nst.udp_echo++;
	} else if (cfg->kv_port && dport == cfg->kv_port) {
		rn = kv_serve((const char *)u + 8, n, (char *)o + 8, heartbeat_now());
	} else
		return;
	put16(o, dport), put16(o + 2, sport);
	put16(o + 4, (uint16_t)(8 + rn));
	put16(o + 6, 0);
	/* the checksum over the pseudo-header (our address, theirs, proto, length) */
	uint8_t ph[12];
	put32(ph, cfg->ip);
	memcpy(ph + 4, f + 14 + 12, 4);
	ph[8] = 0, ph[9] = 17;
	put16(ph + 10, (uint16_t)(8 + rn));
	uint16_t c = csum_fold(csum_add(csum_add(0, ph, 12), o, 8 + rn));
	put16(o + 6, c ? c : 0xffff);
	ip_reply(f, 17, 8 + rn);
}

static void icmp_in(const uint8_t *f, const uint8_t *ic, unsigned n)
{
	if (n < 8 || ic[0] != 8 || n > sizeof(out) - 14 - 20)
		return;
	uint8_t *o = out + 14 + 20;
	memcpy(o, ic, n);
	o[0] = 0;	/* echo reply */
	put16(o + 2, 0);
	put16(o + 2, csum_fold(csum_add(0, o, n)));
	nst.ping++;
	ip_reply(f, 1, n);
}

static void ip_in(const uint8_t *f, unsigned len)
{
	const uint8_t *ih = f + 14;
	if (len < 34 || (ih[0] >> 4) != 4)
		return;
	unsigned hl = (ih[0] & 15) * 4u, tl = get16(ih + 2);
	if (hl < 20 || tl < hl || 14 + tl > len || csum_fold(csum_add(0, ih, hl)) != 0 ||
	    (get16(ih + 6) & 0x3fff) || get32(ih + 16) != cfg->ip) {
		nst.ip_dropped++;
		return;
	}
	if (ih[9] == 1)
		icmp_in(f, ih + hl, tl - hl);
	else if (ih[9] == 17)
		udp_in(f, ih + hl, tl - hl);
}

static void frame_in(uint8_t *f, unsigned len)
{
	if (len < 14 || (!eq(f, vn_mac, 6) && !eq(f, bcast, 6)))
		return;
	nst.frames++;
	uint16_t t = get16(f + 12);
	if (t == ETH_ARP)
		arp_in(f, len);
	else if (t == ETH_IP)
		ip_in(f, len);
}

int net_init(const struct config *c, uint64_t (*hb)(void))
{
	cfg = c;
	heartbeat_now = hb;
	if (vn_init(c->vn_base) < 0)
		return -1;
	con_printf("NET %u.%u.%u.%u/%u gw %u.%u.%u.%u kv port %u\n", c->ip >> 24, (c->ip >> 16) & 255,
	    (c->ip >> 8) & 255, c->ip & 255, c->prefix, c->gw >> 24, (c->gw >> 16) & 255,
	    (c->gw >> 8) & 255, c->gw & 255, (unsigned)c->kv_port);
	net_announce();
	vn_flush();
	return 0;
}

int net_poll(void)
{
	return vn_recv(frame_in);
}

void net_report(void)
{
	const struct vn_stats *s = vn_stats();
	con_printf("NETSTATS frames=%lu arp=%lu ping=%lu echo=%lu puts=%lu gets=%lu sent=%lu "
	    "announced=%lu dropped=%lu rx=%lu tx=%lu exits=%lu rx_kicks=%lu tx_kicks=%lu "
	    "idle_flushes=%lu tx_full=%lu\n", nst.frames, nst.arp, nst.ping, nst.udp_echo, nst.puts,
	    nst.gets, nst.sent, nst.announced, nst.ip_dropped, s->rx, s->tx, s->exits, s->rx_kicks,
	    s->tx_kicks, s->tx_idle_flushes, s->tx_full);
}
