#!/bin/bash
# A protected VM outlives the loss of its host, and no client is ever told
# something the survivor forgets.  A VM serving the UDP KV service to
# checked clients (and dirtying memory) is protected with `tandem protect`;
# then, one after another, its primary is
#   - powered off eight times, then
#   - partitioned away alone: {primary} | {backup, third},
#   - cut off by a cable pull (ten failovers in all),
# (REMUS_POWER_OFFS sets the count: `make soak` runs 98, a hundred failovers)
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

ip netns exec "$(cat "$L/prefix")-cl" "$NC" kv 10.77.1.10 7000 --clients 2 \
	--duration $(( 300 + ${REMUS_POWER_OFFS:-8} * 30 )) --json \
	>"$L/nc.json" &
NC_PIDS=$!
probe_start
sleep 1

WEB_ON=1
# fail_over HOW [last]: web's primary is lost by HOW; its backup must take web over
fail_over() {
	local how=$1 p b t0 ms
	p=$WEB_ON
	b=$(backup_of "$p" web | tr -d h)
	[ -n "$p" ] && [ -n "$b" ] || fail "web's primary '$p' or backup '$b' unknown: $(t 1 --json status)"
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
	for _ in $(seq 100); do [ -n "$(backup_of "$b" web)" ] && break; sleep 0.05; done
	log "$how of h$p: web runs on h$b after $ms ms (table), protected again in $pms ms more ($(t "$b" protection web | awk 'NR==2{print "to", $4}'))"
	case $how in
	cable) "$LAB" cable "$L" "$p" up ;;
	partition) "$LAB" heal "$L" ;;
	esac
	WEB_ON=$b
	LAST_LOST=$p
	[ "${2:-}" != last ] || return 0
	# the old primary was powered off by the fence (or by the test): it boots
	# back once every fencer is done with it (two hosts may fence it at once,
	# and the later one would power off the host that booted meanwhile)
	for _ in $(seq 100); do [ ! -f "$L/h$p/corosync.pid" ] && break; sleep 0.1; done
	[ ! -f "$L/h$p/corosync.pid" ] || fail "h$p still runs after being fenced"
	for h in 1 2 3; do
		[ "$h" = "$p" ] || until_status "$h" "\"name\":\"h$p\",\"address\":\"10.77.0.$p\",\"status\":\"fenced\""
	done
	# the longest fence level (fence_tandem, 1 s) of any other fencer is over,
	# and knet on the survivors has let the dead instance go: a host that comes
	# back within a second or two of its death may find its links never up
	sleep 3
	"$LAB" boot "$L" "$p"
	synced_all
	[ -z "$(running_on "$p")" ] || fail "h$p runs $(running_on "$p") after it rejoined"
}

for _ in $(seq ${REMUS_POWER_OFFS:-8}); do fail_over power-off; done
# last, with no boot after: in this lab a host that lost its cable (or was
# partitioned) and was fenced may keep a survivor's knet link down to a host
# restarted later (docs/lab-facts.md)
fail_over partition
fail_over cable last

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
integ "$WEB_ON" web >/dev/null
# what remusd and fenced tell Prometheus after all of it (prometheus_client's
# strict parser): epochs, the protection, the takeover, the cluster's view
m() {	# m H PORT SAMPLE: one value from host H's endpoint
	"$LAB" exec "$L" "$1" /usr/bin/python3 "$SRC/tests/metrics.py" get "http://10.77.0.$1:$2/metrics" "$3" |
		awk '{ if ($2 == "absent") print -1; else printf "%d\n", $2 }'
}
[ "$(m "$WEB_ON" 9472 'tandem_remus_protection{role=primary,state=protected,vm=web}')" = 1 ] ||
	fail "remusd on h$WEB_ON: no protected primary web: $("$LAB" exec "$L" "$WEB_ON" /usr/bin/python3 "$SRC/tests/metrics.py" get "http://10.77.0.$WEB_ON:9472/metrics" | grep protection)"
[ "$(m "$WEB_ON" 9472 'tandem_remus_epochs_total{}')" -gt 10 ] || fail "remusd: no epochs counted"
[ "$(m "$WEB_ON" 9472 'tandem_remus_epoch_pause_seconds_count{}')" -gt 10 ] || fail "remusd: no pauses"
[ "$(m "$WEB_ON" 9472 'tandem_remus_state_entries_total{state=taken-over}')" -ge 1 ] || fail "remusd: its takeover not counted"
[ "$(m "$WEB_ON" 9473 'tandem_cluster_quorate{}')" = 1 ] || fail "fenced: not quorate"
[ "$(m "$WEB_ON" 9473 'tandem_cluster_vms{protected=yes,state=running}')" = 1 ] || fail "fenced: web not a protected running VM"
[ "$(m "$WEB_ON" 9473 'tandem_cluster_hosts{status=up}')" = 2 ] || fail "fenced: not two hosts up"
confirmed=0
for h in 1 2 3; do
	[ "$h" = "$LAST_LOST" ] && continue
	confirmed=$((confirmed + $(m "$h" 9473 'tandem_fence_actions_total{result=confirmed}')))
done
[ "$confirmed" -ge 1 ] || fail "fenced: no confirmed fencing counted on the survivors"
log "metrics: remusd on h$WEB_ON $(m "$WEB_ON" 9472 'tandem_remus_epochs_total{}') epochs, protected primary, takeovers counted; fenced quorate, 2 hosts up, web protected and running, $confirmed fencings confirmed since the survivors' last start"
# each epoch pauses the VM for a moment, and a paused VM is not running:
# unprotected, it runs without a break, so "runs once at the end" holds
t "$WEB_ON" unprotect web >/dev/null || fail "unprotect at the end"
lg=$(ledger_check web) || exit 1
log "probe: $res; integrity OK on h$WEB_ON; ledger: $lg"
