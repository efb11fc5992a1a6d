#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# The IPAM store against the reference: rivet and Debian's host-local (run
# by Debian's ptp, as nodes run it today) share one dataDir and network, in
# turns and all at once, and neither ever hands out an address the other
# holds; every file is in host-local's format; each releases the other's
# reservations. Also: delegation to Debian's static IPAM plugin.
. "$(dirname "$0")/../lib.sh"

NET=shared
RANGES='[[{"subnet":"198.18.0.0/24"}]]'

conf_for() { # plugin dir
	printf '{"cniVersion":"0.4.0","name":"%s","type":"%s","ipam":{"type":"host-local","dataDir":"%s","ranges":%s}}' \
		"$NET" "$1" "$2" "$RANGES"
}

# ptp (Debian's) through the same harness: CNI_PATH finds host-local.
ptp() { local save=$RIVET; RIVET=$CNI_BIN/ptp; cni "$@"; RIVET=$save; }

# Every reservation file: an address as its name, "<id>\r\n<ifname>" inside,
# no trailing newline. rivet's are 0600; Debian's host-local 1.1.1 writes
# 0644 (upstream narrowed it to 0600 later), so those may be either.
assert_store_format() {
	local dir=$1 f id mode
	for f in "$dir"/*; do
		case "$(basename "$f")" in lock | last_reserved_ip.*) continue ;; esac
		mode=$(stat -c %a "$f")
		# rivet's index entry is a second link to the same file.
		if [ "$(stat -c %h "$f")" = 2 ]; then
			[ "$mode" = 600 ] || fail "rivet wrote $f with mode $mode"
		else
			case "$mode" in 600 | 644) ;; *) fail "mode of $f is $mode" ;; esac
		fi
		id=$(od -An -c "$f" | tr -d ' \n')
		case "$id" in *\\r\\n*) ;; *) fail "$f is not '<id>\\r\\n<ifname>': $id" ;; esac
		case "$id" in *\\n) fail "$f ends with a newline" ;; esac
	done
}

addr_of() { # netns ifname
	ip -n "$1" -4 -o addr show dev "$2" | awk '{print $4}' | cut -d/ -f1
}

test_alternating_with_host_local() {
	local host dir i pods=() seen="" a
	mk_host host; mk_dir dir
	for i in $(seq 0 9); do
		mk_pod "pods[$i]"
		if [ $((i % 2)) = 0 ]; then
			cni ADD "$host" "${pods[$i]}" alt$i eth0 "$(conf_for rivet "$dir")"
		else
			ptp ADD "$host" "${pods[$i]}" alt$i eth0 "$(conf_for ptp "$dir")"
		fi
		assert_rc 0
		a=$(addr_of "${pods[$i]}" eth0)
		[ -n "$a" ] || fail "pod $i has no address"
		case " $seen " in *" $a "*) fail "$a handed out twice" ;; esac
		seen="$seen $a"
		[ -f "$dir/$NET/$a" ] || fail "no reservation file for $a"
	done
	assert_store_format "$dir/$NET"
	# host-local's round robin continues where rivet stopped and vice versa.
	assert_eq "$(echo $seen | tr ' ' '\n' | sort -t. -k4 -n | tr '\n' ' ')" \
		"198.18.0.2 198.18.0.3 198.18.0.4 198.18.0.5 198.18.0.6 198.18.0.7 198.18.0.8 198.18.0.9 198.18.0.10 198.18.0.11 " "addresses"

	# Each releases the other's: rivet DELs what host-local reserved, ptp
	# (host-local) DELs what rivet reserved, including rivet's index entry.
	for i in $(seq 0 9); do
		if [ $((i % 2)) = 0 ]; then
			ptp DEL "$host" "${pods[$i]}" alt$i eth0 "$(conf_for ptp "$dir")"
		else
			cni DEL "$host" "${pods[$i]}" alt$i eth0 "$(conf_for rivet "$dir")"
		fi
		assert_rc 0
	done
	[ -z "$(ls "$dir/$NET" | grep -v '^lock$\|^last_reserved_ip')" ] || fail "reservations left: $(ls "$dir/$NET")"
	[ -z "$(find "$dir/$NET/.rivet" -mindepth 2 2>/dev/null)" ] || fail "index entries left: $(find "$dir/$NET/.rivet" -mindepth 2)"
}

test_32_parallel_adds_with_host_local() {
	local host dir i pods=() addrs n uniq
	mk_host host; mk_dir dir
	for i in $(seq 0 31); do mk_pod "pods[$i]"; done
	for i in $(seq 0 31); do
		if [ $((i % 2)) = 0 ]; then
			(cni ADD "$host" "${pods[$i]}" par$i eth0 "$(conf_for rivet "$dir")"; echo "$RC" >"$dir/rc.$i") &
		else
			(ptp ADD "$host" "${pods[$i]}" par$i eth0 "$(conf_for ptp "$dir")"; echo "$RC" >"$dir/rc.$i") &
		fi
	done
	wait
	for i in $(seq 0 31); do
		assert_eq "$(cat "$dir/rc.$i")" 0 "exit status of ADD $i"
	done
	addrs=$(for i in $(seq 0 31); do addr_of "${pods[$i]}" eth0; done)
	n=$(echo "$addrs" | grep -c .)
	uniq=$(echo "$addrs" | sort -u | grep -c .)
	assert_eq "$n" 32 "pods with an address"
	assert_eq "$uniq" 32 "distinct addresses"
	assert_eq "$(ls "$dir/$NET" | grep -c '^198\.18\.')" 32 "reservation files"
	assert_store_format "$dir/$NET"
	for a in $addrs; do
		i=$(tr -d '\r' <"$dir/$NET/$a" | head -c 5)
		case "$i" in par*) ;; *) fail "$a is held by '$i'" ;; esac
	done
}

test_rivet_releases_old_format_files() {
	local host pod dir
	mk_host host; mk_pod pod; mk_dir dir
	mkdir -p "$dir/$NET"
	# Files of host-local before it stored the ifname: the container ID only.
	printf 'oldctr' >"$dir/$NET/198.18.0.9"
	printf 'otherctr' >"$dir/$NET/198.18.0.10"
	cni DEL "$host" "" oldctr eth0 "$(conf_for rivet "$dir")"
	assert_rc 0
	[ ! -e "$dir/$NET/198.18.0.9" ] || fail "old-format reservation of oldctr not released"
	[ -e "$dir/$NET/198.18.0.10" ] || fail "another container's reservation was released"
}

test_requested_ip_taken_names_the_holder() {
	local host a b dir conf
	mk_host host; mk_pod a; mk_pod b; mk_dir dir
	conf=$(conf_for rivet "$dir")
	cni ADD "$host" "$a" holder eth0 "$conf" CNI_ARGS="IgnoreUnknown=1;IP=198.18.0.50"
	assert_rc 0
	assert_eq "$(addr_of "$a" eth0)" 198.18.0.50 "requested address"
	cni ADD "$host" "$b" wants eth0 "$(echo "$conf" | jq -c '. + {args: {cni: {ips: ["198.18.0.50"]}}}')"
	assert_cni_error 103
	assert_contains "$(echo "$OUT" | jq -r .msg)" "held by container holder, interface eth0"
	assert_eq "$(ls "$dir/$NET" | grep -c '^198\.18\.')" 1 "reservations after the refused ADD"
	[ -z "$(ip -n "$b" -o link show eth0 2>/dev/null)" ] || fail "refused ADD left eth0 in the pod"
}

test_runtime_config_ips_capability() {
	local host pod dir conf
	mk_host host; mk_pod pod; mk_dir dir
	conf=$(conf_for rivet "$dir" | jq -c '. + {runtimeConfig: {ips: ["198.18.0.77/24"]}}')
	cni ADD "$host" "$pod" rc1 eth0 "$conf"
	assert_rc 0
	assert_json '.ips[0].address' 198.18.0.77/32
}

test_delegates_to_static_ipam() {
	local host pod dir conf
	mk_host host; mk_pod pod; mk_dir dir
	conf='{"cniVersion":"1.0.0","name":"st","type":"rivet","ipam":{"type":"static","addresses":[{"address":"198.18.7.10/24"},{"address":"fd5a:7e57:7::10/64"}]}}'
	cni ADD "$host" "$pod" s1 eth0 "$conf"
	assert_rc 0
	assert_json '.ips[0].address' 198.18.7.10/32
	assert_json '.ips[1].address' fd5a:7e57:7::10/128
	assert_contains "$(ip -n "$pod" addr show eth0)" "inet 198.18.7.10/32"
	ping_ok "$host" 198.18.7.10
	local prev
	prev=$(echo "$conf" | jq -c --argjson r "$OUT" '. + {prevResult: $r}')
	cni CHECK "$host" "$pod" s1 eth0 "$prev"
	assert_rc 0
	cni DEL "$host" "$pod" s1 eth0 "$prev"
	assert_rc 0
	assert_clean "$host" "$dir/none"
}

test_delegate_error_is_passed_on() {
	local host pod conf
	mk_host host; mk_pod pod
	# static refuses an address without a prefix length: its error, not ours.
	conf='{"cniVersion":"1.0.0","name":"st","type":"rivet","ipam":{"type":"static","addresses":[{"address":"bogus"}]}}'
	cni ADD "$host" "$pod" s2 eth0 "$conf"
	assert_rc 1
	assert_contains "$(echo "$OUT" | jq -r .msg)" "ipam plugin static"
	assert_eq "$(host_ends "$host" | grep -c .)" 0 "host ends"
}

test_delegate_missing_plugin() {
	local host pod conf
	mk_host host; mk_pod pod
	conf='{"cniVersion":"1.0.0","name":"st","type":"rivet","ipam":{"type":"no-such-ipam"}}'
	cni ADD "$host" "$pod" s3 eth0 "$conf"
	assert_cni_error 7
	assert_contains "$(echo "$OUT" | jq -r .msg)" "was not found in CNI_PATH"
}


# delegate_call HOST POD ID CONF PLUGINDIR: ADD as a runtime would run it,
# with CNI_PATH=PLUGINDIR, killed after 20 s. Sets $OUT and $RC.
delegate_call() {
	OUT=$(printf '%s' "$4" | ip netns exec "$1" env CNI_COMMAND=ADD CNI_CONTAINERID="$3" \
		CNI_NETNS="/run/netns/$2" CNI_IFNAME=eth0 CNI_PATH="$5" timeout 20 "$RIVET" 2>/dev/null)
	RC=$?
}

# A delegated plugin that prints more than rivet reads (4 MiB) is stopped,
# not waited for while it waits on the full pipe; the error names it.
test_delegate_printing_too_much_is_stopped() {
	local host pod dir conf
	mk_host host; mk_pod pod; mk_dir dir
	printf '#!/bin/sh\nexec head -c 6000000 /dev/zero\n' >"$dir/chatty"
	chmod +x "$dir/chatty"
	conf='{"cniVersion":"1.0.0","name":"chat","type":"rivet","ipam":{"type":"chatty"}}'
	delegate_call "$host" "$pod" big1 "$conf" "$dir"
	[ "$RC" != 124 ] || fail "ADD did not return (killed after 20 s)"
	assert_cni_error 107
	assert_contains "$(echo "$OUT" | jq -r .msg)" "ipam plugin chatty"
	assert_eq "$(host_ends "$host" | grep -c .)" 0 "host ends"
}

# A delegated plugin that exits without reading its stdin: rivet's write
# meets a closed pipe. That must not kill rivet with SIGPIPE (the runtime
# would get no JSON at all); the plugin's own error object is passed on.
test_delegate_exiting_before_reading_stdin() {
	local host pod dir conf pad i
	mk_host host; mk_pod pod; mk_dir dir
	cat >"$dir/early" <<-'EOS'
	#!/bin/sh
	exec 0<&-
	printf '{"cniVersion":"1.0.0","code":7,"msg":"early refuses"}'
	sleep 0.3
	exit 1
	EOS
	chmod +x "$dir/early"
	# More than a pipe holds (64 kB), so rivet is still writing when the
	# plugin closes its end.
	pad=$(head -c 70000 /dev/zero | tr '\0' x)
	conf='{"cniVersion":"1.0.0","name":"early","type":"rivet","pad":"'$pad'","ipam":{"type":"early"}}'
	for i in 1 2 3; do
		delegate_call "$host" "$pod" early$i "$conf" "$dir"
		[ "$RC" != 124 ] || fail "ADD did not return (killed after 20 s)"
		[ "$RC" -le 128 ] || fail "rivet was killed by signal $((RC - 128)); stdout: $OUT"
		assert_cni_error 7
		assert_contains "$(echo "$OUT" | jq -r .msg)" "early refuses"
		assert_contains "$(echo "$OUT" | jq -r .msg)" "ipam plugin early"
	done
	assert_eq "$(host_ends "$host" | grep -c .)" 0 "host ends"
}

run_tests
