/*
 * peer.c - remusd's accepted peers: one thread per connection.  The peer
 * authenticates (mutual TLS; a host's certificate must name the host its
 * address belongs to, common/gate.c) and its first record must be PROTECT;
 * in a cluster the sender must also be the host the table gives the VM to.
 * Then the thread becomes the backup's for that VM (backup.c).  Anything
 * else is refused with a reason and a log line, and nothing is created.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "fcall.h"
#include "log.h"
#include "remusd.h"
#include "tcp.h"

struct conn {
	struct remusd *d;
	int fd;
	char addr[64];
};

/* in a cluster: the table must give name to the host with certificate who (at addr) */
static int sender_owns(struct remusd *d, const char *name, const char *addr, const char *who,
    char *err, size_t errlen)
{
	uint8_t buf[2048];
	struct msg_in in;
	struct msg_out o;
	if (!d->c.fenced)
		return 0;
	msg_begin(&o, FC_MIG_RESOLVE, 1);
	msg_add_str(&o, FA_NAME, name);
	msg_add_u32(&o, FA_MODE, 1);
	if (fcall(d->c.fenced, 10, &o, buf, sizeof(buf), &in, err, errlen) < 0)
		return -1;
	uint32_t owner = msg_u32(&in, FA_OWNER);
	const struct cf_host *h = d->c.hosts ? conf_host(d->c.hosts, owner) : NULL;
	const struct cf_host *from = d->c.hosts ? conf_find(d->c.hosts, addr) : NULL;
	if (!h || !from || h != from || (!d->c.insecure && strcmp(h->name, who)))
		return snprintf(err, errlen, "the table gives %s to node %u, not to %s", name, owner,
		    who[0] ? who : addr), -1;
	return 0;
}

static void refuse_peer(struct rio *r, const char *addr, const char *err)
{
	log_warnx("refused peer %s: %s", addr, err);
	ckpt_send(r, CK_ABORT, err, strlen(err));
	rio_close(r);
}

/* a VM moved here by a planned move: protect it from here, not to the host it left */
static void reprotect(struct remusd *d, struct rio *r, const char *addr, const char *who,
    const struct ckpt_record *rec)
{
	struct ckpt_protect pr;
	char err[512];
	const struct cf_host *from = d->c.hosts ? conf_find(d->c.hosts, addr) : NULL;
	if (ckpt_protect_decode(rec->body, rec->len, &pr, err, sizeof(err)) < 0 ||
	    rd_protect(d, pr.name, "auto", from ? from->name : who, pr.epoch_ms, err, sizeof(err)) < 0) {
		refuse_peer(r, addr, err);
		return;
	}
	log_info("%s: moved here from %s: protecting it again", pr.name, from ? from->name : addr);
	ckpt_send(r, CK_READY, NULL, 0);
	rio_close(r);
}

static void *conn_thread(void *arg)
{
	struct conn *c = arg;
	struct remusd *d = c->d;
	struct ckpt_record rec = { 0 };
	struct tls_peer who = { "", TLS_ROLE_HOST };
	struct ckpt_protect pr;
	char err[512];
	struct timeval tv = { GATE_HANDSHAKE_S, 0 };

	setsockopt(c->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(c->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	struct rio *r = d->c.insecure ? rio_fd_open(c->fd, 1) :
	    tls_open(c->fd, 1, NULL, &who, err, sizeof(err));
	if (!r) {
		log_warnx("refused peer %s: %s", c->addr, err);
		gate_out(&d->gate, c->addr);
		goto out;
	}
	int got = ckpt_read_record(r, &rec);
	gate_out(&d->gate, c->addr);
	if (got < 0) {
		log_warnx("peer %s: %s", c->addr, rio_error(r));
		rio_close(r);
		goto out;
	}
	tcp_tune(c->fd);	/* authenticated and talking: ordinary I/O timeouts */
	if (!d->c.insecure && gate_identity(d->c.hosts, c->addr, &who, TLS_ROLE_HOST,
	    ckpt_type_name(rec.type), err, sizeof(err)) < 0) {
		refuse_peer(r, c->addr, err);
		goto out;
	}
	if (rec.type == CK_REPROTECT) {
		reprotect(d, r, c->addr, who.name, &rec);
		goto out;
	}
	if (rec.type != CK_PROTECT) {
		snprintf(err, sizeof(err), "first record %s is not PROTECT or REPROTECT",
		    ckpt_type_name(rec.type));
		refuse_peer(r, c->addr, err);
		goto out;
	}
	if (ckpt_protect_decode(rec.body, rec.len, &pr, err, sizeof(err)) < 0 ||
	    sender_owns(d, pr.name, c->addr, who.name, err, sizeof(err)) < 0) {
		refuse_peer(r, c->addr, err);
		goto out;
	}
	struct prot *p = prot_new(d, RR_BACKUP, pr.name);
	if (!p) {
		snprintf(err, sizeof(err), "%s: %s", pr.name, errno == EBUSY ?
		    "this host protects it already" : strerror(errno));
		refuse_peer(r, c->addr, err);
		goto out;
	}
	snprintf(p->peer, sizeof(p->peer), "%s", c->addr);
	snprintf(p->peer_name, sizeof(p->peer_name), "%s", who.name);
	p->epoch_ms = pr.epoch_ms;
	p->gen = pr.gen;
	p->fd = c->fd;
	p->thr = pthread_self();
	prot_set(p, RS_SYNCING, "shadow of %s's VM (generation %llu), %u ms epochs",
	    who.name[0] ? who.name : c->addr, (unsigned long long)pr.gen, pr.epoch_ms);
	struct backup_args a = { p, r, c->fd };
	ckpt_record_free(&rec);
	free(c);
	backup_thread(&a);
	return NULL;
out:
	ckpt_record_free(&rec);
	free(c);
	return NULL;
}

int rd_peer_accept(struct remusd *d, int lfd)
{
	struct conn *c = calloc(1, sizeof(*c));
	pthread_t t;
	int fd, r;

	if (!c)
		return 0;
	if ((r = gate_accept(&d->gate, lfd, &fd, c->addr, sizeof(c->addr))) <= 0) {
		free(c);
		return r;
	}
	c->d = d;
	c->fd = fd;
	if (pthread_create(&t, NULL, conn_thread, c) != 0) {
		gate_out(&d->gate, c->addr);
		close(fd);
		free(c);
		return 0;
	}
	pthread_detach(t);
	return 0;
}
