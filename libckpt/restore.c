/*
 * restore.c - the restore engine: one handler per record type, shared by
 * live migration's receiver and Remus' backup, in the manner of Xen's
 * xg_sr_restore.c.
 *
 * It reads the image header and then records until END, checking their
 * order (order.c).  DOMAIN_HEADER asks the caller for the target (its
 * memory as a mapping or as a file); each PAGE_DATA batch is checked whole
 * before any of it is written; a state's VCPU_STATE and DEVICE_STATE are
 * kept until the caller's state hook loads them.
 *
 * Checkpointed mode (Remus): until the first CHECKPOINT the stream is the
 * initial copy into a shadow that holds no state yet, applied as it comes.
 * From then on every record of an epoch is checked and buffered, and only
 * its CHECKPOINT applies it, pages then state, before the checkpoint hook
 * acknowledges it: a stream that breaks, or a record that is corrupt or out
 * of order, anywhere in an epoch leaves the last complete epoch intact.
 * Epoch numbers must grow.  Records the engine does not know as stream
 * records (a migration's SYNC and transport messages) go to the caller.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ckpt.h"
#include "msg.h"

int ckpt_restore_init(struct ckpt_restore *rs)
{
	rs->fd = -1;
	rs->err[0] = 0;
	if (!rs->epoch_max)
		rs->epoch_max = CKPT_EPOCH_MAX;
	if (!(rs->scratch = malloc((size_t)CKPT_BATCH_MAX * CKPT_PAGE_SIZE))) {
		snprintf(rs->err, sizeof(rs->err), "out of memory");
		return -1;
	}
	return 0;
}

static void epoch_drop(struct ckpt_restore *rs)
{
	for (size_t i = 0; i < rs->ep_n; i++)
		free(rs->ep[i].body);
	rs->ep_n = 0;
	rs->ep_bytes = 0;
}

void ckpt_restore_free(struct ckpt_restore *rs)
{
	epoch_drop(rs);
	free(rs->ep);
	rs->ep = NULL;
	rs->ep_cap = 0;
	ckpt_record_free(&rs->vcpu);
	ckpt_record_free(&rs->dev);
	free(rs->scratch);
	rs->scratch = NULL;
}

/* From the first applied CHECKPOINT on, in checkpointed mode */
static int buffering(const struct ckpt_restore *rs)
{
	return rs->checkpointed && rs->epoch > 0;
}

/* A checked batch into the target. */
static int pages_write(struct ckpt_restore *rs, const uint8_t *body, size_t len, uint32_t *n)
{
	if (ckpt_pages_check(body, len, rs->npages, rs->scratch, n, NULL, rs->err, sizeof(rs->err)) < 0)
		return -1;
	rio_turn(rs->r);	/* a batch's check and its copy each take up to ~0.5 ms */
	uint64_t t = ckpt_now_ns();
	if (rs->mem)
		ckpt_pages_copy(body, rs->mem, rs->scratch);
	else if (ckpt_pages_pwrite(body, rs->fd, rs->scratch) < 0)
		return snprintf(rs->err, sizeof(rs->err), "writing guest memory: %s", strerror(errno)), -1;
	rs->apply_ns += ckpt_now_ns() - t;
	rio_turn(rs->r);
	rs->pages += *n;
	if (rs->ops->applied)
		rs->ops->applied(rs, *n);
	return 0;
}

/* Takes the record's body into the epoch (rec is left empty). */
static int epoch_keep(struct ckpt_restore *rs, struct ckpt_record *rec)
{
	if (rs->ep_bytes + rec->len > rs->epoch_max)
		return snprintf(rs->err, sizeof(rs->err), "epoch %llu is over %llu bytes",
		    (unsigned long long)rs->epoch + 1, (unsigned long long)rs->epoch_max), -1;
	if (rs->ep_n == rs->ep_cap) {
		size_t cap = rs->ep_cap ? 2 * rs->ep_cap : 64;
		void *p = realloc(rs->ep, cap * sizeof(*rs->ep));
		if (!p)
			return snprintf(rs->err, sizeof(rs->err), "out of memory"), -1;
		rs->ep = p;
		rs->ep_cap = cap;
	}
	rs->ep[rs->ep_n].body = rec->body;
	rs->ep[rs->ep_n].len = rec->len;
	rs->ep_n++;
	rs->ep_bytes += rec->len;
	*rec = (struct ckpt_record){ 0 };
	return 0;
}

static int state_load(struct ckpt_restore *rs)
{
	if (rs->ops->state(rs, &rs->vcpu, &rs->dev) < 0) {
		if (!rs->err[0])
			snprintf(rs->err, sizeof(rs->err), "loading the state failed");
		return -1;
	}
	rs->loaded = 1;
	return 0;
}

/* CHECKPOINT: the epoch's pages, then its state, then the acknowledgement */
static int checkpoint(struct ckpt_restore *rs, const struct ckpt_record *rec)
{
	uint64_t epoch;
	if (!rs->checkpointed || !rs->ops->checkpoint)
		return snprintf(rs->err, sizeof(rs->err), "CHECKPOINT in a stream that takes none"), -1;
	if (ckpt_u64_decode(rec->body, rec->len, &epoch, rs->err, sizeof(rs->err)) < 0)
		return -1;
	/* each epoch holds the pages dirtied since the one before: a number
	 * skipped is an epoch lost, one repeated or older is out of order */
	if (epoch != rs->epoch + 1)
		return snprintf(rs->err, sizeof(rs->err), "epoch %llu after epoch %llu: epochs come "
		    "one after another", (unsigned long long)epoch, (unsigned long long)rs->epoch), -1;
	if (rs->ops->applying && rs->ops->applying(rs, epoch) < 0)
		return -1;
	for (size_t i = 0; i < rs->ep_n; i++) {
		uint32_t n;
		if (pages_write(rs, rs->ep[i].body, rs->ep[i].len, &n) < 0)
			return -1;	/* checked on arrival: cannot happen */
	}
	epoch_drop(rs);
	if (state_load(rs) < 0)
		return -1;
	rs->epoch = epoch;
	return rs->ops->checkpoint(rs, epoch);
}

static int handle(struct ckpt_restore *rs, struct ckpt_record *rec, int *done)
{
	switch (rec->type) {
	case CK_DOMAIN_HEADER: {
		struct ckpt_domain d;
		if (ckpt_domain_decode(rec->body, rec->len, &d, rs->err, sizeof(rs->err)) < 0)
			return -1;
		rs->npages = ckpt_domain_pages(&d);	/* the hook may find less */
		if (rs->ops->domain(rs, &d) < 0)
			return -1;
		if (!rs->mem && rs->fd < 0)
			return snprintf(rs->err, sizeof(rs->err), "no memory to restore into"), -1;
		return 0;
	}
	case CK_PAGE_DATA: {
		uint32_t n;
		if (!buffering(rs))
			return pages_write(rs, rec->body, rec->len, &n);
		if (ckpt_pages_check(rec->body, rec->len, rs->npages, rs->scratch, &n, NULL, rs->err,
		    sizeof(rs->err)) < 0)
			return -1;
		return epoch_keep(rs, rec);
	}
	case CK_ROUND: {
		struct ckpt_round rd;
		if (ckpt_round_decode(rec->body, rec->len, &rd, rs->err, sizeof(rs->err)) < 0)
			return -1;
		if (!rd.left)
			rs->final = 1;
		return rs->ops->round ? rs->ops->round(rs, &rd) : 0;
	}
	case CK_VCPU_STATE:
	case CK_DEVICE_STATE: {
		struct ckpt_record *keep = rec->type == CK_VCPU_STATE ? &rs->vcpu : &rs->dev;
		struct ckpt_record t = *keep;
		*keep = *rec;
		*rec = t;
		*(keep == &rs->vcpu ? &rs->have_vcpu : &rs->have_dev) = 1;
		rs->loaded = 0;
		/* a live migration's last state: loaded while its pages are on the wire */
		if (!rs->checkpointed && rs->final && rs->have_vcpu && rs->have_dev)
			return state_load(rs);
		return 0;
	}
	case CK_CHECKPOINT:
		rs->have_vcpu = rs->have_dev = rs->final = 0;
		return checkpoint(rs, rec);
	case CK_END:
		if (!rs->loaded && state_load(rs) < 0)
			return -1;
		if (rs->ops->state_wait && rs->ops->state_wait(rs) < 0) {
			if (!rs->err[0])
				snprintf(rs->err, sizeof(rs->err), "loading the state failed");
			return -1;
		}
		*done = 1;
		return rs->ops->end ? rs->ops->end(rs) : 0;
	default:
		return 0;	/* optional, unknown: skipped */
	}
}

int ckpt_restore_run(struct ckpt_restore *rs)
{
	struct ckpt_record rec = { 0 };
	uint32_t features;
	int done = 0, rc = -1;

	if (ckpt_read_header(rs->r, &features) < 0)
		goto rio;
	while (!done) {
		if (ckpt_read_record(rs->r, &rec) < 0)
			goto rio;
		if (rec.type >= CK_HELLO && !(rec.type & CKPT_OPTIONAL)) {	/* the caller's */
			int r = rs->ops->other ? rs->ops->other(rs, &rec) :
			    (snprintf(rs->err, sizeof(rs->err), "%s in a saved stream",
			    ckpt_type_name(rec.type)), -1);
			if (r < 0)
				goto out;
			done = r > 0;
			continue;
		}
		if (ckpt_order_next(&rs->ord, rec.type, rs->err, sizeof(rs->err)) < 0 ||
		    handle(rs, &rec, &done) < 0)
			goto out;
	}
	rc = 0;
	goto out;
rio:
	snprintf(rs->err, sizeof(rs->err), "%s", rio_error(rs->r));
out:
	if (rc < 0)
		epoch_drop(rs);	/* an epoch not complete is never applied */
	ckpt_record_free(&rec);
	return rc;
}
