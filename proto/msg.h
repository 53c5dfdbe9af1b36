/*
 * msg.h - typed, length-prefixed messages made of attributes.
 *
 * A message is a 16-byte header {u16 version, u16 type, u32 length, u32 seq,
 * u32 flags} and a list of attributes {u16 type, u16 zero, u32 length, value
 * padded to 8}, all little-endian.  Every attribute type has one value kind
 * (u32, u64, string, blob) and every message type a policy saying which
 * attributes it may carry, which it must, and which may repeat.  The decoder
 * checks all of it; callers read only validated values.
 */
#ifndef TANDEM_MSG_H
#define TANDEM_MSG_H

#include <stddef.h>
#include <stdint.h>

#define MSG_VERSION	1
#define MSG_HDR_LEN	16
#define MSG_MAX		(1U << 20)
#define MSG_ATTR_MAX	64	/* attribute types are 1..MSG_ATTR_MAX-1 */
#define MSG_STR_MAX	4096

enum msg_kind { MK_NONE, MK_U32, MK_U64, MK_STR, MK_BLOB };

struct msg_policy {
	const char *name;
	uint64_t allowed, required, multi;	/* bit n = attribute n */
};

struct msg_schema {
	const char *name;			/* for errors: "hvd control" */
	const enum msg_kind *kinds;		/* per attribute type */
	const char *const *attr_names;
	const struct msg_policy *policies;	/* per message type */
	unsigned ntypes;
};

struct msg_out {
	uint8_t *buf;
	size_t len, cap;
	int err;	/* sticky: ENOMEM or EMSGSIZE */
};

struct msg_in {
	uint16_t type;
	uint32_t seq;
	const uint8_t *val[MSG_ATTR_MAX];	/* first occurrence */
	uint32_t vlen[MSG_ATTR_MAX];
	uint16_t count[MSG_ATTR_MAX];
	const uint8_t *body;
	size_t body_len;
};

/* err from fmt, errno EINVAL, -1: every decoder's and rule's way to refuse input */
int refuse(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

void msg_begin(struct msg_out *m, uint16_t type, uint32_t seq);
void msg_begin_attrs(struct msg_out *m);	/* a bare attribute list */
void msg_add_u32(struct msg_out *m, uint16_t attr, uint32_t v);
void msg_add_u64(struct msg_out *m, uint16_t attr, uint64_t v);
void msg_add_str(struct msg_out *m, uint16_t attr, const char *s);
void msg_add_blob(struct msg_out *m, uint16_t attr, const void *p, size_t n);
uint8_t *msg_reserve(struct msg_out *m, uint16_t attr, size_t n);
int msg_end(struct msg_out *m);		/* 0, or -1 with errno */
void msg_free(struct msg_out *m);

/* Decodes a whole message; on error fills err and returns -1. */
int msg_parse(const struct msg_schema *s, const void *buf, size_t len, struct msg_in *m,
    char *err, size_t errlen);
/* Decodes a bare attribute list against policy p. */
int msg_parse_attrs(const struct msg_schema *s, const struct msg_policy *p, const void *buf,
    size_t len, struct msg_in *m, char *err, size_t errlen);
/* Reads the seq of a header that may be otherwise bad; 0 when too short. */
uint32_t msg_peek_seq(const void *buf, size_t len);
void msg_set_seq(void *buf, uint32_t seq);

int msg_has(const struct msg_in *m, uint16_t attr);
uint32_t msg_u32(const struct msg_in *m, uint16_t attr);
uint64_t msg_u64(const struct msg_in *m, uint16_t attr);
/* Copies a string attribute, NUL-terminated; "" when absent. */
const char *msg_str(const struct msg_in *m, uint16_t attr, char *out, size_t cap);
/* Iterates the occurrences of a repeated attribute: *pos starts at 0. */
int msg_next(const struct msg_in *m, uint16_t attr, size_t *pos, const uint8_t **val,
    uint32_t *len);

static inline uint32_t le32_get(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static inline uint64_t le64_get(const uint8_t *p)
{
	return (uint64_t)le32_get(p) | (uint64_t)le32_get(p + 4) << 32;
}
static inline void le32_put(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)(v >> 16);
	p[3] = (uint8_t)(v >> 24);
}
static inline void le64_put(uint8_t *p, uint64_t v)
{
	le32_put(p, (uint32_t)v);
	le32_put(p + 4, (uint32_t)(v >> 32));
}

#endif
