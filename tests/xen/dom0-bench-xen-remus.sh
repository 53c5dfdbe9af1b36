#!/bin/bash
# Runs in the Xen tier's dom0 for bench/xen, with tandem, remusd,
# guest.elf, the test CA's files and bench.conf (SECS, RATE, EPOCH, PIN,
# QUIET) beside
# it: one busy PVH guest protected for SECS seconds by xl remus (-i EPOCH,
# to this host, no network buffering or disk replication: -F -n -d), then
# a host death under xl remus (the primary destroyed and its xl remus
# killed at once: the backup fails over), then the survivor protected for
# SECS seconds by tandem protect (--epoch EPOCH, two remusd over TLS).
# Measured the same way for both, by the guest itself (stood=1000: it sums
# every stretch over 1 ms in which it did not run, and prints the sums and
# the suspends it came back from on each heartbeat line) and by Xen's
# console clock (console_timestamps=boot): the checkpoints are xl's
# suspends and remusd's epochs; the pause per checkpoint is the time the
# guest stood in the window over the checkpoints made; xl's failover is the gap from the
# dead domain's last heartbeat to the survivor's first (xl destroy's time
# in it).  Prints
# "RESULT REMUS tool checkpoints interval_ms pause_ms stood_med_ms
# stood_max_ms own_pause_ms" per tool (the median and longest stretch only
# with QUIET=0, when the guest's STOOD lines are seen) (own: the tool's own figure, - for
# xl), "RESULT STOODS tool count total_ms count_5ms total_5ms_ms" (the
# stretches: all, and those of 5 ms or more) and "RESULT FAILOVER xl gap_ms
# last_hb first_hb".  Tandem's checkpoints in the window are the window
# over the interval remusd logged for the epochs in it ("RESULT INTERVAL
# tool ms"): the epoch counter read around the window spans less of it
# (the tools' calls at its ends).  Tandem's window starts once the
# throttle its initial copy set is gone (xl never throttles); it is
# measured again at a fifth
# of the interval xl achieved ("RESULT FIFTH ms", rows for tandem5) and at
# an eighth ("RESULT EIGHTH ms", rows for tandem8), and
# "RESULT THROTTLE tool steps" counts the throttle's steps in each window;
# "RESULT EPOCHS tool pause P50 P90 ack P50 P90 next P50 P90" gives remusd's
# own figures over the window (ms: the pause, an epoch's acknowledgement
# after its sending, the time until the next could start), and its pause
# p50 is the tool's own figure in the REMUS line.
. /mnt/host/dom0-lib.sh
. $D/bench.conf
T=$D/tandem
# PIN=1: dom0's vCPUs (bench/xen boots it with one, dom0_vcpus_pin) on
# physical CPU 0 and the guest's on CPU 1, as a Xen host that keeps CPUs for
# dom0 runs (then the tools' work in dom0 does not take the guest's CPU)
if [ "${PIN:-0}" = 1 ]; then
	xl vcpu-pin 0 all 0 || fail "xl vcpu-pin 0 all 0"
	PVH_CPUS=1
	echo "RESULT PIN dom0 on CPU 0, the guest on CPU 1"
fi
P=10	# the heartbeat's period, ms
console_drain
pvh_guest br 1 "heartbeat=$P dirty=$RATE wss=16 integrity=5 stood=1000"
for _ in $(seq 60); do guest | grep -q "^HB 20 " && break; sleep 1; done
# "SECONDS DOMID N" per heartbeat, "SECONDS" per checkpoint resume,
# "SECONDS US" per stretch the guest stood, by Xen's clock
hbd() { con_take; sed -n 's/^(d\([0-9]*\)) \[ *\([0-9.]*\)\] HB \([0-9]*\) .*/\2 \1 \3/p' $CON; }
resumes() { con_take; sed -n 's/^(d[0-9]*) \[ *\([0-9.]*\)\] RESUMED after a suspend.*/\1/p' $CON; }
stood() { con_take; sed -n 's/^(d[0-9]*) \[ *\([0-9.]*\)\] STOOD \([0-9]*\) us.*/\1 \2/p' $CON; }
# "SECONDS N US N5 US5 SUSPENDS" per heartbeat: the guest's sums since it
# booted (the stretches it stood, those of 5 ms or more, and xl's suspends)
sums() {
	con_take
	sed -n 's/^(d[0-9]*) \[ *\([0-9.]*\)\] HB [0-9]* pages=[0-9]* stood=\([0-9]*\)\/\([0-9]*\)\/\([0-9]*\)\/\([0-9]*\) suspends=\([0-9]*\).*/\1 \2 \3 \4 \5 \6/p' $CON
}
med() { sort -g | awk '{v[NR]=$1} END {if (!NR) print "-"; else if (NR % 2) print v[(NR+1)/2]; else print (v[NR/2]+v[NR/2+1])/2}'; }
# QUIET=1 (the default): each window is measured with Xen's guest log level
# at warning, as on a real host, where Xen does not print the 20 "HVM save"
# lines (G_INFO) of every HVM context read: both tools read it per
# checkpoint, and at the tier's guest_loglvl=all that costs each about 1 ms.
# The guest's lines (G_DEBUG) are dropped too; the heartbeat lines on either
# side of the window carry its sums.
loglvl() { [ "${QUIET:-1}" = 1 ] || return 0; xl set-parameters "guest_loglvl=$1" || fail "xl set-parameters guest_loglvl=$1"; }
# window_start: A, the heartbeat line before the window; the console quiet
window_start() { A=$(sums | tail -1); [ -n "$A" ] || fail "no heartbeat with sums"; loglvl warning; }
# window_end: the console back; B, the first heartbeat line after the window
window_end() { loglvl all; sleep 0.1; B=$(sums | tail -1); }
# measured TOOL N OWN: the RESULT lines for N checkpoints between A and B
# (the median and the longest from the STOOD lines shown, if any)
measured() {
	local ms=$(stood | awk -v a="${A%% *}" -v b="${B%% *}" '$1 > a && $1 <= b {printf "%.3f\n", $2 / 1000}')
	local md=$(echo "$ms" | grep . | med) mx=$(echo "$ms" | grep . | sort -g | tail -1)
	echo "$A $B" | awk -v tool="$1" -v n="$2" -v own="$3" -v md="$md" -v mx="${mx:--}" '{
		printf "RESULT REMUS %s %d %.1f %.2f %s %s %s\n", tool, n, ($7 - $1) * 1000 / n, ($9 - $3) / 1000 / n, md, mx, own
		printf "RESULT STOODS %s %d %.1f %d %.1f\n", tool, $8 - $2, ($9 - $3) / 1000, $10 - $4, ($11 - $5) / 1000 }'
}

# ---- xl remus ----
xl remus -F -n -d -i "$EPOCH" -s "" br "xl migrate-receive -r" >/tmp/remus.log 2>&1 &
XR=$!
for _ in $(seq 300); do [ -n "$(resumes)" ] && break; sleep 1; done
[ -n "$(resumes)" ] || fail "xl remus made no checkpoint: $(tail -5 /tmp/remus.log)"
window_start
sleep "$SECS"
window_end
n=$(echo "$A $B" | awk '{print $12 - $6}')
[ "$n" -ge 2 ] || fail "xl remus: $n checkpoints in $SECS s"
measured xl "$n" -
xl_interval=$(echo "$A $B" | awk -v n="$n" '{printf "%.1f", ($7 - $1) * 1000 / n}')
# the primary's host dies: its domain stops (paused at once, then
# destroyed) and its xl remus with it.  Killing xl remus first lets the
# backup resume while the primary still runs (-F: nothing fences it), and
# killing it while the primary is only paused can leave the backup waiting
# for good; destroyed first, the sender fails its checkpoint and the
# stream ends
old=$(xl domid br)
xl pause br
xl destroy br
kill -9 "$XR" 2>/dev/null
wait "$XR"
for _ in $(seq 120); do hbd | awk -v o="$old" '$2 != o' | grep -q . && break; sleep 0.5; done
hbd | awk -v o="$old" '$2 != o' | grep -q . || fail "xl remus did not fail over: $(xl list | tr '\n' ';') $(tail -5 /tmp/remus.log)"
sleep 2
fo=$(hbd | awk -v o="$old" '$2 == o {t = $1; n = $3} $2 != o && !s {s = $1; m = $3} END {printf "%.1f %d %d", (s - t) * 1000, n, m}')
echo "RESULT FAILOVER xl $fo"
# xl may leave the survivor named br--incoming: the admin renames it
if [ -n "$(xl_state br--incoming)" ]; then
	xl rename br--incoming br || fail "renaming xl's survivor: $(xl list | tr '\n' ';')"
	echo "RESULT xl left its survivor named br--incoming: renamed"
fi
one br

# ---- tandem protect ----
# tandem_window LABEL EPOCH: the guest protected SECS seconds at EPOCH ms
tandem_window() {
	local out e0 e1 th0
	out=$($T --remusd /run/a.rem --json protect br --backup 127.0.0.1:7202 --epoch "$2" 2>&1) ||
		{ tail -20 /tmp/a.rlog /tmp/b.rlog; fail "tandem protect: $out"; }
	# its steady state, as xl's: the initial copy throttles a busy guest, and
	# the throttle goes a step per epoch once epochs keep their length
	for _ in $(seq 60); do [ "$(prot throttle_pct br)" = 0 ] && break; sleep 0.5; done
	th0=$(grep -c "guest throttled" /tmp/a.rlog)
	local l0=$(wc -l </tmp/a.rlog)
	e0=$(prot epoch br)
	window_start
	sleep "$SECS"
	e1=$(prot epoch br)
	window_end
	[ "$(prot state br)" = protected ] || fail "tandem protect: $(prot state br): $(prot detail br)"
	# the interval from remusd's own account of each epoch's start (its
	# debug line: "ms after the last"), over epochs e0+1..e1 of this
	# protection (its lines after l0: each protection counts from 1); the
	# checkpoints in the guest's window (A to B, a little longer than
	# e0..e1: the tools' calls around it) are that window over it
	# "EPOCH PAUSE_MS ACK_MS NEXT_MS AFTER_MS" per epoch in the window
	tail -n +"$l0" /tmp/a.rlog | grep -a "br: epoch [0-9]*: paused" |
		sed -n 's/.* epoch \([0-9]*\): paused \([0-9.]*\) ms .* acknowledged \([0-9.]*\) ms after its sending; the next could start after \([0-9.]*\) ms; \([0-9.]*\) ms after the last$/\1 \2 \3 \4 \5/p' |
		awk -v a="$e0" -v b="$e1" '$1 > a && $1 <= b' >/tmp/epochs.$1
	local iv=$(awk '{s += $5; n++} END {if (n) printf "%.3f", s / n}' /tmp/epochs.$1)
	[ -n "$iv" ] || fail "no epoch lines from remusd (-v) between epochs $e0 and $e1"
	echo "RESULT INTERVAL $1 $iv ms by remusd over epochs $((e0 + 1))-$e1"
	# p50 and p90 of a column
	q() { awk -v c="$1" '{print $c}' /tmp/epochs.$2 | sort -g | awk -v p="$3" '{v[NR]=$1} END {print v[int(NR*p/100)+1]}'; }
	echo "RESULT EPOCHS $1 pause $(q 2 $1 50) $(q 2 $1 90) ack $(q 3 $1 50) $(q 3 $1 90) next $(q 4 $1 50) $(q 4 $1 90)"
	measured "$1" "$(echo "$A $B" | awk -v iv="$iv" '{printf "%d", ($7 - $1) * 1000 / iv + 0.5}')" "$(q 2 $1 50)"
	# the throttle's steps in the window (it slows the guest too)
	echo "RESULT THROTTLE $1 $(($(grep -c "guest throttled" /tmp/a.rlog) - th0)) steps; $(grep "guest throttled" /tmp/a.rlog | tail -1)"
	$T --remusd /run/a.rem unprotect br >/dev/null 2>&1 || fail "unprotect"
}
start_remusds
# at xl's setting, then at a fifth of the interval xl achieved: the target
# is epochs 5x as frequent at no more guest slowdown than xl's
tandem_window tandem "$EPOCH"
fifth=$(echo "$xl_interval" | awk '{printf "%d", $1 / 5}')
echo "RESULT FIFTH $fifth"
tandem_window tandem5 "$fifth"
# and at an eighth: how much room the fifth leaves
eighth=$(echo "$xl_interval" | awk '{printf "%d", $1 / 8}')
echo "RESULT EIGHTH $eighth"
tandem_window tandem8 "$eighth"
sweeps 1
echo "RESULT heartbeat $(guest | grep -c '^HB ') heartbeats; integrity OK ($(sweeps_ok) sweeps)"
echo "RESULT PASS"
