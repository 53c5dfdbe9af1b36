#!/bin/bash
# Inputs that once broke fenced or fence_tandem, each beside the good input
# that must keep working:
#  - a fence level with many hosts= words overflowed the config parser's
#    pending list (a crash under ASan): it is now "hosts= given twice", and
#    the same level with one hosts=a,b list loads;
#  - a connect refused at once counted as connected, so `fence_tandem
#    action=status` said ON for a port nobody listens on: it now says OFF
#    (exit 2), and ON (exit 0) for a listening migrated.
set -eu
fail() { echo "FAIL: $*" >&2; exit 1; }
D=$(mktemp -d /tmp/tandem-conf.XXXXXX)
MPID=""
trap '[ -z "$MPID" ] || kill $MPID 2>/dev/null; rm -rf "$D"' EXIT
F="$BUILD/fencing/fenced"
good="host 1 a 10.0.0.1
host 2 b 10.0.0.2
host 3 c 10.0.0.3"
{ echo "$good"; printf 'fence-level 1 /bin/true'; for i in $(seq 15); do printf ' hosts=a'; done; echo; } >"$D/many.conf"
out=$("$F" -n -c "$D/many.conf" 2>&1) && fail "many hosts= accepted: $out"
echo "$out" | grep -q "many.conf:4: fence-level 1: hosts= given twice" || fail "many hosts=: $out"
{ echo "$good"; echo "fence-level 1 /bin/true hosts=a,b"; echo "fence-level 2 /bin/true hosts=c"; } >"$D/ok.conf"
out=$("$F" -n -c "$D/ok.conf" 2>&1) || fail "good config refused: $out"
echo "$out" | grep -q "3 hosts, 2 fence levels: ok" || fail "good config: $out"
echo "  config: 15 hosts= words refused (hosts= given twice); one hosts=a,b list loads"

# a port nobody listens on: refused at once
port=$(( 20000 + RANDOM % 20000 ))
out=$(printf 'action=status\nip=127.0.0.1\nipport=%s\ninsecure=1\n' $port | "$BUILD/fencing/fence_tandem" 2>&1) && fail "status ON for a closed port: $out"
rc=$?
[ $rc = 2 ] || fail "closed port: exit $rc: $out"
echo "$out" | grep -q "Connection refused" || fail "closed port: $out"
# a listening migrated
mkdir -p "$D/mig"
"$BUILD/migrated/migrated" -f -s "$D/mig.sock" -H "$D/hvd.sock" -d "$D/mig" -l 127.0.0.1:$port --insecure >"$D/mig.log" 2>&1 &
MPID=$!
for _ in $(seq 50); do [ -S "$D/mig.sock" ] && break; sleep 0.1; done
out=$(printf 'action=status\nip=127.0.0.1\nipport=%s\ninsecure=1\n' $port | "$BUILD/fencing/fence_tandem" 2>&1) || fail "status of a listening migrated: $out"
echo "$out" | grep -q "Status: ON" || fail "listening: $out"
echo "  fence_tandem status: OFF (connection refused) for a closed port, ON for a listening migrated"
