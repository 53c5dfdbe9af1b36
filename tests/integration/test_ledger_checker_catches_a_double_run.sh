#!/bin/bash
# The run-ledger checker is the oracle of every lab test, so it must not be
# fooled: ledgers where a VM's intervals on two hosts overlap by 1 ns, where
# one is still open on two hosts, or where a named VM runs nowhere at the
# end, fail; the same ledgers with the intervals just touching (stop at the
# instant of the next start), a stop of a paused domain, and a powered-off
# host closed by `ledger down`, pass.
set -eu
D=$(mktemp -d /tmp/tandem-ledger.XXXXXX)
trap 'rm -rf "$D"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
L="$BUILD/tests/ledger"
# a migration h1 -> h2 that touches at 2000
printf '1000 run web 11 running\n2000 stop web 11 paused\n2100 stop web 11 destroyed\n' >"$D/a1"
printf '2000 run web 22 running\n' >"$D/a2"
out=$("$L" check -r web h1="$D/a1" h2="$D/a2") || fail "touching intervals: $out"
echo "$out" | grep -q "0 overlaps; running at the end: web@h2" || fail "$out"
# the destination starts 1 ns before the source stopped
printf '1999 run web 22 running\n' >"$D/b2"
out=$("$L" check h1="$D/a1" h2="$D/b2") && fail "1 ns overlap passed: $out"
echo "$out" | grep -q "OVERLAP web: ran on h1 and h2 at once for 0.000 ms" || fail "$out"
# both still running
printf '1000 run web 11 running\n' >"$D/c1"
out=$("$L" check h1="$D/c1" h2="$D/a2") && fail "two open intervals passed: $out"
echo "$out" | grep -q "OVERLAP web: runs on h1 and h2 at once since 2000 ns" || fail "$out"
# named but not running anywhere
out=$("$L" check -r web,db h1="$D/a1" h2="$D/a2") && fail "missing db passed: $out"
echo "$out" | grep -q "NOT RUNNING ONCE db" || fail "$out"
# garbage is an error, not a pass
echo "hello" >"$D/g"
"$L" check h1="$D/g" >/dev/null 2>&1 && fail "garbage ledger passed"
[ $? = 2 ] || fail "garbage ledger: exit $?"
# a powered-off host: its open interval is closed once the process is gone
sleep 30 & P=$!
printf '5 run db %d running\n' "$P" >"$D/d1"
kill -9 $P; wait $P 2>/dev/null || true
"$L" down "$D/d1" || fail "ledger down"
grep -q "stop db $P host powered off" "$D/d1" || fail "no stop line: $(cat "$D/d1")"
out=$("$L" check h1="$D/d1" h2="$D/a2") || fail "after down: $out"
echo "  overlaps caught (1 ns, open on two hosts), missing runner caught, garbage refused; touching intervals and a powered-off host pass"
