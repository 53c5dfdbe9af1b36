#!/bin/bash
# A guest that offers its NIC malformed virtqueues (a descriptor loop, a
# buffer outside guest memory, a length that wraps, more chains than the
# queue holds) gets its device into NEEDS_RESET with a log line, and
# nothing else: hvd keeps serving, a neighbouring VM keeps answering its
# clients without a loss, and after the driver's reset each bad guest's NIC
# works again and answers ping (the success twin of every refusal).
. "$(dirname "$0")/../lib.sh"
start_hvd_netns tdmbad 2

tandem vm create good --mem 64M --kernel "$GUEST" --net vmbr0 \
	--cmdline "heartbeat=100 net=10.77.2.10/24 kv=7000" >/dev/null
wait_for good "^READY" 5
ip netns exec $NS "$BUILD/tests/netcheck" kv 10.77.2.10 7000 --clients 2 --duration 600 --json \
	>"$T/good.json" &
NCP=$!
PIDS="$PIDS $NCP"
for m in 1 2 3 4; do
	tandem vm create bad$m --mem 64M --kernel "$GUEST" --net vmbr0 \
		--cmdline "heartbeat=100 net=10.77.2.2$m/24 badvq=$m" >/dev/null
done
for m in 1 2 3 4; do
	wait_for bad$m "^BADVQ $m: device reset and working" 10
	console bad$m | grep -q "^BADVQ $m: device status 0x[0-9a-f]* NEEDS_RESET" ||
		fail "bad$m: the device did not refuse: $(console bad$m | grep BADVQ)"
done
n=$(grep -c "the device needs a reset" "$T/hvd.log" || true)
[ "$n" -ge 4 ] || fail "hvd logged $n resets for 4 bad queues"
tandem vm list | grep -c running | grep -q '^5$' || fail "not all five domains run: $(tandem vm list)"
for m in 1 2 3 4; do
	out=$(ip netns exec $NS "$BUILD/tests/netcheck" ping 10.77.2.2$m --duration 1 --interval-us 10000 --json)
	echo "$out" | grep -q '"lost":0,' && ! echo "$out" | grep -q '"replies":0,' ||
		fail "bad$m does not answer after its reset: $out"
done
kill -TERM $NCP
wait $NCP || fail "the neighbour's client saw a contradiction: $(cat "$T/good.json")"
out=$(cat "$T/good.json")
echo "$out" | grep -q '"lost":0,"unexpected":0,"contradictions":0,' || fail "the neighbour lost answers: $out"
hb_continuous "$T/state/console/good.log" >/dev/null || fail "the neighbour's heartbeat stalled"
log "4 malformed queues refused (NEEDS_RESET), each NIC reset and answering ping; the neighbour answered $(echo "$out" | sed 's/.*"replies":\([0-9]*\).*/\1/') requests without a loss"
