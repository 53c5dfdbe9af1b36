/*
 * test_guest_range.c - gpa_range_ok() (hypervisor/hvd.h), the check in
 * front of every read of guest memory at an address the guest chose: a
 * range that wraps around 2^64 (a guest rsp of 0xffff...) was once taken as
 * inside guest memory, and hvd read host memory past the guest's.
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
	return TAP_DONE();
}
