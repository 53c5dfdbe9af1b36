#!/bin/sh
# Runs in the Xen tier's dom0 with tandem and guest.elf beside it: the CLI
# on the Xen backend (--host xen:) sees, pauses, unpauses and destroys a
# domU that xl created, each step checked against xl's own view; what the
# backend cannot do yet, and what is wrong, it says plainly.
. /mnt/host/dom0-lib.sh
T=$D/tandem
pvh_guest tg 2 "heartbeat=500 dirty=100 wss=4"
out=$($T --host xen: vm list) || fail "vm list: $out"
echo "$out" | grep -q "^tg " || fail "vm list does not show tg: $out"
echo "$out" | grep -q "Domain-0" && fail "vm list shows Domain-0: $out"
info=$($T --host xen: --json vm info tg) || fail "vm info: $info"
echo "$info" | grep -q '"state":"running"' || fail "tg is not running per tandem: $info"
echo "$info" | grep -q '"vcpus":2' || fail "tg's vCPUs per tandem: $info"
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
err=$($T --host xen: vm create x --kernel /mnt/host/guest.elf 2>&1) && fail "vm create on xen"
echo "$err" | grep -q "not supported on the Xen backend yet" || fail "unclear: $err"
echo "RESULT refused plainly: $err"
$T --host xen: vm destroy tg >/dev/null || fail "vm destroy"
for _ in $(seq 20); do [ -z "$(xl_state tg)" ] && break; sleep 0.5; done
[ -z "$(xl_state tg)" ] || fail "tg still exists after vm destroy"
echo "RESULT PASS"
