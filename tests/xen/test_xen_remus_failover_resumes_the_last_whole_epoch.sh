#!/bin/bash
# On a real Xen, a busy PVH domU protected by Remus's engine (remustool:
# remusd's epoch and shadow code over a socket pair) into a shadow the Xen
# backend builds fails over, when its host dies, to the last epoch the
# shadow acknowledged: one running copy, integrity OK, heartbeat picking
# up from that epoch; a stream cut mid-epoch and an epoch with a byte
# flipped are refused and the last whole epoch resumes
# (tests/xen/dom0-remus-failover-on-xen.sh runs in dom0). Part of
# `make check-xen`; needs a build with libxenctrl.
SRC=${SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
BUILD=${BUILD:-$(pwd)}
export BUILD
exec "$SRC/tests/xen/xen-tier.sh" check "Remus failover on Xen" "$SRC/tests/xen/dom0-remus-failover-on-xen.sh" \
	"$BUILD/hypervisor/guest/guest.elf" "$BUILD/tests/remustool"
