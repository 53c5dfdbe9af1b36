#!/bin/bash
# On a real Xen, a busy PVH domU protected by two remusd daemons over TLS
# keeps a paused shadow that epochs reach while the guest's heartbeat stays
# continuous and its integrity sweeps pass; unprotect leaves one running
# copy and no shadow; a backup whose remusd dies leaves the VM running on,
# unprotected, and its shadow never runs (tests/xen/dom0-tandem-protects-on-xen.sh
# runs in dom0). Part of `make check-xen`; needs a build with libxenctrl.
SRC=${SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
BUILD=${BUILD:-$(pwd)}
export BUILD
exec "$SRC/tests/xen/xen-tier.sh" check-tls "protection on Xen" "$SRC/tests/xen/dom0-tandem-protects-on-xen.sh" \
	"$BUILD/hypervisor/guest/guest.elf" "$BUILD/tandem" "$BUILD/remusd/remusd"
