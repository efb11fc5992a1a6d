#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# rivet's main job, end to end, on this machine: a throwaway namespace plays
# the node (so the machine's own interfaces, routes and sysctls are left
# alone), another plays the pod; rivet ADDs the pod, we look at what it made
# and ping it, and rivet DELs it again.
set -eu
RIVET=${1:-build/rivet}
node=rivet-demo-node-$$
pod=rivet-demo-pod-$$
store=$(mktemp -d)
cleanup() {
	ip netns del "$pod" 2>/dev/null || true
	ip netns del "$node" 2>/dev/null || true
	rm -rf "$store"
}
trap cleanup EXIT INT TERM

conf=$(cat <<JSON
{"cniVersion":"1.1.0","name":"demo","type":"rivet",
 "ipam":{"type":"host-local","dataDir":"$store",
         "ranges":[[{"subnet":"198.18.0.0/24"}],[{"subnet":"fd5a:7e57:1::/64"}]]}}
JSON
)
run() { # command
	printf '%s' "$conf" | ip netns exec "$node" env CNI_COMMAND="$1" CNI_CONTAINERID=demo-pod \
		CNI_NETNS="/run/netns/$pod" CNI_IFNAME=eth0 CNI_PATH=/opt/cni/bin "$RIVET"
}
say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

ip netns add "$node"
ip netns add "$pod"
ip -n "$node" link set lo up
ip -n "$node" addr add 198.19.255.1/32 dev lo
ip -n "$node" addr add fd5a:7e57:ffff::1/128 dev lo

say "ADD: rivet's result"
run ADD
say "inside the pod: its addresses and routes"
ip -n "$pod" -br addr show eth0
ip -n "$pod" route
ip -n "$pod" -6 route show default
say "on the node: the host end and the /32 route"
ip -n "$node" -br link show | grep rvt
ip -n "$node" route
say "the reservation, in host-local's format"
ls "$store/demo"
say "ping the pod from the node, and the node from the pod"
ip netns exec "$node" ping -c 2 -W 2 198.18.0.2
ip netns exec "$pod" ping -6 -c 2 -W 2 fd5a:7e57:ffff::1
say "DEL"
run DEL
ip -n "$node" -br link show | grep rvt && { echo "host end left behind"; exit 1; }
ls "$store/demo"
say "demo finished: the pod was added, reached and removed"
