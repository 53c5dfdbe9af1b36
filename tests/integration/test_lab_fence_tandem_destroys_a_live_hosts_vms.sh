#!/bin/bash
# The success twin of "fence_tandem cannot reach a cut-off host": on a lab
# whose only fence level is fence_tandem, `tandem fence h2` with h2 up and
# running VMs destroys every domain on h2 through its migrated (mutual TLS),
# the fence history records fence_tandem ok, the VMs with the restart policy
# run again on h1 or h3 and the one without is stopped.  The run ledger of
# every host shows no VM ever running on two hosts at once.  h2 stays a
# member with status "fenced" until it rejoins.
set -eu
. "$(dirname "$0")/../lab/labtest.sh"
lab_test_setup
export LAB_FENCE_LEVELS="fence-level 1 $BUILD/fencing/fence_tandem ip=%a cert=$L/ca/fence.crt key=$L/ca/fence.key ca=$L/ca/ca.crt timeout=1000"
LAB_TIMERS=fast "$LAB" up "$L" 3
for h in 1 2 3; do until_status $h '"members":[1,2,3],"table":"synced"'; done
G=$BUILD/hypervisor/guest/guest.elf
for v in f1 f2; do t 2 vm create $v --mem 64M --kernel "$G" --cmdline "heartbeat=100" >/dev/null; done
t 2 vm create f3 --mem 64M --kernel "$G" --cmdline "heartbeat=100" --policy none >/dev/null
for v in f1 f2 f3; do
	for _ in $(seq 50); do running_on 2 | grep -qx $v && break; sleep 0.1; done
	running_on 2 | grep -qx $v || fail "$v does not run on h2"
done
out=$(t 1 fence h2 2>&1) || fail "tandem fence h2: $out"
echo "$out" | grep -q "fence_tandem" || fail "fence h2: $out"
log "tandem fence h2: $out"
AVOID="2" ms=$(wait_owned 1 20 f1 f2)
[ -z "$(running_on 2)" ] || fail "h2 still runs $(running_on 2)"
grep -q "FENCE from .*destroyed 3 domains" "$L/h2/migrated.log" || fail "h2's migrated: $(grep FENCE "$L/h2/migrated.log")"
hist=$(t 3 fence history)
echo "$hist" | grep -q "h2 .*fence_tandem .*ok" || fail "history: $hist"
for _ in $(seq 50); do vms_of 1 | grep -q "^f3 2 1 stopped$" && break; sleep 0.1; done
vms_of 1 | grep -q "^f3 2 1 stopped$" || fail "f3: $(vms_of 1)"
# still a member, but fenced: it takes no VM until it leaves and rejoins (a reboot)
until_status 3 '"name":"h2","address":"10.77.0.2","status":"fenced"'
lg=$(ledger_check f1 f2) || exit 1
res=$lg
log "h2's 3 domains destroyed by fence_tandem; f1, f2 running again on h1/h3 after $ms ms, f3 stopped; history: $(echo "$hist" | grep h2 | head -1 | tr -s ' ')"
log "ledger: $res"
