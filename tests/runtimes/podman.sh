# SPDX-License-Identifier: Apache-2.0
# shellcheck shell=bash
#
# podman (Debian's 4.3) with its CNI network backend, configured only
# through files of ours: CONTAINERS_CONF and CONTAINERS_STORAGE_CONF point at
# a containers.conf and a storage.conf in the sandbox's directory, so the
# machine's /etc/containers and podman state are never read or written.
# podman, conmon and the containers run in the "podman" sandbox (lib.sh): its
# network namespace plays the node, so rivet's host ends, /32 routes and
# ip_forward land there and not in the machine's root namespace.
#
# Debian 12 specifics the configuration answers:
#   runtime = "runc"            crun refuses cgroup layouts like this one
#   cgroup_manager = "cgroupfs" no systemd to ask; containers go under a
#                               cgroup parent of our own (--cgroup-parent)
#   default_ulimits             podman's defaults (nproc 4194304, nofile
#                               1048576) are above what an unprivileged
#                               setrlimit may set on some machines
#   pids_limit = 0              no pids cgroup limit to write

pm_dir() { rt_sandbox_dir podman; }

# podman with our configuration, inside the sandbox (bounded: CI must not hang).
pm() {
	local d
	d=$(pm_dir)
	in_sandbox podman timeout 120 env CONTAINERS_CONF="$d/containers.conf" CONTAINERS_STORAGE_CONF="$d/storage.conf" \
		podman "$@"
}

# Make the sandbox, the configuration and the image, once for all tests.
pm_ready() {
	local d image
	rt_sandbox podman
	d=$(pm_dir)
	[ -f "$d/podman-ready" ] && return 0
	mkdir -p "$d/net.d" "$d/store" "$d/libpod" || fail "cannot make podman's directories"
	rt_bin_dir "$d/bin" || fail "cannot fill podman's CNI bin dir"
	cat >"$d/containers.conf" <<-EOF
		[containers]
		default_capabilities = ["CHOWN", "DAC_OVERRIDE", "FOWNER", "FSETID", "KILL", "NET_BIND_SERVICE",
		  "SETFCAP", "SETGID", "SETPCAP", "SETUID", "SYS_CHROOT", "NET_RAW"]
		default_ulimits = ["nofile=1024:1024", "nproc=1024:1024"]
		pids_limit = 0
		log_driver = "k8s-file"

		[network]
		network_backend = "cni"
		cni_plugin_dirs = ["$d/bin"]
		network_config_dir = "$d/net.d"

		[engine]
		runtime = "runc"
		cgroup_manager = "cgroupfs"
		events_logger = "file"
		events_logfile_path = "$d/events.log"
		tmp_dir = "$d/libpod"
		volume_path = "$d/volumes"
	EOF
	cat >"$d/storage.conf" <<-EOF
		[storage]
		driver = "overlay"
		runroot = "$d/runroot"
		graphroot = "$d/graphroot"
	EOF
	image=$(rt_image) || fail "cannot build the busybox image"
	pm load -q -i "$image" >"$d/load.log" 2>&1 || fail "podman load: $(cat "$d/load.log")"
	touch "$d/podman-ready"
}

teardown_podman() { pm rm -a -f -t 0; }

# pm_network NAME SUBNET4 SUBNET6: a rivet network list (with portmap) in
# podman's network_config_dir, removed when the test ends; sets STORE.
pm_network() {
	local d
	d=$(pm_dir)
	rt_conflist "$1" 1.0.0 "$d/store" "[[{\"subnet\":\"$2\"}],[{\"subnet\":\"$3\"}]]" \
		'{"type":"portmap","capabilities":{"portMappings":true}}' >"$d/net.d/$1.conflist" ||
		fail "cannot write network $1"
	_register "rm -f $d/net.d/$1.conflist"
	STORE=$d/store/$1
}

# pm_run NETWORK NAME [podman run options...] -- CMD...: a detached container,
# removed when the test ends.
pm_run() {
	local net=$1 name=$2 opts=()
	shift 2
	while [ $# -gt 0 ] && [ "$1" != -- ]; do
		opts+=("$1")
		shift
	done
	shift
	_register "pm rm -f -t 0 $name"
	pm run -d --pull never --cgroup-parent "/$RT_CGROUP" --network "$net" --name "$name" "${opts[@]}" \
		"$RT_IMAGE_NAME" "$@" >/dev/null || fail "podman run $name failed"
}

pm_ip() { pm inspect -f "{{(index .NetworkSettings.Networks \"$2\").IPAddress}}" "$1"; }
pm_ip6() { pm inspect -f "{{(index .NetworkSettings.Networks \"$2\").GlobalIPv6Address}}" "$1"; }
pm_id() { pm inspect -f '{{.Id}}' "$1"; }

# The node's side of a container at IP: a /32 route through a rivet veth.
pm_host_route() { in_sandbox podman ip -o route show "$1/32"; }

test_podman_containers_get_rivet_addresses_and_reach_each_other_and_the_node() {
	local d ip1 ip2 ip6 id1 srv got
	pm_ready
	d=$(pm_dir)
	pm_network pmnet 198.18.2.0/24 fd5a:7e57:2::/64
	pm_run pmnet web -p 18080:80 -- httpd -f -p 80 -h /www
	pm_run pmnet client -- sleep 600
	eventually 30 pm exec web sh -c 'netstat -ltn | grep -q ":80 "' || fail "web's httpd does not listen"

	ip1=$(pm_ip web pmnet) ip2=$(pm_ip client pmnet) ip6=$(pm_ip6 web pmnet) id1=$(pm_id web)
	case "$ip1" in 198.18.2.*) ;; *) fail "web's address '$ip1' is not from rivet's range" ;; esac
	case "$ip2" in 198.18.2.*) ;; *) fail "client's address '$ip2' is not from rivet's range" ;; esac
	case "$ip6" in fd5a:7e57:2::*) ;; *) fail "web's IPv6 address '$ip6' is not from rivet's range" ;; esac
	[ "$ip1" != "$ip2" ] || fail "both containers got $ip1"
	assert_contains "$(pm exec web ip -4 addr show eth0)" "inet $ip1/32" "web's eth0"
	assert_contains "$(pm exec web ip -6 addr show eth0)" "inet6 $ip6/128" "web's eth0"
	assert_contains "$(pm exec web ip route)" "default via 169.254.1.1 dev eth0" "web's default route"
	assert_eq "$(rt_reserved_by "$STORE/$ip1")" "$id1" "container ID in the reservation of $ip1"
	assert_contains "$(pm_host_route "$ip1")" "dev rvt" "the node's route to web"

	# Container to container, both families, ICMP and TCP.
	pm exec client ping -c1 -W2 "$ip1" >/dev/null || fail "client cannot ping web at $ip1"
	pm exec client ping -c1 -W2 "$ip6" >/dev/null || fail "client cannot ping web at $ip6"
	assert_eq "$(pm exec client timeout 5 wget -qO- "http://$ip1/token")" "$RT_TOKEN" "client's GET from web"

	# Container to a server on the node, and the node to a container.
	mkdir -p "$d/www" && echo "$RT_TOKEN" >"$d/www/token"
	in_sandbox podman busybox httpd -f -p "$NODE4:8080" -h "$d/www" &
	srv=$!
	_register "kill $srv"
	eventually 30 in_sandbox podman sh -c "ss -ltn | grep -q '$NODE4:8080 '" || fail "the node's httpd does not listen"
	assert_eq "$(pm exec client timeout 5 wget -qO- "http://$NODE4:8080/token")" "$RT_TOKEN" "client's GET from the node"
	got=$(in_sandbox podman timeout 5 busybox wget -qO- "http://$ip1/token")
	assert_eq "$got" "$RT_TOKEN" "the node's GET from web"
	# podman's -p, through portmap chained after rivet.
	got=$(in_sandbox podman timeout 5 busybox wget -qO- "http://$NODE4:18080/token")
	assert_eq "$got" "$RT_TOKEN" "a GET through web's published port"
}

test_podman_rm_releases_the_address() {
	local ip ip6 hostif
	pm_ready
	pm_network pmrm 198.18.3.0/24 fd5a:7e57:3::/64
	pm_run pmrm gone -- sleep 600
	ip=$(pm_ip gone pmrm) ip6=$(pm_ip6 gone pmrm)
	case "$ip" in 198.18.3.*) ;; *) fail "the container's address '$ip' is not from rivet's range" ;; esac
	[ -f "$STORE/$ip" ] || fail "no reservation for $ip: $(rt_reservations "$STORE")"
	hostif=$(pm_host_route "$ip" | awk '{print $3}')
	case "$hostif" in rvt?*) ;; *) fail "no route to $ip through a rivet veth" ;; esac

	pm rm -f -t 0 gone >/dev/null || fail "podman rm -f failed"
	assert_eq "$(rt_reservations "$STORE")" "" "reservations after podman rm -f"
	assert_eq "$(pm_host_route "$ip")" "" "the node's route to $ip after podman rm -f"
	assert_eq "$(in_sandbox podman ip -6 -o route show "$ip6/128")" "" "the node's route to $ip6"
	assert_eq "$(in_sandbox podman ip -o link show "$hostif" 2>/dev/null)" "" "the host end $hostif"
}

test_podman_twenty_containers_at_once_get_twenty_addresses() {
	local i pids=() names=() ips n bad=0
	pm_ready
	pm_network pm20 198.18.4.0/24 fd5a:7e57:4::/64
	for i in $(seq 20); do
		names+=("many$i")
		_register "pm rm -f -t 0 many$i"
		pm run -d --pull never --cgroup-parent "/$RT_CGROUP" --network pm20 --name "many$i" \
			"$RT_IMAGE_NAME" sleep 600 >/dev/null 2>"$(pm_dir)/many$i.err" &
		pids+=($!)
	done
	for i in "${pids[@]}"; do
		wait "$i" || bad=$((bad + 1))
	done
	[ "$bad" = 0 ] || fail "$bad of 20 podman runs failed: $(cat "$(pm_dir)"/many*.err | sort | uniq -c | head -5)"

	ips=$(for i in $(seq 20); do pm_ip "many$i" pm20; done | sort)
	n=$(echo "$ips" | grep -c '^198\.18\.4\.')
	assert_eq "$n" 20 "containers with an address from rivet's range"
	assert_eq "$(echo "$ips" | sort -u | wc -l)" 20 "distinct addresses"
	assert_eq "$(rt_reservations "$STORE" v4)" "$ips" "IPv4 reservations"
	assert_eq "$(rt_reservations "$STORE" v6 | wc -l)" 20 "IPv6 reservations"
	for i in 1 20; do
		pm exec many1 ping -c1 -W2 "$(pm_ip "many$i" pm20)" >/dev/null || fail "many1 cannot reach many$i"
	done

	pm rm -f -t 0 "${names[@]}" >/dev/null || fail "podman rm -f failed"
	assert_eq "$(rt_reservations "$STORE")" "" "reservations after removing all 20"
	assert_eq "$(in_sandbox podman ip -o route show proto static)" "" "the node's routes after removing all 20"
}

# podman run --ip and --mac-address: podman 4.3 passes both in CNI_ARGS
# ("IgnoreUnknown=1;K8S_POD_NAME=…;IP=…;MAC=…"), as the bridge and tuning
# plugins read them.
test_podman_static_ip_and_mac_address() {
	local ip
	pm_ready
	pm_network pmstatic 198.18.7.0/24 fd5a:7e57:7::/64
	pm_run pmstatic fixed --ip 198.18.7.77 --mac-address 02:5a:7e:57:00:77 -- sleep 600
	ip=$(pm_ip fixed pmstatic)
	assert_eq "$ip" 198.18.7.77 "the address asked for with --ip"
	assert_contains "$(pm exec fixed ip -4 addr show eth0)" "inet 198.18.7.77/32" "the container's eth0"
	assert_eq "$(rt_reserved_by "$STORE/198.18.7.77")" "$(pm_id fixed)" "container ID in the reservation"

	assert_contains "$(pm exec fixed ip link show eth0)" "link/ether 02:5a:7e:57:00:77" "the MAC asked for with --mac-address"
}

# The node image conf/daemonset.yaml runs, built as the Containerfile says:
# from this checkout's files only (podman build --pull=never in a sandbox
# whose network namespace reaches nothing), then run as the DaemonSet runs
# it: its installer writes the binary and a conflist into the node's
# directories (mounted as the manifest mounts them), and the operator
# commands work in it against the mounted store.
test_podman_the_node_image_builds_offline_and_installs_rivet() {
	local d img=localhost/rivet-node:test out
	pm_ready
	d=$(pm_dir)/node-image
	rm -rf "$d" && mkdir -p "$d/bin" "$d/net.d" "$d/ipam"
	(cd "$RT_ROOT" && scripts/image-rootfs.sh "$RIVET" "$d/context") >"$d/rootfs.log" 2>&1 ||
		fail "scripts/image-rootfs.sh: $(cat "$d/rootfs.log")"
	_register "pm rmi -f $img"
	pm build --pull=never --network=none -f "$RT_ROOT/Containerfile" -t "$img" "$d/context" >"$d/build.log" 2>&1 ||
		fail "podman build: $(tail -n 20 "$d/build.log")"
	assert_eq "$(pm image inspect -f '{{json .Config.Cmd}}' "$img")" '["/opt/rivet/install-cni.sh"]' "the image's command"

	# The DaemonSet's run: its command is the image's installer.
	out=$(pm run --rm --pull never --cgroup-parent "/$RT_CGROUP" --network none \
		-v "$d/bin:/host/opt/cni/bin" -v "$d/net.d:/host/etc/cni/net.d" \
		-e RIVET_POD_CIDRS=198.18.9.0/24,fd5a:7e57:9::/64 -e RIVET_IPMASQ_EXCLUDE=198.18.0.0/15,fd5a:7e57::/32 \
		"$img" /opt/rivet/install-cni.sh 2>&1) || fail "the image's installer failed: $out"
	assert_contains "$out" "wrote /host/etc/cni/net.d/10-rivet.conflist"
	cmp -s "$RIVET" "$d/bin/rivet" || fail "the installed binary is not the one built"
	OUT=$("$RIVET" validate --cluster "$d/net.d/10-rivet.conflist" 2>&1) ||
		fail "rivet validate refuses the image's conflist: $OUT"
	OUT=$(cat "$d/net.d/10-rivet.conflist")
	assert_json '[.plugins[0].ipam.ranges[][].subnet] | join(",")' "198.18.9.0/24,fd5a:7e57:9::/64"

	# A range rivet refuses is refused by the image's installer, with
	# rivet's own words: the binary runs in the image.
	out=$(pm run --rm --pull never --cgroup-parent "/$RT_CGROUP" --network none \
		-v "$d/bin:/host/opt/cni/bin" -v "$d/net.d:/host/etc/cni/net.d" \
		-e RIVET_POD_CIDRS=198.18.9.5/24 -e RIVET_IPMASQ=false "$img" 2>&1) &&
		fail "the image's installer accepted 198.18.9.5/24: $out"
	assert_contains "$out" "has host bits set"

	# rivetd, in the image, with every library it loads (conf/daemonset.yaml's
	# rivetd container).
	out=$(pm run --rm --pull never --cgroup-parent "/$RT_CGROUP" --network none "$img" \
		/opt/rivet/bin/rivetd run --help 2>&1) || fail "rivetd does not run in the image: $out"
	assert_contains "$out" "--etcd-endpoints"

	# The operator commands, in the image, against the store as mounted.
	out=$(pm run --rm --pull never --cgroup-parent "/$RT_CGROUP" --network none \
		-v "$d/ipam:/var/lib/cni/networks" "$img" /opt/rivet/bin/rivet list rivet --json 2>&1) ||
		fail "rivet list in the image failed: $out"
	assert_contains "$out" '"reservations":[]'
}
