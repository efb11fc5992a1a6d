#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# Build the libFuzzer harnesses into build/fuzz/: each links exactly the
# src/*.c files it needs (no Makefile involvement), with libFuzzer, ASan and
# UBSan. Prints the harness names it built.
set -eu
cd "$(dirname "$0")/../.."
OUT=${FUZZ_OUT:-build/fuzz}
mkdir -p "$OUT"
CC=${FUZZ_CC:-clang}
CFLAGS="-g -O1 -std=gnu11 -D_GNU_SOURCE -Wall -Wextra -Werror -Wno-unused-parameter -Iinclude \
 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer \
 $(pkg-config --cflags libcjson 2>/dev/null)"
LIBS="$(pkg-config --libs libcjson 2>/dev/null || echo -lcjson) -lm"
# Whole layers, so a file added to one of them needs no change here.
UTIL=$(echo src/util/*.c)
CNI=$(echo src/cni/*.c)

build() { # name sources...
	local name=$1
	shift
	# shellcheck disable=SC2086
	$CC $CFLAGS -o "$OUT/$name" "$@" $LIBS
	echo "$name"
}
build fuzz_config tests/fuzz/fuzz_config.c $CNI src/ipam/range.c $UTIL
build fuzz_result tests/fuzz/fuzz_result.c $CNI $UTIL
build fuzz_cni_args tests/fuzz/fuzz_cni_args.c $CNI $UTIL
build fuzz_store tests/fuzz/fuzz_store.c $UTIL
