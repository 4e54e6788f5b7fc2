#!/usr/bin/env bash
# btexport benchmark: btexport against `\copy` + `aws s3 cp` and against DuckDB, on the same rows
# and the same local S3 (s3rver 5).  Prints a table and writes it to test/bench/results/.
#   bash test/bench/run.sh            full run: exports of 100k and 1M spans, incremental run on a 5M store
#   bash test/bench/run.sh --quick    the same with a 1M store for the incremental run
#   bash test/bench/run.sh --smoke    tiny sizes: every pipeline and check, in a minute (figures meaningless)
# Environment: KEEP=1 leaves the cluster, s3rver and the work directory in place; BENCH_PGPORT picks the
# cluster's port (default: a free one); BENCH_SKIP_SETUP=1 skips test/setup.sh (build, install, npm).
# Run by test/run-all.sh (BTX_ROOT set, no arguments) it runs --smoke.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$ROOT"
ARGS=("$@")
if [ ${#ARGS[@]} = 0 ] && [ -n "${BTX_ROOT:-}" ]; then ARGS=(--smoke); fi
[ "$(id -u)" = 0 ] || { echo "run as root (the cluster runs as user postgres)" >&2; exit 1; }
if [ "${BENCH_SKIP_SETUP:-0}" != 1 ]; then bash test/setup.sh; fi
command -v node >/dev/null || { echo "FATAL: node not found" >&2; exit 1; }
[ -x /usr/bin/aws ] || { echo "FATAL: /usr/bin/aws (Debian awscli) not found" >&2; exit 1; }
[ -d test/node_modules/@20minutes/s3rver ] && [ -d test/node_modules/@duckdb/node-api ] \
	|| { echo "FATAL: test/node_modules lacks s3rver or DuckDB (run test/setup.sh)" >&2; exit 1; }

WORK=$(mktemp -d /tmp/btexport-bench.XXXXXX)
chmod 755 "$WORK"
mkdir -p test/bench/results
# s3rver keeps its objects in memory (tmpfs) when /dev/shm has room for the 1M exports (parts and
# objects of the largest, about 4 GB): the disk's write-back otherwise adds noise to every upload,
# btexport's and the peers' alike
S3_DIR="$WORK/s3"
if [ "$(df --output=avail -k /dev/shm 2>/dev/null | tail -1)" -gt $((16 * 1024 * 1024)) ] 2>/dev/null; then
	S3_DIR=$(mktemp -d /dev/shm/btexport-bench-s3.XXXXXX)
fi
mkdir -p "$S3_DIR"
OUT="test/bench/results/bench-$(date -u +%Y%m%d-%H%M%S).txt"

# a private installation of this tree's build (test/harness/install.sh), so the figures are this
# tree's, whatever else gets installed system-wide meanwhile
source test/harness/install.sh
btx_private_install "$WORK/inst"

source test/harness/pg.sh
source test/harness/moto.sh		# free_port
S3_PID=
NULL_PID=
cleanup() {
	local rc=$?
	set +e			# s3rver's own exit status (143 after the kill) is not the benchmark's
	[ -n "$S3_PID" ] && kill "$S3_PID" 2>/dev/null && wait "$S3_PID" 2>/dev/null
	[ -n "$NULL_PID" ] && kill "$NULL_PID" 2>/dev/null && wait "$NULL_PID" 2>/dev/null
	pg_stop
	rm -rf "$WORK" "$S3_DIR"
	exit $rc
}
if [ "${KEEP:-0}" = 1 ]; then
	trap 'echo "kept: PGHOST=$PGHOST PGPORT=$PGPORT, s3rver pid $S3_PID at $S3_ENDPOINT ($S3_DIR), null_s3 pid $NULL_PID, $WORK"' EXIT
else
	trap cleanup EXIT
fi

# fewer checkpoints while millions of rows load (a checkpoint in the middle of a timed export is noise)
PG_EXTRA_CONF="max_wal_size = '8GB'
checkpoint_timeout = '30min'" pg_start "$WORK/pg" "${BENCH_PGPORT:-}" >/dev/null
export PGDIR

export AKID=AKIABENCHMARK0000001 SECRET=bench/secret+key=1 S3_BUCKET=bench S3_DIR
# start a server in the background and wait for "listening" in its log; its pid in SERVER_PID
start_server() {	# name log command...
	local name=$1 log=$2; shift 2
	"$@" >"$log" 2>&1 &
	SERVER_PID=$!
	for _ in $(seq 1 400); do
		grep -q listening "$log" && return 0
		kill -0 "$SERVER_PID" 2>/dev/null || { cat "$log" >&2; echo "FATAL: $name exited" >&2; exit 1; }
		sleep 0.05
	done
	kill "$SERVER_PID" 2>/dev/null; echo "FATAL: $name did not start" >&2; exit 1
}
S3_PORT=$(free_port)
start_server s3rver "$WORK/s3rver.log" env S3_KEYS="$AKID:$SECRET" node test/harness/start-s3rver5.js "$S3_DIR" "$S3_PORT" "$S3_BUCKET"
S3_PID=$SERVER_PID
export S3_ENDPOINT="http://127.0.0.1:$S3_PORT" WORK S3_PID
# the discarding endpoint (a test double: the S3 counterpart of the limit's /dev/null, see null_s3.py)
NULL_PORT=$(free_port)
start_server null_s3.py "$WORK/null_s3.log" python3 test/bench/null_s3.py "$NULL_PORT"
NULL_PID=$SERVER_PID
export NULL_ENDPOINT="http://127.0.0.1:$NULL_PORT" NULL_PID

echo "bench: PostgreSQL on port $PGPORT, s3rver 5 on $S3_PORT (objects in $S3_DIR), discarding endpoint on $NULL_PORT, work directory $WORK"
python3 test/bench/bench.py --out "$OUT" "${ARGS[@]}"
