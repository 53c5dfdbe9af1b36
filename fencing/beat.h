/*
 * beat.h - direct heartbeats among the hosts' fenced (beat.c): evidence of
 * its own that a host is gone, a few tens of milliseconds after it went,
 * where corosync reports a new membership only after token + consensus.
 *
 * Every interval each host sends every other one a datagram: its node id,
 * a sequence number (wall-clock microseconds: it grows across restarts),
 * and which configured hosts it has heard within the last lost ms; an
 * HMAC-SHA256 (truncated to 16 bytes) under the cluster's key covers it
 * all.  A datagram that fails the MAC, comes from an address that is not
 * its sender's, or does not advance the sender's sequence is dropped and
 * counted.  The rule (beat_rule): host T is lost when this host has not
 * heard T for lost ms and a majority of the configured hosts, this one
 * included, are fresh (heard within lost ms) and say they do not hear T.
 * A host cut off alone never has that majority, so it never acts.
 */
#ifndef FENCED_BEAT_H
#define FENCED_BEAT_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"

#define BEAT_LEN	48	/* magic, version, node, seq, heard, MAC */

struct beat_msg {
	uint32_t node;
	uint64_t seq;
	uint64_t heard;		/* bit i: configured host i (in cluster.conf order) heard */
};
void beat_encode(const struct beat_msg *m, const uint8_t *key, size_t keylen, uint8_t out[BEAT_LEN]);
/* 0, or -1 with why (length, magic, version, MAC) */
int beat_decode(const uint8_t *buf, size_t len, const uint8_t *key, size_t keylen,
    struct beat_msg *m, char *err, size_t errlen);
/*
 * The rule, pure: n configured hosts, this one is self, the one in doubt
 * target; fresh[i]: host i was heard within lost ms (self: 1); hears[i]:
 * host i hears target (self: heard it within lost ms; others: their last
 * report).  1 when target is lost by a majority.
 */
int beat_rule(size_t n, size_t self, size_t target, const int *fresh, const int *hears);

struct beat;
/* The heartbeat thread, on c's hosts (c must outlive it); NULL with err.
 * It sends nothing until beat_self() names this host. */
struct beat *beat_start(const struct fconf *c, char *err, size_t errlen);
void beat_self(struct beat *b, uint32_t node);
/* 1: node is lost by the rule, why says who says so; 0 not (why says why not) */
int beat_lost(struct beat *b, uint32_t node, char *why, size_t whylen);
void beat_stop(struct beat *b);

#endif
