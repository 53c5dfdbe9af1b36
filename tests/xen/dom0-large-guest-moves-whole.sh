#!/bin/sh
# Runs in the Xen tier's dom0 with tandem, migrated, guest.elf and the test
# CA's files beside it: a PVH domU too large for RAM below the MMIO hole
# (4352 MiB: libxl puts 3.75 GiB below 0xf0000000 and the rest from 4 GiB,
# and its own pages in the hole) moves whole between two migrated daemons,
# there and back.  Its working set sits above 4 GiB (wss_high=), so the
# integrity sweeps check the pages past the hole; every copy has the memory
# map the original had (tandem vm info), and the heartbeat is continuous.
. /mnt/host/dom0-lib.sh
T=$D/tandem
console_drain
PVH_MEM=${BIG_MIB:-4352} pvh_guest tg 1 "heartbeat=500 dirty=500 wss=16 wss_high=16 integrity=5"
for _ in $(seq 240); do guest | grep -q "^HB 2 " && break; sleep 1; done
guest | grep -q "^HB 2 " || fail "the large guest does not beat: $(guest | head -5)"
high=$(guest | sed -n 's/^tandem-guest: ram above 4 GiB: \(.*\)/\1/p' | head -1)
[ -n "$high" ] || fail "the guest sees no RAM above 4 GiB: $(guest | head -3)"
map=$(mapof tg)
echo "$map" | grep -q '{"pfn":1048576,' || fail "no extent from 4 GiB in tg's map: $map"
[ "$(echo "$map" | grep -o '"pfn"' | wc -l)" -ge 3 ] || fail "tg's map has no holes: $map"
sweeps 1
echo "RESULT tg: $high above 4 GiB; memory map $map; $($T --host xen: vm info tg | grep -A9 '^memory map' | grep -c 'pfn 0x') extents"

start_migrateds
from=a to=b port=7102
for i in 1 2; do
	t0=$(date +%s)
	res=$($T --migrated /run/$from.mig --json migrate tg 127.0.0.1:$port --downtime 50 2>&1) ||
		{ tail -20 /tmp/$from.log /tmp/$to.log; fail "migration $i ($from to $to): $res"; }
	echo "$res" | grep -q '"result":"ok"' || fail "migration $i: $res"
	one tg
	dt=$(echo "$res" | sed -n 's/.*"downtime_ms":\([0-9.]*\).*/\1/p')
	# a budget not kept is said, never passed over
	if awk -v d="$dt" 'BEGIN { exit !(d > 51) }'; then
		echo "$res" | grep -q '"note":"downtime [0-9.]* ms over the 50.0 ms budget' ||
			fail "migration $i: downtime $dt ms over the budget, and nothing says so: $res"
	fi
	now=$(mapof tg)
	[ "$now" = "$map" ] || fail "after migration $i the map is $now, not $map"
	sweeps 1
	r=$(beats) || fail "after migration $i: $r"
	echo "RESULT migration $i ($from to $to) in $(($(date +%s) - t0)) s: downtime" \
		"$(echo "$res" | sed -n 's/.*"downtime_ms":\([0-9.]*\).*/\1/p') ms," \
		"$(echo "$res" | sed -n 's/.*"bytes_sent":\([0-9]*\).*/\1/p') bytes sent; the same map; $r;" \
		"phases us $(echo "$res" | sed -n 's/.*"downtime_phases_us":{\([^}]*\)}.*/\1/p')"
	echo "RESULT $(sed -n 's/.*migration tg: \(memory mapped: .*\)/\1/p' /tmp/$from.log | tail -1)"
	echo "RESULT destination's $(sed -n 's/.*migration tg in: \(paused part: .*\)/\1/p' /tmp/$to.log | tail -1)"
	[ $from = a ] && { from=b to=a port=7101; } || { from=a to=b port=7102; }
done
xl destroy tg
echo "RESULT PASS"
