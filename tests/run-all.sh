#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# Every test suite, one after another; the last line is the total, in the
# form CI reads: "N passed, N failed". A suite is any executable that ends
# its output with such a line: tests/run-unit.sh, tests/integration/test_*.sh,
# tests/*/run.sh. SUITES="..." runs only those whose path matches.
set -u
cd "$(dirname "$0")/.."
export PATH="$PATH:/usr/sbin:/sbin"

suites=(tests/run-unit.sh tests/integration/test_*.sh)
for s in tests/*/run.sh; do
	[ "$s" = tests/integration/run.sh ] || suites+=("$s")
done

total_pass=0 total_fail=0 broken=""
for s in "${suites[@]}"; do
	[ -x "$s" ] || continue
	if [ -n "${SUITES:-}" ]; then
		case "$s" in *${SUITES}*) ;; *) continue ;; esac
	fi
	echo "== $s"
	out=$(mktemp)
	"./$s" 2>&1 | tee "$out"
	line=$(grep -E '[0-9]+ passed, [0-9]+ failed' "$out" | tail -n 1)
	if [ -z "$line" ]; then
		broken="$broken $s"
		total_fail=$((total_fail + 1))
	else
		p=$(echo "$line" | sed -E 's/(^|.*[^0-9])([0-9]+) passed, ([0-9]+) failed.*/\2/')
		f=$(echo "$line" | sed -E 's/(^|.*[^0-9])([0-9]+) passed, ([0-9]+) failed.*/\3/')
		total_pass=$((total_pass + p))
		total_fail=$((total_fail + f))
	fi
	rm -f "$out"
done
[ -n "$broken" ] && echo "suites that ended without a summary (counted as failed):$broken"
echo "TOTAL: $total_pass passed, $total_fail failed"
[ "$total_fail" = 0 ]
