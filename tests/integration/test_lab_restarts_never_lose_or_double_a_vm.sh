#!/bin/bash
# The ownership table is durable on every host, so restarts of fenced or of
# the whole cluster neither destroy VMs nor run one twice:
#  1. fenced restarted on one host: its VMs keep running (a fenced that left
#     the group while its corosync stays in the ring is not fenced);
#  2. every fenced restarted at once (a cold start from the tables on disk):
#     every VM survives, none restarts (the run ledger holds one interval
#     per VM, still open), every host holds the same table, of a new epoch;
#  3. h3 cut off, fenced restarted on h1 and h2, then healed: h3 is fenced
#     before its VMs run elsewhere, and they never run twice;
#  4. the whole lab powered off and booted: every VM with the restart policy
#     runs again exactly once, the one without is stopped;
#  5. the table files of every host corrupted, every fenced restarted: each
#     refuses its file with the reason (kept as table.refused), and the
#     domains that the new, empty table does not know keep running.
set -eu
. "$(dirname "$0")/../lab/labtest.sh"
lab_test_setup
LAB_TIMERS=fast "$LAB" up "$L" 3
synced_all
G=$BUILD/hypervisor/guest/guest.elf
for h in 1 2 3; do
	t $h vm create a$h --mem 64M --kernel "$G" --cmdline "heartbeat=100 dirty=500 wss=16" >/dev/null
	t $h vm create b$h --mem 64M --kernel "$G" --cmdline "heartbeat=100" >/dev/null
done
t 3 vm create n3 --mem 64M --kernel "$G" --cmdline "heartbeat=100" --policy none >/dev/null
ALL="a1 b1 a2 b2 a3 b3 n3"
wait_owned 1 10 $ALL >/dev/null
before=$(vms_of 1)
intervals() { ledger_check "$@" | sed -n 's/.* \([0-9]*\) running intervals of \([0-9]*\) VMs.*/\1 \2/p'; }
lg=$(ledger_check) || exit 1
[ "$(intervals $ALL)" = "7 7" ] || fail "ledger before: $lg"

# 1. one fenced restarted
"$LAB" stop "$L" 2 fenced
sleep 1
"$LAB" start "$L" 2 fenced
synced_all
grep -q "node 2 left the group but its corosync is in the ring" "$L/h1/fenced.log" || fail "h1 did not see h2's corosync: $(grep -i 'node 2' "$L/h1/fenced.log" | tail -3)"
[ "$(vms_of 1)" = "$before" ] || fail "table changed: $(vms_of 1) / $before"
lg=$(ledger_check) || exit 1
[ "$(intervals $ALL)" = "7 7" ] || fail "ledger after one restart: $lg"
log "fenced on h2 restarted: h2 not fenced (its corosync stayed in the ring), 7 VMs unchanged"

# 2. every fenced at once
colds() { cat "$L"/h*/fenced.log | grep -c "sync: cold start: " || true; }
c0=$(colds)
for h in 1 2 3; do "$LAB" stop "$L" $h fenced & done; wait
for h in 1 2 3; do "$LAB" start "$L" $h fenced; done
synced_all
[ "$(colds)" -gt "$c0" ] || fail "no cold start: $(grep 'sync:' "$L/h1/fenced.log" | tail -5)"
epoch=$(cat "$L"/h*/fenced.log | sed -n 's/.*sync: cold start: .* it becomes epoch \([0-9]*\)/\1/p' | tail -1)
for h in 1 2 3; do grep -q "table from .*/fenced/table: epoch [0-9]* " "$L/h$h/fenced.log" || fail "h$h did not load its table: $(grep "table" "$L/h$h/fenced.log" | tail -5)"; done
[ "$(vms_of 1)" = "$before" ] || fail "table after the cold start: $(vms_of 1) / $before"
[ "$(vms_of 2)" = "$before" ] && [ "$(vms_of 3)" = "$before" ] || fail "tables differ"
sleep 1.5	# a tick of every host's local duties
lg=$(ledger_check) || exit 1
[ "$(intervals $ALL)" = "7 7" ] || fail "ledger after the cold start: $lg"
for h in 1 2 3; do ! grep -q "destroying it" "$L/h$h/fenced.log" || fail "h$h destroyed: $(grep 'destroying it' "$L/h$h/fenced.log")"; done
log "every fenced restarted at once: cold start from disk (now epoch $epoch), all 7 VMs kept, none restarted"

# 3. h3 cut off, fenced restarted on h1 and h2, healed
"$LAB" partition "$L" '1,2|3'
for h in 1 2; do "$LAB" stop "$L" $h fenced & done; wait
for h in 1 2; do "$LAB" start "$L" $h fenced; done
AVOID=3 wait_owned 1 30 a3 b3 >/dev/null
vms_of 1 | grep -q "^n3 3 1 stopped$" || fail "n3: $(vms_of 1)"
hist=$(t 1 fence history)
echo "$hist" | grep -q "h3 .*ok" || fail "h3 not fenced: $hist"
"$LAB" heal "$L"
"$LAB" boot "$L" 3
synced_all
sleep 1.5
lg=$(ledger_check a1 b1 a2 b2 a3 b3) || exit 1
res=$lg
log "h3 cut off while fenced restarted on h1, h2: h3 fenced ($(echo "$hist" | grep -o 'h3 .*ok' | head -1 | tr -s ' ')), a3 b3 restarted on the majority; ledger: $res"

# 4. the whole lab powered off and booted
RESTART="a1 b1 a2 b2 a3 b3"
for h in 1 2 3; do "$LAB" poweroff "$L" $h & done; wait
for h in 1 2 3; do "$LAB" boot "$L" $h; done
synced_all
ms=$(wait_owned 1 30 $RESTART)
sleep 1.5
lg=$(ledger_check $RESTART) || exit 1
res=$lg
for h in 2 3; do [ "$(vms_of $h)" = "$(vms_of 1)" ] || fail "tables differ after the power cycle"; done
log "whole lab power-cycled: $RESTART running again $ms ms after quorum; ledger: $res"

# 5. every table file corrupted, every fenced restarted
for h in 1 2 3; do "$LAB" stop "$L" $h fenced; printf 'garbage' | dd of="$L/h$h/fenced/table" bs=1 seek=40 conv=notrunc 2>/dev/null; done
for h in 1 2 3; do "$LAB" start "$L" $h fenced; done
synced_all
for h in 1 2 3; do
	grep -q "table refused: .*/fenced/table: corrupt: crc32c .* (kept as .*table.refused)" "$L/h$h/fenced.log" || fail "h$h: $(grep -i table "$L/h$h/fenced.log" | tail -3)"
	[ -f "$L/h$h/fenced/table.refused" ] || fail "h$h: no table.refused"
done
sleep 1.5
lg=$(ledger_check $RESTART) || exit 1
res=$lg
grep -q "the table has no VM of that name: left running" "$L/h1/fenced.log" "$L/h2/fenced.log" "$L/h3/fenced.log" || fail "no domain reported as unknown"
log "every table file corrupted: refused with the reason, kept aside; the empty table destroyed nothing; ledger: $res"
