/*
 * tls.h - TLS for Tandem's peers: mutual certificate authentication against
 * the cluster CA, the CA's revocation list, and the peer's identity: the
 * name its certificate gives (CN) and its role (OU: host or fencer).
 */
#ifndef TANDEM_TLS_H
#define TANDEM_TLS_H

#include <stddef.h>

enum tls_role { TLS_ROLE_HOST = 1, TLS_ROLE_FENCER = 2 };

/* who the peer must be: its certificate's name, or (no name) an IP address
 * in its subjectAltName; NULL both: any certificate of the CA */
struct tls_want {
	const char *name, *ip;
};
struct tls_peer {
	char name[65];
	enum tls_role role;
};

/* crl may be NULL; when set, it is read again whenever the file changes */
int tls_init(const char *cert, const char *key, const char *ca, const char *crl, char *err,
    size_t errlen);
/* Handshakes on fd (server or client side), checks the peer's certificate
 * (chain, revocation, want), and says who it is in *peer. */
struct rio *tls_open(int fd, int server, const struct tls_want *want, struct tls_peer *peer,
    char *err, size_t errlen);
const char *tls_role_name(enum tls_role r);

#endif
