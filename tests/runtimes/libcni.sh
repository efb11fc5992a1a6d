# SPDX-License-Identifier: Apache-2.0
# shellcheck shell=bash disable=SC2154
# (host, pod and dir are set by tests/lib.sh's mk_host, mk_pod, mk_dir.)
#
# rivet driven by libcni itself (Debian's golang-github-appc-cni-dev, through
# cniclient/), at every spec version Debian's plugins speak, alone and
# chained with portmap, bandwidth and tuning. The client runs in a
# namespace that plays the node (tests/lib.sh's mk_host), so rivet's host
# side, portmap's iptables rules and bandwidth's qdiscs land there.

LC_VERSIONS="0.3.1 0.4.0 1.0.0"
LC_RANGES='[[{"subnet":"198.18.1.0/24"}],[{"subnet":"fd5a:7e57:1::/64"}]]'
LC_V4=198.18.1.2
LC_V6=fd5a:7e57:1::2
LC_PORTS='"portMappings":[{"hostPort":18080,"containerPort":80,"protocol":"tcp"}]'
LC_RATES='"bandwidth":{"ingressRate":8000000,"ingressBurst":1000000,"egressRate":8000000,"egressBurst":1000000}'
LC_CAPS=''
LC_PORTMAP='{"type":"portmap","capabilities":{"portMappings":true}}'
LC_SHAPE_TUNE='{"type":"bandwidth","capabilities":{"bandwidth":true}},
	{"type":"tuning","sysctl":{"net.core.somaxconn":"1234","net.ipv4.conf.eth0.arp_notify":"1"},"dataDir":"@DIR@/tuning"}'
LC_CHAIN="$LC_PORTMAP,$LC_SHAPE_TUNE"

# lc_setup VERSION [PLUGINS]: a node, a pod, and a config dir holding one
# network list "lc" (rivet, then PLUGINS); sets host, pod, dir, STORE.
lc_setup() {
	mk_host host
	mk_pod pod
	mk_dir dir
	mkdir -p "$dir/conf" "$dir/cache"
	rt_bin_dir "$dir/bin" || fail "cannot fill a bin dir"
	lc_conflist "$1" "${2:-}" >"$dir/conf/10-lc.conflist" || fail "cannot write the conflist"
	LC_CONF=$dir/conf
	STORE=$dir/store/lc
	LC_ID=libcni-$RANDOM
}

lc_conflist() { # VERSION PLUGINS
	rt_conflist lc "$1" "$dir/store" "$LC_RANGES" "$(printf %s "$2" | sed "s|@DIR@|$dir|g")"
}

# libcni COMMAND NETNS: run the client in the node namespace, the way a
# runtime on that node would, with the capability arguments in $LC_CAPS (a
# runtime passes the same ones to ADD, CHECK and DEL); sets OUT, ERR and RC.
libcni() {
	local cmd=$1 netns=$2
	OUT=$(ip netns exec "$host" env NETCONFPATH="$LC_CONF" CNI_PATH="$dir/bin" \
		CNI_CACHE_DIR="$dir/cache" CNI_CONTAINERID="$LC_ID" CNI_IFNAME=eth0 CAP_ARGS="${LC_CAPS:-}" \
		"$RT_CNICLIENT" "$cmd" lc "$netns" 2>"$dir/stderr")
	RC=$?
	ERR=$(cat "$dir/stderr")
}

libcni_ok() { # COMMAND NETNS
	libcni "$@"
	[ "$RC" = 0 ] || fail "libcni $1 failed ($RC): $ERR $(tail -n 3 "$dir/store/rivet.log" 2>/dev/null)"
}

# What rivet's ADD must have left, seen from the kernel and the store.
lc_assert_attached() {
	local hostif
	assert_contains "$(ip -n "$pod" -4 addr show dev eth0 2>&1)" "inet $LC_V4/32" "pod IPv4 address"
	assert_contains "$(ip -n "$pod" -6 addr show dev eth0 2>&1)" "inet6 $LC_V6/128" "pod IPv6 address"
	hostif=$(ip -n "$host" -o route show "$LC_V4/32" | awk '{print $3}')
	case "$hostif" in rvt?*) ;; *) fail "no host route to $LC_V4 via a rivet veth: '$(ip -n "$host" route)'" ;; esac
	assert_contains "$(ip -n "$host" -6 route show "$LC_V6/128")" "dev $hostif" "host IPv6 route"
	assert_eq "$(rt_reserved_by "$STORE/$LC_V4")" "$LC_ID" "container ID in the reservation of $LC_V4"
	assert_eq "$(rt_reserved_by "$STORE/$LC_V6")" "$LC_ID" "container ID in the reservation of $LC_V6"
	ping_ok "$host" "$LC_V4"
	ping_ok "$host" "$LC_V6"
	ping_ok "$pod" "$NODE4"
	ping_ok "$pod" "$NODE6"
	HOSTIF=$hostif
}

lc_assert_result() { # VERSION
	assert_json .cniVersion "$1"
	assert_json '[(.ips // [])[].address] | sort | join(",")' "$LC_V4/32,$LC_V6/128"
	assert_json '.interfaces[.ips[0].interface].name' eth0
	assert_json '.interfaces[.ips[0].interface].sandbox' "/run/netns/$pod"
}

lc_check() { # VERSION: CHECK passes, or libcni refuses it for 0.3.1
	libcni check "/run/netns/$pod"
	if [ "$1" = 0.3.1 ]; then
		assert_eq "$RC" 1 "libcni check at 0.3.1"
		assert_contains "$ERR" "does not support the CHECK command" "libcni's refusal"
	else
		[ "$RC" = 0 ] || fail "libcni check failed: $ERR"
		assert_eq "$OUT" "" "check stdout"
	fi
}

lc_dnat_rules() { ip netns exec "$host" iptables -t nat -S 2>/dev/null | grep -- "--to-destination $LC_V4:80" || true; }
lc_ifbs() { ip -n "$host" -o link show type ifb | awk -F': ' '{print $2}'; }

lc_alone() { # VERSION
	local v=$1
	lc_setup "$v"
	libcni_ok add "/run/netns/$pod"
	lc_assert_result "$v"
	lc_assert_attached
	lc_check "$v"
	libcni_ok del "/run/netns/$pod"
	assert_eq "$OUT" "" "del stdout"
	assert_clean "$host" "$STORE"
	[ -z "$(ip -n "$pod" -o link show eth0 2>/dev/null)" ] || fail "eth0 left in the pod after DEL"
	[ -z "$(ls "$dir/cache/results" 2>/dev/null)" ] || fail "libcni's cached result left: $(ls "$dir/cache/results")"
	libcni_ok del "/run/netns/$pod"
}

lc_chained() { # VERSION
	local v=$1 www srv
	lc_setup "$v" "$LC_CHAIN"
	LC_CAPS="{$LC_PORTS,$LC_RATES}"
	libcni_ok add "/run/netns/$pod"
	lc_assert_result "$v"
	lc_assert_attached

	# portmap: the DNAT rule in the node, and a connection through it.
	assert_contains "$(lc_dnat_rules)" "--dport 18080" "portmap's DNAT rule"
	www=$dir/www
	mkdir -p "$www" && echo "$RT_TOKEN" >"$www/token"
	ip netns exec "$pod" busybox httpd -f -p 80 -h "$www" &
	srv=$!
	_register "kill $srv"
	eventually 30 ip netns exec "$pod" sh -c "ss -ltn | grep -q ':80 '" || fail "the pod's httpd does not listen"
	assert_eq "$(ip netns exec "$host" timeout 5 busybox wget -qO- "http://$NODE4:18080/token" 2>&1)" "$RT_TOKEN" \
		"a GET through portmap's host port"

	# bandwidth: a tbf on the host end, and its ifb with a tbf of its own.
	assert_contains "$(tc -n "$host" qdisc show dev "$HOSTIF")" "qdisc tbf" "tbf on $HOSTIF"
	local ifb
	ifb=$(lc_ifbs)
	[ -n "$ifb" ] || fail "bandwidth made no ifb device"
	assert_contains "$(tc -n "$host" qdisc show dev "$ifb")" "qdisc tbf" "tbf on $ifb"

	# tuning: its sysctls in the pod.
	assert_eq "$(ip netns exec "$pod" cat /proc/sys/net/core/somaxconn)" 1234 "net.core.somaxconn in the pod"
	assert_eq "$(ip netns exec "$pod" cat /proc/sys/net/ipv4/conf/eth0/arp_notify)" 1 "arp_notify on eth0"

	# Debian's portmap (1.1.1) fails every CHECK: it looks for its IPv4
	# rules with ip6tables (containernetworking/plugins#819). So CHECK
	# runs the same network list with portmap left out, against the same
	# cached result.
	mkdir -p "$dir/conf-check"
	lc_conflist "$v" "$LC_SHAPE_TUNE" >"$dir/conf-check/10-lc.conflist"
	LC_CONF=$dir/conf-check
	lc_check "$v"
	LC_CONF=$dir/conf
	libcni_ok del "/run/netns/$pod"
	assert_eq "$(lc_dnat_rules)" "" "portmap's DNAT rules after DEL"
	assert_eq "$(lc_ifbs)" "" "ifb devices after DEL"
	assert_clean "$host" "$STORE"
	[ -z "$(ip -n "$pod" -o link show eth0 2>/dev/null)" ] || fail "eth0 left in the pod after DEL"
	libcni_ok del "/run/netns/$pod"
}

# The pod's netns is gone before DEL (the runtime lost it, the node
# rebooted): DEL must still release everything on the node's side.
lc_del_after_netns_gone() { # VERSION
	local v=$1
	lc_setup "$v" "$LC_CHAIN"
	LC_CAPS="{$LC_PORTS,$LC_RATES}"
	libcni_ok add "/run/netns/$pod"
	lc_assert_attached
	ip netns del "$pod" || fail "cannot delete the pod netns"
	libcni_ok del "/run/netns/$pod"
	assert_eq "$(lc_dnat_rules)" "" "portmap's DNAT rules after DEL"
	assert_eq "$(lc_ifbs)" "" "ifb devices after DEL"
	assert_clean "$host" "$STORE"
	[ -z "$(ls "$dir/cache/results" 2>/dev/null)" ] || fail "libcni's cached result left"
	libcni_ok del "/run/netns/$pod"
}

for _v in $LC_VERSIONS; do
	eval "test_libcni_${_v//./_}_rivet_alone() { lc_alone $_v; }"
	eval "test_libcni_${_v//./_}_chained_portmap_bandwidth_tuning() { lc_chained $_v; }"
	eval "test_libcni_${_v//./_}_del_after_the_netns_is_gone() { lc_del_after_netns_gone $_v; }"
done
unset _v

# tuning's "mac" changes the pod's MAC after rivet's ADD. The kernel flushes
# a device's neighbour entries, PERMANENT ones included, when its address
# changes (neigh_changeaddr), so rivet's static entries for the gateways go.
# Traffic still flows on a node with a default route (the host end's
# proxy_arp answers for 169.254.1.1), but CHECK insists on the entry.
test_libcni_1_0_0_tuning_mac_then_check() {
	local up
	lc_setup 1.0.0 '{"type":"tuning","mac":"c2:b0:57:49:47:f1","dataDir":"@DIR@/tuning"}'
	mk_netns up up
	ip -n "$host" link add uplink type veth peer name down netns "$up"
	ip -n "$host" link set uplink up
	ip -n "$host" addr add 198.18.255.1/30 dev uplink
	ip -n "$host" route add default via 198.18.255.2 dev uplink
	libcni_ok add "/run/netns/$pod"
	assert_contains "$(ip -n "$pod" link show eth0)" "link/ether c2:b0:57:49:47:f1" "the pod's MAC"
	assert_json '.interfaces[.ips[0].interface].mac' c2:b0:57:49:47:f1
	lc_assert_attached

	libcni check "/run/netns/$pod"
	[ "$RC" = 0 ] || fail "libcni check failed: $ERR"
	libcni_ok del "/run/netns/$pod"
	assert_clean "$host" "$STORE"
}
