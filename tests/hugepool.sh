# hugepool.sh - sourced: the kernel's pool of hugetlb pages (vm.nr_hugepages)
# for a run, given back afterwards.  hvd takes guest memory from it.
#
#   hugepool_reserve MIB [exact]   at least MIB free in the pool (exactly, with exact)
#   hugepool_restore               the pool's size as it was before the first reserve
HUGEPOOL_ORIG=""

hugepool_reserve() {
	local f=/proc/sys/vm/nr_hugepages kb total free want
	kb=$(awk '/^Hugepagesize:/ {print $2}' /proc/meminfo)
	[ -n "$kb" ] && [ -w "$f" ] || { echo "hugepool: no hugetlb pool here" >&2; return 1; }
	total=$(cat "$f")
	free=$(awk '/^HugePages_Free:/ {print $2}' /proc/meminfo)
	want=$(( ($1 * 1024 + kb - 1) / kb ))
	[ -n "$HUGEPOOL_ORIG" ] || HUGEPOOL_ORIG=$total
	if [ "$free" -lt "$want" ] || [ "${2:-}" = exact ]; then
		echo $((total - free + want)) >"$f"
	fi
	free=$(awk '/^HugePages_Free:/ {print $2}' /proc/meminfo)
	[ "$free" -ge "$want" ] || { echo "hugepool: asked for $want free pages of $kb KiB, the kernel gave $free" >&2; return 1; }
}

hugepool_restore() {
	[ -z "$HUGEPOOL_ORIG" ] || echo "$HUGEPOOL_ORIG" >/proc/sys/vm/nr_hugepages
}
