#!/bin/bash
# Runs in the Xen tier's dom0 with a lab tree beside it (tree/build: the
# daemons, tandem, guest.elf; tree/src: lab.sh, labtest.sh, tandem-ca): a
# three-host cluster on one real Xen, each host a network namespace with
# its own corosync (authenticated), fenced, migrated and remusd on the Xen
# backend xen:hN, which sees only the domains hN made (lab.sh LAB_HV=xen).
#
# A VM created through the cluster (`tandem vm create`: the table claims
# it, fenced on h1 starts it with libxl) is protected to h2.  Then h1 loses
# its power (its domain stops, its daemons die).  Its fence level is a
# power switch that does not answer at first: for 15 s every fence fails,
# and all that time the shadow stays paused and no copy of the VM runs
# anywhere (no takeover without a confirmed fence), nor does a second VM of
# h1's with the restart policy.  Then the switch answers: the fence is
# confirmed, h2's remusd resumes the shadow, and the VM runs once, on h2,
# from its last acknowledged epoch (its heartbeat resumes no later than the
# dead copy's last and no earlier than where it stood two achieved epochs
# before the power-off began: the last acknowledged epoch's pause came at
# most an interval and a send before it; integrity sweeps pass); the table gives it to h2, and h2 protects it
# again, to h3, by itself; the other VM boots again, once, on h2 or h3.
. /mnt/host/tree/src/tests/lab/labtest.sh
. /mnt/host/dom0-lib.sh
export BUILD=$D/tree/build SRC=$D/tree/src TANDEM=$D/tree/build/tandem
export TANDEM_XEN_TSC_MODE=native	# (pvh_guest's tsc_mode, for the domains the cluster makes)
L=/tmp/lab
FAIL_LOGS="$L/h1/fenced.log $L/h2/fenced.log $L/h2/remusd.log $L/h1/remusd.log $L/h3/fenced.log"
# host_of NAME: the xen:TAG host the domain NAME is on
host_of() { xenstore-read "/local/domain/$(xl domid "$1" 2>/dev/null)/tandem-host" 2>/dev/null; }
cleanup() { kill "$DRAIN" 2>/dev/null; "$LAB" down "$L" 2>/dev/null; }
console_drain
trap cleanup EXIT

# h1's power switch: it does not answer until /tmp/switch.up exists
cat >/tmp/fence_gate <<EOF
#!/bin/sh
in=\$(cat)
[ -f /tmp/switch.up ] || { echo "fence_gate: the power switch does not answer" >&2; exit 1; }
printf '%s\n' "\$in" | exec $SRC/tests/lab/fence_lab
EOF
chmod 755 /tmp/fence_gate
# corosync's default timers (TCG is slow); no fenced heartbeats: only
# corosync's view says who is gone
t0=$(now_ms)
out=$(LAB_HV=xen LAB_TIMERS=default LAB_HEARTBEAT=off LAB_SELF_FENCE=5000 \
	LAB_FENCE_LEVELS="fence-level 1 /tmp/fence_gate labdir=$L" "$LAB" up "$L" 3 2>&1) ||
	fail "lab up: $out"
synced_all
echo "RESULT lab: 3 hosts (corosync, fenced, migrated, remusd each, on xen:h1..h3) quorate and synced in $(( $(now_ms) - t0 )) ms"

out=$(t 1 vm create tc --mem 64M --vcpus 1 --kernel "$BUILD/hypervisor/guest/guest.elf" \
	--cmdline "heartbeat=300 dirty=500 wss=8 integrity=2" 2>&1) || fail "vm create: $out"
for _ in $(seq 60); do [ "$(xl_state tc)" != "" ] && guest | grep -q "^HB 3 " && break; sleep 1; done
old=$(xl domid tc 2>/dev/null) || fail "no domain tc after vm create: $out"
[ "$(xenstore-read /local/domain/$old/tandem-host)" = h1 ] || fail "tc is not h1's"
vms_of 2 | grep -q "^tc 1 [0-9]* running$" || fail "the table does not give tc to h1: $(vms_of 2)"
[ -z "$(t 2 vm list 2>/dev/null | grep -w tc)" ] || fail "h2's backend sees h1's tc"
out=$(t 1 vm create tr --mem 64M --vcpus 1 --kernel "$BUILD/hypervisor/guest/guest.elf" \
	--cmdline "heartbeat=1000 dirty=50 wss=1" 2>&1) || fail "vm create tr: $out"
for _ in $(seq 60); do runs tr && break; sleep 1; done
tr_old=$(xl domid tr 2>/dev/null) || fail "no domain tr after vm create: $out"
[ "$(host_of tr)" = h1 ] || fail "tr is not h1's"
echo "RESULT vm create through the cluster: tc (domain $old, protected next) and tr (domain $tr_old, restart policy) run on h1, the table agrees on h2"

out=$(timeout 120 "$TANDEM" --host xen:h1 --fenced "$L/h1/fenced.sock" --remusd "$L/h1/remus.sock" \
	--json protect tc --backup h2 --epoch 200 2>&1) ||
	fail "protect: $out"
out=$(wait_protected 1 60 tc) || fail "$out"
e0=$(prot epoch tc "$L/h1/remus.sock")
for _ in $(seq 120); do [ "$(prot epoch tc "$L/h1/remus.sock")" -ge $((e0 + 20)) ] && break; sleep 0.5; done
e1=$(prot epoch tc "$L/h1/remus.sock")
[ "$e1" -ge $((e0 + 20)) ] || fail "epochs stalled at $e1"
[ "$(backup_of 3 tc)" = h2 ] || fail "the table on h3 does not name h2 as tc's backup"
case $(xl_state tc--incoming) in *p*) ;; *) fail "no paused shadow on h2: $(xl list | tr '\n' ';')" ;; esac
sweeps 1
echo "RESULT protected h1 -> h2: epoch $e1, epoch ms $(prot epoch_ms tc "$L/h1/remus.sock"), pause ms $(prot pause_ms tc "$L/h1/remus.sock"); the table on h3 names h2"

# the last acknowledged epoch is at most two achieved epochs old now: the
# beats (300 ms) the shadow may be behind the heartbeat seen now
ems=$(prot epoch_ms tc "$L/h1/remus.sock")
back=$(awk -v e="$ems" 'BEGIN{k = 2 * e / 300; printf "%d", (k == int(k) ? k : int(k) + 1) + 1}')
before=$(hbs "$old" | tail -1)
"$LAB" poweroff "$L" 1 || fail "powering h1 off failed"
t_off=$(now_ms)
last=$(hbs "$old" | tail -1)
# the switch does not answer: fencing fails, again and again; nothing runs
for _ in $(seq 15); do
	case $(xl_state tc)$(xl_state tr) in ?*) fail "tc or tr runs while h1 is not fenced: $(xl list | tr '\n' ';')" ;; esac
	case $(xl_state tc--incoming) in *p*) ;; *) fail "the shadow is not paused: $(xl list | tr '\n' ';')" ;; esac
	sleep 1
done
fails=$(t 2 fence history 2>/dev/null | grep -c " h1 .*FAILED" || true)
[ "$fails" -ge 1 ] || fail "no failed fence of h1 in the history: $(t 2 fence history 2>&1 | tail -3)"
echo "RESULT h1 powered off, its switch silent: for 15 s the shadow stays paused, tc and tr run nowhere ($fails failed fences of h1)"

touch /tmp/switch.up
t_up=$(now_ms)
# (once seen running: a protected VM is paused for a moment at every epoch)
ok=0
for _ in $(seq 120); do runs tc && { ok=1; break; }; sleep 0.5; done
[ $ok = 1 ] || fail "tc does not run after the fence: $(xl list | tr '\n' ';')"
ms=$(( $(now_ms) - t_up ))
new=$(xl domid tc)
[ "$(xenstore-read /local/domain/$new/tandem-host)" = h2 ] || fail "the running tc is not h2's"
[ "$(xl list | awk '$1 == "tc"' | wc -l)" = 1 ] || fail "tc is listed twice"
grep -q "tc (backup): failing-over -> taken-over" "$L/h2/remusd.log" || fail "h2's remusd did not take tc over"
for _ in $(seq 100); do vms_of 2 | grep -q "^tc 2 [0-9]* running$" && break; sleep 0.2; done
vms_of 2 | grep -q "^tc 2 [0-9]* running$" || fail "the table does not give tc to h2: $(vms_of 2)"
for _ in $(seq 60); do [ -n "$(hbs "$new" | head -1)" ] && break; sleep 0.5; done
first=$(hbs "$new" | head -1)
[ -n "$first" ] && [ "$first" -le $((last + 1)) ] && [ "$first" -ge $((before - back)) ] ||
	fail "tc's heartbeat resumed at '$first': the dead copy's was $before at the power-off ($back beats allowed back), its last $last"
sweeps 1
echo "RESULT switch answers: fence confirmed, tc runs once, on h2 (domain $new), $ms ms after (total $(( $(now_ms) - t_off )) ms after the power-off); heartbeat $before at the power-off, $last the dead copy's last -> $first, integrity OK"

ok=0
for _ in $(seq 60); do runs tr && { ok=1; break; }; sleep 1; done
[ $ok = 1 ] || fail "tr was not restarted after the fence: $(xl list | tr '\n' ';')"
[ "$(xl list | awk '$1 == "tr"' | wc -l)" = 1 ] || fail "tr is listed twice"
tr_on=$(host_of tr)
case $tr_on in h2|h3) ;; *) fail "tr runs on '$tr_on'" ;; esac
for _ in $(seq 100); do vms_of 2 | grep -q "^tr ${tr_on#h} [0-9]* running$" && break; sleep 0.2; done
vms_of 2 | grep -q "^tr ${tr_on#h} [0-9]* running$" || fail "the table does not give tr to $tr_on: $(vms_of 2)"
tr_new=$(xl domid tr)
for _ in $(seq 60); do con_take; grep -q "^(d$tr_new) .*READY" $CON && break; sleep 1; done
grep -q "^(d$tr_new) .*READY" $CON || fail "the restarted tr (domain $tr_new) never said READY"
echo "RESULT tr (restart policy) restarted by the cluster on $tr_on (domain $tr_new, booted afresh), once"

out=$(wait_protected 2 120 tc) || fail "$out"
[ "$(backup_of 2 tc)" = h3 ] || fail "h2 protects tc, but not to h3: $(backup_of 2 tc)"
case $(xl_state tc--incoming) in *p*) ;; *) fail "no paused shadow on h3: $(xl list | tr '\n' ';')" ;; esac
r=$(hbs "$new" | awk 'NR > 1 && $1 != p + 1 { print "gap " p " -> " $1; bad = 1 } { p = $1 } END { exit bad }') ||
	fail "the survivor's heartbeat: $r"
echo "RESULT h2 protects tc again, to h3, by itself; $(t 2 fence history | grep -c " h1 .* ok ") confirmed fence(s) of h1"
echo "RESULT PASS"
