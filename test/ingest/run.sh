#!/usr/bin/env bash
# Differential test of btexport.log / btexport.log_text against an independent
# Python model (test/ingest/check.py).  Starts its own cluster with the harness.
# The SDK capture is test/data/sdk-events (see test/data/README.md).
# usage: test/ingest/run.sh      (needs btexport installed: make && make install)
set -u
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
SHARED=$ROOT/test/data
if [ ! -f "$SHARED/sdk-events/events.jsonl" ]; then
	echo "FAIL - test data not found at $SHARED/sdk-events/events.jsonl"
	echo "0 passed, 1 failed"
	exit 1
fi
# shellcheck source=../harness/pg.sh
source "$ROOT/test/harness/pg.sh"
DIR=$(mktemp -d /tmp/btx-ingest.XXXXXX)
cleanup() { pg_stop; rm -rf "$DIR"; }
trap cleanup EXIT
if ! pg_start "$DIR" ${INGEST_PGPORT:-} >/dev/null; then
	echo "FAIL - could not start a PostgreSQL cluster"
	echo "0 passed, 1 failed"
	exit 1
fi
if ! psql_q -c "CREATE EXTENSION btexport" >/dev/null; then
	echo "FAIL - CREATE EXTENSION btexport (is it installed?)"
	echo "0 passed, 1 failed"
	exit 1
fi
python3 "$ROOT/test/ingest/check.py" --shared "$SHARED"
