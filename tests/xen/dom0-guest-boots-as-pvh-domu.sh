#!/bin/sh
# Runs in the Xen tier's dom0 (xen-tier.sh run), with guest.elf beside it:
# the workload guest, the very ELF hvd boots, boots unchanged as a Xen PVH
# domU. Its console is Xen's debug port, which Xen prints as "(dN) ..."
# lines (xl dmesg). It must print its banner, beat, pass its integrity
# sweeps while dirtying memory, stand still while paused and go on after.
# It answers the toolstack through xenstore as a PVH guest must: xl save
# suspends it (control/shutdown "suspend"), xl restore brings it back in a
# new domain where it beats on with its memory whole, and xl shutdown
# (control/shutdown "poweroff") ends it.
. /mnt/host/dom0-lib.sh
console_drain	# Xen's ring fills: its lines gather in $CON
lines() { guest | grep -c "^$1"; }	# the guest lines that begin so
xl info | grep -E "^(xen_version|virt_caps)"
t0=$(cut -d. -f1 /proc/uptime)
pvh_guest tg 1 "heartbeat=250 dirty=500 wss=8 integrity=3"
for _ in $(seq 300); do [ "$(lines 'INTEGRITY OK')" -ge 2 ] && break; sleep 1; done
grep "(d[0-9]*)" $CON | head -3
[ "$(lines 'tandem-guest: ram=')" -ge 1 ] || fail "no banner from the guest"
[ "$(lines 'INTEGRITY OK')" -ge 2 ] || fail "fewer than two integrity sweeps"
[ "$(lines 'INTEGRITY FAIL')" = 0 ] || fail "an integrity sweep failed"
echo "RESULT booted: banner, $(lines 'HB ') heartbeats, $(lines 'INTEGRITY OK') sweeps OK in $(( $(cut -d. -f1 /proc/uptime) - t0 )) s"
xl pause tg || fail "xl pause"
sleep 1	# what it wrote before the pause has reached Xen's console
a=$(lines 'HB ')
sleep 5
b=$(lines 'HB ')
[ "$a" = "$b" ] || fail "it beat while paused ($a -> $b)"
xl unpause tg || fail "xl unpause"
for _ in $(seq 60); do [ "$(lines 'HB ')" -gt "$b" ] && break; sleep 1; done
[ "$(lines 'HB ')" -gt "$b" ] || fail "no heartbeat after the unpause"
echo "RESULT paused: no heartbeat in 5 s; unpaused: it beats again"
n=$(lines 'HB ')
t0=$(date +%s%N)
timeout 120 xl save tg /tmp/tg.save >/tmp/save.out 2>&1 || fail "xl save: $(tail -3 /tmp/save.out)"
t1=$(date +%s%N)
[ -z "$(xl_state tg)" ] || fail "tg still listed after xl save"
timeout 120 xl restore /tmp/tg.save >/tmp/restore.out 2>&1 || fail "xl restore: $(tail -3 /tmp/restore.out)"
t2=$(date +%s%N)
for _ in $(seq 60); do [ "$(lines 'RESUMED after a suspend')" -ge 1 ] && break; sleep 1; done
[ "$(lines 'RESUMED after a suspend (new domain)')" = 1 ] || fail "the guest did not say it resumed in a new domain"
k=$(lines 'INTEGRITY OK')
for _ in $(seq 60); do [ "$(lines 'INTEGRITY OK')" -gt "$k" ] && break; sleep 1; done
[ "$(lines 'INTEGRITY OK')" -gt "$k" ] || fail "no integrity sweep after the restore"
[ "$(lines 'INTEGRITY FAIL')" = 0 ] || fail "an integrity sweep failed after the restore"
[ "$(lines 'HB ')" -gt "$n" ] || fail "no heartbeat after the restore"
r=$(beats) || fail "heartbeat across the save and restore: $r"
echo "RESULT xl save (suspended through xenstore) $(( (t1 - t0) / 1000000 )) ms, xl restore $(( (t2 - t1) / 1000000 )) ms: it beats on ($r), integrity OK"
t0=$(date +%s%N)
timeout 60 xl shutdown -w tg >/tmp/shutdown.out 2>&1 || { xl destroy tg; fail "xl shutdown: $(tail -3 /tmp/shutdown.out)"; }
[ -z "$(xl_state tg)" ] || fail "tg still listed after xl shutdown"
[ "$(lines 'tandem-guest: powering off as xenstore asks')" = 1 ] || fail "the guest did not say it powered off"
echo "RESULT xl shutdown: it powered off as asked in $(( ($(date +%s%N) - t0) / 1000000 )) ms"
echo "RESULT PASS"
