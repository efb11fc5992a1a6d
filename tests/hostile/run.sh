#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# Hostile and broken input, through the real binary, in throwaway namespaces.
# Every case runs against a node that already has a live pod (a veth, host
# routes, reservations, index entries), and must be refused with the right
# CNI error code and exactly one error object on stdout, leaving the host
# netns, the pod netns, the store and any victim file exactly as they were:
# a snapshot (links, routes, addresses, `find -printf '%p %s %m %l'`, file
# contents) is compared before and after.
#
# A few cases are not refusals: a symlink planted where rivet would write a
# file must be neither followed nor removed, and the call works around it.
# Those say so in their name (test_survives_*).
#
# The cases: malformed JSON, wrong types, huge values, odd names, path-like
# names, symlinks in the dataDir, full and read-only dataDirs (in a private
# mount namespace), netns paths that are not netns, lying prevResults, and
# the modes and open flags of what rivet writes.
. "$(dirname "$0")/../lib.sh"

NET=hostile
BOOT=$(cat /proc/sys/kernel/random/boot_id)

# The node: $host with a live pod c0/eth0 of network $NET in $live, a pod
# netns $pod for the hostile call, a dataDir $dir, and $victim, a file
# outside the store that nothing may ever write to.
setup() {
	mk_host host; mk_pod live; mk_pod pod; mk_dir dir
	CONF=$(mk_conf "$NET" "$dir" 1.0.0 '[[{"subnet":"198.18.0.0/24"}],[{"subnet":"fd5a:7e57:1::/64"}]]')
	cni ADD "$host" "$live" c0 eth0 "$CONF"
	assert_rc 0
	victim=$dir/victim
	printf 'root:x:0:0:root:/root:/bin/bash\n' >"$victim"
	chmod 644 "$victim"
}

# conf JQ-FILTER: the config, edited.
conf() { printf '%s' "$CONF" | jq -c "$1"; }

snapshot() {
	local ns
	for ns in "$host" "$live" "$pod"; do
		echo "== $ns"
		ip -n "$ns" -d link show 2>/dev/null | grep -v -e 'Peer netns reference'
		ip -n "$ns" addr show 2>/dev/null | grep -v valid_lft
		ip -n "$ns" route show table all 2>/dev/null
		ip -n "$ns" -6 route show table all 2>/dev/null
		ip -n "$ns" neigh show 2>/dev/null | grep PERMANENT
	done
	echo "== store"
	find "$dir" -printf '%p %s %m %l\n' | sort
	find "$dir" -type f -exec md5sum {} + | sort
	echo "== victim"
	cat "$victim"
}

# reject CODE CMD [POD [ID [IFNAME [CONF [ENV...]]]]]: the call is refused
# with CODE and one error object; nothing changes.
reject() {
	local code=$1 cmd=$2 p=${3-$pod} id=${4-c1} ifname=${5-eth0} c=${6-$CONF} before after
	shift $(($# < 6 ? $# : 6))
	before=$(snapshot)
	cni "$cmd" "$host" "$p" "$id" "$ifname" "$c" "$@"
	assert_cni_error "$code"
	after=$(snapshot)
	[ "$before" = "$after" ] || fail "the host or the store changed:
$(diff <(echo "$before") <(echo "$after") | head -n 20)"
}

# ---- malformed JSON (6) ----------------------------------------------------
test_json_empty_stdin() { setup; reject 6 ADD "$pod" c1 eth0 ""; }
test_json_truncated() { setup; reject 6 ADD "$pod" c1 eth0 "${CONF:0:60}"; }
test_json_not_an_object() { setup; reject 6 ADD "$pod" c1 eth0 '["cniVersion","1.0.0"]'; }
test_json_trailing_garbage() { setup; reject 6 ADD "$pod" c1 eth0 "$CONF trailing"; }
test_json_two_objects() { setup; reject 6 ADD "$pod" c1 eth0 "$CONF$CONF"; }
test_json_nul_byte() { setup; reject 6 ADD "$pod" c1 eth0 "$(printf '{"cniVersion":"1.0.0","name":"a\\u0000b"')"; }
test_json_nested_100k_deep() { setup; reject 6 ADD "$pod" c1 eth0 "$(head -c 100000 /dev/zero | tr '\0' '[')"; }
test_json_20mb_stdin() {
	setup
	local big
	big=$(mktemp "$dir/big.XXXXXX")
	{ head -c $((20 << 20)) /dev/zero | tr '\0' ' '; printf '%s' "$CONF"; } >"$big"
	local before after
	before=$(snapshot | grep -v "$big")
	OUT=$(ip netns exec "$host" env CNI_COMMAND=ADD CNI_CONTAINERID=c1 CNI_NETNS=/run/netns/$pod \
		CNI_IFNAME=eth0 CNI_PATH="$CNI_BIN" timeout 20 "$RIVET" <"$big" 2>/dev/null)
	RC=$?
	assert_cni_error 6
	assert_contains "$(echo "$OUT" | jq -r .msg)" "larger than"
	after=$(snapshot | grep -v "$big")
	[ "$before" = "$after" ] || fail "changed: $(diff <(echo "$before") <(echo "$after") | head)"
}

# ---- wrong types (6) -------------------------------------------------------
test_type_name_number() { setup; reject 6 ADD "$pod" c1 eth0 "$(conf '.name = 5')"; }
test_type_cniversion_number() { setup; reject 6 ADD "$pod" c1 eth0 "$(conf '.cniVersion = 1.0')"; }
test_type_mtu_string() { setup; reject 6 ADD "$pod" c1 eth0 "$(conf '.mtu = "1500"')"; }
test_type_ipam_string() { setup; reject 6 ADD "$pod" c1 eth0 "$(conf '.ipam = "host-local"')"; }
test_type_ranges_object() { setup; reject 6 ADD "$pod" c1 eth0 "$(conf '.ipam.ranges = {"subnet":"198.18.0.0/24"}')"; }
test_type_ipmasq_string() { setup; reject 6 ADD "$pod" c1 eth0 "$(conf '.ipMasq = "yes"')"; }
test_type_dns_list() { setup; reject 6 ADD "$pod" c1 eth0 "$(conf '.dns = ["198.18.0.53"]')"; }
test_type_gc_attachments_not_a_list() {
	setup
	reject 6 GC "" "" "" "$(conf '.cniVersion = "1.1.0" | ."cni.dev/valid-attachments" = "c0"')"
}

# ---- huge or impossible values (7) ----------------------------------------
test_huge_mtu_1e300() { setup; reject 7 ADD "$pod" c1 eth0 "$(conf '.mtu = 1e300')"; }
test_huge_mtu_negative() { setup; reject 7 ADD "$pod" c1 eth0 "$(conf '.mtu = -1')"; }
test_huge_mtu_65536() { setup; reject 7 ADD "$pod" c1 eth0 "$(conf '.mtu = 65536')"; }
test_huge_100k_range_sets() {
	setup
	reject 7 ADD "$pod" c1 eth0 "$(conf '.ipam.ranges = [range(100000) | [{"subnet":"198.18.0.0/24"}]]')"
}
test_huge_500_requested_ips() {
	setup
	reject 7 ADD "$pod" c1 eth0 "$(conf '.runtimeConfig.ips = [range(500) | "198.18.0.\(. % 250 + 2)"]')"
}
test_huge_prefix_length() { setup; reject 7 ADD "$pod" c1 eth0 "$(conf '.ipam.ranges[0][0].subnet = "198.18.0.0/99"')"; }
test_huge_log_size_1e300() { setup; reject 7 ADD "$pod" c1 eth0 "$(conf '.logMaxSizeMB = 1e300')"; }
# Refused before an address is reserved: not even last_reserved_ip moves.
test_huge_33_ipam_routes() {
	setup
	reject 7 ADD "$pod" c1 eth0 "$(conf '.ipam.routes = [range(33) | {"dst": "198.19.\(.).0/24"}]')"
}
test_range_start_outside_subnet() {
	setup
	reject 7 ADD "$pod" c1 eth0 "$(conf '.ipam.ranges[0][0].rangeStart = "198.19.0.5"')"
}

# ---- odd names (4 for CNI_*, 7 for the config) ----------------------------
test_ifname_16_chars() { setup; reject 4 ADD "$pod" c1 eth0123456789abc; }
test_ifname_slash() { setup; reject 4 ADD "$pod" c1 eth/0; }
test_ifname_colon() { setup; reject 4 ADD "$pod" c1 eth:0; }
test_ifname_space() { setup; reject 4 ADD "$pod" c1 "eth 0"; }
test_ifname_newline() { setup; reject 4 ADD "$pod" c1 $'eth\n0'; }
test_ifname_dotdot() { setup; reject 4 ADD "$pod" c1 ..; }
# libcni refuses every Unicode space (unicode.IsSpace), and so does the
# kernel for U+00A0's second byte: it must be refused before any work.
# U+00A0 is written as its UTF-8 bytes: bash's \u gives them only under a
# UTF-8 locale, and the six characters "\u00a0" (a valid name) otherwise.
test_ifname_unicode_space() { setup; reject 4 ADD "$pod" c1 $'eth\xc2\xa00'; }
test_ifname_del_slash() { setup; reject 4 DEL "$pod" c0 eth/0; }
test_container_id_slash() { setup; reject 4 ADD "$pod" a/b eth0; }
test_container_id_dotdot() { setup; reject 4 ADD "$pod" .. eth0; }
test_container_id_300_chars() { setup; reject 4 ADD "$pod" "$(printf 'a%.0s' $(seq 300))" eth0; }
test_container_id_del_path() { setup; reject 4 DEL "$pod" ../../etc eth0; }
test_container_id_newline() { setup; reject 4 ADD "$pod" $'c1\n' eth0; }
test_network_name_dotdot_x() { setup; reject 7 ADD "$pod" c1 eth0 "$(conf '.name = "../x"')"; }
test_network_name_a_slash_b() { setup; reject 7 ADD "$pod" c1 eth0 "$(conf '.name = "a/b"')"; }
test_network_name_dot() { setup; reject 7 ADD "$pod" c1 eth0 "$(conf '.name = "."')"; }
test_network_name_300_chars() { setup; reject 7 ADD "$pod" c1 eth0 "$(conf ".name = \"$(printf 'n%.0s' $(seq 300))\"")"; }
test_network_name_del_path() { setup; reject 7 DEL "$pod" c0 eth0 "$(conf '.name = "../../../tmp"')"; }
test_datadir_relative() { setup; reject 7 ADD "$pod" c1 eth0 "$(conf '.ipam.dataDir = "var/lib/cni"')"; }
test_ipam_type_path() { setup; reject 7 ADD "$pod" c1 eth0 "$(conf '.ipam.type = "../../bin/sh"')"; }
test_netns_relative() { setup; reject 4 ADD "$pod" c1 eth0 "$CONF" CNI_NETNS="run/netns/$pod"; }
test_unknown_command() { setup; reject 4 FROB "$pod" c1 eth0; }
test_cni_args_not_pairs() { setup; reject 4 ADD "$pod" c1 eth0 "$CONF" CNI_ARGS='IgnoreUnknown'; }
test_cni_args_bad_ip() { setup; reject 4 ADD "$pod" c1 eth0 "$CONF" CNI_ARGS='IP=198.18.0.256'; }
test_cni_args_ip_outside() { setup; reject 7 ADD "$pod" c1 eth0 "$CONF" CNI_ARGS='IP=198.19.0.5'; }
test_requested_ip_held_by_live_pod() { setup; reject 103 ADD "$pod" c1 eth0 "$CONF" CNI_ARGS='IP=198.18.0.2'; }

# ---- netns paths that are not a netns -------------------------------------
test_netns_regular_file() { setup; touch "$dir/fake"; reject 4 ADD "$dir/fake"; }
test_netns_directory() { setup; reject 4 ADD "$dir"; }
test_netns_mnt_namespace() { setup; reject 4 ADD /proc/self/ns/mnt; }
test_netns_dev_null() { setup; reject 4 ADD /dev/null; }
test_netns_own_namespace() { setup; reject 4 ADD /proc/self/ns/net; }
test_netns_missing() { setup; reject 3 ADD /run/netns/rvt-no-such-netns; }
# A FIFO: opening it for reading must not block rivet until a writer comes.
test_netns_fifo() {
	setup
	mkfifo "$dir/fifo"
	local before t0
	before=$(snapshot)
	t0=$SECONDS
	OUT=$(printf '%s' "$CONF" | ip netns exec "$host" env CNI_COMMAND=ADD CNI_CONTAINERID=c1 \
		CNI_NETNS="$dir/fifo" CNI_IFNAME=eth0 timeout 5 "$RIVET" 2>/dev/null)
	RC=$?
	[ "$RC" != 124 ] || fail "rivet blocked opening a FIFO given as CNI_NETNS (killed after 5 s)"
	assert_cni_error 4
	assert_eq "$(snapshot)" "$before" "the node"
}

# ---- STATUS only reads --------------------------------------------------------
# STATUS creates nothing: no store directory for a network never used, and
# neither lock nor index in a store host-local made.
test_status_touches_nothing() {
	setup
	local before after
	mkdir "$dir/hl"
	printf 'hl1\r\neth0' >"$dir/hl/198.18.0.9"
	before=$(snapshot)
	cni STATUS "$host" "" "" "" "$(conf '.cniVersion = "1.1.0" | .name = "never-used"')"
	assert_rc 0
	cni STATUS "$host" "" "" "" "$(conf '.cniVersion = "1.1.0" | .name = "hl"')"
	assert_rc 0
	cni STATUS "$host" "" "" "" "$(conf '.cniVersion = "1.1.0"')"
	assert_rc 0
	after=$(snapshot)
	[ "$before" = "$after" ] || fail "STATUS changed the node or the store:
$(diff <(echo "$before") <(echo "$after") | head -n 20)"
}

# ---- a prevResult that lies (CHECK, and ADD in a chain) --------------------
# The live pod's real prevResult, edited.
prev() { # JQ-FILTER on the result
	cni ADD "$host" "$live" c0 eth0 "$CONF"	# a retried ADD returns the same
	printf '%s' "$CONF" | jq -c --argjson r "$OUT" "(. + {prevResult: \$r}) | $1"
}
test_prev_interface_index_out_of_range() { setup; reject 7 CHECK "$live" c0 eth0 "$(prev '.prevResult.ips[0].interface = 99')"; }
test_prev_interface_index_negative() { setup; reject 7 CHECK "$live" c0 eth0 "$(prev '.prevResult.ips[0].interface = -1')"; }
test_prev_address_not_an_ip() { setup; reject 7 CHECK "$live" c0 eth0 "$(prev '.prevResult.ips[0].address = "pod"')"; }
test_prev_interfaces_a_string() { setup; reject 6 CHECK "$live" c0 eth0 "$(prev '.prevResult.interfaces = "eth0"')"; }
test_prev_ips_an_object() { setup; reject 6 CHECK "$live" c0 eth0 "$(prev '.prevResult.ips = {}')"; }
test_prev_gateway_family_mismatch() { setup; reject 7 CHECK "$live" c0 eth0 "$(prev '.prevResult.ips[0].gateway = "fe80::1"')"; }
test_prev_address_not_held() { setup; reject 108 CHECK "$live" c0 eth0 "$(prev '.prevResult.ips[0].address = "198.18.0.99/32"')"; }
test_prev_address_of_another_pod() {
	setup
	cni ADD "$host" "$pod" c1 eth0 "$CONF"; assert_rc 0
	reject 108 CHECK "$live" c0 eth0 "$(prev '.prevResult.ips[0].address = "198.18.0.3/32"')"
}
test_prev_other_sandbox() { setup; reject 108 CHECK "$live" c0 eth0 "$(prev '.prevResult.interfaces[1].sandbox = "/run/netns/other"')"; }
test_prev_lies_in_a_chain_add() { setup; reject 7 ADD "$pod" c1 eth0 "$(prev '.prevResult.ips[0].interface = 7')"; }

# ---- symlinks planted in the dataDir --------------------------------------
test_store_network_dir_symlink() {
	setup
	mkdir "$dir/elsewhere"
	ln -s "$dir/elsewhere" "$dir/other"
	reject 109 ADD "$pod" c1 eth0 "$(conf '.name = "other"')"
}
test_store_lock_symlink() {
	setup
	mkdir "$dir/n2"; ln -s "$victim" "$dir/n2/lock"
	reject 109 ADD "$pod" c1 eth0 "$(conf '.name = "n2"')"
}
test_store_index_dir_symlink() {
	setup
	mkdir -p "$dir/n2" "$dir/elsewhere"; ln -s "$dir/elsewhere" "$dir/n2/.rivet"
	touch "$dir/n2/lock"; chmod 600 "$dir/n2/lock"
	reject 109 ADD "$pod" c1 eth0 "$(conf '.name = "n2"')"
}
test_store_boot_dir_symlink() {
	setup
	mkdir -p "$dir/n2/.rivet" "$dir/elsewhere"; ln -s "$dir/elsewhere" "$dir/n2/.rivet/boot-$BOOT"
	reject 109 ADD "$pod" c1 eth0 "$(conf '.name = "n2"')"
}
# The next address is a symlink to the victim: it is taken, not written
# through; the pod gets the address after it; DEL and GC leave it alone.
test_survives_symlink_named_like_the_next_address() {
	setup
	local before gc
	ln -s "$victim" "$dir/$NET/198.18.0.3"
	ln -s "$victim" "$dir/$NET/fd5a:7e57:1::3"
	cni ADD "$host" "$pod" c1 eth0 "$CONF"
	assert_rc 0
	assert_json '.ips[0].address' 198.18.0.4/32
	assert_json '.ips[1].address' fd5a:7e57:1::4/128
	cni DEL "$host" "$pod" c1 eth0 "$CONF"
	assert_rc 0
	before=$(snapshot)
	gc=$(conf '.cniVersion = "1.1.0" | ."cni.dev/valid-attachments" = [{"containerID":"c0","ifname":"eth0"}]')
	cni GC "$host" "" "" "" "$gc"
	assert_rc 0
	assert_eq "$(snapshot)" "$before" "the node after GC"
	[ "$(readlink "$dir/$NET/198.18.0.3")" = "$victim" ] || fail "the planted symlink went"
	assert_eq "$(cat "$victim")" 'root:x:0:0:root:/root:/bin/bash' "victim"
}
test_survives_last_reserved_ip_symlink() {
	setup
	rm -f "$dir/$NET/last_reserved_ip.0"
	ln -s "$victim" "$dir/$NET/last_reserved_ip.0"
	cni ADD "$host" "$pod" c1 eth0 "$CONF"
	assert_rc 0
	assert_eq "$(cat "$victim")" 'root:x:0:0:root:/root:/bin/bash' "victim"
	[ -L "$dir/$NET/last_reserved_ip.0" ] || fail "the symlink was replaced"
}
# A FIFO where last_reserved_ip.0 belongs: opening it to write would block
# until a reader came, with the store locked, and every other ADD and DEL of
# the network would then time out. It is not a regular file: rivet neither
# waits on it nor replaces it, and the ADD works.
test_survives_last_reserved_ip_fifo() {
	setup
	rm -f "$dir/$NET/last_reserved_ip.0"
	mkfifo -m 600 "$dir/$NET/last_reserved_ip.0"
	OUT=$(printf '%s' "$CONF" | ip netns exec "$host" env CNI_COMMAND=ADD CNI_CONTAINERID=c1 \
		CNI_NETNS=/run/netns/$pod CNI_IFNAME=eth0 CNI_PATH="$CNI_BIN" timeout 10 "$RIVET" 2>/dev/null)
	RC=$?
	[ "$RC" != 124 ] || fail "ADD blocked on a FIFO at last_reserved_ip.0 (killed after 10 s)"
	assert_rc 0
	[ -p "$dir/$NET/last_reserved_ip.0" ] || fail "the FIFO was replaced"
	cni DEL "$host" "$pod" c1 eth0 "$CONF"
	assert_rc 0
}
# The lock must be a regular file too: a FIFO there is refused like a
# symlink, before anything is created.
test_store_lock_fifo() {
	setup
	mkdir "$dir/n2"; mkfifo -m 600 "$dir/n2/lock"
	reject 109 ADD "$pod" c1 eth0 "$(conf '.name = "n2"')"
}
# An index entry of the live pod replaced by a symlink that leads out of the
# store: DEL must not follow it, and must still release the pod's address.
test_survives_index_entry_pointing_outside() {
	setup
	local e=$dir/$NET/.rivet/boot-$BOOT/c0:eth0:0
	rm -f "$e"
	ln -s "../../../victim" "$e"
	cni DEL "$host" "$live" c0 eth0 "$CONF"
	assert_rc 0
	assert_eq "$(cat "$victim")" 'root:x:0:0:root:/root:/bin/bash' "victim"
	[ ! -e "$dir/$NET/198.18.0.2" ] || fail "DEL did not release 198.18.0.2"
	assert_clean "$host" "$dir/$NET"
}
# An earlier boot's index entry that leads out of the store is not followed
# when that boot is reclaimed.
test_survives_earlier_boot_entry_pointing_outside() {
	setup
	mkdir -p "$dir/n3/.rivet/boot-0badb007-0000-4000-8000-00000000beef"
	ln -s ../../../victim "$dir/n3/.rivet/boot-0badb007-0000-4000-8000-00000000beef/root:eth0:0"
	ln -s "$victim" "$dir/n3/.rivet/boot-0badb007-0000-4000-8000-00000000beef/c9:eth0:0"
	cni ADD "$host" "$pod" c1 eth0 "$(conf '.name = "n3" | .ipam.ranges = [[{"subnet":"198.18.2.0/24"}]]')"
	assert_rc 0
	assert_eq "$(cat "$victim")" 'root:x:0:0:root:/root:/bin/bash' "victim"
	[ -f "$victim" ] || fail "victim removed"
}

# ---- full and read-only dataDirs, in a private mount namespace -------------
# in_private_mount FN: run FN in a new mount namespace (so the mounts it
# makes vanish with it), sharing this shell's functions and variables.
in_private_mount() {
	export -f "$@" snapshot reject cni conf assert_cni_error assert_rc assert_json assert_eq assert_contains fail
	export host live pod dir CONF victim NET RIVET CNI_BIN
	unshare --mount --propagation private bash -c "$*"
}
full_fs_case() {
	mount -t tmpfs -o size=256k,mode=755 rvt-full "$dir/full" || fail "cannot mount a tmpfs"
	# Another store: other ranges, so its addresses are not the live pod's.
	CONF=$(conf '.ipam.dataDir = "'"$dir/full"'" | .ipam.ranges = [[{"subnet":"198.18.1.0/24"}],[{"subnet":"fd5a:7e57:2::/64"}]]')
	cni ADD "$host" "$live" c0 eth1 "$CONF"	# the store exists and has a pod
	assert_rc 0
	dd if=/dev/zero of="$dir/full/fill" bs=4k 2>/dev/null
	sync
	reject 5 ADD "$pod" c1 eth0 "$CONF"
}
test_datadir_on_full_filesystem() {
	setup
	mkdir "$dir/full"
	in_private_mount full_fs_case || exit 1
}
ro_fs_case() {
	mount --bind "$dir" "$dir" && mount -o remount,ro,bind "$dir" || fail "cannot make $dir read-only"
	reject 5 ADD "$pod" c1 eth0 "$CONF"
}
test_datadir_read_only() {
	setup
	in_private_mount ro_fs_case || exit 1
}
ro_new_network_case() {
	mount --bind "$dir" "$dir" && mount -o remount,ro,bind "$dir" || fail "cannot make $dir read-only"
	reject 5 ADD "$pod" c1 eth0 "$(conf '.name = "fresh"')"
}
test_datadir_read_only_new_network() {
	setup
	in_private_mount ro_new_network_case || exit 1
}

# STATUS still says ADD cannot work when the store cannot be written, now
# that it only reads: for an existing store and for one not made yet.
ro_status_case() {
	mount --bind "$dir" "$dir" && mount -o remount,ro,bind "$dir" || fail "cannot make $dir read-only"
	cni STATUS "$host" "" "" "" "$(conf '.cniVersion = "1.1.0"')"
	assert_cni_error 50
	cni STATUS "$host" "" "" "" "$(conf '.cniVersion = "1.1.0" | .name = "fresh"')"
	assert_cni_error 50
}
test_status_on_a_read_only_datadir() {
	setup
	in_private_mount ro_status_case || exit 1
}

# ---- what rivet writes: modes and open flags --------------------------------
test_modes_no_wider_than_host_local() {
	setup
	local bad
	# host-local: 0600 files, 0755 directories (os.MkdirAll(dir, 0755)).
	bad=$(find "$dir/$NET" \( -type f -perm /0177 \) -o \( -type d -perm /0022 \) -printf '%p %m\n')
	[ -z "$bad" ] || fail "modes wider than host-local's: $bad"
	# A umask of 0 must not widen them.
	bad=$(ip netns exec "$host" sh -c "umask 0; exec env CNI_COMMAND=ADD CNI_CONTAINERID=c2 CNI_NETNS=/run/netns/$pod \
		CNI_IFNAME=eth1 '$RIVET'" <<<"$(conf '.name = "umask0"')" >/dev/null 2>&1;
		find "$dir/umask0" \( -type f -perm /0177 \) -o \( -type d -perm /0022 \) -printf '%p %m\n')
	[ -z "$bad" ] || fail "modes wider than host-local's under umask 0: $bad"
}
# Every open(2) under the dataDir that can create or write follows no
# symlink (O_NOFOLLOW, or O_TMPFILE/O_EXCL, which never follow one).
test_open_flags_under_the_datadir() {
	command -v strace >/dev/null || scripts/apt-install.sh strace >/dev/null 2>&1
	command -v strace >/dev/null || { echo "    (strace not available; skipped)"; return 0; }
	setup
	local log=$dir/strace.log bad
	# LeakSanitizer cannot run under ptrace; the sanitizer suite's other
	# runs cover leaks.
	export ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0
	printf '%s' "$CONF" | ip netns exec "$host" env CNI_COMMAND=ADD CNI_CONTAINERID=c1 \
		CNI_NETNS=/run/netns/$pod CNI_IFNAME=eth0 strace -f -qq -e trace=open,openat,openat2 -o "$log" \
		"$RIVET" >/dev/null 2>&1
	printf '%s' "$CONF" | ip netns exec "$host" env CNI_COMMAND=DEL CNI_CONTAINERID=c1 \
		CNI_NETNS=/run/netns/$pod CNI_IFNAME=eth0 strace -f -qq -e trace=open,openat,openat2 -o "$log.del" \
		"$RIVET" >/dev/null 2>&1
	[ -s "$log" ] || fail "strace recorded nothing"
	# Relative opens are relative to the store's directory fd.
	bad=$(cat "$log" "$log.del" | grep -E 'O_CREAT|O_WRONLY|O_RDWR|O_TRUNC' |
		grep -vE '"/(proc|sys|dev)/' | grep -v O_NOFOLLOW | grep -v O_TMPFILE | grep -v O_EXCL || true)
	[ -z "$bad" ] || fail "writes that would follow a symlink: $bad"
	# Every file opened in the store is opened non-blocking: a FIFO
	# planted there must not stop rivet while it holds the lock.
	bad=$(cat "$log" "$log.del" | grep -E 'openat\([0-9]+, |"'"$dir"'/' |
		grep -v O_NONBLOCK | grep -v O_DIRECTORY | grep -v O_TMPFILE || true)
	[ -z "$bad" ] || fail "blocking opens in the store: $bad"
}

run_tests
