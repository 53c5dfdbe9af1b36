# dom0-lib.sh - sourced by the scripts that run in the Xen tier's dom0
# (xen-tier.sh puts it beside them in /mnt/host).
D=/mnt/host
export TANDEM_XEN_MODULE=$D/hv_xen.so	# the Xen backend of the build under test
fail() {
	echo "RESULT FAIL $*"
	xl dmesg | grep "(d[0-9]*)" | tail -15
	for f in /tmp/a.log /tmp/b.log /tmp/a.rlog /tmp/b.rlog ${FAIL_LOGS:-}; do	# the daemons' last words
		[ -f $f ] && { echo "--- $f"; tail -12 $f; }
	done
	exit 1
}
# pvh_guest NAME VCPUS CMDLINE: the workload guest (guest.elf) as a PVH domU
# of PVH_MEM MiB (64 unless set), on the physical CPUs PVH_CPUS lists, if set.
# Its TSC is never trapped (tsc_mode native): QEMU's TCG emulates SVM
# without NRIP saving, so Xen reads each trapped RDTSC from guest memory to
# step over it, and now and then that read ends in a triple fault
pvh_guest() {
	cat >"/tmp/$1.cfg" <<CFG
name = "$1"
type = "pvh"
kernel = "$D/guest.elf"
cmdline = "$3"
memory = ${PVH_MEM:-64}
vcpus = $2
on_crash = "preserve"
tsc_mode = "native"
CFG
	[ -z "${PVH_CPUS:-}" ] || echo "cpus = \"$PVH_CPUS\"" >>"/tmp/$1.cfg"
	xl create "/tmp/$1.cfg" || fail "xl create $1"
}
# xl_state NAME: its state letters in xl's list (r, b, p, s, c, d), "" when
# it is not listed; xl's list is asked a few times, as it can fail in passing
xl_state() {
	local out
	for _ in 1 2 3 4 5; do
		out=$(xl list 2>/dev/null) && break
		sleep 0.5
	done
	echo "$out" | awk -v n="$1" '$1 == n {print $5}'
}
# runs NAME: NAME is running (neither paused, shut down, crashed nor dying;
# "------" is a vCPU that waits for a CPU)
runs() { case $(xl_state "$1") in ""|*p*|*s*|*c*|*d*) return 1 ;; esac; }
# ---- the guest's console, drained as it comes (Xen's ring, 4 MiB on the tier, fills in minutes) ----
CON=/tmp/console
# con_take: what Xen's ring holds moved to $CON, one taker at a time (two
# "xl dmesg -c" at once both read the same lines, and a line counted twice)
con_take() { flock $CON.lock sh -c "xl dmesg -c >>$CON 2>/dev/null"; }
console_drain() {	# from now on Xen's console lines gather in $CON
	(while :; do con_take; sleep 1; done) &
	DRAIN=$!
	trap 'kill $DRAIN 2>/dev/null' EXIT
}
# guest: the guests' lines so far, without Xen's "(dN) " (nor a timestamp)
guest() { con_take; sed -n 's/^(d[0-9]*) \(\[ *[0-9.]*\] \)\{0,1\}//p' $CON; }
# hbs DOMID: that domain's heartbeat numbers, in order
hbs() { con_take; sed -n "s/^(d$1) \\(\\[ *[0-9.]*\\] \\)\\{0,1\\}HB \\([0-9]*\\) .*/\\2/p" $CON; }
sweeps_ok() { guest | grep -c "^INTEGRITY OK"; }
# beats: the heartbeat went up by exactly 1 across every copy.  Xen gathers
# a domain's port 0xe9 output a line at a time, per domain: a line the guest
# was writing when it was moved is cut in two, its head lost with the old
# domain and its tail ("25 pages=1234") printed by the new one; such a tail
# is that heartbeat, and said
beats() {
	guest | awk '/^HB [0-9]+ / { n = $2 + 0; if (seen && n != prev + 1) { print "gap: " prev " -> " n; bad = 1 }
		prev = n; seen = 1; count++; next }
		seen && / pages=[0-9]+$/ && $1 != "HB" { prev++; count++; torn++ }
		END { if (!seen) { print "no heartbeats"; exit 1 }
		print count " heartbeats, last " prev (torn ? " (" torn " cut in two by a move)" : ""); exit bad }'
}
sweeps() {	# sweeps N: N more integrity sweeps pass, and none ever failed
	local before=$(sweeps_ok)
	for _ in $(seq 90); do [ "$(sweeps_ok)" -ge $((before + $1)) ] && break; sleep 1; done
	[ "$(sweeps_ok)" -ge $((before + $1)) ] || fail "no integrity sweeps ($before before)"
	guest | grep -q "^INTEGRITY FAIL" && fail "an integrity sweep failed"
	return 0
}
# one NAME: exactly one domain NAME, running, and no copy under another name;
# a destroyed copy Xen still tears down (dying, "d": it never runs again)
# may be listed for a while, not for 10 s
one() {
	local l
	for t in $(seq 20); do
		l=$(xl list 2>/dev/null)
		[ "$(echo "$l" | awk -v n="$1" '$1 == n' | wc -l)" = 1 ] ||
			fail "$1 is not listed once: $(echo "$l" | tr '\n\t' '; ')"
		echo "$l" | awk -v c="$1--" 'index($1, c) == 1 && $5 !~ /d/ {bad = 1} END {exit !bad}' &&
			fail "a copy of $1 is left: $(echo "$l" | tr '\n\t' '; ')"
		echo "$l" | grep -q -- "$1--" || break
		[ $t = 20 ] && fail "a destroyed copy of $1 is still dying after 10 s: $(echo "$l" | tr '\n\t' '; ')"
		sleep 0.5
	done
	case $(xl_state "$1") in *p*) fail "$1 is paused: $(echo "$l" | tr '\n\t' '; ')" ;; esac
	return 0
}
# uuidof NAME: the domain's UUID per xl
uuidof() { xl list -v "$1" 2>/dev/null | awk 'NR == 2 {print $7}'; }
# mapof NAME: the domain's memory map as tandem's vm info gives it (JSON)
mapof() { "${TANDEM:-$D/tandem}" --host xen: --json vm info "$1" | sed -n 's/.*"memory_map":\(\[[^]]*\]\).*/\1/p'; }
# start_migrateds: two migrated daemons on the Xen backend, a on port 7101
# (/run/a.mig) and b on 7102, with the test CA's files beside the script;
# each its own share of this Xen (xen:a, xen:b), as if each were a host
start_migrateds() {
	for h in a b; do
		[ $h = a ] && port=7101 || port=7102
		mkdir -p /tmp/$h.state
		$D/migrated -f -v -s /run/$h.mig -H xen:$h -d /tmp/$h.state -l 127.0.0.1:$port \
			--cert $D/host-$h.crt --key $D/host-$h.key --ca $D/ca.crt >/tmp/$h.log 2>&1 &
	done
	for _ in $(seq 100); do [ -S /run/a.mig ] && [ -S /run/b.mig ] && break; sleep 0.2; done
	[ -S /run/b.mig ] || fail "migrated did not start: $(cat /tmp/a.log /tmp/b.log)"
}
# start_remusds: two remusd daemons on the Xen backend, no cluster (-F none),
# a on port 7201 (/run/a.rem) and b on 7202, with the test CA's files
start_remusds() {
	for h in a b; do
		[ $h = a ] && port=7201 || port=7202
		mkdir -p /tmp/$h.rstate
		$D/remusd -f -v -s /run/$h.rem -H xen:$h -F none -d /tmp/$h.rstate -l 127.0.0.1:$port \
			--cert $D/host-$h.crt --key $D/host-$h.key --ca $D/ca.crt >/tmp/$h.rlog 2>&1 &
		eval "RD_$h=$!"
	done
	for _ in $(seq 100); do [ -S /run/a.rem ] && [ -S /run/b.rem ] && break; sleep 0.2; done
	[ -S /run/b.rem ] || fail "remusd did not start: $(cat /tmp/a.rlog /tmp/b.rlog)"
}
# prot FIELD [NAME [SOCKET]]: a field of the protection's JSON on remusd a (or SOCKET)
prot() {
	"${TANDEM:-$D/tandem}" --remusd "${3:-/run/a.rem}" --json protection "${2:-tp}" 2>/dev/null |
		sed -n "s/.*\"$1\":\"\{0,1\}\([^\",}]*\).*/\1/p" | head -1
}
