/*
 * membership.c - fenced's view of the cluster as an explicit state machine:
 *
 *   connecting  no corosync connection (yet, or it went away)
 *   joining     joined the CPG group, waiting for a real view: a restarted
 *               host first sees itself alone and inquorate for 0.5-3.5 s
 *               before it merges (docs/lab-facts.md), and that view is ignored
 *   quorate     a member of the quorate partition: may act
 *   inquorate   a member of a partition without quorum: starts nothing
 *
 * Views come from CPG and are applied in delivery order; quorum is read
 * fresh from votequorum with each view, since the two callbacks arrive
 * separately.  Every transition is logged with the state names.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "membership.h"

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static void set_state(struct membership *mb, enum mb_state s, const char *why)
{
	char m[512];
	mb_members_str(mb, m, sizeof(m));
	if (s == mb->state)
		return;
	log_info("membership: %s -> %s (%s; members [%s])", mb_state_name(mb->state),
	    mb_state_name(s), why, m);
	mb->state = s;
	mb->changed_ns = now_ns();
}

uint64_t mb_since_ms(const struct membership *mb)
{
	return (now_ns() - mb->changed_ns) / 1000000;
}

void mb_init(struct membership *mb)
{
	memset(mb, 0, sizeof(*mb));
	mb->state = MB_CONNECTING;
	mb->changed_ns = now_ns();
}

void mb_connected(struct membership *mb, uint32_t nodeid)
{
	mb->nodeid = nodeid;
	mb->n = 0;
	mb->quorate = 0;
	set_state(mb, MB_JOINING, "joined the CPG group");
}

void mb_disconnected(struct membership *mb, const char *why)
{
	mb->n = 0;
	mb->quorate = 0;
	set_state(mb, MB_CONNECTING, why);
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	return x < y ? -1 : x > y;
}

void mb_view(struct membership *mb, const uint32_t *ids, size_t n, int quorate)
{
	if (mb->state == MB_CONNECTING)
		return;
	if (mb->state == MB_JOINING && n <= 1 && !quorate) {
		log_info("membership: ignoring the first single-node, inquorate view (a restarted "
		    "host sees itself alone before it merges)");
		return;
	}
	if (n > MB_MAX_NODES)
		n = MB_MAX_NODES;
	uint32_t sorted[MB_MAX_NODES];
	memcpy(sorted, ids, n * sizeof(*ids));
	qsort(sorted, n, sizeof(*sorted), cmp_u32);
	int changed = n != mb->n || memcmp(sorted, mb->members, n * sizeof(*sorted));
	memcpy(mb->members, sorted, n * sizeof(*sorted));
	mb->n = n;
	mb->quorate = quorate;
	mb->views++;
	char m[512];
	mb_members_str(mb, m, sizeof(m));
	if (changed) {
		mb->changed_ns = now_ns();
		log_info("membership: view %llu: members [%s], %s", (unsigned long long)mb->views, m,
		    quorate ? "quorate" : "inquorate");
	}
	set_state(mb, quorate ? MB_QUORATE : MB_INQUORATE, "new view");
}

void mb_quorum(struct membership *mb, int quorate)
{
	if (mb->state != MB_QUORATE && mb->state != MB_INQUORATE)
		return;
	mb->quorate = quorate;
	set_state(mb, quorate ? MB_QUORATE : MB_INQUORATE, "quorum changed");
}

void mb_members_str(const struct membership *mb, char *buf, size_t cap)
{
	size_t o = 0;
	buf[0] = 0;
	for (size_t i = 0; i < mb->n && o + 12 < cap; i++)
		o += (size_t)snprintf(buf + o, cap - o, "%s%u", i ? " " : "", mb->members[i]);
}
