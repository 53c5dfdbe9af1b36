#!/bin/bash
# A protected VM outlives the loss of its host, and no client is ever told
# something the survivor forgets.  A VM serving the UDP KV service to
# checked clients (and dirtying memory) is protected with `tandem protect`;
# then, one after another, its primary is
#   - powered off,
#   - cut off by a cable pull,
#   - partitioned away alone: {primary} | {backup, third},
# and each time the backup's remusd resumes the shadow only once the table
# says the old primary is fenced (TAKEOVER), the VM is protected again to
# the third host by itself, and the old host boots back.  Over the whole
# run the clients see no contradiction (no acknowledged put forgotten, no
# version or heartbeat going back), the probe and the run ledgers see no
# moment with two running copies, and the guest's integrity sweep passes.
set -eu
. "$(dirname "$0")/../lab/labtest.sh"
lab_test_setup 'for p in ${NC_PIDS:-}; do kill "$p" 2>/dev/null || true; done'
lab_up3
NC=$BUILD/tests/netcheck

t 1 vm create web --mem 128M --kernel "$G" --net vmbr0 \
	--cmdline "heartbeat=100 dirty=5000 wss=64 net=10.77.1.10/24 kv=7000" >/dev/null
for _ in $(seq 50); do grep -q READY "$L/h1/hvd/console/web.log" 2>/dev/null && break; sleep 0.1; done
out=$(t 1 --json protect web --backup h2 --epoch 25) || fail "protect: $out"
echo "$out" | grep -q '"result":"ok"' || fail "protect: $out"
[ "$(backup_of 3 web)" = h2 ] || fail "the table on h3 does not name h2 as web's backup: $(t 3 --json status)"
st=$(t 2 protection web)
echo "$st" | grep -q "web  *backup  *protected  *h1 " || fail "h2's view: $st"
log "web protected h1 -> h2 (25 ms epochs); h2 holds its shadow, the table records the backup"

ip netns exec "$(cat "$L/prefix")-cl" "$NC" kv 10.77.1.10 7000 --clients 2 --duration 900 --json \
	>"$L/nc.json" &
NC_PIDS=$!
probe_start
sleep 1

# fail_over HOW PRIMARY BACKUP: PRIMARY is lost by HOW; BACKUP must take web over
fail_over() {
	local how=$1 p=$2 b=$3 t0 ms
	t0=$(now_ms)
	case $how in
	power-off) "$LAB" poweroff "$L" "$p" ;;
	cable) "$LAB" cable "$L" "$p" down ;;
	partition) "$LAB" partition "$L" "$(echo 1 2 3 | tr ' ' '\n' | grep -v "^$p$" | paste -sd,)|$p" ;;
	esac
	AVOID=$p ms=$(wait_owned "$b" 20 web)
	[ "$(vms_of "$b" | grep '^web ')" != "" ] || fail "no web in h$b's table"
	vms_of "$b" | grep -q "^web $b " || fail "web is not h$b's after $how of h$p: $(vms_of "$b")"
	grep -q "web (backup): failing-over -> taken-over" "$L/h$b/remusd.log" ||
		fail "h$b's remusd did not take web over"
	local pms=$(wait_protected "$b" 20 web)
	log "$how of h$p: web runs on h$b after $ms ms (table), protected again in $pms ms more ($(t "$b" protection web | awk 'NR==2{print "to", $4}'))"
	case $how in
	cable) "$LAB" cable "$L" "$p" up ;;
	partition) "$LAB" heal "$L" ;;
	esac
	# the old primary was powered off by the fence (or by the test): it boots back
	for _ in $(seq 100); do [ ! -f "$L/h$p/corosync.pid" ] && break; sleep 0.1; done
	[ ! -f "$L/h$p/corosync.pid" ] || fail "h$p still runs after being fenced"
	"$LAB" boot "$L" "$p"
	synced_all
	[ -z "$(running_on "$p")" ] || fail "h$p runs $(running_on "$p") after it rejoined"
}

fail_over power-off 1 2
fail_over cable 2 "$(backup_of 3 web | tr -d h)"
cur=$(vms_of 1 | awk '$1=="web"{print $2}')
fail_over partition "$cur" "$(backup_of 1 web | tr -d h)"

sleep 1
res=$(probe_stop)
kill -TERM $NC_PIDS
wait $NC_PIDS || true
NC_PIDS=""
out=$(cat "$L/nc.json")
echo "$out" | grep -q '"contradictions":0,' || fail "a client saw web forget: $(echo "$out" | cut -c1-700)"
echo "$out" | grep -Eq '"replies":[1-9][0-9]{3,}' || fail "too few replies: $(echo "$out" | cut -c1-300)"
log "clients: $(echo "$out" | sed 's/.*"sent":\([0-9]*\),"replies":\([0-9]*\),"lost":\([0-9]*\),"unexpected":[0-9]*,"contradictions":\([0-9]*\),"max_gap_ms":\([0-9.]*\).*/sent \1, replies \2, lost \3 (in flight), contradictions \4, longest gap \5 ms/')"
case "$res" in "0 double runs"*) ;; *) fail "probe: $res" ;; esac
cur=$(vms_of 1 | awk '$1=="web"{print $2}')
integ "$cur" web >/dev/null
log "probe: $res; integrity OK on h$cur; ledger: $(ledger_check web)"
