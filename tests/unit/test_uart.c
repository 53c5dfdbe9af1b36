/* test_uart.c - the UART's register behaviour and its save/load round trip. */
#include <string.h>

#include "hvd.h"
#include "tap.h"

int main(void)
{
	struct uart u, v;
	uint8_t val, out, buf[512];

	uart_init(&u);
	val = 'x';
	CHECK(uart_io(&u, 0, 1, &val, &out) == 1 && out == 'x');
	CHECK(uart_io(&u, 5, 0, &val, &out) == 0 && val == 0x60);	/* THRE|TEMT, no data */
	uart_rx_push(&u, (const uint8_t *)"ab", 2);
	uart_io(&u, 5, 0, &val, &out);
	CHECK(val & 1);
	val = 0x83;	/* DLAB: offset 0 is the divisor, not data */
	uart_io(&u, 3, 1, &val, &out);
	val = 12;
	CHECK(uart_io(&u, 0, 1, &val, &out) == 0 && u.dll == 12);
	val = 0x03;
	uart_io(&u, 3, 1, &val, &out);
	val = 0x5a;
	uart_io(&u, 7, 1, &val, &out);

	/* round trip keeps registers and the pending input, in order */
	size_t n = uart_save(&u, buf, sizeof(buf));
	CHECK(n == 12);
	uart_init(&v);
	CHECK(uart_load(&v, buf, n) == 0);
	CHECK(v.dll == 12 && v.lcr == 0x03 && v.scr == 0x5a && v.rx_len == 2);
	uart_io(&v, 0, 0, &val, &out);
	CHECK(val == 'a');
	uart_io(&v, 0, 0, &val, &out);
	CHECK(val == 'b');

	/* malformed saved state is refused and changes nothing */
	CHECK(uart_load(&v, buf, n - 1) < 0);
	buf[0] = 99;
	CHECK(uart_load(&v, buf, n) < 0);
	CHECK(v.dll == 12);

	/* a full FIFO still saves and loads */
	uint8_t many[400];
	memset(many, 'z', sizeof(many));
	uart_rx_push(&u, many, sizeof(many));
	buf[0] = 1;
	n = uart_save(&u, buf, sizeof(buf));
	CHECK(n > 0 && uart_load(&v, buf, n) == 0 && v.rx_len == 255);
	return TAP_DONE();
}
