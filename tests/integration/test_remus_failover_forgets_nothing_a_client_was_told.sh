#!/bin/bash
# Output commit is what makes a failover invisible: a VM serving the UDP KV
# service to checked clients is protected (25 ms epochs) and its "host
# dies" in the middle of an epoch's send. With its output held until the
# backup acknowledged each epoch, the clients never see a contradiction
# after the shadow takes over: no acknowledged put is forgotten, no version
# or heartbeat goes back; the shadow answers them. The twin without output
# commit (--no-hold) runs the same and the clients do catch the shadow
# forgetting what they were told: the checker can see the failure it guards.
. "$(dirname "$0")/../lib.sh"
start_hvd_netns tdmremus 4
field() { sed -n "s/.*\"$1\":\([0-9.]*\).*/\1/p" | head -1; }

run() {	# run NAME [--no-hold]: prints the client checker's JSON
	local p=$1
	shift
	tandem vm create "$p" --mem 128M --kernel "$GUEST" --net vmbr0 \
		--cmdline "dirty=10000 wss=64 heartbeat=100 net=10.77.4.10/24 kv=7000" >/dev/null
	wait_for "$p" "^READY" 5
	ip netns exec $NS "$BUILD/tests/netcheck" kv 10.77.4.10 7000 --clients 2 --duration 600 --json \
		>"$T/$p.json" &
	local ncp=$!
	PIDS="$PIDS $ncp"
	sleep 1
	"$BUILD/tests/remustool" -s "$SOCK" protect "$p" "$p-shadow" 60 25 --cut "$@" >"$T/$p.out" 2>&1 ||
		fail "$p: protect/failover: $(cat "$T/$p.out")"
	sleep 1.5	# the clients go on against the shadow
	kill -TERM $ncp
	wait $ncp || true
	tandem vm destroy "$p-shadow" >/dev/null
}

run held
out=$(cat "$T/held.json")
[ "$(echo "$out" | field contradictions)" = 0 ] ||
	fail "with output commit, a client saw the shadow forget: $(echo "$out" | cut -c1-600)"
served=$(echo "$out" | field replies)
gap=$(echo "$out" | field max_gap_ms)
awk -v g="$gap" 'BEGIN{exit !(g < 1000)}' || fail "the shadow did not answer within a second ($gap ms)"
lost=$(echo "$out" | field lost)

run open --no-hold
out2=$(cat "$T/open.json")
c2=$(echo "$out2" | field contradictions)
[ "${c2:-0}" -gt 0 ] || fail "without output commit no contradiction was seen: the checker cannot see what it guards: $(echo "$out2" | cut -c1-400)"
log "held output: $served replies, 0 contradictions, $lost requests lost in flight, longest gap $gap ms ($(grep -o 'pause_p99_ms=[0-9.]*' "$T/held.out")); without it: $c2 contradictions"
