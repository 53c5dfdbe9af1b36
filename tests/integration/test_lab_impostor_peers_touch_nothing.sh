#!/bin/bash
# Any certificate of the cluster CA is not enough: a peer must be the host
# it claims, in the role it needs, and not revoked.  Each refusal has its
# success twin, and each leaves every VM as it was:
#  1. a migration h1 -> h2 with the right certificates: done (the twin);
#  2. an impostor destination (h3's certificate at h2's address): the source
#     refuses it before sending a page, the VM keeps running on h1;
#  3. an impostor source (h1's certificate from h3's address): h2 refuses
#     it, nothing is created there, the VM keeps running on h3;
#  4. a host's certificate cannot FENCE: fence_tandem with h3's host
#     certificate against h2 is refused, h2's VMs run on; with the fencer's
#     certificate but aimed at the wrong host (nodename h3, h2's address)
#     fence_tandem refuses to talk; with the fencer's certificate at the
#     right host, but no fencing of h2 by the coordinator, h2 refuses (it
#     is a healthy member); `tandem fence h2` on the coordinator fences it
#     (the twin);
#  5. tandem-ca revoke h3: migrations to and from h3 that worked a moment
#     before are refused (every daemon reads the new CRL on its own).
set -eu
. "$(dirname "$0")/../lab/labtest.sh"
lab_test_setup '[ -z "$ROGUE" ] || kill "$ROGUE" 2>/dev/null'	# a failure mid-test ends the rogue too
lab_up3
CA=$L/ca
small_vm 1 a
small_vm 3 c
small_vm 2 b
wait_owned 1 10 a b c >/dev/null
wait_ready a b c

# 1. the twin: the right certificates
t 1 migrate a 10.77.0.2 >/dev/null || fail "h1 -> h2 failed: $(grep 'migration a' "$L/h1/migrated.log" | tail -2)"
running_on 2 | grep -qx a || fail "a does not run on h2"
log "h1 -> h2 with the right certificates: a runs on h2, $(integ 2 a)"
t 2 migrate a 10.77.0.1 >/dev/null || fail "h2 -> h1 failed"

# 2. an impostor destination: h3's certificate at h2's address
rogue migrated 2 h3 7460
out=$(t 1 --json migrate a 10.77.0.2:7460) && fail "a migration to an impostor succeeded: $out"
echo "$out" | grep -q "certificate is h3's, but the peer must be h2" || fail "impostor destination: $out"
running_on 1 | grep -qx a || fail "a does not run on h1 after the refused migration"
! "$BUILD/tandem" --host "$L/h2/hvd.sock" vm info a >/dev/null 2>&1 || fail "a domain was created behind an impostor"
rogue_stop
log "impostor destination (h3's certificate at h2's address): $(echo "$out" | sed 's/.*"error":"\([^"]*\)".*/\1/' | cut -c1-80); a runs on h1, $(integ 1 a)"

# 3. an impostor source: h1's certificate from h3's address
rogue migrated 3 h1 7460
out=$("$BUILD/tandem" --json --migrated "$L/rogue.sock" migrate c 10.77.0.2) && fail "h2 took a VM from an impostor: $out"
for _ in $(seq 50); do grep -q "refused peer 10.77.0.3: certificate is h1's, but 10.77.0.3 is h3" "$L/h2/migrated.log" && break; sleep 0.1; done
grep -q "refused peer 10.77.0.3: certificate is h1's, but 10.77.0.3 is h3" "$L/h2/migrated.log" ||
	fail "h2 did not refuse the impostor source: $(grep 'peer' "$L/h2/migrated.log" | tail -2)"
! "$BUILD/tandem" --host "$L/h2/hvd.sock" vm info c >/dev/null 2>&1 || fail "h2 created c for an impostor"
running_on 3 | grep -qx c || fail "c does not run on h3"
rogue_stop
log "impostor source (h1's certificate from h3's address): refused by h2; c runs on h3, $(integ 3 c)"

# 4. who may fence
fence() {	# fence CERT NODENAME ADDRESS: fence_tandem from h3's namespace
	printf 'action=off\nnodename=%s\nip=%s\ncert=%s\nkey=%s\nca=%s\ncrl=%s\ntimeout=1000\n' "$2" "$3" \
		"$CA/$1.crt" "$CA/$1.key" "$CA/ca.crt" "$CA/crl.pem" | "$LAB" exec "$L" 3 "$BUILD/fencing/fence_tandem" 2>&1
}
out=$(fence h3 h2 10.77.0.2) && fail "a host's certificate fenced h2: $out"
for _ in $(seq 50); do grep -q "refused peer 10.77.0.3: FENCE from h3's certificate, of role host" "$L/h2/migrated.log" && break; sleep 0.1; done
grep -q "refused peer 10.77.0.3: FENCE from h3's certificate, of role host" "$L/h2/migrated.log" || fail "h2 did not refuse: $out"
running_on 2 | grep -qx b || fail "b was destroyed by a host's FENCE"
log "FENCE with a host's certificate: refused ($(echo "$out" | tail -1 | cut -c1-70)); b runs on h2"
out=$(fence fence h3 10.77.0.2) && fail "fence_tandem fenced the host at h2's address as h3: $out"
echo "$out" | grep -q "certificate is h2's, but the peer must be h3" || fail "wrong target: $out"
running_on 2 | grep -qx b || fail "b was destroyed by a FENCE aimed at h3"
log "FENCE aimed at h3 but sent to h2's address: fence_tandem refuses ($(echo "$out" | tail -1 | sed 's/.*: //' | cut -c1-60))"
out=$(fence fence h2 10.77.0.2) && fail "a fencer emptied h2, a member the cluster does not fence: $out"
echo "$out" | grep -q "not fencing it" || fail "unasked fencing of a member: $out"
running_on 2 | grep -qx b || fail "b was destroyed by an unasked FENCE"
log "FENCE with the fencer's certificate, but the cluster is not fencing h2: refused ($(echo "$out" | tail -1 | sed 's/.*refused: //' | cut -c1-70))"
out=$(t 1 fence h2 2>/dev/null) || fail "the coordinator could not fence h2: $out"
for _ in $(seq 50); do running_on 2 | grep -qx b || break; sleep 0.1; done
! running_on 2 | grep -qx b || fail "b still runs on h2 after the coordinator fenced it"
grep -q "FENCE from 10.77.0.1: the coordinator (node 1) fences this host" "$L/h2/migrated.log" ||
	fail "h2 did not see the coordinator's fencing: $(grep FENCE "$L/h2/migrated.log" | tail -2)"
log "tandem fence h2 on the coordinator (the twin): $(echo "$out" | tail -1)"
# h2's VMs restart elsewhere; h2 is a fenced member until it rejoins
AVOID=2 wait_owned 1 30 b >/dev/null

# 5. revocation: h3 works, then is revoked and refused both ways
where() { for h in 1 2 3; do running_on $h | grep -qx "$1" && echo $h; done; }
small_vm 1 r
wait_owned 1 10 r >/dev/null
t 1 migrate r 10.77.0.3 >/dev/null || fail "h1 -> h3 failed before the revoke"
t 3 migrate r 10.77.0.1 >/dev/null || fail "h3 -> h1 failed before the revoke"
log "before the revoke: r went h1 -> h3 -> h1"
"$SRC/ctl/tandem-ca" revoke "$CA" h3 >/dev/null
out=$(t 1 --json migrate r 10.77.0.3) && fail "a migration to a revoked host succeeded"
echo "$out" | grep -qi "revoked" || fail "to revoked h3: $out"
[ "$(where r)" = 1 ] || fail "r is not on h1 alone: $(where r)"
out2=$(t 3 --json migrate c 10.77.0.1 2>&1) && fail "a revoked host sent a VM: $out2"
grep -q "revoked" "$L/h1/migrated.log" || fail "h1 did not log the revoked peer"
log "after tandem-ca revoke h3: to h3 refused ($(echo "$out" | sed 's/.*"error":"\([^"]*\)".*/\1/' | cut -c1-70)); from h3 refused; r on h1, $(integ 1 r)"
lg=$(ledger_check) || exit 1
log "ledger: $lg"
