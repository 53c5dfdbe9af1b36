#!/bin/bash
# Runs in the Xen tier's dom0 with tandem, migrated, guest.elf, a test CA's
# files and libevent beside it: on a real Xen, a busy PVH domU is migrated
# by two migrated daemons on this host (a, the source, to b), and one of
# them is killed at a step of the commit (TANDEM_STALL holds it there) and
# started again, as systemd would.  Xen has no leases: what the dead daemon
# left is settled by its successor: a leased incoming copy is destroyed by
# the next process that opens the backend, a kept one (past the first
# SYNC) is found again by its name and resumed or destroyed as the source
# answers, a handed-over source copy is reclaimed or released by its tag.
# After each: exactly one domain of the VM's name runs, no copy is left
# under another name, on the side the step implies (the source's domain id
# or a new one), no hand-over record is left, and the guest's heartbeat and
# integrity sweeps carry on.
. /mnt/host/dom0-lib.sh
T=$D/tandem
console_drain
pvh_guest tf 1 "heartbeat=300 dirty=500 wss=8 integrity=2"
for _ in $(seq 60); do guest | grep -q "^HB 2 " && break; sleep 1; done

mig() {	# mig H [STALL]: H's migrated (again), held 20 s at STALL
	local h=$1 port pid
	[ $h = a ] && port=7101 || port=7102
	eval "pid=\${MIG_$h:-}"
	[ -n "$pid" ] && { kill -9 "$pid" 2>/dev/null; wait "$pid" 2>/dev/null; }
	rm -f /run/$h.mig
	mkdir -p /tmp/$h.state
	TANDEM_STALL=${2:-} TANDEM_STALL_MS=20000 $D/migrated -f -v -s /run/$h.mig -H xen:$h \
		-d /tmp/$h.state -l 127.0.0.1:$port --cert $D/host-$h.crt --key $D/host-$h.key \
		--ca $D/ca.crt >>/tmp/$h.log 2>&1 &
	eval "MIG_$h=$!"
	for _ in $(seq 100); do [ -S /run/$h.mig ] && return 0; sleep 0.1; done
	fail "migrated $h did not start: $(tail -5 /tmp/$h.log)"
}
# settled: until tf runs once, with no copy under another name (a dying
# one aside) and no hand-over record at a
settled() {
	local l
	for _ in $(seq 120); do
		l=$(xl list 2>/dev/null)
		if [ "$(echo "$l" | awk '$1 == "tf"' | wc -l)" = 1 ] &&
			! echo "$l" | awk 'index($1, "tf--") == 1 && $5 !~ /d/ {bad = 1} END {exit !bad}' &&
			[ ! -e /tmp/a.state/handed/tf ] && [ ! -e /tmp/b.state/indoubt/tf ]; then
			case $(xl_state tf) in *p*) ;; *) one tf; return 0 ;; esac
		fi
		sleep 0.5
	done
	tail -15 /tmp/a.log /tmp/b.log
	fail "tf did not settle: $(echo "$l" | tr '\n' ';') $(ls /tmp/a.state/handed /tmp/b.state/indoubt 2>&1 | tr '\n' ' ')"
}
mig a; mig b
# home: tf is host a's again, wherever it runs (each case migrates it from
# a; a copy b built is b's, and xen:a would not see it), as if it had been
# migrated back
home() { xenstore-write "/local/domain/$(xl domid tf)/tandem-host" a; }
fault() {	# fault WHO POINT EXPECT: kill WHO's migrated at POINT; the VM ends on EXPECT (a or b)
	local who=$1 point=$2 expect=$3 before after where
	home
	before=$(xl domid tf)
	mig "$who" "$point"
	$T --migrated /run/a.mig migrate tf 127.0.0.1:7102 --downtime 50 >/dev/null 2>&1 &
	local cli=$!
	for _ in $(seq 600); do grep -q "stalling at $point" /tmp/$who.log && break; sleep 0.1; done
	grep -q "stalling at $point" /tmp/$who.log || { wait $cli; fail "$who never reached $point"; }
	sed -i "s/stalling at $point/stalled at $point/" /tmp/$who.log
	eval "kill -9 \$MIG_$who"
	wait $cli 2>/dev/null
	mig "$who"
	settled
	after=$(xl domid tf)
	[ "$after" = "$before" ] && where=a || where=b
	[ "$where" = "$expect" ] || fail "kill $who at $point: tf ended on $where (domain $before, now $after), expected $expect"
	sweeps 1
	r=$(beats) || fail "kill $who at $point: $r"
	echo "RESULT kill $who migrated at $point: tf runs once, on $where (domain $before -> $after), no record left; $r"
}
# the success twin first: no fault, the VM moves
before=$(xl domid tf)
out=$($T --migrated /run/a.mig --json migrate tf 127.0.0.1:7102 --downtime 50 2>&1) || fail "migration: $out"
settled
[ "$(xl domid tf)" != "$before" ] || fail "the migration left tf where it was"
echo "RESULT no fault: tf moved (domain $before -> $(xl domid tf)), runs once"
fault a send-paused a
fault a send-handover a
fault a send-handed b
fault b recv-end a
fault b recv-ready b
fault b recv-commit b
xl destroy tf
echo "RESULT PASS"
