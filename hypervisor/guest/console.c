/*
 * console.c - output and input on the 16550 UART at 0x3f8, or, as a Xen
 * PVH domU (which has no UART), output on Xen's debug port 0xe9, which
 * Xen prints on its own console a line at a time ("(d1) ..."), a line per
 * write; no input.
 *
 * Every port access is a VM exit (~125 us on kvm_pvm), so output does not
 * poll the line status before each byte: hvd's UART and QEMU's both accept
 * bytes at any time.  Input polls LSR.DR once per call.
 */
#include <stdarg.h>
#include "guest.h"

/*
 * On Xen a line goes out whole, in one rep outsb: Xen prints it only at
 * its newline anyway, and each port access is an exit whose instruction
 * Xen decodes from guest memory (under nested SVM without NRIP saving, the
 * tier's, now and then that ends in a triple fault): one per line, not one
 * per byte.
 */
static char xen_line[120];
static unsigned xen_len;

void con_putc(char c)
{
	if (!boot_on_xen) {
		outb(PORT_UART, (uint8_t)c);
		return;
	}
	xen_line[xen_len++] = c;
	if (c == '\n' || xen_len == sizeof(xen_line)) {
		const char *p = xen_line;
		unsigned long n = xen_len;
		__asm__ volatile("rep outsb" : "+S"(p), "+c"(n) : "d"(PORT_XEN_DEBUG) : "memory");
		xen_len = 0;
	}
}

int con_getc(void)
{
	if (boot_on_xen || !(inb(PORT_UART + 5) & 1))
		return -1;
	return inb(PORT_UART);
}

static void put_u64(uint64_t v, unsigned base, int width, char pad)
{
	char buf[24];
	int n = 0;
	do {
		unsigned d = (unsigned)(v % base);
		buf[n++] = (char)(d < 10 ? '0' + d : 'a' + d - 10);
		v /= base;
	} while (v);
	while (n < width--)
		con_putc(pad);
	while (n)
		con_putc(buf[--n]);
}

/* printf subset: %s %c %d %u %x %llu %llx %lu %lx with optional 0-pad width. */
void con_printf(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	for (; *fmt; fmt++) {
		if (*fmt != '%') {
			con_putc(*fmt);
			continue;
		}
		fmt++;
		char pad = ' ';
		int width = 0, lng = 0;
		if (*fmt == '0')
			pad = '0';
		while (*fmt >= '0' && *fmt <= '9')
			width = width * 10 + (*fmt++ - '0');
		while (*fmt == 'l') {
			lng++;
			fmt++;
		}
		switch (*fmt) {
		case 's': {
			const char *s = va_arg(ap, const char *);
			while (*s)
				con_putc(*s++);
			break;
		}
		case 'c':
			con_putc((char)va_arg(ap, int));
			break;
		case 'd': {
			int64_t v = lng ? va_arg(ap, int64_t) : va_arg(ap, int);
			if (v < 0) {
				con_putc('-');
				v = -v;
			}
			put_u64((uint64_t)v, 10, width, pad);
			break;
		}
		case 'u':
			put_u64(lng ? va_arg(ap, uint64_t) : va_arg(ap, unsigned), 10, width, pad);
			break;
		case 'x':
			put_u64(lng ? va_arg(ap, uint64_t) : va_arg(ap, unsigned), 16, width, pad);
			break;
		default:
			con_putc('%');
			con_putc(*fmt);
		}
	}
	va_end(ap);
}
