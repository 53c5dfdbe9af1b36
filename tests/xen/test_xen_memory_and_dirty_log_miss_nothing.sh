#!/bin/bash
# On a real Xen, the Xen backend maps a busy PVH domU's memory and its
# log-dirty misses no page the guest changed (hvtool dirtycheck: every page
# whose bytes changed between two pauses has its bit); a saved stream of the
# domU passes ckpt-verify and names xen as its origin; its HVM context loads
# back after a saving pause, and it runs on whole
# (tests/xen/dom0-xen-memory-and-dirty-log.sh runs in dom0). Part of
# `make check-xen`; needs a build with libxenctrl.
SRC=${SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
BUILD=${BUILD:-$(pwd)}
exec "$SRC/tests/xen/xen-tier.sh" check "memory and log-dirty on Xen" "$SRC/tests/xen/dom0-xen-memory-and-dirty-log.sh" "$BUILD/hypervisor/guest/guest.elf" "$BUILD/tests/hvtool" "$BUILD/ckpt-verify"
