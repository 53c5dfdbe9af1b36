/*
 * wire.c - fenced's CPG payloads: a crc32c of the message, then the message
 * (proto/cluster.h).  A payload that fails either check never reaches the
 * table.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ckpt.h"
#include "wire.h"

void *cluster_frame(const struct msg_out *m, size_t *len)
{
	uint8_t *p = malloc(m->len + 4);
	if (!p)
		return NULL;
	memcpy(p + 4, m->buf, m->len);
	le32_put(p, crc32c(0, m->buf, m->len));
	*len = m->len + 4;
	return p;
}

int cluster_parse(const void *buf, size_t len, struct msg_in *m, char *err, size_t errlen)
{
	const uint8_t *p = buf;
	if (len < 4 + MSG_HDR_LEN) {
		snprintf(err, errlen, "cluster message of %zu bytes is too short", len);
		errno = EBADMSG;
		return -1;
	}
	uint32_t want = le32_get(p), got = crc32c(0, p + 4, len - 4);
	if (want != got) {
		snprintf(err, errlen, "cluster message crc32c %08x, expected %08x", got, want);
		errno = EBADMSG;
		return -1;
	}
	return msg_parse(&cluster_schema, p + 4, len - 4, m, err, errlen);
}
