#!/bin/bash
# lab.sh - lab hosts on one machine: a "switch" namespace with a bridge, one
# namespace per host joined to it by a veth pair, and on each host its own
# corosync (knet over UDP, a private /run), fenced, hvd, migrated and remusd, each with its
# own config, sockets, state and logs under the lab directory.  Only the
# lab's own addresses (10.77.0.0/24, inside its namespaces) are used.  Each daemon
# serves OpenMetrics on its host's address: hvd :9470, migrated :9471, remusd :9472,
# fenced :9473.
#
#   lab.sh up DIR [N]          N hosts (default 3); DIR must not exist
#   lab.sh down DIR            stop everything by PID, delete the namespaces
#   lab.sh poweroff DIR H      kill -9 every process of host H, by PID
#   lab.sh boot DIR H          start a powered-off host again (it rejoins)
#   lab.sh cable DIR H up|down the host's switch port (a cable pull)
#   lab.sh partition DIR A|B   e.g. 1,2|3: hosts of B move to a second bridge
#   lab.sh heal DIR            every port back on the first bridge
#   lab.sh stop DIR H DAEMON   SIGTERM one daemon of host H (fenced, hvd, ...)
#   lab.sh kill DIR H DAEMON   SIGKILL it (a crash)
#   lab.sh start DIR H DAEMON  start it again
#   lab.sh exec DIR H CMD...   run CMD inside host H's namespace
#   lab.sh quorum DIR H        "quorate N" or "inquorate N" (N members)
#   lab.sh client DIR CMD...   run CMD in the client namespace (10.77.1.250)
#
# VM networks: each host has a bridge vmbr0 (VMs: tandem vm create ... --net
# vmbr0) with an uplink to the switch, and the switch has a client namespace,
# so a VM at 10.77.1.X/24 answers at the same address on whichever host it
# runs.  A cable pull or a partition moves a host's uplink with its port.
#
# LAB_TIMERS=fast|default chooses the corosync timer profile (docs/lab-facts.md):
# fast is token 300 ms, no token coefficient, knet ping 75/350 ms, and the token
# slows down after 3 idle rotations instead of 30 (seqno_unchanged_const).
# DIR/cluster.conf is the cluster's part of every host's tandem.conf
# (DIR/hH/tandem.conf, with the host's own part: sockets, state, listeners,
# certificates, metrics), which its daemons read as their units do (-c
# only): the hosts (mem=2G each,
# or LAB_HOST_MEM), fence level 1 fence_tandem (destroys the host's VMs
# through its migrated, mutual TLS), level 2 fence_lab (powers the host
# off); LAB_FENCE_LEVELS replaces the fence-level lines, LAB_FENCE_EXTRA
# adds lines the lab writes none of (e.g. "storm-share 20"), LAB_FENCE_TIMEOUT sets
# fence-timeout (ms, default 10000), LAB_SELF_FENCE sets self-fence (ms);
# the fenced exchange heartbeats (signed with the corosync key) unless
# LAB_HEARTBEAT=off.
# LAB_HV=xen makes the hosts Xen hosts sharing the Xen this runs in (its
# dom0; the Xen tier, docs/xen-tier.md): no hvd, every daemon of host hN on
# the backend xen:hN, which sees only the domains hN made; a power-off
# stops them (paused first, as power goes, then destroyed).
# BUILD (the build directory) and SRC (the source tree) locate the daemons.
# Teardown deletes only what this lab made: its namespaces, its processes
# (by the PIDs it recorded) and their /dev/shm files, and DIR.
set -eu
SRC=${SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
BUILD=${BUILD:-$SRC/build}

die() { echo "lab: $*" >&2; exit 1; }
ns() { echo "$(cat "$D/prefix")-$1"; }	# ns sw | ns h1
addr() { echo "10.77.0.$1"; }
hosts() { seq "$(cat "$D/n")"; }
nsx() { local n=$1; shift; ip netns exec "$(ns "$n")" "$@"; }
xen() { [ "$(cat "$D/hv" 2>/dev/null)" = xen ]; }
daemons() { if xen; then echo fenced migrated remusd; else echo fenced hvd migrated remusd; fi; }
# xen_of H: the ids of host H's Xen domains; xen_gone ID...: destroyed.  A
# power-off kills the host's daemons first, as hvd's lab does (a daemon
# that outlived its domain for a moment would tell the cluster what it saw)
xen_of() {
	local id
	for id in $(xenstore-list /local/domain 2>/dev/null); do
		[ "$(xenstore-read "/local/domain/$id/tandem-host" 2>/dev/null)" != "h$1" ] || echo "$id"
	done
}
xen_gone() {
	local id
	for id in "$@"; do
		xl destroy "$id" 2>/dev/null || [ -z "$(xl list "$id" 2>/dev/null)" ] ||
			die "xl destroy $id failed: $(xl destroy "$id" 2>&1)"
	done
}

# spawn H NAME CMD...: start CMD in host H's namespace, record its PID
spawn() {
	local h=$1 name=$2
	shift 2
	ip netns exec "$(ns h$h)" "$@" >>"$D/h$h/$name.log" 2>&1 &
	echo $! >"$D/h$h/$name.pid"
}

corosync_conf() {	# corosync_conf H
	local h=$1 i
	cat <<EOC
totem {
	version: 2
	cluster_name: tandemlab
	transport: knet
	crypto_model: openssl
	crypto_cipher: aes256
	crypto_hash: sha256
	keyfile: $D/authkey
EOC
	if [ "${LAB_TIMERS:-fast}" = fast ]; then
		printf '\ttoken: 300\n\ttoken_coefficient: 0\n\tseqno_unchanged_const: 3\n'
		printf '\tinterface {\n\t\tlinknumber: 0\n\t\tknet_transport: udp\n'
		printf '\t\tknet_ping_interval: 75\n\t\tknet_ping_timeout: 350\n\t}\n'
	else
		printf '\tinterface {\n\t\tlinknumber: 0\n\t\tknet_transport: udp\n\t}\n'
	fi
	echo "}"
	echo "nodelist {"
	for i in $(hosts); do
		printf '\tnode {\n\t\tring0_addr: %s\n\t\tnodeid: %s\n\t\tname: h%s\n\t}\n' "$(addr $i)" "$i" "$i"
	done
	cat <<EOC
}
quorum {
	provider: corosync_votequorum
}
logging {
	to_logfile: yes
	logfile: $D/h$h/corosync.log
	to_stderr: no
	to_syslog: no
	timestamp: on
}
system {
	state_dir: $D/h$h/corosync-state
}
EOC
}

cluster_conf() {
	local i
	echo "# written by lab.sh"
	for i in $(hosts); do echo "host $i h$i $(addr $i) mem=${LAB_HOST_MEM:-2G}"; done
	if [ -n "${LAB_FENCE_LEVELS:-}" ]; then
		echo "$LAB_FENCE_LEVELS"
	else
		echo "fence-level 1 $BUILD/fencing/fence_tandem ip=%a cert=$D/ca/fence.crt key=$D/ca/fence.key ca=$D/ca/ca.crt crl=$D/ca/crl.pem timeout=1000"
		echo "fence-level 2 $SRC/tests/lab/fence_lab labdir=$D"
	fi
	# direct heartbeats among the fenced (the fast failover's evidence), signed
	# with the cluster's corosync key; LAB_HEARTBEAT=off leaves them out
	[ "${LAB_HEARTBEAT:-on}" = off ] || echo "heartbeat $D/authkey"
	echo "fence-timeout ${LAB_FENCE_TIMEOUT:-10000}"
	echo "self-fence ${LAB_SELF_FENCE:-1500}"
	[ -z "${LAB_FENCE_EXTRA:-}" ] || echo "$LAB_FENCE_EXTRA"	# statements the lab writes none of
}

host_conf() {	# host_conf H: H's tandem.conf, the cluster's part and its own, as on a real host
	local h=$1 hd=$D/h$1 a
	a=$(addr "$h")
	cat "$D/cluster.conf"
	echo "# this host"
	if xen; then
		echo "hypervisor xen:h$h"
	else
		echo "hypervisor hvd:$hd/hvd.sock"
		echo "hvd socket=$hd/hvd.sock state=$hd/hvd metrics=$a:9470"
	fi
	cat <<EOC
tls cert=$D/ca/h$h.crt key=$D/ca/h$h.key ca=$D/ca/ca.crt crl=$D/ca/crl.pem
migrated socket=$hd/mig.sock listen=$a:7447 state=$hd/mig metrics=$a:9471
remusd socket=$hd/remus.sock listen=$a:7448 state=$hd/remus metrics=$a:9472
fenced socket=$hd/fenced.sock state=$hd/fenced metrics=$a:9473
EOC
}

start_daemon() {	# start_daemon H corosync|fenced|hvd|migrated|remusd: as its systemd unit does
	local h=$1 hd=$D/h$1
	case $2 in
	corosync) spawn "$h" corosync unshare -m --propagation private sh -c \
		"mount --bind '$hd/run' /run && exec corosync -f -c '$hd/corosync.conf'" ;;
	fenced) spawn "$h" fenced "$BUILD/fencing/fenced" -f -v -c "$hd/tandem.conf" ;;
	hvd) spawn "$h" hvd "$BUILD/hvd" -f -c "$hd/tandem.conf" ;;
	migrated) spawn "$h" migrated "$BUILD/migrated/migrated" -f -c "$hd/tandem.conf" ;;
	remusd) spawn "$h" remusd "$BUILD/remusd/remusd" -f -v -c "$hd/tandem.conf" ;;
	*) die "no daemon $2" ;;
	esac
}

start_host() {	# start_host H: corosync, fenced, hvd (not on Xen), migrated, remusd
	local h=$1 hd=$D/h$1 d
	mkdir -p "$hd/run" "$hd/corosync-state" "$hd/hvd" "$hd/mig" "$hd/remus"
	corosync_conf "$h" >"$hd/corosync.conf"
	host_conf "$h" >"$hd/tandem.conf"
	for d in corosync $(daemons); do start_daemon "$h" $d; done
}

gone() {	# gone PID: exited (a zombie counts: lab processes are not our children)
	[ ! -e "/proc/$1/stat" ] || [ "$(sed 's/.*) \(.\).*/\1/' "/proc/$1/stat" 2>/dev/null)" = Z ]
}

stop_host() {	# stop_host H [SIGNAL [DAEMONS]]: all its processes at once (corosync first: the
		# host leaves the network as a whole), then their leftovers
	local h=$1 sig=${2:-TERM} daemons=${3:-corosync fenced hvd migrated remusd} f p pids=""
	for f in $(for p in $daemons; do echo "$D/h$h/$p.pid"; done); do
		[ -f "$f" ] || continue
		p=$(cat "$f")
		kill -"$sig" "$p" 2>/dev/null || true
		pids="$pids $p"
	done
	for p in $pids; do
		for _ in $(seq 50); do gone "$p" && break; sleep 0.1; done
		gone "$p" || kill -KILL "$p" 2>/dev/null || true
		for _ in $(seq 20); do gone "$p" && break; sleep 0.05; done
		# what corosync and its clients had no time to remove: qb-PID-* and qb-*-PID-*
		rm -rf /dev/shm/qb-"$p"-* /dev/shm/qb-*-"$p"-*
	done
	for p in $daemons; do rm -f "$D/h$h/$p.pid"; done
}

quorum() {	# quorum H: "quorate N" | "inquorate N"
	local out
	out=$(nsx h$1 corosync-quorumtool -s 2>/dev/null) || true	# exits 2 when inquorate
	echo "$out" | grep -q '^Quorate:' || { echo "down 0"; return; }
	local q=$(echo "$out" | sed -n 's/^Quorate: *//p') n=$(echo "$out" | sed -n 's/^Nodes: *//p')
	[ "$q" = Yes ] && echo "quorate $n" || echo "inquorate $n"
}

up() {
	local n=${1:-3} i
	[ -e "$D" ] && die "$D exists"
	mkdir -p "$D"
	echo "tl$(( $$ % 10000 ))$(( RANDOM % 100 ))" >"$D/prefix"
	echo "$n" >"$D/n"
	[ "${LAB_HV:-hvd}" = hvd ] || echo "$LAB_HV" >"$D/hv"
	ip netns add "$(ns sw)"
	nsx sw ip link set lo up
	nsx sw ip link add br0 type bridge
	nsx sw ip link add br1 type bridge
	nsx sw ip link set br0 up
	nsx sw ip link set br1 up
	# corosync authenticates and encrypts every packet with the cluster's key:
	# a host without it cannot join, read or forge CPG traffic
	corosync-keygen -l -k "$D/authkey" >/dev/null 2>&1 || die "corosync-keygen failed"
	"$SRC/ctl/tandem-ca" init "$D/ca" >/dev/null
	for i in $(hosts); do
		ip netns add "$(ns h$i)"
		nsx h$i ip link set lo up
		ip link add "$(ns h$i)-e" type veth peer name "$(ns p$i)"
		ip link set "$(ns h$i)-e" netns "$(ns h$i)"
		ip link set "$(ns p$i)" netns "$(ns sw)"
		nsx h$i ip link set "$(ns h$i)-e" name eth0
		nsx h$i ip addr add "$(addr $i)/24" dev eth0
		nsx h$i ip link set eth0 up
		nsx sw ip link set "$(ns p$i)" master br0 up
		# the VM bridge and its uplink to the switch
		nsx h$i ip link add vmbr0 type bridge
		ip link add "$(ns h$i)-v" type veth peer name "$(ns q$i)"
		ip link set "$(ns h$i)-v" netns "$(ns h$i)"
		ip link set "$(ns q$i)" netns "$(ns sw)"
		nsx h$i ip link set "$(ns h$i)-v" name vmup master vmbr0 up
		nsx h$i ip link set vmbr0 up
		nsx sw ip link set "$(ns q$i)" master br0 up
		"$SRC/ctl/tandem-ca" issue "$D/ca" "h$i" --ip "$(addr $i)" >/dev/null
	done
	# the client namespace, where load and checks run
	ip netns add "$(ns cl)"
	nsx cl ip link set lo up
	ip link add "$(ns cl)-e" type veth peer name "$(ns pc)"
	ip link set "$(ns cl)-e" netns "$(ns cl)"
	ip link set "$(ns pc)" netns "$(ns sw)"
	nsx cl ip link set "$(ns cl)-e" name eth0
	nsx cl ip addr add 10.77.1.250/24 dev eth0
	nsx cl ip link set eth0 up
	nsx sw ip link set "$(ns pc)" master br0 up
	"$SRC/ctl/tandem-ca" issue "$D/ca" fence --role fencer >/dev/null
	cluster_conf >"$D/cluster.conf"
	"$BUILD/fencing/fenced" -n -c "$D/cluster.conf" >/dev/null || die "bad $D/cluster.conf"
	for i in $(hosts); do	# each host's whole file, as every daemon checks it
		mkdir -p "$D/h$i"
		host_conf "$i" >"$D/h$i/tandem.conf"
		for d in $(daemons | sed 's|fenced|fencing/fenced|; s|migrated|migrated/migrated|; s|remusd|remusd/remusd|'); do
			"$BUILD/$d" -n -c "$D/h$i/tandem.conf" >/dev/null || die "h$i: $d refuses $D/h$i/tandem.conf"
		done
	done
	for i in $(hosts); do start_host "$i"; done
	# quorate everywhere (cold start: 1-4 s)
	for _ in $(seq 150); do
		local all=1
		for i in $(hosts); do [ "$(quorum $i)" = "quorate $n" ] || all=0; done
		[ $all = 1 ] && break
		sleep 0.1
	done
	[ $all = 1 ] || die "no quorate membership of $n hosts after 15 s"
	for i in $(hosts); do
		for _ in $(seq 100); do
			[ -S "$D/h$i/mig.sock" ] && { xen || [ -S "$D/h$i/hvd.sock" ]; } && [ -S "$D/h$i/fenced.sock" ] &&
				[ -S "$D/h$i/remus.sock" ] && break
			sleep 0.05
		done
		[ -S "$D/h$i/mig.sock" ] || die "h$i: migrated did not start (see $D/h$i/migrated.log)"
		[ -S "$D/h$i/fenced.sock" ] || die "h$i: fenced did not start (see $D/h$i/fenced.log)"
		[ -S "$D/h$i/remus.sock" ] || die "h$i: remusd did not start (see $D/h$i/remusd.log)"
	done
}

down() {
	[ -f "$D/prefix" ] || { rm -rf "$D"; return 0; }
	local i
	# fenced first: it must not fence hosts that are only being shut down
	for i in $(hosts); do stop_host "$i" TERM fenced; done
	for i in $(hosts); do stop_host "$i"; done
	if xen; then
		for i in $(hosts); do xen_gone $(xen_of "$i"); done
	else
		"$SRC/tests/kill-domains" "$D"
	fi
	for i in $(hosts); do ip netns del "$(ns h$i)" 2>/dev/null || true; done
	ip netns del "$(ns cl)" 2>/dev/null || true
	ip netns del "$(ns sw)" 2>/dev/null || true
	rm -rf "$D"
}

cmd=${1:-}
D=${2:-}
[ -n "$cmd" ] && [ -n "$D" ] || die "usage: lab.sh up|down|poweroff|boot|cable|partition|heal|exec|quorum|client DIR ..."
D=$(realpath -m "$D")
shift 2
case $cmd in
up)		up "$@" ;;
down)		down ;;
poweroff)	if xen; then
			ids=$(xen_of "$1")
			stop_host "$1" KILL
			xen_gone $ids
		else
			stop_host "$1" KILL
			"$SRC/tests/kill-domains" "$D/h$1"	# a power-off ends the domains too
			# the ledger says when they stopped, at the latest
			"$BUILD/tests/ledger" down "$D/h$1/hvd/ledger"
		fi ;;
boot)		[ ! -f "$D/h$1/corosync.pid" ] || die "h$1 is running"; start_host "$1" ;;
cable)		nsx sw ip link set "$(ns p$1)" "$2"; nsx sw ip link set "$(ns q$1)" "$2" ;;
partition)	for i in $(echo "${1#*|}" | tr , ' '); do
			nsx sw ip link set "$(ns p$i)" master br1
			nsx sw ip link set "$(ns q$i)" master br1
		done ;;
heal)		for i in $(hosts); do
			nsx sw ip link set "$(ns p$i)" master br0
			nsx sw ip link set "$(ns q$i)" master br0
		done ;;
stop)		stop_host "$1" TERM "$2" ;;
kill)		stop_host "$1" KILL "$2" ;;
start)		[ ! -f "$D/h$1/$2.pid" ] || die "h$1: $2 is running"; start_daemon "$1" "$2" ;;
exec)		h=$1; shift; nsx h$h "$@" ;;
client)		nsx cl "$@" ;;
quorum)		quorum "$1" ;;
*)		die "unknown verb $cmd" ;;
esac
