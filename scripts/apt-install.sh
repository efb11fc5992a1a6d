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
log=$(mktemp)
echo "installing:$missing"
export DEBIAN_FRONTEND=noninteractive
if ! { apt-get update -qq && apt-get install -y -qq --no-install-recommends $missing; } >"$log" 2>&1 </dev/null; then
	cat "$log" >&2
	rm -f "$log"
	echo "apt-get failed for:$missing" >&2
	exit 1
fi
rm -f "$log"
