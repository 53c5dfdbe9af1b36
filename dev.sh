#!/bin/sh
# dev.sh - set up, build and run Tandem on a Debian 12 machine, as root.
#
#   ./dev.sh demo   install dependencies, build, boot two guests on hvd
#   ./dev.sh test   install dependencies, build with ASan/UBSan, run the suite
#   ./dev.sh bench  install dependencies, build (optimised), run bench/hv
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
	export TANDEM_HOST=$T/hvd.sock
	./hvd -f -s "$TANDEM_HOST" -d "$T/state" 2>"$T/hvd.log" &
	HVD=$!
	trap 'kill $HVD 2>/dev/null; wait $HVD 2>/dev/null; rm -rf "$T"' EXIT INT TERM
	while ! ./tandem vm list >/dev/null 2>&1; do sleep 0.1; done
	G=hypervisor/guest/guest.elf
	echo "== two guests on hvd"
	./tandem vm create web --mem 256M --kernel $G --cmdline "dirty=2000 wss=32 pattern=uniform heartbeat=500"
	./tandem vm create db --mem 512M --vcpus 2 --kernel $G \
		--cmdline "dirty=25000 wss=256 pattern=hotcold heartbeat=500 integrity=2"
	sleep 3
	for d in web db; do
		echo "== console of $d (last lines)"
		tail -n 6 "$T/state/console/$d.log"
	done
	echo "== ask db for an integrity sweep over its console"
	./tandem vm console db --send i --wait 1500 | grep INTEGRITY | head -1
	echo "== tandem vm list"
	./tandem vm list
	./tandem vm destroy web >/dev/null
	./tandem vm destroy db >/dev/null
	echo "== hvd log"
	cat "$T/hvd.log"
}

case "${1:-}" in
demo)	deps; build build --enable-werror; demo ;;
test)	deps; build build-san --enable-werror --enable-sanitizers
	cd build-san && make -s check ;;
bench)	deps; build build --enable-werror; cd build && "$TOP/bench/hv" ;;
*)	echo "usage: $0 demo|test|bench" >&2; exit 2 ;;
esac
