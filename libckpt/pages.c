/*
 * pages.c - PAGE_DATA batches.  The sender classifies each page as it is
 * added: all-zero pages go as ZERO with no data, others as LZ4 when that
 * is enabled and saves space, else RAW.  The receiver validates a whole
 * batch (pfns in range and unique, encodings known, lengths adding up, LZ4
 * decompressing to exactly one page) before it touches guest memory.
 */
#include <errno.h>
#include <lz4.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>

#include "ckpt.h"
#include "msg.h"

int ckpt_batch_init(struct ckpt_batch *b, int lz4)
{
	memset(b, 0, sizeof(*b));
	b->lz4 = lz4;
	b->data = malloc((size_t)CKPT_BATCH_MAX * CKPT_PAGE_SIZE);
	b->lz4_state = LZ4_createStream();
	if (b->data && b->lz4_state)
		return 0;
	ckpt_batch_free(b);
	return -1;
}

void ckpt_batch_free(struct ckpt_batch *b)
{
	free(b->data);
	b->data = NULL;
	LZ4_freeStream(b->lz4_state);
	b->lz4_state = NULL;
}

/* One page as an independent LZ4 block; 0 when it does not fit in cap. */
static int lz4_page(struct ckpt_batch *b, const uint8_t *page, uint8_t *out, int cap)
{
	LZ4_resetStream_fast(b->lz4_state);	/* no dictionary: the block stands alone */
	return LZ4_compress_fast_continue(b->lz4_state, (const char *)page, (char *)out,
	    CKPT_PAGE_SIZE, cap, 1);
}

int ckpt_page_is_zero(const uint8_t *p)
{
	const uint64_t *w = (const uint64_t *)(const void *)p;
	for (size_t i = 0; i < CKPT_PAGE_SIZE / 8; i += 8)
		if (w[i] | w[i + 1] | w[i + 2] | w[i + 3] | w[i + 4] | w[i + 5] | w[i + 6] | w[i + 7])
			return 0;
	return 1;
}

int ckpt_batch_flush(struct ckpt_batch *b, struct rio *r)
{
	if (!b->count)
		return r->err ? -1 : 0;
	le32_put(b->head, b->count);
	le32_put(b->head + 4, 0);
	const void *parts[2] = { b->head, b->data };
	size_t lens[2] = { 8 + 16 * (size_t)b->count, b->data_len };
	b->count = 0;
	b->data_len = 0;
	return ckpt_write_record(r, CK_PAGE_DATA, parts, lens, 2);
}

/* auto: a page that paid resets the back-off; one that did not skips the
 * next 16 pages, then 32, ... up to 1024 */
static void auto_backoff(struct ckpt_batch *b, int paid)
{
	if (paid)
		b->backoff = 0;
	else
		b->skip = b->backoff = !b->backoff ? 16 : b->backoff < 1024 ? 2 * b->backoff : 1024;
}

int ckpt_batch_add(struct ckpt_batch *b, struct rio *r, uint64_t pfn, const uint8_t *page)
{
	uint8_t *e = b->head + 8 + 16 * (size_t)b->count;
	uint32_t enc, len;

	if (ckpt_page_is_zero(page)) {
		enc = CKE_ZERO;
		len = 0;
		b->pages_zero++;
	} else {
		int n = 0;
		if (b->skip)	/* auto, backing off */
			b->skip--;
		else if (b->lz4) {
			n = lz4_page(b, page, b->data + b->data_len, CKPT_PAGE_SIZE - 1);
			if (b->lz4 == CKPT_LZ4_AUTO)
				auto_backoff(b, n > 0 && n <= CKPT_PAGE_SIZE * 3 / 4);
		}
		if (n > 0) {
			enc = CKE_LZ4;
			len = (uint32_t)n;
			b->pages_lz4++;
		} else {
			enc = CKE_RAW;
			len = CKPT_PAGE_SIZE;
			memcpy(b->data + b->data_len, page, CKPT_PAGE_SIZE);
			b->pages_raw++;
		}
	}
	le64_put(e, pfn);
	le32_put(e + 8, enc);
	le32_put(e + 12, len);
	b->data_len += len;
	if (!(b->count & 15))
		rio_turn(r);
	if (++b->count == (b->limit ? b->limit : CKPT_BATCH_MAX))
		return ckpt_batch_flush(b, r);
	return 0;
}

/* Pass 1: the whole body is valid for a guest of npages pages. */
int ckpt_pages_check(const uint8_t *body, size_t len, uint64_t npages, uint8_t *scratch,
    uint32_t *count, uint32_t enc_counts[3], char *err, size_t errlen)
{
	if (len < 8) {
		snprintf(err, errlen, "PAGE_DATA: %zu bytes is too short", len);
		return -1;
	}
	uint32_t n = le32_get(body);
	if (n < 1 || n > CKPT_BATCH_MAX || le32_get(body + 4) || len < 8 + 16 * (size_t)n) {
		snprintf(err, errlen, "PAGE_DATA: bad page count %u for %zu bytes", n, len);
		return -1;
	}
	const uint8_t *ent = body + 8;
	size_t off = 8 + 16 * (size_t)n;
	uint64_t seen[CKPT_BATCH_MAX];
	int rising = 1;
	for (uint32_t i = 0; i < n; i++) {
		uint64_t pfn = le64_get(ent + 16 * i);
		uint32_t enc = le32_get(ent + 16 * i + 8), dl = le32_get(ent + 16 * i + 12);
		if (pfn >= npages) {
			snprintf(err, errlen, "PAGE_DATA: pfn 0x%llx beyond the guest's %llu pages",
			    (unsigned long long)pfn, (unsigned long long)npages);
			return -1;
		}
		int ok = (enc == CKE_RAW && dl == CKPT_PAGE_SIZE) || (enc == CKE_ZERO && dl == 0) ||
		    (enc == CKE_LZ4 && dl >= 1 && dl < CKPT_PAGE_SIZE);
		if (!ok || dl > len - off) {
			snprintf(err, errlen, "PAGE_DATA: page %u has encoding %u with %u bytes", i,
			    enc, dl);
			return -1;
		}
		/* while pfns rise (the common case) none can repeat an earlier one */
		if (i && !(rising = rising && pfn > seen[i - 1]))
			for (uint32_t k = 0; k < i; k++)
				if (seen[k] == pfn) {
					snprintf(err, errlen, "PAGE_DATA: pfn 0x%llx twice in one batch",
					    (unsigned long long)pfn);
					return -1;
				}
		seen[i] = pfn;
		if (enc == CKE_LZ4) {
			char tmp[CKPT_PAGE_SIZE], *out = scratch ? (char *)scratch + (size_t)i * CKPT_PAGE_SIZE : tmp;
			if (LZ4_decompress_safe((const char *)body + off, out, (int)dl,
			    CKPT_PAGE_SIZE) != CKPT_PAGE_SIZE) {
				snprintf(err, errlen, "PAGE_DATA: pfn 0x%llx: LZ4 data does not "
				    "decompress to one page", (unsigned long long)pfn);
				return -1;
			}
		}
		if (enc_counts)
			enc_counts[enc]++;
		off += dl;
	}
	if (off != len) {
		snprintf(err, errlen, "PAGE_DATA: %zu bytes left over after the pages", len - off);
		return -1;
	}
	*count = n;
	return 0;
}

/* Pass 2 over a checked body: page i's pfn, encoding and data. */
static const uint8_t *entry(const uint8_t *body, uint32_t i, size_t *off, uint64_t *pfn,
    uint32_t *enc, uint32_t *dl)
{
	const uint8_t *e = body + 8 + 16 * (size_t)i;
	*pfn = le64_get(e);
	*enc = le32_get(e + 8);
	*dl = le32_get(e + 12);
	const uint8_t *d = body + *off;
	*off += *dl;
	return d;
}

void ckpt_pages_copy(const uint8_t *body, uint8_t *mem, const uint8_t *scratch)
{
	uint32_t n = le32_get(body), enc, dl;
	size_t off = 8 + 16 * (size_t)n;
	uint64_t pfn;
	for (uint32_t i = 0; i < n; i++) {
		const uint8_t *d = entry(body, i, &off, &pfn, &enc, &dl);
		uint8_t *dst = mem + pfn * CKPT_PAGE_SIZE;
		if (enc == CKE_RAW)
			memcpy(dst, d, CKPT_PAGE_SIZE);
		else if (enc == CKE_LZ4 && scratch)
			memcpy(dst, scratch + (size_t)i * CKPT_PAGE_SIZE, CKPT_PAGE_SIZE);
		else if (enc == CKE_ZERO)
			memset(dst, 0, CKPT_PAGE_SIZE);
		else
			LZ4_decompress_safe((const char *)d, (char *)dst, (int)dl, CKPT_PAGE_SIZE);
	}
}

static int pwrite_all(int fd, struct iovec *iov, int cnt, uint64_t off)
{
	while (cnt) {
		ssize_t w = pwritev(fd, iov, cnt, (off_t)off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return w < 0 ? -1 : (errno = EIO, -1);
		off += (uint64_t)w;
		while (cnt && (size_t)w >= iov->iov_len) {
			w -= (ssize_t)iov->iov_len;
			iov++;
			cnt--;
		}
		if (cnt) {
			iov->iov_base = (uint8_t *)iov->iov_base + w;
			iov->iov_len -= (size_t)w;
		}
	}
	return 0;
}

int ckpt_pages_pwrite(const uint8_t *body, int fd, uint8_t *scratch)
{
	static const uint8_t zero[CKPT_PAGE_SIZE];
	struct iovec iov[CKPT_BATCH_MAX];
	uint32_t n = le32_get(body), enc, dl;
	size_t off = 8 + 16 * (size_t)n;
	uint64_t pfn, first = 0;
	int cnt = 0;
	for (uint32_t i = 0; i < n; i++) {
		const uint8_t *d = entry(body, i, &off, &pfn, &enc, &dl);
		if (cnt && pfn != first + (uint64_t)cnt) {
			if (pwrite_all(fd, iov, cnt, first * CKPT_PAGE_SIZE) < 0)
				return -1;
			cnt = 0;
		}
		if (!cnt)
			first = pfn;
		if (enc == CKE_LZ4)
			d = scratch + (size_t)i * CKPT_PAGE_SIZE;	/* the check decompressed it */
		else if (enc == CKE_ZERO)
			d = zero;
		iov[cnt].iov_base = (void *)(uintptr_t)d;
		iov[cnt++].iov_len = CKPT_PAGE_SIZE;
	}
	return cnt ? pwrite_all(fd, iov, cnt, first * CKPT_PAGE_SIZE) : 0;
}

int ckpt_pages_apply(const uint8_t *body, size_t len, uint64_t npages, uint8_t *mem,
    uint32_t *count, uint32_t enc_counts[3], char *err, size_t errlen)
{
	if (ckpt_pages_check(body, len, npages, NULL, count, enc_counts, err, errlen) < 0)
		return -1;
	if (mem)
		ckpt_pages_copy(body, mem, NULL);
	return 0;
}
