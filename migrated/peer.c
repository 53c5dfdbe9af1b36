/*
 * peer.c - one thread per accepted peer connection (tcp.c listens): it
 * authenticates the peer (TLS) and dispatches on its first record: HELLO
 * starts an incoming migration, OUTCOME asks how one ended, FENCE is a
 * fencer of the cluster destroying this host's domains (fence.c).  A peer
 * that fails authentication is refused with a log line and nothing is
 * created.
 *
 * Until a peer has authenticated and sent its first record it is a
 * stranger: it gets HANDSHAKE_S to do so, at most PER_ADDR strangers from
 * one address and MAX_STRANGERS in all are served at once, and the rest are
 * closed at accept, so a crowd of silent connections can neither exhaust
 * threads nor lock the cluster's hosts out.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <errno.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "migrated.h"
#include "config.h"
#include "tls.h"
#include "msg.h"

#define HANDSHAKE_S	5
#define MAX_STRANGERS	64
#define PER_ADDR	8

struct conn {
	int fd;
	char peer[64];
};

static pthread_mutex_t strangers_lock = PTHREAD_MUTEX_INITIALIZER;
static struct { char addr[64]; int n; } strangers[MAX_STRANGERS];
static int nstrangers;

/* one more stranger from addr, if the caps allow: 0, or -1 with why */
static int stranger_in(const char *addr, const char **why)
{
	int r = -1, slot = -1, same = 0;
	pthread_mutex_lock(&strangers_lock);
	for (int i = 0; i < MAX_STRANGERS; i++) {
		if (strangers[i].n && !strcmp(strangers[i].addr, addr))
			slot = i, same = strangers[i].n;
		else if (!strangers[i].n && slot < 0 && !same)
			slot = i;
	}
	if (nstrangers >= MAX_STRANGERS)
		*why = "too many unauthenticated connections";
	else if (same >= PER_ADDR)
		*why = "too many unauthenticated connections from this address";
	else if (slot >= 0) {
		snprintf(strangers[slot].addr, sizeof(strangers[slot].addr), "%s", addr);
		strangers[slot].n++;
		nstrangers++;
		r = 0;
	}
	pthread_mutex_unlock(&strangers_lock);
	return r;
}

static void stranger_out(const char *addr)
{
	pthread_mutex_lock(&strangers_lock);
	for (int i = 0; i < MAX_STRANGERS; i++)
		if (strangers[i].n && !strcmp(strangers[i].addr, addr)) {
			strangers[i].n--;
			nstrangers--;
			break;
		}
	pthread_mutex_unlock(&strangers_lock);
}

static void set_timeouts(int fd, int s)
{
	struct timeval tv = { s, 0 };
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
}

/*
 * Who may say what: a host's certificate must name the host its address
 * belongs to (with -c), and only hosts migrate (HELLO) or ask (OUTCOME,
 * CONFIRM); only a fencer's certificate may FENCE, from anywhere.
 */
static int allowed(const struct conn *c, const struct tls_peer *p, uint32_t type, char *err,
    size_t errlen)
{
	if (migd_conf.insecure)
		return 0;
	enum tls_role need = type == CK_FENCE ? TLS_ROLE_FENCER : TLS_ROLE_HOST;
	if (p->role != need)
		return snprintf(err, errlen, "%s from %s's certificate, of role %s: only a %s's may",
		    ckpt_type_name(type), p->name, tls_role_name(p->role), tls_role_name(need)), -1;
	if (need == TLS_ROLE_FENCER || !migd_conf.hosts)
		return 0;
	const struct cf_host *h = conf_find(migd_conf.hosts, c->peer);
	if (!h)
		return snprintf(err, errlen, "%s is no host of the cluster (certificate %s)", c->peer,
		    p->name), -1;
	if (strcmp(h->name, p->name))
		return snprintf(err, errlen, "certificate is %s's, but %s is %s", p->name, c->peer,
		    h->name), -1;
	return 0;
}

static void *conn_thread(void *arg)
{
	struct conn *c = arg;
	struct ckpt_record rec = { 0 };
	struct tls_peer who;
	char err[512];
	set_timeouts(c->fd, HANDSHAKE_S);
	struct rio *r = mig_transport(NULL, c->fd, 1, NULL, &who, err, sizeof(err));

	if (!r) {
		log_warnx("refused peer %s: %s", c->peer, err);
		stranger_out(c->peer);
		goto out;
	}
	if (ckpt_read_record(r, &rec) < 0) {
		log_warnx("peer %s: %s", c->peer, rio_error(r));
		stranger_out(c->peer);
		rio_close(r);
		goto out;
	}
	stranger_out(c->peer);	/* authenticated and talking: ordinary I/O timeouts */
	tcp_tune(c->fd);
	if (allowed(c, &who, rec.type, err, sizeof(err)) < 0) {
		log_warnx("refused peer %s: %s", c->peer, err);
		ckpt_send(r, CK_ABORT, err, strlen(err));
		rio_close(r);
	} else if (rec.type == CK_OUTCOME || rec.type == CK_CONFIRM) {
		if (rec.type == CK_OUTCOME)
			mig_outcome_answer(r, who.name, rec.body, rec.len);
		else
			mig_confirm_answer(r, rec.body, rec.len);
		rio_close(r);
	} else if (rec.type == CK_FENCE && rec.len == 0) {
		fence_answer(r, c->peer, who.name);
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
		snprintf(a->peer_name, sizeof(a->peer_name), "%s", who.name);
		a->peer_port = (uint16_t)le32_get(rec.body + 8);
		ckpt_record_free(&rec);
		free(c);
		return mig_recv_thread(a);
	} else {
		log_warnx("peer %s: first record %s is not HELLO, OUTCOME, CONFIRM or FENCE", c->peer,
		    ckpt_type_name(rec.type));
		rio_close(r);
	}
out:
	ckpt_record_free(&rec);
	free(c);
	return NULL;
}

int peer_accept(int lfd)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	int fd = accept4(lfd, (struct sockaddr *)&ss, &sl, SOCK_CLOEXEC);
	struct conn *c;
	pthread_t t;
	const char *why = "no room";

	if (fd < 0)
		return errno == EAGAIN || errno == EINTR || errno == ECONNABORTED ? 0 : -1;
	if (!(c = calloc(1, sizeof(*c)))) {
		close(fd);
		return 0;
	}
	tcp_tune(fd);
	c->fd = fd;
	if (ss.ss_family == AF_INET)
		inet_ntop(AF_INET, &((struct sockaddr_in *)&ss)->sin_addr, c->peer, sizeof(c->peer));
	else
		inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&ss)->sin6_addr, c->peer, sizeof(c->peer));
	if (stranger_in(c->peer, &why) < 0) {
		static time_t said;
		if (time(NULL) != said) {	/* at most a line a second */
			said = time(NULL);
			log_warnx("peer %s: refused at accept: %s", c->peer, why);
		}
		close(fd);
		free(c);
		return 0;
	}
	if (pthread_create(&t, NULL, conn_thread, c) != 0) {
		stranger_out(c->peer);
		close(fd);
		free(c);
		return 0;
	}
	pthread_detach(t);
	return 0;
}
