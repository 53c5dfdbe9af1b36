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
