#!/bin/bash
# On a real Xen, which has no leases, a migration whose source or
# destination migrated is killed at a step of the commit and restarted ends
# with exactly one running copy, on the side the step implies, no copy left
# under another name and no record left; its twin, the same migration
# without a fault, moves the VM (tests/xen/dom0-commit-faults-on-xen.sh
# runs in dom0). Part of `make check-xen`; needs a build with libxenctrl.
SRC=${SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
BUILD=${BUILD:-$(pwd)}
export BUILD
XEN_TIER_TIMEOUT=1500 exec "$SRC/tests/xen/xen-tier.sh" check-tls "commit faults on Xen" \
	"$SRC/tests/xen/dom0-commit-faults-on-xen.sh" \
	"$BUILD/hypervisor/guest/guest.elf" "$BUILD/tandem" "$BUILD/migrated/migrated"
