#!/bin/bash
# A guest boots on hvd and prints heartbeats within seconds; list, info and
# --json report it; pause stops the heartbeat and unpause continues it at
# the next value; a live console attach sees output and delivers input.
. "$(dirname "$0")/../lib.sh"
start_hvd
tandem vm create hb --mem 64M --kernel "$GUEST" --cmdline "heartbeat=100" >/dev/null
wait_for hb "^HB 3 " 5
tandem vm list | grep -q "^hb .*running" || fail "list does not show hb running"
tandem --json vm info hb | grep -q '"state":"running"' || fail "info --json"
tandem --json vm list | grep -q '^\[{"name":"hb"' || fail "list --json"
tandem vm pause hb >/dev/null
a=$(last_hb hb); sleep 0.5; b=$(last_hb hb)
[ "$a" = "$b" ] || fail "heartbeat moved while paused ($a -> $b)"
tandem vm info hb | grep -q "state: *paused" || fail "info does not say paused"
tandem vm unpause hb >/dev/null
wait_for hb "^HB $((b + 2)) " 5
hb_continuous "$T/state/console/hb.log" >/dev/null || fail "heartbeat not continuous"
out=$(tandem vm console hb --send h --wait 800)
echo "$out" | grep -q "^HB-NOW " || fail "console input not delivered: $out"
tandem vm destroy hb >/dev/null
tandem vm list | grep -q "^hb " && fail "destroyed domain still listed"
log "boot, heartbeat, pause/unpause, console ok"
