/* body.c - encoders and checked decoders of the small record bodies. */
#include <stdio.h>
#include <string.h>

#include "ckpt.h"
#include "msg.h"

static int name_ok(const uint8_t *n, size_t len)
{
	if (len < 1 || len > 64)
		return 0;
	for (size_t i = 0; i < len; i++)
		if (!((n[i] >= 'a' && n[i] <= 'z') || (n[i] >= 'A' && n[i] <= 'Z') ||
		    (n[i] >= '0' && n[i] <= '9') || n[i] == '.' || n[i] == '_' || n[i] == '-'))
			return 0;
	return 1;
}

/* the NIC spec: printable, no spaces, shorter than its field */
static int net_ok(const uint8_t *n, size_t len)
{
	if (len < 1 || len >= sizeof(((struct ckpt_domain *)0)->net))
		return 0;
	for (size_t i = 0; i < len; i++)
		if (n[i] <= ' ' || n[i] > '~')
			return 0;
	return 1;
}

int ckpt_domain_encode(const struct ckpt_domain *d, uint8_t *buf, size_t cap, size_t *len)
{
	size_t nl = strlen(d->name), tl = strlen(d->net);
	if (cap < 24 + nl + tl || !name_ok((const uint8_t *)d->name, nl) ||
	    (tl && !net_ok((const uint8_t *)d->net, tl)))
		return -1;
	le64_put(buf, d->mem);
	le32_put(buf + 8, d->vcpus);
	le32_put(buf + 12, d->page_size);
	le32_put(buf + 16, (uint32_t)nl);
	memcpy(buf + 20, d->name, nl);
	*len = 20 + nl;
	if (tl) {	/* optional: a domain without a NIC ends at its name */
		le32_put(buf + *len, (uint32_t)tl);
		memcpy(buf + *len + 4, d->net, tl);
		*len += 4 + tl;
	}
	return 0;
}

int ckpt_domain_decode(const uint8_t *b, size_t len, struct ckpt_domain *d, char *err, size_t errlen)
{
	size_t end = len >= 20 ? 20 + (size_t)le32_get(b + 16) : 0;
	if (len < 20 || end > len || (end < len && (len - end < 4 ||
	    len - end - 4 != le32_get(b + end) || !net_ok(b + end + 4, len - end - 4)))) {
		snprintf(err, errlen, "DOMAIN_HEADER: %zu bytes do not match its name and NIC", len);
		return -1;
	}
	memset(d->net, 0, sizeof(d->net));
	if (end < len)
		memcpy(d->net, b + end + 4, len - end - 4);
	d->mem = le64_get(b);
	d->vcpus = le32_get(b + 8);
	d->page_size = le32_get(b + 12);
	size_t nl = le32_get(b + 16);
	if (!name_ok(b + 20, nl)) {
		snprintf(err, errlen, "DOMAIN_HEADER: bad domain name");
		return -1;
	}
	memcpy(d->name, b + 20, nl);
	d->name[nl] = 0;
	if (d->page_size != CKPT_PAGE_SIZE || d->vcpus < 1 || d->vcpus > 64 ||
	    d->mem < (16ULL << 20) || d->mem > (1ULL << 40) || d->mem % CKPT_PAGE_SIZE) {
		snprintf(err, errlen, "DOMAIN_HEADER: impossible shape (%llu bytes, %u vCPUs, "
		    "page size %u)", (unsigned long long)d->mem, d->vcpus, d->page_size);
		return -1;
	}
	return 0;
}

int ckpt_u64_decode(const uint8_t *b, size_t len, uint64_t *v, char *err, size_t errlen)
{
	if (len != 8) {
		snprintf(err, errlen, "record body is %zu bytes, expected 8", len);
		return -1;
	}
	*v = le64_get(b);
	return 0;
}

int ckpt_protect_encode(const struct ckpt_protect *p, uint8_t *buf, size_t cap, size_t *len)
{
	size_t n = strlen(p->name);
	if (cap < 16 + n || n > 64)
		return -1;
	le64_put(buf, p->gen);
	le32_put(buf + 8, p->epoch_ms);
	le32_put(buf + 12, (uint32_t)n);
	memcpy(buf + 16, p->name, n);
	*len = 16 + n;
	return 0;
}

int ckpt_protect_decode(const uint8_t *b, size_t len, struct ckpt_protect *p, char *err,
    size_t errlen)
{
	uint32_t n = len >= 16 ? le32_get(b + 12) : 0;
	if (len < 16 || n < 1 || n > 64 || len != 16 + (size_t)n)
		return snprintf(err, errlen, "PROTECT body of %zu bytes does not hold a name", len), -1;
	for (uint32_t i = 0; i < n; i++) {
		uint8_t c = b[16 + i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		    c == '.' || c == '_' || c == '-'))
			return snprintf(err, errlen, "PROTECT: the VM's name has a bad byte 0x%02x", c), -1;
	}
	p->gen = le64_get(b);
	p->epoch_ms = le32_get(b + 8);
	if (p->epoch_ms < 1 || p->epoch_ms > 10000)
		return snprintf(err, errlen, "PROTECT: epoch of %u ms (1-10000)", p->epoch_ms), -1;
	memcpy(p->name, b + 16, n);
	p->name[n] = 0;
	return 0;
}

void ckpt_round_encode(const struct ckpt_round *rd, uint8_t out[24])
{
	le32_put(out, rd->round);
	le32_put(out + 4, 0);
	le64_put(out + 8, rd->pages);
	le64_put(out + 16, rd->left);
}

int ckpt_round_decode(const uint8_t *b, size_t len, struct ckpt_round *rd, char *err, size_t errlen)
{
	if (len != 24) {
		snprintf(err, errlen, "ROUND record is %zu bytes, expected 24", len);
		return -1;
	}
	rd->round = le32_get(b);
	rd->pages = le64_get(b + 8);
	rd->left = le64_get(b + 16);
	return 0;
}
