#!/bin/bash
# A resumed vCPU must never hold the core that the answer to its own
# unpause (and the rest of a migration's last steps) waits for: hvd's control
# threads run real-time on one core, the control core, and every guest
# thread is an ordinary one on every core.  Checked from /proc on a running
# VM, for the default core, a chosen one and none; a core that hvd or
# migrated may not use is refused with the reason, and nothing starts.
. "$(dirname "$0")/../lib.sh"

policy() { awk '{print $41}' "/proc/$1/task/$2/stat"; }	# 0 ordinary, 1 FIFO
cpus() { sed -n 's/^Cpus_allowed_list:[[:space:]]*//p' "/proc/$1/task/$2/status"; }
mine=$(sed -n 's/^Cpus_allowed_list:[[:space:]]*//p' /proc/self/status)
ncpu=$(nproc)
last=$(taskset -pc $$ | sed 's/.*: //' | tr ',' '\n' | sed 's/.*-//' | sort -n | tail -1)

# check PID CPUS: its main thread real-time on CPUS,
# every other thread ordinary on all of this shell's cores
check() {
	local pid=$1 want=$2 what=$3 t n=0
	[ "$(policy "$pid" "$pid")" = 1 ] || fail "$what: control thread is not real-time"
	[ "$(cpus "$pid" "$pid")" = "$want" ] ||
		fail "$what: control thread on CPUs $(cpus "$pid" "$pid"), want $want"
	for t in /proc/"$pid"/task/*; do
		t=${t##*/}
		[ "$t" = "$pid" ] && continue
		n=$((n + 1))
		[ "$(policy "$pid" "$t")" = 0 ] || fail "$what: guest thread $t is real-time"
		[ "$(cpus "$pid" "$t")" = "$mine" ] ||
			fail "$what: guest thread $t on CPUs $(cpus "$pid" "$t"), want $mine"
	done
	echo "$n"
}

run_with() {	# run_with LABEL ARG WANT: a VM under an hvd with --control-cpu ARG
	local label=$1 arg=$2 want=$3
	[ "$want" = all ] && want=$mine
	local s=$T/$label.sock d=$T/$label
	"$BUILD/hvd" -f -s "$s" -d "$d" --control-cpu "$arg" >"$T/$label.log" 2>&1 &
	local pid=$!
	PIDS="$PIDS $pid"
	for _ in $(seq 100); do TANDEM_HOST=$s tandem vm list >/dev/null 2>&1 && break; sleep 0.05; done
	TANDEM_HOST=$s tandem vm create g --mem 64M --kernel "$GUEST" --cmdline "dirty=2000 wss=8 heartbeat=100" >/dev/null
	for _ in $(seq 100); do grep -q "^HB 3 " "$d/console/g.log" 2>/dev/null && break; sleep 0.1; done
	grep -q "^HB 3 " "$d/console/g.log" || fail "$label: the guest does not run"
	check "$pid" "$want" "$label daemon" >/dev/null
	local n
	n=$(check "$(cat "$d/dom/g.pid")" "$want" "$label domain")
	[ "$n" -ge 2 ] || fail "$label: no guest threads found in the domain process"
	# a pause and an unpause: the vCPU comes back ordinary and runs
	TANDEM_HOST=$s tandem vm pause g >/dev/null
	TANDEM_HOST=$s tandem vm unpause g >/dev/null
	local hb
	hb=$(sed -n 's/^HB \([0-9]*\) .*/\1/p' "$d/console/g.log" | tail -1)
	for _ in $(seq 50); do
		[ "$(sed -n 's/^HB \([0-9]*\) .*/\1/p' "$d/console/g.log" | tail -1)" -gt "$((hb + 2))" ] && break
		sleep 0.1
	done
	[ "$(sed -n 's/^HB \([0-9]*\) .*/\1/p' "$d/console/g.log" | tail -1)" -gt "$((hb + 2))" ] ||
		fail "$label: the guest did not run on after an unpause"
	check "$(cat "$d/dom/g.pid")" "$want" "$label domain, after an unpause" >/dev/null
	TANDEM_HOST=$s tandem vm destroy g >/dev/null
	log "$label (--control-cpu $arg): control real-time on CPUs $want, $n guest threads ordinary on $mine"
}

if [ "$ncpu" -ge 2 ]; then
	run_with auto auto "$last"
	run_with first 0 0
else
	log "one CPU: auto leaves control threads where they are"
	run_with auto auto all
fi
run_with none none all

# refused: a core hvd or migrated may not use, or no core at all
for bad in 4096 x -1 ""; do
	if out=$("$BUILD/hvd" -f -s "$T/bad.sock" -d "$T/bad" --control-cpu "$bad" 2>&1); then
		fail "hvd started with --control-cpu '$bad'"
	fi
	echo "$out" | grep -q "not a CPU this process may run on" ||
		fail "hvd --control-cpu '$bad': unclear error: $out"
	if out=$("$BUILD/migrated/migrated" -f --insecure -s "$T/bad.mig" -H "$T/bad.sock" \
	    --control-cpu "$bad" 2>&1); then
		fail "migrated started with --control-cpu '$bad'"
	fi
	echo "$out" | grep -q "not a CPU this process may run on" ||
		fail "migrated --control-cpu '$bad': unclear error: $out"
done
[ ! -e "$T/bad.sock" ] && [ ! -e "$T/bad.mig" ] || fail "a refused daemon left a socket"
log "--control-cpu 4096, x, -1 and '' refused by hvd and migrated with the reason"
