#!/bin/bash
# Benchmark of the BTQL compiler on long field paths (test/btql/bench_paths.c): compile time and
# memory for 1k, 10k and 50k segments, under the default limits and with the limits raised.
# Builds with -O2 and no sanitizers; needs only a C compiler.   bash test/btql/bench.sh
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
mkdir -p "$HERE/build"
cc -std=gnu11 -O2 -Wall -Wextra -Werror -Wno-unused-parameter -Wno-sign-compare \
	-I"$ROOT/src" \
	-o "$HERE/build/bench_paths" "$HERE/bench_paths.c" "$ROOT"/src/core/btql/*.c "$ROOT/src/core/common/btx_buf.c"
"$HERE/build/bench_paths"
