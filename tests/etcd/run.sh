#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# rivetd's etcd client against a real etcd (Debian's etcd-server), started
# here in throwaway network namespaces with tests/etcd/lib.sh; the client's
# test program (tests/etcd/test_etcd.c, cmocka) runs in the same namespace
# as the etcd it talks to. What each group proves is in that file's header;
# here are the scenarios that need more than one etcd or a hand on it:
#
#   plain        one etcd, and an address in its namespace where nothing
#                listens (the dead endpoint)
#   killed       an etcd killed (SIGKILL), and one stopped (SIGTERM), under
#                a live watch
#   cut          etcd in one namespace, the client in another, joined by a
#                veth the test takes down under a live watch
#   outage       a value written, etcd stopped (calls fail, and say so),
#                restarted on the same data (the value is there)
#   tls          etcd with --client-cert-auth, certificates from openssl
#   lib          tests/etcd/lib.sh itself: compaction, stop and restart
#
# Every cmocka case counts as one test; so does each lib check. Ends with
# "etcd: N passed, N failed".
#
#   TEST_FILTER=tls tests/etcd/run.sh     only the scenarios whose name matches
#   TEST_ETCD=build/asan/tests/etcd/test_etcd tests/etcd/run.sh
#   VALGRIND=1 tests/etcd/run.sh          the program under valgrind memcheck
. "$(dirname "$0")/lib.sh"
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT" || exit 1

if ! scripts/apt-install.sh etcd-server etcd-client openssl curl libcurl4-openssl-dev libssl-dev \
	libcmocka-dev >/dev/null; then
	echo "etcd: 0 passed, 1 failed"
	exit 1
fi
if [ -z "${TEST_ETCD:-}" ]; then
	TEST_ETCD=build/tests/etcd/test_etcd
	make --no-print-directory -s "$TEST_ETCD" >/dev/null ||
		{ echo "etcd: cannot build $TEST_ETCD"; echo "etcd: 0 passed, 1 failed"; exit 1; }
fi
TEST_ETCD=$(realpath "$TEST_ETCD")
TALLY=$(mktemp /tmp/rvt-etcd-tally.XXXXXX)
trap 'rm -f "$TALLY"' EXIT

VG=()
if [ "${VALGRIND:-0}" = 1 ]; then
	VG=(valgrind --quiet --leak-check=full --show-leak-kinds=definite,indirect
	    --errors-for-leak-kinds=definite,indirect --error-exitcode=99)
fi

# cases NETNS GROUP [ENV=VALUE...]: run a group of the test program in NETNS
# and add its counts to the tally; a crash, or valgrind's complaint, is a
# failure of its own.
cases() {
	local netns=$1 group=$2 out rc p f
	shift 2
	out=$(ip netns exec "$netns" env "$@" "${VG[@]}" "$TEST_ETCD" "$group" 2>&1)
	rc=$?
	echo "$out" | grep -E '^\[ +(OK|FAILED) +\] test_|^\[  ERROR|^ {4}|^ERROR|^==[0-9]+==' |
		sed 's/^/    /'
	p=$(echo "$out" | sed -nE 's/^\[  PASSED  \] ([0-9]+) test.*/\1/p' | tail -n1)
	f=$(echo "$out" | sed -nE 's/^\[  FAILED  \] ([0-9]+) test.*/\1/p' | tail -n1)
	p=${p:-0} f=${f:-0}
	if [ "$rc" != 0 ] && [ "$f" = 0 ]; then
		echo "$out" | tail -n 30 | sed 's/^/    | /'
		f=1
	fi
	echo "$p $f" >>"$TALLY"
	[ "$f" = 0 ]
}

# check NAME: a shell-level check of the library, counted as one test.
check() {
	if [ "$1" = 0 ]; then
		echo "0 1" >>"$TALLY"
		echo "    FAIL $2"
		return 1
	fi
	echo "1 0" >>"$TALLY"
	echo "    ok   $2"
}

test_plain() {
	local ns E
	mk_netns ns etcd
	etcd_start E "$ns" 198.19.81.1
	# 198.19.81.9: an address of the namespace where nothing listens.
	ip -n "$ns" addr add 198.19.81.9/32 dev lo
	cases "$ns" plain ETCD_ENDPOINTS="$(etcd_url "$E")" ETCD_DEAD=http://198.19.81.9:2379
}

test_killed() {
	local ns E sig ok=1
	mk_netns ns etcd
	for sig in KILL TERM; do
		etcd_start E "$ns" 198.19.81.1
		cases "$ns" killed ETCD_ENDPOINTS="$(etcd_url "$E")" ETCD_TEST_PID="$(etcd_pid "$E")" \
			ETCD_TEST_SIGNAL=$sig || ok=0
		etcd_stop "$E" KILL
		rm -rf "$E"
	done
	[ "$ok" = 1 ]
}

test_cut() {
	local ens cns E
	mk_netns ens etcd
	mk_netns cns client
	ip -n "$ens" link add up0 type veth peer name up0 netns "$cns" || fail "cannot make the veth"
	ip -n "$ens" addr add 198.19.82.1/30 dev up0
	ip -n "$cns" addr add 198.19.82.2/30 dev up0
	ip -n "$ens" link set up0 up
	ip -n "$cns" link set up0 up
	etcd_start E "$ens" 198.19.82.1
	cases "$cns" cut ETCD_ENDPOINTS="$(etcd_url "$E")" \
		ETCD_TEST_CUT="ip -n $ens link set up0 down"
}

test_outage() {
	local ns E url
	mk_netns ns etcd
	etcd_start E "$ns" 198.19.81.1
	url=$(etcd_url "$E")
	cases "$ns" outage-put ETCD_ENDPOINTS="$url" || return 1
	etcd_stop "$E"
	cases "$ns" outage-down ETCD_ENDPOINTS="$url" || return 1
	etcd_restart "$E"
	cases "$ns" outage-back ETCD_ENDPOINTS="$url"
}

test_tls() {
	local ns E
	mk_netns ns etcd
	etcd_start E "$ns" 198.19.81.1 tls
	cases "$ns" tls ETCD_ENDPOINTS="$(etcd_url "$E")" ETCD_PKI="$E/pki"
}

test_lib() {
	local ns E rev ok=1 out
	mk_netns ns etcd
	etcd_start E "$ns" 198.19.81.1 tls
	etcd_ctl "$E" put /k 1 >/dev/null && etcd_ctl "$E" put /k 2 >/dev/null
	rev=$(etcd_revision "$E")
	etcd_compact "$E"
	out=$(etcd_ctl "$E" get /k --rev "$((rev - 1))" 2>&1)
	case "$out" in *compacted*) check 1 "etcd_compact: an older revision is gone" ;;
	*) check 0 "etcd_compact: revision $((rev - 1)) still readable: $out"; ok=0 ;; esac
	etcd_stop "$E"
	if etcd_ctl "$E" get /k >/dev/null 2>&1; then
		check 0 "etcd_stop: etcd still answers"; ok=0
	else
		check 1 "etcd_stop: etcd is gone"
	fi
	etcd_restart "$E"
	out=$(etcd_ctl "$E" get /k --print-value-only)
	if [ "$out" = 2 ]; then check 1 "etcd_restart: same data"; else
		check 0 "etcd_restart: /k is '$out', want 2"; ok=0; fi
	[ "$ok" = 1 ]
}

# Each scenario in a subshell whose cleanup removes what it made.
for t in $(declare -F | awk '{print $3}' | grep '^test_'); do
	[ -n "${TEST_FILTER:-}" ] && case "$t" in *$TEST_FILTER*) ;; *) continue ;; esac
	echo "  $t"
	before=$(wc -l <"$TALLY")
	if ! ( trap _cleanup EXIT; "$t" ); then
		# A scenario that failed before any case ran (etcd did not start)
		# still counts as a failure.
		tail -n +"$((before + 1))" "$TALLY" | awk '{f += $2} END {exit f > 0 ? 0 : 1}' ||
			echo "0 1" >>"$TALLY"
		echo "    FAIL $t"
	fi
done
read -r pass failn < <(awk '{p += $1; f += $2} END {print p + 0, f + 0}' "$TALLY")
echo "etcd: $pass passed, $failn failed"
[ "$failn" = 0 ]
