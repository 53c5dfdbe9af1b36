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
 *   once.c     the send-once cache coord.c and local.c share
 *   beat.c     direct heartbeats among the hosts (their own thread)
 *   fast.c     a protected VM's takeover on heartbeat evidence, before the
 *              view: fencing at once, the table following
 *   stats.c    what the OpenMetrics endpoint shows
 *   events.c   the cluster's events for tandem events
 *
 * The daemon's state is one struct fenced, passed to every part; sync.c
 * reports events (enum sync_event) that fenced.c hands to coord.c, local.c
 * and control.c, so no part imports one above it.
 */
#ifndef FENCED_H
#define FENCED_H

#include <event2/event.h>

#include "config.h"
#include "store.h"
#include "membership.h"
#include "table.h"

/* once.c: what was sent once per VM generation, so a second pass sends nothing */
struct once {
	struct { char name[T_NAME_MAX + 1]; uint64_t gen; int what; } e[T_MAX_VMS];
	size_t n;
};
/* 1 the first time for (name, gen, what), then 0 */
int once_first(struct once *o, const char *name, uint64_t gen, int what);
void once_forget(struct once *o, const char *name);	/* its generations start over */

/* sync.c's state: the HELLO round, what is on disk, our messages in flight */
struct sync_hello {
	uint32_t node;
	int have, synced;
	uint64_t epoch, version;
};
struct sync_waiter;
struct sync_state {
	struct sync_hello hello[MB_MAX_NODES];
	size_t nhello;
	uint64_t round_no, sent_round;
	int was_ready;
	uint64_t saved_epoch, saved_version;	/* what DIR/table holds */
	int saved_any;
	/* the write in flight (writer.c): of which version, and what waits for it */
	struct writer *writer;
	uint64_t writing_epoch, writing_version;
	int writing, again, settle_wanted;
	struct sync_waiter *wq, **wq_tail;
	struct event *settle_ev;
};

/* coord.c's state */
struct coord_state {
	struct { uint32_t node; uint64_t retry_at_ms; int refused, alive; } fstate[T_MAX_HOSTS];
	struct once placed;
	struct event *retry_ev;
};

/* local.c's state */
struct local_state {
	struct event *selffence_ev, *tick_ev;
	int wdog_fd;
	char wdog_state[512];
	struct fring hist;	/* fencing kept only here (self-fencing needs no quorum) */
	int was_quorate;
	struct once sent;
};

/* fast.c's state: the heartbeats, fencing on their evidence, and the
 * takeovers granted before the table could follow */
#define FAST_MAX 16
struct beat;
struct fast_tk {
	char name[T_NAME_MAX + 1];
	uint64_t gen, epoch;
	int inflight;		/* its TAKEOVER is on the way */
};
struct fast_state {
	struct beat *beat;	/* NULL: no heartbeat key configured */
	int fencing[CF_MAX_HOSTS], fenced[CF_MAX_HOSTS];	/* by cluster.conf index */
	struct fast_tk *tk[FAST_MAX];
	size_t ntk;
};

struct corosync;	/* fenced.c: the connection to corosync */
struct fencer;		/* fence.c: the fence levels being run */

/* what sync.c reports; fenced.c hands each to the parts it concerns */
struct fenced;

/* events.c: the cluster's events, numbered, for tandem events */
#define EV_MAX	512
struct ev_rec {
	uint64_t seq, time_ms;		/* time: wall clock */
	char kind[16];			/* vm, host, membership, fence, table */
	char name[T_NAME_MAX + 1];	/* the VM or host it is about */
	char detail[256];
};
struct events {
	struct ev_rec ring[EV_MAX];
	uint64_t next;			/* the last seq given (0: none yet) */
	struct table *last;		/* the table as last told */
	int have, have_mb;
	unsigned mbstate;
	uint32_t members[MB_MAX_NODES];
	size_t nmembers;
};
void events_add(struct fenced *f, const char *kind, const char *name, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* what changed in the table and the membership since the last call */
void events_check(struct fenced *f);
void events_fence(struct fenced *f, uint32_t node, int ok, const char *method, const char *detail);
/* record seq, or NULL when it is not (or no longer) in the ring */
const struct ev_rec *events_get(const struct fenced *f, uint64_t seq);
void events_free(struct fenced *f);

enum sync_event {
	SE_SETTLED,	/* deliveries applied and saved: act on the table */
	SE_FORGET,	/* a VM name was claimed anew or removed: its generations start over */
	SE_RING,	/* corosync's ring changed (fenced.c) */
};

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
	struct corosync *cs;
	struct fencer *fencer;
	struct sync_state sync;
	struct coord_state coord;
	struct local_state local;
	struct fast_state fast;
	struct control_pending *pend;	/* control.c: requests waiting on their delivery */
	struct events events;
};

/* stats.c: the OpenMetrics endpoint's text (metrics_render_fn, arg: f) */
struct mtext;
void stats_render(struct mtext *t, void *arg);

/* fenced.c */
void fenced_event(struct fenced *f, enum sync_event ev, const char *name);
/* multicast one message (already msg_end'ed); 0 or -1 */
int cpg_send(struct fenced *f, const struct msg_out *o);
int quorate_now(struct fenced *f);
/* node's corosync is in this host's ring: it is alive even if its fenced is not */
int in_ring(const struct fenced *f, uint32_t node);
uint64_t wall_ms(void);	/* for fence history records */
uint64_t mono_ms(void);

/* sync.c */
/* called once a message we sent is delivered: applied (ok) or why not */
typedef void (*sent_fn)(void *arg, int ok, const char *err);
void sync_init(struct fenced *f);
void sync_shutdown(struct fenced *f);
void sync_view(struct fenced *f, const uint32_t *members, size_t n);
void sync_quorum(struct fenced *f, int quorate);
void sync_disconnected(struct fenced *f);
void sync_deliver(struct fenced *f, uint32_t sender, uint32_t pid, const void *buf, size_t len);
/* synced, quorate and every member synced: may change the table */
int sync_ready(const struct fenced *f);
const char *sync_state(const struct fenced *f);
/* sends m (built with msg_begin, not ended) when ready; cb on delivery.
 * -1 when not ready (errno EAGAIN) or the send failed. */
int sync_send(struct fenced *f, struct msg_out *m, sent_fn cb, void *arg);
/* the first (lowest) member: the coordinator */
int sync_coordinator(const struct fenced *f);
int sync_member(const struct fenced *f, uint32_t node);	/* in the current view */

/* coord.c */
void coord_init(struct fenced *f);
void coord_act(struct fenced *f);
void coord_forget(struct fenced *f, const char *name);
/* a fencing ended (fence.c, through fenced.c) */
void coord_fence_done(struct fenced *f, uint32_t node, int ok, const char *method,
    const char *detail);
/* manual `tandem fence`: as the coordinator would, without the storm guard */
int coord_fence(struct fenced *f, uint32_t node, char *err, size_t errlen);

/* place.c: the host with the most free memory that can take mem, else 0 */
uint32_t place_pick(const struct table *t, const struct fconf *c, uint64_t mem, uint32_t exclude,
    uint64_t *extra);
uint64_t place_free(const struct table *t, const struct fconf *c, uint32_t node);

/* local.c */
void local_init(struct fenced *f);
struct hv;
/* a connection to this host's hvd whose calls time out fast; NULL logged */
struct hv *local_hv(const struct fenced *f);
void local_act(struct fenced *f);
void local_forget(struct fenced *f, const char *name);	/* as coord_forget */
void local_membership(struct fenced *f);	/* quorate <-> not: self-fence timer, watchdog */
/* starts VM name (owned here, STARTING): 0 or -1 with err */
int local_start(struct fenced *f, const char *name, char *err, size_t errlen);
const char *local_watchdog(const struct fenced *f);
void local_shutdown(struct fenced *f);

/* fast.c */
void fast_init(struct fenced *f);
void fast_shutdown(struct fenced *f);
/* the backup's takeover of v before the table can say its owner is fenced:
 * 1 granted (the owner is fenced, confirmed here), 0 not (yet): why */
int fast_takeover(struct fenced *f, const struct tvm *v, uint64_t epoch, char *why, size_t whylen);
void fast_fence_done(struct fenced *f, uint32_t node, int ok);
int fast_pending(const struct fenced *f, const char *name);	/* granted, the table not there yet */
void fast_flush(struct fenced *f);	/* after deliveries and views */

/* control.c */
void control_init(struct fenced *f, const char *path);
/* a manual fence of node ended */
void control_fence_done(struct fenced *f, uint32_t node, int ok, const char *method,
    const char *detail);

#endif
