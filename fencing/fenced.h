/*
 * fenced.h - private header of fenced.  One event loop, one thread:
 *
 *   fenced.c   main, the corosync connection (CPG + votequorum)
 *   sync.c     the table's replication: HELLO rounds after every view, the
 *              snapshot for joiners, our own messages and their waiters
 *   coord.c    the coordinator's duties (lowest member): fence lost hosts,
 *              place the VMs of fenced hosts (place.c)
 *   local.c    this host's duties: run what it owns and nothing else,
 *              self-fence when inquorate too long, the watchdog
 *   control.c  the control socket (tandem status, fence, evacuate, vm create;
 *              migrated's begin/commit/resolve)
 */
#ifndef FENCED_H
#define FENCED_H

#include <event2/event.h>

#include "config.h"
#include "store.h"
#include "membership.h"
#include "table.h"

struct fenced {
	struct event_base *base;
	struct fconf conf;
	struct membership mb;
	struct table t;
	int synced;		/* t is the cluster's table (got or kept while quorate) */
	const char *hvd_path;
	const char *state_dir;	/* the durable table (store.c) */
	uint32_t pid;		/* ours, to recognise our own CPG messages */
	/* corosync's ring (totem membership): hosts whose corosync is alive,
	 * with or without a fenced in the CPG group */
	uint32_t ring[MB_MAX_NODES];
	size_t nring;
	/* when (monotonic ms) and by whom the coordinator last started to fence
	 * this host: a FENCE that comes then is the cluster's */
	uint64_t fencing_me_ms;
	uint32_t fencing_me_by;
};
extern struct fenced F;

/* fenced.c: multicast one message (already msg_end'ed); 0 or -1 */
int cpg_send(const struct msg_out *o);
int quorate_now(void);
/* node's corosync is in this host's ring: it is alive even if its fenced is not */
int in_ring(uint32_t node);
uint64_t wall_ms(void);	/* for fence history records */
uint64_t mono_ms(void);

/* sync.c */
/* called once a message we sent is delivered: applied (ok) or why not */
typedef void (*sent_fn)(void *arg, int ok, const char *err);
void sync_view(const uint32_t *members, size_t n);
void sync_quorum(int quorate);
void sync_disconnected(void);
void sync_deliver(uint32_t sender, uint32_t pid, const void *buf, size_t len);
/* synced, quorate and every member synced: may change the table */
int sync_ready(void);
const char *sync_state(void);
/* sends m (built with msg_begin, not ended) when ready; cb on delivery.
 * -1 when not ready (errno EAGAIN) or the send failed. */
int sync_send(struct msg_out *m, sent_fn cb, void *arg);
/* the first (lowest) member: the coordinator */
int sync_coordinator(void);
int sync_member(uint32_t node);	/* in the current view */

/* coord.c */
void coord_act(void);
/* a VM name was claimed anew or removed: its generations start over */
void coord_forget(const char *name);
void coord_fence_done(uint32_t node, int ok, const char *method, const char *detail);
/* manual `tandem fence`: as the coordinator would, without the storm guard */
int coord_fence(uint32_t node, char *err, size_t errlen);

/* place.c: the host with the most free memory that can take mem, else 0 */
uint32_t place_pick(const struct table *t, const struct fconf *c, uint64_t mem, uint32_t exclude,
    uint64_t *extra);
uint64_t place_free(const struct table *t, const struct fconf *c, uint32_t node);

/* local.c */
void local_init(void);
struct hv;
/* a connection to this host's hvd whose calls time out fast; NULL logged */
struct hv *local_hv(void);
void local_act(void);
void local_forget(const char *name);	/* as coord_forget */
void local_membership(void);	/* quorate <-> not: self-fence timer, watchdog */
/* starts VM name (owned here, STARTING): 0 or -1 with err */
int local_start(const char *name, char *err, size_t errlen);
const char *local_watchdog(void);
void local_shutdown(void);
/* fence history kept only here (self-fencing happens without quorum) */
size_t local_hist_count(void);
const struct tfence *local_hist(size_t i);

/* control.c */
void control_init(const char *path);
/* a manual fence of node ended */
void control_fence_done(uint32_t node, int ok, const char *method, const char *detail);

#endif
