#!/bin/bash
# run.sh - the whole default test suite: unit tests, integration tests on a
# real hvd with real KVM guests, and a short fuzz run.  Run from the build
# directory (make check does).  Prints "N passed, N failed"; exits non-zero
# on any failure.  FUZZ_SECONDS (default 20) bounds the fuzz run.
set -u
export BUILD=$(pwd)
export SRC=$(cd "$(dirname "$0")/.." && pwd)
# no configuration but the tests' own (an installed /etc/tandem/tandem.conf stays out)
export TANDEM_CONF=none
# the Xen backend from this build, not an installed one
[ -f "$BUILD/hv_xen.so" ] && export TANDEM_XEN_MODULE=$BUILD/hv_xen.so
pass=0 failn=0 failed=""

run() {	# run NAME COMMAND...
	local name=$1 t0=$(date +%s.%N) out
	shift
	if out=$("$@" 2>&1); then
		pass=$((pass + 1))
		printf 'PASS %-55s %5.1fs\n' "$name" "$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN{print b-a}')"
		[ -n "$out" ] && echo "$out" | sed 's/^/     /' | tail -8
	else
		failn=$((failn + 1))
		failed="$failed $name"
		printf 'FAIL %-55s\n' "$name"
		echo "$out" | sed 's/^/     /' | tail -40
	fi
}

for t in tests/unit/test_*; do
	[ -x "$t" ] && run "unit/$(basename "$t")" "$t"
done
if [ "${TANDEM_TESTS:-all}" = unit ]; then
	echo "SKIP integration tests and fuzzing: TANDEM_TESTS=unit"
elif [ -c /dev/kvm ]; then
	for t in "$SRC"/tests/integration/test_*.sh; do
		run "integration/$(basename "$t" .sh)" bash "$t"
	done
else
	echo "SKIP integration tests: no /dev/kvm"
fi
if [ "${TANDEM_TESTS:-all}" = unit ]; then
	:
elif [ -x tests/fuzz/fuzz_hvctl ]; then
	for f in tests/fuzz/fuzz_*; do
		[ -f "$f" ] && [ -x "$f" ] || continue
		mkdir -p "$f.corpus"
		run "fuzz/$(basename "$f") (${FUZZ_SECONDS:-20}s)" "$f" -max_total_time="${FUZZ_SECONDS:-20}" \
			-print_final_stats=0 "$f.corpus" "$SRC/tests/fuzz/seeds"
	done
else
	echo "SKIP fuzz: no fuzz targets built (needs clang: make fuzz-build)"
fi
echo
[ -n "$failed" ] && echo "failed:$failed"
echo "$pass passed, $failn failed"
[ "$failn" = 0 ]
