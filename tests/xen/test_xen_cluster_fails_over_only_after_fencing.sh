#!/bin/bash
# On a real Xen, a three-host cluster (corosync, fenced, migrated, remusd per
# host, each host its own share of the Xen) runs a VM it created and
# protects it; when its host loses power, the backup resumes it only once
# the host is fenced: while the power switch does not answer no copy runs
# anywhere, and once it answers the VM runs once, on the backup, from its
# last acknowledged epoch, and is protected again to the third host
# (tests/xen/dom0-cluster-failover-on-xen.sh runs in dom0). Part of
# `make check-xen`; needs a build with libxenctrl.
SRC=${SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
BUILD=${BUILD:-$(pwd)}
export BUILD
T=$(mktemp -d /tmp/tandem-xen-cluster.XXXXXX)
trap 'rm -rf "$T"' EXIT
# what the lab runs in dom0: its daemons and scripts, as in a build tree
b=$T/tree/build s=$T/tree/src
mkdir -p "$b/fencing" "$b/migrated" "$b/remusd" "$b/hypervisor/guest" "$s/ctl" "$s/tests/lab"
cp "$BUILD/fencing/fenced" "$BUILD/fencing/fence_tandem" "$b/fencing/"
cp "$BUILD/migrated/migrated" "$b/migrated/"
cp "$BUILD/remusd/remusd" "$b/remusd/"
cp "$BUILD/tandem" "$b/"
cp "$BUILD/hypervisor/guest/guest.elf" "$b/hypervisor/guest/"
cp "$SRC/ctl/tandem-ca" "$s/ctl/"
cp "$SRC/tests/lab/lab.sh" "$SRC/tests/lab/labtest.sh" "$SRC/tests/lab/fence_lab" "$s/tests/lab/"
XEN_TIER_TIMEOUT=${XEN_TIER_TIMEOUT:-1200} "$SRC/tests/xen/xen-tier.sh" check "cluster failover on Xen" \
	"$SRC/tests/xen/dom0-cluster-failover-on-xen.sh" "$T/tree"
