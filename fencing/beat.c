/*
 * beat.c - direct heartbeats among the hosts' fenced (beat.h).
 *
 * They run on a thread of their own, at real-time priority where the host
 * allows it: fenced's event loop may wait on hvd or corosync for hundreds
 * of milliseconds, and a heartbeat that waits with it would be evidence of
 * nothing.  The thread only sends, receives and records; beat_lost() reads
 * the record under its lock.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <openssl/evp.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "beat.h"
#include "log.h"
#include "msg.h"

#define BEAT_MAGIC	0x42484454u	/* "TDHB" */
#define BEAT_VERSION	1
#define MAC_LEN		16
#define KEY_MAX		4096

static void mac(const uint8_t *key, size_t keylen, const uint8_t *b, size_t len, uint8_t out[MAC_LEN])
{
	uint8_t full[EVP_MAX_MD_SIZE];
	size_t n = 0;
	if (!EVP_Q_mac(NULL, "HMAC", NULL, "SHA256", NULL, key, keylen, b, len, full, sizeof(full), &n) ||
	    n < MAC_LEN)
		memset(full, 0, sizeof(full));	/* never verifies: a MAC is never all zero by chance */
	memcpy(out, full, MAC_LEN);
}

void beat_encode(const struct beat_msg *m, const uint8_t *key, size_t keylen, uint8_t out[BEAT_LEN])
{
	le32_put(out, BEAT_MAGIC);
	le32_put(out + 4, BEAT_VERSION);
	le32_put(out + 8, m->node);
	le32_put(out + 12, 0);
	le64_put(out + 16, m->seq);
	le64_put(out + 24, m->heard);
	mac(key, keylen, out, 32, out + 32);
}

int beat_decode(const uint8_t *buf, size_t len, const uint8_t *key, size_t keylen,
    struct beat_msg *m, char *err, size_t errlen)
{
	uint8_t want[MAC_LEN], diff = 0;
	if (len != BEAT_LEN)
		return snprintf(err, errlen, "%zu bytes, not %d", len, BEAT_LEN), -1;
	if (le32_get(buf) != BEAT_MAGIC || le32_get(buf + 4) != BEAT_VERSION || le32_get(buf + 12))
		return snprintf(err, errlen, "not a version %d heartbeat", BEAT_VERSION), -1;
	mac(key, keylen, buf, 32, want);
	for (int i = 0; i < MAC_LEN; i++)
		diff |= (uint8_t)(want[i] ^ buf[32 + i]);
	uint8_t any = 0;	/* all zero: this host could not compute it */
	for (int i = 0; i < MAC_LEN; i++)
		any |= want[i];
	if (diff || !any)
		return snprintf(err, errlen, "bad MAC: not signed with this cluster's key"), -1;
	m->node = le32_get(buf + 8);
	m->seq = le64_get(buf + 16);
	m->heard = le64_get(buf + 24);
	return 0;
}

int beat_rule(size_t n, size_t self, size_t target, const int *fresh, const int *hears)
{
	size_t count = 0;
	if (self >= n || target >= n || self == target || hears[self])
		return 0;
	for (size_t i = 0; i < n; i++)
		count += i != target && fresh[i] && !hears[i];
	return count >= n / 2 + 1;
}

struct beat {
	const struct fconf *c;
	uint8_t key[KEY_MAX];
	size_t keylen;
	int fd;
	volatile int quit;
	pthread_t thr;
	pthread_mutex_t lock;	/* all below */
	long self;		/* host index, -1 until named */
	struct sockaddr_in6 to[CF_MAX_HOSTS];
	uint64_t last_ms[CF_MAX_HOSTS], last_seq[CF_MAX_HOSTS], heard[CF_MAX_HOSTS];
	uint64_t dropped;
	char last_drop[200];
};

static uint64_t mono_ms_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static uint64_t wall_us(void)
{
	struct timeval tv;
	gettimeofday(&tv, NULL);
	return (uint64_t)tv.tv_sec * 1000000 + (uint64_t)tv.tv_usec;
}

/* an address of cluster.conf as an IPv6 (or v4-mapped) socket address */
static int resolve(const char *host, uint16_t port, struct sockaddr_in6 *out)
{
	struct in_addr a4;
	memset(out, 0, sizeof(*out));
	out->sin6_family = AF_INET6;
	out->sin6_port = htons(port);
	if (inet_pton(AF_INET6, host, &out->sin6_addr) == 1)
		return 0;
	if (inet_pton(AF_INET, host, &a4) != 1)
		return -1;
	out->sin6_addr.s6_addr[10] = out->sin6_addr.s6_addr[11] = 0xff;
	memcpy(&out->sin6_addr.s6_addr[12], &a4, 4);
	return 0;
}

static uint64_t heard_now(struct beat *b, uint64_t now)
{
	uint64_t bits = 0;
	for (size_t i = 0; i < b->c->nhosts && i < 64; i++)
		if ((long)i == b->self || (b->last_ms[i] && now - b->last_ms[i] < b->c->hb_lost_ms))
			bits |= 1ULL << i;
	return bits;
}

static void send_all(struct beat *b)
{
	uint8_t pkt[BEAT_LEN];
	pthread_mutex_lock(&b->lock);
	if (b->self < 0) {
		pthread_mutex_unlock(&b->lock);
		return;
	}
	struct beat_msg m = { b->c->hosts[b->self].node, wall_us(), heard_now(b, mono_ms_now()) };
	pthread_mutex_unlock(&b->lock);
	beat_encode(&m, b->key, b->keylen, pkt);
	for (size_t i = 0; i < b->c->nhosts; i++)
		if ((long)i != b->self)
			sendto(b->fd, pkt, sizeof(pkt), MSG_DONTWAIT, (struct sockaddr *)&b->to[i],
			    sizeof(b->to[i]));
}

static void drop(struct beat *b, const char *fmt, const char *what)
{
	if (!b->dropped++ || b->dropped % 1000 == 0)
		log_warnx("heartbeat: dropped one (%llu so far): %s%s", (unsigned long long)b->dropped,
		    fmt, what);
	snprintf(b->last_drop, sizeof(b->last_drop), "%s%s", fmt, what);
}

static void receive(struct beat *b)
{
	uint8_t buf[128];
	struct sockaddr_in6 from;
	socklen_t fl = sizeof(from);
	char err[120];
	struct beat_msg m;
	ssize_t n;
	while ((n = recvfrom(b->fd, buf, sizeof(buf), MSG_DONTWAIT, (struct sockaddr *)&from, &fl)) >= 0) {
		fl = sizeof(from);
		pthread_mutex_lock(&b->lock);
		if (beat_decode(buf, (size_t)n, b->key, b->keylen, &m, err, sizeof(err)) < 0) {
			drop(b, "", err);
			pthread_mutex_unlock(&b->lock);
			continue;
		}
		size_t i;
		for (i = 0; i < b->c->nhosts && b->c->hosts[i].node != m.node; i++)
			;
		if (i == b->c->nhosts || (long)i == b->self)
			drop(b, "from a node that is not another host of the cluster", "");
		else if (memcmp(&from.sin6_addr, &b->to[i].sin6_addr, sizeof(from.sin6_addr)))
			drop(b, "from an address that is not its host's: ", b->c->hosts[i].name);
		else if (m.seq <= b->last_seq[i])
			drop(b, "a replay, or an old one: ", b->c->hosts[i].name);
		else {
			b->last_seq[i] = m.seq;
			b->last_ms[i] = mono_ms_now();
			b->heard[i] = m.heard;
		}
		pthread_mutex_unlock(&b->lock);
	}
}

static void *run(void *arg)
{
	struct beat *b = arg;
	struct sched_param sp = { .sched_priority = 1 };
	uint64_t next = mono_ms_now();
	pthread_setschedparam(pthread_self(), SCHED_FIFO, &sp);	/* where allowed */
	while (!b->quit) {
		uint64_t now = mono_ms_now();
		if (now >= next) {
			send_all(b);
			next = now + b->c->hb_interval_ms;
		}
		struct pollfd p = { b->fd, POLLIN, 0 };
		if (poll(&p, 1, (int)(next > now ? next - now : 0)) > 0)
			receive(b);
	}
	return NULL;
}

struct beat *beat_start(const struct fconf *c, char *err, size_t errlen)
{
	struct beat *b = calloc(1, sizeof(*b));
	int fd = -1, off = 0;
	if (!b)
		return snprintf(err, errlen, "out of memory"), NULL;
	b->c = c;
	b->self = -1;
	pthread_mutex_init(&b->lock, NULL);
	int kf = open(c->hb_key, O_RDONLY | O_CLOEXEC);
	ssize_t kn = kf >= 0 ? read(kf, b->key, sizeof(b->key)) : -1;
	if (kf >= 0)
		close(kf);
	if (kn < 16) {
		snprintf(err, errlen, "heartbeat key %s: %s", c->hb_key, kn < 0 ? strerror(errno) :
		    "shorter than 16 bytes");
		goto fail;
	}
	b->keylen = (size_t)kn;
	for (size_t i = 0; i < c->nhosts; i++)
		if (resolve(c->hosts[i].addr, (uint16_t)c->hb_port, &b->to[i]) < 0) {
			snprintf(err, errlen, "heartbeat: %s's address %s is not an IP address",
			    c->hosts[i].name, c->hosts[i].addr);
			goto fail;
		}
	struct sockaddr_in6 any = { .sin6_family = AF_INET6, .sin6_port = htons((uint16_t)c->hb_port),
		.sin6_addr = IN6ADDR_ANY_INIT };
	if ((fd = socket(AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC, 0)) < 0 ||
	    setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &off, sizeof(off)) < 0 ||
	    bind(fd, (struct sockaddr *)&any, sizeof(any)) < 0) {
		snprintf(err, errlen, "heartbeat socket on port %u: %s", c->hb_port, strerror(errno));
		goto fail;
	}
	b->fd = fd;
	if (pthread_create(&b->thr, NULL, run, b) != 0) {
		snprintf(err, errlen, "heartbeat: cannot start its thread");
		goto fail;
	}
	return b;
fail:
	if (fd >= 0)
		close(fd);
	pthread_mutex_destroy(&b->lock);
	free(b);
	return NULL;
}

void beat_self(struct beat *b, uint32_t node)
{
	pthread_mutex_lock(&b->lock);
	for (size_t i = 0; i < b->c->nhosts; i++)
		if (b->c->hosts[i].node == node)
			b->self = (long)i;
	pthread_mutex_unlock(&b->lock);
}

int beat_lost(struct beat *b, uint32_t node, char *why, size_t whylen)
{
	int fresh[CF_MAX_HOSTS], hears[CF_MAX_HOSTS], r;
	size_t n = b->c->nhosts, t;
	char who[256] = "";
	pthread_mutex_lock(&b->lock);
	uint64_t now = mono_ms_now(), lost = b->c->hb_lost_ms;
	for (t = 0; t < n && b->c->hosts[t].node != node; t++)
		;
	if (b->self < 0 || t == n || n > 64) {
		pthread_mutex_unlock(&b->lock);
		return snprintf(why, whylen, "no heartbeat evidence about node %u", node), 0;
	}
	for (size_t i = 0; i < n; i++) {
		if ((long)i == b->self) {
			fresh[i] = 1;
			hears[i] = b->last_ms[t] && now - b->last_ms[t] < lost;
		} else {
			fresh[i] = b->last_ms[i] && now - b->last_ms[i] < lost;
			hears[i] = (b->heard[i] >> t) & 1;
		}
		if (i != t && fresh[i] && !hears[i])
			snprintf(who + strlen(who), sizeof(who) - strlen(who), "%s%s", who[0] ? "," : "",
			    b->c->hosts[i].name);
	}
	r = beat_rule(n, (size_t)b->self, t, fresh, hears);
	uint64_t since = b->last_ms[t] ? now - b->last_ms[t] : 0;
	pthread_mutex_unlock(&b->lock);
	if (r)
		snprintf(why, whylen, "%s of %zu hosts have not heard %s for %llu ms or more "
		    "(heartbeats)", who, n, b->c->hosts[t].name, (unsigned long long)lost);
	else
		snprintf(why, whylen, "heartbeats: no majority has lost %s (%s%s; this host last heard "
		    "it %llu ms ago)", b->c->hosts[t].name, who[0] ? "lost by " : "heard by most",
		    who, (unsigned long long)since);
	return r;
}

void beat_stop(struct beat *b)
{
	if (!b)
		return;
	b->quit = 1;
	pthread_join(b->thr, NULL);
	close(b->fd);
	pthread_mutex_destroy(&b->lock);
	free(b);
}
