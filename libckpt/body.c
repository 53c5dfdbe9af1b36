/* body.c - encoders and checked decoders of the small record bodies. */
#include <errno.h>
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

/* a NIC spec, an origin, a guest kind: printable, no spaces, shorter than cap */
static int word_ok(const uint8_t *n, size_t len, size_t cap)
{
	if (len < 1 || len >= cap)
		return 0;
	for (size_t i = 0; i < len; i++)
		if (n[i] <= ' ' || n[i] > '~')
			return 0;
	return 1;
}

static void put_str(uint8_t *buf, size_t *off, const char *s, size_t n)
{
	le32_put(buf + *off, (uint32_t)n);
	memcpy(buf + *off + 4, s, n);
	*off += 4 + n;
}

/* a u32 length and its bytes at *off, 0 to cap-1 of them (min: at least) */
static const uint8_t *get_str(const uint8_t *b, size_t len, size_t *off, size_t min, size_t cap,
    size_t *n)
{
	if (len - *off < 4)
		return NULL;
	*n = le32_get(b + *off);
	if (*n < min || *n >= cap || len - *off - 4 < *n)
		return NULL;
	const uint8_t *p = b + *off + 4;
	*off += 4 + *n;
	return p;
}

#define F(d, f) sizeof((d)->f)

int ckpt_domain_encode(const struct ckpt_domain *d, uint8_t *buf, size_t cap, size_t *len)
{
	size_t nl = strlen(d->name), tl = strlen(d->net), ol = strlen(d->origin), gl = strlen(d->guest);
	char why[160];
	if (cap < 36 + nl + tl + ol + gl + 16 * (size_t)d->map.n ||
	    memmap_check(&d->map, why, sizeof(why)) < 0 || !name_ok((const uint8_t *)d->name, nl) ||
	    (tl && !word_ok((const uint8_t *)d->net, tl, F(d, net))) ||
	    !word_ok((const uint8_t *)d->origin, ol, F(d, origin)) ||
	    !word_ok((const uint8_t *)d->guest, gl, F(d, guest)))
		return -1;
	le64_put(buf, d->mem);
	le32_put(buf + 8, d->vcpus);
	le32_put(buf + 12, d->page_size);
	*len = 16;
	put_str(buf, len, d->name, nl);
	put_str(buf, len, d->net, tl);	/* 0: no NIC */
	put_str(buf, len, d->origin, ol);
	put_str(buf, len, d->guest, gl);
	le32_put(buf + *len, d->map.n);	/* 0: RAM is one block */
	*len += 4;
	for (uint32_t i = 0; i < d->map.n; i++, *len += 16) {
		le64_put(buf + *len, d->map.e[i].pfn);
		le64_put(buf + *len + 8, d->map.e[i].pages);
	}
	return 0;
}

int ckpt_domain_decode(const uint8_t *b, size_t len, struct ckpt_domain *d, char *err, size_t errlen)
{
	const uint8_t *name, *net, *origin, *guest;
	size_t off = 16, nl = 0, tl = 0, ol = 0, gl = 0;
	memset(d, 0, sizeof(*d));
	if (len < 16 || !(name = get_str(b, len, &off, 1, F(d, name), &nl)) ||
	    !(net = get_str(b, len, &off, 0, F(d, net), &tl)) ||
	    !(origin = get_str(b, len, &off, 1, F(d, origin), &ol)) ||
	    !(guest = get_str(b, len, &off, 1, F(d, guest), &gl)) || len - off < 4 ||
	    (d->map.n = le32_get(b + off)) > MEMMAP_MAX || len - off - 4 != 16 * (size_t)d->map.n) {
		snprintf(err, errlen, "DOMAIN_HEADER: %zu bytes do not match its name, NIC, origin, "
		    "guest and memory map", len);
		d->map.n = 0;
		return -1;
	}
	for (uint32_t i = 0; i < d->map.n; i++) {
		d->map.e[i].pfn = le64_get(b + off + 4 + 16 * i);
		d->map.e[i].pages = le64_get(b + off + 12 + 16 * i);
	}
	char why[160];
	if (memmap_check(&d->map, why, sizeof(why)) < 0)
		return snprintf(err, errlen, "DOMAIN_HEADER: %s", why), -1;
	if (memmap_pages(&d->map) > (1ULL << 28))
		return snprintf(err, errlen, "DOMAIN_HEADER: its memory map holds more than 1 TiB"), -1;
	if (!name_ok(name, nl) || (tl && !word_ok(net, tl, F(d, net))) ||
	    !word_ok(origin, ol, F(d, origin)) || !word_ok(guest, gl, F(d, guest))) {
		snprintf(err, errlen, "DOMAIN_HEADER: bad domain name, NIC, origin or guest");
		return -1;
	}
	memcpy(d->name, name, nl);
	memcpy(d->net, net, tl);
	memcpy(d->origin, origin, ol);
	memcpy(d->guest, guest, gl);
	d->mem = le64_get(b);
	d->vcpus = le32_get(b + 8);
	d->page_size = le32_get(b + 12);
	if (d->page_size != CKPT_PAGE_SIZE || d->vcpus < 1 || d->vcpus > 64 ||
	    d->mem < (16ULL << 20) || d->mem > (1ULL << 40) || d->mem % CKPT_PAGE_SIZE) {
		snprintf(err, errlen, "DOMAIN_HEADER: impossible shape (%llu bytes, %u vCPUs, "
		    "page size %u)", (unsigned long long)d->mem, d->vcpus, d->page_size);
		return -1;
	}
	return 0;
}

int ckpt_write_domain(struct rio *r, const char *name, uint64_t mem, uint32_t vcpus,
    const char *net, const char *origin, const char *guest, const struct memmap *map)
{
	struct ckpt_domain d = { mem, vcpus, CKPT_PAGE_SIZE, "", "", "", "", { 0 } };
	uint8_t b[320 + 16 * MEMMAP_MAX];
	size_t len;
	snprintf(d.name, sizeof(d.name), "%s", name);
	snprintf(d.net, sizeof(d.net), "%s", net ? net : "");
	snprintf(d.origin, sizeof(d.origin), "%s", origin);
	snprintf(d.guest, sizeof(d.guest), "%s", guest);
	if (map)
		d.map = *map;
	if (ckpt_domain_encode(&d, b, sizeof(b), &len) < 0)
		return rio_fail(r, EINVAL, "DOMAIN_HEADER: %s cannot be described (name, NIC, origin "
		    "%s, guest %s or its memory map of %u extents)", name, origin, guest, d.map.n);
	return ckpt_write_simple(r, CK_DOMAIN_HEADER, b, len);
}

int ckpt_domain_fits(const struct ckpt_domain *d, const char *backend, const char *guest,
    char *err, size_t errlen)
{
	if (strcmp(d->origin, backend))
		return snprintf(err, errlen, "%s: the stream carries %s's state (a %s guest); this "
		    "host's backend is %s and cannot restore it", d->name, d->origin, d->guest,
		    backend), -1;
	if (strcmp(d->guest, guest))
		return snprintf(err, errlen, "%s: a %s guest; %s here runs %s guests only", d->name,
		    d->guest, backend, guest), -1;
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
