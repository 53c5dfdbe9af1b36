/*
 * msg.c - encoder and bounds-checked decoder for attribute messages.
 *
 * The decoder never trusts a length: the header length must equal the bytes
 * received, every attribute must fit inside the message, value sizes must
 * match their kind, strings must be NUL-free and bounded, and the message
 * type's policy decides what may appear.  Errors name the message type and
 * attribute so a log line says what was wrong.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "msg.h"

#define ALIGN8(n) (((n) + 7) & ~(size_t)7)

static void msg_grow(struct msg_out *m, size_t need)
{
	if (m->err)
		return;
	if (m->len + need > MSG_MAX) {
		m->err = EMSGSIZE;
		return;
	}
	if (m->len + need <= m->cap)
		return;
	size_t cap = m->cap ? m->cap : 256;
	while (cap < m->len + need)
		cap *= 2;
	uint8_t *b = realloc(m->buf, cap);
	if (!b) {
		m->err = ENOMEM;
		return;
	}
	m->buf = b;
	m->cap = cap;
}

void msg_begin_attrs(struct msg_out *m)
{
	memset(m, 0, sizeof(*m));
}

void msg_begin(struct msg_out *m, uint16_t type, uint32_t seq)
{
	msg_begin_attrs(m);
	msg_grow(m, MSG_HDR_LEN);
	if (m->err)
		return;
	memset(m->buf, 0, MSG_HDR_LEN);
	m->buf[0] = MSG_VERSION;
	m->buf[2] = (uint8_t)type;
	m->buf[3] = (uint8_t)(type >> 8);
	le32_put(m->buf + 8, seq);
	m->len = MSG_HDR_LEN;
}

uint8_t *msg_reserve(struct msg_out *m, uint16_t attr, size_t n)
{
	if (n > MSG_MAX) {
		m->err = EMSGSIZE;
		return NULL;
	}
	msg_grow(m, 8 + ALIGN8(n));
	if (m->err)
		return NULL;
	uint8_t *p = m->buf + m->len;
	p[0] = (uint8_t)attr;
	p[1] = (uint8_t)(attr >> 8);
	p[2] = p[3] = 0;
	le32_put(p + 4, (uint32_t)n);
	memset(p + 8 + n, 0, ALIGN8(n) - n);
	m->len += 8 + ALIGN8(n);
	return p + 8;
}

void msg_add_blob(struct msg_out *m, uint16_t attr, const void *v, size_t n)
{
	uint8_t *p = msg_reserve(m, attr, n);
	if (p && n)
		memcpy(p, v, n);
}

void msg_add_u32(struct msg_out *m, uint16_t attr, uint32_t v)
{
	uint8_t *p = msg_reserve(m, attr, 4);
	if (p)
		le32_put(p, v);
}

void msg_add_u64(struct msg_out *m, uint16_t attr, uint64_t v)
{
	uint8_t *p = msg_reserve(m, attr, 8);
	if (p)
		le64_put(p, v);
}

void msg_add_str(struct msg_out *m, uint16_t attr, const char *s)
{
	size_t n = strnlen(s, MSG_STR_MAX + 1);
	if (n > MSG_STR_MAX) {
		m->err = EMSGSIZE;
		return;
	}
	msg_add_blob(m, attr, s, n);
}

int msg_end(struct msg_out *m)
{
	if (m->err) {
		errno = m->err;
		return -1;
	}
	if (m->len >= MSG_HDR_LEN && m->buf[0] == MSG_VERSION)
		le32_put(m->buf + 4, (uint32_t)m->len);
	return 0;
}

void msg_free(struct msg_out *m)
{
	free(m->buf);
	memset(m, 0, sizeof(*m));
}

uint32_t msg_peek_seq(const void *buf, size_t len)
{
	return len >= MSG_HDR_LEN ? le32_get((const uint8_t *)buf + 8) : 0;
}

void msg_set_seq(void *buf, uint32_t seq)
{
	le32_put((uint8_t *)buf + 8, seq);
}

static const char *attr_name(const struct msg_schema *s, unsigned a)
{
	return a < MSG_ATTR_MAX && s->attr_names[a] ? s->attr_names[a] : "unknown";
}

int msg_parse_attrs(const struct msg_schema *s, const struct msg_policy *p, const void *buf,
    size_t len, struct msg_in *m, char *err, size_t errlen)
{
	const uint8_t *b = buf;
	size_t off = 0;

	memset(m->val, 0, sizeof(m->val));
	memset(m->vlen, 0, sizeof(m->vlen));
	memset(m->count, 0, sizeof(m->count));
	m->body = b;
	m->body_len = len;
	while (off < len) {
		if (len - off < 8) {
			snprintf(err, errlen, "%s: %s: truncated attribute header at offset %zu",
			    s->name, p->name, off);
			return -1;
		}
		unsigned a = (unsigned)b[off] | (unsigned)b[off + 1] << 8;
		uint32_t n = le32_get(b + off + 4);
		if (b[off + 2] || b[off + 3]) {
			snprintf(err, errlen, "%s: %s: reserved attribute bits set", s->name, p->name);
			return -1;
		}
		if (n > len - off - 8 || ALIGN8((size_t)n) > len - off - 8) {
			snprintf(err, errlen, "%s: %s: attribute %s length %u overruns the message",
			    s->name, p->name, attr_name(s, a), n);
			return -1;
		}
		if (a == 0 || a >= MSG_ATTR_MAX || !(p->allowed & (1ULL << a))) {
			snprintf(err, errlen, "%s: %s: attribute %u (%s) not allowed", s->name,
			    p->name, a, attr_name(s, a));
			return -1;
		}
		const uint8_t *v = b + off + 8;
		int ok = 1;
		switch (s->kinds[a]) {
		case MK_U32: ok = n == 4; break;
		case MK_U64: ok = n == 8; break;
		case MK_STR: ok = n <= MSG_STR_MAX && !memchr(v, 0, n); break;
		case MK_BLOB: break;
		default: ok = 0;
		}
		if (!ok) {
			snprintf(err, errlen, "%s: %s: attribute %s has a bad value (length %u)",
			    s->name, p->name, attr_name(s, a), n);
			return -1;
		}
		if (m->count[a] && !(p->multi & (1ULL << a))) {
			snprintf(err, errlen, "%s: %s: attribute %s repeated", s->name, p->name,
			    attr_name(s, a));
			return -1;
		}
		if (!m->count[a]++) {
			m->val[a] = v;
			m->vlen[a] = n;
		}
		off += 8 + ALIGN8((size_t)n);
	}
	for (unsigned a = 1; a < MSG_ATTR_MAX; a++)
		if ((p->required & (1ULL << a)) && !m->count[a]) {
			snprintf(err, errlen, "%s: %s: missing attribute %s", s->name, p->name,
			    attr_name(s, a));
			return -1;
		}
	return 0;
}

int msg_parse(const struct msg_schema *s, const void *buf, size_t len, struct msg_in *m,
    char *err, size_t errlen)
{
	const uint8_t *b = buf;

	memset(m, 0, sizeof(*m));
	if (len < MSG_HDR_LEN) {
		snprintf(err, errlen, "%s: message of %zu bytes is shorter than its header",
		    s->name, len);
		return -1;
	}
	unsigned version = (unsigned)b[0] | (unsigned)b[1] << 8;
	m->type = (uint16_t)(b[2] | b[3] << 8);
	uint32_t total = le32_get(b + 4);
	m->seq = le32_get(b + 8);
	if (version != MSG_VERSION) {
		snprintf(err, errlen, "%s: protocol version %u, expected %u", s->name, version,
		    MSG_VERSION);
		return -1;
	}
	if (total != len || total > MSG_MAX) {
		snprintf(err, errlen, "%s: header says %u bytes, received %zu (limit %u)", s->name,
		    total, len, MSG_MAX);
		return -1;
	}
	if (le32_get(b + 12)) {
		snprintf(err, errlen, "%s: unknown header flags 0x%x", s->name, le32_get(b + 12));
		return -1;
	}
	if (m->type == 0 || m->type >= s->ntypes || !s->policies[m->type].name) {
		snprintf(err, errlen, "%s: unknown message type %u", s->name, m->type);
		return -1;
	}
	uint16_t type = m->type;
	uint32_t seq = m->seq;
	int r = msg_parse_attrs(s, &s->policies[type], b + MSG_HDR_LEN, len - MSG_HDR_LEN, m, err,
	    errlen);
	m->type = type;
	m->seq = seq;
	return r;
}

int msg_has(const struct msg_in *m, uint16_t attr)
{
	return attr < MSG_ATTR_MAX && m->count[attr];
}

uint32_t msg_u32(const struct msg_in *m, uint16_t attr)
{
	return msg_has(m, attr) && m->vlen[attr] == 4 ? le32_get(m->val[attr]) : 0;
}

uint64_t msg_u64(const struct msg_in *m, uint16_t attr)
{
	return msg_has(m, attr) && m->vlen[attr] == 8 ? le64_get(m->val[attr]) : 0;
}

const char *msg_str(const struct msg_in *m, uint16_t attr, char *out, size_t cap)
{
	size_t n = msg_has(m, attr) ? m->vlen[attr] : 0;
	if (n >= cap)
		n = cap - 1;
	memcpy(out, msg_has(m, attr) ? m->val[attr] : (const uint8_t *)"", n);
	out[n] = 0;
	return out;
}

int msg_next(const struct msg_in *m, uint16_t attr, size_t *pos, const uint8_t **val,
    uint32_t *len)
{
	while (*pos + 8 <= m->body_len) {
		const uint8_t *b = m->body + *pos;
		unsigned a = (unsigned)b[0] | (unsigned)b[1] << 8;
		uint32_t n = le32_get(b + 4);
		*pos += 8 + ALIGN8((size_t)n);
		if (a == attr) {
			*val = b + 8;
			*len = n;
			return 1;
		}
	}
	return 0;
}

int refuse(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	errno = EINVAL;
	return -1;
}
