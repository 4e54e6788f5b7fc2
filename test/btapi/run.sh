#!/usr/bin/env bash
# Component suite of the Braintrust API client core (src/core/btapi, src/core/http):
# a C driver pages projects from the Braintrust API test double
# (test/harness/braintrust_double.py) over real HTTP with faults injected.
# usage: bash test/btapi/run.sh      (python3 and libcurl/jansson/zlib headers)
# Prints one line per check and ends with "N passed, N failed".
set -u
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
make -s -C "$HERE" build/btdrive >/dev/null || { echo "FATAL: cannot build btdrive"; echo "0 passed, 1 failed"; exit 1; }
exec python3 "$HERE/suite.py"
