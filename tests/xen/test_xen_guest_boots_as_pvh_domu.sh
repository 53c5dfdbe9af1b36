#!/bin/bash
# The workload guest boots unchanged as a PVH domU of a real Xen (the same
# ELF hvd runs): banner, heartbeats, integrity sweeps; xl pause stops it,
# xl unpause lets it go on (tests/xen/dom0-guest-boots-as-pvh-domu.sh runs
# in dom0). Part of `make check-xen`.
SRC=${SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
BUILD=${BUILD:-$(pwd)}
exec "$SRC/tests/xen/xen-tier.sh" check "the guest as a Xen PVH domU" "$SRC/tests/xen/dom0-guest-boots-as-pvh-domu.sh" "$BUILD/hypervisor/guest/guest.elf"
