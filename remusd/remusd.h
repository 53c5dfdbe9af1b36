/*
 * remusd.h - private header of remusd, the protection daemon: one per
 * host, next to hvd, fenced and migrated.
 *
 *   remusd.c   main: the event loop (control socket, peer listener)
 *   control.c  the CLI's requests: protect, unprotect, status
 *   peer.c     accepted peers: TLS, the gate, PROTECT starts a backup
 *   primary.c  one thread per VM this host protects: the initial copy, the
 *              epochs (epoch.c), and what a lost backup means
 *   backup.c   one thread per shadow this host keeps (shadow.c), and the
 *              takeover once the primary is silent and fenced
 *   prot.c     the protections this host takes part in, and their states
 *   recover.c  at start: the holds and shadows a stopped remusd left
 *
 * Every part gets the daemon's state, struct remusd, explicitly; a
 * protection's figures are published in its struct prot under its lock,
 * never held across I/O.
 */
#ifndef REMUSD_H
#define REMUSD_H

#include <pthread.h>
#include <stdint.h>

#include "gate.h"
#include "remctl.h"
#include "remus.h"

struct fconf;
struct rd_conf {
	const char *ctl_path, *hvd_path, *listen;
	const char *state_dir;		/* the shadows' records (backup.c) */
	const char *fenced;		/* in a cluster: fenced's socket, else NULL */
	const char *cert, *key, *ca, *crl;
	const char *hosts_path;
	const struct fconf *hosts;	/* cluster.conf, or NULL */
	int insecure, foreground, verbose;
	unsigned epoch_ms;		/* the default epoch */
	const char *metrics;		/* ADDR:PORT of the OpenMetrics endpoint, or NULL */
};

struct prot {
	struct remusd *d;
	pthread_mutex_t lock;		/* the figures below */
	enum rem_role role;
	char name[65];
	char peer[256];			/* the other side: the backup as asked, or the primary's address */
	char peer_name[65];		/* its certificate's name ("" with --insecure) */
	char avoid[256];		/* primary, backup "auto": not this host if another will do */
	unsigned epoch_ms;
	uint64_t gen;			/* the table's generation at the start (0: no cluster) */
	unsigned state;			/* enum rem_state */
	uint64_t since_ns;		/* in this state since */
	uint64_t epoch;			/* the last epoch acknowledged (primary) or applied (backup) */
	uint64_t last_ns;		/* when it was */
	uint64_t applying_ns;		/* backup: when the epoch being applied began to be */
	double achieved_ns;		/* the epoch length achieved, smoothed */
	uint64_t pause_ns, pause_max_ns, bytes, held;
	unsigned throttle, permille;
	char detail[512];
	volatile int stop;		/* unprotect asked */
	int fd;				/* the stream's socket (-1: none) */
	int mark_fd;			/* backup: the shadow's record (backup.c) */
	pthread_t thr;
	struct prot *next;
};

struct remusd {
	struct rd_conf c;
	struct event_base *base;
	struct gate gate;
	pthread_mutex_t lock;		/* the list */
	struct prot *list;
	struct rd_stats *stats;		/* stats.c: for the OpenMetrics endpoint */
};

/* stats.c */
struct rd_stats;
struct mtext;
struct rd_stats *rd_stats_new(void);
void rd_stats_epoch(struct rd_stats *st, uint64_t pause_ns, uint64_t bytes);	/* one sent */
void rd_stats_ack(struct rd_stats *st, uint64_t ack_ns);	/* one acknowledged */
void rd_stats_state(struct rd_stats *st, unsigned state);	/* a protection entered it */
void rd_stats_render(struct mtext *t, void *arg);	/* arg: the struct remusd */

/* prot.c */
uint64_t rd_now(void);
/* a new protection in state syncing; NULL with errno EBUSY when one of name
 * is active (syncing, protected or failing over) here */
struct prot *prot_new(struct remusd *d, enum rem_role role, const char *name);
struct prot *prot_find(struct remusd *d, const char *name);	/* the newest */
/* a new state, logged with its name and why */
void prot_set(struct prot *p, unsigned state, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
int prot_active(const struct prot *p);
/* the other side, by its certificate's name when it has one */
const char *prot_peer(const struct prot *p);
/* rio_set_stall's callback for a protection's stream (p): wait on, or give up */
#define PEER_STUCK_MS	10000
int rd_stalled(void *arg, unsigned waited_ms);

/* primary.c: takes p, runs until unprotected; a lost backup is replaced
 * by the next host of the cluster that will take the shadow */
void *primary_thread(void *arg);
/* starts protecting name to backup ("auto": the next host, not avoid) */
int rd_protect(struct remusd *d, const char *name, const char *backup, const char *avoid,
    unsigned epoch_ms, char *err, size_t errlen);
uint64_t rd_silence_ms(unsigned epoch_ms);	/* how long either side may be silent */
/* a stream to host's remusd (TLS: its certificate must be host's) that
 * begins with a record of type (PROTECT, REPROTECT) carrying pr; NULL with err */
struct rio *rd_connect(struct remusd *d, const char *host, uint32_t type,
    const struct ckpt_protect *pr, int *fd, char *who, size_t wholen, char *err, size_t errlen);
/* backup.c: takes a, a backup's stream from its primary */
struct backup_args {
	struct prot *p;
	struct rio *r;
	int fd;
};
void *backup_thread(void *arg);
/* a shadow a stopped remusd left whole: the failover, from the takeover on */
void *rd_failover_thread(void *arg);
/* what a stopped remusd's record says of name's shadow: 1 whole at *epoch
 * (protected at generation *gen, *epoch_ms epochs), 0 not whole, -1 no
 * record; the record goes */
int rd_shadow_record(struct remusd *d, const char *name, uint64_t *epoch, uint64_t *gen,
    unsigned *epoch_ms);

/* peer.c */
int rd_peer_accept(struct remusd *d, int lfd);

/* recover.c: at start, what a stopped remusd left (holds, shadows) */
void rd_recover(struct remusd *d);

/* control.c */
int rd_control_init(struct remusd *d);

/* primary.c and backup.c: the table, through this host's fenced (NULL: no cluster) */
int rd_table_protect(struct remusd *d, const char *name, const char *backup, char *err,
    size_t errlen);
#endif
