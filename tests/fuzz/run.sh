#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# Fuzz the parsers that read untrusted bytes: the network configuration, a
# prevResult or delegated plugin's result, CNI_ARGS, and the IPAM store's
# files and index links. Builds the libFuzzer harnesses (tests/fuzz/build.sh)
# and runs each for FUZZ_SECONDS (default 15) from its seed corpus under
# tests/fuzz/corpus/<harness>/, working on a copy so the committed seeds stay
# seeds. A harness passes when libFuzzer finds no crash, leak, sanitizer
# report or timeout; a crashing input is kept in build/fuzz/crash-* for
# reproduction (build/fuzz/fuzz_<harness> <file>).
#
#   FUZZ_SECONDS=600 tests/fuzz/run.sh        a longer run of each
#   FUZZ_RUNS=10000000 tests/fuzz/run.sh      a fixed number of executions
#   FUZZ_ONLY=store tests/fuzz/run.sh         one harness
set -u
cd "$(dirname "$0")/../.."
HARNESSES=${FUZZ_ONLY:-"config result cni_args store"}
pass=0 fail=0

# Idempotent: nothing happens when both are installed.
scripts/apt-install.sh clang libclang-rt-14-dev || echo "fuzz: could not install clang" >&2
if ! built=$(tests/fuzz/build.sh 2>&1); then
	echo "$built" | tail -n 20
	echo "fuzz: 0 passed, 1 failed"
	exit 1
fi

work=$(mktemp -d /tmp/rvt-fuzz.XXXXXX)
trap 'rm -rf "$work"' EXIT
for h in $HARNESSES; do
	mkdir -p "$work/$h"
	cp tests/fuzz/corpus/"$h"/* "$work/$h"/ 2>/dev/null
	dict=""
	case $h in config | result) dict=-dict=tests/fuzz/json.dict ;; esac
	if [ -n "${FUZZ_RUNS:-}" ]; then
		limit=-runs=$FUZZ_RUNS
	else
		limit=-max_total_time=${FUZZ_SECONDS:-15}
	fi
	log=$work/$h.log
	build/fuzz/fuzz_"$h" $dict "$limit" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
		-artifact_prefix=build/fuzz/crash-"$h"- "$work/$h" >"$log" 2>&1
	rc=$?
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
	if [ $rc -eq 0 ]; then
		pass=$((pass + 1))
		echo "  ok   fuzz_$h: ${execs:-?} executions, no crash"
	else
		fail=$((fail + 1))
		echo "  FAIL fuzz_$h (exit $rc after ${execs:-?} executions)"
		grep -E 'ERROR|SUMMARY|runtime error|Test unit written' "$log" | head -n 10 | sed 's/^/    /'
	fi
done
echo "fuzz: $pass passed, $fail failed"
[ "$fail" = 0 ]
