#!/bin/bash
# In a cluster, a daemon killed (SIGKILL) between any two steps of a
# migration's commit never leaves two copies running, nor none: after the
# killed daemon is restarted the VM runs on exactly one host, the table
# gives it to that host, no host keeps a second domain of it, the guest's
# sweep passes, and the run ledger shows no overlap.
#   source migrated at send-handover (handed over in hvd, no record):
#     reclaimed, runs on the source;
#   source migrated at send-recorded (handed over, table not committed):
#     settled by its tag with the table, which still gives it to the
#     source: reclaimed;
#   source migrated at send-handed (table committed): the destination asks
#     the table and runs it; the restarted source releases its copy;
#   destination migrated at recv-commit (COMMIT received, not run): the
#     restarted destination asks the table and runs it;
#   source fenced killed at send-recorded (the commit cannot reach the
#     table): nothing committed, the copy comes back on the source once the
#     table can say so.
set -eu
. "$(dirname "$0")/../lab/labtest.sh"
lab_test_setup
lab_up3
t 1 vm create m --mem 64M --kernel "$G" --cmdline "dirty=2000 wss=32 heartbeat=100" >/dev/null
wait_owned 1 10 m >/dev/null
for _ in $(seq 50); do grep -q READY "$L/h1/hvd/console/m.log" 2>/dev/null && break; sleep 0.1; done

stalled() {	# stalled H POINT: until host H's migrated stalls at POINT
	for _ in $(seq 300); do
		grep -q "stalling at $2" "$L/h$1/migrated.log" 2>/dev/null && break
		sleep 0.05
	done
	grep -q "stalling at $2" "$L/h$1/migrated.log" || fail "h$1 never stalled at $2"
	sed -i "s/stalling at $2/stalled at $2/" "$L/h$1/migrated.log"
}
listening() {	# listening H: number of times h's migrated has started
	grep -c "migrated listening" "$L/h$1/migrated.log" 2>/dev/null || true
}
start_mig() {	# start_mig H [STALL]: until the new migrated listens
	local n=$(listening $1)
	TANDEM_STALL=${2:-} TANDEM_STALL_MS=8000 "$LAB" start "$L" "$1" migrated
	for _ in $(seq 100); do [ "$(listening $1)" -gt "$n" ] && return 0; sleep 0.05; done
	fail "h$1: migrated did not start"
}
restart() {	# restart H [STALL]: SIGKILL its migrated, start it (stalling at STALL)
	"$LAB" kill "$L" "$1" migrated
	start_mig "$1" "${2:-}"
}
settled() {	# settled: the host (1-3) that alone runs m, once the table agrees
	local h r c own
	for _ in $(seq 300); do
		r="" c=0
		for h in 1 2 3; do
			running_on $h | grep -qx m && r="$r$h"
			"$BUILD/tandem" --host "$L/h$h/hvd.sock" vm info m >/dev/null 2>&1 && c=$((c + 1))
		done
		own=$(vms_of 1 | sed -n 's/^m \([0-9]*\) [0-9]* running$/\1/p')
		[ ${#r} = 1 ] && [ $c = 1 ] && [ "$own" = "$r" ] && { echo "$r"; return 0; }
		sleep 0.1
	done
	fail "m did not settle: runs on '$r', $c domains, table: $(vms_of 1 | grep '^m ')"
}
from=1
case_() {	# case_ WHO(src|dst) DAEMON POINT EXPECT(src|dst)
	local who=$1 daemon=$2 point=$3 expect=$4 to=$((from % 3 + 1)) cli
	local kh=$from stall_h=$from
	[ "$who" = dst ] && kh=$to
	[[ "$point" = recv-* ]] && stall_h=$to
	restart $stall_h "$point"
	t $from migrate m 10.77.0.$to >/dev/null 2>&1 &
	cli=$!
	stalled $stall_h "$point"
	"$LAB" kill "$L" $kh "$daemon"
	if [ "$daemon" = fenced ]; then
		wait $cli 2>/dev/null || true	# the stall ends, the commit finds no fenced
		"$LAB" start "$L" $kh fenced
		synced_all
	else
		start_mig $kh
		wait $cli 2>/dev/null || true
	fi
	local where=$(settled) want=$from
	[ "$expect" = dst ] && want=$to
	[ "$where" = "$want" ] || fail "$daemon of h$kh killed at $point: m on h$where, expected h$want"
	log "$daemon of h$kh killed at $point: m runs on h$where only, the table agrees, $(integ $where m)"
	from=$where
}
case_ src migrated send-handover src
case_ src migrated send-recorded src
case_ src migrated send-handed dst
case_ dst migrated recv-commit dst
case_ src fenced send-recorded src
restart $from
lg=$(ledger_check m) || exit 1
log "ledger: $lg"
