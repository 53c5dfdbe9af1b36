#!/bin/bash
# VMs on the network, seen from a client: what it was told is never lost or
# contradicted, across migrations.
#  - Two VMs with a NIC on the lab's VM bridge, on two hosts: each answers
#    ping and the UDP KV service from the client namespace, and the client
#    learns each one's MAC by ARP across the switch.  `tandem vm info` shows
#    the NIC (MAC, tap, bridge, counters).
#  - Under KV load from three clients (1 ms apart each), an idle VM and a
#    busy one (dirtying memory) migrate back and forth, 10 times each: the
#    checking client sees no contradiction (no stale read, no heartbeat or
#    served count going back), the guest's integrity sweep passes, the MAC
#    stays, the destination announces the VM, and the longest client gap is
#    printed beside the migrations' downtimes.
set -eu
. "$(dirname "$0")/../lab/labtest.sh"
lab_test_setup 'for p in ${NC_PIDS:-}; do kill "$p" 2>/dev/null || true; done'
lab_up3
NC=$BUILD/tests/netcheck

t 1 vm create idle --mem 64M --kernel "$G" --net vmbr0 \
	--cmdline "heartbeat=100 net=10.77.1.10/24 kv=7000" >/dev/null
t 2 vm create busy --mem 128M --kernel "$G" --net vmbr0,mac=02:00:00:00:0b:05 \
	--cmdline "heartbeat=100 dirty=5000 wss=96 net=10.77.1.11/24 kv=7000" >/dev/null
for v in idle@1 busy@2; do
	for _ in $(seq 50); do grep -q READY "$L/h${v#*@}/hvd/console/${v%@*}.log" 2>/dev/null && break; sleep 0.1; done
	grep -q "^NET 10.77.1.1" "$L/h${v#*@}/hvd/console/${v%@*}.log" || fail "${v%@*}: no NET line"
done

# ping, KV and ARP from the client namespace
for ip in 10.77.1.10 10.77.1.11; do
	out=$("$LAB" client "$L" "$NC" ping $ip --duration 1 --interval-us 5000 --json)
	echo "$out" | grep -q '"lost":0,' || fail "ping $ip: $out"
	echo "$out" | grep -q '"replies":0,' && fail "ping $ip: no replies: $out"
	out=$("$LAB" client "$L" "$NC" kv $ip 7000 --duration 1 --clients 2 --json)
	echo "$out" | grep -q '"lost":0,"unexpected":0,"contradictions":0,' || fail "kv $ip: $out"
done
mac_idle=$(t 1 --json vm info idle | sed -n 's/.*"mac":"\([^"]*\)".*/\1/p')
neigh=$("$LAB" client "$L" ip neigh show)
echo "$neigh" | grep -q "10.77.1.10 .* $mac_idle " || fail "client ARP for idle (on h1): $neigh"
echo "$neigh" | grep -q "10.77.1.11 .* 02:00:00:00:0b:05 " || fail "client ARP for busy (on h2): $neigh"
info=$(t 1 vm info idle)
echo "$info" | grep -q "^nic: *mac $mac_idle, tap tdm[0-9]*, bridge vmbr0" || fail "vm info: $info"
echo "$info" | grep -Eq "^  rx: *[1-9][0-9]* packets" || fail "vm info counts no packets: $info"
log "ping, KV and ARP across the switch ok; idle is $mac_idle, busy 02:00:00:00:0b:05"

# load, then 10 migrations of each back and forth
NC_PIDS=""
for ip in 10.77.1.10 10.77.1.11; do
	# ip netns exec execs netcheck: $! is its PID, and SIGTERM ends it with its report
	ip netns exec "$(cat "$L/prefix")-cl" "$NC" kv $ip 7000 --clients 3 --gap-ms 20 \
		--duration 600 --json >"$L/nc-$ip.json" &
	NC_PIDS="$NC_PIDS $!"
done
sleep 1
where_idle=1 where_busy=2
downs=""
for i in $(seq 10); do
	for v in idle busy; do
		eval "from=\$where_$v"
		to=$(( from % 3 + 1 ))
		out=$(t $from --json migrate $v 10.77.0.$to) || fail "migration $i of $v h$from -> h$to: $out"
		downs="$downs $(echo "$out" | sed -n 's/.*"downtime_ms":\([0-9.]*\).*/\1/p')"
		eval "where_$v=$to"
	done
done
sleep 1
# the load ends: each netcheck prints its verdict
for p in $NC_PIDS; do kill -TERM "$p" 2>/dev/null || true; done
for p in $NC_PIDS; do wait "$p" || true; done
NC_PIDS=""
for ip in 10.77.1.10 10.77.1.11; do
	out=$(cat "$L/nc-$ip.json")
	[ -n "$out" ] || fail "netcheck $ip printed nothing"
	echo "$out" | grep -q '"contradictions":0,' || fail "contradiction at $ip: $out"
	echo "$out" | grep -Eq '"replies":[1-9][0-9]{3,}' || fail "too few replies at $ip: $out"
	log "$ip: $(echo "$out" | sed 's/.*"sent":\([0-9]*\),"replies":\([0-9]*\),"lost":\([0-9]*\),"unexpected":[0-9]*,"contradictions":\([0-9]*\),"max_gap_ms":\([0-9.]*\).*/sent \1, replies \2, lost \3, contradictions \4, longest gap \5 ms/')"
done
log "downtimes (ms):$downs"
for v in idle busy; do
	eval "h=\$where_$v"
	integ "$h" $v >/dev/null
	t $h vm console $v --send h --wait 300 >/dev/null
	grep -q "^ANNOUNCED ack" "$L/h$h/hvd/console/$v.log" || fail "$v on h$h did not announce itself"
done
info=$(t $where_idle vm info idle)
echo "$info" | grep -q "^nic: *mac $mac_idle," || fail "the MAC changed: $info"
echo "$info" | grep -Eq "[1-9][0-9]* announcements" || fail "no host announcement: $info"
log "integrity OK on both, MACs kept, announced after each move"
