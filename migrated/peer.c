/*
 * peer.c - TCP between migrated peers: the listener, outgoing connections
 * with timeouts, and one thread per accepted connection that authenticates
 * the peer (TLS) and dispatches on its first record: HELLO starts an
 * incoming migration, OUTCOME asks how one ended.  A peer that fails
 * authentication is refused with a log line and nothing is created.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "log.h"
#include "migrated.h"
#include "msg.h"

#define IO_TIMEOUT_S	30
#define CONNECT_TIMEOUT_MS 5000

static uint16_t listen_port;

uint16_t peer_listen_port(void)
{
	return listen_port;
}

/* "host:port", "[v6]:port" or ":port"; host may be a name. */
static int split(const char *spec, char *host, size_t hl, char *port, size_t pl)
{
	const char *c = strrchr(spec, ':');
	if (!c || !c[1])
		return -1;
	size_t n = (size_t)(c - spec);
	if (n && spec[0] == '[' && spec[n - 1] == ']') {
		spec++;
		n -= 2;
	}
	if (n >= hl || strlen(c + 1) >= pl)
		return -1;
	memcpy(host, spec, n);
	host[n] = 0;
	snprintf(port, pl, "%s", c + 1);
	return 0;
}

static void tune(int fd)
{
	int one = 1;
	struct timeval tv = { IO_TIMEOUT_S, 0 };
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof(one));
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
}

int peer_connect(const char *spec, char *err, size_t errlen)
{
	char host[256], port[16];
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *ai, *a;
	int fd = -1, e;

	if (split(spec, host, sizeof(host), port, sizeof(port)) < 0) {
		snprintf(err, errlen, "bad destination '%s': use HOST:PORT", spec);
		return -1;
	}
	if ((e = getaddrinfo(host[0] ? host : NULL, port, &hints, &ai))) {
		snprintf(err, errlen, "%s: %s", spec, gai_strerror(e));
		return -1;
	}
	snprintf(err, errlen, "%s: no address", spec);
	for (a = ai; a; a = a->ai_next) {
		fd = socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
		if (fd < 0)
			continue;
		if (connect(fd, a->ai_addr, a->ai_addrlen) < 0 && errno == EINPROGRESS) {
			struct pollfd p = { fd, POLLOUT, 0 };
			socklen_t sl = sizeof(e);
			e = poll(&p, 1, CONNECT_TIMEOUT_MS) == 1 &&
			    getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &sl) == 0 ? e : ETIMEDOUT;
			errno = e;
		} else
			e = errno = 0;
		if (!e || errno == 0) {
			fcntl(fd, F_SETFL, 0);
			tune(fd);
			break;
		}
		snprintf(err, errlen, "connecting to %s: %s", spec, strerror(errno));
		close(fd);
		fd = -1;
	}
	freeaddrinfo(ai);
	return fd;
}

int peer_listen(const char *spec)
{
	char host[256], port[16];
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE }, *ai;
	int fd, one = 1;

	if (split(spec, host, sizeof(host), port, sizeof(port)) < 0 ||
	    getaddrinfo(host[0] ? host : NULL, port, &hints, &ai))
		return -1;
	fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd >= 0) {
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		if (bind(fd, ai->ai_addr, ai->ai_addrlen) < 0 || listen(fd, 16) < 0) {
			close(fd);
			fd = -1;
		}
	}
	freeaddrinfo(ai);
	if (fd >= 0) {
		struct sockaddr_storage ss;
		socklen_t sl = sizeof(ss);
		getsockname(fd, (struct sockaddr *)&ss, &sl);
		listen_port = ntohs(ss.ss_family == AF_INET6 ?
		    ((struct sockaddr_in6 *)&ss)->sin6_port : ((struct sockaddr_in *)&ss)->sin_port);
	}
	return fd;
}

struct conn {
	int fd;
	char peer[64];
};

static void *conn_thread(void *arg)
{
	struct conn *c = arg;
	struct ckpt_record rec = { 0 };
	char err[512];
	struct rio *r = mig_transport(NULL, c->fd, 1, err, sizeof(err));

	if (!r) {
		log_warnx("refused peer %s: %s", c->peer, err);
		goto out;
	}
	if (ckpt_read_record(r, &rec) < 0) {
		log_warnx("peer %s: %s", c->peer, rio_error(r));
		rio_close(r);
		goto out;
	}
	if (rec.type == CK_OUTCOME && rec.len >= 1 && rec.len <= 64) {
		char name[65];
		memcpy(name, rec.body, rec.len);
		name[rec.len] = 0;
		mig_outcome_answer(r, name);
		rio_close(r);
	} else if (rec.type == CK_HELLO && rec.len == 12) {
		struct recv_args *a = calloc(1, sizeof(*a));
		struct mig *m = a ? mig_new(MIG_IN, "(incoming)") : NULL;
		if (!m) {
			free(a);
			rio_close(r);
			goto out;
		}
		m->id = le64_get(rec.body);
		a->m = m;
		a->r = r;
		snprintf(a->peer, sizeof(a->peer), "%s", c->peer);
		a->peer_port = (uint16_t)le32_get(rec.body + 8);
		ckpt_record_free(&rec);
		free(c);
		return mig_recv_thread(a);
	} else {
		log_warnx("peer %s: first record %s is neither HELLO nor OUTCOME", c->peer,
		    ckpt_type_name(rec.type));
		rio_close(r);
	}
out:
	ckpt_record_free(&rec);
	free(c);
	return NULL;
}

void peer_accept(int lfd)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	int fd = accept4(lfd, (struct sockaddr *)&ss, &sl, SOCK_CLOEXEC);
	struct conn *c;
	pthread_t t;

	if (fd < 0)
		return;
	if (!(c = calloc(1, sizeof(*c)))) {
		close(fd);
		return;
	}
	tune(fd);
	c->fd = fd;
	if (ss.ss_family == AF_INET)
		inet_ntop(AF_INET, &((struct sockaddr_in *)&ss)->sin_addr, c->peer, sizeof(c->peer));
	else
		inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&ss)->sin6_addr, c->peer, sizeof(c->peer));
	if (pthread_create(&t, NULL, conn_thread, c) != 0) {
		close(fd);
		free(c);
		return;
	}
	pthread_detach(t);
}
