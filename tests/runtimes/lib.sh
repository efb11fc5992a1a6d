# SPDX-License-Identifier: Apache-2.0
# shellcheck shell=bash
#
# The runtimes suite's harness, on top of tests/lib.sh (mk_host, mk_pod,
# mk_dir, fail, assert_*, assert_clean): what real runtimes need that a
# direct plugin call does not.
#
#   rt_bin_dir DIR [LOG]   fill DIR as a CNI bin dir: rivet (or $RIVET) and
#                          symlinks to Debian's plugins; with LOG, rivet is
#                          wrapped to append "COMMAND ID NETNS exit=STATUS"
#                          to LOG for each call
#   rt_image [NAME [CMD]]  an OCI image archive of the machine's busybox
#                          (built once per NAME), whose default command is
#                          CMD (a JSON list; /bin/sh by default)
#   rt_sandbox NAME        a private network + mount namespace (built once per
#                          NAME, torn down at exit) in which a whole runtime
#                          runs: its netns plays the node, /run, /var/lib,
#                          /etc and /opt are overlays whose writes land in
#                          a tmpfs of its own, and so is /dev/shm. So
#                          podman's and containerd's state, the netns files
#                          they make, libcni's /var/lib/cni cache and ctr's
#                          /etc/cni/net.d and /opt/cni/bin stay private.
#   in_sandbox NAME CMD... run CMD inside it
#   rt_daemon NAME PIDFILE LOG CMD...
#                          start CMD inside it in the background, its own
#                          pid (not a wrapper's) in PIDFILE, output to LOG
#   known_bug TEXT         this test is expected to fail until a rivet bug
#                          is fixed: its failure is listed, not counted; a
#                          pass is counted as a failure (drop the marker)
#   rt_run_tests           runs every test_* (TEST_FILTER narrows), then
#                          tears the sandboxes down, then proves the machine
#                          was left as found; last line "N passed, N failed"
#
# Every address used is in 198.18.0.0/15 or fd5a:7e57::/32.

RT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
RT_ROOT=$(cd "$RT_DIR/../.." && pwd)
# shellcheck source=../lib.sh
. "$RT_ROOT/tests/lib.sh"

RT_TMP=$(mktemp -d /tmp/rvt-runtimes.XXXXXX)
trap 'rm -rf "$RT_TMP"' EXIT		# rt_run_tests adds the sandboxes' teardown
RT_CGROUP=rvt-$_RUN-$$		# the cgroup parent of every container we start
RT_KNOWN=$RT_TMP/known
mkdir -p "$RT_KNOWN"
export RT_TMP RT_CGROUP

# What the test servers serve, as /www/token in the image and on the node.
RT_TOKEN=rivet-runtimes-$$
# Servers and clients are busybox httpd and wget, in the image and on the
# node alike; wget is bounded by timeout(1), as busybox 1.35's wget -T crashes.

# eventually TRIES CMD...: CMD succeeds within TRIES tenths of a second
# (servers started in the background need a moment to listen).
eventually() {
	local n=$1
	shift
	while ! "$@" >/dev/null 2>&1; do
		n=$((n - 1))
		[ "$n" -gt 0 ] || return 1
		sleep 0.1
	done
}

# --- plugins ----------------------------------------------------------------

rt_bin_dir() { # DIR [LOG]
	local d=$1 p
	mkdir -p "$d" || return 1
	if [ -n "${2:-}" ]; then
		cp "$RIVET" "$d/rivet.real"
		# The runtime's own words, as rivet saw them, and rivet's answer.
		cat >"$d/rivet" <<-EOF
			#!/bin/sh
			"$d/rivet.real" "\$@"
			rc=\$?
			printf '%s %s %s exit=%s\\n' "\$CNI_COMMAND" "\$CNI_CONTAINERID" "\${CNI_NETNS:-<empty>}" \$rc >>"$2"
			exit \$rc
		EOF
		chmod 755 "$d/rivet"
	else
		cp "$RIVET" "$d/rivet"
	fi
	for p in portmap bandwidth tuning loopback; do
		ln -s "$CNI_BIN/$p" "$d/$p"
	done
	chmod 755 "$d"
}

# rt_conflist NAME VERSION DATADIR RANGES [EXTRA_PLUGINS_JSON]: a conflist
# with rivet first (logging to DATADIR/rivet.log) and EXTRA plugins after it.
rt_conflist() {
	local name=$1 ver=$2 dir=$3 ranges=$4 extra=${5:-}
	printf '{"cniVersion":"%s","name":"%s","plugins":[{"type":"rivet","logFile":"%s/rivet.log","logLevel":"debug","ipam":{"type":"host-local","dataDir":"%s","ranges":%s}}%s]}\n' \
		"$ver" "$name" "$dir" "$dir" "$ranges" "${extra:+,$extra}" | jq .
}

# Reservation files of a host-local store (the file names are the addresses).
rt_reservations() { # STORE [v4|v6]
	[ -d "$1" ] || return 0
	case "${2:-}" in
	v4) find "$1" -maxdepth 1 -type f -name '*.*.*.*' ! -name 'last_reserved_ip.*' -printf '%f\n' ;;
	v6) find "$1" -maxdepth 1 -type f -name '*:*' -printf '%f\n' ;;
	*) find "$1" -maxdepth 1 -type f ! -name lock ! -name 'last_reserved_ip.*' ! -name 'rivet.log' -printf '%f\n' ;;
	esac | sort
}

# The container ID a reservation file records (host-local: "ID\r\nIFNAME").
rt_reserved_by() { head -n1 "$1" 2>/dev/null | tr -d '\r'; }

# --- the image --------------------------------------------------------------

# An OCI image archive (index.json, blobs) whose one layer is the machine's
# busybox with an applet symlink per command; podman loads it, ctr imports
# it. Debian's busybox-static is what run.sh installs; when busybox (its
# dynamically linked twin, which the two packages cannot both be installed)
# is there instead, the libraries it needs go into the layer with it.
RT_IMAGE_NAME=localhost/rivet-test:latest
RT_BUSYBOX=${RT_BUSYBOX:-/bin/busybox}
rt_image() { # [NAME [CMD]]
	local name=${1:-$RT_IMAGE_NAME} cmd=${2:-'["/bin/sh"]'} w out a ld ls cd cs md ms
	w=$RT_TMP/image-${name//[^a-zA-Z0-9]/_}
	out=$w.tar
	[ -s "$out" ] && { echo "$out"; return 0; }
	rm -rf "$w"
	mkdir -p "$w/root/bin" "$w/root/etc" "$w/root/proc" "$w/root/sys" "$w/root/dev" \
		"$w/root/tmp" "$w/root/www" "$w/blobs/sha256" || return 1
	cp "$RT_BUSYBOX" "$w/root/bin/busybox" || return 1
	for a in $(ldd "$RT_BUSYBOX" 2>/dev/null | grep -o '/[^ ]*'); do
		cp --parents -L "$a" "$w/root" || return 1
	done
	for a in $("$RT_BUSYBOX" --list); do
		[ "$a" = busybox ] || ln -s busybox "$w/root/bin/$a"
	done
	echo 'root:x:0:0:root:/:/bin/sh' >"$w/root/etc/passwd"
	echo 'root:x:0:' >"$w/root/etc/group"
	echo "$RT_TOKEN" >"$w/root/www/token"
	tar --sort=name --owner=0 --group=0 --numeric-owner --mtime=@0 -C "$w/root" -cf "$w/layer" . || return 1
	_blob() { # FILE -> "DIGEST SIZE", moved into blobs/
		local d s
		d=$(sha256sum "$1" | cut -d' ' -f1) s=$(stat -c %s "$1")
		mv "$1" "$w/blobs/sha256/$d" && echo "$d $s"
	}
	read -r ld ls < <(_blob "$w/layer")
	printf '{"architecture":"amd64","os":"linux","config":{"Env":["PATH=/bin"],"Cmd":%s},"rootfs":{"type":"layers","diff_ids":["sha256:%s"]}}' \
		"$cmd" "$ld" >"$w/config"
	read -r cd cs < <(_blob "$w/config")
	printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:%s","size":%s},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar","digest":"sha256:%s","size":%s}]}' \
		"$cd" "$cs" "$ld" "$ls" >"$w/manifest"
	read -r md ms < <(_blob "$w/manifest")
	printf '{"schemaVersion":2,"manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:%s","size":%s,"annotations":{"io.containerd.image.name":"%s","org.opencontainers.image.ref.name":"%s"}}]}' \
		"$md" "$ms" "$name" "$name" >"$w/index.json"
	echo '{"imageLayoutVersion":"1.0.0"}' >"$w/oci-layout"
	tar --owner=0 --group=0 -C "$w" -cf "$out.part" oci-layout index.json blobs || return 1
	mv "$out.part" "$out" && rm -rf "$w" && echo "$out"
}

# --- sandboxes --------------------------------------------------------------

# Sandboxes outlive the test that first needs them (they are shared by every
# test of one runtime), so their state is in files under $RT_TMP/sb/NAME and
# their teardown is rt_teardown's, at the end or on any exit.
rt_sandbox_dir() { echo "$RT_TMP/sb/$1"; }

rt_sandbox() { # NAME
	local d pid _
	d=$(rt_sandbox_dir "$1")
	[ -f "$d/ready" ] && kill -0 "$(cat "$d/pid")" 2>/dev/null && return 0
	[ -e "$d" ] && fail "sandbox $1 died earlier: $(cat "$d/holder.log" 2>/dev/null)"
	mkdir -p "$d"
	# unshare(1) makes every mount private, so nothing mounted here is
	# seen outside; the holder keeps both namespaces alive until killed.
	unshare --net --mount --propagation private bash -euc '
		d=$1 node4=$2 node6=$3
		# The overlays write to a tmpfs only this sandbox sees, whatever the
		# filesystem of /tmp is; it goes when the sandbox goes.
		mkdir -p "$d/ov"
		mount -t tmpfs -o mode=755 tmpfs "$d/ov"
		for dir in run var/lib etc opt; do
			n=${dir//\//_}
			mkdir -p "$d/ov/$n/up" "$d/ov/$n/work"
			mount -t overlay overlay -o "lowerdir=/$dir,upperdir=$d/ov/$n/up,workdir=$d/ov/$n/work" "/$dir"
		done
		mount -t tmpfs -o mode=1777 tmpfs /dev/shm
		mkdir -p /run/netns
		ip link set lo up
		ip addr add "$node4/32" dev lo
		ip addr add "$node6/128" dev lo
		touch "$d/ready"
		exec sleep infinity
	' holder "$d" "$NODE4" "$NODE6" </dev/null >"$d/holder.log" 2>&1 &
	pid=$!
	echo "$pid" >"$d/pid"
	for _ in $(seq 100); do
		if [ -f "$d/ready" ]; then
			# Kept apart from the holder, so teardown finds what runs
			# in the sandbox even if the holder is gone.
			readlink "/proc/$pid/ns/mnt" >"$d/mntns"
			return 0
		fi
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	fail "cannot make sandbox $1: $(cat "$d/holder.log")"
}

# nsenter --mount alone would also move CMD to the root of the holder's mount
# namespace, which is the machine's / even when the suite runs in a chroot;
# --root keeps the holder's own root, and so the chroot. --wd takes the
# holder's working directory (the checkout, where run.sh started it): the
# caller's, kept by default, cannot be reached from inside the sandbox when
# the suite runs in a chroot, and conmon refuses to start without one.
in_sandbox() { # NAME CMD...
	local d=$RT_TMP/sb/$1
	shift
	nsenter -t "$(cat "$d/pid")" --net --mount --root --wd -- "$@"
}

# $! of a backgrounded function is a subshell's pid, not the daemon's: the
# daemon writes its own pid before it becomes the daemon (exec).
rt_daemon() { # NAME PIDFILE LOG CMD...
	local name=$1 pidfile=$2 log=$3
	shift 3
	rm -f "$pidfile"
	in_sandbox "$name" sh -c 'echo $$ >"$0"; exec "$@"' "$pidfile" "$@" </dev/null >>"$log" 2>&1 &
	eventually 50 test -s "$pidfile"
}

# Processes to end when a sandbox goes: those in its mount namespace (the
# runtime daemons, conmon, shims, servers) and those in the cgroups our
# containers were given (the containers, which have mount namespaces of
# their own).
_rt_sandbox_pids() { # NAME
	local mnt p
	mnt=$(cat "$RT_TMP/sb/$1/mntns" 2>/dev/null)
	[ -n "$mnt" ] || return 0
	for p in /proc/[0-9]*; do
		[ "$(readlink "$p/ns/mnt" 2>/dev/null)" = "$mnt" ] && echo "${p#/proc/}"
	done
}

_rt_cgroup_dirs() {
	local base
	for base in /sys/fs/cgroup /sys/fs/cgroup/*; do
		[ -d "$base/$RT_CGROUP" ] && echo "$base/$RT_CGROUP"
	done
}

_rt_cgroup_pids() {
	local c
	for c in $(_rt_cgroup_dirs); do
		find "$c" -name cgroup.procs -exec cat {} + 2>/dev/null
	done | sort -u
}

# Graceful first (each runtime's own teardown hook), then by force.
rt_teardown() {
	local d name holder pids c _
	for d in "$RT_TMP"/sb/*; do
		[ -f "$d/pid" ] || continue
		name=${d##*/}
		holder=$(cat "$d/pid")
		if kill -0 "$holder" 2>/dev/null && declare -F "teardown_$name" >/dev/null; then
			"teardown_$name" >/dev/null 2>&1
		fi
		for _ in 1 2 3; do
			pids="$(_rt_sandbox_pids "$name") $(_rt_cgroup_pids)"
			pids=$(echo "$pids" | tr ' ' '\n' | grep -v "^$holder\$" | grep . | sort -u)
			[ -z "$pids" ] && break
			# shellcheck disable=SC2086
			kill -KILL $pids 2>/dev/null
			sleep 0.3
		done
		kill -KILL "$holder" 2>/dev/null
		wait "$holder" 2>/dev/null
		rm -f "$d/pid"
	done
	for _ in 1 2 3 4 5; do
		for c in $(_rt_cgroup_dirs); do
			find "$c" -depth -type d -exec rmdir {} + 2>/dev/null
		done
		[ -z "$(_rt_cgroup_dirs)" ] && break
		sleep 0.3
	done
}

# --- the machine, before and after -----------------------------------------

# What this suite must leave exactly as it found it. Routes with lifetimes
# (RA) are left out: the kernel changes those on its own. So are the
# directories of runtimes the machine may run itself (/var/lib/containerd):
# they may change under us, and the sandboxes never write to them anyway.
rt_machine_state() {
	echo "== addresses"; ip -o addr show scope global | awk '{print $2, $3, $4}'
	echo "== links"; ip -o link show | awk -F': ' '{print $2}' | sed 's/@.*//' | grep -E '^(rvt|bwp|veth|cni)' || true
	echo "== routes"; ip -4 route show table all | grep -v '^local\|^broadcast'
	echo "== routes6"; ip -6 route show table main | grep -v expires
	echo "== sysctls"; cat /proc/sys/net/ipv4/ip_forward /proc/sys/net/ipv6/conf/all/forwarding 2>&1
	echo "== nat"; iptables-save -t nat 2>/dev/null | grep -c -- '-A' || true
	echo "== paths"
	local p
	for p in /etc/cni /opt/cni /var/lib/cni /etc/containers /var/lib/containers; do
		if [ -e "$p" ]; then
			echo "$p: $(find "$p" -printf '%p %s %T@\n' 2>/dev/null | sort | sha256sum | cut -c1-16)"
		else
			echo "$p: absent"
		fi
	done
}

# --- the runner -------------------------------------------------------------

# RT_LOGS=DIR keeps the sandboxes' logs (rivet's, the runtimes', what ctr
# sent) there, for a look after the run.
rt_keep_logs() {
	local f
	[ -n "${RT_LOGS:-}" ] || return 0
	mkdir -p "$RT_LOGS" || return 0
	find "$RT_TMP/sb" -name '*.log' 2>/dev/null | while read -r f; do
		cp "$f" "$RT_LOGS/$(echo "${f#"$RT_TMP"/sb/}" | tr / _)"
	done
}

known_bug() { printf '%s\n' "$*" >"$RT_KNOWN/$RT_CURRENT"; }

rt_run_tests() {
	local t pass=0 failn=0 known="" filter=${TEST_FILTER:-} before after
	before=$(rt_machine_state)
	trap 'rt_teardown; rt_keep_logs; rm -rf "$RT_TMP"' EXIT
	trap 'exit 130' INT TERM
	for t in $(declare -F | awk '{print $3}' | grep '^test_'); do
		[ -n "$filter" ] && case "$t" in *$filter*) ;; *) continue ;; esac
		if ( RT_CURRENT=$t; trap _cleanup EXIT; set -o pipefail; "$t" ); then
			if [ -f "$RT_KNOWN/$t" ]; then
				failn=$((failn + 1))
				echo "  FAIL $t: passes now; drop its known_bug marker ($(cat "$RT_KNOWN/$t"))"
			else
				pass=$((pass + 1))
				echo "  ok   $t"
			fi
		elif [ -f "$RT_KNOWN/$t" ]; then
			known="$known $t"
			echo "  KNOWN-BUG $t: $(cat "$RT_KNOWN/$t")"
		else
			failn=$((failn + 1))
			echo "  FAIL $t"
		fi
	done
	rt_teardown
	after=$(rt_machine_state)
	if [ "$before" = "$after" ] && [ -z "$(_rt_cgroup_dirs)" ]; then
		pass=$((pass + 1))
		echo "  ok   the machine's own network, paths and cgroups are as they were"
	else
		failn=$((failn + 1))
		echo "  FAIL the machine was changed:"
		diff <(echo "$before") <(echo "$after") | sed 's/^/    /'
		_rt_cgroup_dirs | sed 's/^/    cgroup left: /'
	fi
	[ -n "$known" ] && echo "known rivet bugs, expected to fail and not counted:$known"
	echo "$(basename "$0"): $pass passed, $failn failed"
	[ "$failn" = 0 ]
}
