#!/bin/sh
# Runs in the Xen tier's dom0 with tandem, remusd, guest.elf, a test CA's
# files and libevent beside it: on a real Xen, through the Xen backend, a
# busy PVH domU is protected by two remusd daemons on this host (TLS, as
# between hosts, no cluster): the backup's shadow is a paused domain the
# backend builds (tp--incoming), epochs are checkpointed and acknowledged
# while the guest's heartbeat stays continuous and its integrity sweeps
# pass; unprotect leaves the VM running once and no shadow.  Then the
# backup's remusd is killed: the primary sees the stream break and the VM
# runs on, unprotected, its heartbeat continuous; the shadow the dead
# remusd left stays paused (it never runs: nothing proved the primary
# dead).
. /mnt/host/dom0-lib.sh
T=$D/tandem
EPOCH=${EPOCH:-100}
console_drain
pvh_guest tp 1 "heartbeat=300 dirty=500 wss=8 integrity=2"
for _ in $(seq 60); do guest | grep -q "^HB 2 " && break; sleep 1; done
start_remusds
shadow() { xl_state tp--incoming; }

out=$($T --remusd /run/a.rem --json protect tp --backup 127.0.0.1:7202 --epoch $EPOCH 2>&1) ||
	{ tail -20 /tmp/a.rlog /tmp/b.rlog; fail "protect: $out"; }
[ "$(prot state)" = protected ] || fail "after protect: $(prot state): $(prot detail)"
case $(shadow) in *p*) ;; *) fail "no paused shadow: $(xl list | tr '\n' ';')" ;; esac
e0=$(prot epoch)
for _ in $(seq 240); do [ "$(prot epoch)" -ge $((e0 + 50)) ] && break; sleep 0.5; done
e1=$(prot epoch)
[ "$e1" -ge $((e0 + 50)) ] || { tail -20 /tmp/a.rlog /tmp/b.rlog; fail "epochs stalled at $e1 ($(prot state): $(prot detail))"; }
[ "$(prot state tp /run/b.rem)" = protected ] || fail "the backup says $(prot state tp /run/b.rem)"
sweeps 1
r=$(beats) || fail "while protected: $r"
echo "RESULT protected on Xen: epoch $e1, epoch ms $(prot epoch_ms) (target $EPOCH), pause ms $(prot pause_ms) (max $(prot pause_max_ms)), backup at epoch $(prot epoch tp /run/b.rem); $r"

$T --remusd /run/a.rem unprotect tp >/dev/null 2>&1 || fail "unprotect failed"
for _ in $(seq 40); do case $(shadow) in ""|*d*) break ;; esac; sleep 0.5; done
case $(shadow) in ""|*d*) ;; *) fail "the shadow is left after unprotect: $(shadow)" ;; esac
one tp
sweeps 1
r=$(beats) || fail "after unprotect: $r"
echo "RESULT unprotected: no shadow, tp runs once; $r"

out=$($T --remusd /run/a.rem --json protect tp --backup 127.0.0.1:7202 --epoch $EPOCH 2>&1) ||
	fail "protect again: $out"
e0=$(prot epoch)
for _ in $(seq 60); do [ "$(prot epoch)" -ge $((e0 + 5)) ] && break; sleep 0.5; done
kill -9 "$RD_b"
for _ in $(seq 60); do [ "$(prot state)" = unprotected ] && break; sleep 0.5; done
[ "$(prot state)" = unprotected ] || fail "the primary did not see its backup go: $(prot state): $(prot detail)"
case $(xl_state tp) in *p*|"") fail "tp is not running after its backup died: $(xl list | tr '\n' ';')" ;; esac
case $(shadow) in *r*|*b*) fail "the dead backup's shadow runs" ;; esac
sweeps 1
r=$(beats) || fail "after the backup died: $r"
echo "RESULT backup's remusd killed: the primary says $(prot detail | cut -c1-80); tp runs on, the shadow stays paused ($(shadow)); $r"
xl destroy tp--incoming 2>/dev/null
xl destroy tp
echo "RESULT PASS"
