#!/usr/bin/env bash
# Upgrade from the released 1.0 (the tree tagged v1.0, commit 33752ff) to this tree's version:
#   1. build and install 1.0 privately, start a cluster on it, create spans, a credential, scheduled
#      automations and successful runs;
#   2. restart the same data directory on this tree's build, ALTER EXTENSION btexport UPDATE;
#   3. compare the upgraded catalog with a fresh install (test/upgrade/dumpdiff.py: a schema-only
#      dump of each, the extension's objects only, OIDs and xids removed): the diff must be empty;
#   4. keep exporting: new and updated spans after the upgrade are exported exactly once.
# Brings its own cluster and moto.  Prints "N passed, N failed".
set -u
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
source "$ROOT/test/harness/install.sh"
source "$ROOT/test/harness/pg.sh"
source "$ROOT/test/harness/moto.sh"
W=$(mktemp -d /tmp/btx-upgrade.XXXXXX)
chmod 755 "$W"
cleanup() { moto_stop; pg_stop; rm -rf "$W"; }
trap cleanup EXIT
fatal() { echo "not ok - $*"; echo "0 passed, 1 failed"; exit 1; }

# the release tree: the tag when the clone has it, else the commit it names
mkdir -p "$W/src-1.0"
{ git -C "$ROOT" archive v1.0 2>/dev/null || git -C "$ROOT" archive 33752ff; } | tar -x -C "$W/src-1.0" \
	|| fatal "the 1.0 release tree (tag v1.0 / commit 33752ff) is not in this clone"
btx_private_install "$W/inst-1.0" "$W/src-1.0" || fatal "building 1.0"
PG_1_0=$PG_BIN
btx_private_install "$W/inst-cur" "$ROOT" || fatal "building this tree"
PG_CUR=$PG_BIN

moto_start "$W/moto" >"$W/moto-start.log" 2>&1 || { cat "$W/moto-start.log"; fatal "moto"; }
PG_BIN=$PG_1_0
pg_start "$W/pg" >"$W/pg-start.log" 2>&1 || { cat "$W/pg-start.log"; fatal "cluster on 1.0"; }
export W PG_1_0 PG_CUR
python3 "$ROOT/test/upgrade/check.py" before || fatal "setting up data on 1.0"
PG_BIN=$PG_CUR
pg_restart || fatal "restarting the cluster on this tree's build"
python3 "$ROOT/test/upgrade/check.py" after
