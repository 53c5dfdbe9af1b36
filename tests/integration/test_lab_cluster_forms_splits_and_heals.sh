#!/bin/bash
# A 3-host lab (namespaces, a switch, real corosync per host, fenced, hvd
# and migrated per host) forms a quorate cluster, and every fenced reports
# it in `tandem status`; a guest migrates live from
# host 1 to host 2 over the lab network and stays whole; a partition
# {1,2}|{3}, a pulled cable and a powered-off host each leave exactly the
# majority quorate, and heal restores all three; teardown leaves no
# namespace, process or /dev/shm file behind, also when this test fails.
set -eu
BUILD=${BUILD:-$(pwd)}
SRC=${SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
export BUILD SRC
LAB=$SRC/tests/lab/lab.sh
L=$(mktemp -u /tmp/tandem-lab.XXXXXX)
trap '"$LAB" down "$L"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
log() { echo "  $*"; }
# alive PID: running (a zombie is not: lab processes are not our children)
alive() { [ -e "/proc/$1/stat" ] && [ "$(sed 's/.*) \(.\).*/\1/' "/proc/$1/stat" 2>/dev/null)" != Z ]; }
t() {
	local h=$1; shift
	"$BUILD/tandem" --host "$L/h$h/hvd.sock" --migrated "$L/h$h/mig.sock" --fenced "$L/h$h/fenced.sock" "$@"
}
# until_status H WANT: until `tandem --json status` on H has WANT (10 s)
until_status() {
	local out
	for _ in $(seq 100); do
		out=$(t "$1" --json status)
		case "$out" in *"$2"*) return 0 ;; esac
		sleep 0.1
	done
	fail "h$1 status: $out, expected $2"
}
# until_q H WANT: until host H reports WANT (10 s), printing the seconds it took
until_q() {
	local t0=$(date +%s%N) q
	for _ in $(seq 100); do
		q=$("$LAB" quorum "$L" "$1")
		[ "$q" = "$2" ] && { echo "$(( ($(date +%s%N) - t0) / 1000000 )) ms"; return 0; }
		sleep 0.1
	done
	fail "h$1: '$q', expected '$2'"
}

LAB_TIMERS=fast "$LAB" up "$L" 3
prefix=$(cat "$L/prefix")
log "3 hosts up, $(for h in 1 2 3; do printf 'h%s %s; ' $h "$("$LAB" quorum "$L" $h)"; done)"
for h in 1 2 3; do until_status $h '"node":'$h',"state":"quorate","quorate":true,"members":[1,2,3]'; done
log "fenced on h1: $(t 1 status | head -1)"
grep -q "ignoring the first single-node" "$L"/h*/fenced.log || log "(no host saw a single-node first view this time)"

t 1 vm create g --mem 128M --kernel "$BUILD/hypervisor/guest/guest.elf" \
	--cmdline "dirty=5000 wss=96 heartbeat=100" >/dev/null
for _ in $(seq 50); do grep -q READY "$L/h1/hvd/console/g.log" 2>/dev/null && break; sleep 0.1; done
out=$(t 1 --json migrate g 10.77.0.2)
echo "$out" | grep -q '"result":"ok"' || fail "migration over the lab network: $out"
t 2 vm info g | grep -q "state: *running" || fail "g is not running on h2"
! t 1 vm info g >/dev/null 2>&1 || fail "g is still on h1"
integ=$(t 2 vm console g --send i --wait 4000 | grep -m1 INTEGRITY)
case "$integ" in "INTEGRITY OK"*) ;; *) fail "g on h2: ${integ:-no integrity line}" ;; esac
log "migrated h1 -> h2 over 10.77.0.0/24: $(echo "$out" | sed 's/.*"downtime_ms":\([0-9.]*\).*/downtime \1 ms/'), $integ"

"$LAB" partition "$L" "1,2|3"
log "partition {1,2}|{3}: h3 inquorate alone after $(until_q 3 "inquorate 1"), h1 $(until_q 1 "quorate 2")"
until_status 3 '"state":"inquorate","quorate":false,"members":[3]'
until_status 1 '"state":"quorate","quorate":true,"members":[1,2]'
log "fenced: h1 $(t 1 status | head -1); h3 $(t 3 status | head -1)"
grep -q "quorate -> inquorate" "$L/h3/fenced.log" || fail "h3 fenced did not log quorate -> inquorate"
"$LAB" heal "$L"
log "heal: all three after $(until_q 3 "quorate 3")"
for h in 1 2 3; do until_status $h '"members":[1,2,3]'; done

"$LAB" cable "$L" 2 down
log "cable of h2 pulled: h1 with h3 after $(until_q 1 "quorate 2"), h2 $(until_q 2 "inquorate 1")"
"$LAB" cable "$L" 2 up
log "cable back: $(until_q 2 "quorate 3")"

cpid=$(cat "$L/h3/corosync.pid")
"$LAB" poweroff "$L" 3
for d in corosync fenced hvd migrated; do [ ! -f "$L/h3/$d.pid" ] || fail "h3 $d still recorded"; done
alive "$cpid" && fail "h3 corosync $cpid survived power-off"
log "h3 powered off: h1 $(until_q 1 "quorate 2")"
until_status 1 '"state":"quorate","quorate":true,"members":[1,2]'

pids=$(cat "$L"/h*/*.pid)
"$LAB" down "$L"
ip netns list | grep -q "^$prefix-" && fail "namespaces left: $(ip netns list | grep "^$prefix-")"
for p in $pids $cpid; do
	alive "$p" && fail "process $p left"
	ls /dev/shm | grep -q -- "-$p-" && fail "/dev/shm files of $p left"
done
[ ! -e "$L" ] || fail "$L left"
log "down: no namespace, process, /dev/shm file or directory left"
