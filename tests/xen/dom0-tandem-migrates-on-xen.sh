#!/bin/sh
# Runs in the Xen tier's dom0 with tandem, migrated, hvtool, guest.elf, a
# test CA's files and libevent beside it: on a real Xen, through the Xen
# backend, a busy PVH domU is copied into a domain the backend builds
# itself (hvtool copy), then live-migrated back and forth between two
# migrated daemons on this host (TLS, as between hosts; the destination's
# copy is NAME--incoming until it runs, the source's NAME--migrated until
# it is released, as xl migrate does on localhost).  After each: exactly
# one domain of that name, running, none left under the other names, the
# guest's heartbeat continuous across every copy and its integrity sweeps
# passing; every copy has the original's memory map (its RAM and the
# toolstack's pages in the MMIO hole, none left behind) and its UUID.  A migration to a
# port nobody listens on is refused and the guest runs on where it was.
. /mnt/host/dom0-lib.sh
T=$D/tandem
console_drain
pvh_guest tg 1 "heartbeat=300 dirty=500 wss=8 integrity=2"
for _ in $(seq 60); do guest | grep -q "^HB 2 " && break; sleep 1; done
map=$(mapof tg) uuid=$(uuidof tg)
[ "$(echo "$map" | grep -o '"pfn"' | wc -l)" -ge 2 ] || fail "tg's memory map has no hole: $map"
out=$($D/hvtool -s xen: copy tg tc 2>&1) || fail "copy: $out"
one tc
[ "$(mapof tc)" = "$map" ] || fail "the copy's memory map is $(mapof tc), not $map"
[ -n "$uuid" ] && [ "$(uuidof tc)" = "$uuid" ] || fail "the copy's UUID is $(uuidof tc), not tg's $uuid"
[ -z "$(xl_state tg)" ] || fail "the original is left after the copy"
sweeps 1
r=$(beats) || fail "after the copy: $r"
echo "RESULT copied into a domain the backend built: $out; $r"

start_migrateds
from=a to=b port=7102 dts=""
for i in 1 2 3 4; do
	res=$($T --migrated /run/$from.mig --json migrate tc 127.0.0.1:$port --downtime 50 2>&1) ||
		{ tail -20 /tmp/$from.log /tmp/$to.log; fail "migration $i ($from to $to): $res"; }
	echo "$res" | grep -q '"result":"ok"' || fail "migration $i: $res"
	one tc
	dts="$dts $(echo "$res" | sed -n 's/.*"downtime_ms":\([0-9.]*\).*/\1/p')"
	[ $from = a ] && { from=b to=a port=7101; } || { from=a to=b port=7102; }
done
sweeps 1
r=$(beats) || fail "after the migrations: $r"
[ "$(mapof tc)" = "$map" ] || fail "after the migrations the memory map is $(mapof tc), not $map"
[ "$(uuidof tc)" = "$uuid" ] || fail "after the migrations the UUID is $(uuidof tc), not $uuid"
echo "RESULT 4 live migrations between two migrated on Xen: downtime ms$dts; $r; memory map $map and UUID $uuid each time"

err=$($T --migrated /run/$from.mig migrate tc 127.0.0.1:1 2>&1) && fail "a migration to nobody succeeded"
one tc
sweeps 1
r=$(beats) || fail "after the refused migration: $r"
echo "RESULT to nobody: $(echo "$err" | head -1); tc runs on, $r"
xl destroy tc
echo "RESULT PASS"
