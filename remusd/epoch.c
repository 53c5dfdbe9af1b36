/*
 * epoch.c - the primary side of a protected VM: the initial copy, then one
 * checkpoint per epoch, on the shared save engine (libckpt/save.c).
 *
 * An epoch: one call pauses the VM, closes the epoch's held output, peeks
 * and cleans the dirty log, takes the vCPU and device state, copies the
 * dirty pages into the hypervisor's stage and resumes the VM: the pause
 * the guest feels is that one call inside the hypervisor, with no trip to
 * here in it.  Only then is the epoch encoded from the stage and sent to
 * the backup, and the output it held goes out once the backup has
 * acknowledged it.  Epoch 1, which also carries what the initial copy left
 * pending, is staged here instead, from guest memory, between a pause and
 * an unpause (so is every epoch on a hypervisor without a stage).
 *
 * Epochs overlap on the way to the backup, never in the guest: epoch N+1
 * may be taken and sent while N waits for its acknowledgement (at most
 * PRIMARY_DEPTH in flight), so the interval is not bound by the round trip
 * to the backup and its applying.  The stream keeps them in order, the
 * backup applies and acknowledges them one after another, and each
 * acknowledgement releases exactly its epoch's output: what a client is
 * told is still only what the backup holds.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "msg.h"
#include "remus.h"

#define INIT_ROUNDS	10	/* rounds of the initial copy at most */
#define INIT_DIRTY	2048	/* few enough dirty pages for the first epoch */

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static int hook_peek(struct ckpt_save *sv)
{
	struct primary *p = sv->arg;
	uint64_t count;
	if (p->h->ops->dirty_peek_clean(p->h, p->name, &count) == 0)
		return 0;
	snprintf(sv->err, sizeof(sv->err), "%s", hv_error(p->h));
	return -1;
}

static int throttle_to(struct primary *p, unsigned t)
{
	if (t == p->throttle)
		return 0;
	if (p->h->ops->throttle(p->h, p->name, t) < 0)
		return -1;
	p->throttle = t;
	if (t > p->throttle_max)
		p->throttle_max = t;
	return 0;
}

/*
 * The initial copy's policy: rounds while the VM runs, until epoch 1 is
 * small; from the third round on, a guest that still dirties more than
 * that is throttled a step per round, so the first epochs do not carry
 * what the rounds could not.
 */
static enum ckpt_save_next init_policy(struct ckpt_save *sv, const struct ckpt_save_round *rd)
{
	struct primary *p = sv->arg;
	if (rd->dirty <= INIT_DIRTY || rd->round + 1 >= INIT_ROUNDS)
		return CKS_STOP;
	if (rd->round >= 2 && throttle_to(p, p->throttle + PACE_UP > PACE_MAX ? PACE_MAX :
	    p->throttle + PACE_UP) < 0) {
		snprintf(sv->err, sizeof(sv->err), "throttling: %s", hv_error(p->h));
		return CKS_ABORT;
	}
	return CKS_AGAIN;
}

/* the first round carries nearly all of it: 0-90 %, the rounds after it the rest */
static int init_tick(struct ckpt_save *sv, uint64_t left)
{
	struct primary *p = sv->arg;
	uint64_t total = p->mem_size / CKPT_PAGE_SIZE;
	if (p->progress && total && sv->round == 0)
		p->progress(p->progress_arg, (unsigned)((total - (left < total ? left : total)) * 900 / total));
	return 0;
}

static int init_round_end(struct ckpt_save *sv)
{
	struct primary *p = sv->arg;
	if (p->progress)
		p->progress(p->progress_arg, 900 + (sv->round + 1 > 9 ? 9 : sv->round + 1) * 10);
	return 0;
}

static const struct ckpt_save_ops init_ops = { .peek = hook_peek, .policy = init_policy,
	.tick = init_tick, .round_end = init_round_end };

static int fail(struct primary *p, const char *what)
{
	snprintf(p->err, sizeof(p->err), "%s: %s", what, hv_error(p->h));
	return -1;
}

int primary_start(struct primary *p, struct hv *h, const char *name, struct rio *peer, int hold)
{
	struct hv_dominfo di;
	uint64_t count;

	void (*progress)(void *, unsigned) = p->progress;
	void (*acked)(void *, uint64_t, uint64_t) = p->acked;
	void *progress_arg = p->progress_arg;
	memset(p, 0, sizeof(*p));
	p->progress = progress;
	p->acked = acked;
	p->progress_arg = progress_arg;
	p->h = h;
	p->peer = peer;
	p->memfd = -1;
	snprintf(p->name, sizeof(p->name), "%s", name);
	if (h->ops->domain_info(h, name, &di) < 0)
		return fail(p, "domain info");
	if (di.state != HV_RUNNING)
		return snprintf(p->err, sizeof(p->err), "%s is %s, not running", name,
		    hv_state_name(di.state)), -1;
	if (hold && di.net[0]) {
		if (h->ops->nic_hold(h, name, 1, 0) < 0)
			return fail(p, "holding the output");
		p->hold = 1;
	}
	struct memmap map;
	if (h->ops->mem_map(h, name, &p->mem, &p->mem_size, &p->memfd) < 0 ||
	    hv_memmap(h, name, &map) < 0 ||
	    h->ops->logdirty(h, name, 1, HV_LOG_MANUAL, &p->bitmap, &p->bmlen) < 0 ||
	    h->ops->dirty_peek_clean(h, name, &count) < 0)
		return fail(p, "guest memory");
	if (!(p->stage = rio_mem_writer()))
		return snprintf(p->err, sizeof(p->err), "out of memory"), -1;
	if (h->ops->stage_map && h->ops->stage_map(h, name, &p->staged_mem, &p->staged_size) < 0) {
		log_warnx("%s: no stage in the hypervisor (%s): each epoch is staged between a "
		    "pause and an unpause", name, hv_error(h));
		p->staged_mem = NULL;
	}
	p->sv = (struct ckpt_save){ .ops = &init_ops, .arg = p, .r = peer, .mem = p->mem,
		.mem_size = p->mem_size, .memfd = (di.mem_flags & HV_MEM_SPARSE_FILE) ? p->memfd : -1,
		.bitmap = p->bitmap, .bmlen = p->bmlen };
	if (ckpt_save_init(&p->sv, CKPT_LZ4_AUTO) < 0)
		return snprintf(p->err, sizeof(p->err), "%s", p->sv.err), -1;
	if (ckpt_write_header(peer, CKPT_F_LZ4) < 0 ||
	    ckpt_write_domain(peer, name, di.mem, di.vcpus, di.net, h->ops->name, h->ops->guest,
	    &map) < 0 ||
	    ckpt_save_live(&p->sv) < 0)
		return snprintf(p->err, sizeof(p->err), "initial copy: %.400s",
		    p->sv.err[0] ? p->sv.err : rio_error(peer)), -1;
	p->sv.b.lz4 = CKPT_LZ4_OFF;	/* epochs are staged while the guest waits */
	pace_init(&p->pace);
	p->pace.throttle = p->throttle;	/* epochs give back what the initial copy took */
	return primary_epoch(p);
}

/* the backup's answer to the next epoch in flight, which releases its output */
static int read_ack(struct primary *p)
{
	struct ckpt_record rec = { 0 };
	uint64_t e = p->epoch + 1, got = 0;
	char err[200];
	int r = -1;

	if (ckpt_read_record(p->peer, &rec) < 0)
		snprintf(p->err, sizeof(p->err), "epoch %llu: no acknowledgement: %s",
		    (unsigned long long)e, rio_error(p->peer));
	else if (rec.type != CK_EPOCH_ACK || ckpt_u64_decode(rec.body, rec.len, &got, err, sizeof(err)) < 0)
		snprintf(p->err, sizeof(p->err), "epoch %llu: the backup sent %s", (unsigned long long)e,
		    ckpt_type_name(rec.type));
	else if (got != e || e > p->taken)
		snprintf(p->err, sizeof(p->err), "the backup acknowledged epoch %llu, after %llu of "
		    "%llu sent", (unsigned long long)got, (unsigned long long)p->epoch,
		    (unsigned long long)p->taken);
	else
		r = 0;
	ckpt_record_free(&rec);
	if (r < 0)
		return -1;
	p->send_ns = now_ns() - p->posted_ns[e % PRIMARY_DEPTH];
	p->epoch = e;
	if (p->acked)
		p->acked(p->progress_arg, e, p->send_ns);
	if (p->hold && p->h->ops->nic_release(p->h, p->name, e) < 0)
		return fail(p, "releasing the output");
	return 0;
}

int primary_acks(struct primary *p, uint64_t upto, uint64_t until_ns)
{
	for (;;) {
		if (p->epoch < upto) {
			if (read_ack(p) < 0)
				return -1;
			continue;
		}
		uint64_t now = now_ns();
		if (now >= until_ns)
			return 0;
		uint64_t left = until_ns - now;
		if (left < 1000000) {	/* poll(2) counts milliseconds */
			usleep((useconds_t)(left / 1000));
			continue;
		}
		/* anything that comes is an acknowledgement, or the stream's end */
		if (rio_readable(p->peer, (int)(left / 1000000)) && read_ack(p) < 0)
			return -1;
	}
}

/* the whole pause in one hypervisor call; the pages wait in its stage */
static int checkpoint_staged(struct primary *p, uint64_t e, uint64_t t0)
{
	struct hv *h = p->h;
	if (h->ops->domain_checkpoint_staged(h, p->name, p->hold ? e : 0, &p->st) < 0) {
		fail(p, "checkpoint");
		h->ops->domain_unpause(h, p->name);	/* it may have stayed paused */
		return -1;
	}
	p->call_ns = now_ns() - t0;
	p->staged = 1;
	if (ckpt_save_merge(&p->sv) != p->st.dirty)
		return snprintf(p->err, sizeof(p->err), "epoch %llu: %llu pages to send, %llu staged",
		    (unsigned long long)e, (unsigned long long)p->sv.dirty,
		    (unsigned long long)p->st.dirty), -1;
	p->pages = p->sv.dirty;
	p->park_ns = p->st.pause_ns, p->peek_ns = p->st.peek_ns, p->state_ns = p->st.state_ns;
	p->pause_ns = p->st.paused_ns;
	p->stage_ns = p->st.copy_ns;
	p->resume_ns = 0;
	return 0;
}

int primary_checkpoint(struct primary *p)
{
	struct hv *h = p->h;
	struct hv_saved st;
	uint64_t e = p->taken + 1, t0 = now_ns();
	if (p->taken >= p->epoch + PRIMARY_DEPTH)
		return snprintf(p->err, sizeof(p->err), "epoch %llu: %u epochs wait for their "
		    "acknowledgement", (unsigned long long)e, PRIMARY_DEPTH), -1;
	if (p->staged_mem && !p->sv.dirty)	/* nothing pending from before */
		return checkpoint_staged(p, e, t0);
	int r = p->hold ? h->ops->domain_checkpoint(h, p->name, e, &st) :
	    h->ops->domain_suspend(h, p->name, &st);

	if (r < 0) {
		fail(p, "checkpoint");
		h->ops->domain_unpause(h, p->name);	/* it may have paused */
		return -1;
	}
	uint64_t t1 = now_ns();
	p->park_ns = st.pause_ns, p->peek_ns = st.peek_ns, p->state_ns = st.state_ns;
	ckpt_save_merge(&p->sv);
	p->pages = p->sv.dirty;
	rio_mem_reset(p->stage);
	p->sv.r = p->stage;
	r = ckpt_save_state(&p->sv, st.vcpu, st.vcpu_len, st.dev, st.dev_len, CK_CHECKPOINT, e);
	p->sv.r = p->peer;
	hv_saved_free(&st);
	uint64_t t2 = now_ns();
	if (h->ops->domain_unpause(h, p->name) < 0)
		return fail(p, "resume");
	p->pause_ns = now_ns() - t0;
	p->call_ns = t1 - t0;
	p->stage_ns = t2 - t1;
	p->resume_ns = t0 + p->pause_ns - t2;
	if (r < 0)
		return snprintf(p->err, sizeof(p->err), "staging epoch %llu: %.400s", (unsigned long long)e,
		    p->sv.err), -1;
	return 0;
}

/* a staged epoch, encoded from the stage straight onto the stream */
static int send_staged(struct primary *p, uint64_t e, size_t *len)
{
	uint64_t w0 = p->peer->bytes_written;
	p->sv.stage = p->staged_mem;
	int r = ckpt_save_state(&p->sv, p->st.vcpu, p->st.vcpu_len, p->st.dev, p->st.dev_len,
	    CK_CHECKPOINT, e);
	p->sv.stage = NULL;
	p->staged = 0;
	hv_saved_free(&p->st);
	*len = (size_t)(p->peer->bytes_written - w0);
	if (r < 0)
		return snprintf(p->err, sizeof(p->err), "sending epoch %llu: %.400s",
		    (unsigned long long)e, p->sv.err), -1;
	return 0;
}

int primary_encode(struct primary *p, const uint8_t **b, size_t *len)
{
	if (p->staged) {
		struct rio *peer = p->peer;
		rio_mem_reset(p->stage);
		p->peer = p->sv.r = p->stage;
		int r = send_staged(p, p->taken + 1, len);
		p->peer = p->sv.r = peer;
		if (r < 0)
			return -1;
	}
	*b = rio_mem_data(p->stage, len);
	return 0;
}

int primary_post(struct primary *p)
{
	uint64_t e = p->taken + 1, t1 = now_ns();
	size_t len;

	p->posted_ns[e % PRIMARY_DEPTH] = t1;
	if (p->staged) {
		if (send_staged(p, e, &len) < 0)
			return -1;
	} else {
		const uint8_t *b = rio_mem_data(p->stage, &len);
		if (rio_write(p->peer, b, len) < 0 || rio_flush(p->peer) < 0)
			return snprintf(p->err, sizeof(p->err), "sending epoch %llu: %s",
			    (unsigned long long)e, rio_error(p->peer)), -1;
	}
	p->post_ns = now_ns() - t1;
	p->bytes = len;
	p->taken = e;
	return 0;
}

/* an epoch taken and sent (taken is 1 at least), then the acknowledgements
 * up to back epochs before it */
static int epoch_then(struct primary *p, uint64_t back)
{
	uint64_t t0 = now_ns();
	if (primary_checkpoint(p) < 0 || primary_post(p) < 0 || primary_acks(p, p->taken - back, 0) < 0)
		return -1;
	p->busy_ns = now_ns() - t0;
	return 0;
}

int primary_epoch(struct primary *p)
{
	return epoch_then(p, 0);
}

int primary_step(struct primary *p)
{
	return epoch_then(p, PRIMARY_DEPTH - 1);
}

/* After an epoch: the throttle pace.c asks for, from the epoch's length */
int primary_pace(struct primary *p, uint64_t target_ns)
{
	uint64_t busy = p->busy_ns;
	unsigned t = pace_next(&p->pace, busy, target_ns);
	if (t == p->throttle)
		return 0;
	log_info("%s: epoch %llu took %.1f ms of a %.1f ms epoch: %s: guest throttled to %u%% (pace %s)",
	    p->name, (unsigned long long)p->taken, (double)busy / 1e6, (double)target_ns / 1e6,
	    p->pace.why ? p->pace.why : "pace", t, pace_state_name(p->pace.state));
	return throttle_to(p, t) < 0 ? fail(p, "throttling") : 0;
}

void primary_stop(struct primary *p, int unprotect)
{
	if (!p->h)
		return;
	if (unprotect && p->hold && p->h->ops->nic_hold(p->h, p->name, 0, 0) < 0)
		log_warnx("%s: ending the hold: %s", p->name, hv_error(p->h));
	p->hold = 0;
	if (unprotect) {
		p->h->ops->logdirty(p->h, p->name, 0, 0, NULL, NULL);
		if (p->throttle)
			p->h->ops->throttle(p->h, p->name, 0);
	}
	if (p->mem)
		munmap(p->mem, p->mem_size);
	if (p->bitmap)
		munmap(p->bitmap, p->bmlen);
	if (p->memfd >= 0)
		close(p->memfd);
	p->mem = NULL;
	p->bitmap = NULL;
	p->memfd = -1;
	ckpt_save_free(&p->sv);
	if (p->stage)
		rio_close(p->stage);
	p->stage = NULL;
	if (p->staged_mem)
		munmap(p->staged_mem, p->staged_size);
	p->staged_mem = NULL;
	p->staged = 0;
	hv_saved_free(&p->st);
}
