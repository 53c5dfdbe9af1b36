/*
 * fuzz_hvctl.c - libFuzzer target for the decoders hvd runs on untrusted
 * bytes: control messages (proto/msg.c with the hvctl schema, including
 * repeated-attribute iteration) and saved UART state.  The first byte picks
 * the decoder.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hvctl.h"

struct uart;
int uart_load(struct uart *u, const uint8_t *buf, size_t len);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct msg_in m;
	char err[512], s[MSG_STR_MAX + 1];

	if (size < 1)
		return 0;
	if (data[0] & 1) {
		static uint64_t u[64];	/* larger than struct uart */
		uart_load((struct uart *)u, data + 1, size - 1);
		return 0;
	}
	/* copy so ASan sees reads past the exact end */
	uint8_t *buf = malloc(size - 1 ? size - 1 : 1);
	memcpy(buf, data + 1, size - 1);
	if (msg_parse(&hvctl_schema, buf, size - 1, &m, err, sizeof(err)) == 0) {
		for (uint16_t a = 1; a < HA_ATTR_COUNT; a++) {
			size_t pos = 0;
			const uint8_t *v;
			uint32_t len;
			msg_u32(&m, a);
			msg_u64(&m, a);
			msg_str(&m, a, s, sizeof(s));
			while (msg_next(&m, a, &pos, &v, &len))
				if (len)
					s[0] = (char)v[len - 1];
		}
	}
	free(buf);
	return 0;
}
