/*
 * record.c - the stream's framing: the image header and records
 * {type, length, body padded to 8, crc32c, zero}.  Readers check the length
 * limit before allocating, the padding, the trailing zero word and the CRC
 * before a body is handed out.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "ckpt.h"
#include "msg.h"	/* le32_get/le32_put */

#define ENDIAN_MARK 0x01020304u

const char *ckpt_type_name(uint32_t type)
{
	switch (type) {
	case CK_DOMAIN_HEADER: return "DOMAIN_HEADER";
	case CK_PAGE_DATA: return "PAGE_DATA";
	case CK_VCPU_STATE: return "VCPU_STATE";
	case CK_DEVICE_STATE: return "DEVICE_STATE";
	case CK_CHECKPOINT: return "CHECKPOINT";
	case CK_END: return "END";
	case CK_ROUND: return "ROUND";
	case CK_HELLO: return "HELLO";
	case CK_READY: return "READY";
	case CK_COMMIT: return "COMMIT";
	case CK_RUNNING: return "RUNNING";
	case CK_ABORT: return "ABORT";
	case CK_OUTCOME: return "OUTCOME";
	case CK_PREPARED: return "PREPARED";
	case CK_SYNC: return "SYNC";
	case CK_FENCE: return "FENCE";
	case CK_FENCED: return "FENCED";
	case CK_CONFIRM: return "CONFIRM";
	case CK_FRAMES: return "FRAMES";
	case CK_EPOCH_ACK: return "EPOCH_ACK";
	case CK_PROTECT: return "PROTECT";
	case CK_REPROTECT: return "REPROTECT";
	default: return type & CKPT_OPTIONAL ? "unknown optional" : "unknown";
	}
}

int ckpt_write_header(struct rio *r, uint32_t features)
{
	uint8_t h[24];
	memcpy(h, CKPT_MAGIC, 8);
	le32_put(h + 8, CKPT_VERSION);
	le32_put(h + 12, features);
	le32_put(h + 16, ENDIAN_MARK);
	le32_put(h + 20, 0);
	return rio_write(r, h, sizeof(h));
}

int ckpt_read_header(struct rio *r, uint32_t *features)
{
	uint8_t h[24];

	if (rio_read(r, h, sizeof(h)) < 0)
		return -1;
	if (memcmp(h, CKPT_MAGIC, 8))
		return rio_fail(r, EPROTO, "not a Tandem checkpoint stream (bad magic)");
	if (le32_get(h + 16) != ENDIAN_MARK)
		return rio_fail(r, EPROTO, "stream written with another byte order (marker 0x%08x)",
		    le32_get(h + 16));
	if (le32_get(h + 8) != CKPT_VERSION)
		return rio_fail(r, EPROTO, "stream version %u, this build reads version %d",
		    le32_get(h + 8), CKPT_VERSION);
	*features = le32_get(h + 12);
	if (*features & ~CKPT_FEATURES)
		return rio_fail(r, EPROTO, "stream uses unknown features 0x%x",
		    *features & ~CKPT_FEATURES);
	if (le32_get(h + 20))
		return rio_fail(r, EPROTO, "reserved header word is not zero");
	return 0;
}

static const uint8_t zeros[8];

int ckpt_write_record(struct rio *r, uint32_t type, const void *const *parts,
    const size_t *lens, int n)
{
	uint8_t hdr[8], tail[8];
	size_t len = 0;

	for (int i = 0; i < n; i++)
		len += lens[i];
	if (len > CKPT_MAX_BODY)
		return rio_fail(r, EMSGSIZE, "%s record of %zu bytes exceeds the limit", ckpt_type_name(type), len);
	le32_put(hdr, type);
	le32_put(hdr + 4, (uint32_t)len);
	uint32_t crc = crc32c(0, hdr, 8);
	rio_write(r, hdr, 8);
	for (int i = 0; i < n; i++) {
		crc = crc32c(crc, parts[i], lens[i]);
		rio_write(r, parts[i], lens[i]);
	}
	size_t pad = (8 - len % 8) % 8;
	crc = crc32c(crc, zeros, pad);
	rio_write(r, zeros, pad);
	le32_put(tail, crc);
	le32_put(tail + 4, 0);
	return rio_write(r, tail, 8);
}

int ckpt_write_simple(struct rio *r, uint32_t type, const void *body, size_t len)
{
	const void *parts[1] = { body };
	return ckpt_write_record(r, type, parts, &len, 1);
}

int ckpt_send(struct rio *r, uint32_t type, const void *body, size_t len)
{
	ckpt_write_simple(r, type, body, len);
	return rio_flush(r);
}

/* a type this build reads: exactly the ones ckpt_type_name() names, so a
 * new record type is known once it has a name */
static int known(uint32_t type)
{
	return strncmp(ckpt_type_name(type), "unknown", 7) != 0;
}

int ckpt_read_record(struct rio *r, struct ckpt_record *rec)
{
	uint8_t hdr[8], tail[8];

	if (rio_read(r, hdr, 8) < 0)
		return -1;
	rec->type = le32_get(hdr);
	rec->len = le32_get(hdr + 4);
	if (rec->len > CKPT_MAX_BODY)
		return rio_fail(r, EMSGSIZE, "%s record claims %u bytes, limit %u",
		    ckpt_type_name(rec->type), rec->len, CKPT_MAX_BODY);
	if (!known(rec->type) && !(rec->type & CKPT_OPTIONAL))
		return rio_fail(r, EPROTO, "unknown mandatory record type %u", rec->type);
	size_t padded = ((size_t)rec->len + 7) & ~(size_t)7;
	if (padded + 1 > rec->cap) {
		uint8_t *b = realloc(rec->body, padded + 1);
		if (!b)
			return rio_fail(r, ENOMEM, "out of memory for a %u-byte record", rec->len);
		rec->body = b;
		rec->cap = padded + 1;
	}
	if (rio_read(r, rec->body, padded) < 0 || rio_read(r, tail, 8) < 0)
		return -1;
	for (size_t i = rec->len; i < padded; i++)
		if (rec->body[i])
			return rio_fail(r, EPROTO, "%s record: non-zero padding", ckpt_type_name(rec->type));
	uint32_t crc = crc32c(crc32c(0, hdr, 8), rec->body, padded);
	if (crc != le32_get(tail))
		return rio_fail(r, EBADMSG, "%s record of %u bytes: CRC mismatch (stream corrupted)",
		    ckpt_type_name(rec->type), rec->len);
	if (le32_get(tail + 4))
		return rio_fail(r, EPROTO, "%s record: trailer word not zero", ckpt_type_name(rec->type));
	return 0;
}

void ckpt_record_free(struct ckpt_record *rec)
{
	free(rec->body);
	memset(rec, 0, sizeof(*rec));
}
