# SPDX-License-Identifier: Apache-2.0
# shellcheck shell=bash
#
# The integration tests' harness. A test is a function named test_*; each
# runs in its own subshell with its own throwaway namespaces:
#
#   mk_host host             $host: a netns that plays the node (lo carries the
#                            node addresses 198.19.255.1 and fd5a:7e57:ffff::1)
#   mk_pod pod               $pod: a netns for a pod
#   mk_dir dir               $dir: a temporary directory (the IPAM dataDir)
#
# (They set a variable rather than print a name: $(...) would run them in a
# subshell, and the cleanup they register would be lost.)
#   cni ADD $host $pod <id> <ifname> "$conf"   run rivet as a runtime would;
#                            sets $OUT (stdout) and $RC (exit status)
#
# Everything mk_* made is removed when the test ends, pass or fail. Traffic
# stays between namespaces the test made; nothing touches the machine's own
# interfaces, routes or sysctls. run_tests prints "N passed, N failed".

RIVET=${RIVET:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/build/rivet}
CNI_BIN=${CNI_BIN:-/usr/lib/cni}
NODE4=198.19.255.1
NODE6=fd5a:7e57:ffff::1
export RIVET CNI_BIN NODE4 NODE6

# Unique per run and per test; short because netns names end up in messages.
_RUN=${RVT_RUN:-$(printf 'r%04x' $((RANDOM)))}
_SEQ=0
_CLEAN=""

_uniq() { _SEQ=$((_SEQ + 1)); echo "rvt-$_RUN-$BASHPID-$_SEQ-$1"; }

_register() { _CLEAN="$1;$_CLEAN"; }

_cleanup() {
	local IFS=';' item
	for item in $_CLEAN; do
		[ -n "$item" ] && eval "$item" >/dev/null 2>&1
	done
	_CLEAN=""
}

# mk_netns VAR [TAG]
# (Locals are prefixed so they never shadow the caller's variable name.)
mk_netns() {
	local _mk_n
	_mk_n=$(_uniq "${2:-ns}")
	ip netns add "$_mk_n" || fail "cannot create netns $_mk_n"
	_register "ip netns del $_mk_n"
	ip -n "$_mk_n" link set lo up
	printf -v "$1" '%s' "$_mk_n"
}

mk_host() {
	mk_netns "$1" host
	ip -n "${!1}" addr add "$NODE4/32" dev lo
	ip -n "${!1}" addr add "$NODE6/128" dev lo
}

mk_pod() { mk_netns "$1" pod; }

mk_dir() {
	local _mk_d
	_mk_d=$(mktemp -d /tmp/rvt-test.XXXXXX) || fail "cannot create a temporary directory"
	_register "rm -rf $_mk_d"
	printf -v "$1" '%s' "$_mk_d"
}

# cni COMMAND HOST POD CONTAINERID IFNAME CONF [extra env...]
# POD may be "" (empty CNI_NETNS) or a path starting with / (used as is).
cni() {
	local cmd=$1 host=$2 pod=$3 id=$4 ifname=$5 conf=$6 netns
	shift 6
	case "$pod" in
	"") netns="" ;;
	/*) netns=$pod ;;
	*) netns=/run/netns/$pod ;;
	esac
	OUT=$(printf '%s' "$conf" | ip netns exec "$host" env CNI_COMMAND="$cmd" CNI_CONTAINERID="$id" \
		CNI_NETNS="$netns" CNI_IFNAME="$ifname" CNI_PATH="$CNI_BIN" "$@" "$RIVET" 2>"${_ERRFILE:-/dev/null}")
	RC=$?
	return 0
}

# A config for network $1 with dataDir $2, cniVersion $3 (default 1.0.0),
# and IPAM ranges $4 (a JSON list of range sets; default a v4 /24).
mk_conf() {
	local name=$1 dir=$2 ver=${3:-1.0.0}
	local ranges=${4:-'[[{"subnet":"198.18.0.0/24"}]]'}
	local extra=${5:-}
	printf '{"cniVersion":"%s","name":"%s","type":"rivet"%s,"ipam":{"type":"host-local","dataDir":"%s","ranges":%s}}' \
		"$ver" "$name" "$extra" "$dir" "$ranges"
}

fail() {
	echo "    FAIL: $*" >&2
	exit 1
}

assert_rc() { [ "$RC" -eq "$1" ] || fail "exit status $RC, want $1; stdout: $OUT"; }
assert_eq() { [ "$1" = "$2" ] || fail "${3:-value}: got '$1', want '$2'"; }
assert_contains() { case "$1" in *"$2"*) ;; *) fail "${3:-text} does not contain '$2': $1" ;; esac; }
assert_not_contains() { case "$1" in *"$2"*) fail "${3:-text} contains '$2': $1" ;; esac; }
assert_json() { local v; v=$(printf '%s' "$OUT" | jq -r "$1") || fail "not JSON: $OUT"; assert_eq "$v" "$2" "$1"; }
# The CNI error object: code $1, and stdout is exactly one JSON object.
assert_cni_error() {
	assert_rc 1
	[ "$(printf '%s' "$OUT" | jq -s length 2>/dev/null)" = 1 ] || fail "stdout is not exactly one JSON object: $OUT"
	assert_json .code "$1"
	[ -n "$(printf '%s' "$OUT" | jq -r .msg)" ] || fail "error without a message: $OUT"
}

ping_ok() { # ping_ok NETNS ADDR
	ip netns exec "$1" ping -c1 -W2 "$2" >/dev/null 2>&1 || fail "ping from $1 to $2 failed"
}

# The names of rivet's host ends in netns $1, one per line.
host_ends() { ip -n "$1" -o link show | awk -F': ' '{ sub(/@.*/, "", $2); print $2 }' | grep '^rvt' || true; }

# Nothing of rivet left in HOST and STORE (dataDir/network).
assert_clean() {
	local host=$1 store=$2 links files
	links=$(host_ends "$host" | grep -c . || true)
	[ "$links" = 0 ] || fail "host veth left: $(host_ends "$host")"
	[ -z "$(ip -n "$host" route show proto static)" ] || fail "host route left: $(ip -n "$host" route show proto static)"
	[ -z "$(ip -n "$host" -6 route show proto static)" ] || fail "host route left: $(ip -n "$host" -6 route show proto static)"
	if [ -d "$store" ]; then
		files=$(find "$store" -maxdepth 1 -type f ! -name lock ! -name 'last_reserved_ip.*' ! -name '.*' | wc -l)
		[ "$files" = 0 ] || fail "reservation left in $store: $(ls "$store")"
		[ -z "$(find "$store/.rivet" -mindepth 2 2>/dev/null)" ] || fail "index entry left: $(find "$store/.rivet" -mindepth 2)"
	fi
}

run_tests() {
	local t pass=0 failn=0 failed="" filter=${TEST_FILTER:-}
	for t in $(declare -F | awk '{print $3}' | grep '^test_'); do
		[ -n "$filter" ] && case "$t" in *$filter*) ;; *) continue ;; esac
		if ( trap _cleanup EXIT; set -o pipefail; "$t" ); then
			pass=$((pass + 1))
			echo "  ok   $t"
		else
			failn=$((failn + 1))
			failed="$failed $t"
			echo "  FAIL $t"
		fi
	done
	echo "$(basename "$0"): $pass passed, $failn failed"
	[ "$failn" = 0 ]
}
