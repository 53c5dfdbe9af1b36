#!/bin/bash
# Remus' core on one host: a busy guest is protected into a paused shadow,
# epoch after epoch (25 ms), and its "host dies" (the primary is
# destroyed, its stream ends). The shadow resumes from the last epoch it
# acknowledged: the guest's integrity sweep passes there and its heartbeat
# goes on from where that epoch left it (at most an epoch and its send
# behind the primary's last, never ahead, never skipping). The same when
# the stream breaks in the middle of an epoch: the shadow keeps the one
# before, whole (the failure twin of the same path); when one more epoch
# comes whole but bad (a byte flipped on the way, numbered as if one had
# been lost, numbered as the last one again), the shadow refuses it, says
# why, and resumes from the last good one; and for a VM with two vCPUs.
# A backup 40 ms away (its answers relayed 40 ms late) does not stretch
# the epochs: the next is taken while the last waits for its
# acknowledgement (were they one after another, 25 ms epochs would come
# 65 ms apart), and the shadow still holds exactly the last acknowledged.
. "$(dirname "$0")/../lib.sh"
start_hvd
RT="$BUILD/tests/remustool"
protect_and_fail() {	# NAME EPOCHS [--cut|--spoil HOW] [VCPUS] [REFUSAL]
	local p=$1 s=$1-shadow out
	tandem vm create "$p" --mem 256M --vcpus "${4:-1}" --kernel "$GUEST" \
		--cmdline "dirty=20000 wss=128 heartbeat=20 integrity=1" >/dev/null
	wait_for "$p" "^HB 5 "
	out=$("$RT" -s "$SOCK" protect "$p" "$s" "$2" 25 ${3:-} 2>&1) || fail "$p: protect/failover: $out"
	if [ -n "${5:-}" ]; then
		echo "$out" | grep -q "the backup stopped: .*$5" || fail "$p: the shadow did not refuse it: $out"
	fi
	[ "$(tandem --json vm info "$s" | sed -n 's/.*"vcpus":\([0-9]*\).*/\1/p')" = "${4:-1}" ] ||
		fail "$s: not ${4:-1} vCPUs: $(tandem vm info "$s")"
	echo "$out" >"$T/$p.out"
	local ack shadow_epoch
	ack=$(echo "$out" | sed -n 's/.*acknowledged=\([0-9]*\).*/\1/p')
	shadow_epoch=$(echo "$out" | sed -n 's/.*shadow_epoch=\([0-9]*\).*/\1/p')
	[ "$ack" = "$2" ] && [ "$shadow_epoch" = "$ack" ] ||
		fail "$p: the shadow holds epoch $shadow_epoch, the primary had $ack acknowledged: $out"
	tandem vm list | grep -q "^$p " && fail "$p: the primary still exists"
	local last_p first_s
	last_p=$(last_hb "$p")
	wait_for "$s" "^HB " 5
	first_s=$(console "$s" | sed -n 's/^HB \([0-9]*\) .*/\1/p' | head -1)
	local behind=5	# an epoch and its send; a spoiled epoch and the 100 ms after it more
	[ -n "${5:-}" ] && behind=12
	[ "$p" = far ] && behind=8	# and the 40 ms the last acknowledgement takes
	[ "$first_s" -le $((last_p + 1)) ] && [ "$first_s" -ge $((last_p - behind)) ] ||
		fail "$p: the shadow's heartbeat starts at $first_s, the primary's last was $last_p"
	wait_for "$s" "^HB $((first_s + 5)) " 5
	local sweep
	sweep=$(tandem vm console "$s" --send i --wait 3000)
	echo "$sweep" | grep -q "^INTEGRITY OK" || fail "$p: integrity sweep on the shadow: $sweep"
	console "$s" | grep -q "INTEGRITY FAIL" && fail "$p: an integrity sweep failed on the shadow"
	local r
	r=$(hb_continuous "$T/state/console/$s.log") || fail "$p: the shadow's heartbeat: $r"
	log "$p: $(echo "$out" | tr '\n' ' ' | sed 's/ $//'); shadow heartbeat from $first_s (primary's last $last_p), $(echo "$sweep" | grep INTEGRITY)"
	tandem vm destroy "$s" >/dev/null
}
protect_and_fail whole 80
protect_and_fail cut 40 --cut
protect_and_fail smp 60 "" 2	# both vCPUs' state in every epoch
protect_and_fail flip 30 "--spoil flip" 1 "CRC"
protect_and_fail skip 30 "--spoil skip" 1 "epoch 32 after epoch 30"
protect_and_fail replay 30 "--spoil replay" 1 "epoch 30 after epoch 30"
protect_and_fail far 60 "--ack-delay 40"
ms=$(sed -n 's/.*epoch_ms=\([0-9.]*\).*/\1/p' "$T/far.out")
awk -v m="$ms" 'BEGIN { exit !(m > 0 && m < 35) }' ||
	fail "far: 25 ms epochs came $ms ms apart with a backup 40 ms away: bound by the round trip"
