/*
 * tcp.c - TCP between Tandem's peers: the listener and outgoing connections
 * with a connect timeout and I/O timeouts (migrated, remusd, fence_tandem).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "tcp.h"

#define IO_TIMEOUT_S	30
int tcp_connect_timeout_ms = 5000;

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

void tcp_tune(int fd)
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
		if (connect(fd, a->ai_addr, a->ai_addrlen) == 0)
			e = 0;
		else if (errno == EINPROGRESS) {
			struct pollfd p = { fd, POLLOUT, 0 };
			socklen_t sl = sizeof(e);
			e = poll(&p, 1, tcp_connect_timeout_ms) == 1 &&
			    getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &sl) == 0 ? e : ETIMEDOUT;
		} else
			e = errno;	/* refused, unreachable, ... at once */
		if (!e) {
			fcntl(fd, F_SETFL, 0);
			tcp_tune(fd);
			break;
		}
		snprintf(err, errlen, "connecting to %s: %s", spec, strerror(e));
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

