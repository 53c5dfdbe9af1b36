#!/bin/bash
# Planned moves of a protected VM keep it protected, and say how: `tandem
# migrate` and `tandem evacuate` end the protection for the move (remusd's
# epochs and a migration must never both pause the VM), and the host it
# went to protects it again at once, to a backup other than the host it
# left.  migrated itself refuses to move a VM whose output is held, so a
# client that bypasses this cannot race the epochs.  The checked clients
# see no contradiction throughout.
set -eu
. "$(dirname "$0")/../lab/labtest.sh"
lab_test_setup 'for p in ${NC_PIDS:-}; do kill "$p" 2>/dev/null || true; done'
lab_up3
NC=$BUILD/tests/netcheck

t 1 vm create web --mem 128M --kernel "$G" --net vmbr0 \
	--cmdline "heartbeat=100 dirty=5000 wss=64 net=10.77.1.10/24 kv=7000" >/dev/null
for _ in $(seq 50); do grep -q READY "$L/h1/hvd/console/web.log" 2>/dev/null && break; sleep 0.1; done
t 1 protect web --backup h2 --epoch 10 >/dev/null || fail "protect web to h2"
ip netns exec "$(cat "$L/prefix")-cl" "$NC" kv 10.77.1.10 7000 --clients 2 --duration 900 --json \
	>"$L/nc.json" &
NC_PIDS=$!
sleep 1

# migrated alone refuses: the VM's output is held for its backup
out=$("$BUILD/tandem" --host "$L/h1/hvd.sock" --migrated "$L/h1/mig.sock" --fenced "$L/h1/fenced.sock" \
	--json migrate web 10.77.0.3 2>&1) && fail "migrated moved a protected VM behind remusd's back: $out"
echo "$out" | grep -q "is protected" || fail "the refusal does not say why: $out"
vms_of 1 | grep -q "^web 1 " || fail "web left h1: $(vms_of 1)"
log "migrated refuses to move web while its output is held: $(echo "$out" | sed -n 's/.*"error":"\([^"]*\)".*/\1/p' | cut -c1-90)"

# tandem migrate: unprotect, move, protected again from h3 (not to h1)
out=$(t 1 --json migrate web 10.77.0.3 2>"$L/mig.err") || fail "migrate: $out $(cat "$L/mig.err")"
grep -q "its protection ends for the move" "$L/mig.err" || fail "migrate did not say how: $(cat "$L/mig.err")"
ms=$(wait_protected 3 20 web)
b=$(backup_of 3 web)
[ "$b" = h2 ] || fail "after the migration web's backup is '$b', expected h2 (not h1, where it came from)"
t 3 --json protection web | grep -q '"epoch_target_ms":10,' ||
	fail "the epoch was not carried over: $(t 3 --json protection web)"
log "tandem migrate web h1 -> h3: protected again from h3 (to $b, 10 ms epochs) $ms ms after"

# tandem evacuate h3: the same, for every VM of the host
out=$(t 3 --json evacuate h3 2>"$L/evac.err") || fail "evacuate: $out $(cat "$L/evac.err")"
cur=$(vms_of 1 | awk '$1=="web"{print $2}')
[ "$cur" != 3 ] || fail "web is still on h3"
ms=$(wait_protected "$cur" 20 web)
b=$(backup_of 1 web)
[ -n "$b" ] && [ "$b" != h3 ] && [ "$b" != "h$cur" ] || fail "after the evacuation web's backup is '$b'"
log "tandem evacuate h3: web on h$cur, protected again to $b $ms ms after"

sleep 1
kill -TERM $NC_PIDS
wait $NC_PIDS || true
NC_PIDS=""
out=$(cat "$L/nc.json")
echo "$out" | grep -q '"contradictions":0,' || fail "a client saw web forget: $(echo "$out" | cut -c1-700)"
echo "$out" | grep -Eq '"replies":[1-9][0-9]{3,}' || fail "too few replies: $(echo "$out" | cut -c1-300)"
log "clients: $(echo "$out" | sed 's/.*"sent":\([0-9]*\),"replies":\([0-9]*\),"lost":\([0-9]*\),"unexpected":[0-9]*,"contradictions":\([0-9]*\),"max_gap_ms":\([0-9.]*\).*/sent \1, replies \2, lost \3, contradictions \4, longest gap \5 ms/')"
integ "$cur" web >/dev/null
t "$cur" unprotect web >/dev/null || fail "unprotect at the end"	# epochs pause it: not "running"
lg=$(ledger_check web) || exit 1
log "integrity OK; ledger: $lg"
