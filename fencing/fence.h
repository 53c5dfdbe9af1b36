/*
 * fence.h - running the fence levels for one host (fence.c): each level's
 * agent in turn, with its timeout, until one confirms.
 */
#ifndef FENCED_FENCE_H
#define FENCED_FENCE_H

#include <stdint.h>
#include <event2/event.h>

#include "config.h"

/* ok: confirmed by method (the agent's base name); detail: its last line */
typedef void (*fence_done_fn)(void *arg, uint32_t node, int ok, const char *method,
    const char *detail);

struct fencer;
/* the fence levels of conf, run on base; done(arg, ...) when one host's end */
struct fencer *fence_init(struct event_base *base, const struct fconf *conf, fence_done_fn done,
    void *arg);
/* Starts fencing node; -1 (EBUSY) if it is already being fenced. */
int fence_start(struct fencer *fr, uint32_t node);
int fence_busy(const struct fencer *fr, uint32_t node);
/* the table says another host fenced node: a fencing of it here runs no
 * further level (the host may be booting again by then) */
void fence_settled(struct fencer *fr, uint32_t node);
/* how many hosts are being fenced now */
int fence_running(const struct fencer *fr);
/* its counts and durations, for the metrics endpoint */
struct mtext;
void fence_render(const struct fencer *fr, struct mtext *t);
void fence_shutdown(struct fencer *fr);

#endif
