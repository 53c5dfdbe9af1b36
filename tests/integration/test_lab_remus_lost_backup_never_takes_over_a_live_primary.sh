#!/bin/bash
# The other side of failover: a backup that loses its primary while the
# primary lives must never resume the shadow, and a primary that loses its
# backup must go on serving, telling its clients nothing the cluster could
# later take back.
#  - Partition {primary, third} | {backup}: the backup hears no epochs, but
#    no majority of heartbeats says the primary is gone and the table never
#    says it is fenced, so it waits on, fences nothing and never takes over; the
#    primary, still quorate, records that web has no backup, only then lets
#    its held output go, and re-protects to the third host.  The clients
#    (on the majority's side) are served throughout.
#  - The backup is powered off: the same from the primary's side.
#  - `tandem unprotect`: the shadow goes, the table forgets the backup, the
#    VM runs on with its output no longer held.
# The clients see no contradiction, the probe and the ledgers never two
# copies, and the guest's sweep passes.
set -eu
. "$(dirname "$0")/../lab/labtest.sh"
lab_test_setup 'for p in ${NC_PIDS:-}; do kill "$p" 2>/dev/null || true; done'
lab_up3
NC=$BUILD/tests/netcheck

t 1 vm create web --mem 128M --kernel "$G" --net vmbr0 \
	--cmdline "heartbeat=100 dirty=5000 wss=64 net=10.77.1.10/24 kv=7000" >/dev/null
for _ in $(seq 50); do grep -q READY "$L/h1/hvd/console/web.log" 2>/dev/null && break; sleep 0.1; done
t 1 protect web --backup h2 >/dev/null || fail "protect web to h2"
ip netns exec "$(cat "$L/prefix")-cl" "$NC" kv 10.77.1.10 7000 --clients 2 --duration 900 --json \
	>"$L/nc.json" &
NC_PIDS=$!
probe_start
sleep 1

# {1,3} | {2}: h2 (the backup) is cut off
t0=$(now_ms)
"$LAB" partition "$L" "1,3|2"
for _ in $(seq 200); do [ "$(backup_of 1 web)" = h3 ] && break; sleep 0.05; done
wait_protected 1 20 web >/dev/null
ms=$(( $(now_ms) - t0 ))
[ "$(backup_of 1 web)" = h3 ] || fail "web's backup after the partition: '$(backup_of 1 web)'"
grep -q "web (primary): protected -> unprotected: the backup h2 is lost" "$L/h1/remusd.log" ||
	fail "h1 did not notice its backup was lost"
sleep 2	# the fencing of h2 and the backup's patience are both over by now
vms_of 1 | grep -q "^web 1 " || fail "web is not h1's any more: $(vms_of 1)"
grep -q "web (backup): h1 silent for" "$L/h2/remusd.log" ||
	fail "h2 never noticed its primary went silent: $(tail -5 "$L/h2/remusd.log")"
grep -q "taken-over" "$L/h2/remusd.log" && fail "h2 took web over from a live primary"
grep -q "fast: VM web: .*fencing node 1" "$L/h2/fenced.log" && fail "h2 fenced h1 on the evidence of one host"
grep -q "no majority has lost h1" "$L/h2/remusd.log" ||
	fail "h2 never weighed the heartbeats: $(grep "silent for" "$L/h2/remusd.log" | tail -2)"
log "partition {h1,h3}|{h2}: h2 never resumed its shadow; h1 served on and was protected to h3 after $ms ms"
"$LAB" heal "$L"
for _ in $(seq 100); do [ ! -f "$L/h2/corosync.pid" ] && break; sleep 0.1; done
"$LAB" boot "$L" 2
synced_all
[ -z "$(running_on 2)" ] || fail "h2 runs $(running_on 2) after it rejoined"

# the backup (h3) is powered off: h1 re-protects to h2
t0=$(now_ms)
"$LAB" poweroff "$L" 3
for _ in $(seq 200); do [ "$(backup_of 1 web)" = h2 ] && break; sleep 0.05; done
wait_protected 1 20 web >/dev/null
ms=$(( $(now_ms) - t0 ))
[ "$(backup_of 1 web)" = h2 ] || fail "web's backup after h3 went: '$(backup_of 1 web)'"
log "backup h3 powered off: web served on, protected to h2 after $ms ms"
"$LAB" boot "$L" 3
synced_all

# unprotect: the shadow goes, the table forgets the backup
out=$(t 1 --json unprotect web) || fail "unprotect: $out"
echo "$out" | grep -q '"result":"ok"' || fail "unprotect: $out"
for _ in $(seq 40); do [ -z "$(t 2 vm list 2>/dev/null | grep web)" ] && break; sleep 0.05; done
t 2 vm list | grep -q web && fail "h2 keeps web's shadow after unprotect: $(t 2 vm list)"
[ -z "$(backup_of 3 web)" ] || fail "the table still names a backup: $(backup_of 3 web)"
t 1 --json vm info web | grep -q '"held_frames"' && fail "web's output is still held: $(t 1 vm info web)"
log "unprotect: shadow on h2 destroyed, table without backup, output no longer held"

sleep 1
res=$(probe_stop)
kill -TERM $NC_PIDS
wait $NC_PIDS || true
NC_PIDS=""
out=$(cat "$L/nc.json")
echo "$out" | grep -q '"contradictions":0,' || fail "a client saw web forget: $(echo "$out" | cut -c1-700)"
echo "$out" | grep -Eq '"replies":[1-9][0-9]{3,}' || fail "too few replies: $(echo "$out" | cut -c1-300)"
log "clients: $(echo "$out" | sed 's/.*"sent":\([0-9]*\),"replies":\([0-9]*\),"lost":\([0-9]*\),"unexpected":[0-9]*,"contradictions":\([0-9]*\),"max_gap_ms":\([0-9.]*\).*/sent \1, replies \2, lost \3, contradictions \4, longest gap \5 ms/')"
case "$res" in "0 double runs"*) ;; *) fail "probe: $res" ;; esac
integ 1 web >/dev/null
lg=$(ledger_check web) || exit 1
log "probe: $res; integrity OK; ledger: $lg"
