/*
 * fuzz_store.c - libFuzzer target for the durable table file that fenced
 * reads at start (fencing/store.c): header, length, crc32c, then the table
 * message and the table's own checks.  The first byte picks a mode: with
 * bit 0 set the target writes a correct magic, length and crc into the
 * input, so the fuzzer reaches the decoders behind them.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ckpt.h"
#include "store.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct table t;
	char err[512];
	uint32_t nodes[] = { 1, 2, 3 };

	if (size < 1)
		return 0;
	table_init(&t, nodes, 3);
	size_t len = size - 1;
	uint8_t *buf = malloc(len ? len : 1);	/* exact size for ASan */
	memcpy(buf, data + 1, len);
	if ((data[0] & 1) && len >= 40) {
		memcpy(buf, STORE_MAGIC, 8);
		le32_put(buf + 8, STORE_FORMAT);
		le32_put(buf + 12, (uint32_t)(len - 40));
		le32_put(buf + len - 8, crc32c(0, buf, len - 8));
		le32_put(buf + len - 4, 0);
	}
	store_decode(buf, len, &t, err, sizeof(err));
	free(buf);
	return 0;
}
