#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
#
# `make bench-cluster`: rivetd at the scale of a large cluster, in throwaway
# network namespaces, beside the kernel floor of the same route work
# (bench/routes_floor.c) in the same run.
#
#   1. 999 node records in etcd (written straight to etcd's JSON gateway), a
#      fresh agent: the time from its start until it has a route to each of
#      the 999 nodes, with the direct backend and with VXLAN (a route, a
#      neighbour and a forwarding entry per node); its peak RSS; its CPU
#      while nothing changes, over IDLE_S seconds.
#   2. AGENTS agents running (default 50), each routing to the 999 nodes and
#      to each other: the time for one new node record to reach every one of
#      them (from the put to each agent's log line saying the route was
#      added), median and worst.
#
# The goals (issue 14): 999 routes in under 1 s, RSS under 4 MB, no CPU
# while idle. Not part of CI: it takes minutes and wants a quiet machine.
# Prints markdown; the tables also go to build/bench/cluster-last-run.md.
set -euo pipefail
cd "$(dirname "$0")/.."

[ "$(id -u)" = 0 ] || { echo "bench-cluster: run as root; it creates network namespaces" >&2; exit 1; }
N=${NODES:-999}
AGENTS=${AGENTS:-50}
IDLE_S=${IDLE_S:-30}
OUT=build/bench
mkdir -p "$OUT"

scripts/apt-install.sh etcd-server etcd-client python3 iproute2 >/dev/null
make -s --no-print-directory build/rivetd
cc -O2 -std=gnu11 -Wall -Wextra -Werror -o "$OUT/routes_floor" bench/routes_floor.c -lmnl

RUN=rvc$(printf '%04x' $((RANDOM)))
TMP=$(mktemp -d /tmp/rivet-bench-cluster.XXXXXX)
PIDS=()
cleanup() {
	local p n
	for p in "${PIDS[@]}"; do
		kill -KILL "$p" 2>/dev/null || true
	done
	for p in "${PIDS[@]}"; do
		wait "$p" 2>/dev/null || true
	done
	for n in /run/netns/"$RUN"-*; do
		[ -e "$n" ] && ip netns del "${n##*/}" 2>/dev/null
	done
	rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
cp build/rivetd "$TMP/rivetd"

# --- the network: etcd's namespace holds the bridge every agent hangs on -----
ETCD_NS=$RUN-etcd
ip netns add "$ETCD_NS"
ip -n "$ETCD_NS" link set lo up
ip -n "$ETCD_NS" link add br0 type bridge
ip -n "$ETCD_NS" addr add 198.19.254.1/24 dev br0
ip -n "$ETCD_NS" link set br0 up
URL=http://198.19.254.1:2379
ip netns exec "$ETCD_NS" etcd --name b --data-dir "$TMP/etcd" --listen-client-urls "$URL" \
	--advertise-client-urls "$URL" --listen-peer-urls http://198.19.254.1:2380 \
	--initial-advertise-peer-urls http://198.19.254.1:2380 --initial-cluster b=http://198.19.254.1:2380 \
	--quota-backend-bytes 1073741824 >"$TMP/etcd.log" 2>&1 &
PIDS+=($!)
for _ in $(seq 100); do
	ip netns exec "$ETCD_NS" etcdctl --endpoints "$URL" get x >/dev/null 2>&1 && break
	sleep 0.1
done

# node NAME K: a namespace on the bridge at 198.19.254.K, and a second link
# holding 198.19.255.254/16, on which every fake node's address is on-link.
# Each K is used once.
node_ns() {
	local ns=$RUN-$1
	ip netns add "$ns"
	ip -n "$ns" link set lo up
	ip link add eth0 netns "$ns" type veth peer name "b$2" netns "$ETCD_NS"
	ip -n "$ETCD_NS" link set "b$2" master br0 up
	ip -n "$ns" addr add "198.19.254.$2/24" dev eth0
	ip -n "$ns" link set eth0 up
	ip -n "$ns" link add stub0 type veth peer name stub1
	ip -n "$ns" addr add 198.19.255.254/16 dev stub0
	ip -n "$ns" link set stub0 up
	ip -n "$ns" link set stub1 up
	echo "$ns"
}

# populate PREFIX BACKEND: the cluster's config and N node records with their
# range claims, as rivetd writes them (node i: 198.18.0.0/15 range i of /26,
# address 198.19.0.0 + i + 1, on-link through stub0).
populate() {
	ip netns exec "$ETCD_NS" python3 - "$URL" "$1" "$2" "$N" <<'PY'
import base64, json, sys, urllib.request
url, prefix, backend, n = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
b = lambda s: base64.b64encode(s.encode()).decode()
def put(k, v):
    req = urllib.request.Request(url + "/v3/kv/put", json.dumps({"key": b(k), "value": b(v)}).encode())
    urllib.request.urlopen(req).read()
put(prefix + "/config", json.dumps({"clusterCIDRs": ["198.18.0.0/15"], "nodePrefix": [26],
                                     "backend": backend, "vni": 1, "port": 4789}))
for i in range(1, n + 1):
    r = 0xc6120000 + (i << 6); a = 0xc6130000 + i + 1
    rng = "%d.%d.%d.%d" % (r >> 24, r >> 16 & 255, r >> 8 & 255, r & 255)
    ip = "%d.%d.%d.%d" % (a >> 24, a >> 16 & 255, a >> 8 & 255, a & 255)
    name = "bench-%04d" % i
    rec = {"name": name, "nodeIP": ip, "ranges": [rng + "/26"], "backend": backend,
           "vtepMAC": "0e:00:00:00:%02x:%02x" % (i >> 8, i & 255)}
    put(prefix + "/ranges/" + rng + "-26", name)
    put(prefix + "/nodes/" + name, json.dumps(rec))
PY
}

# agent NS NAME PREFIX K [FLAGS]: rivetd run there, logging to $TMP/NAME.log;
# its PID in $AGENT_PID.
agent() {
	local ns=$1 name=$2 prefix=$3 k=$4
	shift 4
	mkdir -p "$TMP/$name"
	ip netns exec "$ns" "$TMP/rivetd" run --etcd-endpoints "$URL" --prefix "$prefix" --node-name "$name" \
		--node-ip "198.19.254.$k" --cni-conf-dir "$TMP/$name/net.d" --ipam-data-dir "$TMP/$name/ipam" \
		--state-dir "$TMP/$name/state" --log-level "${LOG_LEVEL:-info}" "$@" >"$TMP/$name.log" 2>&1 &
	AGENT_PID=$!
	PIDS+=("$AGENT_PID")
}

# The UTC timestamp of a log line, in ms since the epoch.
line_ms() { date -d "$(cut -d' ' -f1 <<<"$1" | sed 's/Z$//')Z" +%s%3N; }

wait_for() { # SECONDS CMD...
	local n=$(($1 * 100))
	shift
	until "$@" >/dev/null 2>&1; do
		n=$((n - 1))
		[ "$n" -gt 0 ] || return 1
		sleep 0.01
	done
}

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "-" }'; }

echo "rivetd $(git describe --tags --always --dirty 2>/dev/null || echo '?'), $(nproc) CPUs, kernel $(uname -r), load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
{
echo
echo "### A fresh agent and $N other nodes"
echo
echo "| backend | floor: kernel work only | rivetd: start to $N routes | rivetd/floor | peak RSS | CPU while idle (${IDLE_S} s) |"
echo "|---|---:|---:|---:|---:|---:|"
} | tee "$OUT/cluster-last-run.md"

for backend in direct vxlan; do
	prefix=/bench-$backend
	populate "$prefix" "$backend"
	k=$([ "$backend" = direct ] && echo 2 || echo 4)
	fns=$(node_ns "floor-$backend" "$k")
	floor=$(ip netns exec "$fns" "$OUT/routes_floor" "$backend" "$N")
	ans=$(node_ns "fresh-$backend" $((k + 1)))
	t0=$(date +%s%3N)
	agent "$ans" "fresh-$backend" "$prefix" $((k + 1))
	pid=$AGENT_PID
	wait_for 60 grep -q "routes to $N nodes: $((N + 1)) added" "$TMP/fresh-$backend.log" ||
		{ echo "the fresh agent did not route to $N nodes:"; tail "$TMP/fresh-$backend.log"; exit 1; }
	t1=$(line_ms "$(grep "routes to $N nodes: $((N + 1)) added" "$TMP/fresh-$backend.log" | head -n1)")
	have=$(ip -n "$ans" route show proto 92 | grep -vc blackhole)
	[ "$have" = "$N" ] || { echo "the fresh agent has $have routes, not $N"; exit 1; }
	sleep 2
	cpu0=$(cut -d' ' -f1 "/proc/$pid/schedstat")
	sleep "$IDLE_S"
	cpu1=$(cut -d' ' -f1 "/proc/$pid/schedstat")
	hwm=$(awk '/VmHWM/ {print $2}' "/proc/$pid/status")
	grep -E 'VmHWM|VmRSS|RssAnon|RssFile|RssShmem' "/proc/$pid/status" | tr -s ' \t' ' ' | paste -sd' ' >"$TMP/rss-$backend"
	printf '| %s | %s ms | %s ms | %s | %s MB | %s ms |\n' "$backend" "$floor" "$((t1 - t0))" \
		"$(ratio $((t1 - t0)) "$floor")" "$(awk -v k="$hwm" 'BEGIN { printf "%.2f", k / 1024 }')" \
		"$(awk -v n=$((cpu1 - cpu0)) 'BEGIN { printf "%.2f", n / 1e6 }')" | tee -a "$OUT/cluster-last-run.md"
	kill "$pid"
done

# --- AGENTS agents, one change -------------------------------------------------
prefix=/bench-direct
pids=()
for k in $(seq 1 "$AGENTS"); do
	ns=$(node_ns "a$k" $((k + 10)))
	agent "$ns" "a$k" "$prefix" $((k + 10))
	pids+=("$AGENT_PID")
done
# Each agent routes to the N records, the fresh agents of the first part
# (their ranges stay on their leases after they stop) and the other agents.
total=$((N + 1 + AGENTS - 1))
# Settled: every agent routes to every node and every other agent (50
# agents starting at once keep etcd busy enough that some retry first).
routed() { [ "$(ip -n "$RUN-a$1" route show proto 92 | grep -vc blackhole)" = "$total" ]; }
for k in $(seq 1 "$AGENTS"); do
	wait_for 300 routed "$k" || { echo "agent a$k does not route to $total nodes"; tail "$TMP/a$k.log"; exit 1; }
done
sleep 2
t0=$(date +%s%3N)
ip netns exec "$ETCD_NS" etcdctl --endpoints "$URL" put "$prefix/nodes/bench-new" \
	'{"name":"bench-new","nodeIP":"198.19.9.9","ranges":["198.19.255.0/26"],"backend":"direct"}' >/dev/null
lat=()
for k in $(seq 1 "$AGENTS"); do
	wait_for 30 sh -c "grep -A3 'node bench-new joined' '$TMP/a$k.log' | grep -q 'routes to'" ||
		{ echo "a$k never routed the new node"; tail "$TMP/a$k.log"; exit 1; }
	line=$(grep -A3 "node bench-new joined" "$TMP/a$k.log" | grep -m1 "routes to")
	lat+=($(($(line_ms "$line") - t0)))
done
sorted=$(printf '%s\n' "${lat[@]}" | sort -n)
{
echo
echo "### One new node reaching $AGENTS running agents (each routing to $total nodes)"
echo
echo "| agents | median | worst | agent RSS (median) |"
echo "|---:|---:|---:|---:|"
printf '| %s | %s ms | %s ms | %s MB |\n' "$AGENTS" "$(sed -n "$(((AGENTS + 1) / 2))p" <<<"$sorted")" \
	"$(tail -n1 <<<"$sorted")" \
	"$(for p in "${pids[@]}"; do awk '/VmRSS/ {print $2}' "/proc/$p/status"; done | sort -n |
		sed -n "$(((AGENTS + 1) / 2))p" | awk '{ printf "%.2f", $1 / 1024 }')"
} | tee -a "$OUT/cluster-last-run.md"
echo
echo "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
