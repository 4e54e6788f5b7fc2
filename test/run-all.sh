#!/usr/bin/env bash
# btexport: run every test suite and print one summary line "N passed, N failed".
#   bash test/run-all.sh            (as root on Debian 12: installs what is missing first)
#   BTX_SKIP_SETUP=1 skips test/setup.sh; BTX_ONLY='<regex>' runs only the suites whose name matches
#   (e.g. BTX_ONLY='pg_regress|integration test_export').
# Suites: C unit tests of the cores (ASan/UBSan), bounded fuzzing of every parser,
# pg_regress (SQL API and validation), integration tests against PostgreSQL 15 + pg_cron +
# moto (S3/STS/IAM with signature checks) + s3rver + the Braintrust API test double, Parquet
# readers (DuckDB, arrow-rs, hyparquet).
# Component suites test/<name>/run.sh include the include-graph lint of src/ (test/lint).
set -uo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
cd "$ROOT"
export BTX_ROOT="$ROOT"
export BTX_TESTDATA="${BTX_TESTDATA:-$ROOT/test/data}"
FUZZ_SECONDS="${FUZZ_SECONDS:-10}"
TOTAL_PASS=0
TOTAL_FAIL=0
SUITE_FAIL=()

if [ "${BTX_SKIP_SETUP:-0}" != 1 ]; then
	bash test/setup.sh || { echo "setup failed"; echo "0 passed, 1 failed"; exit 1; }
fi
[ -d "$BTX_TESTDATA/sdk-events" ] || { echo "FATAL: test data not found at $BTX_TESTDATA"; echo "0 passed, 1 failed"; exit 1; }

WORK=$(mktemp -d /tmp/btx-tests.XXXXXX)
chmod 755 "$WORK"
# every cluster of the run loads this tree's build, installed privately under $WORK/inst
source test/harness/install.sh
btx_private_install "$WORK/inst" "$ROOT" || { echo "build failed"; echo "0 passed, 1 failed"; exit 1; }
# count "N passed, N failed" of a suite's output; a suite without it counts as one failure
tally() {	# name logfile exitcode
	local name="$1" log="$2" rc="$3" line p f
	line=$(grep -E '^[0-9]+ passed, [0-9]+ failed' "$log" | tail -1)
	if [ -n "$line" ]; then
		p=$(echo "$line" | sed -E 's/^([0-9]+) passed, ([0-9]+) failed.*/\1/')
		f=$(echo "$line" | sed -E 's/^([0-9]+) passed, ([0-9]+) failed.*/\2/')
	elif [ "$rc" = 0 ]; then
		p=1; f=0		# a suite without a count (fuzzing) that exited 0 is one pass
	else
		p=0; f=0
	fi
	if [ "$rc" != 0 ] && [ "$f" = 0 ]; then f=1; fi
	TOTAL_PASS=$((TOTAL_PASS + p)); TOTAL_FAIL=$((TOTAL_FAIL + f))
	if [ "$f" != 0 ]; then
		SUITE_FAIL+=("$name"); echo "=== $name: FAILED ($p passed, $f failed)"; grep -E '^not ok|FAIL|ERROR|error' "$log" | head -40 ||
			tail -15 "$log"	# (no recognisable failure line: show how the suite ended)
	else
		echo "=== $name: $p passed"
	fi
}
selected() {	# name: does BTX_ONLY (an extended regex, if set) select this suite?
	[ -z "${BTX_ONLY:-}" ] || [[ "$1" =~ $BTX_ONLY ]]
}
log_of() {	# name: the suite's log file
	echo "$WORK/$(echo "$1" | tr ' /' '__').log"
}
suite() {	# name command...
	local name="$1"; shift
	selected "$name" || return 0
	local log; log=$(log_of "$name")
	local t0=$SECONDS
	echo "--- $name"
	( "$@" ) >"$log" 2>&1
	tally "$name" "$log" $?
	echo "    ($((SECONDS - t0)) s)"
}

# Lane 2: suites that bring their own servers run in a background lane beside lane 1 (unit,
# pg_regress, the integration suites on the shared cluster, sanitize, bench; the fuzzers run after
# both lanes).  Lane 1's unit tests use one core, the integration suites wait on pg_cron's minute
# tick and on subprocesses: lane 2 fills that room.  Nothing is shared between the lanes: each lane-2 suite starts its own cluster (free
# port, own data directory, own pg_cron), moto and servers; builds are in per-suite directories.
# No suite of lane 2 measures speed (s3's "fails quickly" bound is 3 s for ~0.5 s of retries).
# Their blocks ("--- name", "=== name: ...", their own time) are printed when the lane is
# collected, at the end, in the order below.
LANE2_COMPONENTS="format upgrade readme s3 iceberg btapi btql ingest lint"
LANE2_INTEGRATION="test_ops_secrets"	# waits for two pg_cron ticks (~2 min, idle)
source test/harness/pg.sh
source test/harness/moto.sh
source test/harness/braintrust.sh
own_servers() {	# dir command...: run the command against a cluster, moto and the API double of its own
	local dir="$1" rc; shift
	pg_start "$dir/pg" >"$dir-pg-start.log" 2>&1 || { cat "$dir-pg-start.log"; echo "0 passed, 1 failed"; return 1; }
	moto_start "$dir/moto" >"$dir-moto-start.log" 2>&1 || { cat "$dir-moto-start.log"; pg_stop; echo "0 passed, 1 failed"; return 1; }
	btdouble_start "$dir/btdouble" || { moto_stop; pg_stop; echo "0 passed, 1 failed"; return 1; }
	"$@"; rc=$?
	btdouble_stop; moto_stop; pg_stop
	return $rc
}
LANE2=()	# the lane-2 suites this run selected, in order: "name|command..."
for t in $LANE2_COMPONENTS; do
	[ -f "test/$t/run.sh" ] && LANE2+=("$t|bash test/$t/run.sh")
done
for t in $LANE2_INTEGRATION; do
	[ -f "test/integration/$t.py" ] && LANE2+=("integration $t|own_servers $WORK/lane2-$t python3 test/integration/$t.py")
done
lane2_run() {	# in the background: each selected suite, one after the other; its log and "rc seconds"
	local e name log t0
	for e in "${LANE2[@]}"; do
		name="${e%%|*}"
		selected "$name" || continue
		log=$(log_of "$name"); t0=$SECONDS
		( eval "${e#*|}" ) >"$log" 2>&1
		echo "$? $((SECONDS - t0))" >"$log.rc"
	done
}
lane2_collect() {	# wait for lane 2, then print and count each of its suites
	local e name log rc secs
	wait "$LANE2_PID"
	for e in "${LANE2[@]}"; do
		name="${e%%|*}"
		selected "$name" || continue
		log=$(log_of "$name")
		read -r rc secs <"$log.rc" 2>/dev/null || { rc=1; secs="?"; }
		echo "--- $name (lane 2)"
		tally "$name" "$log" "$rc"
		echo "    ($secs s)"
	done
}
in_lane2() {	# name -> true when lane 2 runs it
	local e
	for e in "${LANE2[@]}"; do [ "${e%%|*}" = "$1" ] && return 0; done
	return 1
}
lane2_run &
LANE2_PID=$!
trap 'kill "$LANE2_PID" 2>/dev/null' EXIT

# 1. C unit tests of the plain-C cores, under ASan/UBSan
for d in test/unit/*/; do
	[ -f "$d/Makefile" ] && suite "unit $(basename "$d")" make --no-print-directory -C "$d" check
done

# 2. a cluster (pg_cron + btexport preloaded) and moto for the SQL-level suites
pg_start "$WORK/pg" >"$WORK/pg-start.log" 2>&1 || { cat "$WORK/pg-start.log"; echo "0 passed, 1 failed"; exit 1; }
moto_start "$WORK/moto" >"$WORK/moto-start.log" 2>&1 || { cat "$WORK/moto-start.log"; pg_stop; echo "0 passed, 1 failed"; exit 1; }
btdouble_start "$WORK/btdouble" || { moto_stop; pg_stop; echo "0 passed, 1 failed"; exit 1; }
cleanup() { btdouble_stop; moto_stop; pg_stop; kill "$LANE2_PID" 2>/dev/null; }
trap cleanup EXIT

regress() {
	mkdir -p "$WORK/regress"
	local out rc n f
	out=$(make -s installcheck REGRESS_OPTS="--inputdir=$ROOT --outputdir=$WORK/regress --load-extension=btexport" 2>&1)
	rc=$?
	echo "$out"
	[ -f "$WORK/regress/regression.diffs" ] && head -300 "$WORK/regress/regression.diffs"
	# pg_regress 15 ends with "All N tests passed." or "M of N tests failed."
	n=$(ls "$ROOT"/sql/*.sql | grep -vc 'btexport--')
	f=$(echo "$out" | sed -nE 's/.* ([0-9]+) of [0-9]+ tests failed.*/\1/p' | head -1)
	f=${f:-0}
	if [ "$rc" != 0 ] && [ "$f" = 0 ]; then f=1; fi
	echo "$((n - f)) passed, $f failed"
	return $rc
}
suite "pg_regress" regress

# 3. integration tests (Python, stdlib only) against the cluster and moto
for t in test/integration/test_*.py; do
	in_lane2 "integration $(basename "$t" .py)" || suite "integration $(basename "$t" .py)" python3 "$t"
done

# 4. component suites that bring their own servers (the others are in lane 2)
for s in test/*/run.sh; do
	in_lane2 "$(basename "$(dirname "$s")")" || suite "$(basename "$(dirname "$s")")" bash "$s"
done
lane2_collect

# 5. fuzzing every parser, bounded: last, when lane 2 has ended, so that each fuzzer's FUZZ_SECONDS
# (wall time) has a core to itself and runs as many inputs as it did before the lanes
for d in test/fuzz/*/; do
	[ -f "$d/Makefile" ] && suite "fuzz $(basename "$d")" make --no-print-directory -C "$d" fuzz FUZZ_SECONDS="$FUZZ_SECONDS"
done

echo
if [ ${#SUITE_FAIL[@]} -gt 0 ]; then echo "failed suites: ${SUITE_FAIL[*]}"; fi
echo "$TOTAL_PASS passed, $TOTAL_FAIL failed"
[ "$TOTAL_FAIL" = 0 ]
