/*
 * test_guest_range.c - gpa_range_ok() (hypervisor/hvd.h), the check in
 * front of every read of guest memory at an address the guest chose: a
 * range that wraps around 2^64 (a guest rsp of 0xffff...) was once taken as
 * inside guest memory, and hvd read host memory past the guest's.  And
 * gmem_off(), which places an address in the PC layout of guest RAM (low
 * RAM, the MMIO hole, RAM from 4 GiB): nothing in the hole or across its
 * edges, nothing past the end, and high RAM right after low RAM in the file.
 */
#include "hvd.h"
#include "tap.h"

int main(void)
{
	const uint64_t size = 256ULL << 20;
	CHECK(gpa_range_ok(size, 0, 48));
	CHECK(gpa_range_ok(size, size - 48, 48));
	CHECK(gpa_range_ok(size, size, 0));
	CHECK(!gpa_range_ok(size, size - 47, 48));
	CHECK(!gpa_range_ok(size, size, 1));
	CHECK(!gpa_range_ok(size, UINT64_MAX - 7, 48));	/* wraps: rsp near 2^64 */
	CHECK(!gpa_range_ok(size, UINT64_MAX, 1));
	CHECK(!gpa_range_ok(size, 16, UINT64_MAX));
	CHECK(!gpa_range_ok(size, 1ULL << 63, 1ULL << 63));

	const uint64_t G = 1ULL << 30;
	struct gmem small, big;
	gmem_init(&small, NULL, 256ULL << 20);
	gmem_init(&big, NULL, 8 * G);
	CHECK(small.low == small.size && big.low == 3 * G);
	CHECK(gmem_off(&small, 0, 4096) == 0 && gmem_off(&small, GMEM_HIGH, 1) < 0);
	CHECK(gmem_off(&big, 3 * G - 4096, 4096) == (int64_t)(3 * G - 4096));
	CHECK(gmem_off(&big, 3 * G - 4095, 4096) < 0);		/* into the hole */
	CHECK(gmem_off(&big, 0xd0000000, 4) < 0);		/* a device */
	CHECK(gmem_off(&big, 4 * G - 1, 2) < 0);		/* across the hole's top */
	CHECK(gmem_off(&big, 4 * G, 4096) == (int64_t)(3 * G));	/* high RAM follows low */
	CHECK(gmem_off(&big, 9 * G - 4096, 4096) == (int64_t)(8 * G - 4096));
	CHECK(gmem_off(&big, 9 * G - 4095, 4096) < 0);		/* past the end */
	CHECK(gmem_off(&big, 9 * G, 1) < 0);
	CHECK(gmem_off(&big, UINT64_MAX - 7, 48) < 0);		/* wraps */
	CHECK(gmem_off(&big, 4 * G, UINT64_MAX) < 0);
	return TAP_DONE();
}
