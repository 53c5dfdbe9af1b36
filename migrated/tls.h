/* tls.h - migrated's TLS: mutual certificate authentication against the cluster CA. */
#ifndef MIGRATED_TLS_H
#define MIGRATED_TLS_H

#include <stddef.h>

struct rio;
int tls_init(const char *cert, const char *key, const char *ca, char *err, size_t errlen);
/* Handshakes on fd (server or client side) and checks the peer's certificate. */
struct rio *tls_open(int fd, int server, char *err, size_t errlen);

#endif
