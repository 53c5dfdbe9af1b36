/*
 * peer.c - one thread per accepted peer connection (common/tcp.c listens): it
 * authenticates the peer (TLS) and dispatches on its first record: HELLO
 * starts an incoming migration, OUTCOME asks how one ended, FENCE is a
 * fencer of the cluster destroying this host's domains (fence.c).  A peer
 * that fails authentication is refused with a log line and nothing is
 * created.
 *
 * Until a peer has authenticated and sent its first record it is a
 * stranger, capped by the listener's gate (common/gate.c).
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
#include "gate.h"
#include "msg.h"

struct conn {
	int fd;
	char peer[64];
};

static struct gate strangers = GATE_INIT;

static void set_timeouts(int fd, int s)
{
	struct timeval tv = { s, 0 };
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
}

/* Who may say what (gate.c): only hosts migrate (HELLO) or ask (OUTCOME,
 * CONFIRM); only a fencer's certificate may FENCE. */
static int allowed(const struct conn *c, const struct tls_peer *p, uint32_t type, char *err,
    size_t errlen)
{
	if (migd_conf.insecure)
		return 0;
	return gate_identity(migd_conf.hosts, c->peer, p, type == CK_FENCE ? TLS_ROLE_FENCER :
	    TLS_ROLE_HOST, ckpt_type_name(type), err, errlen);
}

static void *conn_thread(void *arg)
{
	struct conn *c = arg;
	struct ckpt_record rec = { 0 };
	struct tls_peer who;
	char err[512];
	set_timeouts(c->fd, GATE_HANDSHAKE_S);
	struct rio *r = mig_transport(NULL, c->fd, 1, NULL, &who, err, sizeof(err));

	if (!r) {
		log_warnx("refused peer %s: %s", c->peer, err);
		gate_out(&strangers, c->peer);
		goto out;
	}
	if (ckpt_read_record(r, &rec) < 0) {
		log_warnx("peer %s: %s", c->peer, rio_error(r));
		gate_out(&strangers, c->peer);
		rio_close(r);
		goto out;
	}
	gate_out(&strangers, c->peer);	/* authenticated and talking: ordinary I/O timeouts */
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
	struct conn *c = calloc(1, sizeof(*c));
	pthread_t t;
	int fd, r;

	if (!c)
		return 0;
	if ((r = gate_accept(&strangers, lfd, &fd, c->peer, sizeof(c->peer))) <= 0) {
		free(c);
		return r;
	}
	c->fd = fd;
	if (pthread_create(&t, NULL, conn_thread, c) != 0) {
		gate_out(&strangers, c->peer);
		close(fd);
		free(c);
		return 0;
	}
	pthread_detach(t);
	return 0;
}
