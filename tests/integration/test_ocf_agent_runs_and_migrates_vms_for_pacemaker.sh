#!/bin/bash
# ocf:tandem:vm, the Pacemaker resource agent, against real hvds:
#  - ocf-tester (resource-agents) passes it: meta-data valid against
#    ra-api-1.dtd, validate-all, probes, start, monitor, stop, stopping a
#    stopped VM, with a real VM started and destroyed;
#  - a probe with hvd unreachable is "not running" while a recurring
#    monitor is an error (a monitor that said "stopped" when it could not
#    ask would make Pacemaker start a second copy elsewhere);
#  - migrate_to moves the VM live to the target (migrated on both hosts,
#    TLS) and migrate_from there confirms it; a migrate_to that cannot
#    reach the target fails and leaves the VM running where it was;
#  - a bad configuration is OCF_ERR_CONFIGURED, a missing kernel
#    OCF_ERR_INSTALLED.
. "$(dirname "$0")/../lib.sh"
command -v ocf-tester >/dev/null || fail "ocf-tester is not installed (resource-agents)"
RA=$T/ra/vm
mkdir -p "$T/ra" && chmod 755 "$T" "$T/ra"	# ocf-tester runs meta-data as nobody
cp "$SRC/conf/ocf/vm" "$RA" && chmod 755 "$RA"
export OCF_ROOT=/usr/lib/ocf
start_hosts
ra() {	# ra HOST ACTION [VAR=VALUE ...]: the agent's exit code
	local h=$1 a=$2
	shift 2
	env TANDEM_HOST="$T/$h.hvd" TANDEM_MIGRATED="$T/$h.mig" OCF_RESOURCE_INSTANCE=web \
		OCF_RESKEY_kernel="$GUEST" OCF_RESKEY_mem=64M OCF_RESKEY_tandem="$BUILD/tandem" \
		OCF_RESKEY_config="$T/none.conf" OCF_RESKEY_cmdline="heartbeat=50" "$@" "$RA" "$a" >>"$T/ra.log" 2>&1
	echo $?
}

out=$(env TANDEM_HOST="$T/a.hvd" ocf-tester -n web -o kernel="$GUEST" -o mem=64M \
	-o tandem="$BUILD/tandem" -o config="$T/none.conf" -o cmdline=heartbeat=50 "$RA" 2>&1) ||
	fail "ocf-tester: $out"
echo "$out" | grep -q "passed all tests" || fail "ocf-tester: $out"
on a vm list | grep -q web && fail "ocf-tester left web running"
log "ocf-tester: $RA passed all tests (meta-data, validate-all, probes, start, monitor, stop) on a real hvd"

# probe and monitor without a hypervisor to ask
[ "$(env OCF_RESKEY_CRM_meta_interval=0 TANDEM_HOST="$T/gone.hvd" OCF_RESKEY_kernel="$GUEST" \
	OCF_RESKEY_tandem="$BUILD/tandem" OCF_RESOURCE_INSTANCE=web "$RA" monitor >/dev/null 2>&1; echo $?)" = 7 ] ||
	fail "a probe with hvd unreachable is not 'not running'"
[ "$(env OCF_RESKEY_CRM_meta_interval=10000 TANDEM_HOST="$T/gone.hvd" OCF_RESKEY_kernel="$GUEST" \
	OCF_RESKEY_tandem="$BUILD/tandem" OCF_RESOURCE_INSTANCE=web "$RA" monitor >/dev/null 2>&1; echo $?)" = 1 ] ||
	fail "a monitor with hvd unreachable is not an error"
log "hvd unreachable: probe 7 (not running), recurring monitor 1 (error)"

# live migration a -> b, and one that cannot reach its target
[ "$(ra a start)" = 0 ] || fail "start on a: $(tail -3 "$T/ra.log")"
[ "$(ra b migrate_from)" = 7 ] || fail "migrate_from on b before the move"
[ "$(ra a migrate_to OCF_RESKEY_CRM_meta_migrate_target=127.0.0.1:1)" = 1 ] || fail "migrate_to a closed port succeeded"
[ "$(runs_on web)" = "a " ] || fail "after a failed migrate_to web runs on: $(runs_on web)"
[ "$(ra a migrate_to OCF_RESKEY_CRM_meta_migrate_target=127.0.0.1:$PORT_B)" = 0 ] || fail "migrate_to b: $(tail -5 "$T/ra.log")"
[ "$(ra b migrate_from)" = 0 ] || fail "migrate_from on b"
[ "$(runs_on web)" = "b " ] || fail "after migrate_to web runs on: $(runs_on web)"
[ "$(ra a monitor)" = 7 ] || fail "a still reports web"
hb=$(hb_continuous "$T/a/console/web.log" "$T/b/console/web.log") || fail "heartbeat: $hb"
[ "$(ra b stop)" = 0 ] && [ "$(ra b monitor)" = 7 ] || fail "stop on b"
log "migrate_to b (the VM moved live, $hb), migrate_from b confirms; to a closed port: fails, web runs on a"

# configuration and installation errors
[ "$(ra a validate-all OCF_RESKEY_name='bad name')" = 6 ] || fail "a bad name is not OCF_ERR_CONFIGURED"
[ "$(ra a validate-all OCF_RESKEY_kernel=/nonexistent)" = 5 ] || fail "a missing kernel is not OCF_ERR_INSTALLED"
[ "$(ra a validate-all OCF_RESKEY_vcpus=two)" = 6 ] || fail "vcpus=two is not OCF_ERR_CONFIGURED"
[ "$(ra a validate-all)" = 0 ] || fail "validate-all"
log "validate-all: bad name 6, missing kernel 5, vcpus=two 6, good 0"
