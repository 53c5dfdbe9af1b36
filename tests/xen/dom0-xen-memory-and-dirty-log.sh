#!/bin/sh
# Runs in the Xen tier's dom0 with hvtool, ckpt-verify and guest.elf beside
# it: on a real Xen, through the Xen backend, a busy PVH domU's memory is
# mapped (foreign mappings) and its log-dirty (Xen's shadow CLEAN) misses no
# page the guest changed, round after round; a saved stream of it (its pages,
# its HVM context) is whole per ckpt-verify and names xen as its origin;
# saving pauses whose state (the HVM context) is loaded back, half a one
# refused first, leave it beating and whole (its integrity sweeps pass).
. /mnt/host/dom0-lib.sh
pvh_guest tg 1 "heartbeat=500 dirty=2000 wss=8 integrity=2"
ok() { xl dmesg | grep -c "(d[0-9]*) INTEGRITY OK"; }
for _ in $(seq 60); do xl dmesg | grep -q "(d[0-9]*) HB 2 " && break; sleep 1; done
out=$($D/hvtool -s xen: dirtycheck tg 5 300 2>&1) || fail "dirtycheck: $out"
echo "$out" | tail -1
echo "$out" | grep -q "false_negatives=0" || fail "log-dirty missed pages: $out"
echo "RESULT log-dirty: $(echo "$out" | tail -1)"
$D/hvtool -s xen: save tg /tmp/tg.ckpt >/dev/null || fail "save"
v=$($D/ckpt-verify /tmp/tg.ckpt 2>&1) || fail "ckpt-verify: $v"
echo "$v" | grep -q "origin=xen guest=x86_64-pvh" || fail "the stream's origin: $v"
echo "RESULT saved stream: $(echo "$v" | tail -1)"
st=$(xl_state tg)
[ -n "$st" ] || fail "tg gone after the save: $(xl list 2>&1)"
case $st in *p*) fail "tg left paused after the save" ;; esac
r=$($D/hvtool -s xen: reload tg 3 2>&1) || fail "reload: $r"
before=$(ok)
for _ in $(seq 60); do [ "$(ok)" -ge $((before + 2)) ] && break; sleep 1; done
[ "$(ok)" -ge $((before + 2)) ] || fail "no integrity sweeps after the state was loaded back"
xl dmesg | grep -q "(d[0-9]*) INTEGRITY FAIL" && fail "an integrity sweep failed"
echo "RESULT state loaded back: $r; two more sweeps OK"
err=$($D/hvtool -s xen: dirtycheck nosuch 1 10 2>&1) && fail "dirtycheck of nothing"
echo "$err" | grep -q "no domain named nosuch" || fail "unclear: $err"
xl destroy tg
echo "RESULT PASS"
