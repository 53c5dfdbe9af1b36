#!/bin/bash
# The workload guest boots unchanged as a PVH domU of a real Xen (the same
# ELF hvd runs): banner, heartbeats, integrity sweeps; xl pause stops it,
# xl unpause lets it go on (tests/xen/dom0-guest-boots-as-pvh-domu.sh runs
# in dom0). Part of `make check-xen`.
set -u
SRC=${SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
BUILD=${BUILD:-$(pwd)}
out=$("$SRC/tests/xen/xen-tier.sh" run "$SRC/tests/xen/dom0-guest-boots-as-pvh-domu.sh" \
	"$BUILD/hypervisor/guest/guest.elf")
rc=$?
echo "$out" | grep -a "RESULT\|xen_version\|virt_caps\|(d[0-9]*) tandem-guest" | sed 's/^/  /'
if [ $rc != 0 ] || ! echo "$out" | grep -q "RESULT PASS"; then
	echo "$out" | tail -40 | sed 's/^/    /'
	echo "FAIL: the guest as a Xen PVH domU (status $rc)" >&2
	exit 1
fi
