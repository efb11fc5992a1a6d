#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# The operators' kit: what a node's operator installs, runs and reads.
#
#   conf/install-cni.sh   copies the binary and writes the conflist by temp
#                         file + rename (never in place: proven with strace,
#                         a running binary and a reader holding the old
#                         file), templates them from RIVET_* variables (and
#                         the Node's spec.podCIDRs from a stand-in API
#                         server), rewrites nothing that would not change,
#                         refuses bad values, and runs under busybox alone
#   conf/daemonset-podcidr.yaml  parses as YAML and carries the fields a node
#                         needs; its settings pass the installer
#   conf/daemonset.yaml   cluster mode: rivetd with its flags, directories,
#                         NET_ADMIN and etcd's TLS files from a Secret, the
#                         installer copying only the binary
#   rivet list / repair   against a store holding live and dead attachments
#                         of rivet, of rivet delegating to the reference
#                         host-local, and of Debian's ptp + host-local; JSON
#                         read with jq; --dry-run changes nothing; repair
#                         releases exactly the dead ones
#   debian/               builds from a copy of the tree, lintian has no
#                         errors, installs into /usr/lib/cni, answers
#                         VERSION, and is removed again (even on failure)
#
# Everything runs in throwaway namespaces and temporary directories, except
# the package round trip, whose point is the machine's /usr/lib/cni.
. "$(dirname "$0")/../lib.sh"

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
INSTALL_CNI=$ROOT/conf/install-cni.sh
MANIFEST=$ROOT/conf/daemonset-podcidr.yaml
CLUSTER_MANIFEST=$ROOT/conf/daemonset.yaml
RIVETD=${RIVETD:-$ROOT/build/rivetd}
PY=/usr/bin/python3	# Debian's, which python3-yaml belongs to

if ! "$ROOT/scripts/apt-install.sh" debhelper devscripts lintian dpkg-dev python3-yaml jq strace \
	busybox-static containernetworking-plugins curl; then
	echo "$(basename "$0"): 0 passed, 1 failed"
	exit 1
fi
if [ ! -x "$RIVET" ]; then
	echo "no rivet binary at $RIVET (run make first)" >&2
	echo "$(basename "$0"): 0 passed, 1 failed"
	exit 1
fi

# The cluster these tests install nodes of: its pod CIDRs, which the
# installer wants kept from masquerade (every node's range is inside).
export RIVET_IPMASQ_EXCLUDE="198.18.0.0/15 fd5a:7e57::/32"

# --- helpers ------------------------------------------------------------------

# install_cni ENV... : run the installer against $bin and $conf (set by the
# test) with the built binary; sets $OUT (stderr) and $RC.
install_cni() {
	OUT=$(env RIVET_BINARY="$RIVET" CNI_BIN_DIR="$bin" CNI_CONF_DIR="$conf" "$@" \
		sh "$INSTALL_CNI" 2>&1)
	RC=$?
}

# What identifies a file's version on disk: inode, size and mtime to the ns.
file_id() { stat -c '%i %s %.9Y' "$1"; }

# The store's whole state: every name, size, mtime and content hash.
snapshot() {
	(cd "$1" && find . -printf '%p %y %s %T@\n' | sort &&
		find . -type f -exec sha256sum {} + | sort)
}

conflist() { cat "$conf/10-rivet.conflist"; }

# The netns of a deleted pod is torn down by the kernel asynchronously; wait
# until the host netns $1 holds $2 veth links.
wait_veths() {
	local i n
	for i in $(seq 50); do
		n=$(ip -n "$1" -o link show type veth | wc -l)
		[ "$n" = "$2" ] && return 0
		sleep 0.1
	done
	fail "host has $n veth links, want $2: $(ip -n "$1" -o link show type veth)"
}

# ptp HOST POD ID CONF: Debian's reference ptp, as a runtime would run it.
ptp_add() {
	OUT=$(printf '%s' "$4" | ip netns exec "$1" env CNI_COMMAND=ADD CNI_CONTAINERID="$3" \
		CNI_NETNS=/run/netns/"$2" CNI_IFNAME=eth0 CNI_PATH=/usr/lib/cni /usr/lib/cni/ptp 2>&1)
	RC=$?
	assert_rc 0
}

admin() { # admin HOST ARGS...: rivet run by hand on the node
	local host=$1
	shift
	OUT=$(ip netns exec "$host" "$RIVET" "$@" 2>"$ERRF")
	RC=$?
}

# --- the installer --------------------------------------------------------------

test_install_writes_binary_and_conflist_by_rename() {
	local dir bin conf log old_conf
	mk_dir dir
	bin=$dir/bin conf=$dir/net.d log=$dir/strace
	mkdir -p "$bin" "$conf"
	# A conflist from before, held open by a "runtime" that is reading it.
	printf '{"old": true}\n' >"$conf/10-rivet.conflist"
	exec 3<"$conf/10-rivet.conflist"
	old_conf=$(file_id "$conf/10-rivet.conflist")

	OUT=$(env RIVET_BINARY="$RIVET" CNI_BIN_DIR="$bin" CNI_CONF_DIR="$conf" RIVET_POD_CIDR=198.18.0.0/24 \
		strace -f -qq -e trace=open,openat,creat,truncate,rename,renameat,renameat2 -o "$log" \
		sh "$INSTALL_CNI" 2>&1)
	RC=$?
	assert_rc 0
	cmp -s "$RIVET" "$bin/rivet" || fail "installed binary differs from $RIVET"
	assert_eq "$(stat -c %a "$bin/rivet")" 755 "binary mode"
	assert_eq "$(stat -c %a "$conf/10-rivet.conflist")" 644 "conflist mode"

	# Neither destination is ever opened for writing or truncated ...
	if grep -E "\"($bin/rivet|$conf/10-rivet.conflist)\".*O_(WRONLY|RDWR)" "$log" ||
		grep -E "truncate\(\"($bin/rivet|$conf/10-rivet.conflist)\"" "$log"; then
		fail "a destination was written in place"
	fi
	# ... each arrives by a rename of a hidden temporary file beside it.
	grep -qE "rename.*\"$bin/\.rivet\.tmp\.[0-9]+\".*\"$bin/rivet\"" "$log" ||
		fail "the binary did not arrive by rename: $(grep rename "$log")"
	grep -qE "rename.*\"$conf/\.10-rivet\.conflist\.tmp\.[0-9]+\".*\"$conf/10-rivet\.conflist\"" "$log" ||
		fail "the conflist did not arrive by rename: $(grep rename "$log")"
	# The reader still sees the old file whole; the name gives the new one.
	assert_eq "$(cat <&3)" '{"old": true}' "old conflist through the open descriptor"
	exec 3<&-
	[ "$(file_id "$conf/10-rivet.conflist")" != "$old_conf" ] || fail "conflist inode unchanged"
	conflist | jq -e . >/dev/null || fail "new conflist is not JSON: $(conflist)"
	[ -z "$(find "$bin" "$conf" -name '.*.tmp.*')" ] || fail "temporary files left: $(ls -a "$bin" "$conf")"
}

test_install_replaces_a_running_binary() {
	local dir bin conf pid
	mk_dir dir
	bin=$dir/bin conf=$dir/net.d
	mkdir -p "$bin"
	# An old "rivet" that is executing right now, as a runtime's would be.
	cp "$(command -v sleep)" "$bin/rivet"
	"$bin/rivet" 30 &
	pid=$!
	_register "kill $pid"
	# Until the child has exec'd, the file is not yet running (seen under load).
	for _ in $(seq 50); do
		[ "$(readlink "/proc/$pid/exe")" = "$bin/rivet" ] && break
		sleep 0.1
	done
	# Writing it in place is refused by the kernel: the failure an
	# installer that copies in place would meet.
	if cp "$RIVET" "$bin/rivet" 2>/dev/null; then
		fail "control: an in-place copy over a running binary succeeded"
	fi
	install_cni RIVET_POD_CIDR=198.18.0.0/24
	assert_rc 0
	cmp -s "$RIVET" "$bin/rivet" || fail "running binary not replaced"
	kill -0 "$pid" 2>/dev/null || fail "the running old binary was disturbed"
}

test_install_templates_from_environment() {
	local dir bin conf c
	mk_dir dir
	bin=$dir/bin conf=$dir/net.d
	mkdir -p "$bin"
	install -m 0755 /dev/null "$bin/portmap"	# present: chained; bandwidth absent: not
	install_cni RIVET_POD_CIDRS="198.18.4.0/24, fd5a:7e57:4::/64" RIVET_MTU=1400 RIVET_LOG_LEVEL=debug \
		RIVET_LOG_FILE=/var/log/rivet/node.log RIVET_IPMASQ=false \
		RIVET_IPMASQ_EXCLUDE="10.96.0.0/12 fd5a:7e57:96::/108" RIVET_NETWORK_NAME=podnet \
		RIVET_DATA_DIR=/run/rivet-ipam RIVET_CNI_VERSION=1.1.0
	assert_rc 0
	OUT=$(conflist)
	assert_json .cniVersion 1.1.0
	assert_json .name podnet
	assert_json '.plugins | length' 2
	assert_json '.plugins[0].type' rivet
	assert_json '.plugins[0].mtu' 1400
	assert_json '.plugins[0].ipMasq' false
	assert_json '.plugins[0].ipMasqExclude | join(",")' "10.96.0.0/12,fd5a:7e57:96::/108"
	assert_json '.plugins[0].logFile' /var/log/rivet/node.log
	assert_json '.plugins[0].logLevel' debug
	assert_json '.plugins[0].ipam.type' host-local
	assert_json '[.plugins[0].ipam.ranges[][].subnet] | join(",")' "198.18.4.0/24,fd5a:7e57:4::/64"
	assert_json '.plugins[0].ipam.dataDir' /run/rivet-ipam
	assert_json '.plugins[1].type' portmap
	assert_json '.plugins[1].capabilities.portMappings' true

	# Defaults: one range, MTU left to rivet, the log file of the example.
	rm -f "$bin/portmap"
	install_cni RIVET_POD_CIDR=198.18.5.0/24
	assert_rc 0
	OUT=$(conflist)
	assert_json .cniVersion 1.0.0
	assert_json .name rivet
	assert_json '.plugins | length' 1
	assert_json '.plugins[0] | has("mtu")' false
	assert_json '.plugins[0].ipMasq' true
	assert_json '.plugins[0].ipMasqExclude | join(",")' "198.18.0.0/15,fd5a:7e57::/32"
	assert_json '.plugins[0].logFile' /var/log/rivet/rivet.log
	# rivet's own default: info into the file, and without one only
	# warnings and errors into the runtime's journal.
	assert_json '.plugins[0] | has("logLevel")' false
	assert_json '.plugins[0].ipam.ranges | tojson' '[[{"subnet":"198.18.5.0/24"}]]'
	assert_json '.plugins[0].ipam.dataDir' /var/lib/cni/networks

	# Set but empty: no log file at all; chained plugins on demand.
	install_cni RIVET_POD_CIDR=198.18.5.0/24 RIVET_LOG_FILE= RIVET_BANDWIDTH=true RIVET_PORTMAP=false
	assert_rc 0
	OUT=$(conflist)
	assert_json '.plugins[0] | has("logFile")' false
	assert_json '[.plugins[].type] | join(",")' rivet,bandwidth

	# What the installer writes, rivet accepts: the runtime's cut of the
	# first plugin, with the store and log moved into this test's directory.
	c=$(conflist | jq -c --arg d "$dir/ipam" --arg l "$dir/rivet.log" \
		'.plugins[0] + {cniVersion, name} | .ipam.dataDir = $d | .logFile = $l')
	local host pod
	mk_host host
	mk_pod pod
	cni ADD "$host" "$pod" tmpl-1 eth0 "$c"
	assert_rc 0
	assert_json '.ips[0].address' 198.18.5.2/32
	cni DEL "$host" "$pod" tmpl-1 eth0 "$c"
	assert_rc 0
}

test_install_reads_node_pod_cidrs_from_the_api() {
	local dir bin conf www sa ns bb a
	mk_dir dir
	bin=$dir/bin conf=$dir/net.d www=$dir/www sa=$dir/sa bb=$dir/busybox
	mkdir -p "$www/api/v1/nodes" "$sa" "$bb"
	# The Node as the API server returns it (abridged), dual stack.
	cat >"$www/api/v1/nodes/node-7" <<'EOF'
{
  "kind": "Node",
  "apiVersion": "v1",
  "metadata": {"name": "node-7", "annotations": {"note": "\"podCIDRs\":[\"10.0.0.0/8\"]"}},
  "spec": {
    "podCIDR": "198.18.7.0/24",
    "podCIDRs": [
      "198.18.7.0/24",
      "fd5a:7e57:7::/64"
    ]
  },
  "status": {"addresses": [{"type": "InternalIP", "address": "198.19.255.1"}]}
}
EOF
	echo token-7 >"$sa/token"
	echo "not a real CA" >"$sa/ca.crt"	# unused over http; exercises the option
	mk_netns ns api
	ip netns exec "$ns" busybox httpd -f -p 127.0.0.1:8080 -h "$www" &
	_register "kill $!"
	sleep 0.3

	# With curl, from the full system.
	OUT=$(ip netns exec "$ns" env RIVET_BINARY="$RIVET" CNI_BIN_DIR="$bin" CNI_CONF_DIR="$conf" \
		NODE_NAME=node-7 RIVET_API_SERVER=http://127.0.0.1:8080 RIVET_SA_DIR="$sa" \
		sh "$INSTALL_CNI" 2>&1)
	RC=$?
	assert_rc 0
	OUT=$(conflist)
	assert_json '[.plugins[0].ipam.ranges[][].subnet] | join(",")' "198.18.7.0/24,fd5a:7e57:7::/64"

	# With nothing but busybox (its sh and wget), as in a minimal image.
	for a in sh cat cp mv rm cmp tr sed mkdir chmod wget sleep kill grep printf echo test; do
		ln -s "$(command -v busybox)" "$bb/$a"
	done
	rm -f "$conf/10-rivet.conflist" "$bin/rivet"
	OUT=$(ip netns exec "$ns" env -i PATH="$bb" RIVET_BINARY="$RIVET" CNI_BIN_DIR="$bin" \
		RIVET_IPMASQ_EXCLUDE="$RIVET_IPMASQ_EXCLUDE" \
		CNI_CONF_DIR="$conf" NODE_NAME=node-7 KUBERNETES_SERVICE_HOST=127.0.0.1 \
		KUBERNETES_SERVICE_PORT=8080 RIVET_API_SERVER=http://127.0.0.1:8080 RIVET_SA_DIR="$sa" \
		"$bb/sh" "$INSTALL_CNI" 2>&1)
	RC=$?
	assert_rc 0
	cmp -s "$RIVET" "$bin/rivet" || fail "busybox run did not install the binary"
	OUT=$(conflist)
	assert_json '[.plugins[0].ipam.ranges[][].subnet] | join(",")' "198.18.7.0/24,fd5a:7e57:7::/64"

	# An unknown node fails and writes nothing.
	rm -f "$conf/10-rivet.conflist"
	OUT=$(ip netns exec "$ns" env RIVET_BINARY="$RIVET" CNI_BIN_DIR="$bin" CNI_CONF_DIR="$conf" \
		NODE_NAME=node-8 RIVET_API_SERVER=http://127.0.0.1:8080 RIVET_SA_DIR="$sa" \
		sh "$INSTALL_CNI" 2>&1)
	RC=$?
	assert_rc 1
	assert_contains "$OUT" "cannot read Node node-8"
	[ ! -e "$conf/10-rivet.conflist" ] || fail "conflist written for an unknown node"
}

test_install_rewrites_only_what_changed() {
	local dir bin conf b1 c1 log
	mk_dir dir
	bin=$dir/bin conf=$dir/net.d log=$dir/strace
	install_cni RIVET_POD_CIDR=198.18.0.0/24 RIVET_MTU=1450
	assert_rc 0
	b1=$(file_id "$bin/rivet")
	c1=$(file_id "$conf/10-rivet.conflist")
	sleep 1.1	# a rewrite would show in the mtime even on a coarse clock

	# Same settings: nothing renamed, inode and mtime as before.
	OUT=$(env RIVET_BINARY="$RIVET" CNI_BIN_DIR="$bin" CNI_CONF_DIR="$conf" RIVET_POD_CIDR=198.18.0.0/24 \
		RIVET_MTU=1450 strace -f -qq -e trace=rename,renameat,renameat2 -o "$log" sh "$INSTALL_CNI" 2>&1)
	RC=$?
	assert_rc 0
	assert_eq "$(file_id "$bin/rivet")" "$b1" "binary after an unchanged run"
	assert_eq "$(file_id "$conf/10-rivet.conflist")" "$c1" "conflist after an unchanged run"
	! grep -q rename "$log" || fail "an unchanged run renamed: $(cat "$log")"
	[ -z "$(find "$bin" "$conf" -name '.*.tmp.*')" ] || fail "temporary files left"

	# One value changes: the conflist is replaced, the binary is not.
	install_cni RIVET_POD_CIDR=198.18.0.0/24 RIVET_MTU=1400
	assert_rc 0
	[ "$(file_id "$conf/10-rivet.conflist")" != "$c1" ] || fail "conflist not rewritten after RIVET_MTU changed"
	OUT=$(conflist)
	assert_json '.plugins[0].mtu' 1400
	assert_eq "$(file_id "$bin/rivet")" "$b1" "binary after a settings change"

	# A new binary is replaced; the conflist, now unchanged, is not.
	c1=$(file_id "$conf/10-rivet.conflist")
	cp "$RIVET" "$dir/rivet-new"
	printf 'x' >>"$dir/rivet-new"
	OUT=$(env RIVET_BINARY="$dir/rivet-new" CNI_BIN_DIR="$bin" CNI_CONF_DIR="$conf" \
		RIVET_POD_CIDR=198.18.0.0/24 RIVET_MTU=1400 sh "$INSTALL_CNI" 2>&1)
	RC=$?
	assert_rc 0
	cmp -s "$dir/rivet-new" "$bin/rivet" || fail "new binary not installed"
	assert_eq "$(file_id "$conf/10-rivet.conflist")" "$c1" "conflist after a binary change"
}

test_install_refuses_bad_values_and_leaves_nothing() {
	local dir bin conf before v
	mk_dir dir
	bin=$dir/bin conf=$dir/net.d
	install_cni RIVET_POD_CIDR=198.18.0.0/24
	assert_rc 0
	before=$(file_id "$conf/10-rivet.conflist")
	for v in "RIVET_MTU=15OO" "RIVET_MTU=40" "RIVET_POD_CIDR=198.18.0.0" 'RIVET_POD_CIDR=198.18.0.0/24"' \
		"RIVET_LOG_LEVEL=loud" "RIVET_LOG_FILE=rivet.log" 'RIVET_LOG_FILE=/var/log/a"b' \
		"RIVET_IPMASQ=yes" "RIVET_IPMASQ_EXCLUDE=10.96.0.0" "RIVET_PORTMAP=maybe" \
		"RIVET_NETWORK_NAME=../x" "RIVET_DATA_DIR=relative" "RIVET_CONF_NAME=../x.conflist"; do
		install_cni RIVET_POD_CIDR=198.18.0.0/24 "$v"
		[ "$RC" = 1 ] || fail "$v: exit status $RC, want 1 ($OUT)"
		[ -n "$OUT" ] || fail "$v: failed without a message"
		assert_eq "$(file_id "$conf/10-rivet.conflist")" "$before" "conflist after $v"
	done
	install_cni RIVET_POD_CIDR=
	assert_rc 1
	assert_contains "$OUT" "no pod range"
	OUT=$(env RIVET_BINARY="$RIVET" CNI_BIN_DIR="$bin" CNI_CONF_DIR="$conf" sh "$INSTALL_CNI" --loop x 2>&1)
	[ $? = 2 ] || fail "--loop x: want usage status 2"
	[ -z "$(find "$bin" "$conf" -name '.*.tmp.*')" ] || fail "temporary files left: $(ls -a "$conf")"
}

# What the installer writes, rivet must accept: it runs rivet validate on
# the conflist before the rename, so a typo fails the installer (and shows
# in the DaemonSet) instead of every pod of the node.
test_install_refuses_pod_ranges_rivet_refuses() {
	local dir bin conf before v
	mk_dir dir
	bin=$dir/bin conf=$dir/net.d
	install_cni RIVET_POD_CIDR=198.18.0.0/24
	assert_rc 0
	OUT=$("$RIVET" validate --cluster "$conf/10-rivet.conflist" 2>&1)
	[ $? = 0 ] || fail "rivet validate refuses what the installer wrote: $OUT"
	before=$(file_id "$conf/10-rivet.conflist")
	for v in "10.244.1.0/33|must be a CIDR" "300.1.1.1/24|must be a CIDR" "10.244.1.5/24|has host bits set" \
		"198.18.0.0/24,198.18.1.0/24|two IPv4 ranges" "fd5a:7e57:1::/64 fd5a:7e57:2::/64|two IPv6 ranges"; do
		install_cni RIVET_POD_CIDRS="${v%%|*}" RIVET_IPMASQ_EXCLUDE="10.0.0.0/8 198.18.0.0/15 fd5a:7e57::/32"
		[ "$RC" = 1 ] || fail "${v%%|*}: exit status $RC, want 1 ($OUT)"
		assert_contains "$OUT" "${v#*|}" "message for ${v%%|*}"
		assert_eq "$(file_id "$conf/10-rivet.conflist")" "$before" "conflist after ${v%%|*}"
	done
	[ -z "$(find "$bin" "$conf" -name '.*.tmp.*')" ] || fail "temporary files left: $(ls -a "$conf")"
}

# docs/kube-proxy.md: with ipMasq, the cluster's pod CIDR must be excluded,
# or traffic to pods on other nodes leaves with the node's address.
test_install_refuses_ipmasq_without_the_cluster_cidr() {
	local dir bin conf
	mk_dir dir
	bin=$dir/bin conf=$dir/net.d
	install_cni RIVET_POD_CIDR=198.18.4.0/24 RIVET_IPMASQ_EXCLUDE=
	assert_rc 1
	assert_contains "$OUT" "RIVET_IPMASQ_EXCLUDE"
	assert_contains "$OUT" "cluster"
	[ ! -e "$conf/10-rivet.conflist" ] || fail "conflist written"
	# The service CIDR alone, or the node's own range, is not enough.
	for v in 10.96.0.0/12 198.18.4.0/24; do
		install_cni RIVET_POD_CIDR=198.18.4.0/24 RIVET_IPMASQ_EXCLUDE="$v"
		assert_rc 1
		assert_contains "$OUT" "RIVET_IPMASQ_EXCLUDE keeps nothing beyond this node's own range 198.18.4.0/24"
		[ ! -e "$conf/10-rivet.conflist" ] || fail "conflist written with exclude $v"
	done
	# Dual stack: each family's cluster CIDR.
	install_cni RIVET_POD_CIDRS="198.18.4.0/24,fd5a:7e57:4::/64" RIVET_IPMASQ_EXCLUDE="198.18.0.0/15 10.96.0.0/12"
	assert_rc 1
	assert_contains "$OUT" "fd5a:7e57:4::/64"
	install_cni RIVET_POD_CIDRS="198.18.4.0/24,fd5a:7e57:4::/64" RIVET_IPMASQ_EXCLUDE="198.18.0.0/15 10.96.0.0/12 fd5a:7e57::/32"
	assert_rc 0
	# Without masquerade there is nothing to exclude.
	install_cni RIVET_POD_CIDR=198.18.4.0/24 RIVET_IPMASQ=false RIVET_IPMASQ_EXCLUDE=
	assert_rc 0
}

test_install_names_a_node_without_pod_cidrs() {
	local dir bin conf www ns
	mk_dir dir
	bin=$dir/bin conf=$dir/net.d www=$dir/www
	mkdir -p "$www/api/v1/nodes"
	printf '{"kind":"Node","metadata":{"name":"node-9"},"spec":{"providerID":"x"}}\n' >"$www/api/v1/nodes/node-9"
	mk_netns ns api
	ip netns exec "$ns" busybox httpd -f -p 127.0.0.1:8080 -h "$www" &
	_register "kill $!"
	sleep 0.3
	OUT=$(ip netns exec "$ns" env RIVET_BINARY="$RIVET" CNI_BIN_DIR="$bin" CNI_CONF_DIR="$conf" \
		NODE_NAME=node-9 RIVET_API_SERVER=http://127.0.0.1:8080 RIVET_SA_DIR="$dir" sh "$INSTALL_CNI" 2>&1)
	RC=$?
	assert_rc 1
	assert_contains "$OUT" "Node node-9 has no spec.podCIDRs"
	assert_not_contains "$OUT" "set RIVET_POD_CIDRS (or RIVET_POD_CIDR), or NODE_NAME"
	[ ! -e "$conf/10-rivet.conflist" ] || fail "conflist written"
}

# rivet validate FILE: what an ADD would say of the config, and nothing
# touched. A conflist's rivet entry is checked as the runtime hands it over.
test_validate_says_what_add_would_and_changes_nothing() {
	local host vhost pod dir files good bad msg code routes
	ERRF=$(mktemp) && _register "rm -f $ERRF"
	mk_host host ; mk_host vhost ; mk_pod pod ; mk_dir dir
	good=$(mk_conf val "$dir" 1.0.0 '[[{"subnet":"198.18.0.0/24"}]]' ',"ipMasq":true')
	routes=$(for i in $(seq 0 32); do printf '{"dst":"10.%d.0.0/16"},' "$i"; done)
	while IFS= read -r bad; do
		[ -n "$bad" ] || continue
		cni ADD "$host" "$pod" c1 eth0 "$bad"
		[ "$RC" = 1 ] || fail "ADD accepted $bad"
		msg=$(printf '%s' "$OUT" | jq -r .msg)
		code=$(printf '%s' "$OUT" | jq -r .code)
		printf '%s' "$bad" >"$dir/bad.conf"
		printf '%s' "$bad" | jq '{cniVersion, name, plugins: [del(.cniVersion, .name), {type: "portmap"}]}' >"$dir/bad.conflist"
		files=$(find "$dir" | sort)
		admin "$vhost" validate "$dir/bad.conf"
		assert_rc 1
		assert_contains "$(cat "$ERRF")" "rivet: $dir/bad.conf: $msg (CNI error code $code)"
		# In a conflist, rivet's entry is named.
		admin "$vhost" validate "$dir/bad.conflist"
		assert_rc 1
		assert_contains "$(cat "$ERRF")" "rivet: $dir/bad.conflist: plugins[0]: $msg"
		assert_eq "$(find "$dir" | sort)" "$files" "the data dir after validate"
	done <<-EOT
	$(printf '%s' "$good" | jq -c '.ipam.ranges[0][0].subnet = "10.244.1.0/33"')
	$(printf '%s' "$good" | jq -c '.ipam.ranges[0][0].subnet = "300.1.1.1/24"')
	$(printf '%s' "$good" | jq -c '.ipam.ranges[0][0].subnet = "10.244.1.5/24"')
	$(printf '%s' "$good" | jq -c '.ipam.ranges = [[{"subnet":"198.18.0.0/24"}],[{"subnet":"198.18.0.128/25"}]]')
	$(printf '%s' "$good" | jq -c '.logLevel = "loud"')
	$(printf '%s' "$good" | jq -c '.mtu = 40')
	$(printf '%s' "$good" | jq -c '.name = "../x"')
	$(printf '%s' "$good" | jq -c 'del(.ipam)')
	$(printf '%s' "$good" | jq -c --argjson r "[${routes%,}]" '.ipam.routes = $r')
	EOT
	# Valid: the shipped examples, a single config and the conflist.
	printf '%s' "$good" >"$dir/good.conf"
	files=$(find "$dir" | sort)
	admin "$vhost" validate "$dir/good.conf"
	assert_rc 0
	assert_eq "$OUT" "$dir/good.conf: valid" "output"
	# Nothing an ADD makes was made: no store, no nftables table.
	assert_eq "$(find "$dir" | sort)" "$files" "the data dir after validate"
	ip netns exec "$vhost" nft list table inet rivet >/dev/null 2>&1 && fail "validate made table inet rivet"
	admin "$vhost" validate "$ROOT/conf/10-rivet.conflist"
	assert_rc 0
	admin "$vhost" validate --cluster "$ROOT/conf/10-rivet.conflist"
	assert_rc 0
	admin "$vhost" validate "$ROOT/conf/rivet.conf"
	assert_rc 0
	OUT=$(printf '%s' "$good" | "$RIVET" validate - 2>&1)
	assert_eq "$OUT" "-: valid" "validate from stdin"
	# --cluster: ipMasq must leave the rest of the cluster's pods alone.
	admin "$vhost" validate --cluster "$dir/good.conf"
	assert_rc 1
	assert_contains "$(cat "$ERRF")" "keeps nothing beyond this node's own range 198.18.0.0/24"
	# A conflist without rivet, or with another plugin's config.
	jq '{cniVersion, name, plugins: [{type: "bridge"}]}' "$dir/good.conf" >"$dir/other.conflist"
	admin "$vhost" validate "$dir/other.conflist"
	assert_rc 1
	assert_contains "$(cat "$ERRF")" "the conflist has no plugin of type rivet"
	admin "$vhost" validate
	assert_rc 2
}

test_install_script_is_posix_sh() {
	dash -n "$INSTALL_CNI" || fail "dash cannot parse it"
	busybox sh -n "$INSTALL_CNI" || fail "busybox sh cannot parse it"
	checkbashisms "$INSTALL_CNI" || fail "checkbashisms objects"
	if command -v shellcheck >/dev/null; then
		shellcheck -s sh -S warning "$INSTALL_CNI" || fail "shellcheck objects"
	fi
}

test_install_loop_keeps_the_conflist_and_stops_on_sigterm() {
	local dir bin conf pid i
	mk_dir dir
	bin=$dir/bin conf=$dir/net.d
	env RIVET_BINARY="$RIVET" CNI_BIN_DIR="$bin" CNI_CONF_DIR="$conf" RIVET_POD_CIDR=198.18.0.0/24 \
		sh "$INSTALL_CNI" --loop 1 2>/dev/null &
	pid=$!
	_register "kill $pid"
	for i in $(seq 50); do [ -f "$conf/10-rivet.conflist" ] && break; sleep 0.1; done
	rm -f "$conf/10-rivet.conflist"
	for i in $(seq 50); do [ -f "$conf/10-rivet.conflist" ] && break; sleep 0.1; done
	[ -f "$conf/10-rivet.conflist" ] || fail "a removed conflist was not put back"
	kill -TERM "$pid"
	for i in $(seq 30); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
	! kill -0 "$pid" 2>/dev/null || fail "the loop did not stop on SIGTERM"
	# A stop asked for is no failure: the container ends Completed.
	wait "$pid"
	assert_eq "$?" 0 "exit status of the loop after SIGTERM"
}

# --- the manifest ------------------------------------------------------------------

test_daemonset_manifest_is_valid_and_complete() {
	"$PY" - "$MANIFEST" "$INSTALL_CNI" <<'EOF' || fail "manifest check failed"
import re, sys, yaml

docs = [d for d in yaml.safe_load_all(open(sys.argv[1])) if d]
script = open(sys.argv[2]).read()
kinds = {d["kind"]: d for d in docs}
errors = []
def want(cond, what):
    if not cond:
        errors.append(what)

for k in ("ServiceAccount", "ClusterRole", "ClusterRoleBinding", "DaemonSet"):
    want(k in kinds, "no " + k)
ds = kinds["DaemonSet"]
want(ds["apiVersion"] == "apps/v1", "DaemonSet apiVersion")
want(ds["spec"]["selector"]["matchLabels"].items() <= ds["spec"]["template"]["metadata"]["labels"].items(),
     "selector does not match the template's labels")
pod = ds["spec"]["template"]["spec"]
want(pod.get("hostNetwork") is True, "hostNetwork")
want(pod.get("priorityClassName") == "system-node-critical", "priorityClassName")
want({"operator": "Exists"} in pod.get("tolerations", []), "a toleration of every taint")
want(pod.get("serviceAccountName") == kinds["ServiceAccount"]["metadata"]["name"], "serviceAccountName")
rules = kinds["ClusterRole"]["rules"]
want(any("nodes" in r["resources"] and "get" in r["verbs"] for r in rules), "RBAC: get nodes")
want(kinds["ClusterRoleBinding"]["roleRef"]["name"] == kinds["ClusterRole"]["metadata"]["name"], "binding")

vols = {v["name"]: v for v in pod["volumes"]}
paths = {v["hostPath"]["path"]: n for n, v in vols.items() if "hostPath" in v}
want("/opt/cni/bin" in paths and "/etc/cni/net.d" in paths, "hostPath volumes for the CNI dirs")
init = pod["initContainers"]
want(len(init) >= 1, "an init container")
for c in init + pod["containers"]:
    want(any("install-cni.sh" in part for part in c["command"]), c["name"] + ": runs install-cni.sh")
    mounts = {m["name"]: m["mountPath"] for m in c["volumeMounts"]}
    for m in mounts:
        want(m in vols, c["name"] + ": mounts an undefined volume " + m)
    want(mounts.get(paths.get("/opt/cni/bin")) == "/host/opt/cni/bin", c["name"] + ": bin dir mount")
    want(mounts.get(paths.get("/etc/cni/net.d")) == "/host/etc/cni/net.d", c["name"] + ": conf dir mount")
    env = {e["name"]: e for e in c["env"]}
    want(env.get("NODE_NAME", {}).get("valueFrom", {}).get("fieldRef", {}).get("fieldPath") == "spec.nodeName",
         c["name"] + ": NODE_NAME from spec.nodeName")
    for name in env:
        want(re.search(r"\b" + name + r"\b", script), c["name"] + ": " + name + " is unknown to install-cni.sh")
    want(env.get("CNI_BIN_DIR", {}).get("value", "/host/opt/cni/bin") == "/host/opt/cni/bin", "CNI_BIN_DIR")
# The operator commands run in the long-running container: the node's
# netns (hostNetwork), the store where rivet looks by default (or where
# RIVET_DATA_DIR says), and CAP_NET_ADMIN for repair's nftables work.
keep = pod["containers"][0]
data_dir = {e["name"]: e.get("value") for e in keep["env"]}.get("RIVET_DATA_DIR") or "/var/lib/cni/networks"
mounts = {m["name"]: m["mountPath"] for m in keep["volumeMounts"]}
want(data_dir in paths and mounts.get(paths[data_dir]) == data_dir,
     keep["name"] + ": mounts the store " + data_dir + " at the same path")
want("NET_ADMIN" in keep["securityContext"].get("capabilities", {}).get("add", []), keep["name"] + ": NET_ADMIN")
for e in errors:
    print("manifest:", e)
sys.exit(1 if errors else 0)
EOF
}

# Cluster mode: rivetd runs with flags it knows, in the node's netns with
# NET_ADMIN, with the host's conf dir, the store at the path the conflist
# names, a state directory and etcd's TLS files; the installer only copies
# the binary; every ConfigMap and Secret key the pod reads exists.
test_cluster_daemonset_runs_rivetd_as_rivetd_expects() {
	local help
	help=$("$RIVETD" run --help) || fail "rivetd run --help"
	RIVETD_HELP=$help "$PY" - "$CLUSTER_MANIFEST" "$INSTALL_CNI" "$ROOT/VERSION" <<'EOF' ||
import os, re, sys, yaml

docs = [d for d in yaml.safe_load_all(open(sys.argv[1])) if d]
script = open(sys.argv[2]).read()
image = "rivet:" + open(sys.argv[3]).read().strip()
help = os.environ["RIVETD_HELP"]
kinds = {d["kind"]: d for d in docs}
errors = []
def want(cond, what):
    if not cond:
        errors.append(what)

for k in ("ServiceAccount", "ConfigMap", "Secret", "DaemonSet"):
    want(k in kinds, "no " + k)
pod = kinds["DaemonSet"]["spec"]["template"]["spec"]
want(pod.get("hostNetwork") is True, "hostNetwork")
want(pod.get("priorityClassName") == "system-node-critical", "priorityClassName")
want({"operator": "Exists"} in pod.get("tolerations", []), "a toleration of every taint")
vols = {v["name"]: v for v in pod["volumes"]}
containers = {c["name"]: c for c in pod["initContainers"] + pod["containers"]}
for c in containers.values():
    want(c["image"] == image, c["name"] + ": image " + c["image"] + ", make image builds " + image + " (VERSION)")
    for m in c.get("volumeMounts", []):
        want(m["name"] in vols, c["name"] + ": mounts an undefined volume " + m["name"])
    for e in c.get("env", []):
        ref = e.get("valueFrom", {}).get("configMapKeyRef")
        if ref:
            want(ref["name"] == kinds["ConfigMap"]["metadata"]["name"] and ref["key"] in kinds["ConfigMap"]["data"],
                 c["name"] + ": " + e["name"] + " reads a ConfigMap key that does not exist")
for name in ("install-cni", "keep-installed"):
    c = containers[name]
    want(any("install-cni.sh" in p for p in c["command"]), name + ": runs install-cni.sh")
    env = {e["name"]: e.get("value") for e in c["env"]}
    want(env.get("RIVET_WRITE_CONFLIST") == "false", name + ": leaves the conflist to rivetd")
    for n in env:
        want(re.search(r"\b" + n + r"\b", script), name + ": " + n + " is unknown to install-cni.sh")

d = containers["rivetd"]
want(d["command"] == ["/opt/rivet/bin/rivetd", "run"], "rivetd: runs rivetd run")
env = {e["name"]: e for e in d["env"]}
for n in env:
    flag = "--" + n[len("RIVETD_"):].lower().replace("_", "-") + " "
    want(n.startswith("RIVETD_") and flag in help, "rivetd: " + n + " is no flag of rivetd run")
want(env["RIVETD_NODE_NAME"].get("valueFrom", {}).get("fieldRef", {}).get("fieldPath") == "spec.nodeName",
     "rivetd: the node name from spec.nodeName")
mounts = {m["mountPath"]: m for m in d["volumeMounts"]}
def host_path_of(path):
    m = mounts.get(path)
    return vols[m["name"]].get("hostPath", {}).get("path") if m else None
want(host_path_of(env["RIVETD_CNI_CONF_DIR"]["value"]) == "/etc/cni/net.d", "rivetd: the conf dir is the host's")
data = env["RIVETD_IPAM_DATA_DIR"]["value"]
want(host_path_of(data) == data, "rivetd: the store is mounted at the host's own path (the conflist names it)")
want(host_path_of(env["RIVETD_STATE_DIR"]["value"]) is not None, "rivetd: a state directory on the host")
secret = kinds["Secret"]
for n in ("RIVETD_ETCD_CAFILE", "RIVETD_ETCD_CERTFILE", "RIVETD_ETCD_KEYFILE"):
    path = env[n]["value"]
    dir_, base = path.rsplit("/", 1)
    m = mounts.get(dir_)
    want(m is not None and vols[m["name"]].get("secret", {}).get("secretName") == secret["metadata"]["name"]
         and base in secret["stringData"], "rivetd: " + n + " is not a file of the Secret")
want("NET_ADMIN" in d["securityContext"]["capabilities"].get("add", []), "rivetd: NET_ADMIN")
for e in errors:
    print("cluster manifest:", e)
sys.exit(1 if errors else 0)
EOF
		fail "cluster manifest check failed"
}

test_install_leaves_the_conflist_to_rivetd_when_asked() {
	local dir bin conf
	mk_dir dir
	bin=$dir/bin conf=$dir/net.d
	install_cni RIVET_WRITE_CONFLIST=false
	assert_rc 0
	cmp -s "$RIVET" "$bin/rivet" || fail "the binary was not installed"
	[ -e "$conf/10-rivet.conflist" ] && fail "a conflist was written: $(cat "$conf/10-rivet.conflist")"
	install_cni RIVET_WRITE_CONFLIST=maybe
	assert_rc 1
	assert_contains "$OUT" "RIVET_WRITE_CONFLIST"
}

# The shipped examples do what docs/kube-proxy.md says: with ipMasq, the
# cluster's pod CIDR is kept from masquerade. The DaemonSet's settings pass
# the installer for a node of its cluster; the conflist and the man page's
# example pass rivet validate --cluster.
test_shipped_examples_keep_the_cluster_pod_cidr() {
	local dir bin conf envs
	mk_dir dir
	bin=$dir/bin conf=$dir/net.d
	envs=$("$PY" - "$MANIFEST" <<-'EOF'
	import sys, yaml
	ds = [d for d in yaml.safe_load_all(open(sys.argv[1])) if d and d["kind"] == "DaemonSet"][0]
	for e in ds["spec"]["template"]["spec"]["initContainers"][0]["env"]:
	    if "value" in e and e["name"].startswith("RIVET_") and e["name"] != "RIVET_LOG_FILE":
	        print(e["name"] + "=" + e["value"])
	EOF
	) || fail "cannot read the manifest's settings"
	assert_contains "$envs" "RIVET_IPMASQ=true"
	# shellcheck disable=SC2086 # one setting per word
	install_cni $envs RIVET_LOG_FILE= RIVET_POD_CIDRS=10.244.1.0/24
	assert_rc 0
	OUT=$("$RIVET" validate --cluster "$ROOT/conf/10-rivet.conflist" 2>&1)
	[ $? = 0 ] || fail "conf/10-rivet.conflist: $OUT"
	# The first example of the page is the conflist.
	awk '/^\.EE$/ { exit } on { gsub(/\\-/, "-"); print } /^\.EX$/ { on = 1 }' "$ROOT/docs/rivet.8" >"$dir/man.conflist"
	OUT=$("$RIVET" validate --cluster "$dir/man.conflist" 2>&1)
	[ $? = 0 ] || fail "the man page's example: $OUT"
}

# --- rivet list / repair ----------------------------------------------------------------

# One store, seven reservations:
#   live1     rivet, pod alive                        live
#   dead1     rivet, pod netns deleted                gone, old   -> released
#   young     rivet, pod netns deleted just now       gone, young -> kept (--min-age)
#   hl-live   rivet delegating to the reference host-local, alive  live
#   hl-dead   same, pod netns deleted                 gone, old   -> released
#   ptp-dead  Debian's ptp + host-local, netns deleted gone, old  -> released
#   old-id    host-local's old ID-only file (no ifname) unknown   -> kept
test_list_and_repair_live_and_dead_reservations() {
	local host dir net store p_live p_dead p_young p_hl p_hldead p_ptp conf dconf pconf before
	ERRF=$(mktemp) && _register "rm -f $ERRF"
	mk_host host
	mk_dir dir
	mk_pod p_live ; mk_pod p_dead ; mk_pod p_young ; mk_pod p_hl ; mk_pod p_hldead ; mk_pod p_ptp
	net=ops-$RANDOM
	store=$dir/$net
	mkdir "$dir/cni"
	# "hl" is the reference host-local under another name: rivet delegates
	# every ipam.type but "host-local" to the plugin of that name.
	ln -s /usr/lib/cni/host-local "$dir/cni/hl"
	CNI_BIN=$dir/cni
	conf=$(mk_conf "$net" "$dir")
	dconf=$(mk_conf "$net" "$dir" | jq -c '.ipam.type = "hl"')
	pconf=$(mk_conf "$net" "$dir" | jq -c '.type = "ptp"')

	cni ADD "$host" "$p_live" live1 eth0 "$conf";    assert_rc 0
	cni ADD "$host" "$p_dead" dead1 eth0 "$conf";    assert_rc 0
	cni ADD "$host" "$p_hl" hl-live eth0 "$dconf";   assert_rc 0
	cni ADD "$host" "$p_hldead" hl-dead eth0 "$dconf"; assert_rc 0
	ptp_add "$host" "$p_ptp" ptp-dead "$pconf"
	printf 'old-id' >"$store/198.18.0.200"
	# host-local wrote these (Go's 0644; rivet writes 0600).
	assert_eq "$(stat -c %a "$store/198.18.0.4")" 644 "mode of host-local's reservation"
	assert_eq "$(od -An -c "$store/198.18.0.6" | tr -d ' ')" 'ptp-dead\r\neth0' "ptp's reservation"
	# Everything so far was reserved "ten minutes ago"; young is reserved now.
	find "$store" -maxdepth 1 -type f -name '198.*' -exec touch -d '10 minutes ago' {} +
	cni ADD "$host" "$p_young" young eth0 "$conf";   assert_rc 0
	ip netns del "$p_dead" ; ip netns del "$p_hldead" ; ip netns del "$p_ptp" ; ip netns del "$p_young"
	wait_veths "$host" 2

	# list --json: everything, with its state, host end and age.
	admin "$host" list "$net" --data-dir "$dir" --json
	assert_rc 0
	assert_json '.network' "$net"
	assert_json '.dataDir' "$dir"
	assert_json '.reservations | length' 7
	assert_json '[.reservations[].ip] | join(",")' \
		198.18.0.2,198.18.0.3,198.18.0.4,198.18.0.5,198.18.0.6,198.18.0.7,198.18.0.200
	assert_json '[.reservations[] | "\(.containerID)=\(.state)"] | join(",")' \
		live1=live,dead1=gone,hl-live=live,hl-dead=gone,ptp-dead=gone,young=gone,old-id=unknown
	assert_json '[.reservations[] | .hostInterfaceExists] | map(tostring) | join(",")' \
		true,false,true,false,false,false,null
	assert_json '.reservations[0].ifname' eth0
	assert_json '.reservations[6].ifname' ""
	assert_json '.reservations[6].hostInterface' null
	assert_json '.reservations[0].hostInterface | test("^rvt[0-9a-f]{12}$")' true
	# The host end named is the one that exists in the node.
	ip -n "$host" link show "$(printf '%s' "$OUT" | jq -r '.reservations[0].hostInterface')" >/dev/null ||
		fail "listed host end of live1 does not exist"
	assert_json '.reservations[0].ageSeconds >= 590 and .reservations[0].ageSeconds < 900' true
	assert_json '.reservations[5].ageSeconds < 60' true
	assert_json '.reservations[0].since | test("^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}Z$")' true

	# The table, for people.
	admin "$host" list "$net" --data-dir "$dir"
	assert_rc 0
	assert_contains "$OUT" "ADDRESS"
	assert_contains "$OUT" "CONTAINER"
	assert_eq "$(printf '%s\n' "$OUT" | grep -c '^198\.18\.0\.')" 7 "table rows"
	assert_contains "$(printf '%s\n' "$OUT" | grep '^198\.18\.0\.3 ')" "gone"
	assert_contains "$(printf '%s\n' "$OUT" | grep '^198\.18\.0\.4 ')" "live"
	assert_contains "$OUT" "7 reservations in $store; 4 whose host end is gone"
	# The hint can be run as printed (the data dir kept), and does not
	# promise to release the young one, which repair keeps.
	assert_contains "$OUT" "3 of them older than 120 s: rivet repair $net --data-dir $dir releases those"

	# --dry-run reports and changes nothing at all.
	before=$(snapshot "$store")
	admin "$host" repair "$net" --data-dir "$dir" --dry-run --json
	assert_rc 0
	assert_json '.dryRun' true
	assert_json '.checked' 7
	assert_json '[.released[].containerID] | join(",")' dead1,hl-dead,ptp-dead
	assert_json '[.skipped[].containerID] | join(",")' young,old-id
	assert_json '.skipped[0].reason | test("min-age")' true
	assert_json '.failed | length' 0
	assert_eq "$(snapshot "$store")" "$before" "store after repair --dry-run"
	admin "$host" repair "$net" --data-dir "$dir" --dry-run
	assert_rc 0
	assert_contains "$OUT" "would release 3 of 7 reservations"
	assert_contains "$OUT" "dry run: nothing changed"
	assert_eq "$(snapshot "$store")" "$before" "store after repair --dry-run (table)"

	# repair releases exactly the dead ones that are old enough.
	admin "$host" repair "$net" --data-dir "$dir" --json
	assert_rc 0
	assert_json '.dryRun' false
	assert_json '[.released[].ip] | join(",")' 198.18.0.3,198.18.0.5,198.18.0.6
	assert_json '[.skipped[].containerID] | join(",")' young,old-id
	for f in 198.18.0.3 198.18.0.5 198.18.0.6; do
		[ ! -e "$store/$f" ] || fail "$f still reserved after repair"
	done
	for f in 198.18.0.2 198.18.0.4 198.18.0.7 198.18.0.200; do
		[ -e "$store/$f" ] || fail "$f released by repair"
	done
	[ -z "$(find "$store/.rivet" -name 'dead1:*')" ] || fail "index entry of dead1 left"
	[ -f "$store/lock" ] && [ -f "$store/last_reserved_ip.0" ] || fail "repair removed lock or last_reserved_ip"

	# A second repair has nothing to do; --min-age 0 then takes the young one.
	admin "$host" repair "$net" --data-dir "$dir" --json
	assert_rc 0
	assert_json '.released | length' 0
	admin "$host" repair "$net" --data-dir "$dir" --min-age 0
	assert_rc 0
	assert_contains "$OUT" "released 1 of 4 reservations"
	[ ! -e "$store/198.18.0.7" ] || fail "young not released with --min-age 0"

	# The live pods are untouched and still torn down normally, and the
	# reference host-local still reads the store.
	cni DEL "$host" "$p_live" live1 eth0 "$conf";   assert_rc 0
	cni DEL "$host" "$p_hl" hl-live eth0 "$dconf";  assert_rc 0
	OUT=$(printf '%s' "$conf" | env CNI_COMMAND=ADD CNI_CONTAINERID=after CNI_NETNS=/x CNI_IFNAME=eth0 \
		CNI_PATH=/usr/lib/cni /usr/lib/cni/host-local)
	RC=$?
	assert_rc 0
	admin "$host" list "$net" --data-dir "$dir" --json
	assert_json '[.reservations[].containerID] | join(",")' after,old-id
}

# Run from a namespace that sees none of the network's host ends (a shell
# in the wrong netns, a container without hostNetwork), every pod looks
# gone: repair must refuse rather than release live pods' addresses.
test_repair_refuses_where_no_host_end_is_visible() {
	local host other dir net store a b conf before
	ERRF=$(mktemp) && _register "rm -f $ERRF"
	mk_host host ; mk_netns other elsewhere ; mk_pod a ; mk_pod b ; mk_dir dir
	net=wrongns
	store=$dir/$net
	conf=$(mk_conf "$net" "$dir")
	cni ADD "$host" "$a" ca eth0 "$conf"; assert_rc 0
	cni ADD "$host" "$b" cb eth0 "$conf"; assert_rc 0
	find "$store" -maxdepth 1 -type f -name '198.*' -exec touch -d '10 minutes ago' {} +
	before=$(snapshot "$store")
	for dry in "" --dry-run; do
		admin "$other" repair "$net" --data-dir "$dir" $dry
		assert_rc 1
		assert_contains "$(cat "$ERRF")" "none of the 2 reservations of network $net has its host end in this network namespace"
		assert_contains "$(cat "$ERRF")" "--force"
		assert_eq "$(snapshot "$store")" "$before" "store after a refused repair $dry"
	done
	# list still lists, and says why every pod looks gone.
	admin "$other" list "$net" --data-dir "$dir"
	assert_rc 0
	assert_contains "$(cat "$ERRF")" "network namespace"
	# Where the pods live, nothing is gone.
	admin "$host" repair "$net" --data-dir "$dir" --json
	assert_rc 0
	assert_json '.released | length' 0
	# --force does what it is told.
	admin "$other" repair "$net" --data-dir "$dir" --force --json
	assert_rc 0
	assert_json '.released | length' 2
}

test_repair_takes_released_addresses_out_of_the_masquerade_sets() {
	local host dir net live dead conf
	ERRF=$(mktemp) && _register "rm -f $ERRF"
	mk_host host ; mk_pod live ; mk_pod dead ; mk_dir dir
	net=rmasq
	conf=$(mk_conf "$net" "$dir" 1.0.0 '[[{"subnet":"198.18.0.0/24"}],[{"subnet":"fd5a:7e57:1::/64"}]]' ',"ipMasq":true')
	cni ADD "$host" "$live" live eth0 "$conf"; assert_rc 0
	cni ADD "$host" "$dead" dead eth0 "$conf"; assert_rc 0
	find "$dir/$net" -maxdepth 1 -type f -name '198.*' -exec touch -d '10 minutes ago' {} +
	find "$dir/$net" -maxdepth 1 -type f -name 'fd5a*' -exec touch -d '10 minutes ago' {} +
	ip netns del "$dead"
	wait_veths "$host" 1
	admin "$host" repair "$net" --data-dir "$dir" --json
	assert_rc 0
	assert_json '[.released[].ip] | join(",")' "198.18.0.3,fd5a:7e57:1::3"
	# No later DEL can find these addresses: repair takes them out.
	assert_eq "$(ip netns exec "$host" nft -j list set inet rivet "$net-pods4" | jq -r '[.nftables[1].set.elem[]?] | join(",")')" \
		198.18.0.2 "IPv4 pod set after repair"
	assert_eq "$(ip netns exec "$host" nft -j list set inet rivet "$net-pods6" | jq -r '[.nftables[1].set.elem[]?] | join(",")')" \
		fd5a:7e57:1::2 "IPv6 pod set after repair"
	# Many at once (more than one batch of lookups): forty crashed pods,
	# left as a runtime that never called DEL leaves them.
	for i in $(seq 10 49); do
		printf 'gone%s\r\neth0' "$i" >"$dir/$net/198.18.0.$i"
		ip netns exec "$host" nft add element inet rivet "$net-pods4" "{ 198.18.0.$i }"
	done
	find "$dir/$net" -maxdepth 1 -type f -name '198.*' -exec touch -d '10 minutes ago' {} +
	admin "$host" repair "$net" --data-dir "$dir" --json
	assert_rc 0
	assert_json '.released | length' 40
	assert_eq "$(ip netns exec "$host" nft -j list set inet rivet "$net-pods4" | jq -r '[.nftables[1].set.elem[]?] | join(",")')" \
		198.18.0.2 "IPv4 pod set after repairing forty"
}

# Reservation files that are empty or cannot be parsed (host-local's
# create-then-write leaves an empty one when it crashes, and a power loss
# can leave one of anybody's) block their address all the same: list shows
# them as unreadable, and repair and GC release them, whatever their age,
# since they name no attachment. The live pod's reservation stays.
plant_damaged() { # store
	: >"$1/198.18.0.50"
	printf '\0\0\0\0\0\0\0\0' >"$1/198.18.0.51"
	printf ' \r\n \t' >"$1/198.18.0.52"
	printf '%0300d\r\neth0' 0 >"$1/198.18.0.53"
	chmod 600 "$1"/198.18.0.5[0-3]
}
test_list_repair_and_gc_release_damaged_reservations() {
	local host dir net store pod conf
	ERRF=$(mktemp) && _register "rm -f $ERRF"
	mk_host host ; mk_pod pod ; mk_dir dir
	net=dmg-$RANDOM
	store=$dir/$net
	conf=$(mk_conf "$net" "$dir" 1.1.0)
	cni ADD "$host" "$pod" live1 eth0 "$conf"; assert_rc 0
	plant_damaged "$store"

	admin "$host" list "$net" --data-dir "$dir" --json
	assert_rc 0
	assert_json '.reservations | length' 5
	assert_json '[.reservations[] | "\(.ip)=\(.state)"] | join(",")' \
		198.18.0.2=live,198.18.0.50=unreadable,198.18.0.51=unreadable,198.18.0.52=unreadable,198.18.0.53=unreadable
	admin "$host" list "$net" --data-dir "$dir"
	assert_rc 0
	assert_contains "$(printf '%s\n' "$OUT" | grep '^198\.18\.0\.50 ')" "unreadable"
	assert_contains "$OUT" "5 reservations in $store"

	admin "$host" repair "$net" --data-dir "$dir" --dry-run --json
	assert_rc 0
	assert_json '[.released[].ip] | join(",")' 198.18.0.50,198.18.0.51,198.18.0.52,198.18.0.53
	[ -e "$store/198.18.0.50" ] || fail "repair --dry-run released a file"
	admin "$host" repair "$net" --data-dir "$dir" --json
	assert_rc 0
	assert_json '[.released[].ip] | join(",")' 198.18.0.50,198.18.0.51,198.18.0.52,198.18.0.53
	assert_eq "$(ls "$store" | grep '^198' | xargs)" 198.18.0.2 "reservations after repair"

	plant_damaged "$store"
	cni GC "$host" "" "" "" "$(printf '%s' "$conf" | jq -c '. + {"cni.dev/valid-attachments": [{"containerID":"live1","ifname":"eth0"}]}')"
	assert_rc 0
	assert_eq "$(ls "$store" | grep '^198' | xargs)" 198.18.0.2 "reservations after GC"
	cni DEL "$host" "$pod" live1 eth0 "$conf"; assert_rc 0
}

test_admin_usage_errors_and_missing_store() {
	local host dir
	ERRF=$(mktemp) && _register "rm -f $ERRF"
	mk_host host
	mk_dir dir
	admin "$host" list;                                  assert_rc 2
	admin "$host" list a b;                              assert_rc 2
	admin "$host" list ../etc --data-dir "$dir";         assert_rc 2
	admin "$host" list net --bogus;                      assert_rc 2
	admin "$host" list net --dry-run;                    assert_rc 2
	admin "$host" repair net --min-age soon;             assert_rc 2
	admin "$host" frobnicate net;                        assert_rc 2
	assert_contains "$(cat "$ERRF")" "unknown command 'frobnicate'"
	admin "$host" --help;                                assert_rc 0
	assert_contains "$OUT" "rivet repair <network>"
	# A network nothing was ever reserved in: an empty answer, not an error.
	admin "$host" list nothing-here --data-dir "$dir" --json
	assert_rc 0
	assert_json '.reservations | length' 0
	admin "$host" repair nothing-here --data-dir "$dir" --json
	assert_rc 0
	assert_json '.released | length' 0
	[ ! -e "$dir/nothing-here" ] || fail "an operator command created the store"
	# A store that is not a directory is an error.
	ln -s /etc "$dir/linked"
	admin "$host" list linked --data-dir "$dir"
	assert_rc 1
	assert_contains "$(cat "$ERRF")" "not a directory"
	# Run by a runtime, the same argv never reaches the operator commands.
	OUT=$(CNI_COMMAND=VERSION "$RIVET" list nothing-here </dev/null)
	assert_json '.supportedVersions | length' 7
}

test_admin_output_survives_hostile_file_content() {
	local host dir store
	ERRF=$(mktemp) && _register "rm -f $ERRF"
	mk_host host
	mk_dir dir
	store=$dir/odd
	mkdir -p "$store"
	# A container ID no runtime would send, in a file anyone with root could
	# write: a quote, a backslash, a control byte, an escape sequence and
	# a byte that is not UTF-8.
	printf 'a"b\\c\001d\033[31me\377f\r\neth0' >"$store/198.18.0.9"
	admin "$host" list odd --data-dir "$dir" --json
	assert_rc 0
	assert_json '.reservations[0].containerID' "$(printf 'a"b\\c\001d\033[31me\357\277\275f')"
	admin "$host" list odd --data-dir "$dir"
	assert_rc 0
	case "$OUT" in *$'\033'* | *$'\001'*) fail "control bytes reached the table: $(printf '%s' "$OUT" | od -c)" ;; esac
	assert_contains "$OUT" 'a"b\c?d?[31me?f'
}

# --- the version ----------------------------------------------------------------

# One release, from the VERSION file, everywhere an operator or a package
# manager reads it; the binary adds the commit it was built from.
test_version_is_one_release_everywhere() {
	local release commit out
	release=$(cat "$ROOT/VERSION")
	case "$release" in [0-9]*.[0-9]*.[0-9]*) ;; *) fail "VERSION holds '$release', not a release" ;; esac
	assert_eq "$(sed -n 's/^\.TH .*"rivet \([^"]*\)".*/\1/p' "$ROOT/docs/rivet.8")" "$release" "docs/rivet.8's release"
	assert_eq "$(cd "$ROOT" && dpkg-parsechangelog -S Version)" "$release-1" "debian/changelog's version"
	out=$("$RIVET" --version)
	if [ "$(cd "$ROOT" && git rev-parse --show-toplevel 2>/dev/null)" = "$(cd "$ROOT" && pwd -P)" ]; then
		# A commit of this repository (not necessarily HEAD: a commit
		# may land while the suites run), "-dirty" if the tree was.
		commit=$(echo "$out" | sed -n "s/^rivet $release (\([0-9a-f]\{7,\}\)\(-dirty\)\{0,1\})\$/\1/p")
		[ -n "$commit" ] || fail "rivet --version says '$out', want 'rivet $release (COMMIT)'"
		(cd "$ROOT" && git cat-file -e "$commit^{commit}") || fail "rivet --version names $commit, no commit of this repository"
	else
		assert_eq "$out" "rivet $release" "rivet --version outside a git checkout"
	fi
}

# --- the Debian package ------------------------------------------------------------

# dpkg refuses to run while another dpkg or apt holds its lock (another
# suite installing packages); wait for it rather than fail.
dpkg_retry() {
	local i out
	for i in $(seq 60); do
		out=$("$@" 2>&1) && return 0
		case "$out" in
		*lock*) sleep 5 ;;
		*) echo "$out" >&2; return 1 ;;
		esac
	done
	echo "$out" >&2
	return 1
}

test_package_builds_installs_runs_and_removes() {
	local dir deb lint out release
	mk_dir dir
	# One round trip on the machine at a time (several checkouts may run
	# their suites at once); the lock goes with this test's subshell.
	# /run/lock is where a booted Debian keeps locks; a chroot or a
	# container without an init may have no /run/lock, and /tmp serves.
	local lockdir=/run/lock
	[ -d "$lockdir" ] || lockdir=/tmp
	exec 9>"$lockdir/rivet-tests-package.lock" || fail "cannot open $lockdir/rivet-tests-package.lock"
	flock -w 900 9 || fail "another package round trip has held $lockdir/rivet-tests-package.lock for 15 minutes"
	if dpkg-query -W -f='${Status}' rivet 2>/dev/null | grep -q "ok installed"; then
		fail "a rivet package is already installed; refusing to replace it"
	fi
	[ ! -e /usr/lib/cni/rivet ] || fail "/usr/lib/cni/rivet exists and is no package's; refusing to replace it"
	[ ! -e /usr/sbin/rivet ] || fail "/usr/sbin/rivet exists and is no package's; refusing to replace it"

	# Build from a copy: dpkg-buildpackage writes into the parent directory.
	# The working tree as git sees it: tracked and new files, nothing git
	# ignores (build/, debian/rivet/ and other build outputs).
	mkdir "$dir/src"
	(cd "$ROOT" && git ls-files -z -co --exclude-standard | tar --null --ignore-failed-read -T - -cf -) |
		tar -C "$dir/src" -xf - || fail "cannot copy the tree"
	(cd "$dir/src" && dpkg-buildpackage -us -uc -b) >"$dir/build.log" 2>&1 ||
		fail "dpkg-buildpackage failed: $(tail -n 30 "$dir/build.log")"
	deb=$(ls "$dir"/rivet_*_*.deb) || fail "no .deb built: $(ls "$dir")"
	release=$(cat "$ROOT/VERSION")
	assert_eq "$(dpkg-deb -f "$deb" Package) $(dpkg-deb -f "$deb" Version)" "rivet $release-1" "package"
	dpkg-deb -c "$deb" >"$dir/contents"
	grep -q " ./usr/sbin/rivet -> ../lib/cni/rivet\$" "$dir/contents" ||
		fail "no link /usr/sbin/rivet to the plugin: $(cat "$dir/contents")"
	for f in ./usr/lib/cni/rivet ./usr/share/man/man8/rivet.8.gz \
		./usr/share/doc/rivet/examples/10-rivet.conflist ./usr/share/doc/rivet/examples/daemonset.yaml \
		./usr/share/doc/rivet/examples/install-cni.sh ./usr/share/doc/rivet/copyright; do
		grep -q " $f\$" "$dir/contents" || fail "$f missing from the package: $(cat "$dir/contents")"
	done

	# The agent has a package of its own, which alone brings libcurl; it is
	# looked into, not installed (the machine would then hold a rivetd).
	local dmn
	dmn=$(ls "$dir"/rivetd_*_*.deb) || fail "no rivetd .deb built: $(ls "$dir")"
	assert_eq "$(dpkg-deb -f "$dmn" Version)" "$release-1" "rivetd's version"
	assert_contains "$(dpkg-deb -f "$dmn" Depends)" "rivet (= $release-1)" "rivetd's dependency on the plugin"
	assert_contains "$(dpkg-deb -f "$dmn" Depends)" "libcurl4" "rivetd's libraries"
	assert_not_contains "$(dpkg-deb -f "$deb" Depends)" "libcurl" "the plugin's libraries"
	dpkg-deb -c "$dmn" >"$dir/contents-rivetd"
	for f in ./usr/sbin/rivetd ./usr/share/man/man8/rivetd.8.gz; do
		grep -q " $f\$" "$dir/contents-rivetd" || fail "$f missing from rivetd's package: $(cat "$dir/contents-rivetd")"
	done
	grep -q "rivetd" "$dir/contents" && fail "the plugin's package holds rivetd: $(grep rivetd "$dir/contents")"

	lint=$(cd "$dir" && lintian --fail-on error ./*.changes 2>&1)
	[ $? = 0 ] || fail "lintian: $lint"
	! printf '%s\n' "$lint" | grep -q '^E:' || fail "lintian errors: $lint"

	# Removed again whatever happens below.
	_register "dpkg_retry dpkg -r rivet"
	dpkg_retry dpkg -i "$deb" || fail "dpkg -i failed"
	[ -x /usr/lib/cni/rivet ] || fail "no /usr/lib/cni/rivet after dpkg -i"
	OUT=$(CNI_COMMAND=VERSION /usr/lib/cni/rivet </dev/null)
	RC=$?
	assert_rc 0
	assert_json '.supportedVersions | index("1.1.0") != null' true
	OUT=$(printf '{"cniVersion":"1.0.0"}' | CNI_COMMAND=VERSION /usr/lib/cni/rivet)
	assert_json '.cniVersion' 1.0.0
	# Built from a tree without .git, as a source package is: no commit.
	assert_eq "$(/usr/lib/cni/rivet --version)" "rivet $release" "--version of the packaged binary"
	out=$(/usr/lib/cni/rivet 2>&1 >/dev/null)
	assert_contains "$out" "CNI rivet plugin $release"
	assert_contains "$(zcat /usr/share/man/man8/rivet.8.gz | grep '^\.TH')" "\"rivet $release\"" "the man page's release"
	man -w rivet >/dev/null 2>&1 || [ -f /usr/share/man/man8/rivet.8.gz ] || fail "man page not installed"
	dpkg -L rivet | grep -qx /usr/lib/cni/rivet || fail "dpkg does not own /usr/lib/cni/rivet"
	# The man page's operator commands run as typed, from root's PATH.
	OUT=$(PATH=/usr/sbin:/usr/bin:/sbin:/bin rivet list nothing-here --data-dir "$dir" --json)
	RC=$?
	assert_rc 0
	assert_json '.reservations | length' 0

	dpkg_retry dpkg -r rivet || fail "dpkg -r failed"
	[ ! -e /usr/lib/cni/rivet ] || fail "/usr/lib/cni/rivet left after dpkg -r"
	[ ! -e /usr/sbin/rivet ] && [ ! -L /usr/sbin/rivet ] || fail "/usr/sbin/rivet left after dpkg -r"
	[ ! -e /usr/share/man/man8/rivet.8.gz ] || fail "man page left after dpkg -r"
	! dpkg-query -W -f='${Status}' rivet 2>/dev/null | grep -q "ok installed" || fail "still installed"
	[ -x /usr/lib/cni/host-local ] || fail "removing rivet took the reference plugins with it"
}

run_tests
