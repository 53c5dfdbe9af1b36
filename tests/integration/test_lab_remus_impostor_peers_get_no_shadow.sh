#!/bin/bash
# A protection's two ends must be the hosts they claim, like a migration's:
#  1. the twin: h1 protects a to h2 with the right certificates: protected;
#  2. an impostor primary (h1's certificate from h3's address) asks h2 to
#     take a shadow of c: h2 refuses it before anything is created, says
#     why, and c runs on on h3, unprotected;
#  3. an impostor backup (h3's certificate at h2's address) is offered b's
#     epochs by h1: h1 refuses it before sending a page, and b runs on,
#     unprotected, its output not held;
#  4. a genuine host that does not own the VM (h3, with a stray domain
#     named a on an hvd of its own that no fenced watches, asking h2 to
#     shadow a, which h1 owns and h2 already shadows) is refused on the
#     table's word, and a's protection goes on.
# Every VM keeps running where it was, once, whole.
set -eu
. "$(dirname "$0")/../lab/labtest.sh"
RHVD=
lab_test_setup '[ -z "$ROGUE" ] || kill "$ROGUE" 2>/dev/null; [ -z "$RHVD" ] || kill "$RHVD" 2>/dev/null
	[ -z "$RHVD" ] || "$SRC/tests/kill-domains" "$L/rogue-hvd"'
lab_up3
CA=$L/ca
small_vm 1 a
small_vm 1 b
small_vm 3 c
wait_owned 1 10 a b >/dev/null
wait_ready a b c

# 1. the twin
t 1 protect a --backup h2 >/dev/null || fail "protect a to h2: $(tail -3 "$L/h1/remusd.log")"
[ "$(backup_of 1 a)" = h2 ] || fail "a's backup: '$(backup_of 1 a)'"
log "h1 -> h2 with the right certificates: a protected, shadow on h2"


# 2. an impostor primary
rogue remusd 3 h1 7461
out=$("$BUILD/tandem" --json --remusd "$L/rogue.sock" protect c --backup h2) &&
	fail "h2 took a shadow from an impostor: $out"
for _ in $(seq 50); do grep -q "refused peer 10.77.0.3: certificate is h1's, but 10.77.0.3 is h3" "$L/h2/remusd.log" && break; sleep 0.1; done
grep -q "refused peer 10.77.0.3: certificate is h1's, but 10.77.0.3 is h3" "$L/h2/remusd.log" ||
	fail "h2 did not refuse the impostor primary: $out; $(grep -i 'peer' "$L/h2/remusd.log" | tail -2)"
t 2 vm list | grep -q "^c" && fail "h2 created a shadow for an impostor: $(t 2 vm list)"
running_on 3 | grep -qx c || fail "c does not run on h3"
rogue_stop
log "impostor primary (h1's certificate from h3's address): refused by h2; c runs on h3, $(integ 3 c)"

# 3. an impostor backup
rogue remusd 2 h3 7461
out=$(t 1 --json protect b --backup 10.77.0.2:7461) && fail "h1 protected b to an impostor: $out"
echo "$out" | grep -q "certificate is h3's, but the peer must be h2" || fail "impostor backup: $out"
t 2 vm list | grep -q "^b" && fail "a shadow of b exists behind the impostor: $(t 2 vm list)"
t 1 --json vm info b | grep -q '"held_frames"' && fail "b's output is still held: $(t 1 vm info b)"
[ -z "$(backup_of 1 b)" ] || fail "the table names a backup for b: $(backup_of 1 b)"
rogue_stop
log "impostor backup (h3's certificate at h2's address): $(echo "$out" | sed 's/.*"detail":"\([^"]*\)".*/\1/' | cut -c1-110); b runs on h1 unprotected"

# 4. a genuine host that does not own the VM
ip netns exec "$(cat "$L/prefix")-h3" "$BUILD/hvd" -f -s "$L/rogue-hvd.sock" -d "$L/rogue-hvd" \
	2>"$L/rogue-hvd.log" &
RHVD=$!
for _ in $(seq 100); do [ -S "$L/rogue-hvd.sock" ] && break; sleep 0.05; done
"$BUILD/tandem" --host "$L/rogue-hvd.sock" vm create a --mem 64M --kernel "$G" \
	--cmdline "dirty=1000 wss=16 heartbeat=100" >/dev/null || fail "the stray a on h3's own hvd"
ROGUE_HVD=$L/rogue-hvd.sock rogue remusd 3 h3 7461
out=$("$BUILD/tandem" --json --remusd "$L/rogue.sock" protect a --backup h2) &&
	fail "h3 protected a VM it does not own: $out"
for _ in $(seq 50); do grep -q "refused peer 10.77.0.3: .*a" "$L/h2/remusd.log" && break; sleep 0.1; done
why=$(grep "refused peer 10.77.0.3" "$L/h2/remusd.log" | tail -1)
echo "$why" | grep -q "the table gives a to node 1, not to h3" || fail "h2 did not refuse h3's protection of a on the table's word: $why; $out"
[ "$(backup_of 1 a)" = h2 ] || fail "a's protection changed: backup '$(backup_of 1 a)'"
rogue_stop
kill "$RHVD"; wait "$RHVD" 2>/dev/null || true
"$SRC/tests/kill-domains" "$L/rogue-hvd"
RHVD=
log "h3 protecting a, which h1 owns: refused by h2 (${why#*refused peer }); a stays protected h1 -> h2"

for v in a b; do running_on 1 | grep -qx $v || fail "$v does not run on h1"; done
integ 1 a >/dev/null
integ 1 b >/dev/null
t 1 unprotect a >/dev/null
lg=$(ledger_check a b c) || exit 1
log "a, b on h1, c on h3, each once and whole; ledger: $lg"
