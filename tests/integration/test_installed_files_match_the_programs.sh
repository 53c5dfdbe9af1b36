#!/bin/bash
# What an admin installs beside the programs must match them, each check
# beside the failure it prevents:
#  - man pages: every page renders without a groff warning, and every
#    command of `tandem --help` is documented in tandem(8) (the checker is
#    shown to catch a page that lost one);
#  - systemd units: `systemd-analyze verify` passes on each; hvd's unit
#    never kills VMs (KillMode=process), fenced starts after corosync, all
#    are Type=notify - and the daemons really send READY=1, RELOADING=1 and
#    STOPPING=1 (a Type=notify unit whose daemon never says READY would
#    time out and be killed);
#  - bash completion completes commands, subcommands and the names of the
#    VMs this host runs;
#  - fence_tandem follows the fence-agents interface: metadata that is
#    well-formed XML with a real agent's vocabulary, every action it lists is
#    accepted, list prints tandem.conf's hosts, and monitor, validate-all and
#    on each fail for the reason they must and succeed beside it.
. "$(dirname "$0")/../lib.sh"
PY=/usr/bin/python3

# ---- man pages
MANS="tandem.8 hvd.8 migrated.8 remusd.8 fenced.8 fence_tandem.8 tandem-ca.8 ckpt-verify.1 tandem.conf.5"
for m in $MANS; do
	[ -f "$SRC/docs/man/$m" ] || fail "no man page $m"
	grep -q "docs/man/$m" "$SRC/Makefile.am" || fail "$m is not installed (Makefile.am)"
	w=$(LC_ALL=C.UTF-8 MANWIDTH=80 man --warnings -l -Tutf8 "$SRC/docs/man/$m" 2>&1 >/dev/null)
	[ -z "$w" ] || fail "$m: $w"
done
commands() {	# the commands and subcommands of tandem --help, one a line
	"$BUILD/tandem" --help | sed -n '/^Commands:/,/^$/p' | sed -n 's/^  \([a-z]\)/\1/p' |
		awk '{ if ($2 ~ /^[a-z|]+$/) print $1 " " $2; else print $1 }' | sort -u
}
undocumented() {	# undocumented MANPAGE: the commands it lacks
	local text; text=$(MANWIDTH=200 man -l "$1" 2>/dev/null | col -b)
	commands | while read -r c; do
		echo "$text" | grep -qF -- "$c" || echo "$c"
	done
}
[ "$(commands | wc -l)" -ge 16 ] || fail "tandem --help lists only: $(commands | tr '\n' ,)"
missing=$(undocumented "$SRC/docs/man/tandem.8")
[ -z "$missing" ] || fail "tandem(8) does not document: $missing"
sed '/^\.B fence history/,+1d' "$SRC/docs/man/tandem.8" >"$T/lost.8"
[ "$(undocumented "$T/lost.8")" = "fence history" ] || fail "the checker missed a lost command: $(undocumented "$T/lost.8")"
log "9 man pages render without a warning; tandem(8) documents all $(commands | wc -l) commands of --help (and a page without 'fence history' is caught)"

# ---- systemd units
mkdir -p "$T/sbin"
for p in hvd migrated/migrated remusd/remusd fencing/fenced; do ln -s "$BUILD/$p" "$T/sbin/"; done
for u in hvd migrated remusd fenced; do
	sed "s|@sbindir@|$T/sbin|g" "$SRC/conf/systemd/tandem-$u.service.in" >"$T/tandem-$u.service"
	grep -q "tandem-$u.service" "$SRC/Makefile.am" || fail "tandem-$u.service is not installed"
	grep -q "^Type=notify" "$T/tandem-$u.service" || fail "tandem-$u.service is not Type=notify"
done
out=$(cd "$T" && SYSTEMD_LOG_LEVEL=notice systemd-analyze verify --man=no ./tandem-*.service 2>&1 | grep -v "corosync.service" || true)
[ -z "$out" ] || fail "systemd-analyze verify: $out"
grep -q "^KillMode=process" "$T/tandem-hvd.service" || fail "hvd's unit would kill the VMs on stop"
grep -q "^After=corosync.service" "$T/tandem-fenced.service" || fail "fenced does not start after corosync"
# readiness as systemd sees it: a datagram socket, the daemon's messages
$PY - "$T/notify.sock" >"$T/notify.log" 2>&1 <<'EOF' &
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
s.settimeout(20)
try:
    while True:
        print(s.recv(4096).decode().replace("\n", " | "), flush=True)
except socket.timeout:
    pass
EOF
NPID=$!
PIDS="$PIDS $NPID"
for _ in $(seq 100); do [ -S "$T/notify.sock" ] && break; sleep 0.05; done
NOTIFY_SOCKET=$T/notify.sock "$BUILD/hvd" -f -s "$T/n.sock" -d "$T/nstate" >"$T/nhvd.log" 2>&1 &
NH=$!
PIDS="$PIDS $NH"
waitfor() { for _ in $(seq 100); do grep -q "$1" "$T/notify.log" && return 0; sleep 0.05; done; fail "no '$1' from hvd: $(cat "$T/notify.log")"; }
waitfor "READY=1 | STATUS=serving $T/n.sock"
[ -S "$T/n.sock" ] || fail "READY=1 before the socket exists"
kill -HUP $NH
waitfor "RELOADING=1"
kill -TERM $NH
waitfor "STOPPING=1"
wait $NH || true
log "4 units pass systemd-analyze verify; hvd's keeps VMs on stop, fenced's follows corosync; hvd says READY=1 once serving, RELOADING=1, STOPPING=1"

# ---- bash completion
start_hvd
tandem vm create c1 --mem 64M --kernel "$GUEST" >/dev/null
complete_words() {	# complete_words WORD...: what TAB offers after them
	bash -c '. /usr/share/bash-completion/bash_completion; . "$1"; shift
		COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); COMP_LINE="$*"; COMP_POINT=${#COMP_LINE}
		_tandem tandem "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD-1]}"; printf "%s\n" "${COMPREPLY[@]}"' \
		_ "$SRC/conf/bash-completion/tandem" "$@"
}
PATH=$BUILD:$PATH complete_words tandem "" | grep -qx protect || fail "completion: no commands"
PATH=$BUILD:$PATH complete_words tandem vm "" | grep -qx create || fail "completion: no vm subcommands"
PATH=$BUILD:$PATH complete_words tandem vm info "" | grep -qx c1 || fail "completion: no VM names: $(PATH=$BUILD:$PATH complete_words tandem vm info "")"
PATH=$BUILD:$PATH complete_words tandem migrate c1 --d | grep -qx -- --downtime || fail "completion: no migrate options"
log "bash completion: commands, vm subcommands, this host's VM names, migrate's options"

# ---- fence_tandem and the fence-agents interface
FT=$BUILD/fencing/fence_tandem
"$FT" -o metadata >"$T/meta.xml" || fail "metadata exits $?"
xmllint --noout "$T/meta.xml" || fail "metadata is not well-formed XML"
tags() { grep -o '<[a-z-]*' "$1" | sort -u | tr '\n' ' '; }
if [ -x /usr/sbin/fence_virsh ]; then
	/usr/sbin/fence_virsh -o metadata >"$T/real.xml" 2>/dev/null || true
	[ "$(tags "$T/meta.xml")" = "$(tags "$T/real.xml")" ] ||
		fail "metadata elements differ from fence_virsh's: $(tags "$T/meta.xml") / $(tags "$T/real.xml")"
	agent="the same elements as fence_virsh's"
else
	agent="(fence-agents not installed: no real agent to compare)"
fi
for a in $(grep -o '<action name="[a-z-]*"' "$T/meta.xml" | cut -d'"' -f2); do
	out=$("$FT" -o "$a" --insecure -a 127.0.0.1 -u 1 --config "$T/none" 2>&1) || true
	echo "$out" | grep -q "is not supported" && fail "metadata lists '$a', which is refused"
done
out=$("$FT" -o dance 2>&1) && fail "an unknown action succeeded"
echo "$out" | grep -q "action 'dance' is not supported" || fail "unknown action: $out"
printf 'host 1 h1 10.0.0.1\nhost 2 h2 10.0.0.2\n' >"$T/fc.conf"
[ "$(printf 'action=list\nconfig=%s\n' "$T/fc.conf" | "$FT")" = "h1,10.0.0.1
h2,10.0.0.2" ] || fail "list: $(printf 'action=list\nconfig=%s\n' "$T/fc.conf" | "$FT" 2>&1)"
out=$("$FT" -o monitor 2>&1) && fail "monitor passed without certificates"
echo "$out" | grep -q "tandem-ca issue DIR fence --role fencer" || fail "monitor: $out"
"$SRC/ctl/tandem-ca" init "$T/ca" >/dev/null
"$SRC/ctl/tandem-ca" issue "$T/ca" fence --role fencer >/dev/null
CERTS="--cert $T/ca/fence.crt --key $T/ca/fence.key --ca $T/ca/ca.crt"
"$FT" -o monitor $CERTS || fail "monitor with certificates failed"
out=$("$FT" -o validate-all $CERTS 2>&1) && fail "validate-all passed without an address"
"$FT" -o validate-all $CERTS -a 127.0.0.1 || fail "validate-all failed"
port=$(( 20000 + RANDOM % 20000 ))
out=$("$FT" -o on --insecure -a 127.0.0.1 -u $port 2>&1) && fail "on succeeded for a closed port"
mkdir -p "$T/mig"
"$BUILD/migrated/migrated" -f -s "$T/mig.sock" -H "$SOCK" -d "$T/mig" -l 127.0.0.1:$port --insecure >"$T/mig.log" 2>&1 &
PIDS="$PIDS $!"
for _ in $(seq 50); do [ -S "$T/mig.sock" ] && break; sleep 0.1; done
"$FT" -o on --insecure -a 127.0.0.1 -u $port | grep -q "Status: ON" || fail "on failed for a listening migrated"
tandem vm list | grep -q c1 || fail "on touched a VM"
log "fence_tandem: metadata well-formed, $agent; every listed action accepted; list, monitor, validate-all and on fail and succeed as they must"
