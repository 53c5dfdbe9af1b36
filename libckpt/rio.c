/*
 * rio.c - the stream I/O layer: full reads and writes over a backend, with
 * buffering, byte counters and a sticky error (after the first failure every
 * call fails the same way, so callers check once at the end of a batch).
 */
#include <errno.h>
#include <poll.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ckpt.h"

struct rio *rio_new(const struct rio_ops *ops, void *ctx, size_t bufsize)
{
	struct rio *r = calloc(1, sizeof(*r));

	if (!r)
		return NULL;
	r->ops = ops;
	r->ctx = ctx;
	if (bufsize) {
		r->wbuf = malloc(bufsize);
		r->rbuf = malloc(bufsize);
		if (!r->wbuf || !r->rbuf) {
			free(r->wbuf);
			free(r->rbuf);
			free(r);
			return NULL;
		}
		r->wcap = r->rcap = bufsize;
	}
	return r;
}

int rio_fail(struct rio *r, int err, const char *fmt, ...)
{
	if (!r->err) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(r->errmsg, sizeof(r->errmsg), fmt, ap);
		va_end(ap);
		r->err = err ? err : EIO;
	}
	errno = r->err;
	return -1;
}

const char *rio_error(const struct rio *r)
{
	return r->err ? r->errmsg : "no error";
}

uint64_t ckpt_now_ns(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000000000 + (uint64_t)t.tv_nsec;
}

static uint64_t mono_ms(void)
{
	return ckpt_now_ns() / 1000000;
}

void rio_set_turn(struct rio *r, unsigned us)
{
	r->turn_ns = (uint64_t)us * 1000;
	r->turn_due = 0;
}

void rio_turn(struct rio *r)
{
	if (!r || !r->turn_ns)
		return;
	uint64_t now = ckpt_now_ns();
	if (now < r->turn_due)
		return;
	if (r->turn_due) {
		sched_yield();
		r->turns++;
	}
	r->turn_due = now + r->turn_ns;
}

/* what one write to the transport takes: a background stream's in pieces,
 * so that encrypting and sending a large record leaves room for its turns */
#define TURN_WRITE	(64 << 10)

/* the peer took nothing (or sent nothing) since 'since': go on waiting? */
static int stall_ask(struct rio *r, uint64_t since, const char *what)
{
	uint64_t waited = mono_ms() - since;
	if (r->stalled(r->stall_arg, (unsigned)waited) < 0)
		return rio_fail(r, ETIMEDOUT, "%s: nothing %s for %llu ms", r->ops->name, what,
		    (unsigned long long)waited);
	return 0;
}

static int raw_write(struct rio *r, const uint8_t *p, size_t len)
{
	uint64_t since = 0;	/* the first send that timed out with nothing sent */
	while (len) {
		rio_turn(r);
		ssize_t n = r->ops->write(r, p, r->turn_ns && len > TURN_WRITE ? TURN_WRITE : len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			/* a send timeout: the same bytes again, unless the peer is given up */
			if ((errno == EAGAIN || errno == EWOULDBLOCK) && r->stall_ms) {
				if (!since)
					since = mono_ms() - r->stall_ms;
				if (stall_ask(r, since, "could be sent") < 0)
					return -1;
				continue;
			}
			return rio_fail(r, errno, "%s: write: %s", r->ops->name, strerror(errno));
		}
		if (n == 0)
			return rio_fail(r, ECONNRESET, "%s: write: stream closed", r->ops->name);
		since = 0;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int rio_flush(struct rio *r)
{
	if (r->err)
		return rio_fail(r, r->err, "%s", r->errmsg);
	if (r->wlen) {
		size_t n = r->wlen;
		r->wlen = 0;
		if (raw_write(r, r->wbuf, n) < 0)
			return -1;
	}
	return r->ops->flush ? r->ops->flush(r) : 0;
}

int rio_write(struct rio *r, const void *buf, size_t len)
{
	const uint8_t *p = buf;

	if (r->err)
		return rio_fail(r, r->err, "%s", r->errmsg);
	if (!len)
		return 0;	/* empty record bodies: buf may be NULL */
	r->bytes_written += len;
	if (!r->wcap)
		return raw_write(r, p, len);
	if (r->wlen + len > r->wcap && r->wlen) {
		size_t n = r->wlen;
		r->wlen = 0;
		if (raw_write(r, r->wbuf, n) < 0)
			return -1;
	}
	if (len >= r->wcap)
		return raw_write(r, p, len);
	memcpy(r->wbuf + r->wlen, p, len);
	r->wlen += len;
	return 0;
}

int rio_poll_in(int fd, int timeout_ms)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	int n;
	while ((n = poll(&p, 1, timeout_ms)) < 0 && errno == EINTR)
		;
	return n != 0;
}

void rio_set_stall(struct rio *r, unsigned ms, int (*stalled)(void *arg, unsigned waited_ms),
    void *arg)
{
	r->stall_ms = stalled ? ms : 0;
	r->stalled = stalled;
	r->stall_arg = arg;
}

int rio_readable(struct rio *r, int timeout_ms)
{
	if (r->err || r->roff < r->rlen || !r->ops->readable)
		return 1;
	return r->ops->readable(r, timeout_ms);
}

void rio_drain(struct rio *r, int timeout_ms)
{
	uint8_t buf[16384];
	uint64_t t0 = mono_ms();

	r->roff = r->rlen;
	while (!r->err && r->ops->readable && r->ops->readable(r, timeout_ms) == 1) {
		ssize_t n = r->ops->read(r, buf, sizeof(buf));
		if ((n < 0 && errno != EINTR) || n == 0 || mono_ms() - t0 > 4 * (uint64_t)timeout_ms)
			break;
	}
}

int rio_read(struct rio *r, void *buf, size_t len)
{
	uint8_t *p = buf;

	if (r->err)
		return rio_fail(r, r->err, "%s", r->errmsg);
	while (len) {
		if (r->roff < r->rlen) {
			size_t k = r->rlen - r->roff < len ? r->rlen - r->roff : len;
			memcpy(p, r->rbuf + r->roff, k);
			r->roff += k;
			p += k;
			len -= k;
			r->bytes_read += k;
			continue;
		}
		/* silence: the caller decides whether it is worth waiting on (by
		 * the clock: asking may take time of its own) */
		for (uint64_t since = mono_ms(); r->stall_ms && r->ops->readable &&
		    r->ops->readable(r, (int)r->stall_ms) == 0;)
			if (stall_ask(r, since, "came") < 0)
				return -1;
		rio_turn(r);
		/* large reads bypass the buffer */
		int direct = !r->rcap || len >= r->rcap;
		ssize_t n = direct ? r->ops->read(r, p, len) : r->ops->read(r, r->rbuf, r->rcap);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return rio_fail(r, errno, "%s: read: %s", r->ops->name, strerror(errno));
		}
		if (n == 0)
			return rio_fail(r, ECONNRESET, "%s: stream ended %zu bytes short, after %llu bytes",
			    r->ops->name, len, (unsigned long long)r->bytes_read);
		if (direct) {
			p += n;
			len -= (size_t)n;
			r->bytes_read += (uint64_t)n;
		} else {
			r->roff = 0;
			r->rlen = (size_t)n;
		}
	}
	return 0;
}

void rio_close(struct rio *r)
{
	if (!r)
		return;
	if (r->ops->close)
		r->ops->close(r);
	free(r->wbuf);
	free(r->rbuf);
	free(r);
}
