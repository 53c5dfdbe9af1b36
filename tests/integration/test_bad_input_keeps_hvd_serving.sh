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
# the backend is a URI: hvd:SOCKET and a bare SOCKET reach hvd, others are refused plainly
"$BUILD/tandem" --host "hvd:$SOCK" vm list >/dev/null || fail "hvd:$SOCK not reached"
"$BUILD/tandem" --host "$SOCK" vm list >/dev/null || fail "a bare socket path not reached"
"$BUILD/tandem" --host xen: vm list 2>"$T/err" && fail "xen: accepted by a build without Xen"
grep -q "xen: the Xen backend is not installed\|xen: cannot open the hypervisor interface .*is this dom0 of a Xen host" "$T/err" ||
	fail "unclear: $(cat "$T/err")"
"$BUILD/tandem" --host bogus:x vm list 2>"$T/err" && fail "an unknown backend accepted"
grep -q "no backend of that name" "$T/err" || fail "unclear: $(cat "$T/err")"
"$BUILD/migrated/migrated" -f -H bogus:x -s "$T/m.sock" -d "$T/m" --insecure 2>"$T/err" &&
	fail "migrated started with an unknown backend"
grep -q "no backend of that name" "$T/err" || fail "migrated: unclear: $(cat "$T/err")"
log "CLI errors clear; backends by URI (hvd:SOCKET, SOCKET; xen: and bogus: refused)"
