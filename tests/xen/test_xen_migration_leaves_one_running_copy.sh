#!/bin/bash
# On a real Xen, a busy PVH domU copied into a domain the Xen backend builds,
# then live-migrated back and forth by two migrated daemons over TLS, leaves
# exactly one running copy each time, its heartbeat continuous and its
# integrity sweeps passing; a migration to nobody leaves it running where it
# was (tests/xen/dom0-tandem-migrates-on-xen.sh runs in dom0). Part of
# `make check-xen`; needs a build with libxenctrl.
SRC=${SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
BUILD=${BUILD:-$(pwd)}
T=$(mktemp -d /tmp/tandem-xen-mig.XXXXXX)
trap 'rm -rf "$T"' EXIT
"$SRC/ctl/tandem-ca" init "$T/ca" >/dev/null
for h in a b; do "$SRC/ctl/tandem-ca" issue "$T/ca" "host-$h" --ip 127.0.0.1 >/dev/null; done
# dom0's Debian has the rest of what migrated links
mkdir -p "$T/lib"
cp -L "$(ldd "$BUILD/migrated/migrated" | awk '/libevent/ {print $3}')" "$T/lib/"
"$SRC/tests/xen/xen-tier.sh" check "live migration on Xen" "$SRC/tests/xen/dom0-tandem-migrates-on-xen.sh" \
	"$BUILD/hypervisor/guest/guest.elf" "$BUILD/tandem" "$BUILD/migrated/migrated" "$BUILD/tests/hvtool" \
	"$T/ca/ca.crt" "$T/ca/host-a.crt" "$T/ca/host-a.key" "$T/ca/host-b.crt" "$T/ca/host-b.key" "$T/lib"
