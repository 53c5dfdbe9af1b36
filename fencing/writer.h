/*
 * writer.h - the durable table written by a thread (writer.c), so fenced's
 * loop answers while the disk syncs.
 */
#ifndef FENCED_WRITER_H
#define FENCED_WRITER_H

#include <stddef.h>
#include <stdint.h>

struct event_base;
struct writer;
/* in the loop, once a write is on disk (ok) or failed (err says why) */
typedef void (*writer_done_fn)(void *arg, int ok, const char *err);
struct writer *writer_new(struct event_base *base, writer_done_fn fn, void *arg);
/* p (from store_encode, taken) to be written as DIR/table; one at a time:
 * the next only after fn reported this one */
void writer_submit(struct writer *w, const char *dir, uint8_t *p, size_t len);
/* a write handed over is finished first */
void writer_free(struct writer *w);

#endif
