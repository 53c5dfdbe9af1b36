#!/bin/bash
# Live migration between two hosts (hvd + migrated each, TLS with a test CA)
# leaves the guest whole: for an idle guest and busy ones (one dirtying
# faster than the link can carry, so throttling must kick in), and 20 times
# back and forth.  Each time the heartbeat continues without a gap or
# repeat, the guest's own integrity sweep passes on the destination, and the
# source no longer has the domain.
. "$(dirname "$0")/../lib.sh"
start_hosts
G=$GUEST
migrate_ok() {	# migrate_ok FROM TO NAME [opts]: one migration, checked
	local from=$1 to=$2 name=$3 port
	shift 3
	[ "$to" = a ] && port=$PORT_A || port=$PORT_B
	out=$(on "$from" --json migrate "$name" "127.0.0.1:$port" "$@") || fail "migrate $name $from->$to: $out"
	echo "$out" | grep -q '"result":"ok"' || fail "$out"
	[ "$(runs_on "$name")" = "$to " ] || fail "$name runs on: $(runs_on "$name")"
	on "$from" vm info "$name" >/dev/null 2>&1 && fail "$name still exists on $from"
	echo "$out"
}
summary() { sed 's/.*"downtime_ms":\([0-9.]*\).*"total_ms":\([0-9]*\).*"rounds":\([0-9]*\).*"pages_per_round":\[\([0-9,]*\)\].*/downtime \1 ms, total \2 ms, rounds \3 [\4]/'; }

on a vm create idle --mem 128M --kernel "$G" --cmdline "heartbeat=50" >/dev/null
sleep 0.5
log "idle: $(migrate_ok a b idle | summary)"
integrity b idle >/dev/null 2>&1 || true	# no working set: nothing to sweep
hb_continuous "$T/a/console/idle.log" "$T/b/console/idle.log" >/dev/null || fail "idle heartbeat"

for rate in 5000 25000; do
	on a vm create busy$rate --mem 256M --kernel "$G" --cmdline "dirty=$rate wss=192 heartbeat=50" >/dev/null
	sleep 1
	log "dirty=$rate: $(migrate_ok a b busy$rate --downtime 5 | summary)"
	log "  $(integrity b busy$rate)"
	r=$(hb_continuous "$T/a/console/busy$rate.log" "$T/b/console/busy$rate.log") || fail "busy$rate: $r"
	on b vm destroy busy$rate >/dev/null
done

# faster than the link: the controller must throttle, and still converge
# (uncompressed at 500 Mbit/s the link carries ~15k pages/s, well below what
# the guest dirties; at 2 Gbit/s with LZ4 the rounds sometimes shrank enough
# to converge without a throttle, and the test failed by chance)
on a vm create hot --mem 32M --kernel "$G" --cmdline "dirty=max wss=24 heartbeat=50" >/dev/null
sleep 1
out=$(migrate_ok a b hot --downtime 5 --bandwidth 500 --no-lz4)
log "dirty=max over a 500 Mbit/s cap: $(echo "$out" | summary)"
grep -q "throttle to" "$T/a.mig.log" || fail "no throttling for a guest that outruns the link"
log "  $(integrity b hot)"
r=$(hb_continuous "$T/a/console/hot.log" "$T/b/console/hot.log") || fail "hot: $r"
on b vm destroy hot >/dev/null

# ping-pong, 20 times
on a vm create pp --mem 256M --kernel "$G" --cmdline "dirty=10000 wss=128 heartbeat=50" >/dev/null
sleep 1
from=a to=b
for i in $(seq 20); do
	migrate_ok $from $to pp --downtime 5 | summary >>"$T/pp"
	cp "$T/$from/console/pp.log" "$T/pp.$(printf %02d $i).log"	# final: the domain left
	t=$from; from=$to; to=$t
done
log "ping-pong 20x: downtimes (ms) $(sed 's/downtime \([0-9.]*\) .*/\1/' "$T/pp" | tr '\n' ' ')"
log "  $(integrity $from pp)"
r=$(hb_continuous "$T"/pp.*.log "$T/$from/console/pp.log") || fail "ping-pong heartbeat: $r"
log "  heartbeat: $r"
