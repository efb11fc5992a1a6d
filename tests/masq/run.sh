#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# ipMasq and kube-proxy, through the real binary, in throwaway namespaces.
#
# The node ($host) is wired by a veth to $outside, a namespace that plays
# the world: it answers on WORLD4/WORLD6 and has no route back to the pod
# ranges, so a pod reaches it only when the node masquerades. A probe table
# in $outside records the source address of every connection attempt, so
# the tests see what the world saw even when it could not answer.
#
# What is proven, IPv4 and IPv6: with "ipMasq" a pod reaches the world as
# the node; without it the world sees the pod's address and cannot answer;
# pod-to-pod and pod-to-node keep the pod's address; DEL, GC and CHECK keep
# the nftables sets exact; two networks share the table without touching
# each other's entries; ipMasqExclude extends the kept destinations; racing
# first ADDs build exactly one rule per family; tables rivet did not create
# are left byte for byte; and with kube-proxy's DNAT (as its nftables mode
# writes it, and as its iptables mode does through iptables-nft) pods and
# the node reach a ClusterIP on every backend, hairpin included.
. "$(dirname "$0")/../lib.sh"

if ! "$(dirname "$0")/../../scripts/apt-install.sh" nftables jq iputils-ping socat; then
	echo "$(basename "$0"): 0 passed, 1 failed"
	exit 1
fi
if [ ! -x "$RIVET" ]; then
	echo "no rivet binary at $RIVET (run make first)" >&2
	echo "$(basename "$0"): 0 passed, 1 failed"
	exit 1
fi

DUAL='[[{"subnet":"198.18.0.0/24"}],[{"subnet":"fd5a:7e57:1::/64"}]]'
DUAL_B='[[{"subnet":"198.18.1.0/24"}],[{"subnet":"fd5a:7e57:2::/64"}]]'
# The node's addresses on its uplink: what the world sees after masquerade.
UP4=198.19.254.1
UP6=fd5a:7e57:fe::1
WORLD4=198.19.200.1
WORLD6=fd5a:7e57:ee::1
# What docs/kube-proxy.md tells users to exclude: the cluster's pod CIDR
# (every node's pod ranges) and the service CIDR.
CLUSTER4=198.18.0.0/16
CLUSTER6=fd5a:7e57::/44
SVC_CIDR4=198.19.128.0/24
SVC_CIDR6=fd5a:7e57:5e::/112
EXCLUDE=",\"ipMasqExclude\":[\"$CLUSTER4\",\"$SVC_CIDR4\",\"$CLUSTER6\",\"$SVC_CIDR6\"]"

# --- the node and the world ------------------------------------------------

# mk_node HOSTVAR OUTSIDEVAR: a node wired to the world (see the top).
mk_node() {
	mk_host "$1"
	mk_netns "$2" out
	local h=${!1} o=${!2}
	ip -n "$h" link add uplink type veth peer name eth0 netns "$o" || fail "cannot create the uplink"
	ip -n "$h" addr add "$UP4/30" dev uplink
	ip -n "$h" addr add "$UP6/64" dev uplink nodad
	ip -n "$h" link set uplink up
	ip -n "$o" addr add 198.19.254.2/30 dev eth0
	ip -n "$o" addr add fd5a:7e57:fe::2/64 dev eth0 nodad
	ip -n "$o" link set eth0 up
	ip -n "$o" addr add "$WORLD4/32" dev lo
	ip -n "$o" addr add "$WORLD6/128" dev lo
	ip -n "$h" route add default via 198.19.254.2
	ip -n "$h" -6 route add default via fd5a:7e57:fe::2
	ip netns exec "$o" nft -f - <<-'EOF' || fail "cannot load the probe table"
	table inet probe {
		set seen4 { type ipv4_addr; flags dynamic; }
		set seen6 { type ipv6_addr; flags dynamic; }
		chain pre {
			type filter hook prerouting priority raw; policy accept;
			tcp dport 8080 tcp flags syn update @seen4 { ip saddr }
			tcp dport 8080 tcp flags syn update @seen6 { ip6 saddr }
		}
	}
	EOF
	serve "$o" "$WORLD4" 8080 world
	serve "$o" "$WORLD6" 8080 world
}

# serve NETNS ADDR PORT NAME: a TCP server that answers every connection
# with "NAME <the peer address it saw>" and closes it. socat prints an IPv6
# peer in full and in brackets; peer() writes an address the same way.
serve() {
	local ns=$1 addr=$2 port=$3 name=$4 listen pid i
	case $addr in
	*:*) listen="TCP6-LISTEN:$port,bind=[$addr],ipv6only=1" ;;
	*) listen="TCP4-LISTEN:$port,bind=$addr" ;;
	esac
	ip netns exec "$ns" socat -t2 "$listen,reuseaddr,fork" SYSTEM:"echo $name \$SOCAT_PEERADDR" \
		</dev/null >/dev/null 2>&1 &
	pid=$!
	_register "kill $pid"
	for i in $(seq 50); do
		ip netns exec "$ns" ss -Htln | grep -qF -e "$addr:$port " -e "[$addr]:$port " && return 0
		sleep 0.1
	done
	fail "no server on $addr:$port in $ns"
}

# ask NETNS ADDR PORT: connect and print the server's answer ("" if none).
ask() {
	local ns=$1 addr=$2 port=$3 target
	case $addr in
	*:*) target="TCP6:[$addr]:$port" ;;
	*) target="TCP4:$addr:$port" ;;
	esac
	ip netns exec "$ns" timeout 6 socat -T4 -u "$target,connect-timeout=2" STDOUT 2>/dev/null
	return 0
}

peer() { # an address as socat's $SOCAT_PEERADDR shows it
	case $1 in
	*:*) ;;
	*) echo "$1"; return ;;
	esac
	local head=$1 tail="" h=() t=() all=() i out
	if [[ $1 == *::* ]]; then head=${1%%::*} tail=${1#*::}; fi
	IFS=: read -ra h <<<"$head"
	IFS=: read -ra t <<<"$tail"
	all=("${h[@]}")
	for ((i = ${#h[@]} + ${#t[@]}; i < 8; i++)); do all+=(0); done
	all+=("${t[@]}")
	printf -v out '%04x:' "${all[@]/#/0x}"
	echo "[${out%:}]"
}

# asks_as NETNS ADDR NAME SRC [PORT]: a connection to ADDR:PORT (8080) is
# answered by NAME, which saw SRC.
asks_as() {
	local got
	got=$(ask "$1" "$2" "${5:-8080}")
	assert_eq "$got" "$3 $(peer "$4")" "answer from $2:${5:-8080} to $1"
}

# The addresses the world saw connecting, sorted, one a line.
world_saw() { # OUTSIDE 4|6
	ip netns exec "$1" nft -j list set inet probe "seen$2" | jq -r '.nftables[1].set.elem[]? | if type == "object" then .elem.val else . end' | sort
}

# --- rivet's side ------------------------------------------------------------

# The elements of set NAME of table inet rivet, sorted, one a line; prefixes
# as a/len, ranges as a-b. Fails (status of nft) if there is no such set.
elems() { # HOST NAME
	local j
	j=$(ip netns exec "$1" nft -j list set inet rivet "$2" 2>/dev/null) || return 1
	printf '%s' "$j" | jq -r '.nftables[1].set.elem[]? |
		if type == "object" then
			(if .prefix then "\(.prefix.addr)/\(.prefix.len)" elif .range then "\(.range[0])-\(.range[1])" else tojson end)
		else . end' | sort
}

assert_elems() { # HOST SET "want, space separated" (order free)
	local got want
	got=$(elems "$1" "$2") || fail "no set $2 in table inet rivet"
	want=$(printf '%s\n' $3 | sort)
	[ "$(echo $got)" = "$(echo $want)" ] ||
		fail "elements of $2: missing [$(comm -13 <(echo "$got") <(echo "$want") | xargs)]," \
			"unexpected [$(comm -23 <(echo "$got") <(echo "$want") | xargs)]"
}

# Rules of table inet rivet that use set @SET.
rules_using() { # HOST SET
	ip netns exec "$1" nft -j list table inet rivet |
		jq --arg s "@$2" '[.nftables[].rule? | select(. != null) | select(tojson | contains("\"" + $s + "\""))] | length'
}

# The masquerade rules of table inet rivet: those of every <net>-masq chain.
masq_rules() { # HOST
	ip netns exec "$1" nft -j list table inet rivet |
		jq '[.nftables[].rule? | select(. != null) | select(.chain | endswith("-masq"))] | length'
}

# How many rules chain CHAIN of table inet rivet has.
rules_in() { # HOST CHAIN
	ip netns exec "$1" nft -j list chain inet rivet "$2" | jq '[.nftables[].rule? | select(. != null)] | length'
}

# The pod's address of family 4|6 from the ADD result in $OUT.
addr_of() {
	printf '%s' "$OUT" | jq -r --arg v "$1" \
		'.ips[] | .address | select((contains(":") and $v == "6") or (contains(".") and $v == "4")) | sub("/.*"; "")'
}

# add_pod HOST POD ID CONF: ADD, which must succeed; sets ${ID}_4, ${ID}_6.
add_pod() {
	cni ADD "$1" "$2" "$3" eth0 "$4"
	assert_rc 0
	printf -v "${3}_4" '%s' "$(addr_of 4)"
	printf -v "${3}_6" '%s' "$(addr_of 6)"
}

masq_conf() { # NAME DIR [RANGES] [EXTRA] [VERSION]
	mk_conf "$1" "$2" "${5:-1.0.0}" "${3:-$DUAL}" ",\"ipMasq\":true${4:-}"
}

gc() { # HOST CONF "id id ...": GC listing those attachments (eth0) as valid
	local list
	list=$(printf '%s\n' $3 | jq -R 'select(length > 0) | {containerID: ., ifname: "eth0"}' | jq -sc .)
	cni GC "$1" "" "" "" "$(printf '%s' "$2" | jq -c --argjson v "$list" '. + {"cni.dev/valid-attachments": $v}')"
}

# --- masquerade --------------------------------------------------------------

test_with_ipmasq_the_world_sees_the_node() {
	local host outside pod dir conf
	mk_node host outside ; mk_pod pod ; mk_dir dir
	conf=$(masq_conf wan "$dir" "$DUAL" "$EXCLUDE")
	add_pod "$host" "$pod" c1 "$conf"
	asks_as "$pod" "$WORLD4" world "$UP4"
	asks_as "$pod" "$WORLD6" world "$UP6"
	assert_eq "$(world_saw "$outside" 4)" "$UP4" "IPv4 sources the world saw"
	assert_eq "$(world_saw "$outside" 6)" "$UP6" "IPv6 sources the world saw"
	assert_elems "$host" wan-pods4 "$c1_4"
	assert_elems "$host" wan-pods6 "$c1_6"
	assert_elems "$host" wan-keep4 "$CLUSTER4 $SVC_CIDR4"
	assert_elems "$host" wan-keep6 "$CLUSTER6 $SVC_CIDR6"
	# The packets went through rivet's rules, not someone else's.
	local n
	n=$(ip netns exec "$host" nft -j list chain inet rivet wan-masq |
		jq '[.nftables[].rule?.expr[]?.counter?.packets | numbers] | add')
	[ "${n:-0}" -ge 2 ] || fail "rivet's masquerade counters saw $n packets"
}

test_without_ipmasq_the_world_sees_the_pod_and_cannot_answer() {
	local host outside pod dir conf got
	mk_node host outside ; mk_pod pod ; mk_dir dir
	conf=$(mk_conf lan "$dir" 1.0.0 "$DUAL")
	add_pod "$host" "$pod" c1 "$conf"
	got=$(ask "$pod" "$WORLD4" 8080)
	assert_eq "$got" "" "IPv4 answer without masquerade"
	got=$(ask "$pod" "$WORLD6" 8080)
	assert_eq "$got" "" "IPv6 answer without masquerade"
	assert_eq "$(world_saw "$outside" 4)" "$c1_4" "IPv4 sources the world saw"
	assert_eq "$(world_saw "$outside" 6)" "$c1_6" "IPv6 sources the world saw"
	# rivet's table holds the node's anti-spoof rule, and nothing of lan's.
	assert_eq "$(rules_in "$host" antispoof)" 1 "anti-spoof rules"
	assert_eq "$(ip netns exec "$host" nft -j list table inet rivet |
		jq -r '[.nftables[] | (.set? // .chain?) | select(. != null) | .name] | sort | join(",")')" \
		"antispoof,state" "sets and chains of table inet rivet"
}

test_pod_to_pod_and_pod_to_node_keep_the_pod_address() {
	local host outside a b dir conf
	mk_node host outside ; mk_pod a ; mk_pod b ; mk_dir dir
	conf=$(masq_conf keep "$dir")
	add_pod "$host" "$a" ca "$conf"
	add_pod "$host" "$b" cb "$conf"
	serve "$b" "$cb_4" 8080 b
	serve "$b" "$cb_6" 8080 b
	serve "$host" "$NODE4" 8080 node
	serve "$host" "$NODE6" 8080 node
	serve "$host" "$UP4" 8080 node-uplink
	asks_as "$a" "$cb_4" b "$ca_4"
	asks_as "$a" "$cb_6" b "$ca_6"
	asks_as "$a" "$NODE4" node "$ca_4"
	asks_as "$a" "$NODE6" node "$ca_6"
	asks_as "$a" "$UP4" node-uplink "$ca_4"
	# ...while the world still sees the node.
	asks_as "$a" "$WORLD4" world "$UP4"
	asks_as "$b" "$WORLD6" world "$UP6"
}

test_delegated_ipam_pod_to_pod_keeps_the_pod_address() {
	local host outside a b conf_a conf_b
	[ -x "$CNI_BIN/static" ] || fail "no static IPAM plugin in $CNI_BIN (containernetworking-plugins)"
	mk_node host outside ; mk_pod a ; mk_pod b
	# IPAM by another plugin: the pod's subnet comes from its result
	# (198.18.0.50/24), as ptp keeps it, since the config has no ranges.
	static() {
		printf '{"cniVersion":"1.0.0","name":"st","type":"rivet","ipMasq":true,"ipam":{"type":"static","addresses":[{"address":"198.18.0.%s/24"},{"address":"fd5a:7e57:1::%s/64"}]}}' "$1" "$1"
	}
	conf_a=$(static 50) conf_b=$(static 51)
	add_pod "$host" "$a" ca "$conf_a"
	add_pod "$host" "$b" cb "$conf_b"
	serve "$b" "$cb_4" 8080 b
	serve "$b" "$cb_6" 8080 b
	asks_as "$a" "$WORLD4" world "$UP4"
	asks_as "$a" "$cb_4" b "$ca_4"
	asks_as "$a" "$cb_6" b "$ca_6"
}

test_masq_exclude_extends_the_kept_destinations() {
	local host outside pod dir conf got
	mk_node host outside ; mk_pod pod ; mk_dir dir
	# The world's addresses excluded: the pod goes out as itself, and the
	# world, with no route back, cannot answer.
	conf=$(masq_conf excl "$dir" "$DUAL" ',"ipMasqExclude":["198.19.200.0/24","fd5a:7e57:ee::/64"]')
	add_pod "$host" "$pod" c1 "$conf"
	assert_elems "$host" excl-keep4 "198.18.0.0/24 198.19.200.0/24"
	assert_elems "$host" excl-keep6 "fd5a:7e57:1::/64 fd5a:7e57:ee::/64"
	got=$(ask "$pod" "$WORLD4" 8080)
	assert_eq "$got" "" "IPv4 answer to an excluded destination"
	got=$(ask "$pod" "$WORLD6" 8080)
	assert_eq "$got" "" "IPv6 answer to an excluded destination"
	assert_eq "$(world_saw "$outside" 4)" "$c1_4" "IPv4 sources the world saw"
	assert_eq "$(world_saw "$outside" 6)" "$c1_6" "IPv6 sources the world saw"
}

test_overlapping_and_adjacent_excludes_are_merged() {
	local host pod dir conf
	mk_host host ; mk_pod pod ; mk_dir dir
	# The pod range inside the cluster CIDR, an exclude twice, two halves
	# of one /23, and the whole IPv6 space ending at the last address.
	conf=$(masq_conf merge "$dir" "$DUAL" \
		',"ipMasqExclude":["198.18.0.0/16","198.19.128.0/25","198.19.128.128/25","198.19.128.0/24","::/0"]')
	add_pod "$host" "$pod" c1 "$conf"
	assert_elems "$host" merge-keep4 "198.18.0.0/16 198.19.128.0/24"
	assert_elems "$host" merge-keep6 "::/0"
}

test_every_exclude_is_kept_or_the_config_is_refused() {
	local host pod dir conf ex="" i want="198.18.0.0/24"
	mk_host host ; mk_pod pod ; mk_dir dir
	# 70 disjoint /24s: each must be kept, or ADD must say it cannot.
	for i in $(seq 0 69); do
		ex="$ex\"198.19.$((i * 2)).0/24\","
		want="$want 198.19.$((i * 2)).0/24"
	done
	conf=$(masq_conf many "$dir" '[[{"subnet":"198.18.0.0/24"}]]' ",\"ipMasqExclude\":[${ex%,}]")
	cni ADD "$host" "$pod" c1 eth0 "$conf"
	if [ "$RC" = 0 ]; then
		assert_elems "$host" many-keep4 "$want"
	else
		assert_cni_error 7
		assert_clean "$host" "$dir/many"
	fi
}

test_a_failed_masquerade_leaves_nothing() {
	local host pod dir conf
	mk_host host ; mk_pod pod ; mk_dir dir
	# A set of the wrong type where rivet's IPv4 pod set should be: the
	# kernel refuses the element, and ADD must undo everything before it.
	ip netns exec "$host" nft -f - <<-'EOF' || fail "cannot load the broken table"
	table inet rivet {
		set bad-pods4 { type ipv6_addr; }
	}
	EOF
	conf=$(masq_conf bad "$dir")
	cni ADD "$host" "$pod" c1 eth0 "$conf"
	assert_cni_error 110
	assert_contains "$(printf '%s' "$OUT" | jq -r .msg)" "masquerade"
	assert_clean "$host" "$dir/bad"
	[ -z "$(ip -n "$pod" -o link show eth0 2>/dev/null)" ] || fail "failed ADD left eth0 in the pod"
}

test_a_retried_add_keeps_one_element() {
	local host a b dir conf
	mk_host host ; mk_pod a ; mk_pod b ; mk_dir dir
	conf=$(masq_conf retry "$dir")
	add_pod "$host" "$a" c1 "$conf"
	# The runtime retries in a new sandbox without a DEL: same address,
	# which is already in the set.
	cni ADD "$host" "$b" c1 eth0 "$conf"
	assert_rc 0
	assert_elems "$host" retry-pods4 "$c1_4"
	assert_elems "$host" retry-pods6 "$c1_6"
	cni DEL "$host" "$b" c1 eth0 "$conf"
	assert_rc 0
	assert_elems "$host" retry-pods4 ""
	assert_clean "$host" "$dir/retry"
}

test_del_removes_the_pod_and_only_the_pod() {
	local host a b dir conf
	mk_host host ; mk_pod a ; mk_pod b ; mk_dir dir
	conf=$(masq_conf del "$dir")
	add_pod "$host" "$a" ca "$conf"
	add_pod "$host" "$b" cb "$conf"
	assert_elems "$host" del-pods4 "$ca_4 $cb_4"
	assert_elems "$host" del-pods6 "$ca_6 $cb_6"
	cni DEL "$host" "$a" ca eth0 "$conf"
	assert_rc 0
	assert_elems "$host" del-pods4 "$cb_4"
	assert_elems "$host" del-pods6 "$cb_6"
	# Idempotent, and the rules are untouched: one per family.
	cni DEL "$host" "$a" ca eth0 "$conf"
	assert_rc 0
	assert_eq "$(rules_using "$host" del-pods4)" 1 "IPv4 rules"
	assert_eq "$(rules_using "$host" del-pods6)" 1 "IPv6 rules"
	cni DEL "$host" "$b" cb eth0 "$conf"
	assert_rc 0
	assert_elems "$host" del-pods4 ""
	assert_elems "$host" del-pods6 ""
	assert_clean "$host" "$dir/del"
}

test_check_sees_a_missing_element() {
	local host pod dir conf prev
	mk_host host ; mk_pod pod ; mk_dir dir
	conf=$(masq_conf chk "$dir" "$DUAL" "" 1.1.0)
	add_pod "$host" "$pod" c1 "$conf"
	prev=$(printf '%s' "$conf" | jq -c --argjson r "$OUT" '. + {prevResult: $r}')
	cni CHECK "$host" "$pod" c1 eth0 "$prev"
	assert_rc 0
	ip netns exec "$host" nft delete element inet rivet chk-pods6 "{ $c1_6 }" || fail "cannot delete the element"
	cni CHECK "$host" "$pod" c1 eth0 "$prev"
	assert_cni_error 108
	assert_contains "$(printf '%s' "$OUT" | jq -r .msg)" "$c1_6 is not in set chk-pods6"
}

# CHECK sees what the next ADD would rebuild: the table gone (and with it
# the anti-spoof rule, which every network has, with ipMasq or without), or
# holding another config's kept destinations.
test_check_sees_a_deleted_table_and_another_config() {
	local host pod pod2 dir conf prev other
	mk_host host ; mk_pod pod ; mk_pod pod2 ; mk_dir dir
	conf=$(mk_conf plain "$dir" 1.1.0)
	add_pod "$host" "$pod" c1 "$conf"
	prev=$(printf '%s' "$conf" | jq -c --argjson r "$OUT" '. + {prevResult: $r}')
	cni CHECK "$host" "$pod" c1 eth0 "$prev"
	assert_rc 0
	ip netns exec "$host" nft delete table inet rivet || fail "cannot delete the table"
	cni CHECK "$host" "$pod" c1 eth0 "$prev"
	assert_cni_error 108
	assert_contains "$(printf '%s' "$OUT" | jq -r .msg)" "no state for network plain: its anti-spoof rule may be gone"
	# GC puts it back, and CHECK is content again.
	gc "$host" "$conf" c1
	assert_rc 0
	cni CHECK "$host" "$pod" c1 eth0 "$prev"
	assert_rc 0
	# A config whose kept destinations differ from what the table holds.
	conf=$(masq_conf mq "$dir" '[[{"subnet":"198.18.1.0/24"}]]' ',"ipMasqExclude":["10.96.0.0/12"]' 1.1.0)
	add_pod "$host" "$pod2" c2 "$conf"
	prev=$(printf '%s' "$conf" | jq -c --argjson r "$OUT" '. + {prevResult: $r}')
	cni CHECK "$host" "$pod2" c2 eth0 "$prev"
	assert_rc 0
	other=$(printf '%s' "$prev" | jq -c '.ipMasqExclude = ["10.100.0.0/16"]')
	cni CHECK "$host" "$pod2" c2 eth0 "$other"
	assert_cni_error 108
	assert_contains "$(printf '%s' "$OUT" | jq -r .msg)" "is not what network mq's config makes it"
}

# With runtimeConfig.ipRanges each pod may get other ranges, and the
# network's one state is that of the last ADD: CHECK of an earlier pod
# must not call that a difference.
test_check_of_pods_given_different_ip_ranges() {
	local host pod3 pod4 dir conf prev
	mk_host host ; mk_pod pod3 ; mk_pod pod4 ; mk_dir dir
	conf=$(masq_conf rr "$dir" '[[{"subnet":"198.18.2.0/24"}]]' '' 1.1.0)
	add_pod "$host" "$pod3" c3 "$(printf '%s' "$conf" | jq -c '.runtimeConfig.ipRanges = [[{"subnet":"198.18.3.0/24"}]]')"
	prev=$(printf '%s' "$conf" | jq -c --argjson r "$OUT" \
		'.runtimeConfig.ipRanges = [[{"subnet":"198.18.3.0/24"}]] | . + {prevResult: $r}')
	add_pod "$host" "$pod4" c4 "$(printf '%s' "$conf" | jq -c '.runtimeConfig.ipRanges = [[{"subnet":"198.18.4.0/24"}]]')"
	cni CHECK "$host" "$pod3" c3 eth0 "$prev"
	assert_rc 0
}

test_second_network_keeps_its_own_entries() {
	local host a b c dir conf_a conf_b before
	mk_host host ; mk_pod a ; mk_pod b ; mk_pod c ; mk_dir dir
	conf_a=$(masq_conf neta "$dir" "$DUAL" "" 1.1.0)
	conf_b=$(masq_conf netb "$dir" "$DUAL_B" "" 1.1.0)
	add_pod "$host" "$a" ca "$conf_a"
	before=$(ip netns exec "$host" nft -j list set inet rivet neta-pods4; ip netns exec "$host" nft -j list set inet rivet neta-pods6
		ip netns exec "$host" nft -j list set inet rivet neta-keep4; ip netns exec "$host" nft -j list set inet rivet neta-keep6)
	add_pod "$host" "$b" cb "$conf_b"
	add_pod "$host" "$c" cc "$conf_b"
	assert_elems "$host" netb-pods4 "$cb_4 $cc_4"
	assert_elems "$host" netb-pods6 "$cb_6 $cc_6"
	assert_elems "$host" netb-keep4 "198.18.1.0/24"
	assert_elems "$host" netb-keep6 "fd5a:7e57:2::/64"
	cni DEL "$host" "$b" cb eth0 "$conf_b"
	assert_rc 0
	gc "$host" "$conf_b" ""
	assert_rc 0
	assert_elems "$host" netb-pods4 ""
	assert_elems "$host" netb-pods6 ""
	assert_eq "$(ip netns exec "$host" nft -j list set inet rivet neta-pods4; ip netns exec "$host" nft -j list set inet rivet neta-pods6
		ip netns exec "$host" nft -j list set inet rivet neta-keep4; ip netns exec "$host" nft -j list set inet rivet neta-keep6)" \
		"$before" "network neta's sets after ADD, DEL and GC on netb"
	for s in neta-pods4 neta-pods6 netb-pods4 netb-pods6; do
		assert_eq "$(rules_using "$host" $s)" 1 "rules using @$s"
	done
	assert_eq "$(masq_rules "$host")" 4 "masquerade rules"
}

test_gc_keeps_exactly_the_listed_attachments() {
	local host a b c dir conf
	mk_host host ; mk_pod a ; mk_pod b ; mk_pod c ; mk_dir dir
	conf=$(masq_conf gcn "$dir" "$DUAL" "" 1.1.0)
	add_pod "$host" "$a" ca "$conf"
	add_pod "$host" "$b" cb "$conf"
	add_pod "$host" "$c" cc "$conf"
	gc "$host" "$conf" "ca cc"
	assert_rc 0
	assert_elems "$host" gcn-pods4 "$ca_4 $cc_4"
	assert_elems "$host" gcn-pods6 "$ca_6 $cc_6"
	assert_elems "$host" gcn-keep4 "198.18.0.0/24"
	# GC refreshes the kept destinations from the configuration.
	gc "$host" "$(masq_conf gcn "$dir" "$DUAL" "$EXCLUDE" 1.1.0)" "ca cc"
	assert_rc 0
	assert_elems "$host" gcn-keep4 "$CLUSTER4 $SVC_CIDR4"
	assert_elems "$host" gcn-keep6 "$CLUSTER6 $SVC_CIDR6"
	assert_elems "$host" gcn-pods4 "$ca_4 $cc_4"
	gc "$host" "$conf" ""
	assert_rc 0
	assert_elems "$host" gcn-pods4 ""
	assert_elems "$host" gcn-pods6 ""
	assert_eq "$(rules_using "$host" gcn-pods4)" 1 "IPv4 rules after GC"
}

test_gc_rebuilds_a_deleted_table() {
	local host outside a dir conf
	mk_node host outside ; mk_pod a ; mk_dir dir
	conf=$(masq_conf gone "$dir" "$DUAL" "" 1.1.0)
	add_pod "$host" "$a" ca "$conf"
	ip netns exec "$host" nft delete table inet rivet
	gc "$host" "$conf" "ca"
	assert_rc 0
	assert_elems "$host" gone-pods4 "$ca_4"
	assert_elems "$host" gone-pods6 "$ca_6"
	assert_elems "$host" gone-keep4 "198.18.0.0/24"
	asks_as "$a" "$WORLD4" world "$UP4"
	asks_as "$a" "$WORLD6" world "$UP6"
}

test_add_rebuilds_a_deleted_table() {
	local host outside a b c dir conf
	mk_node host outside ; mk_pod a ; mk_pod b ; mk_pod c ; mk_dir dir
	conf=$(masq_conf again "$dir")
	add_pod "$host" "$a" ca "$conf"
	# The table deleted, then the whole ruleset flushed: the next ADD
	# (containerd 1.6 sends no GC) builds it all again, the running pod's
	# elements included, from the store.
	ip netns exec "$host" nft delete table inet rivet
	add_pod "$host" "$b" cb "$conf"
	assert_elems "$host" again-pods4 "$ca_4 $cb_4"
	assert_elems "$host" again-pods6 "$ca_6 $cb_6"
	assert_elems "$host" again-keep6 "fd5a:7e57:1::/64"
	assert_eq "$(rules_using "$host" again-pods6)" 1 "IPv6 rules"
	ip netns exec "$host" nft flush ruleset
	add_pod "$host" "$c" cc "$conf"
	assert_elems "$host" again-pods4 "$ca_4 $cb_4 $cc_4"
	assert_elems "$host" again-pods6 "$ca_6 $cb_6 $cc_6"
	assert_eq "$(rules_using "$host" again-pods4)" 1 "IPv4 rules"
	assert_eq "$(rules_in "$host" antispoof)" 1 "anti-spoof rules"
	asks_as "$a" "$WORLD4" world "$UP4"
	asks_as "$a" "$WORLD6" world "$UP6"
}

test_del_removes_the_element_after_ipmasq_was_switched_off() {
	local host a dir on off
	mk_host host ; mk_pod a ; mk_dir dir
	on=$(masq_conf sw "$dir")
	off=$(mk_conf sw "$dir" 1.0.0 "$DUAL")
	add_pod "$host" "$a" ca "$on"
	assert_elems "$host" sw-pods4 "$ca_4"
	# The conflist is edited to ipMasq false; the pod is deleted with it.
	cni DEL "$host" "$a" ca eth0 "$off"
	assert_rc 0
	assert_elems "$host" sw-pods4 ""
	assert_elems "$host" sw-pods6 ""
	assert_clean "$host" "$dir/sw"
}

test_switching_ipmasq_off_stops_masquerading_at_the_next_add() {
	local host outside a b dir on off got
	mk_node host outside ; mk_pod a ; mk_pod b ; mk_dir dir
	on=$(masq_conf swo "$dir" "$DUAL" "$EXCLUDE")
	off=$(mk_conf swo "$dir" 1.0.0 "$DUAL" "$EXCLUDE")
	add_pod "$host" "$a" ca "$on"
	asks_as "$a" "$WORLD4" world "$UP4"
	# ipMasq switched off: the next ADD takes the network's masquerade
	# away, for the pods already running too.
	add_pod "$host" "$b" cb "$off"
	for p in "$a" "$b"; do
		got=$(ask "$p" "$WORLD4" 8080)
		assert_eq "$got" "" "IPv4 answer without masquerade"
		got=$(ask "$p" "$WORLD6" 8080)
		assert_eq "$got" "" "IPv6 answer without masquerade"
	done
	assert_eq "$(world_saw "$outside" 4 | tr '\n' ' ')" "$(printf '%s\n' "$UP4" "$ca_4" "$cb_4" | sort | tr '\n' ' ')" "IPv4 sources the world saw"
	elems "$host" swo-pods4 >/dev/null && fail "set swo-pods4 left after ipMasq was switched off"
	assert_eq "$(masq_rules "$host")" 0 "masquerade rules"
	assert_eq "$(rules_in "$host" antispoof)" 1 "anti-spoof rules"
	# ... and back on: the running pods are masqueraded again.
	add_pod "$host" "$b" cb "$on"
	assert_elems "$host" swo-pods4 "$ca_4 $cb_4"
	asks_as "$a" "$WORLD6" world "$UP6"
}

test_add_applies_a_changed_ipmasq_exclude() {
	local host outside a b dir got
	mk_node host outside ; mk_pod a ; mk_pod b ; mk_dir dir
	add_pod "$host" "$a" ca "$(masq_conf chg "$dir" "$DUAL" "$EXCLUDE")"
	asks_as "$a" "$WORLD4" world "$UP4"
	# The world's addresses are added to ipMasqExclude (the installer
	# rewrote the conflist); the next ADD applies it for every pod.
	add_pod "$host" "$b" cb "$(masq_conf chg "$dir" "$DUAL" ',"ipMasqExclude":["198.19.200.0/24","fd5a:7e57:ee::/64"]')"
	assert_elems "$host" chg-keep4 "198.18.0.0/24 198.19.200.0/24"
	assert_elems "$host" chg-keep6 "fd5a:7e57:1::/64 fd5a:7e57:ee::/64"
	assert_elems "$host" chg-pods4 "$ca_4 $cb_4"
	got=$(ask "$a" "$WORLD4" 8080)
	assert_eq "$got" "" "IPv4 answer to a newly excluded destination"
	assert_contains "$(world_saw "$outside" 4)" "$ca_4" "IPv4 sources the world saw"
	assert_eq "$(masq_rules "$host")" 2 "masquerade rules"
}

# An ADD or DEL on a table that is already right changes only the pod's
# elements: the check is a read, not a rewrite.
test_an_unchanged_table_is_only_read() {
	local host a b c dir conf mon i pid
	mk_host host ; mk_pod a ; mk_pod b ; mk_pod c ; mk_dir dir
	mon=$dir/monitor
	conf=$(masq_conf same "$dir")
	add_pod "$host" "$a" ca "$conf"
	add_pod "$host" "$c" cc "$(mk_conf plain "$dir" 1.0.0 "$DUAL_B")"
	# Appending, so that emptying the file below leaves no hole in it.
	ip netns exec "$host" nft monitor >>"$mon" 2>&1 &
	pid=$!
	_register "kill $pid"
	# Wait until the monitor sees a change of our own.
	for i in $(seq 50); do
		ip netns exec "$host" nft add table inet probe-mark
		ip netns exec "$host" nft delete table inet probe-mark
		grep -q probe-mark "$mon" && break
		sleep 0.1
	done
	grep -q probe-mark "$mon" || fail "nft monitor saw nothing"
	: >"$mon"
	add_pod "$host" "$b" cb "$conf"
	cni DEL "$host" "$b" cb eth0 "$conf"; assert_rc 0
	cni DEL "$host" "$c" cc eth0 "$(mk_conf plain "$dir" 1.0.0 "$DUAL_B")"; assert_rc 0
	ip netns exec "$host" nft add table inet probe-mark
	for i in $(seq 50); do grep -q probe-mark "$mon" && break; sleep 0.1; done
	kill "$pid"
	assert_eq "$(grep -v probe-mark "$mon" | grep -v '^# ' | sed 's/ *$//' | sort | tr '\n' '|')" \
		"$(printf '%s\n' "add element inet rivet same-pods4 { $cb_4 }" "add element inet rivet same-pods6 { $cb_6 }" \
			"delete element inet rivet same-pods4 { $cb_4 }" "delete element inet rivet same-pods6 { $cb_6 }" | sort | tr '\n' '|')" \
		"changes nft monitor saw"
}

# rivet 0.1 kept every network's two rules in one chain, postrouting. The
# first ADD of each network after an upgrade moves its rules to the
# network's own chain; the last one takes the old chain away.
test_an_upgrade_moves_the_rules_of_each_network_out_of_the_old_chain() {
	local host a b dir
	mk_host host ; mk_pod a ; mk_pod b ; mk_dir dir
	ip netns exec "$host" nft -f - <<-'EOF' || fail "cannot load rivet 0.1's table"
	table inet rivet {
		set up-pods4 { type ipv4_addr; elements = { 198.18.0.50 } }
		set up-keep4 { type ipv4_addr; flags interval; elements = { 198.18.0.0/24 } }
		set up-pods6 { type ipv6_addr; }
		set up-keep6 { type ipv6_addr; flags interval; elements = { fd5a:7e57:1::/64 } }
		set old-pods4 { type ipv4_addr; elements = { 198.18.1.50 } }
		set old-keep4 { type ipv4_addr; flags interval; elements = { 198.18.1.0/24 } }
		set old-pods6 { type ipv6_addr; }
		set old-keep6 { type ipv6_addr; flags interval; elements = { fd5a:7e57:2::/64 } }
		chain postrouting {
			type nat hook postrouting priority srcnat; policy accept;
			ip saddr @up-pods4 ip daddr != @up-keep4 counter masquerade comment "rivet: masquerade pods of network up"
			ip6 saddr @up-pods6 ip6 daddr != @up-keep6 counter masquerade comment "rivet: masquerade pods of network up"
			ip saddr @old-pods4 ip daddr != @old-keep4 counter masquerade comment "rivet: masquerade pods of network old"
			ip6 saddr @old-pods6 ip6 daddr != @old-keep6 counter masquerade comment "rivet: masquerade pods of network old"
		}
	}
	EOF
	add_pod "$host" "$a" ca "$(masq_conf up "$dir")"
	# up's rules moved; its running pod's element stayed; old's untouched.
	assert_eq "$(rules_using "$host" up-pods4)" 1 "rules using @up-pods4"
	assert_eq "$(rules_using "$host" up-pods6)" 1 "rules using @up-pods6"
	assert_eq "$(rules_in "$host" up-masq)" 2 "rules of up-masq"
	assert_eq "$(rules_in "$host" postrouting)" 2 "rules left in the old chain"
	assert_eq "$(rules_using "$host" old-pods4)" 1 "rules using @old-pods4"
	assert_elems "$host" up-pods4 "198.18.0.50 $ca_4"
	# old's next ADD comes with ipMasq switched off: its rules and sets
	# go, and with them the old chain.
	add_pod "$host" "$b" cb "$(mk_conf old "$dir" 1.0.0 "$DUAL_B")"
	ip netns exec "$host" nft list chain inet rivet postrouting >/dev/null 2>&1 && fail "the old chain is left"
	elems "$host" old-pods4 >/dev/null && fail "set old-pods4 left"
	assert_eq "$(masq_rules "$host")" 2 "masquerade rules"
	assert_eq "$(rules_in "$host" antispoof)" 1 "anti-spoof rules"
}

test_racing_first_adds_build_one_rule_per_family() {
	local host dir conf round i pods=() want4="" want6="" rc
	for round in 1 2 3; do
		mk_host host ; mk_dir dir
		conf=$(masq_conf race "$dir")
		pods=()
		for i in 1 2 3 4 5 6 7 8; do mk_pod "p$i"; pods+=("$(eval echo "\$p$i")"); done
		for i in 1 2 3 4 5 6 7 8; do
			(cni ADD "$host" "${pods[$((i - 1))]}" "c$i" eth0 "$conf"; echo "$RC" >"$dir/rc$i"; echo "$OUT" >"$dir/out$i") &
		done
		wait
		want4="" want6=""
		for i in 1 2 3 4 5 6 7 8; do
			rc=$(cat "$dir/rc$i")
			[ "$rc" = 0 ] || fail "round $round: ADD $i failed: $(cat "$dir/out$i")"
			OUT=$(cat "$dir/out$i")
			want4="$want4 $(addr_of 4)" want6="$want6 $(addr_of 6)"
		done
		assert_elems "$host" race-pods4 "$want4"
		assert_elems "$host" race-pods6 "$want6"
		assert_eq "$(echo "$want4" | wc -w)" 8 "IPv4 addresses handed out"
		assert_eq "$(rules_using "$host" race-pods4)" 1 "round $round: IPv4 rules"
		assert_eq "$(rules_using "$host" race-pods6)" 1 "round $round: IPv6 rules"
		assert_eq "$(masq_rules "$host")" 2 "round $round: masquerade rules"
		assert_eq "$(rules_in "$host" antispoof)" 1 "round $round: anti-spoof rules"
		_cleanup
	done
}

test_racing_first_adds_of_four_networks() {
	local host dir i n pod net
	mk_host host ; mk_dir dir
	# Two pods on each of four networks, all first ADDs on a fresh table:
	# the table and chain are shared, the sets and rules are each network's.
	for i in 0 1 2 3 4 5 6 7; do
		n=$((i / 2))
		mk_pod pod
		(cni ADD "$host" "$pod" "c$i" eth0 "$(masq_conf "n$n" "$dir" "[[{\"subnet\":\"198.18.$n.0/24\"}],[{\"subnet\":\"fd5a:7e57:$((n + 1))::/64\"}]]")"
		 echo "$RC" >"$dir/rc$i"; echo "$OUT" >"$dir/out$i") &
	done
	wait
	for i in 0 1 2 3 4 5 6 7; do
		[ "$(cat "$dir/rc$i")" = 0 ] || fail "ADD $i failed: $(cat "$dir/out$i")"
	done
	for n in 0 1 2 3; do
		net=n$n
		assert_elems "$host" "$net-pods4" "198.18.$n.2 198.18.$n.3"
		assert_elems "$host" "$net-pods6" "fd5a:7e57:$((n + 1))::2 fd5a:7e57:$((n + 1))::3"
		assert_elems "$host" "$net-keep4" "198.18.$n.0/24"
		assert_eq "$(rules_using "$host" "$net-pods4")" 1 "$net: IPv4 rules"
		assert_eq "$(rules_using "$host" "$net-pods6")" 1 "$net: IPv6 rules"
	done
	assert_eq "$(masq_rules "$host")" 8 "masquerade rules"
	assert_eq "$(rules_in "$host" antispoof)" 1 "anti-spoof rules"
}

# --- spoofing ------------------------------------------------------------------

# probe_sources NETNS: record the source of every echo request NETNS gets,
# before anything of its own could drop it; seen NETNS 4|6 lists them.
probe_sources() {
	ip netns exec "$1" nft -f - <<-'EOF' || fail "cannot load the probe table in $1"
	table inet probe {
		set seen4 { type ipv4_addr; flags dynamic; }
		set seen6 { type ipv6_addr; flags dynamic; }
		chain pre {
			type filter hook prerouting priority raw; policy accept;
			icmp type echo-request update @seen4 { ip saddr }
			icmpv6 type echo-request update @seen6 { ip6 saddr }
		}
	}
	EOF
}
seen() { world_saw "$@"; }

# A pod adds an address it was not given to its eth0 and pings another pod
# from it: another pod's address on the node, and an address out in the
# world (routed by the node's default route). IPv6 has no rp_filter at all.
# For IPv4 the node is either at all.rp_filter=2, a distribution default
# that wins over the strict mode rivet sets on each host end (the kernel
# takes the larger of the two), or "off": all.rp_filter=0 and each host
# end's set to 0 after the ADD, as systemd-sysctl does to every new
# interface on a node whose sysctl.d says net.ipv4.conf.*.rp_filter = 0.
# Either way only rivet's own rule may be trusted to stop the packets.
spoofing_is_dropped() { # CONF all2|off
	local host outside a b c conf=$1 fake fam n h
	mk_node host outside ; mk_pod a ; mk_pod b ; mk_pod c
	# Through /proc/sys, which `ip netns exec` shows for the node's netns:
	# a minimal Debian has no sysctl(8).
	ip netns exec "$host" sh -c "echo $([ "$2" = off ] && echo 0 || echo 2) >/proc/sys/net/ipv4/conf/all/rp_filter" ||
		fail "cannot set rp_filter in the node"
	add_pod "$host" "$a" ca "$conf"
	add_pod "$host" "$b" cb "$conf"
	add_pod "$host" "$c" cc "$conf"
	if [ "$2" = off ]; then
		for h in $(host_ends "$host"); do
			ip netns exec "$host" sh -c "echo 0 >/proc/sys/net/ipv4/conf/$h/rp_filter" ||
				fail "cannot set rp_filter of $h"
		done
	fi
	probe_sources "$b"
	# Pods still reach each other from their own addresses.
	ip netns exec "$a" ping -c1 -W2 -I "$ca_4" "$cb_4" >/dev/null || fail "ping from a's own IPv4 address failed"
	ip netns exec "$a" ping -6 -c1 -W2 -I "$ca_6" "$cb_6" >/dev/null || fail "ping from a's own IPv6 address failed"
	for fake in "$cc_4" 198.19.200.77 "$cc_6" fd5a:7e57:ee::77; do
		case $fake in *:*) fam=6 ;; *) fam=4 ;; esac
		if [ $fam = 6 ]; then
			ip -n "$a" addr add "$fake/128" dev eth0 nodad || fail "cannot add $fake to a"
			ip netns exec "$a" ping -6 -c1 -W1 -I "$fake" "$cb_6" >/dev/null 2>&1
		else
			ip -n "$a" addr add "$fake/32" dev eth0 || fail "cannot add $fake to a"
			ip netns exec "$a" ping -c1 -W1 -I "$fake" "$cb_4" >/dev/null 2>&1
		fi
	done
	assert_eq "$(seen "$b" 4)" "$ca_4" "IPv4 sources that reached b"
	assert_eq "$(seen "$b" 6)" "$ca_6" "IPv6 sources that reached b"
	# Dropped by rivet's rule, which counted them.
	n=$(ip netns exec "$host" nft -j list chain inet rivet antispoof |
		jq '[.nftables[].rule?.expr[]?.counter?.packets | numbers] | add')
	[ "${n:-0}" -ge 4 ] || fail "rivet's anti-spoof rule counted ${n:-no} packets"
}

test_a_pod_cannot_send_from_an_address_it_does_not_hold() {
	local dir
	mk_dir dir
	spoofing_is_dropped "$(mk_conf plain "$dir" 1.0.0 "$DUAL")" all2
}

test_a_pod_cannot_send_from_an_address_it_does_not_hold_rp_filter_off() {
	local dir
	mk_dir dir
	spoofing_is_dropped "$(mk_conf plain "$dir" 1.0.0 "$DUAL")" off
}

test_a_pod_cannot_send_from_an_address_it_does_not_hold_with_ipmasq() {
	local dir
	mk_dir dir
	spoofing_is_dropped "$(masq_conf spoofm "$dir" "$DUAL" "$EXCLUDE")" all2
}

# --- kube-proxy ----------------------------------------------------------------

# kube_proxy HOST ip|ip6 CLUSTERIP CLUSTER_CIDR BACKEND...: the tables
# kube-proxy's nftables mode programs, cut down to one ClusterIP:80 whose
# endpoints are BACKEND:8080 (chosen by numgen), plus the "kubernetes"
# service at .1 / ::1 of the service CIDR, whose endpoint is the world (an
# API server off the pod network). Hairpin traffic, and traffic to a
# service from outside the cluster CIDR, is marked 0x4000 and masqueraded
# in kube-proxy's own postrouting chain, as kube-proxy does.
kube_proxy() {
	local host=$1 fam=$2 cip=$3 cidr=$4 kip type w ep="" vmap="" i=0 b world
	shift 4
	if [ "$fam" = ip ]; then
		kip=198.19.128.1 type=ipv4_addr world=$WORLD4:8080
	else
		kip=fd5a:7e57:5e::1 type=ipv6_addr world="[$WORLD6]:8080"
	fi
	for b in "$@"; do
		w=$b:8080
		[ "$fam" = ip6 ] && w="[$b]:8080"
		ep="$ep
	chain endpoint-web-$i {
		$fam saddr $b jump mark-for-masquerade
		meta l4proto tcp dnat to $w
	}"
		vmap="$vmap${vmap:+, }$i : goto endpoint-web-$i"
		i=$((i + 1))
	done
	ip netns exec "$host" nft -f - <<-EOF || fail "cannot load table $fam kube-proxy"
	table $fam kube-proxy {
		comment "rules for kube-proxy"
		chain mark-for-masquerade {
			meta mark set meta mark | 0x00004000
		}
		chain masquerading {
			meta mark & 0x00004000 == 0x00000000 return
			meta mark set meta mark ^ 0x00004000
			masquerade fully-random
		}
		$ep
		chain service-web {
			$fam daddr $cip tcp dport 80 $fam saddr != $cidr jump mark-for-masquerade
			numgen random mod $i vmap { $vmap }
		}
		chain endpoint-kubernetes-0 {
			$fam saddr $( [ "$fam" = ip ] && echo "$WORLD4" || echo "$WORLD6" ) jump mark-for-masquerade
			meta l4proto tcp dnat to $world
		}
		chain service-kubernetes {
			$fam daddr $kip tcp dport 443 $fam saddr != $cidr jump mark-for-masquerade
			numgen random mod 1 vmap { 0 : goto endpoint-kubernetes-0 }
		}
		map service-ips {
			type $type . inet_proto . inet_service : verdict
			comment "ClusterIP, ExternalIP and LoadBalancer IP traffic"
			elements = { $cip . tcp . 80 : goto service-web, $kip . tcp . 443 : goto service-kubernetes }
		}
		chain services {
			$fam daddr . meta l4proto . th dport vmap @service-ips
		}
		chain nat-prerouting {
			type nat hook prerouting priority dstnat; policy accept;
			jump services
		}
		chain nat-output {
			type nat hook output priority -100; policy accept;
			jump services
		}
		chain nat-postrouting {
			type nat hook postrouting priority srcnat; policy accept;
			jump masquerading
		}
	}
	EOF
}

# until_seen NETNS SVC PORT WANT...: ask SVC:PORT until every WANT ("name
# source") has answered; any other answer fails. At most 40 tries each.
until_seen() {
	local ns=$1 svc=$2 port=$3 got w tries=0 missing
	shift 3
	local -A want=()
	for w in "$@"; do want[$w]=1; done
	while :; do
		missing=0
		for w in "${!want[@]}"; do [ "${want[$w]}" = 1 ] && missing=$((missing + 1)); done
		[ "$missing" = 0 ] && return 0
		[ "$tries" -lt $((40 * $#)) ] || fail "$svc:$port from $ns: never answered by: $(for w in "${!want[@]}"; do [ "${want[$w]}" = 1 ] && printf '[%s] ' "$w"; done)"
		tries=$((tries + 1))
		got=$(ask "$ns" "$svc" "$port")
		[ -n "$got" ] && [ -n "${want[$got]:-}" ] || fail "$svc:$port from $ns answered '$got', want one of: $*"
		want[$got]=2
	done
}

# A node with kube-proxy and two backend pods a and b serving on 8080, and a
# client pod c, all on one rivet network with ipMasq as docs/kube-proxy.md
# advises. Sets host outside a b c ca_4 ca_6 cb_4 ... (the caller's locals).
mk_service_node() {
	local dir conf
	mk_node host outside ; mk_pod a ; mk_pod b ; mk_pod c ; mk_dir dir
	conf=$(masq_conf kp "$dir" "$DUAL" "$EXCLUDE")
	add_pod "$host" "$a" ca "$conf"
	add_pod "$host" "$b" cb "$conf"
	add_pod "$host" "$c" cc "$conf"
	serve "$a" 0.0.0.0 8080 a
	serve "$a" :: 8080 a
	serve "$b" 0.0.0.0 8080 b
	serve "$b" :: 8080 b
	kube_proxy "$host" ip 198.19.128.10 "$CLUSTER4" "$ca_4" "$cb_4"
	kube_proxy "$host" ip6 fd5a:7e57:5e::10 "$CLUSTER6" "$ca_6" "$cb_6"
}

test_kube_proxy_a_pod_reaches_the_service_on_both_backends() {
	local host outside a b c ca_4 ca_6 cb_4 cb_6 cc_4 cc_6
	mk_service_node
	# Pod to service keeps the client's address: neither kube-proxy (source
	# inside the cluster CIDR) nor rivet (destination kept) masquerades.
	until_seen "$c" 198.19.128.10 80 "a $(peer "$cc_4")" "b $(peer "$cc_4")"
	until_seen "$c" fd5a:7e57:5e::10 80 "a $(peer "$cc_6")" "b $(peer "$cc_6")"
}

test_kube_proxy_hairpin_a_pod_reaches_itself_through_the_service() {
	local host outside a b c ca_4 ca_6 cb_4 cb_6 cc_4 cc_6
	mk_service_node
	# On itself the backend sees the node (kube-proxy's hairpin masquerade
	# picks a node address); on the other backend, the pod's own address.
	local self4 self6
	self4=$(ip -n "$host" -4 route get "$ca_4" | sed -n 's/.* src \([^ ]*\).*/\1/p')
	self6=$(ip -n "$host" -6 route get "$ca_6" | sed -n 's/.* src \([^ ]*\).*/\1/p')
	[ -n "$self4" ] && [ -n "$self6" ] || fail "no node source address towards the pod"
	until_seen "$a" 198.19.128.10 80 "a $(peer "$self4")" "b $(peer "$ca_4")"
	until_seen "$a" fd5a:7e57:5e::10 80 "a $(peer "$self6")" "b $(peer "$ca_6")"
}

test_kube_proxy_the_node_reaches_the_service() {
	local host outside a b c ca_4 ca_6 cb_4 cb_6 cc_4 cc_6 self4 self6
	mk_service_node
	self4=$(ip -n "$host" -4 route get "$ca_4" | sed -n 's/.* src \([^ ]*\).*/\1/p')
	self6=$(ip -n "$host" -6 route get "$ca_6" | sed -n 's/.* src \([^ ]*\).*/\1/p')
	until_seen "$host" 198.19.128.10 80 "a $(peer "$self4")" "b $(peer "$self4")"
	until_seen "$host" fd5a:7e57:5e::10 80 "a $(peer "$self6")" "b $(peer "$self6")"
}

test_kube_proxy_a_service_whose_endpoint_is_off_the_pod_network() {
	local host outside a b c ca_4 ca_6 cb_4 cb_6 cc_4 cc_6
	mk_service_node
	# The "kubernetes" service: DNAT to the world, which has no route to
	# pods, so only rivet's masquerade (destination not kept) lets it answer.
	asks_as "$c" 198.19.128.1 world "$UP4" 443
	asks_as "$c" fd5a:7e57:5e::1 world "$UP6" 443
}

# kube_proxy_iptables HOST iptables|ip6tables CLUSTERIP CLUSTER_CIDR A B: the
# same Service as kube-proxy's iptables mode writes it (KUBE-SERVICES,
# KUBE-SVC-* with the statistic match, KUBE-SEP-*, KUBE-MARK-MASQ and
# KUBE-POSTROUTING), through iptables-nft.
kube_proxy_iptables() {
	local host=$1 ipt=$2 cip=$3 cidr=$4 a=$5 b=$6 da=$5:8080 db=$6:8080
	if [ "$ipt" = ip6tables ]; then da="[$a]:8080" db="[$b]:8080"; fi
	ip netns exec "$host" "$ipt-restore" <<-EOF || fail "cannot load $ipt rules"
	*nat
	:PREROUTING ACCEPT [0:0]
	:INPUT ACCEPT [0:0]
	:OUTPUT ACCEPT [0:0]
	:POSTROUTING ACCEPT [0:0]
	:KUBE-MARK-MASQ - [0:0]
	:KUBE-POSTROUTING - [0:0]
	:KUBE-SERVICES - [0:0]
	:KUBE-SVC-WEB - [0:0]
	:KUBE-SEP-A - [0:0]
	:KUBE-SEP-B - [0:0]
	-A PREROUTING -m comment --comment "kubernetes service portals" -j KUBE-SERVICES
	-A OUTPUT -m comment --comment "kubernetes service portals" -j KUBE-SERVICES
	-A POSTROUTING -m comment --comment "kubernetes postrouting rules" -j KUBE-POSTROUTING
	-A KUBE-MARK-MASQ -j MARK --set-xmark 0x4000/0x4000
	-A KUBE-POSTROUTING -m mark ! --mark 0x4000/0x4000 -j RETURN
	-A KUBE-POSTROUTING -j MARK --set-xmark 0x4000/0x0
	-A KUBE-POSTROUTING -j MASQUERADE --random-fully
	-A KUBE-SERVICES -d $cip -p tcp -m tcp --dport 80 -j KUBE-SVC-WEB
	-A KUBE-SVC-WEB ! -s $cidr -d $cip -p tcp -m tcp --dport 80 -j KUBE-MARK-MASQ
	-A KUBE-SVC-WEB -m statistic --mode random --probability 0.5 -j KUBE-SEP-A
	-A KUBE-SVC-WEB -j KUBE-SEP-B
	-A KUBE-SEP-A -s $a -j KUBE-MARK-MASQ
	-A KUBE-SEP-A -p tcp -m tcp -j DNAT --to-destination $da
	-A KUBE-SEP-B -s $b -j KUBE-MARK-MASQ
	-A KUBE-SEP-B -p tcp -m tcp -j DNAT --to-destination $db
	COMMIT
	EOF
}

test_kube_proxy_iptables_mode_pods_hairpin_and_node_reach_the_service() {
	local host outside a b c dir conf self4 self6
	command -v iptables-restore >/dev/null || fail "no iptables-restore"
	mk_node host outside ; mk_pod a ; mk_pod b ; mk_pod c ; mk_dir dir
	conf=$(masq_conf kpi "$dir" "$DUAL" "$EXCLUDE")
	add_pod "$host" "$a" ca "$conf"
	add_pod "$host" "$b" cb "$conf"
	add_pod "$host" "$c" cc "$conf"
	serve "$a" 0.0.0.0 8080 a
	serve "$a" :: 8080 a
	serve "$b" 0.0.0.0 8080 b
	serve "$b" :: 8080 b
	kube_proxy_iptables "$host" iptables 198.19.128.10 "$CLUSTER4" "$ca_4" "$cb_4"
	kube_proxy_iptables "$host" ip6tables fd5a:7e57:5e::10 "$CLUSTER6" "$ca_6" "$cb_6"
	self4=$(ip -n "$host" -4 route get "$ca_4" | sed -n 's/.* src \([^ ]*\).*/\1/p')
	self6=$(ip -n "$host" -6 route get "$ca_6" | sed -n 's/.* src \([^ ]*\).*/\1/p')
	until_seen "$c" 198.19.128.10 80 "a $(peer "$cc_4")" "b $(peer "$cc_4")"
	until_seen "$c" fd5a:7e57:5e::10 80 "a $(peer "$cc_6")" "b $(peer "$cc_6")"
	until_seen "$a" 198.19.128.10 80 "a $(peer "$self4")" "b $(peer "$ca_4")"
	until_seen "$a" fd5a:7e57:5e::10 80 "a $(peer "$self6")" "b $(peer "$ca_6")"
	until_seen "$host" 198.19.128.10 80 "a $(peer "$self4")" "b $(peer "$self4")"
	until_seen "$host" fd5a:7e57:5e::10 80 "a $(peer "$self6")" "b $(peer "$self6")"
	asks_as "$c" "$WORLD4" world "$UP4"
}

test_tables_rivet_did_not_create_are_untouched() {
	local host a b dir conf before after
	mk_host host ; mk_pod a ; mk_pod b ; mk_dir dir
	kube_proxy "$host" ip 198.19.128.10 "$CLUSTER4" 198.18.0.2 198.18.0.3
	kube_proxy "$host" ip6 fd5a:7e57:5e::10 "$CLUSTER6" fd5a:7e57:1::2 fd5a:7e57:1::3
	kube_proxy_iptables "$host" iptables 198.19.128.10 "$CLUSTER4" 198.18.0.2 198.18.0.3
	kube_proxy_iptables "$host" ip6tables fd5a:7e57:5e::10 "$CLUSTER6" fd5a:7e57:1::2 fd5a:7e57:1::3
	# A decoy with rivet's own chain and set names, in another table.
	ip netns exec "$host" nft -f - <<-'EOF' || fail "cannot load the decoy table"
	table inet decoy {
		set own-pods4 { type ipv4_addr; elements = { 198.18.0.200 } }
		set own-keep4 { type ipv4_addr; flags interval; elements = { 198.18.0.0/24 } }
		chain postrouting {
			type nat hook postrouting priority srcnat; policy accept;
			ip saddr @own-pods4 ip daddr != @own-keep4 masquerade
		}
	}
	EOF
	snapshot() {
		ip netns exec "$host" nft -j list table ip kube-proxy
		ip netns exec "$host" nft -j list table ip6 kube-proxy
		ip netns exec "$host" nft -j list table inet decoy
		ip netns exec "$host" nft -j list table ip nat
		ip netns exec "$host" nft -j list table ip6 nat
	}
	before=$(snapshot) || fail "cannot list the foreign tables"
	conf=$(masq_conf own "$dir" "$DUAL" "$EXCLUDE" 1.1.0)
	add_pod "$host" "$a" ca "$conf"
	add_pod "$host" "$b" cb "$conf"
	cni DEL "$host" "$a" ca eth0 "$conf"
	assert_rc 0
	gc "$host" "$conf" ""
	assert_rc 0
	after=$(snapshot)
	assert_eq "$after" "$before" "foreign tables after ADD, DEL and GC"
	assert_elems "$host" own-pods4 ""
}


# --- nftables refusing a whole transaction -------------------------------------

# as_no_net_admin HOST CMD ID POD CONF: rivet run as a runtime would, but
# without CAP_NET_ADMIN (dropped from the bounding and inheritable sets, so
# root cannot regain it at exec), killed after 15 s. Sets $OUT and $RC.
as_no_net_admin() {
	OUT=$(printf '%s' "$5" | ip netns exec "$1" env CNI_COMMAND="$2" CNI_CONTAINERID="$3" \
		CNI_NETNS="${4:+/run/netns/$4}" CNI_IFNAME=eth0 CNI_PATH="$CNI_BIN" \
		timeout 15 setpriv --inh-caps=-net_admin --bounding-set=-net_admin -- "$RIVET" 2>/dev/null)
	RC=$?
}

# Without CAP_NET_ADMIN nf_tables refuses a transaction whole and answers
# only its BATCH_BEGIN (EPERM), whose sequence number no operation has; the
# same happens with ENOMEM or without nf_tables. DEL and GC must end with
# an error object rather than wait for answers that never come: a DEL that
# never returns is retried forever, and its address is never released.
test_nftables_refusing_the_transaction_ends_del_and_gc() {
	local host pod dir conf
	mk_host host ; mk_pod pod ; mk_dir dir
	conf=$(masq_conf noadm "$dir" "$DUAL" "" 1.1.0)
	add_pod "$host" "$pod" c1 "$conf"
	as_no_net_admin "$host" DEL c1 "$pod" "$conf"
	[ "$RC" != 124 ] || fail "DEL without CAP_NET_ADMIN did not return (killed after 15 s)"
	assert_cni_error 101
	as_no_net_admin "$host" GC "" "" "$(printf '%s' "$conf" | jq -c '. + {"cni.dev/valid-attachments": []}')"
	[ "$RC" != 124 ] || fail "GC without CAP_NET_ADMIN did not return (killed after 15 s)"
	assert_cni_error 110
	assert_contains "$(printf '%s' "$OUT" | jq -r .msg)" "Operation not permitted"
	# With the capability back, the runtime's retried DEL finishes the job
	# (the refused DEL already released the address: the element it could
	# not remove is GC's, as after any failed removal).
	cni DEL "$host" "$pod" c1 eth0 "$conf"
	assert_rc 0
	assert_clean "$host" "$dir/noadm"
	gc "$host" "$conf" ""
	assert_rc 0
	assert_elems "$host" noadm-pods4 ""
	assert_elems "$host" noadm-pods6 ""
}


# GC refills the pod sets from the store, one valid attachment at a time.
# When the store cannot be read (a lock that times out, an I/O error, here
# injected into flock(2) from its first call or from its second), the sets
# stay as they are: refilled without a live pod, they would stop its
# masquerade until its next ADD.
test_gc_leaves_the_pod_sets_alone_when_the_store_fails() {
	local host a b dir conf gcconf when
	command -v strace >/dev/null || "$(dirname "$0")/../../scripts/apt-install.sh" strace >/dev/null 2>&1
	command -v strace >/dev/null || fail "strace is needed to inject the store's failure"
	mk_host host ; mk_pod a ; mk_pod b ; mk_dir dir
	conf=$(masq_conf gcfail "$dir" "$DUAL" "" 1.1.0)
	add_pod "$host" "$a" ca "$conf"
	add_pod "$host" "$b" cb "$conf"
	gcconf=$(printf '%s' "$conf" | jq -c '. + {"cni.dev/valid-attachments": [{"containerID":"ca","ifname":"eth0"},{"containerID":"cb","ifname":"eth0"}]}')
	for when in 1+ 2+; do
		OUT=$(printf '%s' "$gcconf" | ip netns exec "$host" env CNI_COMMAND=GC CNI_PATH="$CNI_BIN" \
			ASAN_OPTIONS=detect_leaks=0 strace -f -qq -o /dev/null -e trace=flock \
			-e inject=flock:error=EIO:when=$when "$RIVET" 2>/dev/null)
		RC=$?
		assert_cni_error 5
		assert_elems "$host" gcfail-pods4 "$ca_4 $cb_4"
		assert_elems "$host" gcfail-pods6 "$ca_6 $cb_6"
	done
	gc "$host" "$conf" "ca cb"
	assert_rc 0
	assert_elems "$host" gcfail-pods4 "$ca_4 $cb_4"
}

run_tests
