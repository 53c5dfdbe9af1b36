#!/bin/bash
# On a real Xen, a migration Xen cannot finish is refused with the reason
# and leaves what was there: a PV guest (no log-dirty on this hypervisor)
# runs on with no copy left; a domain destroyed mid-migration leaves no copy
# on either side; each beside its twin that migrates
# (tests/xen/dom0-bad-guests-on-xen.sh runs in dom0). Part of
# `make check-xen`; needs a build with libxenctrl.
SRC=${SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
BUILD=${BUILD:-$(pwd)}
T=$(mktemp -d /tmp/tandem-xen-bad.XXXXXX)
trap 'rm -rf "$T"' EXIT
# the PV guest's root: an initramfs whose init only waits (busybox, from the tier's host packages)
mkdir -p "$T/pvroot/bin"
cp /bin/busybox "$T/pvroot/bin/busybox"
printf '#!/bin/busybox sh\nwhile :; do /bin/busybox sleep 1; done\n' >"$T/pvroot/init"
chmod +x "$T/pvroot/init"
(cd "$T/pvroot" && find . | cpio -o -H newc --quiet) >"$T/pv-initrd.cpio"
"$SRC/tests/xen/xen-tier.sh" check-tls "bad guests on Xen" "$SRC/tests/xen/dom0-bad-guests-on-xen.sh" \
	"$BUILD/hypervisor/guest/guest.elf" "$BUILD/tandem" "$BUILD/migrated/migrated" \
	"${XEN_TIER_DIR:-/var/cache/tandem-xen}/vmlinux" "$T/pv-initrd.cpio"
