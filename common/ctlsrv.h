/*
 * ctlsrv.h - a control-socket server on libevent: SOCK_SEQPACKET clients,
 * one request per record, decoded against a schema; what does not decode
 * gets an error reply and the server keeps serving.  hvd and migrated use it.
 */
#ifndef TANDEM_CTLSRV_H
#define TANDEM_CTLSRV_H

#include <event2/event.h>

#include "msg.h"

struct ctlsrv_client;
struct ctlsrv_conf {
	const struct msg_schema *schema;
	uint16_t ok_type, err_type, errno_attr, errmsg_attr;
	void (*request)(struct ctlsrv_client *c, const struct msg_in *m, const uint8_t *buf, size_t len);
	void (*gone)(struct ctlsrv_client *c);	/* may be NULL */
	void *ctx;	/* the daemon's state, for the handlers: ctlsrv_ctx() */
};

int ctlsrv_init(struct event_base *base, const char *path, const struct ctlsrv_conf *conf);
/* Only the schema and reply types, for a process that replies but does not listen. */
void ctlsrv_set(const struct ctlsrv_conf *conf);
void ctlsrv_shutdown(void);
void *ctlsrv_ctx(const struct ctlsrv_client *c);	/* conf->ctx of c's server */
/* accept failed with err: when for want of descriptors or memory, the
 * listener rests 100 ms (else the loop spins on it) and 1 is returned */
struct event;
int listener_rest(struct event_base *b, struct event *listener, int err);
void ctlsrv_reply(struct ctlsrv_client *c, const void *buf, size_t len, const int *fds, int nfds);
void ctlsrv_error(struct ctlsrv_client *c, uint32_t seq, int err, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* An error reply on any socket, in the server's schema. */
void ctlsrv_error_fd(int fd, uint32_t seq, int err, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

#endif
