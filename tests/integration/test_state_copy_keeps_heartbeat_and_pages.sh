#!/bin/bash
# Pause a busy guest, copy its memory, vCPU and device state into a new
# incoming domain, destroy the original, unpause the copy - 20 times under
# the dirty workload.  The heartbeat never repeats or skips, and the guest's
# own integrity sweep passes; also with 2 vCPUs.  And a guest's state
# loaded back into it 9 times, posted and not (hvtool reload): a half state
# refused each time, an answer left pending never taken for the next
# call's, the guest's heartbeat continuous and its sweep OK after.
. "$(dirname "$0")/../lib.sh"
start_hvd
copy_chain() {	# copy_chain PREFIX N VCPUS CMDLINE
	local p=$1 n=$2
	tandem vm create ${p}0 --mem 256M --vcpus "$3" --kernel "$GUEST" --cmdline "$4" >/dev/null
	wait_for ${p}0 "^HB 2 "
	local logs="$T/state/console/${p}0.log"
	for i in $(seq 1 "$n"); do
		"$HVTOOL" -s "$SOCK" copy "$p$((i - 1))" "$p$i" >>"$T/copies" || fail "copy $i"
		logs="$logs $T/state/console/$p$i.log"
		sleep 0.25
	done
	wait_for "$p$n" "^HB $(( $(last_hb "$p$n") + 2 )) "
	out=$(tandem vm console "$p$n" --send i --wait 3000)
	echo "$out" | grep -q "^INTEGRITY OK" || fail "$p: integrity sweep: $out"
	cat $logs | grep -q "INTEGRITY FAIL" && fail "$p: an integrity sweep failed"
	r=$(hb_continuous $logs) || fail "$p: $r"
	log "$p: $n copies, $r, $(echo "$out" | grep INTEGRITY)"
	tandem vm destroy "$p$n" >/dev/null
}
copy_chain c 20 1 "dirty=20000 wss=128 heartbeat=50 integrity=1"
copy_chain m 3 2 "dirty=5000 wss=64 heartbeat=50"
tandem vm create r --mem 128M --kernel "$GUEST" --cmdline "dirty=5000 wss=64 heartbeat=50 integrity=1" >/dev/null
wait_for r "^HB 2 "
out=$("$HVTOOL" -s "$SOCK" reload r 9) || fail "reload: $out"
echo "$out" | grep -q "^reloaded=9 half_states_refused=6 posted=9 " || fail "reload: $out"
wait_for r "^HB $(( $(last_hb r) + 2 )) "
sweep=$(tandem vm console r --send i --wait 3000)
echo "$sweep" | grep -q "^INTEGRITY OK" || fail "after the reloads: $sweep"
r=$(hb_continuous "$T/state/console/r.log") || fail "after the reloads: $r"
log "state loaded back 9 times (a half state posted and refused at collect 3 times, posted and overtaken by the next load 3 times, the whole state posted 3 times): $r, $(echo "$sweep" | grep INTEGRITY)"
tandem vm destroy r >/dev/null
log "downtime of local copies (ms): $(awk '{for(i=1;i<=NF;i++) if ($i ~ /^downtime_ms=/) {sub("downtime_ms=","",$i); printf "%s ", $i}}' "$T/copies")"
