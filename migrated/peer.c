/*
 * peer.c - one thread per accepted peer connection (tcp.c listens): it
 * authenticates the peer (TLS) and dispatches on its first record: HELLO
 * starts an incoming migration, OUTCOME asks how one ended, FENCE is a
 * fencer of the cluster destroying this host's domains (fence.c).  A peer
 * that fails authentication is refused with a log line and nothing is
 * created.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "log.h"
#include "migrated.h"
#include "msg.h"

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
	} else if (rec.type == CK_FENCE && rec.len == 0) {
		fence_answer(r, c->peer);
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
		log_warnx("peer %s: first record %s is not HELLO, OUTCOME or FENCE", c->peer,
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
	tcp_tune(fd);
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
