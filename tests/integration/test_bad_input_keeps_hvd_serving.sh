#!/bin/bash
# Malformed, truncated, oversize and unknown control messages, a garbage ELF,
# impossible sizes and wrong-state requests each get a clear error, and hvd
# and its domains keep working.  The CLI reports errors plainly and as JSON.
. "$(dirname "$0")/../lib.sh"
start_hvd
printf '\177ELF\002\001\001garbage' >"$T/bad.elf"
out=$("$HVTOOL" -s "$SOCK" badinput "$GUEST" "$T/bad.elf") || fail "$out"
log "$(echo "$out" | grep -c '^ok') bad inputs refused cleanly"
kill -0 "$HVD_PID" || fail "hvd died"
tandem vm create x --kernel /nonexistent 2>"$T/err" && fail "create with missing kernel succeeded"
grep -q "No such file" "$T/err" || fail "unclear error: $(cat "$T/err")"
tandem --json vm info nope >"$T/out" && fail "info of unknown domain succeeded"
grep -q '"result":"error","error":"no domain named nope"' "$T/out" || fail "json error: $(cat "$T/out")"
tandem vm create y --mem 3x --kernel "$GUEST" 2>/dev/null && fail "bad --mem accepted"
"$BUILD/tandem" --host "$T/nothing.sock" vm list 2>"$T/err" && fail "unreachable hvd not reported"
grep -q "cannot reach hvd" "$T/err" || fail "unclear: $(cat "$T/err")"
tandem vm list >/dev/null || fail "hvd not serving"
log "CLI errors clear"
