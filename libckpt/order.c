/*
 * order.c - which record may come next in a stream, as a small state
 * machine: START -> DOMAIN_HEADER -> {pages, rounds, state, checkpoints}
 * -> END.  Both the receiver and ckpt-verify use it, so they agree.
 */
#include <stdio.h>

#include "ckpt.h"

static const char *const phase_name[] = { "start", "domain", "state", "ended" };

int ckpt_order_next(struct ckpt_order *o, uint32_t type, char *err, size_t errlen)
{
	if (o->phase == CKO_ENDED) {
		snprintf(err, errlen, "%s record after END", ckpt_type_name(type));
		return -1;
	}
	if (o->phase == CKO_START) {
		if (type != CK_DOMAIN_HEADER) {
			snprintf(err, errlen, "stream starts with %s, not DOMAIN_HEADER",
			    ckpt_type_name(type));
			return -1;
		}
		o->phase = CKO_DOMAIN;
		return 0;
	}
	switch (type) {
	case CK_DOMAIN_HEADER:
		snprintf(err, errlen, "second DOMAIN_HEADER (in phase %s)", phase_name[o->phase]);
		return -1;
	case CK_PAGE_DATA:	/* also after a state's records: they belong to it until its end */
		return 0;
	case CK_VCPU_STATE:
	case CK_DEVICE_STATE: {
		int *have = type == CK_VCPU_STATE ? &o->have_vcpu : &o->have_dev;
		if (*have) {
			snprintf(err, errlen, "%s twice in one state", ckpt_type_name(type));
			return -1;
		}
		*have = 1;
		o->phase = CKO_STATE;
		return 0;
	}
	case CK_CHECKPOINT:
	case CK_END:
		if (!o->have_vcpu || !o->have_dev) {
			snprintf(err, errlen, "%s without %s", ckpt_type_name(type),
			    o->have_vcpu ? "DEVICE_STATE" : "VCPU_STATE");
			return -1;
		}
		o->have_vcpu = o->have_dev = 0;
		o->phase = type == CK_END ? CKO_ENDED : CKO_DOMAIN;
		return 0;
	default:
		if (type & CKPT_OPTIONAL)
			return 0;
		snprintf(err, errlen, "unknown record type %u", type);
		return -1;
	}
}
