/*
 * ctlsrv.c - the control-socket server shared by the daemons: accepts
 * clients on a SOCK_SEQPACKET socket, reads one request per record, rejects
 * oversize records, undecodable messages and replies-sent-as-requests with
 * a clear error, and hands the rest to the daemon's request callback.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <unistd.h>

#include "ctlsrv.h"
#include "log.h"
#include "sock.h"

struct ctlsrv_client {
	int fd;
	struct event *ev;
	TAILQ_ENTRY(ctlsrv_client) entry;
};

static struct event_base *base;
static struct ctlsrv_conf cf;
static TAILQ_HEAD(, ctlsrv_client) clients = TAILQ_HEAD_INITIALIZER(clients);
static struct event *listen_ev;
static int listen_fd = -1;

static void verror(int fd, uint32_t seq, int err, const char *fmt, va_list ap)
{
	struct msg_out o;
	char msg[1024];

	vsnprintf(msg, sizeof(msg), fmt, ap);
	msg_begin(&o, cf.err_type, seq);
	msg_add_u32(&o, cf.errno_attr, (uint32_t)err);
	msg_add_str(&o, cf.errmsg_attr, msg);
	if (msg_end(&o) == 0)
		sock_send(fd, o.buf, o.len, NULL, 0);
	msg_free(&o);
}

void ctlsrv_error_fd(int fd, uint32_t seq, int err, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	verror(fd, seq, err, fmt, ap);
	va_end(ap);
}

void ctlsrv_error(struct ctlsrv_client *c, uint32_t seq, int err, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	verror(c->fd, seq, err, fmt, ap);
	va_end(ap);
}

void ctlsrv_reply(struct ctlsrv_client *c, const void *buf, size_t len, const int *fds, int nfds)
{
	if (sock_send(c->fd, buf, len, fds, nfds) < 0)
		log_warn("client %d: reply", c->fd);
}

static void client_close(struct ctlsrv_client *c)
{
	if (cf.gone)
		cf.gone(c);
	TAILQ_REMOVE(&clients, c, entry);
	event_free(c->ev);
	close(c->fd);
	free(c);
}

static void client_read(evutil_socket_t fd, short ev, void *arg)
{
	static uint8_t buf[MSG_MAX];
	struct ctlsrv_client *c = arg;
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
			ctlsrv_error(c, 0, EMSGSIZE, "message larger than %u bytes", MSG_MAX);
		}
		return;
	}
	if (msg_parse(cf.schema, buf, (size_t)len, &m, err, sizeof(err)) < 0) {
		log_warnx("client %d: bad request: %s", c->fd, err);
		ctlsrv_error(c, msg_peek_seq(buf, (size_t)len), EBADMSG, "%s", err);
		return;
	}
	if (m.type == cf.ok_type || m.type == cf.err_type) {
		ctlsrv_error(c, m.seq, EPROTO, "%s is a reply, not a request",
		    cf.schema->policies[m.type].name);
		return;
	}
	cf.request(c, &m, buf, (size_t)len);
}

static void listener_back(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	event_add(arg, NULL);
}

int listener_rest(struct event_base *b, struct event *listener, int err)
{
	if (err != EMFILE && err != ENFILE && err != ENOBUFS && err != ENOMEM)
		return 0;
	struct timeval tv = { 0, 100000 };
	log_warnx("accept: %s: not accepting for 100 ms", strerror(err));
	event_del(listener);
	event_base_once(b, -1, EV_TIMEOUT, listener_back, listener, &tv);
	return 1;
}

static void ctlsrv_accept(evutil_socket_t lfd, short ev, void *arg)
{
	(void)ev;
	(void)arg;
	int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
	if (fd < 0) {
		if (!listener_rest(base, listen_ev, errno) && errno != EAGAIN && errno != EINTR)
			log_warn("accept");
		return;
	}
	struct ctlsrv_client *c = calloc(1, sizeof(*c));
	if (!c) {
		close(fd);
		return;
	}
	int sz = 4 << 20;
	setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &sz, sizeof(sz));
	c->fd = fd;
	c->ev = event_new(base, fd, EV_READ | EV_PERSIST, client_read, c);
	event_add(c->ev, NULL);
	TAILQ_INSERT_TAIL(&clients, c, entry);
	log_debug("client %d connected", fd);
}

void ctlsrv_set(const struct ctlsrv_conf *conf)
{
	cf = *conf;
}

int ctlsrv_init(struct event_base *b, const char *path, const struct ctlsrv_conf *conf)
{
	base = b;
	cf = *conf;
	if ((listen_fd = sock_listen(path)) < 0)
		return -1;
	listen_ev = event_new(base, listen_fd, EV_READ | EV_PERSIST, ctlsrv_accept, NULL);
	return event_add(listen_ev, NULL);
}

void *ctlsrv_ctx(const struct ctlsrv_client *c)
{
	(void)c;
	return cf.ctx;
}

void ctlsrv_shutdown(void)
{
	struct ctlsrv_client *c;

	while ((c = TAILQ_FIRST(&clients)))
		client_close(c);
	if (listen_ev)
		event_free(listen_ev);
	if (listen_fd >= 0)
		close(listen_fd);
}
