/*
 * fuzz_beat.c - libFuzzer target for the heartbeat datagram fenced reads
 * from the network (fencing/beat.c): length, magic, version and MAC checks
 * before a byte of it is believed.  A valid datagram is built from the
 * input's first bytes too, so the fuzzer reaches past the MAC.
 */
#include <stdint.h>
#include <string.h>

#include "beat.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint8_t key[16] = "fuzzing-key-0001";
	struct beat_msg m;
	uint8_t pkt[BEAT_LEN];
	char err[200];

	beat_decode(data, size, key, sizeof(key), &m, err, sizeof(err));
	if (size >= 20) {	/* signed, so only what follows the MAC check runs */
		struct beat_msg in;
		memcpy(&in.node, data, 4);
		memcpy(&in.seq, data + 4, 8);
		memcpy(&in.heard, data + 12, 8);
		beat_encode(&in, key, sizeof(key), pkt);
		if (beat_decode(pkt, sizeof(pkt), key, sizeof(key), &m, err, sizeof(err)) != 0 ||
		    m.node != in.node || m.seq != in.seq || m.heard != in.heard)
			__builtin_trap();
	}
	return 0;
}
