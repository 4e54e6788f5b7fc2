#!/usr/bin/env bash
# The server under sanitizers: btexport.so built with AddressSanitizer and UndefinedBehaviorSanitizer,
# loaded by a postmaster that runs with the ASan runtime preloaded, and integration suites run
# against it.  Any sanitizer report fails the suite (it is printed), and so does a backend that a
# signal terminated.
#   bash test/sanitize/run.sh                       the CI set: worker, export, credentials, security
#   BTX_SANITIZE_TESTS='test_worker test_faults' bash test/sanitize/run.sh     a chosen set
# The build is a copy of the tree (src, sql, Makefile, control file) in a work directory, made with
# PROFILE (compile and link flags of PGXS) and installed privately (test/harness/install.sh), so
# the normal build's objects are untouched.  The server runs with
#   ASAN_OPTIONS  detect_leaks=0 (a server frees its memory by context, at exit or never),
#                 halt_on_error=1, abort_on_error=1, log_path=<work dir>/san/asan
#   UBSAN_OPTIONS print_stacktrace=1, halt_on_error=1, log_path=<work dir>/san/ubsan
# A run's memory (the automation, loaded once per run, its window and base key) is freed, not
# recycled, when the run ends (src/run/worker.c), so a pointer kept past the run is reported as a
# use after free (the class of issue 12's finding 8).  Prints "N passed, N failed".
set -u
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
source "$ROOT/test/harness/install.sh"
source "$ROOT/test/harness/pg.sh"
source "$ROOT/test/harness/moto.sh"
TESTS=${BTX_SANITIZE_TESTS:-test_worker test_export test_credentials test_security}
W=$(mktemp -d /tmp/btx-sanitize.XXXXXX)
chmod 755 "$W"
cleanup() { moto_stop; pg_stop; [ "${BTX_KEEP:-0}" = 1 ] || rm -rf "$W"; }
trap cleanup EXIT
fatal() { echo "not ok - $*"; echo "0 passed, 1 failed"; exit 1; }
T0=$SECONDS

# 1. the sanitizer build, from a copy of the tree
mkdir -p "$W/src"
cp -r "$ROOT/src" "$ROOT/sql" "$ROOT/Makefile" "$ROOT/btexport.control" "$W/src/"
find "$W/src" \( -name '*.o' -o -name '*.so' -o -name '*.bc' \) -delete
SAN="-fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer -g"
btx_private_install "$W/inst" "$W/src" PROFILE="$SAN" || fatal "the sanitizer build of btexport.so"
nm -D "$BTX_SO" | grep -q __asan_report || fatal "$BTX_SO is not instrumented"
echo "# sanitizer build: $((SECONDS - T0)) s"

# 2. the server with the runtime preloaded
LIBASAN=$(gcc -print-file-name=libasan.so)
[ -e "$LIBASAN" ] || fatal "libasan.so not found (gcc -print-file-name=libasan.so)"
# (the second preloaded library works around a start-up deadlock: see its header)
gcc -shared -fPIC -O1 -o "$W/libswift_demangle.so" "$ROOT/test/sanitize/swift_demangle.c" || fatal "building the preload shim"
mkdir -p "$W/san"
[ "$(id -u)" = 0 ] && chown postgres "$W/san"
export PG_ENV="LD_PRELOAD=$(readlink -f "$LIBASAN"):$W/libswift_demangle.so ASAN_OPTIONS=detect_leaks=0:halt_on_error=1:abort_on_error=1:log_path=$W/san/asan UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1:log_path=$W/san/ubsan"
pg_start "$W/pg" >"$W/pg-start.log" 2>&1 || { cat "$W/pg-start.log"; fatal "the cluster under ASan"; }
moto_start "$W/moto" >"$W/moto-start.log" 2>&1 || { cat "$W/moto-start.log"; fatal "moto"; }
pm=$(head -1 "$PGDIR/data/postmaster.pid")
grep -q libasan "/proc/$pm/maps" || fatal "the postmaster (pid $pm) has no ASan runtime loaded"
echo "ok - the postmaster runs with the ASan runtime and the instrumented btexport.so"
PASS=1
FAIL=0

# 3. the integration suites against it
for t in $TESTS; do
	t1=$SECONDS
	python3 "$ROOT/test/integration/$t.py" >"$W/$t.log" 2>&1
	rc=$?
	line=$(grep -E '^[0-9]+ passed, [0-9]+ failed' "$W/$t.log" | tail -1)
	p=$(echo "$line" | sed -nE 's/^([0-9]+) passed.*/\1/p'); f=$(echo "$line" | sed -nE 's/.* ([0-9]+) failed.*/\1/p')
	p=${p:-0}; f=${f:-0}
	if [ "$rc" != 0 ] && [ "$f" = 0 ]; then f=1; fi
	PASS=$((PASS + p)); FAIL=$((FAIL + f))
	echo "# $t under sanitizers: $p passed, $f failed ($((SECONDS - t1)) s)"
	grep -E '^not ok' "$W/$t.log" | sed 's/^/#   /'
	[ "$f" = 0 ] || tail -20 "$W/$t.log" | sed 's/^/#   /'
done

# 4. no sanitizer report, no backend terminated by a signal
reports=$(ls "$W"/san/ 2>/dev/null | wc -l)
if [ "$reports" = 0 ]; then
	echo "ok - no AddressSanitizer or UndefinedBehaviorSanitizer report"; PASS=$((PASS + 1))
else
	echo "not ok - $reports sanitizer report(s)"; FAIL=$((FAIL + 1))
	for r in "$W"/san/*; do echo "# --- $r"; head -60 "$r" | sed 's/^/#   /'; done
fi
# (test_worker kills a worker and the postmaster with SIGKILL on purpose: signal 9 is expected)
sig=$(grep 'terminated by signal' "$PGDIR/server.log" | grep -vc 'terminated by signal 9:')
if [ "$sig" = 0 ]; then
	echo "ok - no server process was terminated by a signal other than the tests' SIGKILLs"; PASS=$((PASS + 1))
else
	echo "not ok - $sig server process(es) terminated by a signal"; FAIL=$((FAIL + 1))
	grep -B2 -A2 'terminated by signal' "$PGDIR/server.log" | grep -v 'signal 9:' | head -40 | sed 's/^/#   /'
fi
echo "# sanitizer suite: $((SECONDS - T0)) s"
echo "$PASS passed, $FAIL failed"
[ "$FAIL" = 0 ]
