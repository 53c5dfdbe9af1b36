#!/bin/bash
# A saved stream of a real guest passes ckpt-verify; the same stream with a
# flipped bit, cut short, with another version or an oversize record fails
# it with the offset and the reason - and fed to a live receiver, each gets
# a clear log line, leaves no domain behind, and the receiver keeps serving.
# A well-formed stream of another backend's state (a Xen host's) passes
# ckpt-verify, and the receiver refuses it by name, creating nothing.
. "$(dirname "$0")/../lib.sh"
start_hvd
PORT=$((20000 + RANDOM % 20000))
"$BUILD/migrated/migrated" -f -s "$T/mig" -H "$SOCK" -d "$T/mstate" -l "127.0.0.1:$PORT" --insecure >"$T/mig.log" 2>&1 &
PIDS="$PIDS $!"
for _ in $(seq 100); do [ -S "$T/mig" ] && break; sleep 0.05; done
tandem vm create src --mem 64M --kernel "$GUEST" --cmdline "dirty=2000 wss=16 heartbeat=100" >/dev/null
sleep 0.5
"$HVTOOL" -s "$SOCK" save src "$T/s.ckpt" >/dev/null || fail "save"
"$HVTOOL" -s "$SOCK" save src "$T/h.ckpt" --hello >/dev/null || fail "save --hello"
"$HVTOOL" -s "$SOCK" save src "$T/x.ckpt" --hello --origin xen >/dev/null || fail "save --origin xen"
out=$("$BUILD/ckpt-verify" "$T/s.ckpt") || fail "a good stream failed ckpt-verify: $out"
log "good stream: $(echo "$out" | tail -1)"
tandem vm destroy src >/dev/null

size=$(stat -c %s "$T/h.ckpt")
variant() {	# variant NAME: writes $T/v.ckpt from $T/h.ckpt (HELLO is 32 bytes)
	cp "$T/h.ckpt" "$T/v.ckpt"
	case $1 in
	xen) cp "$T/x.ckpt" "$T/v.ckpt" ;;
	bitflip)	# every bit of the middle byte, whatever it was (a byte written over
		# it could be the byte that was there)
		local b
		b=$(od -An -tu1 -j $((size / 2)) -N1 "$T/v.ckpt" | tr -d ' ')
		printf "\\$(printf '%03o' $((b ^ 255)))" | dd of="$T/v.ckpt" bs=1 seek=$((size / 2)) conv=notrunc 2>/dev/null ;;
	truncated) truncate -s $((size * 2 / 3)) "$T/v.ckpt" ;;
	version) printf '\x07' | dd of="$T/v.ckpt" bs=1 seek=$((32 + 8)) conv=notrunc 2>/dev/null ;;
	oversize) printf '\x00\x00\x00\x40' | dd of="$T/v.ckpt" bs=1 seek=$((32 + 24 + 4)) conv=notrunc 2>/dev/null ;;
	esac
}
for v in bitflip truncated version oversize xen; do
	variant $v
	tail -c +33 "$T/v.ckpt" >"$T/v.noh"
	if [ $v = xen ]; then
		vout=$("$BUILD/ckpt-verify" "$T/v.noh" 2>&1) || fail "ckpt-verify refused a whole xen stream: $vout"
		echo "$vout" | grep -q "origin=xen guest=x86_64-pvh" || fail "ckpt-verify: $vout"
	else
		vout=$("$BUILD/ckpt-verify" "$T/v.noh" 2>&1 >/dev/null) && fail "ckpt-verify accepted the $v stream"
	fi
	before=$(wc -l <"$T/mig.log")
	# feed it to the receiver as a peer would (bash's /dev/tcp); stay
	# connected a moment, as a peer does, so no reset overtakes the data
	({ cat "$T/v.ckpt"; sleep 1; } >/dev/tcp/127.0.0.1/$PORT) 2>/dev/null &
	feeder=$!
	for _ in $(seq 50); do
		tail -n +$((before + 1)) "$T/mig.log" | grep -q "in failed\|peer 127.0.0.1:" && break
		sleep 0.1
	done
	why=$(tail -n +$((before + 1)) "$T/mig.log" | grep -m1 "in failed\|peer 127.0.0.1:" | sed 's/.* in failed: //')
	wait $feeder 2>/dev/null || true
	[ -n "$why" ] || fail "$v: the receiver logged nothing"
	[ $v != xen ] || echo "$why" | grep -q "carries xen's state (a x86_64-pvh guest); this host's backend is hvd" ||
		fail "xen: the receiver's reason: $why"
	sleep 0.3
	tandem vm list | grep -q "^src " && fail "$v: a domain was left behind"
	log "$v: ckpt-verify: $(echo "$vout" | sed 's/.*INVALID //' | tail -1 | cut -c1-70); receiver: $(echo "$why" | cut -c1-110)"
done
[ -S "$T/mig" ] && kill -0 $(echo $PIDS | awk '{print $NF}') || fail "the receiver died"
log "receiver still serving; no domain left"
