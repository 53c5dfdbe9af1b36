/*
 * test_devices.c - the device registry: ranges are exclusive per space,
 * accesses reach the device whose range holds them (at the right offset),
 * nothing answers all ones, and a restore checks every device's blob before
 * it loads any (a bad blob for one device changes no device).  The UART's
 * save/check/load pair round-trips through the registry.
 */
#include <errno.h>
#include <string.h>

#include "hvd.h"
#include "msg.h"
#include "tap.h"

struct counter {
	uint32_t value;
	uint64_t last_off;
	int writes;
};

static void ctr_io(struct device *d, struct vcpu *v, uint64_t off, int wr, uint8_t *data,
    unsigned size)
{
	struct counter *c = d->priv;
	(void)v;
	c->last_off = off;
	if (wr) {
		c->writes++;
		memcpy(&c->value, data, size < 4 ? size : 4);
	} else
		memcpy(data, &c->value, size < 4 ? size : 4);
}

static size_t ctr_save(struct device *d, uint8_t *buf, size_t cap)
{
	struct counter *c = d->priv;
	if (cap < 5)
		return 0;
	buf[0] = 1;	/* version */
	memcpy(buf + 1, &c->value, 4);
	return 5;
}

static int ctr_check(struct device *d, const uint8_t *buf, size_t len)
{
	(void)d;
	return len == 5 && buf[0] == 1 ? 0 : (errno = EINVAL, -1);
}

static void ctr_load(struct device *d, const uint8_t *buf, size_t len)
{
	struct counter *c = d->priv;
	(void)len;
	memcpy(&c->value, buf + 1, 4);
}

static const struct dev_ops ops_a = { "a", ctr_io, ctr_save, ctr_check, ctr_load, 5, NULL, NULL };
static const struct dev_ops ops_b = { "b", ctr_io, ctr_save, ctr_check, ctr_load, 6, NULL, NULL };

int main(void)
{
	struct devices ds = { .n = 0 };
	struct counter a = { 0, 0, 0 }, b = { 0, 0, 0 };
	uint8_t data[8];
	char err[256];

	CHECK(dev_register(&ds, &ops_a, DEV_PIO, 0x100, 8, &a) == 0);
	CHECK(dev_register(&ds, &ops_b, DEV_PIO, 0x104, 8, &b) < 0 && errno == EEXIST);
	CHECK(dev_register(&ds, &ops_b, DEV_PIO, 0x0fc, 4, &b) == 0);	/* touching is fine */
	CHECK(dev_register(&ds, &ops_a, DEV_MMIO, 0x100, 8, &a) == 0);	/* another space */
	CHECK(dev_register(&ds, &ops_a, DEV_PIO, ~0ULL - 2, 8, &a) < 0);	/* wraps */
	CHECK(dev_register(&ds, &ops_a, DEV_PIO, 0x200, 0, &a) < 0);

	uint32_t v = 42;
	memcpy(data, &v, 4);
	CHECK(dev_dispatch(&ds, NULL, DEV_PIO, 0x102, 1, data, 4) == 0 && a.value == 42 &&
	    a.last_off == 2);
	memset(data, 0, sizeof(data));
	CHECK(dev_dispatch(&ds, NULL, DEV_PIO, 0x0fc, 0, data, 4) == 0 && b.last_off == 0);
	CHECK(dev_dispatch(&ds, NULL, DEV_PIO, 0x300, 0, data, 2) < 0 && data[0] == 0xff &&
	    data[1] == 0xff);
	CHECK(dev_dispatch(&ds, NULL, DEV_PIO, 0x106, 0, data, 4) < 0);	/* runs past the end */
	int w = a.writes;
	CHECK(dev_dispatch(&ds, NULL, DEV_PIO, 0x300, 1, data, 1) < 0 && a.writes == w);

	/* save all, then a restore whose second blob is bad changes neither */
	struct msg_out o;
	msg_begin_attrs(&o);
	a.value = 7;
	b.value = 9;
	CHECK(dev_save_all(&ds, &o) == 0);
	struct msg_in m;
	memset(&m, 0, sizeof(m));
	uint8_t ga[5] = { 1, 1, 0, 0, 0 }, gb[5] = { 2, 2, 0, 0, 0 };	/* gb: bad version */
	m.val[5] = ga;
	m.vlen[5] = 5;
	m.val[6] = gb;
	m.vlen[6] = 5;
	CHECK(dev_load_all(&ds, &m, err, sizeof(err)) < 0 && a.value == 7 && b.value == 9 &&
	    strstr(err, "malformed b"));
	gb[0] = 1;
	CHECK(dev_load_all(&ds, &m, err, sizeof(err)) == 0 && a.value == 1 && b.value == 2);
	m.val[6] = NULL;
	CHECK(dev_load_all(&ds, &m, err, sizeof(err)) < 0 && strstr(err, "no b state"));
	msg_free(&o);

	/* the UART's pair: a saved blob passes check and reloads the same registers */
	struct uart u, t;
	uint8_t buf[DEV_STATE_MAX], val = 0x5a, out;
	uart_init(&u);
	uart_io(&u, 7, 1, &val, &out);
	uart_rx_push(&u, (const uint8_t *)"hi", 2);
	size_t n = uart_save(&u, buf, sizeof(buf));
	CHECK(n && uart_load(&t, buf, n) == 0 && t.scr == 0x5a && t.rx_len == 2);
	buf[0] ^= 0xff;
	CHECK(uart_load(&t, buf, n) < 0);
	return TAP_DONE();
}
