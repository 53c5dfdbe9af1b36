#!/bin/bash
# Every page the guest changed between two peek-and-clean calls has its bit
# set (compared against full memory snapshots); false positives are counted.
. "$(dirname "$0")/../lib.sh"
start_hvd
for pat in uniform hotcold seq; do
	tandem vm create d-$pat --mem 256M --kernel "$GUEST" \
		--cmdline "dirty=20000 wss=128 pattern=$pat heartbeat=50" >/dev/null
	wait_for d-$pat READY
	out=$("$HVTOOL" -s "$SOCK" dirtycheck d-$pat 5 200) || fail "$pat: $out"
	log "$pat: $(echo "$out" | grep summary)"
	tandem vm destroy d-$pat >/dev/null
done
