#!/bin/bash
# An 8 GiB guest: 3 GiB of RAM below the MMIO hole and 5 GiB from 4 GiB
# (the PC layout hvd gives every guest larger than 3 GiB).  The guest finds
# both in its memory map and makes all of it its self-checking working set;
# it keeps dirtying pages on both sides of the hole while it migrates, and
# on the destination its integrity sweep over all 8 GiB passes: migration,
# the dirty log and the sweep cover the memory above 4 GiB.  A size past
# what hvd allows is refused with the limit.
# Guest memory comes from the hugetlb pool while it has room (on these
# machines a guest's first touch of a 4 KiB shmem page costs ~40 us, so
# 8 GiB of shmem takes minutes to fill), else from shmem.
. "$(dirname "$0")/../lib.sh"
. "$SRC/tests/hugepool.sh"
AFTER_STOP=hugepool_restore
hugepool_reserve $((2 * 8192 + 64)) exact || log "the hugetlb pool is smaller than asked: what it cannot hold is shmem (slow)"
HVD_ARGS_a="-m auto" HVD_ARGS_b="-m auto"
start_hosts

out=$(on a vm create huge --mem 2048G --kernel "$GUEST" 2>&1) && fail "a 2 TiB guest was created"
echo "$out" | grep -q "1048576 MiB" || fail "the refusal does not give the limit: $out"

on a vm create big --mem 8G --kernel "$GUEST" --cmdline "dirty=2000 heartbeat=200 integrity=0" >/dev/null
for _ in $(seq 600); do hconsole a big | grep -q "^READY" && break; sleep 0.5; done
hconsole a big | grep -q "^READY" || fail "the 8 GiB guest did not get ready: $(hconsole a big | tail -2)"
hconsole a big | grep -q "ram above 4 GiB: 5120MiB at 0x100000000" ||
	fail "the guest does not see RAM above 4 GiB: $(hconsole a big | head -3)"
pages=$(hconsole a big | sed -n 's/^READY wss_pages=\([0-9]*\).*/\1/p')
[ "$pages" -gt $(( 8 * 262144 - 4096 )) ] || fail "working set of $pages pages: not all of 8 GiB"
backing=$(on a --json vm info big | sed -n 's/.*"backing":"\([a-z]*\)".*/\1/p')
sleep 1
out=$(on a --json migrate big "127.0.0.1:$PORT_B") || fail "migration: $out"
echo "$out" | grep -q '"result":"ok"' || fail "migration: $out"
[ "$(runs_on big)" = "b " ] || fail "big runs on: $(runs_on big)"
res=$(on b vm console big --send i --wait 60000 | grep -m1 INTEGRITY)
case "$res" in "INTEGRITY OK $pages pages") ;; *) fail "after the migration: ${res:-no integrity line}" ;; esac
r=$(hb_continuous "$T/a/console/big.log" "$T/b/console/big.log") || fail "heartbeat: $r"
log "8 GiB ($backing; 5 GiB above 4 GiB) migrated in $(echo "$out" | sed -n 's/.*"total_ms":\([0-9]*\).*/\1/p') ms, downtime $(echo "$out" | sed -n 's/.*"downtime_ms":\([0-9.]*\).*/\1/p') ms: $res; $r"
