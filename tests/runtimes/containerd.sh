# SPDX-License-Identifier: Apache-2.0
# shellcheck shell=bash
#
# containerd (Debian's 1.6) and `ctr run --cni`, which sets pods up through
# go-cni and libcni, the path kubelet's CRI takes. containerd runs in the
# "containerd" sandbox (lib.sh) from a config.toml of ours, with its own
# socket, root and state directories; ctr runs there too, since go-cni runs
# the plugins in ctr's network namespace, which therefore plays the node.
#
# ctr 1.6 reads only /etc/cni/net.d (the first network list there) and
# /opt/cni/bin: in the sandbox's mount namespace our directories are bind
# mounted over those two paths, so the machine's own are never seen or
# changed. ctr sends DEL only for attached runs, when the task has exited,
# and then with an empty CNI_NETNS. The rivet in the bin dir is wrapped to
# record what ctr sent (cni-calls.log).

ct_dir() { rt_sandbox_dir containerd; }

ct() {
	local d
	d=$(ct_dir)
	in_sandbox containerd timeout 120 ctr --address "$d/containerd.sock" --namespace "$RT_CGROUP" "$@"
}

# The tasks' cgroups are /<namespace>/<id> with the cgroupfs driver, so the
# namespace is named after our cgroup parent, which teardown removes.
ct_ready() {
	local d image
	rt_sandbox containerd
	d=$(ct_dir)
	[ -f "$d/containerd-ready" ] && return 0
	mkdir -p "$d/net.d" "$d/store" || fail "cannot make containerd's directories"
	rt_bin_dir "$d/bin" "$d/cni-calls.log" || fail "cannot fill the CNI bin dir"
	ct_network 1.0.0
	in_sandbox containerd sh -euc '
		mkdir -p /etc/cni/net.d /opt/cni/bin
		mount --bind "$1/net.d" /etc/cni/net.d
		mount --bind "$1/bin" /opt/cni/bin
	' sh "$d" || fail "cannot mount the CNI directories in the sandbox"
	cat >"$d/config.toml" <<-EOF
		version = 2
		root = "$d/root"
		state = "$d/state"
		# The CRI plugin would look for its own CNI setup; ctr does not need it.
		disabled_plugins = ["io.containerd.grpc.v1.cri"]
		[grpc]
		  address = "$d/containerd.sock"
		[ttrpc]
		  address = "$d/containerd.sock.ttrpc"
		[plugins."io.containerd.internal.v1.opt"]
		  path = "$d/opt"
	EOF
	rt_daemon containerd "$d/containerd.pid" "$d/containerd.log" containerd --config "$d/config.toml" ||
		fail "cannot start containerd"
	eventually 100 ct version || fail "containerd did not start: $(tail -n 5 "$d/containerd.log")"
	image=$(rt_image) || fail "cannot build the busybox image"
	ct images import "$image" >"$d/import.log" 2>&1 || fail "ctr images import: $(cat "$d/import.log")"
	touch "$d/containerd-ready"
}

# ct_network VERSION: the one network list ctr reads, at cniVersion VERSION
# (ctr reads it afresh on every run); sets STORE.
ct_network() {
	local d
	d=$(ct_dir)
	rt_conflist ctrnet "$1" "$d/store" '[[{"subnet":"198.18.8.0/24"}],[{"subnet":"fd5a:7e57:8::/64"}]]' \
		'{"type":"portmap","capabilities":{"portMappings":true}}' >"$d/net.d/10-rivet.conflist" ||
		fail "cannot write the network list"
	STORE=$d/store/ctrnet
}

teardown_containerd() {
	local t
	for t in $(ct task ls -q); do
		ct task kill -s KILL "$t"
	done
	kill "$(cat "$(ct_dir)/containerd.pid")"
}

# The reservation (address) a container ID holds in STORE, v4 unless $2=v6.
ct_reserved() {
	local f
	for f in $(rt_reservations "$STORE" "${2:-v4}"); do
		[ "$(rt_reserved_by "$STORE/$f")" = "$1" ] && echo "$f"
	done
}

ct_holds() { [ -n "$(ct_reserved "$1")" ]; }

test_containerd_ctr_run_cni_gives_the_task_rivets_address() {
	local d id ip ip6 srv
	ct_ready
	d=$(ct_dir)
	ct_network 1.0.0
	id=$RT_CGROUP-web	# go-cni's container ID: namespace-id
	_register "ct task kill -s KILL web; sleep 0.2; ct task delete web; ct container delete web"
	ct run -d --cni "$RT_IMAGE_NAME" web httpd -f -p 80 -h /www >/dev/null || fail "ctr run --cni failed"
	ip=$(ct_reserved "$id") ip6=$(ct_reserved "$id" v6)
	case "$ip" in 198.18.8.*) ;; *) fail "no reservation for $id: $(rt_reservations "$STORE")" ;; esac
	case "$ip6" in fd5a:7e57:8:*) ;; *) fail "no IPv6 reservation for $id" ;; esac
	assert_contains "$(ct task exec --exec-id a1 web ip -4 addr show eth0)" "inet $ip/32" "the task's eth0"
	assert_contains "$(ct task exec --exec-id a2 web ip -6 addr show eth0)" "inet6 $ip6/128" "the task's eth0"
	assert_contains "$(in_sandbox containerd ip -o route show "$ip/32")" "dev rvt" "the node's route to the task"
	assert_contains "$(cat "$d/cni-calls.log")" "ADD $id /proc/" "what ctr sent"

	# The node reaches the task, the task reaches a server on the node.
	eventually 30 ct task exec --exec-id a3 web sh -c 'netstat -ltn | grep -q ":80 "' ||
		fail "the task's httpd does not listen"
	assert_eq "$(in_sandbox containerd timeout 5 busybox wget -qO- "http://$ip/token")" "$RT_TOKEN" "the node's GET from the task"
	in_sandbox containerd ping -c1 -W2 "$ip6" >/dev/null || fail "the node cannot ping $ip6"
	mkdir -p "$d/www" && echo "$RT_TOKEN" >"$d/www/token"
	in_sandbox containerd busybox httpd -f -p "$NODE4:8080" -h "$d/www" &
	srv=$!
	_register "kill $srv"
	eventually 30 in_sandbox containerd sh -c "ss -ltn | grep -q '$NODE4:8080 '" || fail "the node's httpd does not listen"
	assert_eq "$(ct task exec --exec-id a4 web timeout 5 wget -qO- "http://$NODE4:8080/token")" "$RT_TOKEN" \
		"the task's GET from the node"
}

ct_attached_rm_run() { # VERSION
	local d name id ip ip6 run rc
	ct_ready
	d=$(ct_dir)
	ct_network "$1"
	name=once${1//./}
	id=$RT_CGROUP-$name
	ct run --rm --cni "$RT_IMAGE_NAME" "$name" sh -c 'ip -4 -o addr show eth0; sleep 2' \
		</dev/null >"$d/once.out" 2>&1 &
	run=$!
	_register "kill $run; ct task kill -s KILL $name"
	# The reservation is made before the veth and the routes: wait for the
	# whole ADD to have answered (the wrapper logs it then), not for it.
	eventually 100 grep -q "^ADD $id .* exit=" "$d/cni-calls.log" ||
		fail "no ADD for $id while the task runs: $(cat "$d/once.out")"
	ct_holds "$id" || fail "no reservation for $id while the task runs: $(grep "^ADD $id " "$d/cni-calls.log")"
	ip=$(ct_reserved "$id") ip6=$(ct_reserved "$id" v6)
	assert_contains "$(in_sandbox containerd ip -o route show "$ip/32")" "dev rvt" "the node's route to the task"

	wait "$run"
	rc=$?
	assert_eq "$rc" 0 "ctr run's exit status ($(cat "$d/once.out"))"
	assert_contains "$(cat "$d/once.out")" "inet $ip/32" "the address the task saw"
	assert_eq "$(ct_reserved "$id")$(ct_reserved "$id" v6)" "" "reservations of $id after the task exited"
	assert_eq "$(in_sandbox containerd ip -o route show "$ip/32")" "" "the node's route to $ip"
	assert_eq "$(in_sandbox containerd ip -6 -o route show "$ip6/128")" "" "the node's route to $ip6"
	assert_contains "$(cat "$d/cni-calls.log")" "DEL $id <empty>" "ctr's DEL"
}

for _v in 0.3.1 0.4.0 1.0.0; do
	eval "test_containerd_${_v//./_}_attached_rm_run_releases_the_address_when_the_task_exits() { ct_attached_rm_run $_v; }"
done
unset _v
