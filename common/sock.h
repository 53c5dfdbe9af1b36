/* sock.h - unix SOCK_SEQPACKET sockets: one message per record, fds attached. */
#ifndef TANDEM_SOCK_H
#define TANDEM_SOCK_H

#include <stddef.h>
#include <sys/types.h>

#define SOCK_MAXFDS 4

int sock_listen(const char *path);
int sock_connect(const char *path);
/* accepts one connection on a sock_listen() socket, sized like sock_connect() */
int sock_accept(int lfd);
int sock_pair(int sv[2]);
/* Sends one record; fds may be NULL. Returns 0 or -1 with errno. */
int sock_send(int fd, const void *buf, size_t len, const int *fds, int nfds);
/*
 * Receives one record into buf.  Returns its length, 0 at EOF, or -1 with
 * errno: EMSGSIZE when the record or its fds did not fit (all fds closed).
 */
ssize_t sock_recv(int fd, void *buf, size_t cap, int *fds, int *nfds);

#endif
