#!/bin/bash
# Runs in the Xen tier's dom0 for bench/xen, with tandem, migrated,
# guest.elf, the migration files and bench.conf (RUNS, RATE) beside it: the
# same busy PVH guest live-migrated to this host RUNS times by xl migrate and
# then RUNS times by tandem migrate.  Each migration's downtime is
# measured the same way for both, from outside: the guest prints a heartbeat
# every 10 ms, Xen stamps each console line with its own clock
# (console_timestamps=boot), and the longest interval between two
# heartbeats around the migration, less one period, is how long the guest
# stood.  Prints one "RESULT ROW tool downtime_ms self_ms total_ms bytes" line per
# migration (self_ms: what the tool says its downtime was, - for xl), then
# the guest's heartbeat and integrity; after each tandem row a "RESULT PHASES"
# line, tandem's downtime in its phases (us).
. /mnt/host/dom0-lib.sh
. $D/bench.conf
T=$D/tandem
console_drain
pvh_guest bx 1 "heartbeat=10 dirty=$RATE wss=16 integrity=5"
for _ in $(seq 60); do guest | grep -q "^HB 20 " && break; sleep 1; done
start_migrateds
# hb: "N SECONDS" per heartbeat line, from Xen's stamps
hb() { con_take; sed -n 's/^(d[0-9]*) \[ *\([0-9.]*\)\] HB \([0-9]*\) .*/\2 \1/p' $CON; }
last_hb() { hb | tail -1 | cut -d' ' -f1; }
# gap FROM TO: the longest interval between heartbeats FROM..TO, in ms, less the period
gap() { hb | awk -v a="$1" -v b="$2" '$1 >= a && $1 <= b { if (p != "") { d = $2 - p; if (d > m) m = d } p = $2 }
	END { printf "%.1f", m * 1000 - 10 }'; }
settle() {	# until two heartbeats came after the migration
	local k=$(last_hb)
	for _ in $(seq 100); do [ "$(last_hb)" -ge $((k + 2)) ] && return 0; sleep 0.1; done
	fail "no heartbeats after the migration"
}
# xl's receiver, counting what it is sent (dd's tally on its stderr)
printf '#!/bin/bash\ndd bs=64k 2>/tmp/xl.dd | xl migrate-receive\n' >/tmp/xl-recv
chmod +x /tmp/xl-recv
# xl first: xl migrate needs the domain's libxl record, which xl's own
# receiver writes and a domain tandem built does not have
for i in $(seq "$RUNS"); do
	k=$(last_hb)
	t0=$(date +%s%N)
	xl migrate -s "" bx /tmp/xl-recv >/tmp/xl.out 2>&1 ||
		fail "xl migrate: $(tail -5 /tmp/xl.out)"
	t1=$(date +%s%N)
	one bx
	settle
	sleep 1
	echo "RESULT ROW xl $(gap "$k" "$(last_hb)") - $(( (t1 - t0) / 1000000 )) $(sed -n 's/^\([0-9]*\) bytes.*/\1/p' /tmp/xl.dd)"
done
from=a port=7102
for i in $(seq "$RUNS"); do
	k=$(last_hb)
	res=$($T --migrated /run/$from.mig --json migrate bx 127.0.0.1:$port --downtime 5 2>&1) ||
		{ tail -20 /tmp/a.log /tmp/b.log; fail "tandem migrate: $res"; }
	one bx
	settle
	sleep 1
	f() { echo "$res" | sed -n "s/.*\"$1\":\([0-9.]*\).*/\1/p"; }
	echo "RESULT ROW tandem $(gap "$k" "$(last_hb)") $(f downtime_ms) $(f total_ms) $(f bytes_sent)"
	echo "RESULT PHASES $(echo "$res" | sed -n 's/.*"downtime_phases_us":{\([^}]*\)}.*/\1/p' | tr -d '"')"
	[ $from = a ] && { from=b port=7101; } || { from=a port=7102; }
done
# where the destination's paused part went, as its migrated logs it
grep -h "paused part" /tmp/a.log /tmp/b.log | sed 's/.*paused part: /RESULT DEST /'
sweeps 1
r=$(beats) || fail "heartbeat: $r"
echo "RESULT heartbeat $r; integrity OK ($(sweeps_ok) sweeps)"
echo "RESULT PASS"
