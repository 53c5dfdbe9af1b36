/*
 * fuzz_stream.c - libFuzzer target for the checkpoint stream decoder: the
 * header, records (CRC, padding, limits), the record order and every body
 * decoder, applying pages into a 16 MiB scratch guest.
 */
#include <stdint.h>
#include <stdlib.h>

#include "ckpt.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t *mem;
	struct rio *r = rio_mem_reader(data, size);
	struct ckpt_record rec = { 0 };
	struct ckpt_order o = { 0 };
	struct ckpt_domain d;
	struct ckpt_round rd;
	struct ckpt_protect pr;
	uint32_t f, n;
	uint64_t v;
	char err[512];

	if (!mem)
		mem = malloc(16 << 20);
	if (ckpt_read_header(r, &f) == 0) {
		while (ckpt_read_record(r, &rec) == 0) {
			if (rec.type == CK_PROTECT || rec.type == CK_REPROTECT) {	/* a transport record: outside the order */
				ckpt_protect_decode(rec.body, rec.len, &pr, err, sizeof(err));
				continue;
			}
			if (ckpt_order_next(&o, rec.type, err, sizeof(err)) < 0)
				break;
			if (rec.type == CK_DOMAIN_HEADER)
				ckpt_domain_decode(rec.body, rec.len, &d, err, sizeof(err));
			else if (rec.type == CK_PAGE_DATA)
				ckpt_pages_apply(rec.body, rec.len, 4096, mem, &n, NULL, err, sizeof(err));
			else if (rec.type == CK_ROUND)
				ckpt_round_decode(rec.body, rec.len, &rd, err, sizeof(err));
			else if (rec.type == CK_CHECKPOINT)
				ckpt_u64_decode(rec.body, rec.len, &v, err, sizeof(err));
			else if (rec.type == CK_END)
				break;
		}
	}
	ckpt_record_free(&rec);
	rio_close(r);
	return 0;
}
