/*
 * shadow.c - the backup side of a protected VM: a paused shadow domain that
 * holds exactly the last epoch the primary sent whole.
 *
 * The restore engine (libckpt/restore.c) runs in checkpointed mode: the
 * initial copy goes straight into the shadow's memory, and each later epoch
 * is checked and buffered until its CHECKPOINT, then applied, pages and
 * state, and acknowledged (EPOCH_ACK) on the same stream.  When the stream
 * ends or breaks, mid-epoch or not, the shadow holds the last acknowledged
 * epoch and nothing of the next; resuming it is the failover's business.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "msg.h"
#include "remus.h"

static int hook_domain(struct ckpt_restore *rs, const struct ckpt_domain *d)
{
	struct shadow *s = rs->arg;
	struct hv *h = s->h;
	struct hv_dominfo di;

	if (ckpt_domain_fits(d, h->ops->name, h->ops->guest, rs->err, sizeof(rs->err)) < 0)
		return -1;
	if (h->ops->domain_create_incoming(h, s->name, d->mem, d->vcpus, d->net[0] ? d->net : NULL,
	    &d->map) < 0)
		return snprintf(rs->err, sizeof(rs->err), "creating the shadow %s: %s", s->name,
		    hv_error(h)), -1;
	s->created = 1;
	if (h->ops->domain_info(h, s->name, &di) < 0 ||
	    h->ops->mem_map(h, s->name, (di.mem_flags & HV_MEM_SPARSE_FILE) ? NULL : &s->mem, &s->mem_size,
	    &s->fd) < 0)
		return snprintf(rs->err, sizeof(rs->err), "the shadow's memory: %s", hv_error(h)), -1;
	rs->mem = s->mem;
	rs->fd = s->fd;
	if (s->mem_size / CKPT_PAGE_SIZE < rs->npages)
		rs->npages = s->mem_size / CKPT_PAGE_SIZE;
	return 0;
}

static int hook_state(struct ckpt_restore *rs, const struct ckpt_record *vcpu,
    const struct ckpt_record *dev)
{
	struct shadow *s = rs->arg;
	if (s->h->ops->state_set(s->h, s->name, vcpu->body, vcpu->len, dev->body, dev->len) == 0)
		return 0;
	return snprintf(rs->err, sizeof(rs->err), "loading the state: %s", hv_error(s->h)), -1;
}

static int hook_checkpoint(struct ckpt_restore *rs, uint64_t epoch)
{
	struct shadow *s = rs->arg;
	uint8_t b[8];
	s->epoch = epoch;
	le64_put(b, epoch);
	if (ckpt_send(s->r, CK_EPOCH_ACK, b, sizeof(b)) == 0) {
		if (s->applied)
			s->applied(s, epoch);
		return 0;
	}
	return snprintf(rs->err, sizeof(rs->err), "acknowledging epoch %llu: %s",
	    (unsigned long long)epoch, rio_error(s->r)), -1;
}

/* the primary's ABORT ends the protection; nothing else of the transport's belongs here */
static int hook_other(struct ckpt_restore *rs, const struct ckpt_record *rec)
{
	struct shadow *s = rs->arg;
	if (rec->type != CK_ABORT)
		return snprintf(rs->err, sizeof(rs->err), "%s in a protection's stream",
		    ckpt_type_name(rec->type)), -1;
	s->aborted = 1;
	snprintf(rs->err, sizeof(rs->err), "the primary ended the protection: %.*s",
	    (int)(rec->len > 400 ? 400 : rec->len), (const char *)rec->body);
	return 1;
}

static int hook_applying(struct ckpt_restore *rs, uint64_t epoch)
{
	struct shadow *s = rs->arg;
	if (s->applying)
		s->applying(s, epoch);
	return 0;
}

static const struct ckpt_restore_ops shadow_ops = {
	.domain = hook_domain,
	.applying = hook_applying,
	.state = hook_state,
	.checkpoint = hook_checkpoint,
	.other = hook_other,
};

int shadow_run(struct shadow *s)
{
	struct ckpt_restore rs = { .ops = &shadow_ops, .arg = s, .r = s->r, .checkpointed = 1 };

	s->fd = -1;
	s->epoch = 0;
	s->created = 0;
	s->aborted = 0;
	if (ckpt_restore_init(&rs) == 0)
		ckpt_restore_run(&rs);	/* a protection's stream only ever ends by breaking */
	snprintf(s->err, sizeof(s->err), "%s", rs.err);
	ckpt_restore_free(&rs);
	if (s->mem)
		munmap(s->mem, s->mem_size);
	if (s->fd >= 0)
		close(s->fd);
	s->mem = NULL;
	s->fd = -1;
	return s->epoch ? 0 : -1;
}
