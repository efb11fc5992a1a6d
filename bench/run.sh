#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
#
# `make bench`: rivet against Debian's ptp + host-local and against the
# kernel floor (bench/floor.c), in one run, in throwaway network namespaces.
# Prints the tables (markdown, also kept in build/bench/last-run.md) and
# draws docs/scale.png and docs/parallel.png. BENCH_QUICK=1: a smoke run of
# about a minute with small counts; its figures are not the ones to quote,
# so its plots go to build/bench/ and docs/ keeps the last full run's.
#
# The binaries are copied to a private directory first: others may rebuild
# build/rivet while the benchmark runs. Every namespace carries this run's
# prefix, and the trap removes whatever the driver left, even on Ctrl-C.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "$(id -u)" != 0 ]; then
	echo "bench: run as root; it creates network namespaces" >&2
	exit 1
fi
CNI_BIN=${CNI_BIN:-/usr/lib/cni}
OUT=build/bench
DOCS=docs

scripts/apt-install.sh gnuplot-nox containernetworking-plugins iproute2
make -s -f bench/Makefile OUT=$OUT
# rivet with libnl linked shared as well, to put a number on the static link.
make -s --no-print-directory BUILD=$OUT/rivet-nl-shared NL_STATIC=0 all >/dev/null

RUN=rvb$(printf '%04x' $((RANDOM)))
TMP=$(mktemp -d /tmp/rivet-bench.XXXXXX)
cleanup() {
	local n
	for n in /run/netns/"$RUN"-*; do
		[ -e "$n" ] && ip netns del "${n##*/}" 2>/dev/null
	done
	rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

mkdir "$TMP/bin"
cp build/rivet "$TMP/bin/rivet"
cp $OUT/rivet-nl-shared/rivet "$TMP/bin/rivet-nl-shared"
cp $OUT/floor $OUT/floor-static $OUT/floor-libs $OUT/floor-otrunc "$TMP/bin/"
# A STATIC=1 build, when one has been made (it needs static libmnl and
# libcjson, which Debian does not ship: see the README).
static=()
if [ -x build/static/rivet ]; then
	cp build/static/rivet "$TMP/bin/rivet-static"
	static=(--plugin rivet-static="$TMP/bin/rivet-static" --type rivet --only seq)
fi

quick=()
if [ "${BENCH_QUICK:-0}" = 1 ]; then
	quick=(--quick)
	DOCS=$OUT
fi
dual='[[{"subnet":"198.18.0.0/16"}],[{"subnet":"fd5a:7e57:1::/64"}]]'

echo "rivet $(git describe --tags --always --dirty 2>/dev/null || echo '?'), $(nproc) CPUs, kernel $(uname -r), load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
$OUT/driver "${quick[@]}" --prefix "$RUN" --tmp "$TMP" --out "$OUT" --cni-path "$CNI_BIN" \
	--plugin floor="$TMP/bin/floor" \
	--plugin rivet="$TMP/bin/rivet" \
	--plugin ptp="$CNI_BIN/ptp" \
	--plugin rivet-ipmasq="$TMP/bin/rivet" --type rivet --extra '"ipMasq":true' --only seq \
	--plugin rivet-dualstack="$TMP/bin/rivet" --type rivet --ranges "$dual" --only seq \
	--plugin rivet-mtu-auto="$TMP/bin/rivet" --type rivet --no-mtu --only seq \
	--plugin rivet-nl-shared="$TMP/bin/rivet-nl-shared" --type rivet --only seq \
	--plugin floor-static="$TMP/bin/floor-static" --type floor --only seq \
	--plugin floor-libs="$TMP/bin/floor-libs" --type floor --only seq \
	--plugin floor-otrunc="$TMP/bin/floor-otrunc" --type floor --only seq \
	"${static[@]}" |
	tee $OUT/last-run.md

echo "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
gnuplot -e "dat='$OUT'; docs='$DOCS'" bench/plots.gp
echo "plots: $DOCS/scale.png $DOCS/parallel.png"
