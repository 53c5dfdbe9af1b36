#!/bin/bash
# Whatever fails during a live migration, the VM ends up running on exactly
# one host, no host keeps a second copy, and it passes its integrity check:
# the source or destination migrated killed between every two steps of the
# commit (and restarted, as systemd would), either hvd killed at those
# steps (its domains live on and are adopted), the outcome's answer lost on
# the way, the source's handed-over copy lost, the source's hvd restarted
# mid-commit, a stale hand-over record, the stream cut mid-way, a cancel,
# an unreachable peer, and a peer whose certificate the cluster CA did not
# sign (refused, nothing created).
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

die() { kill -9 "$1" 2>/dev/null || true; wait "$1" 2>/dev/null || true; }	# die PID, quietly
restart_mig() {	# restart_mig WHO [STALL POINT]: its migrated again, stalling there
	local who=$1 port tls
	eval "tls=\$TLS_$who"
	[ "$who" = a ] && port=$PORT_A || port=$PORT_B
	die "$(eval echo \$MIG_$who)"
	TANDEM_STALL=${2:-} TANDEM_STALL_MS=20000 start_migrated "$who" "$port" $tls
}
stalled() {	# stalled WHO POINT: until WHO's migrated stalls there
	for _ in $(seq 300); do grep -q "stalling at $2" "$T/$1.mig.log" && break; sleep 0.05; done
	grep -q "stalling at $2" "$T/$1.mig.log" || fail "$1 never reached $2"
	sed -i "s/stalling at $2/stalled at $2/" "$T/$1.mig.log"
}
begin() {	# begin NAME: create it on a and start its migration to b
	on a vm create $1 --mem 128M --kernel "$G" --cmdline "dirty=5000 wss=64 heartbeat=50" >/dev/null
	sleep 0.5
	on a migrate $1 127.0.0.1:$PORT_B --downtime 5 >/dev/null 2>&1 &
	cli=$!
}
copies() {	# copies NAME: how many hosts have a domain NAME (any state)
	local c=0
	for h in a b; do on $h vm info "$1" >/dev/null 2>&1 && c=$((c + 1)); done
	echo $c
}

norecord() {	# norecord NAME WHEN: the source's hand-over record (prepared or committed) goes
	for _ in $(seq 50); do [ -e "$T/a.state/handed/$1" ] || return 0; sleep 0.1; done
	fail "$2: the source kept handed/$1: $(cat "$T/a.state/handed/$1")"
}

fault() {	# fault WHO POINT EXPECT: kill WHO's migrated at POINT
	local who=$1 point=$2 expect=$3 name=f$n
	n=$((n + 1))
	restart_mig $who $point
	begin $name
	stalled $who $point
	if [ "$point" = send-recorded ]; then	# mid-commit, the status poll still answers at once
		local t0=$(date +%s%N) st
		st=$(timeout 5 "$BUILD/tandem" --json --migrated "$T/a.mig" migrate --status $name) ||
			fail "status mid-commit: no answer"
		local ms=$(( ($(date +%s%N) - t0) / 1000000 ))
		echo "$st" | grep -q '"phase":"commit"' || fail "status mid-commit: $st"
		[ $ms -lt 1000 ] || fail "status mid-commit took $ms ms"
		log "status while the commit holds its lock: answered in $ms ms ($st)"
	fi
	die "$(eval echo \$MIG_$who)"
	wait $cli 2>/dev/null || true
	restart_mig $who
	local where=$(settle $name)
	[ "$where" = "$expect" ] || fail "kill $who at $point: VM on $where, expected $expect"
	norecord $name "kill $who at $point"
	log "kill $who migrated at $point: runs on $where only, $(integrity $where $name), no record left"
	on $where vm destroy $name >/dev/null
}

# the source killed between every two steps, up to its hand-over and after
for p in send-setup send-round0 send-paused send-ready send-handover; do fault a $p a; done
for p in send-recorded send-handed send-running; do fault a $p b; done
# the destination killed likewise
for p in recv-setup recv-round0 recv-end; do fault b $p a; done
for p in recv-ready recv-commit recv-running; do fault b $p b; done

# hvd (not migrated) killed and restarted at the commit's steps: the domains
# outlive it, the next hvd adopts them (a leased pause is undone, a handed-
# over copy stays handed over under its tag), and the migration ends with
# one copy
hvfault() {	# hvfault WHO POINT EXPECT: kill WHO's hvd while its migrated stalls at POINT
	local who=$1 point=$2 expect=$3 name=h$n
	n=$((n + 1))
	restart_mig $who $point
	begin $name
	stalled $who $point
	stop_host_hvd $who KILL
	start_host_hvd $who
	wait $cli 2>/dev/null || true
	local where=$(settle $name)
	[ "$where" = "$expect" ] || fail "hvd of $who killed at $point: VM on $where, expected $expect"
	log "kill $who hvd at $point: runs on $where only, $(integrity $where $name)"
	on $where vm destroy $name >/dev/null
	restart_mig $who
}
hvfault a send-paused a
hvfault a send-handover b
hvfault a send-running b
hvfault b recv-ready b
hvfault b recv-commit b

# the answer to OUTCOME lost: the destination, in doubt, hears "committed" and
# is killed before it runs the VM; restarted, it asks again and hears the same
restart_mig a send-handed
restart_mig b recv-outcome
begin lost
stalled a send-handed
die "$MIG_a"; wait $cli 2>/dev/null || true
restart_mig a
stalled b recv-outcome
die "$MIG_b"
restart_mig b
where=$(settle lost)
[ "$where" = b ] || fail "lost OUTCOME answer: VM on $where"
[ ! -e "$T/a.state/handed/lost" ] || fail "the source kept its hand-over record after the confirmation"
log "OUTCOME answer lost: asked again, runs on b only, $(integrity b lost); record released"
on b vm destroy lost >/dev/null

# the source's handed-over copy lost with its migrated (a host's domains
# killed): the durable record still answers "committed"
restart_mig a send-handed
begin gone
stalled a send-handed
die "$MIG_a"; wait $cli 2>/dev/null || true
pid=$(on a vm info gone | sed -n 's/^ *pid: *//p')
[ -n "$pid" ] && kill -9 "$pid"
for _ in $(seq 50); do on a vm info gone >/dev/null 2>&1 || break; sleep 0.1; done
restart_mig a
where=$(settle gone)
[ "$where" = b ] || fail "source copy lost: VM on $where"
log "source copy lost after the commit: the record answers, runs on b only, $(integrity b gone)"
on b vm destroy gone >/dev/null

# the source's hvd restarted while the copy is handed over: the copy keeps
# its tag (never runs) and is released once the destination confirms
restart_mig a send-handed
begin rehv
stalled a send-handed
stop_host_hvd a KILL
start_host_hvd a
st=$(on a vm info rehv | sed -n 's/^ *state: *//p')
[ "$st" = migrated ] || fail "after hvd's restart the handed-over copy is '$st'"
wait $cli 2>/dev/null || true
where=$(settle rehv)
[ "$where" = b ] || fail "hvd restart mid-commit: VM on $where"
log "source hvd restarted mid-commit: copy stayed migrated, runs on b only, $(integrity b rehv)"
on b vm destroy rehv >/dev/null

# a stale hand-over record (another migration's id) never touches a later
# VM of that name
restart_mig a
on a vm create st --mem 64M --kernel "$G" --cmdline "heartbeat=50" >/dev/null
mkdir -p "$T/a.state/handed"
echo "C 0123456789abcdef 127.0.0.1:$PORT_B -" >"$T/a.state/handed/st"
restart_mig a
sleep 2
[ "$(runs_on st | tr -d ' ')" = a ] && [ "$(copies st)" = 1 ] || fail "a stale record touched st: runs on '$(runs_on st)'"
log "stale committed hand-over record: st still runs on a only, $(integrity a st)"
# a prepared record a killed migrated left means nothing: it goes at start
echo "P 0123456789abcdef 127.0.0.1:$PORT_B -" >"$T/a.state/handed/st"
restart_mig a
norecord st "a stale prepared record"
[ "$(runs_on st | tr -d ' ')" = a ] && [ "$(copies st)" = 1 ] || fail "a stale prepared record touched st: runs on '$(runs_on st)'"
log "stale prepared hand-over record: dropped at start, st still runs on a only"
on a vm destroy st >/dev/null
rm -f "$T/a.state/handed/st"
restart_mig a
restart_mig b

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
