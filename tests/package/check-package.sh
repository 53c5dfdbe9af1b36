#!/bin/bash
# check-package.sh - the packages as an admin meets them, on this machine
# (as root; it installs and then removes them):
#   1. dpkg-buildpackage -b -us -uc on a clean copy of the tree;
#   2. lintian on the result: errors fail (the guest image's two are
#      overridden with their reason), warnings are printed;
#   3. apt install ./tandem_*.deb: it pulls its dependencies; the KVM-only
#      package depends on no Xen library, tandem-xen does;
#   4. two hosts (the lab's network namespaces, each with its own corosync)
#      whose daemons are the installed ones, each reading only its
#      tandem.conf as the systemd units do; a VM created on h1 and
#      live-migrated to h2, checked whole; the installed units pass
#      systemd-analyze verify, and the man pages and completion are where
#      man and bash look;
#   5. apt remove: the machine as it was.
# Run from the source tree: make check-package (in a build directory), or
# SRC=... tests/package/check-package.sh.  Takes a few minutes.
set -eu
SRC=${SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
W=$(mktemp -d /tmp/tandem-pkg.XXXXXX)
L=$W/lab
installed=""
cleanup() {
	[ ! -d "$L" ] || "$SRC/tests/lab/lab.sh" down "$L" >/dev/null 2>&1 || true
	[ -z "$installed" ] || DEBIAN_FRONTEND=noninteractive apt-get remove -y -q $installed >/dev/null 2>&1 || true
	rm -rf "$W"
}
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
step() { echo "== $*"; }

need=""
for p in debhelper dpkg-dev lintian fakeroot; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || need="$need $p"
done
if [ -n "$need" ]; then
	step "0. apt-get install$need (the packaging tools)"
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $need >/dev/null
fi

step "1. dpkg-buildpackage -b -us -uc"
mkdir -p "$W/src"
if git -C "$SRC" rev-parse --git-dir >/dev/null 2>&1; then
	git -C "$SRC" ls-files -z | (cd "$SRC" && xargs -0 tar -c) | tar -x -C "$W/src"
else
	cp -a "$SRC/." "$W/src/"
fi
(cd "$W/src" && dpkg-buildpackage -b -us -uc >"$W/build.log" 2>&1) || { tail -30 "$W/build.log"; fail "dpkg-buildpackage"; }
ls "$W"/tandem_*.deb "$W"/tandem-xen_*.deb >/dev/null || fail "no packages"
echo "   $(cd "$W" && ls *.deb | tr '\n' ' ')"

step "2. lintian"
lintian --tag-display-limit 0 "$W"/tandem_*.changes >"$W/lintian.txt" 2>&1 || true
grep -v "running with root privileges" "$W/lintian.txt" | sed 's/^/   /' || true
! grep -q "^E: " "$W/lintian.txt" || fail "lintian errors"
echo "   $(grep -c '^W: ' "$W/lintian.txt" || true) warnings, 0 errors"

step "3. apt install ./tandem_*.deb"
DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$W"/tandem_*.deb >"$W/apt.log" 2>&1 || { tail "$W/apt.log"; fail "apt install"; }
installed=tandem
dpkg-deb -f "$W"/tandem_*.deb Depends | grep -q libxen && fail "tandem depends on Xen's libraries"
dpkg-deb -f "$W"/tandem-xen_*.deb Depends | grep -q libxenctrl\\\|libxenmisc || fail "tandem-xen does not depend on Xen's libraries"
for f in /usr/sbin/hvd /usr/sbin/migrated /usr/sbin/remusd /usr/sbin/fenced /usr/sbin/fence_tandem \
	/usr/bin/tandem /usr/bin/tandem-ca /usr/libexec/tandem/guest.elf /usr/lib/ocf/resource.d/tandem/vm \
	/usr/share/doc/tandem/tandem.conf /usr/share/bash-completion/completions/tandem; do
	[ -e "$f" ] || fail "$f not installed"
done
for m in tandem tandem.conf hvd migrated remusd fenced fence_tandem tandem-ca ckpt-verify; do
	man -w "$m" >/dev/null || fail "man $m: not found"
done
systemd-analyze verify /usr/lib/systemd/system/tandem-*.service || fail "installed units"
echo "   installed: binaries, guest, units (verified), 9 man pages, completion, OCF agent, example config"

step "4. two hosts from the installed daemons, each configured by its tandem.conf"
P=$W/bin	# the lab finds its programs under one directory: the installed ones
mkdir -p "$P/fencing" "$P/migrated" "$P/remusd" "$P/hypervisor/guest" "$P/tests"
ln -s /usr/sbin/hvd /usr/bin/tandem "$P/"
ln -s /usr/sbin/fenced /usr/sbin/fence_tandem "$P/fencing/"
ln -s /usr/sbin/migrated "$P/migrated/"
ln -s /usr/sbin/remusd "$P/remusd/"
ln -s /usr/libexec/tandem/guest.elf "$P/hypervisor/guest/"
BUILD=$P SRC=$SRC LAB_TIMERS=fast "$SRC/tests/lab/lab.sh" up "$L" 2 >"$W/lab.log" 2>&1 || { tail "$W/lab.log"; fail "lab up"; }
for h in 1 2; do
	for d in hvd migrated remusd fenced; do
		pid=$(cat "$L/h$h/$d.pid")
		[ "$(readlink "/proc/$pid/exe")" = "/usr/sbin/$d" ] || fail "h$h's $d is not the installed one"
		ps -o args= -p "$pid" | grep -q " -f\( -v\)\? -c $L/h$h/tandem.conf$" ||
			fail "h$h's $d has more than its tandem.conf: $(ps -o args= -p "$pid")"
	done
done
echo "   h1, h2: /usr/sbin/{hvd,migrated,remusd,fenced} -f -c hH/tandem.conf (as the units' ExecStart)"
t() { local h=$1; shift; tandem --config "$L/h$h/tandem.conf" "$@"; }
for _ in $(seq 100); do t 1 --json status 2>/dev/null | grep -q '"members":\[1,2\],"table":"synced"' && break; sleep 0.1; done
t 1 status | sed 's/^/   /'
t 1 vm create web --mem 256M --kernel /usr/libexec/tandem/guest.elf --cmdline "dirty=5000 wss=192 heartbeat=100" >/dev/null
sleep 1
out=$(t 1 migrate web h2 2>&1) || fail "migrate: $out"
echo "$out" | tail -2 | sed 's/^/   /'
t 2 --json vm info web | grep -q '"state":"running"' || fail "web does not run on h2"
t 1 vm info web >/dev/null 2>&1 && fail "web still on h1"
t 2 vm console web --send i --wait 4000 | grep -m1 "INTEGRITY OK" | sed 's/^/   h2: /' || fail "integrity on h2"
t 2 events | grep "web" | sed 's/^/   /'

step "5. apt remove"
"$SRC/tests/lab/lab.sh" down "$L" >/dev/null 2>&1
rm -rf "$L"
DEBIAN_FRONTEND=noninteractive apt-get remove -y -q tandem >/dev/null 2>&1
installed=""
[ ! -e /usr/sbin/hvd ] || fail "hvd left after apt remove"
echo "1 passed, 0 failed"
