#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Install Debian packages idempotently and quietly: nothing happens when all
# are present; otherwise one apt-get run, its output shown only on failure.
set -eu
missing=""
for p in "$@"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
if ! command -v apt-get >/dev/null 2>&1; then
	echo "rivet needs these Debian packages (or your system's equivalents):$missing" >&2
	exit 1
fi
if [ "$(id -u)" != 0 ]; then
	echo "rivet needs these Debian packages:$missing; run this as root, or install them with apt-get" >&2
	exit 1
fi
log=$(mktemp)
echo "installing:$missing"
export DEBIAN_FRONTEND=noninteractive
# Wait for another apt or dpkg run to finish rather than fail.
wait_lock="-o DPkg::Lock::Timeout=600"
# shellcheck disable=SC2086 # both are lists of words
if ! { apt-get update -qq $wait_lock && apt-get install -y -qq --no-install-recommends $wait_lock $missing; } \
	>"$log" 2>&1 </dev/null; then
	cat "$log" >&2
	rm -f "$log"
	echo "apt-get failed for:$missing" >&2
	exit 1
fi
rm -f "$log"
