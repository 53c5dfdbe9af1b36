/*
 * rio_fault.c - a rio that fails on purpose, for tests: after N bytes or on
 * the Nth call, reads and writes fail with EIO, or (truncate) the stream
 * just ends as if the peer had gone away.  Wraps any other rio.
 */
#include <errno.h>
#include <stdlib.h>

#include "ckpt.h"

struct faultctx {
	struct rio *inner;
	uint64_t fail_byte, fail_call, bytes, calls;
	int truncate;
};

static ssize_t fault_check(struct faultctx *f, size_t *n)
{
	f->calls++;
	if ((f->fail_call && f->calls >= f->fail_call) ||
	    (f->fail_byte && f->bytes >= f->fail_byte)) {
		if (f->truncate)
			return 0;
		errno = EIO;
		return -1;
	}
	if (f->fail_byte && f->bytes + *n > f->fail_byte)
		*n = (size_t)(f->fail_byte - f->bytes);
	return 1;
}

static ssize_t fault_read(struct rio *r, void *p, size_t n)
{
	struct faultctx *f = r->ctx;
	ssize_t c = fault_check(f, &n);
	if (c <= 0)
		return c;
	/* read what the inner stream has, up to n, one full call at a time */
	if (rio_read(f->inner, p, 1) < 0)
		return 0;
	f->bytes++;
	return 1;
}

static ssize_t fault_write(struct rio *r, const void *p, size_t n)
{
	struct faultctx *f = r->ctx;
	ssize_t c = fault_check(f, &n);
	if (c <= 0)
		return c;
	if (rio_write(f->inner, p, n) < 0) {
		errno = f->inner->err;
		return -1;
	}
	f->bytes += n;
	return (ssize_t)n;
}

static int fault_flush(struct rio *r)
{
	struct faultctx *f = r->ctx;
	return rio_flush(f->inner);
}

static void fault_close(struct rio *r)
{
	struct faultctx *f = r->ctx;
	rio_close(f->inner);
	free(f);
}

static int fault_readable(struct rio *r, int timeout_ms)
{
	struct faultctx *f = r->ctx;
	return rio_readable(f->inner, timeout_ms);
}

static const struct rio_ops fault_ops = { "fault", fault_read, fault_write, fault_flush, fault_close,
	fault_readable };

struct rio *rio_fault_open(struct rio *inner, uint64_t fail_byte, uint64_t fail_call, int truncate)
{
	struct faultctx *f = calloc(1, sizeof(*f));
	struct rio *r;
	if (!f)
		return NULL;
	f->inner = inner;
	f->fail_byte = fail_byte;
	f->fail_call = fail_call;
	f->truncate = truncate;
	if (!(r = rio_new(&fault_ops, f, 0)))
		free(f);
	return r;
}
