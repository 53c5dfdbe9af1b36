/*
 * devices.c - the registry of a VM's devices.  A device claims a range of
 * port or MMIO space; the vCPU loop hands every port and MMIO exit to the
 * registry, which finds the device whose range holds the access.  A device
 * with state owns its save/restore pair: save writes a versioned blob under
 * the device's own attribute of the DEVICE_STATE list; check validates a
 * blob whole without touching the live device; load replaces the live
 * state from a blob that passed check.  Restoring a VM checks every
 * device's blob before it loads any, so a bad stream changes nothing.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "hvd.h"

int dev_register(struct devices *ds, const struct dev_ops *ops, enum dev_space space,
    uint64_t base, uint64_t len, void *priv)
{
	if (!len || base + len < base || ds->n >= DEV_MAX) {
		errno = EINVAL;
		return -1;
	}
	for (int i = 0; i < ds->n; i++) {
		const struct device *o = &ds->d[i];
		if (o->space == space && base < o->base + o->len && o->base < base + len) {
			errno = EEXIST;	/* two devices may not claim one address */
			return -1;
		}
	}
	ds->d[ds->n++] = (struct device){ ops, space, base, len, priv };
	return 0;
}

struct device *dev_find(struct devices *ds, enum dev_space space, uint64_t addr, unsigned size)
{
	for (int i = 0; i < ds->n; i++) {
		struct device *d = &ds->d[i];
		if (d->space == space && addr >= d->base && addr - d->base < d->len &&
		    size <= d->len - (addr - d->base))
			return d;
	}
	return NULL;
}

int dev_dispatch(struct devices *ds, struct vcpu *v, enum dev_space space, uint64_t addr,
    int is_write, uint8_t *data, unsigned size)
{
	struct device *d = dev_find(ds, space, addr, size);
	if (!d) {
		if (!is_write)
			memset(data, 0xff, size);	/* nothing there: the bus floats */
		return -1;
	}
	d->ops->io(d, v, addr - d->base, is_write, data, size);
	return 0;
}

int dev_save_all(struct devices *ds, struct msg_out *out)
{
	uint8_t buf[DEV_STATE_MAX];
	for (int i = 0; i < ds->n; i++) {
		struct device *d = &ds->d[i];
		if (!d->ops->save)
			continue;
		size_t n = d->ops->save(d, buf, sizeof(buf));
		if (!n) {
			errno = ENOSPC;
			return -1;
		}
		msg_add_blob(out, d->ops->state_attr, buf, n);
	}
	return 0;
}

int dev_load_all(struct devices *ds, const struct msg_in *m, char *err, size_t errlen)
{
	for (int pass = 0; pass < 2; pass++)	/* check every blob, then load them all */
		for (int i = 0; i < ds->n; i++) {
			struct device *d = &ds->d[i];
			if (!d->ops->save)
				continue;
			uint16_t a = d->ops->state_attr;
			if (!m->val[a]) {
				snprintf(err, errlen, "device state: no %s state", d->ops->name);
				errno = EINVAL;
				return -1;
			}
			if (pass == 0 && d->ops->check(d, m->val[a], m->vlen[a]) < 0) {
				snprintf(err, errlen, "device state: malformed %s state", d->ops->name);
				errno = EINVAL;
				return -1;
			}
			if (pass == 1)
				d->ops->load(d, m->val[a], m->vlen[a]);
		}
	return 0;
}

int dev_claims_attr(const struct devices *ds, uint16_t attr)
{
	for (int i = 0; i < ds->n; i++)
		if (ds->d[i].ops->save && ds->d[i].ops->state_attr == attr)
			return 1;
	return 0;
}

void dev_idle_all(struct devices *ds)
{
	for (int i = 0; i < ds->n; i++)
		if (ds->d[i].ops->idle)
			ds->d[i].ops->idle(&ds->d[i]);
}

void dev_state_all(struct devices *ds, enum dom_state to)
{
	for (int i = 0; i < ds->n; i++)
		if (ds->d[i].ops->state)
			ds->d[i].ops->state(&ds->d[i], to);
}
