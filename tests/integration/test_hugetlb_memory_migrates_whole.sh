#!/bin/bash
# Guest memory from the kernel's hugetlb pool: host a takes only hugetlb
# (hvd -m hugetlb), host b takes it while the pool has room (-m auto).  The
# pool is sized for the test and given back afterwards.  A busy guest
# migrates hugetlb -> hugetlb back and forth, then to a full pool (b falls
# back to shmem), then onto a host whose pool cannot hold it (refused: it
# keeps running where it was, nothing is created), then shmem -> hugetlb.
# Every time the heartbeat continues and the guest's integrity sweep passes.
. "$(dirname "$0")/../lib.sh"
. "$SRC/tests/hugepool.sh"
AFTER_STOP=hugepool_restore
hugepool_reserve 512 exact || fail "cannot size the hugetlb pool"
HVD_ARGS_a="-m hugetlb" HVD_ARGS_b="-m auto"
start_hosts
G=$GUEST

backing() { on "$1" --json vm info "$2" | sed -n 's/.*"backing":"\([a-z]*\)".*/\1/p'; }
migrate_ok() {	# migrate_ok FROM TO: g moves, runs only there, and is whole
	local port
	[ "$2" = a ] && port=$PORT_A || port=$PORT_B
	out=$(on "$1" --json migrate g "127.0.0.1:$port" --downtime 5) || fail "migrate $1->$2: $out"
	echo "$out" | grep -q '"result":"ok"' || fail "$out"
	[ "$(runs_on g)" = "$2 " ] || fail "g runs on: $(runs_on g)"
	cp "$T/$1/console/g.log" "$T/g.$(ls "$T" | grep -c '^g\.[0-9]').log"
	integrity "$2" g >/dev/null
}

on a vm create g --mem 256M --kernel "$G" --cmdline "dirty=25000 wss=192 heartbeat=50" >/dev/null
sleep 1
[ "$(backing a g)" = hugetlb ] || fail "g on a: $(backing a g) memory, expected hugetlb"
for hop in "a b" "b a" "a b" "b a"; do
	migrate_ok $hop
	to=${hop#* }
	[ "$(backing "$to" g)" = hugetlb ] || fail "g on $to: $(backing "$to" g) memory after $hop"
done
log "4 migrations hugetlb -> hugetlb: $(integrity a g)"

# b's pool share taken by another guest: g comes to b in shmem
on b vm create fill --mem 256M --kernel "$G" --cmdline "heartbeat=1000" >/dev/null
migrate_ok a b
[ "$(backing b g)" = shmem ] || fail "g on b with a full pool: $(backing b g) memory"
grep -q "hugetlb pool cannot hold 256 MiB" "$T/b.hvd.log" || fail "no log line for the fallback to shmem"
log "hugetlb -> shmem (pool full): $(integrity b g)"

# a takes only hugetlb: with the pool full, creating or receiving a guest is refused, clearly
on a vm create fill2 --mem 256M --kernel "$G" --cmdline "heartbeat=1000" >/dev/null
out=$(on a vm create big --mem 512M --kernel "$G" 2>&1) && fail "a 512M guest was created with a full pool"
echo "$out" | grep -q "hugetlb pages.*vm.nr_hugepages" || fail "unclear error: $out"
on a vm info big >/dev/null 2>&1 && fail "the refused guest exists"
out=$(on b --json migrate g "127.0.0.1:$PORT_A" --downtime 5 2>&1) && fail "migration into a full pool succeeded: $out"
echo "$out" | grep -q "hugetlb" || fail "the refused migration does not say why: $out"
[ "$(runs_on g)" = "b " ] || fail "after the refused migration g runs on: $(runs_on g)"
on a vm info g >/dev/null 2>&1 && fail "the refused migration left g on a"
log "refused into a full pool: $(echo "$out" | sed -n 's/.*"error":"\([^"]*\)".*/\1/p' | cut -c1-110)"

on a vm destroy fill2 >/dev/null
migrate_ok b a
[ "$(backing a g)" = hugetlb ] || fail "g on a: $(backing a g) memory"
log "shmem -> hugetlb: $(integrity a g)"
r=$(hb_continuous "$T"/g.[0-9]*.log "$T/a/console/g.log") || fail "heartbeat: $r"
log "heartbeat across 6 migrations: $r"
