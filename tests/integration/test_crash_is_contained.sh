#!/bin/bash
# A guest that faults ends in state "crashed" with the reason, and a domain
# process that is killed is reaped and forgotten - while a neighbour domain
# keeps running.  Names are unique per host.
. "$(dirname "$0")/../lib.sh"
start_hvd
tandem vm create calm --mem 64M --kernel "$GUEST" --cmdline "heartbeat=100" >/dev/null
tandem vm create bad --mem 64M --kernel "$GUEST" --cmdline "heartbeat=100 crash=300" >/dev/null
tandem vm create calm --mem 64M --kernel "$GUEST" 2>"$T/err" && fail "duplicate name accepted"
grep -q "already exists" "$T/err" || fail "unclear duplicate error"
sleep 1
tandem vm info bad | grep -q "state: *crashed" || fail "bad guest not crashed: $(tandem vm info bad)"
tandem vm info bad | grep -q "reason: *guest exception vector 6" || fail "no reason given"
grep -q "exception 6 .* cs 0x23" "$T/hvd.log" || fail "no exception frame logged"
pid=$(tandem --json vm info bad | sed 's/.*"pid":\([0-9]*\).*/\1/')
kill -9 "$pid"
sleep 0.3
tandem vm list | grep -q "^bad " && fail "killed domain still listed"
grep -q "domain bad: process $pid killed by signal 9" "$T/hvd.log" || fail "kill not logged"
a=$(last_hb calm); sleep 0.5; b=$(last_hb calm)
[ "$b" -gt "$a" ] || fail "neighbour stopped ($a -> $b)"
log "crash contained, neighbour at heartbeat $b"
