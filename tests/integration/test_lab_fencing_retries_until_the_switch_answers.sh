#!/bin/bash
# A host whose power switch does not answer at first is fenced as soon as
# it answers, however many tries failed before: fenced's coordinator tries
# a failed fence again every 3 s on its own timer, with nothing else
# happening in the cluster (no fenced heartbeats, no membership change).
#  - h1 runs a VM with the restart policy and is powered off; its only
#    fence level is a switch that fails while $A/closed exists: for 10 s
#    every fence fails (at least 3 in the history) and the VM runs nowhere;
#  - then the switch answers: h1 is fenced within one retry and the VM
#    runs again on h2 or h3, once.
set -eu
. "$(dirname "$0")/../lab/labtest.sh"
A=$(mktemp -d /tmp/tandem-agents.XXXXXX)
lab_test_setup 'rm -rf "$A"'
touch "$A/closed"
cat >"$A/fence_gate" <<EOF2
#!/bin/sh
in=\$(cat)
[ ! -f "$A/closed" ] || { echo "fence_gate: the power switch does not answer" >&2; exit 1; }
printf '%s\n' "\$in" | exec "$SRC/tests/lab/fence_lab"
EOF2
chmod +x "$A/fence_gate"
export LAB_FENCE_LEVELS="fence-level 1 $A/fence_gate labdir=$L"
LAB_HEARTBEAT=off LAB_TIMERS=fast "$LAB" up "$L" 3
synced_all
G=$BUILD/hypervisor/guest/guest.elf
small_vm 1 r1
wait_ready r1
"$LAB" poweroff "$L" 1
t_off=$(now_ms)
for _ in $(seq 100); do
	[ -z "$(running_on 2)$(running_on 3)" ] || fail "r1 runs before h1 is fenced: h2 '$(running_on 2)' h3 '$(running_on 3)'"
	sleep 0.1
done
failed=$(t 2 fence history | grep -c " h1 .*FAILED" || true)
[ "$failed" -ge 3 ] || fail "only $failed failed fences of h1 in 10 s: $(t 2 fence history)"
log "switch silent: $failed failed fences of h1 in 10 s, r1 runs nowhere"
rm "$A/closed"
t_up=$(now_ms)
AVOID=1 ms=$(wait_owned 2 15 r1)
[ "$(running_on 2)$(running_on 3)" = r1 ] || fail "r1 does not run once: h2 '$(running_on 2)' h3 '$(running_on 3)'"
t 2 fence history | grep -q " h1 .* ok " || fail "no confirmed fence of h1: $(t 2 fence history)"
log "switch answers: h1 fenced and r1 running again $ms ms later ($(( $(now_ms) - t_off )) ms after the power-off)"
ledger_check r1
