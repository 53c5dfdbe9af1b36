#!/bin/bash
# The throttle stuns the vCPUs for the requested share of time: a guest that
# dirties memory as fast as it can dirties about half as fast at 50%.
. "$(dirname "$0")/../lib.sh"
start_hvd
tandem vm create t --mem 128M --kernel "$GUEST" --cmdline "dirty=max wss=64 heartbeat=200" >/dev/null
wait_for t "^HB 3 "
rate() {	# pages per heartbeat over the last 5 heartbeats
	local n=$(last_hb t); wait_for t "^HB $((n + 6)) " 10
	console t | sed -n 's/^HB [0-9]* pages=\([0-9]*\)/\1/p' | tail -6 | awk 'NR==1{a=$1} {b=$1} END{print int((b-a)/5)}'
}
r0=$(rate)
tandem vm throttle t 50 >/dev/null
tandem --json vm info t | grep -q '"throttle_pct":50' || fail "info does not show the throttle"
r50=$(rate)
tandem vm throttle t 0 >/dev/null
r1=$(rate)
log "pages per 200 ms: unthrottled $r0, at 50% $r50, released $r1"
[ "$r50" -lt $((r0 * 70 / 100)) ] || fail "50% throttle did not slow the guest ($r0 -> $r50)"
# The floor is loose: on a host that steals CPU from this machine, a stunned
# vCPU waits longer than its share to run again (measured: 38% of the
# unthrottled rate on a quiet host, 12-20% under steal); a guest that stops
# dirtying is still caught.
[ "$r50" -gt $((r0 * 8 / 100)) ] || fail "50% throttle slowed the guest too much ($r0 -> $r50)"
[ "$r1" -gt $((r50 * 130 / 100)) ] || fail "release did not restore speed ($r50 -> $r1)"
