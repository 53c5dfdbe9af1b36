#!/bin/bash
# Runs in the Xen tier's dom0 with remustool and guest.elf beside it: on a
# real Xen, the shared save/restore engine Remus runs on (remusd's epoch.c
# and shadow.c, driven by remustool over a socket pair) protects a busy PVH
# domU into a shadow domain the backend builds, 40 epochs of 100 ms, then
# its host "dies" (the domain destroyed, the stream ended) and the shadow
# resumes from the last epoch it acknowledged: it runs once, under its own
# name, its integrity sweeps pass, and its heartbeat picks up from the
# epoch it holds (the console is not output-committed on Xen: the lines of
# at most one epoch come again).  Twins that must not resume what they did
# not get whole: the stream cut in the middle of one more epoch, and one
# more epoch sent whole with a byte flipped; the shadow refuses either and
# resumes from the last good one.  Prints the pause's phases on Xen.
. /mnt/host/dom0-lib.sh
console_drain
# failover FROM TO EXTRA...: protect FROM into TO, fail over, check TO
failover() {
	local from=$1 to=$2 old new out last first
	shift 2
	old=$(xl domid "$from")
	out=$(REMUSTOOL_TRACE=1 $D/remustool -s xen: protect "$from" "$to" 40 100 --no-hold "$@" 2>/tmp/trace) ||
		{ tail -5 /tmp/trace; fail "remustool ${*:-}: $out"; }
	echo "$out" | grep -q "^failover=$to resumed from epoch" || fail "no failover: $out"
	one "$to"
	[ -z "$(xl_state "$from")" ] || fail "$from is still there after its host died"
	new=$(xl domid "$to")
	for _ in $(seq 60); do [ -n "$(hbs "$new" | head -1)" ] && break; sleep 0.5; done
	last=$(hbs "$old" | tail -1) first=$(hbs "$new" | head -1)
	[ -n "$first" ] || fail "the shadow $to does not beat"
	# resumed where an epoch left it: not ahead of the dead copy, and
	# behind it by what ran after the last acknowledged epoch (up to one
	# epoch, the spoiled or cut one and the pause before the death: at most
	# 400 ms, 8 heartbeats)
	[ "$first" -le $((last + 1)) ] && [ "$first" -ge $((last - 8)) ] ||
		fail "$to's heartbeat resumed at $first, the dead copy's last was $last"
	sweeps 1
	echo "RESULT ${*:-whole}: $(echo "$out" | grep -o "epochs=[0-9]*\|epoch_ms=[0-9.]*\|pause_p50_ms=[0-9.]*\|pause_max_ms=[0-9.]*\|shadow_epoch=[0-9]*\|acknowledged=[0-9]*" | tr '\n' ' ')heartbeat $last -> $first, integrity OK"
	echo "RESULT phases ms (p50): $(echo "$out" | grep -o "[a-z]*_p50_ms=[0-9.]*" | tr '\n' ' ')"
}
pvh_guest tp 1 "heartbeat=50 dirty=500 wss=8 integrity=2"
for _ in $(seq 60); do guest | grep -q "^HB 10 " && break; sleep 1; done
failover tp ts
failover ts tc --cut
failover tc tf --spoil flip
xl destroy tf
echo "RESULT PASS"
