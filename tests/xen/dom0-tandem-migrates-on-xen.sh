#!/bin/sh
# Runs in the Xen tier's dom0 with tandem, migrated, hvtool, guest.elf, a
# test CA's files and libevent beside it: on a real Xen, through the Xen
# backend, a busy PVH domU is copied into a domain the backend builds
# itself (hvtool copy), then live-migrated back and forth between two
# migrated daemons on this host (TLS, as between hosts; the destination's
# copy is NAME--incoming until it runs, the source's NAME--migrated until
# it is released, as xl migrate does on localhost).  After each: exactly
# one domain of that name, running, none left under the other names, the
# guest's heartbeat continuous across every copy and its integrity sweeps
# passing.  A migration to a port nobody listens on is refused and the
# guest runs on where it was.
. /mnt/host/dom0-lib.sh
export LD_LIBRARY_PATH=$D/lib
T=$D/tandem
con=/tmp/console
# Xen's console ring is small: its lines are drained into a file as they come
(while :; do xl dmesg -c >>$con 2>/dev/null; sleep 1; done) &
drain=$!
trap 'kill $drain 2>/dev/null' EXIT
guest() { xl dmesg -c >>$con 2>/dev/null; sed -n 's/^(d[0-9]*) //p' $con; }
ok() { guest | grep -c "^INTEGRITY OK"; }
beats() {	# beats: the heartbeat goes up by exactly 1 across every copy
	guest | awk '/^HB [0-9]+ / { n = $2 + 0; if (seen && n != prev + 1) { print "gap: " prev " -> " n; bad = 1 }
		prev = n; seen = 1; count++ } END { if (!seen) { print "no heartbeats"; exit 1 }
		print count " heartbeats, last " prev; exit bad }'
}
sweeps() {	# sweeps N: N more integrity sweeps pass
	local before=$(ok)
	for _ in $(seq 90); do [ "$(ok)" -ge $((before + $1)) ] && break; sleep 1; done
	[ "$(ok)" -ge $((before + $1)) ] || fail "no integrity sweeps ($before before)"
	guest | grep -q "^INTEGRITY FAIL" && fail "an integrity sweep failed"
	return 0
}
one() {	# one NAME: exactly one domain NAME, running, and no copy under another name
	local l=$(xl list 2>/dev/null)
	[ "$(echo "$l" | awk -v n="$1" '$1 == n' | wc -l)" = 1 ] || fail "$1 is not listed once: $l"
	echo "$l" | grep -q -- "$1--" && fail "a copy of $1 is left: $l"
	case $(xl_state "$1") in *p*) fail "$1 is paused: $l" ;; esac
	return 0
}
pvh_guest tg 1 "heartbeat=300 dirty=500 wss=8 integrity=2"
for _ in $(seq 60); do guest | grep -q "^HB 2 " && break; sleep 1; done
out=$($D/hvtool -s xen: copy tg tc 2>&1) || fail "copy: $out"
one tc
[ -z "$(xl_state tg)" ] || fail "the original is left after the copy"
sweeps 1
r=$(beats) || fail "after the copy: $r"
echo "RESULT copied into a domain the backend built: $out; $r"

for h in a b; do
	[ $h = a ] && port=7101 || port=7102
	mkdir -p /tmp/$h.state
	$D/migrated -f -v -s /run/$h.mig -H xen: -d /tmp/$h.state -l 127.0.0.1:$port \
		--cert $D/host-$h.crt --key $D/host-$h.key --ca $D/ca.crt >/tmp/$h.log 2>&1 &
done
for _ in $(seq 100); do [ -S /run/a.mig ] && [ -S /run/b.mig ] && break; sleep 0.2; done
[ -S /run/b.mig ] || fail "migrated did not start: $(cat /tmp/a.log /tmp/b.log)"
from=a to=b port=7102 dts=""
for i in 1 2 3 4; do
	res=$($T --migrated /run/$from.mig --json migrate tc 127.0.0.1:$port --downtime 50 2>&1) ||
		{ tail -20 /tmp/$from.log /tmp/$to.log; fail "migration $i ($from to $to): $res"; }
	echo "$res" | grep -q '"result":"ok"' || fail "migration $i: $res"
	one tc
	dts="$dts $(echo "$res" | sed -n 's/.*"downtime_ms":\([0-9.]*\).*/\1/p')"
	[ $from = a ] && { from=b to=a port=7101; } || { from=a to=b port=7102; }
done
sweeps 1
r=$(beats) || fail "after the migrations: $r"
echo "RESULT 4 live migrations between two migrated on Xen: downtime ms$dts; $r"

err=$($T --migrated /run/$from.mig migrate tc 127.0.0.1:1 2>&1) && fail "a migration to nobody succeeded"
one tc
sweeps 1
r=$(beats) || fail "after the refused migration: $r"
echo "RESULT to nobody: $(echo "$err" | head -1); tc runs on, $r"
xl destroy tc
echo "RESULT PASS"
