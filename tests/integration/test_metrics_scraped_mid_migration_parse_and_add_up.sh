#!/bin/bash
# The OpenMetrics endpoints of hvd and migrated, scraped while a migration
# runs and parsed by prometheus_client's strict OpenMetrics parser:
#  - every scrape during the migration parses (a torn or malformed
#    exposition would break every Prometheus that scrapes a busy host), and
#    one of them saw the migration running;
#  - afterwards the figures add up to what `tandem migrate` reported: one
#    outgoing migration done on the source, one incoming on the destination,
#    its downtime in the histogram, its bytes and rounds;
#  - a failed migration is counted as failed, not done;
#  - the endpoint serves only GET /metrics (404 elsewhere, 405 for POST), and
#    the parser is shown to refuse an exposition without its "# EOF";
#  - under systemd (stderr is the journal) the daemons' lines reach the
#    journal's socket with structured fields: the migration's state changes
#    carry TANDEM_VM, TANDEM_MIGRATION and TANDEM_STATE, the domain
#    process's carry TANDEM_VM (a journal without them could not be
#    filtered by VM).
. "$(dirname "$0")/../lib.sh"
M="$SRC/tests/metrics.py"
MP=$((20000 + RANDOM % 20000))
MA=127.0.0.1:$MP MB=127.0.0.1:$((MP + 1)) HA=127.0.0.1:$((MP + 2))
MIG_ARGS_a="--metrics $MA" MIG_ARGS_b="--metrics $MB" HVD_ARGS_a="--metrics $HA"
# a journal: every datagram the daemons send it, one line each
/usr/bin/python3 - "$T/journal.sock" >"$T/journal.txt" <<'PY' &
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
while True:
    print(s.recv(65536).decode().replace("\n", "|"), flush=True)
PY
PIDS="$PIDS $!"
for _ in $(seq 100); do [ -S "$T/journal.sock" ] && break; sleep 0.05; done
export JOURNAL_STREAM=8:1 TANDEM_JOURNAL_SOCKET=$T/journal.sock
start_hosts
unset JOURNAL_STREAM TANDEM_JOURNAL_SOCKET
get() { "$M" get "http://$1/metrics" "${@:2}" | awk '{ if ($2 == "absent") print $2; else printf "%.15g\n", $2 }'; }

on a vm create busy --mem 256M --kernel "$GUEST" --cmdline "dirty=5000 wss=192 heartbeat=50" >/dev/null
sleep 1
[ "$(get $HA 'tandem_hvd_domains{}')" = 1 ] || fail "hvd's metrics: $("$M" get "http://$HA/metrics" 2>&1)"
# scrape the source every 20 ms through a migration slowed to ~5 s (50 MB/s)
"$M" watch "http://$MA/metrics" 12 "$T/scrapes" &
W=$!
PIDS="$PIDS $W"
sleep 0.3
out=$(on a --json migrate busy "127.0.0.1:$PORT_B" --bandwidth 400 --no-lz4 --downtime 5) || fail "migrate: $out"
echo "$out" | grep -q '"result":"ok"' || fail "$out"
kill $W 2>/dev/null; wait $W 2>/dev/null || true
n=$(wc -l <"$T/scrapes")
bad=$(grep -c '^bad' "$T/scrapes" || true)
[ "$n" -ge 50 ] || fail "only $n scrapes"
[ "$bad" = 0 ] || fail "$bad of $n scrapes did not parse: $(grep -m3 '^bad' "$T/scrapes")"
grep -q '^ok 1$' "$T/scrapes" || fail "no scrape saw the migration running"
log "$n scrapes of migrated during the migration, every one parsed; $(grep -c '^ok 1$' "$T/scrapes") saw it running"

# the figures add up to the migration's own report
dt=$(echo "$out" | sed 's/.*"downtime_ms":\([0-9.]*\).*/\1/')
bytes=$(echo "$out" | sed 's/.*"bytes_sent":\([0-9]*\).*/\1/')
rounds=$(echo "$out" | sed 's/.*"rounds":\([0-9]*\).*/\1/')
[ "$(get $MA 'tandem_migrations_total{direction=out,result=done}')" = 1 ] || fail "source: not one done: $("$M" get "http://$MA/metrics")"
[ "$(get $MB 'tandem_migrations_total{direction=in,result=done}')" = 1 ] || fail "destination: not one done"
[ "$(get $MA 'tandem_migration_downtime_seconds_count{}')" = 1 ] || fail "downtime histogram count"
s=$(get $MA 'tandem_migration_downtime_seconds_sum{}')
awk -v s="$s" -v d="$dt" 'BEGIN { exit !(s * 1000 > d - 0.01 && s * 1000 < d + 0.01) }' ||
	fail "downtime sum $s s, report $dt ms"
[ "$(get $MA 'tandem_migration_sent_bytes_total{}')" = "$bytes" ] || fail "bytes: $(get $MA 'tandem_migration_sent_bytes_total{}') / $bytes"
[ "$(get $MA 'tandem_migration_rounds_total{}')" = "$rounds" ] || fail "rounds"
[ "$(get $MA 'tandem_migrations_running{direction=out}')" = 0 ] || fail "still running"
[ "$(get $HA 'tandem_hvd_domains{}')" = 0 ] || fail "hvd still counts the domain"
log "after: 1 out done (source), 1 in done (destination), downtime $s s = report $dt ms, $bytes bytes, $rounds rounds"

# a failed migration is a failure
on b --json migrate busy 127.0.0.1:1 >/dev/null 2>&1 && fail "migration to port 1 succeeded"
[ "$(get $MB 'tandem_migrations_total{direction=out,result=failed}')" = 1 ] || fail "failure not counted"
[ "$(get $MB 'tandem_migrations_total{direction=out,result=done}')" = 0 ] || fail "failure counted as done"
log "a migration to a closed port: counted failed, not done"

# only GET /metrics; the parser is strict
code() { /usr/bin/python3 -c "import sys, urllib.request, urllib.error
try:
    urllib.request.urlopen(urllib.request.Request(sys.argv[1], method=sys.argv[2]), timeout=5); print(200)
except urllib.error.HTTPError as e: print(e.code)" "$@"; }
[ "$(code "http://$MA/other" GET)" = 404 ] || fail "GET /other: $(code "http://$MA/other" GET)"
[ "$(code "http://$MA/metrics" POST)" = 405 ] || fail "POST /metrics: $(code "http://$MA/metrics" POST)"
/usr/bin/python3 -c "import urllib.request; print(urllib.request.urlopen('http://$MA/metrics').read().decode(), end='')" >"$T/good.txt"
"$M" parse "$T/good.txt" || fail "a real scrape does not parse"
grep -v '^# EOF' "$T/good.txt" >"$T/noeof.txt"
"$M" parse "$T/noeof.txt" 2>/dev/null && fail "the parser took an exposition without # EOF"
log "GET /other 404, POST 405; the parser takes a scrape and refuses it without # EOF"

# the journal's fields
j=$T/journal.txt
grep -q "SYSLOG_IDENTIFIER=migrated|MESSAGE=migration busy out: .* -> done|.*TANDEM_VM=busy|TANDEM_MIGRATION=[0-9]*|TANDEM_STATE=done|" "$j" ||
	fail "no migration state change with its fields: $(grep -m3 "migration busy" "$j")"
grep -q "SYSLOG_IDENTIFIER=migrated|MESSAGE=migration busy in: .*TANDEM_VM=busy|TANDEM_MIGRATION=in|TANDEM_STATE=" "$j" ||
	fail "no incoming migration line with its fields"
grep -q "SYSLOG_IDENTIFIER=hvd|MESSAGE=busy: state .* -> running.*TANDEM_VM=busy|TANDEM_STATE=running|" "$j" ||
	fail "no domain state change with its fields: $(grep -m3 "SYSLOG_IDENTIFIER=hvd" "$j")"
grep -q "PRIORITY=4|SYSLOG_IDENTIFIER=migrated|MESSAGE=migration busy out failed: .*TANDEM_STATE=failed|" "$j" ||
	fail "the failed migration's warning lacks its fields"
[ ! -s "$T/a.mig.log" ] || ! grep -q "migration busy out" "$T/a.mig.log" || fail "lines went to stderr as well"
log "journal: $(wc -l <"$j") entries; migrations' state changes carry TANDEM_VM, TANDEM_MIGRATION, TANDEM_STATE; the domain's TANDEM_VM"
