#!/bin/bash
# remusd killed (SIGKILL) on either side, at the protocol's phases, never
# runs two copies and never loses what a client was told:
#  1. the primary's remusd, mid-epochs: the VM runs on, its output stays
#     held (nobody may release it: the backup might take over); the backup
#     finds its primary silent but no majority has lost the host, so it
#     waits; the restarted remusd records "no backup" and only then lets
#     the output go; the backup's shadow goes.
#  2. the backup's remusd, mid-epochs: the primary protects to the third
#     host; the restarted backup destroys the shadow it left.
#  3. the backup's remusd during a failover (its primary powered off, the
#     shadow whole): the restarted remusd finds its shadow's record whole
#     and carries the failover on: the VM resumes from that epoch.
#  4. the backup's remusd during the initial copy: the protection goes to
#     the third host.
# Twins: each kill is followed by the same protection working again.
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
	--gap-ms 300 >"$L/nc.json" &
NC_PIDS=$!
probe_start
sleep 1

# 1. the primary's remusd
"$LAB" kill "$L" 1 remusd
sleep 1
vms_of 2 | grep -q "^web 1 " || fail "web left h1 when only its remusd died: $(vms_of 2)"
grep -q "taken-over" "$L/h2/remusd.log" && fail "h2 took web over from a live host"
t 1 --json vm info web | grep -q '"held_frames"' || fail "web's output was let go with remusd dead"
"$LAB" start "$L" 1 remusd
for _ in $(seq 100); do [ -S "$L/h1/remus.sock" ] && break; sleep 0.05; done
for _ in $(seq 100); do t 1 --json vm info web | grep -q '"held_frames"' || break; sleep 0.05; done
t 1 --json vm info web | grep -q '"held_frames"' && fail "the restarted remusd did not release the output"
grep -q "remusd restarted: the protection ended; output released" "$L/h1/remusd.log" ||
	fail "h1's remusd did not say what it did: $(tail -3 "$L/h1/remusd.log")"
for _ in $(seq 100); do [ -z "$(running_on 2)$(t 2 vm list 2>/dev/null | grep web)" ] && break; sleep 0.05; done
t 2 vm list | grep -q web && fail "h2 kept the shadow of an unprotected VM"
t 1 protect web --backup h2 >/dev/null || fail "protect again after the primary's remusd restarted"
log "1. primary's remusd killed: web ran on with its output held, no takeover; restarted, it released it; protected again"

# 2. the backup's remusd
"$LAB" kill "$L" 2 remusd
for _ in $(seq 200); do [ "$(backup_of 1 web)" = h3 ] && break; sleep 0.05; done
wait_protected 1 20 web >/dev/null
[ "$(backup_of 1 web)" = h3 ] || fail "web not protected to h3 after h2's remusd died"
"$LAB" start "$L" 2 remusd
for _ in $(seq 100); do t 2 vm list 2>/dev/null | grep -q web || break; sleep 0.05; done
t 2 vm list | grep -q web && fail "the restarted remusd on h2 kept a useless shadow: $(t 2 vm list)"
log "2. backup's remusd killed: web protected to h3 instead; h2's restarted remusd destroyed its old shadow"

# 3. the backup's remusd (h3) during the failover of a powered-off primary:
# frozen between two epochs (its record says whole), the primary's host
# loses power, then remusd dies
rp=$(cat "$L/h3/remusd.pid")
for _ in $(seq 50); do
	kill -STOP "$rp"
	grep -q "^whole " "$L/h3/remus/web.shadow" && break
	kill -CONT "$rp"	# caught applying an epoch: once more
	sleep 0.007
done
grep -q "^whole " "$L/h3/remus/web.shadow" || fail "no whole shadow record on h3: $(cat "$L/h3/remus/web.shadow" 2>&1)"
"$LAB" poweroff "$L" 1
"$LAB" kill "$L" 3 remusd
"$LAB" start "$L" 3 remusd
AVOID=1 ms=$(wait_owned 2 20 web)
vms_of 2 | grep -q "^web 3 " || fail "web is not h3's: $(vms_of 2)"
grep -q "a shadow left whole at epoch" "$L/h3/remusd.log" || fail "h3 did not resume from its record"
wait_protected 3 20 web >/dev/null
log "3. backup's remusd killed in a failover: restarted, it found its shadow whole and took over ($ms ms); protected again to $(backup_of 3 web)"
sleep 3
"$LAB" boot "$L" 1
synced_all

# 4. the backup's remusd (h1) during the initial copy
t 3 unprotect web >/dev/null
t 3 protect web --backup h1 >"$L/p4.out" 2>&1 &
pp=$!
for _ in $(seq 200); do grep -q "web (backup): syncing -> syncing" "$L/h1/remusd.log" && break; sleep 0.005; done
"$LAB" kill "$L" 1 remusd
wait $pp || true
for _ in $(seq 400); do [ "$(backup_of 3 web)" = h2 ] && break; sleep 0.05; done
[ "$(backup_of 3 web)" = h2 ] || fail "web's backup is '$(backup_of 3 web)', not h2, after h1's remusd died: $(cat "$L/p4.out")"
wait_protected 3 20 web >/dev/null
"$LAB" start "$L" 1 remusd
log "4. backup's remusd killed during the initial copy: web protected to h2 instead"

sleep 1
res=$(probe_stop)
kill -TERM $NC_PIDS
wait $NC_PIDS || true
NC_PIDS=""
out=$(cat "$L/nc.json")
echo "$out" | grep -q '"contradictions":0,' || fail "a client saw web forget: $(echo "$out" | cut -c1-700)"
log "clients: $(echo "$out" | sed 's/.*"sent":\([0-9]*\),"replies":\([0-9]*\),"lost":\([0-9]*\),"unexpected":[0-9]*,"contradictions":\([0-9]*\),"max_gap_ms":\([0-9.]*\).*/sent \1, replies \2, lost \3, contradictions \4, longest gap \5 ms/')"
case "$res" in "0 double runs"*) ;; *) fail "probe: $res" ;; esac
integ 3 web >/dev/null
t 3 unprotect web >/dev/null || fail "unprotect at the end"
lg=$(ledger_check web) || exit 1
log "probe: $res; integrity OK; ledger: $lg"
