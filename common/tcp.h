/* tcp.h - TCP between Tandem's peers (migrated, remusd, fence_tandem): tcp.c. */
#ifndef TANDEM_TCP_H
#define TANDEM_TCP_H

#include <stddef.h>
#include <stdint.h>

/* spec: "host:port", "[v6]:port" or ":port" */
int peer_listen(const char *spec);
int peer_connect(const char *spec, char *err, size_t errlen);
uint16_t peer_listen_port(void);
extern int tcp_connect_timeout_ms;	/* default 5000 */
/* nodelay, keepalive, I/O timeouts */
void tcp_tune(int fd);

#endif
