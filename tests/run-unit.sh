#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# Build and run the cmocka unit tests; sum their results into one line.
set -u
cd "$(dirname "$0")/.."
make --no-print-directory -s unit-bins >/dev/null || { echo "unit: build failed"; echo "0 passed, 1 failed"; exit 1; }
pass=0 fail=0
for t in build/tests/test_*; do
	[ -x "$t" ] || continue
	out=$("$t" 2>&1)
	rc=$?
	echo "$out" | grep -E '^\[  (FAILED|PASSED)  \]|^\[  FAILED  \] |^\[ +ERROR +\]' | sed "s|^|  $(basename "$t"): |"
	p=$(echo "$out" | sed -nE 's/^\[  PASSED  \] ([0-9]+) test.*/\1/p' | tail -n1)
	f=$(echo "$out" | sed -nE 's/^\[  FAILED  \] ([0-9]+) test.*/\1/p' | tail -n1)
	pass=$((pass + ${p:-0}))
	fail=$((fail + ${f:-0}))
	if [ $rc -ne 0 ] && [ -z "$f" ]; then
		echo "$out" | tail -n 20
		fail=$((fail + 1))
	fi
done
echo "unit: $pass passed, $fail failed"
[ "$fail" = 0 ]
