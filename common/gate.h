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

#endif
