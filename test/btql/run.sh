#!/bin/bash
# Differential regression suite for the BTQL compiler against PostgreSQL 15 with this tree's
# btexport installed (CREATE EXTENSION: the span store of the real install script).  The cluster
# comes from the shared harness (test/harness/pg.sh: $PG_BIN, a free port); run by
# test/run-all.sh it uses the run's private install, standalone it makes its own
# (test/harness/install.sh).  Prints one line per case and ends with "N passed, N failed";
# exits non-zero on any failure.
#   bash test/btql/run.sh [case-file ...]
#   BTQL_EXEC_DIR=dir bash test/btql/run.sh    execute every query file of dir (e.g. a fuzz corpus)
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
BUILD="$HERE/build"
mkdir -p "$BUILD"

cc -std=gnu11 -Wall -Wextra -Werror -Wno-unused-parameter -Wno-sign-compare -g \
	-fsanitize=address,undefined -fno-sanitize-recover=all \
	-I"$ROOT/src" -I"$ROOT/src/common" -I"$(pg_config --includedir)" \
	-o "$BUILD/btqlc" "$HERE/btqlc.c" "$ROOT"/src/btql/*.c "$ROOT/src/common/btx_buf.c" \
	-L"$(pg_config --libdir)" -lpq

TMP="$(mktemp -d /tmp/btql-test.XXXXXX)"
chmod 755 "$TMP"
source "$ROOT/test/harness/install.sh"
# standalone: install this tree's build privately (run-all.sh has done so and exported BTX_SO)
if [ -z "${BTX_SO:-}" ]; then
	btx_private_install "$TMP/inst" "$ROOT" || { echo "build failed"; echo "0 passed, 1 failed"; exit 1; }
fi
source "$ROOT/test/harness/pg.sh"
cleanup() { pg_stop || true; rm -rf "$TMP"; }
trap cleanup EXIT
pg_start "$TMP/pg" >"$TMP/pg-start.log" 2>&1 || { cat "$TMP/pg-start.log"; echo "0 passed, 1 failed"; exit 1; }
PSQL=(psql -X -q -v ON_ERROR_STOP=1)
"${PSQL[@]}" -d postgres -c "CREATE DATABASE btql" >/dev/null
"${PSQL[@]}" -d btql -c "CREATE EXTENSION btexport" -f "$HERE/load.sql" -f "$HERE/reference.sql" >/dev/null
# least privilege: the compiled SQL runs as a role that can only read the span store
"${PSQL[@]}" -d btql >/dev/null <<'SQL'
CREATE ROLE btql_reader LOGIN;
GRANT USAGE ON SCHEMA btexport, ref TO btql_reader;
GRANT SELECT ON ALL TABLES IN SCHEMA ref TO btql_reader;
GRANT SELECT ON btexport.logs, btexport.projects TO btql_reader;
GRANT EXECUTE ON FUNCTION btexport.btql_try_jsonb(text) TO btql_reader;
SQL
CONN="host=$PGHOST port=$PGPORT dbname=btql user=btql_reader"
# BTQL_EXEC_DIR=dir: instead of the cases, execute every query file of dir
# (e.g. the fuzzer's corpus) and report SQL that PostgreSQL rejects
if [ -n "${BTQL_EXEC_DIR:-}" ]; then
	find "$BTQL_EXEC_DIR" -type f -print0 | xargs -0 "$BUILD/btqlc" exec "$CONN"
	exit $?
fi
CASES=("$HERE"/cases/*.txt)
if [ "$#" -gt 0 ]; then CASES=("$@"); fi
OUT="$TMP/out"
rc=0
ASAN_OPTIONS=detect_leaks=1 "$BUILD/btqlc" run "$CONN" "${CASES[@]}" >"$OUT.cases" || rc=1
# the examples of docs/btql.md must be tested cases
ASAN_OPTIONS=detect_leaks=1 "$BUILD/btqlc" docs "$ROOT/docs/btql.md" "$HERE"/cases/*.txt >"$OUT.docs" || rc=1
grep -v ' passed, .* failed$' "$OUT.cases" "$OUT.docs" --no-filename || true
p=$(( $(tail -1 "$OUT.cases" | awk '{print $1}') + $(tail -1 "$OUT.docs" | awk '{print $1}') ))
f=$(( $(tail -1 "$OUT.cases" | awk '{print $3}') + $(tail -1 "$OUT.docs" | awk '{print $3}') ))
echo "$p passed, $f failed"
[ "$rc" = 0 ] && [ "$f" = 0 ]
