#!/bin/bash
# xen-tier.sh - a real Xen hypervisor for Tandem's Xen tests: Debian 12's Xen
# 4.17 with a PV dom0, nested under QEMU. Xen cannot run under kvm_pvm (nor
# does QEMU's KVM mode get it past its first instructions on these hosts),
# so QEMU emulates the CPU (TCG): slow, but a real Xen (docs/xen-tier.md).
#
#   xen-tier.sh prepare     host packages, the Xen and kernel packages, the dom0
#                           root filesystem (debootstrap), dom0's initramfs; once,
#                           into $XEN_TIER_DIR (default /var/cache/tandem-xen)
#   xen-tier.sh run SCRIPT [FILE...]
#                           boots Xen, runs SCRIPT as root in dom0 with FILEs
#                           beside it in /mnt/host, prints what it printed and
#                           Xen's console, then powers off; exits with the
#                           script's status (124 if it never finished); a
#                           failed run's console stays in $XEN_TIER_DIR
#   xen-tier.sh check WHAT SCRIPT [FILE...]
#                           run, for a test: prints the script's RESULT lines,
#                           and on failure its last 40 lines and "FAIL: WHAT";
#                           a run whose domU died of a triple fault (nested
#                           SVM's, see below) is run once more
#   xen-tier.sh shell       boots Xen with a dom0 shell on this terminal
#   xen-tier.sh check-tls WHAT SCRIPT [FILE...]
#                           check, with a test CA's certificates for hosts a
#                           and b beside the script (ca.crt, host-a.crt/.key,
#                           host-b.crt/.key): two daemons in dom0 speaking TLS
# Knobs: XEN_TIER_DIR, XEN_TIER_MEM (MiB, 3072), XEN_TIER_CPU (QEMU's -cpu), XEN_TIER_TIMEOUT (s, 900),
# XEN_TIER_XEN_ARGS (more for Xen's command line).
set -euo pipefail
SRC=$(cd "$(dirname "$0")/../.." && pwd)
D=${XEN_TIER_DIR:-/var/cache/tandem-xen}
MEM=${XEN_TIER_MEM:-3072}
# nested SVM with hardware paging, and AES-NI and carry-less multiply as
# every real Xen host has them: without them TLS between dom0's daemons runs
# OpenSSL's table AES under TCG, and its cost lands on the guests
CPU=${XEN_TIER_CPU:-qemu64,+svm,+npt,+aes,+pclmulqdq,+ssse3,+sse4.1,+sse4.2}
TIMEOUT=${XEN_TIER_TIMEOUT:-900}
export DEBIAN_FRONTEND=noninteractive
die() { echo "xen-tier: $*" >&2; exit 2; }
# dom0's packages: Xen's tools, and what a lab cluster in dom0 runs on (corosync,
# openssl for its certificates, libevent for the daemons)
DOM0_PKGS="xen-utils-4.17 xenstore-utils busybox kmod iproute2 procps corosync openssl libevent-2.1-7 libevent-openssl-2.1-7"

prepare() {
	mkdir -p "$D"
	cd "$D"
	if [ ! -f .host ]; then
		apt-get -q update >/dev/null
		apt-get -o DPkg::Lock::Timeout=600 install -y -q --no-install-recommends \
			qemu-system-x86 debootstrap busybox-static cpio kmod python3 >/dev/null
		touch .host
	fi
	if [ ! -f xen.elf ] || [ ! -f vmlinux ]; then
		local kv
		kv=$(apt-cache depends linux-image-amd64 | sed -n 's/.*Depends: linux-image-\(.*-amd64\)$/\1/p' | head -1)
		[ -n "$kv" ] || die "no linux-image-amd64 in apt's lists"
		rm -rf debs x && mkdir -p debs x && chmod 777 debs
		(cd debs && apt-get download -q "linux-image-$kv" xen-hypervisor-4.17-amd64 >/dev/null)
		for f in debs/*.deb; do dpkg-deb -x "$f" x; done
		echo "$kv" >kv
		zcat x/boot/xen-4.17-amd64.gz >xen.elf.new	# QEMU's multiboot loader takes a plain ELF
		# the kernel uncompressed: no xz inside the emulated CPU, for dom0 and every boot
		python3 - "x/boot/vmlinuz-$kv" vmlinux.new <<'PY'
import lzma, sys
d = open(sys.argv[1], 'rb').read()
off = d.find(b'\xfd7zXZ\x00')
open(sys.argv[2], 'wb').write(lzma.LZMADecompressor(format=lzma.FORMAT_XZ).decompress(d[off:]))
PY
		mv xen.elf.new xen.elf
		mv vmlinux.new vmlinux
	fi
	local kv
	kv=$(cat kv)
	if [ ! -f rootfs/.done ]; then
		rm -rf rootfs
		debootstrap --variant=minbase --include=$(echo $DOM0_PKGS | tr ' ' ,) \
			bookworm rootfs http://deb.debian.org/debian >debootstrap.log 2>&1 ||
			die "debootstrap failed (see $D/debootstrap.log)"
		printf '%s\n' "deb http://deb.debian.org/debian bookworm main" \
			"deb http://deb.debian.org/debian-security bookworm-security main" >rootfs/etc/apt/sources.list
		cp /etc/resolv.conf rootfs/etc/resolv.conf
		# dom0's tools at the hypervisor's version
		chroot rootfs apt-get -q update >/dev/null && chroot rootfs apt-get -y -q upgrade >/dev/null
		chroot rootfs apt-get clean
		echo "$DOM0_PKGS" >rootfs/.done
	fi
	if [ "$(cat rootfs/.done)" != "$DOM0_PKGS" ]; then	# a root filesystem of an older list
		printf '#!/bin/sh\nexit 101\n' >rootfs/usr/sbin/policy-rc.d	# installed, never started
		chmod 755 rootfs/usr/sbin/policy-rc.d
		chroot rootfs apt-get -q update >/dev/null &&
			chroot rootfs apt-get -y -q install --no-install-recommends $DOM0_PKGS >>debootstrap.log 2>&1 ||
			die "installing dom0's packages failed (see $D/debootstrap.log)"
		chroot rootfs apt-get clean
		rm -f rootfs/usr/sbin/policy-rc.d
		echo "$DOM0_PKGS" >rootfs/.done
		rm -f dom0.cpio
	fi
	if [ ! -f dom0.cpio ] || [ "$SRC/tests/xen/dom0-init" -nt dom0.cpio ] || [ "$0" -nt dom0.cpio ]; then
		rm -rf img && mkdir img
		tar -C rootfs --exclude=./var/cache/apt --exclude=./var/lib/apt/lists --exclude=./usr/share/doc \
			--exclude=./usr/share/man --exclude=./usr/share/locale -cf - . | tar -C img -xf -
		# only the modules dom0 loads, with what they need
		local m=x/lib/modules/$kv keep f
		mkdir -p "img/lib/modules/$kv"
		cp -a "$m/kernel" "img/lib/modules/$kv/" && cp -a "$m"/modules.builtin* "$m"/modules.order "img/lib/modules/$kv/"
		depmod -b img "$kv"
		keep=$(for f in xen-evtchn xen-gntdev xen-gntalloc xen-privcmd xenfs virtio_pci 9pnet_virtio 9p veth bridge; do
			chroot img modprobe --show-depends -S "$kv" "$f" 2>/dev/null; done | awk '$1 == "insmod" {print $2}' | sort -u)
		mv "img/lib/modules/$kv/kernel" img/all
		for f in $keep; do mkdir -p "img$(dirname "$f")"; cp "img/all/${f#/lib/modules/$kv/kernel/}" "img$f"; done
		rm -rf img/all
		depmod -b img "$kv"
		install -m 755 "$SRC/tests/xen/dom0-init" img/init
		sed -i 's/^#\?autoballoon=.*/autoballoon="off"/' img/etc/xen/xl.conf
		(cd img && find . | cpio -o -H newc --quiet >../dom0.cpio.new)
		mv dom0.cpio.new dom0.cpio
		rm -rf img
	fi
	echo "xen-tier: ready in $D (Xen $(dpkg-deb -f debs/xen-hypervisor-*.deb Version 2>/dev/null || echo '?'), kernel $kv)"
}

boot() {	# boot SHARE EXTRA-DOM0-ARGS: Xen and dom0 under TCG, serial on stdout
	[ -f "$D/dom0.cpio" ] || die "not prepared: run $0 prepare"
	exec qemu-system-x86_64 -accel tcg,thread=multi -cpu "$CPU" -smp 2 -m "$MEM" \
		-display none -serial stdio -monitor none -no-reboot \
		-virtfs "local,path=$1,mount_tag=hostshare,security_model=none,id=hs" \
		-kernel "$D/xen.elf" \
		-append "console=com1 com1=115200,8n1 dom0_mem=1024M,max:1024M dom0_max_vcpus=2 loglvl=all guest_loglvl=all conring_size=4M ${XEN_TIER_XEN_ARGS:-}" \
		-initrd "$D/vmlinux console=hvc0 earlyprintk=xen loglevel=4 $2,$D/dom0.cpio"
}

SHARE=
run() {
	local script=$1 rc
	shift
	[ -f "$script" ] || die "no script $script"
	# QEMU's memory is the host's as the guests touch it: a host without
	# room for all of it would kill whatever it runs when it runs out
	local avail
	avail=$(awk '/^MemAvailable:/ {print int($2 / 1024)}' /proc/meminfo)
	[ "$avail" -ge $((MEM + 1024)) ] || die "no room for this test's Xen: it needs $MEM MiB (and 1 GiB more to" \
		"spare), the host has $avail MiB available (XEN_TIER_MEM)"
	SHARE=$(mktemp -d /tmp/tandem-xen.XXXXXX)
	trap 'rm -rf "$SHARE"' EXIT
	local share=$SHARE
	install -m 755 "$script" "$share/autorun"
	cp "$SRC/tests/xen/dom0-lib.sh" "$share/"
	[ -f "${BUILD:-}/hv_xen.so" ] && cp "$BUILD/hv_xen.so" "$share/"	# TANDEM_XEN_MODULE in dom0-lib.sh
	for f in "$@"; do cp -r "$f" "$share/"; done
	set +e
	(boot "$share" "autorun=/mnt/host/autorun") </dev/null >"$share/serial.log" 2>&1 &
	local qemu=$! t=0
	while kill -0 $qemu 2>/dev/null && [ $t -lt "$TIMEOUT" ]; do sleep 1; t=$((t + 1)); done
	if kill -0 $qemu 2>/dev/null; then
		kill $qemu
		wait $qemu 2>/dev/null
	fi
	tr -d '\r' <"$share/serial.log"
	rc=$(tr -d '\r' <"$share/serial.log" | sed -n 's/.*DOM0-AUTORUN-DONE rc=\([0-9]*\).*/\1/p' | tail -1)
	# a failure's whole console stays for a look
	[ "${rc:-124}" = 0 ] || cp "$share/serial.log" "$D/failed-$(basename "$script" .sh)-$(date +%H%M%S).log"
	return "${rc:-124}"
}

check() {	# check WHAT SCRIPT [FILE...]
	local what=$1 out rc f
	shift
	# our programs speak xen: through the build's module
	[ -f "$BUILD/hv_xen.so" ] || die "$BUILD has no Xen backend (hv_xen.so: configure --with-xen)"
	set +e
	out=$(run "$@")
	rc=$?
	# QEMU's TCG emulates SVM without NRIP saving: Xen reads a trapped
	# instruction from guest memory to step over it, and now and then that
	# ends in a triple fault of the domU at an instruction that cannot fault
	# (docs/xen-tier.md). Such a run is tried once more, and says so.
	if [ $rc != 0 ] && grep -aq "d[0-9]*v[0-9]* Triple fault" <<<"$out"; then	# (not echo | grep -q: pipefail)
		echo "$out" | grep -a "RESULT" | sed 's/^/  (first run) /'
		echo "  the domU died of nested SVM's triple fault (Xen's console: $(grep -a -m1 -A4 "Triple fault" <<<"$out" |
			grep -a -m1 -o "RIP: *[0-9a-f:]*\[<[0-9a-f]*>\]")): running it again"
		out=$(run "$@")
		rc=$?
	fi
	set -e
	echo "$out" | grep -a "RESULT" | sed 's/^/  /'
	if [ $rc != 0 ] || ! grep -aq "RESULT PASS" <<<"$out"; then	# (not echo | grep -q: pipefail)
		echo "$out" | tail -40 | sed 's/^/    /'
		echo "FAIL: $what (status $rc)" >&2
		exit 1
	fi
}

CA=
check_tls() {	# check_tls WHAT SCRIPT [FILE...]
	local h
	CA=$(mktemp -d /tmp/tandem-xen-ca.XXXXXX)
	trap 'rm -rf "$CA"' EXIT
	"$SRC/ctl/tandem-ca" init "$CA" >/dev/null
	for h in a b; do "$SRC/ctl/tandem-ca" issue "$CA" "host-$h" --ip 127.0.0.1 >/dev/null; done
	check "$@" "$CA/ca.crt" "$CA/host-a.crt" "$CA/host-a.key" "$CA/host-b.crt" "$CA/host-b.key"
}

case ${1:-} in
prepare) prepare ;;
check-tls) shift; [ $# -ge 2 ] || die "check-tls WHAT SCRIPT [FILE...]"; check_tls "$@" ;;
check) shift; [ $# -ge 2 ] || die "check WHAT SCRIPT [FILE...]"; check "$@" ;;
run) shift; [ $# -ge 1 ] || die "run SCRIPT [FILE...]"; run "$@" ;;
shell) share=$(mktemp -d /tmp/tandem-xen.XXXXXX); boot "$share" "" ;;
*) sed -n '2,25p' "$0" | sed 's/^# \{0,1\}//'; exit 2 ;;
esac
