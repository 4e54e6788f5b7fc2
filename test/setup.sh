#!/usr/bin/env bash
# Install what btexport needs on Debian 12 (as root), build and install the extension.
# Idempotent: skips what is already there.  Used by the README's commands and by .ci/run.
set -euo pipefail
cd "$(dirname "$0")/.."
PKGS="postgresql-15 postgresql-server-dev-15 postgresql-15-cron libcurl4-openssl-dev libssl-dev
libjansson-dev libxml2-dev libzstd-dev libsnappy-dev zlib1g-dev libdeflate-dev libipc-run-perl awscli clang
libclang-rt-14-dev libpq-dev
make gcc curl"
missing=""
for p in $PKGS; do dpkg -s "$p" >/dev/null 2>&1 || missing="$missing $p"; done
if [ -n "$missing" ]; then
	[ "$(id -u)" = 0 ] || { echo "setup: missing packages:$missing (run as root)" >&2; exit 1; }
	echo "setup: installing$missing"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	apt-get install -y -qq $missing >/dev/null
fi
# a packaged cluster may have been started by the postgresql package; tests use their own
command -v npm >/dev/null || { echo "setup: node/npm not found" >&2; exit 1; }
if [ ! -d test/node_modules/@duckdb ] || [ ! -d test/node_modules/@20minutes ]; then
	echo "setup: npm install (test readers, s3rver)"
	(cd test && npm install --no-audit --no-fund --loglevel=error >/dev/null)
fi
echo "setup: building btexport"
make -s >/dev/null
make -s install >/dev/null
echo "setup: done ($(pg_config --version), $(python3 -c 'import moto; print("moto", moto.__version__)' 2>/dev/null || echo 'moto MISSING'))"
