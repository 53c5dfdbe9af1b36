#!/bin/bash
# Whatever fails during a live migration, the VM ends up running on exactly
# one host and passes its integrity check: the source or destination daemon
# killed at each phase (and restarted, as systemd would), the stream cut
# mid-way, a cancel, an unreachable peer, and a peer whose certificate the
# cluster CA did not sign (refused, nothing created).
. "$(dirname "$0")/../lib.sh"
start_hosts
G=$GUEST
n=0

settle() {	# settle NAME: until exactly one host has NAME, and it runs
	local name=$1
	for _ in $(seq 150); do
		local r=$(runs_on "$name") cnt=0
		for h in a b; do on $h vm info "$name" >/dev/null 2>&1 && cnt=$((cnt + 1)); done
		[ "$cnt" = 1 ] && [ -n "${r// /}" ] && { echo "$r" | tr -d ' '; return 0; }
		sleep 0.1
	done
	fail "$name did not settle: runs on '$(runs_on "$name")', exists on $cnt hosts"
}

fault() {	# fault WHO POINT EXPECT: kill WHO's migrated at POINT
	local who=$1 point=$2 expect=$3 name=f$n port tls
	n=$((n + 1))
	eval "tls=\$TLS_$who"
	[ "$who" = a ] && port=$PORT_A || port=$PORT_B
	kill "$(eval echo \$MIG_$who)"; sleep 0.2
	TANDEM_STALL=$point TANDEM_STALL_MS=20000 start_migrated "$who" "$port" $tls
	on a vm create $name --mem 128M --kernel "$G" --cmdline "dirty=5000 wss=64 heartbeat=50" >/dev/null
	sleep 0.5
	on a migrate $name 127.0.0.1:$PORT_B --downtime 5 >/dev/null 2>&1 &
	local cli=$!
	for _ in $(seq 200); do grep -q "stalling at $point" "$T/$who.mig.log" && break; sleep 0.05; done
	grep -q "stalling at $point" "$T/$who.mig.log" || fail "never reached $point"
	kill -9 "$(eval echo \$MIG_$who)"
	wait $cli 2>/dev/null || true
	sed -i "s/stalling at $point/stalled at $point/" "$T/$who.mig.log"
	start_migrated "$who" "$port" $tls
	local where=$(settle $name)
	[ "$where" = "$expect" ] || fail "kill $who at $point: VM on $where, expected $expect"
	log "kill $who migrated at $point: runs on $where only, $(integrity $where $name)"
	on $where vm destroy $name >/dev/null
}

for p in send-setup send-round0 send-paused send-ready; do fault a $p a; done
fault a send-handed b
for p in recv-setup recv-round0 recv-end; do fault b $p a; done
fault b recv-ready b
fault b recv-commit b

# the stream cut mid-way (fault backend on the sender)
kill "$MIG_a"; sleep 0.2
TANDEM_FAULT_AFTER=20000000 start_migrated a "$PORT_A" $TLS_a
on a vm create cut --mem 128M --kernel "$G" --cmdline "dirty=5000 wss=96 heartbeat=50" >/dev/null
sleep 0.5
out=$(on a --json migrate cut 127.0.0.1:$PORT_B --no-lz4) && fail "migration over a cut stream succeeded"
echo "$out" | grep -q '"result":"failed"' || fail "$out"
log "stream cut after 20 MB: $(echo "$out" | sed 's/.*"error":"\([^"]*\)".*/\1/'); on $(settle cut), $(integrity a cut)"
kill "$MIG_a"; sleep 0.2
start_migrated a "$PORT_A" $TLS_a

# cancel
on a migrate cut 127.0.0.1:$PORT_B --bandwidth 100 --no-lz4 >"$T/cancel.out" 2>&1 &
cli=$!
sleep 1
on a migrate --cancel cut >/dev/null
wait $cli && fail "cancelled migration reported success"
grep -q "cancelled" "$T/cancel.out" || fail "cancel: $(cat "$T/cancel.out")"
log "cancel: $(tail -1 "$T/cancel.out" | cut -c1-90); on $(settle cut)"

# unreachable peer
out=$(on a --json migrate cut 127.0.0.1:1) && fail "migration to a closed port succeeded"
log "unreachable: $(echo "$out" | sed 's/.*"error":"\([^"]*\)".*/\1/' | cut -c1-80); on $(settle cut)"

# a peer whose certificate another CA signed: refused, nothing created
"$SRC/ctl/tandem-ca" init "$T/evil" >/dev/null
"$SRC/ctl/tandem-ca" issue "$T/evil" mallory >/dev/null
PORT_C=$((PORT_B + 1))
start_migrated c "$PORT_C" --cert "$T/evil/mallory.crt" --key "$T/evil/mallory.key" --ca "$T/evil/ca.crt" -H "$T/b.hvd"
out=$(on a --json migrate cut 127.0.0.1:$PORT_C) && fail "migration to an untrusted peer succeeded"
echo "$out" | grep -qi "TLS handshake" || fail "$out"
grep -q "refused peer" "$T/c.mig.log" || fail "the untrusted peer did not log a refusal"
on b vm info cut >/dev/null 2>&1 && fail "a domain was created behind an untrusted peer"
log "untrusted certificate: refused ($(echo "$out" | sed 's/.*"error":"\([^"]*\)".*/\1/' | cut -c1-70)); on $(settle cut)"
