# dom0-lib.sh - sourced by the scripts that run in the Xen tier's dom0
# (xen-tier.sh puts it beside them in /mnt/host).
D=/mnt/host
fail() { echo "RESULT FAIL $*"; xl dmesg | grep "(d[0-9]*)" | tail -15; exit 1; }
# pvh_guest NAME VCPUS CMDLINE: the workload guest (guest.elf) as a 64 MiB PVH domU
pvh_guest() {
	cat >"/tmp/$1.cfg" <<CFG
name = "$1"
type = "pvh"
kernel = "$D/guest.elf"
cmdline = "$3"
memory = 64
vcpus = $2
on_crash = "preserve"
CFG
	xl create "/tmp/$1.cfg" || fail "xl create $1"
}
# xl_state NAME: its state letters in xl's list (r, b, p, s, c, d), "" when
# it is not listed; xl's list is asked a few times, as it can fail in passing
xl_state() {
	local out
	for _ in 1 2 3 4 5; do
		out=$(xl list 2>/dev/null) && break
		sleep 0.5
	done
	echo "$out" | awk -v n="$1" '$1 == n {print $5}'
}
