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
install -m 0755 "$binary" "$root/opt/rivet/bin/rivet"
install -m 0755 conf/install-cni.sh "$root/opt/rivet/install-cni.sh"

# The loader and each library, copied (not linked) to the path ldd names:
# "libc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x...)", "/lib64/ld-linux-x86-64.so.2 (0x...)".
# A static binary has none ("not a dynamic executable").
if ldd "$binary" >/dev/null 2>&1; then
	for lib in $(ldd "$binary" | sed -n 's/.*=> \(\/[^ ]*\) .*/\1/p; s/^[[:space:]]*\(\/[^ ]*\) .*/\1/p'); do
		mkdir -p "$root$(dirname "$lib")"
		cp -L "$lib" "$root$lib"
	done
fi

install -m 0755 "$busybox" "$root/bin/busybox"
for applet in $("$busybox" --list); do
	[ "$applet" = busybox ] || ln -sf busybox "$root/bin/$applet"
done
# What the binary needs is all there: it runs in the new root.
if ! out=$(chroot "$root" /opt/rivet/bin/rivet --version 2>&1); then
	echo "image-rootfs: rivet does not run in the image: $out" >&2
	exit 1
fi
echo "image-rootfs: $root holds $out, its installer and busybox"
