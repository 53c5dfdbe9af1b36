/*
 * test_beat.c - the heartbeat datagram (fencing/beat.c) and the majority
 * rule that lets a backup act before corosync's view.
 */
#include <string.h>

#include "beat.h"
#include "tap.h"

int main(void)
{
	static const uint8_t key[32] = "the cluster's corosync authkey.";
	uint8_t pkt[BEAT_LEN];
	struct beat_msg m = { 3, 1796250530410123ULL, 0x5 }, got;
	char err[200];

	beat_encode(&m, key, sizeof(key), pkt);
	CHECK(beat_decode(pkt, sizeof(pkt), key, sizeof(key), &got, err, sizeof(err)) == 0);
	CHECK(got.node == 3 && got.seq == m.seq && got.heard == 0x5);
	/* another key, a short or long datagram, and every single bit flip: refused */
	uint8_t other[32];
	memcpy(other, key, sizeof(other));
	other[0] ^= 1;
	CHECK(beat_decode(pkt, sizeof(pkt), other, sizeof(other), &got, err, sizeof(err)) < 0);
	CHECK(beat_decode(pkt, sizeof(pkt) - 1, key, sizeof(key), &got, err, sizeof(err)) < 0);
	int caught = 0;
	for (int i = 0; i < BEAT_LEN * 8; i++) {
		pkt[i / 8] ^= (uint8_t)(1u << (i % 8));
		caught += beat_decode(pkt, sizeof(pkt), key, sizeof(key), &got, err, sizeof(err)) < 0;
		pkt[i / 8] ^= (uint8_t)(1u << (i % 8));
	}
	CHECK(caught == BEAT_LEN * 8);

	/* three hosts: 0 the primary (target), 1 this backup, 2 the third */
	int fresh[3], hears[3];
	/* {0} | {1, 2}: the backup and the third hear each other, not the primary: lost */
	fresh[0] = 0, fresh[1] = 1, fresh[2] = 1;
	hears[0] = 0, hears[1] = 0, hears[2] = 0;
	CHECK(beat_rule(3, 1, 0, fresh, hears) == 1);
	/* {0, 2} | {1}: the backup alone hears nobody: never (the third is not fresh) */
	fresh[2] = 0, hears[2] = 1;
	CHECK(beat_rule(3, 1, 0, fresh, hears) == 0);
	/* the third still hears the primary: only the backup's link is gone: never */
	fresh[2] = 1, hears[2] = 1;
	CHECK(beat_rule(3, 1, 0, fresh, hears) == 0);
	/* this host itself still hears the primary: never */
	hears[2] = 0, hears[1] = 1;
	CHECK(beat_rule(3, 1, 0, fresh, hears) == 0);
	/* two hosts: no majority can ever exclude the other */
	hears[1] = 0;
	CHECK(beat_rule(2, 1, 0, fresh, hears) == 0);
	/* five hosts: this one and two others suffice, this one and one other do not */
	int f5[5] = { 0, 1, 1, 1, 0 }, h5[5] = { 0, 0, 0, 0, 1 };
	CHECK(beat_rule(5, 1, 0, f5, h5) == 1);
	f5[3] = 0;
	CHECK(beat_rule(5, 1, 0, f5, h5) == 0);
	/* nonsense indices: never */
	CHECK(beat_rule(3, 0, 0, fresh, hears) == 0 && beat_rule(3, 4, 0, fresh, hears) == 0);
	return TAP_DONE();
}
