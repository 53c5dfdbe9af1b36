#!/bin/bash
# A migration whose source host is powered off right after the commit point
# (the table's generation bump), and one whose destination is powered off
# right before it: each time the table and the hosts agree on exactly one
# running copy, and a probe sampling every hvd never sees two.
#  - source off after commit: the destination, in doubt, asks the table,
#    finds it owns the VM and runs it; the fenced source's VMs are not
#    restarted elsewhere (the VM is no longer the source's).
#  - destination off before commit: the commit is refused (the destination
#    is lost), the source resumes the VM, the table still gives it to the
#    source.
set -eu
. "$(dirname "$0")/../lab/labtest.sh"
lab_test_setup
stalled() {	# stalled H POINT: until host H's migrated stalls at POINT
	for _ in $(seq 200); do
		grep -q "stalling at $2" "$L/h$1/migrated.log" 2>/dev/null && return 0
		sleep 0.05
	done
	fail "h$1 never stalled at $2"
}
TANDEM_STALL=send-ready,send-handed TANDEM_STALL_MS=4000 LAB_TIMERS=fast "$LAB" up "$L" 3
for h in 1 2 3; do until_status $h '"members":[1,2,3],"table":"synced"'; done
G=$BUILD/hypervisor/guest/guest.elf
for v in a b; do t 1 vm create $v --mem 64M --kernel "$G" --cmdline "dirty=2000 wss=32 heartbeat=100" >/dev/null; done
for v in a b; do for _ in $(seq 50); do grep -q READY "$L/h1/hvd/console/$v.log" 2>/dev/null && break; sleep 0.1; done; done

# 1. source h1 powered off right after the commit point of a -> h2
probe_start
t 1 migrate a 10.77.0.2 >/dev/null 2>&1 &
stalled 1 send-handed
grep -q "table: COMMIT a from node 1 -> owner 2, generation 2" "$L/h2/fenced.log" || fail "no commit in h2's table"
"$LAB" poweroff "$L" 1
AVOID="1" ms=$(wait_owned 2 30 a b)
for _ in $(seq 100); do running_on 2 | grep -qx a && break; sleep 0.1; done
running_on 2 | grep -qx a || fail "a does not run on h2: $(grep "migration a" "$L/h2/migrated.log" | tail -3)"
vms_of 2 | grep -q "^a 2 2 running$" || fail "table: $(vms_of 2)"
vms_of 2 | grep -q "^b 3 2 running$\|^b 2 2 running$" || fail "b was not restarted: $(vms_of 2)"
integ=$(t 2 vm console a --send i --wait 4000 | grep -m1 INTEGRITY)
case "$integ" in "INTEGRITY OK"*) ;; *) fail "a on h2: ${integ:-no integrity line}" ;; esac
res=$(probe_stop)
case "$res" in "0 double runs"*) ;; *) fail "probe: $res" ;; esac
log "source off after commit: a runs on h2 (owner 2, generation 2, $integ); b restarted; probe: $res"
"$LAB" boot "$L" 1
for h in 1 2 3; do until_status $h '"members":[1,2,3],"table":"synced"'; done

# 2. destination h3 powered off right before the commit of a: h2 -> h3
probe_start
t 2 migrate a 10.77.0.3 >/dev/null 2>&1 &
stalled 2 send-ready
"$LAB" poweroff "$L" 3
for _ in $(seq 200); do grep -q "migration a: .*\(failed\|keeps running\)" "$L/h2/migrated.log" && break; sleep 0.1; done
sleep 0.5
running_on 2 | grep -qx a || fail "a does not run on h2 after the failed commit: $(grep "a" "$L/h2/migrated.log" | tail -4)"
vms_of 2 | grep -q "^a 2 2 running$" || fail "table: $(vms_of 2)"
grep -q "table: COMMIT a from node 2 rejected\|COMMIT a .*rejected" "$L/h2/fenced.log" || log "(the commit was not even sent: $(grep 'migration a' "$L/h2/migrated.log" | tail -1))"
res=$(probe_stop)
case "$res" in "0 double runs"*) ;; *) fail "probe: $res" ;; esac
integ=$(t 2 vm console a --send i --wait 4000 | grep -m1 INTEGRITY)
case "$integ" in "INTEGRITY OK"*) ;; *) fail "a on h2: ${integ:-no integrity line}" ;; esac
[ "$(vms_of 1)" = "$(vms_of 2)" ] || fail "tables differ: h1 $(vms_of 1) / h2 $(vms_of 2)"
log "destination off before commit: a resumed on h2 (owner 2, generation 2, $integ); probe: $res"
lg=$(ledger_check a) || exit 1
log "ledger: $lg"
