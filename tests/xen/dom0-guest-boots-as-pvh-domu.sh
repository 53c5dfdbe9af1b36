#!/bin/sh
# Runs in the Xen tier's dom0 (xen-tier.sh run), with guest.elf beside it:
# the workload guest, the very ELF hvd boots, boots unchanged as a Xen PVH
# domU. Its console is Xen's debug port, which Xen prints as "(dN) ..."
# lines (xl dmesg). It must print its banner, beat, pass its integrity
# sweeps while dirtying memory, stand still while paused and go on after.
. /mnt/host/dom0-lib.sh
lines() { xl dmesg | grep -c "(d[0-9]*) $1"; }
xl info | grep -E "^(xen_version|virt_caps)"
t0=$(cut -d. -f1 /proc/uptime)
pvh_guest tg 1 "heartbeat=250 dirty=500 wss=8 integrity=3"
for _ in $(seq 300); do [ "$(lines 'INTEGRITY OK')" -ge 2 ] && break; sleep 1; done
xl dmesg | grep "(d[0-9]*)" | head -3
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
xl destroy tg || fail "xl destroy"
echo "RESULT PASS"
