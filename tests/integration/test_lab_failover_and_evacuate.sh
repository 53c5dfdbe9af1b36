#!/bin/bash
# Evacuate and power-off failover on a 3-host lab whose fence levels are a
# hanging agent, a failing agent and fence_lab.
#  - `tandem evacuate h1 --dry-run` prints a plan; `tandem evacuate h1`
#    live-migrates three busy VMs away in parallel: all arrive, each passes
#    its integrity check, the table gives h1 nothing and h1 is maintenance.
#  - Power-off of h3 running two VMs with the restart policy and one
#    without: the hanging agent is killed at fence-timeout, the failing one
#    is skipped, fence_lab confirms; the restart VMs run again on h1/h2
#    (placement by free memory, the maintenance host excluded), the other
#    is stopped; every host's table agrees; the probe never sees a VM on
#    two hosts.  The time from power-off to running again is printed.
#  - `tandem events --follow --json` on h2, running through all of it,
#    tells each of those changes once, in order, as JSON lines: creations,
#    migrations, the mode changes, h3 lost and fenced, the restarts; and
#    `tandem events` on h1 tells the same table changes.
set -eu
. "$(dirname "$0")/../lab/labtest.sh"
A=$(mktemp -d /tmp/tandem-agents.XXXXXX)
lab_test_setup 'rm -rf "$A"'
printf '#!/bin/sh\ncat >/dev/null\nexec sleep 600\n' >"$A/fence_hang"
printf '#!/bin/sh\ncat >/dev/null\necho "fence_fail: no such power switch" >&2\nexit 1\n' >"$A/fence_fail"
chmod +x "$A"/fence_*
export LAB_FENCE_LEVELS="fence-level 1 $A/fence_hang
fence-level 2 $A/fence_fail
fence-level 3 $SRC/tests/lab/fence_lab labdir=$L"
LAB_FENCE_TIMEOUT=800 LAB_TIMERS=fast "$LAB" up "$L" 3
for h in 1 2 3; do until_status $h '"members":[1,2,3],"table":"synced"'; done
G=$BUILD/hypervisor/guest/guest.elf
t 2 --json events --follow >"$L/events.jsonl" 2>"$L/events.err" &
EVP=$!
LAB_TEST_CLEANUP="kill $EVP 2>/dev/null || true; ${LAB_TEST_CLEANUP:-}"

# evacuate three busy VMs from h1
for v in e1 e2 e3; do
	t 1 vm create $v --mem 128M --kernel "$G" --cmdline "dirty=5000 wss=96 heartbeat=100" >/dev/null
done
for v in e1 e2 e3; do
	for _ in $(seq 50); do grep -q READY "$L/h1/hvd/console/$v.log" 2>/dev/null && break; sleep 0.1; done
done
plan=$(t 1 evacuate h1 --dry-run)
echo "$plan" | grep -q "e3 .* -> h[23]" || fail "dry run: $plan"
log "dry run: $(echo "$plan" | tr '\n' ';' | tr -s ' ')"
out=$(t 1 --json evacuate h1 --parallel 2)
echo "$out" | grep -q '"result":"ok","host":"h1","mode":"maintenance"' || fail "evacuate: $out"
for v in e1 e2 e3; do
	h=$(vms_of 1 | awk -v v=$v '$1 == v { print $2 }')
	[ "$h" = 2 ] || [ "$h" = 3 ] || fail "$v is on node $h after evacuation"
	integ=$(t "$h" vm console $v --send i --wait 4000 | grep -m1 INTEGRITY)
	case "$integ" in "INTEGRITY OK"*) ;; *) fail "$v on h$h: ${integ:-no integrity line}" ;; esac
done
[ -z "$(running_on 1)" ] || fail "h1 still runs $(running_on 1)"
until_status 2 '"name":"h1","address":"10.77.0.1","status":"up","mode":"maintenance"'
log "evacuated 3 busy VMs from h1 in $(echo "$out" | sed 's/.*"total_ms":\([0-9]*\).*/\1/') ms: $(vms_of 1 | tr '\n' ';'); integrity OK; h1 maintenance"
for v in e1 e2 e3; do t "$(vms_of 1 | awk -v v=$v '$1 == v { print $2 }')" vm destroy $v >/dev/null; done
t 2 mode h1 active >/dev/null

# power off h3 with r1, r2 (restart) and n1 (no policy)
for v in r1 r2; do t 3 vm create $v --mem 64M --kernel "$G" --cmdline "heartbeat=100" >/dev/null; done
t 3 vm create n1 --mem 64M --kernel "$G" --cmdline "heartbeat=100" --policy none >/dev/null
t 2 mode h1 maintenance >/dev/null	# placement must skip it
probe_start
t0=$(now_ms)
"$LAB" poweroff "$L" 3
AVOID="1 3" ms=$(wait_owned 2 30 r1 r2)
total=$(( $(now_ms) - t0 ))
sleep 0.3
res=$(probe_stop)
case "$res" in "0 double runs"*) ;; *) fail "probe: $res" ;; esac
vms_of 2 | grep -q "^n1 3 1 stopped$" || fail "n1: $(vms_of 2)"
[ "$(vms_of 1)" = "$(vms_of 2)" ] || fail "tables differ: h1 $(vms_of 1) / h2 $(vms_of 2)"
for v in r1 r2; do running_on 2 | grep -qx $v || fail "$v does not run on h2: $(running_on 2)"; done
hist=$(t 1 fence history)
echo "$hist" | grep -q "h3 .*fence_lab .*ok" || fail "history: $hist"
grep -q "level 1 fence_hang failed (timed out after 800 ms)" "$L/h1/fenced.log" || fail "no timeout: $(grep fence "$L/h1/fenced.log")"
grep -q "level 2 fence_fail failed (exit 1: fence_fail: no such power switch)" "$L/h1/fenced.log" || fail "fence_fail not tried"
log "power-off of h3: r1, r2 running on h2 after $total ms (h1 in maintenance skipped), n1 stopped; probe: $res"
log "fence levels: fence_hang timed out (800 ms), fence_fail failed, fence_lab confirmed"
lg=$(ledger_check r1 r2) || exit 1
log "ledger: $lg"

# the events, as they were followed on h2 and as h1 tells them afterwards
sleep 0.5
kill $EVP; wait $EVP 2>/dev/null || true
/usr/bin/python3 - "$L/events.jsonl" <<'PY' || fail "events: $(cat "$L/events.jsonl" "$L/events.err" | tail -30)"
import json, re, sys
ev = [json.loads(l) for l in open(sys.argv[1])]
seqs = [e["seq"] for e in ev]
assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs), "seq not increasing: %s" % seqs
text = ["%s %s: %s" % (e["kind"], e["name"], e["detail"]) for e in ev]
def once(pattern):
    hits = [t for t in text if re.search(pattern, t)]
    assert len(hits) == 1, "%r: %d times in\n%s" % (pattern, len(hits), "\n".join(text))
for v in ("e1", "e2", "e3"):
    once(r"^vm %s: created on h1 " % v)
    once(r"^vm %s: migrated h1 -> h[23] " % v)
    once(r"^vm %s: removed " % v)
once(r"^host h1: mode active -> maintenance$")
once(r"^host h1: mode maintenance -> active$")
once(r"^host h3: up -> lost$")
once(r"^host h3: lost -> fenced$")
for v in ("r1", "r2"):
    once(r"^vm %s: restarted on h2 \(was on h3" % v)
once(r"^vm n1: running -> stopped on h3$")
assert any(re.search(r"^membership h2: quorate, members h1,h2$", t) for t in text), "\n".join(text)
print("  %d events followed on h2, each change once and in order" % len(ev))
PY
out=$(t 1 events)
for p in "e1 .*migrated h1 -> h" "h3 .*lost -> fenced" "r1 .*restarted on h2"; do
	echo "$out" | grep -q "$p" || fail "h1's events lack '$p': $out"
done
log "h1's events tell the same table changes ($(echo "$out" | wc -l) lines)"
