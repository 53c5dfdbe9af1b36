# labtest.sh - helpers for tests and benchmarks on the lab (sourced; BUILD
# defaults to the current directory, SRC to this tree; L is the lab directory):
#   t H ARGS...          tandem against host H's daemons
#   until_status H WANT  until `tandem --json status` on H contains WANT (10 s)
#   vms_of H             host H's table, one "name owner generation state" per line
#   running_on H         the names host H's hvd runs
#   probe_start/stop     samples every host's hvd every ~50 ms; probe_stop
#                        prints the number of sweeps in which one VM ran on
#                        two hosts at once (and which)
#   wait_owned NAME...   until every NAME runs, per the table, on a live host
#   ledger_check [VM...] the run ledgers of every host: no VM ever ran on two
#                        hosts at once, and each VM named runs on exactly one
#                        host now; prints the verdict, fails the test if not
#   wait_protected H S NAME  until H protects NAME (epochs acknowledged), in S s
#   backup_of H NAME     the backup host of NAME in H's table ("" none)
#   rogue D H CERT PORT  a second migrated/remusd on host H with CERT; rogue_stop
#   small_vm H NAME      a 64 MiB guest, lightly busy, created on host H
#   wait_ready NAME...   until each NAME's guest said READY on some host (5 s)
#   lab_test_setup [CMD] a fresh lab directory in L, and a trap that stops the
#                        probe, tears the lab down and runs CMD, also on failure
BUILD=${BUILD:-$(pwd)}
SRC=${SRC:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
export BUILD SRC
LAB=$SRC/tests/lab/lab.sh
lab_test_setup() {
	L=$(mktemp -u /tmp/tandem-lab.XXXXXX)
	LAB_TEST_CLEANUP=${1:-}
	trap 'rm -f "$L/probe.on"; "$LAB" down "$L"; eval "$LAB_TEST_CLEANUP"' EXIT
}
fail() { echo "FAIL: $*" >&2; exit 1; }
log() { echo "  $*"; }
now_ms() { echo $(( $(date +%s%N) / 1000000 )); }
alive() { [ -e "/proc/$1/stat" ] && [ "$(sed 's/.*) \(.\).*/\1/' "/proc/$1/stat" 2>/dev/null)" != Z ]; }
t() {
	local h=$1 hv; shift
	# (a Xen lab's hosts: xen:hH, lab.sh's LAB_HV=xen)
	[ "$(cat "$L/hv" 2>/dev/null)" = xen ] && hv=xen:h$h || hv=$L/h$h/hvd.sock
	"$BUILD/tandem" --host "$hv" --migrated "$L/h$h/mig.sock" --fenced "$L/h$h/fenced.sock" \
		--remusd "$L/h$h/remus.sock" "$@"
}
until_status() {
	local out
	for _ in $(seq 100); do
		out=$(t "$1" --json status 2>&1) || true
		case "$out" in *"$2"*) return 0 ;; esac
		sleep 0.1
	done
	fail "h$1 status: $out, expected $2"
}
vms_of() {
	t "$1" --json status | grep -o '"name":"[^"]*","owner":[0-9]*,"owner_name":"[^"]*","generation":[0-9]*,"state":"[a-z]*"' |
		sed 's/"name":"\([^"]*\)","owner":\([0-9]*\),"owner_name":"[^"]*","generation":\([0-9]*\),"state":"\([a-z]*\)"/\1 \2 \3 \4/' | sort
}
running_on() {
	"$BUILD/tandem" --host "$L/h$1/hvd.sock" --json vm list 2>/dev/null |
		grep -o '"name":"[^"]*","state":"running"' | sed 's/"name":"\([^"]*\)".*/\1/'
}
probe_start() {
	touch "$L/probe.on"
	: >"$L/probe.log"
	(
		n=$(cat "$L/n")
		while [ -f "$L/probe.on" ]; do
			all=""
			for h in $(seq "$n"); do
				for v in $(running_on "$h"); do all="$all $v@h$h"; done
			done
			dup=$(for x in $all; do echo "${x%@*}"; done | sort | uniq -d)
			[ -z "$dup" ] || echo "DOUBLE $(date +%T.%N) $dup:$all" >>"$L/probe.log"
			echo "sweep" >>"$L/probe.log"
			sleep 0.03
		done
	) &
	PROBE_PID=$!
}
probe_stop() {
	rm -f "$L/probe.on"
	wait "$PROBE_PID" 2>/dev/null || true
	local d=$(grep -c '^DOUBLE' "$L/probe.log" || true) s=$(grep -c '^sweep' "$L/probe.log" || true)
	echo "$d double runs in $s sweeps"
	grep '^DOUBLE' "$L/probe.log" | head -3 >&2 || true
}
ledger_check() {
	local args="" h out
	for h in $(seq "$(cat "$L/n")"); do args="$args h$h=$L/h$h/hvd/ledger"; done
	local r=""
	[ $# = 0 ] || r="-r $(echo "$*" | tr ' ' ,)"
	out=$("$BUILD/tests/ledger" check $r $args) || fail "run ledger: $out"
	echo "$out"
}
# wait_owned H SECONDS NAME...: until host H's table has every NAME running
# on a host other than those in $AVOID; prints ms waited
wait_owned() {
	local h=$1 secs=$2 t0=$(now_ms) ok; shift 2
	for _ in $(seq $((secs * 10))); do
		ok=1
		local tab=$(vms_of "$h")
		for v in "$@"; do
			echo "$tab" | grep -Eq "^$v [0-9]+ [0-9]+ running$" || ok=0
			for a in ${AVOID:-}; do echo "$tab" | grep -Eq "^$v $a " && ok=0; done
		done
		[ $ok = 1 ] && { echo $(( $(now_ms) - t0 )); return 0; }
		sleep 0.1
	done
	fail "h$h: $* not all running elsewhere after $secs s: $(vms_of "$h" | tr '\n' ';')"
}
# synced_all: until every host of the 3-host lab is quorate and synced
synced_all() { for h in 1 2 3; do until_status $h '"members":[1,2,3],"table":"synced"'; done; }
# lab_up3: a fast-timer 3-host lab, synced, and G the guest image
lab_up3() {
	LAB_TIMERS=fast "$LAB" up "$L" 3
	synced_all
	G=$BUILD/hypervisor/guest/guest.elf
}
# integ H NAME: the guest's own sweep on host H must pass; prints its line
integ() {
	local out=$(t "$1" vm console "$2" --send i --wait 4000 | grep -m1 INTEGRITY)
	case "$out" in "INTEGRITY OK"*) echo "$out" ;; *) fail "$2 on h$1: ${out:-no integrity line}" ;; esac
}
# wait_protected H SECONDS NAME: until host H's remusd protects NAME (its
# primary there, epochs acknowledged); prints ms waited
wait_protected() {
	local h=$1 secs=$2 name=$3 t0=$(now_ms) out=""
	for _ in $(seq $((secs * 20))); do
		out=$(t "$h" --json protection "$name" 2>&1) || true
		case "$out" in *'"role":"primary","state":"protected"'*) echo $(( $(now_ms) - t0 )); return 0 ;; esac
		sleep 0.05
	done
	fail "h$h: $name not protected after $secs s: $out"
}
# backup_of H NAME: the backup host the table on H gives NAME ("" none)
backup_of() {
	t "$1" --json status | grep -o "\"name\":\"$2\",\"owner\"[^}]*" | sed -n 's/.*"backup":"\([^"]*\)".*/\1/p'
}
# rogue DAEMON H CERT PORT: a second migrated or remusd in host H's
# namespace with CERT's certificate, listening on PORT, its control socket
# $L/rogue.sock, its hvd H's (or ROGUE_HVD's socket); rogue_stop ends it.
# ROGUE is its PID (for the setup's cleanup: lab_test_setup '[ -z "$ROGUE" ]
# || kill "$ROGUE"').
ROGUE=
rogue() {
	ip netns exec "$(cat "$L/prefix")-h$2" "$BUILD/$1/$1" -f -v -s "$L/rogue.sock" \
		-H "${ROGUE_HVD:-$L/h$2/hvd.sock}" -d "$L/rogue" -c "$L/cluster.conf" -F none -l "10.77.0.$2:$4" \
		--cert "$L/ca/$3.crt" --key "$L/ca/$3.key" --ca "$L/ca/ca.crt" --crl "$L/ca/crl.pem" \
		>>"$L/rogue.log" 2>&1 &
	ROGUE=$!	# ip netns exec execs the daemon: this is its PID
	for _ in $(seq 100); do [ -S "$L/rogue.sock" ] && return 0; sleep 0.05; done
	fail "rogue $1 did not start: $(tail -3 "$L/rogue.log")"
}
rogue_stop() { kill "$ROGUE" 2>/dev/null || true; wait "$ROGUE" 2>/dev/null || true; rm -f "$L/rogue.sock"; ROGUE=; }
small_vm() { t "$1" vm create "$2" --mem 64M --kernel "$G" --cmdline "dirty=1000 wss=16 heartbeat=100" >/dev/null; }
wait_ready() {
	local v
	for v in "$@"; do
		for _ in $(seq 50); do grep -q READY "$L"/h*/hvd/console/"$v".log 2>/dev/null && break; sleep 0.1; done
	done
}
