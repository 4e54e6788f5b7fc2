#!/usr/bin/env bash
# Include-graph lint of src/ (layer rules: test/lint/check_includes.py and README.md "Layout"):
# negative controls on fake trees first, then this tree.  Ends with "N passed, N failed".
set -uo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
exec python3 "$HERE/check_includes.py" --self-test "$HERE/../../src"
