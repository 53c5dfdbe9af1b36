/*
 * remus.h - continuous protection of one VM, Remus-style: the primary's
 * epochs (epoch.c) and the backup's shadow (shadow.c), over any stream and
 * the hv interface only.  remusd runs one pair per protected VM; the test
 * tool tests/remustool.c runs both ends on one host.
 *
 * The stream: image header, DOMAIN_HEADER, the initial copy (rounds while
 * the VM runs), then per epoch N the pages dirtied since N-1, vCPU and
 * device state and CHECKPOINT(N).  The backup applies an epoch only when
 * its CHECKPOINT arrives (libckpt/restore.c, checkpointed mode) and then
 * answers EPOCH_ACK(N); only that answer lets the primary release epoch
 * N's held output (hypervisor/nic_hold.c).
 */
#ifndef REMUS_H
#define REMUS_H

#include <stdint.h>

#include "ckpt.h"
#include "hv.h"

/* pace.c: the throttle a protection holds the guest at, from how long its
 * epochs take against the target (a pure state machine; see pace.c) */
#define PACE_UP		20	/* percent of the vCPUs' time taken per step up */
#define PACE_MAX	90
enum pace_state { PACE_FREE, PACE_TRIAL };
struct pace {
	enum pace_state state;
	unsigned throttle;	/* percent of the vCPUs' time held back */
	unsigned step;		/* the last step up (TRIAL) */
	unsigned late_run;	/* late epochs in a row */
	unsigned fit_run;	/* timely epochs in a row */
	uint64_t trial_ns;	/* what the step is judged against (TRIAL) */
	uint64_t prev_ns;	/* the last epoch's length */
	uint64_t futile_ns;	/* throttling did not shorten epochs this long, 0: none */
	const char *why;	/* why the last call changed the throttle, or NULL */
};
void pace_init(struct pace *s);
unsigned pace_next(struct pace *s, uint64_t busy_ns, uint64_t target_ns);
const char *pace_state_name(enum pace_state st);

/* epoch.c */
#define PRIMARY_DEPTH	2	/* epochs sent and not yet acknowledged, at most */
struct primary {
	struct hv *h;
	char name[65];
	struct rio *peer;	/* to the backup; its acknowledgements come back on it */
	struct rio *stage;	/* the epoch taken while the guest is paused (unstaged) */
	uint8_t *staged_mem;	/* the hypervisor's stage (hv stage_map), or NULL */
	uint64_t staged_size;
	struct hv_saved st;	/* a staged epoch's state, until it is sent */
	int staged;		/* the epoch taken waits in staged_mem and st */
	struct ckpt_save sv;
	uint8_t *mem;
	uint64_t mem_size, *bitmap;
	int memfd;
	size_t bmlen;
	int hold;		/* the VM's output is held until its epoch is acknowledged */
	uint64_t taken;		/* the last epoch taken and sent */
	uint64_t epoch;		/* the last epoch acknowledged */
	uint64_t posted_ns[PRIMARY_DEPTH];	/* when each epoch in flight began to be sent */
	unsigned throttle, throttle_max;	/* percent of the vCPUs' time held back (primary_pace) */
	struct pace pace;
	/* the last epoch's figures.  Staged: pause_ns is the guest's pause as
	 * the hypervisor measured it, stage_ns the copy in it, call_ns the
	 * round trip around it, resume_ns 0.  Unstaged: the pause is call_ns
	 * (pause, close, peek, state in hvd and the way there) + stage_ns +
	 * resume_ns.  post_ns is its sending, send_ns the last acknowledged
	 * epoch's, from its sending to the acknowledgement; busy_ns the time
	 * from the epoch's start until the next could start (primary_pace) */
	uint64_t pause_ns, call_ns, stage_ns, resume_ns, pages, bytes, post_ns, send_ns, busy_ns;
	uint64_t park_ns, peek_ns, state_ns;	/* inside the hypervisor: to parked, peek, state */
	/* the initial copy's progress, 0-1000, for a progress bar (may be NULL;
	 * set before primary_start, which keeps it) */
	void (*progress)(void *arg, unsigned permille);
	void *progress_arg;
	/* each acknowledgement as it comes, with its latency from the sending
	 * (may be NULL; set before primary_start, which keeps it; its arg is
	 * progress_arg) */
	void (*acked)(void *arg, uint64_t epoch, uint64_t send_ns);
	char err[512];
};
/* Holds the VM's output (hold), sends the initial copy and epoch 1. */
int primary_start(struct primary *p, struct hv *h, const char *name, struct rio *peer, int hold);
/*
 * An epoch: primary_checkpoint (pause, closing the epoch's held output;
 * stage the dirty pages and the state; resume: in one hypervisor call when
 * it has a stage), then primary_post (send the staged epoch).  Its
 * acknowledgement releases its output (primary_acks).
 * primary_epoch: one epoch, and its acknowledgement waited for.
 * primary_step: one epoch, and the acknowledgement of the one before it
 * waited for: the next may be taken while this one is on its way
 * (PRIMARY_DEPTH).
 */
int primary_epoch(struct primary *p);
int primary_step(struct primary *p);
int primary_checkpoint(struct primary *p);
int primary_post(struct primary *p);
/*
 * Reads the backup's acknowledgements, each releasing its epoch's output:
 * until epoch upto is acknowledged, then on as they come until until_ns
 * (CLOCK_MONOTONIC; 0: not at all).  -1 when the stream breaks, or the
 * backup answers what was not asked.
 */
int primary_acks(struct primary *p, uint64_t upto, uint64_t until_ns);
/* the epoch primary_checkpoint took, as the bytes primary_post would send
 * (for a test that sends only part of it) */
int primary_encode(struct primary *p, const uint8_t **b, size_t *len);
/* After an epoch: throttles the guest while epochs (busy_ns) outlast target_ns. */
int primary_pace(struct primary *p, uint64_t target_ns);
/* Frees this side; with unprotect the VM runs on unprotected: its held
 * output goes out, log-dirty goes off. */
void primary_stop(struct primary *p, int unprotect);

/* shadow.c */
struct shadow {
	struct hv *h;
	char name[65];		/* the shadow domain's, which may differ from the VM's */
	struct rio *r;		/* from the primary */
	uint8_t *mem;		/* the shadow's memory, when hugetlb */
	uint64_t mem_size;
	int fd, created;
	uint64_t epoch;		/* the last epoch applied whole */
	/* called before each epoch is applied, and after it is applied and
	 * acknowledged (either may be NULL) */
	void (*applying)(struct shadow *s, uint64_t epoch);
	void (*applied)(struct shadow *s, uint64_t epoch);
	void *arg;
	int aborted;		/* the primary ended the protection (ABORT): err says why */
	char err[512];
};
/*
 * Receives into a paused shadow domain until the stream ends: 0 with
 * s->epoch the last epoch applied whole (the shadow holds exactly it, and
 * may be resumed), -1 when none was (s->err says why).  An ABORT from the
 * primary ends it on purpose: s->aborted, and the shadow is to go.
 */
int shadow_run(struct shadow *s);

#endif
