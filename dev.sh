#!/bin/sh
# dev.sh - set up, build and run Tandem on a Debian 12 machine, as root.
#
#   ./dev.sh demo   install dependencies, build, live-migrate a busy 1 GiB guest
#                   between two hosts (hvd + migrated each, TLS) on this machine
#   ./dev.sh test   install dependencies, build with ASan/UBSan, run the suite
#   ./dev.sh bench  install dependencies, build (optimised), run bench/hv and bench/migrate
#
# Builds out of tree in build/ (demo, bench) and build-san/ (test).
set -eu
cd "$(dirname "$0")"
TOP=$(pwd)

PKGS="build-essential autoconf automake libtool pkg-config
 libevent-dev libssl-dev zlib1g-dev liblz4-dev
 libcorosync-common-dev libcpg-dev libquorum-dev libvotequorum-dev libcmap-dev corosync
 libxen-dev clang libclang-rt-14-dev iproute2 procps openssl"

deps() {
	missing=""
	for p in $PKGS; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
			missing="$missing $p"
	done
	[ -z "$missing" ] && return 0
	echo "== installing:$missing"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -q
	apt-get install -y -q --no-install-recommends $missing
}

build() {	# build DIR CONFIGURE-FLAGS...
	dir=$1
	shift
	[ -x configure ] && [ configure -nt configure.ac ] && [ Makefile.in -nt Makefile.am ] ||
		autoreconf -fi
	mkdir -p "$dir"
	cd "$dir"
	[ -f Makefile ] && [ "$(cat .flags 2>/dev/null)" = "$*" ] || {
		"$TOP/configure" -q "$@"
		echo "$*" >.flags
	}
	make -j"$(nproc)" -s
	cd "$TOP"
}

demo() {
	cd "$TOP/build"
	T=$(mktemp -d /tmp/tandem-demo.XXXXXX)
	PIDS=""
	trap 'for p in $PIDS; do kill $p 2>/dev/null; done; for p in $PIDS; do wait $p 2>/dev/null; done; rm -rf "$T"' EXIT INT TERM
	echo "== two hosts on this machine, each with hvd and migrated; TLS certificates from a fresh CA"
	"$TOP/ctl/tandem-ca" init "$T/ca" >/dev/null
	port=7447
	for h in a b; do
		"$TOP/ctl/tandem-ca" issue "$T/ca" "host-$h" >/dev/null
		./hvd -f -s "$T/$h.hvd" -d "$T/$h" 2>"$T/$h.hvd.log" &
		PIDS="$PIDS $!"
		./migrated/migrated -f -s "$T/$h.mig" -H "$T/$h.hvd" -d "$T/$h.state" -l "127.0.0.1:$port" \
		    --cert "$T/ca/host-$h.crt" --key "$T/ca/host-$h.key" --ca "$T/ca/ca.crt" 2>"$T/$h.mig.log" &
		PIDS="$PIDS $!"
		eval "PORT_$h=$port"
		port=$((port + 1))
	done
	on() { h=$1; shift; ./tandem --host "$T/$h.hvd" --migrated "$T/$h.mig" "$@"; }
	while ! on a vm list >/dev/null 2>&1 || ! on b vm list >/dev/null 2>&1 || [ ! -S "$T/b.mig" ]; do sleep 0.1; done
	G=hypervisor/guest/guest.elf
	on a vm create web --mem 1G --kernel $G \
		--cmdline "dirty=25000 wss=768 pattern=hotcold heartbeat=200 integrity=2"
	echo "== the guest on host a (last lines of its console)"
	sleep 3
	tail -n 4 "$T/a/console/web.log"
	echo "== tandem migrate web host-b   (1 GiB guest dirtying 25000 pages/s)"
	on a migrate web "127.0.0.1:$PORT_b" --downtime 5
	echo "== the guest on host b: heartbeat continues, integrity holds"
	sleep 1.5
	tail -n 3 "$T/b/console/web.log"
	on b vm console web --send i --wait 2500 | grep -m1 INTEGRITY
	echo "== tandem vm list on host a, then host b"
	on a vm list
	on b vm list
}

case "${1:-}" in
demo)	deps; build build --enable-werror; demo ;;
test)	deps; build build-san --enable-werror --enable-sanitizers
	cd build-san && make -s check ;;
bench)	deps; build build --enable-werror; cd build && "$TOP/bench/hv" && "$TOP/bench/migrate" ;;
*)	echo "usage: $0 demo|test|bench" >&2; exit 2 ;;
esac
