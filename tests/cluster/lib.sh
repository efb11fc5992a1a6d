# SPDX-License-Identifier: Apache-2.0
# shellcheck shell=bash
#
# A cluster on one machine, every part of it in network namespaces the test
# makes (tests/lib.sh removes them all when the test ends):
#
#                 etcd 198.19.1.100
#                      |
#   n1, n2, n3, ... ---br1--- router ---br2--- n4, ...     (another L2)
#   198.19.1.N/24    198.19.1.254   198.19.2.254   198.19.2.N/24
#   fd5a:7e57:ff01::N/64                           fd5a:7e57:ff02::N/64
#
# The bridges live in the router's namespace; nodes on one bridge share a
# subnet (rivetd's direct backend), nodes on the other are reached only
# through the router (VXLAN). Pods are in 198.18.0.0/16 and
# fd5a:7e57:100::/48.
#
#   cl_router                 the router and its bridge ($CL_ROUTER)
#   cl_etcd [tls]             etcd on the bridge ($CL_ETCD, its directory)
#   cl_etcd3                  instead, a cluster of three members on the bridge,
#                             198.19.1.101-103 ($CL_ETCD_1..3; $CL_ETCD is the
#                             first); agents get all three, first to last
#   cl_init [FLAGS]           rivetd init with the cluster's CIDRs
#   cl_node NAME L2 N         a node netns on L2 1 (the bridge) or 2 (behind
#                             the router), address .N; $CL_NS_<NAME>
#   cl_agent NAME [FLAGS]     rivetd run on NAME, in the background, logging to
#                             $CL_DIR/NAME/rivetd.log; the PID in $CL_DIR/NAME/pid
#   cl_stop NAME [SIG]        end NAME's agent by PID
#   cl_pod NAME NODE          a pod on NODE, added by rivet's ADD from the conflist
#                             rivetd wrote; its addresses in $CL_DIR/pods/NAME.{4,6}
#   cl_routes NODE            NODE's routes of protocol 92, both families, sorted
#   cl_range NODE [4|6]       the pod range NODE's conflist holds
#   cl_wait SECONDS CMD...    poll CMD every 20 ms until it succeeds; fail the
#                             test, with every agent's log tail, when it does not
#   rivetd ARGS...            the rivetd under test, with the etcd flags

# shellcheck source=../lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
# shellcheck source=../etcd/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/../etcd/lib.sh"

RIVETD=${RIVETD:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)/build/rivetd}
CL_CIDRS=198.18.0.0/16,fd5a:7e57:100::/48
CL_PREFIX=/rivet-test

# Namespaces and directories of this test; set by the functions below.
CL_DIR=""
CL_ROUTER=""
CL_ETCD=""
CL_ETCD_ENDPOINTS=""

_cl_dir() {
	[ -n "$CL_DIR" ] || mk_dir CL_DIR
	mkdir -p "$CL_DIR/pods"
}

# The etcd flags every rivetd call gets.
cl_etcd_flags() {
	local f=(--etcd-endpoints "${CL_ETCD_ENDPOINTS:-$(etcd_url "$CL_ETCD")}" --prefix "$CL_PREFIX"
		--etcd-timeout 2000)
	if [ -f "$CL_ETCD/pki/client.pem" ]; then
		f+=(--etcd-cafile "$CL_ETCD/pki/ca.pem" --etcd-certfile "$CL_ETCD/pki/client.pem"
			--etcd-keyfile "$CL_ETCD/pki/client-key.pem")
	fi
	printf '%s\n' "${f[@]}"
}

# rivetd ARGS...: run in the etcd namespace's neighbourhood (any node will
# do; the router reaches etcd), with the etcd flags after the command.
rivetd() {
	local cmd=$1 flags
	shift
	mapfile -t flags < <(cl_etcd_flags)
	ip netns exec "$CL_ROUTER" "$RIVETD" "$cmd" "${flags[@]}" "$@"
}

cl_router() {
	_cl_dir
	mk_netns CL_ROUTER router
	for l2 in 1 2; do
		ip -n "$CL_ROUTER" link add "br$l2" type bridge
		ip -n "$CL_ROUTER" link set "br$l2" up
		ip -n "$CL_ROUTER" addr add "198.19.$l2.254/24" dev "br$l2"
		ip -n "$CL_ROUTER" addr add "fd5a:7e57:ff0$l2::fe/64" dev "br$l2" nodad
	done
	# Through /proc/sys, the router's own (a minimal Debian has no sysctl(8)).
	ip netns exec "$CL_ROUTER" sh -c 'echo 1 >/proc/sys/net/ipv4/ip_forward &&
		echo 1 >/proc/sys/net/ipv6/conf/all/forwarding' || fail "cannot make the router forward"
}

# _cl_wire NETNS L2 ADDR4 ADDR6: a veth from NETNS's eth0 to the router,
# on the bridge (L2 1) or on a link of its own (L2 2).
_cl_wire() {
	local ns=$1 l2=$2 a4=$3 a6=$4 peer
	peer=v$(printf '%s' "$ns" | md5sum | cut -c1-10)
	ip link add eth0 netns "$ns" type veth peer name "$peer" netns "$CL_ROUTER" ||
		fail "cannot wire $ns to the router"
	ip -n "$CL_ROUTER" link set "$peer" master "br$l2" up
	ip -n "$ns" addr add "$a4/24" dev eth0
	ip -n "$ns" addr add "$a6/64" dev eth0 nodad
	ip -n "$ns" link set eth0 up
	ip -n "$ns" route replace default via "198.19.$l2.254"
	ip -n "$ns" -6 route replace default via "fd5a:7e57:ff0$l2::fe"
}

cl_etcd() {
	local ns
	mk_netns ns etcd
	_cl_wire "$ns" 1 198.19.1.100 fd5a:7e57:ff01::64
	etcd_start CL_ETCD "$ns" 198.19.1.100 "${1:-}"
}

cl_etcd3() {
	local ns i cluster="" urls=""
	for i in 1 2 3; do
		cluster+="${cluster:+,}e$i=http://198.19.1.10$i:2380"
		urls+="${urls:+,}http://198.19.1.10$i:2379"
	done
	for i in 1 2 3; do
		mk_netns ns "etcd$i"
		_cl_wire "$ns" 1 "198.19.1.10$i" "fd5a:7e57:ff01::6$i"
		ETCD_MEMBER=e$i ETCD_CLUSTER=$cluster ETCD_NOWAIT=1 etcd_start "CL_ETCD_$i" "$ns" "198.19.1.10$i"
	done
	for i in 1 2 3; do
		local v="CL_ETCD_$i"
		etcd_wait "${!v}"
	done
	CL_ETCD=$CL_ETCD_1
	CL_ETCD_ENDPOINTS=$urls
}

cl_init() {
	rivetd init --cluster-cidr "$CL_CIDRS" "$@" >"$CL_DIR/init.out" 2>&1 ||
		fail "rivetd init: $(cat "$CL_DIR/init.out")"
}

cl_node() { # NAME L2 N
	local name=$1 l2=$2 n=$3 ns
	mk_netns ns "$name"
	_cl_wire "$ns" "$l2" "198.19.$l2.$n" "fd5a:7e57:ff0$l2::$n"
	printf -v "CL_NS_$name" '%s' "$ns"
	mkdir -p "$CL_DIR/$name"
	echo "198.19.$l2.$n,fd5a:7e57:ff0$l2::$n" >"$CL_DIR/$name/ip"
}

cl_ns() { local v="CL_NS_$1"; echo "${!v}"; }

cl_agent() { # NAME [FLAGS...]
	local name=$1 d=$CL_DIR/$1 flags pid
	shift
	mapfile -t flags < <(cl_etcd_flags)
	ip netns exec "$(cl_ns "$name")" "$RIVETD" run "${flags[@]}" --node-name "$name" \
		--node-ip "$(cat "$d/ip")" --cni-conf-dir "$d/net.d" --ipam-data-dir "$d/ipam" \
		--state-dir "$d/state" --log-level debug "$@" >>"$d/rivetd.log" 2>&1 &
	pid=$!
	echo "$pid" >"$d/pid"
	_register "kill -KILL $pid"
}

cl_stop() { # NAME [SIG]
	local pid
	pid=$(cat "$CL_DIR/$1/pid" 2>/dev/null) || return 0
	kill "-${2:-TERM}" "$pid" 2>/dev/null
	for _ in $(seq 100); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.05
	done
	wait "$pid" 2>/dev/null
	rm -f "$CL_DIR/$1/pid"
}

cl_logs() {
	local f
	for f in "$CL_DIR"/*/rivetd.log; do
		[ -f "$f" ] || continue
		echo "--- $f"
		tail -n 15 "$f"
	done
}

cl_wait() { # SECONDS CMD...
	local limit=$1 n
	shift
	n=$((limit * 50))
	while ! "$@" >/dev/null 2>&1; do
		n=$((n - 1))
		[ "$n" -gt 0 ] || fail "not within ${limit}s: $*
$(cl_logs)"
		sleep 0.02
	done
}

cl_conflist() { echo "$CL_DIR/$1/net.d/10-rivet.conflist"; }
cl_has_conflist() { [ -s "$(cl_conflist "$1")" ]; }

cl_range() { # NODE [4|6]
	local sel='.plugins[0].ipam.ranges[][0].subnet'
	jq -r "$sel" "$(cl_conflist "$1")" 2>/dev/null | if [ "${2:-4}" = 6 ]; then grep : ; else grep -v : ; fi
}

cl_routes() {
	{ ip -n "$(cl_ns "$1")" route show proto 92; ip -n "$(cl_ns "$1")" -6 route show proto 92; } | sort
}

# cl_routed NODE RANGE: NODE has a route of rivetd's to RANGE.
cl_routed() { cl_routes "$1" | grep -q "^$2 "; }
cl_not_routed() { ! cl_routed "$@"; }

# cl_pod NAME NODE: a pod on NODE, by rivet's own ADD with the network rivetd
# wrote (the conflist's first plugin, with its cniVersion and name).
cl_pod() {
	local name=$1 node=$2 ns conf out
	cl_wait 10 cl_has_conflist "$node"
	mk_netns ns "pod-$name"
	conf=$(jq -c '.plugins[0] + {cniVersion: .cniVersion, name: .name}' "$(cl_conflist "$node")")
	out=$(printf '%s' "$conf" | ip netns exec "$(cl_ns "$node")" env CNI_COMMAND=ADD \
		CNI_CONTAINERID="$name" CNI_NETNS="/run/netns/$ns" CNI_IFNAME=eth0 CNI_PATH="$CNI_BIN" \
		"$RIVET") || fail "ADD of $name on $node: $out"
	echo "$out" | jq -r '.ips[].address' | grep -v : | cut -d/ -f1 >"$CL_DIR/pods/$name.4"
	echo "$out" | jq -r '.ips[].address' | grep : | cut -d/ -f1 >"$CL_DIR/pods/$name.6"
	echo "$ns" >"$CL_DIR/pods/$name.ns"
}

cl_pod_ip() { cat "$CL_DIR/pods/$1.${2:-4}"; }
cl_pod_ns() { cat "$CL_DIR/pods/$1.ns"; }

# A server in each pod that answers a datagram with the address it came
# from: a pod that reaches another learns the source address it was seen with.
cl_whoami_server() { # POD
	ip netns exec "$(cl_pod_ns "$1")" python3 -c '
import socket
s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
s.bind(("::", 7777))
while True:
    d, a = s.recvfrom(64)
    s.sendto(a[0].removeprefix("::ffff:").encode(), a)
' >/dev/null 2>&1 &
	_register "kill $!"
}

# cl_whoami FROM-POD ADDR: the source address ADDR's server saw, or nothing.
cl_whoami() {
	ip netns exec "$(cl_pod_ns "$1")" python3 -c '
import socket, sys
a = sys.argv[1]
s = socket.socket(socket.AF_INET6 if ":" in a else socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(0.5)
for _ in range(4):
    try:
        s.sendto(b"?", (a, 7777))
        print(s.recvfrom(64)[0].decode())
        break
    except socket.timeout:
        pass
' "$2" 2>/dev/null
}
