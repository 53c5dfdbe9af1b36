/*
 * gate.c - the peer listener's gate (gate.h): the strangers' caps and the
 * identity rule.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "gate.h"
#include "log.h"
#include "tcp.h"

int gate_in(struct gate *g, const char *addr, const char **why)
{
	int r = -1, slot = -1, same = 0;
	pthread_mutex_lock(&g->lock);
	for (int i = 0; i < GATE_MAX_STRANGERS; i++) {
		if (g->s[i].n && !strcmp(g->s[i].addr, addr))
			slot = i, same = g->s[i].n;
		else if (!g->s[i].n && slot < 0 && !same)
			slot = i;
	}
	if (g->n >= GATE_MAX_STRANGERS)
		*why = "too many unauthenticated connections";
	else if (same >= GATE_PER_ADDR)
		*why = "too many unauthenticated connections from this address";
	else if (slot >= 0) {
		snprintf(g->s[slot].addr, sizeof(g->s[slot].addr), "%s", addr);
		g->s[slot].n++;
		g->n++;
		r = 0;
	}
	pthread_mutex_unlock(&g->lock);
	return r;
}

int gate_accept(struct gate *g, int lfd, int *fdp, char *addr, size_t addrlen)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	int fd = accept4(lfd, (struct sockaddr *)&ss, &sl, SOCK_CLOEXEC);
	const char *why = "no room";

	if (fd < 0)
		return errno == EAGAIN || errno == EINTR || errno == ECONNABORTED ? 0 : -1;
	tcp_tune(fd);
	if (ss.ss_family == AF_INET)
		inet_ntop(AF_INET, &((struct sockaddr_in *)&ss)->sin_addr, addr, (socklen_t)addrlen);
	else
		inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&ss)->sin6_addr, addr, (socklen_t)addrlen);
	if (gate_in(g, addr, &why) < 0) {
		static time_t said;
		if (time(NULL) != said) {	/* at most a line a second */
			said = time(NULL);
			log_warnx("peer %s: refused at accept: %s", addr, why);
		}
		close(fd);
		return 0;
	}
	*fdp = fd;
	return 1;
}

void gate_out(struct gate *g, const char *addr)
{
	pthread_mutex_lock(&g->lock);
	for (int i = 0; i < GATE_MAX_STRANGERS; i++)
		if (g->s[i].n && !strcmp(g->s[i].addr, addr)) {
			g->s[i].n--;
			g->n--;
			break;
		}
	pthread_mutex_unlock(&g->lock);
}

void gate_want(const struct fconf *hosts, const char *spec, struct tls_want *want, char *buf,
    size_t buflen)
{
	const struct cf_host *h = hosts ? conf_find(hosts, spec) : NULL;
	struct in6_addr a;
	want->name = want->ip = NULL;
	if (h) {
		snprintf(buf, buflen, "%s", h->name);
		want->name = buf;
		return;
	}
	snprintf(buf, buflen, "%s", spec[0] == '[' ? spec + 1 : spec);
	char *end = spec[0] == '[' ? strchr(buf, ']') : strrchr(buf, ':');
	if (end && (spec[0] == '[' || strchr(buf, ':') == end))
		*end = 0;	/* the port goes */
	if (inet_pton(AF_INET, buf, &a) == 1 || inet_pton(AF_INET6, buf, &a) == 1)
		want->ip = buf;
	else
		want->name = buf;
}

int gate_identity(const struct fconf *hosts, const char *addr, const struct tls_peer *p,
    enum tls_role need, const char *what, char *err, size_t errlen)
{
	if (p->role != need)
		return snprintf(err, errlen, "%s from %s's certificate, of role %s: only a %s's may",
		    what, p->name, tls_role_name(p->role), tls_role_name(need)), -1;
	if (need == TLS_ROLE_FENCER || !hosts)
		return 0;
	const struct cf_host *h = conf_find(hosts, addr);
	if (!h)
		return snprintf(err, errlen, "%s is no host of the cluster (certificate %s)", addr,
		    p->name), -1;
	if (strcmp(h->name, p->name))
		return snprintf(err, errlen, "certificate is %s's, but %s is %s", p->name, addr,
		    h->name), -1;
	return 0;
}
