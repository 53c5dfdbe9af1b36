/*
 * vmstate.c - vCPU, platform and device state as versioned blobs.
 *
 * The vCPU blob is an attribute list (proto/msg.h): a version, the VM-wide
 * KVM clock and irqchips (PIC master/slave, IOAPIC), then one nested list per
 * vCPU with its registers, sregs, xsave, xcrs, a list of MSRs (with the TSC,
 * so guest time continues), LAPIC, pending events and MP state.  KVM's own
 * structs travel as fixed-size blobs (they are kernel ABI), and every size is
 * checked on load.  Loading follows QEMU's order: regs, xsave, xcrs, sregs,
 * msrs, mp_state, lapic, events; the clock goes last.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

#include "hvd.h"

#define VMSTATE_VERSION 1

enum { VC_ID = 1, VC_REGS, VC_SREGS, VC_XSAVE, VC_XCRS, VC_MSRS, VC_LAPIC, VC_EVENTS, VC_MPSTATE };

static const enum msg_kind vs_kinds[MSG_ATTR_MAX] = {
	[VS_VERSION] = MK_U32, [VS_NVCPUS] = MK_U32, [VS_CLOCK] = MK_BLOB, [VS_PIC0] = MK_BLOB,
	[VS_PIC1] = MK_BLOB, [VS_IOAPIC] = MK_BLOB, [VS_VCPU] = MK_BLOB, [VS_UART] = MK_BLOB,
	[VS_NET] = MK_BLOB,
};
static const char *const vs_names[MSG_ATTR_MAX] = {
	[VS_VERSION] = "version", [VS_NVCPUS] = "nvcpus", [VS_CLOCK] = "clock",
	[VS_PIC0] = "pic-master", [VS_PIC1] = "pic-slave", [VS_IOAPIC] = "ioapic",
	[VS_VCPU] = "vcpu", [VS_UART] = "uart", [VS_NET] = "net",
};
static const struct msg_policy vs_policy[] = {
	{ "vm-state", 0x1fe & ~(1U << VS_UART), (1U << VS_VERSION) | (1U << VS_NVCPUS) |
		(1U << VS_CLOCK) | (1U << VS_PIC0) | (1U << VS_PIC1) | (1U << VS_IOAPIC),
		1U << VS_VCPU },
	{ "device-state", (1U << VS_VERSION) | (1U << VS_UART) | (1U << VS_NET),
		(1U << VS_VERSION) | (1U << VS_UART), 0 },
};
static const struct msg_schema vs_schema = {
	.name = "vm state", .kinds = vs_kinds, .attr_names = vs_names, .policies = vs_policy,
	.ntypes = 0,
};

static const enum msg_kind vc_kinds[MSG_ATTR_MAX] = {
	[VC_ID] = MK_U32, [VC_REGS] = MK_BLOB, [VC_SREGS] = MK_BLOB, [VC_XSAVE] = MK_BLOB,
	[VC_XCRS] = MK_BLOB, [VC_MSRS] = MK_BLOB, [VC_LAPIC] = MK_BLOB, [VC_EVENTS] = MK_BLOB,
	[VC_MPSTATE] = MK_U32,
};
static const char *const vc_names[MSG_ATTR_MAX] = {
	[VC_ID] = "id", [VC_REGS] = "regs", [VC_SREGS] = "sregs", [VC_XSAVE] = "xsave",
	[VC_XCRS] = "xcrs", [VC_MSRS] = "msrs", [VC_LAPIC] = "lapic", [VC_EVENTS] = "events",
	[VC_MPSTATE] = "mp_state",
};
static const struct msg_policy vc_policy = { "vcpu-state", 0x3fe, 0x3fe, 0 };
static const struct msg_schema vc_schema = {
	.name = "vcpu state", .kinds = vc_kinds, .attr_names = vc_names, .policies = &vc_policy,
	.ntypes = 0,
};

/* MSRs that carry guest state; those KVM does not know are skipped. */
static const uint32_t saved_msrs[] = {
	0x10,			/* TSC */
	0x3b,			/* TSC_ADJUST */
	0x174, 0x175, 0x176,	/* SYSENTER_CS/ESP/EIP */
	0x1a0,			/* MISC_ENABLE */
	0x277,			/* PAT */
	0x2ff,			/* MTRR default type */
	0x6e0,			/* TSC_DEADLINE */
	0xc0000081, 0xc0000082, 0xc0000083, 0xc0000084,	/* STAR LSTAR CSTAR SFMASK */
	0xc0000102, 0xc0000103,	/* KERNEL_GS_BASE, TSC_AUX */
	0x4b564d00, 0x4b564d01, 0x4b564d02, 0x4b564d03, 0x4b564d04,	/* KVM pv */
};
#define NMSRS (sizeof(saved_msrs) / sizeof(saved_msrs[0]))

static size_t xsave_size(struct vm *vm)
{
	int n = ioctl(vm->kvm, KVM_CHECK_EXTENSION, KVM_CAP_XSAVE2);
	return n > (int)sizeof(struct kvm_xsave) ? (size_t)n : sizeof(struct kvm_xsave);
}

/* The MSRs of saved_msrs[] that this KVM supports, filled in for vCPU v. */
static struct kvm_msrs *msrs_alloc(struct vm *vm)
{
	struct kvm_msr_list *l = calloc(1, sizeof(*l) + 1024 * sizeof(uint32_t));
	struct kvm_msrs *m = calloc(1, sizeof(*m) + NMSRS * sizeof(struct kvm_msr_entry));

	if (!l || !m)
		goto fail;
	l->nmsrs = 1024;
	if (ioctl(vm->kvm, KVM_GET_MSR_INDEX_LIST, l) < 0)
		goto fail;
	for (size_t i = 0; i < NMSRS; i++)
		for (uint32_t j = 0; j < l->nmsrs; j++)
			if (l->indices[j] == saved_msrs[i]) {
				m->entries[m->nmsrs++].index = saved_msrs[i];
				break;
			}
	free(l);
	return m;
fail:
	free(l);
	free(m);
	return NULL;
}

#define GET(fd, req, p, attr)                                         \
	do {                                                          \
		what = #req;                                          \
		if (ioctl(fd, req, p) < 0)                            \
			goto fail;                                    \
		msg_add_blob(&vc, attr, p, sizeof(*(p)));             \
	} while (0)

int vmstate_save(struct vm *vm, struct msg_out *out)
{
	const char *what = "alloc";
	size_t xs = xsave_size(vm);
	struct kvm_msrs *msrs = msrs_alloc(vm);
	void *xsave = calloc(1, xs);
	struct msg_out vc = { 0 };
	struct kvm_clock_data clock;
	struct kvm_irqchip chip;

	if (!msrs || !xsave)
		goto fail;
	msg_add_u32(out, VS_VERSION, VMSTATE_VERSION);
	msg_add_u32(out, VS_NVCPUS, (uint32_t)vm->nvcpus);
	for (int i = 0; i < vm->nvcpus; i++) {
		struct vcpu *v = &vm->vcpus[i];
		struct kvm_regs regs;
		struct kvm_sregs sregs;
		struct kvm_xcrs xcrs;
		struct kvm_lapic_state lapic;
		struct kvm_vcpu_events ev;
		struct kvm_mp_state mp;

		msg_begin_attrs(&vc);
		msg_add_u32(&vc, VC_ID, (uint32_t)i);
		GET(v->fd, KVM_GET_REGS, &regs, VC_REGS);
		GET(v->fd, KVM_GET_SREGS, &sregs, VC_SREGS);
		what = "KVM_GET_XSAVE";
		if (ioctl(v->fd, xs > sizeof(struct kvm_xsave) ? KVM_GET_XSAVE2 : KVM_GET_XSAVE,
		    xsave) < 0)
			goto fail;
		msg_add_blob(&vc, VC_XSAVE, xsave, xs);
		GET(v->fd, KVM_GET_XCRS, &xcrs, VC_XCRS);
		what = "KVM_GET_MSRS";
		if (ioctl(v->fd, KVM_GET_MSRS, msrs) != (int)msrs->nmsrs)
			goto fail;
		uint8_t *p = msg_reserve(&vc, VC_MSRS, msrs->nmsrs * 12);
		for (uint32_t k = 0; p && k < msrs->nmsrs; k++) {
			le32_put(p + k * 12, msrs->entries[k].index);
			le64_put(p + k * 12 + 4, msrs->entries[k].data);
		}
		GET(v->fd, KVM_GET_LAPIC, &lapic, VC_LAPIC);
		GET(v->fd, KVM_GET_VCPU_EVENTS, &ev, VC_EVENTS);
		what = "KVM_GET_MP_STATE";
		if (ioctl(v->fd, KVM_GET_MP_STATE, &mp) < 0)
			goto fail;
		msg_add_u32(&vc, VC_MPSTATE, mp.mp_state);
		if (vc.err) {
			errno = vc.err;
			goto fail;
		}
		msg_add_blob(out, VS_VCPU, vc.buf, vc.len);
		msg_free(&vc);
	}
	static const uint16_t chip_attr[] = { VS_PIC0, VS_PIC1, VS_IOAPIC };
	for (uint32_t c = 0; c < 3; c++) {
		memset(&chip, 0, sizeof(chip));
		chip.chip_id = c;
		what = "KVM_GET_IRQCHIP";
		if (ioctl(vm->fd, KVM_GET_IRQCHIP, &chip) < 0)
			goto fail;
		msg_add_blob(out, chip_attr[c], &chip, sizeof(chip));
	}
	memset(&clock, 0, sizeof(clock));
	what = "KVM_GET_CLOCK";
	if (ioctl(vm->fd, KVM_GET_CLOCK, &clock) < 0)
		goto fail;
	msg_add_blob(out, VS_CLOCK, &clock, sizeof(clock));
	free(msrs);
	free(xsave);
	return out->err ? (errno = out->err, -1) : 0;
fail:
	(void)what;
	msg_free(&vc);
	free(msrs);
	free(xsave);
	return -1;
}

static int version_ok(const struct msg_in *m, const char *what, char *err, size_t errlen)
{
	if (msg_u32(m, VS_VERSION) == VMSTATE_VERSION)
		return 1;
	snprintf(err, errlen, "%s: version %u, this hvd reads %d", what, msg_u32(m, VS_VERSION),
	    VMSTATE_VERSION);
	return 0;
}

static int want(const struct msg_in *m, int attr, size_t size, const char *name, char *err,
    size_t errlen)
{
	if (m->vlen[attr] != size) {
		snprintf(err, errlen, "vm state: %s is %u bytes, this host expects %zu", name,
		    m->vlen[attr], size);
		return -1;
	}
	return 0;
}

#define PUT(fd, req, type, attr)                                              \
	do {                                                                  \
		type tmp_;                                                    \
		if (want(&c, attr, sizeof(tmp_), vc_names[attr], err, errlen))\
			goto fail;                                            \
		memcpy(&tmp_, c.val[attr], sizeof(tmp_));                     \
		if (ioctl(fd, req, &tmp_) < 0) {                              \
			snprintf(err, errlen, "vcpu %d: %s: %s", i, #req,     \
			    strerror(errno));                                 \
			goto fail;                                            \
		}                                                             \
	} while (0)

/* Validates the whole blob before changing anything, then loads it. */
int vmstate_load(struct vm *vm, const uint8_t *buf, size_t len, char *err, size_t errlen)
{
	struct msg_in m, c;
	size_t xs = xsave_size(vm), pos = 0;
	const uint8_t *val;
	uint32_t vlen;
	void *xsave = NULL;
	struct kvm_msrs *msrs = NULL;

	if (msg_parse_attrs(&vs_schema, &vs_policy[0], buf, len, &m, err, errlen) < 0)
		return -1;
	if (!version_ok(&m, "vm state", err, errlen))
		return -1;
	if (msg_u32(&m, VS_NVCPUS) != (uint32_t)vm->nvcpus || m.count[VS_VCPU] != vm->nvcpus) {
		snprintf(err, errlen, "vm state: %u vCPUs (%u records), domain has %d",
		    msg_u32(&m, VS_NVCPUS), m.count[VS_VCPU], vm->nvcpus);
		return -1;
	}
	if (want(&m, VS_CLOCK, sizeof(struct kvm_clock_data), "clock", err, errlen) ||
	    want(&m, VS_PIC0, sizeof(struct kvm_irqchip), "pic", err, errlen) ||
	    want(&m, VS_PIC1, sizeof(struct kvm_irqchip), "pic", err, errlen) ||
	    want(&m, VS_IOAPIC, sizeof(struct kvm_irqchip), "ioapic", err, errlen))
		return -1;
	/* first pass: validate every vCPU record */
	for (int i = 0; msg_next(&m, VS_VCPU, &pos, &val, &vlen); i++) {
		if (msg_parse_attrs(&vc_schema, &vc_policy, val, vlen, &c, err, errlen) < 0)
			return -1;
		if (msg_u32(&c, VC_ID) != (uint32_t)i || c.vlen[VC_XSAVE] != xs ||
		    c.vlen[VC_MSRS] % 12 || c.vlen[VC_MSRS] / 12 > 256) {
			snprintf(err, errlen, "vm state: vcpu record %d is malformed", i);
			return -1;
		}
	}
	xsave = malloc(xs);
	msrs = calloc(1, sizeof(*msrs) + 256 * sizeof(struct kvm_msr_entry));
	if (!xsave || !msrs) {
		snprintf(err, errlen, "vm state: out of memory");
		goto fail;
	}
	pos = 0;
	for (int i = 0; msg_next(&m, VS_VCPU, &pos, &val, &vlen); i++) {
		struct vcpu *v = &vm->vcpus[i];
		msg_parse_attrs(&vc_schema, &vc_policy, val, vlen, &c, err, errlen);
		PUT(v->fd, KVM_SET_REGS, struct kvm_regs, VC_REGS);
		memcpy(xsave, c.val[VC_XSAVE], xs);
		if (ioctl(v->fd, KVM_SET_XSAVE, xsave) < 0) {
			snprintf(err, errlen, "vcpu %d: KVM_SET_XSAVE: %s", i, strerror(errno));
			goto fail;
		}
		PUT(v->fd, KVM_SET_XCRS, struct kvm_xcrs, VC_XCRS);
		PUT(v->fd, KVM_SET_SREGS, struct kvm_sregs, VC_SREGS);
		msrs->nmsrs = c.vlen[VC_MSRS] / 12;
		for (uint32_t k = 0; k < msrs->nmsrs; k++) {
			msrs->entries[k].index = le32_get(c.val[VC_MSRS] + k * 12);
			msrs->entries[k].data = le64_get(c.val[VC_MSRS] + k * 12 + 4);
		}
		int n = ioctl(v->fd, KVM_SET_MSRS, msrs);
		if (n != (int)msrs->nmsrs) {
			snprintf(err, errlen, "vcpu %d: KVM_SET_MSRS stopped at MSR 0x%x of %u", i,
			    n >= 0 && (uint32_t)n < msrs->nmsrs ? msrs->entries[n].index : 0,
			    msrs->nmsrs);
			goto fail;
		}
		struct kvm_mp_state mp = { .mp_state = msg_u32(&c, VC_MPSTATE) };
		if (ioctl(v->fd, KVM_SET_MP_STATE, &mp) < 0) {
			snprintf(err, errlen, "vcpu %d: KVM_SET_MP_STATE: %s", i, strerror(errno));
			goto fail;
		}
		PUT(v->fd, KVM_SET_LAPIC, struct kvm_lapic_state, VC_LAPIC);
		PUT(v->fd, KVM_SET_VCPU_EVENTS, struct kvm_vcpu_events, VC_EVENTS);
	}
	static const uint16_t chip_attr[] = { VS_PIC0, VS_PIC1, VS_IOAPIC };
	for (int k = 0; k < 3; k++) {
		struct kvm_irqchip chip;
		memcpy(&chip, m.val[chip_attr[k]], sizeof(chip));
		if (chip.chip_id != (uint32_t)k || ioctl(vm->fd, KVM_SET_IRQCHIP, &chip) < 0) {
			snprintf(err, errlen, "vm state: irqchip %d: %s", k, strerror(errno));
			goto fail;
		}
	}
	struct kvm_clock_data clock;
	memcpy(&clock, m.val[VS_CLOCK], sizeof(clock));
	clock.flags = 0;
	if (ioctl(vm->fd, KVM_SET_CLOCK, &clock) < 0) {
		snprintf(err, errlen, "vm state: KVM_SET_CLOCK: %s", strerror(errno));
		goto fail;
	}
	free(xsave);
	free(msrs);
	return 0;
fail:
	free(xsave);
	free(msrs);
	return -1;
}

int devstate_save(struct vm *vm, struct msg_out *out)
{
	msg_add_u32(out, VS_VERSION, VMSTATE_VERSION);
	if (dev_save_all(&vm->devs, out) < 0)
		return -1;
	return out->err ? (errno = out->err, -1) : 0;
}

int devstate_load(struct vm *vm, const uint8_t *buf, size_t len, char *err, size_t errlen)
{
	struct msg_in m;

	if (msg_parse_attrs(&vs_schema, &vs_policy[1], buf, len, &m, err, errlen) < 0)
		return -1;
	if (!version_ok(&m, "device state", err, errlen))
		return -1;
	for (uint16_t a = 1; a < MSG_ATTR_MAX; a++)
		if (a != VS_VERSION && m.val[a] && !dev_claims_attr(&vm->devs, a)) {
			snprintf(err, errlen, "device state: a %s state, and this domain has no such "
			    "device", vs_schema.attr_names[a] ? vs_schema.attr_names[a] : "unknown");
			errno = EINVAL;
			return -1;
		}
	return dev_load_all(&vm->devs, &m, err, errlen);
}
