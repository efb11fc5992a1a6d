# SPDX-License-Identifier: Apache-2.0
# shellcheck shell=bash
#
# A real etcd for tests, in a network namespace the test made; never on the
# machine's own network. Source it after (or instead of) tests/lib.sh, whose
# mk_netns / mk_dir / fail / cleanup it uses:
#
#   etcd_start VAR NETNS ADDR [tls]
#                       start etcd in NETNS serving ADDR:2379 (ADDR is put on
#                       lo unless NETNS already has it; the peer port 2380 is
#                       on ADDR too) and wait until it answers. VAR gets the
#                       instance's directory, which the other calls take.
#                       With "tls", clients must show a certificate of the
#                       test CA (--client-cert-auth); the files are:
#                         $DIR/pki/ca.pem              the CA of etcd and clients
#                         $DIR/pki/client.pem, client-key.pem
#                         $DIR/pki/other-ca.pem        an unrelated CA, and a
#                         $DIR/pki/other-client.pem, other-client-key.pem
#                                                      client certificate of it
#   ETCD_MEMBER=NAME ETCD_CLUSTER=NAME=URL,... ETCD_NOWAIT=1 etcd_start ...
#                       one member of a cluster of several (plain only):
#                       its name, every member's peer URL, and no wait (a
#                       member serves no read until a quorum runs); then
#   etcd_wait DIR       wait until it answers
#   etcd_url DIR        http://ADDR:2379 or https://ADDR:2379
#   etcd_pid DIR        its PID while it runs
#   etcd_stop DIR [SIG] stop it by PID (TERM, or KILL for a crash) and wait
#                       until it is gone; the data directory stays
#   etcd_restart DIR    start it again on the same data directory, wait
#   etcd_compact DIR [REV]
#                       compact the history up to REV (default: the current
#                       revision), physically, so older revisions are gone
#   etcd_revision DIR   the store's current revision
#   etcd_ctl DIR ARGS...
#                       etcdctl inside NETNS with the instance's certificates
#                       (a test's own tool only: rivet never runs etcdctl)
#
# Everything is removed when the test ends (tests/lib.sh's cleanup): the
# process (by PID), its directory with data and certificates, and the netns
# if mk_netns made it.

# shellcheck source=../lib.sh
declare -F mk_netns >/dev/null || . "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"

ETCD_BIN=${ETCD_BIN:-$(command -v etcd || echo /usr/bin/etcd)}
ETCDCTL_BIN=${ETCDCTL_BIN:-$(command -v etcdctl || echo /usr/bin/etcdctl)}
ETCD_WAIT_S=${ETCD_WAIT_S:-30}

# _etcd_pki DIR ADDR: a CA, a server certificate for ADDR, a client
# certificate, and an unrelated CA with a client certificate of its own.
_etcd_pki() {
	local d=$1/pki addr=$2 ca
	mkdir -p "$d" || return 1
	_etcd_cert() { # NAME CA SUBJECT EXTENSIONS
		openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=$3" \
			-keyout "$d/$1-key.pem" -out "$d/$1.csr" 2>/dev/null &&
		printf '%b' "$4" >"$d/$1.ext" &&
		openssl x509 -req -in "$d/$1.csr" -CA "$d/$2.pem" -CAkey "$d/$2-key.pem" \
			-CAcreateserial -days 2 -extfile "$d/$1.ext" -out "$d/$1.pem" 2>/dev/null
	}
	for ca in ca other-ca; do
		openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
			-subj "/CN=rivet test $ca" -keyout "$d/$ca-key.pem" -out "$d/$ca.pem" \
			2>/dev/null || return 1
	done
	# Go's TLS checks the extended key usage of each side; the server
	# certificate is a client one too, because etcd's gateway dials etcd's
	# own gRPC with it.
	_etcd_cert server ca etcd "subjectAltName=IP:$addr\nextendedKeyUsage=serverAuth,clientAuth\n" &&
	_etcd_cert client ca rivetd "extendedKeyUsage=clientAuth\n" &&
	_etcd_cert other-client other-ca rivetd "extendedKeyUsage=clientAuth\n"
}

# The flags of one instance, kept in its directory so a restart reuses them.
_etcd_args() {
	local dir=$1 addr=$2 tls=$3 scheme=http
	[ "$tls" = tls ] && scheme=https
	printf '%s\n' --name "${ETCD_MEMBER:-rvt}" --data-dir "$dir/data" \
		--listen-client-urls "$scheme://$addr:2379" \
		--advertise-client-urls "$scheme://$addr:2379" \
		--listen-peer-urls "http://$addr:2380" \
		--initial-advertise-peer-urls "http://$addr:2380" \
		--initial-cluster "${ETCD_CLUSTER:-rvt=http://$addr:2380}" \
		--logger zap --log-outputs stderr
	if [ "$tls" = tls ]; then
		printf '%s\n' --cert-file "$dir/pki/server.pem" --key-file "$dir/pki/server-key.pem" \
			--trusted-ca-file "$dir/pki/ca.pem" --client-cert-auth
	fi
}

etcd_url() { cat "$1/url"; }
etcd_pid() { cat "$1/pid" 2>/dev/null; }

etcd_ctl() {
	local dir=$1 tls=()
	shift
	[ -f "$dir/pki/client.pem" ] &&
		tls=(--cacert "$dir/pki/ca.pem" --cert "$dir/pki/client.pem" --key "$dir/pki/client-key.pem")
	ip netns exec "$(cat "$dir/netns")" "$ETCDCTL_BIN" --endpoints "$(etcd_url "$dir")" \
		--dial-timeout 2s --command-timeout 5s "${tls[@]}" "$@"
}

# Start the process and wait until it serves a read.
_etcd_run() {
	local dir=$1 pid i args=()
	mapfile -t args <"$dir/args"
	ip netns exec "$(cat "$dir/netns")" "$ETCD_BIN" "${args[@]}" >>"$dir/etcd.log" 2>&1 &
	pid=$!
	# Not a job of this shell: a test may kill it, and bash would report
	# the death of a job in the middle of the test's output.
	disown "$pid"
	echo "$pid" >"$dir/pid"
	[ "${ETCD_NOWAIT:-0}" = 1 ] || etcd_wait "$dir"
}

etcd_wait() {
	local dir=$1 pid i
	pid=$(etcd_pid "$dir")
	for ((i = 0; i < ETCD_WAIT_S * 10; i++)); do
		kill -0 "$pid" 2>/dev/null ||
			fail "etcd exited at start: $(tail -n 5 "$dir/etcd.log")"
		etcd_ctl "$dir" get rvt-probe >/dev/null 2>&1 && return 0
		sleep 0.1
	done
	fail "etcd did not answer within ${ETCD_WAIT_S}s: $(tail -n 5 "$dir/etcd.log")"
}

etcd_start() {
	local _es_var=$1 netns=$2 addr=$3 tls=${4:-} _es_dir scheme=http
	command -v "$ETCD_BIN" >/dev/null || fail "no etcd binary (Debian: etcd-server)"
	mk_dir _es_dir
	echo "$netns" >"$_es_dir/netns"
	ip -n "$netns" -o addr show | grep -qw "inet $addr/[0-9]*" ||
		ip -n "$netns" addr add "$addr/32" dev lo || fail "cannot put $addr in $netns"
	if [ "$tls" = tls ]; then
		scheme=https
		_etcd_pki "$_es_dir" "$addr" || fail "openssl could not make the test certificates"
	fi
	echo "$scheme://$addr:2379" >"$_es_dir/url"
	_etcd_args "$_es_dir" "$addr" "$tls" >"$_es_dir/args"
	# Registered after mk_dir, so it runs before the directory goes.
	_register "etcd_stop $_es_dir KILL"
	_etcd_run "$_es_dir"
	printf -v "$_es_var" '%s' "$_es_dir"
}

etcd_stop() {
	local dir=$1 sig=${2:-TERM} pid i
	pid=$(etcd_pid "$dir") || return 0
	[ -n "$pid" ] || return 0
	kill "-$sig" "$pid" 2>/dev/null
	for ((i = 0; i < 100; i++)); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	if kill -0 "$pid" 2>/dev/null; then
		kill -KILL "$pid" 2>/dev/null
		while kill -0 "$pid" 2>/dev/null; do sleep 0.1; done
	fi
	rm -f "$dir/pid"
}

etcd_restart() {
	[ -z "$(etcd_pid "$1")" ] || fail "etcd_restart: etcd still runs (etcd_stop it first)"
	_etcd_run "$1"
}

etcd_revision() {
	etcd_ctl "$1" get rvt-probe -w json | sed -nE 's/.*"revision":([0-9]+).*/\1/p'
}

etcd_compact() {
	local rev=${2:-$(etcd_revision "$1")}
	etcd_ctl "$1" compact "$rev" --physical >/dev/null || fail "etcd_compact $rev failed"
}
