/*
 * fuzz_restore.c - libFuzzer target for the restore engine
 * (libckpt/restore.c) in checkpointed mode, the backup's: any bytes as a
 * stream into a 16 MiB guest in memory; epochs are buffered, checked and
 * applied, transport records refused.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ckpt.h"

#define GUEST (16u << 20)
static uint8_t *mem;

static int f_domain(struct ckpt_restore *rs, const struct ckpt_domain *d)
{
	if (d->mem > GUEST || ckpt_domain_pages(d) > GUEST / CKPT_PAGE_SIZE)
		return -1;
	rs->mem = mem;
	return 0;
}

static int f_state(struct ckpt_restore *rs, const struct ckpt_record *v, const struct ckpt_record *d)
{
	(void)rs;
	return v->len && d->len ? 0 : -1;
}

static int f_checkpoint(struct ckpt_restore *rs, uint64_t epoch)
{
	(void)rs;
	(void)epoch;
	return 0;
}

static const struct ckpt_restore_ops ops = { .domain = f_domain, .state = f_state,
	.checkpoint = f_checkpoint };

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!mem)
		mem = malloc(GUEST);
	struct rio *r = rio_mem_reader(data, size);
	struct ckpt_restore rs = { .ops = &ops, .r = r, .checkpointed = 1, .epoch_max = 1 << 20 };
	if (ckpt_restore_init(&rs) == 0)
		ckpt_restore_run(&rs);
	ckpt_restore_free(&rs);
	rio_close(r);
	return 0;
}
