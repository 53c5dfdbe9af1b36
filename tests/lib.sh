# lib.sh - shared helpers for integration tests (sourced).
#
# Each test gets a private directory and its own hvd on its own socket; the
# EXIT trap stops exactly the processes this test started, by PID, and
# removes the directory, also when the test fails half-way.
set -eu

BUILD=${BUILD:-$(pwd)}
SRC=${SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
GUEST=$BUILD/hypervisor/guest/guest.elf
HVTOOL=$BUILD/tests/hvtool
T=$(mktemp -d /tmp/tandem-test.XXXXXX)
SOCK=$T/hvd.sock
export TANDEM_HOST=$SOCK
PIDS=""

cleanup() {
	for p in $PIDS; do
		kill "$p" 2>/dev/null || true
	done
	for p in $PIDS; do
		wait "$p" 2>/dev/null || true
	done
	"$SRC/tests/kill-domains" "$T"	# they outlive hvd
	${AFTER_STOP:-}	# a test's own undo, once its processes are gone
	if [ "${KEEP:-0}" = 1 ]; then echo "kept $T"; else rm -rf "$T"; fi
}
trap cleanup EXIT

fail() { echo "FAIL: $*" >&2; [ -f "$T/hvd.log" ] && tail -20 "$T/hvd.log" >&2; exit 1; }
log() { echo "  $*"; }

tandem() { "$BUILD/tandem" "$@"; }

start_hvd() {
	"$BUILD/hvd" -f -s "$SOCK" -d "$T/state" >"$T/hvd.log" 2>&1 &
	HVD_PID=$!
	PIDS="$PIDS $HVD_PID"
	for _ in $(seq 100); do
		[ -S "$SOCK" ] && tandem vm list >/dev/null 2>&1 && return 0
		sleep 0.05
	done
	fail "hvd did not start"
}

# start_hvd_netns PREFIX OCTET: hvd inside a network namespace of its own
# ($NS, removed at the end) with a VM bridge vmbr0 at 10.77.OCTET.1/24.
# The bridge has a fixed MAC: a bridge otherwise takes its ports' lowest,
# which changes as taps join, and replies to its old MAC are lost.
start_hvd_netns() {
	NS=$1$$
	AFTER_STOP="ip netns del $NS"
	ip netns add "$NS"
	ip netns exec "$NS" sh -c "ip link set lo up; ip link add vmbr0 address 02:77:$(printf %02x "$2"):00:00:01 type bridge;
		ip addr add 10.77.$2.1/24 dev vmbr0; ip link set vmbr0 up"
	ip netns exec "$NS" "$BUILD/hvd" -f -s "$SOCK" -d "$T/state" >"$T/hvd.log" 2>&1 &
	HVD_PID=$!
	PIDS="$PIDS $HVD_PID"
	for _ in $(seq 100); do
		[ -S "$SOCK" ] && tandem vm list >/dev/null 2>&1 && return 0
		sleep 0.05
	done
	fail "hvd did not start"
}

console() { cat "$T/state/console/$1.log" 2>/dev/null || true; }

# wait_for NAME PATTERN [SECONDS]: until the console log of NAME matches.
wait_for() {
	local end=$(( $(date +%s) + ${3:-10} ))
	while [ "$(date +%s)" -le "$end" ]; do
		console "$1" | grep -q "$2" && return 0
		sleep 0.1
	done
	fail "$1: '$2' did not appear on the console"
}

# last_hb NAME: the last heartbeat counter NAME printed.
last_hb() { console "$1" | sed -n 's/^HB \([0-9]*\) .*/\1/p' | tail -1; }

# hb_continuous FILE...: heartbeat counters across the files go up by exactly 1.
hb_continuous() {
	cat "$@" | awk '/^HB [0-9]+ / { n = $2 + 0; if (seen && n != prev + 1) { print "gap: " prev " -> " n; bad = 1 } prev = n; seen = 1; count++ }
		END { if (!seen) { print "no heartbeats"; exit 1 } print count " heartbeats, last " prev; exit bad }'
}

# ---- two hosts on loopback: hvd + migrated each, TLS with a test CA ----
# start_hosts: hosts a and b; $T/a.hvd $T/a.mig, port $PORT_A; same for b.
# HVD_ARGS_a and HVD_ARGS_b: more arguments for each host's hvd.
start_migrated() {	# start_migrated HOST PORT [extra args] (and $MIG_ARGS_HOST)
	local h=$1 port=$2
	shift 2
	eval "set -- \"\$@\" \${MIG_ARGS_$h:-}"
	"$BUILD/migrated/migrated" -f -v -s "$T/$h.mig" -H "$T/$h.hvd" -d "$T/$h.state" -l "127.0.0.1:$port" "$@" \
		>>"$T/$h.mig.log" 2>&1 &
	eval "MIG_$h=$!"
	PIDS="$PIDS $!"
	for _ in $(seq 100); do [ -S "$T/$h.mig" ] && return 0; sleep 0.05; done
	fail "migrated $h did not start"
}
start_host_hvd() {	# start_host_hvd HOST: its hvd ($HVD_a, $HVD_b), until it answers
	local h=$1
	eval "set -- \${HVD_ARGS_$h:-}"
	"$BUILD/hvd" -f -s "$T/$h.hvd" -d "$T/$h" "$@" >>"$T/$h.hvd.log" 2>&1 &
	eval "HVD_$h=$!"
	PIDS="$PIDS $!"
	for _ in $(seq 100); do
		"$BUILD/tandem" --host "$T/$h.hvd" vm list >/dev/null 2>&1 && return 0
		sleep 0.05
	done
	fail "hvd $h did not start"
}
stop_host_hvd() {	# stop_host_hvd HOST [SIGNAL]: its domains run on
	local p
	eval "p=\$HVD_$1"
	kill -"${2:-TERM}" "$p"
	wait "$p" 2>/dev/null || true
}
start_hosts() {
	"$SRC/ctl/tandem-ca" init "$T/ca" >/dev/null
	PORT_A=$((20000 + RANDOM % 20000)); PORT_B=$((PORT_A + 1))
	for h in a b; do
		"$SRC/ctl/tandem-ca" issue "$T/ca" "host-$h" --ip 127.0.0.1 >/dev/null
		start_host_hvd $h
	done
	TLS_a="--cert $T/ca/host-a.crt --key $T/ca/host-a.key --ca $T/ca/ca.crt --crl $T/ca/crl.pem"
	TLS_b="--cert $T/ca/host-b.crt --key $T/ca/host-b.key --ca $T/ca/ca.crt --crl $T/ca/crl.pem"
	start_migrated a "$PORT_A" $TLS_a
	start_migrated b "$PORT_B" $TLS_b
}
on() { local h=$1; shift; "$BUILD/tandem" --host "$T/$h.hvd" --migrated "$T/$h.mig" "$@"; }
hconsole() { cat "$T/$1/console/$2.log" 2>/dev/null || true; }
# runs_on NAME: the hosts whose hvd has NAME running
runs_on() {
	for h in a b; do on $h vm info "$1" 2>/dev/null | grep -q "state: *running" && printf '%s ' $h; done
	echo
}
integrity() {	# integrity HOST NAME: the guest's own sweep must pass
	local out
	out=$(on "$1" vm console "$2" --send i --wait 4000 | grep -m1 INTEGRITY)
	case "$out" in "INTEGRITY OK"*) echo "$out" ;; *) fail "$2 on $1: ${out:-no integrity line}" ;; esac
}
