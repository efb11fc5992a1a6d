#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
#
# Cluster mode, end to end: a real etcd, rivetd agents in node namespaces on
# two L2 segments joined by a router (see lib.sh), and pods made by rivet's
# own ADD from the conflist each agent wrote. What is proved is what a pod
# network owes its users: every pod reaches every other pod, with its own
# address, over IPv4 and IPv6, directly on a shared subnet and over VXLAN
# across the router; nodes join and leave and every node's routes follow;
# agents and etcd may stop and come back without a route changing; the
# range lease, not the agent, decides when a node's routes go.
#
#   tests/cluster/run.sh                    every test
#   TEST_FILTER=leave tests/cluster/run.sh  those whose name matches
#
# The last line is "N passed, N failed".
. "$(dirname "$0")/lib.sh"

[ -x "$RIVETD" ] || { echo "no $RIVETD: run make first"; echo "run.sh: 0 passed, 1 failed"; exit 1; }

# The cluster most tests start from: etcd, the router, n1..n3 on the first
# bridge, n4 behind the router, an agent on each, a pod on each.
four_nodes() {
	cl_router
	cl_etcd "${1:-}"
	cl_init
	cl_node n1 1 1
	cl_node n2 1 2
	cl_node n3 1 3
	cl_node n4 2 4
	for n in n1 n2 n3 n4; do
		cl_agent "$n"
	done
	for n in n1 n2 n3 n4; do
		cl_pod "p$n" "$n"
	done
	for n in n1 n2 n3 n4; do
		for m in n1 n2 n3 n4; do
			[ "$n" = "$m" ] || cl_wait 5 cl_routed "$n" "$(cl_range "$m")"
		done
	done
}

# Every pod pings every other, and reaches its server seen with its own
# address, over $1 (4, 6).
all_pairs_see_their_source() {
	local fam=$1 a b got
	for a in pn1 pn2 pn3 pn4; do
		cl_whoami_server "$a"
	done
	for a in pn1 pn2 pn3 pn4; do
		for b in pn1 pn2 pn3 pn4; do
			[ "$a" = "$b" ] && continue
			ip netns exec "$(cl_pod_ns "$a")" ping -"$fam" -c1 -W2 "$(cl_pod_ip "$b" "$fam")" >/dev/null ||
				fail "$a cannot ping $b over IPv$fam"
			got=$(cl_whoami "$a" "$(cl_pod_ip "$b" "$fam")")
			assert_eq "$got" "$(cl_pod_ip "$a" "$fam")" "the source $b saw from $a (IPv$fam)"
		done
	done
}

test_every_pod_reaches_every_pod_with_its_own_address() {
	local out
	four_nodes
	all_pairs_see_their_source 4
	all_pairs_see_their_source 6
	# n1 and n2 share a subnet: direct. n4 is behind the router: VXLAN.
	assert_contains "$(cl_routes n1 | grep "^$(cl_range n2) ")" "via 198.19.1.2 dev eth0"
	assert_contains "$(cl_routes n1 | grep "^$(cl_range n2 6) ")" "via fd5a:7e57:ff01::2 dev eth0"
	assert_contains "$(cl_routes n1 | grep "^$(cl_range n4) ")" "dev rivet.vxlan"
	assert_contains "$(cl_routes n1 | grep "^$(cl_range n4 6) ")" "dev rivet.vxlan"
	assert_contains "$(cl_routes n4 | grep "^$(cl_range n1) ")" "dev rivet.vxlan"
	# Each node blackholes its own ranges, so an unused address of them never
	# leaves by the default route.
	assert_contains "$(cl_routes n2)" "blackhole $(cl_range n2)"
	assert_contains "$(cl_routes n2)" "blackhole $(cl_range n2 6)"
	# Ranges are distinct, the conflist right.
	[ "$(for n in n1 n2 n3 n4; do cl_range $n; done | sort -u | wc -l)" = 4 ] || fail "two nodes share a range"
	assert_eq "$(jq -r '.plugins[0].mtu' "$(cl_conflist n1)")" 1450 "the pods' MTU (1500 less VXLAN's 50)"
	assert_eq "$(jq -c '.plugins[0].ipMasqExclude' "$(cl_conflist n1)")" '["198.18.0.0/16","fd5a:7e57:100::/48"]' \
		"the masquerade exclusions"
	assert_eq "$(jq -r '.plugins[0].ipam.dataDir' "$(cl_conflist n1)")" "$CL_DIR/n1/ipam" "the IPAM dataDir"
	# What the podcidr DaemonSet's installer asks of its conflists, rivetd's
	# meet too.
	out=$("$RIVET" validate --cluster "$(cl_conflist n1)" 2>&1) || fail "rivet validate --cluster: $out"
}

test_nodes_lists_every_node() {
	four_nodes
	local out
	out=$(rivetd nodes --json) || fail "rivetd nodes --json failed"
	assert_eq "$(echo "$out" | jq -r '[.[].name] | join(" ")')" "n1 n2 n3 n4" "the nodes"
	assert_eq "$(echo "$out" | jq -r '.[] | select(.name=="n4") | .nodeIP')" 198.19.2.4 "n4's address"
	assert_eq "$(echo "$out" | jq -r '.[] | select(.name=="n4") | .ranges | join(",")')" \
		"$(cl_range n4),$(cl_range n4 6)" "n4's ranges"
	assert_eq "$(echo "$out" | jq -r '.[0].backend')" auto "the backend"
	echo "$out" | jq -e '.[0].leaseExpires | test("^20[0-9-]+T[0-9:]+Z$")' >/dev/null || fail "no lease expiry: $out"
	echo "$out" | jq -e '.[0].vtepMAC | test("^0e(:[0-9a-f]{2}){5}$")' >/dev/null || fail "no VTEP MAC: $out"
	assert_eq "$(echo "$out" | jq -r '[.[].agent] | unique | join(",")')" running "the agents"
	assert_contains "$(rivetd nodes)" "n4"
}

test_no_conflist_until_the_node_has_its_range() {
	cl_router
	cl_etcd
	cl_node n1 1 1
	cl_agent n1 --cni-log-file "$CL_DIR/n1/cni.log" --cni-log-level debug
	sleep 1.5
	cl_has_conflist n1 && fail "a conflist before the cluster was initialised"
	assert_contains "$(cat "$CL_DIR/n1/rivetd.log")" "rivetd init"
	cl_init
	cl_wait 5 cl_has_conflist n1
	assert_eq "$(cl_range n1)" 198.18.0.0/24 "n1's range"
	# The plugin logs where the agent's flags say.
	assert_eq "$(jq -r '.plugins[0].logFile + " " + .plugins[0].logLevel' "$(cl_conflist n1)")" \
		"$CL_DIR/n1/cni.log debug" "the plugin's log settings"
	cl_pod pn1 n1
	assert_contains "$(cat "$CL_DIR/n1/cni.log")" "debug ADD pn1/eth0"
}

test_a_joining_node_is_routed_by_every_other_within_2s() {
	four_nodes
	local t0 t1 r
	cl_node n5 2 5
	t0=$(date +%s%N)
	cl_agent n5
	cl_wait 2 cl_has_conflist n5
	r=$(cl_range n5)
	for n in n1 n2 n3 n4; do
		cl_wait 2 cl_routed "$n" "$r"
	done
	t1=$(date +%s%N)
	echo "    every node routes to n5 $(((t1 - t0) / 1000000)) ms after its rivetd run"
	[ $(((t1 - t0) / 1000000)) -le 2000 ] || fail "took more than 2 s"
	cl_pod pn5 n5
	cl_whoami_server pn5
	assert_eq "$(cl_whoami pn1 "$(cl_pod_ip pn5)")" "$(cl_pod_ip pn1)" "pn5 reached from pn1"
}

test_leave_withdraws_a_stopped_node_everywhere_within_1s() {
	four_nodes
	local r r6 t0 t1 out
	r=$(cl_range n3) r6=$(cl_range n3 6)
	out=$(rivetd leave --node-name n3 2>&1) && fail "leave of a node whose agent runs succeeded: $out"
	assert_contains "$out" "agent is running"
	cl_routed n1 "$r" || fail "a refused leave withdrew n3"
	cl_stop n3
	# A stopped agent leaves its node routed: its pods still run.
	sleep 0.5
	cl_routed n1 "$r" || fail "stopping n3's agent withdrew its routes"
	t0=$(date +%s%N)
	out=$(rivetd leave --node-name n3 2>&1) || fail "leave: $out"
	for n in n1 n2 n4; do
		cl_wait 1 cl_not_routed "$n" "$r"
		cl_wait 1 cl_not_routed "$n" "$r6"
	done
	t1=$(date +%s%N)
	echo "    n3 withdrawn everywhere $(((t1 - t0) / 1000000)) ms after leave"
	[ $(((t1 - t0) / 1000000)) -le 1000 ] || fail "took more than 1 s"
	assert_not_contains "$(rivetd nodes)" "n3 "
	# Its range is free again: a new node may get it.
	cl_node n6 1 6
	cl_agent n6
	cl_wait 5 cl_has_conflist n6
	assert_eq "$(cl_range n6)" "$r" "the range n3 gave back"
}

test_sigkill_changes_no_route_and_restart_keeps_the_range_without_a_lost_ping() {
	four_nodes
	local before after r n pid
	r=$(cl_range n2)
	before=$(for n in n1 n2 n3 n4; do echo "== $n"; cl_routes "$n"; done)
	for n in n1 n2 n3 n4; do
		ip -n "$(cl_ns "$n")" monitor route neigh >"$CL_DIR/mon-$n" 2>&1 &
		_register "kill $!"
	done
	# Across the restart: a direct path (pn1-pn2) and a VXLAN one (pn4-pn2).
	ip netns exec "$(cl_pod_ns pn1)" ping -i 0.05 -c 80 -W 1 "$(cl_pod_ip pn2)" >"$CL_DIR/ping1.out" 2>&1 &
	local ping1=$!
	ip netns exec "$(cl_pod_ns pn4)" ping -i 0.05 -c 80 -W 1 "$(cl_pod_ip pn2)" >"$CL_DIR/ping4.out" 2>&1 &
	local ping4=$!
	_register "kill $ping1 $ping4"
	sleep 0.5
	cl_stop n2 KILL
	sleep 1
	after=$(for n in n1 n2 n3 n4; do echo "== $n"; cl_routes "$n"; done)
	assert_eq "$after" "$before" "every node's routes after n2's agent was killed"
	cl_agent n2
	pid=$(cat "$CL_DIR/n2/pid")
	cl_wait 5 grep -q "pid=$pid: [0-9]* other nodes at revision" "$CL_DIR/n2/rivetd.log"
	wait "$ping1" "$ping4"
	assert_contains "$(cat "$CL_DIR/ping1.out")" "80 packets transmitted, 80 received" "pings pn1-pn2 across the restart"
	assert_contains "$(cat "$CL_DIR/ping4.out")" "80 packets transmitted, 80 received" "pings pn4-pn2 across the restart"
	kill -0 "$pid" || fail "the restarted agent is gone: $(tail -n 3 "$CL_DIR/n2/rivetd.log")"
	assert_eq "$(cl_range n2)" "$r" "n2's range after the restart"
	after=$(for n in n1 n2 n3 n4; do echo "== $n"; cl_routes "$n"; done)
	assert_eq "$after" "$before" "every node's routes after n2's agent came back"
	for n in n1 n2 n3 n4; do
		assert_not_contains "$(cat "$CL_DIR/mon-$n")" "Deleted" "what changed on $n's routes and neighbours"
	done
}

test_a_restart_with_another_subnet_ttl_keeps_the_node_routed() {
	cl_router
	cl_etcd
	cl_init
	cl_node n1 1 1
	cl_node n2 1 2
	cl_agent n1
	cl_agent n2 --subnet-ttl 4
	cl_wait 5 cl_has_conflist n2
	local r
	r=$(cl_range n2)
	cl_wait 5 cl_routed n1 "$r"
	ip -n "$(cl_ns n1)" monitor route >"$CL_DIR/mon1" 2>&1 &
	_register "kill $!"
	cl_stop n2
	cl_agent n2
	cl_wait 5 grep -q "pid=$(cat "$CL_DIR/n2/pid"): [0-9]* other nodes at revision" "$CL_DIR/n2/rivetd.log"
	# Past the first lease's 4 s: the node must not have left anywhere.
	sleep 6
	assert_not_contains "$(cat "$CL_DIR/mon1")" "Deleted $r" "n1's route changes"
	assert_not_contains "$(cat "$CL_DIR/n1/rivetd.log")" "node n2 left" "n1's log"
	assert_eq "$(rivetd nodes --json | jq -r '.[] | select(.name=="n2") | .leaseExpires[0:4]')" "$(date -u -d tomorrow +%Y)" \
		"the year n2's lease ends, on the TTL its agent now has"
	cl_routed n1 "$r" || fail "n1 lost its route to n2"
}

test_start_removes_a_planted_route_of_ours_and_keeps_another_protocols() {
	cl_router
	cl_etcd
	cl_init
	cl_node n1 1 1
	local ns
	ns=$(cl_ns n1)
	ip -n "$ns" route add 203.0.113.0/24 via 198.19.1.254 proto 92
	ip -n "$ns" route add 203.0.114.0/24 dev eth0 proto 92
	ip -n "$ns" -6 route add fd5a:7e57:9999::/64 dev eth0 proto 92
	ip -n "$ns" route add 198.51.100.0/24 via 198.19.1.254 proto static
	ip -n "$ns" route add 198.18.200.0/24 via 198.19.1.254 proto 93
	cl_agent n1
	cl_wait 5 cl_has_conflist n1
	cl_wait 2 eval '[ -z "$(ip -n '"$ns"' route show 203.0.113.0/24)" ]'
	# A route of ours without a gateway has link scope; the deletion must
	# not depend on it.
	cl_wait 2 eval '[ -z "$(ip -n '"$ns"' route show 203.0.114.0/24)" ]'
	cl_wait 2 eval '[ -z "$(ip -n '"$ns"' -6 route show fd5a:7e57:9999::/64)" ]'
	assert_contains "$(ip -n "$ns" route show 198.51.100.0/24)" "via 198.19.1.254" "the static route"
	assert_contains "$(ip -n "$ns" route show 198.18.200.0/24)" "proto 93" "the route of protocol 93"
}

# A route of another protocol to n2's range, made on n1 before its agent
# starts, with @EXTRA (more words of `ip route`, as it prints them back):
# the agent says it leaves it alone, and it stays exactly as it was.
foreign_route_to_n2_stays() { # EXTRA
	local extra=$1 r
	cl_router
	cl_etcd
	cl_init
	cl_node n1 1 1
	cl_node n2 1 2
	cl_agent n2
	cl_wait 5 cl_has_conflist n2
	r=$(cl_range n2)
	# shellcheck disable=SC2086 # $extra is words of the command
	ip -n "$(cl_ns n1)" route add "$r" via 198.19.1.254 $extra proto static
	cl_agent n1
	cl_wait 5 grep -q "left alone" "$CL_DIR/n1/rivetd.log"
	assert_eq "$(ip -n "$(cl_ns n1)" route show "$r")" "$r via 198.19.1.254 dev eth0 proto static $extra" \
		"n1's routes to $r"
}

test_a_route_of_another_protocol_to_a_peer_range_is_left_alone() {
	foreign_route_to_n2_stays ""
}

test_a_route_of_another_protocol_with_another_metric_is_not_shadowed() {
	foreign_route_to_n2_stays "metric 100 "
}

test_a_deleted_route_is_put_back() {
	four_nodes
	local r
	r=$(cl_range n2)
	ip -n "$(cl_ns n1)" route del "$r"
	cl_wait 2 cl_routed n1 "$r"
}

test_etcd_away_for_30s_removes_nothing_and_later_changes_arrive() {
	four_nodes
	local before after
	before=$(for n in n1 n2 n3 n4; do echo "== $n"; cl_routes "$n"; done)
	etcd_stop "$CL_ETCD"
	sleep 15
	# An agent restarted while etcd is away has nothing to go by: it must
	# leave the routes its predecessor made.
	cl_stop n2 KILL
	cl_agent n2
	sleep 15
	after=$(for n in n1 n2 n3 n4; do echo "== $n"; cl_routes "$n"; done)
	assert_eq "$after" "$before" "every node's routes while etcd was away"
	assert_contains "$(cat "$CL_DIR/n1/rivetd.log")" "keeping every route"
	# Said once per change of state (the watch ends, then retries fail), not
	# once per retry.
	[ "$(grep -c ' error ' "$CL_DIR/n1/rivetd.log")" -le 2 ] ||
		fail "the outage was logged on every retry: $(grep ' error ' "$CL_DIR/n1/rivetd.log")"
	etcd_restart "$CL_ETCD"
	cl_stop n3
	rivetd leave --node-name n3 >/dev/null 2>&1 ||
		cl_wait 15 eval 'rivetd leave --node-name n3 >/dev/null 2>&1'
	cl_wait 15 cl_not_routed n1 "$(cl_range n3)"
	cl_node n5 1 5
	cl_agent n5
	cl_wait 10 cl_has_conflist n5
	cl_wait 15 cl_routed n4 "$(cl_range n5)"
}

test_an_expired_lease_withdraws_the_node_everywhere() {
	four_nodes
	cl_node n5 1 5
	cl_agent n5 --subnet-ttl 3
	cl_wait 5 cl_has_conflist n5
	local r
	r=$(cl_range n5)
	cl_wait 5 cl_routed n1 "$r"
	cl_stop n5 KILL
	# Killed: routed until its lease ends (3 s), then nowhere.
	cl_routed n1 "$r" || fail "n5 was withdrawn before its lease ended"
	for n in n1 n2 n3 n4; do
		cl_wait 10 cl_not_routed "$n" "$r"
	done
	assert_not_contains "$(rivetd nodes)" "n5 "
}

test_a_readdressed_node_takes_its_record_over_and_peers_follow() {
	four_nodes
	local r
	r=$(cl_range n2)
	cl_stop n2
	ip -n "$(cl_ns n2)" addr add 198.19.1.22/24 dev eth0
	echo "198.19.1.22,fd5a:7e57:ff01::2" >"$CL_DIR/n2/ip"
	cl_agent n2
	for n in n1 n3; do
		cl_wait 5 eval "cl_routes $n | grep -q '^$r via 198.19.1.22 '"
	done
	assert_eq "$(cl_range n2)" "$r" "n2's range"
	cl_whoami_server pn2
	assert_eq "$(cl_whoami pn1 "$(cl_pod_ip pn2)")" "$(cl_pod_ip pn1)" "pn2 reached at its node's new address"
}

test_a_malformed_key_is_logged_and_skipped() {
	four_nodes
	etcd_ctl "$CL_ETCD" put "$CL_PREFIX/nodes/bad" '{"name":"bad","nodeIP":"nonsense"}' >/dev/null
	etcd_ctl "$CL_ETCD" put "$CL_PREFIX/nodes/liar" \
		'{"name":"liar","nodeIP":"198.19.1.9","ranges":["10.0.0.0/24"],"backend":"auto"}' >/dev/null
	cl_wait 3 grep -q "skipping key $CL_PREFIX/nodes/bad" "$CL_DIR/n1/rivetd.log"
	cl_wait 3 grep -q "skipping node liar" "$CL_DIR/n1/rivetd.log"
	cl_routes n1 | grep -q 10.0.0.0/24 && fail "a range outside the cluster was routed"
	# The agents carry on.
	cl_node n5 1 5
	cl_agent n5
	cl_wait 5 cl_has_conflist n5
	cl_wait 2 cl_routed n1 "$(cl_range n5)"
}

# init --force may widen a CIDR. A running agent takes the new config when
# it meets a node in the new part: it routes that node, and its conflist
# keeps pod-to-pod traffic to the whole widened CIDR unmasqueraded.
test_a_widened_cidr_reaches_a_running_agent_routes_and_conflist() {
	local want='["198.18.0.0/15","fd5a:7e57:100::/48"]'
	cl_router
	cl_etcd
	cl_init
	cl_node n1 1 1
	cl_agent n1
	cl_wait 5 cl_has_conflist n1
	rivetd init --cluster-cidr 198.18.0.0/15,fd5a:7e57:100::/48 --force >"$CL_DIR/init2.out" 2>&1 ||
		fail "rivetd init --force: $(cat "$CL_DIR/init2.out")"
	etcd_ctl "$CL_ETCD" put "$CL_PREFIX/ranges/198.19.200.0-24" far >/dev/null
	etcd_ctl "$CL_ETCD" put "$CL_PREFIX/nodes/far" \
		'{"name":"far","nodeIP":"198.19.1.9","ranges":["198.19.200.0/24"],"backend":"auto"}' >/dev/null
	cl_wait 15 cl_routed n1 198.19.200.0/24
	cl_wait 5 eval '[ "$(jq -c .plugins[0].ipMasqExclude "$(cl_conflist n1)")" = "$want" ]'
}

# The state file only helps a restart find the node's lease; etcd knows
# the node by name anyway. An agent that cannot write it still holds its
# range, writes its conflist and routes, and says what is wrong; and the
# file it could not replace is gone, so that what it said (here, a range
# from before) cannot outrank the node's record in etcd at a restart.
test_a_state_file_that_cannot_be_written_does_not_stop_the_node() {
	local st
	cl_router
	cl_etcd
	cl_init
	cl_node n1 1 1
	cl_node n2 1 2
	st=$CL_DIR/n1/state
	mkdir -p "$st/.node.tmp"	# a directory where the new file is written
	printf 'lease 1\nrange 198.18.9.0/24\n' >"$st/node"
	cl_agent n1
	cl_agent n2
	cl_wait 5 cl_has_conflist n1
	cl_wait 5 cl_routed n1 "$(cl_range n2)"
	cl_wait 5 cl_routed n2 "$(cl_range n1)"
	assert_eq "$(cl_range n1)" 198.18.9.0/24 "n1's range, as its state file remembered it"
	assert_contains "$(cat "$CL_DIR/n1/rivetd.log")" "cannot write $st/.node.tmp"
	[ -e "$st/node" ] && fail "the state file the agent could not replace is still there: $(cat "$st/node")"
	return 0
}

test_a_second_agent_on_one_state_dir_is_refused() {
	cl_router
	cl_etcd
	cl_init
	cl_node n1 1 1
	cl_agent n1
	cl_wait 5 cl_has_conflist n1
	local out flags
	mapfile -t flags < <(cl_etcd_flags)
	out=$(ip netns exec "$(cl_ns n1)" timeout 5 "$RIVETD" run "${flags[@]}" --node-name n1 \
		--node-ip 198.19.1.1 --cni-conf-dir "$CL_DIR/n1/net.d" --ipam-data-dir "$CL_DIR/n1/ipam" \
		--state-dir "$CL_DIR/n1/state" 2>&1)
	RC=$?
	assert_rc 1
	assert_contains "$out" "another rivetd (pid $(cat "$CL_DIR/n1/pid")) runs with --state-dir $CL_DIR/n1/state"
}

test_run_refuses_bad_flags_before_touching_anything() {
	cl_router
	cl_etcd
	cl_init
	cl_node n1 1 1
	local out flags f
	mapfile -t flags < <(cl_etcd_flags)
	for f in "--ipmasq-exclude 10.96.0.0/33" "--ipmasq-exclude 10.96.0.1" "--cni-chain portmap,flannel" \
		"--node-ip 198.19.1.300" "--subnet-ttl 0" "--route-protocol 300" "--ipmasq maybe" \
		"--cni-log-file rivet.log" "--cni-log-level loud"; do
		# shellcheck disable=SC2086 # the flag and its value
		out=$(ip netns exec "$(cl_ns n1)" timeout 5 "$RIVETD" run "${flags[@]}" --node-name n1 \
			--cni-conf-dir "$CL_DIR/n1/net.d" --state-dir "$CL_DIR/n1/state" $f 2>&1)
		RC=$?
		[ "$RC" = 2 ] || fail "$f: exit status $RC, want 2: $out"
		assert_contains "$out" "${f%% *}" "the refusal of $f"
	done
	cl_has_conflist n1 && fail "a refused agent wrote a conflist"
	[ -z "$(rivetd nodes --json | jq -r '.[].name')" ] || fail "a refused agent claimed a range"
}

test_init_writes_once_and_refuses_a_change_without_force() {
	cl_router
	cl_etcd
	cl_init
	local out
	out=$(rivetd init --cluster-cidr "$CL_CIDRS" 2>&1) || fail "the same init again: $out"
	assert_contains "$out" "already initialised"
	out=$(rivetd init --cluster-cidr 10.96.0.0/12 2>&1) && fail "a different init succeeded: $out"
	assert_contains "$out" "--force"
	out=$(rivetd init --cluster-cidr 10.96.0.0/12 --force 2>&1) || fail "init --force: $out"
	assert_contains "$(etcd_ctl "$CL_ETCD" get "$CL_PREFIX/config" --print-value-only)" '"10.96.0.0/12"'
	out=$(rivetd init --cluster-cidr 10.96.0.0/12 --node-prefix 8 2>&1) && fail "a bad prefix was accepted"
	assert_contains "$out" "does not fit"
}

test_init_force_refuses_a_config_that_would_move_nodes() {
	cl_router
	cl_etcd
	cl_init
	cl_node n1 1 1
	cl_agent n1
	cl_pod pn1 n1
	local r out
	r=$(cl_range n1)
	out=$(rivetd init --cluster-cidr 198.18.0.0/16 --node-prefix 25 --force 2>&1) &&
		fail "a config that no longer holds n1's ranges was forced in: $out"
	assert_contains "$out" "n1"
	assert_contains "$out" "$r"
	cl_stop n1
	cl_agent n1
	cl_wait 5 grep -q "pid=$(cat "$CL_DIR/n1/pid"): [0-9]* other nodes at revision" "$CL_DIR/n1/rivetd.log"
	assert_eq "$(cl_range n1)" "$r" "n1's range, its pod running"
	# A change every node's ranges survive is taken: a second family.
	out=$(rivetd init --cluster-cidr 198.18.0.0/16,fd5a:7e57:100::/48,10.0.0.0/8 --force 2>&1) && fail "three CIDRs: $out"
	out=$(rivetd init --cluster-cidr 198.18.0.0/15,fd5a:7e57:100::/48 --force 2>&1) || fail "a wider CIDR: $out"
}

# A member cut off from the rest of its cluster (partitioned, without a
# leader) keeps serving a watch through etcd's JSON gateway but sends
# nothing on it: only a watch that asks for a leader (the gateway's
# Grpc-Metadata-hasleader header) is ended. The agent must then watch on
# another member and see a node join.
test_a_watch_on_a_member_cut_off_from_its_cluster_moves_to_another() {
	cl_router
	cl_etcd3
	cl_init
	cl_node n1 1 1
	cl_agent n1
	cl_wait 10 cl_has_conflist n1
	# n1's calls and watch are on e1, its first endpoint. Cut e1 off from
	# its peers, not from its clients.
	ip netns exec "$(cat "$CL_ETCD_1/netns")" nft -f - <<'NFT' || fail "cannot cut e1 off"
table inet rvt_cut {
	chain in { type filter hook input priority 0; tcp dport 2380 drop; tcp sport 2380 drop; }
	chain out { type filter hook output priority 0; tcp dport 2380 drop; tcp sport 2380 drop; }
}
NFT
	cl_node n2 1 2
	CL_ETCD_ENDPOINTS=http://198.19.1.102:2379,http://198.19.1.103:2379 cl_agent n2
	cl_wait 15 cl_has_conflist n2
	cl_wait 30 cl_routed n1 "$(cl_range n2)"
}

test_tls_with_client_certificates() {
	cl_router
	cl_etcd tls
	cl_init
	cl_node n1 1 1
	cl_node n4 2 4
	cl_agent n1
	cl_agent n4
	cl_pod pn1 n1
	cl_pod pn4 n4
	cl_wait 5 cl_routed n1 "$(cl_range n4)"
	cl_whoami_server pn4
	assert_eq "$(cl_whoami pn1 "$(cl_pod_ip pn4)")" "$(cl_pod_ip pn1)" "pn4 reached from pn1 over etcd with TLS"
	local out url
	url=$(etcd_url "$CL_ETCD")
	out=$(ip netns exec "$CL_ROUTER" "$RIVETD" nodes --etcd-endpoints "$url" --prefix "$CL_PREFIX" \
		--etcd-cafile "$CL_ETCD/pki/ca.pem" --etcd-certfile "$CL_ETCD/pki/other-client.pem" \
		--etcd-keyfile "$CL_ETCD/pki/other-client-key.pem" 2>&1) && fail "a certificate of another CA was accepted"
	assert_contains "$out" "other-client.pem"
	out=$(ip netns exec "$CL_ROUTER" "$RIVETD" nodes --etcd-endpoints "$url" --prefix "$CL_PREFIX" \
		--etcd-cafile "$CL_ETCD/pki/ca.pem" 2>&1) && fail "no client certificate was accepted"
	assert_contains "$out" "$url"
	# An agent with the wrong certificate says why, and keeps trying.
	cl_node n5 1 5
	cl_agent n5 --etcd-certfile "$CL_ETCD/pki/other-client.pem" --etcd-keyfile "$CL_ETCD/pki/other-client-key.pem"
	cl_wait 5 grep -q "other-client.pem" "$CL_DIR/n5/rivetd.log"
	cl_has_conflist n5 && fail "an agent refused by etcd wrote a conflist"
	kill -0 "$(cat "$CL_DIR/n5/pid")" || fail "the refused agent exited"
}

test_direct_routes_and_blackholes_come_even_when_the_vxlan_device_cannot() {
	cl_router
	cl_etcd
	cl_init
	cl_node n1 1 1
	cl_node n2 1 2
	# Another device already serves VNI 1 on port 4789: rivet.vxlan cannot be made.
	ip -n "$(cl_ns n1)" link add other.vx type vxlan id 1 dstport 4789 local 198.19.1.1 dev eth0
	cl_agent n1
	cl_agent n2
	cl_wait 5 cl_has_conflist n1
	cl_wait 5 cl_has_conflist n2
	cl_wait 5 cl_routed n1 "$(cl_range n2)"
	cl_wait 5 cl_routed n1 "blackhole $(cl_range n1)"
	cl_wait 5 grep -q "rivet.vxlan" "$CL_DIR/n1/rivetd.log"
	sleep 1
	[ "$(grep -c ' error ' "$CL_DIR/n1/rivetd.log")" -le 1 ] || fail "the failure was logged on every reconcile"
}

test_vxlan_backend_even_on_a_shared_subnet() {
	cl_router
	cl_etcd
	cl_init --backend vxlan
	cl_node n1 1 1
	cl_node n2 1 2
	cl_agent n1
	cl_agent n2
	cl_pod pn1 n1
	cl_pod pn2 n2
	cl_wait 5 cl_routed n1 "$(cl_range n2)"
	assert_contains "$(cl_routes n1 | grep "^$(cl_range n2) ")" "dev rivet.vxlan" "vxlan on a shared subnet"
	cl_whoami_server pn2
	assert_eq "$(cl_whoami pn1 "$(cl_pod_ip pn2)")" "$(cl_pod_ip pn1)" "pn2 over VXLAN"
	assert_eq "$(cl_whoami pn1 "$(cl_pod_ip pn2 6)")" "$(cl_pod_ip pn1 6)" "pn2 over VXLAN, IPv6"
}

run_tests
