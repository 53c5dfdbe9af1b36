/* rio_fd.c - rio over a file descriptor (file, pipe or TCP socket), buffered. */
#include <stdlib.h>
#include <unistd.h>

#include "ckpt.h"

struct fdctx {
	int fd, own;
};

static ssize_t fd_read(struct rio *r, void *p, size_t n)
{
	return read(((struct fdctx *)r->ctx)->fd, p, n);
}

static ssize_t fd_write(struct rio *r, const void *p, size_t n)
{
	return write(((struct fdctx *)r->ctx)->fd, p, n);
}

static void fd_close(struct rio *r)
{
	struct fdctx *c = r->ctx;
	if (c->own)
		close(c->fd);
	free(c);
}

static int fd_readable(struct rio *r, int timeout_ms)
{
	return rio_poll_in(((struct fdctx *)r->ctx)->fd, timeout_ms);
}

static const struct rio_ops fd_ops = { "fd", fd_read, fd_write, NULL, fd_close, fd_readable };

struct rio *rio_fd_open(int fd, int own_fd)
{
	struct fdctx *c = malloc(sizeof(*c));
	struct rio *r;

	if (!c)
		return NULL;
	c->fd = fd;
	c->own = own_fd;
	if (!(r = rio_new(&fd_ops, c, 256 << 10)))
		free(c);
	return r;
}
