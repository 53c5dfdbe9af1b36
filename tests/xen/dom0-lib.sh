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
