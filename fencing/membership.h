/* membership.h - fenced's view of the cluster (membership.c). */
#ifndef FENCED_MEMBERSHIP_H
#define FENCED_MEMBERSHIP_H

#include <stddef.h>
#include <stdint.h>

#include "fencectl.h"

#define MB_MAX_NODES 64

struct membership {
	enum mb_state state;
	uint32_t nodeid;		/* this host */
	uint32_t members[MB_MAX_NODES];	/* sorted */
	size_t n;
	int quorate;
	uint64_t views;			/* CPG views applied */
	uint64_t changed_ns;		/* last state or member change */
};

void mb_init(struct membership *mb);
/* corosync connection up (nodeid known) or gone */
void mb_connected(struct membership *mb, uint32_t nodeid);
void mb_disconnected(struct membership *mb, const char *why);
/* a CPG view, with quorum read fresh from votequorum at the same moment */
void mb_view(struct membership *mb, const uint32_t *ids, size_t n, int quorate);
/* a quorum change without a new view */
void mb_quorum(struct membership *mb, int quorate);
/* milliseconds since the state or the members last changed */
uint64_t mb_since_ms(const struct membership *mb);
/* "1 2 3" */
void mb_members_str(const struct membership *mb, char *buf, size_t cap);

#endif
