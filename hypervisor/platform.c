/*
 * platform.c - the board devices every VM has, on the registry
 * (devices.c): the 16550A console UART at 0x3f8 (uart.c, joined to the
 * console clients), the idle port (the guest sleeps there instead of
 * spinning: a VM exit costs ~125 us here) and the exit port (the guest
 * shuts down with a code, or reports an exception with its frame).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "hvd.h"
#include "log.h"

#define PORT_UART	0x3f8
#define PORT_EXIT	0x501
#define PORT_IDLE	0x510

static void uart_dev_io(struct device *d, struct vcpu *v, uint64_t off, int wr, uint8_t *data,
    unsigned size)
{
	struct vm *vm = d->priv;
	uint8_t out;
	(void)v;
	(void)size;	/* byte registers: the first byte is the access */
	pthread_mutex_lock(&vm->dev_lock);
	int emit = uart_io(&vm->uart, (uint16_t)off, wr, data, &out);
	pthread_mutex_unlock(&vm->dev_lock);
	if (emit)
		vm_console_out(vm, out);
}

static size_t uart_dev_save(struct device *d, uint8_t *buf, size_t cap)
{
	struct vm *vm = d->priv;
	pthread_mutex_lock(&vm->dev_lock);
	size_t n = uart_save(&vm->uart, buf, cap);
	pthread_mutex_unlock(&vm->dev_lock);
	return n;
}

static int uart_dev_check(struct device *d, const uint8_t *buf, size_t len)
{
	(void)d;
	struct uart t;
	return uart_load(&t, buf, len);
}

static void uart_dev_load(struct device *d, const uint8_t *buf, size_t len)
{
	struct vm *vm = d->priv;
	pthread_mutex_lock(&vm->dev_lock);
	uart_load(&vm->uart, buf, len);
	pthread_mutex_unlock(&vm->dev_lock);
}

static const struct dev_ops uart_ops = {
	"uart", uart_dev_io, uart_dev_save, uart_dev_check, uart_dev_load, VS_UART, NULL, NULL,
};

static void idle_io(struct device *d, struct vcpu *v, uint64_t off, int wr, uint8_t *data,
    unsigned size)
{
	(void)d;
	(void)off;
	uint32_t us;
	if (!wr || size != 4)
		return;
	memcpy(&us, data, 4);
	dev_idle_all(&v->vm->devs);
	vcpu_idle(v, (long)(us > 1000000 ? 1000000 : us) * 1000);
}

static const struct dev_ops idle_ops = { "idle", idle_io, NULL, NULL, NULL, 0, NULL, NULL };

static void exit_io(struct device *d, struct vcpu *v, uint64_t off, int wr, uint8_t *data,
    unsigned size)
{
	struct vm *vm = d->priv;
	char why[64];
	(void)off;
	(void)size;
	if (!wr)
		return;
	if (data[0] & 0x80) {
		vcpu_log_frame(v, data[0] & 0x7f);
		snprintf(why, sizeof(why), "guest exception vector %u", data[0] & 0x7f);
		vm_set_state(vm, DS_CRASHED, why);
	} else {
		snprintf(why, sizeof(why), "guest exit code %u", data[0]);
		vm_set_state(vm, DS_SHUTDOWN, why);
	}
}

static const struct dev_ops exit_ops = { "exit", exit_io, NULL, NULL, NULL, 0, NULL, NULL };

int platform_init(struct vm *vm)
{
	uart_init(&vm->uart);
	if (dev_register(&vm->devs, &uart_ops, DEV_PIO, PORT_UART, 8, vm) < 0 ||
	    dev_register(&vm->devs, &idle_ops, DEV_PIO, PORT_IDLE, 4, vm) < 0 ||
	    dev_register(&vm->devs, &exit_ops, DEV_PIO, PORT_EXIT, 1, vm) < 0)
		return -1;
	return 0;
}
