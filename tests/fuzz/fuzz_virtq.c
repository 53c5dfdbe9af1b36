/*
 * fuzz_virtq.c - libFuzzer target for the split virtqueue parser
 * (hypervisor/virtq.c): the input is guest memory (the rings and buffers a
 * hostile guest builds), its first bytes the queue's size and ring
 * addresses.  Every chain popped must lie inside that memory (ASan checks
 * every read), and a malformed one must be refused, never followed.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <stdio.h>

#include "hvd.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct virtq_chain c;
	char err[256];
	if (size < 16)
		return 0;
	struct virtq q = { 0, 0, 0, 0, 0, 0 };
	q.size = (uint16_t)(1u << (data[0] % 11));	/* 1..1024 */
	q.desc = (uint64_t)(data[1] | data[2] << 8) << 4;
	q.avail = (uint64_t)(data[3] | data[4] << 8) << 1;
	q.used = (uint64_t)(data[5] | data[6] << 8) << 2;
	q.last_avail = (uint16_t)(data[7] | data[8] << 8);
	size_t len = size - 16;
	uint8_t *mem = malloc(len ? len : 1);	/* exact size for ASan */
	memcpy(mem, data + 16, len);
	/* RAM in two regions, as hvd lays it out: the first low bytes from 0, the
	 * rest from GMEM_HIGH (data[9] picks where the split falls) */
	struct gmem g = { mem, len, len * data[9] / 255 };
	for (int i = 0; i < 64; i++) {
		int r = virtq_pop(&q, &g, &c, err, sizeof(err));
		if (r <= 0)
			break;
		for (uint32_t k = 0; k < c.n; k++) {	/* touch every buffer: it must be ours */
			uint8_t *b = gmem_ptr(&g, c.buf[k].gpa, c.buf[k].len);
			if (!b)
				abort();
			if (c.buf[k].len)
				b[0] ^= b[c.buf[k].len - 1];
		}
		virtq_push(&q, &g, c.head, (uint32_t)c.in_bytes);
	}
	free(mem);
	return 0;
}
