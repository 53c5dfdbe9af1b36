/*
 * uart.c - a 16550A UART at 0x3f8, enough for a polled console.
 *
 * Transmit is always ready (bytes go straight to the console); receive has a
 * 256-byte FIFO fed by attached console clients.  No interrupts are raised:
 * the workload guest polls.  uart_save/uart_load give its migration state.
 */
#include <errno.h>
#include <string.h>

#include "hvd.h"

#define LSR_DR		0x01
#define LSR_THRE	0x20
#define LSR_TEMT	0x40
#define LCR_DLAB	0x80
#define UART_SAVE_VERSION 1

void uart_init(struct uart *u)
{
	memset(u, 0, sizeof(*u));
	u->lcr = 0x03;
	u->msr = 0xb0;	/* DCD, DSR, CTS */
}

void uart_rx_push(struct uart *u, const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n && u->rx_len < sizeof(u->rx) - 1; i++)
		u->rx[(u->rx_head + u->rx_len++) % sizeof(u->rx)] = p[i];
}

static uint8_t uart_rx_pop(struct uart *u)
{
	if (!u->rx_len)
		return 0;
	uint8_t c = u->rx[u->rx_head];
	u->rx_head = (u->rx_head + 1) % sizeof(u->rx);
	u->rx_len--;
	return c;
}

int uart_io(struct uart *u, uint16_t off, int is_write, uint8_t *val, uint8_t *out)
{
	int dlab = u->lcr & LCR_DLAB;

	if (is_write) {
		switch (off) {
		case 0:
			if (dlab) {
				u->dll = *val;
				return 0;
			}
			*out = *val;
			return 1;
		case 1: if (dlab) u->dlm = *val; else u->ier = *val & 0x0f; break;
		case 2: u->fcr = *val; if (*val & 0x02) u->rx_len = 0; break;
		case 3: u->lcr = *val; break;
		case 4: u->mcr = *val & 0x1f; break;
		case 7: u->scr = *val; break;
		}
		return 0;
	}
	switch (off) {
	case 0: *val = dlab ? u->dll : uart_rx_pop(u); break;
	case 1: *val = dlab ? u->dlm : u->ier; break;
	case 2: *val = (u->fcr & 1) ? 0xc1 : 0x01; break;	/* no interrupt pending */
	case 3: *val = u->lcr; break;
	case 4: *val = u->mcr; break;
	case 5: *val = LSR_THRE | LSR_TEMT | (u->rx_len ? LSR_DR : 0); break;
	case 6: *val = u->msr; break;
	default: *val = u->scr; break;
	}
	return 0;
}

/* Saved form: version, eight registers, rx length, rx bytes in order. */
size_t uart_save(const struct uart *u, uint8_t *buf, size_t cap)
{
	size_t n = 10 + u->rx_len;
	if (cap < n)
		return 0;
	buf[0] = UART_SAVE_VERSION;
	buf[1] = u->dll; buf[2] = u->dlm; buf[3] = u->ier; buf[4] = u->fcr;
	buf[5] = u->lcr; buf[6] = u->mcr; buf[7] = u->scr; buf[8] = u->msr;
	buf[9] = (uint8_t)u->rx_len;	/* the FIFO holds at most 255 */
	for (unsigned i = 0; i < u->rx_len; i++)
		buf[10 + i] = u->rx[(u->rx_head + i) % sizeof(u->rx)];
	return n;
}

int uart_load(struct uart *u, const uint8_t *buf, size_t len)
{
	if (len < 10 || buf[0] != UART_SAVE_VERSION || len != 10 + (size_t)buf[9]) {
		errno = EINVAL;
		return -1;
	}
	struct uart t;
	uart_init(&t);
	t.dll = buf[1]; t.dlm = buf[2]; t.ier = buf[3] & 0x0f; t.fcr = buf[4];
	t.lcr = buf[5]; t.mcr = buf[6] & 0x1f; t.scr = buf[7]; t.msr = buf[8];
	uart_rx_push(&t, buf + 10, buf[9]);
	*u = t;
	return 0;
}
