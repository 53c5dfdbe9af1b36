/*
 * test_nic_hold.c - output commit's hold (hypervisor/nic_hold.c) against a
 * model: 20000 random steps of frames of every size (wrapping the ring
 * many times), epoch marks and releases.  Out comes exactly what went in,
 * in order, and only frames of released epochs; a full hold refuses a
 * frame and takes it once a release made room; marks must grow.
 */
#include <stdlib.h>
#include <string.h>

#include "hvd.h"
#include "tap.h"

#define MODEL 4096
static struct { uint16_t len; uint8_t tag; uint64_t epoch; } model[MODEL];
static unsigned mhead, mlen, bad_order, bad_epoch, out_n;
static uint64_t released_upto;	/* the epoch last released */

static void out(void *arg, const uint8_t *f, size_t len)
{
	(void)arg;
	if (!mlen || model[mhead].len != len || f[0] != model[mhead].tag || f[len - 1] != model[mhead].tag)
		bad_order++;
	else if (model[mhead].epoch > released_upto)
		bad_epoch++;
	mhead = (mhead + 1) % MODEL;
	mlen--;
	out_n++;
}

int main(void)
{
	struct nic_hold h;
	uint8_t f[NIC_FRAME_MAX];
	uint64_t epoch = 0;	/* the open epoch is epoch + 1 */
	unsigned refused = 0, taken = 0;

	CHECK(hold_init(&h, 8000) == 0);
	srand(7);
	for (int step = 0; step < 20000; step++) {
		int r = rand() % 10;
		if (r < 7) {	/* the guest sends a frame */
			size_t len = 14 + (size_t)rand() % (NIC_FRAME_MAX - 13);
			uint8_t tag = (uint8_t)step;
			memset(f, tag, len);
			int fits = hold_room(&h, len);
			int got = hold_put(&h, f, len);
			CHECK((got == 0) == fits);
			if (got == 0) {
				unsigned i = (mhead + mlen) % MODEL;
				model[i].len = (uint16_t)len, model[i].tag = tag, model[i].epoch = epoch + 1;
				mlen++;
				taken++;
			} else
				refused++;
		} else if (r < 9) {	/* a checkpoint closes the open epoch */
			if (hold_mark(&h, epoch + 1) == 0)
				epoch++;
		} else if (epoch > released_upto) {	/* the backup acknowledges some */
			released_upto += 1 + (uint64_t)rand() % (epoch - released_upto);
			hold_release(&h, released_upto, out, NULL);
		}
	}
	CHECK(taken > 1000 && refused > 100);	/* it wrapped, and it filled */
	CHECK(bad_order == 0 && bad_epoch == 0);
	CHECK(h.frames == mlen);
	CHECK(hold_mark(&h, epoch) < 0);	/* marks only grow */
	released_upto = UINT64_MAX;
	hold_release_all(&h, out, NULL);
	CHECK(mlen == 0 && h.frames == 0 && h.len == 0 && bad_order == 0);
	CHECK(out_n == taken);
	CHECK(hold_put(&h, f, NIC_FRAME_MAX + 1) < 0);	/* no frame larger than the NIC takes */
	hold_free(&h);
	return TAP_DONE();
}
