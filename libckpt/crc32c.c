/*
 * crc32c.c - CRC-32C (Castagnoli), the record checksum of the stream.
 * Uses the SSE4.2 crc32 instruction when the CPU has it (several GB/s),
 * else a slicing-by-one table.
 */
#include <stdint.h>
#include <string.h>

#include "ckpt.h"

static uint32_t table[256];

static void table_init(void)
{
	for (uint32_t i = 0; i < 256; i++) {
		uint32_t c = i;
		for (int k = 0; k < 8; k++)
			c = c & 1 ? (c >> 1) ^ 0x82f63b78 : c >> 1;
		table[i] = c;
	}
}

static uint32_t crc_sw(uint32_t crc, const uint8_t *p, size_t len)
{
	if (!table[1])
		table_init();
	while (len--)
		crc = table[(crc ^ *p++) & 0xff] ^ (crc >> 8);
	return crc;
}

__attribute__((target("sse4.2")))
static uint32_t crc_hw(uint32_t crc, const uint8_t *p, size_t len)
{
	uint64_t c = crc;
	while (len >= 8) {
		uint64_t v;
		memcpy(&v, p, 8);
		c = __builtin_ia32_crc32di(c, v);
		p += 8;
		len -= 8;
	}
	crc = (uint32_t)c;
	while (len--)
		crc = __builtin_ia32_crc32qi(crc, *p++);
	return crc;
}

uint32_t crc32c(uint32_t crc, const void *buf, size_t len)
{
	static int hw = -1;
	if (hw < 0)
		hw = __builtin_cpu_supports("sse4.2");
	crc = ~crc;
	crc = hw ? crc_hw(crc, buf, len) : crc_sw(crc, buf, len);
	return ~crc;
}
