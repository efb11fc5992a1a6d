# SPDX-License-Identifier: Apache-2.0
# shellcheck shell=bash
#
# kubelet's own path: kubelet never runs a CNI plugin, it asks the runtime
# over CRI to run a pod sandbox, and containerd's CRI plugin (Debian's 1.6)
# runs rivet through go-cni. criclient/ makes kubelet's calls
# (RunPodSandbox, PodSandboxStatus, StopPodSandbox, RemovePodSandbox) on
# containerd's socket; nothing stands in for kubelet's network handling but
# those calls.
#
# containerd runs in the "cri" sandbox (lib.sh), whose network namespace
# plays the node, from a config.toml of ours: its own root, state, socket,
# CNI bin and conf dirs, and its own /var/run/netns (the sandbox's /run), so
# neither the machine's containerd nor its CNI files are touched. The
# sandbox image is the busybox image of rt_image, sleeping, imported into
# containerd's k8s.io namespace; the pods' cgroups go under our cgroup
# parent. The rivet in the bin dir is wrapped to record what the CRI plugin
# sent and what rivet answered (cri-calls.log).
#
# Facts of containerd 1.6 the configuration and the tests answer:
#   restrict_oom_score_adj  runc cannot lower oom_score_adj without
#                           CAP_SYS_RESOURCE, which a machine's container
#                           may lack; kubelet's pods never lower it anyway
#   a DEL per stop          the first StopPodSandbox sends DEL with the
#                           netns, then removes the netns; every later one,
#                           and RemovePodSandbox (which stops first), sends
#                           DEL again with an empty CNI_NETNS. kubelet stops
#                           a pod at least once before removing it, so a pod
#                           gets three DELs, two of them without a netns:
#                           every one must succeed
#   netns gone              the same empty CNI_NETNS when the netns file is
#                           no longer a mounted namespace (after a reboot)

CRI_PAUSE_IMAGE=localhost/rivet-test-pause:latest
CRI_PY=/usr/bin/python3	# Debian's, which has python3-grpcio; not whatever python3 PATH finds first

cri_dir() { rt_sandbox_dir cri; }

# cri [--api V] COMMAND ARGS...: criclient.py on our containerd's socket.
cri() {
	local api=()
	[ "${1:-}" = --api ] && api=(--api "$2") && shift 2
	"$CRI_PY" "$RT_DIR/criclient/criclient.py" "${api[@]}" "$(cri_dir)/containerd.sock" "$@"
}

cri_containerd_start() {
	local d
	d=$(cri_dir)
	rt_daemon cri "$d/containerd.pid" "$d/containerd.log" containerd --config "$d/config.toml" ||
		cri_broken "cannot start containerd"
	eventually 150 cri version ||
		cri_broken "containerd's CRI does not answer: $(cri version 2>&1 | tail -n 3); containerd's log: $(tail -n 5 "$d/containerd.log")"
}

# The containerd of the sandbox is shared by every CRI test: when setting it
# up fails, the first test says why and the others repeat it, rather than
# start another containerd over the first one's state.
cri_broken() {
	echo "$*" >"$(cri_dir)/cri-broken"
	fail "$*"
}

# As systemd stops it: SIGTERM, and the shims keep the pods running.
cri_containerd_stop() {
	local pid
	pid=$(cat "$(cri_dir)/containerd.pid")
	kill "$pid" 2>/dev/null
	eventually 100 sh -c "! kill -0 $pid" || fail "containerd ($pid) did not stop"
}

cri_ready() {
	local d image
	rt_sandbox cri
	d=$(cri_dir)
	[ -f "$d/cri-ready" ] && return 0
	[ -f "$d/cri-broken" ] && fail "set up failed earlier: $(cat "$d/cri-broken")"
	mkdir -p "$d/net.d" "$d/store" || cri_broken "cannot make containerd's directories"
	rt_bin_dir "$d/bin" "$d/cri-calls.log" || cri_broken "cannot fill the CNI bin dir"
	# rangeStart/rangeEnd: 31 addresses, few enough to fill by hand.
	rt_conflist crinet 1.0.0 "$d/store" \
		'[[{"subnet":"198.18.9.0/24","rangeStart":"198.18.9.10","rangeEnd":"198.18.9.40"}],[{"subnet":"fd5a:7e57:9::/64"}]]' \
		'{"type":"portmap","capabilities":{"portMappings":true}}' >"$d/net.d/10-rivet.conflist" ||
		cri_broken "cannot write the network list"
	cat >"$d/config.toml" <<-EOF
		version = 2
		root = "$d/root"
		state = "$d/state"
		[grpc]
		  address = "$d/containerd.sock"
		[ttrpc]
		  address = "$d/containerd.sock.ttrpc"
		[plugins."io.containerd.internal.v1.opt"]
		  path = "$d/opt"
		[plugins."io.containerd.grpc.v1.cri"]
		  sandbox_image = "$CRI_PAUSE_IMAGE"
		  restrict_oom_score_adj = true
		  disable_tcp_service = true
		  stream_server_address = "127.0.0.1"
		  stream_server_port = "0"
		  [plugins."io.containerd.grpc.v1.cri".containerd]
		    snapshotter = "overlayfs"
		    default_runtime_name = "runc"
		    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
		      runtime_type = "io.containerd.runc.v2"
		  [plugins."io.containerd.grpc.v1.cri".cni]
		    bin_dir = "$d/bin"
		    conf_dir = "$d/net.d"
		    max_conf_num = 1
	EOF
	cri_containerd_start
	image=$(rt_image "$CRI_PAUSE_IMAGE" '["/bin/sleep","2147483647"]') || cri_broken "cannot build the sandbox image"
	in_sandbox cri ctr --address "$d/containerd.sock" --namespace k8s.io images import "$image" \
		>"$d/import.log" 2>&1 || cri_broken "ctr images import: $(cat "$d/import.log")"
	touch "$d/cri-ready"
}

teardown_cri() {
	local id
	for id in $(cri ls | awk '{print $1}'); do
		cri stop "$id"
		cri rm "$id"
	done
	cri_containerd_stop
}

cri_store() { echo "$(cri_dir)/store/crinet"; }

# cri_run NAME: a pod sandbox, stopped and removed when the test ends; sets
# ID (the sandbox's), and IP, IP6, NETNS, PID from its status.
cri_run() {
	local out
	out=$(cri run "$1" "/$RT_CGROUP" 2>&1) || fail "RunPodSandbox $1: $out"
	ID=$out
	_register "cri stop $ID; cri rm $ID"
	cri_status "$ID"
}

cri_status() { # ID: sets IP, IP6, NETNS, PID
	local s
	s=$(cri status "$1") || fail "PodSandboxStatus $1 failed"
	IP=$(jq -r .ip <<<"$s") IP6=$(jq -r '.additionalIPs[0] // ""' <<<"$s")
	NETNS=$(jq -r .netns <<<"$s") PID=$(jq -r .pid <<<"$s")
	STATE=$(jq -r .state <<<"$s")
}

# In the pod's network namespace (path NETNS, inside the sandbox).
in_pod() { # NETNS CMD...
	local ns=$1
	shift
	in_sandbox cri nsenter --net="$ns" -- "$@"
}

node_routes() { in_sandbox cri ip -o route show proto static; in_sandbox cri ip -6 -o route show proto static; }
node_ends() { in_sandbox cri ip -o link show | awk -F': ' '{ sub(/@.*/, "", $2); print $2 }' | grep '^rvt' || true; }
no_node_ends() { [ -z "$(node_ends)" ]; }
pod_netns_files() { in_sandbox cri sh -c 'ls /var/run/netns 2>/dev/null' | grep '^cni-' || true; }

# The reservations held by sandbox ID in the CRI network's store.
cri_reserved() { # ID
	local f store
	store=$(cri_store)
	for f in $(rt_reservations "$store"); do
		[ "$(rt_reserved_by "$store/$f")" = "$1" ] && echo "$f"
	done
}

# Every call containerd made for ID succeeded, and it made at least one DEL.
cri_calls_ok() { # ID
	local calls
	calls=$(grep " $1 " "$(cri_dir)/cri-calls.log")
	assert_contains "$calls" "DEL $1 " "the DELs containerd sent for $1"
	assert_not_contains "$(grep -v 'exit=0$' <<<"$calls")" "$1" "calls for $1 that failed"
}

# Nothing of ID left on the node: no reservation, host end, route or netns.
cri_assert_released() { # ID
	assert_eq "$(cri_reserved "$1")" "" "reservations of $1"
	assert_eq "$(node_ends)" "" "host ends on the node"
	assert_eq "$(node_routes)" "" "the node's routes to pods"
	assert_eq "$(pod_netns_files)" "" "pod network namespaces"
}

cri_assert_attached() { # ID: the status, the store and the kernel agree
	case "$IP" in 198.18.9.*) ;; *) fail "the sandbox's IP '$IP' is not from rivet's range" ;; esac
	case "$IP6" in fd5a:7e57:9:*) ;; *) fail "the sandbox's second IP '$IP6' is not rivet's IPv6 address" ;; esac
	assert_eq "$(cri_reserved "$1" | sort)" "$(printf '%s\n%s\n' "$IP" "$IP6" | sort)" "reservations of $1"
	assert_contains "$(in_pod "$NETNS" ip -4 -o addr show eth0)" "inet $IP/32" "the pod's eth0"
	assert_contains "$(in_pod "$NETNS" ip -6 -o addr show eth0)" "inet6 $IP6/128" "the pod's eth0"
	assert_contains "$(in_sandbox cri ip -o route show "$IP/32")" "dev rvt" "the node's route to the pod"
}

test_cri_five_pods_started_at_once_get_distinct_addresses_and_reach_each_other() {
	local d i pids=() bad=0 ids=() ips=() netns=() j
	cri_ready
	d=$(cri_dir)
	for i in 1 2 3 4 5; do
		cri run "five$i" "/$RT_CGROUP" >"$d/five$i.id" 2>&1 &
		pids+=($!)
	done
	for i in 1 2 3 4 5; do
		wait "${pids[$((i - 1))]}" || bad=$((bad + 1))
		ids+=("$(cat "$d/five$i.id")")
		_register "cri stop ${ids[$((i - 1))]}; cri rm ${ids[$((i - 1))]}"
	done
	[ "$bad" = 0 ] || fail "$bad of 5 RunPodSandbox calls failed: $(cat "$d"/five*.id)"
	for i in 0 1 2 3 4; do
		cri_status "${ids[$i]}"
		cri_assert_attached "${ids[$i]}"
		ips+=("$IP") netns+=("$NETNS")
	done
	assert_eq "$(printf '%s\n' "${ips[@]}" | sort -u | wc -l)" 5 "distinct addresses among ${ips[*]}"
	for i in 0 1 2 3 4; do
		j=$(((i + 1) % 5))
		in_pod "${netns[$i]}" ping -c1 -W2 "${ips[$j]}" >/dev/null ||
			fail "pod $((i + 1)) cannot reach pod $((j + 1)) at ${ips[$j]}"
	done
	in_pod "${netns[0]}" ping -c1 -W2 "$NODE4" >/dev/null || fail "pod 1 cannot reach the node"
}

test_cri_dual_stack_pod_status_reports_both_addresses() {
	cri_ready
	cri_run dual
	assert_eq "$STATE" ready "the sandbox's state"
	cri_assert_attached "$ID"
	in_pod "$NETNS" ping -6 -c1 -W2 "$NODE6" >/dev/null || fail "the pod cannot reach the node over IPv6"
	in_sandbox cri ping -6 -c1 -W2 "$IP6" >/dev/null || fail "the node cannot reach the pod at $IP6"
}

test_cri_stop_and_remove_release_everything_and_a_second_stop_succeeds() {
	local out
	cri_ready
	cri_run gone
	cri_assert_attached "$ID"
	out=$(cri stop "$ID" 2>&1) || fail "StopPodSandbox: $out"
	cri_assert_released "$ID"
	out=$(cri stop "$ID" 2>&1) || fail "a second StopPodSandbox: $out"
	out=$(cri rm "$ID" 2>&1) || fail "RemovePodSandbox: $out"
	assert_not_contains "$(cri ls)" "$ID" "the runtime's sandboxes"
	cri_assert_released "$ID"
	cri_calls_ok "$ID"
	assert_contains "$(grep " $ID " "$(cri_dir)/cri-calls.log")" "DEL $ID <empty>" "a DEL with an empty CNI_NETNS"
}

# The range is full (a runtime's commonest failure): RunPodSandbox fails
# with rivet's own words, and containerd's undo leaves nothing behind.
test_cri_failed_add_is_an_error_with_rivets_message_and_leaves_nothing() {
	local store i f out
	cri_ready
	store=$(cri_store)
	mkdir -p "$store"
	for i in $(seq 10 40); do
		[ -e "$store/198.18.9.$i" ] && continue
		printf 'someone-else\r\neth0' >"$store/198.18.9.$i"
		_register "rm -f $store/198.18.9.$i"
	done
	if out=$(cri run full "/$RT_CGROUP" 2>&1); then
		_register "cri stop $out; cri rm $out"
		fail "RunPodSandbox succeeded on a full range (sandbox $out)"
	fi
	assert_contains "$out" "no IP addresses available in range set" "RunPodSandbox's error"
	assert_not_contains "$(cri ls)" " full " "the runtime's sandboxes"
	assert_eq "$(for f in $(rt_reservations "$store" v4); do rt_reserved_by "$store/$f"; done | sort -u)" \
		someone-else "holders of the IPv4 reservations"
	assert_eq "$(rt_reservations "$store" v6)" "" "IPv6 reservations"
	assert_eq "$(node_ends)" "" "host ends on the node"
	assert_eq "$(node_routes)" "" "the node's routes to pods"
	assert_eq "$(pod_netns_files)" "" "pod network namespaces"
}

test_cri_containerd_restarted_under_a_running_pod_then_stop_cleans_up() {
	local out ip old
	cri_ready
	cri_run survivor
	cri_assert_attached "$ID"
	ip=$IP old=$(cat "$(cri_dir)/containerd.pid")
	cri_containerd_stop
	cri version >/dev/null 2>&1 && fail "something still answers on containerd's socket"
	cri_containerd_start
	[ "$(cat "$(cri_dir)/containerd.pid")" != "$old" ] || fail "containerd was not restarted"
	cri_status "$ID"
	assert_eq "$IP" "$ip" "the address the restarted containerd reports"
	in_sandbox cri ping -c1 -W2 "$IP" >/dev/null || fail "the pod is unreachable after the restart"
	out=$(cri stop "$ID" 2>&1) || fail "StopPodSandbox after the restart: $out"
	cri_assert_released "$ID"
	out=$(cri rm "$ID" 2>&1) || fail "RemovePodSandbox: $out"
	cri_calls_ok "$ID"
}

# As after a reboot: the pod's network namespace, its veth and the node's
# routes are gone, the reservation is on disk; StopPodSandbox must succeed
# and release it.
test_cri_pod_whose_netns_vanished_stops_cleanly() {
	local out
	cri_ready
	cri_run rebooted
	cri_assert_attached "$ID"
	# shellcheck disable=SC2016 # $1 is the inner shell's
	in_sandbox cri sh -c 'umount "$1" && rm -f "$1"' sh "$NETNS" || fail "cannot remove $NETNS"
	kill -KILL "$PID" || fail "cannot kill the sandbox's task $PID"
	eventually 100 no_node_ends || fail "the host end outlived the pod's netns: $(node_ends)"
	out=$(cri stop "$ID" 2>&1) || fail "StopPodSandbox: $out"
	cri_assert_released "$ID"
	out=$(cri rm "$ID" 2>&1) || fail "RemovePodSandbox: $out"
	cri_calls_ok "$ID"
}

# kubelet before 1.26 speaks runtime.v1alpha2, which containerd 1.6 serves
# too: the same pod, the same cleanup.
test_cri_v1alpha2_run_status_stop_remove() {
	local out s
	cri_ready
	out=$(cri --api v1alpha2 run old "/$RT_CGROUP" 2>&1) || fail "v1alpha2 RunPodSandbox: $out"
	ID=$out
	_register "cri stop $ID; cri rm $ID"
	s=$(cri --api v1alpha2 status "$ID") || fail "v1alpha2 PodSandboxStatus failed"
	IP=$(jq -r .ip <<<"$s") IP6=$(jq -r '.additionalIPs[0] // ""' <<<"$s") NETNS=$(jq -r .netns <<<"$s")
	cri_assert_attached "$ID"
	out=$(cri --api v1alpha2 stop "$ID" 2>&1) || fail "v1alpha2 StopPodSandbox: $out"
	out=$(cri --api v1alpha2 rm "$ID" 2>&1) || fail "v1alpha2 RemovePodSandbox: $out"
	cri_assert_released "$ID"
	cri_calls_ok "$ID"
}
