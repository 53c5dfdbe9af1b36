/*
 * place.c - where a VM goes: the up, active host with the most free memory
 * (its configured capacity minus what the table has it run or receive)
 * that fits the VM; ties go to the lowest node.  Used for restarts, for
 * evacuation plans and for the "fails over to" column of tandem status.
 */
#include "fenced.h"

uint64_t place_free(const struct table *t, const struct fconf *c, uint32_t node)
{
	const struct cf_host *h = conf_host(c, node);
	uint64_t used = table_host_load(t, node);
	return h && h->mem > used ? h->mem - used : 0;
}

uint32_t place_pick(const struct table *t, const struct fconf *c, uint64_t mem, uint32_t exclude,
    uint64_t *extra)
{
	uint32_t best = 0;
	uint64_t best_free = 0;
	for (size_t i = 0; i < t->nhost; i++) {
		const struct thost *h = &t->host[i];
		if (h->node == exclude || h->status != HS_UP || h->mode != HM_ACTIVE)
			continue;
		uint64_t f = place_free(t, c, h->node), x = extra ? extra[i] : 0;
		f = f > x ? f - x : 0;
		if (f >= mem && (!best || f > best_free || (f == best_free && h->node < best))) {
			best = h->node;
			best_free = f;
		}
	}
	if (best && extra)
		for (size_t i = 0; i < t->nhost; i++)
			if (t->host[i].node == best)
				extra[i] += mem;
	return best;
}
