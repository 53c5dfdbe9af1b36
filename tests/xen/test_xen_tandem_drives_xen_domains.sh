#!/bin/bash
# tandem on the Xen backend (--host xen:) lists, inspects, pauses, unpauses
# and destroys a real Xen domU, in agreement with xl; unsupported calls and
# unknown names are refused plainly (tests/xen/dom0-tandem-drives-xen-domains.sh
# runs in dom0). Part of `make check-xen`; needs a build with libxenctrl.
set -u
SRC=${SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
BUILD=${BUILD:-$(pwd)}
ldd "$BUILD/tandem" | grep -q libxenctrl || { echo "FAIL: $BUILD/tandem was built without Xen (configure --with-xen)" >&2; exit 1; }
out=$("$SRC/tests/xen/xen-tier.sh" run "$SRC/tests/xen/dom0-tandem-drives-xen-domains.sh" \
	"$BUILD/hypervisor/guest/guest.elf" "$BUILD/tandem")
rc=$?
echo "$out" | grep -a "RESULT" | sed 's/^/  /'
if [ $rc != 0 ] || ! echo "$out" | grep -q "RESULT PASS"; then
	echo "$out" | tail -40 | sed 's/^/    /'
	echo "FAIL: tandem on the Xen backend (status $rc)" >&2
	exit 1
fi
