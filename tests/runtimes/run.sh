#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
#
# Real runtimes drive rivet: libcni (through a small client of our own built
# against Debian's libcni), podman 4.3 with its CNI backend, containerd 1.6
# through `ctr run --cni` (go-cni, the library kubelet's CRI uses), and
# containerd's CRI plugin itself, called as kubelet calls it (criclient/).
# Nothing is mocked; nothing of the machine's is used or changed: podman and
# containerd run in private network + mount namespaces with their own
# configuration, storage and sockets (see lib.sh), and libcni runs in
# throwaway namespaces.
#
#   tests/runtimes/run.sh                      everything
#   TEST_FILTER=podman tests/runtimes/run.sh   only tests whose name matches
#   RIVET=/path/to/plugin tests/runtimes/run.sh
#                                              the same tests against another
#                                              plugin (noop-plugin shows they
#                                              fail when rivet does nothing)
#
# Installs the Debian packages it needs; the last line is "N passed, N failed".
set -u
export PATH="$PATH:/usr/sbin:/sbin"
cd "$(dirname "$0")/../.." || exit 1

RT_PACKAGES="golang-go golang-github-appc-cni-dev containernetworking-plugins podman runc
	containerd iptables uidmap jq iproute2 iputils-ping util-linux python3-grpcio python3-grpc-tools
	python3-pkg-resources"
# (python3-pkg-resources: grpc_tools' protoc imports it, and Debian 12's
# python3-grpc-tools does not depend on it.)
# busybox-static, unless busybox (which conflicts with it) is installed: the
# image takes either (see rt_image), and swapping them on every run helps no one.
[ -x /bin/busybox ] || RT_PACKAGES="$RT_PACKAGES busybox-static"
# shellcheck disable=SC2086
scripts/apt-install.sh $RT_PACKAGES || { echo "run.sh: 0 passed, 1 failed"; exit 1; }

if [ -z "${RIVET:-}" ]; then
	log=$(mktemp)
	if ! make --no-print-directory all >"$log" 2>&1; then
		cat "$log"
		rm -f "$log"
		echo "run.sh: cannot build rivet"
		echo "run.sh: 0 passed, 1 failed"
		exit 1
	fi
	rm -f "$log"
fi

. tests/runtimes/lib.sh
[ -x "$RIVET" ] || { echo "run.sh: $RIVET is not an executable"; echo "run.sh: 0 passed, 1 failed"; exit 1; }
RIVET=$(realpath "$RIVET")

# The libcni client, in GOPATH mode against Debian's packaged sources: no
# module, no download, no network.
RT_CNICLIENT=$RT_ROOT/build/runtimes/cniclient
mkdir -p "$RT_ROOT/build/runtimes"
if ! out=$(cd tests/runtimes/cniclient && env GO111MODULE=off GOFLAGS= GOPROXY=off \
	GOPATH=/usr/share/gocode GOCACHE="$RT_ROOT/build/runtimes/gocache" \
	go build -o "$RT_CNICLIENT" . 2>&1); then
	echo "$out"
	echo "run.sh: cannot build the libcni client"
	echo "run.sh: 0 passed, 1 failed"
	exit 1
fi
export RT_CNICLIENT

. tests/runtimes/libcni.sh
. tests/runtimes/podman.sh
. tests/runtimes/containerd.sh
. tests/runtimes/cri.sh

rt_run_tests
