#!/bin/sh
# Runs in the Xen tier's dom0 with tandem, migrated, guest.elf, vmlinux and
# an initramfs whose init only waits (for the PV guest), a
# test CA's files and libevent beside it: what Xen may hand a migration
# that it cannot finish, each refused with the reason and leaving exactly
# what was there, beside its twin that succeeds.
# - A PV guest (dom0's own kernel booted as a PV domU): the backend moves
#   PVH guests only (and this hypervisor has no shadow paging for a PV
#   guest's log-dirty), and the migration says the guest cannot be
#   live-migrated here; the guest runs on, no incoming copy is left. Its
#   twin: a PVH guest migrates.
# - A domain destroyed mid-migration (xl destroy while the source is held
#   in round 0): the migration fails saying the domain is gone, and no copy
#   of it is left on either side. Its twin: the same hold, no destroy, and
#   the migration completes.
. /mnt/host/dom0-lib.sh
T=$D/tandem
console_drain
# the source holds for 4 s after round 0's first 1024 pages
TANDEM_STALL=send-round0 TANDEM_STALL_MS=4000 start_migrateds
gone() {	# gone NAME: no domain NAME nor a copy of it, but dying ones
	for _ in $(seq 20); do
		xl list 2>/dev/null | awk -v n="$1" '($1 == n || index($1, n "--") == 1) && $5 !~ /d/ {b = 1} END {exit !b}' ||
			return 0
		sleep 0.5
	done
	fail "$1 or a copy of it is left: $(xl list | tr '\n\t' '; ')"
}

cat >/tmp/pv.cfg <<CFG
name = "pv"
type = "pv"
kernel = "$D/vmlinux"
ramdisk = "$D/pv-initrd.cpio"
extra = "console=hvc0 panic=0 loglevel=1"
memory = 128
vcpus = 1
on_crash = "preserve"
on_reboot = "preserve"
CFG
xl create /tmp/pv.cfg >/dev/null 2>&1 || fail "xl create pv"
for _ in $(seq 30); do case $(xl_state pv) in *b*) break ;; esac; sleep 1; done	# booted, waiting
err=$($T --migrated /run/a.mig migrate pv 127.0.0.1:7102 2>&1) && fail "a PV guest was migrated: $err"
echo "$err" | grep -q "cannot be live-migrated on this hypervisor" || fail "a PV guest's refusal does not say why: $err"
case $(xl_state pv) in *r* | *b*) ;; *) fail "the PV guest is not running after the refusal: $(xl_state pv)" ;; esac
xl list | grep -q -- "pv--" && fail "a copy of the PV guest is left: $(xl list | tr '\n\t' '; ')"
echo "RESULT a PV guest: $(echo "$err" | head -1 | cut -c1-240); it runs on, no copy left"
xl destroy pv

pvh_guest tv 1 "heartbeat=300 dirty=500 wss=8 integrity=2"
for _ in $(seq 60); do guest | grep -q "^HB 2 " && break; sleep 1; done
res=$($T --migrated /run/a.mig --json migrate tv 127.0.0.1:7102 --downtime 50 2>&1) ||
	{ tail -20 /tmp/a.log /tmp/b.log; fail "the twin migration: $res"; }
one tv
sweeps 1
r=$(beats) || fail "after the held migration: $r"
echo "RESULT its twin, a PVH guest held in round 0 for 4 s: migrated, one copy runs, $r"

$T --migrated /run/b.mig migrate tv 127.0.0.1:7101 >/tmp/vanish.out 2>&1 &
mig=$!
for _ in $(seq 40); do grep -q "stalling at send-round0" /tmp/b.log && break; sleep 0.25; done
grep -q "stalling at send-round0" /tmp/b.log || fail "the source never held in round 0"
xl destroy tv || fail "xl destroy"
wait $mig && fail "a migration of a destroyed domain succeeded: $(cat /tmp/vanish.out)"
# (by its id, while our mapping holds it dying: "is gone"; by its name, once
# xl has taken that away: "no domain named")
grep -Eq "tv is gone|no domain named tv" /tmp/vanish.out && grep -q "the VM is gone from this host" /tmp/vanish.out ||
	fail "the failure does not say the domain is gone: $(cat /tmp/vanish.out)"
gone tv
echo "RESULT a domain destroyed mid-migration: $(head -1 /tmp/vanish.out | cut -c1-160); no copy left"
echo "RESULT PASS"
