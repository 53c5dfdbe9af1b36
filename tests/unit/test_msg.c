/*
 * test_msg.c - the control-message codec: round trips, and every malformed
 * shape the decoder must refuse (truncated, oversize lengths, unknown types,
 * bad versions, wrong kinds, missing or repeated attributes).
 */
#include <string.h>

#include "hvctl.h"
#include "tap.h"

static int parse(const struct msg_out *o, struct msg_in *m, char *err)
{
	return msg_parse(&hvctl_schema, o->buf, o->len, m, err, 256);
}

int main(void)
{
	struct msg_out o;
	struct msg_in m;
	char err[256], s[128];

	/* round trip */
	msg_begin(&o, HV_DOM_CREATE, 7);
	msg_add_str(&o, HA_NAME, "vm1");
	msg_add_str(&o, HA_KERNEL, "/k.elf");
	msg_add_u64(&o, HA_MEM, 256ULL << 20);
	msg_add_u32(&o, HA_VCPUS, 2);
	CHECK(msg_end(&o) == 0);
	CHECK(parse(&o, &m, err) == 0);
	CHECK(m.type == HV_DOM_CREATE && m.seq == 7);
	CHECK(!strcmp(msg_str(&m, HA_NAME, s, sizeof(s)), "vm1"));
	CHECK(msg_u64(&m, HA_MEM) == 256ULL << 20 && msg_u32(&m, HA_VCPUS) == 2);
	CHECK(!msg_has(&m, HA_CMDLINE));

	/* truncated at every length: always refused, never read past the end */
	for (size_t n = 0; n < o.len; n++)
		CHECK(msg_parse(&hvctl_schema, o.buf, n, &m, err, sizeof(err)) < 0);

	/* header length disagrees with what arrived */
	le32_put(o.buf + 4, (uint32_t)o.len + 8);
	CHECK(parse(&o, &m, err) < 0 && strstr(err, "header says"));
	le32_put(o.buf + 4, (uint32_t)o.len);

	/* attribute length overruns the message */
	uint8_t save[4];
	memcpy(save, o.buf + 16 + 4, 4);
	le32_put(o.buf + 16 + 4, 0xfffffff0);
	CHECK(parse(&o, &m, err) < 0 && strstr(err, "overruns"));
	memcpy(o.buf + 16 + 4, save, 4);

	/* wrong version, flags, unknown type */
	o.buf[0] = 9;
	CHECK(parse(&o, &m, err) < 0 && strstr(err, "version"));
	o.buf[0] = MSG_VERSION;
	o.buf[12] = 1;
	CHECK(parse(&o, &m, err) < 0 && strstr(err, "flags"));
	o.buf[12] = 0;
	o.buf[2] = 200;
	CHECK(parse(&o, &m, err) < 0 && strstr(err, "unknown message type"));
	o.buf[2] = HV_DOM_CREATE;
	CHECK(parse(&o, &m, err) == 0);
	msg_free(&o);

	/* missing required attribute */
	msg_begin(&o, HV_DOM_CREATE, 1);
	msg_add_str(&o, HA_NAME, "vm1");
	msg_end(&o);
	CHECK(parse(&o, &m, err) < 0 && strstr(err, "missing attribute"));
	msg_free(&o);

	/* attribute not allowed in this message, wrong kind, repeated */
	msg_begin(&o, HV_DOM_PAUSE, 1);
	msg_add_str(&o, HA_NAME, "a");
	msg_add_u32(&o, HA_VCPUS, 1);
	msg_end(&o);
	CHECK(parse(&o, &m, err) < 0 && strstr(err, "not allowed"));
	msg_free(&o);
	msg_begin(&o, HV_DOM_INFO, 1);
	msg_add_u32(&o, HA_NAME, 5);	/* a string attribute with a NUL inside */
	msg_end(&o);
	CHECK(parse(&o, &m, err) < 0 && strstr(err, "bad value"));
	msg_free(&o);
	msg_begin(&o, HV_DOM_INFO, 1);
	msg_add_str(&o, HA_NAME, "a");
	msg_add_str(&o, HA_NAME, "b");
	msg_end(&o);
	CHECK(parse(&o, &m, err) < 0 && strstr(err, "repeated"));
	msg_free(&o);

	/* a repeatable attribute iterates in order */
	msg_begin(&o, HV_OK, 3);
	msg_add_str(&o, HA_NAME, "one");
	msg_add_str(&o, HA_NAME, "three");
	msg_end(&o);
	CHECK(parse(&o, &m, err) == 0 && m.count[HA_NAME] == 2);
	size_t pos = 0;
	const uint8_t *v;
	uint32_t len;
	CHECK(msg_next(&m, HA_NAME, &pos, &v, &len) && len == 3 && !memcmp(v, "one", 3));
	CHECK(msg_next(&m, HA_NAME, &pos, &v, &len) && len == 5 && !memcmp(v, "three", 5));
	CHECK(!msg_next(&m, HA_NAME, &pos, &v, &len));
	msg_free(&o);

	/* the encoder refuses oversize messages */
	static uint8_t big[MSG_MAX];
	msg_begin(&o, HV_VCPU_SET, 1);
	msg_add_blob(&o, HA_BLOB, big, sizeof(big));
	CHECK(msg_end(&o) < 0);
	msg_free(&o);
	return TAP_DONE();
}
