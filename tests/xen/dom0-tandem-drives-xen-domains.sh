#!/bin/sh
# Runs in the Xen tier's dom0 with tandem and guest.elf beside it: the CLI
# on the Xen backend (--host xen:) sees, pauses, unpauses and destroys a
# domU that xl created, and creates one itself (libxl), each step checked
# against xl's own view; what the backend cannot do yet, and what is wrong,
# it says plainly and leaves nothing behind.
. /mnt/host/dom0-lib.sh
T=$D/tandem
pvh_guest tg 2 "heartbeat=500 dirty=100 wss=4"
out=$($T --host xen: vm list) || fail "vm list: $out"
echo "$out" | grep -q "^tg " || fail "vm list does not show tg: $out"
echo "$out" | grep -q "Domain-0" && fail "vm list shows Domain-0: $out"
info=$($T --host xen: --json vm info tg) || fail "vm info: $info"
echo "$info" | grep -q '"state":"running"' || fail "tg is not running per tandem: $info"
echo "$info" | grep -q '"vcpus":2' || fail "tg's vCPUs per tandem: $info"
echo "$info" | grep -q "\"uuid\":\"$(uuidof tg)\"" || fail "tg's UUID per tandem is not xl's $(uuidof tg): $info"
echo "RESULT list and info: $(echo "$out" | grep '^tg ')"
$T --host xen: vm pause tg >/dev/null || fail "vm pause"
case $(xl_state tg) in *p*) ;; *) fail "xl says tg is '$(xl_state tg)' after tandem paused it" ;; esac
$T --host xen: --json vm info tg | grep -q '"state":"paused"' || fail "tandem does not see tg paused"
err=$($T --host xen: vm pause tg 2>&1) && fail "pausing a paused domain succeeded"
echo "$err" | grep -q "not running" || fail "pausing a paused domain: $err"
$T --host xen: vm unpause tg >/dev/null || fail "vm unpause"
case $(xl_state tg) in *p*) fail "xl says tg is still paused" ;; esac
echo "RESULT pause and unpause agree with xl; a second pause: $err"
err=$($T --host xen: vm info nosuch 2>&1) && fail "info of a domain that does not exist"
echo "$err" | grep -q "no domain named nosuch" || fail "unclear: $err"
export TANDEM_XEN_TSC_MODE=native	# (pvh_guest's tsc_mode)
out=$($T --host xen: vm create tn --mem 64M --vcpus 1 --kernel $D/guest.elf \
	--cmdline "heartbeat=300 dirty=100 wss=4" 2>&1) || fail "vm create: $out"
runs tn || fail "xl says tn is '$(xl_state tn)' after tandem created it"
[ "$(xl list tn | awk 'NR == 2 {print $3}')" = 64 ] || fail "tn's memory per xl: $(xl list tn)"
id=$(xl domid tn)
for _ in $(seq 30); do xl dmesg | grep -q "(d$id) HB 2 " && break; sleep 1; done
xl dmesg | grep -q "(d$id) HB 2 " || fail "tn does not beat"
echo "RESULT vm create: tn (domain $id) runs and beats, 64 MiB per xl"
err=$($T --host xen: vm create tn --mem 64M --kernel $D/guest.elf 2>&1) && fail "a second tn was created"
echo "$err" | grep -q "a domain called tn exists already" || fail "unclear: $err"
err2=$($T --host xen: vm create tm --mem 64M --kernel /nonexistent.elf 2>&1) && fail "vm create without a kernel"
[ -z "$(xl_state tm)" ] || fail "a failed create left tm: $(xl list | tr '\n' ';')"
err4=$($T --host xen: vm create tm --mem 64M --kernel /etc/hostname 2>&1) && fail "vm create from a file that is no kernel"
echo "$err4" | grep -q "creating tm from /etc/hostname: building it: libxl: " || fail "unclear: $err4"
[ -z "$(xl_state tm)" ] || fail "a failed create left tm: $(xl list | tr '\n' ';')"
err3=$($T --host xen: vm create tm --mem 64M --kernel $D/guest.elf --net br0 2>&1) && fail "vm create with a NIC"
echo "$err3" | grep -q "not supported on the Xen backend yet" || fail "unclear: $err3"
[ -z "$(xl_state tm)" ] || fail "a refused create left tm"
$T --host xen: vm destroy tn >/dev/null || fail "vm destroy tn"
echo "RESULT refused plainly, nothing left: $err | $(echo "$err2" | tail -1) | $(echo "$err4" | tail -1) | $err3"
$T --host xen: vm destroy tg >/dev/null || fail "vm destroy"
for _ in $(seq 20); do [ -z "$(xl_state tg)" ] && break; sleep 0.5; done
[ -z "$(xl_state tg)" ] || fail "tg still exists after vm destroy"
echo "RESULT PASS"
