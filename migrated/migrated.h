/*
 * migrated.h - private header of migrated, the live-migration daemon.
 *
 * The main thread runs the event loop: the control socket for the CLI
 * (control.c) and the TCP listener for peers (peer.c).  Each migration, in
 * either direction, runs in its own thread with its own hvd connection
 * (mig_send.c, mig_recv.c) and publishes its progress in a struct mig
 * under a mutex.  The convergence controller (converge.c) is pure logic.
 */
#ifndef MIGRATED_H
#define MIGRATED_H

#include <pthread.h>
#include <stdint.h>

#include "cpuplan.h"
#include "ckpt.h"
#include "migctl.h"
#include "tcp.h"

struct fconf;
struct migd_conf {
	const char *ctl_path, *hvd_path, *listen, *state_dir;
	const char *fenced;		/* in a cluster: fenced's socket, else NULL */
	const char *cert, *key, *ca, *crl;	/* TLS; all NULL with insecure */
	const char *hosts_path;		/* cluster.conf: the hosts and their addresses */
	const struct fconf *hosts;	/* loaded from it, or NULL */
	int insecure, foreground, verbose;
	struct cpuplan cpus;		/* where a paused VM's migration runs (mig_urgent) */
	const char *metrics;		/* ADDR:PORT of the OpenMetrics endpoint, or NULL */
	struct mig_stats *stats;	/* stats.c: what it serves */
};
extern struct migd_conf migd_conf;

/* converge.c */
struct conv_opts {
	uint64_t budget_ns;	/* target stop-and-copy downtime */
	uint64_t max_total_ns;	/* 0: no limit */
	uint64_t max_downtime_ns;	/* 0: no hard limit */
	uint32_t max_rounds;
	uint64_t fixed_ns;	/* pause, state and commit overhead */
};
enum conv_action { CONV_ROUND, CONV_THROTTLE, CONV_STOP, CONV_ABORT };
struct conv {
	struct conv_opts o;
	double bw;		/* page bytes moved per second, smoothed */
	double page_ns;		/* what a dirty page costs to move, from the last round */
	double dirty_pps;	/* pages dirtied per second during the last round */
	uint32_t round;
	unsigned throttle;	/* current vCPU throttle, percent */
	uint64_t predicted_ns, last_predicted_ns;
	uint64_t last_dirty;	/* dirty pages found after the last round */
	uint32_t stalled;	/* rounds in a row the prediction did not shrink */
	int over_budget;	/* it stopped without the budget in reach: say so */
	char why[160];
};
void conv_init(struct conv *c, const struct conv_opts *o);
/* After a round: its length, pages it moved, and the dirty pages now found. */
enum conv_action conv_decide(struct conv *c, uint64_t round_ns, uint64_t round_pages,
    uint64_t dirty_pages, uint64_t elapsed_ns);
unsigned conv_next_throttle(unsigned cur);

/* stats.c: the figures of every migration, for the OpenMetrics endpoint */
struct mig_stats;
struct mtext;
struct mig;
struct mig_stats *stats_new(void);
/* a migration has ended (done, failed or cancelled): counted once */
void stats_end(struct mig_stats *st, const struct mig *m);
/* metrics_render_fn: arg is the struct mig_stats */
void stats_render(struct mtext *t, void *arg);

/* mig.c: one migration's shared record */
enum mig_dir { MIG_OUT, MIG_IN };
struct mig {
	pthread_mutex_t lock;		/* progress: never held across I/O */
	pthread_mutex_t commit_lock;	/* the commit against OUTCOME queries */
	enum mig_dir dir;
	char name[65];
	char dest[256];
	char peer_name[65];	/* the peer's certificate name (empty with --insecure) */
	uint64_t id;
	int fd;			/* the peer connection */
	struct conv_opts opts;
	uint64_t bw_cap;	/* bytes/s, 0: none */
	int lz4;
	uint64_t gen;		/* the table's generation at begin (cluster) */
	volatile int cancel;
	/* progress, under lock */
	unsigned state;		/* enum mig_state */
	char phase[48];
	uint32_t round;
	uint32_t permille;	/* monotone */
	uint64_t bytes_sent, pages_sent, dirty_left, rate_bps, eta_ms, predicted_ns;
	unsigned throttle;
	uint64_t downtime_ns, total_ns, start_ns;
	char pages_per_round[512];
	char downtime_phases[256];	/* where the downtime went (MA_DOWNTIME_PHASES) */
	char error[512];
	pthread_t thr;
	struct mig *next;
};
struct mig *mig_new(enum mig_dir dir, const char *name);
struct mig *mig_find(const char *name, int active_only);
void mig_release(struct mig *m);

/* commit.c: the point of no return of an outgoing migration */
struct hv;
/* how far the source copy is handed over */
enum handed { HANDED_NONE, HANDED_LOCAL, HANDED_DOUBT, HANDED_COMMITTED };
/* 0 committed; -1 not, with *handed telling what is left to undo */
int mig_commit(struct mig *m, struct hv *h, int *handed, char *err, size_t errlen);
void mig_set_phase(struct mig *m, const char *phase);
void mig_fail(struct mig *m, unsigned state, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* the migration succeeded: MS_DONE, its total time, counted in the stats */
void mig_done(struct mig *m);
/* outgoing and incoming migrations running now */
void mig_running(unsigned *out, unsigned *in);
uint64_t mig_now(void);
/* the calling thread ahead of every ordinary one, on the control core, while the
 * VM is paused (on), or back (cpuplan.c); r: the stream it moves, or NULL */
void mig_urgent(struct rio *r, int on);
/* the calling migration thread below the guests while the VM runs, and the
 * stream it moves (r, or NULL while it has none) yielding its turns */
void mig_background(struct rio *r);
#define URGENT_PAGES	16384	/* a longer stop-and-copy (forced by a limit) stays ordinary */
/* the stream to a peer that must be want->name (or hold want->ip); who it
 * is in *peer (name empty with --insecure) */
struct tls_want;
struct tls_peer;
struct rio *mig_transport(struct mig *m, int fd, int server, const struct tls_want *want,
    struct tls_peer *peer, char *err, size_t errlen);
/* who the migrated at spec ("name", "address", either with ":port") must be */
void mig_want(const char *spec, struct tls_want *want, char *buf, size_t buflen);

/* cluster.c: the ownership table, through this host's fenced (with -F) */
int cluster_begin(const char *name, const char *dest, uint64_t *gen, char *err, size_t errlen);
/* 0 committed; -1 refused (errno from fenced) or unknown (errno EIO) */
int cluster_commit(const char *name, const char *dest, uint64_t gen, char *err, size_t errlen);
int cluster_resolve(const char *name, int *mine, char *err, size_t errlen);
/* 1: this host's table gives name to this host already (no message sent) */
int cluster_owned(const char *name);
/* resolve, retried for a while: 1 ours, 0 not ours, -1 no answer */
int cluster_resolve_retry(const char *name, int seconds, char *err, size_t errlen);

/* 1: this host may be fenced now, 0: not (why says), -1: fenced does not answer */
int cluster_fence_allowed(char *why, size_t whylen);

/* stall.c: fault injection for tests */
void mig_stall(const char *point);

/* journal.c: migrated's durable one-line records, one file per VM */
enum jkind { J_INDOUBT, J_HANDED };
int journal_put(enum jkind k, const char *name, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* the record's first byte becomes c, in place, in the page cache (journal.c says why) */
int journal_flip(enum jkind k, const char *name, char c);
int journal_get(enum jkind k, const char *name, char *line, size_t len);
void journal_del(enum jkind k, const char *name);
void journal_each(enum jkind k, void (*fn)(const char *name, const char *line, void *arg),
    void *arg);

/* handed.c: the source's hand-over records, until the destination confirms */
/* the record prepared before round 0, off the downtime path */
int handed_prepare(const struct mig *m);
/* the point of no return: the prepared record says committed */
int handed_commit(const struct mig *m);
/* a migration that never committed: its prepared record goes */
void handed_unprepare(const char *name, uint64_t id);
int handed_is(const char *name, uint64_t id);	/* 1: committed by migration id */
/* for OUTCOME: 1 handed over by id to asker, 0 not, -1 to another host */
int handed_for(const char *name, uint64_t id, const char *asker);
/* reclaim the copy handed over by id and run it again */
int handed_reclaim(struct hv *h, const char *name, uint64_t id);
/* the destination runs it: the copy and the record go; late (may be NULL):
 * the frames that reached the copy late (hv_ops.domain_release) */
void handed_confirmed(struct hv *h, const char *name, uint64_t id, uint8_t **late,
    size_t *late_len);
/* settle a hand-over in the background (recorded: its record was written) */
void handed_settle_later(const char *name, uint64_t id, const char *dest, int recorded);
void handed_resume(void);	/* at start: what a killed migrated left */

/* mig_send.c */
void *mig_send_thread(void *arg);

/* mig_recv.c */
struct recv_args {
	struct mig *m;
	struct rio *r;
	char peer[64];
	uint16_t peer_port;	/* the source's migrated, for OUTCOME */
	char peer_name[65];	/* and its certificate's name: only it may answer */
};
void *mig_recv_thread(void *arg);	/* takes a malloc'd recv_args */
void mig_recv_resume(void);	/* at start: ask the outcome of every journalled one */
/* the source's answer to OUTCOME and the destination's to CONFIRM (body: u64 id, name) */
int mig_outcome_answer(struct rio *r, const char *asker, const uint8_t *body, size_t len);
int mig_confirm_answer(struct rio *r, const uint8_t *body, size_t len);

/* peer.c (tcp.h: the sockets) */
/* 0, or -1 when accept itself failed (errno: EMFILE, ENFILE, ...) */
int peer_accept(int lfd);

/* fence.c: the FENCE request of a cluster fencer */
struct rio;
int fence_answer(struct rio *r, const char *peer, const char *fencer);

/* control.c */
int control_init(const char *path);

#endif
