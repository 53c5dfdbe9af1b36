# hugepool.sh - sourced: the kernel's pool of hugetlb pages (vm.nr_hugepages)
# for a run, given back afterwards.  hvd takes guest memory from it.
#
#   hugepool_reserve MIB [exact]   at least MIB free in the pool (exactly, with exact)
#   hugepool_warm                  touch every free page of the pool once
#   hugepool_restore               the pool's size as it was before the first reserve
#
# Warming: these lab machines are virtual, and the outer hypervisor backs
# memory the kernel gives back (free page reporting) only when it is touched
# again: ~10 us per 4 KiB, 2.5 s per GiB.  Pages that stay in the pool stay
# backed.  On a physical host warming changes nothing.
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
	if [ "$free" -lt "$want" ] && [ -w /proc/sys/vm/compact_memory ]; then
		# fragmented memory has no free 2 MiB runs: compact it, ask again
		echo 1 >/proc/sys/vm/compact_memory
		echo $(( $(cat "$f") - free + want )) >"$f"	# the pages in use, and want free
	fi
	free=$(awk '/^HugePages_Free:/ {print $2}' /proc/meminfo)
	[ "$free" -ge "$want" ] || { echo "hugepool: asked for $want free pages of $kb KiB, the kernel gave $free" >&2; return 1; }
}

hugepool_warm() {
	local d kb free
	kb=$(awk '/^Hugepagesize:/ {print $2}' /proc/meminfo)
	free=$(awk '/^HugePages_Free:/ {print $2}' /proc/meminfo)
	d=$(mktemp -d /tmp/hugepool.XXXXXX)
	mount -t hugetlbfs -o pagesize="${kb}K" none "$d" || { rmdir "$d"; return 1; }
	fallocate -l "$((free * kb))K" "$d/warm"	# allocates and zeroes every free page
	rm -f "$d/warm"
	umount "$d"
	rmdir "$d"
}

hugepool_restore() {
	[ -z "$HUGEPOOL_ORIG" ] || echo "$HUGEPOOL_ORIG" >/proc/sys/vm/nr_hugepages
}
