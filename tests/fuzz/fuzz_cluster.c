/*
 * fuzz_cluster.c - libFuzzer target for what fenced decodes from CPG: the
 * framing (crc32c), the message schema, the table's rules and snapshot
 * loading, on a table that already holds VMs and hosts.  The first byte
 * picks the sender; with the framing bypassed (bit 7) the fuzzer reaches
 * the decoders behind the crc.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "table.h"
#include "wire.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct table t;
	struct msg_in m;
	char err[256];
	uint32_t nodes[] = { 1, 2, 3 };

	if (size < 1)
		return 0;
	table_init(&t, nodes, 3);
	table_view(&t, nodes, 3);
	for (int i = 0; i < 2; i++) {	/* VMs to act on */
		struct tvm *v = &t.vm[t.nvm++];
		memset(v, 0, sizeof(*v));
		strcpy(v->name, i ? "db" : "web");
		v->owner = (uint32_t)i + 1;
		v->gen = 1;
		v->state = VS_RUNNING;
		v->mem = 1 << 20;
		v->vcpus = 1;
	}
	uint32_t sender = data[0] & 3;
	uint8_t *buf = malloc(size - 1 ? size - 1 : 1);	/* exact size for ASan */
	memcpy(buf, data + 1, size - 1);
	int r;
	if (data[0] & 0x80)
		r = msg_parse(&cluster_schema, buf, size - 1, &m, err, sizeof(err));
	else
		r = cluster_parse(buf, size - 1, &m, err, sizeof(err));
	if (r == 0) {
		if (m.type == CM_TABLE)
			table_load(&t, &m, err, sizeof(err));
		else if (m.type != CM_HELLO)
			table_apply(&t, sender, &m, err, sizeof(err));
	}
	free(buf);
	return 0;
}
