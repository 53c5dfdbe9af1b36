#!/bin/bash
# tandem on the Xen backend (--host xen:) lists, inspects, pauses, unpauses
# and destroys a real Xen domU, in agreement with xl; unsupported calls and
# unknown names are refused plainly (tests/xen/dom0-tandem-drives-xen-domains.sh
# runs in dom0). Part of `make check-xen`; needs a build with libxenctrl.
SRC=${SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
BUILD=${BUILD:-$(pwd)}
exec "$SRC/tests/xen/xen-tier.sh" check "tandem on the Xen backend" "$SRC/tests/xen/dom0-tandem-drives-xen-domains.sh" "$BUILD/hypervisor/guest/guest.elf" "$BUILD/tandem"
