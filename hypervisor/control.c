/*
 * control.c - hvd's control socket: accepts clients, reads one request per
 * record, rejects what does not decode with a clear HV_ERR (hvd keeps
 * serving), answers HELLO, and hands domain requests to domain.c.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <unistd.h>
#include <event2/event.h>

#include "hvd.h"
#include "log.h"
#include "sock.h"

struct client {
	int fd;
	struct event *ev;
	TAILQ_ENTRY(client) entry;
};

extern struct event_base *hvd_base;
static TAILQ_HEAD(, client) clients = TAILQ_HEAD_INITIALIZER(clients);
static struct event *listen_ev;
static int listen_fd = -1;

void reply_error(int fd, uint32_t seq, int err, const char *fmt, ...)
{
	struct msg_out o;
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	msg_begin(&o, HV_ERR, seq);
	msg_add_u32(&o, HA_ERRNO, (uint32_t)err);
	msg_add_str(&o, HA_ERRMSG, msg);
	if (msg_end(&o) == 0)
		sock_send(fd, o.buf, o.len, NULL, 0);
	msg_free(&o);
}

void control_reply(struct client *c, const void *buf, size_t len, const int *fds, int nfds)
{
	if (sock_send(c->fd, buf, len, fds, nfds) < 0)
		log_warn("client %d: reply", c->fd);
}

void control_error(struct client *c, uint32_t seq, int err, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	reply_error(c->fd, seq, err, "%s", msg);
}

static void client_close(struct client *c)
{
	domain_client_gone(c);
	TAILQ_REMOVE(&clients, c, entry);
	event_free(c->ev);
	close(c->fd);
	free(c);
}

static void client_read(evutil_socket_t fd, short ev, void *arg)
{
	static uint8_t buf[MSG_MAX];
	struct client *c = arg;
	struct msg_in m;
	char err[512];

	(void)fd;
	(void)ev;
	ssize_t len = sock_recv(c->fd, buf, sizeof(buf), NULL, NULL);
	if (len == 0 || (len < 0 && errno != EMSGSIZE && errno != EAGAIN)) {
		client_close(c);
		return;
	}
	if (len < 0) {
		if (errno == EMSGSIZE) {
			log_warnx("client %d: message larger than %u bytes rejected", c->fd, MSG_MAX);
			control_error(c, 0, EMSGSIZE, "message larger than %u bytes", MSG_MAX);
		}
		return;
	}
	if (msg_parse(&hvctl_schema, buf, (size_t)len, &m, err, sizeof(err)) < 0) {
		log_warnx("client %d: bad request: %s", c->fd, err);
		control_error(c, msg_peek_seq(buf, (size_t)len), EBADMSG, "%s", err);
		return;
	}
	if (m.type == HV_OK || m.type == HV_ERR) {
		control_error(c, m.seq, EPROTO, "%s is a reply, not a request",
		    hvctl_schema.policies[m.type].name);
		return;
	}
	if (m.type == HV_HELLO) {
		struct msg_out o;
		msg_begin(&o, HV_OK, m.seq);
		msg_add_str(&o, HA_VERSION, HVD_VERSION);
		if (msg_end(&o) == 0)
			control_reply(c, o.buf, o.len, NULL, 0);
		msg_free(&o);
		return;
	}
	domain_request(c, &m, buf, (size_t)len);
}

static void control_accept(evutil_socket_t lfd, short ev, void *arg)
{
	(void)ev;
	(void)arg;
	int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
	if (fd < 0) {
		log_warn("accept");
		return;
	}
	struct client *c = calloc(1, sizeof(*c));
	if (!c) {
		close(fd);
		return;
	}
	int sz = 4 << 20;
	setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &sz, sizeof(sz));
	c->fd = fd;
	c->ev = event_new(hvd_base, fd, EV_READ | EV_PERSIST, client_read, c);
	event_add(c->ev, NULL);
	TAILQ_INSERT_TAIL(&clients, c, entry);
	log_debug("client %d connected", fd);
}

int control_init(const char *path)
{
	if ((listen_fd = sock_listen(path)) < 0)
		return -1;
	listen_ev = event_new(hvd_base, listen_fd, EV_READ | EV_PERSIST, control_accept, NULL);
	return event_add(listen_ev, NULL);
}

void control_shutdown(void)
{
	struct client *c;

	while ((c = TAILQ_FIRST(&clients)))
		client_close(c);
	if (listen_ev)
		event_free(listen_ev);
	if (listen_fd >= 0)
		close(listen_fd);
}
