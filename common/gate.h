/*
 * gate.h - who may talk to a Tandem daemon's peer listener (migrated,
 * remusd): strangers (connections that have not yet authenticated and sent
 * their first record) are capped per address and in all, so a crowd of
 * silent connections can neither exhaust threads nor lock the cluster's
 * hosts out; and the identity rule of the cluster's certificates.
 */
#ifndef TANDEM_GATE_H
#define TANDEM_GATE_H

#include <pthread.h>
#include <stddef.h>

#include "tls.h"

#define GATE_HANDSHAKE_S	5	/* a stranger's time to authenticate and speak */
#define GATE_MAX_STRANGERS	64
#define GATE_PER_ADDR		8

struct gate {
	pthread_mutex_t lock;
	struct { char addr[64]; int n; } s[GATE_MAX_STRANGERS];
	int n;
};
#define GATE_INIT { PTHREAD_MUTEX_INITIALIZER, { { "", 0 } }, 0 }

/* Accepts one connection on lfd and admits it as a stranger: 1 with *fd
 * and addr (its address), 0 when there was none or the caps refused it
 * (closed, a log line a second at most), -1 when accept itself failed
 * (errno: EMFILE, ENFILE, ...). */
int gate_accept(struct gate *g, int lfd, int *fd, char *addr, size_t addrlen);
/* one more stranger from addr, if the caps allow: 0, or -1 with *why */
int gate_in(struct gate *g, const char *addr, const char **why);
void gate_out(struct gate *g, const char *addr);

struct fconf;
/*
 * The identity rule: the peer's certificate must have role need, and a
 * host's must name the host its address belongs to (when hosts is given;
 * a fencer's may come from anywhere).  0, or -1 with err.  what names the
 * request in the message.
 */
int gate_identity(const struct fconf *hosts, const char *addr, const struct tls_peer *p,
    enum tls_role need, const char *what, char *err, size_t errlen);

/* who the daemon at spec ("name", "address", either with ":port") must be:
 * the host hosts gives it, else the address or name spec gives (buf holds it) */
void gate_want(const struct fconf *hosts, const char *spec, struct tls_want *want, char *buf,
    size_t buflen);

#endif
