/* rio_mem.c - rio over memory: a growing buffer to write, a fixed one to read. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "ckpt.h"

struct memctx {
	uint8_t *p;
	size_t len, cap, off;
	int owned;
};

static ssize_t mem_read(struct rio *r, void *p, size_t n)
{
	struct memctx *m = r->ctx;
	size_t k = m->len - m->off < n ? m->len - m->off : n;
	memcpy(p, m->p + m->off, k);
	m->off += k;
	return (ssize_t)k;
}

static ssize_t mem_write(struct rio *r, const void *p, size_t n)
{
	struct memctx *m = r->ctx;
	if (!m->owned) {
		errno = EBADF;
		return -1;
	}
	if (m->len + n > m->cap) {
		size_t cap = m->cap ? m->cap : 4096;
		while (cap < m->len + n)
			cap *= 2;
		uint8_t *q = realloc(m->p, cap);
		if (!q) {
			errno = ENOMEM;
			return -1;
		}
		m->p = q;
		m->cap = cap;
	}
	memcpy(m->p + m->len, p, n);
	m->len += n;
	return (ssize_t)n;
}

static void mem_close(struct rio *r)
{
	struct memctx *m = r->ctx;
	if (m->owned)
		free(m->p);
	free(m);
}

static const struct rio_ops mem_ops = { "memory", mem_read, mem_write, NULL, mem_close, NULL };

struct rio *rio_mem_writer(void)
{
	struct memctx *m = calloc(1, sizeof(*m));
	struct rio *r;
	if (!m)
		return NULL;
	m->owned = 1;
	if (!(r = rio_new(&mem_ops, m, 0)))
		free(m);
	return r;
}

const uint8_t *rio_mem_data(const struct rio *r, size_t *len)
{
	const struct memctx *m = r->ctx;
	*len = m->len;
	return m->p;
}

void rio_mem_reset(struct rio *r)
{
	struct memctx *m = r->ctx;
	m->len = m->off = 0;
}

struct rio *rio_mem_reader(const void *p, size_t len)
{
	struct memctx *m = calloc(1, sizeof(*m));
	struct rio *r;
	if (!m)
		return NULL;
	m->p = (uint8_t *)(uintptr_t)p;
	m->len = len;
	if (!(r = rio_new(&mem_ops, m, 0)))
		free(m);
	return r;
}
