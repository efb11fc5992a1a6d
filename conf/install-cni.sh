#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
#
# Installs rivet on a node from a DaemonSet pod (conf/daemonset.yaml,
# conf/daemonset-podcidr.yaml), the way Calico's install-cni and flannel's
# install-conf do: the binary goes into the host's CNI bin dir and, unless
# rivetd writes it (cluster mode: RIVET_WRITE_CONFLIST=false), the conflist
# into the host's CNI conf dir,
# each written to a temporary file in the destination directory and then
# renamed over the old one. rename(2) is atomic, so a runtime executing the
# binary never meets a half-written file ("text file busy", or a torn
# executable), and a runtime watching the conf dir never loads half a
# conflist. A file whose content would not change is left alone, so its
# inode and mtime stay and the runtime sees no event. The conflist is checked
# with `rivet validate --cluster` before it is renamed into place: what rivet
# would refuse on every ADD is refused here, where the DaemonSet shows it.
#
# POSIX sh: the image may have nothing but busybox.
#
# Usage: install-cni.sh [--loop SECONDS]
#   --loop N   after installing, check again every N seconds (for a
#              DaemonSet's long-running container: a conflist removed or
#              edited by hand is put back), until SIGTERM (exit status 0).
#
# Environment (defaults in brackets):
#   RIVET_WRITE_CONFLIST  write the conflist: true, or false when rivetd (cluster
#                       mode, conf/daemonset.yaml) writes it [true]; with
#                       false only the binary is installed, and none of the
#                       settings below the CNI dirs is read
#   RIVET_BINARY        the binary to install [/opt/rivet/bin/rivet]
#   CNI_BIN_DIR         the host's CNI bin dir, as mounted [/host/opt/cni/bin]
#   CNI_CONF_DIR        the host's CNI conf dir, as mounted [/host/etc/cni/net.d]
#   RIVET_CONF_NAME     the conflist's file name [10-rivet.conflist]
#   RIVET_NETWORK_NAME  the network's "name" [rivet]
#   RIVET_CNI_VERSION   the conflist's cniVersion [1.0.0]
#   RIVET_POD_CIDRS     the node's pod ranges, comma or space separated, at
#                       most one per family (e.g. the node's spec.podCIDRs;
#                       each range would give every pod an address)
#   RIVET_POD_CIDR      one pod range (spec.podCIDR), when RIVET_POD_CIDRS is unset
#   NODE_NAME           with neither of the above, read spec.podCIDRs of this
#                       Node from the API server, with the pod's service
#                       account (needs "get" on nodes; curl or wget)
#   RIVET_API_SERVER    the API server's URL for that read
#                       [https://$KUBERNETES_SERVICE_HOST:$KUBERNETES_SERVICE_PORT]
#   RIVET_SA_DIR        the service account's token and CA
#                       [/var/run/secrets/kubernetes.io/serviceaccount]
#   RIVET_MTU           the pods' MTU [unset: rivet takes the default route's]
#   RIVET_LOG_LEVEL     error, warn, info or debug [unset: rivet's own default,
#                       info with a log file, warn without]
#   RIVET_LOG_FILE      the log file on the host [/var/log/rivet/rivet.log];
#                       set but empty: no file (the lines of RIVET_LOG_LEVEL,
#                       warnings and errors unless set, go to the runtime)
#   RIVET_IPMASQ        masquerade traffic leaving the pod ranges: true/false [true]
#   RIVET_IPMASQ_EXCLUDE  destinations not to masquerade, comma or space
#                       separated: the cluster's pod CIDR (one per family;
#                       required with RIVET_IPMASQ=true, or pods on other
#                       nodes would see this node's address) and the
#                       service CIDR
#   RIVET_DATA_DIR      the IPAM store [/var/lib/cni/networks]
#   RIVET_PORTMAP, RIVET_BANDWIDTH  chain the portmap / bandwidth plugins:
#                       true, false, or auto (when the binary is in CNI_BIN_DIR) [auto]
#
# Exit status: 0 installed (or already current), 1 error, 2 usage.
set -eu

RIVET_WRITE_CONFLIST=${RIVET_WRITE_CONFLIST:-true}
RIVET_BINARY=${RIVET_BINARY:-/opt/rivet/bin/rivet}
CNI_BIN_DIR=${CNI_BIN_DIR:-/host/opt/cni/bin}
CNI_CONF_DIR=${CNI_CONF_DIR:-/host/etc/cni/net.d}
RIVET_CONF_NAME=${RIVET_CONF_NAME:-10-rivet.conflist}
RIVET_NETWORK_NAME=${RIVET_NETWORK_NAME:-rivet}
RIVET_CNI_VERSION=${RIVET_CNI_VERSION:-1.0.0}
RIVET_MTU=${RIVET_MTU:-}
RIVET_LOG_LEVEL=${RIVET_LOG_LEVEL:-}
RIVET_LOG_FILE=${RIVET_LOG_FILE-/var/log/rivet/rivet.log}
RIVET_IPMASQ=${RIVET_IPMASQ:-true}
RIVET_IPMASQ_EXCLUDE=${RIVET_IPMASQ_EXCLUDE:-}
RIVET_DATA_DIR=${RIVET_DATA_DIR:-/var/lib/cni/networks}
RIVET_PORTMAP=${RIVET_PORTMAP:-auto}
RIVET_BANDWIDTH=${RIVET_BANDWIDTH:-auto}
RIVET_SA_DIR=${RIVET_SA_DIR:-/var/run/secrets/kubernetes.io/serviceaccount}

# Temporary files this run made; removed on any exit, so a failed run
# leaves no ".rivet.*" behind in the host's directories.
TMPFILES=""
SLEEPER=""
cleanup() {
	for f in $TMPFILES; do
		rm -f "$f"
	done
	[ -z "$SLEEPER" ] || kill "$SLEEPER" 2>/dev/null || :
}
trap cleanup EXIT
trap 'exit 143' TERM
trap 'exit 130' INT
# (--loop makes SIGTERM, the way a pod is stopped, exit 0.)

log() { echo "install-cni: $*" >&2; }
die() {
	log "$*"
	exit 1
}

# Sets $tmp to a temporary name in the destination's own directory:
# rename(2) replaces atomically only within one filesystem. The name starts
# with a dot and does not end in .conflist/.conf/.json, so libcni never
# loads it and no runtime executes it.
tmpname() { # DIR NAME
	tmp="$1/.$2.tmp.$$"
	TMPFILES="$TMPFILES $tmp"
}

# --- the values, validated: each ends up inside JSON -------------------------

# Comma or space separated list, one item per line.
split() { echo "$1" | tr -s ', \t' '\n' | sed '/^$/d'; }

is_cidr() {
	case "$1" in
	*/*) ;;
	*) return 1 ;;
	esac
	case "$1" in
	*[!0-9a-fA-F.:/]*) return 1 ;;
	esac
	len=${1##*/}
	case "$len" in
	"" | *[!0-9]*) return 1 ;;
	esac
	[ "$len" -le 128 ]
}

# spec.podCIDRs of $NODE_NAME, read from the API server with the pod's
# service account. The Node object is JSON; its podCIDRs list holds only
# CIDRs, which contain no quote or bracket, so sed can cut it out.
node_pod_cidrs() {
	api=${RIVET_API_SERVER:-https://${KUBERNETES_SERVICE_HOST:-}:${KUBERNETES_SERVICE_PORT:-443}}
	[ -n "${KUBERNETES_SERVICE_HOST:-}${RIVET_API_SERVER:-}" ] ||
		die "NODE_NAME is set but KUBERNETES_SERVICE_HOST is not: cannot reach the API server"
	url="$api/api/v1/nodes/$NODE_NAME"
	token=""
	[ -r "$RIVET_SA_DIR/token" ] && token=$(cat "$RIVET_SA_DIR/token")
	if command -v curl >/dev/null 2>&1; then
		set -- curl -fsS --max-time 10
		[ -r "$RIVET_SA_DIR/ca.crt" ] && set -- "$@" --cacert "$RIVET_SA_DIR/ca.crt"
		[ -n "$token" ] && set -- "$@" -H "Authorization: Bearer $token"
		node=$("$@" "$url") || die "cannot read Node $NODE_NAME from $api"
	elif command -v wget >/dev/null 2>&1; then
		set -- wget -q -O -
		if wget --version 2>/dev/null | grep -q 'GNU Wget'; then
			set -- "$@" -T 10
			[ -r "$RIVET_SA_DIR/ca.crt" ] && set -- "$@" --ca-certificate="$RIVET_SA_DIR/ca.crt"
		else
			# busybox wget takes no CA file (nor a timeout).
			case "$api" in https:*) log "warning: this wget cannot be given the cluster's CA;" \
				"install curl in the image to verify the API server" ;; esac
		fi
		[ -n "$token" ] && set -- "$@" --header "Authorization: Bearer $token"
		node=$("$@" "$url") || die "cannot read Node $NODE_NAME from $api"
	else
		die "neither curl nor wget: cannot read Node $NODE_NAME; set RIVET_POD_CIDRS"
	fi
	cidrs=$(echo "$node" | tr -d ' \t\r\n' | sed -n 's/.*"podCIDRs":\[\([^]]*\)\].*/\1/p' | tr -d '"')
	[ -n "$cidrs" ] || die "Node $NODE_NAME has no spec.podCIDRs: the controller manager has not given" \
		"it a range (its node IPAM, --allocate-node-cidrs, is off, or has not got to this node" \
		"yet); set RIVET_POD_CIDRS for this node instead"
	echo "$cidrs"
}

pod_cidrs() {
	if [ -n "${RIVET_POD_CIDRS:-}" ]; then
		echo "$RIVET_POD_CIDRS"
	elif [ -n "${RIVET_POD_CIDR:-}" ]; then
		echo "$RIVET_POD_CIDR"
	elif [ -n "${NODE_NAME:-}" ]; then
		node_pod_cidrs
	fi
}

# Validated in render() before any output, since this runs inside $(...),
# where a die would end only the substitution.
want_plugin() { # SETTING NAME
	case "$1" in
	true) return 0 ;;
	auto) [ -x "$CNI_BIN_DIR/$2" ] ;;
	*) return 1 ;;
	esac
}

json_list() { # ITEMS...: ["a", "b"]
	out=""
	for i in "$@"; do
		out="$out${out:+, }\"$i\""
	done
	echo "[$out]"
}

render() {
	cidrs=$(pod_cidrs) || exit 1
	[ -n "$cidrs" ] || die "no pod range: set RIVET_POD_CIDRS (or RIVET_POD_CIDR), or NODE_NAME to read the Node's spec.podCIDRs"
	ranges="" v4="" v6=""
	for c in $(split "$cidrs"); do
		is_cidr "$c" || die "pod range '$c' is not a CIDR such as 10.244.1.0/24"
		# Each range is a range set of its own, and a pod gets an
		# address from every set: two of one family would give every
		# pod two addresses of that family.
		case "$c" in
		*:*) [ -z "$v6" ] || die "the pod ranges hold two IPv6 ranges ($v6 and $c); give at most one per family, as a Node's spec.podCIDRs does"
			v6=$c ;;
		*) [ -z "$v4" ] || die "the pod ranges hold two IPv4 ranges ($v4 and $c); give at most one per family, as a Node's spec.podCIDRs does"
			v4=$c ;;
		esac
		ranges="$ranges${ranges:+, }[{ \"subnet\": \"$c\" }]"
	done

	case "$RIVET_NETWORK_NAME" in
	"" | [!A-Za-z0-9]* | *[!A-Za-z0-9_.-]*)
		die "RIVET_NETWORK_NAME '$RIVET_NETWORK_NAME' must start with a letter or digit and hold only letters, digits, '_', '.', '-'" ;;
	esac
	case "$RIVET_CNI_VERSION" in
	"" | *[!0-9.]*) die "RIVET_CNI_VERSION '$RIVET_CNI_VERSION' is not a version such as 1.0.0" ;;
	esac
	case "$RIVET_MTU" in
	"") ;;
	*[!0-9]*) die "RIVET_MTU '$RIVET_MTU' is not a number" ;;
	*) if [ "$RIVET_MTU" -lt 68 ] || [ "$RIVET_MTU" -gt 65535 ]; then
		die "RIVET_MTU $RIVET_MTU is outside 68..65535"
	fi ;;
	esac
	case "$RIVET_LOG_LEVEL" in
	"" | error | warn | info | debug) ;;
	*) die "RIVET_LOG_LEVEL '$RIVET_LOG_LEVEL' must be error, warn, info or debug" ;;
	esac
	case "$RIVET_LOG_FILE" in
	"") ;;
	/*) case "$RIVET_LOG_FILE" in *[\"\\]* | *[![:print:]]*)
		die "RIVET_LOG_FILE must not contain quotes, backslashes or control characters" ;; esac ;;
	*) die "RIVET_LOG_FILE '$RIVET_LOG_FILE' must be an absolute path" ;;
	esac
	case "$RIVET_IPMASQ" in
	true | false) ;;
	*) die "RIVET_IPMASQ must be true or false, not '$RIVET_IPMASQ'" ;;
	esac
	case "$RIVET_DATA_DIR" in
	/*) case "$RIVET_DATA_DIR" in *[\"\\]* | *[![:print:]]*)
		die "RIVET_DATA_DIR must not contain quotes, backslashes or control characters" ;; esac ;;
	*) die "RIVET_DATA_DIR '$RIVET_DATA_DIR' must be an absolute path" ;;
	esac
	for v in "RIVET_PORTMAP=$RIVET_PORTMAP" "RIVET_BANDWIDTH=$RIVET_BANDWIDTH"; do
		case "${v#*=}" in
		true | false | auto) ;;
		*) die "${v%%=*} must be true, false or auto, not '${v#*=}'" ;;
		esac
	done
	exclude=$(split "$RIVET_IPMASQ_EXCLUDE")
	for c in $exclude; do
		is_cidr "$c" || die "RIVET_IPMASQ_EXCLUDE: '$c' is not a CIDR such as 10.96.0.0/12"
	done
	# (rivet validate --cluster checks that what is excluded covers more
	# than this node's ranges; the usual omission gets its own words.)
	[ "$RIVET_IPMASQ" = false ] || [ -n "$exclude" ] ||
		die "RIVET_IPMASQ=true needs RIVET_IPMASQ_EXCLUDE: with nothing excluded, traffic to pods on" \
			"other nodes and to services would leave with this node's address. Set it to the" \
			"cluster's pod CIDR (kube-controller-manager's --cluster-cidr) and the service CIDR," \
			"e.g. \"10.244.0.0/16,10.96.0.0/12\", or set RIVET_IPMASQ=false"

	# Key order and layout are fixed, so equal settings give equal bytes
	# and an unchanged node sees no rewrite.
	cat <<EOF
{
  "cniVersion": "$RIVET_CNI_VERSION",
  "name": "$RIVET_NETWORK_NAME",
  "plugins": [
    {
      "type": "rivet",
EOF
	[ -n "$RIVET_MTU" ] && echo "      \"mtu\": $RIVET_MTU,"
	echo "      \"ipMasq\": $RIVET_IPMASQ,"
	# shellcheck disable=SC2086 # one CIDR per word
	[ -n "$exclude" ] && echo "      \"ipMasqExclude\": $(json_list $exclude),"
	[ -n "$RIVET_LOG_FILE" ] && echo "      \"logFile\": \"$RIVET_LOG_FILE\","
	# Unset, rivet logs info to a file and warnings to the runtime's
	# journal, where an info line per call would only be noise.
	[ -n "$RIVET_LOG_LEVEL" ] && echo "      \"logLevel\": \"$RIVET_LOG_LEVEL\","
	cat <<EOF
      "ipam": {
        "type": "host-local",
        "ranges": [$ranges],
        "dataDir": "$RIVET_DATA_DIR"
      }
    }$(want_plugin "$RIVET_PORTMAP" portmap && printf ',\n    { "type": "portmap", "capabilities": { "portMappings": true } }')$(want_plugin "$RIVET_BANDWIDTH" bandwidth && printf ',\n    { "type": "bandwidth", "capabilities": { "bandwidth": true } }')
  ]
}
EOF
}

# --- the two files -------------------------------------------------------------

install_binary() {
	dst="$CNI_BIN_DIR/rivet"
	[ -f "$RIVET_BINARY" ] || die "no binary at $RIVET_BINARY (set RIVET_BINARY)"
	mkdir -p "$CNI_BIN_DIR" || die "cannot create $CNI_BIN_DIR"
	if [ -f "$dst" ] && cmp -s "$RIVET_BINARY" "$dst"; then
		return 0
	fi
	tmpname "$CNI_BIN_DIR" rivet
	cp "$RIVET_BINARY" "$tmp" || die "cannot write $tmp"
	chmod 0755 "$tmp" || die "cannot make $tmp executable"
	mv -f "$tmp" "$dst" || die "cannot rename $tmp to $dst"
	log "installed $dst"
}

install_conf() {
	dst="$CNI_CONF_DIR/$RIVET_CONF_NAME"
	case "$RIVET_CONF_NAME" in
	*/* | .* | "") die "RIVET_CONF_NAME '$RIVET_CONF_NAME' must be a plain file name" ;;
	esac
	mkdir -p "$CNI_CONF_DIR" || die "cannot create $CNI_CONF_DIR"
	tmpname "$CNI_CONF_DIR" "$RIVET_CONF_NAME"
	# Rendered straight into the temporary file, so a failed render (a
	# bad value) never reaches the runtime's directory.
	(render) >"$tmp" || exit 1
	# rivet's own checks, those of every ADD: a range rivet refuses would
	# fail every pod of the node, while this pod looked healthy.
	# Its messages name config keys; here they are RIVET_* settings.
	if ! out=$("$RIVET_BINARY" validate --cluster - <"$tmp" 2>&1 >/dev/null); then
		echo "$out" | sed 's/^rivet: -: plugins\[0\]: /install-cni: /; s/^rivet: /install-cni: /
			s/ (CNI error code [0-9]*)$//; s/switch ipMasq off/set RIVET_IPMASQ=false/
			s/to ipMasqExclude/to RIVET_IPMASQ_EXCLUDE/; s/ipMasqExclude keeps/RIVET_IPMASQ_EXCLUDE keeps/' >&2
		die "$RIVET_CONF_NAME would not be valid: nothing written"
	fi
	[ -z "$out" ] || echo "$out" | sed 's/^rivet: -: plugins\[0\]: /install-cni: /' >&2
	if [ -f "$dst" ] && cmp -s "$tmp" "$dst"; then
		rm -f "$tmp"
		return 0
	fi
	chmod 0644 "$tmp"
	mv -f "$tmp" "$dst" || die "cannot rename $tmp to $dst"
	log "wrote $dst"
}

loop=""
while [ $# -gt 0 ]; do
	case "$1" in
	--loop)
		[ $# -ge 2 ] || { log "--loop needs a number of seconds"; exit 2; }
		loop=$2
		shift 2 ;;
	--loop=*) loop=${1#--loop=}; shift ;;
	-h | --help) sed -n '2,/^set -eu/p' "$0" | sed '$d'; exit 0 ;;
	*) log "unknown argument '$1'"; exit 2 ;;
	esac
done
case "$loop" in
"") ;;
*[!0-9]* | 0) log "--loop needs a positive number of seconds"; exit 2 ;;
esac
case "$RIVET_WRITE_CONFLIST" in
true | false) ;;
*) die "RIVET_WRITE_CONFLIST must be true or false, not '$RIVET_WRITE_CONFLIST'" ;;
esac

# rivetd writes the conflist itself once the node holds its range.
install_conf_if_ours() {
	[ "$RIVET_WRITE_CONFLIST" = false ] || install_conf
}

install_binary
install_conf_if_ours
[ -n "$loop" ] || exit 0
trap 'exit 0' TERM
log "checking every ${loop}s"
while :; do
	# sleep in the background so SIGTERM is handled at once, not after it.
	sleep "$loop" &
	SLEEPER=$!
	wait "$SLEEPER" || :
	SLEEPER=""
	install_binary
	install_conf_if_ours
done
