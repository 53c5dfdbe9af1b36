#!/bin/bash
# On a real Xen, a busy PVH domU copied into a domain the Xen backend builds,
# then live-migrated back and forth by two migrated daemons over TLS, leaves
# exactly one running copy each time, its heartbeat continuous and its
# integrity sweeps passing; a migration to nobody leaves it running where it
# was (tests/xen/dom0-tandem-migrates-on-xen.sh runs in dom0). Part of
# `make check-xen`; needs a build with libxenctrl.
SRC=${SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
BUILD=${BUILD:-$(pwd)}
exec "$SRC/tests/xen/xen-tier.sh" check-tls "live migration on Xen" "$SRC/tests/xen/dom0-tandem-migrates-on-xen.sh" \
	"$BUILD/hypervisor/guest/guest.elf" "$BUILD/tandem" "$BUILD/migrated/migrated" "$BUILD/tests/hvtool"
