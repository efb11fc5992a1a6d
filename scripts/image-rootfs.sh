#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
#
# Lays out, in DIR/rootfs, the root filesystem of rivet's node image (the
# Containerfile copies it whole):
#
#   /opt/rivet/bin/rivet        BINARY; a dynamic one comes with the shared
#                               libraries it loads, at the paths its loader
#                               looks in (Debian ships no static libmnl or
#                               libcjson, so plain `make` builds a dynamic
#                               binary; a STATIC=1 build needs none)
#   /opt/rivet/bin/rivetd       the cluster agent built beside BINARY, with
#                               its libraries likewise (libcurl's)
#   /opt/rivet/install-cni.sh   the installer
#   /bin/busybox, /bin/APPLET   BUSYBOX, a static busybox (Debian's
#                               busybox-static), and a link per applet: the
#                               installer's sh, sed, wget...
#
# Everything comes from this machine and nothing is fetched, so the image
# builds offline.
#
# Usage: scripts/image-rootfs.sh BINARY DIR [BUSYBOX]    (from the checkout)
set -eu

[ $# -ge 2 ] || { echo "usage: $0 BINARY DIR [BUSYBOX]" >&2; exit 2; }
binary=$1 root=$2/rootfs busybox=${3:-/bin/busybox}
[ -x "$binary" ] || { echo "image-rootfs: no binary at $binary (run make)" >&2; exit 1; }
[ -x "$busybox" ] || { echo "image-rootfs: no busybox at $busybox (apt-get install busybox-static)" >&2; exit 1; }
if ldd "$busybox" >/dev/null 2>&1; then
	echo "image-rootfs: $busybox is linked dynamically; the image needs a static one (busybox-static)" >&2
	exit 1
fi

rm -rf "$root"
mkdir -p "$root/opt/rivet/bin" "$root/bin" "$root/tmp"
chmod 1777 "$root/tmp"
agent=$(dirname "$binary")/rivetd
[ -x "$agent" ] || { echo "image-rootfs: no rivetd beside $binary (run make)" >&2; exit 1; }
install -m 0755 "$binary" "$root/opt/rivet/bin/rivet"
install -m 0755 "$agent" "$root/opt/rivet/bin/rivetd"
install -m 0755 conf/install-cni.sh "$root/opt/rivet/install-cni.sh"

# The loader and each library, copied (not linked) to the path ldd names:
# "libc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x...)", "/lib64/ld-linux-x86-64.so.2 (0x...)".
# A static binary has none ("not a dynamic executable").
for prog in "$binary" "$agent"; do
	ldd "$prog" >/dev/null 2>&1 || continue
	for lib in $(ldd "$prog" | sed -n 's/.*=> \(\/[^ ]*\) .*/\1/p; s/^[[:space:]]*\(\/[^ ]*\) .*/\1/p'); do
		[ -e "$root$lib" ] && continue
		mkdir -p "$root$(dirname "$lib")"
		cp -L "$lib" "$root$lib"
	done
done

install -m 0755 "$busybox" "$root/bin/busybox"
for applet in $("$busybox" --list); do
	[ "$applet" = busybox ] || ln -sf busybox "$root/bin/$applet"
done
# What the binaries need is all there: they run in the new root.
if ! out=$(chroot "$root" /opt/rivet/bin/rivet --version 2>&1); then
	echo "image-rootfs: rivet does not run in the image: $out" >&2
	exit 1
fi
if ! agent_out=$(chroot "$root" /opt/rivet/bin/rivetd --version 2>&1); then
	echo "image-rootfs: rivetd does not run in the image: $agent_out" >&2
	exit 1
fi
echo "image-rootfs: $root holds $out, $agent_out, the installer and busybox"
