#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# The pod datapath, through the real binary, in throwaway namespaces: for
# every spec version, ADD gives the pod its addresses and routes and the host
# its routes, traffic flows both ways over IPv4 and IPv6, CHECK passes and
# then fails once something is removed, DEL leaves nothing, DEL is
# idempotent, and failed ADDs leave nothing.
. "$(dirname "$0")/../lib.sh"

VERSIONS="0.1.0 0.2.0 0.3.0 0.3.1 0.4.0 1.0.0 1.1.0"
DUAL='[[{"subnet":"198.18.0.0/24"}],[{"subnet":"fd5a:7e57:1::/64"}]]'

# Everything ADD should have made, seen from the kernel and the store.
assert_pod_plumbed() { # host pod ifname v4 v6 store id
	local host=$1 pod=$2 ifname=$3 v4=$4 v6=$5 store=$6 id=$7 hostif
	assert_contains "$(ip -n "$pod" -4 addr show dev "$ifname")" "inet $v4/32" "pod IPv4 address"
	assert_contains "$(ip -n "$pod" -6 addr show dev "$ifname")" "inet6 $v6/128" "pod IPv6 address"
	assert_contains "$(ip -n "$pod" -4 route)" "default via 169.254.1.1 dev $ifname" "pod IPv4 default route"
	assert_contains "$(ip -n "$pod" -4 route)" "169.254.1.1 dev $ifname" "pod gateway route"
	assert_contains "$(ip -n "$pod" -6 route)" "default via fe80::ecee:eeff:feee:eeee dev $ifname" "pod IPv6 default route"
	assert_contains "$(ip -n "$pod" neigh show 169.254.1.1)" "lladdr ee:ee:ee:ee:ee:ee PERMANENT" "pod IPv4 gateway neighbour"
	assert_contains "$(ip -n "$pod" -6 neigh show fe80::ecee:eeff:feee:eeee)" "lladdr ee:ee:ee:ee:ee:ee PERMANENT" "pod IPv6 gateway neighbour"
	hostif=$(ip -n "$host" -o route show "$v4/32" | awk '{print $3}')
	[ -n "$hostif" ] || fail "no host route for $v4"
	case "$hostif" in rvt????????????) ;; *) fail "host route for $v4 goes to '$hostif'" ;; esac
	assert_contains "$(ip -n "$host" -6 route show "$v6/128")" "dev $hostif" "host IPv6 route"
	assert_contains "$(ip -n "$host" link show "$hostif")" "link/ether ee:ee:ee:ee:ee:ee" "host end MAC"
	assert_eq "$(ip netns exec "$host" cat /proc/sys/net/ipv4/conf/"$hostif"/proxy_arp)" 1 "proxy_arp"
	assert_eq "$(ip netns exec "$host" cat /proc/sys/net/ipv4/conf/"$hostif"/forwarding)" 1 "per-device forwarding"
	assert_eq "$(ip netns exec "$host" cat /proc/sys/net/ipv6/conf/"$hostif"/accept_ra)" 0 "accept_ra"
	assert_eq "$(ip netns exec "$host" cat /proc/sys/net/ipv4/ip_forward)" 1 "ip_forward"
	assert_eq "$(printf '%s\r\n%s' "$id" "$ifname" | od -c)" "$(od -c <"$store/$v4")" "reservation file of $v4"
	assert_eq "$(stat -c %a "$store/$v4")" 600 "reservation file mode"
	[ -f "$store/$v6" ] || fail "no reservation file for $v6"
}

check_result_shape() { # version
	case "$1" in
	0.1.0 | 0.2.0)
		assert_json .ip4.ip 198.18.0.2/32
		assert_json .ip4.gateway 169.254.1.1
		assert_json .ip6.ip fd5a:7e57:1::2/128
		assert_json '.ip4.routes[0].dst' 0.0.0.0/0
		assert_json .interfaces null
		;;
	0.3.0 | 0.3.1 | 0.4.0)
		assert_json '.ips[0].version' 4
		assert_json '.ips[1].version' 6
		assert_json '.ips[0].address' 198.18.0.2/32
		assert_json '.ips[0].interface' 1
		assert_json '.interfaces[1].sandbox' "/run/netns/$pod"
		assert_json '.interfaces[1].mtu' null
		;;
	*)
		assert_json '.ips[0].version' null
		assert_json '.ips[1].address' fd5a:7e57:1::2/128
		assert_json '.ips[1].gateway' fe80::ecee:eeff:feee:eeee
		assert_json '.interfaces[0].mac' ee:ee:ee:ee:ee:ee
		assert_json '.interfaces[1].name' eth0
		assert_json '.interfaces[1].mtu' 1500
		;;
	esac
	assert_json .cniVersion "$1"
}

test_add_check_del_every_version() {
	local host pod dir conf v
	for v in $VERSIONS; do
		mk_host host ; mk_pod pod ; mk_dir dir
		conf=$(mk_conf net-$RANDOM "$dir" "$v" "$DUAL")
		local net
		net=$(echo "$conf" | jq -r .name)
		cni ADD "$host" "$pod" ctr-"$v" eth0 "$conf"
		assert_rc 0
		check_result_shape "$v"
		assert_pod_plumbed "$host" "$pod" eth0 198.18.0.2 fd5a:7e57:1::2 "$dir/$net" ctr-"$v"
		ping_ok "$host" 198.18.0.2
		ping_ok "$host" fd5a:7e57:1::2
		ping_ok "$pod" "$NODE4"
		ping_ok "$pod" "$NODE6"
		case $v in 0.1.0 | 0.2.0 | 0.3.0 | 0.3.1) ;; *)
			local prev
			prev=$(echo "$conf" | jq -c --argjson r "$OUT" '. + {prevResult: $r}')
			cni CHECK "$host" "$pod" ctr-"$v" eth0 "$prev"
			assert_rc 0
			assert_eq "$OUT" "" "CHECK stdout"
			;;
		esac
		if [ "$v" = 1.1.0 ]; then
			cni STATUS "$host" "" "" "" "$conf"
			assert_rc 0
		fi
		cni DEL "$host" "$pod" ctr-"$v" eth0 "$conf"
		assert_rc 0
		assert_eq "$OUT" "" "DEL stdout"
		assert_clean "$host" "$dir/$net"
		[ -z "$(ip -n "$pod" -o link show eth0 2>/dev/null)" ] || fail "pod end left after DEL"
		cni DEL "$host" "$pod" ctr-"$v" eth0 "$conf"
		assert_rc 0
		_cleanup
	done
}

test_check_fails_once_something_is_removed() {
	local host pod dir conf prev hostif
	mk_host host ; mk_pod pod ; mk_dir dir
	conf=$(mk_conf chk "$dir" 1.1.0 "$DUAL")
	cni ADD "$host" "$pod" c1 eth0 "$conf"
	assert_rc 0
	prev=$(echo "$conf" | jq -c --argjson r "$OUT" '. + {prevResult: $r}')
	hostif=$(echo "$OUT" | jq -r '.interfaces[0].name')

	ip -n "$pod" route del default
	cni CHECK "$host" "$pod" c1 eth0 "$prev"
	assert_cni_error 108
	assert_contains "$(echo "$OUT" | jq -r .msg)" "default route via 169.254.1.1"
	ip -n "$pod" route add default via 169.254.1.1 dev eth0
	cni CHECK "$host" "$pod" c1 eth0 "$prev"
	assert_rc 0

	ip -n "$host" route del 198.18.0.2/32
	cni CHECK "$host" "$pod" c1 eth0 "$prev"
	assert_cni_error 108
	assert_contains "$(echo "$OUT" | jq -r .msg)" "host route 198.18.0.2/32 dev $hostif"
	ip -n "$host" route add 198.18.0.2/32 dev "$hostif" scope link

	ip -n "$pod" addr del fd5a:7e57:1::2/128 dev eth0
	cni CHECK "$host" "$pod" c1 eth0 "$prev"
	assert_cni_error 108
	assert_contains "$(echo "$OUT" | jq -r .msg)" "fd5a:7e57:1::2 is missing"
	ip -n "$pod" addr add fd5a:7e57:1::2/128 dev eth0 nodad

	rm "$dir/chk/198.18.0.2"
	cni CHECK "$host" "$pod" c1 eth0 "$prev"
	assert_cni_error 108
	assert_contains "$(echo "$OUT" | jq -r .msg)" "198.18.0.2 is not reserved"
}

test_pod_to_pod() {
	local host a b dir conf
	mk_host host ; mk_pod a ; mk_pod b ; mk_dir dir
	conf=$(mk_conf p2p "$dir" 1.0.0 "$DUAL")
	cni ADD "$host" "$a" ca eth0 "$conf"; assert_rc 0
	cni ADD "$host" "$b" cb eth0 "$conf"; assert_rc 0
	ping_ok "$a" 198.18.0.3
	ping_ok "$b" 198.18.0.2
	ping_ok "$a" fd5a:7e57:1::3
	ping_ok "$b" fd5a:7e57:1::2
}

test_exhausted_range_leaves_nothing() {
	local host a b dir conf links
	mk_host host ; mk_pod a ; mk_pod b ; mk_dir dir
	# A /30 has one usable address: .1 is the gateway, .3 the broadcast.
	conf=$(mk_conf full "$dir" 1.0.0 '[[{"subnet":"198.18.0.0/30"}]]')
	cni ADD "$host" "$a" ca eth0 "$conf"; assert_rc 0
	cni ADD "$host" "$b" cb eth0 "$conf"
	assert_cni_error 102
	assert_contains "$(echo "$OUT" | jq -r .msg)" "no IP addresses available in range set: 198.18.0.1-198.18.0.2"
	links=$(host_ends "$host" | grep -c .)
	assert_eq "$links" 1 "host ends after the failed ADD"
	[ -z "$(ip -n "$b" -o link show eth0 2>/dev/null)" ] || fail "failed ADD left eth0 in the pod"
	cni DEL "$host" "$a" ca eth0 "$conf"; assert_rc 0
	assert_clean "$host" "$dir/full"
}

test_ifname_taken_leaves_nothing() {
	local host pod dir conf
	mk_host host ; mk_pod pod ; mk_dir dir
	ip -n "$pod" link add eth0 type veth peer name other0
	conf=$(mk_conf taken "$dir")
	cni ADD "$host" "$pod" c1 eth0 "$conf"
	assert_cni_error 104
	assert_contains "$(echo "$OUT" | jq -r .msg)" "eth0 already exists"
	assert_clean "$host" "$dir/taken"
}

test_missing_netns_leaves_nothing() {
	local host dir conf
	mk_host host ; mk_dir dir
	conf=$(mk_conf gone "$dir")
	cni ADD "$host" /run/netns/rvt-does-not-exist c1 eth0 "$conf"
	assert_cni_error 3
	assert_contains "$(echo "$OUT" | jq -r .msg)" "does not exist"
	assert_clean "$host" "$dir/gone"
}

test_netns_that_is_not_a_netns() {
	local host dir conf
	mk_host host ; mk_dir dir
	conf=$(mk_conf notns "$dir")
	touch "$dir/fake"
	cni ADD "$host" "$dir/fake" c1 eth0 "$conf"
	assert_cni_error 4
	assert_contains "$(echo "$OUT" | jq -r .msg)" "not a network namespace"
	assert_clean "$host" "$dir/notns"
}

test_del_when_netns_is_gone() {
	local host pod dir conf
	mk_host host ; mk_pod pod ; mk_dir dir
	conf=$(mk_conf nsgone "$dir")
	cni ADD "$host" "$pod" c1 eth0 "$conf"; assert_rc 0
	ip netns del "$pod"
	cni DEL "$host" "$pod" c1 eth0 "$conf"
	assert_rc 0
	assert_clean "$host" "$dir/nsgone"
	cni DEL "$host" "" c1 eth0 "$conf"
	assert_rc 0
}

test_del_with_empty_netns_removes_everything() {
	local host pod dir conf
	mk_host host ; mk_pod pod ; mk_dir dir
	conf=$(mk_conf emptyns "$dir" 1.0.0 "$DUAL")
	cni ADD "$host" "$pod" c1 eth0 "$conf"; assert_rc 0
	cni DEL "$host" "" c1 eth0 "$conf"
	assert_rc 0
	assert_clean "$host" "$dir/emptyns"
	[ -z "$(ip -n "$pod" -o link show eth0 2>/dev/null)" ] || fail "pod end left"
}

test_retried_add_replaces_its_stale_host_end() {
	local host a b dir conf
	mk_host host ; mk_pod a ; mk_pod b ; mk_dir dir
	conf=$(mk_conf retry "$dir")
	cni ADD "$host" "$a" c1 eth0 "$conf"; assert_rc 0
	# The runtime gave up on the first sandbox and retries in a new netns
	# without a DEL: the same attachment, so the same host end and address.
	cni ADD "$host" "$b" c1 eth0 "$conf"
	assert_rc 0
	assert_json '.ips[0].address' 198.18.0.2/32
	assert_eq "$(host_ends "$host" | grep -c .)" 1 "host ends"
	[ -z "$(ip -n "$a" -o link show eth0 2>/dev/null)" ] || fail "old pod end still there"
	ping_ok "$host" 198.18.0.2
	cni DEL "$host" "$b" c1 eth0 "$conf"; assert_rc 0
	assert_clean "$host" "$dir/retry"
}

test_mtu_from_config_and_from_default_route() {
	local host pod pod2 dir conf up
	mk_host host ; mk_pod pod ; mk_pod pod2 ; mk_netns up up ; mk_dir dir
	conf=$(mk_conf mtu "$dir" 1.0.0 '[[{"subnet":"198.18.0.0/24"}]]' ',"mtu":1400')
	cni ADD "$host" "$pod" c1 eth0 "$conf"; assert_rc 0
	assert_json '.interfaces[1].mtu' 1400
	assert_contains "$(ip -n "$pod" link show eth0)" "mtu 1400"
	assert_contains "$(ip -n "$host" link show "$(echo "$OUT" | jq -r '.interfaces[0].name')")" "mtu 1400"

	# No mtu: take the MTU of the device the default route uses.
	ip -n "$host" link add uplink mtu 9000 type veth peer name down netns "$up"
	ip -n "$host" link set uplink up
	ip -n "$host" addr add 198.19.0.1/30 dev uplink
	ip -n "$host" route add default via 198.19.0.2 dev uplink
	conf=$(mk_conf mtu "$dir")
	cni ADD "$host" "$pod2" c2 eth0 "$conf"; assert_rc 0
	assert_json '.interfaces[1].mtu' 9000
	assert_contains "$(ip -n "$pod2" link show eth0)" "mtu 9000"
}

test_host_route_conflict_names_both() {
	local host pod dir conf
	mk_host host ; mk_pod pod ; mk_dir dir
	ip -n "$host" link add squat0 type veth peer name squat1
	ip -n "$host" link set squat0 up
	ip -n "$host" route add 198.18.0.2/32 dev squat0
	conf=$(mk_conf conflict "$dir")
	cni ADD "$host" "$pod" c1 eth0 "$conf"
	assert_cni_error 105
	assert_contains "$(echo "$OUT" | jq -r .msg)" "points at squat0"
	assert_eq "$(host_ends "$host" | grep -c .)" 0 "host ends"
	[ ! -e "$dir/conflict/198.18.0.2" ] || fail "reservation left after the failed ADD"
}

test_ipv6_only_pod() {
	local host pod dir conf v
	for v in 0.2.0 1.1.0; do
		mk_host host; mk_pod pod; mk_dir dir
		conf=$(mk_conf v6 "$dir" "$v" '[[{"subnet":"fd5a:7e57:6::/64"}]]')
		cni ADD "$host" "$pod" c6 eth0 "$conf"
		assert_rc 0
		if [ "$v" = 0.2.0 ]; then
			assert_json .ip6.ip fd5a:7e57:6::2/128
			assert_json .ip4 null
		else
			assert_json '.ips | length' 1
			assert_json '.routes[0].dst' ::/0
		fi
		ping_ok "$host" fd5a:7e57:6::2
		ping_ok "$pod" "$NODE6"
		[ -z "$(ip -n "$pod" -4 addr show dev eth0)" ] || fail "IPv4 address on an IPv6-only pod"
		assert_eq "$(ip netns exec "$host" cat /proc/sys/net/ipv4/ip_forward)" 0 "IPv4 forwarding, untouched"
		cni DEL "$host" "$pod" c6 eth0 "$conf"; assert_rc 0
		assert_clean "$host" "$dir/v6"
		_cleanup
	done
}

test_prev_result_is_extended() {
	local host pod dir conf prev
	mk_host host; mk_pod pod; mk_dir dir
	# What an earlier plugin in the chain (here in 1.1.0 shape) returned.
	prev='{"cniVersion":"1.1.0","interfaces":[{"name":"macvlan0","mac":"02:00:00:00:00:01","sandbox":"/x"}],
	       "ips":[{"address":"192.0.2.9/24","interface":0}],"routes":[{"dst":"192.0.2.0/24"}],
	       "dns":{"nameservers":["192.0.2.53"]}}'
	conf=$(mk_conf chain "$dir" 1.1.0 | jq -c --argjson p "$prev" '. + {prevResult: $p}')
	cni ADD "$host" "$pod" c1 eth0 "$conf"
	assert_rc 0
	assert_json '.interfaces | length' 3
	assert_json '.interfaces[0].name' macvlan0
	assert_json '.interfaces[2].name' eth0
	assert_json '.ips[0].address' 192.0.2.9/24
	assert_json '.ips[0].interface' 0
	assert_json '.ips[1].address' 198.18.0.2/32
	assert_json '.ips[1].interface' 2
	assert_json '.routes[0].dst' 192.0.2.0/24
	assert_json '.routes[1].dst' 0.0.0.0/0
	assert_json '.dns.nameservers[0]' 192.0.2.53
	# A prevResult in the 0.2.0 shape is read the same way.
	prev='{"cniVersion":"0.2.0","ip4":{"ip":"192.0.2.9/24","gateway":"192.0.2.1"}}'
	conf=$(mk_conf chain2 "$dir" 0.4.0 '[[{"subnet":"198.18.1.0/24"}]]' | jq -c --argjson p "$prev" '. + {prevResult: $p}')
	mk_pod pod
	cni ADD "$host" "$pod" c2 eth0 "$conf"
	assert_rc 0
	assert_json '.ips[0].address' 192.0.2.9/24
	assert_json '.ips[0].version' 4
	assert_json '.ips[1].interface' 1
}

test_pod_mac_from_capability_or_cni_args() {
	local host a b dir conf
	mk_host host; mk_pod a; mk_pod b; mk_dir dir
	conf=$(mk_conf mac "$dir" 1.0.0 | jq -c '. + {runtimeConfig: {mac: "02:5a:7e:57:00:01"}}')
	cni ADD "$host" "$a" c1 eth0 "$conf"; assert_rc 0
	assert_json '.interfaces[1].mac' 02:5a:7e:57:00:01
	assert_contains "$(ip -n "$a" link show eth0)" "link/ether 02:5a:7e:57:00:01"
	# podman sends the MAC in CNI_ARGS.
	cni ADD "$host" "$b" c2 eth0 "$(mk_conf mac "$dir")" CNI_ARGS="IgnoreUnknown=1;MAC=02:5a:7e:57:00:02"
	assert_rc 0
	assert_contains "$(ip -n "$b" link show eth0)" "link/ether 02:5a:7e:57:00:02"
	mk_pod b
	cni ADD "$host" "$b" c3 eth0 "$(mk_conf mac "$dir")" CNI_ARGS="MAC=01:00:5e:00:00:01"
	assert_cni_error 4
	assert_contains "$(echo "$OUT" | jq -r .msg)" "not a unicast MAC"
}

test_ipam_routes_up_to_the_bound() {
	local host pod dir conf routes
	mk_host host; mk_pod pod; mk_dir dir
	routes=$(for i in $(seq 1 32); do printf '{"dst":"198.19.%d.0/24"},' "$i"; done | sed 's/,$//')
	conf=$(mk_conf routes "$dir" | jq -c --argjson r "[$routes]" '.ipam.routes = $r')
	cni ADD "$host" "$pod" c1 eth0 "$conf"
	assert_rc 0
	assert_eq "$(ip -n "$pod" route show | grep -c 'via 169.254.1.1')" 33 "pod routes via the gateway"
	assert_json '.routes | length' 33
	# One more is refused, before anything is made.
	routes="$routes,{\"dst\":\"198.19.99.0/24\"}"
	mk_pod pod
	cni ADD "$host" "$pod" c2 eth0 "$(mk_conf routes "$dir" | jq -c --argjson r "[$routes]" '.ipam.routes = $r')"
	assert_cni_error 7
	assert_contains "$(echo "$OUT" | jq -r .msg)" "rivet supports up to 32"
	assert_eq "$(host_ends "$host" | grep -c .)" 1 "host ends"
	assert_eq "$(ls "$dir/routes" | grep -c '^198')" 1 "reservations"
}


# An interface that holds the host end's derived name but carries another
# alias is not this attachment's: ADD fails with 106 and never touches it
# (its alias, its peer and the peer's netns stay as they were), and the
# address it reserved is released again.
test_foreign_interface_with_the_host_end_name_is_left_alone() {
	local host pod other dir conf name before
	mk_host host ; mk_pod pod ; mk_pod other ; mk_dir dir
	conf=$(mk_conf foreign "$dir")
	cni ADD "$host" "$pod" c1 eth0 "$conf"; assert_rc 0
	name=$(printf '%s' "$OUT" | jq -r '.interfaces[0].name')
	cni DEL "$host" "$pod" c1 eth0 "$conf"; assert_rc 0
	ip -n "$host" link add "$name" type veth peer name peer0 netns "$other" || fail "cannot make the foreign veth"
	ip -n "$host" link set "$name" alias "owned by someone else"
	before=$(ip -n "$host" -d link show "$name"; ip -n "$other" -d link show peer0)
	cni ADD "$host" "$pod" c1 eth0 "$conf"
	assert_cni_error 106
	assert_contains "$(echo "$OUT" | jq -r .msg)" "owned by someone else"
	assert_eq "$(ip -n "$host" -d link show "$name"; ip -n "$other" -d link show peer0)" "$before" "the foreign veth"
	[ -z "$(ip -n "$pod" -o link show eth0 2>/dev/null)" ] || fail "failed ADD left eth0 in the pod"
	assert_eq "$(ls "$dir/foreign" | grep -c '^198')" 0 "reservations"
	# Nor does DEL, or a GC that does not list c1, touch it.
	cni DEL "$host" "$pod" c1 eth0 "$conf"; assert_rc 0
	cni GC "$host" "" "" "" "$(mk_conf foreign "$dir" 1.1.0 | jq -c '. + {"cni.dev/valid-attachments": []}')"
	assert_rc 0
	assert_eq "$(ip -n "$host" -d link show "$name"; ip -n "$other" -d link show peer0)" "$before" "the foreign veth after DEL and GC"

	# A link of another kind with the name and no alias is no leftover of
	# rivet's either: ADD refuses it, and neither DEL nor GC removes it.
	ip -n "$host" link del "$name"
	ip -n "$host" link add "$name" type bridge || fail "cannot make the foreign bridge"
	before=$(ip -n "$host" -d link show "$name")
	cni ADD "$host" "$pod" c1 eth0 "$conf"
	assert_cni_error 106
	cni DEL "$host" "$pod" c1 eth0 "$conf"; assert_rc 0
	cni GC "$host" "" "" "" "$(mk_conf foreign "$dir" 1.1.0 | jq -c '. + {"cni.dev/valid-attachments": []}')"
	assert_rc 0
	assert_eq "$(ip -n "$host" -d link show "$name")" "$before" "the foreign bridge after ADD, DEL and GC"
}


# GC may run while another network's ADD is between creating its veth and
# naming it: the two requests share one sendmsg, but a link dump can land
# between them. A link GC sees without an alias is deleted only if it is
# still the same link, still without one, a while later; one that stays
# unnamed is a leftover, and goes.
test_gc_spares_an_unnamed_link_that_gets_its_alias() {
	local host pod dir gcconf pid
	mk_host host ; mk_pod pod ; mk_dir dir
	gcconf=$(mk_conf gcnet "$dir" 1.1.0 | jq -c '. + {"cni.dev/valid-attachments": []}')
	ip -n "$host" link add rvt0123456789ab type veth peer name eth0 netns "$pod" || fail "cannot make a veth"
	( cni GC "$host" "" "" "" "$gcconf"; echo "$RC" >"$dir/gc.rc" ) &
	pid=$!
	sleep 0.3
	ip -n "$host" link set rvt0123456789ab alias "rivet other eth0 othernet" 2>/dev/null
	wait "$pid"
	assert_eq "$(cat "$dir/gc.rc")" 0 "GC's exit status"
	ip -n "$host" link show rvt0123456789ab >/dev/null 2>&1 ||
		fail "GC deleted a veth that another network's ADD was naming"
	ip -n "$host" link add rvtba9876543210 type veth peer name eth1 netns "$pod" || fail "cannot make a veth"
	cni GC "$host" "" "" "" "$gcconf"
	assert_rc 0
	! ip -n "$host" link show rvtba9876543210 >/dev/null 2>&1 || fail "GC left an unnamed leftover"
	ip -n "$host" link show rvt0123456789ab >/dev/null 2>&1 || fail "GC deleted another network's veth"
}


# The longest container ID and network name rivet accepts (200 each) make
# an alias "rivet <id> <ifname> <network>" longer than the kernel keeps (255
# bytes). GC must still find that attachment's host end, and only its own:
# not the host end of a network whose name differs only at the end.
test_gc_finds_host_ends_of_the_longest_names() {
	local host a b dir id net_a net_b conf_a conf_b
	mk_host host ; mk_pod a ; mk_pod b ; mk_dir dir
	id=$(printf 'c%.0s' $(seq 200))
	net_a=$(printf 'n%.0s' $(seq 199))a
	net_b=$(printf 'n%.0s' $(seq 199))b
	conf_a=$(mk_conf "$net_a" "$dir" 1.1.0)
	conf_b=$(mk_conf "$net_b" "$dir" 1.1.0 '[[{"subnet":"198.18.1.0/24"}]]')
	cni ADD "$host" "$a" "$id" eth0 "$conf_a"; assert_rc 0
	cni ADD "$host" "$b" "$id" eth1 "$conf_b"; assert_rc 0
	cni CHECK "$host" "$a" "$id" eth0 "$(printf '%s' "$conf_a" | jq -c --argjson r "$OUT" '. + {prevResult: $r}')"
	assert_eq "$(host_ends "$host" | grep -c .)" 2 "host ends"
	cni GC "$host" "" "" "" "$(printf '%s' "$conf_a" | jq -c '. + {"cni.dev/valid-attachments": []}')"
	assert_rc 0
	assert_eq "$(host_ends "$host" | grep -c .)" 1 "host ends after GC of the first network"
	[ -z "$(ip -n "$a" -o link show eth0 2>/dev/null)" ] || fail "GC left the first network's pod end"
	[ -n "$(ip -n "$b" -o link show eth1 2>/dev/null)" ] || fail "GC of the first network removed the second's"
	assert_eq "$(ls "$dir/$net_a" | grep -c '^198')" 0 "the first network's reservations"
	cni DEL "$host" "$b" "$id" eth1 "$conf_b"; assert_rc 0
	assert_clean "$host" "$dir/$net_b"
}

run_tests
