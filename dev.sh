#!/bin/sh
# dev.sh - set up, build and run Tandem on a Debian 12 machine, as root.
#
#   ./dev.sh demo   install dependencies, build, bring up a 3-host lab (network
#                   namespaces, corosync, fenced, hvd, migrated and remusd per host),
#                   live-migrate a busy 1 GiB guest serving clients from h1 to h2
#                   over the lab network (TLS), protect it with a shadow on h3,
#                   power h2 off, and show what the clients saw: nothing lost
#   ./dev.sh test   install dependencies, build with ASan/UBSan, run the suite
#   ./dev.sh bench  install dependencies, build (optimised), run the benchmarks (bench/)
#
# Builds out of tree in build/ (demo, bench) and build-san/ (test).
set -eu
cd "$(dirname "$0")"
TOP=$(pwd)

PKGS="build-essential autoconf automake libtool pkg-config
 libevent-dev libssl-dev zlib1g-dev liblz4-dev
 libcorosync-common-dev libcpg-dev libquorum-dev libvotequorum-dev libcmap-dev corosync
 libxen-dev clang libclang-rt-14-dev iproute2 procps openssl
 python3 python3-prometheus-client fence-agents resource-agents libxml2-utils bash-completion
 man-db groff-base systemd"

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
	L=$(mktemp -u /tmp/tandem-demo.XXXXXX)
	LAB="$TOP/tests/lab/lab.sh"
	export BUILD="$TOP/build" SRC="$TOP"
	. "$TOP/tests/hugepool.sh"
	trap '"$LAB" down "$L"; hugepool_restore' EXIT INT TERM
	echo "== a 3-host lab on this machine: namespaces h1 h2 h3 on one switch, each with"
	echo "   corosync (knet), fenced, hvd, migrated and remusd; TLS certificates from a fresh cluster CA;"
	echo "   guest memory from the hugetlb pool (vm.nr_hugepages, given back at the end;"
	echo "   touched once first: this machine's own hypervisor backs memory on first touch)"
	hugepool_reserve 3200 && hugepool_warm ||
		echo "   (no room for a hugetlb pool: guest memory is 4 KiB shmem)"
	LAB_TIMERS=fast "$LAB" up "$L" 3
	for h in 1 2 3; do echo "   h$h 10.77.0.$h: $("$LAB" quorum "$L" $h)"; done
	on() { h=$1; shift; ./tandem --host "$L/h$h/hvd.sock" --migrated "$L/h$h/mig.sock" \
		--fenced "$L/h$h/fenced.sock" --remusd "$L/h$h/remus.sock" "$@"; }
	on 1 vm create web --mem 1G --kernel hypervisor/guest/guest.elf --net vmbr0 \
		--cmdline "dirty=25000 wss=768 pattern=hotcold heartbeat=200 integrity=2 net=10.77.1.10/24 kv=7000"
	echo "== the guest on h1 (last lines of its console); it serves a key-value store at 10.77.1.10"
	sleep 3
	tail -n 4 "$L/h1/hvd/console/web.log"
	echo "== three clients in the client namespace put and get keys, one request a millisecond each,"
	echo "   checking every answer (a stale version, or a heartbeat going back, is a contradiction)"
	ip netns exec "$(cat "$L/prefix")-cl" ./tests/netcheck kv 10.77.1.10 7000 --clients 3 \
		--duration 600 --gap-ms 20 >"$L/clients.txt" &
	nc=$!
	sleep 2
	echo "== tandem migrate web 10.77.0.2   (1 GiB guest dirtying 25000 pages/s, over the lab network)"
	on 1 migrate web 10.77.0.2 --downtime 5
	sleep 2
	echo "== tandem protect web --backup h3   (a shadow on h3 takes every 25 ms epoch; the VM's"
	echo "   output waits until h3 has acknowledged the epoch that produced it)"
	on 2 protect web --backup h3
	sleep 3
	on 2 protection web
	echo "== h2 loses power (every process of it killed at once, its VMs with it)"
	"$LAB" poweroff "$L" 2
	for _ in $(seq 100); do on 3 --json status 2>/dev/null | grep -q '"name":"web","owner":3' && break; sleep 0.1; done
	for _ in $(seq 100); do on 3 --json protection web 2>/dev/null | grep -q '"state":"protected"' && break; sleep 0.1; done
	sleep 2
	kill -TERM $nc
	wait $nc || true
	echo "== what the clients saw over the migration and the power-off: the longest gap is the"
	echo "   failover; a contradiction would be an answer the survivor does not remember"
	cat "$L/clients.txt"
	echo "== the guest on h3, resumed from its last acknowledged epoch: heartbeat continues, integrity holds"
	tail -n 3 "$L/h3/hvd/console/web.log"
	on 3 vm console web --send i --wait 2500 | grep -m1 INTEGRITY
	echo "== tandem status on h3: h2 fenced, web running on h3 and protected again (its shadow on h1)"
	on 3 status
}

case "${1:-}" in
demo)	deps; build build --enable-werror; demo ;;
test)	deps; build build-san --enable-werror --enable-sanitizers
	cd build-san && make -s check ;;
bench)	deps; build build --enable-werror; cd build && "$TOP/bench/hv" && "$TOP/bench/migrate" &&
		"$TOP/bench/failover" && "$TOP/bench/netgap" && "$TOP/bench/remus" ;;
*)	echo "usage: $0 demo|test|bench" >&2; exit 2 ;;
esac
