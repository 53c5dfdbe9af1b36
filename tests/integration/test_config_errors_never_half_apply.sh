#!/bin/bash
# tandem.conf, the one file every daemon reads, beside the failures it
# prevents:
#  - the shipped example (conf/tandem.conf, with certificates made by
#    tandem-ca) passes every daemon's -n: an example that no daemon accepts
#    would be the first thing an admin copies;
#  - a bad file is refused by each daemon with FILE:LINE and what is wrong,
#    and none starts on it;
#  - SIGHUP parses into a fresh structure: fenced applies new fence levels
#    and timers, keeps (and names) what needs a restart, and a broken file
#    changes nothing; hvd, migrated and remusd say what is good or refused
#    and keep serving (SIGHUP once stopped hvd);
#  - the daemons and the CLI take their sockets from the file;
#  - every program answers --help (stdout, exit 0) and --version.
. "$(dirname "$0")/../lib.sh"

# the example, made real: certificates from tandem-ca, paths into $T
"$SRC/ctl/tandem-ca" init "$T/ca" >/dev/null
"$SRC/ctl/tandem-ca" issue "$T/ca" host1 >/dev/null
"$SRC/ctl/tandem-ca" issue "$T/ca" fence --role fencer >/dev/null
head -c 64 /dev/urandom >"$T/authkey"
mkdir -p "$T/sbin"
ln -s "$BUILD/fencing/fence_tandem" "$T/sbin/fence_tandem"
P=$((20000 + RANDOM % 20000))	# the metrics ports, away from an installed Tandem's
sed -e "s|127.0.0.1:9470|127.0.0.1:$P|; s|127.0.0.1:9471|127.0.0.1:$((P + 1))|" \
    -e "s|127.0.0.1:9472|127.0.0.1:$((P + 2))|; s|127.0.0.1:9473|127.0.0.1:$((P + 3))|" \
    -e "s|/etc/tandem/ca|$T/ca|g" -e "s|/etc/corosync/authkey|$T/authkey|" \
    -e "s|/run/tandem|$T/run|g" -e "s|/var/lib/tandem|$T/lib|g" -e "s|/usr/sbin/|$T/sbin/|" \
    "$SRC/conf/tandem.conf" >"$T/tandem.conf"
for p in hvd migrated/migrated remusd/remusd fencing/fenced; do
	out=$("$BUILD/$p" -n -c "$T/tandem.conf" 2>&1) || fail "$p -n refused the example: $out"
	echo "$out" | grep -q "ok" || fail "$p -n: $out"
done
"$BUILD/migrated/migrated" -n -c "$T/tandem.conf" | grep -q "migrated on $T/run/migrated.sock, peers on :7447 (TLS), 3 hosts, hypervisor hvd:$T/run/hvd.sock, cluster through fenced at $T/run/fenced.sock" ||
	fail "migrated did not take its settings from the file: $("$BUILD/migrated/migrated" -n -c "$T/tandem.conf")"
grep -v "^fence" "$T/tandem.conf" >"$T/peers.conf"	# hosts name the peers only (Pacemaker's way)
"$BUILD/remusd/remusd" -n -c "$T/peers.conf" | grep -q ", no cluster$" || fail "hosts alone made a Tandem cluster"
log "the shipped example passes hvd, migrated, remusd and fenced -n (TLS files from tandem-ca); migrated and remusd go through fenced, not without fence levels or a fenced statement"

# bad files: each daemon that reads the statement refuses it with FILE:LINE
bad() {	# bad LINE EXPECTED-TEXT DAEMON...: LINE replaces the example's statement
	local line=$1 want=$2 p out
	shift 2
	case $want in
	*twice*) cp "$T/tandem.conf" "$T/bad.conf" ;;
	*) grep -v "^${line%% *} " "$T/tandem.conf" >"$T/bad.conf" ;;
	esac
	echo "$line" >>"$T/bad.conf"
	local n; n=$(wc -l <"$T/bad.conf")
	for p in "$@"; do
		out=$("$BUILD/$p" -n -c "$T/bad.conf" 2>&1) && fail "$p accepted '$line'"
		echo "$out" | grep -q "bad.conf:$n: .*$want" || fail "$p on '$line': $out"
	done
}
ALL="hvd migrated/migrated remusd/remusd fencing/fenced"
bad "frobnicate 1" "unknown statement 'frobnicate'" $ALL
bad "fence-timeout soon" "usage: fence-timeout MILLISECONDS" $ALL
bad "hvd backing=ramdisk" "backing=ramdisk: auto, hugetlb or shmem" $ALL
bad "remusd epoch=2" "an epoch is 5 to 10000 ms" $ALL
bad "tls cert=/x.crt" "tls needs cert=, key= and ca=" $ALL
bad "hypervisor vmware:" "unknown hypervisor 'vmware:'" $ALL
bad "storm-share 60" "'storm-share' given twice" $ALL
bad "host 2 host4 192.0.2.4" "given twice" $ALL
bad "migrated colour=blue" "unknown 'colour=blue'" $ALL
printf 'host 1 a 10.0.0.1\nfence-level 1 %s/nowhere/fence_x\n' "$T" >"$T/noagent.conf"
out=$("$BUILD/fencing/fenced" -n -c "$T/noagent.conf" 2>&1) && fail "fenced accepted a missing agent"
echo "$out" | grep -q "fence-level 1: $T/nowhere/fence_x: No such file" || fail "missing agent: $out"
out=$("$BUILD/fencing/fenced" -n -c "$T/none.conf" 2>&1) && fail "fenced accepted a missing file"
echo "$out" | grep -q "none.conf: No such file or directory (tandem.conf(5)" || fail "missing file: $out"
log "9 bad statements refused by all four daemons with FILE:LINE; a missing agent or file named"

# fenced: SIGHUP applies levels and timers, keeps hosts, refuses a broken file
mkdir -p "$T/lib"
"$BUILD/fencing/fenced" -f -c "$T/tandem.conf" >"$T/fenced.log" 2>&1 &
FPID=$!
PIDS="$PIDS $FPID"
for _ in $(seq 100); do [ -S "$T/run/fenced.sock" ] && break; sleep 0.05; done
[ -S "$T/run/fenced.sock" ] || fail "fenced did not take its socket from the file: $(cat "$T/fenced.log")"
hup() {	# hup PID LOG EXPECTED: SIGHUP, then wait for the line
	local n0; n0=$(grep -c "reload" "$2" || true)
	kill -HUP "$1"
	for _ in $(seq 100); do
		[ "$(grep -c "reload" "$2" || true)" -gt "$n0" ] && sleep 0.1 && break
		sleep 0.05
	done
	kill -0 "$1" 2>/dev/null || fail "SIGHUP stopped pid $1: $(tail -3 "$2")"
	tail -n +$((n0 + 1)) "$2" | grep -q -- "$3" || fail "after SIGHUP: no '$3' in $(grep reload "$2")"
}
cp "$T/tandem.conf" "$T/orig.conf"
sed -i -e 's/^fence-timeout .*/fence-timeout 4000/' -e 's/^storm-share .*/storm-share 34/' "$T/tandem.conf"
echo "fence-level 2 /bin/true" >>"$T/tandem.conf"
hup $FPID "$T/fenced.log" "applied fence-level, fence-timeout/storm-share/self-fence (2 fence levels, fence-timeout 4000 ms, storm-share 34%"
echo "fence-level x /bin/true" >>"$T/tandem.conf"
hup $FPID "$T/fenced.log" "reload refused, the running configuration is kept: $T/tandem.conf:$(wc -l <"$T/tandem.conf"): usage: fence-level N AGENT"
sed -i '$d' "$T/tandem.conf"
sed -i 's/^host 3 host3 192.0.2.3/host 3 host3 192.0.2.33/' "$T/tandem.conf"
hup $FPID "$T/fenced.log" "changed for fenced: host (kept until fenced restarts)"
log "fenced SIGHUP: new levels and timers applied; a broken file refused with FILE:LINE and nothing changed; a host change kept until restart"

# hvd: SIGHUP reads the file again and keeps serving
cp "$T/orig.conf" "$T/tandem.conf"
"$BUILD/hvd" -f -c "$T/tandem.conf" >"$T/hvd.log" 2>&1 &
HPID=$!
PIDS="$PIDS $HPID"
for _ in $(seq 100); do [ -S "$T/run/hvd.sock" ] && break; sleep 0.05; done
[ -S "$T/run/hvd.sock" ] || fail "hvd did not take its socket from the file"
hup $HPID "$T/hvd.log" "reload: $T/tandem.conf is good; changed for hvd: nothing"
sed -i 's/backing=auto/backing=shmem/' "$T/tandem.conf"
hup $HPID "$T/hvd.log" "changed for hvd: hvd (kept until hvd restarts"
echo "hvd state=/a state=/b" >>"$T/tandem.conf"
hup $HPID "$T/hvd.log" "reload refused"
# the CLI finds hvd through the file
out=$(TANDEM_HOST= TANDEM_CONF="$T/tandem.conf" "$BUILD/tandem" --json vm list 2>&1) && fail "the CLI used a broken file: $out"
echo "$out" | grep -q "'hvd' given twice" || fail "CLI on a broken file: $out"
cp "$T/orig.conf" "$T/tandem.conf"
env -u TANDEM_HOST "$BUILD/tandem" --config "$T/tandem.conf" --json vm list | grep -q '"vms":\[\]\|^\[\]\|"vms"' ||
	fail "the CLI did not reach hvd through --config: $(env -u TANDEM_HOST "$BUILD/tandem" --config "$T/tandem.conf" --json vm list 2>&1)"
log "hvd SIGHUP: good, changed (kept until restart) and refused files reported, hvd serving; the CLI finds hvd through tandem.conf"

# remusd applies a new default epoch at once; migrated keeps everything
"$BUILD/remusd/remusd" -f -c "$T/tandem.conf" -F "$T/nofenced.sock" -l 127.0.0.1:$((P + 10)) >"$T/remusd.log" 2>&1 &
RPID=$!
"$BUILD/migrated/migrated" -f -c "$T/tandem.conf" -l 127.0.0.1:$((P + 11)) >"$T/migrated.log" 2>&1 &
MPID=$!
PIDS="$PIDS $RPID $MPID"
for _ in $(seq 100); do [ -S "$T/run/remusd.sock" ] && [ -S "$T/run/migrated.sock" ] && break; sleep 0.05; done
[ -S "$T/run/remusd.sock" ] && [ -S "$T/run/migrated.sock" ] || fail "remusd or migrated did not start: $(tail -3 "$T/remusd.log" "$T/migrated.log")"
sed -i 's/epoch=25/epoch=40/' "$T/tandem.conf"
hup $RPID "$T/remusd.log" "applied remusd (the default epoch is now 40 ms"
hup $MPID "$T/migrated.log" "changed for migrated: nothing"
sed -i 's/listen=:7447/listen=:7450/' "$T/tandem.conf"
hup $MPID "$T/migrated.log" "changed for migrated: migrated (kept until migrated restarts)"
log "remusd SIGHUP: the new default epoch applied; migrated SIGHUP: nothing changed, then a new listener kept until restart"

# --help and --version everywhere
for p in hvd migrated/migrated remusd/remusd fencing/fenced tandem ckpt-verify fencing/fence_tandem; do
	out=$("$BUILD/$p" --help 2>/dev/null) || fail "$p --help exits $?"
	echo "$out" | grep -qi "usage" || fail "$p --help prints no usage on stdout"
	"$BUILD/$p" --version | grep -q "(Tandem) [0-9]" || fail "$p --version"
done
for p in "$SRC/ctl/tandem-ca"; do
	"$p" --help | grep -q usage || fail "tandem-ca --help"
	"$p" --version | grep -q "(Tandem)" || fail "tandem-ca --version"
done
out=$("$BUILD/hvd" --bogus 2>&1 >/dev/null) && fail "hvd took --bogus"
echo "$out" | grep -q usage || fail "hvd --bogus: $out"
log "every program: --help on stdout with exit 0, --version, a bad option gets usage on stderr"
