#!/usr/bin/env bash
# Install what btexport needs on a fresh Debian 12 (as root, no sudo needed), build and install the
# extension.  Idempotent: skips what is already there.  Used by the README's commands and .ci/run.
# It installs, and says so:
#   - Debian packages (apt): PostgreSQL 15 server and headers, pg_cron, the C libraries btexport links
#     (libcurl, OpenSSL, jansson, libavro, libxml2, zstd, snappy, zlib, libdeflate), clang and its sanitizer
#     runtime (fuzzing), the AWS CLI, Node.js and npm, python3-venv, python3-avro (the Iceberg checker),
#     zstd (the CLI), and a headless JDK (the Snowflake PATTERN check compiles a Java regex:
#     test/loaders/PatternCheck.java);
#   - npm packages pinned by test/package-lock.json into test/node_modules: the S3 test server s3rver
#     and the readers the tests compare against (DuckDB, parquet-wasm, hyparquet, icebird);
#   - moto 5.2.1 (S3/STS/IAM test server; not packaged by Debian): used from the system python3 when
#     it already has exactly that version, else installed with pip into the virtual environment
#     $BTX_VENV (default /opt/btexport-test-venv) -- this needs access to PyPI.
# test/harness/python.sh tells the harness which Python runs moto.
set -euo pipefail
cd "$(dirname "$0")/.."
MOTO_VERSION=5.2.1
PKGS="postgresql-15 postgresql-server-dev-15 postgresql-15-cron libcurl4-openssl-dev libssl-dev
libjansson-dev libavro-dev python3-avro libxml2-dev libzstd-dev libsnappy-dev zlib1g-dev libdeflate-dev libipc-run-perl awscli clang
libclang-rt-14-dev libpq-dev python3 python3-venv zstd openjdk-17-jdk-headless
make gcc curl git ca-certificates"
# Node.js and npm from Debian, unless a Node.js with npm is already there (NodeSource's nodejs bundles
# npm and conflicts with Debian's npm package)
command -v npm >/dev/null 2>&1 || PKGS="$PKGS nodejs npm"
missing=""
for p in $PKGS; do dpkg -s "$p" >/dev/null 2>&1 || missing="$missing $p"; done
if [ -n "$missing" ]; then
	[ "$(id -u)" = 0 ] || { echo "setup: missing packages:$missing (run as root)" >&2; exit 1; }
	echo "setup: apt-get install$missing"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	apt-get install -y -qq --no-install-recommends $missing >/dev/null
fi
# the packaged cluster (15/main) is not used: tests start their own clusters
if [ ! -d test/node_modules/@duckdb ] || [ ! -d test/node_modules/@20minutes ] \
	|| ! (cd test && npm ls --depth=0 >/dev/null 2>&1); then
	echo "setup: npm ci in test/ (s3rver, DuckDB, parquet-wasm, hyparquet, icebird; versions from package-lock.json)"
	(cd test && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
fi
# moto: the system python3's when it is exactly $MOTO_VERSION, else a pinned virtual environment
BTX_VENV=${BTX_VENV:-/opt/btexport-test-venv}
has_moto() { "$1" -c "import moto, flask, sys; sys.exit(moto.__version__ != '$MOTO_VERSION')" 2>/dev/null; }
if ! has_moto python3 && ! has_moto "$BTX_VENV/bin/python3"; then
	echo "setup: pip install moto[server]==$MOTO_VERSION into $BTX_VENV (from PyPI)"
	python3 -m venv "$BTX_VENV"
	"$BTX_VENV/bin/pip" install --quiet --disable-pip-version-check "moto[server]==$MOTO_VERSION" \
		|| { echo "setup: could not install moto $MOTO_VERSION from PyPI into $BTX_VENV" >&2; exit 1; }
	has_moto "$BTX_VENV/bin/python3" || { echo "setup: moto $MOTO_VERSION not importable from $BTX_VENV" >&2; exit 1; }
fi
echo "setup: building and installing btexport"
make -s >/dev/null
make -s install >/dev/null
source test/harness/python.sh
echo "setup: done ($(pg_config --version), moto $("$BTX_MOTO_PYTHON" -c 'import moto; print(moto.__version__)') from $BTX_MOTO_PYTHON, node $(node --version))"
