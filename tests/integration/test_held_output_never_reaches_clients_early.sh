#!/bin/bash
# Output commit, the rule Remus rests on: while a VM's output is held, a
# client sees none of its replies until the epoch they belong to is
# released, then all of them, in order; a later epoch's stay held; an
# epoch that was never closed cannot be released, nor one closed twice;
# ending the hold lets everything out (the success twin: no reply is ever
# lost, only late).  Driven through hvd's interface as a protector drives
# it: a checkpoint's pause closes each epoch.
. "$(dirname "$0")/../lib.sh"
start_hvd_netns tdmhold 3
tandem vm create probe --mem 64M --kernel "$GUEST" --net vmbr0 --cmdline "heartbeat=100 net=10.77.3.10/24" >/dev/null
wait_for probe "^READY" 5
hold() { "$BUILD/tests/hvtool" -s "$SOCK" hold probe "$@"; }
ping_json() { ip netns exec $NS "$BUILD/tests/netcheck" ping 10.77.3.10 --duration "$1" --interval-us 10000 --json; }
field() { sed -n "s/.*\"$1\":\([0-9.]*\).*/\1/p" | head -1; }

out=$(ping_json 1)	# not held: answered at once
[ "$(echo "$out" | field lost)" = 0 ] && [ "$(echo "$out" | field replies)" -gt 50 ] ||
	fail "the VM does not answer before the hold: $out"

hold release 1 2>"$T/err" && fail "released an epoch while not holding"
hold on || fail "hold on failed"
ping_json 1 >"$T/held.json"
[ "$(field replies <"$T/held.json")" = 0 ] || fail "a held reply reached the client: $(cat "$T/held.json")"
held=$(tandem --json vm info probe | sed -n 's/.*"held_frames":\([0-9]*\).*/\1/p')
[ "${held:-0}" -ge 40 ] || fail "vm info shows $held held frames after 100 unanswered pings"
hold close 1 || fail "closing epoch 1 failed"
hold close 1 2>"$T/err" && fail "epoch 1 closed twice"
hold release 2 2>"$T/err" && fail "released epoch 2, never closed"
grep -q "never marked" "$T/err" || fail "no clear error for an unclosed epoch: $(cat "$T/err")"

# a client running through (it takes a reply up to ~1 s late): epoch 2's
# replies come at its release, the rest at the end of the hold
ping_json 3 >"$T/through.json" &
NCP=$!
PIDS="$PIDS $NCP"
sleep 0.4
hold close 2 || fail "closing epoch 2 failed"
sleep 0.4
hold release 2 || fail "releasing epoch 2 failed"
sleep 0.3
n=$(tandem --json vm info probe | sed -n 's/.*"epoch_released":\([0-9]*\).*/\1/p')
[ "$n" = 2 ] || fail "vm info shows epoch $n released, not 2"
hold off || fail "hold off failed"
wait $NCP
out=$(cat "$T/through.json")
[ "$(echo "$out" | field lost)" = 0 ] && [ "$(echo "$out" | field unexpected)" = 0 ] ||
	fail "replies were lost, not only late: $out"
gap=$(echo "$out" | field max_gap_ms)
awk -v g="$gap" 'BEGIN{exit !(g >= 250)}' || fail "the longest gap was $gap ms: the held replies were not held"
out=$(ping_json 1)	# after the hold: at once again
[ "$(echo "$out" | field lost)" = 0 ] && awk -v r="$(echo "$out" | field rtt_p99_ms)" 'BEGIN{exit !(r < 50)}' ||
	fail "the VM does not answer at once after the hold: $out"
grep -q "holding output for the backup" "$T/hvd.log" && grep -q "output no longer held" "$T/hvd.log" ||
	fail "hvd did not log the hold"
log "held replies never reached the client early (0 of 100 while held; longest gap $gap ms through two epochs); none lost"
