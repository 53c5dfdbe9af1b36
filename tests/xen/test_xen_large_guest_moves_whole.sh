#!/bin/bash
# On a real Xen, a PVH domU larger than the RAM below the MMIO hole (RAM
# from 4 GiB, the toolstack's pages in the hole) live-migrates whole there
# and back: no page above the hole or in it is left behind, each copy has
# the original's memory map, the integrity sweeps of its pages above 4 GiB
# pass and its heartbeat is continuous (tests/xen/dom0-large-guest-moves-whole.sh
# runs in dom0). Part of `make check-xen`; needs a build with libxenctrl and
# room for two copies of a 4.25 GiB guest (the tier's QEMU gets 10.5 GiB).
SRC=${SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
BUILD=${BUILD:-$(pwd)}
export XEN_TIER_MEM=${XEN_TIER_MEM_LARGE:-10752} XEN_TIER_TIMEOUT=${XEN_TIER_TIMEOUT:-1800}
exec "$SRC/tests/xen/xen-tier.sh" check-tls "a guest above 4 GiB moves whole on Xen" \
	"$SRC/tests/xen/dom0-large-guest-moves-whole.sh" \
	"$BUILD/hypervisor/guest/guest.elf" "$BUILD/tandem" "$BUILD/migrated/migrated"
