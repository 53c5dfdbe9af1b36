#!/bin/bash
# A 3-host lab (namespaces, a switch, real corosync, fenced, hvd and
# migrated per host) forms a quorate cluster whose fenceds all hold the
# same ownership table.  Bad input changes nothing: a config naming an
# unknown host, `tandem fence` of one, and corrupted CPG messages from a
# test client (rejected, logged, table version unchanged everywhere).  A
# guest migrates h1 -> h2 through the table (owner and generation move).
# Partition {1,2}|{3} with two VMs on h3: h3 self-fences them, the majority
# fences h3 (fence_tandem cannot reach it, fence_lab powers it off) and
# restarts them; a probe sampling every hvd never sees a VM on two hosts.
# h3 boots again, rejoins, receives the table and runs nothing.  Teardown
# leaves no namespace, process or /dev/shm file, also when this test fails.
set -eu
. "$(dirname "$0")/../lab/labtest.sh"
lab_test_setup
version() { t "$1" --json status | sed 's/.*"table_version":\([0-9]*\).*/\1/'; }

LAB_TIMERS=fast LAB_SELF_FENCE=400 "$LAB" up "$L" 3
prefix=$(cat "$L/prefix")
for h in 1 2 3; do until_status $h '"node":'$h',"state":"quorate","quorate":true,"members":[1,2,3],"table":"synced"'; done
t 1 status | grep -q "watchdog: none (/dev/watchdog absent)" || fail "status does not say the watchdog is absent"
log "3 hosts quorate, tables synced; $(t 1 status | sed -n 2p)"

# bad input
sed 's/^fence-level 2 .*/& hosts=h1,h9/' "$L/cluster.conf" >"$L/bad.conf"
out=$("$BUILD/fencing/fenced" -n -c "$L/bad.conf" 2>&1) && fail "fenced accepted a config naming h9"
echo "$out" | grep -q "unknown host 'h9'" || fail "config error does not name h9: $out"
out=$(t 1 fence h9 2>&1) && fail "tandem fence h9 succeeded"
echo "$out" | grep -q "unknown host 'h9'" || fail "fence h9: $out"
log "unknown host h9: config refused, fence refused ($(echo "$out" | tail -1))"
v0=$(version 1)
for k in bad-crc bad-schema bad-rule; do "$LAB" exec "$L" 2 "$BUILD/tests/cpgsend" $k >/dev/null; done
head -c 300 /dev/urandom | "$LAB" exec "$L" 2 "$BUILD/tests/cpgsend" raw >/dev/null
sleep 0.5
for h in 1 2 3; do
	until_status $h '"table":"synced"'
	[ "$(version $h)" = "$v0" ] || fail "h$h table version $(version $h), was $v0"
	n=$(grep -c "rejected a message\|COMMIT no-such-vm from node 2 rejected" "$L/h$h/fenced.log" || true)
	[ "$n" -ge 4 ] || fail "h$h logged $n rejections, expected 4: $(grep rejected "$L/h$h/fenced.log")"
done
log "4 corrupted CPG messages rejected and logged on every host; table version still $v0"

# well-formed CPG messages that break an invariant, from a member (h2) that
# is not the coordinator: FENCED for a member, FENCED for itself, a TABLE
# when none is due; the coordinator's own fencing of a member is
# test_lab_fence_tandem_destroys_a_live_hosts_vms (the twin), a donor's
# TABLE the cold starts of test_lab_restarts_never_lose_or_double_a_vm
"$LAB" exec "$L" 2 "$BUILD/tests/cpgsend" fenced 3 >/dev/null
"$LAB" exec "$L" 2 "$BUILD/tests/cpgsend" fenced 2 >/dev/null
"$LAB" exec "$L" 2 "$BUILD/tests/cpgsend" table >/dev/null
for h in 1 2 3; do until_status $h '"members":[1,2,3],"table":"synced"'; done
for h in 1 2 3; do
	f=$L/h$h/fenced.log
	grep -q "FENCED  from node 2 rejected: node 3 is a member: only the coordinator (node 1)" "$f" ||
		fail "h$h took a member's FENCED from node 2: $(grep FENCED "$f" | tail -2)"
	grep -q "FENCED  from node 2 rejected: node 2 cannot report itself fenced" "$f" ||
		fail "h$h took node 2's FENCED of itself: $(grep FENCED "$f" | tail -2)"
	grep -q "sync: TABLE from node 2 refused: no table is due" "$f" ||
		fail "h$h did not refuse the TABLE: $(grep TABLE "$f" | tail -2)"
	[ "$(version $h)" = "$v0" ] || fail "h$h table version $(version $h), was $v0"
done
t 1 --json status | grep -q '"name":"h3","[^}]*"status":"up"' || fail "h3 is not up: $(t 1 --json status)"
log "FENCED of a member and of itself from a non-coordinator, and a TABLE nobody asked for: refused on every host; table version still $v0"

G=$BUILD/hypervisor/guest/guest.elf
t 1 vm create g --mem 128M --kernel "$G" --cmdline "dirty=5000 wss=96 heartbeat=100" >/dev/null
for _ in $(seq 50); do grep -q READY "$L/h1/hvd/console/g.log" 2>/dev/null && break; sleep 0.1; done
out=$(t 1 --json migrate g 10.77.0.2)
echo "$out" | grep -q '"result":"ok"' || fail "migration over the lab network: $out"
[ "$(vms_of 3 | grep '^g ')" = "g 2 2 running" ] || fail "table after migration: $(vms_of 3)"
integ=$(t 2 vm console g --send i --wait 4000 | grep -m1 INTEGRITY)
case "$integ" in "INTEGRITY OK"*) ;; *) fail "g on h2: ${integ:-no integrity line}" ;; esac
log "g migrated h1 -> h2 through the table (owner 2, generation 2, on every host): $integ"

for v in p1 p2; do t 3 vm create $v --mem 64M --kernel "$G" --cmdline "heartbeat=100" >/dev/null; done
probe_start
t0=$(now_ms)
"$LAB" partition "$L" "1,2|3"
AVOID=3 ms=$(wait_owned 1 20 p1 p2)
sleep 0.5
res=$(probe_stop)
log "partition {1,2}|{3}: p1, p2 running on the majority after $ms ms; probe: $res"
case "$res" in "0 double runs"*) ;; *) fail "probe: $res" ;; esac
grep -q "self-fence: inquorate for 400 ms: destroyed 2 domains" "$L/h3/fenced.log" ||
	fail "h3 did not self-fence: $(grep self-fence "$L/h3/fenced.log")"
hist=$(t 1 fence history)
echo "$hist" | grep -q "h3 .*fence_lab .*ok" || fail "fence history: $hist"
grep -q "level 1 fence_tandem failed" "$L/h1/fenced.log" "$L/h2/fenced.log" || fail "fence_tandem was not tried first"
log "h3 self-fenced its VMs, then was fenced: $(echo "$hist" | grep fence_lab | awk '{print $5, $6, $7, $8, $9}')"
[ "$(vms_of 1)" = "$(vms_of 2)" ] || fail "tables differ: h1 $(vms_of 1) / h2 $(vms_of 2)"

"$LAB" heal "$L"
"$LAB" boot "$L" 3
for h in 1 2 3; do until_status $h '"members":[1,2,3],"table":"synced"'; done
[ "$(vms_of 3)" = "$(vms_of 1)" ] || fail "h3 after rejoin: $(vms_of 3) / h1 $(vms_of 1)"
[ -z "$(running_on 3)" ] || fail "h3 runs $(running_on 3) after rejoin"
log "h3 booted, rejoined, got the table (version $(version 3)) and runs nothing"

lg=$(ledger_check) || exit 1
log "ledger: $lg"
pids=$(cat "$L"/h*/*.pid)
"$LAB" down "$L"
ip netns list | grep -q "^$prefix-" && fail "namespaces left: $(ip netns list | grep "^$prefix-")"
for p in $pids; do
	alive "$p" && fail "process $p left"
	ls /dev/shm | grep -q -- "-$p-" && fail "/dev/shm files of $p left"
done
[ ! -e "$L" ] || fail "$L left"
log "down: no namespace, process, /dev/shm file or directory left"
