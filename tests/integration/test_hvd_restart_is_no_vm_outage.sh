#!/bin/bash
# hvd stopped (SIGTERM, SIGINT) or crashed (SIGKILL) is no VM outage: its
# domain processes run on, and the next hvd on the same state directory
# adopts them with their state, console and dirty log.
#  - a busy VM and a paused one: `tandem vm list` is the same before and
#    after each restart, the heartbeat never stops (continuous across the
#    restarts), the console answers, the integrity sweep passes;
#  - a second hvd on the same state directory, or on the same socket,
#    refuses to start, naming the one that runs; the restart itself starts;
#  - a domain killed while no hvd ran is reported gone, not listed;
#  - a migration whose source is paused (under the migration's lease) when
#    the source's hvd restarts: the VM runs again on the source only, and
#    an incoming copy whose creator left with the destination's hvd is
#    destroyed: exactly one copy, integrity OK.
. "$(dirname "$0")/../lib.sh"
start_hosts
G=$GUEST
on a vm create busy --mem 128M --kernel "$G" --cmdline "dirty=5000 wss=64 heartbeat=50 integrity=0" >/dev/null
on a vm create idle --mem 64M --kernel "$G" --cmdline "heartbeat=100" >/dev/null
sleep 1
on a vm pause idle >/dev/null
list() { on a --json vm list | sed 's/"uptime_s":[0-9.]*,*//g'; }
before=$(list)
pid_busy=$(on a --json vm info busy | sed 's/.*"pid":\([0-9]*\).*/\1/')
for sig in TERM INT KILL; do
	stop_host_hvd a $sig
	hb0=$(hconsole a busy | grep -c '^HB ')
	sleep 1
	hb1=$(hconsole a busy | grep -c '^HB ')
	[ "$hb1" -gt $((hb0 + 10)) ] || fail "busy stopped with hvd ($sig): $hb0 -> $hb1 heartbeats"
	start_host_hvd a
	[ "$(list)" = "$before" ] || fail "after SIG$sig: $(list) / $before"
	grep -q "domain busy: adopted: process $pid_busy, running" "$T/a.hvd.log" || fail "no adoption: $(tail -5 "$T/a.hvd.log")"
done
grep -q "domain idle: adopted: process [0-9]*, paused$" "$T/a.hvd.log" || fail "idle not adopted paused"
on a vm console busy --send h --wait 1000 | grep -q "^HB " || fail "console does not answer"
hb=$(hb_continuous "$T/a/console/busy.log") || fail "heartbeat: $hb"
log "hvd stopped by TERM, INT, KILL and restarted: busy and idle adopted, vm list unchanged; $hb; $(integrity a busy)"

# one hvd per state directory and per socket
out=$("$BUILD/hvd" -f -s "$T/other.sock" -d "$T/a" 2>&1) && fail "second hvd on a's state dir started"
echo "$out" | grep -q "another hvd (pid $HVD_a) runs on the state directory $T/a" || fail "same state dir: $out"
out=$("$BUILD/hvd" -f -s "$T/a.hvd" -d "$T/other" 2>&1) && fail "second hvd on a's socket started"
echo "$out" | grep -q "another daemon answers on $T/a.hvd" || fail "same socket: $out"
[ "$(list)" = "$before" ] || fail "the refused hvds changed something: $(list)"
log "a second hvd on the same state directory or socket refuses, naming the one that runs"

# a domain that dies while no hvd runs
stop_host_hvd a
kill -9 "$(cat "$T/a/dom/idle.pid")"
sleep 0.3
start_host_hvd a
on a vm info idle >/dev/null 2>&1 && fail "idle still listed after its process died"
grep -q "domain idle: its process is gone" "$T/a.hvd.log" || fail "not reported: $(tail -3 "$T/a.hvd.log")"
[ ! -e "$T/a/dom/idle.sock" ] || fail "stale socket left"
log "a domain killed while no hvd ran: reported gone, not listed, its files removed"

# a migration paused at the source when both hvds restart
kill "$MIG_a"; wait "$MIG_a" 2>/dev/null || true
TANDEM_STALL=send-paused TANDEM_STALL_MS=4000 start_migrated a "$PORT_A" $TLS_a
on a migrate busy 127.0.0.1:$PORT_B --downtime 5 >/dev/null 2>&1 &
cli=$!
for _ in $(seq 200); do grep -q "stalling at send-paused" "$T/a.mig.log" && break; sleep 0.05; done
grep -q "stalling at send-paused" "$T/a.mig.log" || fail "never reached send-paused"
on a vm info busy | grep -q "state: *paused" || fail "source not paused"
stop_host_hvd a KILL	# a crash: nothing undoes the pause but the next hvd
stop_host_hvd b
start_host_hvd a
start_host_hvd b
wait $cli 2>/dev/null || true
for _ in $(seq 100); do [ "$(runs_on busy)" = "a " ] && ! on b vm info busy >/dev/null 2>&1 && break; sleep 0.1; done
[ "$(runs_on busy)" = "a " ] || fail "busy runs on '$(runs_on busy)'"
on b vm info busy >/dev/null 2>&1 && fail "an incoming copy is left on b"
grep -q "domain busy: adopted: .*paused under a lease" "$T/a.hvd.log" || fail "lease not seen: $(grep busy "$T/a.hvd.log" | tail -3)"
log "hvds restarted mid-migration: busy resumed on the source (its lease left with the old hvd), no copy on b; $(integrity a busy)"
hb=$(hb_continuous "$T/a/console/busy.log") || fail "heartbeat: $hb"
log "heartbeat across everything: $hb"
