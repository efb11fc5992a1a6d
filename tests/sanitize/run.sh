#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# rivet under AddressSanitizer + UndefinedBehaviorSanitizer, and under
# valgrind's memcheck.
#
#  1. `make SANITIZE=1` builds build/asan/rivet and the unit tests; the unit
#     tests run, then the integration suites, the hostile-input suite and the
#     reboot cases of the chaos suite run against build/asan/rivet. Every
#     sanitizer report is also written to a log directory (log_path), so a
#     report from a call whose failure a test tolerates (a best-effort DEL)
#     is still seen: any report fails this suite.
#  2. valgrind --leak-check=full runs ADD, CHECK, STATUS, GC and DEL (and a
#     failing ADD) of the normal build in throwaway namespaces; each must
#     report no error and no definite or indirect leak.
#
#   SANITIZE_SUITES="tests/integration/test_datapath.sh" tests/sanitize/run.sh
#                              only those suites under ASan
. "$(dirname "$0")/../lib.sh"
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT" || exit 1

LOGS=$(mktemp -d /tmp/rvt-sanitize.XXXXXX)
trap 'rm -rf "$LOGS"' EXIT
export ASAN_OPTIONS="detect_leaks=1:abort_on_error=1:log_path=$LOGS/asan"
export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1:log_path=$LOGS/ubsan"
export LSAN_OPTIONS="log_path=$LOGS/lsan"

# LeakSanitizer checks for leaks as the process exits, stopping its threads
# with ptrace; a process SIGKILLed in that instant (the chaos cases kill
# ADDs at random moments) leaves the tracer's "Unable to get registers from
# thread N": the check was cut short, which is not a finding about rivet.
reports() { # the sanitizer reports written so far, or nothing
	find "$LOGS" -type f -size +0 -exec cat {} + 2>/dev/null |
		grep -v '^==[0-9]*==Unable to get registers from thread [0-9]*\.$' | head -n 40
}

test_asan_build() {
	scripts/apt-install.sh clang libclang-rt-14-dev >/dev/null || true
	make --no-print-directory -s SANITIZE=1 all unit-bins >"$LOGS/build.log" 2>&1 ||
		fail "make SANITIZE=1 failed: $(tail -n 20 "$LOGS/build.log")"
	rm -f "$LOGS/build.log"
	[ -x build/asan/rivet ] || fail "no build/asan/rivet"
}

test_asan_unit_tests() {
	local t out n=0
	[ -x build/asan/rivet ] || fail "no ASan build"
	for t in build/asan/tests/test_*; do
		[ -x "$t" ] && [ "${t%.d}" = "$t" ] || continue
		out=$("$t" 2>&1) || fail "$t failed under ASan: $(echo "$out" | tail -n 20)"
		n=$((n + 1))
	done
	[ -z "$(reports)" ] || fail "sanitizer reports: $(reports)"
	echo "    $n unit test programs"
}

# One test per suite, so the summary names the suite that found something.
asan_suite() { # suite [TEST_FILTER]
	local out rc
	[ -x build/asan/rivet ] || fail "no ASan build"
	out=$(RIVET=$ROOT/build/asan/rivet TEST_FILTER=${2:-} "$1" 2>&1)
	rc=$?
	echo "$out" | grep -E 'passed, [0-9]+ failed' | sed 's/^/    /'
	[ -z "$(reports)" ] || fail "sanitizer reports from $1: $(reports)"
	# A failing case is that suite's business (and reported by it); here
	# only a sanitizer report, or a crash, counts.
	if echo "$out" | grep -qE 'AddressSanitizer|UndefinedBehaviorSanitizer|LeakSanitizer|runtime error:'; then
		fail "sanitizer output in $1: $(echo "$out" | grep -E -A5 'Sanitizer|runtime error:' | head -n 20)"
	fi
	[ $rc = 0 ] || echo "    ($1 has failing cases of its own; no sanitizer report)"
}
for s in ${SANITIZE_SUITES:-tests/integration/test_*.sh tests/hostile/run.sh}; do
	n=$(echo "$s" | tr -c 'a-zA-Z0-9\n' _)
	eval "test_asan_${n}() { asan_suite '$s'; }"
done
test_asan_chaos_reboots() { asan_suite tests/chaos/run.sh reboot; }
test_asan_chaos_gc() { asan_suite tests/chaos/run.sh gc_; }

# --- valgrind ---------------------------------------------------------------
VG="valgrind --quiet --leak-check=full --show-leak-kinds=definite,indirect \
--errors-for-leak-kinds=definite,indirect --error-exitcode=99 --track-fds=no"

# vg CMD HOST POD ID IFNAME CONF: like cni, under valgrind. A memcheck error
# or leak (exit status 99) is recorded in $VGFAIL with its report, and the
# run goes on, so that one report names every command that has one.
VGFAIL="" VGOK=""
vg() {
	local cmd=$1 host=$2 pod=$3 id=$4 ifname=$5 conf=$6 netns=/run/netns/$3 log
	[ -z "$pod" ] && netns=""
	log=$(mktemp "$LOGS/vg.XXXXXX")
	OUT=$(printf '%s' "$conf" | ip netns exec "$host" env CNI_COMMAND="$cmd" CNI_CONTAINERID="$id" \
		CNI_NETNS="$netns" CNI_IFNAME="$ifname" CNI_PATH="$CNI_BIN" $VG --log-file="$log" "$RIVET" 2>/dev/null)
	RC=$?
	local bad=$RC
	if [ "$RC" = 99 ]; then
		# valgrind's own notes (an ioctl it has no model of) are not errors.
		VGFAIL="$VGFAIL
    $cmd: $(grep -E '^==[0-9]+== [A-Z]' "$log" | grep -vE 'Warning|This could|See README' | sed 's/^==[0-9]*== //' | sort | uniq -c | tr -s ' ' | paste -sd';')
$(grep -vE 'Warning: noted|This could cause|README_MISSING' "$log" | head -n 14 | sed 's/^/      /')"
		RC=$(printf '%s' "$OUT" | jq -r 'if .code then 1 else 0 end' 2>/dev/null || echo 0)
		[ -n "$OUT" ] || RC=0
	fi
	[ "$bad" = 99 ] || VGOK="$VGOK $cmd"
	rm -f "$log"
	return 0
}
vg_report() {
	echo "    memcheck clean:${VGOK:- none}"
	[ -z "$VGFAIL" ] || fail "memcheck reported errors:$VGFAIL"
}

vg_setup() {
	command -v valgrind >/dev/null || scripts/apt-install.sh valgrind >/dev/null
	command -v valgrind >/dev/null || fail "valgrind is not installed"
	mk_host host; mk_pod pod; mk_dir dir
	CONF=$(mk_conf vg "$dir" 1.1.0 '[[{"subnet":"198.18.0.0/24"}],[{"subnet":"fd5a:7e57:1::/64"}]]')
}

test_valgrind_add_check_status_gc_del() {
	vg_setup
	vg ADD "$host" "$pod" c1 eth0 "$CONF"
	assert_rc 0
	local prev
	prev=$(printf '%s' "$CONF" | jq -c --argjson r "$OUT" '. + {prevResult: $r}')
	vg CHECK "$host" "$pod" c1 eth0 "$prev"
	assert_rc 0
	vg STATUS "$host" "" "" "" "$CONF"
	assert_rc 0
	vg GC "$host" "" "" "" "$(printf '%s' "$CONF" | jq -c '. + {"cni.dev/valid-attachments": [{"containerID":"c1","ifname":"eth0"}]}')"
	assert_rc 0
	vg DEL "$host" "$pod" c1 eth0 "$CONF"
	assert_rc 0
	assert_clean "$host" "$dir/vg"
	vg_report
}

# The paths that fail and undo: an exhausted range after the veth is
# made, a CHECK that finds a difference, a GC that removes a leftover, and
# a DEL of nothing.
test_valgrind_failure_paths() {
	vg_setup
	local small
	small=$(mk_conf vg2 "$dir" 1.1.0 '[[{"subnet":"198.18.0.0/30"}]]')
	vg ADD "$host" "$pod" c1 eth0 "$small"
	assert_rc 0
	local pod2
	mk_pod pod2
	vg ADD "$host" "$pod2" c2 eth0 "$small"
	assert_cni_error 102
	vg CHECK "$host" "$pod" c1 eth0 "$(printf '%s' "$small" | jq -c '. + {prevResult: {"cniVersion":"1.1.0","interfaces":[{"name":"eth0","sandbox":"/run/netns/'"$pod"'"}],"ips":[{"address":"198.18.0.9/32","interface":0}]}}')"
	assert_cni_error 108
	vg GC "$host" "" "" "" "$(printf '%s' "$small" | jq -c '. + {"cni.dev/valid-attachments": []}')"
	assert_rc 0
	vg DEL "$host" "$pod" c1 eth0 "$small"
	assert_rc 0
	vg ADD "$host" "$pod" c1 eth0 '{"cniVersion":"1.1.0","name":"x","type":"rivet","mtu":"big"}'
	assert_cni_error 6
	assert_clean "$host" "$dir/vg2"
	vg_report
}

test_zz_no_sanitizer_reports_anywhere() {
	[ -z "$(reports)" ] || fail "sanitizer reports: $(reports)"
}

run_tests
